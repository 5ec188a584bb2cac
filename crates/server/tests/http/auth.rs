//! Identity and access against the running server, table-driven: every endpoint × every kind
//! of bad token → 401 in its family's envelope with no data; every missing permission or
//! role → 403; every grant the permission table lists → success; a tenant never sees or
//! writes another tenant's data. Remote issuers, logs and the cost of verification are in
//! the submodules.

mod bench;
mod logs;
mod remote;

use crate::app::{TENANT_A, TENANT_B, TestApp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mfalens_core::synth::{SynthConfig, organisation, signins, user_record};
use mfalens_server::auth::local::TokenSpec;
use mfalens_server::auth::policy::{ALL_ROLES, Operation, Role, rule};
use mfalens_server::auth::principal::ClaimsError;
use mfalens_server::auth::verify::{GRAPH_AUDIENCES, INGEST_AUDIENCES, PARTNER_CENTER_AUDIENCES};
use mfalens_server::auth::{AuthError, Family};
use serde_json::{Value, json};

/// One endpoint under test. In `path`, `{user}` becomes a user id and `{start}`/`{end}` a
/// valid reporting window; `body` is sent as `(content type, text)`, with `{now}` replaced.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Operation,
    pub family: Family,
    pub body: Option<(&'static str, &'static str)>,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    op: Operation,
    family: Family,
    body: Option<(&'static str, &'static str)>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        op,
        family,
        body,
    }
}

const NDJSON: &str = "application/x-ndjson";
const JSON: &str = "application/json";

