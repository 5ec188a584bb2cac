//! Configured trust: the issuers whose tokens are accepted beyond the local one, where their
//! keys come from (a JWKS file, a JWKS URL, an OIDC discovery document), which audiences and
//! tenants each may speak for, and the Microsoft Entra ID issuer templates. Building an
//! issuer reads a JWKS file at once (so a bad file stops start-up with a clear message);
//! remote keys are fetched later, in the background and on an unknown `kid`.

use super::jwks::parse_jwks;
use super::keysource::{KeyLocation, KeySource, RefreshPolicy, check_url};
use super::verify::{Audiences, TENANT_PLACEHOLDER, TrustedIssuer};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Entra ID v1.0 access tokens (`ver: 1.0`), per tenant.
pub const ENTRA_V1_ISSUER: &str = "https://sts.windows.net/{tenantid}/";
/// Entra ID v2.0 access tokens (`ver: 2.0`), per tenant.
pub const ENTRA_V2_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
/// Discovery documents that publish the signing keys of every Entra tenant.
pub const ENTRA_V1_DISCOVERY: &str =
    "https://login.microsoftonline.com/common/.well-known/openid-configuration";
pub const ENTRA_V2_DISCOVERY: &str =
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration";

/// Audiences per family; a family left out keeps the service-wide list.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AudienceConfig {
    pub graph: Option<Vec<String>>,
    pub partner_center: Option<Vec<String>>,
    pub ingest: Option<Vec<String>>,
}

impl AudienceConfig {
    pub fn over(&self, base: &Audiences) -> Audiences {
        Audiences {
            graph: self.graph.clone().unwrap_or_else(|| base.graph.clone()),
            partner_center: self
                .partner_center
                .clone()
                .unwrap_or_else(|| base.partner_center.clone()),
            ingest: self.ingest.clone().unwrap_or_else(|| base.ingest.clone()),
        }
    }
}

/// One `[[trusted_issuers]]` entry of the configuration file (or a `--trust-jwks` flag).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` of the tokens; `{tenantid}` stands for the token's `tid` (Entra).
    pub issuer: String,
    /// A JWK set on disk.
    pub jwks_file: Option<PathBuf>,
    /// A JWK set over HTTPS.
    pub jwks_url: Option<String>,
    /// An OIDC discovery document (`.../.well-known/openid-configuration`).
    pub discovery_url: Option<String>,
    /// Audiences accepted from this issuer, per family (default: the service-wide ones).
    pub audiences: Option<AudienceConfig>,
    /// Only these tenants (`tid`) are accepted from this issuer (default: any).
    pub tenants: Option<Vec<String>>,
    /// Honour the `mfalens_tenants` claim (ingest into several tenants); default false.
    pub tenant_list_claim: Option<bool>,
    /// Fetch keys at most once per this many seconds (default 300).
    pub min_refresh_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted issuer '{issuer}': {message}")]
pub struct TrustError {
    pub issuer: String,
    pub message: String,
}

impl IssuerConfig {
    /// `ISSUER=PATH`, the form of `--trust-jwks`.
    pub fn from_flag(s: &str) -> Result<IssuerConfig, TrustError> {
        match s.split_once('=') {
            Some((iss, path)) if !iss.trim().is_empty() && !path.trim().is_empty() => {
                Ok(IssuerConfig {
                    issuer: iss.trim().to_string(),
                    jwks_file: Some(PathBuf::from(path.trim())),
                    ..IssuerConfig::default()
                })
            }
            _ => Err(TrustError {
                issuer: s.to_string(),
                message: "expected ISSUER=PATH, e.g. --trust-jwks https://idp.example/realms/acme=./acme-jwks.json".into(),
            }),
        }
    }

