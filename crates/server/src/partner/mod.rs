//! Partner Center API family (`/v1/...`, `/pcapi/v1/...`) as `shared/contract/partner-center.md`
//! specifies it, plus mfalens's details extension on a path of its own. Handlers extract a
//! `PartnerCaller`, call one function and render; every failure is a `PartnerError`.

mod details;
mod list;
pub mod recorder;
pub mod report;

use crate::AppState;
use crate::auth::extract::PartnerOperation;
use crate::auth::policy::Operation;
use crate::error::PartnerError;
use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde::Serialize;

pub use list::{Collection, collection, window_start};

/// The contract path and the path seed 001 shows.
pub const LIST_PATHS: [&str; 2] = [
    "/v1/nonMfaCompliantPartnerPrincipals",
    "/pcapi/v1/nonMfaCompliantPartnerPrincipals",
];
/// mfalens's extension: the per-principal report (not part of the Partner Center contract).
pub const DETAILS_PATH: &str = "/v1/nonMfaCompliantPartnerPrincipals/details";

/// Reading the non-MFA principal list (contract or extension).
pub struct ReadNonMfa;

impl PartnerOperation for ReadNonMfa {
    const OPERATION: Operation = Operation::ReadNonMfaPrincipals;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST_PATHS[0], get_only(get(list::list)))
        .route(LIST_PATHS[1], get_only(get(list::list)))
        .route(DETAILS_PATH, get_only(get(details::details)))
}

/// Any other method gets 405 with the Partner Center error body.
fn get_only(r: MethodRouter<AppState>) -> MethodRouter<AppState> {
    r.fallback(|method: Method| async move {
        (
            [(header::ALLOW, "GET, HEAD")],
            PartnerError::method_not_allowed(&method),
        )
    })
}

/// A Partner Center success body: `Content-Type: application/json`.
pub struct PartnerJson<T>(pub T);

impl<T: Serialize> IntoResponse for PartnerJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a Partner Center body");
                PartnerError::internal().into_response()
            }
        }
    }
}

/// A CSV download (`text/csv`, RFC 4180).
pub struct Csv(pub String);

impl IntoResponse for Csv {
    fn into_response(self) -> Response {
        (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present",
                ),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"non-mfa-principals.csv\"",
                ),
            ],
            self.0,
        )
            .into_response()
    }
}
