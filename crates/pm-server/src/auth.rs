//! Authentication: from request headers to a `Principal` (the user, and the API key or OAuth
//! access token they presented), or an `AuthError` that says what is wrong without saying whether
//! a key exists.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http::HeaderMap;
use pm_core::{ApiKeyId, Email, Scope, Scopes};
use pm_store::{ApiKey, ApiKeyInfo, KeyOwner, MalformedKey, NewUser, Store, StoreError, User};

use crate::oauth::{TokenError, TokenVerifier, VerifiedToken};

/// Who is calling: a user, through one of their API keys or an OAuth access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
    /// The key's owner when a service key acts for `user` (`X-PM-MCP-Act-As`); `None` when the
    /// caller acts as themselves.
    pub actor: Option<User>,
}

/// What the caller presented.
#[derive(Debug, Clone)]
pub enum Credential {
    Key(ApiKeyInfo),
    Token(TokenGrant),
}

/// An OAuth access token from a trusted identity provider, as verified.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub issuer: String,
    pub subject: String,
    pub client_id: Option<String>,
    pub scopes: Scopes,
    pub expires_at: DateTime<Utc>,
}

impl Principal {
    pub fn scopes(&self) -> Scopes {
        match &self.credential {
            Credential::Key(k) => k.scopes,
            Credential::Token(t) => t.scopes,
        }
    }

    pub fn may(&self, scope: Scope) -> bool {
        self.scopes().grants(scope)
    }

    /// The toolsets the key is limited to (`None`: not limited; tokens never are).
    pub fn toolsets(&self) -> Option<&[String]> {
        match &self.credential {
            Credential::Key(k) => k.toolsets.as_deref(),
            Credential::Token(_) => None,
        }
    }

    /// The API key, when the caller presented one.
    pub fn key(&self) -> Option<&ApiKeyInfo> {
        match &self.credential {
            Credential::Key(k) => Some(k),
            Credential::Token(_) => None,
        }
    }

    pub fn key_id(&self) -> Option<ApiKeyId> {
        self.key().map(|k| k.id)
    }

    pub fn token(&self) -> Option<&TokenGrant> {
        match &self.credential {
            Credential::Key(_) => None,
            Credential::Token(t) => Some(t),
        }
    }

    /// What per-caller limits and session bindings hang on: the key, or for access tokens (which
    /// are refreshed every few minutes) the user.
    pub fn holder(&self) -> uuid::Uuid {
        match &self.credential {
            Credential::Key(k) => k.id.as_uuid(),
            Credential::Token(_) => self.user.id.as_uuid(),
        }
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
    /// An OAuth access token was refused.
    #[error("{0}")]
    Token(TokenError),
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
            AuthError::Token(TokenError::Invalid(_)) => "invalid_token",
            AuthError::Token(TokenError::Expired) => "token_expired",
            AuthError::Token(TokenError::NoScope(_)) => "insufficient_scope",
            AuthError::Token(TokenError::NoUser(_)) => "unknown_user",
            AuthError::Token(TokenError::IssuerUnavailable) => "issuer_unavailable",
        }
    }
}

impl From<MalformedKey> for AuthError {
    fn from(e: MalformedKey) -> Self {
        AuthError::Malformed(e.to_string())
    }
}

/// The header a service key names the user it acts for in.
pub const ACT_AS_HEADER: &str = "x-pm-mcp-act-as";

/// Why a key may not act for the user it named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActAsError {
    #[error(
        "this key may not act for other users: X-PM-MCP-Act-As needs an administrator's API key created with the act_as permission"
    )]
    NoPermission,
    /// Unknown, disabled, malformed: one answer, so nobody learns which users exist.
    #[error("this key may not act for that user")]
    Refused,
    #[error(
        "this key holds no read, write or admin scope to use for the user; create it with e.g. --scopes read,act_as"
    )]
    NoScope,
    #[error(
        "the user cannot be looked up right now (the database cannot be reached); try again shortly"
    )]
    Unavailable,
}

