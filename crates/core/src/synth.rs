//! A deterministic synthetic organisation for demos, tests and benchmarks: tenants, users
//! in the directory import format, and sign-ins in the Graph `signIn` shape (about 1 KB each,
//! as real ones are). The same seed and `now` always give the same bytes.

use crate::classify::DEFAULT_PARTNER_APP_IDS;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub seed: u64,
    pub tenants: usize,
    pub users_per_tenant: usize,
    /// Sign-ins spread over the `days` before `now`.
    pub days: i64,
    pub signins: u64,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SynthUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mfa_registered: bool,
    pub admin: bool,
    pub enabled: bool,
    pub guest: bool,
    pub methods: Vec<&'static str>,
    pub per_user_mfa_state: &'static str,
    pub preferred: Option<&'static str>,
    pub system_preferred: bool,
    pub sspr_registered: bool,
    pub sspr_enabled: bool,
    /// Uses the Partner Center portal (only in partner tenants).
    pub partner_user: bool,
}

#[derive(Debug, Clone)]
pub struct SynthTenant {
    pub id: String,
    pub domain: String,
    pub is_partner: bool,
    pub users: Vec<SynthUser>,
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
    "Maya", "Nour", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei",
    "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Muller", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi",
    "Silva", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
];
const TENANT_NAMES: &[&str] = &[
    "contoso",
    "fabrikam",
    "northwind",
    "adatum",
    "tailspin",
    "woodgrove",
    "litware",
    "proseware",
];
const METHODS: &[&str] = &[
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
    "mobilePhone",
    "email",
    "fido2SecurityKey",
    "windowsHelloForBusiness",
];

/// (appId, name, protocol): the applications users sign in to.
const APPS: &[(&str, &str, &str)] = &[
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        "oAuth2",
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
        "oAuth2",
    ),
    (
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Microsoft Teams",
        "oAuth2",
    ),
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Azure Portal",
        "oAuth2",
    ),
    (
        "7a0f3b2e-5d61-4c39-9f1a-2b8d3e4c5f60",
        "Salesforce",
        "saml20",
    ),
    ("9b1e2c3d-4f5a-4b6c-8d7e-0f1a2b3c4d5e", "Workday", "saml20"),
];

fn uuid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// Builds the tenants and their users. Tenant 0 is a partner (CSP) tenant.
pub fn organisation(cfg: &SynthConfig) -> Vec<SynthTenant> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    (0..cfg.tenants)
        .map(|t| {
            let name = TENANT_NAMES[t % TENANT_NAMES.len()];
            let suffix = if t >= TENANT_NAMES.len() {
                format!("{}", t)
            } else {
                String::new()
            };
            let domain = format!("{name}{suffix}.example");
            let is_partner = t == 0;
            let users = (0..cfg.users_per_tenant)
                .map(|i| synth_user(&mut rng, &domain, i, is_partner))
                .collect();
            SynthTenant {
                id: uuid(&mut rng),
                domain,
                is_partner,
                users,
            }
        })
        .collect()
}

