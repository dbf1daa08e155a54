//! What the API shows of a session or task: the row, with what only the
//! engine state knows (the session's branch, the task's result and pull
//! request).

use agentd_protocol::{SessionView, TaskView};
use agentd_store::SessionRecord;

use crate::engine_state::EngineState;

pub(crate) fn session(record: &SessionRecord) -> SessionView {
    let state = EngineState::of(record);
    let mut view = record.view();
    view.branch = state.workspace.and_then(|p| p.branch);
    view.pr_url = state.task.and_then(|t| t.result).and_then(|r| r.pr_url);
    view
}

/// `None` for a session that is not a task.
pub(crate) fn task(record: &SessionRecord) -> Option<TaskView> {
    let task = EngineState::of(record).task?;
    Some(TaskView {
        id: record.id,
        repo: task.repo,
        base_branch: task.base_branch,
        status: record.status,
        result: task.result,
        pr_state: task.pr_state,
        session: session(record),
    })
}
