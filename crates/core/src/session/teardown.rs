//! Ending a session's work in memory, the one way it is done: its turn
//! stops (or is waited for), the runner lets go of its Claude Code process
//! and MCP servers, and for a deleted session everything it left behind
//! goes too. (An idle session's MCP servers close on their own; see
//! `session::driver`.)

use std::sync::Arc;

use agentd_policy::HookInput;

use crate::error::CoreError;
use crate::services::Services;
use crate::session::host::LocalHost;
use crate::session::live::LiveSession;
use crate::turn::SessionHost;
use crate::turn::hooks::SessionHooks;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Teardown {
    /// The session is being deleted: queued work is dropped, the running
    /// turn cancelled, and its events, transcript and Claude home removed.
    Delete,
    /// The engine is stopping: the running turn was interrupted by the
    /// shutdown token; queued inputs stay in the store for the next start.
    Shutdown,
}

pub(crate) async fn teardown(
    services: &Arc<Services>,
    live: &Arc<LiveSession>,
    why: Teardown,
) -> Result<(), CoreError> {
    let grace = services.config.cancel_grace;
    let driver = match why {
        Teardown::Delete => live.stop().await,
        Teardown::Shutdown => live.take_driver().await,
    };
    if let Some(driver) = driver
        && tokio::time::timeout(grace, driver).await.is_err()
        && why == Teardown::Delete
    {
        return Err(CoreError::Conflict(
            "the session's turn is still stopping; retry".into(),
        ));
    }
    // The next start resumes a Claude session with `--resume`.
    live.runner().release().await;
    if why == Teardown::Shutdown {
        return Ok(());
    }
    let id = live.id();
    let host = LocalHost::new(services.clone(), live.clone());
    if let Ok(record) = host.record().await
        && let Some(hooks) = SessionHooks::load(&host, &services.kit, &record).await
    {
        let input = HookInput::SessionEnd {
            reason: "delete".to_owned(),
        };
        hooks.quiet().run(&host, input, None).await;
    }
    services.store.delete_session(id).await?;
    crate::claude::sandbox::remove_home(&services.config.data_dir, id).await;
    services.log.forget(id).await;
    services.bus.close(id);
    Ok(())
}
