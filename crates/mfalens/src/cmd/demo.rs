//! `mfalens demo`: a synthetic organisation, loaded and served, with ready tokens and calls.

use crate::cmd::serve::{ServiceOptions, build, serve};
use crate::config::{DbArgs, key_dir};
use anyhow::{Context, Result};
use chrono::{Duration, DurationRound};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mfalens_core::ingest::{TenantScope, parse_signin, parse_user};
use mfalens_core::records::Position;
use mfalens_core::synth::{SynthConfig, SynthTenant, organisation, signins, user_record};
use mfalens_server::auth::local::{LocalKey, TokenSpec};
use mfalens_server::auth::policy::{GLOBAL_ADMINISTRATOR, REPORTS_READER};
use mfalens_server::auth::verify::{GRAPH_AUDIENCES, INGEST_AUDIENCES, PARTNER_CENTER_AUDIENCES};
use mfalens_store::DatabaseUrl;

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub opts: ServiceOptions,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Users per tenant.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    /// Sign-ins over the last 30 days, in total.
    #[arg(long, default_value_t = 200_000)]
    pub signins: u64,
    /// Start from an empty database (deletes the SQLite file first).
    #[arg(long)]
    pub fresh: bool,
    /// Load and print, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

pub async fn run(a: DemoArgs) -> Result<()> {
    let (url, _) = a.db.resolve()?;
    if a.fresh
        && let DatabaseUrl::Sqlite(p) = &url
    {
        for suffix in ["", "-wal", "-shm"] {
            let f = format!("{}{suffix}", p.display());
            let _ = std::fs::remove_file(&f);
        }
    }
    let svc = build(&a.db, &a.opts, None).await?;
    let now = svc.state.now();
    let cfg = SynthConfig {
        seed: a.seed,
        tenants: a.tenants.max(1),
        users_per_tenant: a.users.max(1),
        days: 30,
        signins: a.signins,
        now,
    };
    let org = organisation(&cfg);
    load(&svc.state, &cfg, &org).await?;
    let key = LocalKey::load_or_create(&key_dir(&url, a.opts.key_dir.as_deref()))?;
    print_guide(&org, &key, now, &svc.listen.to_string())?;
    if a.no_serve {
        return Ok(());
    }
    serve(svc).await
}

async fn load(st: &mfalens_server::AppState, cfg: &SynthConfig, org: &[SynthTenant]) -> Result<()> {
    let store = st.store();
    let scope = TenantScope::default();
    let mut users = Vec::new();
    for t in org {
        for u in &t.users {
            let rec = serde_json::to_vec(&user_record(t, u))?;
            let pos = Position {
                line: users.len() as u64 + 1,
                index: None,
            };
            users.push(
                parse_user(pos, Ok(&rec), &scope, cfg.now).map_err(|r| anyhow::anyhow!("{r}"))?,
            );
        }
    }
    let n_users = users.len();
    store.upsert_users(users).await?;
    let before = store.counts(None).await?.signins;
    if before > 0 {
        eprintln!(
            "database already holds {before} sign-ins; loaded {n_users} directory users (use --fresh to start over)"
        );
        return Ok(());
    }
    let pb = ProgressBar::new(cfg.signins);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} loading sign-ins [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut batch = Vec::with_capacity(50_000);
    let mut outcome = mfalens_store::IngestOutcome::default();
    for (i, ev) in signins(cfg, org).enumerate() {
        let bytes = serde_json::to_vec(&ev)?;
        let pos = Position {
            line: i as u64 + 1,
            index: None,
        };
        batch.push(
            parse_signin(pos, Ok(&bytes), &scope, st.classify(), cfg.now)
                .map_err(|r| anyhow::anyhow!("{r}"))?,
        );
        if batch.len() == 50_000 {
            outcome += store
                .ingest_signins(std::mem::take(&mut batch), cfg.now)
                .await?;
            pb.set_position(i as u64 + 1);
        }
    }
    outcome += store.ingest_signins(batch, cfg.now).await?;
    pb.finish_and_clear();
    eprintln!(
        "loaded {} tenants, {n_users} users, {} sign-ins (30 days)",
        org.len(),
        outcome.accepted
    );
    Ok(())
}

