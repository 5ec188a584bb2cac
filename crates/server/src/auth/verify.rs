//! Bearer token verification. The algorithm comes from the trusted key, never from the token
//! header; signature, issuer, audience, `exp` and `nbf` (with a small skew) are all checked
//! against the `now` passed in. `verify` is synchronous and only reads cached keys and the
//! verified-token cache; `verify_refreshing` first fetches an issuer's keys when the token
//! names a `kid` it does not know yet (rate-limited, see `keysource`).

use super::cache::{TokenCache, Verified, token_hash};
use super::keysource::{KeySource, Refresh};
use super::principal::{Claims, ClaimsError, Principal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::sync::Arc;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Verified tokens remembered by default.
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

/// The API families, each with its own accepted audiences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Graph,
    PartnerCenter,
    Ingest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A public key and the one algorithm it verifies.
#[derive(Clone)]
pub struct TrustedKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Where an issuer's keys live: fixed at start-up, or refreshable.
#[derive(Debug, Clone)]
pub enum IssuerKeys {
    Fixed(Arc<Vec<TrustedKey>>),
    Source(Arc<KeySource>),
}

impl IssuerKeys {
    fn snapshot(&self) -> Arc<Vec<TrustedKey>> {
        match self {
            IssuerKeys::Fixed(k) => Arc::clone(k),
            IssuerKeys::Source(s) => s.snapshot(),
        }
    }
}

/// An issuer and the keys it signs with. `issuer` may contain `{tenantid}`, matched against
/// the token's `tid` (Entra's multi-tenant issuers).
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub keys: IssuerKeys,
    /// Audiences accepted from this issuer, per family, instead of the verifier's.
    pub audiences: Option<Audiences>,
    /// When set, only tokens of these tenants (`tid`) are accepted from this issuer.
    pub tenants: Option<Vec<String>>,
    /// Whether `mfalens_tenants` (extra tenants an ingest token may write) is honoured.
    pub tenant_list_claim: bool,
}

impl TrustedIssuer {
    /// An issuer with keys fixed for the life of the process.
    pub fn fixed(issuer: impl Into<String>, keys: Vec<TrustedKey>) -> TrustedIssuer {
        TrustedIssuer {
            issuer: issuer.into(),
            keys: IssuerKeys::Fixed(Arc::new(keys)),
            audiences: None,
            tenants: None,
            tenant_list_claim: false,
        }
    }

    /// An issuer whose keys come from a refreshable source.
    pub fn from_source(issuer: impl Into<String>, source: Arc<KeySource>) -> TrustedIssuer {
        TrustedIssuer {
            issuer: issuer.into(),
            keys: IssuerKeys::Source(source),
            audiences: None,
            tenants: None,
            tenant_list_claim: false,
        }
    }

    pub fn source(&self) -> Option<&Arc<KeySource>> {
        match &self.keys {
            IssuerKeys::Source(s) => Some(s),
            IssuerKeys::Fixed(_) => None,
        }
    }

    /// Whether `iss` (with the token's `tid`) names this issuer.
    pub fn matches(&self, iss: &str, tid: Option<&str>) -> bool {
        if self.issuer.contains(TENANT_PLACEHOLDER) {
            match tid {
                Some(t) if is_tenant_id(t) => self
                    .issuer
                    .replace(TENANT_PLACEHOLDER, t)
                    .eq_ignore_ascii_case(iss),
                _ => false,
            }
        } else {
            self.issuer == iss
        }
    }

    fn admits_tenant(&self, tid: &str) -> bool {
        match &self.tenants {
            None => true,
            Some(list) => list.iter().any(|t| t.eq_ignore_ascii_case(tid)),
        }
    }
}

pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A tenant id fit to be put into an issuer template: a GUID-like token of hex digits and
/// dashes, so `tid` can never smuggle path segments into the issuer it is compared with.
fn is_tenant_id(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
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
    #[error("the token's tenant is not accepted from its issuer")]
    TenantNotAllowed,
    #[error("{0}")]
    Claims(#[from] ClaimsError),
}

pub struct Verifier {
    issuers: Vec<TrustedIssuer>,
    audiences: Audiences,
    leeway_secs: i64,
    cache: TokenCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway_secs", &self.leeway_secs)
            .field("cache_entries", &self.cache.capacity())
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct Peek {
    iss: Option<String>,
    tid: Option<String>,
}

/// A token whose header and unverified payload have been read, and the issuer it names.
struct Parsed {
    header: jsonwebtoken::Header,
    issuer: usize,
    iss: String,
}

impl Verifier {
    pub fn new(issuers: Vec<TrustedIssuer>, audiences: Audiences, leeway_secs: i64) -> Self {
        Verifier {
            issuers,
            audiences,
            leeway_secs,
            cache: TokenCache::new(DEFAULT_CACHE_ENTRIES),
        }
    }

    /// Remember up to `entries` verified tokens (0: verify every time).
    pub fn with_cache(mut self, entries: usize) -> Self {
        self.cache = TokenCache::new(entries);
        self
    }

    pub fn issuers(&self) -> &[TrustedIssuer] {
        &self.issuers
    }

    pub fn audiences(&self) -> &Audiences {
        &self.audiences
    }

    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// Verifies with the keys at hand. When the token names a `kid` that a refreshable issuer
    /// does not know yet, a refresh starts in the background (when called inside a Tokio
    /// runtime) and this call fails with `UnknownKey`; `verify_refreshing` waits instead.
    pub fn verify(&self, token: &str, family: Family, now: i64) -> Result<Principal, AuthError> {
        let result = self.verify_cached(token, family, now);
        if result == Err(AuthError::UnknownKey)
            && let Some(src) = self.refreshable_source(token)
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let seen = src.generation();
            rt.spawn(async move {
                src.refresh(seen, now).await;
            });
        }
        result
    }

    /// Verifies, first fetching the issuer's keys when the token's `kid` is unknown and the
    /// issuer's rate limit allows; concurrent callers share one fetch.
    pub async fn verify_refreshing(
        &self,
        token: &str,
        family: Family,
        now: i64,
    ) -> Result<Principal, AuthError> {
        match self.verify_cached(token, family, now) {
            Err(AuthError::UnknownKey) => {}
            other => return other,
        }
        let Some(src) = self.refreshable_source(token) else {
            return Err(AuthError::UnknownKey);
        };
        // A fetch that completes between the miss above and this read is not waited for; the
        // second verification below sees its keys all the same.
        let seen = src.generation();
        if src.refresh(seen, now).await == Refresh::RateLimited {
            tracing::debug!("unknown signing key; key refresh skipped (rate limit)");
        }
        // Whatever the refresh did, the keys may have changed since the first attempt.
        self.verify_cached(token, family, now)
    }

    fn refreshable_source(&self, token: &str) -> Option<Arc<KeySource>> {
        let parsed = self.parse(token).ok()?;
        self.issuers[parsed.issuer].source().cloned()
    }

    fn verify_cached(&self, token: &str, family: Family, now: i64) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let hash = token_hash(family, token);
        if let Some(v) = self.cache.get(&hash) {
            if self.key_still_trusted(&v) {
                self.check_times(v.nbf, v.exp, now)?;
                return Ok(v.principal);
            }
            self.cache.remove(&hash);
        }
        let v = self.verify_uncached(token, family, now)?;
        let principal = v.principal.clone();
        self.cache.insert(hash, v);
        Ok(principal)
    }

    fn key_still_trusted(&self, v: &Verified) -> bool {
        self.issuers.get(v.issuer).is_some_and(|i| {
            i.keys
                .snapshot()
                .iter()
                .any(|k| k.kid.is_some() && k.kid == v.kid)
                || matches!(i.keys, IssuerKeys::Fixed(_))
        })
    }

    fn parse(&self, token: &str) -> Result<Parsed, AuthError> {
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
            .position(|i| i.matches(&iss, peek.tid.as_deref()))
            .ok_or(AuthError::UntrustedIssuer)?;
        Ok(Parsed {
            header,
            issuer,
            iss,
        })
    }

    fn verify_uncached(
        &self,
        token: &str,
        family: Family,
        now: i64,
    ) -> Result<Verified, AuthError> {
        let Parsed {
            header,
            issuer: index,
            iss,
        } = self.parse(token)?;
        let issuer = &self.issuers[index];
        let keys = issuer.keys.snapshot();
        let key = match &header.kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None if keys.len() == 1 => keys.first(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)?;
        if header.alg != key.alg {
            return Err(AuthError::WrongAlgorithm);
        }
        let audiences = issuer.audiences.as_ref().unwrap_or(&self.audiences);
        let mut v = Validation::new(key.alg);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "aud"]);
        v.set_issuer(&[iss.as_str()]);
        v.set_audience(audiences.of(family));
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
        let mut claims = data.claims;
        self.check_times(claims.nbf, claims.exp, now)?;
        if !issuer.tenant_list_claim {
            claims.mfalens_tenants = None;
        }
        let (nbf, exp) = (claims.nbf, claims.exp);
        let principal = claims.into_principal()?;
        if !issuer.admits_tenant(&principal.tenant_id) {
            return Err(AuthError::TenantNotAllowed);
        }
        Ok(Verified {
            principal,
            issuer: index,
            kid: key.kid.clone(),
            nbf,
            exp,
        })
    }

    fn check_times(&self, nbf: Option<i64>, exp: i64, now: i64) -> Result<(), AuthError> {
        if exp + self.leeway_secs <= now {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = nbf
            && nbf - self.leeway_secs > now
        {
            return Err(AuthError::NotYetValid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(template: &str) -> TrustedIssuer {
        TrustedIssuer::fixed(template, vec![])
    }

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn entra_v1_and_v2_issuer_templates_match_their_own_tenant_only() {
        let v1 = issuer(super::super::trust::ENTRA_V1_ISSUER);
        let v2 = issuer(super::super::trust::ENTRA_V2_ISSUER);
        assert!(v1.matches(&format!("https://sts.windows.net/{TID}/"), Some(TID)));
        assert!(v2.matches(
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            Some(TID)
        ));
        // The issuer of one tenant with the tid of another.
        let other = "bbbbbbbb-0000-0000-0000-00000000000b";
        assert!(!v2.matches(
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            Some(other)
        ));
        // v1 and v2 are different issuers; no tid, no match.
        assert!(!v1.matches(
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            Some(TID)
        ));
        assert!(!v2.matches(&format!("https://sts.windows.net/{TID}/"), Some(TID)));
        assert!(!v1.matches(&format!("https://sts.windows.net/{TID}/"), None));
        // A tid cannot carry path tricks into the template.
        assert!(!v2.matches(
            "https://login.microsoftonline.com/x/../evil/v2.0",
            Some("x/../evil")
        ));
        assert!(!v1.matches("https://sts.windows.net//", Some("")));
        // Fixed issuers compare exactly.
        let kc = issuer("https://idp.example/realms/acme");
        assert!(kc.matches("https://idp.example/realms/acme", Some(TID)));
        assert!(!kc.matches("https://idp.example/realms/acme/", Some(TID)));
    }

    #[test]
    fn nothing_is_parsed_from_oversized_tokens() {
        let v = Verifier::new(vec![], Audiences::default(), 60);
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(v.verify(&big, Family::Graph, 0), Err(AuthError::Malformed));
    }
}
