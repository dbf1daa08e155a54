//! Following a session's events: the history from the log, then live events,
//! with no gap and no duplicate. Shared by SSE and WebSocket.
//!
//! Subscribe first, then read the log: an event published while the history
//! is read is either in the history or in the subscription (or both, and
//! then dropped by `seq`), because the log is written before publishing.

use std::sync::Arc;

use agentd_core::{PublishedEvent, SessionManager};
use agentd_protocol::SessionId;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

const HISTORY_PAGE: u32 = 1_000;

pub(crate) enum Item {
    Event(Arc<PublishedEvent>),
    /// The reader fell too far behind; it should reconnect from `last_seq`.
    Lagged {
        last_seq: u64,
    },
}

/// Feed `tx` until the receiver goes away, the session is deleted or the
/// reader lags behind.
pub(crate) async fn follow(
    manager: SessionManager,
    id: SessionId,
    after: u64,
    tx: mpsc::Sender<Item>,
) {
    let mut live = manager.subscribe(id);
    let mut last = after;
    loop {
        let page = match manager.read_events(id, last, HISTORY_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(%id, error = %e, "cannot read event history");
                return;
            }
        };
        let full = page.len() as u32 == HISTORY_PAGE;
        for envelope in page {
            last = envelope.seq;
            if tx
                .send(Item::Event(Arc::new(PublishedEvent::new(envelope))))
                .await
                .is_err()
            {
                return;
            }
        }
        if !full {
            break;
        }
    }
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            received = live.recv() => match received {
                Ok(event) if event.seq() <= last => {}
                Ok(event) => {
                    last = event.seq();
                    if tx.send(Item::Event(event)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let _ = tx.send(Item::Lagged { last_seq: last }).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
