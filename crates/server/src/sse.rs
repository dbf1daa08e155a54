//! The Server-Sent Events body of `GET …/events`, written in batches.
//!
//! axum's `Sse` turns every event into its own body chunk, so a subscriber
//! costs one socket write per event. Here the writer waits for the first
//! queued item, takes whatever else is already queued (up to
//! [`follow::BATCH`]) and writes them as one chunk: under fan-out load an
//! event that queued behind the previous one rides along in the same write.
//! The frames are byte-for-byte those of axum's `Sse` (`id`, `event`,
//! `data` lines), and a `:` comment keeps idle connections alive.

use std::convert::Infallible;
use std::fmt::Write as _;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, interval_at};

use tokio_util::sync::CancellationToken;

use crate::follow::{self, Item};
use crate::metrics::StreamGuard;

/// A streaming `text/event-stream` response fed by `rx`; ends when `rx`
/// does (the follower ended: lagged reader, deleted session) or `closing`
/// is cancelled (the server is stopping; EventSource reconnects and
/// resumes by `Last-Event-ID`).
pub(crate) fn response(
    rx: mpsc::Receiver<Item>,
    guard: StreamGuard,
    closing: CancellationToken,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(batches(rx, guard, closing)),
    )
        .into_response()
}

struct Writer {
    rx: mpsc::Receiver<Item>,
    keepalive: Interval,
    items: Vec<Item>,
    _guard: StreamGuard,
    closing: CancellationToken,
}

fn batches(
    rx: mpsc::Receiver<Item>,
    guard: StreamGuard,
    closing: CancellationToken,
) -> impl Stream<Item = Result<String, Infallible>> {
    let writer = Writer {
        rx,
        keepalive: interval_at(Instant::now() + crate::KEEPALIVE, crate::KEEPALIVE),
        items: Vec::with_capacity(follow::BATCH),
        _guard: guard,
        closing,
    };
    futures::stream::unfold(writer, |mut w| async move {
        let chunk = tokio::select! {
            n = w.rx.recv_many(&mut w.items, follow::BATCH) => {
                if n == 0 {
                    return None;
                }
                let mut chunk = String::new();
                for item in w.items.drain(..) {
                    encode(&mut chunk, &item);
                }
                // Data just went out; the connection is not idle.
                w.keepalive.reset();
                chunk
            }
            _ = w.keepalive.tick() => ":\n\n".to_owned(),
            () = w.closing.cancelled() => return None,
        };
        Some((Ok(chunk), w))
    })
}

/// Appends one SSE frame for `item`.
fn encode(out: &mut String, item: &Item) {
    match item {
        Item::Event(event) => {
            let _ = writeln!(out, "id: {}", event.seq());
            field(out, "event", event.envelope.event_type());
            field(out, "data", &event.json);
        }
        // The stream ends after this; EventSource reconnects with
        // Last-Event-ID and resumes from the log.
        Item::Lagged { last_seq } => {
            field(out, "event", "lagged");
            field(
                out,
                "data",
                &format!(
                    "{{\"last_seq\":{last_seq},\"reason\":\"the client read too slowly; reconnect to resume\"}}"
                ),
            );
        }
    }
    out.push('\n');
}

/// One field; a value with line breaks becomes several lines of the same
/// field (as SSE requires), so it can never end the frame early.
fn field(out: &mut String, name: &str, value: &str) {
    for line in value.split(['\n', '\r']) {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use futures::StreamExt;

    use super::*;
    use crate::metrics::Metrics;

    #[tokio::test]
    async fn items_already_queued_are_written_as_one_chunk() {
        let (tx, rx) = mpsc::channel(8);
        for last_seq in [1, 2, 3] {
            tx.send(Item::Lagged { last_seq }).await.unwrap();
        }
        drop(tx);
        let stream = batches(
            rx,
            StreamGuard::new(Arc::new(Metrics::new())),
            CancellationToken::new(),
        );
        let chunks: Vec<String> = stream.map(Result::unwrap).collect().await;
        assert_eq!(chunks.len(), 1, "one write for three queued frames");
        assert_eq!(chunks[0].matches("event: lagged\n").count(), 3);
        assert!(
            chunks[0].find("\"last_seq\":1").unwrap() < chunks[0].find("\"last_seq\":3").unwrap()
        );
    }

    #[test]
    fn multi_line_values_become_several_data_lines() {
        let mut out = String::new();
        field(&mut out, "data", "a\nb");
        assert_eq!(out, "data: a\ndata: b\n");
    }

    #[test]
    fn a_lagged_frame_names_the_resume_point() {
        let mut out = String::new();
        encode(&mut out, &Item::Lagged { last_seq: 7 });
        assert!(out.starts_with("event: lagged\ndata: {\"last_seq\":7,"));
        assert!(out.ends_with("}\n\n"));
    }
}
