//! OAuth 2.1 for MCP clients: pm-mcp as a protected resource (the MCP authorization spec) in front
//! of the company's identity provider.
//!
//! - The Protected Resource Metadata (RFC 9728) names the trusted issuers and pm-mcp's scopes.
//! - A bearer JWT is verified on every request: the signature against the issuer's published keys
//!   (JWKS, cached, fetched again for an unknown `kid`), `iss`, `exp`/`nbf` with a small leeway,
//!   and the audience, which must be pm-mcp's canonical resource URI (RFC 8707) or an audience the
//!   operator named. A token for anything else is refused, and no token is ever sent upstream.
//! - The token's e-mail claim names the pm-mcp user (created at first sign-in when the operator
//!   allows); its scopes map to pm-mcp's `read`, `write` and `admin`.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use pm_core::{Scope, Scopes};
use serde_json::{Map, Value, json};

/// The operator's OAuth settings (`pm-mcp serve --oauth-issuer … --oauth-resource …`).
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// Issuers whose tokens are accepted, exactly as they appear in `iss` and in their metadata.
    pub issuers: Vec<String>,
    /// pm-mcp's canonical resource URI (e.g. `https://pm.example.com/mcp`): the audience tokens
    /// must be issued for, and the `resource` of the Protected Resource Metadata.
    pub resource: String,
    /// Further accepted `aud` values, for identity providers that cannot issue tokens for a URI
    /// (Entra ID's v2 tokens carry the application id). Empty: the resource only.
    pub extra_audiences: Vec<String>,
    /// The token scopes that grant pm-mcp's scopes.
    pub scope_names: ScopeNames,
    /// The claim holding the user's e-mail address (`email`; a namespaced claim for Auth0, `upn`
    /// or `preferred_username` for Entra ID, `sub` for Okta's default authorization server).
    pub user_claim: String,
    /// Create a pm-mcp user at first sign-in (otherwise an administrator adds users first).
    pub create_users: bool,
    /// When set, whether the user is an administrator is read from the token at every request.
    pub admin_claim: Option<ClaimMatch>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Which token scope grants each pm-mcp scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeNames {
    pub read: String,
    pub write: String,
    pub admin: String,
}

impl Default for ScopeNames {
    fn default() -> Self {
        Self {
            read: "pm:read".into(),
            write: "pm:write".into(),
            admin: "pm:admin".into(),
        }
    }
}

impl ScopeNames {
    /// Parses `read=NAME,write=NAME,admin=NAME` (any subset; the rest keep their defaults).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut names = Self::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (which, name) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not SCOPE=NAME (e.g. write=pm.write)"))?;
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!(
                    "the token scope for {which} must be one word, not {name:?}"
                ));
            }
            match which.trim() {
                "read" => names.read = name.into(),
                "write" => names.write = name.into(),
                "admin" => names.admin = name.into(),
                other => {
                    return Err(format!(
                        "{other:?} is not a pm-mcp scope (read, write or admin)"
                    ));
                }
            }
        }
        if names.read == names.write || names.read == names.admin || names.write == names.admin {
            return Err("read, write and admin need three different token scopes".into());
        }
        Ok(names)
    }

    fn name(&self, scope: Scope) -> &str {
        match scope {
            Scope::Read => &self.read,
            Scope::Write => &self.write,
            Scope::Admin => &self.admin,
            // Never granted through a sign-in: only keys hold these.
            Scope::Sync | Scope::ActAs => "",
        }
    }

    /// The pm-mcp scopes the token scopes grant (unknown ones ignored; `None`: none at all).
    pub fn grant<'a>(&self, token_scopes: impl IntoIterator<Item = &'a str>) -> Option<Scopes> {
        let held: Vec<Scope> = token_scopes
            .into_iter()
            .flat_map(|s| {
                Scope::ALL
                    .into_iter()
                    .filter(move |scope| s == self.name(*scope))
            })
            .collect();
        Scopes::from_iter_nonempty(held).ok()
    }

    /// The token scopes to ask for to do what `scope` allows: it and the ones below it
    /// (space-separated, as in a `WWW-Authenticate` challenge).
    pub fn to_ask(&self, scope: Scope) -> String {
        Scope::ALL
            .into_iter()
            .filter(|s| *s <= scope)
            .map(|s| self.name(s))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn all(&self) -> [&str; 3] {
        [&self.read, &self.write, &self.admin]
    }
}

