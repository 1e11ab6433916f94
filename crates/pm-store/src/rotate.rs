//! Master-key rotation: every connection still sealed by an older master key is opened with it and
//! sealed again with the current (first) key, in batches, each batch one transaction. An
//! interruption leaves every row sealed by one of the configured keys, so running it again simply
//! finishes the rest; a row changed meanwhile by someone else is left alone (compare-and-set on
//! the key id it was read under).
use crate::model::Reseal;
use crate::seal::{MasterKeys, SealError};
use crate::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(
        "stored credentials were sealed with master key(s) that are not configured ({0}); add them to PM_MCP_OLD_MASTER_KEYS so they can be re-sealed"
    )]
    UnknownKeys(String),
    #[error("connection {connection}: its sealed credentials cannot be opened ({source})")]
    Unopenable {
        connection: pm_core::ConnectionId,
        source: SealError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a rotation run did and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The key everything is being sealed with.
    pub current_key_id: String,
    /// Connections re-sealed by this run.
    pub resealed: u64,
    /// Connections already sealed by the current key when the run ended.
    pub current: i64,
    /// Connections still sealed by an older key (a later run finishes them).
    pub remaining: i64,
    /// Older keys that still seal some connection: `(key_id, count)`.
    pub older: Vec<(String, i64)>,
}

/// Re-seals every connection not sealed by `keys`' current key, `batch_size` rows per
/// transaction, stopping after `limit` rows when given. Refuses to start when some rows were
/// sealed by a key that is not configured (they could not be opened).
pub async fn reseal_all(
    store: &dyn Store,
    keys: &MasterKeys,
    batch_size: usize,
    limit: Option<u64>,
) -> Result<RotationReport, RotateError> {
    let current = keys.current_id().to_string();
    let unknown: Vec<String> = store
        .count_connections_by_key()
        .await?
        .into_iter()
        .filter(|(id, _)| !keys.knows(id))
        .map(|(id, n)| format!("{id}: {n} connection(s)"))
        .collect();
    if !unknown.is_empty() {
        return Err(RotateError::UnknownKeys(unknown.join(", ")));
    }
    let batch_size = batch_size.clamp(1, 10_000) as u64;
    let mut resealed = 0u64;
    loop {
        let want = match limit {
            Some(l) if resealed >= l => break,
            Some(l) => batch_size.min(l - resealed),
            None => batch_size,
        };
        let rows = store
            .list_sealed_not_under(&current, i64::try_from(want).unwrap_or(i64::MAX))
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            let plain = keys
                .open(&row.sealed, row.id, row.user_id)
                .map_err(|source| RotateError::Unopenable {
                    connection: row.id,
                    source,
                })?;
            batch.push(Reseal {
                id: row.id,
                user_id: row.user_id,
                from_key_id: row.sealed.key_id,
                sealed: keys.seal(&plain, row.id, row.user_id),
            });
        }
        let changed = store.reseal_connections(&batch).await?;
        tracing::info!(
            batch = batch.len(),
            changed,
            "re-sealed a batch of credentials"
        );
        resealed += changed;
        if changed == 0 {
            // Every row of the batch changed under us (removed, or re-sealed by another run):
            // read again; rows that vanished are no longer listed.
            tokio::task::yield_now().await;
        }
    }
    let counts = store.count_connections_by_key().await?;
    let now_current = counts
        .iter()
        .find(|(id, _)| *id == current)
        .map_or(0, |(_, n)| *n);
    let older: Vec<(String, i64)> = counts
        .into_iter()
        .filter(|(id, _)| *id != current)
        .collect();
    Ok(RotationReport {
        current_key_id: current,
        resealed,
        current: now_current,
        remaining: older.iter().map(|(_, n)| n).sum(),
        older,
    })
}
