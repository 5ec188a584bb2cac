//! Workload 3: latency of `getMetricsForMfaSignInFailure` over 30 days at 5-minute intervals
//! (8,640 points) with 1M, 10M and 100M stored events, 32 concurrent connections, beside
//! DuckDB computing the same report with a `GROUP BY` over a raw table of the same size.
//!
//! The stores are generated directly as classified facts through the `Store` API (no JSON),
//! in time order with time-ordered ids so that generation appends; they are kept under the
//! work directory and reused by later runs.

use crate::load;
use crate::report::{Section, ms, thousands};
use crate::server::InProcess;
use crate::{Ctx, child, data};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use mfalens_core::classify::{SignInFact, SignInFacts};
use mfalens_core::metric::{Metric, MetricSet};
use mfalens_core::time::{from_nanos, to_nanos};
use mfalens_store::Store;
use mfalens_store::sqlite::SqliteStore;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

pub const SIZES: [u64; 3] = [1_000_000, 10_000_000, 100_000_000];
const REQUESTS_PER_CONNECTION: u64 = 20;
const DUCKDB_RUNS: u64 = 20;
const SINGLE_REQUESTS: u64 = 50;
const BATCH: usize = 250_000;

/// What a generated store holds, saved beside it.
#[derive(Serialize, Deserialize, PartialEq)]
struct Made {
    events: u64,
    seed: u64,
    now: DateTime<Utc>,
    tenants: Vec<String>,
    build_secs: f64,
}

