//! `mfalens generate`: a deterministic synthetic organisation as import files.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mfalens_core::synth::{SynthConfig, organisation, signins, user_record};
use mfalens_core::time::parse_datetime;
use mfalens_server::clock::{Clock, SystemClock};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Seed: the same seed and --now always give the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of tenants (the first one is a Partner Center partner tenant).
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Users per tenant.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Sign-ins in total, spread over the last --days days.
    #[arg(long, default_value_t = 100_000)]
    pub signins: u64,
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// The instant the data ends at (RFC 3339; default: now).
    #[arg(long)]
    pub now: Option<String>,
    /// Output directory (created if missing).
    #[arg(long, default_value = "./mfalens-data/generated")]
    pub out: PathBuf,
    /// Write signins.ndjson.gz instead of signins.ndjson.
    #[arg(long)]
    pub gzip: bool,
}

pub fn config(a: &GenerateArgs) -> Result<SynthConfig> {
    let now = match &a.now {
        Some(s) => parse_datetime(s).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
        None => SystemClock.now(),
    };
    Ok(SynthConfig {
        seed: a.seed,
        tenants: a.tenants.max(1),
        users_per_tenant: a.users,
        days: a.days.clamp(1, 30),
        signins: a.signins,
        now,
    })
}

pub fn run(a: GenerateArgs) -> Result<()> {
    let cfg = config(&a)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let org = organisation(&cfg);
    let users_path = a.out.join("users.ndjson");
    let mut w = BufWriter::new(create(&users_path)?);
    for t in &org {
        for u in &t.users {
            serde_json::to_writer(&mut w, &user_record(t, u))?;
            w.write_all(b"\n")?;
        }
    }
    w.flush()?;
    let tenants: Vec<_> = org
        .iter()
        .map(|t| serde_json::json!({"tenantId": t.id, "domain": t.domain, "isPartner": t.is_partner, "users": t.users.len()}))
        .collect();
    std::fs::write(
        a.out.join("tenants.json"),
        serde_json::to_vec_pretty(&tenants)?,
    )?;

    let name = if a.gzip {
        "signins.ndjson.gz"
    } else {
        "signins.ndjson"
    };
    let signins_path = a.out.join(name);
    let file = BufWriter::with_capacity(1 << 20, create(&signins_path)?);
    let mut w: Box<dyn Write> = if a.gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    let pb = ProgressBar::new(cfg.signins);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} generating sign-ins [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    for (i, ev) in signins(&cfg, &org).enumerate() {
        serde_json::to_writer(&mut w, &ev)?;
        w.write_all(b"\n")?;
        if i % 10_000 == 0 {
            pb.set_position(i as u64);
        }
    }
    w.flush()?;
    drop(w);
    pb.finish_and_clear();
    println!(
        "wrote {} users to {}, {} sign-ins to {}, tenants to {}",
        org.iter().map(|t| t.users.len()).sum::<usize>(),
        users_path.display(),
        cfg.signins,
        signins_path.display(),
        a.out.join("tenants.json").display()
    );
    Ok(())
}

fn create(p: &Path) -> Result<File> {
    File::create(p).with_context(|| format!("cannot create {}", p.display()))
}
