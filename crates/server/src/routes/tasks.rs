//! `/api/v1/tasks`: the fire-and-forget face of a session. A task runs on a
//! repository without a person and ends with a result: an answer, a pushed
//! branch, a pull request.

use agentd_protocol::{CreateTaskRequest, ErrorBody, TaskList, TaskView, Validate};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::audit::Actor;
use crate::error::ApiError;
use crate::extract::{Json, OwnedSession, Query};
use crate::routes::sessions::ListParams;
use crate::state::AppState;

/// Start a task; it runs unattended unless a permission mode is given.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks",
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "The new task", body = TaskView),
        (status = 400, description = "Invalid request (bad repository URL, missing branch…)", body = ErrorBody),
    ))]
pub(crate) async fn create_task(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateTaskRequest>,
) -> Result<(StatusCode, axum::Json<TaskView>), ApiError> {
    // Before the repository is cloned or a worktree made.
    req.validate()?;
    let task = state
        .manager
        .create_task(req, Some(caller.user_id.clone()))
        .await?;
    state
        .audit(
            Actor::from(&caller),
            "task.create",
            Some(task.id.to_string()),
            json!({"repo": task.repo}),
        )
        .await;
    Ok((StatusCode::CREATED, axum::Json(task)))
}

/// Tasks, newest first: the caller's own, or every task for an admin.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListParams),
    responses(
        (status = 200, description = "A page of tasks", body = TaskList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    ))]
pub(crate) async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<TaskList>, ApiError> {
    let list = state
        .manager
        .list_tasks_within(
            caller.reach(),
            params.status,
            params.before,
            crate::params::page_limit(params.limit, 50, 200)?,
        )
        .await?;
    Ok(axum::Json(list))
}

/// One task with its result once it has one.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task (session) id")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 404, description = "No such task", body = ErrorBody),
    ))]
pub(crate) async fn get_task(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<TaskView>, ApiError> {
    Ok(axum::Json(
        state
            .manager
            .task_within(session.id, session.caller.reach())
            .await?,
    ))
}

/// Stop a running task.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    params(("id" = String, Path, description = "Task (session) id")),
    responses(
        (status = 200, description = "The task after it stopped", body = TaskView),
        (status = 404, description = "No such task", body = ErrorBody),
    ))]
pub(crate) async fn cancel_task(
    State(state): State<AppState>,
    session: OwnedSession,
) -> Result<axum::Json<TaskView>, ApiError> {
    let task = state
        .manager
        .task_within(session.id, session.caller.reach())
        .await?;
    state.manager.cancel(task.id).await?;
    state
        .audit(
            Actor::from(&session.caller),
            "task.cancel",
            Some(task.id.to_string()),
            json!({}),
        )
        .await;
    Ok(axum::Json(
        state
            .manager
            .task_within(task.id, session.caller.reach())
            .await?,
    ))
}
