//! Bearer token verification. The algorithm comes from the trusted key, never from the token
//! header; signature, issuer, audience, `exp` and `nbf` (with a small skew) are all checked
//! against the `now` passed in.

use super::principal::{Claims, ClaimsError, Principal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

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
}

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
        }
    }

    pub fn verify(&self, token: &str, family: Family, now: i64) -> Result<Principal, AuthError> {
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
        let claims = data.claims;
        if claims.exp + self.leeway_secs <= now {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = nbf_of(payload)
            && nbf - self.leeway_secs > now
        {
            return Err(AuthError::NotYetValid);
        }
        Ok(claims.into_principal()?)
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
