//! [`ClaudeProcess`]: one live CLI process, i.e. one live agentd session
//! over many turns.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::mpsc;

use crate::command::{self, SpawnOptions};
use crate::control::PermissionHandler;
use crate::discover::ClaudeCli;
use crate::error::ClaudeError;
use crate::mapper::Mapper;
use crate::pump::{self, Shared};
use crate::reap::Snapshot;
use crate::turn::ClaudeEvent;

/// The SDK's initialize timeout: a cold start of the CLI (plugins, MCP
/// servers) can take tens of seconds.
const INITIALIZE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a closed stdin gets to end the process before its group is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

pub struct ClaudeProcess {
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<ClaudeEvent>,
    /// Events that arrived while `spawn` waited for `initialize`.
    early: VecDeque<ClaudeEvent>,
}

impl ClaudeProcess {
    /// Starts the CLI in its own process group and completes the
    /// `initialize` handshake. A CLI that exits first (a bad flag, a broken
    /// install) gives [`ClaudeError::Exited`] with its stderr.
    pub async fn spawn(
        cli: &ClaudeCli,
        opts: SpawnOptions,
        permissions: Arc<dyn PermissionHandler>,
    ) -> Result<Self, ClaudeError> {
        let is_root = nix::unistd::geteuid().is_root();
        let hooks = command::initialize_hooks(&opts);
        let spawn_error = |source| ClaudeError::Spawn {
            path: cli.path.clone(),
            source,
        };
        let args = command::args(&opts);
        let mut cmd = match &opts.launcher {
            Some(launcher) => launcher
                .command(&cli.path, &args, command::launcher_env(&opts), &opts.cwd)
                .map_err(|e| spawn_error(std::io::Error::other(e)))?,
            None => {
                let mut cmd = tokio::process::Command::new(&cli.path);
                cmd.args(args)
                    .env_clear()
                    .envs(command::env(std::env::vars_os(), &opts, is_root))
                    .current_dir(&opts.cwd);
                cmd
            }
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own group, so a kill reaches helpers that stay in it (tool
            // commands leave it: see `reap`).
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr), Some(pid)) =
            (pipes.0, pipes.1, pipes.2, child.id())
        else {
            return Err(spawn_error(std::io::Error::other("the child has no pipes")));
        };
        let pgid = Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
        let shared = Arc::new(Shared::new(stdin, permissions, pgid));
        let (tx, events) = mpsc::unbounded_channel();
        pump::start(
            shared.clone(),
            child,
            stdout,
            stderr,
            Mapper::new(opts.cwd),
            tx,
        );
        let mut process = Self {
            shared,
            events,
            early: VecDeque::new(),
        };
        match process.initialize(hooks).await {
            Ok(()) => Ok(process),
            Err(err) => {
                process.shared.kill_all();
                Err(err)
            }
        }
    }

