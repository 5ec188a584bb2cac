//! `/beta/reports/authenticationMethods/{segment}`: the `usersRegisteredByFeature(...)` and
//! `usersRegisteredByMethod(...)` functions, and the routing of `userRegistrationDetails`
//! spelled in other cases or with an OData key (`userRegistrationDetails('{id}')`).

use super::{GraphJson, details, keys, odata_base, raw_segment, shown, unqualified};
use crate::AppState;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::GraphError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use mfalens_core::odata::{
    FunctionCall, ODataError, enum_member, parse_function_call, parse_query, percent_decode_strict,
};
use mfalens_core::registration::{
    IncludedUserRoles, IncludedUserTypes, Population, RegistrationSummary,
};
use mfalens_store::{Store, StoreError, UserFlag};
use serde_json::{Value, json};

const TYPES: &str = "includedUserTypes";
const ROLES: &str = "includedUserRoles";
const PARAMS: &[&str] = &[TYPES, ROLES];
const DETAILS: &str = "userRegistrationDetails";
/// Users read per store call while summarising.
const BATCH: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    ByFeature,
    ByMethod,
}

pub async fn dispatch(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphJson, GraphError> {
    let raw = raw_segment(&uri, 4);
    let decoded = percent_decode_strict(raw)?;
    if decoded.eq_ignore_ascii_case(DETAILS) {
        return details::list_for(&st, &p, &uri, &headers).await;
    }
    if let Some(key) = entity_key(&decoded) {
        let key = keys::decoded_key(&key)?;
        return details::one_for(&st, &p, &key, &headers).await;
    }
    authorize(&p, Operation::ReadUserRegistrationDetails, Target::Tenant)?;
    let call = parse_function_call(raw, &parse_query(uri.query())?, PARAMS)?;
    let report = match unqualified(&call.name) {
        n if n.eq_ignore_ascii_case("usersRegisteredByFeature") => Report::ByFeature,
        n if n.eq_ignore_ascii_case("usersRegisteredByMethod") => Report::ByMethod,
        _ => {
            return Err(GraphError::bad_request(format!(
                "Resource not found for the segment '{}'.",
                shown(&call.name)
            )));
        }
    };
    let population = population(&call)?;
    let summary = summarize(st.store(), &p.tenant_id, population).await?;
    Ok(GraphJson(render(
        &odata_base(&st, &headers),
        report,
        population,
        &summary,
    )))
}

/// `userRegistrationDetails('{key}')` (already decoded) → the key, `''` read as `'`.
fn entity_key(decoded: &str) -> Option<String> {
    let head = decoded.get(..DETAILS.len())?;
    if !head.eq_ignore_ascii_case(DETAILS) {
        return None;
    }
    decoded[DETAILS.len()..]
        .strip_prefix("('")?
        .strip_suffix("')")
        .map(|k| k.replace("''", "'"))
}

fn population(call: &FunctionCall) -> Result<Population, ODataError> {
    let mut p = Population::default();
    if let Some(lit) = call.optional_literal(TYPES)? {
        p.types = enum_member(lit, TYPES)
            .and_then(|m| IncludedUserTypes::parse(m).ok())
            .filter(|t| *t != IncludedUserTypes::UnknownFutureValue)
            .ok_or_else(|| bad_enum(TYPES, lit, "all, member, guest"))?;
    }
    if let Some(lit) = call.optional_literal(ROLES)? {
        p.roles = enum_member(lit, ROLES)
            .and_then(|m| IncludedUserRoles::parse(m).ok())
            .filter(|r| *r != IncludedUserRoles::UnknownFutureValue)
            .ok_or_else(|| bad_enum(ROLES, lit, "all, privilegedAdmin, admin, user"))?;
    }
    Ok(p)
}

fn bad_enum(param: &str, value: &str, expected: &str) -> ODataError {
    ODataError::BadEnum {
        param: param.into(),
        value: shown(value),
        expected: expected.into(),
    }
}

/// Registration counts over the enabled accounts of `population` in one tenant, read in
/// id-ordered batches; the role part of the population is pushed down to the store.
async fn summarize(
    store: &dyn Store,
    tenant: &str,
    population: Population,
) -> Result<RegistrationSummary, StoreError> {
    let mut filter = vec![(UserFlag::AccountEnabled, true)];
    match population.roles {
        IncludedUserRoles::Admin | IncludedUserRoles::PrivilegedAdmin => {
            filter.push((UserFlag::IsAdmin, true))
        }
        IncludedUserRoles::User => filter.push((UserFlag::IsAdmin, false)),
        IncludedUserRoles::All | IncludedUserRoles::UnknownFutureValue => {}
    }
    let mut summary = RegistrationSummary::default();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_users(tenant, &filter, after.as_deref(), BATCH)
            .await?;
        for u in page.iter().filter(|u| population.includes(u)) {
            summary.add(u);
        }
        match page.last() {
            Some(u) if page.len() == BATCH => after = Some(u.id.clone()),
            _ => return Ok(summary),
        }
    }
}

