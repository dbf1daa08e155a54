//! The process's plumbing: what the public handle and the background tasks
//! share, the stdout reader that routes every line, the stderr tail and
//! the exit watcher.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

use crate::control::{self, PermissionHandler};
use crate::error::ClaudeError;
use crate::lines::LineReader;
use crate::mapper::Mapper;
use crate::reap;
use crate::turn::ClaudeEvent;
use crate::wire::{CliMessage, ControlResponseBody};

/// How much of stderr `Exited` reports.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// After stdout closes, how long the process may take to exit before its
/// group is killed (stdout closing means it is on its way out).
const EXIT_AFTER_EOF: Duration = Duration::from_secs(5);

type Reply = Result<Value, String>;

pub(crate) struct Shared {
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    /// Our requests awaiting their `control_response`, by request id.
    pending: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    /// Tasks answering the CLI's requests, for `control_cancel_request`.
    inflight: Mutex<HashMap<String, AbortHandle>>,
    session_id: Mutex<Option<String>>,
    next_request: AtomicU64,
    pub users_sent: AtomicU64,
    /// `result` messages seen so far.
    pub results: watch::Sender<u64>,
    /// The ordinal of the result that ends the turn we interrupted (0: none).
    pub interrupt_for: AtomicU64,
    /// `Some(exit code)` once the process was reaped.
    pub exit: watch::Sender<Option<Option<i32>>>,
    pub permissions: Arc<dyn PermissionHandler>,
    pub pgid: Pid,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked holder leaves plain maps behind: still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(stdin: ChildStdin, permissions: Arc<dyn PermissionHandler>, pgid: Pid) -> Self {
        Self {
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            pending: Mutex::default(),
            inflight: Mutex::default(),
            session_id: Mutex::default(),
            next_request: AtomicU64::new(1),
            users_sent: AtomicU64::new(0),
            results: watch::Sender::new(0),
            interrupt_for: AtomicU64::new(0),
            exit: watch::Sender::new(None),
            permissions,
            pgid,
        }
    }

    pub fn session_id(&self) -> Option<String> {
        lock(&self.session_id).clone()
    }

    pub fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Writes one NDJSON line; the lock keeps concurrent lines whole.
    pub async fn write_line(&self, value: &Value) -> Result<(), ClaudeError> {
        let mut line = serde_json::to_vec(value)
            .map_err(|e| ClaudeError::Protocol(format!("cannot encode a message: {e}")))?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let Some(pipe) = stdin.as_mut() else {
            return Err(ClaudeError::Protocol("stdin is already closed".into()));
        };
        pipe.write_all(&line).await?;
        pipe.flush().await?;
        Ok(())
    }

    /// Closing stdin is how the CLI is asked to finish.
    pub async fn close_stdin(&self) {
        self.stdin.lock().await.take();
    }

    /// Sends a host → CLI control request and waits for its response.
    pub async fn request(&self, body: Value, timeout: Duration) -> Result<Value, ClaudeError> {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        let id = format!("req_{n}_agentd");
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        let line = json!({"type": "control_request", "request_id": id, "request": body});
        if let Err(err) = self.write_line(&line).await {
            lock(&self.pending).remove(&id);
            return Err(err);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(error))) => Err(ClaudeError::Protocol(error)),
            Ok(Err(_closed)) => Err(ClaudeError::Exited {
                code: self.exit.borrow().flatten(),
                stderr_tail: String::new(),
            }),
            Err(_elapsed) => {
                lock(&self.pending).remove(&id);
                Err(ClaudeError::Protocol(format!(
                    "no answer to control request {id} within {timeout:?}"
                )))
            }
        }
    }

    pub fn track_inflight(&self, id: String, task: AbortHandle) {
        if !task.is_finished() {
            lock(&self.inflight).insert(id, task);
        }
    }

    pub fn forget_inflight(&self, id: &str) {
        lock(&self.inflight).remove(id);
    }

    /// SIGKILL to the CLI and everything it started. Once the CLI is reaped
    /// its tree cannot be found any more; its group still can.
    pub fn kill_all(&self) {
        if !self.has_exited() {
            reap::kill_tree(self.pgid);
            return;
        }
        match killpg(self.pgid, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(err) => tracing::warn!(error = %err, "claude: cannot kill the process group"),
        }
    }

    fn on_control_response(&self, body: ControlResponseBody) {
        let (id, reply) = match body {
            ControlResponseBody::Success {
                request_id,
                response,
            } => (request_id, Ok(response)),
            ControlResponseBody::Error { request_id, error } => (request_id, Err(error)),
        };
        match lock(&self.pending).remove(&id) {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None => tracing::debug!(%id, "claude: response to no request of ours"),
        }
    }
}

