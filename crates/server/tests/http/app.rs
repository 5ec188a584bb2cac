//! `TestApp`: a running mfalens server for one test.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use mfalens_core::classify::ClassifyConfig;
use mfalens_server::auth::local::{LocalKey, TokenSpec};
use mfalens_server::auth::policy::Role;
use mfalens_server::auth::verify::{
    Audiences, DEFAULT_CACHE_ENTRIES, GRAPH_AUDIENCES, INGEST_AUDIENCES, PARTNER_CENTER_AUDIENCES,
    TrustedIssuer, Verifier,
};
use mfalens_server::clock::{Clock, ManualClock, SystemClock};
use mfalens_server::{AppState, ServerConfig};
use mfalens_store::Store;
use mfalens_store::sqlite::SqliteStore;
use mfalens_store::testsuite::pg::TestSchema;
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

pub const TENANT_A: &str = "aaaaaaaa-0000-0000-0000-00000000000a";
pub const TENANT_B: &str = "bbbbbbbb-0000-0000-0000-00000000000b";

/// One RSA key for the whole test binary: key generation is the slow part of a fixture.
fn key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| LocalKey::generate_pem().expect("key generation"))
}

/// The backend under test: SQLite by default; PostgreSQL (a schema of the test's own on
/// `MFALENS_TEST_POSTGRES_URL`) when `MFALENS_TEST_BACKEND=postgres`, so the same HTTP suite
/// runs against both.
#[derive(Clone)]
pub enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(Arc<TestSchema>),
}

impl Db {
    pub async fn fresh(dir: &tempfile::TempDir) -> Db {
        if std::env::var("MFALENS_TEST_BACKEND").is_ok_and(|b| b == "postgres") {
            let schema = TestSchema::create()
                .await
                .expect("MFALENS_TEST_BACKEND=postgres needs MFALENS_TEST_POSTGRES_URL");
            Db::Postgres(Arc::new(schema))
        } else {
            Db::Sqlite(dir.path().join("t.db"))
        }
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(path) => Arc::new(SqliteStore::open(path).await.expect("store")),
            Db::Postgres(schema) => Arc::new(schema.open().await),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub key: Arc<LocalKey>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The database this instance serves (a second instance on it is a restart).
    pub db: Db,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> TestApp {
        Self::launch(config, Vec::new(), DEFAULT_CACHE_ENTRIES).await
    }

    /// A server that trusts `extra` issuers besides its local key.
    pub async fn start_trusting(extra: Vec<TrustedIssuer>) -> TestApp {
        Self::launch(ServerConfig::default(), extra, DEFAULT_CACHE_ENTRIES).await
    }

    pub async fn launch(
        config: ServerConfig,
        extra: Vec<TrustedIssuer>,
        cache_entries: usize,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::fresh(&dir).await;
        Self::serve_on(dir, db, config, extra, cache_entries).await
    }

    /// A server over an existing (or new) database: a restart when another instance used it.
    pub async fn start_on(dir: tempfile::TempDir, db: Db, config: ServerConfig) -> TestApp {
        Self::serve_on(dir, db, config, Vec::new(), DEFAULT_CACHE_ENTRIES).await
    }

    async fn serve_on(
        dir: tempfile::TempDir,
        db: Db,
        config: ServerConfig,
        extra: Vec<TrustedIssuer>,
        cache_entries: usize,
    ) -> TestApp {
        let store = db.open().await;
        let key = Arc::new(LocalKey::from_pem(key_pem()).expect("key"));
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let mut issuers = vec![key.trusted_issuer().expect("issuer")];
        issuers.extend(extra);
        let verifier = Verifier::new(issuers, Audiences::default(), 60).with_cache(cache_entries);
        let state = AppState::new(
            store.clone(),
            Arc::new(verifier),
            clock.clone(),
            config,
            ClassifyConfig::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let st = state.clone();
        let server = tokio::spawn(async move {
            let _ = mfalens_server::serve(listener, st, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            key,
            store,
            clock,
            state,
            dir,
            db,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and waits until it has finished (queued evidence stored).
    pub async fn stop(&mut self) {
        self.client = reqwest::Client::new();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Mints a token at the app's clock.
    pub fn token(&self, spec: &TokenSpec) -> String {
        spec.mint(&self.key, self.now()).expect("mint")
    }

    /// A delegated Graph token for `user` in `tenant` with MFA.
    pub fn graph_user(&self, tenant: &str, user: &str, scopes: &str, roles: &[Role]) -> String {
        let upn = format!("{user}@{tenant}.example");
        self.graph_delegated(tenant, user, Some(&upn), scopes, roles)
    }

    /// A delegated Graph token with MFA for object id `oid` and the given `upn` claim.
    pub fn graph_delegated(
        &self,
        tenant: &str,
        oid: &str,
        upn: Option<&str>,
        scopes: &str,
        roles: &[Role],
    ) -> String {
        self.token(&TokenSpec {
            tenant_id: tenant.into(),
            object_id: oid.into(),
            upn: upn.map(str::to_string),
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
            directory_roles: roles.iter().map(|r| r.template_id.to_string()).collect(),
            mfa: true,
            audience: GRAPH_AUDIENCES[0].into(),
            app_id: "client-app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        })
    }

    /// An application Graph token with `roles`.
    pub fn graph_app(&self, tenant: &str, roles: &[&str]) -> String {
        self.token(&TokenSpec {
            tenant_id: tenant.into(),
            object_id: "app-sp".into(),
            app_roles: roles.iter().map(|r| r.to_string()).collect(),
            audience: GRAPH_AUDIENCES[0].into(),
            app_id: "client-app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        })
    }

    /// A delegated (App+User) Partner Center token.
    pub fn partner_user(&self, tenant: &str, user: &str, mfa: bool) -> String {
        self.token(&TokenSpec {
            tenant_id: tenant.into(),
            object_id: user.into(),
            upn: Some(format!("{user}@partner.example")),
            scopes: vec!["user_impersonation".into()],
            mfa,
            audience: PARTNER_CENTER_AUDIENCES[0].into(),
            app_id: "partner-app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        })
    }

    /// An application (app-only) Partner Center token.
    pub fn partner_app(&self, tenant: &str) -> String {
        self.token(&TokenSpec {
            tenant_id: tenant.into(),
            object_id: "partner-sp".into(),
            app_roles: vec!["user_impersonation".into()],
            audience: PARTNER_CENTER_AUDIENCES[0].into(),
            app_id: "partner-app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        })
    }

    /// An ingest token allowed to write `tenants` (the first is `tid`).
    pub fn ingest_token(&self, tenants: &[&str]) -> String {
        self.token(&TokenSpec {
            tenant_id: tenants[0].into(),
            extra_tenants: tenants[1..].iter().map(|t| t.to_string()).collect(),
            object_id: "ingest-sp".into(),
            app_roles: vec!["MfaLens.Ingest".into()],
            audience: INGEST_AUDIENCES[0].into(),
            app_id: "ingest-app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        })
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_ndjson(&self, path: &str, token: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