/// Every endpoint on this branch. Adding one (Graph users, Partner Center) is one line: the
/// tokens to try are derived from its row of `auth::policy::TABLE`.
pub const ENDPOINTS: &[Endpoint] = &[
    ep(
        "GET",
        "/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={start},exclusiveIntervalEndDateTime={end},aggregationIntervalInMinutes=30)",
        Operation::ReadServiceActivity,
        Family::Graph,
        None,
    ),
    ep(
        "POST",
        "/ingest/signins",
        Operation::Ingest,
        Family::Ingest,
        Some((
            NDJSON,
            r#"{"id": "matrix-signin", "createdDateTime": "{now}"}"#,
        )),
    ),
    ep(
        "POST",
        "/ingest/users",
        Operation::Ingest,
        Family::Ingest,
        Some((
            NDJSON,
            r#"{"id": "matrix-user", "userPrincipalName": "matrix@a.example"}"#,
        )),
    ),
    ep(
        "GET",
        "/beta/users/{user}/authentication/requirements",
        Operation::ReadRequirements,
        Family::Graph,
        None,
    ),
    ep(
        "GET",
        "/beta/me/authentication/requirements",
        Operation::ReadRequirements,
        Family::Graph,
        None,
    ),
    ep(
        "PATCH",
        "/beta/users/{user}/authentication/requirements",
        Operation::WriteRequirements,
        Family::Graph,
        Some((JSON, r#"{"perUserMfaState": "enabled"}"#)),
    ),
    ep(
        "GET",
        "/beta/users/{user}/authentication/signInPreferences",
        Operation::ReadSignInPreferences,
        Family::Graph,
        None,
    ),
    ep(
        "PATCH",
        "/beta/users/{user}/authentication/signInPreferences",
        Operation::WriteSignInPreferences,
        Family::Graph,
        Some((
            JSON,
            r#"{"isSystemPreferredAuthenticationMethodEnabled": true}"#,
        )),
    ),
    ep(
        "GET",
        "/beta/reports/getCredentialUserRegistrationCount()",
        Operation::ReadCredentialRegistration,
        Family::Graph,
        None,
    ),
    ep(
        "GET",
        "/beta/reports/authenticationMethods/userRegistrationDetails",
        Operation::ReadUserRegistrationDetails,
        Family::Graph,
        None,
    ),
    ep(
        "GET",
        "/beta/reports/authenticationMethods/usersRegisteredByFeature()",
        Operation::ReadUserRegistrationDetails,
        Family::Graph,
        None,
    ),
    ep(
        "GET",
        "/beta/reports/authenticationMethods/usersRegisteredByMethod()",
        Operation::ReadUserRegistrationDetails,
        Family::Graph,
        None,
    ),
    ep(
        "GET",
        "/v1/nonMfaCompliantPartnerPrincipals",
        Operation::ReadNonMfaPrincipals,
        Family::PartnerCenter,
        None,
    ),
    ep(
        "GET",
        "/pcapi/v1/nonMfaCompliantPartnerPrincipals",
        Operation::ReadNonMfaPrincipals,
        Family::PartnerCenter,
        None,
    ),
];

/// Users of the fixture: the caller and a colleague in A, and a user of B.
pub const A_SELF: &str = "a0000000-0000-0000-0000-000000000001";
pub const A_OTHER: &str = "a0000000-0000-0000-0000-000000000002";
pub const B_USER: &str = "b0000000-0000-0000-0000-000000000001";

pub fn audience(f: Family) -> &'static str {
    match f {
        Family::Graph => GRAPH_AUDIENCES[0],
        Family::PartnerCenter => PARTNER_CENTER_AUDIENCES[0],
        Family::Ingest => INGEST_AUDIENCES[0],
    }
}

pub fn delegated(
    app: &TestApp,
    f: Family,
    tenant: &str,
    user: &str,
    scopes: &[&str],
    roles: &[Role],
) -> String {
    app.token(&TokenSpec {
        tenant_id: tenant.into(),
        object_id: user.into(),
        upn: Some(format!("{user}@{tenant}.example")),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        directory_roles: roles.iter().map(|r| r.template_id.to_string()).collect(),
        mfa: true,
        audience: audience(f).into(),
        app_id: "client-app".into(),
        lifetime: Duration::hours(1),
        ..TokenSpec::default()
    })
}

pub fn application(app: &TestApp, f: Family, tenant: &str, roles: &[&str]) -> String {
    app.token(&TokenSpec {
        tenant_id: tenant.into(),
        object_id: "sp-0000".into(),
        app_roles: roles.iter().map(|r| r.to_string()).collect(),
        audience: audience(f).into(),
        app_id: "client-app".into(),
        lifetime: Duration::hours(1),
        ..TokenSpec::default()
    })
}

pub struct Reply {
    pub status: u16,
    pub www_authenticate: bool,
    pub text: String,
    pub body: Value,
}

/// Calls `e` with `token` (None: no Authorization header), `{user}` standing for `user`.
pub async fn call(app: &TestApp, e: &Endpoint, token: Option<&str>, user: &str) -> Reply {
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let now = app.now();
    let start = now - Duration::hours(2);
    let start = start - Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
    let path = e
        .path
        .replace("{user}", user)
        .replace("{start}", &fmt(start))
        .replace("{end}", &fmt(start + Duration::hours(1)));
    let method = reqwest::Method::from_bytes(e.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(&path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some((ctype, body)) = e.body {
        req = req
            .header("content-type", ctype)
            .body(body.replace("{now}", &fmt(now - Duration::minutes(5))));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let www_authenticate = r.headers().contains_key("www-authenticate");
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        www_authenticate,
        text,
        body,
    }
}

/// A refusal in the family's own envelope, carrying nothing but the error.
pub fn assert_refused(e: &Endpoint, r: &Reply, status: u16, label: &str) {
    let ctx = format!("{} {} / {label}: {}", e.method, e.path, r.text);
    assert_eq!(r.status, status, "{ctx}");
    match e.family {
        Family::Graph | Family::Ingest => {
            let keys: Vec<&String> = r.body.as_object().expect(&ctx).keys().collect();
            assert_eq!(keys, ["error"], "{ctx}");
            let code = r.body["error"]["code"].as_str().expect(&ctx);
            let want = match (e.family, status) {
                (_, 401) => "InvalidAuthenticationToken",
                (Family::Graph, 403) => "Authorization_RequestDenied",
                (Family::Graph, 400) => "BadRequest",
                (_, 403) => "Forbidden",
                _ => unreachable!(),
            };
            assert_eq!(code, want, "{ctx}");
            if status == 401 {
                assert!(r.www_authenticate, "401 carries WWW-Authenticate: {ctx}");
            }
        }
        Family::PartnerCenter => {
            let mut keys: Vec<&String> = r.body.as_object().expect(&ctx).keys().collect();
            keys.sort();
            assert_eq!(keys, ["code", "data", "description", "source"], "{ctx}");
            assert_eq!(r.body["data"], json!([]), "{ctx}");
            assert_eq!(r.body["source"], "PartnerFD", "{ctx}");
        }
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// A token that must be refused, and why.
pub type BadToken = (&'static str, Option<String>, AuthError);

/// Every kind of token that must be refused, derived from a valid one.
pub fn bad_tokens(app: &TestApp, family: Family, good: &str) -> Vec<BadToken> {
    let claims = payload(good);
    let now = app.now().timestamp();
    let resign = |f: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        f(&mut c);
        app.key.sign(&c).unwrap()
    };
    let parts: Vec<&str> = good.split('.').collect();
    let public_pem = app.key.public_pem().unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(app.key.kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &claims,
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    let mut unknown = Header::new(Algorithm::RS256);
    unknown.kid = Some("a-kid-nobody-published".into());
    let other_audience = match family {
        Family::Ingest => GRAPH_AUDIENCES[0],
        _ => INGEST_AUDIENCES[0],
    };
    let mut tampered = claims.clone();
    tampered["tid"] = json!(TENANT_B);
    tampered["roles"] = json!(["MfaLens.Ingest", "Reports.Read.All"]);
    use AuthError as E;
    vec![
        ("no token", None, E::Missing),
        ("garbage", Some("garbage".into()), E::Malformed),
        ("three garbage segments", Some("a.b.c".into()), E::Malformed),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                parts[1]
            )),
            E::Malformed,
        ),
        (
            "HS256 signed with the public key",
            Some(hs256),
            E::WrongAlgorithm,
        ),
        (
            "expired",
            Some(resign(&|c| {
                c["iat"] = json!(now - 7200);
                c["nbf"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            })),
            E::Expired,
        ),
        (
            "not yet valid",
            Some(resign(&|c| {
                c["nbf"] = json!(now + 3600);
                c["exp"] = json!(now + 7200);
            })),
            E::NotYetValid,
        ),
        (
            "wrong issuer",
            Some(resign(&|c| c["iss"] = json!("https://evil.example/issuer"))),
            E::UntrustedIssuer,
        ),
        (
            "wrong audience",
            Some(resign(&|c| c["aud"] = json!(other_audience))),
            E::WrongAudience,
        ),
        (
            "no audience",
            Some(resign(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            })),
            E::WrongAudience,
        ),
        (
            "no expiry",
            Some(resign(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            E::Malformed,
        ),
        (
            "unknown kid",
            Some(app.key.sign_with_header(&unknown, &claims).unwrap()),
            E::UnknownKey,
        ),
        (
            "tampered payload",
            Some(format!("{}.{}.{}", parts[0], b64(&tampered), parts[2])),
            E::BadSignature,
        ),
        (
            "missing tid",
            Some(resign(&|c| {
                c.as_object_mut().unwrap().remove("tid");
            })),
            E::Claims(ClaimsError::NoTenant),
        ),
    ]
}

/// The least-privileged valid token for `e` (application when the table allows it).
pub fn least_privileged(app: &TestApp, e: &Endpoint, tenant: &str) -> String {
    let r = rule(e.op);
    if !r.application_roles.is_empty() && !e.path.contains("/me/") {
        application(app, e.family, tenant, &r.application_roles[..1])
    } else {
        let roles: Vec<Role> = r.delegated_roles.first().copied().into_iter().collect();
        delegated(
            app,
            e.family,
            tenant,
            A_SELF,
            &r.delegated_scopes[..1],
            &roles,
        )
    }
}

/// Seeds tenant A's users (the caller and a colleague).
pub async fn seed_tenant_a(app: &TestApp) {
    let ingest = app.ingest_token(&[TENANT_A]);
    let users = [A_SELF, A_OTHER]
        .iter()
        .map(|id| json!({"id": id, "userPrincipalName": format!("{id}@a.example")}).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let r = app
        .post_ndjson("/ingest/users", &ingest, users.into_bytes())
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn every_endpoint_refuses_every_bad_token_with_nothing_but_an_error() {
    let app = TestApp::start().await;
    seed_tenant_a(&app).await;
    let before = app.store.counts(None).await.unwrap();
    for e in ENDPOINTS {
        let good = least_privileged(&app, e, TENANT_A);
        for (label, token, why) in bad_tokens(&app, e.family, &good) {
            // Refused for the reason the case is about, not another one.
            if let Some(t) = &token {
                let got = app
                    .state
                    .verifier()
                    .verify(t, e.family, app.now().timestamp());
                assert_eq!(got, Err(why), "{label}");
            }
            let r = call(&app, e, token.as_deref(), A_OTHER).await;
            let status = match (e.family, label) {
                // Partner Center answers a token of another audience with 403 (2032).
                (Family::PartnerCenter, "wrong audience" | "no audience") => 403,
                _ => 401,
            };
            assert_refused(e, &r, status, label);
            if e.family == Family::PartnerCenter {
                let code = r.body["code"].as_i64();
                let want = match label {
                    "no token" => 800001,
                    "wrong audience" | "no audience" => 2032,
                    _ => 400,
                };
                assert_eq!(code, Some(want), "{label}: {}", r.text);
            }
        }
        // The valid token itself works, so the refusals above are about the token.
        let r = call(&app, e, Some(&good), A_OTHER).await;
        assert!(
            (200..300).contains(&r.status),
            "{} {}: {}",
            e.method,
            e.path,
            r.text
        );
    }
    let after = app.store.counts(Some(TENANT_B)).await.unwrap();
    assert_eq!(
        (after.signins, after.users),
        (0, 0),
        "nothing reached tenant B"
    );
    assert!(before.users >= 2);
}

enum Expect {
    Allowed,
    Forbidden,
    BadRequest,
}

struct Case {
    label: String,
    token: String,
    user: &'static str,
    expect: Expect,
}

/// What the permission table says about `e`: every grant it lists, and every way to miss one.
fn permission_cases(app: &TestApp, e: &Endpoint) -> Vec<Case> {
    let r = rule(e.op);
    let f = e.family;
    let me = e.path.contains("/me/");
    let on_users = e.path.contains("{user}");
    let mut cases = Vec::new();
    let mut add = |label: String, token: String, user: &'static str, expect: Expect| {
        cases.push(Case {
            label,
            token,
            user,
            expect,
        })
    };
    let not_in = |roles: &[Role]| -> Vec<Role> {
        ALL_ROLES
            .iter()
            .copied()
            .filter(|x| !roles.contains(x))
            .collect()
    };
    if let Some(scope0) = r.delegated_scopes.first() {
        let base: Vec<Role> = r.delegated_roles.first().copied().into_iter().collect();
        for s in r.delegated_scopes {
            add(
                format!("delegated {s}"),
                delegated(app, f, TENANT_A, A_SELF, &[s], &base),
                A_SELF,
                Expect::Allowed,
            );
        }
        for role in r.delegated_roles {
            add(
                format!("delegated {scope0} + {}", role.name),
                delegated(app, f, TENANT_A, A_SELF, &[scope0], &[*role]),
                A_SELF,
                Expect::Allowed,
            );
        }
        add(
            "delegated without the scope, every role".into(),
            delegated(app, f, TENANT_A, A_SELF, &["User.Read"], ALL_ROLES),
            A_SELF,
            Expect::Forbidden,
        );
        if !r.delegated_roles.is_empty() {
            add(
                "delegated scope without a directory role".into(),
                delegated(app, f, TENANT_A, A_SELF, &[scope0], &[]),
                A_SELF,
                Expect::Forbidden,
            );
            add(
                "delegated scope with only the other roles".into(),
                delegated(
                    app,
                    f,
                    TENANT_A,
                    A_SELF,
                    &[scope0],
                    &not_in(r.delegated_roles),
                ),
                A_SELF,
                Expect::Forbidden,
            );
        }
        if on_users && !r.delegated_roles_for_others.is_empty() {
            for role in r.delegated_roles_for_others {
                let mut roles = base.clone();
                roles.push(*role);
                add(
                    format!("delegated {scope0} + {} on another user", role.name),
                    delegated(app, f, TENANT_A, A_SELF, &[scope0], &roles),
                    A_OTHER,
                    Expect::Allowed,
                );
            }
            let mut others = base.clone();
            others.extend(not_in(r.delegated_roles_for_others));
            add(
                "delegated scope on another user without an admin role".into(),
                delegated(app, f, TENANT_A, A_SELF, &[scope0], &others),
                A_OTHER,
                Expect::Forbidden,
            );
        }
    } else {
        add(
            "delegated token where only applications may call".into(),
            delegated(app, f, TENANT_A, A_SELF, r.application_roles, ALL_ROLES),
            A_SELF,
            Expect::Forbidden,
        );
    }
    if !r.application_roles.is_empty() {
        for role in r.application_roles {
            add(
                format!("application {role}"),
                application(app, f, TENANT_A, &[role]),
                A_OTHER,
                if me {
                    Expect::BadRequest
                } else {
                    Expect::Allowed
                },
            );
        }
        add(
            "application without the role".into(),
            application(app, f, TENANT_A, &["User.Read.All", "Directory.Read.All"]),
            A_OTHER,
            if me {
                Expect::BadRequest
            } else {
                Expect::Forbidden
            },
        );
    } else {
        add(
            "application token where only users may call".into(),
            application(app, f, TENANT_A, r.delegated_scopes),
            A_OTHER,
            Expect::Forbidden,
        );
    }
    cases
}

#[tokio::test]
async fn every_missing_permission_is_403_and_every_listed_grant_succeeds() {
    let app = TestApp::start().await;
    seed_tenant_a(&app).await;
    let mut counted = (0, 0);
    for e in ENDPOINTS {
        for c in permission_cases(&app, e) {
            let r = call(&app, e, Some(&c.token), c.user).await;
            match c.expect {
                Expect::Allowed => {
                    counted.0 += 1;
                    assert!(
                        (200..300).contains(&r.status),
                        "{} {} / {}: {} {}",
                        e.method,
                        e.path,
                        c.label,
                        r.status,
                        r.text
                    );
                }
                Expect::Forbidden => {
                    counted.1 += 1;
                    assert_refused(e, &r, 403, &c.label);
                }
                Expect::BadRequest => assert_refused(e, &r, 400, &c.label),
            }
        }
    }
    assert!(counted.0 >= 5 && counted.1 >= 5, "{counted:?}");
}

/// Status and body of a reply without what changes per request (ids, dates).
fn stable(r: &Reply) -> (u16, Value) {
    let mut b = r.body.clone();
    if let Some(e) = b.get_mut("error").and_then(Value::as_object_mut) {
        e.remove("innerError");
        e.remove("requestId");
    }
    (r.status, b)
}

#[tokio::test]
async fn tenant_a_never_sees_tenant_b() {
    let app = TestApp::start().await;
    seed_tenant_a(&app).await;
    let reads: Vec<&Endpoint> = ENDPOINTS.iter().filter(|e| e.method == "GET").collect();
    assert!(!reads.is_empty());

    // A's view of every read endpoint, including B's user by id.
    let mut views = Vec::new();
    for e in &reads {
        let a = least_privileged(&app, e, TENANT_A);
        let r = call(&app, e, Some(&a), A_OTHER).await;
        assert!((200..300).contains(&r.status), "{}: {}", e.path, r.text);
        let foreign = call(&app, e, Some(&a), B_USER).await;
        if e.path.contains("{user}") {
            assert!(
                foreign.status == 404 || foreign.status == 403,
                "{}: {}",
                e.path,
                foreign.text
            );
        }
        views.push((stable(&r), stable(&foreign)));
    }

    // Tenant B gets users and a month of sign-ins.
    let now = app.now();
    let cfg = SynthConfig {
        seed: 5,
        tenants: 1,
        users_per_tenant: 20,
        days: 1,
        signins: 2000,
        now,
    };
    let mut org = organisation(&cfg);
    org[0].id = TENANT_B.into();
    org[0].users[0].id = B_USER.into();
    let events: Vec<String> = signins(&cfg, &org).map(|e| e.to_string()).collect();
    let users: Vec<String> = org[0]
        .users
        .iter()
        .map(|u| user_record(&org[0], u).to_string())
        .collect();
    let b = app.ingest_token(&[TENANT_B]);
    for (path, lines) in [("/ingest/users", users), ("/ingest/signins", events)] {
        let r = app
            .post_ndjson(path, &b, lines.join("\n").into_bytes())
            .await;
        assert_eq!(r.status(), 200);
        let rep: Value = r.json().await.unwrap();
        assert_eq!(rep["rejected"], 0, "{rep}");
    }

    // A's view has not moved; B's differs somewhere, so B's data is really there.
    let mut b_differs = false;
    for (e, (a_view, a_foreign)) in reads.iter().zip(&views) {
        let a = least_privileged(&app, e, TENANT_A);
        let r = call(&app, e, Some(&a), A_OTHER).await;
        assert_eq!(&stable(&r), a_view, "{}", e.path);
        let foreign = call(&app, e, Some(&a), B_USER).await;
        assert_eq!(&stable(&foreign), a_foreign, "{}", e.path);
        let bt = least_privileged(&app, e, TENANT_B);
        let rb = call(&app, e, Some(&bt), B_USER).await;
        b_differs |= stable(&rb) != *a_view;
    }
    assert!(b_differs, "tenant B's data is visible to tenant B");
}

#[tokio::test]
async fn ingest_for_a_of_records_claiming_b_is_refused() {
    let app = TestApp::start().await;
    let a = app.ingest_token(&[TENANT_A]);
    let when = (app.now() - Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let signin = json!({"id": "x-1", "createdDateTime": when, "tenantId": TENANT_B}).to_string();
    let user =
        json!({"id": "x-u", "userPrincipalName": "x@b.example", "tenantId": TENANT_B}).to_string();
    for (path, line) in [("/ingest/signins", &signin), ("/ingest/users", &user)] {
        let r = app.post_ndjson(path, &a, line.clone().into_bytes()).await;
        assert_eq!(r.status(), 200);
        let rep: Value = r.json().await.unwrap();
        assert_eq!(rep["rejected"], 1, "{path}: {rep}");
        assert!(
            rep["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("may only write tenant(s)"),
            "{rep}"
        );
        let r = app
            .post_ndjson(
                &format!("{path}?strict=true"),
                &a,
                line.clone().into_bytes(),
            )
            .await;
        assert_eq!(r.status(), 400, "{path}");
    }
    // A Graph-audience or delegated token cannot ingest at all.
    let graph_app = application(&app, Family::Graph, TENANT_A, &["MfaLens.Ingest"]);
    let r = app
        .post_ndjson("/ingest/signins", &graph_app, signin.clone().into_bytes())
        .await;
    assert_eq!(r.status(), 401);
    let counts = app.store.counts(Some(TENANT_B)).await.unwrap();
    assert_eq!((counts.signins, counts.users), (0, 0));
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let app = TestApp::start().await;
    let e = &ENDPOINTS[0];
    let t = least_privileged(&app, e, TENANT_A);
    assert_eq!(call(&app, e, Some(&t), "").await.status, 200);
    assert_eq!(call(&app, e, Some(&t), "").await.status, 200);
    assert!(!app.state.verifier().cache().is_empty());
    // One hour of lifetime plus the 60 s skew.
    app.clock.set(app.now() + Duration::seconds(3600 + 61));
    let r = call(&app, e, Some(&t), "").await;
    assert_refused(e, &r, 401, "expired after caching");
    assert!(r.text.contains("expired"), "{}", r.text);
}
