//! Which deliveries start a task, decided without I/O: a new comment that
//! mentions the handle, or an issue given the configured label. Also the
//! "pull request closed" signal that ends a task's branch.

use crate::webhook::{
    Issue, IssueCommentAction, IssuesAction, PullRequestAction, UserKind, WebhookEvent,
};

/// What to listen for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerConfig {
    /// The mention that summons agentd, `@agentd` (the `@` is optional).
    pub handle: String,
    /// Labelling an issue with this starts a task; `None` turns that off.
    /// Compared case-insensitively, as GitHub treats label names.
    pub label: Option<String>,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        Self {
            handle: "@agentd".into(),
            label: None,
        }
    }
}

/// A task to start, with what the caller needs to clone, prompt and reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTrigger {
    /// `owner/name`.
    pub repo_full_name: String,
    pub clone_url: String,
    pub default_branch: String,
    /// The issue or pull request to reply on.
    pub issue_number: u64,
    /// Set when the comment is on a pull request (the same number as
    /// `issue_number`). The payload does not name the head branch, so the
    /// caller looks it up with
    /// [`GitHubClient::get_pull_request`](crate::GitHubClient::get_pull_request).
    pub pull_request: Option<u64>,
    pub issue_title: String,
    pub issue_body: String,
    /// The request: the comment text after the mention or, when the mention
    /// stands alone or for a label, the issue's title and body.
    pub prompt: String,
    /// The login of whoever commented or labelled.
    pub requested_by: String,
    pub source: TriggerSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSource {
    Comment { id: u64, html_url: String },
    Label { name: String },
}

/// A pull request that was closed, merged or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedPullRequest {
    pub repo_full_name: String,
    pub number: u64,
    pub merged: bool,
    pub head_branch: String,
    pub html_url: String,
}

impl WebhookEvent {
    /// The task this delivery asks for, if any. Edited and deleted comments
    /// never trigger (an edit would start the same task twice), nor do
    /// comments by bots or by the handle's own account, so agentd's replies
    /// cannot summon it in a loop.
    pub fn task_trigger(&self, cfg: &TriggerConfig) -> Option<TaskTrigger> {
        match self {
            WebhookEvent::IssueComment(event) => {
                if event.action != IssueCommentAction::Created {
                    return None;
                }
                let author = &event.comment.user;
                if author.kind == UserKind::Bot
                    || author.login.eq_ignore_ascii_case(bare_handle(&cfg.handle))
                {
                    return None;
                }
                let request = mention(&event.comment.body, &cfg.handle)?;
                let prompt = if request.is_empty() {
                    issue_prompt(&event.issue)
                } else {
                    request
                };
                let repo = &event.repository;
                Some(TaskTrigger {
                    repo_full_name: repo.full_name.clone(),
                    clone_url: repo.clone_url.clone(),
                    default_branch: repo.default_branch.clone(),
                    issue_number: event.issue.number,
                    pull_request: event
                        .issue
                        .pull_request
                        .as_ref()
                        .map(|_| event.issue.number),
                    issue_title: event.issue.title.clone(),
                    issue_body: event.issue.body.clone().unwrap_or_default(),
                    prompt,
                    requested_by: author.login.clone(),
                    source: TriggerSource::Comment {
                        id: event.comment.id,
                        html_url: event.comment.html_url.clone(),
                    },
                })
            }
            WebhookEvent::Issues(event) => {
                let wanted = cfg.label.as_deref()?;
                let label = event.label.as_ref()?;
                if event.action != IssuesAction::Labeled || !label.name.eq_ignore_ascii_case(wanted)
                {
                    return None;
                }
                let repo = &event.repository;
                Some(TaskTrigger {
                    repo_full_name: repo.full_name.clone(),
                    clone_url: repo.clone_url.clone(),
                    default_branch: repo.default_branch.clone(),
                    issue_number: event.issue.number,
                    pull_request: None,
                    issue_title: event.issue.title.clone(),
                    issue_body: event.issue.body.clone().unwrap_or_default(),
                    prompt: issue_prompt(&event.issue),
                    requested_by: event.sender.login.clone(),
                    source: TriggerSource::Label {
                        name: label.name.clone(),
                    },
                })
            }
            WebhookEvent::Ping(_) | WebhookEvent::PullRequest(_) | WebhookEvent::Other { .. } => {
                None
            }
        }
    }

    /// `Some` for `pull_request` deliveries with action `closed`.
    pub fn pr_closed(&self) -> Option<ClosedPullRequest> {
        match self {
            WebhookEvent::PullRequest(event) if event.action == PullRequestAction::Closed => {
                Some(ClosedPullRequest {
                    repo_full_name: event.repository.full_name.clone(),
                    number: event.number,
                    merged: event.pull_request.merged,
                    head_branch: event.pull_request.head.branch.clone(),
                    html_url: event.pull_request.html_url.clone(),
                })
            }
            _ => None,
        }
    }
}

