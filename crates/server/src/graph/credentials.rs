//! `GET /beta/reports/getCredentialUserRegistrationCount[()]`: SSPR and MFA registration
//! counts over the caller's tenant directory.

use super::{GraphJson, odata_base, raw_segment, shown, unqualified};
use crate::AppState;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::GraphError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use mfalens_core::odata::{parse_function_call, parse_query};
use mfalens_core::registration::RegistrationSummary;
use serde_json::{Value, json};

const FUNCTION: &str = "getCredentialUserRegistrationCount";

pub async fn get(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    authorize(&p, Operation::ReadCredentialRegistration, Target::Tenant)?;
    // The SDKs' URL template allows $top, $filter, ... here; they are accepted and ignored.
    let query = parse_query(uri.query())?;
    let call = parse_function_call(raw_segment(&uri, 3), &query, &[])?;
    if !unqualified(&call.name).eq_ignore_ascii_case(FUNCTION) {
        return Err(GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            shown(&call.name)
        )));
    }
    let summary = st.store().registration_summary(&p.tenant_id).await?;
    Ok(GraphJson(json!({
        "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)", odata_base(&st, &headers)),
        "value": [render(&p.tenant_id, &summary)],
    })))
}

/// One `credentialUserRegistrationCount`: registered/enabled/capable are the SSPR states,
/// mfaRegistered the MFA registration, all over the tenant's enabled accounts.
pub fn render(tenant_id: &str, s: &RegistrationSummary) -> Value {
    let count =
        |status: &str, n: u64| json!({"registrationStatus": status, "registrationCount": n});
    json!({
        "id": tenant_id,
        "totalUserCount": s.total,
        "userRegistrationCounts": [
            count("registered", s.sspr_registered),
            count("enabled", s.sspr_enabled),
            count("capable", s.sspr_capable),
            count("mfaRegistered", s.mfa_registered),
        ],
    })
}
