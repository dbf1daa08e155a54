//! The single writer of the event log.
//!
//! Every event goes through one task that assigns the session's next `seq`,
//! appends a batch of events to the store in one transaction (group commit:
//! whatever queued up while the previous batch was written) and only then
//! publishes them on the bus. So a subscriber never sees an event the log
//! does not hold, and `seq` is contiguous per session.
//!
//! A `commit` carries rows that must change with its events (a status and
//! the session row, an input taken and the turn it starts): they go into
//! the same transaction, so a crash keeps both or neither.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::{EventData, EventEnvelope, SessionId};
use agentd_store::{BatchWrites, Store};
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
    /// Events and writes that commit together (never split across batches).
    Commit {
        session: SessionId,
        events: Vec<EventData>,
        writes: BatchWrites,
        done: Receipt,
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

    /// Queue `events` (at least one) with `writes` and wait until all of it
    /// is durable in one transaction; returns the last event's `seq`.
    pub(crate) async fn commit(
        &self,
        session: SessionId,
        events: Vec<EventData>,
        writes: BatchWrites,
    ) -> Result<u64, LogError> {
        if events.is_empty() {
            return Err(LogError("a commit needs at least one event".to_owned()));
        }
        let (done, rx) = oneshot::channel();
        let cmd = Command::Commit {
            session,
            events,
            writes,
            done,
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
    /// The rows that commit with this event: on the last event of a
    /// `commit`, so a batch split by session keeps them with their events.
    writes: Option<BatchWrites>,
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
                    } => {
                        self.stage(&mut batch, session, vec![event], None, done)
                            .await;
                    }
                    Command::Commit {
                        session,
                        events,
                        writes,
                        done,
                    } => {
                        self.stage(&mut batch, session, events, Some(writes), Some(done))
                            .await;
                    }
                    Command::Forget(session) => {
                        self.flush(&mut batch).await;
                        self.next_seq.remove(&session);
                    }
                }
            }
            self.flush(&mut batch).await;
        }
    }

    /// Give `events` their `seq`s and add them to the batch, the writes and
    /// the receipt on the last one.
    async fn stage(
        &mut self,
        batch: &mut Vec<Pending>,
        session: SessionId,
        events: Vec<EventData>,
        mut writes: Option<BatchWrites>,
        mut done: Option<Receipt>,
    ) {
        let first = match self.assign_seqs(session, events.len()).await {
            Ok(first) => first,
            Err(e) => {
                tracing::error!(%session, error = %e, "cannot read last seq");
                if let Some(done) = done {
                    let _ = done.send(Err(LogError(e.to_string())));
                }
                return;
            }
        };
        let last = events.len().saturating_sub(1);
        for ((i, event), seq) in events.into_iter().enumerate().zip(first..) {
            let (writes, done) = if i == last {
                (writes.take(), done.take())
            } else {
                (None, None)
            };
            batch.push(Pending {
                envelope: EventEnvelope {
                    seq,
                    session_id: session,
                    ts: now_ms(),
                    event,
                },
                writes,
                done,
            });
        }
    }

    /// Reserves `count` consecutive `seq`s of a session; returns the first.
    async fn assign_seqs(
        &mut self,
        session: SessionId,
        count: usize,
    ) -> Result<u64, agentd_store::StoreError> {
        let next = match self.next_seq.get(&session) {
            Some(next) => *next,
            None => self.store.last_seq(session).await? + 1,
        };
        self.next_seq.insert(session, next + count as u64);
        Ok(next)
    }

    async fn flush(&mut self, batch: &mut Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let result = self.write(batch).await;
        let Err((e, retryable)) = result else {
            self.publish(batch.drain(..));
            return;
        };
        let first = batch[0].envelope.session_id;
        if retryable || batch.iter().all(|p| p.envelope.session_id == first) {
            self.fail(batch.drain(..), &e);
            return;
        }
        // One session's events were refused (say it was deleted meanwhile):
        // the other sessions' events must not go down with them. Each
        // session's part is written on its own, whole, so `seq` stays
        // contiguous whatever fails.
        tracing::warn!(error = %e, "event batch refused; writing it session by session");
        let mut sessions: Vec<(SessionId, Vec<Pending>)> = Vec::new();
        for pending in batch.drain(..) {
            let id = pending.envelope.session_id;
            match sessions.iter_mut().find(|(s, _)| *s == id) {
                Some((_, part)) => part.push(pending),
                None => sessions.push((id, vec![pending])),
            }
        }
        for (_, part) in sessions {
            match self.write(&part).await {
                Ok(()) => self.publish(part.into_iter()),
                Err((e, _)) => self.fail(part.into_iter(), &e),
            }
        }
    }

    /// One transaction for the events and their writes, retried while the
    /// store says a retry may help.
    async fn write(&self, batch: &[Pending]) -> Result<(), (LogError, bool)> {
        let envelopes: Vec<EventEnvelope> = batch.iter().map(|p| p.envelope.clone()).collect();
        let mut writes = BatchWrites::default();
        for pending in batch {
            if let Some(w) = &pending.writes {
                writes.extend(w.clone());
            }
        }
        let mut last = (writes_gone(), false);
        for attempt in 0..WRITE_ATTEMPTS {
            match self.store.append_events_with(&envelopes, &writes).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(attempt, error = %e, events = envelopes.len(), "event batch write failed");
                    let retry = e.is_retryable();
                    last = (LogError(e.to_string()), retry);
                    if !retry {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        Err(last)
    }

    fn publish(&self, done: impl Iterator<Item = Pending>) {
        for pending in done {
            let seq = pending.envelope.seq;
            self.bus
                .publish(Arc::new(PublishedEvent::new(pending.envelope)));
            if let Some(done) = pending.done {
                let _ = done.send(Ok(seq));
            }
        }
    }

    fn fail(&mut self, lost: impl Iterator<Item = Pending>, e: &LogError) {
        for pending in lost {
            tracing::error!(session = %pending.envelope.session_id, seq = pending.envelope.seq, error = %e, "event lost: the store refused it");
            // Re-read the counter from the store next time so seq stays
            // contiguous.
            self.next_seq.remove(&pending.envelope.session_id);
            if let Some(done) = pending.done {
                let _ = done.send(Err(e.clone()));
            }
        }
    }
}

fn writes_gone() -> LogError {
    LogError("the event batch was not written".to_owned())
}

/// Now, at the millisecond precision the store keeps, so a published event
/// equals the stored one.
pub(crate) fn now_ms() -> OffsetDateTime {
    agentd_store::truncate_to_ms(OffsetDateTime::now_utc())
}
