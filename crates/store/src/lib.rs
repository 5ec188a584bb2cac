//! mfalens storage. One `Store` trait speaking the domain's language; each backend keeps its
//! rows, SQL and driver errors to itself. The backend is chosen once, from the database URL.

mod api;
mod columns;
pub mod postgres;
pub mod sqlite;
pub mod testsuite;
mod url;

pub use api::*;
pub use url::{DatabaseUrl, migrate, open};
