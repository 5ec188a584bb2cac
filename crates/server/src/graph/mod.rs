//! Microsoft Graph beta API family, as `../shared/contract/graph-beta.md` specifies it.
//! One module per resource; this one holds the routes and what every Graph response shares.

mod body;
mod credentials;
mod details;
mod keys;
mod metrics;
mod paging;
mod preferences;
mod requirements;
mod summaries;
mod users;

use crate::AppState;
use crate::error::GraphError;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

pub fn routes() -> Router<AppState> {
    let users = "/beta/users/{key}/authentication";
    Router::new()
        .route(
            "/beta/reports/serviceActivity/{call}",
            only(get(metrics::get_metrics)),
        )
        .route("/beta/reports/{call}", only(get(credentials::get)))
        .route(
            "/beta/reports/authenticationMethods/{segment}",
            only(get(summaries::dispatch)),
        )
        .route(
            "/beta/reports/authenticationMethods/userRegistrationDetails",
            only(get(details::list)),
        )
        .route(
            "/beta/reports/authenticationMethods/userRegistrationDetails/{key}",
            only(get(details::one)),
        )
        .route(
            &format!("{users}/signInPreferences"),
            only(get(preferences::get).patch(preferences::patch)),
        )
        .route(
            &format!("{users}/requirements"),
            only(get(requirements::get).patch(requirements::patch)),
        )
        .route(
            "/beta/me/authentication/requirements",
            only(get(requirements::get_me).patch(requirements::patch_me)),
        )
}

/// A route whose other methods get a Graph 405 instead of an empty one.
fn only(m: MethodRouter<AppState>) -> MethodRouter<AppState> {
    m.fallback(method_not_allowed)
}

async fn method_not_allowed(method: Method, uri: Uri) -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest",
        format!(
            "The HTTP method '{method}' is not allowed on '{}'.",
            uri.path()
        ),
    )
}

pub const GRAPH_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A Graph success body with Graph's content type.
pub struct GraphJson(pub serde_json::Value);

impl IntoResponse for GraphJson {
    fn into_response(self) -> Response {
        GraphBody(self.0.to_string()).into_response()
    }
}

/// A Graph success body already serialised (large series are written directly).
pub struct GraphBody(pub String);

impl IntoResponse for GraphBody {
    fn into_response(self) -> Response {
        let mut resp = (StatusCode::OK, self.0).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(GRAPH_CONTENT_TYPE),
        );
        resp
    }
}

/// `{base}/beta`, where base is the configured public URL or this request's Host.
pub fn odata_base(st: &AppState, headers: &HeaderMap) -> String {
    if let Some(b) = &st.config().public_base_url {
        return format!("{}/beta", b.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/beta")
}

/// The `i`-th segment of the raw (still percent-encoded) path; `""` when there is none.
/// Path keys are read from here, never from axum's decoded `Path`, so that decoding is strict.
pub fn raw_segment(uri: &Uri, i: usize) -> &str {
    uri.path().split('/').nth(i).unwrap_or_default()
}

/// Strips the optional `microsoft.graph.` (or `graph.`) qualifier SDKs put on function names.
pub fn unqualified(name: &str) -> &str {
    let lower = name.to_ascii_lowercase();
    for prefix in ["microsoft.graph.", "graph."] {
        if lower.starts_with(prefix) {
            return &name[prefix.len()..];
        }
    }
    name
}

/// Quotes a caller-supplied value for an error message, cut to a readable length.
pub fn shown(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}
