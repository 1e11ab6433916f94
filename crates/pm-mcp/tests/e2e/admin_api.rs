//! The admin REST API through the real binary, on each engine, checked against its own OpenAPI
//! document: every answer's status must be one the document lists for that operation and its body
//! must match that answer's schema, and every operation in the document must be exercised.
use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::harness::*;

const TOKEN: &str = "ATATT-admin-api-secret-5521";

struct Api {
    base: String,
    doc: Value,
    http: reqwest::Client,
    seen: Mutex<BTreeSet<(String, String)>>,
}

impl Api {
    /// Calls `method template` (path parameters filled from `params` in order, `query` appended),
    /// checks the answer against the document, returns its status and body.
    async fn call(
        &self,
        key: Option<&str>,
        method: &str,
        template: &str,
        params: &[&str],
        query: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut path = String::new();
        let mut rest = params.iter();
        for seg in template.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            if seg.starts_with('{') {
                path.push_str(rest.next().expect("a value for each path parameter"));
            } else {
                path.push_str(seg);
            }
        }
        let url = format!("{}{path}{query}", self.base);
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut req = self.http.request(m, &url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"))
        };
        self.check(method, template, status, &value);
        self.seen
            .lock()
            .expect("seen")
            .insert((method.to_string(), template.to_string()));
        (status, value)
    }

    /// The answer's status is documented for the operation and its body matches the schema.
    fn check(&self, method: &str, template: &str, status: u16, body: &Value) {
        let operation = &self.doc["paths"][template][method];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        let answer = &operation["responses"][status.to_string()];
        assert!(
            answer.is_object(),
            "{method} {template} answered {status}, which the document does not list: {body}"
        );
        match answer["content"]["application/json"]["schema"].as_object() {
            Some(schema) => {
                let mut root = Value::Object(schema.clone());
                root["components"] = self.doc["components"].clone();
                root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
                let validator = jsonschema::validator_for(&root).expect("schema compiles");
                let problems: Vec<String> = validator
                    .iter_errors(body)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    problems.is_empty(),
                    "{method} {template} {status}: the body does not match its schema: {problems:?}\n{body}"
                );
            }
            None => assert_eq!(
                body,
                &Value::Null,
                "{method} {template} {status} has no documented body"
            ),
        }
    }
}

fn jira_connection(base: &str, name: &str, token: &str) -> Value {
    json!({ "provider_type": "jira_cloud", "base_url": base, "username": "mia@example.com",
            "api_token": token, "name": name })
}

