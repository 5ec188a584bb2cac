//! Interval series for the service-activity metrics: request validation, which stored
//! per-minute rollups and which sub-minute raw ranges a request needs, and the dense
//! series assembled from them. Query cost is bounded by the intervals, not the events.

use crate::RETENTION_DAYS;
use crate::time::{NANOS_PER_MINUTE, graph_datetime, to_nanos};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};

pub const ALLOWED_INTERVALS: [u32; 4] = [5, 10, 15, 30];
pub const DEFAULT_INTERVAL: u32 = 15;
/// Longest window one request may span (start may be 30 days back; a day of slack ahead).
pub const MAX_WINDOW_DAYS: i64 = RETENTION_DAYS + 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("aggregationIntervalInMinutes must be one of 5, 10, 15 or 30; {0} is not allowed")]
    Interval(i64),
    #[error(
        "inclusiveIntervalStartDateTime {start} is more than {RETENTION_DAYS} days in the past; the earliest allowed start is {earliest}"
    )]
    StartTooOld { start: String, earliest: String },
    #[error(
        "exclusiveIntervalEndDateTime {end} must be after inclusiveIntervalStartDateTime {start}"
    )]
    EndNotAfterStart { start: String, end: String },
    #[error("the requested window spans more than {MAX_WINDOW_DAYS} days")]
    WindowTooLong,
}

/// A validated metric window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub interval_minutes: u32,
}

impl Window {
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        interval_minutes: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Window, SeriesError> {
        let interval = interval_minutes.unwrap_or(DEFAULT_INTERVAL as i64);
        let interval = ALLOWED_INTERVALS
            .into_iter()
            .find(|a| *a as i64 == interval)
            .ok_or(SeriesError::Interval(interval))?;
        let earliest = now - Duration::days(RETENTION_DAYS);
        if start < earliest {
            return Err(SeriesError::StartTooOld {
                start: graph_datetime(start),
                earliest: graph_datetime(earliest),
            });
        }
        if end <= start {
            return Err(SeriesError::EndNotAfterStart {
                start: graph_datetime(start),
                end: graph_datetime(end),
            });
        }
        if end - start > Duration::days(MAX_WINDOW_DAYS) {
            return Err(SeriesError::WindowTooLong);
        }
        Ok(Window {
            start,
            end,
            interval_minutes: interval,
        })
    }

    fn interval_nanos(&self) -> i64 {
        self.interval_minutes as i64 * NANOS_PER_MINUTE
    }

    /// Number of intervals in [start, end); the last may be shorter.
    pub fn len(&self) -> usize {
        let span = to_nanos(self.end) - to_nanos(self.start);
        ((span + self.interval_nanos() - 1) / self.interval_nanos()) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What to read from the store for this window.
    pub fn plan(&self) -> Plan {
        let (s, e, step) = (
            to_nanos(self.start),
            to_nanos(self.end),
            self.interval_nanos(),
        );
        // Boundaries that fall inside a minute split it: that minute is read raw.
        let mut raw_minutes = BTreeSet::new();
        let mut b = s;
        while b < e {
            if b.rem_euclid(NANOS_PER_MINUTE) != 0 {
                raw_minutes.insert(b.div_euclid(NANOS_PER_MINUTE));
            }
            b += step;
        }
        if e.rem_euclid(NANOS_PER_MINUTE) != 0 {
            raw_minutes.insert(e.div_euclid(NANOS_PER_MINUTE));
        }
        let raw_ranges = raw_minutes
            .iter()
            .map(|m| {
                let lo = (m * NANOS_PER_MINUTE).max(s);
                let hi = ((m + 1) * NANOS_PER_MINUTE).min(e);
                (lo, hi)
            })
            .collect();
        Plan {
            first_minute: s.div_euclid(NANOS_PER_MINUTE),
            end_minute: (e + NANOS_PER_MINUTE - 1).div_euclid(NANOS_PER_MINUTE),
            raw_minutes,
            raw_ranges,
        }
    }

    /// Builds the dense series from per-minute rollups and raw event times.
    pub fn assemble(&self, plan: &Plan, rollups: &[(i64, u64)], raw_times: &[i64]) -> Vec<Point> {
        let (s, e, step) = (
            to_nanos(self.start),
            to_nanos(self.end),
            self.interval_nanos(),
        );
        let mut counts = vec![0u64; self.len()];
        for &(minute, n) in rollups {
            let lo = minute * NANOS_PER_MINUTE;
            if plan.raw_minutes.contains(&minute) || lo < s || lo + NANOS_PER_MINUTE > e {
                continue;
            }
            counts[((lo - s) / step) as usize] += n;
        }
        for &t in raw_times {
            if t >= s && t < e && plan.raw_minutes.contains(&t.div_euclid(NANOS_PER_MINUTE)) {
                counts[((t - s) / step) as usize] += 1;
            }
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(i, value)| Point {
                interval_start: self.start + Duration::nanoseconds(step * i as i64),
                value,
            })
            .collect()
    }
}

/// Store reads for one window: rollup minutes in [first_minute, end_minute), and raw event
/// times in `raw_ranges` (nanosecond [from, to) ranges, each within one minute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub first_minute: i64,
    pub end_minute: i64,
    pub raw_minutes: BTreeSet<i64>,
    pub raw_ranges: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub interval_start: DateTime<Utc>,
    pub value: u64,
}

