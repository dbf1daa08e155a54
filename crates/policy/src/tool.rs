//! What a tool call touches, seen through Claude Code's tool names.

use serde_json::Value;

/// One tool call as the model made it: the tool's name (agentd's or Claude
/// Code's) and its JSON input.
#[derive(Clone, Copy, Debug)]
pub struct ToolCall<'a> {
    pub name: &'a str,
    pub input: &'a Value,
}

impl<'a> ToolCall<'a> {
    pub fn new(name: &'a str, input: &'a Value) -> Self {
        Self { name, input }
    }

    /// The Claude Code name this call is judged under.
    pub(crate) fn claude_name(&self) -> &'a str {
        claude_tool_name(self.name)
    }

    pub(crate) fn access(&self) -> Access<'a> {
        let input = self.input;
        let field = |name: &str| input.get(name).and_then(Value::as_str);
        // agentd's tools name the field `path`; Claude Code's file tools use
        // `file_path` (or `notebook_path`), its search tools `path`.
        let path = || {
            field("file_path")
                .or_else(|| field("path"))
                .or_else(|| field("notebook_path"))
        };
        match self.claude_name() {
            "Bash" => Access::Command(field("command")),
            "Read" => Access::Read(path()),
            // A search without a path searches the working directory.
            "Glob" | "Grep" | "LS" => Access::Read(Some(path().unwrap_or("."))),
            "Edit" | "Write" | "MultiEdit" | "NotebookEdit" => Access::Edit(path()),
            "WebFetch" => Access::Fetch(field("url")),
            "Task" | "Agent" => Access::Subagent(field("subagent_type")),
            _ => Access::Other,
        }
    }
}

/// Maps agentd's built-in tool names to the Claude Code names rules and hook
/// matchers use; any other name (Claude Code's own, `mcp__…`) is returned as is.
///
/// | agentd | Claude Code | also matched by |
/// |---|---|---|
/// | `bash` | `Bash` | |
/// | `read_file` | `Read` | |
/// | `glob` | `Glob` | `Read(...)` rules |
/// | `grep` | `Grep` | `Read(...)` rules |
/// | `list` | `LS` | `Read(...)` rules |
/// | `write_file` | `Write` | `Edit(...)` rules |
/// | `edit_file` | `Edit` | |
pub fn claude_tool_name(name: &str) -> &str {
    match name {
        "bash" => "Bash",
        "read_file" => "Read",
        "glob" => "Glob",
        "grep" => "Grep",
        "list" => "LS",
        "write_file" => "Write",
        "edit_file" => "Edit",
        other => other,
    }
}

/// The resource a call acts on, which is what rule specifiers are matched against.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access<'a> {
    /// A shell command (`None`: the input has no command).
    Command(Option<&'a str>),
    /// Reads a path (`None`: the input names no path).
    Read(Option<&'a str>),
    /// Changes a path.
    Edit(Option<&'a str>),
    /// Fetches a URL.
    Fetch(Option<&'a str>),
    /// Starts a subagent of this type.
    Subagent(Option<&'a str>),
    Other,
}

/// Rule tool names that cover a call's Claude Code name besides an exact match.
pub(crate) fn rule_tool_covers(rule_tool: &str, claude_name: &str) -> bool {
    if rule_tool == claude_name {
        return true;
    }
    match rule_tool {
        // Claude Code applies Read rules to every file-reading tool and Edit
        // rules to every file-changing tool.
        "Read" => matches!(claude_name, "Glob" | "Grep" | "LS"),
        "Edit" => matches!(claude_name, "Write" | "MultiEdit" | "NotebookEdit"),
        // The subagent tool was renamed; rules written for either name apply.
        "Task" => claude_name == "Agent",
        "Agent" => claude_name == "Task",
        _ => mcp_server_covers(rule_tool, claude_name),
    }
}

/// `mcp__server` (or `mcp__server__*`) covers every tool of that server.
fn mcp_server_covers(rule_tool: &str, claude_name: &str) -> bool {
    let Some(server) = rule_tool.strip_prefix("mcp__") else {
        return false;
    };
    let server = server.strip_suffix("__*").unwrap_or(server);
    if server.contains("__") {
        return false;
    }
    claude_name
        .strip_prefix("mcp__")
        .and_then(|rest| rest.strip_prefix(server))
        .is_some_and(|rest| rest.starts_with("__"))
}

pub(crate) fn is_read_only(claude_name: &str) -> bool {
    matches!(claude_name, "Read" | "Glob" | "Grep" | "LS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_server_rules_cover_only_that_server() {
        assert!(rule_tool_covers("mcp__github", "mcp__github__create_pr"));
        assert!(rule_tool_covers("mcp__github__*", "mcp__github__create_pr"));
        assert!(!rule_tool_covers("mcp__git", "mcp__github__create_pr"));
        assert!(!rule_tool_covers(
            "mcp__github__list",
            "mcp__github__create_pr"
        ));
        assert!(rule_tool_covers("mcp__github__list", "mcp__github__list"));
    }
}
