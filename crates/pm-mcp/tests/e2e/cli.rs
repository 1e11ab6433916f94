//! The command line: first run, and bad input answered by one clear line, a non-zero exit, and
//! nothing half-written.
use crate::harness::*;
use rmcp::ServiceExt;

/// The first run's keys, read from its banner as a user would: the administrator's key (the line
/// under "Administrator key") and the key the printed client configs carry.
fn first_run_keys(banner: &str) -> (String, String) {
    let admin = banner
        .split("Administrator key")
        .nth(1)
        .and_then(|rest| rest.lines().map(str::trim).find(|l| l.starts_with("pmcp_")))
        .unwrap_or_else(|| panic!("no administrator key in the first-run banner: {banner}"))
        .to_string();
    let ide = banner
        .split("Authorization: Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no key in the printed configs: {banner}"))
        .to_string();
    (admin, ide)
}

/// The stdio config printed under "Over stdio instead", as a client would read it.
pub fn printed_stdio_config(text: &str) -> serde_json::Value {
    let rest = text
        .split("Over stdio instead (any client that starts a command):")
        .nth(1)
        .unwrap_or_else(|| panic!("no stdio config in: {text}"));
    serde_json::Deserializer::from_str(rest)
        .into_iter::<serde_json::Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("the stdio config is not JSON: {rest}"))
}

