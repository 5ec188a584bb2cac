//! HTTP tests: the real server on a loopback port over a fresh SQLite file, driven with
//! real HTTP and real signed tokens. One test binary; one module per API area.

mod app;
mod ingest;
