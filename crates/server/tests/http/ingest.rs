//! Ingest over HTTP: exactly-once counting checked against an independent count of the same
//! input, and every kind of bad input answered precisely with nothing half-written.

use crate::app::{TENANT_A, TENANT_B, TestApp};
use chrono::{DateTime, Duration, Utc};
use mfalens_core::synth::{SynthConfig, SynthTenant, organisation, signins, user_record};
use mfalens_server::ServerConfig;
use mfalens_server::auth::policy::REPORTS_READER;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;

fn synth(now: DateTime<Utc>, n: u64) -> (Vec<SynthTenant>, Vec<Value>) {
    let cfg = SynthConfig {
        seed: 11,
        tenants: 2,
        users_per_tenant: 40,
        days: 30,
        signins: n,
        now,
    };
    let mut org = organisation(&cfg);
    org[0].id = TENANT_A.into();
    org[1].id = TENANT_B.into();
    let events: Vec<Value> = signins(&cfg, &org).collect();
    (org, events)
}

fn ndjson(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// MFA failures counted straight from the raw JSON, written independently of the classifier:
/// interactive, failed, and either an MFA error code or a failed MFA step.
fn is_mfa_failure(e: &Value) -> bool {
    let code = e["status"]["errorCode"].as_i64().unwrap_or(0);
    let failed_mfa_step = e["authenticationDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["authenticationStepRequirement"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("multi")
                && s["succeeded"] == json!(false)
        });
    e["isInteractive"] == json!(true)
        && code != 0
        && ([500121, 50088, 50158, 500122].contains(&code) || failed_mfa_step)
}

