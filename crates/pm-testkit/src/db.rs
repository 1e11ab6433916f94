//! A fresh database per test, on each engine: SQLite always, PostgreSQL when
//! `PM_MCP_TEST_DATABASE_URL` names a server where the user may create databases (each test gets
//! a database of its own, dropped afterwards).
use std::future::Future;
use std::sync::Arc;

use pm_store::{DatabaseUrl, Store};

/// A migrated store and what must be cleaned up after it.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

/// A SQLite file in a fresh folder, one level down (the store must create the parent folder).
pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/pm.db");
    let store = pm_store::open(&DatabaseUrl::Sqlite(path.display().to_string()))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    TestDb {
        store,
        _dir: Some(dir),
        pg_drop: None,
    }
}

/// A fresh PostgreSQL database for one test, or `None` when no server is configured.
pub async fn pg_db() -> Option<TestDb> {
    let admin_url = std::env::var("PM_MCP_TEST_DATABASE_URL").ok()?;
    let name = format!("pm_mcp_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("PM_MCP_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin_url).expect("test URL");
    url.set_path(&format!("/{name}"));
    let store = pm_store::open(&DatabaseUrl::Postgres(url.to_string()))
        .await
        .expect("open postgres");
    store.migrate().await.expect("migrate");
    Some(TestDb {
        store,
        _dir: None,
        pg_drop: Some((admin_url, name)),
    })
}

impl TestDb {
    /// Closes the store and drops its PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg_drop {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("reconnect");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop database");
        }
    }
}

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL one when configured.
pub async fn on_each_engine<F, Fut>(test: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = sqlite_db().await;
    test(db.store.clone()).await;
    db.finish().await;
    match pg_db().await {
        Some(db) => {
            test(db.store.clone()).await;
            db.finish().await;
        }
        None => crate::skip("the PostgreSQL half", "PM_MCP_TEST_DATABASE_URL is not set"),
    }
}
