//! One task per session with work: takes inputs in order and runs a turn
//! for each, then exits when nothing is left (idle sessions cost no task).

use std::sync::Arc;

use agentd_protocol::SessionStatus;

use crate::services::Services;
use crate::session::host::LocalHost;
use crate::session::live::LiveSession;

pub(crate) async fn drive(services: Arc<Services>, live: Arc<LiveSession>) {
    let host = Arc::new(LocalHost::new(services.clone(), live.clone()));
    while let Some((input, cancel)) = live.next_input(&services.shutdown).await {
        let status = crate::turn::run_turn(
            host.clone(),
            services.kit.clone(),
            live.runner().clone(),
            input,
            cancel,
        )
        .await;
        after_turn(&services, &live, status).await;
        live.turn_done();
    }
}

/// After a turn: a session that ended closes its MCP servers now; an idle
/// one closes them once it has been idle for the configured time.
async fn after_turn(services: &Services, live: &Arc<LiveSession>, status: Option<SessionStatus>) {
    // No turn ran (its session could not be read): nothing changed.
    let Some(status) = status else {
        return;
    };
    if live.runner().mcp().await.is_none() {
        return;
    }
    if status != SessionStatus::Idle {
        live.runner().close_mcp().await;
        return;
    }
    let idle = services.config.mcp_idle_timeout;
    let live = live.clone();
    tokio::spawn(async move {
        tokio::time::sleep(idle).await;
        let running = live.is_running().await;
        let mut slot = live.runner().mcp().await;
        let stale = slot.as_ref().is_some_and(|s| s.unused_for(idle));
        if stale
            && !running
            && let Some(state) = slot.take()
        {
            drop(slot);
            state.close().await;
        }
    });
}
