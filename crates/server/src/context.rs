//! Per-request correlation: each API family's request/correlation ids, generated or echoed,
//! kept in a task-local so the single error mapping can put them in its envelope, and written
//! to the response headers that family's clients expect.

use crate::AppState;
use crate::clock::Clock;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
    /// When the request arrived (the service clock), for error envelopes.
    pub started: chrono::DateTime<chrono::Utc>,
}

tokio::task_local! {
    static IDS: RequestIds;
}

/// The ids of the request being served (fresh ones outside a request).
pub fn current() -> RequestIds {
    IDS.try_with(Clone::clone).unwrap_or_else(|_| {
        let id = Uuid::new_v4().to_string();
        RequestIds {
            request_id: id.clone(),
            client_request_id: id,
            started: crate::clock::SystemClock.now(),
        }
    })
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map(str::to_string)
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// What this node says about itself in `x-ms-ags-diagnostic`.
pub fn diagnostic() -> &'static str {
    static DIAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIAG.get_or_init(|| {
        let host = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "mfalens".into());
        serde_json::json!({"ServerInfo": {
            "DataCenter": "mfalens",
            "Slice": "E",
            "Ring": "0",
            "ScaleUnit": "0",
            "RoleInstance": host,
            "Version": env!("CARGO_PKG_VERSION"),
        }})
        .to_string()
    })
}

/// Graph: `request-id` is new per request; `client-request-id` echoes the caller's or
/// equals `request-id`.
pub async fn graph(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let client_request_id =
        header(req.headers(), "client-request-id").unwrap_or_else(|| request_id.clone());
    let ids = RequestIds {
        request_id,
        client_request_id,
        started: st.now(),
    };
    tracing::Span::current().record("request_id", ids.request_id.as_str());
    let mut resp = IDS.scope(ids.clone(), next.run(req)).await;
    let h = resp.headers_mut();
    set(h, "request-id", &ids.request_id);
    set(h, "client-request-id", &ids.client_request_id);
    set(h, "odata-version", "4.0");
    set(h, "x-ms-ags-diagnostic", diagnostic());
    set(h, "strict-transport-security", "max-age=31536000");
    resp
}

/// Partner Center: `MS-RequestId` and `MS-CorrelationId` echoed when sent, else generated;
/// `MS-CV` echoed or generated; `MS-ServerId` names this node.
pub async fn partner(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let request_id = header(h, "ms-requestid").unwrap_or_else(|| Uuid::new_v4().to_string());
    let correlation_id =
        header(h, "ms-correlationid").unwrap_or_else(|| Uuid::new_v4().to_string());
    let cv = header(h, "ms-cv").unwrap_or_else(|| {
        let raw = Uuid::new_v4().simple().to_string();
        format!("{}.0", &raw[..22])
    });
    let ids = RequestIds {
        request_id,
        client_request_id: correlation_id,
        started: st.now(),
    };
    tracing::Span::current().record("request_id", ids.request_id.as_str());
    let mut resp = IDS.scope(ids.clone(), next.run(req)).await;
    let h = resp.headers_mut();
    set(h, "ms-requestid", &ids.request_id);
    set(h, "ms-correlationid", &ids.client_request_id);
    set(h, "ms-cv", &cv);
    let server = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "mfalens".into());
    set(h, "ms-serverid", &server);
    resp
}

/// mfalens's own APIs: `x-request-id` echoed or generated.
pub async fn own(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let request_id =
        header(req.headers(), "x-request-id").unwrap_or_else(|| Uuid::new_v4().to_string());
    let ids = RequestIds {
        request_id: request_id.clone(),
        client_request_id: request_id,
        started: st.now(),
    };
    tracing::Span::current().record("request_id", ids.request_id.as_str());
    let mut resp = IDS.scope(ids.clone(), next.run(req)).await;
    set(resp.headers_mut(), "x-request-id", &ids.request_id);
    resp
}
