//! A call's way to its tracker: the connection it works on, bound to that connection's client
//! ([`Tracker`]). Every provider call goes through [`Tracker::call`]: its failure becomes a
//! [`ServiceError`] on the connection (so the audit row gets the connection and the kind), and
//! its result comes back with ids qualified. Which connection a call works on, when it is given
//! several ids and perhaps a connection name, is decided by one rule: [`Service::tracker_for`].
use std::sync::Arc;

use pm_core::{ConnectionHandle, Provider, ProviderError, ProviderResult, QualifiedId};
use pm_store::Connection;

use super::qualify::{Qualify, qualified};
use super::{ErrorKind, Service, ServiceError, on_connection};
use crate::auth::Principal;

/// One of the caller's active connections and its client.
pub struct Tracker {
    conn: Connection,
    provider: Arc<dyn Provider>,
}

impl Tracker {
    /// The connection's name, the prefix of the ids it hands out.
    pub fn name(&self) -> &ConnectionHandle {
        &self.conn.name
    }

    /// The client itself, for what is not a tracker call (its kind, what it supports).
    pub fn provider(&self) -> &dyn Provider {
        self.provider.as_ref()
    }

    /// Runs one provider call; its result with ids qualified, its failure said on the
    /// connection: `tracker.call(|t| async move { t.get_task(id).await })`.
    ///
    /// The call gets its own handle on the client rather than a borrowed one: a future that
    /// borrows from a closure's argument (`async |t: &dyn Provider|`) is not provably `Send`,
    /// which every tool's future must be.
    pub async fn call<T: Qualify, F>(
        &self,
        f: impl FnOnce(Arc<dyn Provider>) -> F,
    ) -> Result<T, ServiceError>
    where
        F: Future<Output = ProviderResult<T>>,
    {
        self.call_native(f)
            .await
            .map(|v| v.qualify(&self.conn.name))
    }

    /// Like [`Tracker::call`], but the ids stay as the tracker gave them: for values read to
    /// make further calls with, and for those handed out with native ids.
    pub async fn call_native<T, F>(
        &self,
        f: impl FnOnce(Arc<dyn Provider>) -> F,
    ) -> Result<T, ServiceError>
    where
        F: Future<Output = ProviderResult<T>>,
    {
        f(self.provider.clone()).await.map_err(|e| self.failed(&e))
    }

    /// A tracker's failure on this connection (see [`ServiceError::tracker`]).
    pub fn failed(&self, e: &ProviderError) -> ServiceError {
        ServiceError::tracker(&self.conn.name, e)
    }

    /// A native id of this connection, qualified.
    pub fn qualified(&self, native: impl Into<String>) -> String {
        qualified(&self.conn.name, native)
    }

    /// The native id of `id`, which must be on this connection (bare ids are taken as on it);
    /// `what` names it in the refusal.
    pub fn native_of(&self, id: &QualifiedId, what: &str) -> Result<String, ServiceError> {
        on_connection(&self.conn.name, id, what)
    }

    /// The same connection with the client bulk changes use (one that mails nobody, where the
    /// connection says so).
    pub fn for_bulk(self) -> Tracker {
        let provider = self.provider.for_bulk().unwrap_or(self.provider);
        Tracker {
            conn: self.conn,
            provider,
        }
    }
}

impl Service {
    /// The caller's connection named `named` (a handle, a connection id, or the external id an
    /// agent backend synced it under), or their default, with its client.
    pub async fn tracker(
        &self,
        principal: &Principal,
        named: Option<&str>,
    ) -> Result<Tracker, ServiceError> {
        let conn = self.resolve(principal, named).await?;
        let provider = self.client(&conn).await?;
        Ok(Tracker { conn, provider })
    }

    /// The connection `id` is qualified with, or (a bare id) the caller's default.
    pub async fn tracker_of(
        &self,
        principal: &Principal,
        id: &QualifiedId,
    ) -> Result<Tracker, ServiceError> {
        self.tracker(principal, id.connection.as_ref().map(|c| c.as_str()))
            .await
    }

    /// The connection a call works on when it is given several ids (`what`, id) and perhaps a
    /// connection name (`provider_id`): the one named, else the one the ids are qualified with,
    /// else the default. Ids given together must be on one connection (bare ids are taken as on
    /// it): the rule of [`on_connection`], in its words.
    pub async fn tracker_for(
        &self,
        principal: &Principal,
        provider_id: Option<&str>,
        ids: &[(&'static str, Option<QualifiedId>)],
    ) -> Result<Tracker, ServiceError> {
        if let Some(named) = provider_id.map(str::trim).filter(|s| !s.is_empty()) {
            let tracker = self.tracker(principal, Some(named)).await?;
            for (what, id) in ids {
                if let Some(id) = id {
                    tracker.native_of(id, what)?;
                }
            }
            return Ok(tracker);
        }
        let connection = one_connection(ids)?;
        self.tracker(principal, connection.map(|c| c.as_str()))
            .await
    }
}

/// The connection the qualified ones among `ids` are on, refusing ids of two connections (in
/// the words of [`on_connection`], the first such id standing for the call).
fn one_connection<'a>(
    ids: &'a [(&'static str, Option<QualifiedId>)],
) -> Result<Option<&'a ConnectionHandle>, ServiceError> {
    let mut first: Option<(&str, &ConnectionHandle)> = None;
    for (what, id) in ids {
        let Some(c) = id.as_ref().and_then(|id| id.connection.as_ref()) else {
            continue;
        };
        match first {
            None => first = Some((what, c)),
            Some((first_what, f)) if f != c => {
                return Err(ServiceError::new(
                    ErrorKind::Invalid,
                    format!(
                        "{what} is on connection {c}, but {first_what} on connection {f}; \
                         give ids of one connection"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(first.map(|(_, c)| c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> QualifiedId {
        QualifiedId::parse(raw).expect("id")
    }

    #[test]
    fn ids_given_together_name_one_connection() {
        let (project, sprint, bare) = (id("acme-jira:PROJ"), id("acme-jira:42"), id("7"));
        let ids = [
            ("project_id", Some(project.clone())),
            ("assignee_id", Some(bare.clone())),
            ("user_id", None),
            ("sprint_id", Some(sprint)),
        ];
        let one = one_connection(&ids).expect("one connection");
        assert_eq!(one.map(|c| c.as_str()), Some("acme-jira"));
        assert_eq!(
            one_connection(&[("task_id", Some(bare))]).expect("bare"),
            None
        );
        let other = id("team-op:42");
        let refused = one_connection(&[("project_id", Some(project)), ("sprint_id", Some(other))])
            .expect_err("two connections");
        assert_eq!(refused.kind, ErrorKind::Invalid);
        assert_eq!(
            refused.message,
            "sprint_id is on connection team-op, but project_id on connection acme-jira; \
             give ids of one connection"
        );
    }
}