/// The scopes a key holding `key` acts with for a user: its broadest nested scope, capped at
/// `write` for a non-administrator; the explicit permissions (sync, act_as) never carry over.
/// `None` when the key holds no nested scope at all.
pub fn acting_scopes(key: Scopes, target_is_admin: bool) -> Option<Scopes> {
    let broadest = Scope::ALL.into_iter().rev().find(|s| key.holds(*s))?;
    let cap = if target_is_admin {
        Scope::Admin
    } else {
        Scope::Write
    };
    Some(Scopes::only(broadest.min(cap)))
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
///
/// Verified keys are cached (by hash) while the store's auth epoch stands still: any change
/// authentication depends on — a key revoked, a user disabled, by this process, the CLI or another
/// replica — moves the epoch (database triggers), and the cache is dropped when it moves.
/// PostgreSQL pushes the change (LISTEN/NOTIFY); the epoch is also polled every
/// `EPOCH_POLL`, so a change takes effect within that bound even without the push. An entry lives
/// at most `CACHE_TTL` whatever happens, and nothing is cached while the epoch cannot be read.
#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    /// When this process last recorded each key's use (the store also throttles across replicas).
    touched: Arc<Mutex<HashMap<ApiKeyId, Instant>>>,
    cache: Arc<KeyCache>,
    /// Verifies OAuth access tokens, when the operator configured an identity provider.
    oauth: Option<Arc<TokenVerifier>>,
}

const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// How often the auth epoch is read (the bound on a revocation taking effect everywhere).
pub const EPOCH_POLL: Duration = Duration::from_millis(500);
/// The longest a verified key is trusted without a new lookup.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Keys cached at most (then the cache starts again).
const CACHE_MAX: usize = 10_000;

/// What verified credentials name, kept while the auth epoch they were read under stands.
#[derive(Default)]
struct KeyCache {
    /// The epoch the entries were verified under; `None` while unknown (no caching then).
    epoch: Mutex<Option<i64>>,
    /// Key owners, by the key's hash.
    entries: Entries<[u8; 32], KeyOwner>,
    /// Users signed in with access tokens, by e-mail address.
    users: Entries<Email, User>,
}

/// One kind of cached entry: each lives at most `CACHE_TTL`, and the map starts again when full.
struct Entries<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Entries<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let entries = self.0.lock().ok()?;
        let (value, at) = entries.get(key)?;
        (at.elapsed() < CACHE_TTL).then(|| value.clone())
    }

    fn insert(&self, key: K, value: V) {
        if let Ok(mut entries) = self.0.lock() {
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.0.lock() {
            entries.clear();
        }
    }
}

impl KeyCache {
    /// Whether entries may be used: only while the epoch is known.
    fn usable(&self) -> bool {
        self.epoch().is_some()
    }

    /// Whether an entry read under `epoch` may be stored: only under the epoch the lookup started
    /// in, or a change made meanwhile would be cached over.
    fn storable(&self, epoch: Option<i64>) -> bool {
        let current = self.epoch();
        current.is_some() && current == epoch
    }

    fn get(&self, hash: &[u8; 32]) -> Option<KeyOwner> {
        self.usable().then(|| self.entries.get(hash)).flatten()
    }

    fn put(&self, hash: [u8; 32], owner: KeyOwner, epoch: Option<i64>) {
        if self.storable(epoch) {
            self.entries.insert(hash, owner);
        }
    }

    fn user(&self, email: &Email) -> Option<User> {
        self.usable().then(|| self.users.get(email)).flatten()
    }

    fn put_user(&self, user: User, epoch: Option<i64>) {
        if self.storable(epoch) {
            self.users.insert(user.email.clone(), user);
        }
    }

