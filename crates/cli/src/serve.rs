//! `agentd serve`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tracing_subscriber::EnvFilter;

use crate::config::{CommonArgs, Config};

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on (default 127.0.0.1:7700; port 0 picks a free one).
    #[arg(long, env = "AGENTD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Largest file an upload may write, in bytes (default 25 MiB).
    #[arg(long, env = "AGENTD_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    #[command(flatten)]
    pub auth: crate::auth_args::AuthArgs,
    #[command(flatten)]
    pub webhooks: crate::serve_options::WebhookArgs,
    #[command(flatten)]
    pub cleanup: crate::serve_options::CleanupArgs,
    #[command(flatten)]
    pub connections: crate::serve_options::ConnectionArgs,
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    init_tracing();
    let open_files = raise_open_file_limit();
    args.auth.register_secrets();
    // Refuse bad auth and webhook settings before opening anything.
    args.auth.config()?;
    let config = Config::load(&args.common, args.listen)?;
    let webhooks = args.webhooks.config(&config.github_webhooks)?;
    let cleanup = args.cleanup.config(&config);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let master_key = args.auth.master_key(&config.data_dir)?;
    let manager = crate::config::open_engine(&config, true, Some(master_key.clone())).await?;
    crate::admin::bootstrap(manager.store()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr().context("listener address")?;
    let limits = args.connections.limits(&config, open_files);
    let shutdown_timeout = args.connections.shutdown_timeout(&config);
    // Scripts and tests read this line to find the port.
    println!("agentd listening on http://{addr}");
    tracing::info!(
        %addr,
        database = manager.store().backend().as_str(),
        open_files_limit = open_files,
        max_connections = limits.max_connections,
        max_idle_connections_per_address = limits.max_pending_per_ip,
        header_timeout_secs = limits.header_timeout.as_secs(),
        body_timeout_secs = limits.body_timeout.as_secs(),
        shutdown_timeout_secs = shutdown_timeout.as_secs(),
        "agentd serving"
    );
    let mut state = agentd_server::AppState::with_auth(manager.clone(), args.auth.config()?)
        .with_master_key(master_key)
        .with_max_upload_bytes(
            args.max_upload_bytes
                .or(config.max_upload_bytes)
                .unwrap_or(agentd_server::DEFAULT_MAX_UPLOAD_BYTES),
        )
        .with_render_budget(args.connections.render_budget(&config));
    if let Some(files) = open_files {
        state
            .metrics
            .open_files_limit
            .set(i64::try_from(files).unwrap_or(i64::MAX));
    }
    if let Some(webhooks) = webhooks {
        state = state.with_github_webhooks(webhooks);
        if let Some(config) = &state.webhooks {
            manager.resume_github_replies(config).await;
        }
    }
    let _cleanup = manager.spawn_workspace_cleanup(cleanup);
    // The server interrupts running turns itself, within the deadline.
    agentd_server::listen::serve(
        listener,
        state,
        limits,
        shutdown_signal(shutdown_timeout),
        shutdown_timeout,
    )
    .await
    .context("server error")?;
    tracing::info!("stopped");
    Ok(())
}

/// Raises the open-file soft limit to the hard limit: every connection,
/// database handle and sandbox pipe is a descriptor, and the usual soft
/// limit of 1,024 is what 1,100 idle sockets exhausted. Returns the limit
/// in force (`None` if it cannot be read).
fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit");
            return None;
        }
    };
    if soft >= hard {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            tracing::info!(from = soft, to = hard, "raised the open-file limit");
            Some(hard)
        }
        Err(e) => {
            tracing::warn!(error = %e, soft, hard, "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C. From then on a watchdog thread ends the
/// process if the orderly shutdown has not within `deadline` (plus a
/// moment): a thread, because a handler stuck on an async worker could keep
/// the runtime itself from getting there.
async fn shutdown_signal(deadline: Duration) {
    wait_for_signal().await;
    let limit = deadline + Duration::from_secs(2);
    let spawned = std::thread::Builder::new()
        .name("shutdown-watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            tracing::error!(
                secs = limit.as_secs(),
                "shutdown did not finish in time; exiting now"
            );
            std::process::exit(1);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the shutdown watchdog");
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Logs go to stderr through [`crate::redact`], which masks anything shaped
/// like a secret whichever code path logged it.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_env("AGENTD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    crate::redact::register_env();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::redact::RedactingStderr)
        .try_init();
}
