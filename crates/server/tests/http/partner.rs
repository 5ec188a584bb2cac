//! Partner Center over HTTP: the contract list byte for byte (fields, headers, dates), its
//! window, cap, order and tenant scope; every auth failure's envelope; non-MFA calls recorded
//! and enforced or reported; ingested partner sign-ins; a restart; the details extension.

use crate::app::{TENANT_A, TENANT_B, TestApp};
use chrono::{DateTime, Duration, Utc};
use mfalens_core::classify::{DEFAULT_PARTNER_APP_IDS, SignInFact, SignInFacts};
use mfalens_core::directory::DirectoryUser;
use mfalens_core::non_mfa_report::CSV_COLUMNS;
use mfalens_core::principal::{NonMfaObservation, NonMfaSource};
use mfalens_core::time::{dotnet_datetime, parse_datetime};
use mfalens_server::auth::local::TokenSpec;
use mfalens_server::auth::verify::PARTNER_CENTER_AUDIENCES;
use mfalens_server::partner::report::POINT_LOOKUP_MAX;
use mfalens_server::{MfaEnforcement, ServerConfig};
use serde_json::{Value, json};

const LIST: &str = "/v1/nonMfaCompliantPartnerPrincipals";
const PCAPI: &str = "/pcapi/v1/nonMfaCompliantPartnerPrincipals";
const DETAILS: &str = "/v1/nonMfaCompliantPartnerPrincipals/details";
const PORTAL: &str = DEFAULT_PARTNER_APP_IDS[1].0;

fn t(s: &str) -> DateTime<Utc> {
    parse_datetime(s).unwrap()
}

/// Starts an app whose clock stands at `at`.
async fn app_at(at: &str, mfa: MfaEnforcement) -> TestApp {
    let app = TestApp::start_with(ServerConfig {
        partner_mfa: mfa,
        ..ServerConfig::default()
    })
    .await;
    app.clock.set(t(at));
    app
}

fn obs(tenant: &str, user: &str, at: DateTime<Utc>) -> NonMfaObservation {
    NonMfaObservation {
        tenant_id: tenant.into(),
        object_id: user.into(),
        upn: Some(format!("{user}@partner.example")),
        source: NonMfaSource::ApiCall,
        app_id: "partner-app".into(),
        app_display_name: None,
        at,
    }
}

/// A partner-app sign-in without MFA, as the classifier leaves it.
fn partner_signin(tenant: &str, id: &str, user: &str, at: DateTime<Utc>) -> SignInFact {
    SignInFact {
        tenant_id: tenant.into(),
        id: id.into(),
        created: at,
        user_id: Some(user.into()),
        user_principal_name: Some(format!("{user}@partner.example")),
        app_id: Some(PORTAL.into()),
        app_display_name: Some(DEFAULT_PARTNER_APP_IDS[1].1.into()),
        facts: SignInFacts {
            partner_non_mfa: true,
            ..SignInFacts::default()
        },
    }
}

async fn list_body(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["objectId"].as_str().unwrap().to_string())
        .collect()
}

/// Status, code and the whole envelope checked against the contract.
async fn partner_error(r: reqwest::Response) -> (u16, i64) {
    let status = r.status().as_u16();
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(r.headers().contains_key("ms-requestid"));
    assert!(r.headers().contains_key("ms-correlationid"));
    let b: Value = r.json().await.unwrap();
    let obj = b.as_object().unwrap();
    assert_eq!(obj.len(), 4, "{b}");
    let desc = b["description"].as_str().unwrap();
    assert!(!desc.is_empty() && desc.len() <= 1024);
    assert_eq!(b["data"], json!([]));
    assert_eq!(b["source"], "PartnerFD");
    (status, b["code"].as_i64().expect("code is a JSON number"))
}

