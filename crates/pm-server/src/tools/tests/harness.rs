//! The MCP server in-process, over a scripted provider: the real `AppState` and `PmServer` on a
//! fresh SQLite store, a user with an API key, connections whose client is a [`Scripted`]
//! provider, and an rmcp client talking to the server over an in-memory pipe. A call goes the
//! way a client's does (the key checked, the tool's scope and toolset, its arguments validated
//! against the schema, the result envelope, the audit row), only without the binary and HTTP.
use std::sync::Arc;

use pm_core::{AuthKind, BaseUrl, ConnectionHandle, ConnectionId, Email, ProviderKind, Scope};
use pm_store::{ApiKey, AuditEvent, AuditFilter, Connection, MasterKeys, NewApiKey, NewConnection};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use super::scripted::Scripted;
use crate::server::PmServer;
use crate::state::{AppState, HttpConfig};

/// How a tool call ended, as the client saw it.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A result: its `structuredContent` (or, for a tool without one, its text parsed as JSON,
    /// else the text as a string).
    Ok(Value),
    /// A result with `isError`: the tool ran and refused or failed; its text.
    ToolError(String),
    /// A JSON-RPC error (unknown tool, arguments the schema refuses): its message.
    Protocol(String),
}

impl Reply {
    /// The result; fails the test with what came instead.
    #[track_caller]
    pub fn ok(self) -> Value {
        match self {
            Reply::Ok(v) => v,
            other => panic!("expected a result, got {other:?}"),
        }
    }

    /// The text of a tool error; fails the test with what came instead.
    #[track_caller]
    pub fn tool_error(self) -> String {
        match self {
            Reply::ToolError(t) => t,
            other => panic!("expected a tool error (isError), got {other:?}"),
        }
    }

    /// The message of a JSON-RPC error; fails the test with what came instead.
    #[track_caller]
    pub fn protocol_error(self) -> String {
        match self {
            Reply::Protocol(m) => m,
            other => panic!("expected a JSON-RPC error, got {other:?}"),
        }
    }
}

/// One MCP session: a client connected to a `PmServer` acting as the owner of one key.
pub(crate) struct Session {
    client: RunningService<RoleClient, ()>,
}

impl Session {
    async fn open(state: Arc<AppState>, key: &str) -> Session {
        let (server_io, client_io) = tokio::io::duplex(1 << 16);
        let server = PmServer::for_key(state, key);
        let (server, client) = tokio::join!(server.serve(server_io), ().serve(client_io));
        let server = server.expect("the server starts its session");
        // The server's session runs until the client goes.
        tokio::spawn(async move {
            let _ = server.waiting().await;
        });
        Session {
            client: client.expect("the client connects"),
        }
    }

    /// Calls `tool` with `args` (a JSON object) and says how it ended.
    pub async fn call(&self, tool: &str, args: Value) -> Reply {
        let Value::Object(args) = args else {
            panic!("tool arguments are an object, not {args}");
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
        match self.client.call_tool(params).await {
            Err(rmcp::service::ServiceError::McpError(e)) => Reply::Protocol(e.message.to_string()),
            Err(e) => panic!("{tool}: the call failed below MCP: {e}"),
            Ok(result) => {
                let text: String = result
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect::<Vec<_>>()
                    .join("\n");
                if result.is_error == Some(true) {
                    return Reply::ToolError(text);
                }
                Reply::Ok(match result.structured_content {
                    Some(v) => v,
                    None => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                })
            }
        }
    }

    /// The client, for requests other than tool calls.
    pub fn client(&self) -> &RunningService<RoleClient, ()> {
        &self.client
    }

    /// The names of the tools this session is offered.
    pub async fn tool_names(&self) -> Vec<String> {
        self.client
            .list_all_tools()
            .await
            .expect("tools/list")
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }
}

pub(crate) struct Harness {
    pub state: Arc<AppState>,
    pub keys: Arc<MasterKeys>,
    pub user: pm_store::User,
    /// The user's session with a read-and-write key.
    session: Session,
    _db: pm_testkit::db::TestDb,
}

impl Harness {
    /// A fresh store, one user (`ann@acme.org`) with a write key, every toolset offered, and no
    /// connection yet.
    pub async fn new() -> Harness {
        Self::with(HttpConfig::default()).await
    }

