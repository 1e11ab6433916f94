//! pm-providers: the tracker clients. One hardened HTTP client (`http`), one module per provider,
//! each implementing `pm_core::Provider`. Built per connection from its decrypted credentials.
#![forbid(unsafe_code)]

pub mod breaker;
pub mod clickup;
pub mod cursor;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod http;
pub mod ids;
pub mod jira;
pub mod metrics;
pub mod openproject;
pub mod proxy;
pub mod redmine;

use std::sync::Arc;

use pm_core::{AuthKind, BaseUrl, Provider, ProviderKind, ProviderResult};

pub use breaker::BreakerSettings;
pub use guard::UpstreamPolicy;
pub use http::{DnsLookup, HttpSettings};
pub use proxy::UpstreamProxy;

/// A connection's credentials in the clear, for the moment a client is built.
pub struct Credentials {
    pub username: Option<String>,
    pub token: String,
    /// Send the token as `Bearer` rather than with the user name as Basic.
    pub bearer: bool,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Builds the client for one connection. `workspace_id` is the connection's workspace (team) where
/// the tracker has them (ClickUp; found from the token when `None`); other trackers ignore it.
#[allow(clippy::too_many_arguments)]
pub fn build(
    client: reqwest::Client,
    kind: ProviderKind,
    base_url: &BaseUrl,
    auth_kind: AuthKind,
    username: Option<String>,
    token: &str,
    settings: HttpSettings,
    workspace_id: Option<&str>,
) -> ProviderResult<Arc<dyn Provider>> {
    let config = match workspace_id {
        Some(w) => serde_json::json!({ "workspace_id": w }),
        None => serde_json::json!({}),
    };
    build_with_config(
        client, kind, base_url, auth_kind, username, token, settings, &config,
    )
}

/// Builds the client for one connection with the connection's options (`config`, as stored):
/// `workspace_id` (ClickUp), `text_format` (Redmine: textile, markdown or common_mark; Textile
/// when absent), `notify` (OpenProject: true or false; absent, single changes mail the people
/// interested and bulk changes do not). Options a tracker does not use are ignored.
#[allow(clippy::too_many_arguments)]
pub fn build_with_config(
    client: reqwest::Client,
    kind: ProviderKind,
    base_url: &BaseUrl,
    auth_kind: AuthKind,
    username: Option<String>,
    token: &str,
    settings: HttpSettings,
    config: &serde_json::Value,
) -> ProviderResult<Arc<dyn Provider>> {
    let option = |key: &str| config.get(key).and_then(|v| v.as_str());
    let workspace_id = option("workspace_id");
    let creds = Credentials {
        username,
        token: token.to_string(),
        bearer: auth_kind == AuthKind::Bearer,
    };
    match kind {
        ProviderKind::JiraCloud => Ok(Arc::new(jira::Jira::new(
            client,
            jira::Edition::Cloud,
            base_url.as_str(),
            &creds,
            settings,
        )?)),
        ProviderKind::JiraDataCenter => Ok(Arc::new(jira::Jira::new(
            client,
            jira::Edition::DataCenter,
            base_url.as_str(),
            &creds,
            settings,
        )?)),
        ProviderKind::OpenProject => Ok(Arc::new(
            openproject::OpenProject::new(client, base_url.as_str(), token, settings)?
                .with_notify(openproject::notify_option(config.get("notify"))?),
        )),
        ProviderKind::Redmine => Ok(Arc::new(
            redmine::Redmine::new(client, base_url.as_str(), token, settings)?
                .with_text_format(option("text_format").unwrap_or("textile").parse()?),
        )),
        ProviderKind::ClickUp => Ok(Arc::new(clickup::ClickUp::new(
            client,
            base_url.as_str(),
            token,
            settings,
            workspace_id,
        )?)),
    }
}