/// `claim=value`: the claim (a string, or an array of strings, or `true`) holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMatch {
    pub claim: String,
    pub value: String,
}

impl ClaimMatch {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.split_once('=') {
            Some((claim, value)) if !claim.trim().is_empty() && !value.trim().is_empty() => {
                Ok(Self {
                    claim: claim.trim().into(),
                    value: value.trim().into(),
                })
            }
            _ => Err(format!(
                "{raw:?} is not CLAIM=VALUE (e.g. groups=pm-admins or roles=PmAdmin)"
            )),
        }
    }

    fn holds(&self, claims: &Map<String, Value>) -> bool {
        match claims.get(&self.claim) {
            Some(Value::String(s)) => s == &self.value || s.split(' ').any(|w| w == self.value),
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(&self.value)),
            Some(Value::Bool(b)) => *b && self.value == "true",
            _ => false,
        }
    }
}

impl OAuthSettings {
    /// Checks the settings hang together; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.issuers.is_empty() {
            return Err("--oauth-resource needs at least one --oauth-issuer".into());
        }
        for issuer in &self.issuers {
            check_https(issuer, "--oauth-issuer")?;
        }
        let resource = check_https(&self.resource, "--oauth-resource")?;
        if resource.fragment().is_some() || resource.query().is_some() {
            return Err("--oauth-resource must not have a query or a fragment (RFC 8707)".into());
        }
        if self.user_claim.trim().is_empty() {
            return Err("--oauth-user-claim must name a claim".into());
        }
        Ok(())
    }

    /// The URL of the Protected Resource Metadata for the resource (RFC 9728 §3.1: the
    /// well-known segment goes between the origin and the resource's path).
    pub fn metadata_url(&self) -> String {
        match url::Url::parse(&self.resource) {
            Ok(u) => {
                let path = u.path().trim_end_matches('/');
                format!(
                    "{}/.well-known/oauth-protected-resource{path}",
                    u.origin().ascii_serialization()
                )
            }
            Err(_) => String::new(),
        }
    }

    /// The Protected Resource Metadata document.
    pub fn metadata(&self) -> Value {
        json!({
            "resource": self.resource,
            "authorization_servers": self.issuers,
            "scopes_supported": self.scope_names.all(),
            "bearer_methods_supported": ["header"],
            "resource_name": "pm-mcp",
        })
    }

    fn audiences(&self) -> Vec<String> {
        let mut all = vec![self.resource.clone()];
        all.extend(self.extra_audiences.iter().cloned());
        all
    }
}

/// https, or http on a loopback host only (a local identity provider or test).
fn check_https(raw: &str, flag: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(raw).map_err(|e| format!("{flag} {raw:?} is not a URL: {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(format!(
            "{flag} {raw:?} must be an https URL (http only on localhost)"
        )),
    }
}

/// Why a bearer token was refused. The text is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is not valid: {0}")]
    Invalid(String),
    #[error("the access token has expired; sign in again")]
    Expired,
    #[error("the access token grants none of pm-mcp's scopes ({0}); sign in again asking for them")]
    NoScope(String),
    #[error("{0}")]
    NoUser(String),
    #[error(
        "the identity provider that issued the token cannot be reached to check it; try again shortly"
    )]
    IssuerUnavailable,
}

/// What a verified token says about its holder.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    /// The OAuth client the token was issued to (`client_id` or `azp`), when it says.
    pub client_id: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub scopes: Scopes,
    /// From the admin claim, when the operator configured one.
    pub admin: Option<bool>,
    pub expires_at: DateTime<Utc>,
}

/// Who signed in to the console, as the ID token says.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub email: String,
    pub name: Option<String>,
    /// From the admin claim, when the operator configured one.
    pub admin: Option<bool>,
}

