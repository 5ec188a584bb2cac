//! Server-driven paging for Graph collections: `$top` and the opaque `$skiptoken` carried by
//! `@odata.nextLink`. A token names the last item of the previous page (listings are ordered
//! by id), so a page never repeats or skips an item, whatever was written in between.

use crate::error::GraphError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// **ours:** page size when `$top` is absent.
pub const DEFAULT_TOP: usize = 100;
/// Largest `$top` accepted, as Graph's directory listings allow.
pub const MAX_TOP: usize = 999;

const TOKEN_PREFIX: &str = "u1:";
const MAX_ID_CHARS: usize = 256;

pub fn parse_top(v: &str) -> Result<usize, GraphError> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(GraphError::bad_request(format!(
            "Invalid value '{}' for query option $top: it must be an integer from 1 to {MAX_TOP}.",
            super::shown(v)
        ))),
    }
}

/// The token that continues a listing after the item with `last_id`.
pub fn skiptoken(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{last_id}"))
}

/// The id a `$skiptoken` continues after.
pub fn after_id(token: &str) -> Result<String, GraphError> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(TOKEN_PREFIX).map(str::to_string))
        .filter(|id| {
            !id.is_empty()
                && id.chars().count() <= MAX_ID_CHARS
                && !id.chars().any(char::is_control)
        })
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "The $skiptoken '{}' is not valid; continue a listing with the @odata.nextLink of its previous page.",
                super::shown(token)
            ))
        })
}

/// The query string of the next page: the request's own options, kept as sent, with
/// `$skiptoken` replaced.
pub fn next_query(raw_query: Option<&str>, token: &str) -> String {
    let mut kept: Vec<&str> = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            let key = mfalens_core::odata::percent_decode_strict(key).unwrap_or_default();
            !key.eq_ignore_ascii_case("$skiptoken")
        })
        .collect();
    let last = format!("$skiptoken={token}");
    kept.push(&last);
    kept.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_are_refused() {
        let id = "071cc716-8147-4397-a5ba-b2105951cc0b";
        let t = skiptoken(id);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(after_id(&t).unwrap(), id);
        for bad in [
            "",
            "!!",
            "abc",
            &URL_SAFE_NO_PAD.encode("v9:x"),
            &URL_SAFE_NO_PAD.encode("u1:"),
        ] {
            let e = after_id(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.message.contains("$skiptoken"));
        }
        assert!(after_id(&URL_SAFE_NO_PAD.encode("u1:a\u{1}b")).is_err());
    }

    #[test]
    fn top_is_bounded() {
        assert_eq!(parse_top("7").unwrap(), 7);
        assert_eq!(parse_top("999").unwrap(), 999);
        for bad in ["0", "1000", "-1", "ten", ""] {
            assert!(parse_top(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_query_keeps_options_and_replaces_the_token() {
        assert_eq!(next_query(None, "T"), "$skiptoken=T");
        assert_eq!(
            next_query(
                Some("$filter=isAdmin%20eq%20true&$top=5&%24skiptoken=OLD"),
                "T"
            ),
            "$filter=isAdmin%20eq%20true&$top=5&$skiptoken=T"
        );
    }
}
