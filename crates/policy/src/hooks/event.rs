//! The JSON a hook receives, per Claude Code's contract.

use agentd_protocol::PermissionMode;
use serde::Serialize;
use serde_json::Value;

use super::config::HookEventName;
use crate::tool::claude_tool_name;

/// Fields every hook input carries.
#[derive(Clone, Debug, Serialize)]
pub struct HookCommon {
    pub session_id: String,
    /// Where the session's transcript is; empty when there is none on disk.
    pub transcript_path: String,
    pub cwd: String,
    pub permission_mode: PermissionMode,
}

/// The event-specific part of a hook input; serializes with
/// `hook_event_name` as the tag.
///
/// For tool events pass the Claude Code tool name (see
/// [`claude_tool_name`]) so scripts written for Claude Code work unchanged;
/// matchers are tried against both names either way.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "hook_event_name")]
pub enum HookInput {
    PreToolUse {
        tool_name: String,
        tool_input: Value,
        tool_use_id: String,
    },
    PostToolUse {
        tool_name: String,
        tool_input: Value,
        tool_response: Value,
        tool_use_id: String,
    },
    UserPromptSubmit {
        prompt: String,
    },
    Stop {
        /// A Stop hook already made the agent continue once; hooks use it to
        /// avoid endless loops.
        stop_hook_active: bool,
    },
    SessionStart {
        /// `startup`, `resume`, `clear` or `compact`.
        source: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
    SessionEnd {
        reason: String,
    },
    Notification {
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        notification_type: String,
    },
}

/// A complete hook input.
#[derive(Clone, Debug, Serialize)]
pub struct HookEvent {
    #[serde(flatten)]
    pub common: HookCommon,
    #[serde(flatten)]
    pub input: HookInput,
}

impl HookInput {
    pub fn name(&self) -> HookEventName {
        match self {
            Self::PreToolUse { .. } => HookEventName::PreToolUse,
            Self::PostToolUse { .. } => HookEventName::PostToolUse,
            Self::UserPromptSubmit { .. } => HookEventName::UserPromptSubmit,
            Self::Stop { .. } => HookEventName::Stop,
            Self::SessionStart { .. } => HookEventName::SessionStart,
            Self::SessionEnd { .. } => HookEventName::SessionEnd,
            Self::Notification { .. } => HookEventName::Notification,
        }
    }

    /// What matchers are tested against: the tool (under both its names), the
    /// session source or the notification type. Empty: every group runs.
    pub(crate) fn subjects(&self) -> Vec<&str> {
        match self {
            Self::PreToolUse { tool_name, .. } | Self::PostToolUse { tool_name, .. } => {
                let claude = claude_tool_name(tool_name);
                if claude == tool_name {
                    vec![tool_name.as_str()]
                } else {
                    vec![tool_name.as_str(), claude]
                }
            }
            Self::SessionStart { source, .. } => vec![source.as_str()],
            Self::Notification {
                notification_type, ..
            } => vec![notification_type.as_str()],
            Self::UserPromptSubmit { .. } | Self::Stop { .. } | Self::SessionEnd { .. } => {
                Vec::new()
            }
        }
    }
}

impl HookEvent {
    pub fn name(&self) -> HookEventName {
        self.input.name()
    }
}
