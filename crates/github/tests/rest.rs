//! The REST client against the testkit's `FakeGitHub`, asserting on the
//! exact requests sent and on how each GitHub answer is turned into a
//! result or a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use agentd_github::{
    Comment, GitHubClient, GitHubError, NewPullRequest, PullRequest, PullRequestInfo,
    PullRequestState, parse_repo,
};
use agentd_testkit::{FakeGitHub, GitHubFailure, PullStatus, RecordedRequest};
use pretty_assertions::assert_eq;
use serde_json::json;

const TOKEN: &str = "ghp_testTOKEN0123456789";

async fn setup() -> (FakeGitHub, GitHubClient) {
    let fake = FakeGitHub::start().await;
    let client = GitHubClient::with_base_url(&fake.base_url(), TOKEN).unwrap();
    (fake, client)
}

fn new_pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        title: "Fix the typo in README".into(),
        head: head.into(),
        base: "main".into(),
        body: "## Summary\n\nFixed it.".into(),
        draft: true,
    }
}

/// The headers every request must carry (PROTOCOLS §6.2).
fn assert_github_headers(request: &RecordedRequest) {
    assert_eq!(
        request.header("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(
        request.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    let agent = request.header("user-agent").unwrap_or_default();
    assert!(
        !agent.is_empty(),
        "GitHub rejects requests without a User-Agent"
    );
    assert!(!agent.contains(", "), "one User-Agent, not two: {agent:?}");
}

#[tokio::test]
async fn creates_a_pull_request() {
    let (fake, client) = setup().await;

    let pr = client
        .create_pull_request("octo", "hello", &new_pr("agentd/task-1"))
        .await
        .unwrap();

    assert_eq!(
        pr,
        PullRequest {
            number: 1,
            html_url: "https://github.example/octo/hello/pull/1".into(),
            existing: false,
        }
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/repos/octo/hello/pulls")
    );
    assert_github_headers(request);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({
            "title": "Fix the typo in README",
            "head": "agentd/task-1",
            "base": "main",
            "body": "## Summary\n\nFixed it.",
            "draft": true,
        })
    );
    let stored = fake.pull_requests("octo/hello");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].draft);
    assert_eq!(stored[0].head_label(), "octo:agentd/task-1");
}

#[tokio::test]
async fn an_already_open_pull_request_is_returned_instead() {
    let (fake, client) = setup().await;
    fake.add_issue("octo/hello", 4, "Fix the typo");
    let open = fake.add_pull_request("octo/hello", "agentd/task-1", "main");
    assert_eq!(open.number, 5);

    let pr = client
        .create_pull_request("octo", "hello", &new_pr("agentd/task-1"))
        .await
        .unwrap();

    assert_eq!(
        pr,
        PullRequest {
            number: 5,
            html_url: "https://github.example/octo/hello/pull/5".into(),
            existing: true,
        }
    );
    let requests = fake.requests();
    let shape: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("POST", "/repos/octo/hello/pulls"),
            ("GET", "/repos/octo/hello/pulls")
        ]
    );
    // The lookup must qualify the head with its owner: GitHub ignores a
    // bare branch name and would list every open pull request.
    assert_eq!(
        requests[1].query,
        BTreeMap::from([
            ("head".to_owned(), "octo:agentd/task-1".to_owned()),
            ("state".to_owned(), "open".to_owned()),
        ])
    );
    assert_github_headers(&requests[1]);
    assert_eq!(requests[1].body, serde_json::Value::Null);
    assert_eq!(
        fake.pull_requests("octo/hello").len(),
        1,
        "nothing new was opened"
    );
}

#[tokio::test]
async fn finds_the_right_pull_request_among_several() {
    let (fake, client) = setup().await;
    fake.add_pull_request("octo/hello", "other", "main");
    let closed = fake.add_pull_request("octo/hello", "agentd/task-1", "main");
    fake.set_pull_request_status("octo/hello", closed.number, PullStatus::Closed);
    let fork = fake.add_pull_request("octo/hello", "forker:agentd/task-1", "main");

    // A closed pull request does not block a new one.
    let pr = client
        .create_pull_request("octo", "hello", &new_pr("agentd/task-1"))
        .await
        .unwrap();
    assert_eq!((pr.number, pr.existing), (4, false));

    let again = client
        .create_pull_request("octo", "hello", &new_pr("forker:agentd/task-1"))
        .await
        .unwrap();
    assert_eq!((again.number, again.existing), (fork.number, true));
}

#[tokio::test]
async fn no_commits_between_the_branches_is_no_diff() {
    let (fake, client) = setup().await;
    fake.set_no_diff("octo/hello", "agentd/empty");

    let err = client
        .create_pull_request("octo", "hello", &new_pr("agentd/empty"))
        .await
        .unwrap_err();

    assert_eq!(err, GitHubError::NoDiff);
    assert_eq!(fake.requests().len(), 1, "no lookup after a no-diff 422");
    assert!(fake.pull_requests("octo/hello").is_empty());
}

