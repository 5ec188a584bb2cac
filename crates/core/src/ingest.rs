//! Turning raw import records into what the store takes, with a precise reason for every
//! record refused. Shared by the HTTP ingest API and the CLI.

use crate::classify::{ClassifyConfig, SignInFact};
use crate::directory::DirectoryUser;
use crate::records::{Item, Position};
use crate::signin::{RecordError, SignInEvent};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// A record refused, where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    pub reason: String,
}

impl Rejection {
    pub fn new(pos: Position, reason: impl Into<String>) -> Self {
        Rejection {
            line: pos.line,
            index: pos.index,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pos = Position {
            line: self.line,
            index: self.index,
        };
        write!(f, "{pos}: {}", self.reason)
    }
}

/// Which tenants an upload may write, and which tenant records without one belong to.
#[derive(Debug, Clone, Default)]
pub struct TenantScope {
    pub default_tenant: Option<String>,
    /// `None`: any tenant (the CLI, writing its own database).
    pub allowed: Option<Vec<String>>,
}

impl TenantScope {
    fn check(&self, tenant: &str) -> Result<(), RecordError> {
        match &self.allowed {
            Some(list) if !list.iter().any(|t| t.eq_ignore_ascii_case(tenant)) => {
                Err(RecordError::ForeignTenant {
                    record: tenant.to_string(),
                    allowed: list.join(", "),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Sign-ins more than this far in the future are refused: a clock or export bug, and they
/// would sit outside every query window.
pub const MAX_FUTURE_SKEW_HOURS: i64 = 24;

pub fn parse_signin(
    pos: Position,
    item: Item<'_>,
    scope: &TenantScope,
    cfg: &ClassifyConfig,
    now: DateTime<Utc>,
) -> Result<SignInFact, Rejection> {
    let bytes = item.map_err(|e| Rejection::new(pos, e))?;
    let ev = SignInEvent::from_json(bytes, scope.default_tenant.as_deref())
        .map_err(|e| Rejection::new(pos, e.to_string()))?;
    scope
        .check(&ev.tenant_id)
        .map_err(|e| Rejection::new(pos, e.to_string()))?;
    if ev.created > now + Duration::hours(MAX_FUTURE_SKEW_HOURS) {
        return Err(Rejection::new(
            pos,
            format!(
                "field 'createdDateTime': {} is more than {MAX_FUTURE_SKEW_HOURS} hours in the future",
                crate::time::rfc3339(ev.created)
            ),
        ));
    }
    Ok(SignInFact::from_event(ev, cfg))
}

pub fn parse_user(
    pos: Position,
    item: Item<'_>,
    scope: &TenantScope,
    now: DateTime<Utc>,
) -> Result<DirectoryUser, Rejection> {
    let bytes = item.map_err(|e| Rejection::new(pos, e))?;
    let u = DirectoryUser::from_json(bytes, scope.default_tenant.as_deref(), now)
        .map_err(|e| Rejection::new(pos, e.to_string()))?;
    scope
        .check(&u.tenant_id)
        .map_err(|e| Rejection::new(pos, e.to_string()))?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_datetime;

    #[test]
    fn foreign_tenants_and_future_events_are_refused() {
        let now = parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let scope = TenantScope {
            default_tenant: Some("a".into()),
            allowed: Some(vec!["a".into()]),
        };
        let pos = Position {
            line: 3,
            index: None,
        };
        let cfg = ClassifyConfig::default();
        let ok = br#"{"id":"1","createdDateTime":"2026-11-22T00:00:00Z"}"#;
        assert_eq!(
            parse_signin(pos, Ok(ok), &scope, &cfg, now)
                .unwrap()
                .tenant_id,
            "a"
        );
        let foreign = br#"{"id":"1","createdDateTime":"2026-11-22T00:00:00Z","homeTenantId":"B"}"#;
        let r = parse_signin(pos, Ok(foreign), &scope, &cfg, now).unwrap_err();
        assert!(r.reason.contains("tenant b"), "{r}");
        assert_eq!(r.to_string().split(':').next(), Some("line 3"));
        let future = br#"{"id":"1","createdDateTime":"2026-11-25T00:00:00Z"}"#;
        assert!(
            parse_signin(pos, Ok(future), &scope, &cfg, now)
                .unwrap_err()
                .reason
                .contains("future")
        );
        let bad =
            parse_signin(pos, Err("expected a JSON object".into()), &scope, &cfg, now).unwrap_err();
        assert_eq!(bad.reason, "expected a JSON object");
    }
}

#[cfg(test)]
mod documented_examples {
    //! The example files in docs/ must stay valid and classify as docs/formats.md says.

    use super::*;
    use crate::metric::Metric;
    use crate::records::read_records;
    use crate::time::parse_datetime;

    #[test]
    fn the_documented_examples_load_and_classify_as_described() {
        let now = parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let cfg = ClassifyConfig::default();
        let scope = TenantScope::default();
        let mut facts = Vec::new();
        read_records(
            &include_bytes!("../../../docs/examples/signins.ndjson")[..],
            &mut |p, i| {
                facts.push(parse_signin(p, i, &scope, &cfg, now).unwrap());
                Ok(())
            },
        )
        .unwrap();
        let m: Vec<Vec<Metric>> = facts
            .iter()
            .map(|f| f.facts.metrics.iter().collect())
            .collect();
        assert_eq!(m[0], vec![Metric::MfaSignInFailure]);
        assert_eq!(
            m[1],
            vec![
                Metric::MfaSignInSuccess,
                Metric::ConditionalAccessCompliantDevicesSignInSuccess,
                Metric::ConditionalAccessManagedDevicesSignInSuccess,
                Metric::SamlSignInSuccess
            ]
        );
        assert!(m[2].is_empty() && facts[2].facts.partner_non_mfa);
        assert_eq!(m[3], vec![Metric::ConditionalAccessBlockedSignIn]);
        let mut users = Vec::new();
        read_records(
            &include_bytes!("../../../docs/examples/users.ndjson")[..],
            &mut |p, i| {
                users.push(parse_user(p, i, &scope, now).unwrap());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(
            users[1].per_user_mfa_state,
            crate::directory::PerUserMfaState::Enabled
        );
    }
}