#[derive(Deserialize)]
struct DuckQuery {
    p50: f64,
    p99: f64,
    build_secs: f64,
    version: String,
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let sizes: Vec<u64> = SIZES.into_iter().filter(|n| *n <= ctx.max_events).collect();
    println!(
        "== query: stores of {sizes:?} events, {} connections",
        ctx.query_connections
    );
    let mut s = Section::new(
        "query",
        &[
            "stored events",
            "p50, 32 connections",
            "p99, 32 connections",
            "requests/s",
            "p50, 1 connection",
            "DuckDB GROUP BY p50",
            "DuckDB p99",
            "DuckDB p50 / mfalens p50 (1 connection)",
            "store",
        ],
        &ctx.machine,
    );
    let mut p99s = Vec::new();
    let mut duck_ratio_at_largest = None;
    for &n in &sizes {
        let path = ctx.work.join(format!("query-{n}.db"));
        let made = build_store(ctx, &path, n).await?;
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await?);
        let server = InProcess::start(store, made.now)?;
        let tenant = made.tenants[0].clone();
        let token = server.graph_app_token(&tenant)?;
        let start = made.now - Duration::days(30);
        let url = format!(
            "{}/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={},exclusiveIntervalEndDateTime={},aggregationIntervalInMinutes=5)",
            server.base,
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            made.now.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let (u, t) = (url.clone(), token.clone());
        let warm: load::MakeRequest =
            Arc::new(move |c, _, i| (i < 1).then(|| c.get(&u).bearer_auth(&t)));
        let w = load::run(ctx.query_connections, None, warm).await?;
        if w.errors > 0 {
            anyhow::bail!("query failed: {}", w.first_error.unwrap_or_default());
        }
        let (u, t) = (url.clone(), token.clone());
        let make: load::MakeRequest = Arc::new(move |c, _, i| {
            (i < REQUESTS_PER_CONNECTION).then(|| c.get(&u).bearer_auth(&t))
        });
        let r = load::run(ctx.query_connections, None, make).await?;
        // One connection, one request at a time: the service time, comparable to DuckDB
        // running one query at a time.
        let (u, t) = (url.clone(), token.clone());
        let single: load::MakeRequest =
            Arc::new(move |c, _, i| (i < SINGLE_REQUESTS).then(|| c.get(&u).bearer_auth(&t)));
        let one = load::run(1, None, single).await?;
        drop(server);
        let p50_one = one.percentile(0.5);
        let (p50, p99) = (r.percentile(0.5), r.percentile(0.99));
        p99s.push((n, p99));
        let duck = duckdb_query(ctx, n);
        let (d50, d99, ratio, dnote) = match &duck {
            Ok(d) => {
                let ratio = d.p50 * 1e6 / p50_one.max(1) as f64;
                if n == *sizes.last().unwrap_or(&0) {
                    duck_ratio_at_largest = Some((n, ratio));
                }
                (
                    format!("{:.2} ms", d.p50 * 1e3),
                    format!("{:.2} ms", d.p99 * 1e3),
                    format!("{ratio:.1}×"),
                    format!(
                        ", DuckDB {} table built in {:.0} s",
                        d.version, d.build_secs
                    ),
                )
            }
            Err(e) => ("—".into(), "—".into(), "—".into(), format!(", DuckDB: {e}")),
        };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        s.row(vec![
            thousands(n as f64),
            ms(p50),
            ms(p99),
            format!("{:.0}", r.rate()),
            ms(p50_one),
            d50,
            d99,
            ratio,
            format!(
                "{:.1} GB, generated in {:.0} s{}",
                size as f64 / 1e9,
                made.build_secs,
                dnote
            ),
        ]);
        if r.errors > 0 {
            s.note(format!(
                "{} errors at {n}: {}",
                r.errors,
                r.first_error.unwrap_or_default()
            ));
        }
    }
    if let (Some((n0, base)), Some((n1, top))) = (p99s.first(), p99s.last()) {
        let ratio = *top as f64 / (*base).max(1) as f64;
        s.target(
            "p99 at 100M within 1.5× of p99 at 1M",
            format!(
                "p99 {} at {} vs {} at {}: {ratio:.2}×",
                ms(*top),
                thousands(*n1 as f64),
                ms(*base),
                thousands(*n0 as f64)
            ),
            (*n1 == 100_000_000 && *n0 == 1_000_000).then_some(ratio <= 1.5),
        );
    }
    let (goal, measured, met) = match duck_ratio_at_largest {
        Some((n, r)) => (
            "≥ 100× faster than DuckDB's GROUP BY at 100M",
            format!("{r:.0}× at {}", thousands(n as f64)),
            (n == 100_000_000).then_some(r >= 100.0),
        ),
        None => (
            "≥ 100× faster than DuckDB's GROUP BY at 100M",
            "DuckDB not measured".into(),
            None,
        ),
    };
    s.target(goal, measured, met);
    s.note(format!(
        "{} connections × {REQUESTS_PER_CONNECTION} requests after one warm-up request per connection; each response is the dense 8,640-point series (about 0.5 MB of JSON). In-process server (its own 2-thread runtime, no log subscriber) with its clock at the stores' end instant, because stores are generated once and reused.",
        ctx.query_connections
    ));
    s.note(format!(
        "DuckDB: the same report as `SELECT time_bucket(5 min) ..., count(*) ... WHERE tenant AND window AND metric bit GROUP BY 1` over a raw table (tenant, uuid, timestamp, metric bits) with the same row count, one connection using all cores, {DUCKDB_RUNS} runs after a warm-up. The ratio compares medians of one query at a time on each side: mfalens over one connection ({SINGLE_REQUESTS} requests, HTTP, token check and JSON rendering included), DuckDB in-process with no HTTP or JSON at all."
    ));
    s.finish(&ctx.work)
}

fn duckdb_query(ctx: &Ctx, n: u64) -> Result<DuckQuery> {
    let py = child::duckdb_python(&ctx.work).context("not set up (bench/run.sh)")?;
    let mut cmd = Command::new(py);
    cmd.arg(child::duckdb_script())
        .arg("query")
        .arg(ctx.work.join(format!("query-{n}.duckdb")))
        .arg(n.to_string())
        .arg(DUCKDB_RUNS.to_string());
    child::last_json(&child::run(cmd)?.stdout)
}

