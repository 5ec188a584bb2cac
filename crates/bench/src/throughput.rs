//! Workload 4: requests/s of authenticated endpoints (token verified on every request)
//! against `/healthz` served by the same `mfalens serve` process: the ceiling of the HTTP
//! stack on this machine. Endpoints that this build does not serve yet (404) are reported as
//! such; they are measured automatically once they exist.

use crate::load;
use crate::report::{Section, ms, thousands};
use crate::server::{ServeChild, mint};
use crate::{Ctx, child, data};
use anyhow::Result;
use mfalens_core::synth::{organisation, user_record};
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Sign-ins loaded before measuring, so the metric query reads real rollups.
const PRELOAD: u64 = 100_000;

struct Endpoint {
    name: &'static str,
    path: String,
    /// `mfalens token` arguments; none for an unauthenticated endpoint.
    token: Option<Vec<String>>,
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    println!(
        "== throughput: {} connections, {} s each",
        ctx.connections, ctx.seconds
    );
    let cfg = data::config(ctx.seed, ctx.events.max(PRELOAD), ctx.data_now);
    let (file, _) = data::signin_file(&ctx.work.join("data"), &cfg)?;
    let db = ctx.work.join("throughput.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // A directory and some sign-ins, loaded with the CLI.
    let org = organisation(&cfg);
    let users = ctx.work.join("data").join("users.ndjson");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&users)?);
    for t in &org {
        for u in &t.users {
            serde_json::to_writer(&mut w, &user_record(t, u))?;
            w.write_all(b"\n")?;
        }
    }
    w.flush()?;
    drop(w);
    let head = ctx.work.join("data").join("signins-head.ndjson");
    {
        use std::io::BufRead;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&head)?);
        let input = std::io::BufReader::new(std::fs::File::open(&file)?);
        for line in input.split(b'\n').take(PRELOAD as usize) {
            out.write_all(&line?)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let mfalens = child::sibling("mfalens")?;
    for (kind, f) in [("users", &users), ("signins", &head)] {
        let mut cmd = Command::new(&mfalens);
        cmd.args(["ingest", kind, "--no-progress", "--database"])
            .arg(format!("sqlite://{}", db.display()))
            .arg(f)
            .env("MFALENS_LOG", "warn");
        child::run(cmd)?;
    }
    let server = ServeChild::start(&db)?;
    let tenant = &org[0];
    let user = tenant
        .users
        .first()
        .map(|u| u.id.clone())
        .unwrap_or_default();
    let end = ctx.data_now;
    let start = end - chrono::Duration::hours(1);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let graph = |roles: &str| {
        Some(
            [
                "--audience",
                "graph",
                "--app-role",
                roles,
                "--tenant",
                &tenant.id,
            ]
            .map(String::from)
            .to_vec(),
        )
    };
    let endpoints = vec![
        Endpoint {
            name: "GET /healthz (ceiling)",
            path: "/healthz".into(),
            token: None,
        },
        Endpoint {
            name: "GET getMetricsForMfaSignInFailure (1 h, 5-min intervals)",
            path: format!(
                "/beta/reports/serviceActivity/getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime={},exclusiveIntervalEndDateTime={},aggregationIntervalInMinutes=5)",
                fmt(start),
                fmt(end)
            ),
            token: graph("Reports.Read.All"),
        },
        Endpoint {
            name: "GET /beta/users/{id}/authentication/signInPreferences",
            path: format!("/beta/users/{user}/authentication/signInPreferences"),
            token: graph("UserAuthenticationMethod.Read.All"),
        },
        Endpoint {
            name: "GET /v1/nonMfaCompliantPartnerPrincipals",
            path: "/v1/nonMfaCompliantPartnerPrincipals".into(),
            token: Some(
                [
                    "--audience",
                    "partner",
                    "--scope",
                    "user_impersonation",
                    "--mfa",
                    "--tenant",
                    &tenant.id,
                    "--user",
                    &tenant
                        .users
                        .last()
                        .map(|u| u.id.clone())
                        .unwrap_or_default(),
                ]
                .map(String::from)
                .to_vec(),
            ),
        },
        // Add further authenticated endpoints here; a 404 is reported as "not served yet".
    ];
    let mut s = Section::new(
        "throughput",
        &[
            "endpoint",
            "requests/s",
            "vs /healthz",
            "p50",
            "p99",
            "errors",
        ],
        &ctx.machine,
    );
    let client = reqwest::Client::new();
    let mut ceiling = None;
    let mut worst: Option<(String, f64)> = None;
    for e in &endpoints {
        let token = match &e.token {
            Some(args) => Some(mint(
                &db,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?),
            None => None,
        };
        let url = format!("{}{}", server.base, e.path);
        let mut probe = client.get(&url);
        if let Some(t) = &token {
            probe = probe.bearer_auth(t);
        }
        let status = probe.send().await?.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            s.row(vec![
                e.name.into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "not served by this build yet (404); measured automatically once it is".into(),
            ]);
            continue;
        }
        let (u, t) = (url.clone(), token.clone());
        let make: load::MakeRequest = Arc::new(move |c, _, _| {
            let r = c.get(&u);
            Some(match &t {
                Some(t) => r.bearer_auth(t),
                None => r,
            })
        });
        let r = load::run(
            ctx.connections,
            Some(Duration::from_secs(ctx.seconds)),
            make,
        )
        .await?;
        let rate = r.rate();
        let vs = match ceiling {
            None => {
                ceiling = Some(rate);
                "100%".to_string()
            }
            Some(c) => {
                let ratio = rate / c;
                if worst.as_ref().is_none_or(|(_, w)| ratio < *w) {
                    worst = Some((e.name.to_string(), ratio));
                }
                format!("{:.0}%", 100.0 * ratio)
            }
        };
        let errors = match (&r.first_error, r.errors) {
            (_, 0) => "0".to_string(),
            (Some(f), n) => format!("{n}: {}", f.chars().take(120).collect::<String>()),
            (None, n) => n.to_string(),
        };
        s.row(vec![
            e.name.into(),
            thousands(rate),
            vs,
            ms(r.percentile(0.5)),
            ms(r.percentile(0.99)),
            errors,
        ]);
    }
    drop(server);
    if let Some((name, ratio)) = worst {
        s.target(
            "authenticated endpoint throughput ≥ 50% of /healthz",
            format!("lowest: {name} at {:.0}%", 100.0 * ratio),
            Some(ratio >= 0.5),
        );
    }
    s.note(format!(
        "The real `mfalens serve` (SQLite, {PRELOAD} sign-ins and {} users loaded, production logging to a file), {} keep-alive HTTP/1.1 connections from the bench process over loopback, {} s per endpoint; client and server share the machine's cores.",
        org.iter().map(|t| t.users.len()).sum::<usize>(),
        ctx.connections,
        ctx.seconds
    ));
    s.finish(&ctx.work)
}
