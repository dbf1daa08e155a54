//! The few REST calls agentd makes: open a pull request (or find the one
//! already open), comment on issues and pull requests, and read a pull
//! request's branches. Octocrab is the transport (auth header, base URL,
//! TLS, timeouts); statuses and bodies are decoded here so every failure
//! becomes a [`GitHubError`] that says what to do.

use std::time::Duration;

use http::header::ACCEPT;
use http::{HeaderValue, Method, StatusCode};
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{self, ErrorBody, GitHubError};
use crate::repo::encode;

pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
const MEDIA_TYPE: &str = "application/vnd.github+json";

/// A token-authenticated GitHub REST client. Cheap to clone.
#[derive(Clone)]
pub struct GitHubClient {
    octo: Octocrab,
    /// Kept only to scrub it from transport error messages.
    token: String,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient").finish_non_exhaustive()
    }
}

/// What to open: `head` is a branch of the same repository, or
/// `owner:branch` for a fork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPullRequest {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
    pub draft: bool,
}

/// A pull request that is open for the head branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    /// It was already open (GitHub refused a second one), so this call
    /// created nothing and the title and body are the earlier ones.
    pub existing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub html_url: String,
}

/// A pull request's branches and state, for continuing work on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestInfo {
    pub number: u64,
    pub html_url: String,
    pub head_ref: String,
    pub head_sha: String,
    /// Where to fetch the head branch from; differs from the base
    /// repository for forks, and is `None` once a fork is deleted.
    pub head_repo_clone_url: Option<String>,
    pub base_ref: String,
    pub state: PullRequestState,
    pub merged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    Open,
    Closed,
}

#[derive(Deserialize)]
struct CreatedPull {
    number: u64,
    html_url: String,
}

/// The pull request fields read from GitHub's (much larger) object.
#[derive(Deserialize)]
struct PullWire {
    number: u64,
    #[serde(default)]
    html_url: String,
    state: PullRequestState,
    /// Absent from list responses; `merged_at` says it there.
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    head: RefWire,
    base: RefWire,
}

#[derive(Deserialize)]
struct RefWire {
    #[serde(rename = "ref")]
    branch: String,
    #[serde(default)]
    sha: String,
    #[serde(default)]
    repo: Option<RepoWire>,
}

#[derive(Deserialize)]
struct RepoWire {
    #[serde(default)]
    clone_url: Option<String>,
}

