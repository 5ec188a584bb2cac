//! `mfalens ingest signins|users FILE...`: streams files of any size into the database in
//! bounded memory, with a progress bar. A reader thread parses while the writer commits the
//! previous batch; each batch is one transaction.

use crate::cmd::serve::classify_config;
use crate::config::DbArgs;
use crate::files;
use crate::pipeline;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mfalens_core::classify::{ClassifyConfig, SignInFact};
use mfalens_core::ingest::{Rejection, TenantScope, parse_signin, parse_user};
use mfalens_core::records::{Item, Position, read_records};
use mfalens_server::clock::{Clock, SystemClock};
use mfalens_store::{IngestOutcome, Store, UpsertOutcome};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum IngestCommand {
    /// Sign-in events: Graph signIn objects (NDJSON or a {"value": [...]} page), Azure
    /// Monitor exports ({"records": [...]}) or Log Analytics rows; .gz accepted; - is stdin.
    Signins(IngestArgs),
    /// Directory users shaped like Graph userRegistrationDetails plus tenantId,
    /// accountEnabled and perUserMfaState; re-importing a user updates it.
    Users(IngestArgs),
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files to import, in order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Tenant for records that name none.
    #[arg(long)]
    pub tenant: Option<String>,
    /// All or nothing: check every file first and import nothing if any record is bad.
    #[arg(long)]
    pub strict: bool,
    /// Records per transaction. Larger batches write faster (a B-tree page is rewritten
    /// once per batch, not once per row) and hold more memory (three batches of about 400
    /// bytes per sign-in; the default keeps a whole import under 200 MB).
    #[arg(long, default_value_t = 50_000)]
    pub batch_size: usize,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Partner application ids (comma-separated) for sign-in classification.
    #[arg(long, env = "MFALENS_PARTNER_APP_IDS", value_delimiter = ',')]
    pub partner_app_ids: Vec<String>,
}

/// How many bad records are printed; all are counted.
const SHOWN_REJECTIONS: usize = 20;

#[derive(Default)]
struct Rejected {
    shown: Vec<(PathBuf, Rejection)>,
    total: u64,
}

impl Rejected {
    fn add(&mut self, file: &Path, r: Rejection) {
        self.total += 1;
        if self.shown.len() < SHOWN_REJECTIONS {
            self.shown.push((file.to_path_buf(), r));
        }
    }
    fn print(&self) {
        for (f, r) in &self.shown {
            eprintln!("  rejected {}: {r}", f.display());
        }
        if self.total as usize > self.shown.len() {
            eprintln!("  ... and {} more", self.total as usize - self.shown.len());
        }
    }
}

