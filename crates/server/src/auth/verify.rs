//! Bearer token verification. The algorithm comes from the trusted key, never from the token
//! header; signature, issuer, audience, `exp` and `nbf` (with a small skew) are all checked
//! against the `now` passed in.
//!
//! A token whose signature, issuer and audience have been checked is remembered by its exact
//! bytes: clients send the same token for an hour, and an RSA signature check costs more
//! than the rest of a request. `exp` and `nbf` are checked again at every use.

use super::principal::{Claims, ClaimsError, Principal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::Mutex;

/// The API families, each with its own accepted audiences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Graph,
    PartnerCenter,
    Ingest,
}

#[derive(Debug, Clone)]
pub struct Audiences {
    pub graph: Vec<String>,
    pub partner_center: Vec<String>,
    pub ingest: Vec<String>,
}

pub const GRAPH_AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];
pub const PARTNER_CENTER_AUDIENCES: &[&str] = &[
    "https://api.partnercenter.microsoft.com",
    "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
];
pub const INGEST_AUDIENCES: &[&str] = &["api://mfalens"];

impl Default for Audiences {
    fn default() -> Self {
        let own = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        Audiences {
            graph: own(GRAPH_AUDIENCES),
            partner_center: own(PARTNER_CENTER_AUDIENCES),
            ingest: own(INGEST_AUDIENCES),
        }
    }
}

impl Audiences {
    pub fn of(&self, f: Family) -> &[String] {
        match f {
            Family::Graph => &self.graph,
            Family::PartnerCenter => &self.partner_center,
            Family::Ingest => &self.ingest,
        }
    }
}

pub struct TrustedKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// An issuer and the keys it signs with. `issuer` may contain `{tenantid}`, matched against
/// the token's `tid` (Entra's multi-tenant issuers).
pub struct TrustedIssuer {
    pub issuer: String,
    pub keys: Vec<TrustedKey>,
}

impl TrustedIssuer {
    fn matches(&self, iss: &str, tid: Option<&str>) -> bool {
        if self.issuer.contains("{tenantid}") {
            match tid {
                Some(t) => self
                    .issuer
                    .replace("{tenantid}", t)
                    .eq_ignore_ascii_case(iss),
                None => false,
            }
        } else {
            self.issuer == iss
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token was sent")]
    Missing,
    #[error("the Authorization header is not 'Bearer <token>'")]
    NotBearer,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's issuer is not trusted")]
    UntrustedIssuer,
    #[error("the token was signed with a key this service does not know")]
    UnknownKey,
    #[error("the token's algorithm does not match its key")]
    WrongAlgorithm,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's audience is not accepted by this API")]
    WrongAudience,
    #[error("{0}")]
    Claims(#[from] ClaimsError),
}

pub struct Verifier {
    issuers: Vec<TrustedIssuer>,
    audiences: Audiences,
    leeway_secs: i64,
    /// Verified tokens (see the module note), keyed by token and family. The trusted keys
    /// are fixed for a `Verifier`'s life; code that ever changes them at runtime (a JWKS
    /// refresh) must clear this too.
    verified: Mutex<HashMap<(String, Family), Verified>>,
}

/// What a verified token still needs checked at each use.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    nbf: Option<i64>,
}

/// Tokens remembered at most; the whole memory is dropped when full (a few MB at most).
const VERIFIED_CAPACITY: usize = 4096;

#[derive(serde::Deserialize)]
struct Peek {
    iss: Option<String>,
    tid: Option<String>,
}

impl Verifier {
    pub fn new(issuers: Vec<TrustedIssuer>, audiences: Audiences, leeway_secs: i64) -> Self {
        Verifier {
            issuers,
            audiences,
            leeway_secs,
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub fn verify(&self, token: &str, family: Family, now: i64) -> Result<Principal, AuthError> {
        let key = (token.to_string(), family);
        let hit = self.verified.lock().ok().and_then(|m| m.get(&key).cloned());
        let v = match hit {
            Some(v) => v,
            None => {
                let v = self.verify_signed(token, family)?;
                if let Ok(mut m) = self.verified.lock() {
                    if m.len() >= VERIFIED_CAPACITY {
                        m.clear();
                    }
                    m.insert(key, v.clone());
                }
                v
            }
        };
        if v.principal.expires_at + self.leeway_secs <= now {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = v.nbf
            && nbf - self.leeway_secs > now
        {
            return Err(AuthError::NotYetValid);
        }
        Ok(v.principal)
    }

    /// Everything that does not depend on the time: signature, issuer, audience, claims.
    fn verify_signed(&self, token: &str, family: Family) -> Result<Verified, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        let payload = token.split('.').nth(1).ok_or(AuthError::Malformed)?;
        let peek: Peek = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(AuthError::Malformed)?;
        let iss = peek.iss.ok_or(AuthError::UntrustedIssuer)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.matches(&iss, peek.tid.as_deref()))
            .ok_or(AuthError::UntrustedIssuer)?;
        let key = match &header.kid {
            Some(kid) => issuer
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None if issuer.keys.len() == 1 => issuer.keys.first(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)?;
        if header.alg != key.alg {
            return Err(AuthError::WrongAlgorithm);
        }
        let mut v = Validation::new(key.alg);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp"]);
        v.set_issuer(&[iss.as_str()]);
        v.set_audience(self.audiences.of(family));
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidAudience => AuthError::WrongAudience,
                K::InvalidIssuer => AuthError::UntrustedIssuer,
                K::InvalidSignature => AuthError::BadSignature,
                K::InvalidAlgorithm => AuthError::WrongAlgorithm,
                K::MissingRequiredClaim(c) if c == "aud" => AuthError::WrongAudience,
                _ => AuthError::Malformed,
            }
        })?;
        Ok(Verified {
            principal: data.claims.into_principal()?,
            nbf: nbf_of(payload),
        })
    }
}

fn nbf_of(payload: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct N {
        nbf: Option<i64>,
    }
    let b = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<N>(&b).ok()?.nbf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::local::{LocalKey, TokenSpec};
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_remembered_token_is_still_checked_for_time_audience_and_bytes() {
        let key = LocalKey::from_pem(&LocalKey::generate_pem().unwrap()).unwrap();
        let v = Verifier::new(
            vec![key.trusted_issuer().unwrap()],
            Audiences::default(),
            60,
        );
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let token = TokenSpec {
            tenant_id: "t".into(),
            object_id: "sp".into(),
            app_roles: vec!["Reports.Read.All".into()],
            audience: GRAPH_AUDIENCES[0].into(),
            app_id: "app".into(),
            lifetime: Duration::hours(1),
            ..TokenSpec::default()
        }
        .mint(&key, t0)
        .unwrap();
        let now = t0.timestamp();
        assert_eq!(v.verify(&token, Family::Graph, now).unwrap().tenant_id, "t");
        assert_eq!(
            v.verify(&token, Family::Graph, now + 10).unwrap().tenant_id,
            "t"
        );
        assert!(matches!(
            v.verify(&token, Family::Graph, now + 7200),
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            v.verify(&token, Family::Graph, now - 3600),
            Err(AuthError::NotYetValid)
        ));
        assert!(matches!(
            v.verify(&token, Family::Ingest, now),
            Err(AuthError::WrongAudience)
        ));
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(v.verify(&forged, Family::Graph, now).is_err());
    }
}
