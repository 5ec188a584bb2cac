//! The writes several nodes may run at once and that must count exactly once: sign-in batches
//! (facts, rollups and evidence in one transaction) and directory upserts.
//!
//! Exactly-once comes from the primary keys: a fact is inserted with `ON CONFLICT DO NOTHING`,
//! and only the rows that insert reports back (`RETURNING`) add to rollups and evidence, in the
//! same transaction. Rollups grow by `count = count + excluded.count`, so concurrent increments
//! add up instead of overwriting each other. Deadlocks are avoided by taking row locks in one
//! global order: facts sorted by key, then rollups sorted by key, then evidence sorted by key.
//! A deadlock or serialization failure that still happens rolls the whole batch back and the
//! batch is retried: retrying is safe precisely because ingest is idempotent.

use super::rows::{
    FACT_COLUMNS, FACT_TYPES, FactArrays, FactValues, USER_UPDATE_SET, USER_WRITE_COLUMNS,
    USER_WRITE_TYPES, UserValues, key_of,
};
use super::{Fail, get, is_transient};
use crate::{IngestOutcome, StoreError, UpsertOutcome};
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{Client, Pool};
use mfalens_core::RETENTION_DAYS;
use mfalens_core::classify::SignInFact;
use mfalens_core::directory::DirectoryUser;
use mfalens_core::principal::NonMfaSource;
use mfalens_core::time::{NANOS_PER_MINUTE, to_nanos};
use std::collections::BTreeMap;
use std::pin::pin;
use tokio_postgres::binary_copy::BinaryCopyInWriter;

/// Batches at least this large are staged with binary `COPY`; smaller ones travel as arrays
/// in one `INSERT ... SELECT FROM unnest(...)`, which saves the `COPY` round trips.
pub const COPY_THRESHOLD: usize = 64;

/// How many times a batch is tried when PostgreSQL reports a deadlock or serialization failure.
const MAX_ATTEMPTS: u32 = 5;

pub fn retention_cutoff_ns(now: DateTime<Utc>) -> i64 {
    to_nanos(now - Duration::days(RETENTION_DAYS))
}

/// Runs `$body` (an expression using `$client`, a fresh pooled connection) until it succeeds,
/// fails for good, or has been tried `MAX_ATTEMPTS` times.
macro_rules! with_retries {
    ($pool:expr, $what:literal, |$client:ident| $body:expr) => {{
        let mut attempt = 1;
        loop {
            let mut $client = get($pool).await?;
            match $body.await {
                Ok(v) => break Ok::<_, StoreError>(v),
                Err(Fail::Pg(e)) if attempt < MAX_ATTEMPTS && is_transient(&e) => {
                    tracing::warn!(attempt, error = %super::describe(&e), concat!($what, " retried"));
                    attempt += 1;
                }
                Err(e) => break Err(StoreError::from(e)),
            }
        }
    }};
}

pub async fn ingest_signins(
    pool: &Pool,
    batch: Vec<SignInFact>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, StoreError> {
    let cutoff = retention_cutoff_ns(now);
    let mut out = IngestOutcome::default();
    let mut live: Vec<&SignInFact> = Vec::with_capacity(batch.len());
    for f in &batch {
        if to_nanos(f.created) < cutoff {
            out.expired += 1;
        } else {
            live.push(f);
        }
    }
    // Sorted by key: sequential B-tree inserts, one lock order for every writer, and a
    // binary search to match what `RETURNING` reports. Repeats inside a batch are dropped.
    live.sort_unstable_by(|a, b| (&a.tenant_id, &a.id).cmp(&(&b.tenant_id, &b.id)));
    live.dedup_by(|a, b| a.tenant_id == b.tenant_id && a.id == b.id);
    let candidates = (batch.len() as u64) - out.expired;
    if !live.is_empty() {
        out.accepted = with_retries!(pool, "sign-in batch", |client| write_signins(
            &mut client,
            &live
        ))?;
    }
    out.duplicates = candidates - out.accepted;
    Ok(out)
}

/// What one batch adds to one evidence row.
struct EvidenceAdd<'a> {
    upn: Option<&'a str>,
    app_name: Option<&'a str>,
    count: i64,
    first: i64,
    last: i64,
}