#[tokio::test]
async fn other_validation_failures_keep_githubs_reason() {
    let (_fake, client) = setup().await;
    let pr = NewPullRequest {
        title: String::new(),
        ..new_pr("agentd/task-1")
    };
    let err = client
        .create_pull_request("octo", "hello", &pr)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GitHubError::Validation {
            message: "title missing_field".into()
        }
    );
}

#[tokio::test]
async fn creates_and_updates_comments() {
    let (fake, client) = setup().await;
    fake.add_issue("octo/hello", 7, "The build is red");

    let comment = client
        .create_issue_comment("octo", "hello", 7, "Working on it…")
        .await
        .unwrap();
    let expected = Comment {
        id: 1001,
        html_url: "https://github.example/octo/hello/issues/7#issuecomment-1001".into(),
    };
    assert_eq!(comment, expected);

    let updated = client
        .update_issue_comment("octo", "hello", comment.id, "Done: #8")
        .await
        .unwrap();
    assert_eq!(updated, expected);

    let requests = fake.requests();
    let shape: Vec<(&str, &str, serde_json::Value)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.body.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (
                "POST",
                "/repos/octo/hello/issues/7/comments",
                json!({"body": "Working on it…"})
            ),
            (
                "PATCH",
                "/repos/octo/hello/issues/comments/1001",
                json!({"body": "Done: #8"})
            ),
        ]
    );
    requests.iter().for_each(assert_github_headers);
    let stored = fake.comments();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].issue_number, stored[0].body.as_str()),
        (7, "Done: #8")
    );
}

#[tokio::test]
async fn missing_issues_and_comments_are_not_found() {
    let (_fake, client) = setup().await;
    let err = client
        .create_issue_comment("octo", "hello", 99, "hi")
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::NotFound);
    let err = client
        .update_issue_comment("octo", "hello", 5, "hi")
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::NotFound);
    let err = client
        .get_pull_request("octo", "hello", 3)
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::NotFound);
}

#[tokio::test]
async fn reads_a_pull_requests_branches_and_state() {
    let (fake, client) = setup().await;
    let open = fake.add_pull_request("octo/hello", "forker:feature/x", "develop");

    let info = client
        .get_pull_request("octo", "hello", open.number)
        .await
        .unwrap();
    assert_eq!(
        info,
        PullRequestInfo {
            number: open.number,
            html_url: open.html_url(),
            head_ref: "feature/x".into(),
            head_sha: open.head_sha.clone(),
            head_repo_clone_url: Some("https://github.example/forker/hello.git".into()),
            base_ref: "develop".into(),
            state: PullRequestState::Open,
            merged: false,
        }
    );
    assert_eq!(
        parse_repo(info.head_repo_clone_url.as_deref().unwrap()),
        Some(("forker".into(), "hello".into()))
    );

    fake.set_pull_request_status("octo/hello", open.number, PullStatus::Merged);
    let info = client
        .get_pull_request("octo", "hello", open.number)
        .await
        .unwrap();
    assert_eq!((info.state, info.merged), (PullRequestState::Closed, true));
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_and_never_echo_the_token() {
    let (fake, client) = setup().await;
    fake.set_token(Some("ghp_the_right_one"));

    let err = client
        .create_pull_request("octo", "hello", &new_pr("agentd/task-1"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GitHubError::Unauthorized {
            message: "Bad credentials".into()
        }
    );
    assert!(!format!("{err} {err:?} {client:?}").contains(TOKEN));
    assert!(fake.pull_requests("octo/hello").is_empty());

    fake.set_token(None);
    assert!(
        client
            .get_pull_request("octo", "hello", 1)
            .await
            .is_err_and(|e| e == GitHubError::NotFound)
    );
}

#[tokio::test]
async fn rate_limits_say_when_to_retry() {
    let (fake, client) = setup().await;
    fake.fail_next(GitHubFailure::secondary_rate_limit(42));

    let err = client
        .create_pull_request("octo", "hello", &new_pr("agentd/task-1"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GitHubError::RateLimited {
            retry_after: Duration::from_secs(42)
        }
    );
    assert!(err.is_retryable());
    assert_eq!(
        fake.requests().len(),
        1,
        "the client leaves retrying to its caller"
    );

    fake.fail_next(GitHubFailure::new(502, "Server Error"));
    let err = client
        .create_issue_comment("octo", "hello", 1, "x")
        .await
        .unwrap_err();
    assert_eq!(err, GitHubError::Unavailable { status: 502 });
}

#[tokio::test]
async fn bad_settings_and_unreachable_servers_are_typed_errors() {
    for token in ["", "  ", "line\nbreak"] {
        let err = GitHubClient::new(token).unwrap_err();
        assert!(
            matches!(err, GitHubError::Config { .. }),
            "{token:?}: {err:?}"
        );
    }
    for url in ["not a url", "/relative/path"] {
        let err = GitHubClient::with_base_url(url, TOKEN).unwrap_err();
        assert!(
            matches!(err, GitHubError::Config { .. }),
            "{url:?}: {err:?}"
        );
    }

    // A port nothing listens on (bound, then released).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = GitHubClient::with_base_url(&format!("http://{addr}"), TOKEN).unwrap();
    let err = client
        .get_pull_request("octo", "hello", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(!err.to_string().contains(TOKEN));
}
