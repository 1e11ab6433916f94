//! One store test suite, run against SQLite always and against PostgreSQL when
//! `PM_MCP_TEST_DATABASE_URL` is set (each test in a fresh database of its own).
use std::sync::Arc;

use chrono::{Duration, Utc};
use pm_core::{
    AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Email, ProviderKind, Scope, Scopes, Secret,
};
use pm_store::*;
use pm_testkit::db::on_each_engine;

fn email(s: &str) -> Email {
    Email::parse(s).expect("email")
}

async fn user(store: &Arc<dyn Store>, mail: &str) -> User {
    store
        .add_user(NewUser::new(email(mail), mail, false))
        .await
        .expect("add user")
}

fn keys() -> MasterKeys {
    MasterKeys::parse(&MasterKeys::generate_text(), None).expect("keys")
}

fn new_connection(keys: &MasterKeys, owner: &User, name: &str, token: &str) -> NewConnection {
    let id = ConnectionId::new();
    let creds = ProviderCredentials {
        username: Some("ann@acme.org".into()),
        token: Secret::new(token),
    };
    NewConnection {
        id,
        user_id: owner.id,
        name: ConnectionHandle::parse(name).expect("handle"),
        provider_type: ProviderKind::JiraCloud,
        base_url: BaseUrl::parse("https://acme.atlassian.net", false).expect("url"),
        auth_kind: AuthKind::Basic,
        sealed: creds.seal(keys, id, owner.id),
        config: pm_core::ConnectionOptions {
            text_format: Some(pm_core::TextFormat::Markdown),
            ..Default::default()
        },
        is_active: true,
        external_id: None,
        display_name: None,
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    on_each_engine(|store| async move {
        store.migrate().await.expect("second migrate");
        assert_eq!(store.pending_migrations().await.expect("pending"), 0);
        store.ping().await.expect("ping");
        assert_eq!(store.count_users().await.expect("count"), 0);
        // The pool reports itself (for /metrics): open connections within its bound.
        let pool = store.pool_stats();
        assert!(pool.max >= 1, "{pool:?}");
        assert!(pool.open >= 1 && pool.open <= pool.max, "{pool:?}");
        assert!(pool.idle <= pool.open, "{pool:?}");
    })
    .await;
}

#[tokio::test]
async fn users_are_unique_by_normalised_email_and_can_be_disabled() {
    on_each_engine(|store| async move {
        let ann = store
            .add_user(NewUser::new(email("Ann@Acme.org"), "Ann", true))
            .await
            .expect("add");
        assert!(ann.is_admin && !ann.is_disabled());
        let dup = store
            .add_user(NewUser::new(email("ann@acme.ORG"), "Other", false))
            .await;
        match dup {
            Err(StoreError::Conflict(m)) => assert!(m.contains("ann@acme.org"), "{m}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        let bob = user(&store, "bob@acme.org").await;
        assert_eq!(store.count_users().await.expect("count"), 2);
        let found = store
            .get_user_by_email(&email("ANN@acme.org"))
            .await
            .expect("get")
            .expect("some");
        assert_eq!(found.id, ann.id);
        assert_eq!(
            store
                .get_user(bob.id)
                .await
                .expect("get")
                .expect("some")
                .email
                .as_str(),
            "bob@acme.org"
        );
        let listed: Vec<_> = store
            .list_users()
            .await
            .expect("list")
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(listed.len(), 2);
        assert!(listed.contains(&ann.id) && listed.contains(&bob.id));

        let disabled = store
            .set_user_disabled(bob.id, true)
            .await
            .expect("disable");
        assert!(disabled.is_disabled());
        let again = store
            .set_user_disabled(bob.id, true)
            .await
            .expect("disable twice");
        assert_eq!(
            again.disabled_at, disabled.disabled_at,
            "disabling twice keeps the first time"
        );
        assert!(
            !store
                .set_user_disabled(bob.id, false)
                .await
                .expect("enable")
                .is_disabled()
        );
        assert!(matches!(
            store.set_user_disabled(pm_core::UserId::new(), true).await,
            Err(StoreError::NotFound("user"))
        ));
    })
    .await;
}

#[tokio::test]
async fn keys_are_found_by_hash_only_and_revocation_is_scoped_to_the_owner() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let key = ApiKey::generate();
        let expires = Utc::now() + Duration::days(30);
        let info = store
            .add_api_key(NewApiKey::for_key(
                &key,
                ann.id,
                "Cursor laptop",
                Scopes::only(Scope::Read),
                Some(expires),
            ))
            .await
            .expect("add key");
        assert_eq!(info.key_prefix, key.display_prefix());
        assert_eq!(info.status(Utc::now()), "active");
        assert!(info.expires_at.is_some());

        let owner = store
            .find_api_key(&key.hash())
            .await
            .expect("find")
            .expect("found");
        assert_eq!(owner.user.id, ann.id);
        assert_eq!(owner.key.id, info.id);
        assert!(owner.key.scopes.grants(Scope::Read) && !owner.key.scopes.grants(Scope::Write));
        assert!(
            store
                .find_api_key(&ApiKey::generate().hash())
                .await
                .expect("find")
                .is_none()
        );

        // Bob cannot revoke Ann's key; it answers like a key that does not exist.
        assert!(matches!(
            store.revoke_api_key(bob.id, info.id).await,
            Err(StoreError::NotFound("API key"))
        ));
        let revoked = store.revoke_api_key(ann.id, info.id).await.expect("revoke");
        assert!(revoked.revoked_at.is_some());
        assert_eq!(revoked.status(Utc::now()), "revoked");
        let owner = store
            .find_api_key(&key.hash())
            .await
            .expect("find")
            .expect("still found");
        assert!(owner.key.revoked_at.is_some());
        assert_eq!(store.list_api_keys(ann.id).await.expect("list").len(), 1);
        assert!(store.list_api_keys(bob.id).await.expect("list").is_empty());

        let orphan = store
            .add_api_key(NewApiKey::for_key(
                &ApiKey::generate(),
                pm_core::UserId::new(),
                "x",
                Scopes::only(Scope::Read),
                None,
            ))
            .await;
        assert!(
            matches!(orphan, Err(StoreError::NotFound("user"))),
            "{orphan:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn user_and_first_key_are_created_together_or_not_at_all() {
    on_each_engine(|store| async move {
        let ann = NewUser::new(email("ann@acme.org"), "Ann", true);
        let key = ApiKey::generate();
        let (u, k) = store
            .add_user_with_key(
                ann.clone(),
                NewApiKey::for_key(&key, ann.id, "first", Scopes::only(Scope::Admin), None),
            )
            .await
            .expect("create");
        assert_eq!(k.user_id, u.id);

        // Same e-mail again: the transaction fails and leaves no key behind.
        let again = NewUser::new(email("ann@acme.org"), "Ann 2", false);
        let key2 = ApiKey::generate();
        let res = store
            .add_user_with_key(
                again.clone(),
                NewApiKey::for_key(&key2, again.id, "second", Scopes::only(Scope::Read), None),
            )
            .await;
        assert!(matches!(res, Err(StoreError::Conflict(_))), "{res:?}");
        assert!(
            store
                .find_api_key(&key2.hash())
                .await
                .expect("find")
                .is_none()
        );
        assert_eq!(store.count_users().await.expect("count"), 1);
    })
    .await;
}

#[tokio::test]
async fn last_used_is_written_at_most_once_a_minute() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let key = ApiKey::generate();
        let info = store
            .add_api_key(NewApiKey::for_key(
                &key,
                ann.id,
                "k",
                Scopes::only(Scope::Read),
                None,
            ))
            .await
            .expect("add");
        let t0 = Utc::now();
        store.touch_api_key(info.id, t0).await.expect("touch");
        store
            .touch_api_key(info.id, t0 + Duration::seconds(30))
            .await
            .expect("touch");
        let seen = store
            .find_api_key(&key.hash())
            .await
            .expect("find")
            .expect("found")
            .key
            .last_used_at
            .expect("set");
        assert!(
            (seen - t0).num_milliseconds().abs() < 5,
            "kept the first write: {seen} vs {t0}"
        );
        store
            .touch_api_key(info.id, t0 + Duration::seconds(61))
            .await
            .expect("touch");
        let seen = store
            .find_api_key(&key.hash())
            .await
            .expect("find")
            .expect("found")
            .key
            .last_used_at
            .expect("set");
        assert!(
            seen > t0 + Duration::seconds(60),
            "updated after a minute: {seen}"
        );
    })
    .await;
}

