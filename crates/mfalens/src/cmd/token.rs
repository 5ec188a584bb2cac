//! `mfalens token`: mint a bearer token with this installation's local key.

use crate::config::{DbArgs, key_dir};
use anyhow::{Result, bail};
use clap::Args;
use mfalens_server::auth::local::{LocalKey, TokenSpec};
use mfalens_server::auth::policy::role_by_name_or_id;
use mfalens_server::auth::verify::{GRAPH_AUDIENCES, INGEST_AUDIENCES, PARTNER_CENTER_AUDIENCES};
use mfalens_server::clock::{Clock, SystemClock};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Directory of the local signing key (default: beside the SQLite database).
    #[arg(long, env = "MFALENS_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Tenant id (`tid`). Repeat to let an ingest token write several tenants.
    #[arg(long, required = true)]
    pub tenant: Vec<String>,
    /// The user's (or, for app tokens, the service principal's) object id (`oid`).
    #[arg(long, default_value = "00000000-0000-0000-0000-0000000000aa")]
    pub user: String,
    /// User principal name (`upn`).
    #[arg(long)]
    pub upn: Option<String>,
    /// Delegated scopes, space-separated (`scp`), e.g. "Reports.Read.All Policy.Read.All".
    #[arg(long)]
    pub scope: Option<String>,
    /// Application role (`roles`); makes an application (app-only) token. Repeatable.
    #[arg(long)]
    pub app_role: Vec<String>,
    /// Directory role by name ("Reports Reader") or template id (`wids`). Repeatable.
    #[arg(long)]
    pub directory_role: Vec<String>,
    /// Carry MFA evidence (`amr` includes "mfa"; the default for delegated tokens).
    #[arg(long, conflicts_with = "no_mfa")]
    pub mfa: bool,
    /// No MFA evidence (`amr` is ["pwd"]).
    #[arg(long)]
    pub no_mfa: bool,
    /// Audience: graph, partner, ingest, or any URI.
    #[arg(long, default_value = "graph")]
    pub audience: String,
    /// Client application id (`appid`/`azp`).
    #[arg(long, default_value = "04b07795-8ddb-461a-bbee-02f9e1bf7b46")]
    pub app_id: String,
    /// Lifetime, e.g. 3600s, 90m, 8h.
    #[arg(long, default_value = "8h")]
    pub lifetime: String,
}

fn lifetime(s: &str) -> Result<chrono::Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--lifetime '{s}': expected e.g. 3600s, 90m, 8h"))?;
    Ok(match unit {
        "" | "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => bail!("--lifetime '{s}': unit must be s, m, h or d"),
    })
}

pub fn audience(s: &str) -> String {
    match s {
        "graph" => GRAPH_AUDIENCES[0].to_string(),
        "partner" | "partner-center" => PARTNER_CENTER_AUDIENCES[0].to_string(),
        "ingest" => INGEST_AUDIENCES[0].to_string(),
        other => other.to_string(),
    }
}

pub fn spec(a: &TokenArgs) -> Result<TokenSpec> {
    let mut roles = Vec::new();
    for r in &a.directory_role {
        match role_by_name_or_id(r) {
            Some(role) => roles.push(role.template_id.to_string()),
            None if uuid_like(r) => roles.push(r.to_ascii_lowercase()),
            None => bail!("--directory-role '{r}' is neither a known role name nor a template id"),
        }
    }
    let scopes: Vec<String> = a
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() && a.app_role.is_empty() {
        bail!("give --scope (a delegated token) or --app-role (an application token)");
    }
    if !scopes.is_empty() && !a.app_role.is_empty() {
        bail!("--scope and --app-role exclude each other: a token is delegated or application");
    }
    let (tenant, extra) = a
        .tenant
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("--tenant is required"))?;
    Ok(TokenSpec {
        tenant_id: tenant.to_ascii_lowercase(),
        extra_tenants: extra.iter().map(|t| t.to_ascii_lowercase()).collect(),
        object_id: a.user.to_ascii_lowercase(),
        upn: a.upn.clone(),
        scopes,
        app_roles: a.app_role.clone(),
        directory_roles: roles,
        mfa: !a.no_mfa,
        audience: audience(&a.audience),
        app_id: a.app_id.clone(),
        lifetime: lifetime(&a.lifetime)?,
    })
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

pub async fn run(a: TokenArgs) -> Result<()> {
    let (url, file) = a.db.resolve()?;
    let dir = key_dir(&url, a.key_dir.as_deref().or(file.key_dir.as_deref()));
    let key = LocalKey::load_or_create(&dir)?;
    let s = spec(&a)?;
    let token = s.mint(&key, SystemClock.now())?;
    eprintln!(
        "{} token for tenant {} ({}), audience {}, MFA: {}, valid {}",
        if s.is_application() {
            "application"
        } else {
            "delegated"
        },
        s.tenant_id,
        s.upn.as_deref().unwrap_or(&s.object_id),
        s.audience,
        if s.is_application() {
            "n/a"
        } else if s.mfa {
            "yes"
        } else {
            "no"
        },
        a.lifetime
    );
    println!("{token}");
    Ok(())
}