/// Starts the printed stdio config the way an MCP client does: its command and args, its env and
/// nothing else of the test's environment (only HOME and PATH, which every client passes on), in
/// another working folder. Returns `get_current_user`.
pub async fn run_printed_stdio_config(config: &serde_json::Value) -> serde_json::Value {
    let entry = &config["mcpServers"]["pm-mcp"];
    let program = entry["command"].as_str().expect("command");
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear().current_dir(std::env::temp_dir()).args(
        entry["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg")),
    );
    for name in ["HOME", "PATH"] {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    for (k, v) in entry["env"].as_object().expect("env") {
        cmd.env(k, v.as_str().expect("env value"));
    }
    let (transport, _stderr) = rmcp::transport::TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the printed stdio command");
    let client = client_config(rmcp::model::ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .expect("the printed stdio config connects");
    let me = call_ok(&client, "get_current_user").await;
    let _ = client.cancel().await;
    me
}

/// The binary the tests run, as pm-mcp names itself in printed configs.
pub fn canonical_bin() -> String {
    canonical_path(std::path::Path::new(BIN))
}

/// A path as printed configs carry it: absolute, links resolved.
pub fn canonical_path(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .expect("an existing path")
        .display()
        .to_string()
}

#[tokio::test]
async fn first_run_creates_an_admin_and_prints_how_to_connect() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let server = env.serve(&["--first-user-email", "me@laptop.dev"]).await;
    let banner = server.stdout();
    let (admin_key, key) = first_run_keys(&banner);
    assert_ne!(admin_key, key, "the administrator and the IDE get two keys");
    assert!(
        banner.contains(".cursor/mcp.json")
            && banner.contains(".vscode/mcp.json")
            && banner.contains("claude mcp add")
    );
    assert!(
        banner.contains(&server.mcp_url()),
        "the configs name the bound URL: {banner}"
    );
    assert!(
        banner.contains("for administration only"),
        "the admin key is labelled: {banner}"
    );
    assert_eq!(
        banner.matches(&admin_key).count(),
        1,
        "the admin key is in no client config: {banner}"
    );
    // The IDE's key is in the Cursor, Claude Code and stdio configs (VS Code asks for it).
    assert_eq!(banner.matches(&key).count(), 4, "{banner}");

    // The configs' key reads and writes; it does not administer.
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let me = call_ok(&client, "get_current_user").await;
    assert_eq!(me["user"]["email"], "me@laptop.dev");
    assert_eq!(me["user"]["is_admin"], true);
    assert_eq!(me["key"]["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(me["key"]["name"], "IDE");
    let _ = client.cancel().await;
    let http = reqwest::Client::new();
    let admin_users = format!("{}/admin/v1/users", server.base);
    let status = |key: String| {
        let (http, url) = (http.clone(), admin_users.clone());
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .expect("admin API")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(key.clone()).await,
        403,
        "the IDE key is not an admin key"
    );
    assert_eq!(
        status(admin_key.clone()).await,
        200,
        "the admin key administers"
    );
    let admin = server
        .client(&admin_key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect");
    let me = call_ok(&admin, "get_current_user").await;
    assert_eq!(me["key"]["scopes"], serde_json::json!(["admin"]));
    assert_eq!(me["key"]["name"], "administration");
    let _ = admin.cancel().await;

    // The stdio config runs this binary by its absolute path, and works as printed: started as a
    // client starts it, from another folder, with only the environment it names.
    let stdio = printed_stdio_config(&banner);
    assert_eq!(stdio["mcpServers"]["pm-mcp"]["command"], canonical_bin());
    let me = run_printed_stdio_config(&stdio).await;
    assert_eq!(me["user"]["email"], "me@laptop.dev");
    assert_eq!(me["key"]["scopes"], serde_json::json!(["read", "write"]));
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

/// `key create` and `init` print the server's real address: `--public-url` / `PM_MCP_PUBLIC_URL`,
/// else the file's `public_url`, else the listen address (`--listen` / `PM_MCP_LISTEN`, else the
/// file's `listen`) — and say so on stderr when nothing is configured and they use the default.
#[tokio::test]
async fn key_create_prints_the_servers_address() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    env.add_user("ann@acme.org");
    let listen_file = env.dir.path().join("listen.toml");
    std::fs::write(&listen_file, "listen = \"127.0.0.1:9555\"\n").expect("write");
    let public_file = env.dir.path().join("public.toml");
    std::fs::write(
        &public_file,
        "listen = \"127.0.0.1:9555\"\npublic_url = \"https://file.acme.org/mcp/\"\n",
    )
    .expect("write");
    let create = |vars: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = env.command();
        cmd.env("PM_MCP_LOG", "warn")
            .args(["key", "create", "--user", "ann@acme.org", "--json"])
            .args(flags);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run key create");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "key create {vars:?} {flags:?}: {stderr}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let url = v["url"].as_str().expect("url").to_string();
        assert_eq!(v["configs"]["cursor"]["mcpServers"]["pm-mcp"]["url"], url);
        assert_eq!(v["configs"]["vscode"]["servers"]["pm-mcp"]["url"], url);
        assert!(
            v["configs"]["claude_code"]
                .as_str()
                .is_some_and(|c| c.contains(&format!(" {url} "))),
            "{v}"
        );
        (url, stderr)
    };
    let config = |path: &std::path::Path| path.display().to_string();
    let (listen_cfg, public_cfg) = (config(&listen_file), config(&public_file));
    // (environment, flags, the URL printed)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("PM_MCP_LISTEN", "0.0.0.0:9123")],
            vec![],
            "http://127.0.0.1:9123/mcp",
        ),
        (
            vec![],
            vec!["--listen", "10.1.2.3:9000"],
            "http://10.1.2.3:9000/mcp",
        ),
        (
            vec![],
            vec!["--listen", "[::1]:9001"],
            "http://[::1]:9001/mcp",
        ),
        (
            vec![("PM_MCP_CONFIG", &listen_cfg)],
            vec![],
            "http://127.0.0.1:9555/mcp",
        ),
        (
            vec![
                ("PM_MCP_CONFIG", &listen_cfg),
                ("PM_MCP_LISTEN", "127.0.0.1:9666"),
            ],
            vec![],
            "http://127.0.0.1:9666/mcp",
        ),
        (
            vec![("PM_MCP_CONFIG", &public_cfg)],
            vec![],
            "https://file.acme.org/mcp",
        ),
        (
            vec![
                ("PM_MCP_CONFIG", &public_cfg),
                ("PM_MCP_PUBLIC_URL", "https://env.acme.org/mcp"),
            ],
            vec![],
            "https://env.acme.org/mcp",
        ),
        (
            vec![("PM_MCP_PUBLIC_URL", "https://env.acme.org/mcp")],
            vec!["--public-url", "https://flag.acme.org/mcp"],
            "https://flag.acme.org/mcp",
        ),
    ];
    for (vars, flags, expected) in cases {
        let (url, stderr) = create(&vars, &flags);
        assert_eq!(url, expected, "{vars:?} {flags:?}");
        assert!(!stderr.contains("note:"), "{vars:?} {flags:?}: {stderr}");
    }
    // Nothing configured: the default, said.
    let (url, stderr) = create(&[], &[]);
    assert_eq!(url, "http://127.0.0.1:8765/mcp");
    assert!(
        stderr.contains("note: no public URL or listen address is configured")
            && stderr.contains("--public-url"),
        "{stderr}"
    );
    // A public URL that is not one is refused before a key is made.
    let before = env.count("SELECT COUNT(*) FROM user_mcp_api_keys").await;
    for bad in ["mcp.acme.org/mcp", "ftp://mcp.acme.org/mcp"] {
        let err = env.fails(&[
            "key",
            "create",
            "--user",
            "ann@acme.org",
            "--public-url",
            bad,
        ]);
        assert!(err.contains("--public-url") && err.contains(bad), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM user_mcp_api_keys").await,
        before
    );

    // A server on a port of its own: `key create` with the server's PM_MCP_LISTEN prints the URL
    // it answers on, and the printed stdio config runs as printed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = env.serve_on(&addr, &[], &[]).await;
    let out = env
        .command()
        .env("PM_MCP_LOG", "warn")
        .env("PM_MCP_LISTEN", &addr)
        .args([
            "key",
            "create",
            "--user",
            "ann@acme.org",
            "--name",
            "Cursor laptop",
        ])
        .output()
        .expect("run key create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&format!("\"url\": \"{}\"", server.mcp_url())),
        "the configs name the server's URL: {text}"
    );
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pmcp_"))
        .expect("the key")
        .to_string();
    let client = server
        .client(&key, rmcp::model::ProtocolVersion::V_2025_11_25)
        .await
        .expect("connect with the printed key");
    assert_eq!(
        call_ok(&client, "get_current_user").await["user"]["email"],
        "ann@acme.org"
    );
    let _ = client.cancel().await;
    let stdio = printed_stdio_config(&text);
    assert_eq!(stdio["mcpServers"]["pm-mcp"]["command"], canonical_bin());
    let me = run_printed_stdio_config(&stdio).await;
    assert_eq!(me["user"]["email"], "ann@acme.org");
    server.stop().await;
}

