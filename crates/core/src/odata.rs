//! OData pieces of Graph URLs: strict percent-decoding, function-call segments with inline
//! parameters or `@alias` references resolved from the query string, and literals.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ODataError {
    #[error("malformed percent-encoding in '{0}'")]
    PercentEncoding(String),
    #[error("'{0}' is not a function call of the form name(param=value,...)")]
    NotAFunctionCall(String),
    #[error("unknown function parameter '{0}'")]
    UnknownParameter(String),
    #[error("parameter '{0}' is given more than once")]
    DuplicateParameter(String),
    #[error("required parameter '{0}' is missing")]
    MissingParameter(String),
    #[error("parameter alias '{0}' has no value in the query string")]
    UnboundAlias(String),
    #[error(
        "'{value}' is not a valid Edm.DateTimeOffset literal for '{param}' (expected e.g. 2026-11-01T00:00:00Z)"
    )]
    BadDateTimeOffset { param: String, value: String },
    #[error("'{value}' is not a valid Edm.Int32 literal for '{param}'")]
    BadInt32 { param: String, value: String },
    #[error("'{value}' is not a valid value for '{param}' (expected one of: {expected})")]
    BadEnum {
        param: String,
        value: String,
        expected: String,
    },
}

/// Decodes `%XX` sequences, refusing stray `%` and bytes that are not UTF-8.
pub fn percent_decode_strict(s: &str) -> Result<String, ODataError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                    out.push(v);
                    i += 3;
                }
                _ => return Err(ODataError::PercentEncoding(s.to_string())),
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ODataError::PercentEncoding(s.to_string()))
}

/// Query-string pairs, decoded strictly. `+` stays `+`: OData query values are not form-encoded,
/// and date-time offsets such as `+00:00` must survive.
pub fn parse_query(q: Option<&str>) -> Result<Vec<(String, String)>, ODataError> {
    let Some(q) = q else { return Ok(vec![]) };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode_strict(k)?, percent_decode_strict(v)?))
        })
        .collect()
}

/// A function call from a path segment: its name and raw parameter values (aliases resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    pub name: String,
    /// Parameter name (as declared) → literal text; absent when not given or bound to null.
    pub params: HashMap<&'static str, String>,
}

/// Parses `name(p1=v1,p2=@alias)` (the segment as it came, still percent-encoded), or a bare
/// `name` whose parameters come from the query string. `declared` lists the parameter names;
/// they match case-insensitively, as Graph does.
///
/// The official SDKs' URI templates drop the commas between parameters
/// (`f(a=1b=2)`), so a declared `name=` starts a parameter wherever it appears. The raw text
/// is split first and each value decoded afterwards, so an encoded `%2C` never splits a value.
pub fn parse_function_call(
    raw_segment: &str,
    query: &[(String, String)],
    declared: &[&'static str],
) -> Result<FunctionCall, ODataError> {
    // A client that encoded the parentheses too is read as if it had not.
    let decoded_whole = percent_decode_strict(raw_segment)?;
    let seg: &str = if raw_segment.contains('(') || !decoded_whole.contains('(') {
        raw_segment
    } else {
        &decoded_whole
    };
    let lookup = |n: &str| declared.iter().copied().find(|d| d.eq_ignore_ascii_case(n));
    let alias_value = |alias: &str| -> Option<String> {
        let bare = alias.trim_start_matches('@');
        query
            .iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(alias)
                    || k.trim_start_matches('@').eq_ignore_ascii_case(bare)
            })
            .map(|(_, v)| v.clone())
    };
    let mut params = HashMap::new();
    let Some(open) = seg.find('(') else {
        for (k, v) in query {
            if let Some(decl) = lookup(k.trim_start_matches('@'))
                && params.insert(decl, v.clone()).is_some()
            {
                return Err(ODataError::DuplicateParameter(decl.to_string()));
            }
        }
        return Ok(FunctionCall {
            name: decoded_whole,
            params,
        });
    };
    if !seg.ends_with(')') {
        return Err(ODataError::NotAFunctionCall(decoded_whole));
    }
    let name = percent_decode_strict(&seg[..open])?;
    let inner = &seg[open + 1..seg.len() - 1];
    for piece in split_parameters(inner, declared) {
        let (k, v) = piece.split_once('=').ok_or_else(|| {
            ODataError::UnknownParameter(
                percent_decode_strict(piece).unwrap_or_else(|_| piece.to_string()),
            )
        })?;
        let k = percent_decode_strict(k.trim())?;
        let v = percent_decode_strict(v.trim())?;
        let decl = lookup(&k).ok_or_else(|| ODataError::UnknownParameter(k.clone()))?;
        if params.contains_key(decl) {
            return Err(ODataError::DuplicateParameter(decl.to_string()));
        }
        if v.starts_with('@') {
            match alias_value(&v) {
                Some(val) if !val.eq_ignore_ascii_case("null") => {
                    params.insert(decl, val);
                }
                Some(_) => {}
                // An alias with no value binds nothing; a required parameter then reports it.
                None => {
                    params.insert(decl, ALIAS_UNBOUND.to_string() + &v);
                }
            }
        } else if !v.eq_ignore_ascii_case("null") {
            params.insert(decl, v);
        }
    }
    Ok(FunctionCall { name, params })
}

