//! Issuers beyond the local key: an OIDC provider served from a loopback axum server inside
//! the test (discovery document + JWKS, each fetch counted), with key rotation, the refresh
//! rate limit and shared fetches; ES256 keys from a JWKS file that rotates on disk; Entra ID
//! v1/v2 issuer templates with a tenant list.

use super::{ENDPOINTS, Endpoint, call};
use crate::app::{TENANT_A, TENANT_B, TestApp};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Duration;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mfalens_server::auth::keysource::http_client;
use mfalens_server::auth::local::LocalKey;
use mfalens_server::auth::policy::REPORTS_READER;
use mfalens_server::auth::trust::{ENTRA_V1_ISSUER, ENTRA_V2_ISSUER, IssuerConfig};
use mfalens_server::auth::verify::{Audiences, GRAPH_AUDIENCES, INGEST_AUDIENCES, TrustedIssuer};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// A P-256 key made for these tests only.
const EC_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDbRpJUVSP3+yoJqS
ACXHBN1fI7hTxFckQrlKx6Z4+OKhRANCAARivZvzUdn/LmvgbK/oYl/fpj9dRodr
j2aVBl31fArg8CLH9/g+nD4IqB8hy5IiDbj7kePyI7dlN94G5OfHLFvv
-----END PRIVATE KEY-----
";

/// Three RSA keys for the whole binary (generation is the slow part).
fn rsa_keys() -> &'static [LocalKey; 3] {
    static KEYS: OnceLock<[LocalKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        std::array::from_fn(|_| LocalKey::from_pem(&LocalKey::generate_pem().unwrap()).unwrap())
    })
}

/// An RSA signing key published under `kid`.
struct Signer {
    kid: &'static str,
    key: &'static LocalKey,
}

impl Signer {
    fn jwk(&self) -> Value {
        let mut k = self.key.jwks()["keys"][0].clone();
        k["kid"] = json!(self.kid);
        k
    }
    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        self.key.sign_with_header(&h, claims).unwrap()
    }
}

#[derive(Clone)]
struct IdpState {
    issuer: String,
    jwks: Arc<RwLock<Value>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
}

/// A Keycloak-like OIDC provider on 127.0.0.1.
struct Idp {
    issuer: String,
    state: IdpState,
}

impl Idp {
    async fn start() -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/realms/acme", listener.local_addr().unwrap());
        let state = IdpState {
            issuer: issuer.clone(),
            jwks: Arc::new(RwLock::new(json!({"keys": []}))),
            jwks_hits: Arc::default(),
            discovery_hits: Arc::default(),
        };
        async fn discovery(State(s): State<IdpState>) -> Json<Value> {
            s.discovery_hits.fetch_add(1, Ordering::SeqCst);
            Json(json!({
                "issuer": s.issuer,
                "jwks_uri": format!("{}/protocol/openid-connect/certs", s.issuer),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }))
        }
        async fn certs(State(s): State<IdpState>) -> Json<Value> {
            s.jwks_hits.fetch_add(1, Ordering::SeqCst);
            Json(s.jwks.read().unwrap().clone())
        }
        let router = Router::new()
            .route(
                "/realms/acme/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/realms/acme/protocol/openid-connect/certs", get(certs))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Idp { issuer, state }
    }

    fn publish(&self, signers: &[&Signer]) {
        *self.state.jwks.write().unwrap() =
            json!({"keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>()});
    }

    fn hits(&self) -> (usize, usize) {
        (
            self.state.discovery_hits.load(Ordering::SeqCst),
            self.state.jwks_hits.load(Ordering::SeqCst),
        )
    }

    fn trusted(&self) -> TrustedIssuer {
        IssuerConfig {
            issuer: self.issuer.clone(),
            discovery_url: Some(format!("{}/.well-known/openid-configuration", self.issuer)),
            ..IssuerConfig::default()
        }
        .build(&Audiences::default(), &http_client(), 0)
        .unwrap()
    }
}

/// A report reader's delegated Graph token claims from `issuer`.
fn reader_claims(app: &TestApp, issuer: &str, tenant: &str, user: &str) -> Value {
    let now = app.now().timestamp();
    json!({
        "iss": issuer, "aud": GRAPH_AUDIENCES[0], "tid": tenant, "oid": user, "sub": user,
        "iat": now, "nbf": now, "exp": now + 3600, "scp": "Reports.Read.All",
        "wids": [REPORTS_READER.template_id], "amr": ["pwd", "mfa"], "azp": "kc-client",
        "preferred_username": format!("{user}@acme.example"),
    })
}

fn metrics() -> &'static Endpoint {
    &ENDPOINTS[0]
}

async fn status(app: &TestApp, token: &str) -> u16 {
    call(app, metrics(), Some(token), "").await.status
}

