//! The JSON body of a Graph `PATCH`: its media type checked, its size capped, read whole.
//! What the JSON means is the domain's business (`mfalens_core::directory`).

use crate::AppState;
use crate::error::GraphError;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

/// **ours:** a `PATCH` body larger than this (or than the server's overall limit, if smaller)
/// is refused with 413; the objects patched here are a few dozen bytes.
pub const PATCH_BODY_LIMIT: usize = 64 * 1024;

pub fn unsupported_media_type(message: String) -> GraphError {
    GraphError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        message,
    )
}

/// Reads a JSON request body of at most `PATCH_BODY_LIMIT` bytes (or the server's limit).
pub async fn json(st: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, GraphError> {
    let limit = PATCH_BODY_LIMIT.min(st.config().max_body_bytes);
    let media = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match media.as_deref() {
        Some("application/json") => {}
        Some(other) => {
            return Err(unsupported_media_type(format!(
                "Content-Type '{other}' is not supported; send the body as application/json."
            )));
        }
        None => {
            return Err(unsupported_media_type(
                "The request has no Content-Type; send the body as application/json.".into(),
            ));
        }
    }
    if let Some(enc) = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| {
            v.to_str()
                .unwrap_or("(not text)")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|e| !e.is_empty() && e != "identity")
    {
        return Err(unsupported_media_type(format!(
            "Content-Encoding '{enc}' is not supported here; send the JSON body uncompressed."
        )));
    }
    let too_large = || {
        GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body exceeds the limit of {limit} bytes."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}