/// Splits raw parameter text at commas and wherever a declared `name=` begins.
fn split_parameters<'a>(inner: &'a str, declared: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for piece in inner.split(',') {
        let lower = piece.to_ascii_lowercase();
        let mut starts: Vec<usize> = declared
            .iter()
            .flat_map(|d| {
                let pat = format!("{}=", d.to_ascii_lowercase());
                lower
                    .match_indices(&pat)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            })
            .collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).copied().unwrap_or(piece.len());
            let part = piece[s..e].trim();
            if !part.is_empty() {
                out.push(part);
            }
        }
    }
    out
}

const ALIAS_UNBOUND: &str = "\u{0}unbound:";

impl FunctionCall {
    /// The literal of a parameter; `None` if absent. An unbound alias on a required
    /// parameter is an error; on an optional one it means the default.
    fn literal(&self, name: &str, required: bool) -> Result<Option<&str>, ODataError> {
        match self.params.get(name).map(String::as_str) {
            Some(v) if v.starts_with(ALIAS_UNBOUND) => {
                if required {
                    Err(ODataError::UnboundAlias(
                        v[ALIAS_UNBOUND.len()..].to_string(),
                    ))
                } else {
                    Ok(None)
                }
            }
            Some(v) => Ok(Some(v)),
            None if required => Err(ODataError::MissingParameter(name.to_string())),
            None => Ok(None),
        }
    }

    pub fn required_datetime(&self, name: &str) -> Result<DateTime<Utc>, ODataError> {
        let v = self.literal(name, true)?.unwrap_or_default();
        parse_datetime_offset(v).ok_or_else(|| ODataError::BadDateTimeOffset {
            param: name.to_string(),
            value: v.to_string(),
        })
    }

    /// The literal text of an optional parameter: `None` when absent, bound to null, or an
    /// alias with no value (all of which mean the default).
    pub fn optional_literal(&self, name: &str) -> Result<Option<&str>, ODataError> {
        self.literal(name, false)
    }

    pub fn optional_int32(&self, name: &str) -> Result<Option<i64>, ODataError> {
        let Some(v) = self.literal(name, false)? else {
            return Ok(None);
        };
        v.parse::<i32>()
            .map(|n| Some(n as i64))
            .map_err(|_| ODataError::BadInt32 {
                param: name.to_string(),
                value: v.to_string(),
            })
    }
}

/// The member name of an enum literal: `'member'`, the typed form
/// `microsoft.graph.includedUserTypes'member'` (namespace or alias `graph.` optional), or a
/// bare `member`. `None` when quotes are unbalanced or the type prefix names another type.
pub fn enum_member<'a>(literal: &'a str, type_name: &str) -> Option<&'a str> {
    let s = literal.trim();
    let Some(open) = s.find('\'') else {
        let bare = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return bare.then_some(s);
    };
    let prefix = &s[..open];
    if !prefix.is_empty() {
        let t = prefix
            .strip_prefix("microsoft.graph.")
            .or_else(|| prefix.strip_prefix("graph."))
            .unwrap_or(prefix);
        if !t.eq_ignore_ascii_case(type_name) {
            return None;
        }
    }
    let inner = s[open + 1..].strip_suffix('\'')?;
    (!inner.contains('\'')).then_some(inner)
}

