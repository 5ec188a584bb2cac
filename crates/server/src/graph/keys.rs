//! How a Graph path names a user: an object id (GUID) or a userPrincipalName, read from the
//! raw path segment with strict percent-decoding. Pure; knows nothing of the store's contents.

use super::shown;
use crate::error::GraphError;
use mfalens_core::odata::percent_decode_strict;
use mfalens_store::UserKey;

/// Longest userPrincipalName accepted, in characters. **ours:** Entra caps a UPN at 113
/// characters; imports are sometimes looser, so we allow more, but not unbounded input.
pub const MAX_UPN_CHARS: usize = 256;

/// Reads a user key from a raw path segment (`alice%40contoso.com`, a GUID, ...).
pub fn user_key(raw: &str) -> Result<UserKey, GraphError> {
    let decoded = percent_decode_strict(raw).map_err(|_| {
        GraphError::request_bad_request(format!(
            "Invalid object identifier '{}': malformed percent-encoding (each '%' must be followed by two hex digits, and the bytes must be UTF-8).",
            shown(raw)
        ))
    })?;
    decoded_key(&decoded)
}

/// Reads a user key that is already percent-decoded.
pub fn decoded_key(decoded: &str) -> Result<UserKey, GraphError> {
    classify(decoded).ok_or_else(|| {
        GraphError::request_bad_request(format!(
            "Invalid object identifier '{}': a user is named by its object id (a GUID such as 071cc716-8147-4397-a5ba-b2105951cc0b) or its userPrincipalName (name@domain, at most {MAX_UPN_CHARS} characters, no spaces or control characters).",
            shown(&decoded.escape_debug().to_string())
        ))
    })
}

/// A GUID in its hyphenated form becomes an id; a UPN-shaped string a UPN; anything else None.
pub fn classify(s: &str) -> Option<UserKey> {
    if is_guid(s) {
        return Some(UserKey::Id(s.to_ascii_lowercase()));
    }
    is_upn(s).then(|| UserKey::Upn(s.to_string()))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_upn(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && s.chars().count() <= MAX_UPN_CHARS
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_upns_are_told_apart() {
        assert_eq!(
            user_key("071CC716-8147-4397-A5BA-B2105951CC0B").unwrap(),
            UserKey::Id("071cc716-8147-4397-a5ba-b2105951cc0b".into())
        );
        assert_eq!(
            user_key("alice%40contoso.com").unwrap(),
            UserKey::Upn("alice@contoso.com".into())
        );
        assert_eq!(
            user_key("alice@contoso.com").unwrap(),
            UserKey::Upn("alice@contoso.com".into())
        );
        assert_eq!(
            user_key("bob_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com").unwrap(),
            UserKey::Upn("bob_fabrikam.com#EXT#@contoso.onmicrosoft.com".into()),
            "guest UPNs"
        );
    }

    #[test]
    fn everything_else_is_a_bad_request_naming_the_key() {
        for bad in [
            "12345",
            "071cc716-8147-4397-a5ba-b2105951cc0",
            "{071cc716-8147-4397-a5ba-b2105951cc0b}",
            "071cc716814743a5bab2105951cc0b00",
            "%40contoso.com",
            "alice%40",
            "a%40%40b.com",
            "a%20b%40c.com",
            "a%07%40c.com",
            "",
        ] {
            let e = user_key(bad).unwrap_err();
            assert_eq!(e.code, "Request_BadRequest", "{bad}");
            assert!(e.message.contains("Invalid object identifier"), "{bad}");
        }
        let e = user_key("a%07%40c.com").unwrap_err();
        assert!(e.message.contains("a\\u{7}@c.com"), "{}", e.message);
        let long = format!("{}@x.com", "a".repeat(300));
        assert!(user_key(&long).is_err());
        let e = user_key("alice%4").unwrap_err();
        assert!(e.message.contains("'alice%4'") && e.message.contains("percent"));
        assert!(user_key("%ff%40x.com").is_err(), "not UTF-8");
    }
}