fn synth_user(rng: &mut ChaCha8Rng, domain: &str, i: usize, partner_tenant: bool) -> SynthUser {
    let first = *pick(rng, FIRST);
    let last = *pick(rng, LAST);
    let mfa_registered = rng.random_bool(0.8);
    let mut methods: Vec<&'static str> = Vec::new();
    if mfa_registered {
        let n = rng.random_range(1..=3);
        for _ in 0..n {
            let m = *pick(rng, METHODS);
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        if !methods.iter().any(|m| *m != "email") {
            methods.push("microsoftAuthenticatorPush");
        }
    } else if rng.random_bool(0.3) {
        methods.push("email");
    }
    let state_roll: f64 = rng.random();
    let per_user_mfa_state = if state_roll < 0.7 {
        "disabled"
    } else if state_roll < 0.9 {
        if mfa_registered {
            "enforced"
        } else {
            "enabled"
        }
    } else {
        "enforced"
    };
    let preferred = if mfa_registered {
        Some(*pick(rng, &["push", "oath", "sms", "voiceMobile"]))
    } else {
        None
    };
    let sspr_enabled = rng.random_bool(0.7);
    SynthUser {
        id: uuid(rng),
        upn: format!(
            "{}.{}{}@{domain}",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        ),
        display_name: format!("{first} {last}"),
        mfa_registered,
        admin: rng.random_bool(0.04),
        enabled: rng.random_bool(0.95),
        guest: rng.random_bool(0.05),
        methods,
        per_user_mfa_state,
        preferred,
        system_preferred: rng.random_bool(0.5),
        sspr_registered: sspr_enabled && rng.random_bool(0.6),
        sspr_enabled,
        partner_user: partner_tenant && rng.random_bool(0.25),
    }
}

/// A user as a directory import record (`userRegistrationDetails` + tenantId and state).
pub fn user_record(tenant: &SynthTenant, u: &SynthUser) -> Value {
    let default_mfa = match u.methods.first().copied() {
        Some("microsoftAuthenticatorPush") => "microsoftAuthenticatorPush",
        Some("softwareOneTimePasscode") => "softwareOneTimePasscode",
        Some("mobilePhone") => "mobilePhone",
        _ => "none",
    };
    json!({
        "id": u.id,
        "tenantId": tenant.id,
        "userPrincipalName": u.upn,
        "userDisplayName": u.display_name,
        "userType": if u.guest { "guest" } else { "member" },
        "isAdmin": u.admin,
        "isMfaRegistered": u.mfa_registered,
        "isMfaCapable": u.mfa_registered && u.enabled,
        "isSsprRegistered": u.sspr_registered,
        "isSsprEnabled": u.sspr_enabled,
        "isSsprCapable": u.sspr_registered && u.sspr_enabled,
        "methodsRegistered": u.methods,
        "defaultMfaMethod": if u.mfa_registered { default_mfa } else { "none" },
        "isSystemPreferredAuthenticationMethodEnabled": u.system_preferred,
        "userPreferredMethodForSecondaryAuthentication": u.preferred,
        "accountEnabled": u.enabled,
        "perUserMfaState": u.per_user_mfa_state,
    })
}

/// Sign-ins in creation order is not required; they are spread uniformly over the window.
pub struct SignIns<'a> {
    cfg: &'a SynthConfig,
    org: &'a [SynthTenant],
    rng: ChaCha8Rng,
    left: u64,
}

pub fn signins<'a>(cfg: &'a SynthConfig, org: &'a [SynthTenant]) -> SignIns<'a> {
    SignIns {
        cfg,
        org,
        rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5157_4e49_4e53),
        left: if org.iter().all(|t| t.users.is_empty()) {
            0
        } else {
            cfg.signins
        },
    }
}

impl Iterator for SignIns<'_> {
    type Item = Value;
    fn next(&mut self) -> Option<Value> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let rng = &mut self.rng;
        let tenant = loop {
            let t = pick(rng, self.org);
            if !t.users.is_empty() {
                break t;
            }
        };
        let user = pick(rng, &tenant.users);
        // A minute of slack keeps the oldest events inside a 30-day window read at `now`.
        let span_ms = (self.cfg.days * 86_400_000 - 60_000).max(1);
        let created = self.cfg.now
            - Duration::milliseconds(rng.random_range(1..=span_ms))
            - Duration::nanoseconds(rng.random_range(0..1_000_000) as i64 / 100 * 100);
        Some(signin_record(rng, tenant, user, created))
    }
}

/// (error code, failure reason, authenticationRequirement, conditionalAccessStatus,
/// steps as (method, requirement, succeeded)).
type Outcome = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str, bool)>,
);

