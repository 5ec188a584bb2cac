//! Workload 1: ingest a file of Graph sign-ins with the real `mfalens ingest` binary, beside
//! the parse-only ceiling and DuckDB's `read_json` load of the same file, in one run.

use crate::child::{self, Finished};
use crate::machine::mib;
use crate::parse::ParseResult;
use crate::report::{Section, thousands};
use crate::{Ctx, data};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::process::Command;

/// Where PostgreSQL ingest goes when set: a database the benchmark may empty.
pub const POSTGRES_ENV: &str = "MFALENS_BENCH_POSTGRES_URL";

#[derive(Deserialize)]
struct DuckLoad {
    secs: f64,
    cpu_secs: f64,
    rows: u64,
    peak_rss: u64,
    version: String,
}

pub fn run(ctx: &Ctx) -> Result<()> {
    println!("== ingest: {} sign-ins from a file", ctx.events);
    let cfg = data::config(ctx.seed, ctx.events, ctx.data_now);
    let (file, size) = data::signin_file(&ctx.work.join("data"), &cfg)?;
    let n = ctx.events as f64;
    let mut s = Section::new(
        "ingest",
        &[
            "what",
            "events/s",
            "time",
            "CPU time",
            "events per CPU-second",
            "peak RSS",
            "vs parse ceiling",
            "notes",
        ],
        &ctx.machine,
    );
    s.note(format!(
        "Input: {} ({} events, {:.0} bytes each on average), the output of `{}`.",
        file.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
        ctx.events,
        size as f64 / n,
        data::generate_command(ctx.seed, ctx.events, ctx.data_now)
    ));

    // The ceiling, on one core and on all of them.
    let me = std::env::current_exe()?;
    let mut ceilings = Vec::new();
    for threads in [1, ctx.machine.cores.max(2)] {
        let mut cmd = Command::new(&me);
        cmd.arg("parse-only")
            .arg(&file)
            .arg("--threads")
            .arg(threads.to_string());
        let r: ParseResult = child::last_json(&child::run(cmd)?.stdout)?;
        ceilings.push(r);
    }
    let ceiling = ceilings
        .iter()
        .map(|c| c.records as f64 / c.secs)
        .fold(0.0, f64::max);
    for c in &ceilings {
        let rate = c.records as f64 / c.secs;
        s.row(vec![
            format!("parse-only ceiling, {} thread(s)", c.threads),
            thousands(rate),
            format!("{:.2} s", c.secs),
            format!("{:.2} s", c.cpu_secs),
            thousands(c.records as f64 / c.cpu_secs.max(1e-9)),
            mib(c.peak_rss),
            format!("{:.0}%", 100.0 * rate / ceiling),
            "read + parse + classify into SignInFact, nothing stored".into(),
        ]);
    }

    // mfalens itself, per backend.
    let mfalens = child::sibling("mfalens")?;
    let sqlite_db = ctx.work.join("ingest.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_db.display()));
    }
    let mut backends = vec![("SQLite", format!("sqlite://{}", sqlite_db.display()))];
    if let Ok(url) = std::env::var(POSTGRES_ENV) {
        backends.push(("PostgreSQL", url));
    }
    let mut sqlite_rate = None;
    let mut sqlite_rss = None;
    let mut sqlite_per_cpu = None;
    for (name, url) in &backends {
        if *name == "PostgreSQL" {
            reset_postgres(url);
        }
        let mut cmd = Command::new(&mfalens);
        cmd.args(["ingest", "signins", "--no-progress", "--database", url])
            .arg(&file)
            .env("MFALENS_LOG", "warn");
        match child::run(cmd) {
            Ok(f) => {
                let accepted = accepted(&f)?;
                let rate = accepted as f64 / f.secs;
                if *name == "SQLite" {
                    sqlite_rate = Some(rate);
                    sqlite_rss = Some(f.peak_rss);
                    sqlite_per_cpu = Some(accepted as f64 / f.cpu_secs.max(1e-9));
                }
                let extra = if *name == "SQLite" {
                    let bytes = std::fs::metadata(&sqlite_db).map(|m| m.len()).unwrap_or(0);
                    format!("database file {} after the run", mib(bytes))
                } else {
                    String::new()
                };
                s.row(vec![
                    format!("mfalens ingest → {name}"),
                    thousands(rate),
                    format!("{:.2} s", f.secs),
                    format!("{:.2} s", f.cpu_secs),
                    thousands(accepted as f64 / f.cpu_secs.max(1e-9)),
                    mib(f.peak_rss),
                    format!("{:.0}%", 100.0 * rate / ceiling),
                    format!("{accepted} accepted, durable commits; {extra}"),
                ]);
            }
            Err(e) => s.row(vec![
                format!("mfalens ingest → {name}"),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                format!("not available: {}", first_line(&e.to_string())),
            ]),
        }
    }

    // The alternative.
    let duck = match child::duckdb_python(&ctx.work) {
        Some(py) => {
            let db = ctx.work.join("ingest.duckdb");
            let mut cmd = Command::new(py);
            cmd.arg(child::duckdb_script())
                .arg("load")
                .arg(&file)
                .arg(&db);
            match child::run(cmd).and_then(|f| child::last_json::<DuckLoad>(&f.stdout)) {
                Ok(d) => {
                    let rate = d.rows as f64 / d.secs;
                    s.row(vec![
                        format!("DuckDB {} read_json → table", d.version),
                        thousands(rate),
                        format!("{:.2} s", d.secs),
                        format!("{:.2} s", d.cpu_secs),
                        thousands(d.rows as f64 / d.cpu_secs.max(1e-9)),
                        mib(d.peak_rss),
                        format!("{:.0}%", 100.0 * rate / ceiling),
                        format!("{} rows, all columns, persistent file, all cores", d.rows),
                    ]);
                    Some(rate)
                }
                Err(e) => {
                    s.note(format!("DuckDB failed: {}", first_line(&e.to_string())));
                    None
                }
            }
        }
        None => {
            s.note(
                "DuckDB not measured: run bench/run.sh (it creates target/bench-venv with duckdb).",
            );
            None
        }
    };

    if let (Some(per_cpu), Some(ceiling_cpu)) = (
        sqlite_per_cpu,
        ceilings
            .first()
            .map(|c| c.records as f64 / c.cpu_secs.max(1e-9)),
    ) {
        s.target(
            "(same, CPU-normalised: events per CPU-second, robust to a loaded machine)",
            format!(
                "{:.0}% ({} vs {} events per CPU-second)",
                100.0 * per_cpu / ceiling_cpu,
                thousands(per_cpu),
                thousands(ceiling_cpu)
            ),
            Some(per_cpu >= 0.5 * ceiling_cpu),
        );
    }
    if let (Some(rate), Some(rss)) = (sqlite_rate, sqlite_rss) {
        s.target(
            "SQLite ingest ≥ 50% of the parse-only ceiling",
            format!(
                "{:.0}% of {} events/s",
                100.0 * rate / ceiling,
                thousands(ceiling)
            ),
            Some(rate >= 0.5 * ceiling),
        );
        s.target(
            "SQLite ingest ≥ 200,000 events/s",
            format!("{} events/s", thousands(rate)),
            Some(rate >= 200_000.0),
        );
        s.target(
            "SQLite ingest faster than DuckDB's load",
            match duck {
                Some(d) => format!("{:.2}× DuckDB ({} events/s)", rate / d, thousands(d)),
                None => "DuckDB not measured".into(),
            },
            duck.map(|d| rate > d),
        );
        s.target(
            "peak RSS < 200 MB",
            format!("{} ({:.0} MB)", mib(rss), rss as f64 / 1e6),
            Some(rss < 200_000_000),
        );
    }
    if !backends.iter().any(|(n, _)| *n == "PostgreSQL") {
        s.note(format!(
            "PostgreSQL not measured: set {POSTGRES_ENV}=postgres://USER@HOST/DB (a database the benchmark may empty) once the PostgreSQL store is built."
        ));
    }
    s.finish(&ctx.work)
}

fn accepted(f: &Finished) -> Result<u64> {
    // "sign-ins: N accepted, ..."
    f.stdout
        .lines()
        .find_map(|l| l.strip_prefix("sign-ins: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("unexpected mfalens ingest output: {}", f.stdout.trim()))
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// Empties the PostgreSQL benchmark database, so every run ingests into an empty store.
fn reset_postgres(url: &str) {
    let r = Command::new("psql")
        .args([
            url,
            "-q",
            "-c",
            "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;",
        ])
        .output();
    if !matches!(r, Ok(ref o) if o.status.success()) {
        eprintln!("warning: could not empty {POSTGRES_ENV} with psql; ingest may count duplicates");
    }
}
