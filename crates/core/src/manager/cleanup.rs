//! Workspace TTL cleanup, scheduled: every `interval`, the worktrees of
//! finished sessions unused for longer than the TTL are removed by
//! `agentd-workspace`'s cleanup, which never drops unsaved work without a
//! checkpoint (and with `CheckpointAndKeep`, keeps it).

use std::time::Duration;

use agentd_protocol::SessionStatus;
use agentd_workspace::{CleanupPolicy, CleanupReport, KeptReason, UnsavedWork, WorkspaceRecord};
use tokio::task::JoinHandle;

use crate::engine_state::EngineState;
use crate::error::CoreError;
use crate::manager::SessionManager;

/// When worktrees are swept; built by the binary from its config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceCleanup {
    /// Worktrees of finished sessions unused for longer than this go.
    pub ttl: Duration,
    /// How often to look.
    pub interval: Duration,
}

/// Statuses in which no turn runs and none is waiting to: the session is
/// finished with its workspace for now. (`queued`, `running`,
/// `blocked_on_approval` and `paused` sessions are never swept.)
const FINISHED: &[SessionStatus] = &[
    SessionStatus::Idle,
    SessionStatus::Completed,
    SessionStatus::Failed,
    SessionStatus::Cancelled,
    SessionStatus::Interrupted,
];

impl SessionManager {
    /// One sweep: every finished session's worktree past `ttl` is removed,
    /// unless it holds unsaved work, which is checkpointed and kept.
    pub async fn cleanup_workspaces(&self, ttl: Duration) -> Result<CleanupReport, CoreError> {
        let policy = CleanupPolicy {
            ttl,
            unsaved: UnsavedWork::CheckpointAndKeep,
        };
        let mut report = CleanupReport::default();
        for candidate in self.services.store.sessions_with_status(FINISHED).await? {
            let id = candidate.id;
            let live = self.sessions.get(id);
            // Held while this session is swept, so no turn starts in a
            // worktree being removed; a message sent meanwhile waits.
            let held = live.hold().await;
            if held.running() {
                continue;
            }
            // Re-read under the lock: the status may have moved on.
            let Some(record) = self.services.store.get_session(id).await? else {
                continue;
            };
            if !FINISHED.contains(&record.status) {
                continue;
            }
            let state = EngineState::of(&record);
            if state.workspace_removed {
                continue;
            }
            let Some(workspace) = state.workspace else {
                continue;
            };
            let sessions = [WorkspaceRecord {
                session: id.to_string(),
                workspace,
                last_used: record.updated_at,
            }];
            match self
                .services
                .kit
                .workspaces
                .cleanup(&policy, &sessions)
                .await
            {
                Ok(one) => {
                    if !one.removed.is_empty() {
                        mark_swept(self, record).await;
                    }
                    report.removed.extend(one.removed);
                    report.kept.extend(one.kept);
                }
                Err(e) => tracing::warn!(%id, error = %e, "workspace cleanup failed"),
            }
            drop(held);
        }
        Ok(report)
    }

    /// Sweeps every `interval` until the engine shuts down. `None` when
    /// either duration is zero (cleanup off).
    pub fn spawn_workspace_cleanup(&self, cleanup: WorkspaceCleanup) -> Option<JoinHandle<()>> {
        if cleanup.ttl.is_zero() || cleanup.interval.is_zero() {
            return None;
        }
        let manager = self.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(cleanup.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = manager.services.shutdown.cancelled() => return,
                }
                match manager.cleanup_workspaces(cleanup.ttl).await {
                    Ok(report) => log_report(&report),
                    Err(e) => tracing::warn!(error = %e, "workspace cleanup failed"),
                }
            }
        }))
    }
}

/// A session whose worktree the cleanup removed takes no more messages:
/// its agent would find no workspace.
pub(crate) fn check_workspace_kept(record: &agentd_store::SessionRecord) -> Result<(), CoreError> {
    if EngineState::of(record).workspace_removed {
        return Err(CoreError::Conflict(
            "this session's workspace was removed after it went unused past the TTL; \
             start a new session"
                .into(),
        ));
    }
    Ok(())
}

/// Marks the session swept, so later sweeps skip it instead of finding its
/// worktree gone every time. Only the engine state changes.
async fn mark_swept(manager: &SessionManager, mut record: agentd_store::SessionRecord) {
    EngineState::update(&mut record, |state| state.workspace_removed = true);
    if let Err(e) = manager.services.store.update_session(&record).await {
        tracing::warn!(id = %record.id, error = %e, "cannot record the workspace removal");
    }
}

fn log_report(report: &CleanupReport) {
    let unsaved = report
        .kept
        .iter()
        .filter(|k| matches!(k.reason, KeptReason::Unsaved { .. }))
        .count();
    // Failures were logged by the sweep itself.
    if !report.removed.is_empty() || unsaved > 0 {
        tracing::info!(
            removed = report.removed.len(),
            kept_with_unsaved_work = unsaved,
            "workspace cleanup"
        );
    }
}
