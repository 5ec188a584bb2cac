//! Answers for paths and methods no route serves, in the envelope of the API family the path
//! belongs to, so clients and SDKs can parse them.

use crate::error::{GraphError, OwnError, PartnerError};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

fn family_error(uri: &Uri, status: StatusCode, graph: GraphError, message: String) -> Response {
    let path = uri.path();
    if path == "/beta" || path.starts_with("/beta/") {
        let ids = crate::context::current();
        let mut resp = graph.into_response();
        if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
            resp.headers_mut().insert("request-id", v.clone());
            resp.headers_mut().insert("client-request-id", v);
        }
        resp
    } else if path.starts_with("/v1/") || path.starts_with("/pcapi/") {
        PartnerError::new(status, status.as_u16() as i64, message).into_response()
    } else {
        OwnError::new(
            status,
            if status == StatusCode::NOT_FOUND {
                "NotFound"
            } else {
                "MethodNotAllowed"
            },
            message,
        )
        .into_response()
    }
}

pub async fn not_found(uri: Uri) -> Response {
    let segment = uri
        .path()
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_string();
    family_error(
        &uri,
        StatusCode::NOT_FOUND,
        GraphError::bad_request(format!("Resource not found for the segment '{segment}'.")),
        format!("no resource at {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("method {method} is not allowed on {}", uri.path());
    family_error(
        &uri,
        StatusCode::METHOD_NOT_ALLOWED,
        GraphError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            message.clone(),
        ),
        message,
    )
}