/// Starts the tasks that own the child's pipes and exit status.
pub(crate) fn start(
    shared: Arc<Shared>,
    child: Child,
    stdout: ChildStdout,
    stderr: ChildStderr,
    mapper: Mapper,
    events: mpsc::UnboundedSender<ClaudeEvent>,
) {
    tokio::spawn(wait_exit(shared.clone(), child));
    let stderr_tail = tokio::spawn(read_stderr(stderr));
    tokio::spawn(read_stdout(shared, stdout, stderr_tail, mapper, events));
}

async fn wait_exit(shared: Arc<Shared>, mut child: Child) {
    let code = match child.wait().await {
        Ok(status) => status.code(),
        Err(err) => {
            tracing::warn!(error = %err, "claude: cannot wait for the process");
            None
        }
    };
    shared.exit.send_replace(Some(code));
}

async fn read_stderr(mut stderr: ChildStderr) -> String {
    let mut tail = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tracing::debug!(target: "agentd_claude::stderr", "{}", String::from_utf8_lossy(&chunk[..n]));
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > 2 * STDERR_TAIL_BYTES {
                    tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                }
            }
        }
    }
    let start = tail.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&tail[start..]).into_owned()
}

async fn read_stdout(
    shared: Arc<Shared>,
    stdout: ChildStdout,
    stderr_tail: JoinHandle<String>,
    mut mapper: Mapper,
    events: mpsc::UnboundedSender<ClaudeEvent>,
) {
    let mut lines = LineReader::new(BufReader::new(stdout));
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                tracing::warn!(error = %err, "claude: reading stdout failed");
                break;
            }
        };
        let message = match CliMessage::parse(line) {
            Ok(message) => message,
            Err(err) => {
                let preview = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
                tracing::warn!(error = %err, %preview, "claude: stdout line is not JSON");
                continue;
            }
        };
        route(&shared, &mut mapper, message, &events);
    }
    // Whatever we were waiting for will not come.
    lock(&shared.pending).clear();
    let mut exit = shared.exit.subscribe();
    if tokio::time::timeout(EXIT_AFTER_EOF, exit.wait_for(Option::is_some))
        .await
        .is_err()
    {
        tracing::warn!("claude: stdout closed but the process lives on; killing it");
        shared.kill_all();
        let _ = exit.wait_for(Option::is_some).await;
    }
    let code = exit.borrow().flatten();
    let stderr_tail = tokio::time::timeout(Duration::from_secs(2), stderr_tail)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for event in mapper.finish(Instant::now()) {
        let _ = events.send(event);
    }
    let _ = events.send(ClaudeEvent::Exited { code, stderr_tail });
}

fn route(
    shared: &Arc<Shared>,
    mapper: &mut Mapper,
    message: CliMessage,
    events: &mpsc::UnboundedSender<ClaudeEvent>,
) {
    match message {
        CliMessage::ControlResponse(response) => shared.on_control_response(response.response),
        CliMessage::ControlRequest(request) => control::dispatch(shared, request),
        CliMessage::ControlCancelRequest(cancel) => {
            if let Some(task) = lock(&shared.inflight).remove(&cancel.request_id) {
                task.abort();
            }
        }
        message => {
            let is_result = matches!(message, CliMessage::Result(_));
            let ordinal = *shared.results.borrow() + 1;
            let interrupted = is_result && shared.interrupt_for.load(Ordering::SeqCst) == ordinal;
            for event in mapper.on_message(message, Instant::now(), interrupted) {
                // A dropped receiver only means nobody listens any more.
                let _ = events.send(event);
            }
            if let Some(id) = mapper.session_id() {
                let mut slot = lock(&shared.session_id);
                if slot.as_deref() != Some(id) {
                    *slot = Some(id.to_owned());
                }
            }
            if is_result {
                shared.results.send_replace(ordinal);
            }
        }
    }
}