/// An `Edm.DateTimeOffset` literal: RFC 3339 with a zone (`Z` or an offset), unquoted.
pub fn parse_datetime_offset(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_datetime;

    const P: &[&str] = &[
        "inclusiveIntervalStartDateTime",
        "exclusiveIntervalEndDateTime",
        "aggregationIntervalInMinutes",
    ];

    fn call(seg: &str, q: Option<&str>) -> Result<FunctionCall, ODataError> {
        parse_function_call(seg, &parse_query(q)?, P)
    }

    #[test]
    fn the_documented_form() {
        let c = call("getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime=2023-01-01T00:00:00Z,exclusiveIntervalEndDateTime=2023-01-01T00:20:00Z,aggregationIntervalInMinutes=10)", None).unwrap();
        assert_eq!(c.name, "getMetricsForMfaSignInFailure");
        assert_eq!(
            c.required_datetime(P[0]).unwrap(),
            parse_datetime("2023-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(c.optional_int32(P[2]).unwrap(), Some(10));
    }

    #[test]
    fn the_sdk_form_with_encoded_offsets_and_an_alias() {
        let seg = "getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime=2026-11-01T00%3A00%3A00%2B00%3A00,exclusiveIntervalEndDateTime=2026-11-01T01%3A00%3A00%2B00%3A00,aggregationIntervalInMinutes=@aggregationIntervalInMinutes)";
        let c = call(seg, Some("aggregationIntervalInMinutes=10")).unwrap();
        assert_eq!(c.optional_int32(P[2]).unwrap(), Some(10));
        let c = call(seg, Some("%40aggregationIntervalInMinutes=30")).unwrap();
        assert_eq!(c.optional_int32(P[2]).unwrap(), Some(30));
        let c = call(seg, None).unwrap();
        assert_eq!(
            c.optional_int32(P[2]).unwrap(),
            None,
            "unbound optional alias = default"
        );
        assert_eq!(
            c.required_datetime(P[1]).unwrap(),
            parse_datetime("2026-11-01T01:00:00Z").unwrap()
        );
    }

    #[test]
    fn the_python_sdk_form_without_commas() {
        let seg = "getMetricsForMfaSignInFailure(inclusiveIntervalStartDateTime=2026-11-01T00%3A00%3A00%2B00%3A00exclusiveIntervalEndDateTime=2026-11-01T00%3A20%3A00%2B00%3A00aggregationIntervalInMinutes=@aggregationIntervalInMinutes)";
        let c = call(seg, Some("aggregationIntervalInMinutes=10")).unwrap();
        assert_eq!(c.name, "getMetricsForMfaSignInFailure");
        assert_eq!(
            c.required_datetime(P[0]).unwrap(),
            parse_datetime("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            c.required_datetime(P[1]).unwrap(),
            parse_datetime("2026-11-01T00:20:00Z").unwrap()
        );
        assert_eq!(c.optional_int32(P[2]).unwrap(), Some(10));
        let c = call("f(aggregationIntervalInMinutes=5colour=1)", None).unwrap();
        assert!(
            matches!(c.optional_int32(P[2]), Err(ODataError::BadInt32 { .. })),
            "junk glued to a value is no number"
        );
        assert_eq!(
            call("f(aggregationIntervalInMinutes=5,colour=1)", None).unwrap_err(),
            ODataError::UnknownParameter("colour".into())
        );
        let c = call(
            "f(inclusiveIntervalStartDateTime=2026-11-01T00:00:00%2C00Z)",
            None,
        )
        .unwrap();
        assert!(
            c.required_datetime(P[0]).is_err(),
            "an encoded comma stays inside its value"
        );
    }

    #[test]
    fn any_order_and_query_string_form() {
        let c = call("f(aggregationIntervalInMinutes=5,exclusiveIntervalEndDateTime=2026-11-01T01:00:00Z,inclusiveIntervalStartDateTime=2026-11-01T00:00:00Z)", None).unwrap();
        assert_eq!(c.optional_int32(P[2]).unwrap(), Some(5));
        let c = call("f", Some("inclusiveIntervalStartDateTime=2026-11-01T00:00:00+00:00&exclusiveIntervalEndDateTime=2026-11-01T01:00:00Z")).unwrap();
        assert!(c.required_datetime(P[0]).is_ok());
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            call("f(colour=1)", None).unwrap_err(),
            ODataError::UnknownParameter("colour".into())
        );
        assert!(matches!(
            call(
                "f(aggregationIntervalInMinutes=1,aggregationIntervalInMinutes=2)",
                None
            ),
            Err(ODataError::DuplicateParameter(_))
        ));
        assert!(matches!(
            call("f(inclusiveIntervalStartDateTime=2026-11-01T00%3", None),
            Err(ODataError::PercentEncoding(_))
        ));
        assert!(matches!(
            call("f(inclusiveIntervalStartDateTime=x", None),
            Err(ODataError::NotAFunctionCall(_))
        ));
        let c = call("f(inclusiveIntervalStartDateTime='2026-11-01T00:00:00Z',aggregationIntervalInMinutes=ten)", None).unwrap();
        assert!(matches!(
            c.required_datetime(P[0]),
            Err(ODataError::BadDateTimeOffset { .. })
        ));
        assert!(matches!(
            c.required_datetime(P[1]),
            Err(ODataError::MissingParameter(_))
        ));
        assert!(matches!(
            c.optional_int32(P[2]),
            Err(ODataError::BadInt32 { .. })
        ));
        let c = call("f(inclusiveIntervalStartDateTime=@s)", None).unwrap();
        assert_eq!(
            c.required_datetime(P[0]),
            Err(ODataError::UnboundAlias("@s".into()))
        );
        assert!(percent_decode_strict("%zz").is_err());
        assert!(percent_decode_strict("%4").is_err());
        assert!(percent_decode_strict("%ff").is_err(), "not UTF-8");
        assert_eq!(
            percent_decode_strict("alice%40contoso.com").unwrap(),
            "alice@contoso.com"
        );
    }

    #[test]
    fn enum_literals_in_every_form() {
        let t = "includedUserTypes";
        assert_eq!(enum_member("'guest'", t), Some("guest"));
        assert_eq!(enum_member("guest", t), Some("guest"));
        assert_eq!(
            enum_member("microsoft.graph.includedUserTypes'guest'", t),
            Some("guest")
        );
        assert_eq!(enum_member("graph.IncludedUserTypes'all'", t), Some("all"));
        assert_eq!(
            enum_member("microsoft.graph.includedUserRoles'all'", t),
            None
        );
        assert_eq!(enum_member("'guest", t), None);
        assert_eq!(enum_member("'gu'est'", t), None);
        assert_eq!(enum_member("", t), None);
        assert_eq!(enum_member("gu est", t), None);
        let c = parse_function_call(
            "usersRegisteredByFeature(includedUserTypes='member',includedUserRoles=@r)",
            &parse_query(Some("@r='admin'")).unwrap(),
            &["includedUserTypes", "includedUserRoles"],
        )
        .unwrap();
        assert_eq!(
            c.optional_literal("includedUserTypes").unwrap(),
            Some("'member'")
        );
        assert_eq!(
            c.optional_literal("includedUserRoles").unwrap(),
            Some("'admin'")
        );
        let c = parse_function_call(
            "usersRegisteredByFeature(includedUserRoles=@r)",
            &[],
            &["includedUserTypes", "includedUserRoles"],
        )
        .unwrap();
        assert_eq!(c.optional_literal("includedUserRoles").unwrap(), None);
        assert_eq!(c.optional_literal("includedUserTypes").unwrap(), None);
    }
}
