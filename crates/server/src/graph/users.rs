//! The user a `/users/{key}/...` or `/me/...` request acts on: authorized first by what the
//! key says (self or other), then looked up in the caller's tenant, then authorized again
//! against the id found. A user of another tenant is simply not found.

use super::keys::user_key;
use super::{raw_segment, shown};
use crate::AppState;
use crate::auth::Principal;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::GraphError;
use axum::http::Uri;
use mfalens_core::directory::DirectoryUser;
use mfalens_store::UserKey;

/// The user a request names and how it was named, before any lookup.
pub struct Named {
    pub key: UserKey,
    /// The key as the caller wrote it (decoded), for messages.
    pub shown: String,
}

/// `/beta/users/{key}/...`: segment 3 of the raw path.
pub fn from_path(uri: &Uri) -> Result<Named, GraphError> {
    let key = user_key(raw_segment(uri, 3))?;
    let shown = match &key {
        UserKey::Id(s) | UserKey::Upn(s) => shown(s),
    };
    Ok(Named { key, shown })
}

/// `/beta/me/...`: the signed-in user; an app-only token has no "me".
pub fn me(p: &Principal) -> Result<Named, GraphError> {
    if !p.is_delegated() {
        return Err(GraphError::bad_request(
            "/me request is only valid with delegated authentication flow.",
        ));
    }
    Ok(Named {
        key: UserKey::Id(p.object_id.clone()),
        shown: p.object_id.clone(),
    })
}

/// Authorizes `op` on the named user before anything is read: a key that is the caller's own
/// id, or own UPN as the token states it, is "self"; any other key is "another user".
pub fn authorize_named(p: &Principal, op: Operation, n: &Named) -> Result<(), GraphError> {
    let target = match &n.key {
        UserKey::Id(id) => id.as_str(),
        UserKey::Upn(upn)
            if p.upn
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(upn)) =>
        {
            p.object_id.as_str()
        }
        UserKey::Upn(upn) => upn.as_str(),
    };
    Ok(authorize(p, op, Target::User(target))?)
}

/// Looks the user up in the caller's tenant (404 if absent) and re-checks `op` against the
/// id found, so a UPN that resolves to someone else is treated as someone else.
pub async fn find(
    st: &AppState,
    p: &Principal,
    op: Operation,
    n: &Named,
) -> Result<DirectoryUser, GraphError> {
    let user = st
        .store()
        .user(&p.tenant_id, &n.key)
        .await?
        .ok_or_else(|| GraphError::user_not_found(&n.shown))?;
    authorize(p, op, Target::User(&user.id))?;
    Ok(user)
}

/// `{base}/$metadata#users('{id}')/authentication/{property}`.
pub fn context(base: &str, user_id: &str, property: &str) -> String {
    format!("{base}/$metadata#users('{user_id}')/authentication/{property}")
}