async fn metric_series(
    app: &TestApp,
    token: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: u32,
) -> Vec<u64> {
    let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let path = format!(
        "/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={},exclusiveIntervalEndDateTime={},aggregationIntervalInMinutes={interval})",
        f(start),
        f(end)
    );
    let r = app.get(&path, token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn signins_over_http_count_once_and_match_an_independent_count() {
    let app = TestApp::start().await;
    let now = app.now();
    let (_, events) = synth(now, 3000);
    let ingest = app.ingest_token(&[TENANT_A, TENANT_B]);

    // First half as NDJSON, then everything as a gzip-compressed Graph page.
    let r = app
        .post_ndjson("/ingest/signins", &ingest, ndjson(&events[..1500]))
        .await;
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    assert_eq!(
        (first["accepted"].as_u64(), first["rejected"].as_u64()),
        (Some(1500), Some(0))
    );

    let page = json!({"@odata.context": "x", "value": events}).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(page.as_bytes()).unwrap();
    let r = app
        .client
        .post(app.url("/ingest/signins"))
        .bearer_auth(&ingest)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_eq!(
        (second["accepted"].as_u64(), second["duplicates"].as_u64()),
        (Some(1500), Some(1500))
    );

    // Per-interval MFA failures for tenant A over the whole 30 days, 30-minute intervals.
    let start = now - Duration::days(30) + Duration::minutes(1);
    let start = start - Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
    let interval = Duration::minutes(30);
    let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
    for e in &events {
        if e["homeTenantId"] == json!(TENANT_A) && is_mfa_failure(e) {
            let t: DateTime<Utc> = e["createdDateTime"].as_str().unwrap().parse().unwrap();
            if t >= start && t < now {
                *expected
                    .entry((t - start).num_seconds() / interval.num_seconds())
                    .or_default() += 1;
            }
        }
    }
    assert!(
        expected.values().sum::<u64>() > 20,
        "the data set exercises the metric"
    );
    let reader = app.graph_user(TENANT_A, "reader", "Reports.Read.All", &[REPORTS_READER]);
    let got = metric_series(&app, &reader, start, now, 30).await;
    let n = got.len();
    let want: Vec<u64> = (0..n as i64)
        .map(|k| expected.get(&k).copied().unwrap_or(0))
        .collect();
    assert_eq!(got, want);

    // Tenant B's reader sees B's numbers only.
    let reader_b = app.graph_user(TENANT_B, "reader", "Reports.Read.All", &[REPORTS_READER]);
    let b_total: u64 = metric_series(&app, &reader_b, start, now, 30)
        .await
        .iter()
        .sum();
    let b_expected = events
        .iter()
        .filter(|e| e["homeTenantId"] == json!(TENANT_B) && is_mfa_failure(e))
        .count() as u64;
    assert_eq!(b_total, b_expected);
}

#[tokio::test]
async fn a_bad_line_is_reported_by_number_and_the_rest_loads() {
    let app = TestApp::start().await;
    let (_, events) = synth(app.now(), 5);
    let token = app.ingest_token(&[TENANT_A, TENANT_B]);
    let mut body = ndjson(&events[..2]);
    body.extend_from_slice(b"{\"id\": \"broken\",\n");
    let mut unknown = events[2].clone();
    unknown["authenticationRequirement"] = json!("telepathy");
    let mut no_id = events[3].clone();
    no_id.as_object_mut().unwrap().remove("id");
    body.extend(ndjson(&[unknown, no_id, events[4].clone()]));
    let r = app
        .post_ndjson("/ingest/signins", &token, body.clone())
        .await;
    assert_eq!(r.status(), 200);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["accepted"], 3);
    assert_eq!(rep["rejected"], 3);
    let errs = rep["errors"].as_array().unwrap();
    assert_eq!(errs[0]["line"], 3);
    assert!(
        errs[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(errs[1]["line"], 4);
    assert!(
        errs[1]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown value 'telepathy'"),
        "{}",
        errs[1]
    );
    assert_eq!(errs[2]["line"], 5);
    assert!(
        errs[2]["reason"]
            .as_str()
            .unwrap()
            .contains("missing required field 'id'")
    );

    // strict=true: all or nothing; nothing new is stored.
    let before = app.store.counts(None).await.unwrap().signins;
    let r = app
        .post_ndjson("/ingest/signins?strict=true", &token, body)
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "InvalidRecords");
    assert_eq!(e["error"]["details"].as_array().unwrap().len(), 3);
    assert_eq!(app.store.counts(None).await.unwrap().signins, before);
}

#[tokio::test]
async fn wrong_type_size_encoding_tenant_and_token_each_get_their_own_answer() {
    let app = TestApp::start_with(ServerConfig {
        max_body_bytes: 4096,
        ..ServerConfig::default()
    })
    .await;
    let (_, events) = synth(app.now(), 20);
    let token = app.ingest_token(&[TENANT_A]);

    let r = app
        .client
        .post(app.url("/ingest/signins"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("a,b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("text/csv"));

    let r = app
        .client
        .post(app.url("/ingest/signins"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let r = app
        .post_ndjson("/ingest/signins", &token, ndjson(&events))
        .await;
    assert_eq!(r.status(), 413);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "PayloadTooLarge");

    // A gzip bomb: small on the wire, over the limit once inflated.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 1 << 20]).unwrap();
    let r = app
        .client
        .post(app.url("/ingest/signins"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Events of tenant B with a token for A only are refused, per record.
    let b_events: Vec<Value> = events
        .iter()
        .filter(|e| e["homeTenantId"] == json!(TENANT_B))
        .take(2)
        .cloned()
        .collect();
    let r = app
        .post_ndjson("/ingest/signins", &token, ndjson(&b_events))
        .await;
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["accepted"], 0);
    assert!(
        rep["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("may only write tenant(s)")
    );
    assert_eq!(app.store.counts(Some(TENANT_B)).await.unwrap().signins, 0);

    let r = app.post_ndjson("/ingest/signins", "", Vec::new()).await;
    assert_eq!(r.status(), 401);
    let graph = app.graph_app(TENANT_A, &["MfaLens.Ingest"]);
    assert_eq!(
        app.post_ndjson("/ingest/signins", &graph, Vec::new())
            .await
            .status(),
        401,
        "wrong audience"
    );
    let r = app
        .post_ndjson("/ingest/signins?colour=red", &token, Vec::new())
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn users_import_inserts_then_updates() {
    let app = TestApp::start().await;
    let (org, _) = synth(app.now(), 0);
    let token = app.ingest_token(&[TENANT_A, TENANT_B]);
    let recs: Vec<Value> = org[0]
        .users
        .iter()
        .map(|u| user_record(&org[0], u))
        .collect();
    let r = app
        .post_ndjson("/ingest/users", &token, ndjson(&recs))
        .await;
    assert_eq!(r.status(), 200);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(
        (rep["inserted"].as_u64(), rep["updated"].as_u64()),
        (Some(40), Some(0))
    );
    let r = app
        .post_ndjson("/ingest/users", &token, ndjson(&recs[..10]))
        .await;
    let rep: Value = r.json().await.unwrap();
    assert_eq!(
        (rep["inserted"].as_u64(), rep["updated"].as_u64()),
        (Some(0), Some(10))
    );
    assert_eq!(app.store.counts(Some(TENANT_A)).await.unwrap().users, 40);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_their_family_envelope() {
    let app = TestApp::start().await;
    let r = app.get("/beta/nothing/nothingHere", "t").await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().contains_key("request-id"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "BadRequest");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothingHere")
    );
    let r = app
        .client
        .get(app.url("/ingest/signins"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "MethodNotAllowed");
    let r = app.get("/nowhere", "t").await;
    assert_eq!(r.status(), 404);
}