    /// As [`Harness::new`], with these server settings (toolsets default to all).
    pub async fn with(http: HttpConfig) -> Harness {
        Self::extended(http, None).await
    }

    /// As [`Harness::with`], the server extended by `extension` (see `crate::extension`).
    pub async fn extended(
        http: HttpConfig,
        extension: Option<Arc<dyn crate::extension::McpExtension>>,
    ) -> Harness {
        let http = HttpConfig {
            toolsets: http.toolsets.clone().or(Some(vec!["all".into()])),
            ..http
        };
        Self::built(http, extension).await
    }

    /// As [`Harness::new`], but the server names no toolsets: callers get the default set.
    pub async fn with_default_toolsets() -> Harness {
        Self::built(HttpConfig::default(), None).await
    }

    async fn built(
        http: HttpConfig,
        extension: Option<Arc<dyn crate::extension::McpExtension>>,
    ) -> Harness {
        let db = pm_testkit::db::sqlite_db().await;
        let store = db.store.clone();
        let keys = Arc::new(MasterKeys::parse(&MasterKeys::generate_text(), None).expect("keys"));
        let http = HttpConfig {
            key_limits: crate::limits::KeyLimits::OFF,
            ..http
        };
        let state =
            AppState::with_extension(store.clone(), keys.clone(), http, extension).expect("state");
        let new_user =
            pm_store::NewUser::new(Email::parse("ann@acme.org").expect("email"), "Ann", false);
        let key = ApiKey::generate();
        let row = NewApiKey::for_key(
            &key,
            new_user.id,
            "tests",
            pm_core::Scopes::only(Scope::Write),
            None,
        );
        let (user, _) = store
            .add_user_with_key(new_user, row)
            .await
            .expect("user and key");
        let session = Session::open(state.clone(), key.expose()).await;
        Harness {
            state,
            keys,
            user,
            session,
            _db: db,
        }
    }

    /// Adds an active connection `name` of `kind` whose client is a fresh scripted provider
    /// (the first connection added is the default).
    pub async fn connect(&self, name: &str, kind: ProviderKind) -> Arc<Scripted> {
        self.add_connection(name, kind, true).await.1
    }

    /// Adds a connection (active or not) and returns it with its scripted provider.
    pub async fn add_connection(
        &self,
        name: &str,
        kind: ProviderKind,
        active: bool,
    ) -> (Connection, Arc<Scripted>) {
        let id = ConnectionId::new();
        let sealed = pm_store::ProviderCredentials {
            username: Some("ann@acme.org".into()),
            token: pm_core::Secret::new("scripted-token"),
        }
        .seal(&self.keys, id, self.user.id);
        let conn = self
            .state
            .store
            .add_connection(NewConnection {
                id,
                user_id: self.user.id,
                name: ConnectionHandle::parse(name).expect("handle"),
                provider_type: kind,
                base_url: BaseUrl::parse(&format!("https://{name}.example.com"), false)
                    .expect("url"),
                auth_kind: AuthKind::Basic,
                sealed,
                config: pm_core::ConnectionOptions::default(),
                is_active: active,
                external_id: None,
                display_name: None,
            })
            .await
            .expect("connection");
        self.state.forget_connections(self.user.id);
        let scripted = Scripted::new(kind);
        self.state.service.install_client(&conn, scripted.clone());
        (conn, scripted)
    }

    /// The user's session with the write key.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Calls `tool` as the user, with the write key.
    pub async fn call(&self, tool: &str, args: Value) -> Reply {
        self.session.call(tool, args).await
    }

    /// A new session of the user with a key of these scopes.
    pub async fn session_with(&self, scope: Scope) -> Session {
        let key = ApiKey::generate();
        let row = NewApiKey::for_key(
            &key,
            self.user.id,
            "scoped",
            pm_core::Scopes::only(scope),
            None,
        );
        self.state.store.add_api_key(row).await.expect("key");
        Session::open(self.state.clone(), key.expose()).await
    }

    /// The audit rows so far, oldest first (after the writer flushed).
    pub async fn audit(&self) -> Vec<AuditEvent> {
        self.state.audit.flush().await;
        let mut rows = self
            .state
            .store
            .list_audit_events(&AuditFilter::newest(1_000))
            .await
            .expect("audit");
        rows.reverse();
        rows
    }

    /// The audit row of the last call.
    pub async fn last_audit(&self) -> AuditEvent {
        self.audit().await.pop().expect("an audit row")
    }
}
