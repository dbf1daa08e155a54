//! The `hooks` section of a settings file.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The events agentd fires hooks for. Claude Code has more; settings naming
/// others are accepted and those entries ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HookEventName {
    PreToolUse,
    PostToolUse,
    UserPromptSubmit,
    Stop,
    SessionStart,
    SessionEnd,
    Notification,
}

impl HookEventName {
    pub const ALL: [HookEventName; 7] = [
        Self::PreToolUse,
        Self::PostToolUse,
        Self::UserPromptSubmit,
        Self::Stop,
        Self::SessionStart,
        Self::SessionEnd,
        Self::Notification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreToolUse => "PreToolUse",
            Self::PostToolUse => "PostToolUse",
            Self::UserPromptSubmit => "UserPromptSubmit",
            Self::Stop => "Stop",
            Self::SessionStart => "SessionStart",
            Self::SessionEnd => "SessionEnd",
            Self::Notification => "Notification",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for HookEventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookHandler {
    /// Run by `bash -c` through the session's launcher, event JSON on stdin.
    Command {
        command: String,
        timeout: Option<Duration>,
    },
    /// The event JSON is POSTed, signed when a secret is configured.
    Http {
        url: String,
        timeout: Option<Duration>,
        headers: BTreeMap<String, String>,
    },
}

/// Hooks that run when an event's subject matches `matcher`.
#[derive(Clone, Debug)]
pub struct MatcherGroup {
    /// As written; `None` for a missing, empty or `*` matcher.
    pub matcher: Option<String>,
    regex: Option<Regex>,
    pub hooks: Vec<HookHandler>,
}

impl MatcherGroup {
    /// `matcher` is a case-sensitive regex that must match the whole subject
    /// (anchored, so `Edit` does not also run for `NotebookEdit`).
    pub fn new(matcher: Option<&str>, hooks: Vec<HookHandler>) -> Result<Self, regex::Error> {
        let matcher = matcher
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "*");
        let regex = matcher
            .map(|m| Regex::new(&format!("^(?:{m})$")))
            .transpose()?;
        Ok(Self {
            matcher: matcher.map(str::to_owned),
            regex,
            hooks,
        })
    }

    /// Whether the group runs for an event whose subject is any of `subjects`
    /// (a tool's agentd and Claude Code names, a session source, …). Events
    /// without a subject run every group.
    pub(crate) fn applies_to(&self, subjects: &[&str]) -> bool {
        match &self.regex {
            None => true,
            Some(_) if subjects.is_empty() => true,
            Some(regex) => subjects.iter().any(|s| regex.is_match(s)),
        }
    }
}

/// Every configured hook, by event.
#[derive(Clone, Debug, Default)]
pub struct HooksConfig {
    pub groups: BTreeMap<HookEventName, Vec<MatcherGroup>>,
}

impl HooksConfig {
    /// Appends `other`'s groups after this config's.
    pub fn extend(&mut self, other: HooksConfig) {
        for (event, groups) in other.groups {
            self.groups.entry(event).or_default().extend(groups);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.values().all(Vec::is_empty)
    }

    pub(crate) fn from_raw(raw: BTreeMap<String, Vec<RawGroup>>) -> Result<Self, String> {
        let mut config = Self::default();
        for (name, groups) in raw {
            let Some(event) = HookEventName::parse(&name) else {
                tracing::debug!(event = %name, "ignoring hooks for an event agentd does not fire");
                continue;
            };
            for group in groups {
                let hooks = group
                    .hooks
                    .into_iter()
                    .filter_map(RawHandler::into_handler)
                    .collect();
                let group = MatcherGroup::new(group.matcher.as_deref(), hooks)
                    .map_err(|e| format!("hooks.{name}: invalid matcher: {e}"))?;
                config.groups.entry(event).or_default().push(group);
            }
        }
        Ok(config)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawGroup {
    #[serde(default)]
    matcher: Option<String>,
    #[serde(default)]
    hooks: Vec<RawHandler>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawHandler {
    Command {
        command: String,
        /// Seconds, as in Claude Code.
        #[serde(default)]
        timeout: Option<u64>,
    },
    Http {
        url: String,
        #[serde(default)]
        timeout: Option<u64>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// `prompt`, `agent`, `mcp_tool` and future kinds: tolerated, not run.
    #[serde(other)]
    Unsupported,
}

impl RawHandler {
    fn into_handler(self) -> Option<HookHandler> {
        match self {
            Self::Command { command, timeout } => Some(HookHandler::Command {
                command,
                timeout: timeout.map(Duration::from_secs),
            }),
            Self::Http {
                url,
                timeout,
                headers,
            } => Some(HookHandler::Http {
                url,
                timeout: timeout.map(Duration::from_secs),
                headers,
            }),
            Self::Unsupported => {
                tracing::debug!("ignoring a hook of a type agentd does not run");
                None
            }
        }
    }
}
