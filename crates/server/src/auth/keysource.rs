//! Keys that can change: a JWKS file, a JWKS URL, or an OIDC discovery document. Readers take
//! a snapshot without waiting; a refresh (on an unknown `kid`, or periodically) fetches at
//! most once per `min_interval` per issuer, and concurrent misses share one fetch.
//! Never holds a token; logs name the issuer and location only.

use super::jwks::{JwksError, parse_jwks};
use super::verify::TrustedKey;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Largest key set or discovery document read.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Where an issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// A JWK set on disk (re-read on an unknown `kid`, so keys rotate without a restart).
    File(PathBuf),
    /// A JWK set over HTTP(S).
    JwksUrl(String),
    /// An OIDC discovery document whose `jwks_uri` names the JWK set.
    Discovery(String),
}

impl std::fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyLocation::File(p) => write!(f, "file {}", p.display()),
            KeyLocation::JwksUrl(u) => write!(f, "JWKS {u}"),
            KeyLocation::Discovery(u) => write!(f, "discovery {u}"),
        }
    }
}

/// How often a source may be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// At most one fetch per this many seconds after a successful one (default 300).
    pub min_interval_secs: i64,
    /// After a failed fetch, the next may come this much sooner (default 30).
    pub retry_after_failure_secs: i64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            min_interval_secs: 300,
            retry_after_failure_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("cannot read {0}")]
    Io(String),
    #[error("cannot fetch {url}: {message}")]
    Http { url: String, message: String },
    #[error("the discovery document {url} is invalid: {message}")]
    Discovery { url: String, message: String },
    #[error("{0}")]
    Jwks(#[from] JwksError),
}

/// What a refresh call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// This call fetched new keys.
    Fetched,
    /// Another caller fetched while this one waited; its keys are in place.
    Shared,
    /// Too soon after the last fetch; nothing was fetched.
    RateLimited,
    /// The fetch failed; the previous keys stay in place.
    Failed(FetchError),
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<i64>,
    last_failed: bool,
    /// `jwks_uri` learned from discovery (fetched again only when a JWKS fetch fails).
    jwks_uri: Option<String>,
}

/// A refreshable key set for one issuer.
pub struct KeySource {
    issuer: String,
    location: KeyLocation,
    policy: RefreshPolicy,
    http: reqwest::Client,
    keys: RwLock<Arc<Vec<TrustedKey>>>,
    generation: AtomicU64,
    fetches: AtomicU64,
    state: tokio::sync::Mutex<FetchState>,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("issuer", &self.issuer)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// An HTTP client for key fetches: rustls, short timeouts, no redirects to other schemes.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("mfalens/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl KeySource {
    pub fn new(
        issuer: impl Into<String>,
        location: KeyLocation,
        policy: RefreshPolicy,
        http: reqwest::Client,
    ) -> KeySource {
        KeySource {
            issuer: issuer.into(),
            location,
            policy,
            http,
            keys: RwLock::new(Arc::new(Vec::new())),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            state: tokio::sync::Mutex::new(FetchState::default()),
        }
    }

    /// A source whose first keys are already loaded (a JWKS file read at start-up).
    pub fn with_keys(self, keys: Vec<TrustedKey>, now: i64) -> KeySource {
        if let Ok(mut k) = self.keys.write() {
            *k = Arc::new(keys);
        }
        self.generation.store(1, Ordering::Release);
        if let Ok(mut s) = self.state.try_lock() {
            s.last_attempt = Some(now);
        }
        self
    }

    pub fn location(&self) -> &KeyLocation {
        &self.location
    }

    /// The current keys; never waits for a fetch.
    pub fn snapshot(&self) -> Arc<Vec<TrustedKey>> {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Bumped by every fetch attempt that completed; a caller passes back the value it saw
    /// so that waiters on a fetch in flight share its result instead of fetching again.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Documents fetched (discovery and JWKS) since start.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the keys unless a fetch since `seen_generation` already happened, or the rate
    /// limit forbids it at `now` (seconds).
    pub async fn refresh(&self, seen_generation: u64, now: i64) -> Refresh {
        let mut st = self.state.lock().await;
        if self.generation() != seen_generation {
            return Refresh::Shared;
        }
        if let Some(last) = st.last_attempt {
            let wait = if st.last_failed {
                self.policy
                    .retry_after_failure_secs
                    .min(self.policy.min_interval_secs)
            } else {
                self.policy.min_interval_secs
            };
            if now < last + wait && now >= last {
                return Refresh::RateLimited;
            }
        }
        st.last_attempt = Some(now);
        let result = self.fetch(&mut st).await;
        self.generation.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(keys) => {
                st.last_failed = false;
                let kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
                tracing::info!(issuer = %self.issuer, source = %self.location, kids = ?kids, "signing keys loaded");
                if let Ok(mut k) = self.keys.write() {
                    *k = Arc::new(keys);
                }
                Refresh::Fetched
            }
            Err(e) => {
                st.last_failed = true;
                tracing::warn!(issuer = %self.issuer, error = %e, "signing keys could not be refreshed; keeping the previous ones");
                Refresh::Failed(e)
            }
        }
    }

