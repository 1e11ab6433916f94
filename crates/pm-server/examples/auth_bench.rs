//! How many API keys per second authentication verifies (parse + checksum + SHA-256 + one indexed
//! lookup joined with the user — a cache miss — and from the cache), what the revocation check
//! costs (one auth-epoch read per replica every 500 ms), sequentially and from concurrent tasks,
//! on SQLite and — when
//! `PM_MCP_BENCH_DATABASE_URL` names a PostgreSQL database — on PostgreSQL. Prints a table.
use std::sync::Arc;
use std::time::Instant;

use pm_core::{Email, Scope, Scopes};
use pm_server::Authenticator;
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
    let t = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (auth, key) = (auth.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..N / tasks {
                auth.authenticate(&key)
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
    let conc = t.elapsed();

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
    let t = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (auth, key) = (auth.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..N / tasks {
                auth.authenticate(&key)
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
    let hit_conc = t.elapsed();
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