fn advance(app: &TestApp, secs: i64) {
    app.clock.set(app.now() + Duration::seconds(secs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_keys_are_discovered_cached_rotated_and_rate_limited() {
    let [key1, key2, key3] = rsa_keys();
    let (k1, k2, k3) = (
        Signer {
            kid: "k1",
            key: key1,
        },
        Signer {
            kid: "k2",
            key: key2,
        },
        Signer {
            kid: "k3",
            key: key3,
        },
    );
    let idp = Idp::start().await;
    idp.publish(&[&k1]);
    let app = TestApp::start_trusting(vec![idp.trusted()]).await;
    let iss = idp.issuer.clone();

    // First use: discovery, then the key set; afterwards both are cached.
    let t1 = k1.sign(&reader_claims(&app, &iss, TENANT_A, "u1"));
    assert_eq!(status(&app, &t1).await, 200);
    assert_eq!(idp.hits(), (1, 1));
    assert_eq!(status(&app, &t1).await, 200);
    let t1b = k1.sign(&reader_claims(&app, &iss, TENANT_A, "u2"));
    assert_eq!(status(&app, &t1b).await, 200);
    assert_eq!(idp.hits(), (1, 1), "known keys are not fetched again");

    // The provider rotates to k2. Within 5 minutes of the last fetch, a k2 token cannot
    // make us fetch again, however many arrive.
    idp.publish(&[&k2]);
    let t2 = k2.sign(&reader_claims(&app, &iss, TENANT_A, "u3"));
    for _ in 0..5 {
        assert_eq!(status(&app, &t2).await, 401);
    }
    assert_eq!(idp.hits(), (1, 1), "rate-limited");
    assert_eq!(status(&app, &t1).await, 200, "k1 is still trusted");

    // Past the interval, the unknown kid triggers one refresh and verifies.
    advance(&app, 301);
    assert_eq!(status(&app, &t2).await, 200);
    assert_eq!(
        idp.hits(),
        (1, 2),
        "the JWKS again, not the discovery document"
    );
    // k1 has left the key set: its tokens, cached or not, are refused now.
    assert_eq!(status(&app, &t1).await, 401);
    assert_eq!(idp.hits(), (1, 2));

    // Concurrent tokens with a new kid share one fetch.
    idp.publish(&[&k2, &k3]);
    advance(&app, 301);
    let tokens: Vec<String> = (0..16)
        .map(|i| k3.sign(&reader_claims(&app, &iss, TENANT_A, &format!("c{i}"))))
        .collect();
    let replies = futures::future::join_all(tokens.iter().map(|t| status(&app, t))).await;
    assert!(replies.iter().all(|s| *s == 200), "{replies:?}");
    assert_eq!(idp.hits(), (1, 3), "one fetch for sixteen misses");

    // A storm of tokens naming a kid nobody publishes: one fetch, then none.
    advance(&app, 301);
    let bogus: Vec<String> = (0..16)
        .map(|i| {
            k3.sign_as(
                "nope",
                &reader_claims(&app, &iss, TENANT_A, &format!("n{i}")),
            )
        })
        .collect();
    let replies = futures::future::join_all(bogus.iter().map(|t| status(&app, t))).await;
    assert!(replies.iter().all(|s| *s == 401), "{replies:?}");
    assert_eq!(idp.hits(), (1, 4));
    let replies = futures::future::join_all(bogus.iter().map(|t| status(&app, t))).await;
    assert!(replies.iter().all(|s| *s == 401));
    assert_eq!(idp.hits(), (1, 4));

    // The provider's keys do not make its tokens good for another issuer or audience.
    let mut c = reader_claims(&app, &iss, TENANT_A, "u4");
    c["iss"] = json!(format!("{iss}-other"));
    assert_eq!(status(&app, &k2.sign(&c)).await, 401);
    let mut c = reader_claims(&app, &iss, TENANT_A, "u4");
    c["aud"] = json!(INGEST_AUDIENCES[0]);
    assert_eq!(status(&app, &k2.sign(&c)).await, 401);
}

fn ec_signer(kid: &str) -> (EncodingKey, Value) {
    let enc = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&enc, Algorithm::ES256).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    (enc, jwk)
}

fn es256(enc: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, enc).unwrap()
}

#[tokio::test]
async fn es256_from_a_jwks_file_with_pinned_algorithms_and_rotation_on_disk() {
    const ISS: &str = "https://keycloak.example/realms/es";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let (enc, jwk) = ec_signer("ec-1");
    let rsa = Signer {
        kid: "rsa-1",
        key: &rsa_keys()[0],
    };
    std::fs::write(&path, json!({"keys": [jwk, rsa.jwk()]}).to_string()).unwrap();
    let now = mfalens_server::clock::Clock::now(&mfalens_server::clock::SystemClock).timestamp();
    let issuer = IssuerConfig::from_flag(&format!("{ISS}={}", path.display()))
        .unwrap()
        .build(&Audiences::default(), &http_client(), now)
        .unwrap();
    let app = TestApp::start_trusting(vec![issuer]).await;

    let claims = reader_claims(&app, ISS, TENANT_A, "es-user");
    assert_eq!(status(&app, &es256(&enc, "ec-1", &claims)).await, 200);
    assert_eq!(status(&app, &rsa.sign(&claims)).await, 200);
    // The header cannot choose the algorithm: RS256 under the EC key's kid, ES256 under the
    // RSA key's kid, HS256 keyed with the public JWK.
    assert_eq!(status(&app, &rsa.sign_as("ec-1", &claims)).await, 401);
    assert_eq!(status(&app, &es256(&enc, "rsa-1", &claims)).await, 401);
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("ec-1".into());
    let secret = serde_json::to_vec(&ec_signer("ec-1").1).unwrap();
    let hs256 = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(&secret)).unwrap();
    assert_eq!(status(&app, &hs256).await, 401);

    // An ingest token from this issuer may not widen its tenants with `mfalens_tenants`;
    // the same claim from the local key (the service's administrator) may.
    let t = app.now().timestamp();
    let ingest = json!({
        "iss": ISS, "aud": INGEST_AUDIENCES[0], "tid": TENANT_A, "oid": "sp", "idtyp": "app",
        "roles": ["MfaLens.Ingest"], "mfalens_tenants": [TENANT_A, TENANT_B],
        "iat": t, "nbf": t, "exp": t + 600,
    });
    let record = json!({"id": "u-b", "userPrincipalName": "b@b.example", "tenantId": TENANT_B})
        .to_string()
        .into_bytes();
    let r = app
        .post_ndjson(
            "/ingest/users",
            &es256(&enc, "ec-1", &ingest),
            record.clone(),
        )
        .await;
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["rejected"], 1, "{rep}");
    let r = app
        .post_ndjson(
            "/ingest/users",
            &app.ingest_token(&[TENANT_A, TENANT_B]),
            record,
        )
        .await;
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["inserted"], 1, "{rep}");

    // The file is re-read on an unknown kid, once the rate limit allows.
    let (_, jwk2) = ec_signer("ec-2");
    std::fs::write(&path, json!({"keys": [jwk2]}).to_string()).unwrap();
    let t2 = es256(&enc, "ec-2", &reader_claims(&app, ISS, TENANT_A, "es-2"));
    assert_eq!(status(&app, &t2).await, 401, "within the rate limit");
    advance(&app, 301);
    assert_eq!(status(&app, &t2).await, 200, "after the file was re-read");
}

