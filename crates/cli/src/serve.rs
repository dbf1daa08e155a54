//! `agentd serve`.

use std::net::SocketAddr;

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
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    init_tracing();
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
    // Scripts and tests read this line to find the port.
    println!("agentd listening on http://{addr}");
    tracing::info!(%addr, database = manager.store().backend().as_str(), "agentd serving");
    let mut state = agentd_server::AppState::with_auth(manager.clone(), args.auth.config()?)
        .with_master_key(master_key)
        .with_max_upload_bytes(
            args.max_upload_bytes
                .or(config.max_upload_bytes)
                .unwrap_or(agentd_server::DEFAULT_MAX_UPLOAD_BYTES),
        );
    if let Some(webhooks) = webhooks {
        state = state.with_github_webhooks(webhooks);
        agentd_server::webhooks::resume_replies(&state).await;
    }
    let _cleanup = manager.spawn_workspace_cleanup(cleanup);
    agentd_server::serve(listener, state, shutdown_signal())
        .await
        .context("server error")?;
    tracing::info!("shutting down: interrupting running turns");
    manager.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
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
