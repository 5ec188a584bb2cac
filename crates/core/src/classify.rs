//! The classification rules: one sign-in in, the facts mfalens counts out. Pure and total.
//! Every rule and error code here is listed in `docs/classification.md`; change both together.

use crate::metric::{Metric, MetricSet};
use crate::signin::{
    AuthenticationProtocol, AuthenticationRequirement, ConditionalAccessStatus, SignInEvent,
    StepKind,
};
use std::collections::HashSet;

/// Entra (AADSTS) codes that mean the MFA step itself failed or was abandoned.
pub const MFA_FAILURE_CODES: &[(i64, &str)] = &[
    (
        500121,
        "Authentication failed during strong authentication request",
    ),
    (50088, "Limit on telecom MFA calls reached"),
    (
        50158,
        "External security challenge (e.g. third-party MFA) not satisfied",
    ),
    (500122, "Strong authentication request was denied"),
];

/// Entra code for "blocked by Conditional Access".
pub const CA_BLOCKED_CODE: i64 = 53003;

/// Application ids whose sign-ins are Partner Center sign-ins by default.
pub const DEFAULT_PARTNER_APP_IDS: &[(&str, &str)] = &[
    (
        "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
        "Microsoft Partner Center API",
    ),
    (
        "4990cffe-04e8-4e8b-808a-1175604b879f",
        "Microsoft Partner Center portal",
    ),
];

#[derive(Debug, Clone)]
pub struct ClassifyConfig {
    partner_app_ids: HashSet<String>,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig::with_partner_apps(DEFAULT_PARTNER_APP_IDS.iter().map(|(id, _)| *id))
    }
}

impl ClassifyConfig {
    pub fn with_partner_apps<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        ClassifyConfig {
            partner_app_ids: ids.into_iter().map(str::to_ascii_lowercase).collect(),
        }
    }
    pub fn is_partner_app(&self, app_id: &str) -> bool {
        self.partner_app_ids.contains(&app_id.to_ascii_lowercase())
    }
    pub fn partner_app_ids(&self) -> impl Iterator<Item = &str> {
        self.partner_app_ids.iter().map(String::as_str)
    }
}

/// What one sign-in contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInFacts {
    pub metrics: MetricSet,
    /// The sign-in succeeded and MFA was satisfied (required and met, or a second factor passed).
    pub mfa_satisfied: bool,
    /// A successful sign-in by a user to a partner application without MFA: a Partner Center
    /// non-MFA-compliant principal record.
    pub partner_non_mfa: bool,
}