fn print_guide(
    org: &[SynthTenant],
    key: &LocalKey,
    now: chrono::DateTime<chrono::Utc>,
    listen: &str,
) -> Result<()> {
    let partner = org.first().context("the demo organisation has no tenant")?;
    let admin = partner
        .users
        .iter()
        .find(|u| u.admin && u.enabled)
        .or(partner.users.first())
        .context("the demo tenant has no users")?;
    let other = partner
        .users
        .iter()
        .find(|u| u.id != admin.id)
        .unwrap_or(admin);
    let lifetime = Duration::hours(12);
    let graph = TokenSpec {
        tenant_id: partner.id.clone(),
        object_id: admin.id.clone(),
        upn: Some(admin.upn.clone()),
        scopes: "Reports.Read.All AuditLog.Read.All UserAuthenticationMethod.ReadWrite.All Policy.ReadWrite.AuthenticationMethod"
            .split(' ').map(str::to_string).collect(),
        directory_roles: vec![GLOBAL_ADMINISTRATOR.template_id.into(), REPORTS_READER.template_id.into()],
        mfa: true,
        audience: GRAPH_AUDIENCES[0].into(),
        app_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
        lifetime,
        ..TokenSpec::default()
    }
    .mint(key, now)?;
    let pc = TokenSpec {
        tenant_id: partner.id.clone(),
        object_id: admin.id.clone(),
        upn: Some(admin.upn.clone()),
        scopes: vec!["user_impersonation".into()],
        mfa: true,
        audience: PARTNER_CENTER_AUDIENCES[0].into(),
        app_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
        lifetime,
        ..TokenSpec::default()
    }
    .mint(key, now)?;
    let ingest = TokenSpec {
        tenant_id: partner.id.clone(),
        extra_tenants: org.iter().skip(1).map(|t| t.id.clone()).collect(),
        object_id: "00000000-0000-0000-0000-00000000beef".into(),
        app_roles: vec!["MfaLens.Ingest".into()],
        audience: INGEST_AUDIENCES[0].into(),
        app_id: "00000000-0000-0000-0000-00000000beef".into(),
        lifetime,
        ..TokenSpec::default()
    }
    .mint(key, now)?;
    let start = (now - Duration::days(1))
        .duration_trunc(Duration::hours(1))
        .unwrap_or(now - Duration::days(1));
    let end = start + Duration::hours(6);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let base = format!("http://{listen}");
    println!(
        "\nmfalens demo: {} tenants; partner tenant {} ({}), signed in as {}\n",
        org.len(),
        partner.id,
        partner.domain,
        admin.upn
    );
    println!("export GRAPH_TOKEN={graph}\nexport PC_TOKEN={pc}\nexport INGEST_TOKEN={ingest}\n");
    println!(
        "# MFA failures per 30 minutes over 6 hours (and its siblings: getMetricsForMfaSignInSuccess, ...)"
    );
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={},exclusiveIntervalEndDateTime={},aggregationIntervalInMinutes=30)'",
        fmt(start),
        fmt(end)
    );
    println!("# Credential registration counts");
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/reports/getCredentialUserRegistrationCount'"
    );
    println!("# A user's sign-in preferences and per-user MFA state (by id or UPN), and your own");
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/users/{}/authentication/signInPreferences'",
        other.id
    );
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/users/{}/authentication/requirements'",
        other.upn.replace('@', "%40")
    );
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/me/authentication/requirements'"
    );
    println!(
        "curl -s -X PATCH -H \"Authorization: Bearer $GRAPH_TOKEN\" -H 'Content-Type: application/json' -d '{{\"perUserMfaState\":\"enabled\"}}' '{base}/beta/users/{}/authentication/requirements'",
        other.id
    );
    println!("# Registration details, admins without MFA");
    println!(
        "curl -s -H \"Authorization: Bearer $GRAPH_TOKEN\" '{base}/beta/reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin%20eq%20true%20and%20isMfaRegistered%20eq%20false&$top=5'"
    );
    println!("# Partner Center: principals without MFA in the last 7 days");
    println!(
        "curl -s -H \"Authorization: Bearer $PC_TOKEN\" '{base}/v1/nonMfaCompliantPartnerPrincipals'"
    );
    println!("# Ingest more sign-ins (NDJSON, gzip allowed)");
    println!(
        "curl -s -H \"Authorization: Bearer $INGEST_TOKEN\" -H 'Content-Type: application/x-ndjson' --data-binary @signins.ndjson '{base}/ingest/signins'\n"
    );
    Ok(())
}