/// Reference computation straight from event times, for tests: what `assemble` must equal.
pub fn count_directly(w: &Window, event_times: &[DateTime<Utc>]) -> Vec<u64> {
    let mut m = BTreeMap::new();
    for t in event_times {
        if *t >= w.start && *t < w.end {
            let k = (to_nanos(*t) - to_nanos(w.start)) / w.interval_nanos();
            *m.entry(k).or_insert(0u64) += 1;
        }
    }
    (0..w.len() as i64)
        .map(|k| m.get(&k).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{minute_of, parse_datetime};
    use std::collections::HashMap;

    fn t(s: &str) -> DateTime<Utc> {
        parse_datetime(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        t("2026-11-23T12:00:00Z")
    }

    /// Runs plan + assemble over in-memory events, as a store would.
    fn via_plan(w: &Window, events: &[DateTime<Utc>]) -> Vec<u64> {
        let plan = w.plan();
        let mut per_minute: HashMap<i64, u64> = HashMap::new();
        for e in events {
            *per_minute.entry(minute_of(*e)).or_default() += 1;
        }
        let rollups: Vec<(i64, u64)> = per_minute
            .into_iter()
            .filter(|(m, _)| *m >= plan.first_minute && *m < plan.end_minute)
            .collect();
        let raw: Vec<i64> = events
            .iter()
            .map(|e| to_nanos(*e))
            .filter(|n| plan.raw_ranges.iter().any(|(lo, hi)| n >= lo && n < hi))
            .collect();
        w.assemble(&plan, &rollups, &raw)
            .iter()
            .map(|p| p.value)
            .collect()
    }

    #[test]
    fn the_documented_example_gives_two_intervals() {
        let w = Window::new(
            t("2026-11-20T00:00:00Z"),
            t("2026-11-20T00:20:00Z"),
            Some(10),
            now(),
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        let ev = [
            t("2026-11-20T00:00:00Z"),
            t("2026-11-20T00:09:59.999Z"),
            t("2026-11-20T00:10:00Z"),
            t("2026-11-20T00:20:00Z"),
        ];
        assert_eq!(via_plan(&w, &ev), vec![2, 1]);
        let pts = w.assemble(&w.plan(), &[], &[]);
        assert_eq!(pts[1].interval_start, t("2026-11-20T00:10:00Z"));
    }

    #[test]
    fn unaligned_edges_are_exact() {
        let w = Window::new(
            t("2026-11-20T00:00:30Z"),
            t("2026-11-20T00:31:10Z"),
            Some(5),
            now(),
        )
        .unwrap();
        assert_eq!(w.len(), 7, "the last interval is shorter");
        let ev: Vec<_> = (0..2000)
            .map(|i| t("2026-11-19T23:59:00Z") + Duration::milliseconds(i * 1003))
            .collect();
        assert_eq!(via_plan(&w, &ev), count_directly(&w, &ev));
        assert!(!w.plan().raw_ranges.is_empty());
        let aligned = Window::new(
            t("2026-11-20T00:00:00Z"),
            t("2026-11-21T00:00:00Z"),
            None,
            now(),
        )
        .unwrap();
        assert!(
            aligned.plan().raw_ranges.is_empty(),
            "aligned windows read rollups only"
        );
        assert_eq!(aligned.len(), 96);
    }

    #[test]
    fn validation_names_the_problem() {
        let start = t("2026-11-20T00:00:00Z");
        assert_eq!(
            Window::new(start, start + Duration::hours(1), Some(7), now()),
            Err(SeriesError::Interval(7))
        );
        assert!(matches!(
            Window::new(start, start, None, now()),
            Err(SeriesError::EndNotAfterStart { .. })
        ));
        let old = now() - Duration::days(30) - Duration::seconds(1);
        assert!(matches!(
            Window::new(old, now(), None, now()),
            Err(SeriesError::StartTooOld { .. })
        ));
        let edge = now() - Duration::days(30);
        assert!(
            Window::new(edge, now(), None, now()).is_ok(),
            "exactly 30 days back is allowed"
        );
        assert_eq!(
            Window::new(start, start + Duration::days(40), None, now()),
            Err(SeriesError::WindowTooLong)
        );
        assert_eq!(
            Window::new(start, start + Duration::hours(1), None, now())
                .unwrap()
                .interval_minutes,
            15
        );
    }
}
