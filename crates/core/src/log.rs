//! The single writer of the event log.
//!
//! Every event goes through one task that assigns the session's next `seq`,
//! appends a batch of events to the store in one transaction (group commit:
//! whatever queued up while the previous batch was written) and only then
//! publishes them on the bus. So a subscriber never sees an event the log
//! does not hold, and `seq` is contiguous per session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::{EventData, EventEnvelope, SessionId};
use agentd_store::Store;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::bus::{EventBus, PublishedEvent};

const MAX_BATCH: usize = 512;
const QUEUE: usize = 8_192;
const WRITE_ATTEMPTS: u32 = 3;

/// Why an event could not be made durable (the store's error, as text: the
/// receipt may go to several waiters and store errors do not clone).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the event log could not store an event: {0}")]
pub struct LogError(pub String);

type Receipt = oneshot::Sender<Result<u64, LogError>>;

enum Command {
    Append {
        session: SessionId,
        event: EventData,
        done: Option<Receipt>,
    },
    /// The session was deleted: drop its counter.
    Forget(SessionId),
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub(crate) struct EventLog {
    tx: mpsc::Sender<Command>,
}

impl EventLog {
    pub(crate) fn start(store: Store, bus: Arc<EventBus>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(
            Writer {
                store,
                bus,
                next_seq: HashMap::new(),
            }
            .run(rx),
        );
        Self { tx }
    }

    /// Queue an event; returns once it is queued, not once it is durable.
    /// Order per session is preserved either way.
    pub(crate) async fn append(&self, session: SessionId, event: EventData) {
        let cmd = Command::Append {
            session,
            event,
            done: None,
        };
        if self.tx.send(cmd).await.is_err() {
            tracing::error!(%session, "event log writer is gone; event dropped");
        }
    }

    /// Queue an event and wait until it is durable; returns its `seq`.
    pub(crate) async fn append_durable(
        &self,
        session: SessionId,
        event: EventData,
    ) -> Result<u64, LogError> {
        let (done, rx) = oneshot::channel();
        let cmd = Command::Append {
            session,
            event,
            done: Some(done),
        };
        self.tx.send(cmd).await.map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }

    pub(crate) async fn forget(&self, session: SessionId) {
        let _ = self.tx.send(Command::Forget(session)).await;
    }
}

fn writer_gone() -> LogError {
    LogError("the event log writer stopped".to_owned())
}

struct Writer {
    store: Store,
    bus: Arc<EventBus>,
    next_seq: HashMap<SessionId, u64>,
}

struct Pending {
    envelope: EventEnvelope,
    done: Option<Receipt>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.recv().await {
            let mut commands = vec![first];
            while commands.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => commands.push(cmd),
                    Err(_) => break,
                }
            }
            for cmd in commands {
                match cmd {
                    Command::Append {
                        session,
                        event,
                        done,
                    } => match self.assign_seq(session).await {
                        Ok(seq) => batch.push(Pending {
                            envelope: EventEnvelope {
                                seq,
                                session_id: session,
                                ts: now_ms(),
                                event,
                            },
                            done,
                        }),
                        Err(e) => {
                            tracing::error!(%session, error = %e, "cannot read last seq");
                            if let Some(done) = done {
                                let _ = done.send(Err(LogError(e.to_string())));
                            }
                        }
                    },
                    Command::Forget(session) => {
                        self.flush(&mut batch).await;
                        self.next_seq.remove(&session);
                    }
                }
            }
            self.flush(&mut batch).await;
        }
    }

    async fn assign_seq(&mut self, session: SessionId) -> Result<u64, agentd_store::StoreError> {
        let next = match self.next_seq.get(&session) {
            Some(next) => *next,
            None => self.store.last_seq(session).await? + 1,
        };
        self.next_seq.insert(session, next + 1);
        Ok(next)
    }

    async fn flush(&mut self, batch: &mut Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let envelopes: Vec<EventEnvelope> = batch.iter().map(|p| p.envelope.clone()).collect();
        let mut result = Err(writer_gone());
        for attempt in 0..WRITE_ATTEMPTS {
            match self.store.append_events(&envelopes).await {
                Ok(()) => {
                    result = Ok(());
                    break;
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, events = envelopes.len(), "event batch write failed");
                    let retry = e.is_retryable();
                    result = Err(LogError(e.to_string()));
                    if !retry {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        match result {
            Ok(()) => {
                for pending in batch.drain(..) {
                    let seq = pending.envelope.seq;
                    self.bus
                        .publish(Arc::new(PublishedEvent::new(pending.envelope)));
                    if let Some(done) = pending.done {
                        let _ = done.send(Ok(seq));
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "events lost: the store refused them");
                // Re-read counters from the store next time so seq stays contiguous.
                for pending in batch.drain(..) {
                    self.next_seq.remove(&pending.envelope.session_id);
                    if let Some(done) = pending.done {
                        let _ = done.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// Now, at the millisecond precision the store keeps, so a published event
/// equals the stored one.
pub(crate) fn now_ms() -> OffsetDateTime {
    agentd_store::truncate_to_ms(OffsetDateTime::now_utc())
}