    async fn fetch(&self, st: &mut FetchState) -> Result<Vec<TrustedKey>, FetchError> {
        let bytes = match &self.location {
            KeyLocation::File(path) => {
                self.fetches.fetch_add(1, Ordering::Relaxed);
                tokio::fs::read(path)
                    .await
                    .map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?
            }
            KeyLocation::JwksUrl(url) => self.get(url).await?,
            KeyLocation::Discovery(url) => {
                let jwks_uri = match st.jwks_uri.clone() {
                    Some(u) => u,
                    None => {
                        let u = self.discover(url).await?;
                        st.jwks_uri = Some(u.clone());
                        u
                    }
                };
                match self.get(&jwks_uri).await {
                    Ok(b) => b,
                    Err(e) => {
                        // The document may have moved: discover again next time.
                        st.jwks_uri = None;
                        return Err(e);
                    }
                }
            }
        };
        let parsed = parse_jwks(&bytes)?;
        for why in &parsed.skipped {
            tracing::debug!(issuer = %self.issuer, skipped = %why, "JWK not used");
        }
        Ok(parsed.keys)
    }

    async fn discover(&self, url: &str) -> Result<String, FetchError> {
        #[derive(serde::Deserialize)]
        struct Doc {
            issuer: Option<String>,
            jwks_uri: Option<String>,
        }
        let bytes = self.get(url).await?;
        let bad = |message: String| FetchError::Discovery {
            url: url.to_string(),
            message,
        };
        let doc: Doc = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let jwks_uri = doc
            .jwks_uri
            .ok_or_else(|| bad("it has no jwks_uri".into()))?;
        check_url(&jwks_uri).map_err(bad)?;
        if let Some(iss) = doc.issuer
            && iss != self.issuer
        {
            // Entra's `common` documents publish the `{tenantid}` template; others should match.
            tracing::warn!(configured = %self.issuer, published = %iss, "the discovery document names a different issuer; tokens are matched against the configured one");
        }
        Ok(jwks_uri)
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let http = |message: String| FetchError::Http {
            url: url.to_string(),
            message,
        };
        let mut resp = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| http(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(http(format!("status {}", resp.status())));
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| http(e.to_string()))? {
            if out.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(http(format!(
                    "the document exceeds {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// Key URLs must be HTTPS, except on the loopback interface (tests, sidecars).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!(
            "'{url}' uses {other}; key documents must come over https (http only on localhost)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_must_be_https_except_on_loopback() {
        assert!(check_url("https://login.microsoftonline.com/common/discovery/v2.0/keys").is_ok());
        assert!(check_url("http://127.0.0.1:8080/keys").is_ok());
        assert!(check_url("http://[::1]:8080/keys").is_ok());
        assert!(check_url("http://localhost/keys").is_ok());
        assert!(check_url("http://idp.example.com/keys").is_err());
        assert!(check_url("file:///etc/keys.json").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[tokio::test]
    async fn a_missing_file_fails_and_is_retried_sooner_than_a_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let src = KeySource::new(
            "https://idp.example",
            KeyLocation::File(path.clone()),
            RefreshPolicy::default(),
            reqwest::Client::new(),
        );
        let g = src.generation();
        assert!(matches!(src.refresh(g, 1000).await, Refresh::Failed(_)));
        let g = src.generation();
        assert_eq!(src.refresh(g, 1010).await, Refresh::RateLimited);
        let pem = crate::auth::local::LocalKey::generate_pem().unwrap();
        let key = crate::auth::local::LocalKey::from_pem(&pem).unwrap();
        std::fs::write(&path, key.jwks().to_string()).unwrap();
        assert_eq!(src.refresh(g, 1031).await, Refresh::Fetched);
        assert_eq!(src.snapshot().len(), 1);
        let g = src.generation();
        assert_eq!(src.refresh(g, 1031 + 299).await, Refresh::RateLimited);
        assert_eq!(src.refresh(g - 1, 1031 + 299).await, Refresh::Shared);
        assert_eq!(src.refresh(g, 1031 + 300).await, Refresh::Fetched);
        assert_eq!(src.fetch_count(), 3);
    }
}
