//! Ready-to-paste client configurations, printed once with a new key. The README shows these
//! exact documents (a test compares them) and the end-to-end client matrix connects with them.
use serde_json::{Value, json};

pub use pm_server::client_configs::{claude_code_command, cursor_config, vscode_config};

/// How a client starts `pm-mcp stdio`: this binary by its absolute path (after `cargo run` or a
/// download, `pm-mcp` is not on PATH), and the environment that points it at the same database and
/// data folder as the command that printed the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioLaunch {
    /// The program: an absolute path.
    pub command: String,
    /// Variables besides `PM_MCP_API_KEY` (never a secret: no PostgreSQL URL, no master key).
    pub env: Vec<(String, String)>,
    /// What the printed config cannot carry, said under it (e.g. PostgreSQL's secrets).
    pub note: Option<String>,
}

impl StdioLaunch {
    /// This very binary, with `env` beside the key.
    pub fn this_binary(env: Vec<(String, String)>, note: Option<String>) -> Self {
        Self {
            command: this_binary(),
            env,
            note,
        }
    }
}

/// The running binary's absolute path (symbolic links resolved), or `pm-mcp` in the unlikely case
/// the system cannot say (then it must be on PATH).
pub fn this_binary() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "pm-mcp".into();
    };
    // A binary replaced while running (a rebuild) cannot be canonicalized; its path still names
    // where the new one is.
    let path = std::fs::canonicalize(&exe).unwrap_or(exe);
    match path.to_str() {
        Some(p) if path.is_absolute() => p.to_string(),
        _ => "pm-mcp".into(),
    }
}

/// Any client that starts a command (Cursor's format): `pm-mcp stdio` with the key in its environment.
pub fn stdio_config(launch: &StdioLaunch, key: &str) -> Value {
    let mut env = serde_json::Map::new();
    for (name, value) in &launch.env {
        env.insert(name.clone(), Value::from(value.as_str()));
    }
    env.insert("PM_MCP_API_KEY".into(), Value::from(key));
    json!({
        "mcpServers": {
            "pm-mcp": { "command": launch.command, "args": ["stdio"], "env": env }
        }
    })
}

/// All of them, for `key create --json`.
pub fn all_configs(key: &str, url: &str, launch: &StdioLaunch) -> Value {
    json!({
        "cursor": cursor_config(key, url),
        "vscode": vscode_config(url),
        "claude_code": claude_code_command(key, url),
        "stdio": stdio_config(launch, key),
    })
}

/// The text shown after a key is created: the key, then Cursor, VS Code and Claude Code configs.
pub fn connect_instructions(key: &str, url: &str, launch: &StdioLaunch) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let note = launch
        .note
        .as_deref()
        .map(|n| format!("({n})\n"))
        .unwrap_or_default();
    format!(
        "\n    {key}\n\n\
         Copy it now: it is shown only this once (pm-mcp keeps only a hash of it).\n\n\
         Cursor — ~/.cursor/mcp.json (or .cursor/mcp.json in a project; do not commit it):\n{}\n\n\
         VS Code — .vscode/mcp.json (asks for the key on first use):\n{}\n\n\
         Claude Code:\n  {}\n\n\
         Over stdio instead (any client that starts a command):\n{}\n{note}",
        pretty(&cursor_config(key, url)),
        pretty(&vscode_config(url)),
        claude_code_command(key, url),
        pretty(&stdio_config(launch, key)),
    )
}