/// Generates (or reuses) a store of `n` classified sign-ins spread over the 30 days before
/// `ctx.data_now`, written through `Store::ingest_signins` in batches.
async fn build_store(ctx: &Ctx, path: &Path, n: u64) -> Result<Made> {
    let marker = path.with_extension("made.json");
    let cfg = data::config(ctx.seed, n, ctx.data_now);
    let tenants = data::tenant_ids(&cfg);
    if let Ok(bytes) = std::fs::read(&marker)
        && let Ok(made) = serde_json::from_slice::<Made>(&bytes)
        && made.events == n
        && made.seed == ctx.seed
        && path.exists()
    {
        println!(
            "reusing {} ({} events, made for {})",
            path.display(),
            n,
            made.now
        );
        return Ok(made);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let _ = std::fs::remove_file(&marker);
    println!("generating a store of {n} events at {} ...", path.display());
    let now = ctx.data_now;
    let store = SqliteStore::open(path).await?;
    let started = Instant::now();
    let mut facts = FactGen::new(ctx.seed, n, now, &tenants);
    let mut done = 0u64;
    while done < n {
        let take = BATCH.min((n - done) as usize);
        let batch: Vec<SignInFact> = (0..take).map(|_| facts.next_fact()).collect();
        let out = store.ingest_signins(batch, now).await?;
        done += take as u64;
        if out.accepted != take as u64 {
            anyhow::bail!("generated facts were not all new: {out:?}");
        }
        if done.is_multiple_of(10_000_000) || done == n {
            println!(
                "  {done} events, {:.0}/s",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    drop(store);
    let made = Made {
        events: n,
        seed: ctx.seed,
        now,
        tenants,
        build_secs: started.elapsed().as_secs_f64(),
    };
    std::fs::write(&marker, serde_json::to_vec_pretty(&made)?)?;
    Ok(made)
}

/// Classified facts in time order, with the synthetic organisation's mix of outcomes.
struct FactGen {
    rng: ChaCha8Rng,
    i: u64,
    n: u64,
    start_ns: i64,
    span_ns: i64,
    tenants: Vec<String>,
    users: Vec<String>,
    apps: Vec<String>,
}

impl FactGen {
    fn new(seed: u64, n: u64, now: DateTime<Utc>, tenants: &[String]) -> FactGen {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xFAC7);
        let guid = |r: &mut ChaCha8Rng| {
            uuid::Builder::from_random_bytes(r.random())
                .into_uuid()
                .to_string()
        };
        let users = (0..2000).map(|_| guid(&mut rng)).collect();
        let apps = (0..6).map(|_| guid(&mut rng)).collect();
        let start = now - Duration::days(30) + Duration::minutes(1);
        FactGen {
            rng,
            i: 0,
            n,
            start_ns: to_nanos(start),
            span_ns: to_nanos(now) - to_nanos(start),
            tenants: tenants.to_vec(),
            users,
            apps,
        }
    }

    fn next_fact(&mut self) -> SignInFact {
        let step = (self.span_ns as i128 * self.i as i128 / self.n as i128) as i64;
        let jitter = self
            .rng
            .random_range(0..(self.span_ns / self.n as i64).max(1));
        let created_ns = (self.start_ns + step + jitter).min(self.start_ns + self.span_ns - 1);
        self.i += 1;
        // Time-ordered ids (like UUIDv7): generation appends to both B-trees.
        let hi = created_ns as u64;
        let lo: u64 = self.rng.random();
        let id = uuid::Uuid::from_u64_pair(hi, lo).to_string();
        let r = &mut self.rng;
        let tenant = self.tenants[r.random_range(0..self.tenants.len())].clone();
        let success = r.random_bool(0.83);
        let interactive = r.random_bool(0.6);
        let mut m = MetricSet::default();
        if !success && interactive && r.random_bool(0.3) {
            m.insert(Metric::MfaSignInFailure);
        }
        if success && interactive && r.random_bool(0.5) {
            m.insert(Metric::MfaSignInSuccess);
        }
        if !success && r.random_bool(0.2) {
            m.insert(Metric::ConditionalAccessBlockedSignIn);
        }
        let compliant = r.random_bool(0.55);
        if success && compliant {
            m.insert(Metric::ConditionalAccessCompliantDevicesSignInSuccess);
        }
        if success && (compliant || r.random_bool(0.2)) {
            m.insert(Metric::ConditionalAccessManagedDevicesSignInSuccess);
        }
        if success && r.random_bool(0.3) {
            m.insert(Metric::SamlSignInSuccess);
        }
        SignInFact {
            tenant_id: tenant,
            id,
            created: from_nanos(created_ns),
            user_id: Some(self.users[r.random_range(0..self.users.len())].clone()),
            user_principal_name: None,
            app_id: Some(self.apps[r.random_range(0..self.apps.len())].clone()),
            app_display_name: None,
            facts: SignInFacts {
                metrics: m,
                mfa_satisfied: success && r.random_bool(0.5),
                partner_non_mfa: false,
            },
        }
    }
}