async fn write_signins(client: &mut Client, live: &[&SignInFact]) -> Result<u64, Fail> {
    let values: Vec<FactValues<'_>> = live.iter().map(|f| FactValues::new(f)).collect();
    let tx = client.transaction().await?;
    let inserted = if values.len() < COPY_THRESHOLD {
        // `unnest` yields the (sorted) arrays in order, so rows are inserted in key order.
        let mut arrays = FactArrays::default();
        for v in &values {
            arrays.push(v);
        }
        let st = tx
            .prepare_cached(&format!(
                "INSERT INTO signin_facts ({FACT_COLUMNS})
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int2[], $5::int2[],
                                      $6::text[], $7::text[])
                 ON CONFLICT DO NOTHING
                 RETURNING tenant_id, id"
            ))
            .await?;
        tx.query(&st, &arrays.params()).await?
    } else {
        // A session-local staging table, emptied at every commit; its creation is a no-op
        // after the first batch on a connection (the notice saying so is silenced).
        tx.batch_execute(
            "SET LOCAL client_min_messages = warning;
             SET LOCAL work_mem = '64MB';
             CREATE TEMP TABLE IF NOT EXISTS mfalens_stage_facts (
                 tenant_id  TEXT COLLATE \"C\" NOT NULL,
                 id         TEXT COLLATE \"C\" NOT NULL,
                 created_ns BIGINT   NOT NULL,
                 metrics    SMALLINT NOT NULL,
                 flags      SMALLINT NOT NULL,
                 user_id    TEXT,
                 app_id     TEXT
             ) ON COMMIT DELETE ROWS;",
        )
        .await?;
        let sink = tx
            .copy_in(&format!(
                "COPY mfalens_stage_facts ({FACT_COLUMNS}) FROM STDIN (FORMAT binary)"
            ))
            .await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &FACT_TYPES));
        for v in &values {
            writer.as_mut().write(&v.params()).await?;
        }
        writer.finish().await?;
        let st = tx
            .prepare_cached(&format!(
                "INSERT INTO signin_facts ({FACT_COLUMNS})
                 SELECT {FACT_COLUMNS} FROM mfalens_stage_facts ORDER BY tenant_id, id
                 ON CONFLICT DO NOTHING
                 RETURNING tenant_id, id"
            ))
            .await?;
        tx.query(&st, &[]).await?
    };

    let mut accepted = vec![false; values.len()];
    for row in &inserted {
        let key = key_of(row)?;
        let i = values
            .binary_search_by(|v| (v.tenant_id, v.id).cmp(&key))
            .map_err(|_| StoreError::Other("INSERT returned a key not in the batch".into()))?;
        accepted[i] = true;
    }

    // Sorted maps: rows are upserted in key order, the same order in every writer.
    let mut rollups: BTreeMap<(&str, u8, i64), i64> = BTreeMap::new();
    let mut evidence: BTreeMap<(&str, &str, &str), EvidenceAdd<'_>> = BTreeMap::new();
    for ((f, v), _) in live
        .iter()
        .zip(&values)
        .zip(&accepted)
        .filter(|(_, ok)| **ok)
    {
        let minute = v.created_ns.div_euclid(NANOS_PER_MINUTE);
        for m in f.facts.metrics.iter() {
            *rollups.entry((v.tenant_id, m.code(), minute)).or_default() += 1;
        }
        if f.facts.partner_non_mfa
            && let Some(user) = f.user_id.as_deref()
        {
            let app = f.app_id.as_deref().unwrap_or_default();
            let e = evidence
                .entry((v.tenant_id, user, app))
                .or_insert(EvidenceAdd {
                    upn: None,
                    app_name: None,
                    count: 0,
                    first: v.created_ns,
                    last: v.created_ns,
                });
            e.upn = e.upn.or(f.user_principal_name.as_deref());
            e.app_name = e.app_name.or(f.app_display_name.as_deref());
            e.count += 1;
            e.first = e.first.min(v.created_ns);
            e.last = e.last.max(v.created_ns);
        }
    }

    if !rollups.is_empty() {
        let (mut tenants, mut metrics, mut minutes, mut counts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((tenant, metric, minute), n) in &rollups {
            tenants.push(*tenant);
            metrics.push(i16::from(*metric));
            minutes.push(*minute);
            counts.push(*n);
        }
        let st = tx
            .prepare_cached(
                "INSERT INTO metric_rollups AS r (tenant_id, metric, minute, count)
                 SELECT * FROM unnest($1::text[], $2::int2[], $3::int8[], $4::int8[])
                 ON CONFLICT (tenant_id, metric, minute)
                 DO UPDATE SET count = r.count + excluded.count",
            )
            .await?;
        tx.execute(&st, &[&tenants, &metrics, &minutes, &counts])
            .await?;
    }

    if !evidence.is_empty() {
        let mut rows = EvidenceArrays::default();
        for ((tenant, user, app), e) in &evidence {
            rows.push(tenant, user, NonMfaSource::SignIn, app, e);
        }
        rows.upsert(&tx).await?;
    }

    tx.commit().await?;
    Ok(inserted.len() as u64)
}

