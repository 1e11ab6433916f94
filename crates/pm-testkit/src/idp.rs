//! A fake identity provider at its HTTP boundary: OpenID discovery and a JWKS on 127.0.0.1, keys
//! published and replaced at will (rotation), JWKS fetches counted, and able to go down. Tokens
//! are signed with ES256 keys made by aws-lc-rs. The real provider of the end-to-end test is
//! `tests/clients/oauth-idp.mjs` (oidc-provider); this one serves in-process tests and benches.
#![allow(clippy::unwrap_used)] // test fixture code

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// One signing key: the private half for signing, the public half as a JWK.
pub struct SigningKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    pub jwk: Value,
}

impl SigningKey {
    pub fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
        // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65);
        Self {
            kid: kid.into(),
            pkcs8: doc.as_ref().to_vec(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]),
            }),
        }
    }

    /// A signed access token (`typ: at+jwt`, RFC 9068) holding `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        h.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&h, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// The provider: its issuer URL (`http://127.0.0.1:PORT/realms/acme`), what it publishes, and
/// its counters.
pub struct Idp {
    pub issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    /// JWKS requests answered.
    pub jwks_fetches: Arc<AtomicUsize>,
    /// While set, discovery and the JWKS answer 503.
    pub down: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Idp {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/realms/acme", listener.local_addr().unwrap());
        let shared = Shared {
            issuer: issuer.clone(),
            keys: Arc::default(),
            fetches: Arc::default(),
            down: Arc::default(),
        };
        let idp = Self {
            issuer,
            keys: shared.keys.clone(),
            jwks_fetches: shared.fetches.clone(),
            down: shared.down.clone(),
        };
        let app = axum::Router::new()
            .route(
                "/realms/acme/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/realms/acme/protocol/openid-connect/certs", get(jwks))
            .with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await });
        idp
    }

    /// Publishes exactly these keys (beside one of a kind pm-mcp does not use).
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// The claims of a 5-minute access token for `audience`, issued to client `cursor`.
    pub fn claims(&self, audience: &str, email: &str, scope: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer, "sub": format!("sub-{email}"), "aud": audience,
            "iat": now, "exp": now + 300, "scope": scope, "client_id": "cursor",
            "email": email, "email_verified": true, "name": "Ann Example",
            "groups": ["staff"],
        })
    }

    fn is_down(s: &Shared) -> Result<(), StatusCode> {
        if s.down.load(Ordering::SeqCst) {
            Err(StatusCode::SERVICE_UNAVAILABLE)
        } else {
            Ok(())
        }
    }
}

async fn discovery(State(s): State<Shared>) -> Result<axum::Json<Value>, StatusCode> {
    Idp::is_down(&s)?;
    Ok(axum::Json(json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/protocol/openid-connect/certs", s.issuer),
        "authorization_endpoint": format!("{}/auth", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
    })))
}

async fn jwks(State(s): State<Shared>) -> Result<axum::Json<Value>, StatusCode> {
    Idp::is_down(&s)?;
    s.fetches.fetch_add(1, Ordering::SeqCst);
    let mut all = vec![json!({"kty": "oct", "kid": "shared", "k": "c2VjcmV0"})];
    all.extend(s.keys.lock().unwrap().iter().cloned());
    Ok(axum::Json(json!({ "keys": all })))
}
