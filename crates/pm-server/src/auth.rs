//! API-key authentication: from request headers to a `Principal` (the user and the key they
//! presented), or an `AuthError` that says what is wrong without saying whether a key exists.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http::HeaderMap;
use pm_core::{ApiKeyId, Scope, Scopes};
use pm_store::{ApiKey, ApiKeyInfo, MalformedKey, Store, StoreError, User};

/// Who is calling: a user, through one of their keys.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub key: ApiKeyInfo,
}

impl Principal {
    pub fn scopes(&self) -> Scopes {
        self.key.scopes
    }

    pub fn may(&self, scope: Scope) -> bool {
        self.key.scopes.grants(scope)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no API key: send it as `Authorization: Bearer pmcp_…` (or in an X-MCP-API-Key / X-API-Key header)"
    )]
    Missing,
    #[error("the API key is malformed: {0}")]
    Malformed(String),
    #[error(
        "the API key is not valid; check that it was copied whole, or create a new one with `pm-mcp key create`"
    )]
    Unknown,
    #[error("the API key was revoked; create a new one with `pm-mcp key create`")]
    Revoked,
    #[error("the API key has expired; create a new one with `pm-mcp key create`")]
    Expired,
    #[error("the user this API key belongs to is disabled; ask an administrator")]
    UserDisabled,
    #[error(
        "authentication is unavailable right now (the database cannot be reached); try again shortly"
    )]
    Unavailable,
}

impl AuthError {
    /// Stable machine-readable reason, for JSON bodies and audit rows.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed(_) => "malformed",
            AuthError::Unknown => "unknown",
            AuthError::Revoked => "revoked",
            AuthError::Expired => "expired",
            AuthError::UserDisabled => "user_disabled",
            AuthError::Unavailable => "unavailable",
        }
    }
}

impl From<MalformedKey> for AuthError {
    fn from(e: MalformedKey) -> Self {
        AuthError::Malformed(e.to_string())
    }
}

/// The headers a key may come in, in the order they are read.
const KEY_HEADERS: [&str; 2] = ["x-mcp-api-key", "x-api-key"];

/// The one presented key, from `Authorization: Bearer`, `X-MCP-API-Key` or `X-API-Key`.
/// Different keys in different headers are refused rather than guessed between.
pub fn key_from_headers(headers: &HeaderMap) -> Result<String, AuthError> {
    let mut found: Vec<String> = Vec::new();
    for value in headers.get_all(http::header::AUTHORIZATION) {
        let text = value
            .to_str()
            .map_err(|_| AuthError::Malformed("the Authorization header is not text".into()))?
            .trim();
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Malformed(format!(
                "the Authorization scheme {scheme:?} is not supported; use `Authorization: Bearer pmcp_…`"
            )));
        }
        found.push(rest.trim().to_string());
    }
    for name in KEY_HEADERS {
        for value in headers.get_all(name) {
            let text = value
                .to_str()
                .map_err(|_| AuthError::Malformed(format!("the {name} header is not text")))?;
            found.push(text.trim().to_string());
        }
    }
    found.retain(|k| !k.is_empty());
    match found.split_first() {
        None => Err(AuthError::Missing),
        Some((first, rest)) if rest.iter().all(|k| k == first) => Ok(first.clone()),
        Some(_) => Err(AuthError::Malformed(
            "different keys were sent in different headers; send one".into(),
        )),
    }
}

/// Checks keys against the store. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    /// When this process last recorded each key's use (the store also throttles across replicas).
    touched: Arc<Mutex<HashMap<ApiKeyId, Instant>>>,
}

const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl Authenticator {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            touched: Arc::default(),
        }
    }

    /// Verifies a presented key. Revocation, expiry and disabling take effect on the next
    /// request: nothing is cached.
    pub async fn authenticate(&self, raw: &str) -> Result<Principal, AuthError> {
        let key = ApiKey::parse(raw)?;
        let owner = match self.store.find_api_key(&key.hash()).await {
            Ok(Some(owner)) => owner,
            Ok(None) => return Err(AuthError::Unknown),
            Err(e) => {
                tracing::error!(error = %e, "API key lookup failed");
                return Err(AuthError::Unavailable);
            }
        };
        let now = Utc::now();
        if owner.key.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if owner.key.is_expired(now) {
            return Err(AuthError::Expired);
        }
        if owner.user.is_disabled() {
            return Err(AuthError::UserDisabled);
        }
        self.note_use(owner.key.id);
        Ok(Principal {
            user: owner.user,
            key: owner.key,
        })
    }

    /// Records `last_used_at` in the background, at most once a minute per key per process.
    fn note_use(&self, key: ApiKeyId) {
        let due = {
            let Ok(mut touched) = self.touched.lock() else {
                return;
            };
            let now = Instant::now();
            match touched.get(&key) {
                Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
                _ => {
                    touched.insert(key, now);
                    true
                }
            }
        };
        if due {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_api_key(key, Utc::now()).await {
                    match e {
                        StoreError::Unavailable(_) => {
                            tracing::warn!(error = %e, "could not record key use")
                        }
                        _ => tracing::error!(error = %e, "could not record key use"),
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn keys_come_from_any_of_three_headers() {
        assert_eq!(
            key_from_headers(&headers(&[("authorization", "Bearer pmcp_x")])),
            Ok("pmcp_x".into())
        );
        assert_eq!(
            key_from_headers(&headers(&[("authorization", "bearer  pmcp_x ")])),
            Ok("pmcp_x".into())
        );
        assert_eq!(
            key_from_headers(&headers(&[("x-mcp-api-key", "pmcp_y")])),
            Ok("pmcp_y".into())
        );
        assert_eq!(
            key_from_headers(&headers(&[("x-api-key", "pmcp_z")])),
            Ok("pmcp_z".into())
        );
        assert_eq!(
            key_from_headers(&headers(&[
                ("authorization", "Bearer pmcp_x"),
                ("x-api-key", "pmcp_x")
            ])),
            Ok("pmcp_x".into())
        );
    }

    #[test]
    fn missing_conflicting_and_foreign_schemes_are_refused() {
        assert_eq!(key_from_headers(&HeaderMap::new()), Err(AuthError::Missing));
        assert_eq!(
            key_from_headers(&headers(&[("authorization", "Bearer ")])),
            Err(AuthError::Missing)
        );
        assert!(matches!(
            key_from_headers(&headers(&[("authorization", "Basic dXNlcjpwdw==")])),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            key_from_headers(&headers(&[
                ("authorization", "Bearer pmcp_a"),
                ("x-api-key", "pmcp_b")
            ])),
            Err(AuthError::Malformed(_))
        ));
    }
}
