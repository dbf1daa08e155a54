//! Following a session's events: the history from the log, then live events,
//! with no gap and no duplicate. Shared by SSE and WebSocket.
//!
//! Subscribe first, then read the log: an event published while the history
//! is read is either in the history or in the subscription (or both, and
//! then dropped by `seq`), because the log is written before publishing.
//!
//! Writers drain their queue in batches of up to [`BATCH`] items and write
//! each batch as one chunk (SSE) or one flush (WebSocket): with 1,000
//! subscribers an event that arrives while the previous one is still being
//! fanned out then costs no extra write or wake-up per subscriber.

use std::sync::Arc;

use agentd_core::{PublishedEvent, SessionManager};
use agentd_protocol::SessionId;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

const HISTORY_PAGE: u32 = 1_000;
/// Most queued items a writer takes at once; bounds one chunk's size.
pub(crate) const BATCH: usize = 256;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;
    use std::time::Duration;

    use agentd_core::{EngineConfig, SessionManager};
    use agentd_protocol::{CreateSessionRequest, SessionStatus, WorkspaceSpec};
    use agentd_testkit::{FakeAnthropic, turn};

    use super::*;

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_cut_off_with_its_resume_point() {
        let fake = FakeAnthropic::start().await;
        fake.push(
            turn()
                .text("word ".repeat(400))
                .delay_per_event(Duration::from_millis(1)),
        );
        let (store, _db) = agentd_store::testing::sqlite_temp().await;
        let model = agentd_llm::AnthropicClient::new(agentd_llm::AnthropicConfig::for_tests(
            fake.base_url(),
        ))
        .unwrap();
        let config = EngineConfig {
            subscriber_buffer: 16,
            ..EngineConfig::default()
        };
        let manager = SessionManager::start(
            config,
            store,
            Arc::new(model),
            agentd_tools::Registry::builtin(),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let req = CreateSessionRequest {
            prompt: "talk".into(),
            workspace: WorkspaceSpec::Path {
                path: dir.path().to_string_lossy().into_owned(),
            },
            runtime: None,
            model: None,
            permission_mode: None,
            title: None,
            max_turns: None,
            budget: None,
            settings: None,
            mcp_servers: None,
        };
        let id = manager.create_session(req, None).await.unwrap().id;
        // A reader whose queue holds one item and who reads nothing until the
        // turn is over.
        let (tx, mut rx) = mpsc::channel(1);
        let follower = tokio::spawn(follow(manager.clone(), id, 0, tx));
        for _ in 0..400 {
            if manager.get_session(id).await.unwrap().status == SessionStatus::Idle {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mut last_seen = 0;
        let mut lagged_at = None;
        while let Some(item) = rx.recv().await {
            match item {
                Item::Event(e) => {
                    assert_eq!(e.seq(), last_seen + 1, "no gap before the cut");
                    last_seen = e.seq();
                }
                Item::Lagged { last_seq } => lagged_at = Some(last_seq),
            }
        }
        follower.await.unwrap();
        assert_eq!(
            lagged_at,
            Some(last_seen),
            "the resume point is the last event delivered"
        );
        let total = manager.store().last_seq(id).await.unwrap();
        assert!(last_seen < total, "the reader was cut off before the end");
    }
}
