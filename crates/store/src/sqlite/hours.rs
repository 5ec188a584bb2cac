//! Per-minute metric counts, stored an hour to a row: `metric_hours (tenant_id, metric, hour,
//! counts)` where `counts` holds 60 little-endian u32, one per minute of the hour.
//!
//! A 30-day query reads at most 744 rows (it read up to 43,200 one-minute rows, and that row
//! walk was most of a request), and an ingest batch rewrites one row per (tenant, metric,
//! hour) it touches instead of upserting one per minute.

use crate::StoreError;
use crate::sqlite::db_err;
use rusqlite::{Connection, OptionalExtension, params};

pub const MINUTES: i64 = 60;
const BYTES: usize = MINUTES as usize * 4;

/// The 60 counts of one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hour(pub [u32; MINUTES as usize]);

impl Hour {
    pub fn decode(b: &[u8]) -> Hour {
        let mut h = [0u32; MINUTES as usize];
        for (c, w) in h.iter_mut().zip(b.chunks_exact(4)) {
            *c = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        Hour(h)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(BYTES);
        for c in self.0 {
            b.extend_from_slice(&c.to_le_bytes());
        }
        b
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|c| *c == 0)
    }
}

pub fn hour_of(minute: i64) -> i64 {
    minute.div_euclid(MINUTES)
}

/// Adds `(minute, n)` increments, all in one `hour`, to the stored row.
pub fn add(
    c: &Connection,
    tenant: &str,
    metric: u8,
    hour: i64,
    increments: impl Iterator<Item = (i64, u32)>,
) -> Result<(), StoreError> {
    let mut h = load(c, tenant, metric, hour)?.unwrap_or(Hour([0; MINUTES as usize]));
    for (minute, n) in increments {
        let i = minute.rem_euclid(MINUTES) as usize;
        h.0[i] = h.0[i].saturating_add(n);
    }
    store(c, tenant, metric, hour, &h)
}

fn load(c: &Connection, tenant: &str, metric: u8, hour: i64) -> Result<Option<Hour>, StoreError> {
    c.prepare_cached(
        "SELECT counts FROM metric_hours WHERE tenant_id = ?1 AND metric = ?2 AND hour = ?3",
    )
    .map_err(db_err)?
    .query_row(params![tenant, metric, hour], |r| {
        r.get_ref(0)
            .map(|v| Hour::decode(v.as_blob().unwrap_or_default()))
    })
    .optional()
    .map_err(db_err)
}

fn store(c: &Connection, tenant: &str, metric: u8, hour: i64, h: &Hour) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO metric_hours (tenant_id, metric, hour, counts) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, metric, hour) DO UPDATE SET counts = excluded.counts",
    )
    .map_err(db_err)?
    .execute(params![tenant, metric, hour, h.encode()])
    .map_err(db_err)?;
    Ok(())
}

/// Non-zero per-minute counts of [first_minute, end_minute), in minute order.
pub fn read(
    c: &Connection,
    tenant: &str,
    metric: u8,
    first_minute: i64,
    end_minute: i64,
) -> Result<Vec<(i64, u64)>, StoreError> {
    if end_minute <= first_minute {
        return Ok(vec![]);
    }
    let mut st = c
        .prepare_cached(
            "SELECT hour, counts FROM metric_hours
             WHERE tenant_id = ?1 AND metric = ?2 AND hour >= ?3 AND hour <= ?4 ORDER BY hour",
        )
        .map_err(db_err)?;
    let mut rows = st
        .query(params![
            tenant,
            metric,
            hour_of(first_minute),
            hour_of(end_minute - 1)
        ])
        .map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let hour: i64 = r.get(0).map_err(db_err)?;
        let h = Hour::decode(r.get_ref(1).map_err(db_err)?.as_blob().unwrap_or_default());
        for (i, n) in h.0.iter().enumerate() {
            let minute = hour * MINUTES + i as i64;
            if *n != 0 && minute >= first_minute && minute < end_minute {
                out.push((minute, u64::from(*n)));
            }
        }
    }
    Ok(out)
}

