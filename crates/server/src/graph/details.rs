//! `GET /beta/reports/authenticationMethods/userRegistrationDetails[/{id}]`: the directory as
//! Graph's per-user registration report, with `$filter` on its booleans and `$top` paging.

use super::paging::{self, DEFAULT_TOP};
use super::{GraphJson, keys, odata_base, raw_segment, shown};
use crate::AppState;
use crate::auth::Principal;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::GraphError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use mfalens_core::directory::DirectoryUser;
use mfalens_core::filter::parse_bool_conjunction;
use mfalens_core::odata::parse_query;
use mfalens_core::time::graph_datetime;
use mfalens_store::{UserFilter, UserFlag, UserKey};
use serde_json::{Value, json};

const COLLECTION: &str = "reports/authenticationMethods/userRegistrationDetails";

/// The boolean properties `$filter` may test, and the stored flag each reads.
pub const FILTERABLE: &[(&str, UserFlag)] = &[
    ("isAdmin", UserFlag::IsAdmin),
    ("isMfaRegistered", UserFlag::IsMfaRegistered),
    ("isMfaCapable", UserFlag::IsMfaCapable),
    ("isSsprRegistered", UserFlag::IsSsprRegistered),
    ("isSsprEnabled", UserFlag::IsSsprEnabled),
    ("isSsprCapable", UserFlag::IsSsprCapable),
    ("isPasswordlessCapable", UserFlag::IsPasswordlessCapable),
    (
        "isSystemPreferredAuthenticationMethodEnabled",
        UserFlag::IsSystemPreferredAuthenticationMethodEnabled,
    ),
];

/// What a listing request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: UserFilter,
    pub top: usize,
    pub after: Option<String>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Result<ListQuery, GraphError> {
        let mut q = ListQuery {
            filter: Vec::new(),
            top: DEFAULT_TOP,
            after: None,
        };
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in parse_query(raw)? {
            let name = k.to_ascii_lowercase();
            if !name.starts_with('$') {
                continue; // custom query options are ignored, as Graph does
            }
            if seen.contains(&name) {
                return Err(GraphError::bad_request(format!(
                    "Query option '{}' is given more than once.",
                    shown(&k)
                )));
            }
            match name.as_str() {
                "$filter" => q.filter = filter(&v)?,
                "$top" => q.top = paging::parse_top(&v)?,
                "$skiptoken" => q.after = Some(paging::after_id(&v)?),
                _ => {
                    return Err(GraphError::bad_request(format!(
                        "Query option '{}' is not supported on userRegistrationDetails; supported: $filter, $top, $skiptoken.",
                        shown(&k)
                    )));
                }
            }
            seen.push(name);
        }
        Ok(q)
    }
}

/// `$filter` text → stored-flag tests.
pub fn filter(text: &str) -> Result<UserFilter, GraphError> {
    let names: Vec<&'static str> = FILTERABLE.iter().map(|(n, _)| *n).collect();
    let tests = parse_bool_conjunction(text, &names)
        .map_err(|e| GraphError::bad_request(format!("Invalid $filter: {e}.")))?;
    Ok(tests
        .into_iter()
        .filter_map(|(name, value)| {
            FILTERABLE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, flag)| (*flag, value))
        })
        .collect())
}

pub async fn list(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    list_for(&st, &p, &uri, &headers).await
}

pub async fn list_for(
    st: &AppState,
    p: &Principal,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<GraphJson, GraphError> {
    authorize(p, Operation::ReadUserRegistrationDetails, Target::Tenant)?;
    let q = ListQuery::parse(uri.query())?;
    let mut page = st
        .store()
        .list_users(&p.tenant_id, &q.filter, q.after.as_deref(), q.top + 1)
        .await?;
    let more = page.len() > q.top;
    page.truncate(q.top);
    let base = odata_base(st, headers);
    let mut body = json!({
        "@odata.context": format!("{base}/$metadata#{COLLECTION}"),
        "value": page.iter().map(render).collect::<Vec<_>>(),
    });
    if let (true, Some(last)) = (more, page.last()) {
        body["@odata.nextLink"] = json!(format!(
            "{base}/{COLLECTION}?{}",
            paging::next_query(uri.query(), &paging::skiptoken(&last.id))
        ));
    }
    Ok(GraphJson(body))
}

pub async fn one(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    let key = keys::user_key(raw_segment(&uri, 5))?;
    one_for(&st, &p, &key, &headers).await
}

pub async fn one_for(
    st: &AppState,
    p: &Principal,
    key: &UserKey,
    headers: &HeaderMap,
) -> Result<GraphJson, GraphError> {
    authorize(p, Operation::ReadUserRegistrationDetails, Target::Tenant)?;
    let user = st.store().user(&p.tenant_id, key).await?.ok_or_else(|| {
        GraphError::user_not_found(&shown(match key {
            UserKey::Id(s) | UserKey::Upn(s) => s,
        }))
    })?;
    let mut body = render(&user);
    body["@odata.context"] = json!(format!(
        "{}/$metadata#{COLLECTION}/$entity",
        odata_base(st, headers)
    ));
    Ok(GraphJson(body))
}

/// One `userRegistrationDetails` entity.
pub fn render(u: &DirectoryUser) -> Value {
    json!({
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "userDisplayName": u.user_display_name,
        "userType": u.user_type.as_str(),
        "isAdmin": u.is_admin,
        "isMfaRegistered": u.is_mfa_registered,
        "isMfaCapable": u.is_mfa_capable,
        "isSsprRegistered": u.is_sspr_registered,
        "isSsprEnabled": u.is_sspr_enabled,
        "isSsprCapable": u.is_sspr_capable,
        "isPasswordlessCapable": u.is_passwordless_capable,
        "methodsRegistered": u.methods_registered,
        "defaultMfaMethod": u.default_mfa_method.as_str(),
        "isSystemPreferredAuthenticationMethodEnabled": u.is_system_preferred_authentication_method_enabled,
        "systemPreferredAuthenticationMethods": u.system_preferred_methods(),
        "userPreferredMethodForSecondaryAuthentication": u.user_preferred_method_for_secondary_authentication.map(|m| m.as_str()),
        "lastUpdatedDateTime": graph_datetime(u.last_updated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries() {
        let q = ListQuery::parse(Some(
            "$filter=isAdmin%20eq%20true%20and%20isMfaRegistered%20eq%20false&$top=5&api-version=x",
        ))
        .unwrap();
        assert_eq!(
            q.filter,
            vec![
                (UserFlag::IsAdmin, true),
                (UserFlag::IsMfaRegistered, false)
            ]
        );
        assert_eq!((q.top, q.after), (5, None));
        assert_eq!(ListQuery::parse(None).unwrap().top, DEFAULT_TOP);
        let t = paging::skiptoken("abc");
        assert_eq!(
            ListQuery::parse(Some(&format!("%24skiptoken={t}")))
                .unwrap()
                .after
                .as_deref(),
            Some("abc")
        );
        for (bad, says) in [
            ("$orderby=id", "'$orderby' is not supported"),
            ("$top=1&$top=2", "more than once"),
            ("$top=0", "$top"),
            ("$filter=userType%20eq%20'guest'", "'userType'"),
            ("$filter=isAdmin%20eq%20yes", "'yes'"),
            ("$filter=isAdmin%zz", "percent-encoding"),
            ("$skiptoken=%21", "$skiptoken"),
            ("$filter=accountEnabled%20eq%20true", "'accountEnabled'"),
        ] {
            let e = ListQuery::parse(Some(bad)).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
