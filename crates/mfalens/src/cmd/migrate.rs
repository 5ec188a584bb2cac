//! `mfalens migrate`: create or upgrade the schema and exit.

use crate::config::DbArgs;
use anyhow::{Context, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

pub async fn run(a: MigrateArgs) -> Result<()> {
    let (url, _) = a.db.resolve()?;
    let store = mfalens_store::open(&url)
        .await
        .with_context(|| format!("cannot migrate {}", url.redacted()))?;
    println!(
        "{} database {} is up to date",
        store.backend(),
        url.redacted()
    );
    Ok(())
}
