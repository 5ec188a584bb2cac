//! Authentication (verified bearer tokens → `Principal`) and authorization (the permission
//! table). Tokens are never logged.

pub mod cache;
pub mod extract;
pub mod jwks;
pub mod keysource;
pub mod local;
pub mod permdoc;
pub mod policy;
pub mod principal;
pub mod trust;
pub mod verify;

pub use principal::{Grant, Principal};
pub use verify::{AuthError, Family, Verifier};