/// The MCP URL clients use: the configured public URL, or one derived from the listen address.
pub fn mcp_url(public_url: Option<&str>, listen: std::net::SocketAddr) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/mcp", listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_carry_the_key_and_url() {
        let launch = StdioLaunch {
            command: "/opt/pm-mcp/bin/pm-mcp".into(),
            env: vec![("PM_MCP_DATA_DIR".into(), "/srv/pm-mcp".into())],
            note: Some("a note".into()),
        };
        let text = connect_instructions("pmcp_TESTKEY", "http://127.0.0.1:8765/mcp", &launch);
        assert!(text.contains("\"Authorization\": \"Bearer pmcp_TESTKEY\""));
        assert!(text.contains("\"type\": \"http\""));
        assert!(text.contains(
            "claude mcp add --transport http pm-mcp http://127.0.0.1:8765/mcp --header \"Authorization: Bearer pmcp_TESTKEY\""
        ));
        assert!(text.contains("\"PM_MCP_API_KEY\": \"pmcp_TESTKEY\""));
        assert!(text.contains("\"command\": \"/opt/pm-mcp/bin/pm-mcp\""));
        assert!(text.contains("\"PM_MCP_DATA_DIR\": \"/srv/pm-mcp\""));
        assert!(text.ends_with("(a note)\n"), "{text}");
        assert!(
            !vscode_config("http://x/mcp").to_string().contains("pmcp_"),
            "the VS Code file holds no key"
        );
        assert_eq!(
            mcp_url(None, "0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000/mcp"
        );
        assert_eq!(
            mcp_url(
                Some("https://mcp.acme.org/mcp/"),
                "0.0.0.0:9000".parse().unwrap()
            ),
            "https://mcp.acme.org/mcp"
        );
    }

    /// Where the README's stdio example has the binary (pm-mcp prints its own absolute path).
    const README_BINARY: &str = "/home/you/pm-mcp/target/release/pm-mcp";

    #[test]
    fn the_stdio_config_runs_this_binary_by_its_absolute_path() {
        let path = this_binary();
        assert!(std::path::Path::new(&path).is_absolute(), "{path}");
        assert!(std::path::Path::new(&path).exists(), "{path}");
        let config = stdio_config(&StdioLaunch::this_binary(Vec::new(), None), "pmcp_K");
        assert_eq!(config["mcpServers"]["pm-mcp"]["command"], path.as_str());
        assert_eq!(
            config["mcpServers"]["pm-mcp"]["env"],
            json!({ "PM_MCP_API_KEY": "pmcp_K" })
        );
    }

    /// The README says which Node the Inspector needs, and how to get it, next to the command.
    #[test]
    fn the_readme_says_the_inspector_needs_node_22() {
        let readme = include_str!("../../../README.md");
        let at = readme
            .find("npx @modelcontextprotocol/inspector --cli")
            .expect("the Inspector command");
        let (mut from, mut to) = (at.saturating_sub(600), (at + 900).min(readme.len()));
        while !readme.is_char_boundary(from) {
            from -= 1;
        }
        while !readme.is_char_boundary(to) {
            to += 1;
        }
        let near = &readme[from..to];
        assert!(near.contains("Node 22.19"), "{near}");
        assert!(near.contains("npm install --prefix"), "{near}");
        assert!(near.contains("nodejs.org"), "{near}");
    }

    /// The README shows exactly the documents pm-mcp prints (with placeholders for key and URL).
    #[test]
    fn the_readme_shows_the_configs_pm_mcp_prints() {
        let readme = include_str!("../../../README.md");
        let blocks: Vec<Value> = readme
            .split("```json\n")
            .skip(1)
            .filter_map(|rest| rest.split("\n```").next())
            .filter_map(|block| serde_json::from_str(block).ok())
            .collect();
        let (key, url) = ("pmcp_…", "http://127.0.0.1:8765/mcp");
        let launch = StdioLaunch {
            command: README_BINARY.into(),
            env: Vec::new(),
            note: None,
        };
        for (name, expected) in [
            ("Cursor", cursor_config(key, url)),
            ("VS Code", vscode_config(url)),
            ("stdio", stdio_config(&launch, key)),
        ] {
            assert!(
                blocks.contains(&expected),
                "README lacks the {name} config exactly as printed: {expected}"
            );
        }
        assert!(
            readme.contains(&claude_code_command(key, url)),
            "README lacks the Claude Code command as printed"
        );
    }
}
