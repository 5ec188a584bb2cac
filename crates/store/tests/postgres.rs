//! The store suite against a real PostgreSQL, each test in a schema of its own (so tests run
//! in parallel), plus what only a shared server can show: several nodes writing at once.
//!
//! Set `MFALENS_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`) to run
//! them. Unset, they skip with a message, except under `CI`, where a missing or unreachable
//! database fails them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failure

use chrono::Duration;
use mfalens_core::classify::SignInFact;
use mfalens_core::metric::Metric;
use mfalens_store::postgres::{PostgresOptions, PostgresStore, schema_version};
use mfalens_store::testsuite::pg::{TestSchema, admin, base_url};
use mfalens_store::testsuite::{Fixture, T1, T2, fact, now, user};
use mfalens_store::{DatabaseUrl, IngestOutcome, Store, StoreError, UpsertOutcome, store_suite};
use std::sync::Arc;

async fn fresh() -> Option<(Fixture, TestSchema)> {
    let schema = TestSchema::create().await?;
    let store = schema.open().await;
    Some((Arc::new(store), schema))
}

store_suite!(optional: fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    drop(schema.open().await);
    admin(&schema.base)
        .await
        .batch_execute(&format!(
            "INSERT INTO {}.schema_migrations (version) VALUES (99)",
            schema.name
        ))
        .await
        .unwrap();
    let err = PostgresStore::open(&schema.url()).await.err().unwrap();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, known } if known == schema_version()),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    let err = mfalens_store::postgres::migrate(&schema.url())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let url = schema.url();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { mfalens_store::postgres::migrate(&url).await })
        })
        .collect();
    let mut fresh_runs = 0;
    for r in runs {
        let out = r.await.unwrap().unwrap();
        assert_eq!(out.to, schema_version());
        if out.from == 0 {
            fresh_runs += 1;
        }
    }
    assert_eq!(fresh_runs, 1, "exactly one node applies the migrations");
    // Through the backend-neutral entry point, and then through `open`, nothing is left to do.
    let db = DatabaseUrl::parse(&url).unwrap();
    assert_eq!(mfalens_store::migrate(&db).await.unwrap(), schema_version());
    let store = mfalens_store::open(&db).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    let versions = admin(&schema.base)
        .await
        .query_one(
            &format!("SELECT count(*) FROM {}.schema_migrations", schema.name),
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(versions, schema_version());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_unusable_databases_fail_fast_with_a_reason() {
    let opts = PostgresOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        ..PostgresOptions::default()
    };
    let err = PostgresStore::open_with("postgres://postgres@127.0.0.1:1/test", opts)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Other(_)), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    let err = PostgresStore::open("postgres://u:secret@h/db?sslmode=require")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::BadUrl(_)), "{err}");
    let err = PostgresStore::open("postgres://u@h/db?nonsense=1")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::BadUrl(_)), "{err}");
    if let Some(base) = base_url() {
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3Dmfalens_no_such_schema");
        let err = PostgresStore::open(&url).await.err().unwrap();
        assert!(err.to_string().contains("search_path"), "{err}");
    }
}

/// A mixed workload: two tenants, several metrics, partner sign-ins without MFA from a few
/// principals (so evidence rows merge first/last times and counts).
fn workload() -> Vec<SignInFact> {
    let base = now() - Duration::hours(6);
    (0..3000i64)
        .map(|i| {
            let tenant = if i % 4 == 0 { T2 } else { T1 };
            let metrics: &[Metric] = match i % 5 {
                0 => &[Metric::MfaSignInFailure],
                1 => &[Metric::MfaSignInSuccess, Metric::SamlSignInSuccess],
                2 => &[Metric::ConditionalAccessBlockedSignIn],
                3 => &[],
                _ => &[
                    Metric::MfaSignInSuccess,
                    Metric::ConditionalAccessManagedDevicesSignInSuccess,
                ],
            };
            // Spread over minutes out of id order, so batches touch interleaved rollup rows.
            let at = base + Duration::seconds((i * 7919) % 20_000);
            let mut f = fact(tenant, &format!("w{i:05}"), at, metrics);
            if i % 3 == 0 {
                f.facts.partner_non_mfa = true;
                // Names belong to the principal and app; the latest one seen is kept, so
                // only counts and times may depend on delivery order, never on names.
                f.user_id = Some(format!("p{}", i % 7));
                f.user_principal_name = Some(format!("p{}@contoso.example", i % 7));
                f.app_id = Some(format!("app{}", i % 2));
                f.app_display_name = Some(format!("App {}", i % 2));
            }
            f
        })
        .collect()
}