#[tokio::test]
async fn connections_are_scoped_to_their_owner() {
    on_each_engine(|store| async move {
        let keys = keys();
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let first = store
            .add_connection(new_connection(&keys, &ann, "acme-jira", "tok-AAA"))
            .await
            .expect("add");
        assert!(first.is_default, "first connection becomes the default");
        assert_eq!(
            first.config.text_format,
            Some(pm_core::TextFormat::Markdown)
        );
        assert_eq!(first.key_id, keys.current_id());
        let second = store
            .add_connection(new_connection(&keys, &ann, "side", "tok-BBB"))
            .await
            .expect("add");
        assert!(!second.is_default);
        let dup = store
            .add_connection(new_connection(&keys, &ann, "acme-jira", "tok-CCC"))
            .await;
        match dup {
            Err(StoreError::Conflict(m)) => assert!(m.contains("acme-jira"), "{m}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        // Bob may use the same name for his own connection.
        let bobs = store
            .add_connection(new_connection(&keys, &bob, "acme-jira", "tok-DDD"))
            .await
            .expect("add");
        assert!(bobs.is_default);

        let handle = ConnectionHandle::parse("acme-jira").expect("handle");
        assert_eq!(
            store
                .get_connection(ann.id, &handle)
                .await
                .expect("get")
                .expect("some")
                .id,
            first.id
        );
        assert_eq!(
            store
                .get_connection(bob.id, &handle)
                .await
                .expect("get")
                .expect("some")
                .id,
            bobs.id
        );
        let side = ConnectionHandle::parse("side").expect("handle");
        assert!(
            store
                .get_connection(bob.id, &side)
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            store
                .get_sealed_credentials(bob.id, first.id)
                .await
                .expect("get")
                .is_none()
        );
        let sealed = store
            .get_sealed_credentials(ann.id, first.id)
            .await
            .expect("get")
            .expect("some");
        let creds = ProviderCredentials::open(&keys, &sealed, first.id, ann.id).expect("open");
        assert_eq!(creds.token.expose(), "tok-AAA");
        // A blob read back under another row's id does not open.
        assert!(ProviderCredentials::open(&keys, &sealed, second.id, ann.id).is_err());

        let names: Vec<String> = store
            .list_connections(ann.id)
            .await
            .expect("list")
            .into_iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, vec!["acme-jira", "side"]);
        assert_eq!(
            store.count_connections_by_key().await.expect("count"),
            vec![(keys.current_id().to_string(), 3)]
        );

        assert!(matches!(
            store.delete_connection(bob.id, &side).await,
            Err(StoreError::NotFound("connection"))
        ));
        let removed = store
            .delete_connection(ann.id, &handle)
            .await
            .expect("delete");
        assert!(removed.is_default);
        let left = store.list_connections(ann.id).await.expect("list");
        assert_eq!(left.len(), 1);
        assert!(
            left[0].is_default,
            "the remaining connection becomes the default"
        );
        assert_eq!(store.list_connections(bob.id).await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn first_connections_added_at_once_are_all_stored_with_one_default() {
    on_each_engine(|store| async move {
        let keys = keys();
        for round in 0..5 {
            let owner = user(&store, &format!("race{round}@acme.org")).await;
            // Four first connections at once: each sees no default and asks to be it.
            let mut adds = tokio::task::JoinSet::new();
            for i in 0..4 {
                let store = store.clone();
                let c = new_connection(&keys, &owner, &format!("c{i}"), "tok");
                adds.spawn(async move { store.add_connection(c).await });
            }
            while let Some(added) = adds.join_next().await {
                added.expect("join").expect("every connection is stored");
            }
            let all = store.list_connections(owner.id).await.expect("list");
            assert_eq!(all.len(), 4);
            assert_eq!(all.iter().filter(|c| c.is_default).count(), 1, "{all:?}");
        }
        // A name taken is still refused as such.
        let owner = user(&store, "dup@acme.org").await;
        store
            .add_connection(new_connection(&keys, &owner, "jira", "tok"))
            .await
            .expect("first");
        let err = store
            .add_connection(new_connection(&keys, &owner, "jira", "tok"))
            .await
            .expect_err("same name");
        assert!(
            err.to_string().contains("named jira already exists"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_large_audit_batch_is_written_whole() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let now = Utc::now();
        // 250 events: two full multi-row statements and a partial one, in one transaction.
        let events: Vec<AuditEvent> = (0..250)
            .map(|i| AuditEvent {
                id: uuid::Uuid::new_v4(),
                at: now + Duration::milliseconds(i),
                user_id: Some(ann.id),
                key_id: None,
                tool: format!("tool_{i}"),
                connection_id: None,
                outcome: if i % 2 == 0 {
                    Outcome::Ok
                } else {
                    Outcome::Error
                },
                duration_ms: i,
                error_kind: (i % 2 == 1).then(|| "tool_error".to_string()),
                request_id: Some(format!("req-{i}")),
                actor_user_id: None,
            })
            .collect();
        store.add_audit_events(&events).await.expect("add");
        let stored = store
            .list_audit_events(&AuditFilter::newest(1_000))
            .await
            .expect("list");
        assert_eq!(stored.len(), 250);
        // Newest first: every field of every row came back as written.
        for (got, want) in stored.iter().zip(events.iter().rev()) {
            assert_eq!(got.id, want.id);
            assert_eq!(got.tool, want.tool);
            assert_eq!(got.outcome, want.outcome);
            assert_eq!(got.duration_ms, want.duration_ms);
            assert_eq!(got.error_kind, want.error_kind);
            assert_eq!(got.request_id, want.request_id);
            assert_eq!(got.user_id, Some(ann.id));
        }
        // A batch holding a row that cannot be stored (a duplicate id) stores none of it.
        let mut again = events[..150].to_vec();
        again[0].id = uuid::Uuid::new_v4();
        assert!(store.add_audit_events(&again).await.is_err());
        assert_eq!(
            store
                .list_audit_events(&AuditFilter::newest(1_000))
                .await
                .expect("list")
                .len(),
            250
        );
    })
    .await;
}

#[tokio::test]
async fn audit_events_are_kept_and_listed_per_user() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let now = Utc::now();
        let event = |tool: &str, who: Option<pm_core::UserId>, secs: i64, outcome| AuditEvent {
            id: uuid::Uuid::new_v4(),
            at: now + Duration::seconds(secs),
            user_id: who,
            key_id: None,
            tool: tool.to_string(),
            connection_id: None,
            outcome,
            duration_ms: 3,
            error_kind: None,
            request_id: Some(format!("req-{tool}-{secs}")),
            actor_user_id: None,
        };
        store
            .add_audit_events(&[
                event("get_current_user", Some(ann.id), 0, Outcome::Ok),
                event("list_providers", Some(ann.id), 1, Outcome::Error),
                event("list_providers", None, 2, Outcome::Denied),
            ])
            .await
            .expect("add");
        store.add_audit_events(&[]).await.expect("empty batch");
        let anns = store
            .list_audit_events(&AuditFilter {
                user: Some(ann.id),
                ..AuditFilter::newest(10)
            })
            .await
            .expect("list");
        assert_eq!(
            anns.iter().map(|e| e.tool.as_str()).collect::<Vec<_>>(),
            vec!["list_providers", "get_current_user"]
        );
        assert_eq!(anns[0].outcome, Outcome::Error);
        assert_eq!(anns[0].request_id.as_deref(), Some("req-list_providers-1"));
        let all = store
            .list_audit_events(&AuditFilter::newest(10))
            .await
            .expect("list");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].outcome, Outcome::Denied);
        assert_eq!(
            store
                .list_audit_events(&AuditFilter::newest(1))
                .await
                .expect("list")
                .len(),
            1
        );
        // Filters combine: by tool, by outcome, by time.
        let tools = |events: Vec<AuditEvent>| {
            events
                .into_iter()
                .map(|e| (e.tool, e.outcome))
                .collect::<Vec<_>>()
        };
        let by_tool = store
            .list_audit_events(&AuditFilter {
                tool: Some("list_providers".into()),
                ..AuditFilter::newest(10)
            })
            .await
            .expect("list");
        assert_eq!(
            tools(by_tool),
            vec![
                ("list_providers".to_string(), Outcome::Denied),
                ("list_providers".to_string(), Outcome::Error)
            ]
        );
        let errors_of_ann = store
            .list_audit_events(&AuditFilter {
                user: Some(ann.id),
                outcome: Some(Outcome::Error),
                ..AuditFilter::newest(10)
            })
            .await
            .expect("list");
        assert_eq!(
            tools(errors_of_ann),
            vec![("list_providers".to_string(), Outcome::Error)]
        );
        let recent = store
            .list_audit_events(&AuditFilter {
                since: Some(now + Duration::milliseconds(500)),
                ..AuditFilter::newest(10)
            })
            .await
            .expect("list");
        assert_eq!(recent.len(), 2, "the events at +1 s and +2 s");
        let none = store
            .list_audit_events(&AuditFilter {
                tool: Some("get_current_user".into()),
                outcome: Some(Outcome::Error),
                ..AuditFilter::newest(10)
            })
            .await
            .expect("list");
        assert!(none.is_empty());
    })
    .await;
}

#[tokio::test]
async fn rotation_reseals_in_batches_resumes_after_an_interruption_and_refuses_unknown_keys() {
    on_each_engine(|store| async move {
        let old_text = MasterKeys::generate_text();
        let old = MasterKeys::parse(&old_text, None).expect("old");
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let mut made = Vec::new();
        for i in 0..7 {
            let owner = if i % 2 == 0 { &ann } else { &bob };
            let token = format!("tok-rotate-{i}");
            let c = store
                .add_connection(new_connection(&old, owner, &format!("c{i}"), &token))
                .await
                .expect("add");
            made.push((c, token));
        }
        let new_text = MasterKeys::generate_text();
        let rotated = MasterKeys::parse(&new_text, Some(&old_text)).expect("rotated");
        let new_only = MasterKeys::parse(&new_text, None).expect("new only");

        // Without the old key nothing can be opened: refused before anything changes.
        match reseal_all(store.as_ref(), &new_only, 2, None).await {
            Err(RotateError::UnknownKeys(m)) => assert!(m.contains(old.current_id()), "{m}"),
            other => panic!("expected UnknownKeys, got {other:?}"),
        }
        assert_eq!(
            store.count_connections_by_key().await.expect("count"),
            vec![(old.current_id().to_string(), 7)]
        );

        // Interrupted after 3 rows (batches of 2: one full batch, then one row).
        let first = reseal_all(store.as_ref(), &rotated, 2, Some(3))
            .await
            .expect("first run");
        assert_eq!(first.resealed, 3);
        assert_eq!((first.current, first.remaining), (3, 4));
        assert_eq!(first.older, vec![(old.current_id().to_string(), 4)]);
        // Every row still opens with the configured keys, whichever sealed it.
        for (c, token) in &made {
            let sealed = store
                .get_sealed_credentials(c.user_id, c.id)
                .await
                .expect("get")
                .expect("some");
            let creds =
                ProviderCredentials::open(&rotated, &sealed, c.id, c.user_id).expect("open");
            assert_eq!(creds.token.expose(), token);
        }
        // A connection's metadata is untouched by re-sealing.
        let before: Vec<_> = store.list_connections(ann.id).await.expect("list");

        let second = reseal_all(store.as_ref(), &rotated, 2, None)
            .await
            .expect("second run");
        assert_eq!(second.resealed, 4);
        assert_eq!((second.current, second.remaining), (7, 0));
        assert!(second.older.is_empty());
        // Now the new key alone opens everything, and the old key alone opens nothing.
        for (c, token) in &made {
            let sealed = store
                .get_sealed_credentials(c.user_id, c.id)
                .await
                .expect("get")
                .expect("some");
            assert_eq!(sealed.key_id, new_only.current_id());
            let creds =
                ProviderCredentials::open(&new_only, &sealed, c.id, c.user_id).expect("open");
            assert_eq!(creds.token.expose(), token);
            assert!(ProviderCredentials::open(&old, &sealed, c.id, c.user_id).is_err());
        }
        let after: Vec<_> = store.list_connections(ann.id).await.expect("list");
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert_eq!((b.id, b.updated_at, &b.name), (a.id, a.updated_at, &a.name));
        }
        // A third run has nothing to do.
        let third = reseal_all(store.as_ref(), &new_only, 2, None)
            .await
            .expect("third run");
        assert_eq!((third.resealed, third.current, third.remaining), (0, 7, 0));

        // A row changed since it was read (here: sealed by a key other than the one named) is
        // left alone by the compare-and-set.
        let (c, _) = &made[0];
        let stale = Reseal {
            id: c.id,
            user_id: c.user_id,
            from_key_id: old.current_id().to_string(),
            sealed: old.seal(b"{}", c.id, c.user_id),
        };
        assert_eq!(store.reseal_connections(&[stale]).await.expect("cas"), 0);
    })
    .await;
}

#[tokio::test]
async fn unreachable_and_malformed_databases_fail_clearly() {
    let err =
        pm_store::open(&DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none").expect("url"))
            .await
            .err()
            .expect("must fail");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(DatabaseUrl::parse("mysql://x/y").is_err());
}

#[tokio::test]
async fn the_auth_epoch_moves_on_what_authentication_depends_on_and_only_that() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let key = ApiKey::generate();
        let info = store
            .add_api_key(NewApiKey::for_key(
                &key,
                ann.id,
                "laptop",
                Scopes::only(Scope::Read),
                None,
            ))
            .await
            .expect("add key");
        let mut changes = store.auth_changes().await.expect("listen");
        let e0 = store.auth_epoch().await.expect("epoch");
        // Using a key moves nothing.
        store
            .touch_api_key(info.id, Utc::now())
            .await
            .expect("touch");
        assert_eq!(store.auth_epoch().await.expect("epoch"), e0);
        // Revoking does, and PostgreSQL says so at once.
        store.revoke_api_key(ann.id, info.id).await.expect("revoke");
        let e1 = store.auth_epoch().await.expect("epoch");
        assert!(e1 > e0, "{e0} -> {e1}");
        if let Some(rx) = changes.as_mut() {
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .expect("a pushed notice within 5 s")
                .expect("channel open");
        }
        // Disabling and re-enabling a user does too.
        store
            .set_user_disabled(ann.id, true)
            .await
            .expect("disable");
        let e2 = store.auth_epoch().await.expect("epoch");
        assert!(e2 > e1);
        store
            .set_user_disabled(ann.id, false)
            .await
            .expect("enable");
        assert!(store.auth_epoch().await.expect("epoch") > e2);
    })
    .await;
}

