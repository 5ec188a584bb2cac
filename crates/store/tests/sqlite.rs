//! The store suite against a real SQLite file in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mfalens_store::sqlite::SqliteStore;
use mfalens_store::store_suite;
use mfalens_store::testsuite::Fixture;
use std::sync::Arc;

async fn fresh() -> Fixture {
    // The directory must outlive the store: leak it for the test's lifetime.
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&dir.join("t.db")).await.unwrap())
}

store_suite!(fresh());

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let err = SqliteStore::open(&path).await.err().unwrap();
    assert!(err.to_string().contains("newer"), "{err}");
}
