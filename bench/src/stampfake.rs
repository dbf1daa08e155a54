//! A minimal Anthropic Messages fake for the timing benchmarks. The
//! testkit's fake renders a scripted reply before it streams it, so it
//! cannot put the *emission* time into a delta; this one stamps each text
//! delta (`@@ts=<ns since the bench started>;`) as it writes it, holds the
//! deltas behind a gate until every subscriber is connected, and records
//! when each request arrived (task-start timing). It also serves scripted
//! turns (text and tool calls) and records the request bodies, for the
//! runtime benchmark. Same wire format as the API: `event:`/`data:` SSE
//! frames, message_start … message_stop.
//!
//! Unlike the testkit's fake it sets TCP_NODELAY: streaming a reply is many
//! small writes, and with Nagle's algorithm each one after the first waits
//! for the client's delayed ACK (~40 ms per request on Linux loopback),
//! which would be charged to agentd.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

pub const STAMP: &str = "@@ts=";
pub const END_MARK: &str = "@@end";

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call: one monotonic clock for the fake (the
/// sender) and the subscribers (the receivers), both in this process.
pub fn now_ns() -> u64 {
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What the next requests get.
#[derive(Clone, Debug)]
pub enum Script {
    /// "ok" at once, end_turn.
    Instant,
    /// After the gate opens: `deltas` stamped text deltas `interval` apart,
    /// then the end mark.
    Stamped { deltas: usize, interval: Duration },
    /// The queued turns (see [`StampFake::push_turn`]) in order, then "ok".
    Turns,
}

struct Shared {
    script: Mutex<Script>,
    gate: watch::Sender<bool>,
    arrivals: Mutex<Vec<Instant>>,
    turns: Mutex<VecDeque<Vec<Value>>>,
    bodies: Mutex<Vec<Value>>,
    tool_ids: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct StampFake {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl StampFake {
    pub async fn start(script: Script) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            gate: watch::Sender::new(false),
            arrivals: Mutex::new(Vec::new()),
            turns: Mutex::new(VecDeque::new()),
            bodies: Mutex::new(Vec::new()),
            tool_ids: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_script(&self, script: Script) {
        *self
            .shared
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = script;
    }

    pub fn set_gate(&self, open: bool) {
        self.shared.gate.send_replace(open);
    }

    /// Queues one assistant turn: content blocks like
    /// `{"type": "text", "text": …}` or `{"type": "tool_use", "name": …, "input": …}`.
    pub fn push_turn(&self, blocks: Vec<Value>) {
        lock(&self.shared.turns).push_back(blocks);
    }

    /// The JSON bodies of every `POST /v1/messages` so far.
    pub fn bodies(&self) -> Vec<Value> {
        lock(&self.shared.bodies).clone()
    }

    /// Forgets queued turns and recorded bodies.
    pub fn reset(&self) {
        lock(&self.shared.turns).clear();
        lock(&self.shared.bodies).clear();
    }

    /// Arrival times of every `POST /v1/messages` so far.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.shared
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StampFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn text_delta(text: &str) -> Bytes {
    frame(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
    )
}

/// The frames of one scripted turn after message_start.
fn turn_frames(blocks: &[Value], shared: &Shared) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut stop = "end_turn";
    for (index, b) in blocks.iter().enumerate() {
        let delta = |d: Value| {
            frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": d}),
            )
        };
        if b["type"] == "tool_use" {
            stop = "tool_use";
            let id = format!(
                "toolu_bench_{}",
                shared.tool_ids.fetch_add(1, Ordering::Relaxed)
            );
            let start = json!({"type": "tool_use", "id": id, "name": b["name"], "input": {}});
            out.push(frame(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            out.push(delta(
                json!({"type": "input_json_delta", "partial_json": b["input"].to_string()}),
            ));
        } else {
            let start = json!({"type": "text", "text": ""});
            out.push(frame(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            out.push(delta(json!({"type": "text_delta", "text": b["text"]})));
        }
        out.push(frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    out.push(frame(
        "message_delta",
        &json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 10}}),
    ));
    out.push(frame("message_stop", &json!({"type": "message_stop"})));
    out
}

async fn messages(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        lock(&shared.bodies).push(v);
    }
    shared
        .arrivals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Instant::now());
    let script = shared
        .script
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut gate = shared.gate.subscribe();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let usage = json!({"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
        let start = json!({"type": "message_start", "message": {"id": "msg_bench", "type": "message",
            "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage}});
        let block = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        let mut frames = vec![
            frame("message_start", &start),
            frame("content_block_start", &block),
        ];
        match script {
            Script::Turns => {
                let turn = lock(&shared.turns).pop_front();
                let blocks = turn.unwrap_or_else(|| vec![json!({"type": "text", "text": "ok"})]);
                let mut all = vec![frame("message_start", &start)];
                all.extend(turn_frames(&blocks, &shared));
                for f in all {
                    if tx.send(Ok(f)).await.is_err() {
                        return;
                    }
                }
                return;
            }
            Script::Instant => frames.push(text_delta("ok")),
            Script::Stamped { deltas, interval } => {
                for f in frames.drain(..) {
                    if tx.send(Ok(f)).await.is_err() {
                        return;
                    }
                }
                // Hold the deltas until every subscriber is connected; pings
                // keep the client's idle timeout from firing meanwhile.
                let waited = Instant::now();
                while !*gate.borrow_and_update() && waited.elapsed() < Duration::from_secs(120) {
                    let _ = tokio::time::timeout(Duration::from_secs(1), gate.changed()).await;
                    if tx
                        .send(Ok(frame("ping", &json!({"type": "ping"}))))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                for _ in 0..deltas {
                    if !interval.is_zero() {
                        tokio::time::sleep(interval).await;
                    }
                    let text = format!("{STAMP}{}; ", now_ns());
                    if tx.send(Ok(text_delta(&text))).await.is_err() {
                        return;
                    }
                }
                frames.push(text_delta(END_MARK));
            }
        }
        frames.push(frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 0}),
        ));
        frames.push(frame(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": 10}}),
        ));
        frames.push(frame("message_stop", &json!({"type": "message_stop"})));
        for f in frames {
            if tx.send(Ok(f)).await.is_err() {
                return;
            }
        }
    });
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    if let Ok(v) = "text/event-stream; charset=utf-8".parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = "req_bench".parse() {
        response.headers_mut().insert("request-id", v);
    }
    response
}
