//! Configuration in layers: defaults, then a TOML file, then `MFALENS_*` environment
//! variables, then flags. Unknown keys in the file are refused with the key's name.

use anyhow::{Context, Result, bail};
use clap::Args;
use mfalens_store::DatabaseUrl;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE: &str = "sqlite://./mfalens-data/mfalens.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Options shared by every command that touches data.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB.
    #[arg(long, env = "MFALENS_DATABASE")]
    pub database: Option<String>,
    /// A TOML configuration file (keys: listen, database, public_url, partner_mfa,
    /// max_body_bytes, key_dir, partner_app_ids).
    #[arg(long, env = "MFALENS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub partner_mfa: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub key_dir: Option<PathBuf>,
    pub partner_app_ids: Option<Vec<String>>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| {
            format!(
                "config file {} is invalid (known keys: listen, database, public_url, partner_mfa, max_body_bytes, key_dir, partner_app_ids)",
                path.display()
            )
        })
    }
}

impl DbArgs {
    pub fn resolve(&self) -> Result<(DatabaseUrl, FileConfig)> {
        let file = FileConfig::load(self.config.as_deref())?;
        let raw = self
            .database
            .clone()
            .or_else(|| file.database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let url = DatabaseUrl::parse(&raw).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((url, file))
    }
}

/// Where the local signing key lives: the configured key dir, else beside a SQLite
/// database, else `./mfalens-data`.
pub fn key_dir(url: &DatabaseUrl, explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| url.data_dir())
        .unwrap_or_else(|| PathBuf::from("./mfalens-data"))
}

pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr> {
    match s.parse() {
        Ok(a) => Ok(a),
        Err(_) => bail!("--listen '{s}' is not an address like 127.0.0.1:8080 or [::1]:8080"),
    }
}
