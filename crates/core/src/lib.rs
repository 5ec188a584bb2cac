//! mfalens domain: what a sign-in and a directory user are, how a sign-in is classified into
//! metric facts, how time is bucketed, and how OData function literals are read.
//! Nothing here does I/O or reads the clock: `now` is always a parameter.

pub mod classify;
pub mod directory;
pub mod filter;
pub mod ingest;
pub mod metric;
pub mod non_mfa_report;
pub mod odata;
pub mod principal;
pub mod records;
pub mod registration;
pub mod series;
pub mod signin;
pub mod synth;
pub mod time;

pub use chrono::{DateTime, Utc};

/// How long raw sign-in facts and rollups are kept, and how far back a metric query may start.
pub const RETENTION_DAYS: i64 = 30;
/// The Partner Center window: principals seen without MFA in the last 7 days.
pub const NON_MFA_WINDOW_DAYS: i64 = 7;
/// The Partner Center cap on returned principals.
pub const NON_MFA_MAX_ITEMS: usize = 10_000;
