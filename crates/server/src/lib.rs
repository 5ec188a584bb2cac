//! The mfalens HTTP service: routers per API family (Graph beta, Partner Center, ingest),
//! token verification and the permission table, one error mapping per family.
//! `serve()` takes a bound listener and a shutdown future, so tests bind port 0.

pub mod auth;
pub mod clock;
pub mod context;
pub mod error;
mod fallback;
pub mod graph;
pub mod health;
pub mod ingest;
pub mod partner;

use auth::Verifier;
use axum::Router;
use chrono::{DateTime, Utc};
use clock::Clock;
use mfalens_core::classify::ClassifyConfig;
use mfalens_store::Store;
use partner::recorder::NonMfaRecorder;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What a Partner Center call with a non-MFA App+User token gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MfaEnforcement {
    /// Record the principal, then answer 401 (900421), as Partner Center does today.
    #[default]
    Enforce,
    /// Record the principal and serve the call.
    Report,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The external base URL (e.g. `https://mfalens.example.com`) used in `@odata.context`
    /// and `@odata.nextLink`; when unset, taken from the request's Host header.
    pub public_base_url: Option<String>,
    /// Largest accepted request body (after decompression), in bytes.
    pub max_body_bytes: usize,
    pub partner_mfa: MfaEnforcement,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_base_url: None,
            max_body_bytes: 64 * 1024 * 1024,
            partner_mfa: MfaEnforcement::Enforce,
        }
    }
}

struct Inner {
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    clock: Arc<dyn Clock>,
    config: ServerConfig,
    classify: ClassifyConfig,
    non_mfa: NonMfaRecorder,
}

/// Everything a handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        verifier: Arc<Verifier>,
        clock: Arc<dyn Clock>,
        config: ServerConfig,
        classify: ClassifyConfig,
    ) -> Self {
        AppState(Arc::new(Inner {
            non_mfa: NonMfaRecorder::new(store.clone()),
            store,
            verifier,
            clock,
            config,
            classify,
        }))
    }
    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }
    pub fn store_arc(&self) -> Arc<dyn Store> {
        self.0.store.clone()
    }
    pub fn verifier(&self) -> &Verifier {
        &self.0.verifier
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }
    pub fn classify(&self) -> &ClassifyConfig {
        &self.0.classify
    }
    /// Where Partner Center calls made without MFA leave their evidence.
    pub fn non_mfa_recorder(&self) -> &NonMfaRecorder {
        &self.0.non_mfa
    }
}

pub fn router(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    Router::new()
        .merge(graph::routes().layer(from_fn_with_state(state.clone(), context::graph)))
        .merge(partner::routes().layer(from_fn_with_state(state.clone(), context::partner)))
        .merge(ingest::routes().layer(from_fn_with_state(state.clone(), context::own)))
        .merge(health::routes())
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                )
                .make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_else(|| "unmatched".into());
                    tracing::info_span!("request", method = %req.method(), route, request_id = tracing::field::Empty, tenant = tracing::field::Empty)
                },
            ),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests and stores the non-MFA
/// evidence they queued.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let served = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    state.non_mfa_recorder().flush().await;
    served
}