#[tokio::test]
async fn users_can_be_renamed_promoted_and_deleted_with_everything_they_own() {
    on_each_engine(|store| async move {
        let keys = keys();
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let key = ApiKey::generate();
        store
            .add_api_key(NewApiKey::for_key(
                &key,
                ann.id,
                "k",
                Scopes::only(Scope::Read),
                None,
            ))
            .await
            .expect("key");
        store
            .add_connection(new_connection(&keys, &ann, "acme-jira", "t0k3n"))
            .await
            .expect("connection");

        let e0 = store.auth_epoch().await.expect("epoch");
        let renamed = store
            .update_user(
                ann.id,
                &UserChange {
                    name: Some("Ann B.".into()),
                    is_admin: None,
                },
            )
            .await
            .expect("rename");
        assert_eq!(renamed.name, "Ann B.");
        assert!(!renamed.is_admin);
        let promoted = store
            .update_user(
                ann.id,
                &UserChange {
                    name: None,
                    is_admin: Some(true),
                },
            )
            .await
            .expect("promote");
        assert!(promoted.is_admin);
        assert_eq!(promoted.name, "Ann B.", "an absent field is left alone");
        assert!(
            store.auth_epoch().await.expect("epoch") > e0,
            "a change of the admin flag moves the auth epoch"
        );
        assert!(matches!(
            store
                .update_user(pm_core::UserId::new(), &UserChange::default())
                .await,
            Err(StoreError::NotFound("user"))
        ));

        let e1 = store.auth_epoch().await.expect("epoch");
        let gone = store.delete_user(ann.id).await.expect("delete");
        assert_eq!(gone.id, ann.id);
        assert!(store.auth_epoch().await.expect("epoch") > e1);
        assert!(store.get_user(ann.id).await.expect("get").is_none());
        assert!(
            store
                .find_api_key(&key.hash())
                .await
                .expect("find")
                .is_none(),
            "the keys went with the user"
        );
        assert!(store.list_api_keys(ann.id).await.expect("keys").is_empty());
        assert!(
            store
                .list_connections(ann.id)
                .await
                .expect("connections")
                .is_empty(),
            "the connections went with the user"
        );
        assert!(store.get_user(bob.id).await.expect("get").is_some());
        assert!(matches!(
            store.delete_user(ann.id).await,
            Err(StoreError::NotFound("user"))
        ));
    })
    .await;
}