#[tokio::test]
async fn entra_v1_and_v2_tokens_with_a_tenant_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entra-keys.json");
    let key = Signer {
        kid: "nOo3ZDrODXEK1jKWhXslHR_KXEg",
        key: &rsa_keys()[1],
    };
    std::fs::write(&path, json!({"keys": [key.jwk()]}).to_string()).unwrap();
    let build = |issuer: &str, tenants: Option<Vec<String>>| {
        IssuerConfig {
            issuer: issuer.into(),
            jwks_file: Some(path.clone()),
            tenants,
            ..IssuerConfig::default()
        }
        .build(&Audiences::default(), &http_client(), 0)
        .unwrap()
    };
    let app = TestApp::start_trusting(vec![
        build(ENTRA_V2_ISSUER, Some(vec![TENANT_A.to_uppercase()])),
        build(ENTRA_V1_ISSUER, None),
    ])
    .await;
    let now = app.now().timestamp();
    let v2 = |tid: &str, iss_tid: &str| {
        json!({
            "aud": "00000003-0000-0000-c000-000000000000",
            "iss": format!("https://login.microsoftonline.com/{iss_tid}/v2.0"),
            "iat": now, "nbf": now, "exp": now + 3600, "ver": "2.0",
            "tid": tid, "oid": "5f4d1c3e-0000-0000-0000-000000000001",
            "sub": "pairwise-sub", "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "preferred_username": "alice@contoso.example", "name": "Alice",
            "scp": "Reports.Read.All User.Read", "wids": [REPORTS_READER.template_id],
            "amr": ["pwd", "mfa"],
        })
    };
    assert_eq!(status(&app, &key.sign(&v2(TENANT_A, TENANT_A))).await, 200);
    // Another tenant's v2 token: the template matches, the tenant list does not.
    assert_eq!(status(&app, &key.sign(&v2(TENANT_B, TENANT_B))).await, 401);
    // An issuer of one tenant with the tid of another matches no issuer.
    assert_eq!(status(&app, &key.sign(&v2(TENANT_B, TENANT_A))).await, 401);

    // v1 application token (roles, appid, no scp) of tenant B: no tenant list on v1.
    let v1 = json!({
        "aud": "https://graph.microsoft.com", "iss": format!("https://sts.windows.net/{TENANT_B}/"),
        "iat": now, "nbf": now, "exp": now + 3600, "ver": "1.0",
        "tid": TENANT_B, "oid": "sp-object", "sub": "sp-object", "appid": "app-id",
        "roles": ["Reports.Read.All"], "idtyp": "app",
    });
    assert_eq!(status(&app, &key.sign(&v1)).await, 200);
    let mut no_role = v1.clone();
    no_role["roles"] = json!(["User.Read.All"]);
    assert_eq!(status(&app, &key.sign(&no_role)).await, 403);
}
