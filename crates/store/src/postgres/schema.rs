//! PostgreSQL schema, versioned in a `schema_migrations` table. Every table is keyed by
//! `tenant_id` first so that it can be distributed by tenant (Citus) without a rewrite.
//! Owns the DDL and the migration lock; must not hold queries of the running service.

use super::pg_err;
use crate::StoreError;
use deadpool_postgres::{Client, Transaction};

/// Migrations in order; index + 1 is the version each leaves behind. Never edit one that has
/// shipped: add another. Text keys are `COLLATE "C"`: byte order, the same as SQLite and Rust
/// sort them, and cheaper B-tree comparisons than a linguistic collation.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE signin_facts (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    created_ns BIGINT   NOT NULL,
    metrics    SMALLINT NOT NULL,
    flags      SMALLINT NOT NULL,
    user_id    TEXT,
    app_id     TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX signin_facts_by_time ON signin_facts (tenant_id, created_ns);

CREATE TABLE metric_rollups (
    tenant_id TEXT COLLATE "C" NOT NULL,
    metric    SMALLINT NOT NULL,
    minute    BIGINT   NOT NULL,
    count     BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, metric, minute)
) WITH (fillfactor = 80); -- room on each page for HOT updates: `count` is not indexed

CREATE TABLE users (
    tenant_id               TEXT COLLATE "C" NOT NULL,
    id                      TEXT COLLATE "C" NOT NULL,
    upn                     TEXT    NOT NULL,
    upn_lower               TEXT COLLATE "C" NOT NULL,
    display_name            TEXT    NOT NULL,
    user_type               TEXT    NOT NULL,
    is_admin                BOOLEAN NOT NULL,
    is_mfa_registered       BOOLEAN NOT NULL,
    is_mfa_capable          BOOLEAN NOT NULL,
    is_sspr_registered      BOOLEAN NOT NULL,
    is_sspr_enabled         BOOLEAN NOT NULL,
    is_sspr_capable         BOOLEAN NOT NULL,
    is_passwordless_capable BOOLEAN NOT NULL,
    methods                 TEXT[]  NOT NULL,
    default_mfa_method      TEXT    NOT NULL,
    system_preferred        BOOLEAN NOT NULL,
    preferred_secondary     TEXT,
    account_enabled         BOOLEAN NOT NULL,
    per_user_mfa_state      TEXT    NOT NULL,
    last_updated_ns         BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX users_by_upn ON users (tenant_id, upn_lower);

CREATE TABLE non_mfa_evidence (
    tenant_id        TEXT COLLATE "C" NOT NULL,
    object_id        TEXT COLLATE "C" NOT NULL,
    source           SMALLINT NOT NULL,
    app_id           TEXT COLLATE "C" NOT NULL,
    upn              TEXT,
    app_display_name TEXT,
    count            BIGINT   NOT NULL,
    first_ns         BIGINT   NOT NULL,
    last_ns          BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, object_id, source, app_id)
);
CREATE INDEX non_mfa_evidence_by_last ON non_mfa_evidence (tenant_id, last_ns);
"#];

/// What a migration run found and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationOutcome {
    /// The schema version before the run (0: an empty schema).
    pub from: i64,
    /// The schema version now in force.
    pub to: i64,
}

/// The newest schema version this build knows.
pub fn version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema named by the connection's `search_path` up to date, in one transaction.
/// Several nodes may start at once: a transaction-scoped advisory lock (keyed by schema)
/// makes them take turns, and the later ones find nothing left to do.
pub async fn migrate(client: &mut Client) -> Result<MigrationOutcome, StoreError> {
    let tx = client.transaction().await.map_err(pg_err)?;
    match migrate_in(&tx).await {
        Ok(out) => {
            tx.commit().await.map_err(pg_err)?;
            Ok(out)
        }
        Err(e) => {
            // Release the lock now rather than whenever the dropped transaction is noticed.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

async fn migrate_in(tx: &Transaction<'_>) -> Result<MigrationOutcome, StoreError> {
    let known = version();
    let schema: Option<String> = tx
        .query_one("SELECT current_schema()::text", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(pg_err)?;
    let Some(schema) = schema else {
        return Err(StoreError::Other(
            "the connection's search_path names no existing schema; create the schema first \
             or fix the `options=-c search_path=...` part of the database URL"
                .into(),
        ));
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('mfalens schema migrations ' || $1::text))",
        &[&schema],
    )
    .await
    .map_err(pg_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_err)?;
    let found: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(pg_err)?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let v = i as i64 + 1;
        tx.batch_execute(sql).await.map_err(pg_err)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
            .await
            .map_err(pg_err)?;
        tracing::info!(version = v, schema = %schema, "postgres schema migrated");
    }
    Ok(MigrationOutcome {
        from: found,
        to: known,
    })
}