#[tokio::test]
async fn the_admin_api_does_what_its_openapi_document_says() {
    on_each_engine(|env| async move {
        let Some(pm_testkit::fake::Running { url: jira, .. }) =
            pm_testkit::fake_jira::spawn(pm_testkit::fake_jira::Options::cloud(&pm_testkit::fake_jira::basic("mia@example.com", TOKEN)))
                .await else {
        return;
    };
        env.ok(&["user", "add", "--email", "root@acme.org", "--admin"]);
        env.add_user("bob@acme.org");
        let root = env.create_key("root@acme.org", "admin");
        let bob = env.create_key("bob@acme.org", "read,write");
        let server = env.serve(LOCAL_UPSTREAM).await;
        let http = reqwest::Client::new();
        // The document needs no key; it is the one pinned in the source tree.
        let res = http
            .get(format!("{}/admin/v1/openapi.json", server.base))
            .send()
            .await
            .expect("doc");
        assert_eq!(res.status(), 200);
        let doc: Value = res.json().await.expect("json");
        let pinned: Value = serde_json::from_str(include_str!(
            "../../../pm-server/snapshots/admin_openapi.json"
        ))
        .expect("pinned");
        assert_eq!(doc, pinned);
        let api = Api {
            base: server.base.clone(),
            doc,
            http,
            seen: Mutex::new(BTreeSet::new()),
        };
        let (s, _) = api
            .call(None, "get", "/admin/v1/openapi.json", &[], "", None)
            .await;
        assert_eq!(s, 200);
        let r = Some(root.as_str());

        // Authentication and the admin rule.
        let (s, b) = api
            .call(None, "get", "/admin/v1/users", &[], "", None)
            .await;
        assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")));
        let (s, b) = api
            .call(Some(&bob), "get", "/admin/v1/users", &[], "", None)
            .await;
        assert_eq!((s, b["error"].as_str()), (403, Some("forbidden")));

        // Users.
        let (s, ann) = api
            .call(
                r,
                "post",
                "/admin/v1/users",
                &[],
                "",
                Some(json!({ "email": "ann@acme.org" })),
            )
            .await;
        assert_eq!(s, 201, "{ann}");
        assert_eq!(ann["name"], "ann");
        let ann_id = ann["id"].as_str().expect("id").to_string();
        let (s, b) = api
            .call(
                r,
                "post",
                "/admin/v1/users",
                &[],
                "",
                Some(json!({ "email": "ANN@acme.org" })),
            )
            .await;
        assert_eq!((s, b["error"].as_str()), (409, Some("conflict")));
        let (s, b) = api
            .call(
                r,
                "post",
                "/admin/v1/users",
                &[],
                "",
                Some(json!({ "email": "nope" })),
            )
            .await;
        assert_eq!((s, b["error"].as_str()), (422, Some("invalid_request")));
        let (s, b) = api
            .call(
                r,
                "post",
                "/admin/v1/users",
                &[],
                "",
                Some(json!({ "email": "x@acme.org", "is_admin": "hunter2-leak" })),
            )
            .await;
        assert_eq!(s, 422);
        assert!(!b.to_string().contains("hunter2-leak"), "{b}");
        let raw = api
            .http
            .post(format!("{}/admin/v1/users", api.base))
            .bearer_auth(&root)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("send");
        let s = raw.status().as_u16();
        let b: Value = raw.json().await.expect("json");
        api.check("post", "/admin/v1/users", s, &b);
        assert_eq!((s, b["error"].as_str()), (400, Some("malformed_request")));
        let (s, users) = api.call(r, "get", "/admin/v1/users", &[], "", None).await;
        assert_eq!((s, users.as_array().map(Vec::len)), (200, Some(3)));
        // Cursor paging: the answer stays an array; X-Next-Cursor names the next page.
        let mut paged = Vec::new();
        let mut query = "?limit=2".to_string();
        loop {
            let res = api.http.get(format!("{}/admin/v1/users{query}", api.base)).bearer_auth(&root).send().await.expect("send");
            let next = res.headers().get("x-next-cursor").and_then(|v| v.to_str().ok()).map(str::to_string);
            let (s, page) = api.call(r, "get", "/admin/v1/users", &[], &query, None).await;
            assert_eq!(s, 200);
            paged.extend(page.as_array().expect("array").iter().filter_map(|u| u["id"].as_str().map(str::to_string)));
            match next {
                Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        let all_ids: Vec<String> = users.as_array().expect("users").iter().filter_map(|u| u["id"].as_str().map(str::to_string)).collect();
        assert_eq!(paged, all_ids);
        let (s, _) = api.call(r, "get", "/admin/v1/users", &[], "?cursor=bogus", None).await;
        assert_eq!(s, 422);
        let (s, _) = api.call(r, "get", "/admin/v1/users", &[], "?limit=0", None).await;
        assert_eq!(s, 422);
        let (s, one) = api.call(r, "get", "/admin/v1/audit", &[], "?limit=1", None).await;
        assert_eq!((s, one.as_array().map(Vec::len)), (200, Some(1)));
        let root_id = users
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["email"] == "root@acme.org")
            .expect("root")["id"]
            .as_str()
            .expect("id")
            .to_string();
        let (s, _) = api
            .call(r, "get", "/admin/v1/users/{id}", &[&ann_id], "", None)
            .await;
        assert_eq!(s, 200);
        let (s, b) = api
            .call(
                r,
                "get",
                "/admin/v1/users/{id}",
                &[&uuid::Uuid::new_v4().to_string()],
                "",
                None,
            )
            .await;
        assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
        let (s, b) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}",
                &[&ann_id],
                "",
                Some(json!({ "name": "Ann B." })),
            )
            .await;
        assert_eq!((s, b["name"].as_str()), (200, Some("Ann B.")));
        let (s, _) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}",
                &[&root_id],
                "",
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(s, 409, "an administrator cannot lock themselves out");

        // A user's keys.
        let (s, made) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys",
                &[&ann_id],
                "",
                Some(json!({ "name": "laptop", "scopes": ["read", "write"], "expires": "90d" })),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        let ann_key = made["key"].as_str().expect("key").to_string();
        let ann_key_id = made["api_key"]["id"].as_str().expect("id").to_string();
        let (s, _) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys",
                &[&ann_id],
                "",
                Some(json!({ "name": "x", "scopes": ["admin"] })),
            )
            .await;
        assert_eq!(s, 422, "no admin scope for a non-administrator");
        let (s, _) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys",
                &[&ann_id],
                "",
                Some(json!({ "name": "x", "expires": "2001-01-01" })),
            )
            .await;
        assert_eq!(s, 422);
        let (s, listed) = api
            .call(r, "get", "/admin/v1/users/{id}/keys", &[&ann_id], "", None)
            .await;
        assert_eq!(s, 200);
        assert!(
            !listed.to_string().contains(&ann_key[13..]),
            "a listing never holds the key"
        );
        let (s, rotated) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys/{key_id}/rotate",
                &[&ann_id, &ann_key_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 201, "{rotated}");
        assert_eq!(rotated["replaced"]["status"], "revoked");
        assert_eq!(rotated["api_key"]["name"], "laptop");
        let (s, _) = api
            .call(Some(&ann_key), "get", "/admin/v1/me", &[], "", None)
            .await;
        assert_eq!(s, 401, "the rotated-out key stops working at once");
        let (s, _) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys/{key_id}/rotate",
                &[&ann_id, &ann_key_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 409, "a revoked key cannot be rotated");
        let ann_key = rotated["key"].as_str().expect("key").to_string();
        let a = Some(ann_key.as_str());

        // Self-service keys.
        let (s, me) = api.call(a, "get", "/admin/v1/me", &[], "", None).await;
        assert_eq!(
            (s, me["user"]["email"].as_str()),
            (200, Some("ann@acme.org"))
        );
        let (s, _) = api.call(a, "get", "/admin/v1/me/keys", &[], "", None).await;
        assert_eq!(s, 200);
        let (s, b) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys",
                &[],
                "",
                Some(json!({ "name": "x", "scopes": ["admin"] })),
            )
            .await;
        assert_eq!((s, b["error"].as_str()), (403, Some("forbidden")));
        let (s, ro) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys",
                &[],
                "",
                Some(json!({ "name": "reader", "scopes": ["read"] })),
            )
            .await;
        assert_eq!(s, 201, "{ro}");
        let ro_key = ro["key"].as_str().expect("key").to_string();
        let ro_id = ro["api_key"]["id"].as_str().expect("id").to_string();
        let (s, _) = api
            .call(
                Some(&ro_key),
                "post",
                "/admin/v1/me/keys",
                &[],
                "",
                Some(json!({ "name": "y", "scopes": ["read"] })),
            )
            .await;
        assert_eq!(s, 403, "a read-only key changes nothing");
        let (s, _) = api
            .call(
                Some(&ro_key),
                "post",
                "/admin/v1/me/keys/{key_id}/revoke",
                &[&ro_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = api
            .call(
                Some(&ro_key),
                "post",
                "/admin/v1/me/keys/{key_id}/rotate",
                &[&ro_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 403);
        let (s, ro2) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys/{key_id}/rotate",
                &[&ro_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 201);
        let (s, _) = api
            .call(Some(&ro_key), "get", "/admin/v1/me", &[], "", None)
            .await;
        assert_eq!(s, 401);
        let ro2_id = ro2["api_key"]["id"].as_str().expect("id").to_string();
        let (s, _) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys/{key_id}/revoke",
                &[&ro2_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 200);
        let bob_keys = api
            .call(Some(&bob), "get", "/admin/v1/me/keys", &[], "", None)
            .await
            .1;
        let bob_key_id = bob_keys[0]["id"].as_str().expect("id").to_string();
        let (s, mine) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys/{key_id}/revoke",
                &[&bob_key_id],
                "",
                None,
            )
            .await;
        let (s2, missing) = api
            .call(
                a,
                "post",
                "/admin/v1/me/keys/{key_id}/revoke",
                &[&uuid::Uuid::new_v4().to_string()],
                "",
                None,
            )
            .await;
        assert_eq!(
            (s, &mine),
            (s2, &missing),
            "another user's key answers like a missing one"
        );
        assert_eq!(s, 404);
        let (s, _) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/keys/{key_id}/revoke",
                &[&ann_id, &ro2_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 200, "revoking twice is harmless");

        // A key never makes a key stronger than itself, by creating or by rotating: a key
        // limited to `users` that expires in an hour (an attack run rotated its owner's
        // unrestricted key with one, and minted keys that never expire).
        let (s, small) = api
            .call(a, "post", "/admin/v1/me/keys", &[], "", Some(json!({ "name": "small", "toolsets": ["users"], "expires": "1h" })))
            .await;
        assert_eq!(s, 201, "{small}");
        let small_key = small["key"].as_str().expect("key").to_string();
        let sm = Some(small_key.as_str());
        let small_expires = small["api_key"]["expires_at"].as_str().expect("expires").to_string();
        let ann_key_now = rotated["api_key"]["id"].as_str().expect("id").to_string();
        let (s, b) = api
            .call(sm, "post", "/admin/v1/me/keys/{key_id}/rotate", &[&ann_key_now], "", None)
            .await;
        assert_eq!(s, 403, "an unrestricted key is not rotated by a limited one: {b}");
        let (s, _) = api.call(a, "get", "/admin/v1/me", &[], "", None).await;
        assert_eq!(s, 200, "and it still works");
        let (s, b) = api
            .call(sm, "post", "/admin/v1/me/keys", &[], "", Some(json!({ "name": "long", "toolsets": ["users"], "expires": "30d" })))
            .await;
        assert_eq!(s, 403, "no key outlives its maker: {b}");
        let (s, b) = api
            .call(sm, "post", "/admin/v1/me/keys", &[], "", Some(json!({ "name": "forever", "toolsets": ["users"] })))
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["api_key"]["expires_at"].as_str(), Some(small_expires.as_str()), "asked for no expiry, it expires with its maker");
        let (s, _) = api
            .call(sm, "post", "/admin/v1/me/keys", &[], "", Some(json!({ "name": "wide", "expires": "10m" })))
            .await;
        assert_eq!(s, 403, "no toolset beyond its maker's");
        let small_id = small["api_key"]["id"].as_str().expect("id").to_string();
        let (s, b) = api
            .call(sm, "post", "/admin/v1/me/keys/{key_id}/rotate", &[&small_id], "", None)
            .await;
        assert_eq!(s, 201, "a key as strong as itself may be rotated: {b}");
        // Names are printed in administrators' terminals: no control characters in them.
        let (s, b) = api
            .call(a, "post", "/admin/v1/me/keys", &[], "", Some(json!({ "name": "x\u{1b}]8;;http://evil.example\u{7}click\u{1b}]8;;\u{7}" })))
            .await;
        assert_eq!((s, b["error"].as_str()), (422, Some("invalid_request")), "{b}");
        assert!(b.to_string().contains("control characters"), "{b}");
        let (s, b) = api
            .call(r, "post", "/admin/v1/users", &[], "", Some(json!({ "email": "eve@acme.org", "name": "Eve\u{1b}[2J" })))
            .await;
        assert_eq!(s, 422, "{b}");

        // Self-service connections.
        let (s, b) = api
            .call(
                a,
                "post",
                "/admin/v1/me/connections",
                &[],
                "",
                Some(jira_connection(&jira, "acme-jira", "wrong")),
            )
            .await;
        assert_eq!(
            (s, b["error"].as_str()),
            (422, Some("connection_test_failed"))
        );
        let (s, added) = api
            .call(
                a,
                "post",
                "/admin/v1/me/connections",
                &[],
                "",
                Some(jira_connection(&jira, "acme-jira", TOKEN)),
            )
            .await;
        assert_eq!(s, 201, "{added}");
        assert_eq!(added["test"]["ok"], true);
        let (s, _) = api
            .call(
                a,
                "post",
                "/admin/v1/me/connections",
                &[],
                "",
                Some(jira_connection(&jira, "acme-jira", TOKEN)),
            )
            .await;
        assert_eq!(s, 409);
        let (s, _) = api
            .call(
                Some(&ro_key),
                "post",
                "/admin/v1/me/connections",
                &[],
                "",
                Some(jira_connection(&jira, "x", TOKEN)),
            )
            .await;
        assert_eq!(s, 401, "the rotated-out key is gone");
        let (s, list) = api
            .call(a, "get", "/admin/v1/me/connections", &[], "", None)
            .await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)));
        let (s, t) = api
            .call(
                a,
                "post",
                "/admin/v1/me/connections/{conn}/test",
                &["acme-jira"],
                "",
                None,
            )
            .await;
        assert_eq!((s, t["test"]["ok"].as_bool()), (200, Some(true)));
        let (s, theirs) = api
            .call(
                Some(&bob),
                "post",
                "/admin/v1/me/connections/{conn}/test",
                &["acme-jira"],
                "",
                None,
            )
            .await;
        let (s2, none) = api
            .call(
                Some(&bob),
                "post",
                "/admin/v1/me/connections/{conn}/test",
                &["nope-jira"],
                "",
                None,
            )
            .await;
        assert_eq!(
            (s, &theirs),
            (s2, &none),
            "another user's connection answers like a missing one"
        );
        let (s, _) = api
            .call(
                Some(&bob),
                "delete",
                "/admin/v1/me/connections/{conn}",
                &["acme-jira"],
                "",
                None,
            )
            .await;
        assert_eq!(s, 404);

        // A user's connections, by an administrator.
        let (s, added) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/connections",
                &[&ann_id],
                "",
                Some(jira_connection(&jira, "second", TOKEN)),
            )
            .await;
        assert_eq!(s, 201, "{added}");
        let second_id = added["connection"]["id"].as_str().expect("id").to_string();
        let (s, list) = api
            .call(
                r,
                "get",
                "/admin/v1/users/{id}/connections",
                &[&ann_id],
                "",
                None,
            )
            .await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(2)));
        let (s, _) = api
            .call(
                r,
                "post",
                "/admin/v1/users/{id}/connections/{conn}/test",
                &[&ann_id, &second_id],
                "",
                None,
            )
            .await;
        assert_eq!(s, 200);
        // Changing a connection: renamed and deactivated without a test; a wrong token is
        // tested and refused (nothing changes); the right one is stored.
        let (s, changed) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, &second_id],
                "",
                Some(json!({ "display_name": "Second Jira", "is_active": false, "test": false })),
            )
            .await;
        assert_eq!((s, &changed["is_active"]), (200, &json!(false)), "{changed}");
        let (s, refused) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "second"],
                "",
                Some(json!({ "api_token": "wrong", "username": "mia@example.com" })),
            )
            .await;
        assert_eq!((s, &refused["error"]), (422, &json!("connection_test_failed")), "{refused}");
        let (s, changed) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "second"],
                "",
                Some(json!({ "api_token": TOKEN, "username": "mia@example.com", "is_active": true })),
            )
            .await;
        assert_eq!((s, &changed["is_active"]), (200, &json!(true)), "{changed}");
        assert!(!changed.to_string().contains(TOKEN));
        let (s, _) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "second"],
                "",
                Some(json!({ "username": "mia@example.com" })),
            )
            .await;
        assert_eq!(s, 422, "a new username needs its token");
        let (s, _) = api
            .call(
                a,
                "patch",
                "/admin/v1/me/connections/{conn}",
                &["acme-jira"],
                "",
                Some(json!({ "display_name": "Ann's Jira", "test": false })),
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = api
            .call(
                a,
                "patch",
                "/admin/v1/me/connections/{conn}",
                &["nope-jira"],
                "",
                Some(json!({ "is_active": true })),
            )
            .await;
        assert_eq!(s, 404);
        // Create or update by another system's id: the second call updates the same connection.
        let external = json!({ "name": "Backend Jira", "provider_type": "jira_cloud", "base_url": jira,
                               "username": "mia@example.com", "api_token": TOKEN, "test_connection": true });
        let (s, put) = api
            .call(
                r,
                "put",
                "/admin/v1/users/{id}/connections/by-external-id/{external_id}",
                &[&ann_id, "bp-42"],
                "",
                Some(external.clone()),
            )
            .await;
        assert_eq!((s, &put["action"], &put["connection_healthy"]), (200, &json!("created"), &json!(true)), "{put}");
        let (s, again) = api
            .call(
                r,
                "put",
                "/admin/v1/users/{id}/connections/by-external-id/{external_id}",
                &[&ann_id, "bp-42"],
                "",
                Some(external),
            )
            .await;
        assert_eq!((s, &again["action"], &again["mcp_provider_id"]), (200, &json!("updated"), &put["mcp_provider_id"]));
        let (s, _) = api
            .call(
                r,
                "put",
                "/admin/v1/users/{id}/connections/by-external-id/{external_id}",
                &[&ann_id, "bp-43"],
                "",
                Some(json!({ "name": "x", "provider_type": "trello" })),
            )
            .await;
        assert_eq!(s, 422);
        let (s, _) = api
            .call(
                r,
                "delete",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "backend-jira"],
                "",
                None,
            )
            .await;
        assert_eq!(s, 200);
        // A user by e-mail (case-insensitively).
        let (s, found) = api
            .call(r, "get", "/admin/v1/users", &[], "?email=ANN@acme.org", None)
            .await;
        assert_eq!(s, 200);
        let found_ids: Vec<&str> = found.as_array().expect("list").iter().filter_map(|u| u["id"].as_str()).collect();
        assert_eq!(found_ids, [ann_id.as_str()], "{found}");
        let (s, none) = api
            .call(r, "get", "/admin/v1/users", &[], "?email=nobody@example.com", None)
            .await;
        assert_eq!((s, none), (200, json!([])));
        let (s, _) = api
            .call(r, "get", "/admin/v1/users", &[], "?email=not-an-address", None)
            .await;
        assert_eq!(s, 422);
        let (s, removed) = api
            .call(
                r,
                "delete",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "second"],
                "",
                None,
            )
            .await;
        assert_eq!(
            (s, removed["default_connection"].as_str()),
            (200, Some("acme-jira"))
        );
        let (s, _) = api
            .call(
                r,
                "delete",
                "/admin/v1/users/{id}/connections/{conn}",
                &[&ann_id, "second"],
                "",
                None,
            )
            .await;
        assert_eq!(s, 404);
        let (s, _) = api
            .call(
                a,
                "delete",
                "/admin/v1/me/connections/{conn}",
                &["acme-jira"],
                "",
                None,
            )
            .await;
        assert_eq!(s, 200);

        // The audit trail holds every change, and none of the secrets.
        let (s, events) = api
            .call(r, "get", "/admin/v1/audit", &[], "?limit=1000", None)
            .await;
        assert_eq!(s, 200);
        // A change for another user names them, with the administrator as the actor.
        for e in events.as_array().expect("events") {
            if e["outcome"] == "ok" && (e["tool"] == "admin.addUserConnection" || e["tool"] == "admin.updateUserConnection") {
                assert_eq!(e["user_id"], ann_id.as_str(), "{e}");
                assert_eq!(e["for_user_id"], ann_id.as_str(), "{e}");
                assert_eq!(e["actor_user_id"], root_id.as_str(), "{e}");
            }
            if e["tool"] == "admin.updateMyConnection" {
                assert!(e["actor_user_id"].is_null(), "{e}");
            }
        }
        let tools: Vec<&str> = events
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["tool"].as_str())
            .collect();
        for t in [
            "admin.createUser",
            "admin.updateUser",
            "admin.createUserKey",
            "admin.rotateUserKey",
            "admin.addUserConnection",
            "admin.removeUserConnection",
            "admin.updateUserConnection",
            "admin.updateMyConnection",
            "admin.putUserConnectionByExternalId",
        ] {
            assert!(tools.contains(&t), "{t} not audited: {tools:?}");
        }
        let (s, denied) = api
            .call(
                r,
                "get",
                "/admin/v1/audit",
                &[],
                &format!("?user={ann_id}&outcome=denied"),
                None,
            )
            .await;
        assert_eq!(s, 200);
        assert!(
            denied
                .as_array()
                .is_some_and(|d| d.iter().any(|e| e["tool"] == "admin.createMyKey")),
            "{denied}"
        );
        let (s, _) = api
            .call(r, "get", "/admin/v1/audit", &[], "?outcome=bogus", None)
            .await;
        assert_eq!(s, 422);

        // Disabling a user stops their keys at once; deleting removes everything.
        let (s, _) = api
            .call(
                r,
                "patch",
                "/admin/v1/users/{id}",
                &[&ann_id],
                "",
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(s, 200);
        let (s, b) = api.call(a, "get", "/admin/v1/me", &[], "", None).await;
        assert_eq!((s, b["reason"].as_str()), (401, Some("user_disabled")));
        let (s, _) = api
            .call(r, "delete", "/admin/v1/users/{id}", &[&root_id], "", None)
            .await;
        assert_eq!(s, 409);
        let (s, b) = api
            .call(r, "delete", "/admin/v1/users/{id}", &[&ann_id], "", None)
            .await;
        assert_eq!((s, b), (204, Value::Null));
        let (s, _) = api
            .call(r, "get", "/admin/v1/users/{id}/keys", &[&ann_id], "", None)
            .await;
        assert_eq!(s, 404);

        // A method a path does not take: JSON too.
        let res = api
            .http
            .put(format!("{}/admin/v1/users", api.base))
            .bearer_auth(&root)
            .send()
            .await
            .expect("put");
        assert_eq!(res.status(), 405);
        assert_eq!(
            res.json::<Value>().await.expect("json")["error"],
            "method_not_allowed"
        );

        // Every operation in the document was exercised.
        let seen = api.seen.lock().expect("seen").clone();
        let mut missing = Vec::new();
        let mut count = 0;
        for (path, item) in api.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("item").keys() {
                count += 1;
                if !seen.contains(&(method.clone(), path.clone())) {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations never exercised: {missing:?}"
        );
        assert_eq!(count, 27);
        let logs = server.stop().await;
        assert!(
            !logs.contains(TOKEN) && !logs.contains(&ann_key[13..]),
            "a secret reached the log"
        );
        env.finish().await;
    })
    .await;
}
