//! pm-core: the vocabulary every other pm-mcp crate shares — identifiers, scopes, provider kinds
//! and the validated newtypes that are parsed once at the boundary and trusted after.
#![forbid(unsafe_code)]

pub mod analytics;
pub mod connection;
pub mod domain;
pub mod history;
pub mod ids;
pub mod provider;
pub mod provider_api;
pub mod qualified;
pub mod scope;
pub mod secret;
pub mod text;

pub use connection::{ConnectionOptions, ConnectionSpec, SignIn, TextFormat, WorkspaceId};
pub use domain::*;
pub use history::{EstimateChange, History, HistorySource, ItemHistory, SprintMove, StatusChange};
pub use ids::{ApiKeyId, ConnectionId, UserId};
pub use provider::{AuthKind, BaseUrl, ConnectionHandle, ProviderKind};
pub use provider_api::{
    Assignee, NewSprint, NewTask, Provider, ProviderError, ProviderResult, SiteInfo, SprintChange,
    TaskChange, TaskQuery,
};
pub use qualified::QualifiedId;
pub use scope::{Scope, Scopes};
pub use secret::Secret;
pub use text::Email;

/// A value that failed validation at a boundary; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
