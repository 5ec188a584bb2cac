//! Date-time reading and the three wire formats mfalens writes (Graph, Graph error, .NET).

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not an ISO-8601 date-time (expected e.g. 2026-11-01T00:00:00Z)")]
pub struct BadDateTime(pub String);

/// Reads an ISO-8601 / RFC 3339 date-time with any offset (`Z`, `+00:00`) and up to 9
/// fractional digits. A value without an offset is taken as UTC, as Entra exports mean it.
pub fn parse_datetime(s: &str) -> Result<DateTime<Utc>, BadDateTime> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    // Lower-case 't'/'z' and a space separator appear in some exports.
    let normal = t.replacen(' ', "T", 1).to_ascii_uppercase();
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normal) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&normal, fmt) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    Err(BadDateTime(s.to_string()))
}

/// Graph bodies: UTC with `Z`, fractional seconds only when non-zero (trailing zeros dropped).
pub fn graph_datetime(dt: DateTime<Utc>) -> String {
    let mut s = String::with_capacity(28);
    push_graph_datetime(&mut s, dt);
    s
}

/// Appends [`graph_datetime`] to `out` without a format string: a metric series writes
/// thousands of these per response.
pub fn push_graph_datetime(out: &mut String, dt: DateTime<Utc>) {
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&dt.format("%Y-%m-%dT%H:%M:%S").to_string());
    } else {
        let two = |out: &mut String, v: u32| {
            out.push(char::from(b'0' + (v / 10 % 10) as u8));
            out.push(char::from(b'0' + (v % 10) as u8));
        };
        two(out, year as u32 / 100);
        two(out, year as u32 % 100);
        out.push('-');
        two(out, dt.month());
        out.push('-');
        two(out, dt.day());
        out.push('T');
        two(out, dt.hour());
        out.push(':');
        two(out, dt.minute());
        out.push(':');
        two(out, dt.second());
    }
    if dt.timestamp_subsec_nanos() != 0 {
        out.push_str(&fraction(dt, 7));
    }
    out.push('Z');
}

/// The `innerError.date` of a Graph error: no zone, no fraction.
pub fn graph_error_date(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Partner Center dates, written the .NET way: up to 7 fractional digits, trailing zeros
/// dropped, no zone designator (the value is UTC).
pub fn dotnet_datetime(dt: DateTime<Utc>) -> String {
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    format!("{base}{}", fraction(dt, 7))
}

/// RFC 3339 for logs and CLI output.
pub fn rfc3339(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn fraction(dt: DateTime<Utc>, digits: usize) -> String {
    let nanos = dt.timestamp_subsec_nanos() % 1_000_000_000;
    if nanos == 0 {
        return String::new();
    }
    let full = format!("{nanos:09}");
    let cut = &full[..digits.min(9)];
    let trimmed = cut.trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(".{trimmed}")
    }
}

/// Nanoseconds since the Unix epoch: the stored form of every instant (fits i64 until 2262).
pub fn to_nanos(dt: DateTime<Utc>) -> i64 {
    dt.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

pub fn from_nanos(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

pub const NANOS_PER_MINUTE: i64 = 60_000_000_000;

/// The minute (since the epoch) holding an instant; rollups are keyed by it.
pub fn minute_of(dt: DateTime<Utc>) -> i64 {
    to_nanos(dt).div_euclid(NANOS_PER_MINUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_real_exports_use() {
        let a = parse_datetime("2019-03-12T16:02:15.5522137+00:00").unwrap();
        let b = parse_datetime("2019-03-12T16:02:15.5522137Z").unwrap();
        let c = parse_datetime("2019-03-12 16:02:15.5522137").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            parse_datetime("2026-11-01T02:00:00+02:00").unwrap(),
            parse_datetime("2026-11-01T00:00:00Z").unwrap()
        );
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn writes_graph_and_dotnet_forms() {
        let t = parse_datetime("2020-04-21T22:09:53.0510000Z").unwrap();
        assert_eq!(graph_datetime(t), "2020-04-21T22:09:53.051Z");
        assert_eq!(dotnet_datetime(t), "2020-04-21T22:09:53.051");
        let whole = parse_datetime("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(graph_datetime(whole), "2026-11-01T00:00:00Z");
        let early = parse_datetime("0999-01-02T03:04:05.5Z").unwrap();
        assert_eq!(graph_datetime(early), "0999-01-02T03:04:05.5Z");
        let far = parse_datetime("2026-12-31T23:59:59.9999999Z").unwrap();
        assert_eq!(graph_datetime(far), "2026-12-31T23:59:59.9999999Z");
        assert_eq!(dotnet_datetime(whole), "2026-11-01T00:00:00");
        assert_eq!(graph_error_date(t), "2020-04-21T22:09:53");
        let seven = parse_datetime("2019-03-12T16:02:15.5522137Z").unwrap();
        assert_eq!(dotnet_datetime(seven), "2019-03-12T16:02:15.5522137");
    }

    #[test]
    fn minutes_floor_before_the_epoch_too() {
        assert_eq!(minute_of(from_nanos(-1)), -1);
        assert_eq!(minute_of(from_nanos(59_999_999_999)), 0);
        assert_eq!(minute_of(from_nanos(60_000_000_000)), 1);
    }
}