#[tokio::test]
async fn the_contract_list_exactly_with_its_headers() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    app.store
        .record_non_mfa(obs(TENANT_A, "u1", t("2026-11-23T10:09:53.0510000Z")))
        .await
        .unwrap();
    let mut anonymous = obs(TENANT_A, "u2", t("2026-11-20T08:00:00Z"));
    anonymous.upn = None;
    app.store.record_non_mfa(anonymous).await.unwrap();
    let token = app.partner_user(TENANT_A, "admin", true);

    let r = app
        .client
        .get(app.url(LIST))
        .bearer_auth(&token)
        .header("MS-RequestId", "3f6e1c52-0c5e-4f59-9b79-5a3f3e0b9a11")
        .header("ms-correlationid", "corr-42")
        .header("MS-CV", "abc.1")
        .header("X-Locale", "en-US")
        .header("MS-PartnerCenter-Client", "Partner Center .NET SDK")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["ms-requestid"], "3f6e1c52-0c5e-4f59-9b79-5a3f3e0b9a11");
    assert_eq!(h["ms-correlationid"], "corr-42");
    assert_eq!(h["ms-cv"], "abc.1");
    assert!(!h["ms-serverid"].to_str().unwrap().is_empty());
    let text = r.text().await.unwrap();
    assert!(!text.contains("links") && !text.contains("null"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({
            "totalCount": 2,
            "items": [
                {
                    "objectId": "u1",
                    "tenantId": TENANT_A,
                    "upn": "u1@partner.example",
                    "lastNonMfaCompliantRequestDateTime": "2026-11-23T10:09:53.051"
                },
                {
                    "objectId": "u2",
                    "tenantId": TENANT_A,
                    "lastNonMfaCompliantRequestDateTime": "2026-11-20T08:00:00"
                }
            ],
            "attributes": {"objectType": "Collection"}
        })
    );

    // The path seed 001 shows; no ids sent: fresh GUIDs; query parameters ignored.
    let r = app.get(&format!("{PCAPI}?size=5&colour=red"), &token).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let request_id = h["ms-requestid"].to_str().unwrap();
    let correlation_id = h["ms-correlationid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{request_id}");
    assert!(uuid::Uuid::parse_str(correlation_id).is_ok());
    assert_ne!(request_id, correlation_id);
    assert!(!h["ms-cv"].to_str().unwrap().is_empty());
    assert!(!h["ms-serverid"].to_str().unwrap().is_empty());
    let again: Value = r.json().await.unwrap();
    assert_eq!(again, body);
    assert_eq!(
        again["totalCount"],
        again["items"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn the_window_is_seven_days_inclusive_at_its_start() {
    let now = t("2026-11-23T12:00:00Z");
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let week = Duration::days(7);
    for (user, at) in [
        ("inside", now - week + Duration::seconds(1)),
        ("edge", now - week),
        ("outside", now - week - Duration::seconds(1)),
    ] {
        app.store
            .record_non_mfa(obs(TENANT_A, user, at))
            .await
            .unwrap();
    }
    let token = app.partner_user(TENANT_A, "admin", true);
    assert_eq!(
        ids(&list_body(&app, LIST, &token).await),
        ["inside", "edge"]
    );
    app.clock.set(now + Duration::seconds(1));
    assert_eq!(ids(&list_body(&app, LIST, &token).await), ["inside"]);
    app.clock.set(now + Duration::seconds(2));
    let body = list_body(&app, LIST, &token).await;
    assert_eq!(body["totalCount"], 0);
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn at_most_ten_thousand_newest_first() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let now = app.now();
    let n = 10_005;
    let facts: Vec<SignInFact> = (0..n)
        .map(|i| {
            partner_signin(
                TENANT_A,
                &format!("s{i}"),
                &format!("p{i:05}"),
                now - Duration::seconds(i) - Duration::milliseconds(250),
            )
        })
        .collect();
    let out = app.store.ingest_signins(facts, now).await.unwrap();
    assert_eq!(out.accepted, n as u64);
    let token = app.partner_user(TENANT_A, "admin", true);
    let body = list_body(&app, LIST, &token).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(body["totalCount"], 10_000);
    assert_eq!(items.len(), 10_000);
    assert_eq!(items[0]["objectId"], "p00000");
    assert_eq!(
        items[0]["lastNonMfaCompliantRequestDateTime"],
        dotnet_datetime(now - Duration::milliseconds(250))
    );
    assert_eq!(items[9_999]["objectId"], "p09999");
    let times: Vec<DateTime<Utc>> = items
        .iter()
        .map(|i| t(i["lastNonMfaCompliantRequestDateTime"].as_str().unwrap()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first"
    );
}

#[tokio::test]
async fn one_item_per_principal_with_its_latest_time_and_only_the_callers_tenant() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let now = app.now();
    let latest = now - Duration::minutes(5);
    let facts: Vec<SignInFact> = (0..20)
        .map(|i| {
            partner_signin(
                TENANT_A,
                &format!("s{i}"),
                "busy",
                latest - Duration::hours(i + 1),
            )
        })
        .collect();
    app.store.ingest_signins(facts, now).await.unwrap();
    for i in 0..10 {
        let at = if i == 9 {
            latest
        } else {
            latest - Duration::minutes(i + 1)
        };
        app.store
            .record_non_mfa(obs(TENANT_A, "busy", at))
            .await
            .unwrap();
    }
    app.store
        .record_non_mfa(obs(TENANT_B, "stranger", now))
        .await
        .unwrap();
    app.store
        .ingest_signins(vec![partner_signin(TENANT_B, "b1", "stranger2", now)], now)
        .await
        .unwrap();

    let body = list_body(&app, LIST, &app.partner_user(TENANT_A, "admin", true)).await;
    assert_eq!(ids(&body), ["busy"]);
    assert_eq!(
        body["items"][0]["lastNonMfaCompliantRequestDateTime"],
        dotnet_datetime(latest)
    );
    let body_b = list_body(&app, LIST, &app.partner_user(TENANT_B, "admin", true)).await;
    assert_eq!(ids(&body_b), ["stranger", "stranger2"]);
    assert!(
        body_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["tenantId"] == TENANT_B)
    );
}

#[tokio::test]
async fn every_bad_token_gets_the_contracts_error() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let good = app.partner_user(TENANT_A, "admin", true);

    let r = app.client.get(app.url(LIST)).send().await.unwrap();
    assert_eq!(partner_error(r).await, (401, 800001), "no token");
    let r = app
        .client
        .get(app.url(LIST))
        .header("authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    assert_eq!(partner_error(r).await, (401, 800001), "not a bearer token");
    assert_eq!(
        partner_error(app.get(LIST, "garbage").await).await,
        (401, 400),
        "garbage"
    );
    let mut tampered: Vec<char> = good.chars().collect();
    let at = good.rfind('.').unwrap() + 10;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_eq!(
        partner_error(app.get(LIST, &tampered).await).await,
        (401, 400),
        "bad signature"
    );
    app.clock.set(t("2026-11-23T10:00:00Z"));
    let old = app.partner_user(TENANT_A, "admin", true);
    app.clock.set(t("2026-11-23T12:00:00Z"));
    assert_eq!(
        partner_error(app.get(LIST, &old).await).await,
        (401, 400),
        "expired"
    );
    let graph = app.graph_user(TENANT_A, "admin", "user_impersonation", &[]);
    assert_eq!(
        partner_error(app.get(LIST, &graph).await).await,
        (403, 2032),
        "another audience"
    );
    let app_only = app.partner_app(TENANT_A);
    assert_eq!(
        partner_error(app.get(LIST, &app_only).await).await,
        (403, 2032),
        "app-only"
    );
    let no_scope = app.token(&TokenSpec {
        tenant_id: TENANT_A.into(),
        object_id: "admin".into(),
        scopes: vec!["User.Read".into()],
        mfa: true,
        audience: PARTNER_CENTER_AUDIENCES[1].into(),
        app_id: "partner-app".into(),
        lifetime: Duration::hours(1),
        ..TokenSpec::default()
    });
    assert_eq!(
        partner_error(app.get(LIST, &no_scope).await).await,
        (403, 2032),
        "missing scope"
    );
    // None of these calls was an App+User call without MFA: nothing recorded.
    assert_eq!(list_body(&app, LIST, &good).await["totalCount"], 0);
}

#[tokio::test]
async fn only_get_is_allowed() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let token = app.partner_user(TENANT_A, "admin", true);
    for (method, path) in [
        (reqwest::Method::POST, PCAPI),
        (reqwest::Method::POST, LIST),
        (reqwest::Method::PUT, LIST),
        (reqwest::Method::DELETE, LIST),
        (reqwest::Method::POST, DETAILS),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["allow"], "GET, HEAD");
        assert_eq!(partner_error(r).await, (405, 405), "{method} {path}");
    }
}

