//! The command line: first run, and bad input answered by one clear line, a non-zero exit, and
//! nothing half-written.
use crate::harness::*;

#[tokio::test]
async fn first_run_creates_an_admin_and_prints_how_to_connect() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let server = env.serve(&["--first-user-email", "me@laptop.dev"]).await;
    let banner = server.stdout();
    let key = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pmcp_"))
        .unwrap_or_else(|| panic!("no key in the first-run banner: {banner}"))
        .to_string();
    assert!(
        banner.contains(".cursor/mcp.json")
            && banner.contains(".vscode/mcp.json")
            && banner.contains("claude mcp add")
    );
    assert!(
        banner.contains(&server.mcp_url()),
        "the configs name the bound URL: {banner}"
    );
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let me = call_ok(&client, "get_current_user").await;
    assert_eq!(me["user"]["email"], "me@laptop.dev");
    assert_eq!(me["user"]["is_admin"], true);
    assert_eq!(me["key"]["scopes"], serde_json::json!(["admin"]));
    let _ = client.cancel().await;
    server.stop().await;

    // The master key file was created private, and a second start creates nobody.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(env.dir.path().join("master.key"))
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let db_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(env.dir.path().join("pm-mcp.db"))
            .expect("db")
            .permissions(),
    );
    assert_eq!(db_mode & 0o077, 0, "the database file is private");
    let again = env.serve(&[]).await;
    assert!(!again.stdout().contains("pmcp_"));
    again.stop().await;
    assert_eq!(env.count("SELECT COUNT(*) FROM users").await, 1);
    let err = env.fails(&["init", "--email", "other@laptop.dev"]);
    assert!(err.contains("already has users"), "{err}");
}