#[tokio::test]
async fn connections_change_in_place_and_an_inactive_one_is_never_the_default() {
    on_each_engine(|store| async move {
        let keys = keys();
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let mut synced = new_connection(&keys, &ann, "my-jira", "tok-AAA");
        synced.external_id = Some("backend-7".into());
        synced.display_name = Some("My JIRA".into());
        let first = store.add_connection(synced).await.expect("add");
        assert!(first.is_default && first.is_active);
        assert_eq!(first.external_id.as_deref(), Some("backend-7"));
        assert_eq!(first.display_name.as_deref(), Some("My JIRA"));
        // The external id is unique per user, not across users.
        let mut again = new_connection(&keys, &ann, "other", "tok-BBB");
        again.external_id = Some("backend-7".into());
        assert!(matches!(
            store.add_connection(again).await,
            Err(StoreError::Conflict(_))
        ));
        let mut bobs = new_connection(&keys, &bob, "my-jira", "tok-CCC");
        bobs.external_id = Some("backend-7".into());
        store.add_connection(bobs).await.expect("bob's own");
        // An inactive connection added first is not the default.
        let mut idle = new_connection(&keys, &bob, "idle", "tok-DDD");
        idle.is_active = false;
        let idle = store.add_connection(idle).await.expect("add inactive");
        assert!(!idle.is_active && !idle.is_default);

        let second = store
            .add_connection(new_connection(&keys, &ann, "side", "tok-EEE"))
            .await
            .expect("add");
        let e0 = store.auth_epoch().await.expect("epoch");
        // New credentials and URL: stored sealed, the last check forgotten; the rest untouched.
        store
            .record_connection_check(ann.id, first.id, Utc::now(), Some("401".into()))
            .await
            .expect("check");
        let creds = ProviderCredentials {
            username: Some("ann@acme.org".into()),
            token: Secret::new("tok-NEW"),
        };
        let changed = store
            .update_connection(
                ann.id,
                first.id,
                &ConnectionChange {
                    base_url: Some(
                        BaseUrl::parse("https://new.atlassian.net", false).expect("url"),
                    ),
                    credentials: Some((AuthKind::Basic, creds.seal(&keys, first.id, ann.id))),
                    display_name: Some(Some("Jira (new)".into())),
                    ..ConnectionChange::default()
                },
            )
            .await
            .expect("update");
        assert_eq!(changed.base_url.as_str(), "https://new.atlassian.net");
        assert_eq!(changed.display_name.as_deref(), Some("Jira (new)"));
        assert_eq!(changed.external_id.as_deref(), Some("backend-7"));
        assert!(changed.last_error.is_none() && changed.last_checked_at.is_none());
        let sealed = store
            .get_sealed_credentials(ann.id, first.id)
            .await
            .expect("read")
            .expect("sealed");
        let opened = ProviderCredentials::open(&keys, &sealed, first.id, ann.id).expect("open");
        assert_eq!(opened.token.expose(), "tok-NEW");
        assert!(store.auth_epoch().await.expect("epoch") > e0);
        // Deactivated, the default passes to the other active connection; reactivated, it
        // does not take it back.
        let off = store
            .update_connection(
                ann.id,
                first.id,
                &ConnectionChange {
                    is_active: Some(false),
                    ..ConnectionChange::default()
                },
            )
            .await
            .expect("deactivate");
        assert!(!off.is_active && !off.is_default);
        let side = store
            .get_connection_by_id(ann.id, second.id)
            .await
            .expect("read")
            .expect("side");
        assert!(side.is_default);
        let on = store
            .update_connection(
                ann.id,
                first.id,
                &ConnectionChange {
                    is_active: Some(true),
                    external_id: Some(None),
                    ..ConnectionChange::default()
                },
            )
            .await
            .expect("activate");
        assert!(on.is_active && !on.is_default && on.external_id.is_none());
        // Another user's connection answers like a missing one.
        assert!(matches!(
            store
                .update_connection(bob.id, first.id, &ConnectionChange::default())
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn imported_keys_keep_their_history_and_act_for_is_audited() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let svc = user(&store, "svc@acme.org").await;
        let key = ApiKey::parse(&"ab12".repeat(16)).expect("a reference key");
        let then = Utc::now() - Duration::days(40);
        let used = Utc::now() - Duration::days(2);
        let mut row = NewApiKey::for_key(&key, ann.id, "Cursor", Scopes::only(Scope::Write), None);
        row.imported = Some(ImportedKey {
            at: Utc::now(),
            last_used_at: Some(used),
            created_at: then,
        });
        let info = store.add_api_key(row).await.expect("add");
        assert!(info.imported_at.is_some());
        assert_eq!(info.key_prefix, "mcp_ab12ab12");
        assert_eq!(info.created_at.timestamp(), then.timestamp());
        assert_eq!(
            info.last_used_at.map(|t| t.timestamp()),
            Some(used.timestamp())
        );
        let presented = ApiKey::parse(&format!("mcp_{}", "ab12".repeat(16))).expect("prefixed");
        let found = store
            .find_api_key(&presented.hash())
            .await
            .expect("find")
            .expect("the same key in the other spelling");
        assert_eq!(found.key.id, info.id);
        assert!(found.key.imported_at.is_some());

        let event = AuditEvent {
            id: uuid::Uuid::new_v4(),
            at: Utc::now(),
            user_id: Some(ann.id),
            key_id: None,
            tool: "list_projects".into(),
            connection_id: None,
            outcome: Outcome::Ok,
            duration_ms: 3,
            error_kind: None,
            request_id: None,
            actor_user_id: Some(svc.id),
        };
        store.add_audit_events(&[event]).await.expect("audit");
        let mut filter = AuditFilter::newest(10);
        filter.user = Some(ann.id);
        let got = store.list_audit_events(&filter).await.expect("list");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].actor_user_id, Some(svc.id));
    })
    .await;
}