#[tokio::test]
async fn a_non_mfa_call_is_refused_when_enforcing_and_listed_in_the_next_call() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let weak = app.partner_user(TENANT_A, "nomfa", false);
    assert_eq!(
        partner_error(app.get(LIST, &weak).await).await,
        (401, 900421)
    );
    app.clock.set(t("2026-11-23T12:00:01.5Z"));
    let weak2 = app.partner_user(TENANT_A, "nomfa2", false);
    assert_eq!(
        partner_error(app.get(DETAILS, &weak2).await).await,
        (401, 900421),
        "every Partner Center route records and enforces"
    );
    let app_only = app.partner_app(TENANT_A);
    assert_eq!(partner_error(app.get(LIST, &app_only).await).await.0, 403);

    let strong = app.partner_user(TENANT_A, "admin", true);
    let body = list_body(&app, PCAPI, &strong).await;
    assert_eq!(
        ids(&body),
        ["nomfa2", "nomfa"],
        "app-only calls are never MFA checked"
    );
    assert_eq!(
        body["items"][1],
        json!({
            "objectId": "nomfa",
            "tenantId": TENANT_A,
            "upn": "nomfa@partner.example",
            "lastNonMfaCompliantRequestDateTime": "2026-11-23T12:00:00"
        })
    );
    assert_eq!(
        body["items"][0]["lastNonMfaCompliantRequestDateTime"],
        "2026-11-23T12:00:01.5"
    );
    let ev = app
        .store
        .non_mfa_evidence(TENANT_A, t("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(
        ev.iter()
            .all(|e| e.source == NonMfaSource::ApiCall && e.app_id == "partner-app")
    );
}

