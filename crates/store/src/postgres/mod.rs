//! The PostgreSQL store: a connection pool shared by one process, any number of processes
//! (mfalens nodes) sharing one database. All state lives in PostgreSQL; nothing here caches.
//! Driver errors and rows stay inside this module: callers see `StoreError` and domain types.

mod rows;
mod schema;
mod write;

use crate::api::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{
    Client, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use mfalens_core::classify::SignInFact;
use mfalens_core::directory::{DirectoryUser, PerUserMfaState, SignInPreferencesPatch};
use mfalens_core::metric::Metric;
use mfalens_core::principal::{NonMfaEvidence, NonMfaObservation, NonMfaPrincipal};
use mfalens_core::time::{NANOS_PER_MINUTE, to_nanos};
use rows::{USER_COLUMNS, col, count, user_from_row};
use std::time::Duration;
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;

pub use schema::{MigrationOutcome, version as schema_version};

/// Pool settings; the defaults suit one node of a few cores.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections this process may hold open at once.
    pub max_connections: usize,
    /// How long to wait for a new connection (unless the URL sets `connect_timeout`).
    pub connect_timeout: Duration,
    /// How long a request waits for a free pooled connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects with default pool settings and migrates the schema.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        Self::open_with(url, PostgresOptions::default()).await
    }

    /// Connects and migrates the schema (refusing one newer than this build knows). The
    /// schema used is the first of the connection's `search_path`; a URL may choose it with
    /// `?options=-c%20search_path%3Dmy_schema`.
    pub async fn open_with(url: &str, opts: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let pool = make_pool(url, &opts)?;
        let mut client = get(&pool).await?;
        schema::migrate(&mut client).await?;
        drop(client);
        Ok(PostgresStore { pool })
    }

    /// Connections open now and idle now, for status lines.
    pub fn pool_status(&self) -> (usize, usize) {
        let s = self.pool.status();
        (s.size, s.available)
    }

    async fn client(&self) -> Result<Client, StoreError> {
        get(&self.pool).await
    }

    async fn modify_user(
        &self,
        tenant: &str,
        user_id: &str,
        change: impl FnOnce(&mut DirectoryUser) + Send,
    ) -> Result<DirectoryUser, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
                ),
                &[&tenant, &user_id.to_ascii_lowercase()],
            )
            .await
            .map_err(pg_err)?
            .ok_or(StoreError::NotFound)?;
        let mut user = user_from_row(&row)?;
        change(&mut user);
        let values = rows::UserValues::new(&user);
        tx.execute(
            &format!(
                "UPDATE users u SET {set}
                 FROM (SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bool,
                              $7::bool, $8::bool, $9::bool, $10::bool, $11::bool, $12::bool,
                              $13::text[], $14::text, $15::bool, $16::text, $17::bool, $18::text,
                              $19::int8, $20::text) AS s ({cols})
                 WHERE u.tenant_id = s.tenant_id AND u.id = s.id",
                set = rows::USER_UPDATE_SET,
                cols = rows::USER_WRITE_COLUMNS,
            ),
            &values.params(),
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(user)
    }
}

/// Applies pending migrations to the database a URL names, and nothing else: for a
/// `mfalens migrate` step run once before rolling out new nodes.
pub async fn migrate(url: &str) -> Result<MigrationOutcome, StoreError> {
    let opts = PostgresOptions {
        max_connections: 1,
        ..PostgresOptions::default()
    };
    let pool = make_pool(url, &opts)?;
    let mut client = get(&pool).await?;
    schema::migrate(&mut client).await
}

fn make_pool(url: &str, opts: &PostgresOptions) -> Result<Pool, StoreError> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::BadUrl(describe(&e)))?;
    if cfg.get_ssl_mode() == SslMode::Require {
        return Err(StoreError::BadUrl(
            "sslmode=require: this build speaks to PostgreSQL without TLS; reach the server \
             over a trusted network, a Unix socket or a local TLS tunnel"
                .into(),
        ));
    }
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(opts.connect_timeout);
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("mfalens");
    }
    let manager = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(opts.max_connections.max(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(opts.connect_timeout))
        .wait_timeout(Some(opts.acquire_timeout))
        .build()
        .map_err(|e| StoreError::Other(format!("cannot build the PostgreSQL pool: {e}")))
}