pub async fn run(c: IngestCommand) -> Result<()> {
    let (kind, a) = match c {
        IngestCommand::Signins(a) => (Kind::SignIns, a),
        IngestCommand::Users(a) => (Kind::Users, a),
    };
    let (url, file) = a.db.resolve()?;
    let classify = classify_config(&a.partner_app_ids, &file);
    let store = mfalens_store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", url.redacted()))?;
    let now = SystemClock.now();
    let scope = TenantScope {
        default_tenant: a.tenant.as_ref().map(|t| t.to_ascii_lowercase()),
        allowed: None,
    };
    let opts = Opts {
        kind,
        scope,
        classify,
        now,
        batch: a.batch_size.max(1),
        progress: !a.no_progress,
    };
    if a.strict {
        let mut rejected = Rejected::default();
        for f in &a.files {
            check_file(f, &opts, &mut rejected)?;
        }
        if rejected.total > 0 {
            rejected.print();
            bail!(
                "{} bad record(s); with --strict nothing was imported",
                rejected.total
            );
        }
    }
    let started = Instant::now();
    let mut total = Totals::default();
    let mut rejected = Rejected::default();
    for f in &a.files {
        ingest_file(f, &opts, store.clone(), &mut total, &mut rejected).await?;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let records = total.records();
    match kind {
        Kind::SignIns => println!(
            "sign-ins: {} accepted, {} duplicates, {} expired (older than 30 days), {} rejected in {:.1}s ({:.0} records/s) into {}",
            total.signins.accepted,
            total.signins.duplicates,
            total.signins.expired,
            rejected.total,
            secs,
            records as f64 / secs,
            url.redacted()
        ),
        Kind::Users => println!(
            "users: {} inserted, {} updated, {} rejected in {:.1}s into {}",
            total.users.inserted,
            total.users.updated,
            rejected.total,
            secs,
            url.redacted()
        ),
    }
    rejected.print();
    if kind == Kind::SignIns {
        store.prune(now).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SignIns,
    Users,
}

struct Opts {
    kind: Kind,
    scope: TenantScope,
    classify: ClassifyConfig,
    now: chrono::DateTime<chrono::Utc>,
    batch: usize,
    progress: bool,
}

#[derive(Default)]
struct Totals {
    signins: IngestOutcome,
    users: UpsertOutcome,
}

impl Totals {
    fn records(&self) -> u64 {
        self.signins.accepted
            + self.signins.duplicates
            + self.signins.expired
            + self.users.inserted
            + self.users.updated
    }
}

enum Batch {
    SignIns(Vec<mfalens_core::classify::SignInFact>),
    Users(Vec<mfalens_core::directory::DirectoryUser>),
}

enum Parsed {
    SignIn(mfalens_core::classify::SignInFact),
    User(mfalens_core::directory::DirectoryUser),
}

fn parse(opts: &Opts, pos: Position, item: Item<'_>) -> Result<Parsed, Rejection> {
    match opts.kind {
        Kind::SignIns => {
            parse_signin(pos, item, &opts.scope, &opts.classify, opts.now).map(Parsed::SignIn)
        }
        Kind::Users => parse_user(pos, item, &opts.scope, opts.now).map(Parsed::User),
    }
}

fn progress_bar(path: &Path, opts: &Opts) -> ProgressBar {
    let pb = match files::size_of(path) {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if !opts.progress {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg} (eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(path.display().to_string());
    pb
}

fn check_file(path: &Path, opts: &Opts, rejected: &mut Rejected) -> Result<()> {
    let reader = files::decoded(BufReader::with_capacity(1 << 20, files::open_raw(path)?))?;
    read_records(reader, &mut |pos, item| {
        if let Err(r) = parse(opts, pos, item) {
            rejected.add(path, r);
        }
        Ok(())
    })
    .with_context(|| format!("{} cannot be read", path.display()))
}

/// NDJSON sign-ins: parsed on every core (see `pipeline`), batches sent as they fill.
fn parse_signins_parallel(
    mut reader: Box<dyn std::io::BufRead + Send>,
    opts: &Opts,
    path: &Path,
    send: &(dyn Fn(Batch) -> Result<(), String> + Sync),
) -> Result<Rejected> {
    let parsers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parse = |pos: Position, item: Item<'_>| {
        parse_signin(pos, item, &opts.scope, &opts.classify, opts.now)
    };
    let send_facts = |b: Vec<SignInFact>| send(Batch::SignIns(b));
    let bad = pipeline::parse_parallel(
        &mut reader,
        parsers,
        opts.batch,
        SHOWN_REJECTIONS,
        &parse,
        &send_facts,
    )
    .with_context(|| format!("{} cannot be read", path.display()))?;
    let mut rejected = Rejected::default();
    for r in bad.first {
        rejected.add(path, r);
    }
    rejected.total = bad.total;
    Ok(rejected)
}

async fn ingest_file(
    path: &Path,
    opts: &Opts,
    store: Arc<dyn Store>,
    total: &mut Totals,
    rejected: &mut Rejected,
) -> Result<()> {
    let pb = progress_bar(path, opts);
    let raw = pb.wrap_read(files::open_raw(path)?);
    let reader = files::decoded(BufReader::with_capacity(1 << 20, raw))?;
    // One batch queued, one being written, one filling: bounded memory whatever the file size.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let path_buf = path.to_path_buf();
    let opts_batch = opts.batch;
    let parse_opts = Opts {
        kind: opts.kind,
        scope: opts.scope.clone(),
        classify: opts.classify.clone(),
        now: opts.now,
        batch: opts.batch,
        progress: opts.progress,
    };
    let reader_task = tokio::task::spawn_blocking(move || -> Result<Rejected> {
        let mut reader = reader;
        let send = |b: Batch| {
            tx.blocking_send(b)
                .map_err(|_| "the writer stopped".to_string())
        };
        if parse_opts.kind == Kind::SignIns
            && mfalens_core::records::is_ndjson(&mut reader).unwrap_or(false)
        {
            return parse_signins_parallel(reader, &parse_opts, &path_buf, &send);
        }
        let mut bad = Rejected::default();
        let mut signins = Vec::with_capacity(opts_batch);
        let mut users = Vec::new();
        read_records(reader, &mut |pos, item| {
            match parse(&parse_opts, pos, item) {
                Ok(Parsed::SignIn(f)) => {
                    signins.push(f);
                    if signins.len() >= opts_batch {
                        send(Batch::SignIns(std::mem::replace(
                            &mut signins,
                            Vec::with_capacity(opts_batch),
                        )))?;
                    }
                }
                Ok(Parsed::User(u)) => {
                    users.push(u);
                    if users.len() >= opts_batch {
                        send(Batch::Users(std::mem::take(&mut users)))?;
                    }
                }
                Err(r) => bad.add(&path_buf, r),
            }
            Ok(())
        })
        .with_context(|| format!("{} cannot be read", path_buf.display()))?;
        if !signins.is_empty() {
            send(Batch::SignIns(signins)).map_err(anyhow::Error::msg)?;
        }
        if !users.is_empty() {
            send(Batch::Users(users)).map_err(anyhow::Error::msg)?;
        }
        Ok(bad)
    });
    let started = Instant::now();
    let mut n: u64 = 0;
    while let Some(batch) = rx.recv().await {
        match batch {
            Batch::SignIns(b) => {
                n += b.len() as u64;
                total.signins += store.ingest_signins(b, opts.now).await?;
            }
            Batch::Users(b) => {
                n += b.len() as u64;
                total.users += store.upsert_users(b).await?;
            }
        }
        let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
        pb.set_message(format!("{n} records, {rate:.0}/s"));
    }
    let bad = reader_task.await.context("the reader thread failed")??;
    pb.finish_and_clear();
    for (f, r) in bad.shown {
        if rejected.shown.len() < SHOWN_REJECTIONS {
            rejected.shown.push((f, r));
        }
    }
    rejected.total += bad.total;
    Ok(())
}
