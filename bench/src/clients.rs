//! Subscribers like a real client's: an SSE stream or a WebSocket
//! subscription per subscriber, over loopback. They do not decode JSON:
//! they scan the bytes for the send stamps the model fake put in the
//! delta text (`@@ts=<ns>;`), which keeps the client's CPU cost per event
//! small next to the server's (both share this machine's cores).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::stampfake::{END_MARK, STAMP, now_ns};

/// A client that sends `Authorization: Bearer TOKEN` on every request.
pub fn http_client(token: &str) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(64)
        .build()?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Sse,
    Ws,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sse => "SSE",
            Self::Ws => "WebSocket",
        }
    }
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Send-to-receive latency of each stamped delta, in microseconds.
    pub latencies_us: Vec<f64>,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
    pub lagged: bool,
    pub ended: bool,
    pub error: Option<String>,
}

/// Finds stamps across chunk boundaries.
#[derive(Default)]
struct Scanner {
    carry: Vec<u8>,
}

impl Scanner {
    fn feed(&mut self, chunk: &[u8], seen: &mut Seen) {
        self.carry.extend_from_slice(chunk);
        let now = now_ns();
        let at = Instant::now();
        let mut buf = std::mem::take(&mut self.carry);
        // Events after the end mark repeat the stamps (the completed
        // message holds the whole text); a batched write can put them in the
        // same chunk as the last delta, so nothing past the mark counts.
        if let Some(end) = find(&buf, END_MARK.as_bytes()) {
            buf.truncate(end + END_MARK.len());
        }
        let mut pos = 0;
        while let Some(i) = find(&buf[pos..], STAMP.as_bytes()) {
            let start = pos + i + STAMP.len();
            let Some(j) = buf[start..].iter().position(|&b| b == b';') else {
                pos += i;
                break;
            };
            if let Some(sent) = std::str::from_utf8(&buf[start..start + j])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                seen.latencies_us
                    .push(now.saturating_sub(sent) as f64 / 1_000.0);
                seen.first.get_or_insert(at);
                seen.last = Some(at);
            }
            pos = start + j + 1;
        }
        if find(&buf, END_MARK.as_bytes()).is_some() {
            seen.ended = true;
        }
        if find(&buf, b"lagged").is_some() {
            seen.lagged = true;
        }
        // Keep what may be the start of a stamp split by the chunk boundary.
        let keep_from = if find(&buf[pos..], STAMP.as_bytes()).is_some() {
            pos
        } else {
            buf.len().saturating_sub(STAMP.len() + 24).max(pos)
        };
        self.carry = buf[keep_from..].to_vec();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Follows `session` until the end mark, a lag cut-off or `limit`.
/// Sends `()` on `ready` once the stream is open.
pub async fn subscribe(
    transport: Transport,
    base: String,
    token: String,
    http: reqwest::Client,
    session: String,
    ready: mpsc::Sender<()>,
    limit: Duration,
) -> Seen {
    let mut seen = Seen::default();
    let run = async {
        match transport {
            Transport::Sse => sse(&base, &http, &session, &ready, &mut seen).await,
            Transport::Ws => ws(&base, &token, &session, &ready, &mut seen).await,
        }
    };
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => seen.error = Some(format!("{e:#}")),
        Err(_) => seen.error = Some("timed out".into()),
    }
    seen
}

async fn sse(
    base: &str,
    http: &reqwest::Client,
    session: &str,
    ready: &mpsc::Sender<()>,
    seen: &mut Seen,
) -> Result<()> {
    let res = http
        .get(format!("{base}/api/v1/sessions/{session}/events"))
        .send()
        .await?
        .error_for_status()?;
    let _ = ready.send(()).await;
    let mut body = res.bytes_stream();
    let mut scanner = Scanner::default();
    while let Some(chunk) = body.next().await {
        scanner.feed(&chunk?, seen);
        if seen.ended || seen.lagged {
            return Ok(());
        }
    }
    Err(anyhow!("the stream ended before the end mark"))
}

async fn ws(
    base: &str,
    token: &str,
    session: &str,
    ready: &mpsc::Sender<()>,
    seen: &mut Seen,
) -> Result<()> {
    let url = format!("{}/api/v1/ws", base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .context("ws connect")?;
    let subscribe = format!(r#"{{"type":"subscribe","session_id":"{session}","after":0}}"#);
    socket.send(Message::text(subscribe)).await?;
    let mut scanner = Scanner::default();
    let mut subscribed = false;
    while let Some(msg) = socket.next().await {
        let text = match msg? {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        if !subscribed && text.as_str().contains("\"subscribed\"") {
            subscribed = true;
            let _ = ready.send(()).await;
            continue;
        }
        scanner.feed(text.as_bytes(), seen);
        if seen.ended || seen.lagged {
            let _ = socket.close(None).await;
            return Ok(());
        }
    }
    Err(anyhow!("the socket closed before the end mark"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_split_across_chunks_are_found_once() {
        let mut scanner = Scanner::default();
        let mut seen = Seen::default();
        scanner.feed(b"data: {\"text\":\"@@ts=1;x\"} @@t", &mut seen);
        scanner.feed(b"s=2", &mut seen);
        scanner.feed(b"3; and @@end", &mut seen);
        assert_eq!(seen.latencies_us.len(), 2);
        assert!(seen.ended);
        assert!(!seen.lagged);
    }

    #[test]
    fn stamps_after_the_end_mark_in_the_same_chunk_are_not_counted() {
        let mut scanner = Scanner::default();
        let mut seen = Seen::default();
        scanner.feed(b"@@ts=1; @@end\n\n{\"text\":\"@@ts=1; @@end\"}", &mut seen);
        assert_eq!(seen.latencies_us.len(), 1);
        assert!(seen.ended);
    }
}