async fn get(pool: &Pool) -> Result<Client, StoreError> {
    pool.get().await.map_err(|e| {
        StoreError::Other(match e {
            PoolError::Backend(e) => format!("cannot connect to PostgreSQL: {}", describe(&e)),
            PoolError::Timeout(TimeoutType::Wait) => format!(
                "no PostgreSQL connection came free in time (all {} in use)",
                pool.status().max_size
            ),
            PoolError::Timeout(_) => "timed out connecting to PostgreSQL".into(),
            other => format!("cannot get a PostgreSQL connection: {other}"),
        })
    })
}

/// An error and its causes, one line.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cur = c.source();
    }
    msg
}

/// The one mapping from driver errors to the domain's.
fn pg_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(db.message().to_string());
        }
        return StoreError::Other(format!("PostgreSQL {}: {db}", db.code().code()));
    }
    StoreError::Other(format!("PostgreSQL: {}", describe(&e)))
}

/// Errors after which PostgreSQL has rolled the transaction back and trying again may work.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// A failure inside a transaction body: a driver error (maybe worth a retry) or a domain one.
enum Fail {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Pg(e) => pg_err(e),
            Fail::Store(e) => e,
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ingest_signins(
        &self,
        batch: Vec<SignInFact>,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(IngestOutcome::default());
        }
        write::ingest_signins(&self.pool, batch, now).await
    }

    async fn upsert_users(&self, users: Vec<DirectoryUser>) -> Result<UpsertOutcome, StoreError> {
        write::upsert_users(&self.pool, users).await
    }

    async fn rollups(
        &self,
        tenant: &str,
        metric: Metric,
        first_minute: i64,
        end_minute: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "SELECT minute, count FROM metric_rollups
                 WHERE tenant_id = $1 AND metric = $2 AND minute >= $3 AND minute < $4
                 ORDER BY minute",
            )
            .await
            .map_err(pg_err)?;
        let metric = i16::from(metric.code());
        client
            .query(&st, &[&tenant, &metric, &first_minute, &end_minute])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| Ok((col(r, 0)?, count(col(r, 1)?))))
            .collect()
    }

    async fn raw_times(
        &self,
        tenant: &str,
        metric: Metric,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<i64>, StoreError> {
        if ranges.is_empty() {
            return Ok(vec![]);
        }
        let (lo, hi): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
        let bit = 1i16 << metric.code();
        let client = self.client().await?;
        // One index range scan per range, each range in turn (as many rows as ranges hold).
        let st = client
            .prepare_cached(
                "SELECT f.created_ns
                 FROM unnest($2::int8[], $3::int8[]) WITH ORDINALITY AS r (lo, hi, n)
                 CROSS JOIN LATERAL (
                     SELECT created_ns FROM signin_facts
                     WHERE tenant_id = $1 AND created_ns >= r.lo AND created_ns < r.hi
                       AND (metrics & $4) <> 0) f
                 ORDER BY r.n",
            )
            .await
            .map_err(pg_err)?;
        client
            .query(&st, &[&tenant, &lo, &hi, &bit])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| col(r, 0))
            .collect()
    }

    async fn user(&self, tenant: &str, key: &UserKey) -> Result<Option<DirectoryUser>, StoreError> {
        let (sql, value) = match key {
            UserKey::Id(id) => (
                format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"),
                id.to_ascii_lowercase(),
            ),
            UserKey::Upn(upn) => (
                format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND upn_lower = $2
                     ORDER BY id LIMIT 1"
                ),
                upn.to_lowercase(),
            ),
        };
        let client = self.client().await?;
        let st = client.prepare_cached(&sql).await.map_err(pg_err)?;
        client
            .query_opt(&st, &[&tenant, &value])
            .await
            .map_err(pg_err)?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn patch_sign_in_preferences(
        &self,
        tenant: &str,
        user_id: &str,
        patch: &SignInPreferencesPatch,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, StoreError> {
        self.modify_user(tenant, user_id, |u| {
            u.apply_sign_in_preferences(patch, now);
        })
        .await
    }

    async fn set_per_user_mfa_state(
        &self,
        tenant: &str,
        user_id: &str,
        state: PerUserMfaState,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, StoreError> {
        self.modify_user(tenant, user_id, |u| {
            u.set_per_user_mfa_state(state, now);
        })
        .await
    }

    async fn list_users(
        &self,
        tenant: &str,
        filter: &UserFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, StoreError> {
        let after = after_id.unwrap_or_default().to_ascii_lowercase();
        let mut sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id > $2");
        for (flag, value) in filter {
            sql.push_str(&format!(" AND {} = {value}", rows::flag_column(*flag)));
        }
        sql.push_str(" ORDER BY id LIMIT $3");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let st = client.prepare_cached(&sql).await.map_err(pg_err)?;
        client
            .query(&st, &[&tenant, &after, &limit])
            .await
            .map_err(pg_err)?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn record_non_mfa(&self, obs: NonMfaObservation) -> Result<(), StoreError> {
        let client = self.client().await?;
        write::EvidenceArrays::single(
            &obs.tenant_id,
            &obs.object_id,
            obs.source,
            &obs.app_id,
            obs.upn.as_deref(),
            obs.app_display_name.as_deref(),
            to_nanos(obs.at),
        )
        .upsert(&client)
        .await
        .map_err(pg_err)?;
        Ok(())
    }

    async fn record_non_mfa_batch(&self, batch: Vec<NonMfaObservation>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        write::EvidenceArrays::observations(&batch)
            .upsert(&client)
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn non_mfa_principals(
        &self,
        tenant: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NonMfaPrincipal>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "SELECT e.object_id, max(e.last_ns) AS last, max(e.upn), max(u.upn)
                 FROM non_mfa_evidence e
                 LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.object_id
                 WHERE e.tenant_id = $1 AND e.last_ns >= $2
                 GROUP BY e.object_id
                 ORDER BY last DESC, e.object_id
                 LIMIT $3",
            )
            .await
            .map_err(pg_err)?;
        client
            .query(&st, &[&tenant, &to_nanos(since), &limit])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| rows::principal_from_row(tenant, r))
            .collect()
    }

    async fn non_mfa_evidence(
        &self,
        tenant: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<NonMfaEvidence>, StoreError> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "SELECT e.object_id, coalesce(u.upn, e.upn), e.source, e.app_id,
                        e.app_display_name, e.count, e.first_ns, e.last_ns
                 FROM non_mfa_evidence e
                 LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.object_id
                 WHERE e.tenant_id = $1 AND e.last_ns >= $2
                 ORDER BY e.last_ns DESC, e.object_id, e.source, e.app_id",
            )
            .await
            .map_err(pg_err)?;
        client
            .query(&st, &[&tenant, &to_nanos(since)])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| rows::evidence_from_row(tenant, r))
            .collect()
    }

    async fn prune(&self, now: DateTime<Utc>) -> Result<PruneOutcome, StoreError> {
        let cutoff = write::retention_cutoff_ns(now);
        let cutoff_minute = cutoff.div_euclid(NANOS_PER_MINUTE);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let signins = tx
            .execute("DELETE FROM signin_facts WHERE created_ns < $1", &[&cutoff])
            .await
            .map_err(pg_err)?;
        let rollup_minutes = tx
            .execute(
                "DELETE FROM metric_rollups WHERE minute < $1",
                &[&cutoff_minute],
            )
            .await
            .map_err(pg_err)?;
        let evidence = tx
            .execute(
                "DELETE FROM non_mfa_evidence WHERE last_ns < $1",
                &[&cutoff],
            )
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(PruneOutcome {
            signins,
            rollup_minutes,
            evidence,
        })
    }

    async fn counts(&self, tenant: Option<&str>) -> Result<StoreCounts, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT
                   CASE WHEN $1::text IS NULL THEN
                     (SELECT count(*) FROM (SELECT tenant_id FROM users
                                            UNION SELECT tenant_id FROM metric_rollups) t)
                   ELSE 1 END,
                   (SELECT count(*) FROM users WHERE $1::text IS NULL OR tenant_id = $1),
                   (SELECT count(*) FROM signin_facts WHERE $1::text IS NULL OR tenant_id = $1),
                   (SELECT count(*) FROM (SELECT DISTINCT tenant_id, object_id
                                          FROM non_mfa_evidence
                                          WHERE $1::text IS NULL OR tenant_id = $1) p)",
                &[&tenant],
            )
            .await
            .map_err(pg_err)?;
        Ok(StoreCounts {
            tenants: count(col(&row, 0)?),
            users: count(col(&row, 1)?),
            signins: count(col(&row, 2)?),
            non_mfa_principals: count(col(&row, 3)?),
        })
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT tenant_id FROM users UNION SELECT tenant_id FROM metric_rollups ORDER BY 1",
                &[],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| col(r, 0))
            .collect()
    }
}