/// How long fetched keys are used before they are fetched again anyway.
const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The least time between two fetches for one issuer (an unknown `kid` cannot make pm-mcp hammer
/// the identity provider).
const JWKS_MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The longest token accepted (a JWT of a few claims is under 2 KB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Signature algorithms accepted: public-key ones only (never `none`, never a shared secret).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One trusted issuer's published keys.
#[derive(Default)]
pub(crate) struct IssuerKeys {
    /// The keys by `kid`, and when they were fetched.
    keys: Mutex<Option<(Arc<KeySet>, Instant)>>,
    /// Serialises fetches, and remembers when the last one started.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

impl IssuerKeys {
    /// The keys as last fetched, however old.
    fn current(&self) -> Option<Arc<KeySet>> {
        self.keys.lock().ok()?.as_ref().map(|(set, _)| set.clone())
    }

    /// The key for `kid` when the keys are fresh and hold it.
    fn fresh(&self, kid: Option<&str>, alg: Algorithm) -> Result<Option<DecodingKey>, TokenError> {
        let fetched = self
            .keys
            .lock()
            .ok()
            .and_then(|k| k.as_ref().map(|(s, at)| (s.clone(), *at)));
        match fetched {
            Some((set, at)) if at.elapsed() < JWKS_MAX_AGE => pick(&set, kid, alg),
            _ => Ok(None),
        }
    }
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, (DecodingKey, Option<String>)>,
    /// Keys published without a `kid` (used only when a token names none).
    unnamed: Vec<(DecodingKey, Option<String>)>,
}

/// Verifies bearer JWTs for the configured issuers. Cheap to share (`Arc`).
pub struct TokenVerifier {
    settings: OAuthSettings,
    http: reqwest::Client,
    issuers: HashMap<String, IssuerKeys>,
    /// Tokens already verified, by their SHA-256, until they expire (or `VERIFIED_TTL` passes):
    /// a client sends the same token on every request, and checking its signature again costs
    /// ~75 µs of CPU (ES256) where the lookup costs ~1 µs.
    verified: Mutex<HashMap<[u8; 32], (VerifiedToken, Instant)>>,
}

/// The longest a verified token is trusted without checking it again.
const VERIFIED_TTL: Duration = Duration::from_secs(300);
/// Verified tokens remembered at most (then the memory starts again).
const VERIFIED_MAX: usize = 10_000;

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn new(settings: OAuthSettings) -> Result<Self, String> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pm-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for the identity provider: {e}"))?;
        let issuers = settings
            .issuers
            .iter()
            .map(|i| (i.clone(), IssuerKeys::default()))
            .collect();
        Ok(Self {
            settings,
            http,
            issuers,
            verified: Mutex::default(),
        })
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    /// Whether a presented credential is meant for this verifier: a JWT (three base64url parts)
    /// rather than a pm-mcp API key.
    pub fn looks_like_jwt(raw: &str) -> bool {
        raw.split('.').count() == 3 && raw.starts_with("eyJ")
    }

    /// Verifies `token` and reads who holds it, with which scopes (from memory when the same
    /// token was verified before and has not expired since).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        use sha2::Digest as _;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("it is too long".into()));
        }
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Ok(verified) = self.verified.lock()
            && let Some((found, until)) = verified.get(&digest)
            && Instant::now() < *until
        {
            return Ok(found.clone());
        }
        let found = self.verify_now(token).await?;
        // Trusted until it expires as the full check would see it (with the leeway), and no
        // longer than VERIFIED_TTL.
        let left =
            (found.expires_at - Utc::now()).to_std().unwrap_or_default() + self.settings.leeway;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
            verified.insert(
                digest,
                (found.clone(), Instant::now() + left.min(VERIFIED_TTL)),
            );
        }
        Ok(found)
    }

    /// The full check: signature, issuer, audience, times, claims.
    async fn verify_now(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let (header, issuer, keys) = self.unverified(token)?;
        let key = self
            .key_for(issuer, keys, header.kid.as_deref(), header.alg)
            .await?;
        self.check(token, &header, issuer, &key)
    }

    /// What is read before the signature is checked: the header (an accepted algorithm and
    /// type) and the trusted issuer the claims name, with its keys.
    pub(crate) fn unverified(
        &self,
        token: &str,
    ) -> Result<(jsonwebtoken::Header, &str, &IssuerKeys), TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Invalid(format!("it is not a JWT ({e})")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenError::Invalid(format!(
                "it is signed with {:?}, which pm-mcp does not accept",
                header.alg
            )));
        }
        if let Some(typ) = &header.typ {
            let typ = typ.to_ascii_lowercase();
            if !matches!(typ.as_str(), "jwt" | "at+jwt" | "application/at+jwt") {
                return Err(TokenError::Invalid(format!(
                    "its type {typ:?} is not an access token"
                )));
            }
        }
        // The issuer picks the keys; it is read before the signature is checked, and checked
        // again (with the signature) by the validation below.
        let peek = jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
            .map_err(|e| TokenError::Invalid(format!("its claims cannot be read ({e})")))?;
        let issuer = peek
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Invalid("it names no issuer".into()))?;
        let Some((issuer, keys)) = self.issuers.get_key_value(issuer) else {
            return Err(TokenError::Invalid(
                "it was issued by an issuer this server does not trust".into(),
            ));
        };
        Ok((header, issuer.as_str(), keys))
    }

    /// The signature, issuer, audience and times checked with the issuer's `key`, then the
    /// claims read.
    pub(crate) fn check(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
        issuer: &str,
        key: &DecodingKey,
    ) -> Result<VerifiedToken, TokenError> {
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&self.settings.audiences());
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidAudience => TokenError::Invalid(format!(
                    "it was issued for another audience, not {}",
                    self.settings.resource
                )),
                ErrorKind::InvalidIssuer => TokenError::Invalid("its issuer does not match".into()),
                ErrorKind::InvalidSignature => {
                    TokenError::Invalid("its signature does not verify".into())
                }
                ErrorKind::ImmatureSignature => {
                    TokenError::Invalid("it is not valid yet (nbf)".into())
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    TokenError::Invalid(format!("it has no {c} claim"))
                }
                ErrorKind::InvalidAlgorithm => {
                    TokenError::Invalid("its algorithm does not fit the issuer's key".into())
                }
                _ => TokenError::Invalid(format!("it cannot be verified ({e})")),
            },
        )?;
        self.read_claims(issuer, &data.claims)
    }

    /// The user's e-mail (a verified one) and name, as claims name them: access tokens and the
    /// console's sign-in alike. `what` names the claims' source in messages.
    fn person(
        &self,
        claims: &Map<String, Value>,
        what: &str,
    ) -> Result<(String, Option<String>), TokenError> {
        let s = &self.settings;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        let email = text(&s.user_claim).ok_or_else(|| {
            TokenError::NoUser(format!(
                "the {what} has no {:?} claim naming the user; the identity provider must \
                 put the user's e-mail address there (or the operator names another claim with \
                 --oauth-user-claim)",
                s.user_claim
            ))
        })?;
        // Present, the claim must say true: some identity providers send it as a string, and
        // `"false"` (or anything else) is not a verified address.
        let verified = match claims.get("email_verified") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(v)) => v.trim().eq_ignore_ascii_case("true"),
            Some(_) => false,
        };
        if !verified {
            return Err(TokenError::NoUser(
                "the identity provider says the e-mail address in the token is not verified".into(),
            ));
        }
        // An identity provider's name is stored: control characters are dropped.
        let name = text("name")
            .or_else(|| text("preferred_username"))
            .map(|n| {
                n.chars()
                    .filter(|c| !crate::manage::is_unprintable(*c))
                    .collect()
            });
        Ok((email, name))
    }

    pub(crate) fn read_claims(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
    ) -> Result<VerifiedToken, TokenError> {
        let s = &self.settings;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        let subject = text("sub").ok_or_else(|| TokenError::Invalid("it has no subject".into()))?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let expires_at = DateTime::from_timestamp(exp, 0)
            .ok_or_else(|| TokenError::Invalid("its expiry is not a time".into()))?;
        // `scope` (RFC 9068: space-separated); `scp` (Entra ID: space-separated; Okta: an array).
        let mut granted: Vec<&str> = Vec::new();
        for name in ["scope", "scp"] {
            match claims.get(name) {
                Some(Value::String(v)) => granted.extend(v.split(' ').filter(|w| !w.is_empty())),
                Some(Value::Array(items)) => granted.extend(items.iter().filter_map(Value::as_str)),
                _ => {}
            }
        }
        let scopes = s
            .scope_names
            .grant(granted)
            .ok_or_else(|| TokenError::NoScope(s.scope_names.all().join(", ")))?;
        let (email, name) = self.person(claims, "access token")?;
        Ok(VerifiedToken {
            issuer: issuer.to_string(),
            subject,
            client_id: text("client_id").or_else(|| text("azp")),
            email,
            name,
            scopes,
            admin: s.admin_claim.as_ref().map(|m| m.holds(claims)),
            expires_at,
        })
    }

    /// The issuer's key for `kid`: from the cache while it is fresh and holds the key, else
    /// fetched again (at most every `JWKS_MIN_INTERVAL`). Keys fetched before keep verifying
    /// while the issuer cannot be reached.
    async fn key_for(
        &self,
        issuer: &str,
        keys: &IssuerKeys,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, TokenError> {
        if let Some(key) = keys.fresh(kid, alg)? {
            return Ok(key);
        }
        {
            let mut last = keys.fetching.lock().await;
            // Another request may have fetched while this one waited.
            if let Some(key) = keys.fresh(kid, alg)? {
                return Ok(key);
            }
            if last.is_none_or(|t| t.elapsed() >= JWKS_MIN_INTERVAL) {
                *last = Some(Instant::now());
                match self.fetch_keys(issuer).await {
                    Ok(set) => {
                        if let Ok(mut k) = keys.keys.lock() {
                            *k = Some((Arc::new(set), Instant::now()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%issuer, error = %e, "cannot fetch the identity provider's keys")
                    }
                }
            }
        }
        match keys.current() {
            Some(set) => pick(&set, kid, alg)?.ok_or_else(|| {
                TokenError::Invalid("it is signed by a key the issuer does not publish".into())
            }),
            None => Err(TokenError::IssuerUnavailable),
        }
    }

    /// The issuer's metadata (RFC 8414, then OpenID Connect discovery) and then its JWKS.
    async fn fetch_keys(&self, issuer: &str) -> Result<KeySet, String> {
        let jwks_uri = self.discover_jwks_uri(issuer).await?;
        let body: Value = self.get_json(&jwks_uri).await?;
        let listed = body
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{jwks_uri} holds no \"keys\""))?;
        let mut set = KeySet::default();
        for raw in listed {
            // A key of a kind this server does not use is skipped, not fatal to the others.
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            let alg = jwk.common.key_algorithm.map(|a| format!("{a:?}"));
            match jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid, (key, alg));
                }
                None => set.unnamed.push((key, alg)),
            }
        }
        tracing::debug!(%issuer, keys = set.by_kid.len() + set.unnamed.len(), "fetched the identity provider's keys");
        Ok(set)
    }

    async fn discover_jwks_uri(&self, issuer: &str) -> Result<String, String> {
        let (url, meta) = self.metadata(issuer).await?;
        meta.get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("{url} names no jwks_uri"))
    }

    /// The HTTP client for the identity provider (timeouts set, redirects not followed).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Verifies an OpenID Connect ID token the console received from `issuer`'s token endpoint:
    /// signed by a key the issuer publishes, issued by it for `client_id`, unexpired, carrying
    /// `nonce`. Returns its claims.
    pub async fn verify_id_token(
        &self,
        token: &str,
        expected_issuer: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("it is too long".into()));
        }
        let (header, issuer, keys) = self.unverified(token)?;
        // The issuer the sign-in went to, not merely one this server trusts (OpenID Connect
        // Core §3.1.3.7).
        if issuer != expected_issuer {
            return Err(TokenError::Invalid(
                "the ID token was issued by another identity provider".into(),
            ));
        }
        let key = self
            .key_for(issuer, keys, header.kid.as_deref(), header.alg)
            .await?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[client_id]);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidAudience => {
                        TokenError::Invalid("the ID token was issued for another client".into())
                    }
                    _ => TokenError::Invalid(format!("the ID token cannot be verified ({e})")),
                }
            })?;
        if data.claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(TokenError::Invalid(
                "the ID token does not carry this sign-in's nonce".into(),
            ));
        }
        if let Some(azp) = data.claims.get("azp")
            && azp.as_str() != Some(client_id)
        {
            return Err(TokenError::Invalid(
                "the ID token was issued to another client (azp)".into(),
            ));
        }
        Ok(data.claims)
    }

    /// Whether verified sign-in claims name the user (an identity provider may keep the e-mail
    /// for its userinfo endpoint).
    pub fn names_user(&self, claims: &Map<String, Value>) -> bool {
        claims
            .get(&self.settings.user_claim)
            .and_then(Value::as_str)
            .is_some()
    }

    /// Who verified sign-in claims name, by the same claims as access tokens (no scopes: signing
    /// in to the console grants none).
    pub fn identity(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
    ) -> Result<Identity, TokenError> {
        let (email, name) = self.person(claims, "sign-in")?;
        Ok(Identity {
            issuer: issuer.to_string(),
            email,
            name,
            // Only when the claim is there at all: an identity provider may put groups or roles
            // in access tokens and not in ID tokens, and a console sign-in must not then take an
            // administrator's role away.
            admin: self
                .settings
                .admin_claim
                .as_ref()
                .filter(|m| claims.contains_key(&m.claim))
                .map(|m| m.holds(claims)),
        })
    }

    /// The identity provider's userinfo for an access token (size-limited, like its metadata).
    pub(crate) async fn userinfo(&self, url: &str, access_token: &str) -> Result<Value, String> {
        self.read_json(self.http.get(url).bearer_auth(access_token), url)
            .await
    }

    /// The issuer's metadata (RFC 8414, then OpenID Connect discovery): where it was found, and
    /// what it says (it names this issuer).
    pub(crate) async fn metadata(&self, issuer: &str) -> Result<(String, Value), String> {
        let u = url::Url::parse(issuer).map_err(|e| e.to_string())?;
        let origin = u.origin().ascii_serialization();
        let path = u.path().trim_end_matches('/');
        let candidates = [
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            ),
            format!("{origin}/.well-known/openid-configuration{path}"),
        ];
        let mut last = String::new();
        for url in candidates {
            match self.get_json(&url).await {
                Ok(meta) => {
                    // The metadata must be the issuer's own (RFC 8414 §3.3).
                    if meta.get("issuer").and_then(Value::as_str) != Some(issuer) {
                        last = format!("{url} names another issuer");
                        continue;
                    }
                    return Ok((url, meta));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        self.read_json(self.http.get(url), url).await
    }

    /// Sends `request` and reads its JSON answer, at most 1 MiB.
    async fn read_json(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Value, String> {
        let res = request
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("{url} answered {}", res.status()));
        }
        const LIMIT: usize = 1024 * 1024;
        let too_large = || format!("{url} answered more than 1 MiB");
        if res.content_length().is_some_and(|n| n > LIMIT as u64) {
            return Err(too_large());
        }
        // Read in chunks, so an answer without a declared length stops at the limit too.
        let mut bytes = Vec::new();
        let mut res = res;
        while let Some(chunk) = res.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if bytes.len() + chunk.len() > LIMIT {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{url} is not JSON: {e}"))
    }
}

/// For the fuzz target (cargo feature `fuzzing`): keys set by hand, and `verify` without the
/// memory of verified tokens and without fetching keys.
#[cfg(feature = "fuzzing")]
impl TokenVerifier {
    /// Trusts `key`, named `kid`, as `issuer`'s only published key.
    pub fn trust_key_for_fuzzing(&self, issuer: &str, kid: &str, key: DecodingKey) {
        if let Some(keys) = self.issuers.get(issuer)
            && let Ok(mut k) = keys.keys.lock()
        {
            let mut set = KeySet::default();
            set.by_kid.insert(kid.to_string(), (key, None));
            *k = Some((Arc::new(set), Instant::now()));
        }
    }

    /// The full check with the keys set by hand.
    pub fn verify_for_fuzzing(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("it is too long".into()));
        }
        let (header, issuer, keys) = self.unverified(token)?;
        let key = match keys.current() {
            Some(set) => pick(&set, header.kid.as_deref(), header.alg)?,
            None => None,
        }
        .ok_or_else(|| {
            TokenError::Invalid("it is signed by a key the issuer does not publish".into())
        })?;
        self.check(token, &header, issuer, &key)
    }

    /// The claims of a token as if its signature had verified.
    pub fn read_claims_for_fuzzing(
        &self,
        issuer: &str,
        claims: &Map<String, Value>,
    ) -> Result<VerifiedToken, TokenError> {
        self.read_claims(issuer, claims)
    }
}

/// The key for `kid` (or the one unnamed key when the token names none), if its declared
/// algorithm (when it declares one) is the token's.
fn pick(
    set: &KeySet,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<Option<DecodingKey>, TokenError> {
    let found = match kid {
        Some(kid) => set.by_kid.get(kid),
        None if set.unnamed.len() + set.by_kid.len() == 1 => {
            set.unnamed.first().or_else(|| set.by_kid.values().next())
        }
        None => {
            return Err(TokenError::Invalid(
                "it names no key (kid) and the issuer publishes several".into(),
            ));
        }
    };
    match found {
        Some((_, Some(declared))) if *declared != format!("{alg:?}") => Err(TokenError::Invalid(
            format!("it is signed with {alg:?} but the issuer's key is for {declared}"),
        )),
        Some((key, _)) => Ok(Some(key.clone())),
        None => Ok(None),
    }
}
