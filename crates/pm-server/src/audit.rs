//! The audit trail: one row per tool call, written in batches off the request path so a busy
//! server does not turn every call into a database write.
use std::sync::Arc;
use std::time::Duration;

use std::cell::Cell;
use std::future::Future;

use pm_core::ConnectionId;
use pm_store::{AuditEvent, Store};
use tokio::sync::{mpsc, oneshot};

/// What a tool call noted about itself for its audit row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallNotes {
    /// The first connection the call resolved.
    pub connection: Option<ConnectionId>,
    /// The kind of the error the call answered with, if it answered with one (the service's
    /// `ErrorKind::as_str`).
    pub error_kind: Option<&'static str>,
}

tokio::task_local! {
    /// What the tool call running on this task noted, for its audit row.
    static CALL_NOTES: Cell<CallNotes>;
}

/// Runs one tool call, taking what it notes (see `note_connection`, `note_error_kind`).
pub(crate) async fn track_connection<F: Future>(call: F) -> (F::Output, CallNotes) {
    CALL_NOTES
        .scope(Cell::new(CallNotes::default()), async move {
            let out = call.await;
            let notes = CALL_NOTES.try_with(Cell::get).unwrap_or_default();
            (out, notes)
        })
        .await
}

/// Records the kind of error the current tool call answers with; a no-op outside a tracked call.
pub(crate) fn note_error_kind(kind: &'static str) {
    let _ = CALL_NOTES.try_with(|c| {
        let mut notes = c.get();
        notes.error_kind = Some(kind);
        c.set(notes);
    });
}

/// Records that the current tool call works on `connection` (the first one noted wins); a no-op
/// outside a tracked call.
pub(crate) fn note_connection(connection: ConnectionId) {
    let _ = CALL_NOTES.try_with(|c| {
        let mut notes = c.get();
        if notes.connection.is_none() {
            notes.connection = Some(connection);
            c.set(notes);
        }
    });
}

enum Msg {
    Event(Box<AuditEvent>),
    Flush(oneshot::Sender<()>),
}

/// Hands events to the background writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
}

const QUEUE: usize = 16_384;
const BATCH: usize = 512;
const INTERVAL: Duration = Duration::from_millis(500);

impl AuditSink {
    /// Starts the writer on the current runtime.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, rx));
        Self { tx }
    }

    /// Queues an event; if the queue is full (the database is far behind) it is dropped and logged.
    pub fn record(&self, event: AuditEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) =
            self.tx.try_send(Msg::Event(Box::new(event)))
        {
            tracing::warn!("audit queue full: an audit event was dropped");
        }
    }

    /// Waits until everything queued so far is written (or failed to be).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn writer(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let msg = tokio::time::timeout(INTERVAL, rx.recv()).await;
        let closed = matches!(msg, Ok(None));
        let idle = msg.is_err();
        match msg {
            Ok(Some(Msg::Event(e))) => batch.push(*e),
            Ok(Some(Msg::Flush(done))) => waiting.push(done),
            Ok(None) | Err(_) => {}
        }
        // Take whatever else is already queued without waiting (more than one batch only while
        // the database is down and events are kept).
        let room = if batch.len() < BATCH {
            BATCH
        } else {
            batch.len() + BATCH
        };
        while batch.len() < room.min(QUEUE) {
            match rx.try_recv() {
                Ok(Msg::Event(e)) => batch.push(*e),
                Ok(Msg::Flush(done)) => waiting.push(done),
                Err(_) => break,
            }
        }
        let due = batch.len() >= BATCH || !waiting.is_empty() || closed || idle;
        if due && !batch.is_empty() {
            match store.add_audit_events(&batch).await {
                Ok(()) => batch.clear(),
                // The database is down for now: keep the events (one transaction, so none of
                // them was written) and try again on the next round, up to the queue's size.
                Err(e) if e.is_unavailable() && !closed && batch.len() < QUEUE => {
                    tracing::warn!(error = %e, events = batch.len(), "audit events kept until the database is back");
                    // Wait a little before the next attempt, or a fast failure spins.
                    tokio::time::sleep(INTERVAL).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, events = batch.len(), "could not write audit events");
                    batch.clear();
                }
            }
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}
