//! Graph beta over HTTP: sign-in preferences, per-user MFA state, registration reports.
//! Fixtures shared by the submodules live here: a small hand-written directory whose exact
//! JSON is known, a synthetic one for volume, token helpers and an error-envelope check.

mod csdl;
mod reports;
mod users;

use crate::app::{TENANT_A, TENANT_B, TestApp};
pub use chrono::Duration;
use mfalens_core::directory::DirectoryUser;
use mfalens_core::synth::{SynthConfig, SynthTenant, organisation, user_record};
pub use mfalens_server::auth::policy::Role;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
pub const BOB: &str = "b0b00000-0000-4000-8000-000000000002";
pub const CAROL: &str = "ca201000-0000-4000-8000-000000000003";
pub const DAVE: &str = "da5e0000-0000-4000-8000-000000000004";
pub const ALICE_UPN: &str = "Alice@Contoso.example";

pub const GRAPH_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Alice (member, MFA registered), Bob (admin, MFA registered), Carol (guest, nothing
/// registered) in tenant A; Dave in tenant B.
pub fn fixed_records() -> Vec<Value> {
    vec![
        json!({"id": ALICE, "tenantId": TENANT_A, "userPrincipalName": ALICE_UPN,
            "userDisplayName": "Alice Adams", "userType": "member", "isAdmin": false,
            "isMfaRegistered": true, "isMfaCapable": true, "isSsprRegistered": true,
            "isSsprEnabled": true, "isSsprCapable": true,
            "methodsRegistered": ["microsoftAuthenticatorPush", "mobilePhone"],
            "defaultMfaMethod": "microsoftAuthenticatorPush",
            "isSystemPreferredAuthenticationMethodEnabled": false,
            "userPreferredMethodForSecondaryAuthentication": "push",
            "perUserMfaState": "disabled", "lastUpdatedDateTime": "2026-11-01T08:30:00.25Z"}),
        json!({"id": BOB, "tenantId": TENANT_A, "userPrincipalName": "bob@contoso.example",
            "userDisplayName": "Bob Berg", "isAdmin": true, "isMfaRegistered": true,
            "methodsRegistered": ["fido2SecurityKey"], "defaultMfaMethod": "none",
            "isSystemPreferredAuthenticationMethodEnabled": true,
            "perUserMfaState": "disabled", "lastUpdatedDateTime": "2026-11-02T00:00:00Z"}),
        json!({"id": CAROL, "tenantId": TENANT_A, "userPrincipalName": "carol@contoso.example",
            "userDisplayName": "Carol Costa", "userType": "guest", "isSsprEnabled": true,
            "perUserMfaState": "disabled", "lastUpdatedDateTime": "2026-11-03T00:00:00Z"}),
        json!({"id": DAVE, "tenantId": TENANT_B, "userPrincipalName": "dave@fabrikam.example",
            "isMfaRegistered": true, "methodsRegistered": ["mobilePhone"],
            "userPreferredMethodForSecondaryAuthentication": "sms",
            "perUserMfaState": "enabled", "lastUpdatedDateTime": "2026-11-04T00:00:00Z"}),
    ]
}

pub async fn load(app: &TestApp, records: &[Value]) {
    let users: Vec<DirectoryUser> = records
        .iter()
        .map(|r| DirectoryUser::from_json(r.to_string().as_bytes(), None, app.now()).unwrap())
        .collect();
    app.store.upsert_users(users).await.unwrap();
}

/// An app started with the fixed directory loaded.
pub async fn fixed_app() -> TestApp {
    let app = TestApp::start().await;
    load(&app, &fixed_records()).await;
    app
}

/// Two synthetic tenants (A and B) of `n` users each, as import records.
pub fn synth_records(app: &TestApp, n: usize) -> (Vec<SynthTenant>, Vec<Value>) {
    let cfg = SynthConfig {
        seed: 7,
        tenants: 2,
        users_per_tenant: n,
        days: 30,
        signins: 0,
        now: app.now(),
    };
    let mut org = organisation(&cfg);
    org[0].id = TENANT_A.into();
    org[1].id = TENANT_B.into();
    let records = org
        .iter()
        .flat_map(|t| t.users.iter().map(move |u| user_record(t, u)))
        .collect();
    (org, records)
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Sends a request; `body` is (content type, bytes).
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Reply {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        app.url(path)
    };
    let mut req = app.client.request(method, url);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    if let Some((ctype, bytes)) = body {
        if !ctype.is_empty() {
            req = req.header("content-type", ctype);
        }
        req = req.body(bytes);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Reply {
    send(app, Method::GET, path, token, None).await
}

pub async fn patch(app: &TestApp, path: &str, token: &str, json: &str) -> Reply {
    send(
        app,
        Method::PATCH,
        path,
        token,
        Some(("application/json", json.as_bytes().to_vec())),
    )
    .await
}

/// Checks a Graph error envelope: status, code, a message naming `says`, and the
/// `innerError` ids matching the response headers.
pub fn assert_graph_error(r: &Reply, status: u16, code: &str, says: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], code, "{}", r.body);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(says),
        "message {message:?} should name {says:?}"
    );
    let inner = &e["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        r.headers.get("request-id").and_then(|v| v.to_str().ok())
    );
    assert_eq!(
        inner["client-request-id"].as_str(),
        r.headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
    );
    let date = inner["date"].as_str().unwrap();
    assert_eq!(date.len(), 19, "date without zone or fraction: {date}");
    assert_eq!(r.headers.get("odata-version").unwrap(), "4.0");
}

/// Every page of a Graph collection, following `@odata.nextLink`.
pub async fn all_pages(app: &TestApp, first: &str, token: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let r = get(app, &url, token).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        pages += 1;
        items.extend(r.body["value"].as_array().unwrap().iter().cloned());
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
        assert!(pages < 10_000, "paging does not end");
    }
    (items, pages)
}