#[tokio::test]
async fn report_mode_serves_the_call_and_lists_the_caller() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Report).await;
    let weak = app.partner_user(TENANT_A, "nomfa", false);
    let body = list_body(&app, LIST, &weak).await;
    assert_eq!(ids(&body), ["nomfa"]);
    let body = list_body(&app, LIST, &weak).await;
    assert_eq!(body["totalCount"], 1, "still one item per principal");
    let ev = app
        .store
        .non_mfa_evidence(TENANT_A, t("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(ev[0].count, 2);
}

#[tokio::test]
async fn partner_sign_ins_ingested_over_http_are_listed() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let ev = |id: &str, user: &str, app_id: &str, requirement: &str, code: i64| {
        json!({
            "id": id,
            "createdDateTime": "2026-11-23T09:30:15.1234567Z",
            "userId": user,
            "userPrincipalName": format!("{user}@partner.example"),
            "appId": app_id,
            "appDisplayName": "an app",
            "isInteractive": true,
            "authenticationRequirement": requirement,
            "status": {"errorCode": code},
            "homeTenantId": TENANT_A,
        })
    };
    let events = [
        ev(
            "e1",
            "portal-user",
            &PORTAL.to_uppercase(),
            "singleFactorAuthentication",
            0,
        ),
        ev("e2", "mfa-user", PORTAL, "multiFactorAuthentication", 0),
        ev(
            "e3",
            "other-app-user",
            "11111111-2222-3333-4444-555555555555",
            "singleFactorAuthentication",
            0,
        ),
        ev(
            "e4",
            "failed-user",
            PORTAL,
            "singleFactorAuthentication",
            50126,
        ),
    ];
    let mut body = Vec::new();
    for e in &events {
        body.extend_from_slice(e.to_string().as_bytes());
        body.push(b'\n');
    }
    let ingest = app.ingest_token(&[TENANT_A]);
    let r = app.post_ndjson("/ingest/signins", &ingest, body).await;
    assert_eq!(r.status(), 200);
    let list = list_body(&app, LIST, &app.partner_user(TENANT_A, "admin", true)).await;
    assert_eq!(
        list["items"],
        json!([{
            "objectId": "portal-user",
            "tenantId": TENANT_A,
            "upn": "portal-user@partner.example",
            "lastNonMfaCompliantRequestDateTime": "2026-11-23T09:30:15.1234567"
        }])
    );
}

