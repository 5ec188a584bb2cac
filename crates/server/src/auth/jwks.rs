//! JSON Web Key sets → trusted keys. The algorithm each key verifies is fixed here, from the
//! key itself (`kty`, `crv`, `alg`), never from a token header. Symmetric (`oct`) keys,
//! encryption keys and RSA keys under 2048 bits are skipped, so a JWKS can never turn a
//! public value into an HMAC secret.

use super::verify::TrustedKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the key set is not JSON with a \"keys\" array: {0}")]
    NotAKeySet(String),
    #[error("the key set has no usable signing key (RS256/ES256){}", skipped_note(.0))]
    NoUsableKey(Vec<String>),
}

fn skipped_note(skipped: &[String]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!("; skipped: {}", skipped.join("; "))
    }
}

/// The usable keys of a JWK set, and why each other key was skipped.
#[derive(Debug)]
pub struct ParsedKeys {
    pub keys: Vec<TrustedKey>,
    pub skipped: Vec<String>,
}

/// Parses a JWK set (`{"keys": [...]}`), keeping the keys this service can verify with.
pub fn parse_jwks(bytes: &[u8]) -> Result<ParsedKeys, JwksError> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set =
        serde_json::from_slice(bytes).map_err(|e| JwksError::NotAKeySet(e.to_string()))?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in set.keys.into_iter().enumerate() {
        let label = raw
            .get("kid")
            .and_then(|k| k.as_str())
            .map(|k| format!("kid '{k}'"))
            .unwrap_or_else(|| format!("key #{i}"));
        match serde_json::from_value::<Jwk>(raw)
            .map_err(|e| format!("not a JWK ({e})"))
            .and_then(|jwk| trusted_key(&jwk))
        {
            Ok(k) => keys.push(k),
            Err(why) => skipped.push(format!("{label}: {why}")),
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey(skipped));
    }
    Ok(ParsedKeys { keys, skipped })
}

/// One JWK as a trusted key with its pinned algorithm, or why it cannot be one.
pub fn trusted_key(jwk: &Jwk) -> Result<TrustedKey, String> {
    let c = &jwk.common;
    if matches!(c.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key (use=enc)".into());
    }
    if let Some(ops) = &c.key_operations
        && !ops.iter().any(|o| matches!(o, KeyOperations::Verify))
    {
        return Err("key_ops does not include verify".into());
    }
    let alg = match (&jwk.algorithm, c.key_algorithm) {
        (AlgorithmParameters::RSA(p), alg) => {
            let n = URL_SAFE_NO_PAD
                .decode(p.n.trim_end_matches('='))
                .map_err(|_| "the RSA modulus is not base64url".to_string())?;
            let bits = n.iter().skip_while(|b| **b == 0).count();
            if bits < MIN_RSA_MODULUS_BYTES {
                return Err(format!(
                    "the RSA key has {} bits; at least 2048 are required",
                    bits * 8
                ));
            }
            match alg {
                None | Some(KeyAlgorithm::RS256) => Algorithm::RS256,
                Some(KeyAlgorithm::RS384) => Algorithm::RS384,
                Some(KeyAlgorithm::RS512) => Algorithm::RS512,
                Some(KeyAlgorithm::PS256) => Algorithm::PS256,
                Some(KeyAlgorithm::PS384) => Algorithm::PS384,
                Some(KeyAlgorithm::PS512) => Algorithm::PS512,
                Some(other) => return Err(format!("an RSA key for {other:?}, not for signing")),
            }
        }
        (AlgorithmParameters::EllipticCurve(p), alg) => match (&p.curve, alg) {
            (EllipticCurve::P256, None | Some(KeyAlgorithm::ES256)) => Algorithm::ES256,
            (EllipticCurve::P384, None | Some(KeyAlgorithm::ES384)) => Algorithm::ES384,
            (curve, alg) => {
                return Err(format!(
                    "an EC key on {curve:?} with alg {alg:?} (P-256/ES256 and P-384/ES384 are accepted)"
                ));
            }
        },
        (AlgorithmParameters::OctetKey(_), _) => {
            return Err("a symmetric (oct) key; shared secrets are never trusted".into());
        }
        (AlgorithmParameters::OctetKeyPair(_), _) => {
            return Err("an OKP (EdDSA) key; not supported".into());
        }
        (_, _) => return Err("an unknown key type".into()),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key material ({e})"))?;
    Ok(TrustedKey {
        kid: c.key_id.clone(),
        alg,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::local::LocalKey;
    use serde_json::json;

    fn rsa_jwk() -> serde_json::Value {
        let pem = LocalKey::generate_pem().unwrap();
        let key = LocalKey::from_pem(&pem).unwrap();
        key.jwks()["keys"][0].clone()
    }

    #[test]
    fn the_algorithm_comes_from_the_key_and_odd_keys_are_skipped() {
        let rsa = rsa_jwk();
        let mut no_alg = rsa.clone();
        no_alg.as_object_mut().unwrap().remove("alg");
        no_alg["kid"] = json!("no-alg");
        let mut enc = rsa.clone();
        enc["use"] = json!("enc");
        enc["kid"] = json!("enc");
        let mut small = rsa.clone();
        small["n"] = json!(URL_SAFE_NO_PAD.encode([0xc5u8; 128]));
        small["kid"] = json!("small");
        let set = json!({"keys": [
            rsa,
            no_alg,
            enc,
            small,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "EC", "crv": "P-256", "kid": "ec",
             "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
             "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
            {"kty": "EC", "crv": "P-256", "alg": "RS256", "kid": "ec-lies",
             "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
             "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
            {"kty": "RSA", "kid": "broken"},
        ]});
        let parsed = parse_jwks(set.to_string().as_bytes()).unwrap();
        let algs: Vec<(Option<&str>, Algorithm)> = parsed
            .keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.alg))
            .collect();
        assert_eq!(algs.len(), 3, "{algs:?} / {:?}", parsed.skipped);
        assert_eq!(algs[0].1, Algorithm::RS256);
        assert_eq!(algs[1], (Some("no-alg"), Algorithm::RS256));
        assert_eq!(algs[2], (Some("ec"), Algorithm::ES256));
        let why = parsed.skipped.join("\n");
        for expected in [
            "kid 'enc': an encryption key",
            "kid 'small': the RSA key has 1024 bits",
            "kid 'hmac': a symmetric (oct) key",
            "kid 'ec-lies'",
            "kid 'broken'",
        ] {
            assert!(why.contains(expected), "{expected} in {why}");
        }
    }

    #[test]
    fn a_set_without_usable_keys_says_why() {
        assert!(matches!(
            parse_jwks(b"{\"nokeys\": 1}"),
            Err(JwksError::NotAKeySet(_))
        ));
        let e = parse_jwks(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).unwrap_err();
        assert!(e.to_string().contains("symmetric"), "{e}");
    }
}