    async fn initialize(&mut self, hooks: serde_json::Value) -> Result<(), ClaudeError> {
        let shared = self.shared.clone();
        let init = async move {
            let body = json!({"subtype": "initialize", "hooks": hooks});
            shared.request(body, INITIALIZE_TIMEOUT).await
        };
        tokio::pin!(init);
        let failure = loop {
            tokio::select! {
                result = &mut init => match result {
                    Ok(_) => return Ok(()),
                    Err(err) => break err,
                },
                event = self.events.recv() => match event {
                    Some(ClaudeEvent::Exited { code, stderr_tail }) => {
                        return Err(ClaudeError::Exited { code, stderr_tail });
                    }
                    Some(event) => self.early.push_back(event),
                    None => break ClaudeError::Exited { code: None, stderr_tail: String::new() },
                },
            }
        };
        // A failed write or a dropped request usually means the CLI died:
        // its exit code and stderr say why better than EPIPE does.
        let exited = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(event) = self.events.recv().await {
                if let ClaudeEvent::Exited { code, stderr_tail } = event {
                    return Some(ClaudeError::Exited { code, stderr_tail });
                }
            }
            None
        });
        Err(exited.await.ok().flatten().unwrap_or(failure))
    }

    /// Sends one user message: the next turn (the CLI queues it when a turn
    /// is running).
    pub async fn send_user(&self, text: &str) -> Result<(), ClaudeError> {
        let line = json!({
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": null,
            "session_id": "default",
        });
        self.shared.users_sent.fetch_add(1, Ordering::SeqCst);
        match self.shared.write_line(&line).await {
            Ok(()) => Ok(()),
            Err(err) => {
                self.shared.users_sent.fetch_sub(1, Ordering::SeqCst);
                Err(match *self.shared.exit.borrow() {
                    Some(code) => ClaudeError::Exited {
                        code,
                        stderr_tail: String::new(),
                    },
                    None => err,
                })
            }
        }
    }

    /// The next event; `None` once the process is gone and every event was read.
    pub async fn next(&mut self) -> Option<ClaudeEvent> {
        match self.early.pop_front() {
            Some(event) => Some(event),
            None => self.events.recv().await,
        }
    }

    /// Asks the CLI to stop the running turn (its `TurnEnded` then reports
    /// `Cancelled`). If the turn has not ended within `grace`, the process
    /// and everything it started are killed and `Exited` follows instead. Without a running turn
    /// this only tells the CLI, which ignores it.
    pub async fn interrupt(&self, grace: Duration) -> Result<(), ClaudeError> {
        let deadline = tokio::time::Instant::now() + grace;
        let results = *self.shared.results.borrow();
        let in_turn = self.shared.users_sent.load(Ordering::SeqCst) > results;
        if in_turn {
            self.shared
                .interrupt_for
                .store(results + 1, Ordering::SeqCst);
        }
        let asked = self
            .shared
            .request(json!({"subtype": "interrupt"}), grace)
            .await;
        if let Err(err) = &asked {
            // Not fatal: the deadline below still ends the turn.
            tracing::warn!(error = %err, "claude: interrupt request failed");
        }
        if !in_turn || self.shared.has_exited() {
            return Ok(());
        }
        let mut seen = self.shared.results.subscribe();
        let mut exit = self.shared.exit.subscribe();
        let ended = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                _ = seen.wait_for(|n| *n > results) => {}
                _ = exit.wait_for(Option::is_some) => {}
            }
        })
        .await;
        if ended.is_err() {
            tracing::warn!(
                ?grace,
                "claude: turn did not stop after interrupt; killing the process group"
            );
            self.shared.kill_all();
        }
        Ok(())
    }

    /// From `system/init` (known once the first turn starts) or the latest result.
    pub fn claude_session_id(&self) -> Option<String> {
        self.shared.session_id()
    }

    /// The CLI's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        u32::try_from(self.shared.pgid.as_raw()).unwrap_or_default()
    }

    /// Live processes the CLI started (tool commands, MCP servers), by pid.
    pub fn descendants(&self) -> Vec<u32> {
        crate::reap::descendants(self.shared.pgid.as_raw())
            .into_iter()
            .filter_map(|pid| u32::try_from(pid).ok())
            .collect()
    }

    /// Closes stdin (the CLI's signal to finish), waits briefly, then kills
    /// whatever is left of it, so background commands of its tools die too.
    pub async fn shutdown(self) {
        // Once the CLI exits, what it leaves behind is re-parented and can
        // no longer be found from it.
        let started = (!self.shared.has_exited()).then(|| Snapshot::take(self.shared.pgid));
        self.shared.close_stdin().await;
        let mut exit = self.shared.exit.subscribe();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, exit.wait_for(Option::is_some)).await;
        self.shared.kill_all();
        if let Some(started) = started {
            started.kill_survivors();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), exit.wait_for(Option::is_some)).await;
    }
}

impl Drop for ClaudeProcess {
    fn drop(&mut self) {
        // Dropped without shutdown: leave no orphans behind.
        if !self.shared.has_exited() {
            self.shared.kill_all();
        }
    }
}

impl std::fmt::Debug for ClaudeProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaudeProcess")
            .field("pid", &self.pid())
            .field("session_id", &self.claude_session_id())
            .finish_non_exhaustive()
    }
}