fn render(base: &str, report: Report, p: Population, s: &RegistrationSummary) -> Value {
    let (type_name, counts_key, counts): (&str, &str, Vec<Value>) = match report {
        Report::ByFeature => (
            "userRegistrationFeatureSummary",
            "userRegistrationFeatureCounts",
            s.feature_counts()
                .into_iter()
                .map(|(f, n)| json!({"feature": f.as_str(), "userCount": n}))
                .collect(),
        ),
        Report::ByMethod => (
            "userRegistrationMethodSummary",
            "userRegistrationMethodCounts",
            s.by_method
                .iter()
                .map(|(m, n)| json!({"authenticationMethod": m, "userCount": n}))
                .collect(),
        ),
    };
    let mut body = json!({
        "@odata.context": format!("{base}/$metadata#microsoft.graph.{type_name}"),
        "totalUserCount": s.total,
        "userTypes": p.types.as_str(),
        "userRoles": p.roles.as_str(),
    });
    body[counts_key] = Value::Array(counts);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seg: &str, q: Option<&str>) -> Result<Population, ODataError> {
        population(&parse_function_call(seg, &parse_query(q)?, PARAMS)?)
    }

    #[test]
    fn parameters_in_every_form() {
        let all = Population::default();
        assert_eq!(call("usersRegisteredByFeature", None).unwrap(), all);
        assert_eq!(call("usersRegisteredByFeature()", None).unwrap(), all);
        let p = call(
            "microsoft.graph.usersRegisteredByMethod(includedUserTypes='guest',includedUserRoles='privilegedAdmin')",
            None,
        )
        .unwrap();
        assert_eq!(
            (p.types, p.roles),
            (IncludedUserTypes::Guest, IncludedUserRoles::PrivilegedAdmin)
        );
        let p = call(
            "usersRegisteredByFeature(includedUserTypes=@t,includedUserRoles=@r)",
            Some("@t='member'&@r=microsoft.graph.includedUserRoles'user'"),
        )
        .unwrap();
        assert_eq!(
            (p.types, p.roles),
            (IncludedUserTypes::Member, IncludedUserRoles::User)
        );
        let p = call(
            "usersRegisteredByFeature(includedUserRoles=%27admin%27)",
            None,
        )
        .unwrap();
        assert_eq!(
            (p.types, p.roles),
            (IncludedUserTypes::All, IncludedUserRoles::Admin)
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (seg, says) in [
            (
                "usersRegisteredByFeature(includedUserTypes='robots')",
                "includedUserTypes",
            ),
            (
                "usersRegisteredByFeature(includedUserRoles='unknownFutureValue')",
                "includedUserRoles",
            ),
            (
                "usersRegisteredByFeature(includedUserTypes=microsoft.graph.includedUserRoles'all')",
                "includedUserTypes",
            ),
            ("usersRegisteredByFeature(colour='red')", "colour"),
        ] {
            let e = call(seg, None).unwrap_err().to_string();
            assert!(e.contains(says), "{seg}: {e}");
        }
    }

    #[test]
    fn entity_keys() {
        assert_eq!(
            entity_key("userRegistrationDetails('a@b.c')"),
            Some("a@b.c".into())
        );
        assert_eq!(entity_key("USERREGISTRATIONDETAILS('x')"), Some("x".into()));
        assert_eq!(entity_key("userRegistrationDetails"), None);
        assert_eq!(
            entity_key("userRegistrationDetails('o''brien@x.example')"),
            Some("o'brien@x.example".into())
        );
        assert_eq!(entity_key("usersRegisteredByFeature()"), None);
    }
}
