//! Running one command hook: `bash -c <command>` through the session's
//! launcher, the event JSON on stdin, killed as a group on timeout.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use agentd_tools::ProcessLauncher;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::HookStatus;

/// Output kept per stream; a hook printing more is misbehaving, and what
/// matters (JSON, a reason) is at the start.
const MAX_CAPTURE_BYTES: usize = 1024 * 1024;

pub(crate) struct CommandRun {
    pub status: HookStatus,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) async fn run(
    command: &str,
    input: &[u8],
    timeout: Duration,
    launcher: &dyn ProcessLauncher,
    cwd: &Path,
    env: &[(String, String)],
) -> CommandRun {
    // The command comes from settings, never from tool input; tool input
    // reaches the hook only as JSON on stdin.
    let args = ["-c".to_owned(), command.to_owned()];
    let mut cmd = launcher.command("bash", &args, cwd);
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout kill reaches everything it started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return CommandRun {
                status: HookStatus::SpawnFailed {
                    error: e.to_string(),
                },
                stdout: String::new(),
                stderr: String::new(),
            };
        }
    };
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let io = async {
        let write = async {
            if let Some(mut stdin) = stdin {
                // A hook that ignores its input may exit before reading it;
                // the broken pipe that causes is not an error.
                let _ = stdin.write_all(input).await;
            }
        };
        let (_, out, err, status) =
            tokio::join!(write, capture(stdout), capture(stderr), child.wait());
        (out, err, status)
    };
    let result = tokio::time::timeout(timeout, io).await;
    // Whatever the hook left running in its group goes too.
    if let Some(group) = group {
        let _ = killpg(group, Signal::SIGKILL);
    }
    match result {
        Ok((stdout, stderr, Ok(status))) => CommandRun {
            status: match status.code() {
                Some(code) => HookStatus::Exited { code },
                None => HookStatus::Signalled,
            },
            stdout,
            stderr,
        },
        Ok((stdout, stderr, Err(e))) => CommandRun {
            status: HookStatus::SpawnFailed {
                error: e.to_string(),
            },
            stdout,
            stderr,
        },
        Err(_) => {
            let _ = child.wait().await;
            CommandRun {
                status: HookStatus::TimedOut,
                stdout: String::new(),
                stderr: String::new(),
            }
        }
    }
}

async fn capture(stream: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_CAPTURE_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