#[tokio::test]
async fn init_then_user_and_key_commands() {
    on_each_engine(|env| async move {
        let out = env.ok(&["init", "--email", "root@acme.org"]);
        assert!(
            out.contains("pmcp_") && out.contains("claude mcp add"),
            "{out}"
        );
        env.ok(&["user", "add", "--email", "Ann@Acme.org", "--name", "Ann"]);
        let users = env.ok(&["user", "list"]);
        assert!(
            users.contains("root@acme.org") && users.contains("ann@acme.org"),
            "{users}"
        );
        let key = env.create_key("ann@acme.org", "read");
        let listed = env.ok(&["key", "list", "--user", "ann@acme.org"]);
        assert!(
            listed.contains(&key[..13]) && listed.contains("active"),
            "{listed}"
        );
        assert!(
            !listed.contains(&key[13..]),
            "key list shows only the prefix"
        );
        let json: serde_json::Value =
            serde_json::from_str(&env.ok(&["key", "list", "--user", "ann@acme.org", "--json"]))
                .expect("json");
        assert_eq!(json[0]["scopes"], serde_json::json!(["read"]));
        assert!(!json.to_string().contains(&key[13..]));
        let id = json[0]["id"].as_str().expect("id").to_string();
        env.ok(&["key", "revoke", "--user", "ann@acme.org", &id]);
        assert!(
            env.ok(&["key", "list", "--user", "ann@acme.org"])
                .contains("revoked")
        );
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_gets_one_clear_line_and_changes_nothing() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("root@acme.org");

        let out = env.run(&["user", "list", "--bogus"]);
        assert_eq!(out.status.code(), Some(2));
        // The conformance build's no-auth mode does not exist in a normal build.
        assert_eq!(env.run(&["serve", "--conformance"]).status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec!["user", "add", "--email", "ANN@acme.org"],
                "already exists",
            ),
            (
                vec!["user", "add", "--email", "not-an-email"],
                "not an e-mail",
            ),
            (
                vec!["key", "create", "--user", "nobody@acme.org"],
                "no user with e-mail nobody@acme.org",
            ),
            (
                vec![
                    "key",
                    "create",
                    "--user",
                    "ann@acme.org",
                    "--expires",
                    "2001-01-01",
                ],
                "in the past",
            ),
            (
                vec![
                    "key",
                    "create",
                    "--user",
                    "ann@acme.org",
                    "--expires",
                    "soon",
                ],
                "neither a duration",
            ),
            (
                vec![
                    "key",
                    "create",
                    "--user",
                    "ann@acme.org",
                    "--scopes",
                    "read,root",
                ],
                "unknown scope",
            ),
            (
                vec![
                    "key",
                    "create",
                    "--user",
                    "ann@acme.org",
                    "--scopes",
                    "admin",
                ],
                "not an administrator",
            ),
            (
                vec![
                    "key",
                    "create",
                    "--user",
                    "ann@acme.org",
                    "--toolsets",
                    "nope",
                ],
                "unknown toolset",
            ),
            (
                vec!["key", "revoke", "--user", "ann@acme.org", "pmcp_nothere"],
                "has no key",
            ),
            (
                vec![
                    "connection",
                    "add",
                    "--user",
                    "ann@acme.org",
                    "--name",
                    "Bad:Name",
                    "--provider",
                    "jira",
                ],
                "not a valid connection name",
            ),
            (
                vec![
                    "connection",
                    "add",
                    "--user",
                    "ann@acme.org",
                    "--name",
                    "j",
                    "--provider",
                    "trello",
                ],
                "unknown provider",
            ),
            (
                vec![
                    "connection",
                    "add",
                    "--user",
                    "ann@acme.org",
                    "--name",
                    "j",
                    "--provider",
                    "jira",
                    "--base-url",
                    "http://jira.acme.org",
                    "--username",
                    "a@b.c",
                    "--token-stdin",
                ],
                "plain http",
            ),
            (
                vec![
                    "connection",
                    "add",
                    "--user",
                    "ann@acme.org",
                    "--name",
                    "j",
                    "--provider",
                    "jira",
                    "--base-url",
                    "https://acme.atlassian.net",
                    "--username",
                    "a@b.c",
                ],
                "--token-env",
            ),
            (
                vec![
                    "connection",
                    "add",
                    "--user",
                    "ann@acme.org",
                    "--name",
                    "j",
                    "--provider",
                    "jira",
                    "--base-url",
                    "https://acme.atlassian.net",
                    "--token-stdin",
                ],
                "needs --username",
            ),
            (
                vec!["connection", "remove", "--user", "ann@acme.org", "nothere"],
                "has no connection named nothere",
            ),
        ];
        for (args, expect) in cases {
            let err = env.fails(&args);
            assert!(
                err.contains(expect),
                "pm-mcp {args:?}: expected {expect:?} in {err:?}"
            );
            assert_eq!(
                err.trim().lines().count(),
                1,
                "one line for {args:?}: {err}"
            );
            assert!(err.starts_with("error: "), "{err}");
        }
        assert_eq!(env.count("SELECT COUNT(*) FROM users").await, 2);
        assert_eq!(env.count("SELECT COUNT(*) FROM user_mcp_api_keys").await, 0);
        assert_eq!(
            env.count("SELECT COUNT(*) FROM pm_provider_connections")
                .await,
            0
        );

        // Duplicate connection names are refused, the first connection kept.
        env.add_connection("ann@acme.org", "acme-jira", "tok-1");
        let dup = env
            .command()
            .args([
                "connection",
                "add",
                "--user",
                "ann@acme.org",
                "--name",
                "acme-jira",
                "--provider",
                "jira_cloud",
            ])
            .args([
                "--base-url",
                "https://acme.atlassian.net",
                "--username",
                "a@b.c",
                "--token-env",
                "T",
            ])
            .env("T", "tok-2")
            .output()
            .expect("run");
        assert!(!dup.status.success());
        assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
        assert_eq!(
            env.count("SELECT COUNT(*) FROM pm_provider_connections")
                .await,
            1
        );
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_before_serving() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_connection("ann@acme.org", "acme-jira", "tok-1");
        let wrong = pm_store::MasterKeys::generate_text();
        for args in [vec!["serve", "--listen", "127.0.0.1:0"], vec!["stdio"]] {
            let out = env
                .command()
                .args(&args)
                .env("PM_MCP_MASTER_KEY", &wrong)
                .env("PM_MCP_API_KEY", "x")
                .output()
                .expect("run");
            assert!(
                !out.status.success(),
                "{args:?} started with a wrong master key"
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("cannot open stored credentials"), "{err}");
        }
        // Adding a connection under the wrong key is refused too, and writes nothing.
        let out = env
            .command()
            .args([
                "connection",
                "add",
                "--user",
                "ann@acme.org",
                "--name",
                "other",
                "--provider",
                "redmine",
            ])
            .args(["--base-url", "https://redmine.acme.org", "--token-env", "T"])
            .env("T", "tok-2")
            .env("PM_MCP_MASTER_KEY", &wrong)
            .output()
            .expect("run");
        assert!(!out.status.success());
        assert_eq!(
            env.count("SELECT COUNT(*) FROM pm_provider_connections")
                .await,
            1
        );
        let bad = env
            .command()
            .args(["serve"])
            .env("PM_MCP_MASTER_KEY", "too-short")
            .output()
            .expect("run");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("PM_MCP_MASTER_KEY"));
        env.finish().await;
    })
    .await;
}

