//! What every fake's HTTP side shares: [`FakeServer`] binds a listener on
//! 127.0.0.1, serves the fake's router in the background and stops when
//! dropped; on the way in, each request is recorded whole
//! ([`RecordedRequest`]) before the fake's own routes see it, so tests can
//! assert on exactly what a client sent.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Paths under this prefix script the fake (the model fakes' control
/// endpoints); they are not recorded.
const CONTROL_PREFIX: &str = "/__testkit/";

/// The largest body a fake reads; each fake applies its API's own limit
/// after recording.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One request as a fake received it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the query string.
    pub path: String,
    /// Decoded query parameters (`head=octo:feature`, not `octo%3Afeature`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Lowercased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The JSON body; a form body (`application/x-www-form-urlencoded`) as
    /// an object of its fields; `Null` when empty; else a string.
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut recorded_headers = BTreeMap::<String, String>::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            recorded_headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let form = is_form.then(|| decode_pairs(&String::from_utf8_lossy(body)));
        let body = match (form.flatten(), serde_json::from_slice::<Value>(body)) {
            (Some(fields), _) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
            (None, Ok(json)) => json,
            (None, Err(_)) if body.is_empty() => Value::Null,
            (None, Err(_)) => Value::String(String::from_utf8_lossy(body).into_owned()),
        };
        Self {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().and_then(decode_pairs).unwrap_or_default(),
            headers: recorded_headers,
            body,
        }
    }
}

/// `a=1&b=x%20y` → {a: 1, b: x y}, as a query string or a form body.
fn decode_pairs(pairs: &str) -> Option<BTreeMap<String, String>> {
    let uri = format!("/?{pairs}").parse::<Uri>().ok()?;
    Query::<BTreeMap<String, String>>::try_from_uri(&uri)
        .ok()
        .map(|Query(map)| map)
}

/// The `request-id` a fake answers with: `req_testkit_0001` for the first
/// request recorded since the last reset. Set on each recorded request's
/// extensions for the fake's handlers.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub String);

/// Every request a fake received, in arrival order.
#[derive(Default)]
pub(crate) struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
    /// The number recorded, for waiting on arrivals.
    count: watch::Sender<usize>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        // A panicking test thread must not take every later request down with it.
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the request; returns how many there are now.
    fn record(&self, request: RecordedRequest) -> usize {
        let count = {
            let mut requests = self.lock();
            requests.push(request);
            requests.len()
        };
        self.count.send_replace(count);
        count
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    pub fn reset(&self) {
        self.lock().clear();
        self.count.send_replace(0);
    }

    /// Resolves once at least `n` requests were recorded, or after `timeout`.
    async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let mut count = self.count.subscribe();
        tokio::time::timeout(timeout, count.wait_for(|c| *c >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// Records the request (unless it is a control request), then hands it on.
async fn record(State(recorder): State<Arc<Recorder>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let number = recorder.record(RecordedRequest::new(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bytes,
    ));
    parts
        .extensions
        .insert(RequestId(format!("req_testkit_{number:04}")));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Where tests start fakes: any free port on the loopback interface.
pub(crate) const LOCAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// A started fake, or a panic saying which could not bind (fakes are test
/// helpers).
pub(crate) fn started<T>(name: &str, bound: std::io::Result<T>) -> T {
    match bound {
        Ok(fake) => fake,
        Err(err) => panic!("testkit: cannot bind the fake {name} server: {err}"),
    }
}

/// A fake's server: its router on a local port, every request recorded.
/// Stops when dropped.
pub(crate) struct FakeServer {
    /// Which fake, for messages.
    name: &'static str,
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Binds `addr` and serves the router `app` builds for the bound
    /// address. `recorder` is the fake's, shared with its state so its
    /// reset can clear it.
    pub async fn bind(
        name: &'static str,
        addr: SocketAddr,
        recorder: Arc<Recorder>,
        app: impl FnOnce(SocketAddr) -> Router,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = app(addr).layer(middleware::from_fn_with_state(recorder.clone(), record));
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(nodelay(listener), app).await {
                tracing::error!(error = %err, "testkit: fake {name} server stopped");
            }
        });
        Ok(Self {
            name,
            addr,
            recorder,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received (control requests excluded), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorder.requests()
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        if !self.recorder.wait_for(n, timeout).await {
            let seen = self.requests().len();
            let name = self.name;
            panic!("testkit: expected {n} {name} requests within {timeout:?}, got {seen}");
        }
        self.requests()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Adds scripted response headers, skipping any that are not valid HTTP.
pub(crate) fn insert_headers<'a>(
    headers: &mut HeaderMap,
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.insert(name, value);
        }
    }
}

/// The listener every fake serves on, with TCP_NODELAY on each connection:
/// the real APIs flush each streamed event at once, and without it every
/// small SSE frame would wait ~40 ms on Nagle's algorithm and delayed ACKs.
fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    })
}
