//! OAuth access tokens, in-process: a small identity provider (`pm_testkit::idp`: OpenID discovery
//! and a JWKS over real HTTP, ES256 keys made by aws-lc-rs) signs tokens; pm-mcp's verifier,
//! authenticator and HTTP app must accept the right ones and refuse every wrong one. The user
//! mapping runs on SQLite and, when `PM_MCP_TEST_DATABASE_URL` is set, PostgreSQL.
//!
//! The end-to-end test against a real OpenID provider (`oidc-provider`) with a real MCP client is
//! `crates/pm-mcp/tests/e2e/oauth.rs`.
#![allow(clippy::unwrap_used)] // test code: a failed setup step is the test failing

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pm_core::{Email, Scope, Scopes};
use pm_server::oauth::{ClaimMatch, OAuthSettings, ScopeNames, TokenError, TokenVerifier};
use pm_server::{AppState, AuthError, Authenticator, HttpConfig, KeyLimits};
use pm_store::{ApiKey, MasterKeys, NewApiKey, NewUser, Store};
use pm_testkit::db::on_each_engine;
use pm_testkit::idp::{Idp, SigningKey};
use serde_json::{Value, json};
use tower::ServiceExt;

const RESOURCE: &str = "https://pm.acme.test/mcp";

fn settings(idp: &Idp) -> OAuthSettings {
    OAuthSettings {
        issuers: vec![idp.issuer.clone()],
        resource: RESOURCE.into(),
        extra_audiences: vec![],
        scope_names: ScopeNames::default(),
        user_claim: "email".into(),
        create_users: false,
        admin_claim: None,
        leeway: Duration::from_secs(30),
    }
}

