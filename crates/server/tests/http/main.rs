//! HTTP tests: the real server on a loopback port over a fresh database (SQLite, or
//! PostgreSQL with MFALENS_TEST_BACKEND=postgres), driven with real HTTP and real signed
//! tokens. One test binary; one module per API area.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod auth;
mod graph;
mod ingest;
mod partner;
