//! `mfalens-bench`: the benchmark harness. Every workload runs its comparison in the same
//! run (the parse-only ceiling and DuckDB beside ingest, `/healthz` beside authenticated
//! endpoints), prints a table, saves its section, and re-renders `docs/BENCHMARKS.md`.
//! Nothing here asserts a time: figures are reported, never tested.

mod child;
mod data;
mod http_ingest;
mod ingest;
mod load;
mod machine;
mod parse;
mod query;
mod report;
mod server;
mod throughput;

use anyhow::{Context, Result};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use clap::{Args, Parser, Subcommand};
use machine::Machine;
use mfalens_server::clock::{Clock, SystemClock};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "mfalens-bench",
    about = "Benchmarks for mfalens: ingest, HTTP ingest, query latency, request throughput.",
    after_help = "Run everything: bench/run.sh (builds in release, sets up DuckDB, runs `all`)."
)]
struct Cli {
    #[command(flatten)]
    opts: Opts,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct Opts {
    /// Working directory for data files, databases and saved sections.
    #[arg(long, global = true, default_value = "target/bench")]
    work_dir: PathBuf,
    /// The report to (re)write from every saved section.
    #[arg(long, global = true, default_value = "docs/BENCHMARKS.md")]
    report: PathBuf,
    /// Seed of the synthetic organisation.
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Sign-ins in the ingest file.
    #[arg(long, global = true, default_value_t = 1_000_000)]
    events: u64,
    /// Sign-ins sent in the HTTP ingest workload.
    #[arg(long, global = true, default_value_t = 400_000)]
    http_events: u64,
    /// Largest query store: stores of 1M, 10M and 100M events up to this size are measured.
    #[arg(long, global = true, default_value_t = 100_000_000)]
    max_events: u64,
    /// Concurrent connections of the query workload.
    #[arg(long, global = true, default_value_t = 32)]
    query_connections: usize,
    /// Concurrent connections of the throughput workload.
    #[arg(long, global = true, default_value_t = 32)]
    connections: usize,
    /// Seconds each throughput measurement runs.
    #[arg(long, global = true, default_value_t = 5)]
    seconds: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Workload 1: file ingest into SQLite (and PostgreSQL), parse ceiling, DuckDB load.
    Ingest,
    /// Workload 2: HTTP ingest with 8 concurrent clients.
    HttpIngest,
    /// Workload 3: metric query latency at 1M/10M/100M stored events, and DuckDB's GROUP BY.
    Query,
    /// Workload 4: authenticated endpoints' throughput against /healthz.
    Throughput,
    /// All four workloads, in order.
    All,
    /// Re-render docs/BENCHMARKS.md from the saved sections without running anything.
    Report,
    /// (internal) the parse-only ceiling, run as a child process.
    #[command(hide = true)]
    ParseOnly {
        file: PathBuf,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

/// What every workload needs.
pub struct Ctx {
    pub work: PathBuf,
    pub seed: u64,
    pub events: u64,
    pub http_events: u64,
    pub max_events: u64,
    pub query_connections: usize,
    pub connections: usize,
    pub seconds: u64,
    /// The synthetic data's end: the start of today (UTC), so files are reused within a day.
    pub data_now: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub machine: Machine,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // The clock is read once, here.
    let now = SystemClock.now();
    let o = cli.opts;
    if let Cmd::ParseOnly { file, threads } = &cli.cmd {
        let r = parse::run(file, *threads, now)?;
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let ctx = Ctx {
        work: o.work_dir.clone(),
        seed: o.seed,
        events: o.events,
        http_events: o.http_events,
        max_events: o.max_events,
        query_connections: o.query_connections.max(1),
        connections: o.connections.max(1),
        seconds: o.seconds.max(1),
        data_now: now
            .duration_trunc(TimeDelta::days(1))
            .context("cannot truncate the clock to a day")?,
        now,
        machine: Machine::probe(now),
    };
    std::fs::create_dir_all(&ctx.work)?;
    println!(
        "mfalens-bench at {} on {} core(s), {}; load {}",
        ctx.machine.commit,
        ctx.machine.cores,
        ctx.machine.memory,
        machine::loadavg()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut failures = Vec::new();
    let mut step = |name: &str, r: Result<()>| {
        if let Err(e) = r {
            eprintln!("error in {name}: {e:#}");
            failures.push(name.to_string());
        }
    };
    match cli.cmd {
        Cmd::Ingest => step("ingest", ingest::run(&ctx)),
        Cmd::HttpIngest => step("http-ingest", rt.block_on(http_ingest::run(&ctx))),
        Cmd::Query => step("query", rt.block_on(query::run(&ctx))),
        Cmd::Throughput => step("throughput", rt.block_on(throughput::run(&ctx))),
        Cmd::All => {
            step("ingest", ingest::run(&ctx));
            step("http-ingest", rt.block_on(http_ingest::run(&ctx)));
            step("query", rt.block_on(query::run(&ctx)));
            step("throughput", rt.block_on(throughput::run(&ctx)));
        }
        Cmd::Report | Cmd::ParseOnly { .. } => {}
    }
    let analysis_path = PathBuf::from("bench/ANALYSIS.md");
    let analysis = std::fs::read_to_string(&analysis_path).ok();
    let md = report::render(&ctx.work, &ctx.machine, analysis.as_deref())?;
    if let Some(dir) = o.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&o.report, md)
        .with_context(|| format!("cannot write {}", o.report.display()))?;
    println!("wrote {}", o.report.display());
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("failed: {}", failures.join(", "))
    }
}
