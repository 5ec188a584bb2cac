//! SQLite schema, versioned with `PRAGMA user_version`. Every table is keyed by tenant first.

use crate::StoreError;
use crate::sqlite::keys::sql_key;
use rusqlite::Connection;

/// Migrations in order; index + 1 is the version each leaves behind. Never edit one that has
/// shipped: add another.
fn migrations() -> Vec<String> {
    vec![V1.to_string(), v2()]
}

const V1: &str = r#"
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
"#;

/// Compact fact keys (see `keys.rs`): GUID ids as 16-byte blobs; per-minute counts an hour
/// to a row (see `hours.rs`; the minute rows are moved over in Rust after this SQL). The time index becomes a
/// table of its own, `signin_times`, holding only sign-ins that count toward some metric (the
/// only ones a raw-range query can return): an ingest batch inserts into it in time order,
/// where index maintenance in the facts' key order was a random insert per row and cost
/// more than the facts themselves.
fn v2() -> String {
    format!(
        r#"
CREATE TABLE signin_facts_v2 (
    tenant_id  BLOB    NOT NULL,
    id         BLOB    NOT NULL,
    created_ns INTEGER NOT NULL,
    metrics    INTEGER NOT NULL,
    flags      INTEGER NOT NULL,
    user_id    BLOB,
    app_id     BLOB,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
INSERT INTO signin_facts_v2
    SELECT {}, {}, created_ns, metrics, flags, {}, {} FROM signin_facts;
DROP TABLE signin_facts;
ALTER TABLE signin_facts_v2 RENAME TO signin_facts;
CREATE TABLE signin_times (
    tenant_id  BLOB    NOT NULL,
    created_ns INTEGER NOT NULL,
    id         BLOB    NOT NULL,
    metrics    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, created_ns, id)
) WITHOUT ROWID;
INSERT INTO signin_times
    SELECT tenant_id, created_ns, id, metrics FROM signin_facts WHERE metrics != 0;
CREATE TABLE metric_hours (
    tenant_id TEXT    NOT NULL,
    metric    INTEGER NOT NULL,
    hour      INTEGER NOT NULL,
    counts    BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, metric, hour)
) WITHOUT ROWID;
"#,
        sql_key("tenant_id"),
        sql_key("id"),
        sql_key("user_id"),
        sql_key("app_id")
    )
}

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let migrations = migrations();
    let known = migrations.len() as i64;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(crate::sqlite::db_err)?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(crate::sqlite::db_err)?;
        tx.execute_batch(sql).map_err(crate::sqlite::db_err)?;
        if i + 1 == 2 {
            crate::sqlite::hours::convert_minute_rollups(&tx)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(crate::sqlite::db_err)?;
        tx.commit().map_err(crate::sqlite::db_err)?;
        tracing::info!(version = i + 1, "sqlite schema migrated");
    }
    Ok(())
}

pub fn version() -> i64 {
    migrations().len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_2_turns_guid_ids_into_blobs_and_keeps_the_rest() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(V1).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute_batch(
            "INSERT INTO signin_facts VALUES
               ('0231f922-93fa-4005-bb11-b344eca03c01', '72f988bf-86f1-41af-91ab-2d7cd011db47', 5, 1, 0, 'u1', NULL),
               ('t1', 'x1', 6, 2, 1, NULL, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
             INSERT INTO metric_rollups VALUES ('t1', 0, 600, 2), ('t1', 0, 661, 3), ('t1', 1, 600, 1);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let rows: Vec<(String, String, String, String)> = c
            .prepare("SELECT typeof(tenant_id), typeof(id), typeof(user_id), typeof(app_id) FROM signin_facts ORDER BY created_ns")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows[0],
            ("blob".into(), "blob".into(), "text".into(), "null".into())
        );
        assert_eq!(
            rows[1],
            ("text".into(), "text".into(), "null".into(), "blob".into())
        );
        assert_eq!(
            c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            2
        );
    }
}
