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

use pm_core::{ConnectionSpec, Provider, ProviderKind, ProviderResult};

pub use breaker::BreakerSettings;
pub use guard::UpstreamPolicy;
pub use http::{DnsLookup, HttpSettings};
pub use proxy::UpstreamProxy;

/// Builds the client for one connection from its spec (tracker, address, sign-in, options):
/// every tracker's client is made the same way, `new(client, spec, settings)`.
pub fn connect(
    client: reqwest::Client,
    spec: &ConnectionSpec,
    settings: HttpSettings,
) -> ProviderResult<Arc<dyn Provider>> {
    Ok(match spec.kind {
        ProviderKind::JiraCloud | ProviderKind::JiraDataCenter => {
            Arc::new(jira::Jira::new(client, spec, settings)?)
        }
        ProviderKind::OpenProject => {
            Arc::new(openproject::OpenProject::new(client, spec, settings)?)
        }
        ProviderKind::Redmine => Arc::new(redmine::Redmine::new(client, spec, settings)?),
        ProviderKind::ClickUp => Arc::new(clickup::ClickUp::new(client, spec, settings)?),
    })
}