/// `init` prints the address the same way, and on a fresh database too.
#[tokio::test]
async fn init_prints_the_servers_address() {
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let out = env
        .command()
        .env("PM_MCP_LOG", "warn")
        .env("PM_MCP_LISTEN", "0.0.0.0:9124")
        .args(["init", "--email", "root@acme.org"])
        .output()
        .expect("run init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("claude mcp add --transport http pm-mcp http://127.0.0.1:9124/mcp "),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("note:"));
    // A bad public URL leaves the database empty.
    let env = Env::new(Engine::Sqlite).await.expect("env");
    let err = env.fails(&["init", "--email", "root@acme.org", "--public-url", "nope"]);
    assert!(err.contains("--public-url"), "{err}");
    // So does `serve`, at a first start as at any other.
    let err = env.fails(&["serve", "--listen", "127.0.0.1:0", "--public-url", "nope"]);
    assert!(
        err.contains("--public-url") && err.contains("nope"),
        "{err}"
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn init_then_user_and_key_commands() {
    on_each_engine(|env| async move {
        let out = env.ok(&["init", "--email", "root@acme.org"]);
        assert!(
            out.contains("pmcp_") && out.contains("claude mcp add"),
            "{out}"
        );
        // As at a first start: an admin key for the administrator, a read/write one in the configs.
        let (admin_key, ide_key) = first_run_keys(&out);
        assert_ne!(admin_key, ide_key);
        assert_eq!(out.matches(&admin_key).count(), 1, "{out}");
        let keys: serde_json::Value =
            serde_json::from_str(&env.ok(&["key", "list", "--user", "root@acme.org", "--json"]))
                .expect("json");
        let mut scopes: Vec<(String, String)> = keys
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| (k["name"].to_string(), k["scopes"].to_string()))
            .collect();
        scopes.sort();
        assert_eq!(
            scopes,
            [
                ("\"IDE\"".to_string(), "[\"read\",\"write\"]".to_string()),
                ("\"administration\"".to_string(), "[\"admin\"]".to_string())
            ]
        );
        if env.engine == Engine::Postgres {
            assert!(
                out.contains("also needs DATABASE_URL and PM_MCP_MASTER_KEY"),
                "the stdio config says what it cannot carry: {out}"
            );
            assert!(!out.contains(&env.db_url), "no database URL is printed");
        }
        env.ok(&["user", "add", "--email", "Ann@Acme.org", "--name", "Ann"]);
        let users = env.ok(&["user", "list"]);
        assert!(
            users.contains("root@acme.org") && users.contains("ann@acme.org"),
            "{users}"
        );
        let key = env.create_key("ann@acme.org", "read");
        // `--json` says what the stdio config cannot carry: PostgreSQL's URL and master key.
        let json: serde_json::Value = serde_json::from_str(&env.ok(&[
            "key",
            "create",
            "--user",
            "root@acme.org",
            "--name",
            "stdio",
            "--json",
        ]))
        .expect("json");
        match env.engine {
            Engine::Sqlite => assert!(json["stdio_note"].is_null(), "{json}"),
            Engine::Postgres => {
                let note = json["stdio_note"].as_str().expect("a note");
                assert!(
                    note.contains("DATABASE_URL") && note.contains("PM_MCP_MASTER_KEY"),
                    "{note}"
                );
                assert!(!json.to_string().contains(&env.db_url), "no database URL");
                let master = env.master_key.as_deref().expect("master key");
                assert!(!json.to_string().contains(master), "no master key");
            }
        }
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
                "needs username",
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
