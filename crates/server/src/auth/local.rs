//! The service's own signing key: created beside the database on first use, trusted by the
//! server by default, and used by `mfalens token` to mint tokens for demos and tests.

use super::principal::Claims;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The issuer (`iss`) of locally minted tokens.
pub const LOCAL_ISSUER: &str = "https://mfalens.local/issuer";
pub const KEY_FILE: &str = "mfalens-signing-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the signing key {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("the signing key {path} is not a PKCS#8 RSA private key: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot sign a token: {0}")]
    Sign(String),
}

/// An RSA key pair and its key id.
pub struct LocalKey {
    pub kid: String,
    encoding: EncodingKey,
    public: RsaPublicKey,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl LocalKey {
    /// Loads `<dir>/mfalens-signing-key.pem`, creating a 2048-bit key there on first use
    /// (readable by its owner only).
    pub fn load_or_create(dir: &Path) -> Result<LocalKey, KeyError> {
        let path = dir.join(KEY_FILE);
        let io = |e: std::io::Error| KeyError::Io {
            path: path.clone(),
            message: e.to_string(),
        };
        if path.exists() {
            let pem = std::fs::read_to_string(&path).map_err(io)?;
            return Self::from_pem(&pem).map_err(|m| KeyError::Format {
                path: path.clone(),
                message: m,
            });
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let pem = Self::generate_pem()?;
        // Write to a temporary name, then rename: a crash never leaves half a key.
        let tmp = dir.join(format!("{KEY_FILE}.tmp"));
        write_private(&tmp, pem.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Self::from_pem(&pem).map_err(|m| KeyError::Format { path, message: m })
    }

    /// A fresh 2048-bit key as PKCS#8 PEM.
    pub fn generate_pem() -> Result<String, KeyError> {
        let key = RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
            .map_err(|e| KeyError::Sign(e.to_string()))?;
        Ok(key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Sign(e.to_string()))?
            .to_string())
    }

    pub fn from_pem(pem: &str) -> Result<LocalKey, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?;
        let public = key.to_public_key();
        let der = public.to_public_key_der().map_err(|e| e.to_string())?;
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(der.as_bytes())[..16]);
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        Ok(LocalKey {
            kid,
            encoding,
            public,
        })
    }

    pub fn decoding_key(&self) -> Result<DecodingKey, String> {
        let n = URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be());
        DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())
    }

    /// The public key as a JWK set, for other nodes or tools that verify our tokens.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        }]})
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// What a minted token says.
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    pub tenant_id: String,
    /// Further tenants an ingest token may write (`mfalens_tenants`).
    pub extra_tenants: Vec<String>,
    pub object_id: String,
    pub upn: Option<String>,
    /// Delegated scopes; empty with `app_roles` set means an application token.
    pub scopes: Vec<String>,
    pub app_roles: Vec<String>,
    pub directory_roles: Vec<String>,
    pub mfa: bool,
    pub audience: String,
    pub app_id: String,
    pub lifetime: Duration,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    tid: &'a str,
    oid: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    upn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scp: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    wids: Vec<&'a str>,
    amr: Vec<&'a str>,
    idtyp: &'a str,
    appid: &'a str,
    azp: &'a str,
    ver: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mfalens_tenants: Vec<&'a str>,
}

impl TokenSpec {
    pub fn is_application(&self) -> bool {
        self.scopes.is_empty() && !self.app_roles.is_empty()
    }

    /// Signs the token with `key`, valid from `now` for `lifetime`.
    pub fn mint(&self, key: &LocalKey, now: DateTime<Utc>) -> Result<String, KeyError> {
        let app = self.is_application();
        let amr = if app {
            vec![]
        } else if self.mfa {
            vec!["pwd", "mfa"]
        } else {
            vec!["pwd"]
        };
        let mut tenants: Vec<&str> = Vec::new();
        if !self.extra_tenants.is_empty() {
            tenants.push(&self.tenant_id);
            tenants.extend(self.extra_tenants.iter().map(String::as_str));
        }
        let claims = MintedClaims {
            iss: LOCAL_ISSUER,
            aud: &self.audience,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
            tid: &self.tenant_id,
            oid: &self.object_id,
            sub: &self.object_id,
            upn: if app { None } else { self.upn.as_deref() },
            preferred_username: if app { None } else { self.upn.as_deref() },
            scp: (!app).then(|| self.scopes.join(" ")),
            roles: if app {
                self.app_roles.iter().map(String::as_str).collect()
            } else {
                vec![]
            },
            wids: self.directory_roles.iter().map(String::as_str).collect(),
            amr,
            idtyp: if app { "app" } else { "user" },
            appid: &self.app_id,
            azp: &self.app_id,
            ver: "2.0",
            mfalens_tenants: tenants,
        };
        key.sign(&claims)
    }
}

/// Reads the claims of a token without verifying it (for `mfalens token --decode`-style
/// tooling and tests only; never for authorization).
pub fn peek_claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl LocalKey {
    /// The local issuer as a trusted issuer, pinned to RS256. Its tokens may name extra
    /// ingest tenants (`mfalens_tenants`): whoever holds this key administers the service.
    pub fn trusted_issuer(&self) -> Result<super::verify::TrustedIssuer, KeyError> {
        let mut issuer = super::verify::TrustedIssuer::fixed(
            LOCAL_ISSUER,
            vec![super::verify::TrustedKey {
                kid: Some(self.kid.clone()),
                alg: jsonwebtoken::Algorithm::RS256,
                key: self.decoding_key().map_err(KeyError::Sign)?,
            }],
        );
        issuer.tenant_list_claim = true;
        Ok(issuer)
    }

    /// The public key as SPKI PEM.
    pub fn public_pem(&self) -> Result<String, KeyError> {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }

    /// Signs `claims` under a header of the caller's choosing (tests of hostile tokens).
    pub fn sign_with_header<T: Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, KeyError> {
        jsonwebtoken::encode(header, claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}
