//! Running one command in its own process group and making sure that, however
//! it ends, nothing in that group outlives the tool call.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::decode::Utf8Decoder;
use crate::context::{OutputChunk, OutputSink, OutputStream, ToolContext};
use crate::truncate::HeadTail;

/// Between SIGTERM and SIGKILL: time for well-behaved programs to clean up,
/// short enough that a cancel is felt within a second.
const TERM_GRACE: Duration = Duration::from_millis(300);
/// How often the group is checked for exit during the grace period.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// After the shell exits, how long background processes holding its pipes may
/// keep writing before they are killed.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// After SIGKILL: time for the kernel to tear the group down (and init to reap
/// orphans), and for the last output in the pipes to be read.
const KILL_WAIT: Duration = Duration::from_millis(150);
const READ_BUFFER: usize = 8 * 1024;

pub(super) enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

pub(super) struct Finished {
    pub ending: Ending,
    /// Combined stdout and stderr in arrival order, already capped.
    pub output: String,
    /// Background processes were still running when the shell exited.
    pub killed_leftovers: bool,
}

pub(super) async fn run(
    command: &str,
    timeout: Duration,
    ctx: &ToolContext,
) -> io::Result<Finished> {
    let args = ["-c".to_owned(), command.to_owned()];
    let mut cmd = ctx.launcher.command("bash", &args, ctx.workspace.root());
    // Its own group, so one killpg reaches every process the command starts.
    cmd.process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let group = GroupGuard::new(&child);

    let (tx, rx) = mpsc::unbounded_channel();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(tokio::spawn(read_pipe(
            stdout,
            OutputStream::Stdout,
            tx.clone(),
        )));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(tokio::spawn(read_pipe(stderr, OutputStream::Stderr, tx)));
    }
    let forwarder = tokio::spawn(forward(
        rx,
        ctx.output.clone(),
        HeadTail::new(ctx.limits.max_output_chars),
    ));

    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status?),
        () = ctx.cancel.cancelled() => Ending::Cancelled,
        () = tokio::time::sleep(timeout) => Ending::TimedOut,
    };
    let mut killed_leftovers = false;
    match ending {
        Ending::Exited(_) => {
            // Pipes still open after the grace: a live background process holds
            // them. (Quiet leftovers, e.g. `sleep 9 >/dev/null &`, are killed
            // without a note: a just-exited zombie would make any note a guess.)
            let drained = join_within(&mut readers, DRAIN_GRACE).await;
            killed_leftovers = !drained && group.is_alive();
            group.kill().await;
        }
        Ending::TimedOut | Ending::Cancelled => group.terminate(&mut child).await,
    }
    // Once the group is dead its pipes are closed and the readers end at once;
    // a process that left the group (setsid) could keep them open, so bound it.
    if !join_within(&mut readers, KILL_WAIT).await {
        readers.iter().for_each(JoinHandle::abort);
    }
    group.disarm();
    let output = match forwarder.await {
        Ok(kept) => kept.finish(),
        Err(err) => {
            tracing::error!(error = %err, "bash output forwarder failed");
            String::new()
        }
    };
    Ok(Finished {
        ending,
        output,
        killed_leftovers,
    })
}

/// True if every reader finished within `limit`. Finished readers are removed,
/// so a later call never polls a completed handle again.
async fn join_within(readers: &mut Vec<JoinHandle<()>>, limit: Duration) -> bool {
    let all = async {
        while let Some(reader) = readers.last_mut() {
            let _ = reader.await;
            readers.pop();
        }
    };
    tokio::time::timeout(limit, all).await.is_ok()
}

async fn read_pipe(
    mut pipe: impl AsyncRead + Unpin,
    stream: OutputStream,
    tx: mpsc::UnboundedSender<OutputChunk>,
) {
    let mut buf = vec![0_u8; READ_BUFFER];
    let mut decoder = Utf8Decoder::default();
    loop {
        let text = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => decoder.push(&buf[..n]),
        };
        if !text.is_empty() && tx.send(OutputChunk { stream, text }).is_err() {
            return;
        }
    }
    let rest = decoder.finish();
    if !rest.is_empty() {
        let _ = tx.send(OutputChunk { stream, text: rest });
    }
}

/// Collects output for the outcome and streams it live; ends when both pipes close.
async fn forward(
    mut rx: mpsc::UnboundedReceiver<OutputChunk>,
    sink: Option<OutputSink>,
    mut kept: HeadTail,
) -> HeadTail {
    while let Some(chunk) = rx.recv().await {
        kept.push(&chunk.text);
        if let Some(sink) = &sink {
            // Nobody watching any more is no reason to stop the command.
            let _ = sink.send(chunk);
        }
    }
    kept
}

/// The command's process group. If the tool call is dropped mid-flight
/// (rather than cancelled), dropping the guard still kills the whole group;
/// `kill_on_drop` alone would only reach the shell.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn new(child: &Child) -> Self {
        // With process_group(0) the group id is the shell's pid.
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        Self { pgid }
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            match killpg(pgid, signal) {
                // ESRCH: the group is already gone, which is what we want.
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(err) => tracing::warn!(%pgid, ?signal, error = %err, "killpg failed"),
            }
        }
    }

    /// Whether any process (zombies included) is still in the group.
    fn is_alive(&self) -> bool {
        self.pgid.is_some_and(|pgid| killpg(pgid, None).is_ok())
    }

    /// SIGTERM the group, SIGKILL whatever is left after the grace, reap the shell.
    async fn terminate(&self, child: &mut Child) {
        self.signal(Signal::SIGTERM);
        // Reaping the shell matters: as a zombie it would keep the group alive.
        self.wait_until_gone(TERM_GRACE, || {
            let _ = child.try_wait();
        })
        .await;
        self.signal(Signal::SIGKILL);
        let _ = child.wait().await;
        self.wait_until_gone(KILL_WAIT, || {}).await;
    }

    /// SIGKILL the group (the shell is already reaped) and wait for it to vanish.
    async fn kill(&self) {
        self.signal(Signal::SIGKILL);
        self.wait_until_gone(KILL_WAIT, || {}).await;
    }

    async fn wait_until_gone(&self, limit: Duration, mut each_poll: impl FnMut()) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            each_poll();
            if !self.is_alive() || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The group is dead; its id may be reused, so never signal it again.
    fn disarm(mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}
