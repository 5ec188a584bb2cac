//! Microsoft Graph beta API family, as `../shared/contract/graph-beta.md` specifies it.

mod metrics;

use crate::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/beta/reports/serviceActivity/{call}",
        get(metrics::get_metrics),
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

/// A Graph success body already rendered as JSON text (large series are written straight
/// to a string rather than built as a `serde_json::Value` tree first).
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
