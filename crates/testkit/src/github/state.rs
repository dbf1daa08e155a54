//! The GitHub fake's memory: repositories with their issues, pull requests
//! and comments, and scripted failures. Pure data and rules; the HTTP side
//! lives in `server.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::github::{GitHubFailure, PullStatus};

/// Where the fake says pages live; never fetched.
pub(crate) const WEB_HOST: &str = "https://github.example";

/// A pull request as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePullRequest {
    /// `owner/name` of the base repository.
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    /// The head owner: the base repository's owner unless from a fork.
    pub head_owner: String,
    pub head: String,
    pub head_sha: String,
    pub base: String,
    pub draft: bool,
    pub status: PullStatus,
}

impl FakePullRequest {
    /// `owner:branch`, as GitHub's `head.label` and list filter spell it.
    pub fn head_label(&self) -> String {
        format!("{}:{}", self.head_owner, self.head)
    }

    pub fn html_url(&self) -> String {
        format!("{WEB_HOST}/{}/pull/{}", self.repo, self.number)
    }
}

/// A comment on an issue or pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeComment {
    pub id: u64,
    pub repo: String,
    pub issue_number: u64,
    pub body: String,
    pub html_url: String,
}

#[derive(Default)]
struct Repo {
    /// As first written; lookups use the lowercased key, as GitHub's do.
    full_name: String,
    /// Issues and pull requests share one sequence per repository.
    last_number: u64,
    issues: BTreeMap<u64, String>,
    pulls: BTreeMap<u64, FakePullRequest>,
    /// Head labels (`owner:branch`) with nothing to merge.
    no_diff: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    repos: BTreeMap<String, Repo>,
    comments: Vec<FakeComment>,
    last_comment_id: u64,
    failures: VecDeque<GitHubFailure>,
    token: Option<String>,
}

/// Why the fake refuses a request; rendered as GitHub's error body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotFound,
    /// 400 `Problems parsing JSON`.
    BadJson,
    /// 422 `Validation Failed` with one `errors` entry.
    Invalid {
        field: Option<&'static str>,
        code: &'static str,
        message: Option<String>,
    },
}

/// What `POST /pulls` asked for.
pub(crate) struct PullInput {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: Option<String>,
    pub draft: bool,
}

pub(crate) struct GitHubShared {
    state: Mutex<State>,
}

fn key(repo: &str) -> String {
    repo.to_ascii_lowercase()
}

/// `owner:branch` → (`owner`, `branch`); a bare branch belongs to `owner`.
pub(crate) fn split_head(repo: &str, head: &str) -> (String, String) {
    match head.split_once(':') {
        Some((owner, branch)) => (owner.to_owned(), branch.to_owned()),
        None => {
            let owner = repo.split('/').next().unwrap_or_default();
            (owner.to_owned(), head.to_owned())
        }
    }
}