#[tokio::test]
async fn evidence_survives_a_restart() {
    let mut first = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let weak = first.partner_user(TENANT_A, "nomfa", false);
    assert_eq!(
        partner_error(first.get(LIST, &weak).await).await,
        (401, 900421)
    );
    // No read in between: the stop itself must store what the call queued.
    first.stop().await;
    let stored = first
        .store
        .non_mfa_principals(TENANT_A, t("2026-11-20T00:00:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "stored by the time the server has stopped");
    let second = TestApp::start_on(
        tempfile::tempdir().unwrap(),
        first.db.clone(),
        ServerConfig::default(),
    )
    .await;
    second.clock.set(t("2026-11-23T12:05:00Z"));
    let body = list_body(&second, LIST, &second.partner_user(TENANT_A, "admin", true)).await;
    assert_eq!(ids(&body), ["nomfa"]);
}

fn directory_user(id: &str, name: &str, enabled: bool, admin: bool) -> DirectoryUser {
    let rec = json!({
        "id": id, "tenantId": TENANT_A, "userPrincipalName": format!("{id}@dir.example"),
        "userDisplayName": name, "accountEnabled": enabled, "isAdmin": admin,
    });
    DirectoryUser::from_json(rec.to_string().as_bytes(), None, t("2026-11-01T00:00:00Z")).unwrap()
}

#[tokio::test]
async fn details_say_why_which_app_how_often_and_who() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Report).await;
    let now = app.now();
    app.store
        .upsert_users(vec![
            directory_user("ann", "Ann, \"A\"", true, true),
            directory_user("bob", "Bob", false, false),
        ])
        .await
        .unwrap();
    app.store
        .ingest_signins(
            vec![
                partner_signin(TENANT_A, "s1", "ann", now - Duration::days(2)),
                partner_signin(TENANT_A, "s2", "ann", now - Duration::days(1)),
                partner_signin(TENANT_A, "s3", "carl", now - Duration::hours(3)),
            ],
            now,
        )
        .await
        .unwrap();
    app.clock.set(now - Duration::hours(1));
    let bob = app.partner_user(TENANT_A, "bob", false);
    assert_eq!(app.get(LIST, &bob).await.status(), 200, "report mode");
    app.clock.set(now);
    let ann = app.partner_user(TENANT_A, "ann", false);
    let r = app.get(DETAILS, &ann).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["totalCount"], 3);
    let items = body["items"].as_array().unwrap();
    assert_eq!(ids(&body), ["ann", "bob", "carl"]);
    let a = &items[0];
    assert_eq!(a["reasons"], json!(["signIn", "apiCall"]));
    assert_eq!(
        (
            a["count"].as_u64(),
            a["signInCount"].as_u64(),
            a["apiCallCount"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(a["firstNonMfaDateTime"], "2026-11-21T12:00:00Z");
    assert_eq!(a["lastNonMfaDateTime"], "2026-11-23T12:00:00Z");
    assert_eq!(
        (a["accountEnabled"].as_bool(), a["isAdmin"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(a["upn"], "ann@dir.example");
    assert_eq!(a["displayName"], "Ann, \"A\"");
    assert_eq!(a["applications"][0]["appId"], "partner-app");
    assert_eq!(a["applications"][0]["reason"], "apiCall");
    assert_eq!(a["applications"][1]["appId"], PORTAL);
    assert_eq!(a["applications"][1]["count"], 2);
    assert_eq!(
        a["applications"][1]["appDisplayName"],
        DEFAULT_PARTNER_APP_IDS[1].1
    );
    let c = &items[2];
    assert_eq!(c["inDirectory"], false);
    assert!(c.get("accountEnabled").is_none() && c.get("isAdmin").is_none());
    assert_eq!(c["upn"], "carl@partner.example");

    // From here on an MFA caller, so nothing more is recorded for ann.
    let strong = app.partner_user(TENANT_A, "admin", true);
    let pick = |q: &'static str| {
        let (app, ann) = (&app, &strong);
        async move { ids(&list_body(app, &format!("{DETAILS}?{q}"), ann).await) }
    };
    assert_eq!(pick("enabled=true").await, ["ann"]);
    assert_eq!(pick("enabled=true&admin=true").await, ["ann"]);
    assert_eq!(pick("admin=false").await, ["bob"]);
    assert_eq!(pick("enabled=false&admin=true").await, Vec::<String>::new());
    assert_eq!(pick("days=1").await, ["ann", "bob", "carl"]);

    let r = app.get(&format!("{DETAILS}?format=csv"), &strong).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/csv; charset=utf-8; header=present"
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 5, "header, three records, final CRLF");
    assert!(
        lines[1].starts_with(&format!(
            "{TENANT_A},ann,ann@dir.example,\"Ann, \"\"A\"\"\",true,true,true,signIn;apiCall,3,2,1,"
        )),
        "{}",
        lines[1]
    );
    assert!(lines[3].contains(",carl,carl@partner.example,,false,,,signIn,1,1,0,"));

    let r = app.get(&format!("{DETAILS}?admins=true"), &strong).await;
    assert_eq!(partner_error(r).await, (400, 2000));
    // The contract path is unchanged by the extension.
    let contract = list_body(&app, LIST, &strong).await;
    assert_eq!(
        contract["items"][0].as_object().unwrap().len(),
        4,
        "{contract}"
    );
}

#[tokio::test]
async fn details_of_a_long_list_read_the_directory_in_pages() {
    let app = app_at("2026-11-23T12:00:00Z", MfaEnforcement::Enforce).await;
    let now = app.now();
    let n = POINT_LOOKUP_MAX as i64 + 100;
    let users: Vec<DirectoryUser> = (0..n)
        .map(|i| directory_user(&format!("u{i:04}"), "U", i % 2 == 0, i % 3 == 0))
        .collect();
    app.store.upsert_users(users).await.unwrap();
    let facts: Vec<SignInFact> = (0..n + 10)
        .map(|i| {
            partner_signin(
                TENANT_A,
                &format!("s{i}"),
                &format!("u{i:04}"),
                now - Duration::minutes(i),
            )
        })
        .collect();
    app.store.ingest_signins(facts, now).await.unwrap();
    let token = app.partner_user(TENANT_A, "admin", true);
    let all = list_body(&app, DETAILS, &token).await;
    assert_eq!(all["totalCount"], n + 10);
    let in_dir = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["inDirectory"] == true)
        .count();
    assert_eq!(
        in_dir as i64, n,
        "the ten without a directory record are listed too"
    );
    let enabled_admins =
        list_body(&app, &format!("{DETAILS}?enabled=true&admin=true"), &token).await;
    let want: Vec<String> = (0..n)
        .filter(|i| i % 2 == 0 && i % 3 == 0)
        .map(|i| format!("u{i:04}"))
        .collect();
    assert_eq!(ids(&enabled_admins), want);
}

/// The cost of recording non-MFA calls, over loopback. Prints figures; asserts none.
/// `cargo test -p mfalens-server --test http -- --ignored --nocapture recording_cost`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn recording_cost() {
    const ROUNDS: usize = 6;
    const PER_ROUND: usize = 300;
    /// Sequential requests; per-request latencies in µs.
    async fn run(app: &TestApp, token: &str, want: u16, out: &mut Vec<f64>) {
        for _ in 0..PER_ROUND {
            let started = std::time::Instant::now();
            let r = app.get(LIST, token).await;
            assert_eq!(r.status().as_u16(), want);
            let _ = r.bytes().await;
            out.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    fn summary(name: &str, v: &mut [f64]) {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "  {name:<52} p50 {:>6.0} µs  p99 {:>6.0} µs  mean {mean:>6.0} µs  ({:.0} req/s)",
            q(0.5),
            q(0.99),
            1e6 / mean
        );
    }
    let enforce = TestApp::start().await;
    let report = TestApp::start_with(ServerConfig {
        partner_mfa: MfaEnforcement::Report,
        ..ServerConfig::default()
    })
    .await;
    let no_scope = enforce.token(&TokenSpec {
        tenant_id: TENANT_A.into(),
        object_id: "admin".into(),
        scopes: vec!["User.Read".into()],
        mfa: true,
        audience: PARTNER_CENTER_AUDIENCES[0].into(),
        app_id: "partner-app".into(),
        lifetime: Duration::hours(1),
        ..TokenSpec::default()
    });
    let weak = enforce.partner_user(TENANT_A, "nomfa", false);
    let strong = report.partner_user(TENANT_A, "admin", true);
    let weak_r = report.partner_user(TENANT_A, "nomfa", false);
    let (mut refused_plain, mut refused_recorded) = (Vec::new(), Vec::new());
    let (mut list_plain, mut list_recorded) = (Vec::new(), Vec::new());
    let mut drains = Vec::new();
    run(&report, &strong, 200, &mut Vec::new()).await; // warm-up
    for round in 0..ROUNDS {
        // Alternate which goes first, so neither always runs on a warmer or quieter machine.
        if round % 2 == 1 {
            run(&enforce, &no_scope, 403, &mut refused_plain).await;
        }
        run(&enforce, &weak, 401, &mut refused_recorded).await;
        // What the writer still had to store when the 401 loop ended.
        let drain = std::time::Instant::now();
        enforce.state.non_mfa_recorder().flush().await;
        drains.push(drain.elapsed().as_secs_f64() * 1e3);
        if round % 2 == 0 {
            run(&enforce, &no_scope, 403, &mut refused_plain).await;
        }
        run(&report, &strong, 200, &mut list_plain).await;
        run(&report, &weak_r, 200, &mut list_recorded).await;
    }
    let writer = std::time::Instant::now();
    let n = 2_000;
    for i in 0..n {
        let mut o = obs(TENANT_B, &format!("w{i}"), enforce.now());
        o.upn = None;
        enforce.state.non_mfa_recorder().record(o).await;
    }
    let queued = writer.elapsed();
    enforce.state.non_mfa_recorder().flush().await;
    let written = writer.elapsed();
    println!(
        "recording cost: {ROUNDS} interleaved rounds x {PER_ROUND} sequential requests, loopback"
    );
    summary(
        "403, verified, refused, nothing recorded",
        &mut refused_plain,
    );
    summary(
        "401 900421, verified, recorded (queued), refused",
        &mut refused_recorded,
    );
    summary(
        "200 list, MFA caller (flush with nothing queued)",
        &mut list_plain,
    );
    summary(
        "200 list, non-MFA caller (report): recorded + flushed",
        &mut list_recorded,
    );
    println!(
        "  writer backlog after each 401 round ({PER_ROUND} observations): {} ms",
        drains
            .iter()
            .map(|d| format!("{d:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  writer alone: {n} observations queued in {:.1} ms ({:.1} µs each), stored after {:.0} ms ({:.0}/s)",
        queued.as_secs_f64() * 1e3,
        queued.as_secs_f64() * 1e6 / n as f64,
        written.as_secs_f64() * 1e3,
        n as f64 / written.as_secs_f64()
    );
}