#[tokio::test]
async fn console_tickets_are_single_use_and_sessions_end_with_their_user() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let bob = user(&store, "bob@acme.org").await;
        let now = Utc::now();
        let link = NewTicket {
            token_hash: [1; 32],
            kind: TicketKind::Link,
            user_id: Some(ann.id),
            data: None,
            expires_at: now + Duration::minutes(15),
        };
        store.add_console_ticket(&link).await.expect("ticket");
        // Another kind does not take it; the right kind does, once.
        assert_eq!(
            store
                .take_console_ticket(&[1; 32], TicketKind::Oidc, now)
                .await
                .expect("take"),
            None
        );
        let taken = store
            .take_console_ticket(&[1; 32], TicketKind::Link, now)
            .await
            .expect("take")
            .expect("first use");
        assert_eq!(taken.user_id, Some(ann.id));
        assert_eq!(
            store
                .take_console_ticket(&[1; 32], TicketKind::Link, now)
                .await
                .expect("take again"),
            None,
            "a ticket is used once"
        );
        // An expired ticket is not taken.
        let old = NewTicket {
            token_hash: [2; 32],
            kind: TicketKind::Oidc,
            user_id: None,
            data: Some("{\"nonce\":\"n\"}".into()),
            expires_at: now - Duration::seconds(1),
        };
        store.add_console_ticket(&old).await.expect("ticket");
        assert_eq!(
            store
                .take_console_ticket(&[2; 32], TicketKind::Oidc, now)
                .await
                .expect("take"),
            None
        );

        // Sessions: open until they expire, end, or their user is disabled or deleted.
        store
            .add_console_session(&[3; 32], ann.id, None, now, now + Duration::hours(1))
            .await
            .expect("session");
        store
            .add_console_session(&[4; 32], bob.id, None, now, now + Duration::hours(1))
            .await
            .expect("session");
        store
            .add_console_session(&[5; 32], bob.id, None, now, now - Duration::seconds(1))
            .await
            .expect("session");
        let open = store.console_session(&[3; 32], now).await.expect("read");
        assert_eq!(open.map(|s| (s.user.id, s.issued_by)), Some((ann.id, None)));
        assert!(
            store
                .console_session(&[5; 32], now)
                .await
                .expect("read")
                .is_none(),
            "expired"
        );
        assert!(
            store
                .console_session(&[9; 32], now)
                .await
                .expect("read")
                .is_none(),
            "unknown"
        );
        store
            .set_user_disabled(ann.id, true)
            .await
            .expect("disable");
        assert!(
            store
                .console_session(&[3; 32], now)
                .await
                .expect("read")
                .is_none(),
            "a disabled user's session is over at once"
        );
        store
            .set_user_disabled(ann.id, false)
            .await
            .expect("enable");
        assert!(
            store
                .console_session(&[3; 32], now)
                .await
                .expect("read")
                .is_none(),
            "enabling the user again does not bring the session back"
        );
        assert_eq!(
            store
                .end_console_sessions_of(ann.id)
                .await
                .expect("end all"),
            0,
            "disabling removed it"
        );
        // A session an administrator's link opened says so.
        store
            .add_console_session(
                &[7; 32],
                ann.id,
                Some(bob.id),
                now,
                now + Duration::hours(1),
            )
            .await
            .expect("session");
        let opened = store.console_session(&[7; 32], now).await.expect("read");
        assert_eq!(opened.and_then(|s| s.issued_by), Some(bob.id));
        assert_eq!(store.end_console_sessions_of(ann.id).await.expect("end"), 1);
        // A link read without being used; disabling its user voids it.
        let link = NewTicket {
            token_hash: [8; 32],
            kind: TicketKind::Link,
            user_id: Some(ann.id),
            data: None,
            expires_at: now + Duration::minutes(15),
        };
        store.add_console_ticket(&link).await.expect("ticket");
        let peeked = store
            .peek_console_ticket(&[8; 32], TicketKind::Link, now)
            .await
            .expect("peek");
        assert_eq!(peeked.and_then(|t| t.user_id), Some(ann.id));
        store
            .set_user_disabled(ann.id, true)
            .await
            .expect("disable");
        store
            .set_user_disabled(ann.id, false)
            .await
            .expect("enable");
        assert_eq!(
            store
                .take_console_ticket(&[8; 32], TicketKind::Link, now)
                .await
                .expect("take"),
            None,
            "a link made before the user was disabled is void"
        );
        store.delete_user(bob.id).await.expect("delete");
        assert!(
            store
                .console_session(&[4; 32], now)
                .await
                .expect("read")
                .is_none(),
            "a deleted user's sessions went with them"
        );
        store
            .add_console_session(&[6; 32], ann.id, None, now, now + Duration::hours(1))
            .await
            .expect("session");
        store.end_console_session(&[6; 32]).await.expect("end");
        assert!(
            store
                .console_session(&[6; 32], now)
                .await
                .expect("read")
                .is_none()
        );
        // Purging drops the expired ticket (the used one went when its user was disabled).
        assert_eq!(store.purge_console(now).await.expect("purge"), 1);
        assert_eq!(store.purge_console(now).await.expect("purge"), 0);
    })
    .await;
}

