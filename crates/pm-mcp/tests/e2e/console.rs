//! The web console through the real binary, at the HTTP level (the browser tests are in
//! `console_browser.rs`): sign-in links, sessions, CSRF and Origin checks, escaping, keys made
//! and revoked in the console and used on /mcp, a disabled user's session ending, the path
//! prefix, `--no-console`, and the limit on sign-in attempts. On SQLite and PostgreSQL.
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::harness::{Env, Server, on_each_engine};

/// A form body (reqwest's `form` needs a feature this workspace leaves off).
trait FormBody {
    fn form_body<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k.as_ref(), v.as_ref());
        }
        self.header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(s.finish())
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The token of a link `pm-mcp console-link` printed.
fn link_token(env: &Env, email: &str, server: &Server) -> String {
    let port = server.base.rsplit(':').next().expect("port");
    let out = env.ok(&[
        "console-link",
        "--user",
        email,
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let link = out.trim();
    assert!(
        link.starts_with(&format!("{}/console/link?token=", server.base)),
        "{link}"
    );
    link.rsplit('=').next().expect("token").to_string()
}

/// A user's id, from `pm-mcp user list --json`.
fn user_id(env: &Env, email: &str) -> String {
    env.ok(&["user", "list", "--json"])
        .parse::<serde_json::Value>()
        .expect("json")
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} is listed"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Signs in with a link's token: the session cookie (`name=value`).
async fn sign_in(server: &Server, token: &str) -> String {
    let res = http()
        .post(format!("{}/console/link", server.base))
        .header(ORIGIN, &server.base)
        .form_body(&[("token", token)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert_eq!(res.headers()[LOCATION], "/console/keys");
    let cookie = res.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie.split(';').next().expect("pair").to_string()
}

async fn get(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let res = http()
        .get(format!("{}{path}", server.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap_or("").to_string());
    let body = res.text().await.expect("body");
    (status, location.unwrap_or(body))
}

/// The page's CSRF token.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().expect("value").to_string()
}

async fn post(server: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = http()
        .post(format!("{}{path}", server.base))
        .header(COOKIE, cookie)
        .header(ORIGIN, &server.base)
        .form_body(form)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap_or("").to_string());
    let body = res.text().await.expect("body");
    (status, location.unwrap_or(body))
}

/// `tools/list` on /mcp with `key`: the HTTP status.
async fn mcp_status(server: &Server, key: &str) -> u16 {
    http()
        .post(server.mcp_url())
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .expect("mcp")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_link_signs_in_once_and_keys_made_in_the_console_work_until_revoked_there() {
    on_each_engine(|env| async move {
        let server = env.serve(&[]).await;
        env.add_user("ann@acme.org");
        let token = link_token(&env, "ann@acme.org", &server);
        // Fetching the link's page (a mail scanner, a preview) does not use it.
        let (status, page) = get(&server, "", &format!("/console/link?token={token}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("one-time link") && page.contains("ann@acme.org"),
            "{page}"
        );
        let cookie = sign_in(&server, &token).await;
        // Used once: a second use is refused in words.
        let again = http()
            .post(format!("{}/console/link", server.base))
            .header(ORIGIN, &server.base)
            .form_body(&[("token", token.as_str())])
            .send()
            .await
            .expect("post");
        assert_eq!(again.status(), 400);
        assert!(again.text().await.expect("body").contains("used already"));

        let (status, keys) = get(&server, &cookie, "/console/keys").await;
        assert_eq!(status, 200);
        let security = http()
            .get(format!("{}/console/keys", server.base))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("get");
        let csp = security.headers()["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(security.headers()["x-frame-options"], "DENY");
        assert_eq!(security.headers()["cache-control"], "no-store");
        let token = csrf(&keys);

        // A change without the CSRF token, or from another site, is refused; nothing is made.
        let (status, _) = post(
            &server,
            &cookie,
            "/console/keys",
            &[("name", "x"), ("scopes", "read")],
        )
        .await;
        assert_eq!(status, 403);
        let foreign = http()
            .post(format!("{}/console/keys", server.base))
            .header(COOKIE, &cookie)
            .header(ORIGIN, "https://evil.example")
            .form_body(&[("csrf", token.as_str()), ("name", "x"), ("scopes", "read")])
            .send()
            .await
            .expect("post");
        assert_eq!(foreign.status(), 403);
        let no_origin = http()
            .post(format!("{}/console/keys", server.base))
            .header(COOKIE, &cookie)
            .form_body(&[("csrf", token.as_str()), ("name", "x"), ("scopes", "read")])
            .send()
            .await
            .expect("post");
        assert_eq!(no_origin.status(), 403);
        assert!(
            !env.ok(&["key", "list", "--user", "ann@acme.org"])
                .contains(" x ")
        );

        // A user who is not an administrator cannot give a key the admin scope.
        let (status, page) = post(
            &server,
            &cookie,
            "/console/keys",
            &[("csrf", &token), ("name", "sneaky"), ("scopes", "admin")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("not an administrator"), "{page}");

        // A key with a name that is markup: made, shown once, escaped everywhere.
        let (status, page) = post(
            &server,
            &cookie,
            "/console/keys",
            &[
                ("csrf", &token),
                ("name", "<script>alert(1)</script>"),
                ("scopes", "read"),
                ("scopes", "write"),
                ("expires", "30d"),
            ],
        )
        .await;
        assert_eq!(status, 201, "{page}");
        assert!(!page.contains("<script>alert(1)"), "the name is escaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let at = page.find("id=\"new-key\">").expect("the key") + 13;
        let key = page[at..].split('<').next().expect("key").to_string();
        assert!(key.starts_with("pmcp_"), "{key}");
        assert!(
            page.contains("cursor://anysphere.cursor-deeplink/mcp/install?name=pm-mcp&amp;config=")
        );
        assert!(page.contains("vscode:mcp/install?"));
        assert!(page.contains(&format!(
            "claude mcp add --transport http pm-mcp {}/mcp",
            server.base
        )));
        // The key works at once on /mcp, and is never shown again.
        assert_eq!(mcp_status(&server, &key).await, 200);
        let (_, list) = get(&server, &cookie, "/console/keys").await;
        assert!(!list.contains(&key));
        assert!(list.contains("&lt;script&gt;"));

        // Revoked in the console: the next MCP call is refused.
        let id = env
            .ok(&["key", "list", "--user", "ann@acme.org", "--json"])
            .parse::<serde_json::Value>()
            .expect("json")
            .as_array()
            .expect("list")
            .iter()
            .find(|k| k["name"] == "<script>alert(1)</script>")
            .expect("the key")["id"]
            .as_str()
            .expect("id")
            .to_string();
        let (status, to) = post(
            &server,
            &cookie,
            &format!("/console/keys/{id}/revoke"),
            &[("csrf", &token)],
        )
        .await;
        assert_eq!((status, to.as_str()), (303, "/console/keys?done=revoked"));
        assert_eq!(mcp_status(&server, &key).await, 401);

        // My activity lists the console's own changes.
        let (status, activity) = get(&server, &cookie, "/console/activity?period=1h").await;
        assert_eq!(status, 200);
        assert!(
            activity.contains("console.create_key") && activity.contains("console.revoke_key"),
            "{activity}"
        );

        // Signed out: the session is over, the cookie no longer opens pages.
        let (status, _) = post(&server, &cookie, "/console/signout", &[("csrf", &token)]).await;
        assert_eq!(status, 303);
        let (status, to) = get(&server, &cookie, "/console/keys").await;
        assert_eq!((status, to.as_str()), (303, "/console/signin"));
        drop(server);
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn an_administrator_disables_a_user_and_their_open_session_ends() {
    on_each_engine(|env| async move {
        let server = env.serve(&[]).await;
        env.ok(&["user", "add", "--email", "root@acme.org", "--admin"]);
        env.add_user("bob@acme.org");
        let admin = sign_in(&server, &link_token(&env, "root@acme.org", &server)).await;
        let bob = sign_in(&server, &link_token(&env, "bob@acme.org", &server)).await;
        assert_eq!(get(&server, &bob, "/console/keys").await.0, 200);
        // Bob is no administrator: the admin pages say so.
        let (status, page) = get(&server, &bob, "/console/admin/users").await;
        assert_eq!(status, 403);
        assert!(page.contains("Administrators only"));

        let (status, users) = get(&server, &admin, "/console/admin/users").await;
        assert_eq!(status, 200);
        let token = csrf(&users);
        // A user added with a name that is markup shows it as text.
        let (status, to) = post(
            &server,
            &admin,
            "/console/admin/users",
            &[
                ("csrf", &token),
                ("email", "eve@acme.org"),
                ("name", "<img src=x onerror=alert(1)>"),
            ],
        )
        .await;
        assert_eq!(
            (status, to.as_str()),
            (303, "/console/admin/users?done=added")
        );
        let (_, users) = get(&server, &admin, "/console/admin/users").await;
        assert!(users.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!users.contains("<img src=x"));

        let bob_id = user_id(&env, "bob@acme.org");
        let (status, _) = post(
            &server,
            &admin,
            &format!("/console/admin/users/{bob_id}/change"),
            &[("csrf", &token), ("action", "disable")],
        )
        .await;
        assert_eq!(status, 303);
        // Bob's open session is over at once, and enabling him again does not bring it back.
        let (status, to) = get(&server, &bob, "/console/keys").await;
        assert_eq!((status, to.as_str()), (303, "/console/signin"));
        env.ok(&["user", "enable", "--email", "bob@acme.org"]);
        let (status, to) = get(&server, &bob, "/console/keys").await;
        assert_eq!((status, to.as_str()), (303, "/console/signin"));

        // A sign-in link an administrator makes in the page: what is done in its session names
        // the administrator as the actor.
        let eve_id = user_id(&env, "eve@acme.org");
        let (status, page) = post(
            &server,
            &admin,
            &format!("/console/admin/users/{eve_id}/link"),
            &[("csrf", &token)],
        )
        .await;
        assert_eq!(status, 201);
        let at = page.find("/console/link?token=").expect("a link") + "/console/link?token=".len();
        let eve_token: String = page[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let eve = sign_in(&server, &eve_token).await;
        let (_, keys) = get(&server, &eve, "/console/keys").await;
        assert!(
            keys.contains("by an administrator"),
            "the page says how the session began"
        );
        let (status, _) = post(
            &server,
            &eve,
            "/console/keys",
            &[
                ("csrf", &csrf(&keys)),
                ("name", "eve's"),
                ("scopes", "read"),
            ],
        )
        .await;
        assert_eq!(status, 201);
        // The audit trail is written in batches, within half a second.
        let mut trail = serde_json::Value::Null;
        for _ in 0..50 {
            trail = env
                .ok(&["audit", "--tool", "console.create_key", "--json"])
                .parse()
                .expect("json");
            if trail.as_array().is_some_and(|rows| !rows.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let row = &trail.as_array().expect("rows")[0];
        assert_eq!(row["user"], "eve@acme.org");
        assert_eq!(row["actor"], "root@acme.org", "{row}");
        // The usage page counts the console's changes by kind.
        let (status, usage) = get(&server, &admin, "/console/admin/usage").await;
        assert_eq!(status, 200);
        assert!(
            usage.contains("console.disable_user") && usage.contains("console.add_user"),
            "{usage}"
        );
        // The audit trail names who did it.
        let (status, trail) = get(&server, &admin, "/console/admin/audit?period=1h").await;
        assert_eq!(status, 200);
        assert!(trail.contains("console.disable_user") && trail.contains("bob@acme.org"));
        drop(server);
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn the_console_can_be_moved_under_a_prefix_or_turned_off_and_sign_in_attempts_are_limited() {
    let env = Env::new(crate::harness::Engine::Sqlite).await.expect("env");
    let server = env.serve(&["--console-prefix", "/pm"]).await;
    env.add_user("ann@acme.org");
    // Behind a proxy that keeps the prefix, or one that strips it: links carry the prefix.
    let (status, page) = get(&server, "", "/pm/console/signin").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("href=\"/pm/console/assets/console.css\""),
        "{page}"
    );
    let (status, page) = get(&server, "", "/console/signin").await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/pm/console/assets/console.css\""));
    // Guessing links: after ten tries a minute from one address, refused without looking.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let res = http()
            .post(format!("{}/console/link", server.base))
            .header(ORIGIN, &server.base)
            .form_body(&[("token", format!("guess{i}"))])
            .send()
            .await
            .expect("post");
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[400; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    // A Host that is not allowed is refused as on /mcp.
    let res = http()
        .get(format!("{}/console/signin", server.base))
        .header("host", "evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 403);
    drop(server);

    let off = env.serve(&["--no-console"]).await;
    let (status, _) = get(&off, "", "/console/signin").await;
    assert_eq!(status, 404);
    // /mcp is unaffected.
    let key = env.create_key("ann@acme.org", "read");
    assert_eq!(mcp_status(&off, &key).await, 200);
}
