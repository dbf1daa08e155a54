//! GitHub's JSON shapes for the fake's objects: the fields clients read,
//! with GitHub's names, nesting and null conventions.

use serde_json::{Value, json};

use crate::github::PullStatus;
use crate::github::server::AppState;
use crate::github::state::{FakeComment, FakePullRequest, WEB_HOST};

/// The fake's notion of a timestamp: fixed, so responses compare equal.
pub(crate) const TIMESTAMP: &str = "2026-01-01T00:00:00Z";

fn repo_json(state: &AppState, full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
    json!({
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner, "type": "User"},
        "private": false,
        "html_url": format!("{WEB_HOST}/{full_name}"),
        "clone_url": format!("{WEB_HOST}/{full_name}.git"),
        "url": format!("{}/repos/{full_name}", state.api_base),
        "default_branch": "main",
    })
}

pub(crate) fn pull_json(state: &AppState, pull: &FakePullRequest) -> Value {
    let name = pull.repo.split_once('/').map_or("", |(_, name)| name);
    let head_repo = format!("{}/{name}", pull.head_owner);
    let base_owner = pull.repo.split('/').next().unwrap_or_default();
    let merged = pull.status == PullStatus::Merged;
    let closed = pull.status != PullStatus::Open;
    json!({
        "url": format!("{}/repos/{}/pulls/{}", state.api_base, pull.repo, pull.number),
        "id": 100_000 + pull.number,
        "node_id": format!("PR_testkit_{}", pull.number),
        "html_url": pull.html_url(),
        "number": pull.number,
        "state": if closed { "closed" } else { "open" },
        "locked": false,
        "title": pull.title,
        "body": pull.body,
        "draft": pull.draft,
        "user": {"login": "testkit-bot", "type": "User"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "closed_at": closed.then_some(TIMESTAMP),
        "merged_at": merged.then_some(TIMESTAMP),
        "merged": merged,
        "merge_commit_sha": null,
        "head": {
            "label": pull.head_label(),
            "ref": pull.head,
            "sha": pull.head_sha,
            "user": {"login": pull.head_owner},
            "repo": repo_json(state, &head_repo),
        },
        "base": {
            "label": format!("{base_owner}:{}", pull.base),
            "ref": pull.base,
            "sha": "0".repeat(40),
            "user": {"login": base_owner},
            "repo": repo_json(state, &pull.repo),
        },
    })
}

pub(crate) fn comment_json(state: &AppState, comment: &FakeComment) -> Value {
    json!({
        "id": comment.id,
        "node_id": format!("IC_testkit_{}", comment.id),
        "url": format!("{}/repos/{}/issues/comments/{}", state.api_base, comment.repo, comment.id),
        "html_url": comment.html_url,
        "issue_url": format!("{}/repos/{}/issues/{}", state.api_base, comment.repo, comment.issue_number),
        "body": comment.body,
        "user": {"login": "testkit-bot", "type": "User"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    })
}
