//! The web console in a real browser: `tests/clients/console-browser.mjs` (Playwright driving
//! Debian's Chromium headless, axe-core on every page) against the real binary, with a real OpenID
//! provider (`oauth-idp.mjs`, panva's `oidc-provider`) for "Sign in with…", the official Python SDK
//! using a key made in the page, and the real Redmine for a tracker added in the page. Screenshots
//! of every page are kept in `target/console-screens/`. Skipped without `PM_MCP_CLIENTS_DIR` or
//! Chromium (CI has both).
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::harness::*;

/// A free port for a server whose address the identity provider must know first, held until
/// the returned listener is dropped (so that the provider, started meanwhile on a port of the
/// system's choosing, cannot be given the same one).
fn reserve_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[tokio::test]
async fn the_console_works_in_a_real_browser() {
    let Some(dir) = std::env::var_os("PM_MCP_CLIENTS_DIR").map(PathBuf::from) else {
        pm_testkit::skip(
            "the console browser test (scripts/test runs it)",
            "PM_MCP_CLIENTS_DIR is not set",
        );
        return;
    };
    let Some(chromium) = chromium() else {
        pm_testkit::skip(
            "the console browser test",
            "Chromium is not installed (apt-get install chromium, or set PM_MCP_CHROMIUM)",
        );
        return;
    };
    let redmine = match (
        std::env::var("PM_MCP_REDMINE_URL"),
        std::env::var("PM_MCP_REDMINE_KEY"),
    ) {
        (Ok(url), Ok(key)) => Some(json!({"url": url, "key": key})),
        _ => {
            pm_testkit::skip(
                "the console's tracker added to the real Redmine",
                "PM_MCP_REDMINE_URL is not set",
            );
            None
        }
    };
    let _turn = match redmine {
        Some(_) => Some(real_redmine_turn().await),
        None => None,
    };
    let dir = std::fs::canonicalize(&dir).expect("clients dir");
    let node = dir.join("node_modules/node/bin/node");
    let (reserved, port) = reserve_port();
    let base = format!("http://127.0.0.1:{port}");
    let secret = "console-secret-0123456789";
    let client = format!("pm-console:{secret}:{base}/console/auth/callback");
    let mut idp = tokio::process::Command::new(&node)
        .arg(dir.join("oauth-idp.mjs"))
        .args([
            "--resource",
            &format!("{base}/mcp"),
            "--console-client",
            &client,
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start oauth-idp.mjs");
    let mut lines = tokio::io::BufReader::new(idp.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the identity provider did not start within 60 s")
        .expect("read")
        .expect("the identity provider exited before it was ready");
    let ready: Value = serde_json::from_str(&line).expect("ready line");
    let issuer = ready["issuer"].as_str().expect("issuer").to_string();

    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.ok(&[
        "user",
        "add",
        "--email",
        "root@acme.org",
        "--name",
        "Root",
        "--admin",
    ]);
    env.add_user("bob@acme.org");
    let resource = format!("{base}/mcp");
    let mut args = vec![
        "--oauth-issuer",
        issuer.as_str(),
        "--oauth-resource",
        resource.as_str(),
        "--oauth-create-users",
        "--console-oidc-client-id",
        "pm-console",
        "--console-oidc-label",
        "Acme SSO",
    ];
    args.extend_from_slice(LOCAL_UPSTREAM);
    drop(reserved);
    let server = env
        .serve_with_env(
            &format!("127.0.0.1:{port}"),
            &args,
            &[],
            &[("PM_MCP_CONSOLE_OIDC_CLIENT_SECRET", secret)],
        )
        .await;
    let link = |email: &str| {
        env.ok(&[
            "console-link",
            "--user",
            email,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .trim()
        .to_string()
    };
    let screenshots =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screens");
    let config = json!({
        "base": base,
        "adminLink": link("root@acme.org"),
        "adminLink2": link("root@acme.org"),
        "bobLink": link("bob@acme.org"),
        "idpLogin": "carol",
        "python": dir.join("venv/bin/python"),
        "pyClient": dir.join("py_client.py"),
        "redmine": redmine.clone(),
        "screenshots": screenshots,
        "chromium": chromium,
        "work": env.dir.path(),
    });
    let config_file = env.dir.path().join("browser.json");
    std::fs::write(&config_file, config.to_string()).expect("config");
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(&node)
            .arg(dir.join("console-browser.mjs"))
            .arg(&config_file)
            .current_dir(&dir)
            .output(),
    )
    .await
    .expect("the browser test did not finish within 5 minutes")
    .expect("run console-browser.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "console-browser.mjs failed: {}\n{stdout}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    let result: Value = serde_json::from_str(
        stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .expect("a result line"),
    )
    .expect("json");
    let checked: Vec<&str> = result["checked"]
        .as_array()
        .expect("checked")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for page in [
        "sign-in-link",
        "keys",
        "new-key",
        "trackers-empty",
        "activity",
        "admin-users",
        "sign-in",
        "admin-user",
        "admin-audit",
        "admin-usage",
        "sign-in-oidc",
        "no-javascript",
        "phone",
        "keyboard",
    ] {
        assert!(
            checked.contains(&page),
            "{page} was not checked: {checked:?}"
        );
    }
    // What the pages did is what the database now holds.
    let users = env.ok(&["user", "list", "--json"]);
    assert!(
        users.contains("carol@acme.test"),
        "the identity provider's user was created: {users}"
    );
    assert!(users.contains("mallory@acme.org"));
    if redmine.is_some() {
        let conns = env.ok(&["connection", "list", "--user", "root@acme.org"]);
        assert!(conns.contains("redmine"), "{conns}");
    }
    drop(server);
    let _ = idp.start_kill();
}
