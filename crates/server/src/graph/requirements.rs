//! `GET|PATCH /beta/users/{id | userPrincipalName}/authentication/requirements` and
//! `GET|PATCH /beta/me/authentication/requirements` (per-user MFA state).

use super::body;
use super::users::{self, Named, authorize_named, find};
use super::{GraphJson, odata_base};
use crate::AppState;
use crate::auth::Principal;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::Operation;
use crate::error::GraphError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use mfalens_core::directory::parse_requirements_patch;
use serde_json::json;

pub async fn get(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    read(&st, &p, &users::from_path(&uri)?, &headers).await
}

pub async fn get_me(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    read(&st, &p, &users::me(&p)?, &headers).await
}

pub async fn patch(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, GraphError> {
    write(&st, &p, &users::from_path(&uri)?, &headers, body).await
}

pub async fn patch_me(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, GraphError> {
    write(&st, &p, &users::me(&p)?, &headers, body).await
}

async fn read(
    st: &AppState,
    p: &Principal,
    named: &Named,
    headers: &HeaderMap,
) -> Result<GraphJson, GraphError> {
    authorize_named(p, Operation::ReadRequirements, named)?;
    let user = find(st, p, Operation::ReadRequirements, named).await?;
    Ok(GraphJson(json!({
        "@odata.context": users::context(&odata_base(st, headers), &user.id, "requirements"),
        "perUserMfaState": user.per_user_mfa_state.as_str(),
    })))
}

async fn write(
    st: &AppState,
    p: &Principal,
    named: &Named,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, GraphError> {
    authorize_named(p, Operation::WriteRequirements, named)?;
    let bytes = body::json(st, headers, body).await?;
    let state =
        parse_requirements_patch(&bytes).map_err(|e| GraphError::bad_request(e.to_string()))?;
    let user = find(st, p, Operation::WriteRequirements, named).await?;
    if let Some(state) = state {
        // The store applies the enabled → enforced rule for users with an MFA method.
        st.store()
            .set_per_user_mfa_state(&p.tenant_id, &user.id, state, st.now())
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