/// Evidence rows as one array per column, for one sorted `unnest` upsert.
#[derive(Default)]
pub struct EvidenceArrays<'a> {
    tenant: Vec<&'a str>,
    object: Vec<&'a str>,
    source: Vec<i16>,
    app: Vec<&'a str>,
    upn: Vec<Option<&'a str>>,
    app_name: Vec<Option<&'a str>>,
    count: Vec<i64>,
    first: Vec<i64>,
    last: Vec<i64>,
}

impl<'a> EvidenceArrays<'a> {
    fn push(
        &mut self,
        tenant: &'a str,
        object: &'a str,
        source: NonMfaSource,
        app: &'a str,
        e: &EvidenceAdd<'a>,
    ) {
        self.tenant.push(tenant);
        self.object.push(object);
        self.source.push(source.code());
        self.app.push(app);
        self.upn.push(e.upn);
        self.app_name.push(e.app_name);
        self.count.push(e.count);
        self.first.push(e.first);
        self.last.push(e.last);
    }

    /// Many observations, summed per (tenant, principal, source, application) and sorted by
    /// that key: one upsert may touch a row only once, and concurrent writers lock in order.
    pub fn observations(obs: &'a [mfalens_core::principal::NonMfaObservation]) -> Self {
        let mut per_key: std::collections::BTreeMap<(&str, &str, i16, &str), EvidenceAdd<'a>> =
            std::collections::BTreeMap::new();
        for o in obs {
            let at = mfalens_core::time::to_nanos(o.at);
            let e = per_key
                .entry((&o.tenant_id, &o.object_id, o.source.code(), &o.app_id))
                .or_insert(EvidenceAdd {
                    upn: None,
                    app_name: None,
                    count: 0,
                    first: at,
                    last: at,
                });
            e.upn = e.upn.or(o.upn.as_deref());
            e.app_name = e.app_name.or(o.app_display_name.as_deref());
            e.count += 1;
            e.first = e.first.min(at);
            e.last = e.last.max(at);
        }
        let mut rows = EvidenceArrays::default();
        for ((tenant, object, source, app), e) in &per_key {
            let source = NonMfaSource::from_code(*source).unwrap_or(NonMfaSource::ApiCall);
            rows.push(tenant, object, source, app, e);
        }
        rows
    }

    /// One observation, as `record_non_mfa` stores it.
    pub fn single(
        tenant: &'a str,
        object: &'a str,
        source: NonMfaSource,
        app: &'a str,
        upn: Option<&'a str>,
        app_name: Option<&'a str>,
        at_ns: i64,
    ) -> Self {
        let mut rows = EvidenceArrays::default();
        let add = EvidenceAdd {
            upn,
            app_name,
            count: 1,
            first: at_ns,
            last: at_ns,
        };
        rows.push(tenant, object, source, app, &add);
        rows
    }

