//! [`FakeGitHub`]: the slice of GitHub's REST API agentd calls (pull
//! requests and issue comments), stateful and faithful to GitHub's status
//! codes and error bodies, recording every request so tests can assert on
//! exactly what was sent.

mod render;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::http::{self, FakeServer, RecordedRequest, Recorder};

pub use state::{FakeComment, FakePullRequest};

use server::{AppState, router};
use state::{GitHubShared, PullInput};

/// Where a pull request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullStatus {
    Open,
    Closed,
    Merged,
}

/// A scripted error response, served once in place of the next request's
/// real answer (after the credentials check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubFailure {
    pub status: u16,
    pub message: String,
    pub headers: Vec<(String, String)>,
}

impl GitHubFailure {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// GitHub's secondary rate limit: 403 with `retry-after`.
    pub fn secondary_rate_limit(retry_after_secs: u64) -> Self {
        Self::new(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )
        .header("retry-after", retry_after_secs.to_string())
    }
}

/// A fake GitHub REST API on an ephemeral local port. Repositories spring
/// into existence on first use; issues must be added with
/// [`add_issue`](Self::add_issue) before they can be commented on, as on
/// GitHub. Requests without `Authorization: Bearer …` (or `token …`) get
/// GitHub's 401. The server stops when this value is dropped.
pub struct FakeGitHub {
    server: FakeServer,
    recorder: Arc<Recorder>,
    shared: Arc<GitHubShared>,
}

const NAME: &str = "GitHub";

impl FakeGitHub {
    /// Starts on `127.0.0.1:0`. Panics if no port can be bound (test helper).
    pub async fn start() -> Self {
        http::started(NAME, Self::bind(http::LOCAL).await)
    }

    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let recorder = Arc::new(Recorder::default());
        let shared = Arc::new(GitHubShared::new());
        let app = |addr| {
            router(Arc::new(AppState {
                shared: shared.clone(),
                api_base: format!("http://{addr}"),
            }))
        };
        let server = FakeServer::bind(NAME, addr, recorder.clone(), app).await?;
        Ok(Self {
            server,
            recorder,
            shared,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, the API root (api.github.com's stand-in).
    pub fn base_url(&self) -> String {
        self.server.origin()
    }

    /// Accept only this token (401 `Bad credentials` otherwise); `None`,
    /// the default, accepts any non-empty one.
    pub fn set_token(&self, token: Option<&str>) {
        self.shared.set_token(token.map(str::to_owned));
    }

    /// Makes issue `number` of `repo` (`owner/name`) exist. Pull requests
    /// opened later are numbered after it.
    pub fn add_issue(&self, repo: &str, number: u64, title: &str) {
        self.shared.add_issue(repo, number, title);
    }

    /// Opens a pull request as if through the API; `head` is a branch or
    /// `owner:branch`. Panics when GitHub would refuse it (test helper).
    pub fn add_pull_request(&self, repo: &str, head: &str, base: &str) -> FakePullRequest {
        let input = PullInput {
            title: format!("Changes from {head}"),
            head: head.to_owned(),
            base: base.to_owned(),
            body: None,
            draft: false,
        };
        match self.shared.create_pull(repo, input) {
            Ok(pull) => pull,
            Err(refusal) => panic!("testkit: cannot open a pull request from {head}: {refusal:?}"),
        }
    }

    /// Closes, merges or reopens a pull request. Panics if it does not exist.
    pub fn set_pull_request_status(&self, repo: &str, number: u64, status: PullStatus) {
        assert!(
            self.shared.set_pull_status(repo, number, status),
            "testkit: no pull request {repo}#{number}"
        );
    }

    /// Makes `POST /pulls` for `head` fail with GitHub's 422 "No commits
    /// between …", as when the branch has nothing new.
    pub fn set_no_diff(&self, repo: &str, head: &str) {
        self.shared.set_no_diff(repo, head);
    }

    /// Serves `failure` for the next request instead of its real answer.
    pub fn fail_next(&self, failure: GitHubFailure) {
        self.shared.push_failure(failure);
    }

    /// The pull requests of `repo`, by number.
    pub fn pull_requests(&self, repo: &str) -> Vec<FakePullRequest> {
        self.shared.pulls(repo)
    }

    /// Every comment, in creation order, with its current body.
    pub fn comments(&self) -> Vec<FakeComment> {
        self.shared.comments()
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Waits until at least `n` requests arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.server.wait_for_requests(n, timeout).await
    }

    /// Forgets repositories, comments, failures, the token and requests.
    pub fn reset(&self) {
        self.shared.reset();
        self.recorder.reset();
    }
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}