fn signin_record(
    rng: &mut ChaCha8Rng,
    tenant: &SynthTenant,
    user: &SynthUser,
    created: DateTime<Utc>,
) -> Value {
    let (app_id, app_name, protocol) = if user.partner_user && rng.random_bool(0.3) {
        (
            DEFAULT_PARTNER_APP_IDS[1].0,
            "Microsoft Partner Center",
            "oAuth2",
        )
    } else {
        *pick(rng, APPS)
    };
    let interactive = rng.random_bool(0.6);
    let roll: f64 = rng.random();
    // Outcome mix drawn from what tenants typically see.
    let (code, reason, requirement, ca, steps): Outcome = if roll < 0.05 && user.mfa_registered {
        (
            500121,
            "Authentication failed during strong authentication request.",
            "multiFactorAuthentication",
            "success",
            vec![
                ("Password", "Primary authentication", true),
                (
                    "Mobile app notification",
                    "Multi-factor authentication",
                    false,
                ),
            ],
        )
    } else if roll < 0.10 {
        (
            50126,
            "Error validating credentials due to invalid username or password.",
            "singleFactorAuthentication",
            "notApplied",
            vec![("Password", "Primary authentication", false)],
        )
    } else if roll < 0.13 {
        (
            53003,
            "Access has been blocked by Conditional Access policies.",
            "singleFactorAuthentication",
            "failure",
            vec![("Password", "Primary authentication", true)],
        )
    } else if roll < 0.17 {
        (
            50140,
            "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
            "singleFactorAuthentication",
            "notApplied",
            vec![("Password", "Primary authentication", true)],
        )
    } else if roll < 0.60 && user.mfa_registered {
        (
            0,
            "",
            "multiFactorAuthentication",
            "success",
            vec![
                ("Password", "Primary authentication", true),
                (
                    "Mobile app notification",
                    "Multi-factor authentication",
                    true,
                ),
            ],
        )
    } else {
        (
            0,
            "",
            "singleFactorAuthentication",
            "notApplied",
            vec![("Password", "Primary authentication", true)],
        )
    };
    let compliant = rng.random_bool(0.55);
    let managed = compliant || rng.random_bool(0.2);
    let city = *pick(
        rng,
        &[
            ("Seattle", "Washington", "US"),
            ("London", "England", "GB"),
            ("Berlin", "Berlin", "DE"),
            ("Tokyo", "Tokyo", "JP"),
            ("Lagos", "Lagos", "NG"),
        ],
    );
    let ip = format!("203.0.113.{}", rng.random_range(1..255));
    let details: Vec<Value> = steps
        .iter()
        .map(|(method, req, ok)| {
            json!({
                "authenticationStepDateTime": created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "authenticationMethod": method,
                "succeeded": ok,
                "authenticationStepResultDetail": if *ok { "Correct password" } else { "Authentication failed" },
                "authenticationStepRequirement": req,
            })
        })
        .collect();
    json!({
        "id": uuid(rng),
        "createdDateTime": created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "userDisplayName": user.display_name,
        "userPrincipalName": user.upn,
        "userId": user.id,
        "appId": app_id,
        "appDisplayName": app_name,
        "ipAddress": ip,
        "clientAppUsed": if interactive { "Browser" } else { "Mobile Apps and Desktop clients" },
        "correlationId": uuid(rng),
        "conditionalAccessStatus": ca,
        "isInteractive": interactive,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": app_name,
        "resourceId": app_id,
        "resourceTenantId": tenant.id,
        "homeTenantId": tenant.id,
        "userType": if user.guest { "guest" } else { "member" },
        "authenticationRequirement": requirement,
        "authenticationProtocol": protocol,
        "status": { "errorCode": code, "failureReason": reason },
        "deviceDetail": {
            "operatingSystem": "Windows10",
            "browser": "Chrome 131.0.0",
            "isCompliant": compliant,
            "isManaged": managed,
            "trustType": if managed { "Azure AD joined" } else { "" },
        },
        "location": {
            "city": city.0, "state": city.1, "countryOrRegion": city.2
        },
        "authenticationDetails": details,
        "appliedConditionalAccessPolicies": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::SignInEvent;
    use crate::time::parse_datetime;

    fn cfg() -> SynthConfig {
        SynthConfig {
            seed: 7,
            tenants: 3,
            users_per_tenant: 50,
            days: 30,
            signins: 500,
            now: parse_datetime("2026-11-23T12:00:00Z").unwrap(),
        }
    }

    #[test]
    fn same_seed_same_bytes_and_every_record_parses() {
        let c = cfg();
        let org = organisation(&c);
        let a: Vec<String> = signins(&c, &org).map(|v| v.to_string()).collect();
        let org2 = organisation(&c);
        let b: Vec<String> = signins(&c, &org2).map(|v| v.to_string()).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 500);
        let avg = a.iter().map(String::len).sum::<usize>() / a.len();
        assert!(
            (700..1600).contains(&avg),
            "about 1-1.5 KB per sign-in, got {avg}"
        );
        for s in &a {
            let ev = SignInEvent::from_json(s.as_bytes(), None).unwrap();
            assert!(ev.created < c.now && ev.created > c.now - Duration::days(30));
        }
        for t in &org {
            for u in &t.users {
                let rec = user_record(t, u).to_string();
                crate::directory::DirectoryUser::from_json(rec.as_bytes(), None, c.now).unwrap();
            }
        }
    }
}
