//! What GitHub webhooks need to remember: deliveries already handled, the
//! pull requests tasks opened, and the reply comments of tasks started
//! from GitHub.

use agentd_protocol::SessionId;
use time::OffsetDateTime;

use crate::convert::{RowExt, from_ms, parse_enum, to_ms, u64_from_db, u64_to_db};
use crate::store::on_pool;
use crate::{Store, StoreError, write_error};

/// A task started from a GitHub issue or comment, and where its reply is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReply {
    pub session_id: SessionId,
    /// `owner/name`.
    pub repo: String,
    /// The issue or pull request the request came from.
    pub issue_number: u64,
    /// agentd's reply comment, once posted.
    pub comment_id: Option<u64>,
    /// The link to the task the reply shows.
    pub task_url: String,
    /// Set once the reply shows the task's final result.
    pub reported_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Store {
    /// Records a delivery id; `false` when it was recorded before (a
    /// redelivery). Atomic, so of two concurrent deliveries one wins.
    pub async fn claim_webhook_delivery(
        &self,
        delivery_id: &str,
        event: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let inserted = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhook_deliveries (delivery_id, event, received_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(delivery_id)
            .bind(event)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Forgets a delivery whose handling failed for a reason on our side,
    /// so GitHub's redelivery is handled instead of ignored.
    pub async fn release_webhook_delivery(&self, delivery_id: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM webhook_deliveries WHERE delivery_id = $1")
                .bind(delivery_id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Remembers that `session` opened pull request `number` of `repo`
    /// (`owner/name`, any case).
    pub async fn link_task_pull_request(
        &self,
        repo: &str,
        number: u64,
        session: SessionId,
    ) -> Result<(), StoreError> {
        let number = u64_to_db(number, "pull request number")?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO task_pull_requests (repo, number, session_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (repo, number) DO UPDATE SET session_id = excluded.session_id",
            )
            .bind(repo.to_ascii_lowercase())
            .bind(number)
            .bind(session.to_string())
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| {
            write_error(
                e,
                || format!("pull request {repo}#{number}"),
                || session.to_string(),
            )
        })
    }

    /// The task that opened pull request `number` of `repo`, if one did.
    pub async fn task_for_pull_request(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Option<SessionId>, StoreError> {
        let number = u64_to_db(number, "pull request number")?;
        let id: Option<String> = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT session_id FROM task_pull_requests WHERE repo = $1 AND number = $2",
            )
            .bind(repo.to_ascii_lowercase())
            .bind(number)
            .fetch_optional(pool)
            .await?
        });
        id.map(|id| parse_enum(&id, || format!("task_pull_requests {repo}#{number}")))
            .transpose()
    }

    pub async fn insert_task_reply(&self, r: &TaskReply) -> Result<(), StoreError> {
        let issue = u64_to_db(r.issue_number, "issue number")?;
        let comment = r
            .comment_id
            .map(|c| u64_to_db(c, "comment id"))
            .transpose()?;
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO github_task_replies (session_id, repo, issue_number, comment_id, \
                 task_url, reported_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(r.session_id.to_string())
            .bind(&r.repo)
            .bind(issue)
            .bind(comment)
            .bind(&r.task_url)
            .bind(r.reported_at.map(to_ms))
            .bind(to_ms(r.created_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| {
            write_error(
                e,
                || format!("reply of task {}", r.session_id),
                || r.session_id.to_string(),
            )
        })
    }

    pub async fn set_task_reply_comment(
        &self,
        session: SessionId,
        comment_id: u64,
    ) -> Result<(), StoreError> {
        let comment = u64_to_db(comment_id, "comment id")?;
        on_pool!(self, |pool| {
            sqlx::query("UPDATE github_task_replies SET comment_id = $2 WHERE session_id = $1")
                .bind(session.to_string())
                .bind(comment)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn mark_task_reply_reported(
        &self,
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE github_task_replies SET reported_at = $2 WHERE session_id = $1")
                .bind(session.to_string())
                .bind(to_ms(now))
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn task_reply(&self, session: SessionId) -> Result<Option<TaskReply>, StoreError> {
        on_pool!(self, |pool| {
            let row = sqlx::query(concat!(
                "SELECT ",
                reply_columns!(),
                " FROM github_task_replies WHERE session_id = $1"
            ))
            .bind(session.to_string())
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(decode_reply).transpose()
        })
    }

    /// Replies that do not show a final result yet, oldest first.
    pub async fn pending_task_replies(&self) -> Result<Vec<TaskReply>, StoreError> {
        on_pool!(self, |pool| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                reply_columns!(),
                " FROM github_task_replies WHERE reported_at IS NULL ORDER BY created_at"
            ))
            .fetch_all(pool)
            .await?;
            rows.iter().map(decode_reply).collect()
        })
    }
}

macro_rules! reply_columns {
    () => {
        "session_id, repo, issue_number, comment_id, task_url, reported_at, created_at"
    };
}
use reply_columns;

fn decode_reply(row: &impl RowExt) -> Result<TaskReply, StoreError> {
    let id = row.text("session_id")?;
    let what = |col: &str| format!("github_task_replies {id} column {col}");
    Ok(TaskReply {
        session_id: parse_enum(&id, || what("session_id"))?,
        repo: row.text("repo")?,
        issue_number: u64_from_db(row.int("issue_number")?, || what("issue_number"))?,
        comment_id: row
            .opt_int("comment_id")?
            .map(|c| u64_from_db(c, || what("comment_id")))
            .transpose()?,
        task_url: row.text("task_url")?,
        reported_at: row
            .opt_int("reported_at")?
            .map(|t| from_ms(t, || what("reported_at")))
            .transpose()?,
        created_at: from_ms(row.int("created_at")?, || what("created_at"))?,
    })
}
