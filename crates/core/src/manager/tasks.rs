//! Tasks: the fire-and-forget face of a session. A task works on a
//! repository unattended; when its turn ends well, the work is committed,
//! pushed and opened as a pull request (`turn::task`), and `task.result`
//! says where it is.

use agentd_protocol::session::GitSource;
use agentd_protocol::{
    CreateSessionRequest, CreateTaskRequest, PermissionMode, SessionId, SessionStatus, TaskList,
    TaskView, WorkspaceSpec,
};

use crate::engine_state::{EngineState, TaskState};
use crate::error::CoreError;
use crate::manager::{Reach, SessionManager};

impl SessionManager {
    pub async fn create_task(
        &self,
        req: CreateTaskRequest,
        owner_id: Option<String>,
    ) -> Result<TaskView, CoreError> {
        if req.repo.trim().is_empty() {
            return Err(CoreError::Invalid("repo must not be empty".into()));
        }
        let workspace = if req.repo.starts_with('/') && req.branch.is_none() {
            WorkspaceSpec::Path {
                path: req.repo.clone(),
            }
        } else {
            WorkspaceSpec::Git {
                git: GitSource {
                    url: req.repo.clone(),
                    branch: req.branch.clone(),
                },
            }
        };
        let task = TaskState {
            repo: req.repo.clone(),
            base_branch: req.branch.clone(),
            open_pr: req.open_pr.unwrap_or(true),
            github_repo: req.github_repo.clone(),
            result: None,
            pr_number: None,
            pr_state: None,
        };
        let session = CreateSessionRequest {
            prompt: req.prompt,
            workspace,
            runtime: req.runtime,
            model: req.model,
            permission_mode: Some(req.permission_mode.unwrap_or(PermissionMode::Unattended)),
            title: req.title,
            max_turns: None,
            budget: req.budget,
            settings: None,
            mcp_servers: req.mcp_servers,
        };
        let state = EngineState {
            task: Some(task),
            ..EngineState::default()
        };
        let created = self.create(session, owner_id, state).await?;
        self.task_within(created.id, Reach::All).await
    }

    pub async fn task_within(
        &self,
        id: SessionId,
        reach: Reach<'_>,
    ) -> Result<TaskView, CoreError> {
        self.session_within(id, reach).await?;
        crate::session::view::task(&self.record(id).await?).ok_or(CoreError::NotFound)
    }

    /// Tasks `reach` covers, newest first (a page of sessions, filtered).
    pub async fn list_tasks_within(
        &self,
        reach: Reach<'_>,
        status: Option<SessionStatus>,
        before: Option<SessionId>,
        limit: u32,
    ) -> Result<TaskList, CoreError> {
        let (records, next_before) = self.page_within(reach, status, before, limit).await?;
        Ok(TaskList {
            tasks: records
                .iter()
                .filter_map(crate::session::view::task)
                .collect(),
            next_before,
        })
    }
}
