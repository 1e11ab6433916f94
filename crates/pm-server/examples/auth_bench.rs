//! How many API keys per second authentication verifies (parse + checksum + SHA-256 + one indexed
//! lookup joined with the user — a cache miss — and from the cache), what the revocation check
//! costs (one auth-epoch read per replica every 500 ms), and how many OAuth access tokens it
//! verifies (ES256 signature and claims, the issuer's keys and the user from memory; the keys
//! served by `pm_testkit::idp`), sequentially and from concurrent tasks, on SQLite and — when
//! `PM_MCP_BENCH_DATABASE_URL` names a PostgreSQL database — on PostgreSQL. Prints a table.
use std::sync::Arc;
use std::time::Instant;

use pm_core::{Email, Scope, Scopes};
use pm_server::Authenticator;
use pm_server::oauth::{OAuthSettings, ScopeNames, TokenVerifier};
use pm_store::{ApiKey, DatabaseUrl, NewApiKey, NewUser, Store};

const N: usize = 20_000;

async fn seeded(url: &DatabaseUrl) -> Result<(Arc<dyn Store>, String), Box<dyn std::error::Error>> {
    let store = pm_store::open(url).await?;
    store.migrate().await?;
    let user = NewUser::new(
        Email::parse(&format!(
            "bench-{}@example.org",
            uuid::Uuid::new_v4().simple()
        ))?,
        "bench",
        false,
    );
    let key = ApiKey::generate();
    let row = NewApiKey::for_key(&key, user.id, "bench", Scopes::only(Scope::Read), None);
    store.add_user_with_key(user, row).await?;
    Ok((store, key.expose().to_string()))
}

/// `N` authentications of `credential` spread over `tasks` concurrent tasks; how long they took.
async fn concurrently(
    auth: &Authenticator,
    credential: &str,
    tasks: usize,
) -> Result<std::time::Duration, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (auth, credential) = (auth.clone(), credential.to_string());
        handles.push(tokio::spawn(async move {
            for _ in 0..N / tasks {
                auth.authenticate(&credential)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(t.elapsed())
}

/// An authenticator that also takes access tokens from a local identity provider, and `n`
/// different tokens of one user it has signed in once (so the user and the issuer's keys are in
/// memory).
async fn with_oauth(
    store: Arc<dyn Store>,
    n: usize,
) -> Result<(Authenticator, Vec<String>, pm_testkit::idp::Idp), Box<dyn std::error::Error>> {
    const RESOURCE: &str = "https://pm.bench.test/mcp";
    let idp = pm_testkit::idp::Idp::start().await;
    let key = pm_testkit::idp::SigningKey::new("bench");
    idp.publish(&[&key]);
    let verifier = TokenVerifier::new(OAuthSettings {
        issuers: vec![idp.issuer.clone()],
        resource: RESOURCE.into(),
        extra_audiences: vec![],
        scope_names: ScopeNames::default(),
        user_claim: "email".into(),
        create_users: true,
        admin_claim: None,
        leeway: std::time::Duration::from_secs(60),
    })?;
    let auth = Authenticator::new(store).with_oauth(Arc::new(verifier));
    auth.refresh().await;
    let email = format!("token-{}@example.org", uuid::Uuid::new_v4().simple());
    let tokens: Vec<String> = (0..n)
        .map(|i| {
            let mut claims = idp.claims(RESOURCE, &email, "pm:read");
            claims["jti"] = serde_json::json!(i);
            key.sign(&claims)
        })
        .collect();
    auth.authenticate(&tokens[0]).await?;
    Ok((auth, tokens, idp))
}

async fn run(engine: &str, url: DatabaseUrl) -> Result<(), Box<dyn std::error::Error>> {
    let (store, key) = seeded(&url).await?;
    let auth = Authenticator::new(store.clone());
    auth.authenticate(&key).await?;

    let t = Instant::now();
    for _ in 0..N {
        auth.authenticate(&key).await?;
    }
    let seq = t.elapsed();

    let tasks = 8;
    let conc = concurrently(&auth, &key, tasks).await?;

    let bad = format!("{}x", &key[..key.len() - 1]);
    let t = Instant::now();
    for _ in 0..N {
        let _ = auth.authenticate(&bad).await;
    }
    let reject = t.elapsed();

    // With the cache: the epoch known, the key verified once, then served from memory.
    auth.refresh().await;
    auth.authenticate(&key).await?;
    let t = Instant::now();
    for _ in 0..N {
        auth.authenticate(&key).await?;
    }
    let hit = t.elapsed();
    let hit_conc = concurrently(&auth, &key, tasks).await?;

    // Access tokens: each one new (the signature checked), then one token again and again (as a
    // client sends it: from memory).
    let (oauth, tokens, _idp) = with_oauth(store.clone(), N).await?;
    let t = Instant::now();
    for token in &tokens {
        oauth.authenticate(token).await?;
    }
    let token_new = t.elapsed();
    let t = Instant::now();
    for _ in 0..N {
        oauth.authenticate(&tokens[0]).await?;
    }
    let token_seq = t.elapsed();
    let token_conc = concurrently(&oauth, &tokens[0], tasks).await?;

    // What the revocation check costs: one read of the auth epoch (each replica does one every
    // 500 ms, whatever the load).
    let reads = 2_000;
    let t = Instant::now();
    for _ in 0..reads {
        store.auth_epoch().await?;
    }
    let epoch_us = t.elapsed().as_secs_f64() * 1e6 / reads as f64;

    let per_s = |d: std::time::Duration| N as f64 / d.as_secs_f64();
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / N as f64;
    println!(
        "| {engine:<8} | valid key, 1 task     | {:>9.0} keys/s | {:>7.1} µs/key |",
        per_s(seq),
        us(seq)
    );
    println!(
        "| {engine:<8} | valid key, {tasks} tasks    | {:>9.0} keys/s | {:>7.1} µs/key |",
        per_s(conc),
        us(conc)
    );
    println!(
        "| {engine:<8} | typo (no DB lookup)   | {:>9.0} keys/s | {:>7.1} µs/key |",
        per_s(reject),
        us(reject)
    );
    println!(
        "| {engine:<8} | cache hit, 1 task     | {:>9.0} keys/s | {:>7.1} µs/key |",
        per_s(hit),
        us(hit)
    );
    println!(
        "| {engine:<8} | cache hit, {tasks} tasks    | {:>9.0} keys/s | {:>7.1} µs/key |",
        per_s(hit_conc),
        us(hit_conc)
    );
    println!(
        "| {engine:<8} | revocation check      | 2 epoch reads/s  | {epoch_us:>7.1} µs/read |"
    );
    println!(
        "| {engine:<8} | new token (ES256)     | {:>7.0} tokens/s | {:>5.1} µs/token |",
        per_s(token_new),
        us(token_new)
    );
    println!(
        "| {engine:<8} | same token, 1 task    | {:>7.0} tokens/s | {:>5.1} µs/token |",
        per_s(token_seq),
        us(token_seq)
    );
    println!(
        "| {engine:<8} | same token, {tasks} tasks   | {:>7.0} tokens/s | {:>5.1} µs/token |",
        per_s(token_conc),
        us(token_conc)
    );
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("| engine   | case                  | throughput       | cost           |");
    println!("|----------|-----------------------|------------------|----------------|");
    run(
        "sqlite",
        DatabaseUrl::Sqlite(dir.path().join("bench.db").display().to_string()),
    )
    .await?;
    if let Ok(url) = std::env::var("PM_MCP_BENCH_DATABASE_URL") {
        run("postgres", DatabaseUrl::parse(&url)?).await?;
    }
    Ok(())
}