pub fn classify(ev: &SignInEvent, cfg: &ClassifyConfig) -> SignInFacts {
    let success = ev.error_code == 0;
    let mfa_step_passed = ev
        .steps
        .iter()
        .any(|s| s.kind == StepKind::MultiFactor && s.succeeded);
    let mfa_step_failed = ev
        .steps
        .iter()
        .any(|s| s.kind == StepKind::MultiFactor && !s.succeeded);
    let mfa_required =
        ev.authentication_requirement == AuthenticationRequirement::MultiFactorAuthentication;
    let mfa_satisfied = success && (mfa_required || mfa_step_passed);

    let mut metrics = MetricSet::default();
    let mfa_code = MFA_FAILURE_CODES.iter().any(|(c, _)| *c == ev.error_code);
    if ev.is_interactive && !success && (mfa_code || mfa_step_failed) {
        metrics.insert(Metric::MfaSignInFailure);
    }
    if ev.is_interactive && success && mfa_required {
        metrics.insert(Metric::MfaSignInSuccess);
    }
    if ev.conditional_access_status == ConditionalAccessStatus::Failure
        || ev.error_code == CA_BLOCKED_CODE
    {
        metrics.insert(Metric::ConditionalAccessBlockedSignIn);
    }
    if success && ev.device_compliant {
        metrics.insert(Metric::ConditionalAccessCompliantDevicesSignInSuccess);
    }
    if success && ev.device_managed {
        metrics.insert(Metric::ConditionalAccessManagedDevicesSignInSuccess);
    }
    if success && ev.protocol == Some(AuthenticationProtocol::Saml20) {
        metrics.insert(Metric::SamlSignInSuccess);
    }

    let partner_app = ev.app_id.as_deref().is_some_and(|a| cfg.is_partner_app(a))
        || ev
            .resource_id
            .as_deref()
            .is_some_and(|r| cfg.is_partner_app(r));
    let partner_non_mfa = success && partner_app && !mfa_satisfied && ev.user_id.is_some();

    SignInFacts {
        metrics,
        mfa_satisfied,
        partner_non_mfa,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::AuthStep;
    use crate::time::parse_datetime;

    fn base() -> SignInEvent {
        SignInEvent {
            id: "e1".into(),
            tenant_id: "t".into(),
            created: parse_datetime("2026-11-01T00:00:00Z").unwrap(),
            user_id: Some("u1".into()),
            user_principal_name: Some("a@contoso.example".into()),
            app_id: Some("app".into()),
            app_display_name: None,
            resource_id: None,
            is_interactive: true,
            authentication_requirement: AuthenticationRequirement::SingleFactorAuthentication,
            error_code: 0,
            failure_reason: None,
            conditional_access_status: ConditionalAccessStatus::NotApplied,
            device_compliant: false,
            device_managed: false,
            protocol: None,
            steps: vec![],
        }
    }

    fn metrics(ev: &SignInEvent) -> Vec<Metric> {
        classify(ev, &ClassifyConfig::default())
            .metrics
            .iter()
            .collect()
    }

    #[test]
    fn mfa_failure_by_code_only_when_interactive() {
        let mut ev = base();
        ev.error_code = 500121;
        assert_eq!(metrics(&ev), vec![Metric::MfaSignInFailure]);
        ev.is_interactive = false;
        assert!(metrics(&ev).is_empty());
    }

    #[test]
    fn mfa_failure_by_failed_second_factor_step() {
        let mut ev = base();
        ev.error_code = 50074;
        assert!(
            metrics(&ev).is_empty(),
            "an interrupt alone is not an MFA failure"
        );
        ev.steps = vec![
            AuthStep {
                kind: StepKind::Primary,
                succeeded: true,
            },
            AuthStep {
                kind: StepKind::MultiFactor,
                succeeded: false,
            },
        ];
        assert_eq!(metrics(&ev), vec![Metric::MfaSignInFailure]);
    }

    #[test]
    fn the_keep_me_signed_in_interrupt_counts_nowhere() {
        let mut ev = base();
        ev.error_code = 50140;
        ev.authentication_requirement = AuthenticationRequirement::MultiFactorAuthentication;
        ev.steps = vec![AuthStep {
            kind: StepKind::MultiFactor,
            succeeded: true,
        }];
        assert!(metrics(&ev).is_empty());
        assert!(!classify(&ev, &ClassifyConfig::default()).mfa_satisfied);
    }

    #[test]
    fn mfa_success_needs_interactive_success_with_mfa_required() {
        let mut ev = base();
        ev.authentication_requirement = AuthenticationRequirement::MultiFactorAuthentication;
        assert_eq!(metrics(&ev), vec![Metric::MfaSignInSuccess]);
        ev.is_interactive = false;
        assert!(metrics(&ev).is_empty());
        assert!(classify(&ev, &ClassifyConfig::default()).mfa_satisfied);
    }

    #[test]
    fn conditional_access_block_by_status_or_code() {
        let mut ev = base();
        ev.conditional_access_status = ConditionalAccessStatus::Failure;
        ev.error_code = 53000;
        assert_eq!(metrics(&ev), vec![Metric::ConditionalAccessBlockedSignIn]);
        let mut ev = base();
        ev.error_code = CA_BLOCKED_CODE;
        assert_eq!(metrics(&ev), vec![Metric::ConditionalAccessBlockedSignIn]);
    }

    #[test]
    fn device_and_saml_successes() {
        let mut ev = base();
        ev.device_compliant = true;
        ev.device_managed = true;
        ev.protocol = Some(AuthenticationProtocol::Saml20);
        assert_eq!(
            metrics(&ev),
            vec![
                Metric::ConditionalAccessCompliantDevicesSignInSuccess,
                Metric::ConditionalAccessManagedDevicesSignInSuccess,
                Metric::SamlSignInSuccess
            ]
        );
        ev.error_code = 50126;
        assert!(metrics(&ev).is_empty(), "failures are no successes");
    }

    #[test]
    fn partner_sign_in_without_mfa_is_a_non_compliant_principal() {
        let cfg = ClassifyConfig::default();
        let mut ev = base();
        ev.app_id = Some(DEFAULT_PARTNER_APP_IDS[1].0.to_uppercase());
        assert!(classify(&ev, &cfg).partner_non_mfa);
        ev.steps = vec![AuthStep {
            kind: StepKind::MultiFactor,
            succeeded: true,
        }];
        assert!(!classify(&ev, &cfg).partner_non_mfa, "MFA step passed");
        let mut ev = base();
        ev.resource_id = Some(DEFAULT_PARTNER_APP_IDS[0].0.into());
        assert!(
            classify(&ev, &cfg).partner_non_mfa,
            "partner API as the resource"
        );
        ev.error_code = 50126;
        assert!(
            !classify(&ev, &cfg).partner_non_mfa,
            "a failed sign-in is no sign-in"
        );
        let mut ev = base();
        ev.app_id = Some(DEFAULT_PARTNER_APP_IDS[1].0.into());
        ev.user_id = None;
        assert!(!classify(&ev, &cfg).partner_non_mfa, "no principal to name");
        let custom = ClassifyConfig::with_partner_apps(["app"]);
        assert!(classify(&base(), &custom).partner_non_mfa);
    }
}

/// A classified sign-in as the store keeps it: the compact fact row plus what the
/// non-MFA principal record needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFact {
    pub tenant_id: String,
    pub id: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub user_id: Option<String>,
    /// Only on a partner non-MFA sign-in, to label its principal record.
    pub user_principal_name: Option<String>,
    pub app_id: Option<String>,
    /// Only on a partner non-MFA sign-in, to label its principal record.
    pub app_display_name: Option<String>,
    pub facts: SignInFacts,
}

impl SignInFact {
    pub fn from_event(ev: SignInEvent, cfg: &ClassifyConfig) -> SignInFact {
        let facts = classify(&ev, cfg);
        // The names only label a non-MFA principal record; other facts do not carry them
        // (a third less memory per fact in an ingest batch).
        let named = facts.partner_non_mfa;
        SignInFact {
            tenant_id: ev.tenant_id,
            id: ev.id,
            created: ev.created,
            user_id: ev.user_id,
            user_principal_name: ev.user_principal_name.filter(|_| named),
            app_id: ev.app_id,
            app_display_name: ev.app_display_name.filter(|_| named),
            facts,
        }
    }

    /// Flags packed for storage: bit 0 = MFA satisfied, bit 1 = partner non-MFA sign-in.
    pub fn flags(&self) -> u8 {
        (self.facts.mfa_satisfied as u8) | ((self.facts.partner_non_mfa as u8) << 1)
    }
}
