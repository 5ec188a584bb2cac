//! Two real `mfalens serve` processes sharing one PostgreSQL: overlapping concurrent ingests
//! end with the counts of one clean ingest, and both nodes answer the same.
//! Needs MFALENS_TEST_POSTGRES_URL (skips without it, except under CI, where it fails).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::*;
use mfalens_store::testsuite::pg::TestSchema;
use serde_json::{Value, json};

fn mfa_failures(events: &[Value], tenant: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    events
        .iter()
        .filter(|e| {
            e["homeTenantId"] == json!(tenant) && counts_toward("getMetricsForMfaSignInFailure", e)
        })
        .filter(|e| {
            let t: DateTime<Utc> = e["createdDateTime"].as_str().unwrap().parse().unwrap();
            t >= start && t < end
        })
        .count() as u64
}

async fn post(client: &reqwest::Client, base: &str, token: &str, events: &[Value]) -> Value {
    let mut body = String::new();
    for e in events {
        body.push_str(&e.to_string());
        body.push('\n');
    }
    let r = client
        .post(format!("{base}/ingest/signins"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_ingesting_overlapping_events_count_like_one_clean_ingest() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let db = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let keys = keys.to_str().unwrap();
    let now = Utc::now();
    let (ok, _, err) = run(&[
        "generate",
        "--seed",
        "3",
        "--tenants",
        "2",
        "--users",
        "50",
        "--signins",
        "4000",
        "--now",
        &now.to_rfc3339(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let events = read_lines(&dir.path().join("signins.ndjson"));
    let tenants: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tenants.json")).unwrap())
            .unwrap();
    let (t0, t1) = (
        tenants[0]["tenantId"].as_str().unwrap(),
        tenants[1]["tenantId"].as_str().unwrap(),
    );

    // Both nodes trust the same signing key, as a deployment shares one (docs/scaling.md).
    let a = Server::start_with(&db, &["--key-dir", keys]);
    let b = Server::start_with(&db, &["--key-dir", keys]);
    let ingest = token(
        &db,
        &[
            "--key-dir",
            keys,
            "--tenant",
            t0,
            "--tenant",
            t1,
            "--app-role",
            "MfaLens.Ingest",
            "--audience",
            "ingest",
        ],
    );
    let client = reqwest::Client::new();

    // Node A takes events 0..3000, node B 1000..4000, in 250-event batches, at the same time.
    let (ra, rb) = tokio::join!(
        async {
            let mut n = 0;
            for chunk in events[..3000].chunks(250) {
                n += post(&client, &a.base, &ingest, chunk).await["accepted"]
                    .as_u64()
                    .unwrap();
            }
            n
        },
        async {
            let mut n = 0;
            for chunk in events[1000..].chunks(250) {
                n += post(&client, &b.base, &ingest, chunk).await["accepted"]
                    .as_u64()
                    .unwrap();
            }
            n
        }
    );
    assert_eq!(
        ra + rb,
        4000,
        "every distinct event accepted exactly once across the nodes"
    );

    let start = (now - Duration::days(29))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let end = now.duration_trunc(Duration::minutes(30)).unwrap();
    let reader = token(
        &db,
        &[
            "--key-dir",
            keys,
            "--tenant",
            t0,
            "--scope",
            "Reports.Read.All",
            "--directory-role",
            "Reports Reader",
        ],
    );
    let path = format!(
        "/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={},exclusiveIntervalEndDateTime={},aggregationIntervalInMinutes=30)",
        start.format("%Y-%m-%dT%H:%M:%SZ"),
        end.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let mut totals = Vec::new();
    for node in [&a, &b] {
        let r = client
            .get(format!("{}{path}", node.base))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        totals.push(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["value"].as_u64().unwrap())
                .sum::<u64>(),
        );
    }
    let expected = mfa_failures(&events, t0, start, end);
    assert!(expected > 0);
    assert_eq!(totals, vec![expected, expected]);
}
