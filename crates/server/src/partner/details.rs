//! `GET /v1/nonMfaCompliantPartnerPrincipals/details`: mfalens's extension, not part of the
//! Partner Center contract. Per principal: why listed, which applications, how often, first
//! and last time, account enabled, admin. `?enabled=true|false`, `?admin=true|false`,
//! `?days=1..30` (default 7), `?format=json|csv`. Unlike the contract path, unknown parameters
//! are refused: a misspelt filter must not silently widen a report.

use super::{Csv, PartnerJson, ReadNonMfa, report};
use crate::AppState;
use crate::auth::extract::PartnerCaller;
use crate::error::PartnerError;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use mfalens_core::NON_MFA_WINDOW_DAYS;
use mfalens_core::non_mfa_report::{ReportFilter, collection, parse_days, to_csv};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailsQuery {
    pub filter: ReportFilter,
    pub days: i64,
    pub format: Format,
}

pub const PARAMETERS: &str = "enabled, admin, days, format";

fn boolean(name: &str, v: &str) -> Result<bool, PartnerError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(PartnerError::bad_request(format!(
            "query parameter '{name}' must be true or false, not '{v}'"
        ))),
    }
}

pub fn parse_query(q: Option<&str>) -> Result<DetailsQuery, PartnerError> {
    let mut out = DetailsQuery {
        filter: ReportFilter::default(),
        days: NON_MFA_WINDOW_DAYS,
        format: Format::Json,
    };
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "enabled" => out.filter.enabled = Some(boolean(k, v)?),
            "admin" => out.filter.admin = Some(boolean(k, v)?),
            "days" => {
                out.days = parse_days(v).map_err(|e| PartnerError::bad_request(e.to_string()))?
            }
            "format" => {
                out.format = match v.to_ascii_lowercase().as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    _ => {
                        return Err(PartnerError::bad_request(format!(
                            "query parameter 'format' must be json or csv, not '{v}'"
                        )));
                    }
                }
            }
            other => {
                return Err(PartnerError::bad_request(format!(
                    "unknown query parameter '{other}' (known: {PARAMETERS})"
                )));
            }
        }
    }
    Ok(out)
}

pub async fn details(
    State(st): State<AppState>,
    PartnerCaller(p, _): PartnerCaller<ReadNonMfa>,
    RawQuery(q): RawQuery,
) -> Result<Response, PartnerError> {
    let q = parse_query(q.as_deref())?;
    st.non_mfa_recorder().flush().await;
    let since = st.now() - Duration::days(q.days);
    let rows = report::load(st.store(), &p.tenant_id, since, q.filter).await?;
    Ok(match q.format {
        Format::Json => PartnerJson(collection(&rows)).into_response(),
        Format::Csv => Csv(to_csv(&rows)).into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters() {
        let q = parse_query(Some("enabled=true&admin=FALSE&days=30&format=csv")).unwrap();
        assert_eq!(
            q.filter,
            ReportFilter {
                enabled: Some(true),
                admin: Some(false)
            }
        );
        assert_eq!((q.days, q.format), (30, Format::Csv));
        let d = parse_query(None).unwrap();
        assert_eq!(
            (d.days, d.format, d.filter),
            (7, Format::Json, ReportFilter::default())
        );
        for bad in ["admins=true", "enabled=yes", "days=31", "format=xml"] {
            let e = parse_query(Some(bad)).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (400, 2000), "{bad}");
        }
    }
}
