//! Servers under test. `serve_child` runs the real `mfalens serve` binary (production logging
//! and all) and mints tokens with `mfalens token`; `InProcess` serves a given store on its
//! own runtime at a fixed clock, for stores built in advance at another instant.

use crate::child;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use mfalens_core::classify::ClassifyConfig;
use mfalens_server::auth::local::{LocalKey, TokenSpec};
use mfalens_server::auth::verify::{Audiences, GRAPH_AUDIENCES, Verifier};
use mfalens_server::clock::ManualClock;
use mfalens_server::{AppState, ServerConfig};
use mfalens_store::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// A running `mfalens serve`; stopped (SIGKILL) when dropped.
pub struct ServeChild {
    pub base: String,
    child: Child,
}

impl ServeChild {
    /// Starts `mfalens serve` on a free loopback port with a SQLite database at `db`.
    pub fn start(db: &Path) -> Result<ServeChild> {
        let mfalens = child::sibling("mfalens")?;
        let log = std::fs::File::create(db.with_extension("log"))?;
        let mut child = Command::new(mfalens)
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", db.display()))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("cannot start mfalens serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(url) = l.strip_prefix("mfalens listening on ") {
                        break url.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    bail!(
                        "mfalens serve exited before listening (see {})",
                        db.with_extension("log").display()
                    );
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(ServeChild { base, child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mints a token with `mfalens token` against the key beside `db`.
pub fn mint(db: &Path, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(child::sibling("mfalens")?);
    cmd.args(["token", "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .args(args);
    let out = child::run(cmd)?;
    out.stdout
        .lines()
        .last()
        .map(str::to_string)
        .context("mfalens token printed nothing")
}

/// An in-process server over a given store, with the clock standing at `now`.
pub struct InProcess {
    pub base: String,
    pub key: Arc<LocalKey>,
    pub now: DateTime<Utc>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    /// Serves `store` from its own two-thread runtime, so the load generator's runtime and
    /// the server's do not share a scheduler (as two processes would not).
    pub fn start(store: Arc<dyn Store>, now: DateTime<Utc>) -> Result<InProcess> {
        let key =
            Arc::new(LocalKey::from_pem(&LocalKey::generate_pem()?).map_err(anyhow::Error::msg)?);
        let verifier = Verifier::new(vec![key.trusted_issuer()?], Audiences::default(), 60);
        let state = AppState::new(
            store,
            Arc::new(verifier),
            Arc::new(ManualClock::new(now)),
            ServerConfig::default(),
            ClassifyConfig::default(),
        );
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = addr_tx.send(listener.local_addr().map_err(|e| e.to_string()));
                let _ = mfalens_server::serve(listener, state, async {
                    let _ = stop_rx.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv()
            .context("the server thread stopped")?
            .map_err(anyhow::Error::msg)?;
        Ok(InProcess {
            base: format!("http://{addr}"),
            key,
            now,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// An application Graph token with `Reports.Read.All` for `tenant`.
    pub fn graph_app_token(&self, tenant: &str) -> Result<String> {
        Ok(TokenSpec {
            tenant_id: tenant.into(),
            object_id: "bench-sp".into(),
            app_roles: vec!["Reports.Read.All".into()],
            audience: GRAPH_AUDIENCES[0].into(),
            app_id: "bench-app".into(),
            lifetime: Duration::hours(8),
            ..TokenSpec::default()
        }
        .mint(&self.key, self.now)?)
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