    /// Takes the epoch just read; a move (or an unknown epoch) drops every entry.
    fn observe(&self, epoch: Option<i64>) {
        let Ok(mut current) = self.epoch.lock() else {
            return;
        };
        if *current != epoch || epoch.is_none() {
            self.entries.clear();
            self.users.clear();
            *current = epoch;
        }
    }

    fn epoch(&self) -> Option<i64> {
        self.epoch.lock().ok().and_then(|e| *e)
    }
}

impl Authenticator {
    /// An authenticator without a cache until `watch` runs (every lookup goes to the store).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            touched: Arc::default(),
            cache: Arc::default(),
            oauth: None,
        }
    }

    /// Also accepts OAuth access tokens checked by `verifier`.
    pub fn with_oauth(mut self, verifier: Arc<TokenVerifier>) -> Self {
        self.oauth = Some(verifier);
        self
    }

    /// The OAuth verifier, when access tokens are accepted.
    pub fn oauth(&self) -> Option<&TokenVerifier> {
        self.oauth.as_deref()
    }

    /// Starts following the store's auth epoch (pushed where the engine can, polled every
    /// `EPOCH_POLL` anyway); from then on verified keys are cached. Must run inside Tokio.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut pushed = match this.store.auth_changes().await {
                Ok(rx) => rx,
                Err(e) => {
                    tracing::warn!(error = %e, "no pushed auth changes; polling the auth epoch only");
                    None
                }
            };
            loop {
                this.refresh().await;
                match pushed.as_mut() {
                    Some(rx) => {
                        tokio::select! {
                            got = rx.recv() => if got.is_none() { pushed = None; },
                            _ = tokio::time::sleep(EPOCH_POLL) => {}
                        }
                    }
                    None => tokio::time::sleep(EPOCH_POLL).await,
                }
            }
        })
    }

    /// The auth epoch as last read (`None` while unknown: then nothing may be cached).
    pub fn epoch(&self) -> Option<i64> {
        self.cache.epoch()
    }

    /// Reads the auth epoch now and drops the cache if it moved (or cannot be read).
    pub async fn refresh(&self) {
        let epoch = match self.store.auth_epoch().await {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the auth epoch; keys are not cached meanwhile");
                None
            }
        };
        self.cache.observe(epoch);
    }

    /// Verifies a presented key: from the cache while nothing authentication depends on has
    /// changed, else from the store. Revocation, expiry and disabling apply within `EPOCH_POLL`
    /// (at once where the change is pushed).
    pub async fn authenticate(&self, raw: &str) -> Result<Principal, AuthError> {
        if let Some(verifier) = &self.oauth
            && TokenVerifier::looks_like_jwt(raw)
        {
            let token = verifier.verify(raw).await.map_err(AuthError::Token)?;
            return self.sign_in(verifier, token).await;
        }
        let key = ApiKey::parse(raw)?;
        let hash = key.hash();
        let owner = match self.cache.get(&hash.0) {
            Some(owner) => owner,
            None => {
                let epoch = self.cache.epoch();
                let owner = match self.store.find_api_key(&hash).await {
                    Ok(Some(owner)) => owner,
                    Ok(None) => return Err(AuthError::Unknown),
                    Err(e) => {
                        tracing::error!(error = %e, "API key lookup failed");
                        return Err(AuthError::Unavailable);
                    }
                };
                self.cache.put(hash.0, owner.clone(), epoch);
                owner
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
            credential: Credential::Key(owner.key),
            actor: None,
        })
    }

    /// The pm-mcp user a verified access token names: from the cache while nothing
    /// authentication depends on changed, else from the store; created at first sign-in when the
    /// operator allows. With an admin claim configured, the token says whether they administer.
    async fn sign_in(
        &self,
        verifier: &TokenVerifier,
        token: VerifiedToken,
    ) -> Result<Principal, AuthError> {
        let identity = crate::oauth::Identity {
            issuer: token.issuer.clone(),
            email: token.email.clone(),
            name: token.name.clone(),
            admin: token.admin,
        };
        let user = self.user_signing_in(verifier, &identity).await?;
        Ok(Principal {
            user,
            credential: Credential::Token(TokenGrant {
                issuer: token.issuer,
                subject: token.subject,
                client_id: token.client_id,
                scopes: token.scopes,
                expires_at: token.expires_at,
            }),
            actor: None,
        })
    }

    /// The pm-mcp user an identity provider vouches for (an access token, or the console's ID
    /// token): found by e-mail, created at first sign-in when the operator allows, refused when
    /// disabled; with an admin claim configured, the identity says whether they administer.
    pub async fn user_signing_in(
        &self,
        verifier: &TokenVerifier,
        token: &crate::oauth::Identity,
    ) -> Result<User, AuthError> {
        let settings = verifier.settings();
        let email = Email::parse(&token.email).map_err(|_| {
            AuthError::Token(TokenError::NoUser(format!(
                "the token's {:?} claim is not an e-mail address",
                settings.user_claim
            )))
        })?;
        let unavailable = |e: StoreError| {
            tracing::error!(error = %e, "user lookup for an access token failed");
            AuthError::Unavailable
        };
        let mut user = match self.cache.user(&email) {
            Some(user) => user,
            None => {
                let epoch = self.cache.epoch();
                let found = self
                    .store
                    .get_user_by_email(&email)
                    .await
                    .map_err(unavailable)?;
                let user = match found {
                    Some(user) => user,
                    None if settings.create_users => {
                        let name = token
                            .name
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or_else(|| email.to_string());
                        let new = NewUser::new(email.clone(), name, token.admin.unwrap_or(false));
                        match self.store.add_user(new).await {
                            Ok(user) => {
                                tracing::info!(user_id = %user.id, issuer = %token.issuer, "created a user at first sign-in");
                                user
                            }
                            // Another request (or replica) created them first.
                            Err(StoreError::Conflict(_)) => self
                                .store
                                .get_user_by_email(&email)
                                .await
                                .map_err(unavailable)?
                                .ok_or(AuthError::Unavailable)?,
                            Err(e) => return Err(unavailable(e)),
                        }
                    }
                    None => {
                        return Err(AuthError::Token(TokenError::NoUser(format!(
                            "{email} has no pm-mcp account; ask an administrator to add it \
                             (`pm-mcp user add --email {email}`)"
                        ))));
                    }
                };
                self.cache.put_user(user.clone(), epoch);
                user
            }
        };
        if user.is_disabled() {
            return Err(AuthError::UserDisabled);
        }
        if let Some(admin) = token.admin
            && admin != user.is_admin
        {
            let change = pm_store::UserChange {
                name: None,
                is_admin: Some(admin),
            };
            match self.store.update_user(user.id, &change).await {
                Ok(updated) => user = updated,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(user)
    }

    /// `principal` acting for the user with e-mail `email` (`X-PM-MCP-Act-As`): only an API key
    /// holding the explicit `act_as` permission, owned by an administrator, may. The call then
    /// runs as that user with the key's scope capped at the user's own rights (never more than
    /// the key, never admin for a non-admin), and names the key's owner as the actor. An unknown,
    /// disabled or malformed e-mail is refused exactly like a user the key may not act for.
    pub async fn act_as(&self, principal: Principal, email: &str) -> Result<Principal, ActAsError> {
        let Credential::Key(key) = &principal.credential else {
            return Err(ActAsError::NoPermission);
        };
        if !key.scopes.holds(Scope::ActAs) || !principal.user.is_admin || principal.actor.is_some()
        {
            return Err(ActAsError::NoPermission);
        }
        let Ok(email) = Email::parse(email.trim()) else {
            return Err(ActAsError::Refused);
        };
        let target = match self.cache.user(&email) {
            Some(user) => user,
            None => {
                let epoch = self.cache.epoch();
                match self.store.get_user_by_email(&email).await {
                    Ok(Some(user)) => {
                        self.cache.put_user(user.clone(), epoch);
                        user
                    }
                    Ok(None) => return Err(ActAsError::Refused),
                    Err(e) => {
                        tracing::error!(error = %e, "user lookup for act-as failed");
                        return Err(ActAsError::Unavailable);
                    }
                }
            }
        };
        if target.is_disabled() {
            return Err(ActAsError::Refused);
        }
        let scopes = acting_scopes(key.scopes, target.is_admin).ok_or(ActAsError::NoScope)?;
        let mut acting_key = key.clone();
        acting_key.scopes = scopes;
        Ok(Principal {
            user: target,
            credential: Credential::Key(acting_key),
            actor: Some(principal.user),
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

    #[test]
    fn acting_scopes_never_exceed_the_key_or_the_user() {
        let s = |text: &str| text.parse::<Scopes>().expect("scopes");
        assert_eq!(acting_scopes(s("read,act_as"), true), Some(s("read")));
        assert_eq!(acting_scopes(s("admin,act_as"), false), Some(s("write")));
        assert_eq!(acting_scopes(s("admin,act_as"), true), Some(s("admin")));
        assert_eq!(
            acting_scopes(s("write,act_as,sync"), false),
            Some(s("write"))
        );
        assert_eq!(acting_scopes(Scopes::only(Scope::ActAs), true), None);
    }
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

    async fn store_with_key() -> (tempfile::TempDir, Arc<dyn Store>, ApiKey, pm_store::User) {
        let dir = tempfile::tempdir().unwrap();
        let url =
            pm_store::DatabaseUrl::parse(&dir.path().join("t.db").display().to_string()).unwrap();
        let store = pm_store::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        let user =
            pm_store::NewUser::new(pm_core::Email::parse("ann@acme.org").unwrap(), "Ann", false);
        let key = ApiKey::generate();
        let row = pm_store::NewApiKey::for_key(&key, user.id, "k", Scopes::only(Scope::Read), None);
        let (user, _) = store.add_user_with_key(user, row).await.unwrap();
        (dir, store, key, user)
    }

    #[tokio::test]
    async fn verified_keys_are_cached_until_the_auth_epoch_moves() {
        let (_dir, store, key, user) = store_with_key().await;
        let auth = Authenticator::new(store.clone());
        // Before the epoch is known nothing is cached: a revocation applies at once.
        auth.authenticate(key.expose()).await.unwrap();
        auth.refresh().await;
        auth.authenticate(key.expose()).await.unwrap();
        // Cached: the revoked key still passes until the epoch is read again …
        let keys = store.list_api_keys(user.id).await.unwrap();
        store.revoke_api_key(user.id, keys[0].id).await.unwrap();
        assert!(
            auth.authenticate(key.expose()).await.is_ok(),
            "served from the cache"
        );
        // … which the watcher does every EPOCH_POLL (or at once on a pushed notice).
        auth.refresh().await;
        assert_eq!(
            auth.authenticate(key.expose()).await.unwrap_err(),
            AuthError::Revoked
        );
    }

    #[tokio::test]
    async fn the_watcher_applies_a_change_within_the_poll_bound() {
        let (_dir, store, key, user) = store_with_key().await;
        let auth = Authenticator::new(store.clone());
        let watcher = auth.watch();
        tokio::time::sleep(EPOCH_POLL).await;
        auth.authenticate(key.expose()).await.unwrap();
        auth.authenticate(key.expose()).await.unwrap();
        store.set_user_disabled(user.id, true).await.unwrap();
        let changed = Instant::now();
        loop {
            match auth.authenticate(key.expose()).await {
                Err(AuthError::UserDisabled) => break,
                Ok(_) => assert!(
                    changed.elapsed() < EPOCH_POLL * 3,
                    "the disabled user still passes after {:?}",
                    changed.elapsed()
                ),
                Err(e) => panic!("{e}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watcher.abort();
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
