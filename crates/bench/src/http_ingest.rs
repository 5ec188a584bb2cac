//! Workload 2: `POST /ingest/signins` from 8 concurrent clients against the real
//! `mfalens serve` over loopback, NDJSON bodies of 5,000 sign-ins from the same file.

use crate::load;
use crate::machine::mib;
use crate::report::{Section, ms, thousands};
use crate::server::{ServeChild, mint};
use crate::{Ctx, data};
use anyhow::{Result, bail};
use std::io::{BufRead, BufReader};
use std::sync::Arc;

pub const CLIENTS: usize = 8;
pub const EVENTS_PER_REQUEST: usize = 5_000;

pub async fn run(ctx: &Ctx) -> Result<()> {
    println!(
        "== http-ingest: {} sign-ins, {CLIENTS} clients",
        ctx.http_events
    );
    let cfg = data::config(ctx.seed, ctx.events.max(ctx.http_events), ctx.data_now);
    let (file, _) = data::signin_file(&ctx.work.join("data"), &cfg)?;
    let mut bodies: Vec<bytes_body::Body> = Vec::new();
    let mut cur = Vec::with_capacity(EVENTS_PER_REQUEST * 1100);
    let (mut lines, mut total) = (0, 0u64);
    for line in BufReader::with_capacity(1 << 20, std::fs::File::open(&file)?).split(b'\n') {
        if total >= ctx.http_events {
            break;
        }
        cur.extend_from_slice(&line?);
        cur.push(b'\n');
        lines += 1;
        total += 1;
        if lines == EVENTS_PER_REQUEST {
            bodies.push(bytes_body::Body::new(std::mem::take(&mut cur), lines));
            lines = 0;
        }
    }
    if lines > 0 {
        bodies.push(bytes_body::Body::new(cur, lines));
    }
    let db = ctx.work.join("http-ingest.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let server = ServeChild::start(&db)?;
    let mut args = vec!["--audience", "ingest", "--app-role", "MfaLens.Ingest"];
    let tenants = data::tenant_ids(&cfg);
    for t in &tenants {
        args.extend(["--tenant", t.as_str()]);
    }
    let token = mint(&db, &args)?;
    let url = format!("{}/ingest/signins", server.base);
    let bodies = Arc::new(bodies);
    let per_conn: Vec<Vec<usize>> = (0..CLIENTS)
        .map(|c| (c..bodies.len()).step_by(CLIENTS).collect())
        .collect();
    let per_conn = Arc::new(per_conn);
    let b2 = bodies.clone();
    let make: load::MakeRequest = Arc::new(move |client, conn, i| {
        let idx = *per_conn[conn].get(i as usize)?;
        Some(
            client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/x-ndjson")
                .body(b2[idx].bytes.clone()),
        )
    });
    let r = load::run(CLIENTS, None, make).await?;
    let peak = crate::machine::peak_rss_of(server.pid()).unwrap_or(0);
    drop(server);
    if r.errors > 0 {
        bail!(
            "{} of {} requests failed: {}",
            r.errors,
            bodies.len(),
            r.first_error.unwrap_or_default()
        );
    }
    let events: u64 = bodies.iter().map(|b| b.events as u64).sum();
    let rate = events as f64 / r.secs;
    let mut s = Section::new(
        "http-ingest",
        &[
            "what",
            "events/s",
            "requests",
            "time",
            "request p50",
            "request p99",
            "server peak RSS",
        ],
        &ctx.machine,
    );
    s.row(vec![
        format!("POST /ingest/signins, {CLIENTS} clients, {EVENTS_PER_REQUEST} events/request"),
        thousands(rate),
        r.requests.to_string(),
        format!("{:.2} s", r.secs),
        ms(r.percentile(0.5)),
        ms(r.percentile(0.99)),
        mib(peak),
    ]);
    s.note(format!(
        "{events} sign-ins from the ingest file, NDJSON, uncompressed, bearer token verified per request; the real `mfalens serve` (SQLite, production logging to a file) over loopback; each request is one durable transaction."
    ));
    s.finish(&ctx.work)
}

mod bytes_body {
    /// One request body, shared cheaply between retries and connections.
    pub struct Body {
        pub bytes: bytes::Bytes,
        pub events: usize,
    }
    impl Body {
        pub fn new(v: Vec<u8>, events: usize) -> Body {
            Body {
                bytes: bytes::Bytes::from(v),
                events,
            }
        }
    }
}