/// A response read to the end.
struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl GitHubClient {
    /// A client for api.github.com.
    pub fn new(token: &str) -> Result<Self, GitHubError> {
        Self::with_base_url(DEFAULT_BASE_URL, token)
    }

    /// A client for another API root: GitHub Enterprise
    /// (`https://ghe.example/api/v3`) or a test fake.
    pub fn with_base_url(base_url: &str, token: &str) -> Result<Self, GitHubError> {
        // Octocrab unwraps the header it builds from the token; check it
        // first so a bad token is an error, not a panic.
        if token.trim().is_empty() || HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(GitHubError::Config {
                message: "the token is empty or has characters a header cannot carry".into(),
            });
        }
        let config = |message: String| GitHubError::Config { message };
        let uri: http::Uri = base_url
            .trim_end_matches('/')
            .parse()
            .map_err(|_| config(format!("`{base_url}` is not a URL")))?;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(config(format!("`{base_url}` is not an absolute URL")));
        }
        let octo = Octocrab::builder()
            // Octocrab adds `X-GitHub-Api-Version: 2022-11-28` and a
            // `User-Agent` itself; a second User-Agent would be appended,
            // not substituted, so we leave its own.
            .add_header(ACCEPT, MEDIA_TYPE.to_owned())
            .personal_token(token.to_owned())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .set_write_timeout(Some(Duration::from_secs(30)))
            // Octocrab's default retries 429s at once and repeats POSTs;
            // instead errors say whether and when to retry, and the caller decides.
            .add_retry_config(RetryConfig::None)
            .base_uri(uri)
            .map_err(|err| config(err.to_string()))?
            .build()
            .map_err(|err| config(err.to_string()))?;
        Ok(Self {
            octo,
            token: token.to_owned(),
        })
    }

    /// Opens a pull request. When one is already open for `head`, GitHub
    /// answers 422; that one is looked up and returned with `existing`, so
    /// finishing a task twice is harmless. A head with no new commits is
    /// [`GitHubError::NoDiff`].
    pub async fn create_pull_request(
        &self,
        owner: &str,
        repo: &str,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, GitHubError> {
        let path = format!("{}/pulls", repo_path(owner, repo));
        let reply = self.send(Method::POST, &path, Some(pr)).await?;
        if reply.status == StatusCode::CREATED {
            let created: CreatedPull = decode(&reply)?;
            return Ok(PullRequest {
                number: created.number,
                html_url: created.html_url,
                existing: false,
            });
        }
        if reply.status == StatusCode::UNPROCESSABLE_ENTITY {
            let body = ErrorBody::parse(&reply.body);
            if body.mentions("no commits between") {
                return Err(GitHubError::NoDiff);
            }
            // If the open one cannot be found (closed meanwhile), the 422
            // itself is the answer.
            if body.mentions("a pull request already exists")
                && let Some(found) = self.find_open_pull_request(owner, repo, &pr.head).await?
            {
                tracing::info!(
                    owner,
                    repo,
                    number = found.number,
                    "pull request already open"
                );
                return Ok(found);
            }
        }
        Err(error::from_response(
            reply.status,
            &reply.headers,
            &reply.body,
        ))
    }

    /// The open pull request whose head is `head` (`branch` in this
    /// repository, or `owner:branch`), if any.
    pub async fn find_open_pull_request(
        &self,
        owner: &str,
        repo: &str,
        head: &str,
    ) -> Result<Option<PullRequest>, GitHubError> {
        // The list filter only understands `owner:branch`.
        let head = if head.contains(':') {
            head.to_owned()
        } else {
            format!("{owner}:{head}")
        };
        let path = format!(
            "{}/pulls?head={}&state=open",
            repo_path(owner, repo),
            encode(&head)
        );
        let reply = self
            .expect(Method::GET, &path, None::<&()>, StatusCode::OK)
            .await?;
        let pulls: Vec<PullWire> = decode(&reply)?;
        Ok(pulls.into_iter().next().map(|pull| PullRequest {
            number: pull.number,
            html_url: pull.html_url,
            existing: true,
        }))
    }

    /// Comments on an issue or pull request (they share numbers).
    pub async fn create_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("{}/issues/{number}/comments", repo_path(owner, repo));
        let reply = self
            .expect(
                Method::POST,
                &path,
                Some(&CommentBody { body }),
                StatusCode::CREATED,
            )
            .await?;
        decode(&reply)
    }

    /// Replaces a comment's text, to update a progress comment in place.
    pub async fn update_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(owner, repo));
        let reply = self
            .expect(
                Method::PATCH,
                &path,
                Some(&CommentBody { body }),
                StatusCode::OK,
            )
            .await?;
        decode(&reply)
    }

    pub async fn get_pull_request(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequestInfo, GitHubError> {
        let path = format!("{}/pulls/{number}", repo_path(owner, repo));
        let reply = self
            .expect(Method::GET, &path, None::<&()>, StatusCode::OK)
            .await?;
        let pull: PullWire = decode(&reply)?;
        Ok(PullRequestInfo {
            number: pull.number,
            html_url: pull.html_url,
            merged: pull.merged.unwrap_or(pull.merged_at.is_some()),
            head_ref: pull.head.branch,
            head_sha: pull.head.sha,
            head_repo_clone_url: pull.head.repo.and_then(|r| r.clone_url),
            base_ref: pull.base.branch,
            state: pull.state,
        })
    }

    /// Sends and maps every status but `expected` to an error.
    async fn expect<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        expected: StatusCode,
    ) -> Result<Reply, GitHubError> {
        let reply = self.send(method, path, body).await?;
        if reply.status == expected {
            Ok(reply)
        } else {
            Err(error::from_response(
                reply.status,
                &reply.headers,
                &reply.body,
            ))
        }
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, GitHubError> {
        let builder = http::Request::builder().method(method).uri(path);
        let request = self
            .octo
            .build_request(builder, body)
            .map_err(|err| self.transport(&err))?;
        let response = self
            .octo
            .execute(request)
            .await
            .map_err(|err| self.transport(&err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self
            .octo
            .body_to_string(response)
            .await
            .map_err(|err| self.transport(&err))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn transport(&self, err: &octocrab::Error) -> GitHubError {
        let mut message = err.to_string();
        // Nothing in octocrab's errors should echo the token, but a leak
        // here would land in logs and API responses.
        if message.contains(&self.token) {
            message = message.replace(&self.token, "[redacted]");
        }
        GitHubError::Transport { message }
    }
}

#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

/// `/repos/{owner}/{repo}`, each part escaped so no name can add segments.
fn repo_path(owner: &str, repo: &str) -> String {
    format!("/repos/{}/{}", encode(owner), encode(repo))
}

fn decode<T: DeserializeOwned>(reply: &Reply) -> Result<T, GitHubError> {
    serde_json::from_str(&reply.body).map_err(|err| GitHubError::Unexpected {
        status: reply.status.as_u16(),
        message: format!("cannot decode the response: {err}"),
    })
}