fn invalid(r: Result<pm_server::oauth::VerifiedToken, TokenError>) -> String {
    match r {
        Err(TokenError::Invalid(why)) => why,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn good_tokens_verify_and_every_kind_of_bad_one_is_refused() {
    let idp = Idp::start().await;
    let key = SigningKey::new("k1");
    idp.publish(&[&key]);
    let verifier = TokenVerifier::new(settings(&idp)).unwrap();

    let good = verifier
        .verify(&key.sign(&idp.claims(RESOURCE, "ann@acme.test", "openid pm:read pm:write")))
        .await
        .unwrap();
    assert_eq!(good.email, "ann@acme.test");
    assert_eq!(good.subject, "sub-ann@acme.test");
    assert_eq!(good.client_id.as_deref(), Some("cursor"));
    assert!(good.scopes.grants(Scope::Write) && !good.scopes.grants(Scope::Admin));
    assert_eq!(good.admin, None);

    // Tampered: a claim changed after signing.
    let token = key.sign(&idp.claims(RESOURCE, "ann@acme.test", "pm:read"));
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("pm:read pm:write pm:admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(payload.to_string()),
        parts[2]
    );
    assert!(invalid(verifier.verify(&forged).await).contains("signature"));

    // Signed by a key the issuer does not publish, under a published kid.
    let stranger = SigningKey::new("k1");
    let t = stranger.sign(&idp.claims(RESOURCE, "ann@acme.test", "pm:read"));
    assert!(invalid(verifier.verify(&t).await).contains("signature"));

    // Expired beyond the leeway; expired within it still passes.
    let now = chrono::Utc::now().timestamp();
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["exp"] = json!(now - 120);
    assert_eq!(
        verifier.verify(&key.sign(&c)).await.unwrap_err(),
        TokenError::Expired
    );
    c["exp"] = json!(now - 5);
    assert!(verifier.verify(&key.sign(&c)).await.is_ok());
    // Not valid yet.
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["nbf"] = json!(now + 600);
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("not valid yet"));

    // For another audience, or for none.
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["aud"] = json!("https://other.acme.test/api");
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("another audience"));
    c["aud"] = json!(["https://other.acme.test/api", "account"]);
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("another audience"));
    c.as_object_mut().unwrap().remove("aud");
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("aud"));
    // An audience list holding pm-mcp's resource is for pm-mcp.
    c["aud"] = json!(["account", RESOURCE]);
    assert!(verifier.verify(&key.sign(&c)).await.is_ok());

    // From an issuer this server does not trust (signed with the trusted key, even).
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["iss"] = json!("https://evil.example/realms/acme");
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("does not trust"));
    c.as_object_mut().unwrap().remove("iss");
    assert!(invalid(verifier.verify(&key.sign(&c)).await).contains("issuer"));

    // Shared-secret and unsigned tokens never pass, whatever they claim.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &idp.claims(RESOURCE, "ann@acme.test", "pm:read"),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert!(invalid(verifier.verify(&hs).await).contains("HS256"));
    let unsigned = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(idp.claims(RESOURCE, "ann@acme.test", "pm:read").to_string())
    );
    let e = verifier.verify(&unsigned).await.unwrap_err();
    assert!(matches!(e, TokenError::Invalid(_)), "{e:?}");
    assert!(invalid(verifier.verify("eyJnot.a.jwt").await).contains("not a JWT"));
    let huge = format!("eyJ{}.x.y", "a".repeat(20_000));
    assert!(invalid(verifier.verify(&huge).await).contains("too long"));

    // No pm-mcp scope at all: refused as such (the client should ask for them).
    let t = key.sign(&idp.claims(RESOURCE, "ann@acme.test", "openid email"));
    assert!(matches!(
        verifier.verify(&t).await,
        Err(TokenError::NoScope(_))
    ));
    // Okta puts scopes in `scp` as an array; Entra ID as a string.
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "");
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["pm:read", "pm:admin"]);
    assert!(
        verifier
            .verify(&key.sign(&c))
            .await
            .unwrap()
            .scopes
            .grants(Scope::Admin)
    );
    c["scp"] = json!("pm:read");
    assert_eq!(
        verifier.verify(&key.sign(&c)).await.unwrap().scopes,
        Scopes::only(Scope::Read)
    );

    // No e-mail, or one the provider says is unverified.
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c.as_object_mut().unwrap().remove("email");
    assert!(
        matches!(verifier.verify(&key.sign(&c)).await, Err(TokenError::NoUser(m)) if m.contains("\"email\""))
    );
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["email_verified"] = json!(false);
    assert!(matches!(
        verifier.verify(&key.sign(&c)).await,
        Err(TokenError::NoUser(_))
    ));
    // Some providers send the claim as a string: "false" (or anything but true) is unverified.
    for unverified in [
        json!("false"),
        json!("FALSE"),
        json!("no"),
        json!(0),
        json!(""),
    ] {
        c["email_verified"] = unverified.clone();
        assert!(
            matches!(
                verifier.verify(&key.sign(&c)).await,
                Err(TokenError::NoUser(_))
            ),
            "{unverified}"
        );
    }
    for verified in [json!(true), json!("true"), json!("True")] {
        c["email_verified"] = verified.clone();
        assert!(verifier.verify(&key.sign(&c)).await.is_ok(), "{verified}");
    }
    // All that with one fetch of the keys.
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn keys_are_fetched_again_for_a_new_kid_but_not_for_every_unknown_one() {
    let idp = Idp::start().await;
    let old = SigningKey::new("old");
    idp.publish(&[&old]);
    let verifier = TokenVerifier::new(settings(&idp)).unwrap();
    let claims = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    verifier.verify(&old.sign(&claims)).await.unwrap();
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 1);

    // Kids nobody published, within the interval after the last fetch: refused without asking
    // again (a stream of made-up kids cannot make pm-mcp hammer the provider).
    let ghost = SigningKey::new("ghost");
    for _ in 0..20 {
        assert!(invalid(verifier.verify(&ghost.sign(&claims)).await).contains("does not publish"));
    }
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 1);

    // The provider goes down: keys fetched before still verify.
    idp.down.store(true, Ordering::SeqCst);
    verifier.verify(&old.sign(&claims)).await.unwrap();
    idp.down.store(false, Ordering::SeqCst);

    // A verifier that never reached the provider says so, as "try again", not "invalid".
    idp.down.store(true, Ordering::SeqCst);
    let cold = TokenVerifier::new(settings(&idp)).unwrap();
    assert_eq!(
        cold.verify(&old.sign(&claims)).await.unwrap_err(),
        TokenError::IssuerUnavailable
    );
    idp.down.store(false, Ordering::SeqCst);
}

