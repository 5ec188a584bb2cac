//! SQLite schema, versioned with `PRAGMA user_version`. Every table is keyed by tenant first.

use crate::StoreError;
use rusqlite::Connection;

/// Migrations in order; index + 1 is the version each leaves behind. Never edit one that has
/// shipped: add another.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE signin_facts (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    created_ns INTEGER NOT NULL,
    metrics    INTEGER NOT NULL,
    flags      INTEGER NOT NULL,
    user_id    TEXT,
    app_id     TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX signin_facts_by_time ON signin_facts (tenant_id, created_ns);

CREATE TABLE metric_rollups (
    tenant_id TEXT    NOT NULL,
    metric    INTEGER NOT NULL,
    minute    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, metric, minute)
) WITHOUT ROWID;

CREATE TABLE users (
    tenant_id                TEXT    NOT NULL,
    id                       TEXT    NOT NULL,
    upn                      TEXT    NOT NULL,
    upn_lower                TEXT    NOT NULL,
    display_name             TEXT    NOT NULL,
    user_type                TEXT    NOT NULL,
    is_admin                 INTEGER NOT NULL,
    is_mfa_registered        INTEGER NOT NULL,
    is_mfa_capable           INTEGER NOT NULL,
    is_sspr_registered       INTEGER NOT NULL,
    is_sspr_enabled          INTEGER NOT NULL,
    is_sspr_capable          INTEGER NOT NULL,
    is_passwordless_capable  INTEGER NOT NULL,
    methods                  TEXT    NOT NULL,
    default_mfa_method       TEXT    NOT NULL,
    system_preferred         INTEGER NOT NULL,
    preferred_secondary      TEXT,
    account_enabled          INTEGER NOT NULL,
    per_user_mfa_state       TEXT    NOT NULL,
    last_updated_ns          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX users_by_upn ON users (tenant_id, upn_lower);

CREATE TABLE non_mfa_evidence (
    tenant_id        TEXT    NOT NULL,
    object_id        TEXT    NOT NULL,
    source           INTEGER NOT NULL,
    app_id           TEXT    NOT NULL,
    upn              TEXT,
    app_display_name TEXT,
    count            INTEGER NOT NULL,
    first_ns         INTEGER NOT NULL,
    last_ns          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id, source, app_id)
) WITHOUT ROWID;
CREATE INDEX non_mfa_evidence_by_last ON non_mfa_evidence (tenant_id, last_ns);
"#];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(crate::sqlite::db_err)?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(crate::sqlite::db_err)?;
        tx.execute_batch(sql).map_err(crate::sqlite::db_err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(crate::sqlite::db_err)?;
        tx.commit().map_err(crate::sqlite::db_err)?;
        tracing::info!(version = i + 1, "sqlite schema migrated");
    }
    Ok(())
}

pub fn version() -> i64 {
    MIGRATIONS.len() as i64
}
