//! Errors at the edge: one type per API family, each rendering that family's own envelope.
//! Handlers return `Result<_, GraphError | PartnerError | OwnError>` and use `?`; a 500 logs
//! its cause and tells the caller nothing internal.

use crate::auth::policy::Denied;
use crate::auth::verify::AuthError;
use crate::context;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mfalens_core::time::graph_error_date;
use mfalens_store::StoreError;
use serde_json::json;

/// A Graph error: `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }
    pub fn request_bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }
    pub fn user_not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UnknownError",
            "An internal error occurred; the request id identifies it in the service log.",
        )
    }
}

impl From<AuthError> for GraphError {
    fn from(e: AuthError) -> Self {
        let message = match e {
            AuthError::Missing => "Access token is empty.".to_string(),
            AuthError::Expired => "Lifetime validation failed, the token is expired.".to_string(),
            AuthError::WrongAudience => "Invalid audience.".to_string(),
            other => format!("Access token validation failure: {other}."),
        };
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
}

impl From<Denied> for GraphError {
    fn from(e: Denied) -> Self {
        match e {
            // What Graph answers for `/me` with an app-only token.
            Denied::MeRequiresDelegated => GraphError::bad_request(e.to_string()),
            e => GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!("Insufficient privileges to complete the operation: {e}."),
            ),
        }
    }
}

impl From<StoreError> for GraphError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => GraphError::not_found("The resource does not exist."),
            other => {
                tracing::error!(error = %other, "storage failure");
                GraphError::internal()
            }
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let ids = context::current();
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": graph_error_date(ids.started),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }});
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        resp
    }
}

/// A Partner Center error: `{"code": n, "description": "...", "data": [], "source": "PartnerFD"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerError {
    pub status: StatusCode,
    pub code: i64,
    pub description: String,
}

impl PartnerError {
    pub fn new(status: StatusCode, code: i64, description: impl Into<String>) -> Self {
        PartnerError {
            status,
            code,
            description: description.into(),
        }
    }
    pub fn access_denied_403() -> Self {
        Self::new(StatusCode::FORBIDDEN, 2032, "Access denied")
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "An internal error occurred; MS-RequestId identifies it in the service log.",
        )
    }
    /// **ours:** a query parameter of an mfalens extension is unknown or invalid.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2000, description)
    }
    /// **ours:** the code is the status; the description is ASP.NET's wording.
    pub fn method_not_allowed(method: &axum::http::Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            405,
            format!("The requested resource does not support http method '{method}'."),
        )
    }
    pub fn mfa_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            900421,
            "Multi-factor authentication is required: the token's amr claim has no 'mfa'. Sign in with MFA and retry.",
        )
    }
}

impl From<AuthError> for PartnerError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing | AuthError::NotBearer => PartnerError::new(
                StatusCode::UNAUTHORIZED,
                800001,
                "Authorization token is missing",
            ),
            AuthError::WrongAudience => PartnerError::access_denied_403(),
            other => PartnerError::new(
                StatusCode::UNAUTHORIZED,
                400,
                format!("Access denied: {other}"),
            ),
        }
    }
}

impl From<Denied> for PartnerError {
    fn from(_: Denied) -> Self {
        PartnerError::access_denied_403()
    }
}

impl From<StoreError> for PartnerError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        PartnerError::internal()
    }
}

impl IntoResponse for PartnerError {
    fn into_response(self) -> Response {
        let mut description = self.description;
        description.truncate(1024);
        let body = json!({
            "code": self.code,
            "description": description,
            "data": [],
            "source": "PartnerFD",
        });
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp
    }
}

/// mfalens's own APIs (ingest): `{"error": {"code", "message", "requestId"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl OwnError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OwnError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn with_details(mut self, d: serde_json::Value) -> Self {
        self.details = Some(d);
        self
    }
}

impl From<AuthError> for OwnError {
    fn from(e: AuthError) -> Self {
        OwnError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            e.to_string(),
        )
    }
}

impl From<Denied> for OwnError {
    fn from(e: Denied) -> Self {
        OwnError::new(StatusCode::FORBIDDEN, "Forbidden", e.to_string())
    }
}

impl From<StoreError> for OwnError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        OwnError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "An internal error occurred; nothing from this request was stored.",
        )
    }
}

impl IntoResponse for OwnError {
    fn into_response(self) -> Response {
        let ids = context::current();
        let mut err =
            json!({"code": self.code, "message": self.message, "requestId": ids.request_id});
        if let Some(d) = self.details {
            err["details"] = d;
        }
        let mut resp = (self.status, Json(json!({ "error": err }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> (StatusCode, serde_json::Value) {
        let s = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (s, serde_json::from_slice(&b).unwrap())
    }

    #[tokio::test]
    async fn each_family_maps_auth_failures_its_own_way() {
        let (s, b) = body(GraphError::from(AuthError::Expired).into_response()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(b["error"]["code"], "InvalidAuthenticationToken");
        assert!(b["error"]["innerError"]["request-id"].is_string());
        let (s, b) = body(PartnerError::from(AuthError::Missing).into_response()).await;
        assert_eq!(
            (s, b["code"].as_i64()),
            (StatusCode::UNAUTHORIZED, Some(800001))
        );
        assert_eq!(b["source"], "PartnerFD");
        assert_eq!(b["data"], json!([]));
        let (s, b) = body(PartnerError::from(AuthError::WrongAudience).into_response()).await;
        assert_eq!((s, b["code"].as_i64()), (StatusCode::FORBIDDEN, Some(2032)));
        let (s, b) = body(PartnerError::from(AuthError::BadSignature).into_response()).await;
        assert_eq!(
            (s, b["code"].as_i64()),
            (StatusCode::UNAUTHORIZED, Some(400))
        );
        let (s, b) = body(GraphError::from(Denied::ApplicationNotAllowed).into_response()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("Authorization_RequestDenied"))
        );
        let (s, b) = body(GraphError::from(Denied::MeRequiresDelegated).into_response()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("BadRequest"))
        );
        assert_eq!(
            b["error"]["message"],
            "/me request is only valid with delegated authentication flow."
        );
        let (s, b) = body(OwnError::from(AuthError::TenantNotAllowed).into_response()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("InvalidAuthenticationToken"))
        );
        let (s, b) =
            body(GraphError::from(StoreError::Other("disk on fire".into())).into_response()).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !b.to_string().contains("disk"),
            "internal causes stay in the log"
        );
    }
}