#[tokio::test]
async fn a_token_verified_before_is_refused_once_it_expires() {
    let idp = Idp::start().await;
    let key = SigningKey::new("k");
    idp.publish(&[&key]);
    let verifier = TokenVerifier::new(OAuthSettings {
        leeway: Duration::ZERO,
        ..settings(&idp)
    })
    .unwrap();
    let mut c = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    c["exp"] = json!(chrono::Utc::now().timestamp() + 2);
    let token = key.sign(&c);
    verifier.verify(&token).await.unwrap();
    // Again from memory, even with the provider down …
    idp.down.store(true, Ordering::SeqCst);
    verifier.verify(&token).await.unwrap();
    // … but not past its expiry: polled until it is refused as expired (no fixed sleep).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let refused = loop {
        match verifier.verify(&token).await {
            Ok(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "still accepted 30 s on"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(refused, TokenError::Expired);
    assert!(
        chrono::Utc::now().timestamp() >= c["exp"].as_i64().unwrap_or(0),
        "refused before its expiry"
    );
}

#[tokio::test]
async fn an_oversized_key_set_is_not_read_past_its_limit() {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let meta = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
    // 2 MiB of keys, sent without a declared length.
    let huge = || async {
        let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
        let chunks = std::iter::repeat_n(chunk, 32).map(Ok::<_, std::io::Error>);
        Body::from_stream(futures::stream::iter(chunks))
    };
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(meta) }),
        )
        .route("/jwks", get(huge));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let verifier = TokenVerifier::new(OAuthSettings {
        issuers: vec![issuer.clone()],
        ..settings(&Idp::start().await)
    })
    .unwrap();
    let key = SigningKey::new("k");
    let now = chrono::Utc::now().timestamp();
    let token = key.sign(&json!({
        "iss": issuer, "sub": "ann", "aud": RESOURCE, "exp": now + 60,
        "scope": "pm:read", "email": "ann@acme.test",
    }));
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::IssuerUnavailable
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_once_the_interval_has_passed() {
    let idp = Idp::start().await;
    let old = SigningKey::new("2026-01");
    idp.publish(&[&old]);
    let verifier = TokenVerifier::new(settings(&idp)).unwrap();
    let claims = idp.claims(RESOURCE, "ann@acme.test", "pm:read");
    verifier.verify(&old.sign(&claims)).await.unwrap();
    let new = SigningKey::new("2026-02");
    idp.publish(&[&old, &new]);
    // Within the 10 s after the last fetch an unknown kid is refused without asking again …
    let fetched = std::time::Instant::now();
    let first = verifier.verify(&new.sign(&claims)).await.unwrap_err();
    assert!(matches!(first, TokenError::Invalid(_)), "{first:?}");
    // … after it, the new key is fetched and verifies: polled (no fixed sleep); every refusal
    // before then cost no fetch.
    let deadline = fetched + Duration::from_secs(40);
    loop {
        match verifier.verify(&new.sign(&claims)).await {
            Ok(_) => break,
            Err(e) => {
                assert!(matches!(e, TokenError::Invalid(_)), "{e:?}");
                assert_eq!(
                    idp.jwks_fetches.load(Ordering::SeqCst),
                    1,
                    "refetched within the interval"
                );
                assert!(
                    std::time::Instant::now() < deadline,
                    "the new key was never fetched"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    assert!(
        fetched.elapsed() >= Duration::from_secs(10),
        "fetched again within 10 s"
    );
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[test]
fn settings_are_checked_and_spelled_out() {
    let s = OAuthSettings {
        issuers: vec!["https://login.acme.test/realms/acme".into()],
        resource: "https://pm.acme.test/mcp".into(),
        extra_audiences: vec![],
        scope_names: ScopeNames::default(),
        user_claim: "email".into(),
        create_users: false,
        admin_claim: None,
        leeway: Duration::from_secs(60),
    };
    s.validate().unwrap();
    assert_eq!(
        s.metadata_url(),
        "https://pm.acme.test/.well-known/oauth-protected-resource/mcp"
    );
    let m = s.metadata();
    assert_eq!(m["resource"], "https://pm.acme.test/mcp");
    assert_eq!(
        m["authorization_servers"],
        json!(["https://login.acme.test/realms/acme"])
    );
    assert_eq!(
        m["scopes_supported"],
        json!(["pm:read", "pm:write", "pm:admin"])
    );
    let root = OAuthSettings {
        resource: "https://pm.acme.test".into(),
        ..s.clone()
    };
    assert_eq!(
        root.metadata_url(),
        "https://pm.acme.test/.well-known/oauth-protected-resource"
    );
    for (bad, why) in [
        (
            OAuthSettings {
                resource: "http://pm.acme.test/mcp".into(),
                ..s.clone()
            },
            "https",
        ),
        (
            OAuthSettings {
                issuers: vec!["http://login.acme.test".into()],
                ..s.clone()
            },
            "https",
        ),
        (
            OAuthSettings {
                issuers: vec![],
                ..s.clone()
            },
            "issuer",
        ),
        (
            OAuthSettings {
                resource: "https://pm.acme.test/mcp#x".into(),
                ..s.clone()
            },
            "fragment",
        ),
    ] {
        let e = bad.validate().unwrap_err();
        assert!(e.contains(why), "{e}");
    }
    // http is fine on loopback (a local provider, tests).
    OAuthSettings {
        issuers: vec!["http://127.0.0.1:8080/realms/x".into()],
        resource: "http://localhost:8765/mcp".into(),
        ..s.clone()
    }
    .validate()
    .unwrap();

    let names = ScopeNames::parse("write=api://pm/write, admin=PmAdmin").unwrap();
    assert_eq!(names.read, "pm:read");
    assert_eq!(names.write, "api://pm/write");
    assert_eq!(names.to_ask(Scope::Write), "pm:read api://pm/write");
    assert_eq!(names.to_ask(Scope::Read), "pm:read");
    assert_eq!(names.grant(["PmAdmin"]), Some(Scopes::only(Scope::Admin)));
    assert_eq!(names.grant(["openid", "pm:write"]), None);
    assert!(ScopeNames::parse("delete=x").is_err());
    assert!(ScopeNames::parse("read").is_err());
    assert!(ScopeNames::parse("read=a,write=a").is_err());
    assert!(ScopeNames::parse("read=two words").is_err());
    assert_eq!(
        ClaimMatch::parse("groups=pm-admins").unwrap(),
        ClaimMatch {
            claim: "groups".into(),
            value: "pm-admins".into()
        }
    );
    assert!(ClaimMatch::parse("groups").is_err());
    assert!(ClaimMatch::parse("=x").is_err());
}

// ---- the authenticator and the HTTP app, on both engines ----

#[tokio::test]
async fn tokens_map_to_users_who_are_created_disabled_and_promoted_as_configured() {
    on_each_engine(|store| async move {
        let idp = Idp::start().await;
        let key = SigningKey::new("k");
        idp.publish(&[&key]);
        let token = |email: &str, groups: Value| {
            let mut c = idp.claims(RESOURCE, email, "pm:read pm:write");
            c["groups"] = groups;
            key.sign(&c)
        };

        // Without --oauth-create-users, only users an administrator added sign in.
        let plain = Authenticator::new(store.clone())
            .with_oauth(Arc::new(TokenVerifier::new(settings(&idp)).unwrap()));
        let e = plain
            .authenticate(&token("new@acme.test", json!([])))
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "unknown_user");
        assert!(
            e.to_string()
                .contains("new@acme.test has no pm-mcp account"),
            "{e}"
        );
        assert!(
            store
                .get_user_by_email(&Email::parse("new@acme.test").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let ann = store
            .add_user(NewUser::new(
                Email::parse("ann@acme.test").unwrap(),
                "Ann",
                false,
            ))
            .await
            .unwrap();
        let p = plain
            .authenticate(&token("ANN@acme.test", json!([])))
            .await
            .unwrap();
        assert_eq!(
            p.user.id, ann.id,
            "e-mail addresses match whatever their case"
        );
        assert!(p.key().is_none());
        let grant = p.token().unwrap();
        assert_eq!(grant.issuer, idp.issuer);
        assert_eq!(
            p.scopes(),
            Scopes::from_iter_nonempty([Scope::Read, Scope::Write]).unwrap()
        );
        assert_eq!(p.holder(), ann.id.as_uuid());

        // With it, and an admin claim: created at first sign-in, admin as the token says.
        let creating = Authenticator::new(store.clone()).with_oauth(Arc::new(
            TokenVerifier::new(OAuthSettings {
                create_users: true,
                admin_claim: Some(ClaimMatch::parse("groups=pm-admins").unwrap()),
                ..settings(&idp)
            })
            .unwrap(),
        ));
        let p = creating
            .authenticate(&token("bo@acme.test", json!(["staff", "pm-admins"])))
            .await
            .unwrap();
        assert!(p.user.is_admin);
        assert_eq!(p.user.name, "Ann Example");
        let stored = store
            .get_user_by_email(&Email::parse("bo@acme.test").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.id, p.user.id);
        assert!(stored.is_admin);
        // Taken out of the group: no longer an administrator, in the store too.
        let p = creating
            .authenticate(&token("bo@acme.test", json!(["staff"])))
            .await
            .unwrap();
        assert!(!p.user.is_admin);
        assert!(!store.get_user(p.user.id).await.unwrap().unwrap().is_admin);
        // Ten sign-ins at once of someone new make one user.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let a = creating.clone();
            let t = token("cy@acme.test", json!([]));
            tasks.push(tokio::spawn(async move {
                a.authenticate(&t).await.map(|p| p.user.id)
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap().unwrap());
        }
        ids.dedup();
        assert_eq!(ids.len(), 1);

        // A disabled user is refused, whatever their token.
        store.set_user_disabled(ann.id, true).await.unwrap();
        creating.refresh().await;
        assert_eq!(
            creating
                .authenticate(&token("ann@acme.test", json!(["pm-admins"])))
                .await
                .unwrap_err(),
            AuthError::UserDisabled
        );
        // API keys still work beside tokens, and a key is never taken for a token.
        let raw = ApiKey::generate();
        store
            .add_api_key(NewApiKey::for_key(
                &raw,
                p.user.id,
                "k",
                Scopes::only(Scope::Read),
                None,
            ))
            .await
            .unwrap();
        let p = creating.authenticate(raw.expose()).await.unwrap();
        assert!(p.key().is_some() && p.token().is_none());
    })
    .await;
}

async fn app_with_oauth(store: Arc<dyn Store>, idp: &Idp) -> axum::Router {
    let verifier = TokenVerifier::new(OAuthSettings {
        create_users: true,
        ..settings(idp)
    })
    .unwrap();
    let http = HttpConfig {
        allowed_hosts: vec!["pm.acme.test".into(), "localhost".into()],
        key_limits: KeyLimits::OFF,
        toolsets: Some(vec!["all".into()]),
        oauth: Some(Arc::new(verifier)),
        ..HttpConfig::default()
    };
    let keys = MasterKeys::parse(&MasterKeys::generate_text(), None).unwrap();
    let state = AppState::new(store, Arc::new(keys), http).unwrap();
    pm_server::http::app(state, pm_server::http::CancellationToken::new())
}

fn rpc(token: &str, body: Value) -> Request<Body> {
    Request::post("/mcp")
        .header(header::HOST, "pm.acme.test")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let challenge = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    // A JSON body, or the one `data:` line of an SSE answer.
    let json = serde_json::from_str(&text)
        .or_else(|_| {
            let data = text
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("null");
            serde_json::from_str(data)
        })
        .unwrap_or(Value::Null);
    (status, challenge, json)
}

#[tokio::test]
async fn the_http_app_challenges_serves_metadata_and_refuses_writes_without_the_write_scope() {
    on_each_engine(|store| async move {
        let idp = Idp::start().await;
        let key = SigningKey::new("k");
        idp.publish(&[&key]);
        let app = app_with_oauth(store.clone(), &idp).await;
        let metadata = "https://pm.acme.test/.well-known/oauth-protected-resource/mcp";

        // The metadata, at the root and at the resource's path, from any origin.
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ] {
            let req = Request::get(path)
                .header(header::HOST, "pm.acme.test")
                .header(header::ORIGIN, "https://inspector.example")
                .body(Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
            let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
            let doc: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(doc["resource"], RESOURCE);
            assert_eq!(doc["authorization_servers"], json!([idp.issuer]));
        }
        let req = Request::get("/.well-known/oauth-protected-resource/admin")
            .header(header::HOST, "pm.acme.test")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::NOT_FOUND);

        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
        // No credential: 401 pointing at the metadata, asking for read and write.
        let mut req = rpc("x", init.clone());
        req.headers_mut().remove(header::AUTHORIZATION);
        let (status, challenge, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge,
            format!(r#"Bearer realm="pm-mcp", resource_metadata="{metadata}", scope="pm:read pm:write""#)
        );
        // A bad token: 401 invalid_token, with the same pointers.
        let mut c = idp.claims(RESOURCE, "dee@acme.test", "pm:read");
        c["aud"] = json!("https://other.acme.test");
        let (status, challenge, body) = send(&app, rpc(&key.sign(&c), init.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
        assert!(challenge.contains(&format!(r#"resource_metadata="{metadata}""#)));
        assert_eq!(body["reason"], "invalid_token");
        // A bad API key is told so, never sent to sign in.
        let (status, challenge, body) =
            send(&app, rpc("pmcp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", init.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!challenge.contains("resource_metadata"), "{challenge}");
        assert_ne!(body["reason"], "invalid_token");
        // A token without any pm-mcp scope: 403 insufficient_scope.
        let (status, challenge, _) =
            send(&app, rpc(&key.sign(&idp.claims(RESOURCE, "dee@acme.test", "openid")), init.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.starts_with(r#"Bearer error="insufficient_scope", scope="pm:read""#), "{challenge}");

        // A read-only token lists and reads …
        let read = key.sign(&idp.claims(RESOURCE, "dee@acme.test", "pm:read"));
        let (status, _, body) = send(&app, rpc(&read, init.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let names: Vec<&str> = body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"get_current_user") && !names.contains(&"create_task"));
        let me = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_current_user", "arguments": {}}});
        let (status, _, body) = send(&app, rpc(&read, me.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let who = &body["result"]["structuredContent"];
        assert_eq!(who["user"]["email"], "dee@acme.test");
        assert_eq!(who["key"], Value::Null);
        assert_eq!(who["oauth"]["issuer"], json!(idp.issuer));
        assert_eq!(who["oauth"]["scopes"], json!(["read"]));
        // … but a write is 403 insufficient_scope naming the scopes to ask for, alone or in a batch.
        let write = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "remove_pm_provider", "arguments": {"provider_id": "nope"}}});
        let (status, challenge, body) = send(&app, rpc(&read, write.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            challenge.starts_with(&format!(
                r#"Bearer error="insufficient_scope", scope="pm:read pm:write", resource_metadata="{metadata}""#
            )),
            "{challenge}"
        );
        assert_eq!(body["error"], "insufficient_scope");
        let (status, _, _) = send(&app, rpc(&read, json!([me.clone(), write.clone()]))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // With the write scope the same call reaches the tool (which finds no such connection).
        let write_token = key.sign(&idp.claims(RESOURCE, "dee@acme.test", "pm:read pm:write"));
        let (status, _, body) = send(&app, rpc(&write_token, write)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["isError"], true, "{body}");
        assert!(body["result"]["content"][0]["text"].as_str().unwrap().contains("nope"));

        // The admin API's /me answers with the sign-in in place of a key; minting an API key
        // through a sign-in is refused (the key would outlive it).
        let admin = |method: &str, path: &str, token: &str, body: Option<Value>| {
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "pm.acme.test")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .unwrap()
        };
        let (status, _, me) = send(&app, admin("GET", "/admin/v1/me", &write_token, None)).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["key"], Value::Null);
        assert_eq!(me["token"]["issuer"], json!(idp.issuer));
        assert_eq!(me["token"]["scopes"], json!(["read", "write"]));
        let (status, _, body) = send(
            &app,
            admin("POST", "/admin/v1/me/keys", &write_token, Some(json!({"name": "laptop"}))),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["message"].as_str().unwrap().contains("outlive"), "{body}");
    })
    .await;
}
