//! Configuration in layers: defaults, then a TOML file, then `MFALENS_*` environment
//! variables, then flags. Unknown keys in the file are refused with the key's name.

use anyhow::{Context, Result, bail};
use clap::Args;
use mfalens_server::auth::trust::{AudienceConfig, IssuerConfig};
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
    /// max_body_bytes, key_dir, partner_app_ids, clock_skew_secs, token_cache_entries,
    /// [audiences], [[trusted_issuers]]).
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
    /// Tolerance for `exp`/`nbf`, in seconds (default 60).
    pub clock_skew_secs: Option<i64>,
    /// Verified tokens remembered until they expire (default 10000; 0 disables).
    pub token_cache_entries: Option<usize>,
    /// Audiences accepted per API family, replacing the defaults family by family.
    pub audiences: Option<AudienceConfig>,
    /// Issuers trusted besides the local key: JWKS files, JWKS URLs, OIDC discovery.
    pub trusted_issuers: Option<Vec<IssuerConfig>>,
}

pub const KNOWN_KEYS: &str = "listen, database, public_url, partner_mfa, max_body_bytes, key_dir, partner_app_ids, clock_skew_secs, token_cache_entries, [audiences] (graph, partner_center, ingest), [[trusted_issuers]] (issuer, jwks_file | jwks_url | discovery_url, audiences, tenants, tenant_list_claim, min_refresh_secs)";

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut cfg: FileConfig = toml::from_str(&text).with_context(|| {
            format!(
                "config file {} is invalid (known keys: {KNOWN_KEYS})",
                path.display()
            )
        })?;
        // JWKS files named in the file are relative to the file, not to the working directory.
        if let Some(dir) = path.parent() {
            for i in cfg.trusted_issuers.iter_mut().flatten() {
                if let Some(p) = &i.jwks_file
                    && p.is_relative()
                {
                    i.jwks_file = Some(dir.join(p));
                }
            }
        }
        Ok(cfg)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_issuers_in_the_file_with_paths_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfalens.toml");
        std::fs::write(
            &path,
            r#"
clock_skew_secs = 30
token_cache_entries = 500
[audiences]
ingest = ["api://mfalens-prod"]

[[trusted_issuers]]
issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
discovery_url = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
tenants = ["aaaaaaaa-0000-0000-0000-00000000000a"]
audiences = { graph = ["api://mfalens-graph"] }

[[trusted_issuers]]
issuer = "https://keycloak.example/realms/acme"
jwks_file = "acme-jwks.json"
"#,
        )
        .unwrap();
        let c = FileConfig::load(Some(&path)).unwrap();
        assert_eq!(c.clock_skew_secs, Some(30));
        let issuers = c.trusted_issuers.unwrap();
        assert_eq!(issuers.len(), 2);
        assert_eq!(
            issuers[1].jwks_file,
            Some(dir.path().join("acme-jwks.json"))
        );
        assert_eq!(
            c.audiences.unwrap().ingest,
            Some(vec!["api://mfalens-prod".to_string()])
        );

        std::fs::write(&path, "[[trusted_issuers]]\nissuer = \"x\"\njwks = \"y\"\n").unwrap();
        let e = format!("{:#}", FileConfig::load(Some(&path)).unwrap_err());
        assert!(e.contains("unknown field `jwks`"), "{e}");
        assert!(e.contains("jwks_file | jwks_url | discovery_url"), "{e}");
    }
}