#[tokio::test]
async fn databases_that_cannot_be_used_are_named_clearly() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    for (url, expect) in [
        ("mysql://h/db", "unsupported database URL scheme"),
        ("postgres://u:hunter2@[bad", "malformed"),
        ("postgres://u:hunter2@127.0.0.1:1/db", "unreachable"),
    ] {
        let out = env
            .command()
            .args(["migrate"])
            .env("DATABASE_URL", url)
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{url}: {err}");
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // --no-migrate refuses a database whose schema is behind.
    let err = env.fails(&["serve", "--no-migrate", "--listen", "127.0.0.1:0"]);
    assert!(err.contains("pm-mcp migrate"), "{err}");
    assert!(env.ok(&["migrate"]).contains("up to date"));
    let config = env.dir.path().join("bad.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nlisten_port = 3\n").expect("write");
    let out = env
        .command()
        .args(["migrate"])
        .env("PM_MCP_CONFIG", &config)
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen_port"),
        "unknown config keys are named"
    );
}

/// `pm-mcp health` (the container health check): exit 0 only when the server answers 200, from the
/// same PM_MCP_LISTEN the server was given (0.0.0.0 is asked on loopback).
#[tokio::test]
async fn health_answers_for_a_running_server_only() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let err = env.fails(&["health", "--listen", &closed.to_string()]);
    assert!(err.starts_with("error: cannot connect to http://"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let server = env.serve(&["--first-user-email", "me@laptop.dev"]).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let port = addr.rsplit(':').next().expect("port").to_string();
    let out = env.ok(&["health", "--listen", &addr]);
    assert!(
        out.contains("/healthz: 200") && out.contains("\"ok\""),
        "{out}"
    );
    let ready = env.ok(&["health", "--listen", &addr, "--ready"]);
    assert!(
        ready.contains("/readyz: 200") && ready.contains("\"ready\""),
        "{ready}"
    );

    // As in the container: the address comes from PM_MCP_LISTEN, the unspecified one on loopback.
    let out = env
        .command()
        .env("PM_MCP_LISTEN", format!("0.0.0.0:{port}"))
        .env("PM_MCP_LOG", "warn")
        .arg("health")
        .output()
        .expect("run health");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("http://127.0.0.1:{port}/healthz"))
    );

    // Anything but a 200 is a failure, said in one line.
    let err = env.fails(&["health", "--url", &format!("{}/nope", server.base)]);
    assert!(err.contains("answered 404"), "{err}");
    let err = env.fails(&["health", "--url", "https://example.org/healthz"]);
    assert!(err.contains("must be http://"), "{err}");
    server.stop().await;
    let err = env.fails(&["health", "--listen", &addr]);
    assert!(err.contains("cannot connect"), "{err}");
}
