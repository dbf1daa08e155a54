//! `agentd run`: one task in the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use agentd_protocol::{
    CreateSessionRequest, EventData, Runtime, SessionStatus, TurnStopReason, WorkspaceSpec,
};
use anyhow::{Context, Result, bail};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;

use crate::config::{CommonArgs, Config};
use crate::render::Renderer;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The directory the agent works in (default: the current directory).
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    #[arg(long, value_parser = ["builtin", "claude-code"], default_value = "builtin")]
    pub runtime: String,
    /// Print event envelopes as NDJSON instead of text for people.
    #[arg(long)]
    pub json: bool,
    /// What the agent should do.
    #[arg(required = true)]
    pub prompt: Vec<String>,
}

pub async fn run(args: RunArgs) -> Result<ExitCode> {
    if std::env::var_os("AGENTD_LOG").is_some() {
        crate::serve::init_tracing();
    }
    let config = Config::load(&args.common, None)?;
    let workspace = match &args.workspace {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let workspace = std::fs::canonicalize(&workspace)
        .with_context(|| format!("workspace {} does not exist", workspace.display()))?;
    let runtime: Runtime = args.runtime.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let manager = crate::config::open_engine(&config, false, None).await?;
    let request = CreateSessionRequest {
        prompt: args.prompt.join(" "),
        workspace: WorkspaceSpec::Path {
            path: workspace.to_string_lossy().into_owned(),
        },
        runtime: Some(runtime),
        model: None,
        permission_mode: args.common.permission_mode,
        title: None,
        max_turns: None,
        budget: None,
        settings: None,
        mcp_servers: None,
    };
    let session = manager.create_session(request, None).await?;
    let id = session.id;
    let mut live = manager.subscribe(id);
    let mut renderer = Renderer::new(args.json);
    let mut last = 0;
    let mut stop: Option<TurnStopReason> = None;
    let mut denied = 0;
    let mut history = manager.read_events(id, 0, 10_000).await?;
    loop {
        for envelope in history.drain(..) {
            if envelope.seq <= last {
                continue;
            }
            last = envelope.seq;
            renderer.show(&envelope);
            match &envelope.event {
                EventData::PermissionRequested(request) => {
                    crate::approve::in_terminal(&manager, id, request).await;
                }
                // Nobody is there to raise the budget and resume: stop.
                EventData::BudgetExceeded(_) => {
                    manager.cancel(id).await?;
                }
                EventData::TurnCompleted(done) => {
                    stop = Some(done.stop_reason);
                    denied = done.denied;
                }
                EventData::SessionStatus(s) if stop.is_some() && !s.status.is_active() => {
                    return Ok(finish(&manager, id, s.status, stop, denied).await);
                }
                _ => {}
            }
        }
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => history.push(event.envelope.clone()),
                Err(RecvError::Lagged(_)) => history = manager.read_events(id, last, 10_000).await?,
                Err(RecvError::Closed) => bail!("the session's event stream closed"),
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ncancelling…");
                manager.cancel(id).await?;
                history = manager.read_events(id, last, 10_000).await?;
                for envelope in history.drain(..) {
                    renderer.show(&envelope);
                }
                return Ok(ExitCode::from(130));
            }
        }
    }
}

async fn finish(
    manager: &agentd_core::SessionManager,
    id: agentd_protocol::SessionId,
    status: SessionStatus,
    stop: Option<TurnStopReason>,
    denied: u32,
) -> ExitCode {
    let session = manager.get_session(id).await.ok();
    let usage = session.as_ref().map(|s| s.usage).unwrap_or_default();
    if let Some(branch) = session.as_ref().and_then(|s| s.branch.as_deref()) {
        // In a repository the agent worked in its own worktree.
        let path = session
            .as_ref()
            .map(|s| s.workspace_path.as_str())
            .unwrap_or("");
        eprintln!("\nthe work is on branch {branch} in {path}");
    }
    eprintln!(
        "\n[{status}] tokens in {} (cache read {}, write {}), out {}, cost ${:.4}",
        usage.input_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.output_tokens,
        usage.cost_usd
    );
    match stop {
        Some(TurnStopReason::EndTurn) if denied > 0 => {
            eprintln!("agentd: {denied} tool call(s) were denied; the task may be incomplete");
            ExitCode::from(2)
        }
        Some(TurnStopReason::EndTurn) => ExitCode::SUCCESS,
        Some(other) => {
            eprintln!("agentd: the turn ended with {other:?}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