impl GitHubShared {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn repo<'a>(state: &'a mut State, repo: &str) -> &'a mut Repo {
        state.repos.entry(key(repo)).or_insert_with(|| Repo {
            full_name: repo.to_owned(),
            ..Repo::default()
        })
    }

    pub fn set_token(&self, token: Option<String>) {
        self.lock().token = token;
    }

    pub fn token(&self) -> Option<String> {
        self.lock().token.clone()
    }

    pub fn push_failure(&self, failure: GitHubFailure) {
        self.lock().failures.push_back(failure);
    }

    pub fn next_failure(&self) -> Option<GitHubFailure> {
        self.lock().failures.pop_front()
    }

    pub fn add_issue(&self, repo: &str, number: u64, title: &str) {
        let mut state = self.lock();
        let repo = Self::repo(&mut state, repo);
        repo.issues.insert(number, title.to_owned());
        repo.last_number = repo.last_number.max(number);
    }

    pub fn set_no_diff(&self, repo: &str, head: &str) {
        let (owner, branch) = split_head(repo, head);
        let mut state = self.lock();
        Self::repo(&mut state, repo)
            .no_diff
            .insert(format!("{owner}:{branch}"));
    }

    /// Opens a pull request under GitHub's rules: one open pull request per
    /// head and base, and none without commits.
    pub fn create_pull(&self, repo: &str, input: PullInput) -> Result<FakePullRequest, Refusal> {
        for (field, value) in [
            ("title", &input.title),
            ("head", &input.head),
            ("base", &input.base),
        ] {
            if value.trim().is_empty() {
                return Err(Refusal::Invalid {
                    field: Some(field),
                    code: "missing_field",
                    message: None,
                });
            }
        }
        let (head_owner, head) = split_head(repo, &input.head);
        let label = format!("{head_owner}:{head}");
        let mut state = self.lock();
        let repo = Self::repo(&mut state, repo);
        if repo.pulls.values().any(|p| {
            p.status == PullStatus::Open && p.head_label() == label && p.base == input.base
        }) {
            return Err(custom(format!(
                "A pull request already exists for {label}."
            )));
        }
        if repo.no_diff.contains(&label) {
            return Err(custom(format!(
                "No commits between {} and {label}",
                input.base
            )));
        }
        repo.last_number += 1;
        let pull = FakePullRequest {
            repo: repo.full_name.clone(),
            number: repo.last_number,
            title: input.title,
            body: input.body,
            head_sha: format!("{:040x}", 0xa9e7_d000_u64 + repo.last_number),
            head_owner,
            head,
            base: input.base,
            draft: input.draft,
            status: PullStatus::Open,
        };
        repo.pulls.insert(pull.number, pull.clone());
        Ok(pull)
    }

    pub fn pulls(&self, repo: &str) -> Vec<FakePullRequest> {
        let state = self.lock();
        state
            .repos
            .get(&key(repo))
            .map(|r| r.pulls.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn pull(&self, repo: &str, number: u64) -> Option<FakePullRequest> {
        let state = self.lock();
        state.repos.get(&key(repo))?.pulls.get(&number).cloned()
    }

    pub fn set_pull_status(&self, repo: &str, number: u64, status: PullStatus) -> bool {
        let mut state = self.lock();
        let pull = state
            .repos
            .get_mut(&key(repo))
            .and_then(|r| r.pulls.get_mut(&number));
        match pull {
            Some(pull) => {
                pull.status = status;
                true
            }
            None => false,
        }
    }

    pub fn add_comment(
        &self,
        repo: &str,
        number: u64,
        body: String,
    ) -> Result<FakeComment, Refusal> {
        let mut state = self.lock();
        let (full_name, is_pull) = {
            let repo = state.repos.get(&key(repo)).ok_or(Refusal::NotFound)?;
            let is_pull = repo.pulls.contains_key(&number);
            if !is_pull && !repo.issues.contains_key(&number) {
                return Err(Refusal::NotFound);
            }
            (repo.full_name.clone(), is_pull)
        };
        state.last_comment_id += 1;
        let id = 1_000 + state.last_comment_id;
        let kind = if is_pull { "pull" } else { "issues" };
        let comment = FakeComment {
            id,
            html_url: format!("{WEB_HOST}/{full_name}/{kind}/{number}#issuecomment-{id}"),
            repo: full_name,
            issue_number: number,
            body,
        };
        state.comments.push(comment.clone());
        Ok(comment)
    }

    pub fn edit_comment(&self, repo: &str, id: u64, body: String) -> Result<FakeComment, Refusal> {
        let mut state = self.lock();
        let comment = state
            .comments
            .iter_mut()
            .find(|c| c.id == id && key(&c.repo) == key(repo))
            .ok_or(Refusal::NotFound)?;
        comment.body = body;
        Ok(comment.clone())
    }

    pub fn comments(&self) -> Vec<FakeComment> {
        self.lock().comments.clone()
    }

    /// Forgets everything, the token setting included.
    pub fn reset(&self) {
        *self.lock() = State::default();
    }
}

fn custom(message: String) -> Refusal {
    Refusal::Invalid {
        field: None,
        code: "custom",
        message: Some(message),
    }
}
