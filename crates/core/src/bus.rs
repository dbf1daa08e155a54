//! In-process fan-out of persisted events to live subscribers.
//!
//! Each event is serialised once, here, so a thousand subscribers cost a
//! thousand writes of the same bytes, not a thousand serialisations.
//!
//! A session has a broadcast channel only while someone follows it. tokio's
//! broadcast channel allocates all its slots up front (4,096 × ~40 bytes ≈
//! 160 KiB by default), so a channel kept after its followers left is that
//! much memory per session ever followed, until the session is deleted. The
//! last [`Subscription`] to go removes the channel; a publish finds no
//! channel and allocates nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use agentd_protocol::{EventEnvelope, SessionId};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

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

type Sender = broadcast::Sender<Arc<PublishedEvent>>;
type Channels = Mutex<HashMap<SessionId, Sender>>;

/// Per-session broadcast channels, present while a session has subscribers.
pub struct EventBus {
    capacity: usize,
    channels: Arc<Channels>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(16),
            channels: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Receive every event of `session` published from now on. A receiver
    /// that falls more than `capacity` events behind gets `Lagged`.
    pub fn subscribe(&self, session: SessionId) -> Subscription {
        // Receivers are only ever made here, under the lock: that is what
        // lets `Subscription::drop` and `publish` trust a count of zero.
        let mut channels = lock(&self.channels);
        let rx = channels
            .entry(session)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        Subscription {
            rx: Some(rx),
            session,
            channels: Arc::clone(&self.channels),
        }
    }

    pub fn publish(&self, event: Arc<PublishedEvent>) {
        let mut channels = lock(&self.channels);
        let session = event.envelope.session_id;
        if let Some(tx) = channels.get(&session)
            && tx.send(event).is_err()
        {
            // Nobody listens any more (the last subscriber's drop normally
            // removed the channel already): free it.
            channels.remove(&session);
        }
    }

    /// Drop a session's channel; its subscribers see the stream end.
    pub fn close(&self, session: SessionId) {
        lock(&self.channels).remove(&session);
    }

    #[cfg(test)]
    fn subscriber_count(&self) -> usize {
        lock(&self.channels)
            .values()
            .map(Sender::receiver_count)
            .sum()
    }

    /// Sessions that have a channel (that is, at least one subscriber).
    #[cfg(test)]
    fn followed_sessions(&self) -> usize {
        lock(&self.channels).len()
    }
}

fn lock(channels: &Channels) -> std::sync::MutexGuard<'_, HashMap<SessionId, Sender>> {
    channels.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A live subscription to one session's events. Dropping the last one of a
/// session frees the session's channel.
pub struct Subscription {
    /// `Some` until drop.
    rx: Option<broadcast::Receiver<Arc<PublishedEvent>>>,
    session: SessionId,
    channels: Arc<Channels>,
}