fn issue_prompt(issue: &Issue) -> String {
    let title = issue.title.trim();
    match issue
        .body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(body) => format!("{title}\n\n{body}"),
        None => title.to_owned(),
    }
}

fn bare_handle(handle: &str) -> &str {
    let handle = handle.trim();
    handle.strip_prefix('@').unwrap_or(handle)
}

/// Characters of a GitHub login.
fn is_login_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A mention must not touch a word: `é@agentd` and `@agentdé` are not
/// mentions even though `é` cannot be part of a login.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// The request addressed to `handle` in `body`: the text after the first
/// mention, trimmed, or the text before it when nothing follows (`Fix the
/// typo please @agentd`). `Some("")` for a bare mention, `None` without one.
///
/// Matching is ASCII case-insensitive and word-bounded: `@agentdx`,
/// `me@agentd.dev`, `@agentd/team` and `` `@agentd` `` are not mentions.
/// Quoted lines (`> …`) and fenced code blocks are skipped, so quoting an
/// earlier request in a reply does not repeat it.
pub fn mention(body: &str, handle: &str) -> Option<String> {
    let name = bare_handle(handle);
    if name.is_empty() || !name.chars().all(is_login_char) {
        return None;
    }
    let needle_len = name.len() + 1;
    let mut in_fence = false;
    let mut line_start = 0;
    for line in body.split_inclusive('\n') {
        let offset = line_start;
        line_start += line.len();
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || trimmed.starts_with('>') {
            continue;
        }
        for (i, _) in line.match_indices('@') {
            let after = &line[i + 1..];
            // `name` is ASCII, so a byte-wise match ends on a char boundary.
            let matches = after
                .get(..name.len())
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name));
            let before_ok = line[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(is_word_char(c) || c == '`' || c == '.' || c == '/'));
            let after_ok = matches
                && after[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !(is_word_char(c) || c == '/' || c == '`'));
            if before_ok && after_ok {
                let start = offset + i;
                return Some(request_text(&body[..start], &body[start + needle_len..]));
            }
        }
    }
    None
}

fn request_text(before: &str, after: &str) -> String {
    const PUNCTUATION: &[char] = &[':', ',', ';', '-', '—'];
    let after = after.trim_start().trim_start_matches(PUNCTUATION).trim();
    if !after.is_empty() {
        return after.to_owned();
    }
    before
        .trim()
        .trim_end_matches(PUNCTUATION)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(body: &str) -> Option<String> {
        mention(body, "@agentd")
    }

    #[test]
    fn takes_the_text_after_the_mention() {
        assert_eq!(m("@agentd fix the build").as_deref(), Some("fix the build"));
        assert_eq!(
            m("Hey @AgentD: add tests\nfor parse()").as_deref(),
            Some("add tests\nfor parse()")
        );
        assert_eq!(m("@agentd, please.").as_deref(), Some("please."));
        assert_eq!(mention("@agentd go", "agentd").as_deref(), Some("go"));
    }

    #[test]
    fn falls_back_to_the_text_before_or_nothing() {
        assert_eq!(
            m("Fix the typo in README, @agentd").as_deref(),
            Some("Fix the typo in README")
        );
        assert_eq!(m("@agentd").as_deref(), Some(""));
        assert_eq!(m("  @agentd \n").as_deref(), Some(""));
    }

    #[test]
    fn respects_word_boundaries() {
        for body in [
            "@agentdx do it",
            "@agentd-bot do it",
            "@agentd_ do it",
            "mail me@agentd.dev",
            "ping @agentd/reviewers",
            "use `@agentd` to ask",
            "no mention at all",
            "@agent do it",
        ] {
            assert_eq!(m(body), None, "{body:?}");
        }
        assert_eq!(m("(@agentd do it)").as_deref(), Some("do it)"));
        assert_eq!(m("@agentd.").as_deref(), Some("."));
    }

    #[test]
    fn ignores_quotes_and_code_fences() {
        assert_eq!(m("> @agentd do the old thing\n\nThanks!"), None);
        assert_eq!(m("```\n@agentd inside code\n```\ndone"), None);
        assert_eq!(
            m("> @agentd old\n\n@agentd new thing").as_deref(),
            Some("new thing")
        );
    }

    #[test]
    fn handles_non_ascii_text_around_mentions() {
        assert_eq!(m("héllo @agentd répare ça").as_deref(), Some("répare ça"));
        assert_eq!(m("é@agentd x"), None);
        assert_eq!(m("ça @agentd"), Some("ça".into()));
        assert_eq!(m("@agentdé x"), None);
    }

    #[test]
    fn rejects_unusable_handles() {
        assert_eq!(mention("@ hi", "@"), None);
        assert_eq!(mention("@a b hi", "a b"), None);
    }
}
