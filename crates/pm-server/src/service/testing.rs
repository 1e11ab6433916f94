//! Test-only hooks into the service: the in-process harness (`tools::tests`) puts a scripted
//! provider in the client cache, so a tool call resolves the real connection (ownership, active
//! flag, qualified ids) and then reaches the script instead of a tracker.
use std::sync::Arc;
use std::time::Instant;

use pm_core::Provider;
use pm_store::Connection;

use super::{Cached, Service};

impl Service {
    /// Makes `provider` the client of `conn` as stored now: the cache answers it as long as the
    /// connection's `updated_at` stands (a changed connection would be built anew, as in use).
    pub(crate) fn install_client(&self, conn: &Connection, provider: Arc<dyn Provider>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                conn.id,
                Cached {
                    updated_at: conn.updated_at,
                    provider,
                    used: Instant::now(),
                },
            );
        }
    }
}