impl Subscription {
    /// The next event; `Lagged` if more than the bus's capacity were
    /// published since the last one read, `Closed` once the session's
    /// channel was closed (session deleted). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Arc<PublishedEvent>, RecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => Err(RecvError::Closed),
        }
    }

    pub fn try_recv(&mut self) -> Result<Arc<PublishedEvent>, TryRecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.try_recv(),
            None => Err(TryRecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The receiver goes first, outside the lock (dropping it walks its
        // unread slots). Then, under the lock: a `subscribe` that came in
        // between made the count non-zero again and the channel stays; one
        // that comes after finds no channel and makes a fresh one. A
        // publish in between finds no receiver and removes it itself.
        drop(self.rx.take());
        let mut channels = lock(&self.channels);
        if channels
            .get(&self.session)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            channels.remove(&self.session);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use agentd_protocol::EventData;
    use agentd_protocol::event::Delta;

    use super::*;

    fn event(session: SessionId, seq: u64) -> Arc<PublishedEvent> {
        Arc::new(PublishedEvent::new(EventEnvelope {
            seq,
            session_id: session,
            ts: crate::event_log::now_ms(),
            event: EventData::TextDelta(Delta {
                message_id: "m".to_owned(),
                text: seq.to_string(),
            }),
        }))
    }

    #[tokio::test]
    async fn the_channel_goes_with_the_last_subscriber() {
        let bus = EventBus::new(64);
        let session = SessionId::new();
        let mut first = bus.subscribe(session);
        let second = bus.subscribe(session);
        bus.publish(event(session, 1));
        assert_eq!(bus.followed_sessions(), 1);
        drop(second);
        assert_eq!(bus.followed_sessions(), 1, "one subscriber is left");
        assert_eq!(first.recv().await.unwrap().seq(), 1);
        drop(first);
        assert_eq!(bus.followed_sessions(), 0, "nobody follows: no channel");
        assert_eq!(bus.subscriber_count(), 0);
    }

    #[tokio::test]
    async fn publishing_to_an_unfollowed_session_keeps_nothing() {
        let bus = EventBus::new(64);
        let session = SessionId::new();
        drop(bus.subscribe(session));
        for seq in 1..=10 {
            bus.publish(event(session, seq));
        }
        assert_eq!(bus.followed_sessions(), 0);
        // A later subscriber gets a fresh channel and only what follows.
        let mut sub = bus.subscribe(session);
        bus.publish(event(session, 11));
        assert_eq!(sub.recv().await.unwrap().seq(), 11);
    }

    #[tokio::test]
    async fn a_closed_session_ends_its_subscriptions_and_a_late_drop_is_harmless() {
        let bus = EventBus::new(64);
        let session = SessionId::new();
        let mut old = bus.subscribe(session);
        bus.close(session);
        assert!(matches!(old.recv().await, Err(RecvError::Closed)));
        // A new follower of the same id gets a new channel; the old
        // subscription's drop must not take it away.
        let mut new = bus.subscribe(session);
        drop(old);
        assert_eq!(bus.followed_sessions(), 1);
        bus.publish(event(session, 1));
        assert_eq!(new.recv().await.unwrap().seq(), 1);
    }

    /// The follow path (subscribe, then read the log, then take live events
    /// above the last `seq` read) must see every event exactly once while
    /// other subscribers come and go, so channels are removed and re-made
    /// all the time under a running publisher.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn followers_arriving_during_publishes_see_no_gap() {
        const EVENTS: u64 = 3_000;
        let bus = Arc::new(EventBus::new(4_096));
        let session = SessionId::new();
        // The log: written before publishing, as the event-log writer does.
        let log = Arc::new(Mutex::new(0_u64));

        let mut followers = Vec::new();
        for _ in 0..8 {
            let bus = Arc::clone(&bus);
            let log = Arc::clone(&log);
            followers.push(tokio::spawn(async move {
                let mut generations = 0;
                let mut last = 0;
                while last < EVENTS {
                    // Follow for a while from `last`, then leave and come
                    // back, as a reconnecting client does.
                    let mut live = bus.subscribe(session);
                    let stored = *log.lock().unwrap();
                    // History: everything stored above `last`.
                    last = last.max(stored);
                    let stay = 1 + (generations * 37) % 200;
                    for _ in 0..stay {
                        if last == EVENTS {
                            break;
                        }
                        let next = tokio::time::timeout(Duration::from_secs(10), live.recv())
                            .await
                            .expect("an event published after subscribing never came")
                            .unwrap();
                        if next.seq() <= last {
                            continue;
                        }
                        assert_eq!(next.seq(), last + 1, "gap after seq {last}");
                        last = next.seq();
                    }
                    generations += 1;
                }
                generations
            }));
        }
        let publisher = {
            let bus = Arc::clone(&bus);
            tokio::spawn(async move {
                // Start once every follower is in, so each of them has to
                // leave and come back while events flow.
                while bus.subscriber_count() < 8 {
                    tokio::task::yield_now().await;
                }
                for seq in 1..=EVENTS {
                    *log.lock().unwrap() = seq;
                    bus.publish(event(session, seq));
                    if seq % 64 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            })
        };
        publisher.await.unwrap();
        for follower in followers {
            assert!(follower.await.unwrap() > 1, "followers came and went");
        }
        assert_eq!(bus.followed_sessions(), 0, "everyone left: no channel");
    }
}