#[tokio::test]
async fn usage_counts_calls_by_tool_user_tracker_and_outcome() {
    on_each_engine(|store| async move {
        let ann = user(&store, "ann@acme.org").await;
        let keys = keys();
        let conn = store
            .add_connection(new_connection(&keys, &ann, "jira", "t0k"))
            .await
            .expect("connection");
        let event =
            |tool: &str, conn: Option<ConnectionId>, outcome, kind: Option<&str>, ago| AuditEvent {
                id: uuid::Uuid::new_v4(),
                at: Utc::now() - Duration::hours(ago),
                user_id: Some(ann.id),
                key_id: None,
                tool: tool.into(),
                connection_id: conn,
                outcome,
                duration_ms: 1,
                error_kind: kind.map(str::to_string),
                request_id: None,
                actor_user_id: None,
            };
        store
            .add_audit_events(&[
                event("get_task", Some(conn.id), Outcome::Ok, None, 1),
                event("get_task", Some(conn.id), Outcome::Ok, None, 2),
                event(
                    "get_task",
                    Some(conn.id),
                    Outcome::Error,
                    Some("tracker_not_found"),
                    3,
                ),
                event("list_projects", None, Outcome::Ok, None, 4),
                event("get_task", Some(conn.id), Outcome::Ok, None, 48),
            ])
            .await
            .expect("audit");
        let mut rows = store
            .audit_usage(Utc::now() - Duration::days(1))
            .await
            .expect("usage");
        rows.sort_by(|a, b| (&a.tool, a.calls).cmp(&(&b.tool, b.calls)));
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.tool.as_str(),
                    r.provider.as_deref(),
                    r.outcome,
                    r.error_kind.as_deref(),
                    r.calls,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "get_task",
                    Some("jira_cloud"),
                    Outcome::Error,
                    Some("tracker_not_found"),
                    1
                ),
                ("get_task", Some("jira_cloud"), Outcome::Ok, None, 2),
                ("list_projects", None, Outcome::Ok, None, 1),
            ]
        );
        assert!(rows.iter().all(|r| r.user_id == Some(ann.id)));
        // The connection's last use: its newest call (an hour ago), whatever the window.
        let last = store
            .last_use_by_connection(ann.id)
            .await
            .expect("last use");
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].0, conn.id);
        let ago = Utc::now() - last[0].1;
        assert!(
            ago > Duration::minutes(59) && ago < Duration::minutes(61),
            "{ago}"
        );
    })
    .await;
}
