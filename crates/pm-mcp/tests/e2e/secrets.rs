//! Secrets at rest and in logs: after keys and connections are created and used, neither the raw
//! database (SQLite files, or a pg_dump) nor any log line holds a key or a provider token.
use crate::harness::*;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_key_or_credential_is_stored_or_logged_in_plaintext() {
    on_each_engine(|env| async move {
        env.add_user("ann@acme.org");
        env.add_user("bob@acme.org");
        let keys = [
            env.create_key("ann@acme.org", "read,write"),
            env.create_key("bob@acme.org", "read"),
        ];
        let tokens = [
            "ATATT3xFfGF0-ann-secret-token-4b1d",
            "bob-redmine-key-9f8e7d6c5b4a39281706",
        ];
        env.add_connection("ann@acme.org", "acme-jira", tokens[0]);
        let out = env
            .command()
            .args([
                "connection",
                "add",
                "--user",
                "bob@acme.org",
                "--name",
                "rm",
                "--provider",
                "redmine",
            ])
            .args(["--base-url", "https://redmine.acme.org", "--token-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(format!("{}\n", tokens[1]).as_bytes())?;
                child.wait_with_output()
            })
            .expect("connection add");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli_output = [out.stdout, out.stderr].concat();

        let server = env.serve(&[]).await;
        for key in &keys {
            let client = server
                .client(key, rmcp::model::ProtocolVersion::V_2025_11_25)
                .await
                .expect("connect");
            call_ok(&client, "get_current_user").await;
            let providers = call_ok(&client, "list_providers").await;
            for t in tokens {
                assert!(
                    !providers.to_string().contains(t),
                    "list_providers showed a token"
                );
            }
            let _ = client.cancel().await;
        }
        // Failed attempts with near-miss keys must not be logged either.
        let http = reqwest::Client::new();
        for key in &keys {
            let near_miss = format!("{}x", &key[..key.len() - 1]);
            let _ = http
                .post(server.mcp_url())
                .bearer_auth(&near_miss)
                .body("{}")
                .send()
                .await;
        }
        let logs = server.stop().await;
        assert!(
            logs.contains("authenticated"),
            "debug logs were captured: {logs}"
        );
        let listing = env.ok(&["connection", "list", "--user", "ann@acme.org", "--json"]);

        let raw = env.raw_database();
        for secret in keys.iter().map(String::as_str).chain(tokens) {
            let body = &secret[secret.len() - 24..];
            assert!(
                !contains(&raw, body),
                "the database holds a secret in plaintext ({:?})",
                env.engine
            );
            assert!(!logs.contains(body), "a log line holds a secret: {logs}");
            assert!(!listing.contains(body), "connection list shows a secret");
        }
        for t in tokens {
            assert!(!contains(&cli_output, t), "the CLI echoed a token");
        }
        env.finish().await;
    })
    .await;
}