    /// Adds the rows to `non_mfa_evidence`: counts add up, first/last widen, names fill in.
    pub async fn upsert(
        &self,
        c: &impl deadpool_postgres::GenericClient,
    ) -> Result<u64, tokio_postgres::Error> {
        let st = c
            .prepare_cached(
                "INSERT INTO non_mfa_evidence AS e
                   (tenant_id, object_id, source, app_id, upn, app_display_name,
                    count, first_ns, last_ns)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int2[], $4::text[], $5::text[],
                                      $6::text[], $7::int8[], $8::int8[], $9::int8[])
                 ON CONFLICT (tenant_id, object_id, source, app_id) DO UPDATE SET
                   upn = coalesce(excluded.upn, e.upn),
                   app_display_name = coalesce(excluded.app_display_name, e.app_display_name),
                   count = e.count + excluded.count,
                   first_ns = least(e.first_ns, excluded.first_ns),
                   last_ns = greatest(e.last_ns, excluded.last_ns)",
            )
            .await?;
        c.execute(
            &st,
            &[
                &self.tenant,
                &self.object,
                &self.source,
                &self.app,
                &self.upn,
                &self.app_name,
                &self.count,
                &self.first,
                &self.last,
            ],
        )
        .await
    }
}

pub async fn upsert_users(
    pool: &Pool,
    users: Vec<DirectoryUser>,
) -> Result<UpsertOutcome, StoreError> {
    // A batch applies in order: of several versions of one user the last wins, and each
    // earlier one counts as an update (as if written one after the other).
    let mut order: Vec<usize> = (0..users.len()).collect();
    order.sort_by(|&a, &b| {
        (&users[a].tenant_id, &users[a].id)
            .cmp(&(&users[b].tenant_id, &users[b].id))
            .then(a.cmp(&b))
    });
    let mut last: Vec<&DirectoryUser> = Vec::with_capacity(users.len());
    let mut repeats = 0u64;
    for i in order {
        let u = &users[i];
        match last.last_mut() {
            Some(prev) if prev.tenant_id == u.tenant_id && prev.id == u.id => {
                *prev = u;
                repeats += 1;
            }
            _ => last.push(u),
        }
    }
    if last.is_empty() {
        return Ok(UpsertOutcome::default());
    }
    let mut out = with_retries!(pool, "user upsert", |client| write_users(
        &mut client,
        &last
    ))?;
    out.updated += repeats;
    Ok(out)
}

async fn write_users(client: &mut Client, users: &[&DirectoryUser]) -> Result<UpsertOutcome, Fail> {
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TEMP TABLE IF NOT EXISTS mfalens_stage_users
             (LIKE users INCLUDING DEFAULTS, inserted BOOLEAN NOT NULL DEFAULT false)
             ON COMMIT DELETE ROWS;",
    )
    .await?;
    let sink = tx
        .copy_in(&format!(
            "COPY mfalens_stage_users ({USER_WRITE_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &USER_WRITE_TYPES));
    for u in users {
        writer.as_mut().write(&UserValues::new(u).params()).await?;
    }
    writer.finish().await?;
    if users.len() >= 1_000 {
        // A temp table has no statistics until analysed; the joins below want real numbers.
        tx.batch_execute("ANALYZE mfalens_stage_users").await?;
    }
    // New users first (in key order), then the rest, locked in key order before the update.
    let st = tx
        .prepare_cached(&format!(
            "WITH ins AS (
                 INSERT INTO users ({USER_WRITE_COLUMNS})
                 SELECT {USER_WRITE_COLUMNS} FROM mfalens_stage_users ORDER BY tenant_id, id
                 ON CONFLICT DO NOTHING
                 RETURNING tenant_id, id)
             UPDATE mfalens_stage_users s SET inserted = true
             FROM ins WHERE s.tenant_id = ins.tenant_id AND s.id = ins.id"
        ))
        .await?;
    let inserted = tx.execute(&st, &[]).await?;
    let mut updated = 0;
    if (inserted as usize) < users.len() {
        let lock = tx
            .prepare_cached(
                "SELECT count(*) FROM (
                     SELECT 1 FROM users u JOIN mfalens_stage_users s
                       ON u.tenant_id = s.tenant_id AND u.id = s.id
                     WHERE NOT s.inserted
                     ORDER BY u.tenant_id, u.id
                     FOR UPDATE OF u) locked",
            )
            .await?;
        tx.query_one(&lock, &[]).await?;
        let st = tx
            .prepare_cached(&format!(
                "UPDATE users u SET {USER_UPDATE_SET}
                 FROM mfalens_stage_users s
                 WHERE u.tenant_id = s.tenant_id AND u.id = s.id AND NOT s.inserted"
            ))
            .await?;
        updated = tx.execute(&st, &[]).await?;
    }
    tx.commit().await?;
    Ok(UpsertOutcome { inserted, updated })
}
