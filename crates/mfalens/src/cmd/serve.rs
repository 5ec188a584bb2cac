//! `mfalens serve`: the HTTP service.

use crate::config::{DEFAULT_LISTEN, DbArgs, FileConfig, key_dir, parse_listen};
use anyhow::{Context, Result, bail};
use clap::Args;
use mfalens_core::classify::ClassifyConfig;
use mfalens_server::auth::keysource::http_client;
use mfalens_server::auth::local::LocalKey;
use mfalens_server::auth::trust::{IssuerConfig, refresh_all};
use mfalens_server::auth::verify::{Audiences, DEFAULT_CACHE_ENTRIES, Verifier};
use mfalens_server::clock::{Clock, SystemClock};
use mfalens_server::{AppState, MfaEnforcement, ServerConfig};
use mfalens_store::{DatabaseUrl, Store};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub opts: ServiceOptions,
}

/// Options of the running service (shared by `serve` and `demo`).
#[derive(Args, Debug, Clone, Default)]
pub struct ServiceOptions {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "MFALENS_LISTEN")]
    pub listen: Option<String>,
    /// External base URL used in @odata.context and nextLink (default: from the Host header).
    #[arg(long, env = "MFALENS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Partner Center calls with a non-MFA App+User token: enforce (record, answer 401
    /// 900421; the default, as Partner Center does) or report (record and serve).
    #[arg(long, env = "MFALENS_PARTNER_MFA", value_parser = ["enforce", "report"])]
    pub partner_mfa: Option<String>,
    /// Largest accepted request body, in bytes, after decompression (default 64 MiB).
    #[arg(long, env = "MFALENS_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Directory of the local signing key (default: beside the SQLite database).
    #[arg(long, env = "MFALENS_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Application ids whose sign-ins count as partner (Partner Center) sign-ins,
    /// comma-separated (default: the Partner Center portal and API apps).
    #[arg(long, env = "MFALENS_PARTNER_APP_IDS", value_delimiter = ',')]
    pub partner_app_ids: Vec<String>,
    /// Also trust tokens of ISSUER signed by a key of the JWK set in PATH (repeatable;
    /// `[[trusted_issuers]]` in the config file also takes JWKS URLs and OIDC discovery).
    #[arg(
        long,
        value_name = "ISSUER=PATH",
        env = "MFALENS_TRUST_JWKS",
        value_delimiter = ','
    )]
    pub trust_jwks: Vec<String>,
    /// Tolerance for token `exp`/`nbf`, in seconds (default 60).
    #[arg(long, env = "MFALENS_CLOCK_SKEW_SECS")]
    pub clock_skew_secs: Option<i64>,
    /// Verified tokens remembered until they expire (default 10000; 0 disables the cache).
    #[arg(long, env = "MFALENS_TOKEN_CACHE_ENTRIES")]
    pub token_cache_entries: Option<usize>,
}

pub struct Service {
    pub state: AppState,
    pub listen: std::net::SocketAddr,
    pub url: DatabaseUrl,
}

pub fn classify_config(cli: &[String], file: &FileConfig) -> ClassifyConfig {
    let ids: Vec<String> = if !cli.is_empty() {
        cli.to_vec()
    } else {
        file.partner_app_ids.clone().unwrap_or_default()
    };
    if ids.is_empty() {
        ClassifyConfig::default()
    } else {
        ClassifyConfig::with_partner_apps(ids.iter().map(String::as_str))
    }
}

/// Opens the store and builds the service state from layered configuration.
pub async fn build(
    db: &DbArgs,
    o: &ServiceOptions,
    store: Option<Arc<dyn Store>>,
) -> Result<Service> {
    let (url, file) = db.resolve()?;
    let listen = parse_listen(
        o.listen
            .as_deref()
            .or(file.listen.as_deref())
            .unwrap_or(DEFAULT_LISTEN),
    )?;
    let partner_mfa = match o
        .partner_mfa
        .as_deref()
        .or(file.partner_mfa.as_deref())
        .unwrap_or("enforce")
    {
        "enforce" => MfaEnforcement::Enforce,
        "report" => MfaEnforcement::Report,
        other => bail!("partner_mfa must be 'enforce' or 'report', not '{other}'"),
    };
    let store = match store {
        Some(s) => s,
        None => mfalens_store::open(&url)
            .await
            .with_context(|| format!("cannot open database {}", url.redacted()))?,
    };
    let dir = key_dir(&url, o.key_dir.as_deref().or(file.key_dir.as_deref()));
    let key = LocalKey::load_or_create(&dir)?;
    let verifier = verifier(&key, o, &file)?;
    let config = ServerConfig {
        public_base_url: o.public_url.clone().or(file.public_url.clone()),
        max_body_bytes: o
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(ServerConfig::default().max_body_bytes),
        partner_mfa,
    };
    let classify = classify_config(&o.partner_app_ids, &file);
    let state = AppState::new(
        store,
        Arc::new(verifier),
        Arc::new(SystemClock),
        config,
        classify,
    );
    Ok(Service { state, listen, url })
}

