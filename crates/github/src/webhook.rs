//! Typed webhook payloads for the events agentd acts on. The structs hold
//! only the fields we use; everything else in GitHub's payload is ignored,
//! and fields GitHub sometimes omits or nulls default, so a payload change
//! elsewhere cannot break parsing.

use serde::Deserialize;

/// Why a webhook delivery was refused. The signature variants mean 401
/// (nothing about the body can be trusted); `InvalidPayload` means 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook secret is configured; refusing to accept unsigned deliveries")]
    EmptySecret,
    #[error("the X-Hub-Signature-256 header is missing")]
    MissingSignature,
    #[error("the X-Hub-Signature-256 header is not `sha256=<64 hex digits>`")]
    MalformedSignature,
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    SignatureMismatch,
    #[error("the {event} payload does not parse: {message}")]
    InvalidPayload { event: String, message: String },
}

/// A delivery, by its `X-GitHub-Event` header.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    Ping(PingEvent),
    IssueComment(IssueCommentEvent),
    Issues(IssuesEvent),
    PullRequest(PullRequestEvent),
    /// An event agentd does not act on; acknowledged and dropped.
    Other {
        name: String,
    },
}

/// Decodes a delivery body for the event named in `X-GitHub-Event`. Call
/// [`verify_signature`](crate::verify_signature) first. Unknown event
/// names become [`WebhookEvent::Other`] without looking at the body.
pub fn parse_event(event_name: &str, raw_body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    fn decode<T: for<'de> Deserialize<'de>>(
        event_name: &str,
        raw_body: &[u8],
    ) -> Result<T, WebhookError> {
        serde_json::from_slice(raw_body).map_err(|err| WebhookError::InvalidPayload {
            event: event_name.to_owned(),
            message: err.to_string(),
        })
    }
    Ok(match event_name {
        "ping" => WebhookEvent::Ping(decode(event_name, raw_body)?),
        "issue_comment" => WebhookEvent::IssueComment(decode(event_name, raw_body)?),
        "issues" => WebhookEvent::Issues(decode(event_name, raw_body)?),
        "pull_request" => WebhookEvent::PullRequest(decode(event_name, raw_body)?),
        other => WebhookEvent::Other {
            name: other.to_owned(),
        },
    })
}

/// Sent when a hook is created. Organisation hooks carry no repository.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PingEvent {
    #[serde(default)]
    pub zen: String,
    #[serde(default)]
    pub hook_id: Option<u64>,
    #[serde(default)]
    pub repository: Option<Repository>,
    #[serde(default)]
    pub sender: Option<User>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssueCommentEvent {
    pub action: IssueCommentAction,
    pub comment: IssueComment,
    pub issue: Issue,
    pub repository: Repository,
    pub sender: User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCommentAction {
    Created,
    Edited,
    Deleted,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuesEvent {
    pub action: IssuesAction,
    /// The label added or removed, for `labeled` / `unlabeled`.
    #[serde(default)]
    pub label: Option<Label>,
    pub issue: Issue,
    pub repository: Repository,
    pub sender: User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuesAction {
    Opened,
    Edited,
    Labeled,
    Unlabeled,
    Closed,
    Reopened,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PullRequestEvent {
    pub action: PullRequestAction,
    pub number: u64,
    pub pull_request: WebhookPullRequest,
    pub repository: Repository,
    #[serde(default)]
    pub sender: Option<User>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Edited,
    Closed,
    Reopened,
    Synchronize,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
    pub name: String,
    pub owner: User,
    #[serde(default)]
    pub default_branch: String,
    #[serde(default)]
    pub clone_url: String,
    #[serde(default)]
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    pub login: String,
    /// `User`, `Bot` or `Organization`.
    #[serde(default, rename = "type")]
    pub kind: UserKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum UserKind {
    #[default]
    User,
    Bot,
    Organization,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Issue {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    /// `null` when the issue was opened without a description.
    #[serde(default)]
    pub body: Option<String>,
    /// The labels the issue has now.
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub html_url: String,
    /// Present exactly when the "issue" is a pull request.
    #[serde(default)]
    pub pull_request: Option<IssuePullRequestLink>,
}

/// The marker GitHub puts on issues that are pull requests. It does not
/// name the head branch: look the pull request up for that.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssuePullRequestLink {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub merged_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    /// Comments can have an empty body (attachments only).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub body: String,
    pub user: User,
    #[serde(default)]
    pub html_url: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookPullRequest {
    pub number: u64,
    #[serde(default)]
    pub html_url: String,
    /// Only meaningful on `closed`: `false` means closed without merging.
    #[serde(default, deserialize_with = "null_as_false")]
    pub merged: bool,
    #[serde(default)]
    pub merged_at: Option<String>,
    pub head: GitRef,
    pub base: GitRef,
}

/// One side of a pull request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GitRef {
    /// The branch name (`ref` on the wire).
    #[serde(rename = "ref")]
    pub branch: String,
    #[serde(default)]
    pub sha: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_events_are_not_parsed() {
        assert_eq!(
            parse_event("workflow_run", b"not json"),
            Ok(WebhookEvent::Other {
                name: "workflow_run".into()
            })
        );
    }

    #[test]
    fn a_broken_body_names_the_event() {
        let err = parse_event("issues", b"{\"action\":\"opened\"}");
        assert!(
            matches!(&err, Err(WebhookError::InvalidPayload { event, .. }) if event == "issues"),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_actions_and_user_kinds_are_tolerated() {
        let body = br#"{"action":"pinned","issue":{"number":3,"title":"t","body":null},
            "repository":{"full_name":"o/r","name":"r","owner":{"login":"o","type":"Mannequin"}},
            "sender":{"login":"s"}}"#;
        let Ok(WebhookEvent::Issues(event)) = parse_event("issues", body) else {
            panic!("issues event expected");
        };
        assert_eq!(event.action, IssuesAction::Other);
        assert_eq!(event.repository.owner.kind, UserKind::Other);
        assert_eq!(event.issue.body, None);
    }
}
