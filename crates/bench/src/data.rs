//! The benchmark input: what `mfalens generate` writes (the same `mfalens_core::synth` code,
//! the same seed), as NDJSON Graph `signIn` objects of about 1 KB. Cached under the work
//! directory by seed, size and day.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use mfalens_core::synth::{SynthConfig, organisation, signins};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const TENANTS: usize = 3;
pub const USERS_PER_TENANT: usize = 2000;
/// 29 days before `now` (the start of today, UTC): every event stays inside the 30-day
/// retention window for the whole day the file is made, so nothing is skipped as expired.
pub const DAYS: i64 = 29;

pub fn config(seed: u64, signins: u64, now: DateTime<Utc>) -> SynthConfig {
    SynthConfig {
        seed,
        tenants: TENANTS,
        users_per_tenant: USERS_PER_TENANT,
        days: DAYS,
        signins,
        now,
    }
}

/// The equivalent `mfalens generate` command line, for the report.
pub fn generate_command(seed: u64, signins: u64, now: DateTime<Utc>) -> String {
    format!(
        "mfalens generate --seed {seed} --tenants {TENANTS} --users {USERS_PER_TENANT} --days {DAYS} --signins {signins} --now {}",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// Writes (or reuses) the sign-in file; returns its path and size in bytes.
pub fn signin_file(dir: &Path, cfg: &SynthConfig) -> Result<(PathBuf, u64)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!(
        "signins-s{}-n{}-{}.ndjson",
        cfg.seed,
        cfg.signins,
        cfg.now.format("%Y%m%dT%H%M")
    ));
    if let Ok(m) = std::fs::metadata(&path) {
        return Ok((path, m.len()));
    }
    println!(
        "generating {} sign-ins into {} ...",
        cfg.signins,
        path.display()
    );
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let org = organisation(cfg);
    for ev in signins(cfg, &org) {
        serde_json::to_writer(&mut w, &ev)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, &path)?;
    let len = std::fs::metadata(&path)?.len();
    Ok((path, len))
}

/// The tenant ids the synthetic organisation uses (tenant 0 is the partner tenant).
pub fn tenant_ids(cfg: &SynthConfig) -> Vec<String> {
    organisation(cfg).into_iter().map(|t| t.id).collect()
}
