//! Partner Center API family (`/v1/...`, `/pcapi/v1/...`).

use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
