//! Compact keys for the sign-in fact table: an id that is a GUID in canonical lower-case form
//! (what every Entra id is once normalised) is stored as its 16 bytes, anything else as text.
//! That halves the key columns of the largest table and its index, and makes every B-tree
//! comparison a 16-byte `memcmp` instead of a 36-character string compare.
//! Migration 2 converts existing rows with the same rule, written in SQL.

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A stored id. The derived order is SQLite's: every TEXT sorts before every BLOB, and each
/// compares bytewise (BINARY collation), so a batch sorted by `Key` is in B-tree order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key<'a> {
    Text(&'a str),
    Guid([u8; 16]),
}

impl<'a> Key<'a> {
    pub fn of(s: &'a str) -> Key<'a> {
        match guid_bytes(s) {
            Some(b) => Key::Guid(b),
            None => Key::Text(s),
        }
    }
}

impl ToSql for Key<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Key::Text(s) => ValueRef::Text(s.as_bytes()),
            Key::Guid(b) => ValueRef::Blob(b),
        }))
    }
}

/// The 16 bytes of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower-case hex; None otherwise
/// (upper case included: ids are lower-cased when parsed, and the SQL rule agrees).
/// Table-driven and branch-light: it runs four times per ingested sign-in.
fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    const HEX: [u8; 256] = {
        let mut t = [0xFF; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    // Offsets of the 16 digit pairs in the canonical form.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (o, &i) in out.iter_mut().zip(AT.iter()) {
        let (hi, lo) = (HEX[b[i] as usize], HEX[b[i + 1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0F);
    }
    (bad & 0xF0 == 0).then_some(out)
}

/// The same rule in SQL, for migrating existing text ids (`unhex` needs SQLite 3.41).
pub fn sql_key(column: &str) -> String {
    format!(
        "coalesce(CASE WHEN length({c}) = 36 AND {c} = lower({c}) AND substr({c}, 9, 1) = '-' \
         AND substr({c}, 14, 1) = '-' AND substr({c}, 19, 1) = '-' AND substr({c}, 24, 1) = '-' \
         AND length(replace({c}, '-', '')) = 32 THEN unhex(replace({c}, '-', '')) END, {c})",
        c = column
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_become_bytes_and_the_rest_stays_text() {
        let g = "0231f922-93fa-4005-bb11-b344eca03c01";
        let Key::Guid(b) = Key::of(g) else {
            panic!("a GUID")
        };
        assert_eq!(b[0], 0x02);
        assert_eq!(b[15], 0x01);
        assert_eq!(Key::of("x1"), Key::Text("x1"));
        assert_eq!(
            Key::of("0231F922-93FA-4005-BB11-B344ECA03C01"),
            Key::Text("0231F922-93FA-4005-BB11-B344ECA03C01")
        );
        assert_eq!(
            Key::of("0231f922-93fa-4005-bb11-b344eca03c0g"),
            Key::Text("0231f922-93fa-4005-bb11-b344eca03c0g")
        );
        assert_eq!(
            Key::of("0231f922093fa-4005-bb11-b344eca03c01"),
            Key::Text("0231f922093fa-4005-bb11-b344eca03c01")
        );
        assert!(
            Key::of("zzz") < Key::of(g),
            "text sorts before blobs, as in SQLite"
        );
    }

    #[test]
    fn the_sql_rule_agrees_with_the_rust_one() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for s in [
            "0231f922-93fa-4005-bb11-b344eca03c01",
            "0231F922-93FA-4005-BB11-B344ECA03C01",
            "0231f922-93fa-4005-bb11-b344eca03c0g",
            "0231f922-93fa-4005-bb11-b344eca03c-1",
            "x1",
            "",
        ] {
            let sql: rusqlite::types::Value = c
                .query_row(&format!("SELECT {}", sql_key("?1")), [s], |r| r.get(0))
                .unwrap();
            let rust: rusqlite::types::Value = match Key::of(s) {
                Key::Text(t) => rusqlite::types::Value::Text(t.to_string()),
                Key::Guid(b) => rusqlite::types::Value::Blob(b.to_vec()),
            };
            assert_eq!(sql, rust, "{s}");
        }
    }
}
