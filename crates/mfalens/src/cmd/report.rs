//! `mfalens report`: reports read straight from the database. `non-mfa` prints the
//! per-principal non-MFA report — the rows of the Partner Center details extension, built by
//! the same code (`mfalens_server::partner::report`) — as a table, CSV or JSON.

use crate::config::DbArgs;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use mfalens_core::non_mfa_report::{ReportFilter, ReportRow, collection, reason_list, to_csv};
use mfalens_core::time::graph_datetime;
use mfalens_core::{NON_MFA_WINDOW_DAYS, RETENTION_DAYS};
use mfalens_server::clock::{Clock, SystemClock};
use mfalens_store::DatabaseUrl;

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Partner principals seen without MFA (partner-app sign-ins and Partner Center API calls
    /// with non-MFA tokens): why, which applications, how often, when, enabled, admin.
    NonMfa(NonMfaArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NonMfaArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Tenant id whose principals to list.
    #[arg(long)]
    pub tenant: String,
    /// Only principals whose directory account is enabled.
    #[arg(long)]
    pub enabled_only: bool,
    /// Only principals the directory marks as admins.
    #[arg(long)]
    pub admins_only: bool,
    /// Output: an aligned table, RFC 4180 CSV (every column), or JSON.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    pub format: String,
    /// Window in days, counted back from now (1 to 30; Partner Center uses 7). A principal is
    /// listed when its latest non-MFA time is inside; its counts cover all kept evidence.
    #[arg(long, default_value_t = NON_MFA_WINDOW_DAYS,
          value_parser = clap::value_parser!(i64).range(1..=RETENTION_DAYS))]
    pub days: i64,
}

pub async fn run(c: ReportCommand) -> Result<()> {
    match c {
        ReportCommand::NonMfa(a) => {
            print!("{}", non_mfa(&a, SystemClock.now()).await?);
            Ok(())
        }
    }
}

/// The report text for `a` at `now`.
pub async fn non_mfa(a: &NonMfaArgs, now: DateTime<Utc>) -> Result<String> {
    let (url, _) = a.db.resolve()?;
    // A report never creates a database: a wrong path should say so, not print nothing.
    if let DatabaseUrl::Sqlite(path) = &url
        && !path.exists()
    {
        bail!(
            "no database at {}; pass --database (env MFALENS_DATABASE) naming an existing one",
            path.display()
        );
    }
    let store = mfalens_store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", url.redacted()))?;
    let filter = ReportFilter {
        enabled: a.enabled_only.then_some(true),
        admin: a.admins_only.then_some(true),
    };
    let tenant = a.tenant.trim().to_ascii_lowercase();
    let since = now - Duration::days(a.days);
    let rows = mfalens_server::partner::report::load(store.as_ref(), &tenant, since, filter)
        .await
        .with_context(|| format!("cannot read the report from {}", url.redacted()))?;
    Ok(match a.format.as_str() {
        "csv" => to_csv(&rows),
        "json" => format!("{}\n", serde_json::to_string_pretty(&collection(&rows))?),
        _ => table(&rows, &tenant, a.days),
    })
}

fn table(rows: &[ReportRow], tenant: &str, days: i64) -> String {
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    };
    let header = [
        "UPN",
        "OBJECT ID",
        "ENABLED",
        "ADMIN",
        "WHY",
        "APPLICATIONS",
        "COUNT",
        "FIRST",
        "LAST",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let mut apps: Vec<&str> = Vec::new();
            for a in &r.applications {
                let name = a.app_display_name.as_deref().unwrap_or(&a.app_id);
                let name = if name.is_empty() { "(unknown)" } else { name };
                if !apps.contains(&name) {
                    apps.push(name);
                }
            }
            [
                r.upn.clone().unwrap_or_else(|| "-".into()),
                r.object_id.clone(),
                yes_no(r.account_enabled).into(),
                yes_no(r.is_admin).into(),
                reason_list(&r.reasons).replace(';', "+"),
                apps.join(", "),
                r.count.to_string(),
                graph_datetime(r.first),
                graph_datetime(r.last),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |fields: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = fields.zip(width).map(|(f, w)| format!("{f:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &cells {
        line(&mut row.iter().map(String::as_str));
    }
    out.push_str(&format!(
        "{} principal(s) without MFA in tenant {tenant} in the last {days} day(s); COUNT and \
         FIRST cover all evidence kept ({RETENTION_DAYS} days) for each reason and application \
         seen in that window; \"?\": not in the imported directory\n",
        rows.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfalens_core::principal::{NonMfaObservation, NonMfaSource};
    use mfalens_core::time::parse_datetime;

    const T: &str = "aaaaaaaa-0000-0000-0000-00000000000a";

    fn args(db: &std::path::Path, format: &str) -> NonMfaArgs {
        NonMfaArgs {
            db: DbArgs {
                database: Some(format!("sqlite://{}", db.display())),
                config: None,
            },
            tenant: T.to_uppercase(),
            enabled_only: false,
            admins_only: false,
            format: format.into(),
            days: 7,
        }
    }

    #[tokio::test]
    async fn reads_the_database_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let now = parse_datetime("2026-11-23T12:00:00Z").unwrap();
        let missing = non_mfa(&args(&db, "table"), now).await.unwrap_err();
        assert!(missing.to_string().contains("no database"), "{missing}");

        let store = mfalens_store::open(&DatabaseUrl::Sqlite(db.clone()))
            .await
            .unwrap();
        let rec = |user: &str, at: &str| NonMfaObservation {
            tenant_id: T.into(),
            object_id: user.into(),
            upn: Some(format!("{user}@x.example")),
            source: NonMfaSource::ApiCall,
            app_id: "app".into(),
            app_display_name: Some("Partner Center PowerShell".into()),
            at: parse_datetime(at).unwrap(),
        };
        store
            .record_non_mfa(rec("amy", "2026-11-23T10:00:00Z"))
            .await
            .unwrap();
        store
            .record_non_mfa(rec("amy", "2026-11-22T10:00:00Z"))
            .await
            .unwrap();
        store
            .record_non_mfa(rec("old", "2026-11-10T10:00:00Z"))
            .await
            .unwrap();

        let table = non_mfa(&args(&db, "table"), now).await.unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("UPN "), "{table}");
        assert!(lines[1].starts_with("amy@x.example  amy"), "{table}");
        assert!(lines[1].contains("apiCall") && lines[1].contains("Partner Center PowerShell"));
        assert!(lines[1].contains(" 2 "), "count: {table}");
        assert!(lines[2].starts_with("1 principal(s)"), "{table}");

        let csv = non_mfa(&args(&db, "csv"), now).await.unwrap();
        assert_eq!(csv.matches("\r\n").count(), 2);
        let json: serde_json::Value =
            serde_json::from_str(&non_mfa(&args(&db, "json"), now).await.unwrap()).unwrap();
        assert_eq!(json["items"][0]["count"], 2);

        let mut month = args(&db, "json");
        month.days = 30;
        let json: serde_json::Value =
            serde_json::from_str(&non_mfa(&month, now).await.unwrap()).unwrap();
        assert_eq!(json["totalCount"], 2);
        let mut enabled = args(&db, "json");
        enabled.enabled_only = true;
        let json: serde_json::Value =
            serde_json::from_str(&non_mfa(&enabled, now).await.unwrap()).unwrap();
        assert_eq!(
            json["totalCount"], 0,
            "no directory record: not known to be enabled"
        );
    }
}
