//! The GitHub task workflow: a verified delivery becomes a task (a mention
//! of the handle in an issue or pull request comment, or the configured
//! label on an issue), or ends one (its pull request closed). The server's
//! route checks the signature and de-duplicates deliveries, then hands the
//! parsed event here: `delivery` decides and starts; `reply` keeps a comment
//! on the issue in step with the task; `comment` writes that comment's text.
//!
//! The decisions themselves (what is a mention, which label, merged or not)
//! are `agentd-github`'s pure functions; tasks are the engine's own
//! (`SessionManager::create_task`), so a webhook task is an ordinary task
//! that can be followed, steered and cancelled over the API.

mod comment;
mod delivery;
mod reply;

use std::sync::Arc;

use agentd_github::{GitHubClient, TriggerConfig};
use agentd_protocol::PermissionMode;

pub use delivery::Handled;

use crate::config::GitHubSettings;
use crate::manager::SessionManager;

/// Default clone URL of a repository, from its `owner/name`.
pub const DEFAULT_CLONE_URL: &str = "https://github.com/{owner}/{repo}.git";

/// How webhook deliveries are checked and what they start.
#[derive(Clone)]
pub struct GitHubWebhooks {
    /// The hook's secret: deliveries must be signed with it.
    pub secret: String,
    /// The mention that summons agentd in a comment (`@agentd`).
    pub handle: String,
    /// Labelling an issue with this starts a task; `None` turns that off.
    pub label: Option<String>,
    /// The user (by name) who owns the tasks webhooks start.
    pub owner: String,
    /// What those tasks may do without a person.
    pub permission_mode: PermissionMode,
    /// Where to clone a repository from: `{owner}`, `{repo}` and
    /// `{full_name}` are replaced with its names.
    pub clone_url: String,
    /// The REST API for replies and pull request lookups (a token is
    /// needed); without it tasks still start, but nobody is told.
    pub github: Option<GitHubSettings>,
}

impl std::fmt::Debug for GitHubWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubWebhooks")
            .field("secret", &"***")
            .field("handle", &self.handle)
            .field("label", &self.label)
            .field("owner", &self.owner)
            .field("permission_mode", &self.permission_mode)
            .field("clone_url", &self.clone_url)
            .field("github", &self.github)
            .finish()
    }
}

impl GitHubWebhooks {
    /// The defaults around `secret`: handle `@agentd`, label `agentd`,
    /// owner `admin`, mode `unattended`, repositories on github.com.
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            handle: "@agentd".to_owned(),
            label: Some("agentd".to_owned()),
            owner: "admin".to_owned(),
            permission_mode: PermissionMode::Unattended,
            clone_url: DEFAULT_CLONE_URL.to_owned(),
            github: None,
        }
    }

    /// Refuses settings that could never work, at start-up rather than on
    /// the first delivery.
    pub fn validate(&self) -> Result<(), String> {
        if self.secret.trim().is_empty() {
            return Err("the webhook secret must not be empty".into());
        }
        if agentd_github::mention(&self.handle, &self.handle).is_none() {
            return Err(format!(
                "the webhook handle {:?} is not a GitHub login (letters, digits, - and _)",
                self.handle
            ));
        }
        if !(self.clone_url.contains("{repo}") || self.clone_url.contains("{full_name}")) {
            return Err(format!(
                "the clone URL template {:?} must contain {{repo}} or {{full_name}}",
                self.clone_url
            ));
        }
        Ok(())
    }

    /// The clone URL of `full_name` (`owner/name`); `None` when it is not
    /// a valid GitHub repository name, so a payload cannot smuggle a path
    /// or another URL into the template.
    pub fn clone_url_of(&self, full_name: &str) -> Option<String> {
        let (owner, repo) = agentd_github::parse_repo(full_name)?;
        if full_name.contains(':') || full_name.contains("//") {
            return None;
        }
        Some(
            self.clone_url
                .replace("{full_name}", &format!("{owner}/{repo}"))
                .replace("{owner}", &owner)
                .replace("{repo}", &repo),
        )
    }

    pub(crate) fn trigger(&self) -> TriggerConfig {
        TriggerConfig {
            handle: self.handle.clone(),
            label: self.label.clone().filter(|l| !l.trim().is_empty()),
        }
    }

    /// A REST client when a token is configured.
    pub(crate) fn client(&self) -> Option<GitHubClient> {
        let github = self.github.as_ref()?;
        match GitHubClient::with_base_url(&github.api_url, &github.token) {
            Ok(client) => Some(client),
            Err(e) => {
                tracing::warn!(error = %e, "the GitHub client for webhook replies is unusable");
                None
            }
        }
    }
}

impl SessionManager {
    /// Picks up the replies a previous process left unfinished: each waits
    /// for its task to end (or finds it ended) and updates its comment.
    /// Call once after start-up.
    pub async fn resume_github_replies(&self, config: &Arc<GitHubWebhooks>) {
        match self.services.store.pending_task_replies().await {
            Ok(pending) => {
                for pending in pending {
                    reply::spawn(self.clone(), config.clone(), pending);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot resume GitHub replies"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_urls_come_from_the_template() {
        let mut cfg = GitHubWebhooks::new("s");
        assert_eq!(
            cfg.clone_url_of("Octo-Org/hello.world").as_deref(),
            Some("https://github.com/Octo-Org/hello.world.git")
        );
        cfg.clone_url = "file:///srv/git/{full_name}.git".into();
        assert_eq!(
            cfg.clone_url_of("o/r").as_deref(),
            Some("file:///srv/git/o/r.git")
        );
        for bad in [
            "o/../x",
            "o/r/extra",
            "https://evil.example/o/r",
            "o",
            "../r",
        ] {
            assert_eq!(cfg.clone_url_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn unusable_settings_are_refused() {
        assert!(GitHubWebhooks::new("s").validate().is_ok());
        assert!(GitHubWebhooks::new(" ").validate().is_err());
        let mut cfg = GitHubWebhooks::new("s");
        cfg.handle = "@agent d".into();
        assert!(cfg.validate().is_err());
        let mut cfg = GitHubWebhooks::new("s");
        cfg.clone_url = "https://github.com/fixed.git".into();
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let cfg = GitHubWebhooks::new("hunter2-webhook-secret");
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn an_empty_label_turns_labels_off() {
        let mut cfg = GitHubWebhooks::new("s");
        assert_eq!(cfg.trigger().label.as_deref(), Some("agentd"));
        cfg.label = Some(String::new());
        assert_eq!(cfg.trigger().label, None);
    }
}