/// Everything a reader can see, for comparing two stores.
async fn snapshot(s: &dyn Store) -> String {
    let mut out = String::new();
    for tenant in [T1, T2] {
        for m in Metric::ALL {
            let r = s.rollups(tenant, m, 0, i64::MAX).await.unwrap();
            out.push_str(&format!("{tenant} {m:?} {r:?}\n"));
        }
        let since = now() - Duration::days(7);
        out.push_str(&format!(
            "{:?}\n",
            s.non_mfa_principals(tenant, since, 10_000).await.unwrap()
        ));
        out.push_str(&format!(
            "{:?}\n",
            s.non_mfa_evidence(tenant, since).await.unwrap()
        ));
        out.push_str(&format!("{:?}\n", s.counts(Some(tenant)).await.unwrap()));
    }
    out.push_str(&format!(
        "{:?} {:?}\n",
        s.counts(None).await.unwrap(),
        s.tenants().await.unwrap()
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_ingesting_overlapping_events_count_like_one_clean_ingest() {
    let Some(shared) = TestSchema::create().await else {
        return;
    };
    let Some(clean) = TestSchema::create().await else {
        return;
    };
    let all = workload();

    let reference = clean.open().await;
    let out = reference.ingest_signins(all.clone(), now()).await.unwrap();
    assert_eq!(
        out,
        IngestOutcome {
            accepted: 3000,
            duplicates: 0,
            expired: 0
        }
    );

    // Two nodes: two stores, two pools, on one schema. Each runs three writers over
    // overlapping slices, in different batch sizes (COPY and array paths) and orders.
    let nodes = [Arc::new(shared.open().await), Arc::new(shared.open().await)];
    let mut tasks = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for w in 0..3usize {
            let node = node.clone();
            let start = (n * 3 + w) * 400;
            let mut slice: Vec<_> = all.iter().cycle().skip(start).take(1500).cloned().collect();
            if w % 2 == 1 {
                slice.reverse();
            }
            let size = [500, 97, 13][w];
            tasks.push(tokio::spawn(async move {
                let mut total = IngestOutcome::default();
                for chunk in slice.chunks(size) {
                    total += node.ingest_signins(chunk.to_vec(), now()).await.unwrap();
                }
                total
            }));
        }
    }
    let mut total = IngestOutcome::default();
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total.accepted, 3000, "{total:?}");
    assert_eq!(total.accepted + total.duplicates, 6 * 1500);

    let expected = snapshot(&reference).await;
    for node in &nodes {
        let got = snapshot(node.as_ref()).await;
        for (g, e) in got.lines().zip(expected.lines()) {
            assert_eq!(g, e);
        }
        assert_eq!(got.lines().count(), expected.lines().count());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_batches_apply_in_order_and_in_bulk() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let s = schema.open().await;
    // Repeats inside one batch: the last version wins, earlier ones count as updates.
    let mut later = user(T1, "u1", "a@x.example");
    later.is_admin = true;
    let out = s
        .upsert_users(vec![
            user(T1, "u1", "a@x.example"),
            user(T1, "u2", "b@x.example"),
            later.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            inserted: 2,
            updated: 1
        }
    );
    let got = s
        .user(T1, &mfalens_store::UserKey::Id("u1".into()))
        .await
        .unwrap();
    assert_eq!(got, Some(later));

    // A directory import large enough for the analysed staging path, half of it known.
    let users: Vec<_> = (0..1500)
        .map(|i| user(T2, &format!("d{i:04}"), &format!("d{i}@y.example")))
        .collect();
    let out = s.upsert_users(users[..750].to_vec()).await.unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            inserted: 750,
            updated: 0
        }
    );
    let out = s.upsert_users(users.clone()).await.unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            inserted: 750,
            updated: 750
        }
    );
    assert_eq!(s.counts(Some(T2)).await.unwrap().users, 1500);
    assert_eq!(s.registration_summary(T2).await.unwrap().total, 1500);
}

