//! In-process fan-out of persisted events to live subscribers.
//!
//! Each event is serialised once, here, so a thousand subscribers cost a
//! thousand writes of the same bytes, not a thousand serialisations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use agentd_protocol::{EventEnvelope, SessionId};
use tokio::sync::broadcast;

/// A persisted event with its JSON encoding.
#[derive(Debug)]
pub struct PublishedEvent {
    pub envelope: EventEnvelope,
    /// The envelope serialised as JSON.
    pub json: String,
}

impl PublishedEvent {
    pub fn new(envelope: EventEnvelope) -> Self {
        let json = serde_json::to_string(&envelope).unwrap_or_else(|_| "{}".to_owned());
        Self { envelope, json }
    }

    pub fn seq(&self) -> u64 {
        self.envelope.seq
    }
}

/// Per-session broadcast channels, created on first subscription.
pub struct EventBus {
    capacity: usize,
    channels: Mutex<HashMap<SessionId, broadcast::Sender<Arc<PublishedEvent>>>>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(16),
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// Receive every event of `session` published from now on. A receiver
    /// that falls more than `capacity` events behind gets `Lagged`.
    pub fn subscribe(&self, session: SessionId) -> broadcast::Receiver<Arc<PublishedEvent>> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        channels
            .entry(session)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    pub fn publish(&self, event: Arc<PublishedEvent>) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let session = event.envelope.session_id;
        if let Some(tx) = channels.get(&session)
            && tx.send(event).is_err()
        {
            // Nobody listens any more: free the channel.
            channels.remove(&session);
        }
    }

    /// Drop a session's channel; its subscribers see the stream end.
    pub fn close(&self, session: SessionId) {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&session);
    }

    pub fn subscriber_count(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        channels.values().map(|tx| tx.receiver_count()).sum()
    }
}
