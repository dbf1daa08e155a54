//! Permission rules in Claude Code's syntax: `Tool` or `Tool(specifier)`.

use std::fmt;

use regex::Regex;

use crate::path::{PathPattern, PolicyPaths};
use crate::tool::{Access, claude_tool_name, rule_tool_covers};

/// One parsed rule, e.g. `Bash(npm run test:*)`, `Read(./src/**)`, `mcp__github`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Claude Code's tool name (agentd names are translated when parsed).
    tool: String,
    specifier: Specifier,
    /// The rule as written (tool name translated), for reasons and audit.
    text: String,
}

#[derive(Clone, Debug)]
enum Specifier {
    /// `Tool` or `Tool(*)`.
    Any,
    Command(CommandPattern),
    Path(PathPattern),
    /// `WebFetch(domain:example.com)`; `*.example.com` covers subdomains.
    Domain(String),
    /// `Task(Explore)`.
    Subagent(String),
    /// A specifier for a tool whose inputs we do not know; it matches nothing.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permission rule {rule:?}: {kind}")]
pub struct RuleParseError {
    pub rule: String,
    pub kind: RuleErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleErrorKind {
    #[error("the rule is empty")]
    Empty,
    #[error("missing the closing `)`")]
    UnclosedParen,
    #[error("the tool name is missing; write `Tool` or `Tool(specifier)`")]
    MissingTool,
    #[error("{0:?} is not a tool name (letters, digits, `_`, `-` and a trailing `__*` only)")]
    InvalidToolName(String),
    #[error("the specifier in `()` is empty; write the bare tool name to match every use")]
    EmptySpecifier,
    #[error("`:*` must end the rule, and the prefix before it cannot contain `*`")]
    MisplacedPrefix,
    #[error("invalid path glob: {0}")]
    InvalidGlob(String),
    #[error("WebFetch rules take `domain:<host>`, e.g. `WebFetch(domain:example.com)`")]
    WebFetchNeedsDomain,
    #[error("MCP rules take no specifier; write `mcp__server` or `mcp__server__tool`")]
    McpSpecifier,
}

impl Rule {
    pub fn parse(text: &str) -> Result<Self, RuleParseError> {
        let fail = |kind| RuleParseError {
            rule: text.to_owned(),
            kind,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(fail(RuleErrorKind::Empty));
        }
        let (name, spec) = match trimmed.find('(') {
            None => (trimmed, None),
            Some(open) => {
                let Some(inner) = trimmed[open + 1..].strip_suffix(')') else {
                    return Err(fail(RuleErrorKind::UnclosedParen));
                };
                (trimmed[..open].trim_end(), Some(inner))
            }
        };
        if name.is_empty() {
            return Err(fail(RuleErrorKind::MissingTool));
        }
        if !valid_tool_name(name) {
            return Err(fail(RuleErrorKind::InvalidToolName(name.to_owned())));
        }
        let tool = claude_tool_name(name).to_owned();
        let specifier = match spec {
            None | Some("*") => Specifier::Any,
            Some("") => return Err(fail(RuleErrorKind::EmptySpecifier)),
            Some(spec) => parse_specifier(&tool, spec).map_err(fail)?,
        };
        let text = match spec {
            None => tool.clone(),
            Some(spec) => format!("{tool}({spec})"),
        };
        Ok(Self {
            tool,
            specifier,
            text,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this rule covers a call to `claude_name` that accesses `access`.
    /// Shell commands are matched one part at a time by [`Rule::matches_command`].
    pub(crate) fn matches(
        &self,
        claude_name: &str,
        access: Access<'_>,
        paths: &PolicyPaths,
    ) -> bool {
        if !rule_tool_covers(&self.tool, claude_name) {
            return false;
        }
        match (&self.specifier, access) {
            (Specifier::Any, _) => true,
            (Specifier::Command(pattern), Access::Command(Some(command))) => {
                pattern.matches(command.trim())
            }
            (Specifier::Path(pattern), Access::Read(Some(path)) | Access::Edit(Some(path))) => {
                pattern.matches(&paths.resolve(path), paths)
            }
            (Specifier::Domain(domain), Access::Fetch(Some(url))) => domain_matches(domain, url),
            // The specifier was trimmed when parsed; so is the call's type, or
            // ` Explore` would escape `Task(Explore)` rules (found by fuzzing).
            (Specifier::Subagent(name), Access::Subagent(Some(kind))) => name == kind.trim(),
            _ => false,
        }
    }

    /// For one part of a (possibly compound) shell command.
    pub(crate) fn matches_command(&self, command: &str) -> bool {
        if self.tool != "Bash" {
            return false;
        }
        match &self.specifier {
            Specifier::Any => true,
            Specifier::Command(pattern) => pattern.matches(command.trim()),
            _ => false,
        }
    }

    /// Whether this rule may allow a whole command that cannot be judged part
    /// by part (compound, or with `$(...)`): only `Bash`/`Bash(*)` or an exact
    /// rule, because a wildcard would reach into the hidden commands.
    pub(crate) fn allows_whole_command(&self, command: &str) -> bool {
        if self.tool != "Bash" {
            return false;
        }
        match &self.specifier {
            Specifier::Any => true,
            Specifier::Command(CommandPattern::Exact(exact)) => exact == command.trim(),
            _ => false,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn valid_tool_name(name: &str) -> bool {
    let name = name
        .strip_suffix("__*")
        .filter(|n| n.starts_with("mcp__"))
        .unwrap_or(name);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_specifier(tool: &str, spec: &str) -> Result<Specifier, RuleErrorKind> {
    match tool {
        "Bash" => CommandPattern::parse(spec).map(Specifier::Command),
        "Read" | "Edit" | "Write" | "MultiEdit" | "NotebookEdit" | "Glob" | "Grep" | "LS" => {
            PathPattern::parse(spec)
                .map(Specifier::Path)
                .map_err(|e| RuleErrorKind::InvalidGlob(e.to_string()))
        }
        "WebFetch" => match spec.strip_prefix("domain:").map(str::trim) {
            Some(domain) if !domain.is_empty() => {
                Ok(Specifier::Domain(domain.to_ascii_lowercase()))
            }
            _ => Err(RuleErrorKind::WebFetchNeedsDomain),
        },
        "Task" | "Agent" => Ok(Specifier::Subagent(spec.trim().to_owned())),
        mcp if mcp.starts_with("mcp__") => Err(RuleErrorKind::McpSpecifier),
        _ => Ok(Specifier::Unknown),
    }
}

fn domain_matches(domain: &str, url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    match domain.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .is_some_and(|sub| sub.ends_with('.')),
        None => host == domain,
    }
}

/// A `Bash(...)` specifier.
#[derive(Clone, Debug)]
pub(crate) enum CommandPattern {
    /// `Bash(npm run build)`: the whole command, nothing more.
    Exact(String),
    /// `Bash(npm run test:*)`: the prefix, then nothing or a space and more.
    Prefix(String),
    /// `Bash(git * main)`: `*` matches anything, spaces included.
    Glob(Regex),
}

/// A piece of a Bash pattern: literal text (with `\*` unescaped) or a `*`.
enum Piece {
    Literal(String),
    Star,
}

impl CommandPattern {
    fn parse(spec: &str) -> Result<Self, RuleErrorKind> {
        let spec = spec.trim();
        if let Some(prefix) = spec.strip_suffix(":*") {
            let pieces = pieces(prefix);
            if pieces.iter().any(|p| matches!(p, Piece::Star)) || prefix.trim().is_empty() {
                return Err(RuleErrorKind::MisplacedPrefix);
            }
            return Ok(Self::Prefix(literal(&pieces).trim().to_owned()));
        }
        if spec.contains(":*") {
            return Err(RuleErrorKind::MisplacedPrefix);
        }
        let pieces = pieces(spec);
        let stars = pieces.iter().filter(|p| matches!(p, Piece::Star)).count();
        if stars == 0 {
            return Ok(Self::Exact(literal(&pieces)));
        }
        let mut regex = String::from("(?s)^");
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Literal(text) => {
                    // `ls *` also matches a bare `ls`, as in Claude Code: a
                    // single trailing wildcard after a space is optional.
                    let optional_tail = stars == 1 && i + 2 == pieces.len() && text.ends_with(' ');
                    if optional_tail {
                        regex.push_str(&regex::escape(text.trim_end_matches(' ')));
                        regex.push_str("(?: .*)?$");
                        return Regex::new(&regex)
                            .map(Self::Glob)
                            .map_err(|e| RuleErrorKind::InvalidGlob(e.to_string()));
                    }
                    regex.push_str(&regex::escape(text));
                }
                Piece::Star => regex.push_str(".*"),
            }
        }
        regex.push('$');
        Regex::new(&regex)
            .map(Self::Glob)
            .map_err(|e| RuleErrorKind::InvalidGlob(e.to_string()))
    }

    fn matches(&self, command: &str) -> bool {
        match self {
            Self::Exact(exact) => command == exact,
            // Word boundary: `npm:*` matches `npm` and `npm test`, not `npmx`.
            Self::Prefix(prefix) => command
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace)),
            Self::Glob(regex) => regex.is_match(command),
        }
    }
}

/// Splits a Bash pattern at its wildcards; only `\*` is an escape, so other
/// backslashes (`grep a\|b`) stay literal.
fn pieces(spec: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                current.push('*');
                chars.next();
            }
            '*' => {
                if !current.is_empty() {
                    out.push(Piece::Literal(std::mem::take(&mut current)));
                }
                out.push(Piece::Star);
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        out.push(Piece::Literal(current));
    }
    out
}

fn literal(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(text) => text.as_str(),
            Piece::Star => "*",
        })
        .collect()
}

/// Escapes a command so that, as a `Bash(...)` specifier, it matches only itself.
pub(crate) fn escape_command(command: &str) -> String {
    command.trim().replace('*', "\\*")
}
