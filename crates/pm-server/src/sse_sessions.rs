//! The open legacy SSE sessions of this process (see `sse`): who opened each, whom it acts for,
//! and where its messages go. Kept in the shared state, below the transport that serves them.
use std::collections::HashMap;
use std::sync::Mutex;

use futures::channel::mpsc;
use rmcp::model::ClientJsonRpcMessage;

use crate::limits::Holder;

/// Open sessions per key, and in all: enough for any real use, small enough to stop a runaway.
/// An agent backend holds one key for all its chatting users and opens a new session for every
/// tool call, so one key may well have a few hundred calls in flight (a session costs ~66 KiB:
/// 256 of them about 17 MiB).
const MAX_PER_KEY: usize = 256;
const MAX_TOTAL: usize = 10_000;
pub(crate) struct Session {
    pub(crate) key: Holder,
    /// The user the session acts as: the key's owner, or the user named by `X-PM-MCP-Act-As`.
    pub(crate) user: pm_core::UserId,
    pub(crate) inbound: mpsc::Sender<ClientJsonRpcMessage>,
}

/// Why a message cannot be handed to a session.
pub(crate) enum Refused {
    /// No such session, or another key's (answered alike).
    Unknown,
    /// The key's session, but opened for another user (`X-PM-MCP-Act-As` differs).
    OtherUser,
}

/// The open SSE sessions of this process.
#[derive(Default)]
pub struct SseSessions {
    sessions: Mutex<HashMap<String, Session>>,
}

impl SseSessions {
    pub(crate) fn insert(&self, id: &str, session: Session) -> Result<(), &'static str> {
        let Ok(mut map) = self.sessions.lock() else {
            return Err("session table unavailable");
        };
        if map.len() >= MAX_TOTAL {
            return Err("too many open SSE sessions on this server");
        }
        if map.values().filter(|s| s.key == session.key).count() >= MAX_PER_KEY {
            return Err("too many open SSE sessions for this key; close some first");
        }
        map.insert(id.to_string(), session);
        Ok(())
    }

    /// The inbound queue of `id`, if it is open, belongs to `key` and acts as `user`.
    pub(crate) fn inbound(
        &self,
        id: &str,
        key: Holder,
        user: pm_core::UserId,
    ) -> Result<mpsc::Sender<ClientJsonRpcMessage>, Refused> {
        let map = self.sessions.lock().map_err(|_| Refused::Unknown)?;
        let session = map
            .get(id)
            .filter(|s| s.key == key)
            .ok_or(Refused::Unknown)?;
        if session.user != user {
            return Err(Refused::OtherUser);
        }
        Ok(session.inbound.clone())
    }

    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            map.remove(id);
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