    /// Builds the issuer; a JWKS file is read now, remote keys on first use.
    pub fn build(
        &self,
        defaults: &Audiences,
        http: &reqwest::Client,
        now: i64,
    ) -> Result<TrustedIssuer, TrustError> {
        let err = |message: String| TrustError {
            issuer: self.issuer.clone(),
            message,
        };
        check_issuer(&self.issuer).map_err(err)?;
        let location = match (&self.jwks_file, &self.jwks_url, &self.discovery_url) {
            (Some(p), None, None) => KeyLocation::File(p.clone()),
            (None, Some(u), None) => {
                check_url(u).map_err(err)?;
                KeyLocation::JwksUrl(u.clone())
            }
            (None, None, Some(u)) => {
                check_url(u).map_err(err)?;
                KeyLocation::Discovery(u.clone())
            }
            _ => {
                return Err(err(
                    "set exactly one of jwks_file, jwks_url or discovery_url".into(),
                ));
            }
        };
        let min = self.min_refresh_secs.unwrap_or(300);
        if min < 1 {
            return Err(err(format!(
                "min_refresh_secs must be at least 1, not {min}"
            )));
        }
        let policy = RefreshPolicy {
            min_interval_secs: min,
            ..RefreshPolicy::default()
        };
        let mut source =
            KeySource::new(self.issuer.clone(), location.clone(), policy, http.clone());
        if let KeyLocation::File(path) = &location {
            let bytes = std::fs::read(path)
                .map_err(|e| err(format!("cannot read the JWKS file {}: {e}", path.display())))?;
            let parsed = parse_jwks(&bytes)
                .map_err(|e| err(format!("the JWKS file {}: {e}", path.display())))?;
            source = source.with_keys(parsed.keys, now);
        }
        let mut issuer = TrustedIssuer::from_source(self.issuer.clone(), Arc::new(source));
        issuer.audiences = self.audiences.as_ref().map(|a| a.over(defaults));
        if let Some(t) = &self.tenants {
            if t.is_empty() {
                return Err(err(
                    "tenants is empty, which would refuse every token; leave it out to accept any tenant".into(),
                ));
            }
            issuer.tenants = Some(t.iter().map(|x| x.to_ascii_lowercase()).collect());
        }
        issuer.tenant_list_claim = self.tenant_list_claim.unwrap_or(false);
        Ok(issuer)
    }
}

fn check_issuer(issuer: &str) -> Result<(), String> {
    if issuer.trim().is_empty() {
        return Err("the issuer is empty".into());
    }
    let rest = issuer.replace(TENANT_PLACEHOLDER, "");
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "the only placeholder an issuer may contain is {TENANT_PLACEHOLDER}"
        ));
    }
    Ok(())
}

/// Loads the keys of every refreshable issuer (at start-up, then periodically); each
/// issuer's rate limit still applies. Failures are logged by the key source.
pub async fn refresh_all(issuers: &[TrustedIssuer], now: i64) {
    for i in issuers {
        if let Some(src) = i.source() {
            src.refresh(src.generation(), now).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(c: &IssuerConfig) -> Result<TrustedIssuer, TrustError> {
        c.build(&Audiences::default(), &reqwest::Client::new(), 0)
    }

    #[test]
    fn flags_and_tables_are_validated_with_a_hint() {
        let c = IssuerConfig::from_flag("https://idp.example/realms/a=./keys.json").unwrap();
        assert_eq!(c.issuer, "https://idp.example/realms/a");
        assert_eq!(c.jwks_file, Some(PathBuf::from("./keys.json")));
        assert!(IssuerConfig::from_flag("no-equals-sign").is_err());

        let e = build(&IssuerConfig {
            issuer: "https://idp.example".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("exactly one of"), "{e}");
        let e = build(&IssuerConfig {
            issuer: "https://idp.example/{tenant}".into(),
            jwks_url: Some("https://idp.example/keys".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("{tenantid}"), "{e}");
        let e = build(&IssuerConfig {
            issuer: "https://idp.example".into(),
            discovery_url: Some("http://idp.example/.well-known/openid-configuration".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("https"), "{e}");
        let e = build(&IssuerConfig {
            issuer: "https://idp.example".into(),
            jwks_file: Some("/nonexistent/keys.json".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("cannot read the JWKS file"), "{e}");
    }

    #[test]
    fn entra_by_discovery_with_an_audience_override_and_a_tenant_list() {
        let c: IssuerConfig = toml::from_str(&format!(
            r#"
            issuer = "{ENTRA_V2_ISSUER}"
            discovery_url = "{ENTRA_V2_DISCOVERY}"
            tenants = ["AAAAAAAA-0000-0000-0000-00000000000A"]
            audiences = {{ ingest = ["api://mfalens-prod"] }}
            "#
        ))
        .unwrap();
        let i = build(&c).unwrap();
        let a = i.audiences.clone().unwrap();
        assert_eq!(a.ingest, vec!["api://mfalens-prod".to_string()]);
        assert_eq!(a.graph, Audiences::default().graph);
        assert_eq!(
            i.tenants,
            Some(vec!["aaaaaaaa-0000-0000-0000-00000000000a".to_string()])
        );
        assert!(!i.tenant_list_claim);
        assert!(i.source().is_some());
        assert!(toml::from_str::<IssuerConfig>("issuer = \"x\"\ncolour = \"red\"").is_err());
    }
}