/// Migration 2: moves the one-row-per-minute `metric_rollups` into `metric_hours`.
pub fn convert_minute_rollups(c: &Connection) -> Result<(), StoreError> {
    let rows: Vec<(String, u8, i64, i64)> = {
        let mut st = c
            .prepare("SELECT tenant_id, metric, minute, count FROM metric_rollups ORDER BY 1, 2, 3")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)?
    };
    for run in rows.chunk_by(|a, b| (&a.0, a.1, hour_of(a.2)) == (&b.0, b.1, hour_of(b.2))) {
        let (tenant, metric, minute, _) = &run[0];
        let increments = run
            .iter()
            .map(|r| (r.2, u32::try_from(r.3).unwrap_or(u32::MAX)));
        add(c, tenant, *metric, hour_of(*minute), increments)?;
    }
    c.execute_batch("DROP TABLE metric_rollups;")
        .map_err(db_err)
}

/// Drops counts of minutes before `cutoff_minute`; returns how many non-zero minutes went.
pub fn prune(c: &Connection, cutoff_minute: i64) -> Result<u64, StoreError> {
    let cutoff_hour = hour_of(cutoff_minute);
    let mut dropped = 0u64;
    // Whole hours before the cutoff.
    {
        let mut st = c
            .prepare("SELECT counts FROM metric_hours WHERE hour < ?1")
            .map_err(db_err)?;
        let mut rows = st.query([cutoff_hour]).map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            let h = Hour::decode(r.get_ref(0).map_err(db_err)?.as_blob().unwrap_or_default());
            dropped += h.0.iter().filter(|n| **n != 0).count() as u64;
        }
    }
    c.execute("DELETE FROM metric_hours WHERE hour < ?1", [cutoff_hour])
        .map_err(db_err)?;
    // The hour the cutoff falls in: its earlier minutes.
    let keep_from = cutoff_minute.rem_euclid(MINUTES) as usize;
    if keep_from > 0 {
        let partial: Vec<(String, u8, Hour)> = {
            let mut st = c
                .prepare("SELECT tenant_id, metric, counts FROM metric_hours WHERE hour = ?1")
                .map_err(db_err)?;
            let rows = st
                .query_map([cutoff_hour], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        Hour::decode(r.get_ref(2)?.as_blob().unwrap_or_default()),
                    ))
                })
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)?
        };
        for (tenant, metric, mut h) in partial {
            let gone = h.0[..keep_from].iter().filter(|n| **n != 0).count() as u64;
            if gone == 0 {
                continue;
            }
            dropped += gone;
            h.0[..keep_from].fill(0);
            if h.is_empty() {
                c.execute(
                    "DELETE FROM metric_hours WHERE tenant_id = ?1 AND metric = ?2 AND hour = ?3",
                    params![tenant, metric, cutoff_hour],
                )
                .map_err(db_err)?;
            } else {
                store(c, &tenant, metric, cutoff_hour, &h)?;
            }
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE metric_hours (tenant_id TEXT NOT NULL, metric INTEGER NOT NULL,
               hour INTEGER NOT NULL, counts BLOB NOT NULL, PRIMARY KEY (tenant_id, metric, hour))
               WITHOUT ROWID;",
        )
        .unwrap();
        c
    }

    #[test]
    fn counts_add_up_read_back_by_minute_and_prune_at_the_minute() {
        let c = db();
        add(&c, "t", 0, 10, [(600, 2), (659, 1)].into_iter()).unwrap();
        add(&c, "t", 0, 10, [(600, 3)].into_iter()).unwrap();
        add(&c, "t", 0, 11, [(661, 4)].into_iter()).unwrap();
        add(&c, "t", 1, 10, [(601, 9)].into_iter()).unwrap();
        assert_eq!(
            read(&c, "t", 0, 0, 10_000).unwrap(),
            vec![(600, 5), (659, 1), (661, 4)]
        );
        assert_eq!(read(&c, "t", 0, 601, 661).unwrap(), vec![(659, 1)]);
        assert_eq!(read(&c, "u", 0, 0, 10_000).unwrap(), vec![]);
        // Cutoff at minute 660: minutes 600, 601 (metric 1) and 659 go.
        assert_eq!(prune(&c, 660).unwrap(), 3);
        assert_eq!(read(&c, "t", 0, 0, 10_000).unwrap(), vec![(661, 4)]);
        // Cutoff inside hour 11.
        assert_eq!(prune(&c, 662).unwrap(), 1);
        let left: i64 = c
            .query_row("SELECT count(*) FROM metric_hours", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "an hour left empty is deleted");
    }
}