/// Throughput, not correctness (figures for docs/scaling.md):
/// `cargo test --release -p mfalens-store --test postgres ingest_throughput -- --ignored --nocapture`
/// with `MFALENS_BENCH_SIGNINS` (default 300000) and `MFALENS_BENCH_BATCH` (default 50000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn ingest_throughput() {
    use mfalens_core::classify::ClassifyConfig;
    use mfalens_core::signin::SignInEvent;
    use mfalens_core::synth::{SynthConfig, organisation, signins};
    use std::time::Instant;

    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let Some(schema2) = TestSchema::create().await else {
        return;
    };
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("MFALENS_BENCH_SIGNINS", 300_000);
    let batch = env("MFALENS_BENCH_BATCH", 50_000) as usize;
    let cfg = SynthConfig {
        seed: 7,
        tenants: 10,
        users_per_tenant: 2_000,
        days: 30,
        signins: n,
        now: now(),
    };
    let org = organisation(&cfg);
    let classify = ClassifyConfig::default();
    let facts: Vec<SignInFact> = signins(&cfg, &org)
        .map(|v| {
            let ev = SignInEvent::from_json(v.to_string().as_bytes(), None).unwrap();
            SignInFact::from_event(ev, &classify)
        })
        .collect();

    let store = schema.open().await;
    let t = Instant::now();
    let mut out = IngestOutcome::default();
    for chunk in facts.chunks(batch) {
        out += store.ingest_signins(chunk.to_vec(), now()).await.unwrap();
    }
    let new = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut again = IngestOutcome::default();
    for chunk in facts.chunks(batch) {
        again += store.ingest_signins(chunk.to_vec(), now()).await.unwrap();
    }
    let dup = t.elapsed().as_secs_f64();
    assert_eq!(out.accepted + out.duplicates, n);
    assert_eq!(again.accepted, 0);

    // Two nodes, each with its half, at once.
    let nodes = [
        Arc::new(schema2.open().await),
        Arc::new(schema2.open().await),
    ];
    let halves: Vec<Vec<SignInFact>> = facts
        .chunks(facts.len().div_ceil(2))
        .map(<[_]>::to_vec)
        .collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (node, half) in nodes.iter().zip(halves) {
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            for chunk in half.chunks(batch) {
                node.ingest_signins(chunk.to_vec(), now()).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let two = t.elapsed().as_secs_f64();
    // The embedded backend on the same machine, at the same moment, for a ratio.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = mfalens_store::sqlite::SqliteStore::open(&dir.path().join("b.db"))
        .await
        .unwrap();
    let t = Instant::now();
    for chunk in facts.chunks(batch) {
        sqlite.ingest_signins(chunk.to_vec(), now()).await.unwrap();
    }
    let lite = t.elapsed().as_secs_f64();
    let rate = |s: f64| n as f64 / s / 1000.0;
    println!(
        "ingest of {n} sign-ins in batches of {batch}: postgres new {:.0}k/s, all duplicates \
         {:.0}k/s, two nodes at once {:.0}k/s; sqlite new {:.0}k/s (postgres/sqlite {:.2})",
        rate(new),
        rate(dup),
        rate(two),
        rate(lite),
        lite / new
    );
}
