//! Authentication (verified bearer tokens → `Principal`) and authorization (the permission
//! table). Tokens are never logged.

pub mod extract;
pub mod local;
pub mod policy;
pub mod principal;
pub mod verify;

pub use principal::{Grant, Principal};
pub use verify::{AuthError, Family, Verifier};