/// The token verifier from layered configuration: the local key, then the file's
/// `[[trusted_issuers]]`, then `--trust-jwks` flags.
pub fn verifier(key: &LocalKey, o: &ServiceOptions, file: &FileConfig) -> Result<Verifier> {
    let audiences = file
        .audiences
        .clone()
        .unwrap_or_default()
        .over(&Audiences::default());
    let skew = o.clock_skew_secs.or(file.clock_skew_secs).unwrap_or(60);
    if !(0..=600).contains(&skew) {
        bail!("clock_skew_secs must be between 0 and 600 seconds, not {skew}");
    }
    let cache = o
        .token_cache_entries
        .or(file.token_cache_entries)
        .unwrap_or(DEFAULT_CACHE_ENTRIES);
    let mut configs = file.trusted_issuers.clone().unwrap_or_default();
    for flag in &o.trust_jwks {
        configs.push(IssuerConfig::from_flag(flag)?);
    }
    let http = http_client();
    let now = SystemClock.now().timestamp();
    let mut issuers = vec![key.trusted_issuer()?];
    for c in &configs {
        if issuers.iter().any(|i| i.issuer == c.issuer) {
            bail!(
                "trusted issuer '{}' is configured twice (or is the local issuer); keep one entry",
                c.issuer
            );
        }
        let issuer = c.build(&audiences, &http, now)?;
        if let Some(src) = issuer.source() {
            tracing::info!(issuer = %c.issuer, keys = %src.location(), "trusting issuer");
        }
        issuers.push(issuer);
    }
    Ok(Verifier::new(issuers, audiences, skew).with_cache(cache))
}

pub async fn run(a: ServeArgs) -> Result<()> {
    let svc = build(&a.db, &a.opts, None).await?;
    serve(svc).await
}

pub async fn serve(svc: Service) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(svc.listen)
        .await
        .with_context(|| format!("cannot listen on {}", svc.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(database = %svc.url.redacted(), backend = svc.state.store().backend(), "store ready");
    // Tests and scripts wait for this line instead of sleeping.
    println!("mfalens listening on http://{addr}");
    let pruner = spawn_pruner(svc.state.clone());
    let keys = spawn_key_refresher(svc.state.clone());
    mfalens_server::serve(listener, svc.state, shutdown_signal()).await?;
    pruner.abort();
    keys.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Drops data past retention once at start and then hourly.
fn spawn_pruner(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match state.store().prune(SystemClock.now()).await {
                Ok(p) if p.signins + p.rollup_minutes + p.evidence > 0 => tracing::info!(
                    signins = p.signins,
                    rollup_minutes = p.rollup_minutes,
                    evidence = p.evidence,
                    "pruned data past retention"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "prune failed; will retry"),
            }
        }
    })
}

/// Loads remote issuers' keys at start (so the first request need not wait) and every six
/// hours (so keys an issuer withdrew stop being trusted); unknown `kid`s refresh on demand.
fn spawn_key_refresher(state: AppState) -> tokio::task::JoinHandle<()> {
    let issuers = state.verifier().issuers().to_vec();
    tokio::spawn(async move {
        if issuers.iter().all(|i| i.source().is_none()) {
            return;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
        loop {
            tick.tick().await;
            refresh_all(&issuers, SystemClock.now().timestamp()).await;
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_takes_flags_after_the_file_and_refuses_duplicates_and_wild_skews() {
        let key = LocalKey::from_pem(&LocalKey::generate_pem().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let jwks = dir.path().join("keys.json");
        std::fs::write(&jwks, key.jwks().to_string()).unwrap();
        let flag = format!("https://idp.example/realms/a={}", jwks.display());
        let o = ServiceOptions {
            trust_jwks: vec![flag.clone()],
            token_cache_entries: Some(0),
            ..ServiceOptions::default()
        };
        let file: FileConfig = toml::from_str(&format!(
            "[[trusted_issuers]]\nissuer = \"https://idp.example/realms/b\"\njwks_file = \"{}\"\n",
            jwks.display()
        ))
        .unwrap();
        let v = verifier(&key, &o, &file).unwrap();
        let names: Vec<&str> = v.issuers().iter().map(|i| i.issuer.as_str()).collect();
        assert_eq!(
            names,
            [
                mfalens_server::auth::local::LOCAL_ISSUER,
                "https://idp.example/realms/b",
                "https://idp.example/realms/a"
            ]
        );
        assert_eq!(v.cache().capacity(), 0);

        let twice = ServiceOptions {
            trust_jwks: vec![flag.clone(), flag],
            ..ServiceOptions::default()
        };
        let e = verifier(&key, &twice, &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("configured twice"), "{e}");
        let skew = ServiceOptions {
            clock_skew_secs: Some(3600),
            ..ServiceOptions::default()
        };
        assert!(verifier(&key, &skew, &FileConfig::default()).is_err());
        let bad = ServiceOptions {
            trust_jwks: vec!["https://idp.example/realms/c=/nonexistent.json".into()],
            ..ServiceOptions::default()
        };
        let e = verifier(&key, &bad, &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("cannot read the JWKS file"), "{e}");
    }
}
