//! How both model fakes stream a scripted turn: its SSE frames sent one by
//! one from a task, with the turn's [`Faults`] and a delay per event
//! happening on the wire as a real connection would show them.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio_stream::wrappers::ReceiverStream;

use crate::script::Faults;

/// Settings of a model fake.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Sleep before every SSE event of turns without their own delay, to
    /// simulate token-by-token generation.
    pub token_delay: Option<Duration>,
}

/// The wait before each event: the turn's own, else the fake's.
pub(crate) fn event_delay(faults: &Faults, options: &FakeOptions) -> Option<Duration> {
    faults
        .delay_per_event_ms
        .map(Duration::from_millis)
        .or(options.token_delay)
}

/// One API's way of writing what the faults put on the wire.
pub(crate) struct FaultFrames {
    /// A mid-stream error event of this `error.type`.
    pub error: fn(&str) -> String,
    /// A frame that is not valid SSE JSON.
    pub malformed: fn() -> String,
}

/// A `text/event-stream` response sending `frames` (each a whole SSE
/// frame) with `headers`. Fault positions count frames from 0.
pub(crate) fn sse_response(
    frames: Vec<String>,
    faults: Faults,
    delay: Option<Duration>,
    fault_frames: FaultFrames,
    headers: HeaderMap,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        for (i, frame) in frames.into_iter().enumerate() {
            if faults.disconnect_after == Some(i) {
                // A body error makes hyper abort the connection mid-stream.
                let _ = tx
                    .send(Err(std::io::Error::other("testkit: disconnect")))
                    .await;
                return;
            }
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            if let Some(fault) = faults.error_event_after.as_ref().filter(|f| f.after == i) {
                let _ = tx
                    .send(Ok(Bytes::from((fault_frames.error)(&fault.error_type))))
                    .await;
                return;
            }
            let text = if faults.malformed_frame_at == Some(i) {
                (fault_frames.malformed)()
            } else {
                frame
            };
            if tx.send(Ok(Bytes::from(text))).await.is_err() {
                return; // the client went away
            }
        }
    });
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response_headers.extend(headers);
    response
}
