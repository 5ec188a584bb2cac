//! `GET|PATCH /beta/users/{id | userPrincipalName}/authentication/signInPreferences`.

use super::body;
use super::users::{self, authorize_named, find};
use super::{GraphJson, odata_base};
use crate::AppState;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::Operation;
use crate::error::GraphError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use mfalens_core::directory::{DirectoryUser, parse_sign_in_preferences_patch};
use serde_json::{Value, json};

pub async fn get(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    let named = users::from_path(&uri)?;
    authorize_named(&p, Operation::ReadSignInPreferences, &named)?;
    let user = find(&st, &p, Operation::ReadSignInPreferences, &named).await?;
    Ok(GraphJson(render(&odata_base(&st, &headers), &user)))
}

pub async fn patch(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, GraphError> {
    let named = users::from_path(&uri)?;
    authorize_named(&p, Operation::WriteSignInPreferences, &named)?;
    let bytes = body::json(&st, &headers, body).await?;
    let change = parse_sign_in_preferences_patch(&bytes)
        .map_err(|e| GraphError::bad_request(e.to_string()))?;
    let user = find(&st, &p, Operation::WriteSignInPreferences, &named).await?;
    let empty = change
        .is_system_preferred_authentication_method_enabled
        .is_none()
        && change
            .user_preferred_method_for_secondary_authentication
            .is_none();
    if !empty {
        st.store()
            .patch_sign_in_preferences(&p.tenant_id, &user.id, &change, st.now())
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The `signInPreferences` body.
pub fn render(base: &str, u: &DirectoryUser) -> Value {
    json!({
        "@odata.context": users::context(base, &u.id, "signInPreferences"),
        "isSystemPreferredAuthenticationMethodEnabled": u.is_system_preferred_authentication_method_enabled,
        "userPreferredMethodForSecondaryAuthentication": u.user_preferred_method_for_secondary_authentication.map(|m| m.as_str()),
    })
}
