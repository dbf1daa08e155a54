//! Deciding one tool call: rules first (deny → ask → allow), then the mode.

use agentd_protocol::PermissionMode;
use serde::Serialize;

use crate::path::{PolicyPaths, exact_rule_path};
use crate::rule::{Rule, escape_command};
use crate::shell;
use crate::tool::{Access, ToolCall, is_read_only};

/// The rules in force for a session.
///
/// Built by concatenating every source's lists (see
/// [`Settings::merged`](crate::Settings::merged) for the order). Order does
/// not affect decisions: any deny match beats any ask match beats any allow
/// match, however specific; it only decides which rule a reason names.
#[derive(Clone, Debug, Default)]
pub struct PermissionSet {
    pub allow: Vec<Rule>,
    pub ask: Vec<Rule>,
    pub deny: Vec<Rule>,
}

impl PermissionSet {
    /// Appends `other`'s rules after this set's.
    pub fn extend(&mut self, other: PermissionSet) {
        self.allow.extend(other.allow);
        self.ask.extend(other.ask);
        self.deny.extend(other.deny);
    }
}

/// What should happen to a tool call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// A person must approve first; `reason` says why, for the approval prompt.
    Ask {
        reason: String,
    },
    /// Refused; `reason` goes back to the model.
    Deny {
        reason: String,
    },
}

/// The first rule that matched, by list.
enum Verdict<'a> {
    Deny(&'a Rule),
    Ask(&'a Rule),
    Allow,
    /// No rule allows the call; the text says what is missing.
    Unmatched(String),
}

/// Decides `call` under `mode` and `set`.
///
/// Deny rules hold in every mode. Then, by mode:
/// - `bypassPermissions` allows everything else (ask rules included).
/// - `plan` denies every tool that is not read-only (Read, Glob, Grep, LS) and
///   treats read-only ones as `default` does.
/// - `default`: an ask rule asks, an allow rule allows; otherwise read-only
///   tools inside the workspace are allowed and everything else asks.
/// - `acceptEdits`: as `default`, but edits and writes inside the workspace
///   are allowed without a rule.
/// - `unattended`: as `default`, with every ask turned into a deny.
pub fn evaluate(
    mode: PermissionMode,
    set: &PermissionSet,
    call: &ToolCall<'_>,
    paths: &PolicyPaths,
) -> Decision {
    let verdict = rule_verdict(set, call, paths);
    if let Verdict::Deny(rule) = verdict {
        return Decision::Deny {
            reason: format!("denied by the rule `{rule}`"),
        };
    }
    let claude_name = call.claude_name();
    let access = call.access();
    match mode {
        PermissionMode::BypassPermissions => Decision::Allow,
        PermissionMode::Plan if !is_read_only(claude_name) => Decision::Deny {
            reason: format!(
                "plan mode allows only read-only tools; `{}` is not one",
                call.name
            ),
        },
        PermissionMode::Plan | PermissionMode::Default => by_rules(verdict, call, access, paths),
        PermissionMode::AcceptEdits => match (&verdict, access) {
            (Verdict::Unmatched(_), Access::Edit(Some(path)))
                if paths.contains(&paths.resolve(path)) =>
            {
                Decision::Allow
            }
            _ => by_rules(verdict, call, access, paths),
        },
        PermissionMode::Unattended => match by_rules(verdict, call, access, paths) {
            Decision::Ask { reason } => unattended_deny(&reason),
            other => other,
        },
    }
}

/// Decides `call` once its `PreToolUse` hooks have answered, with Claude
/// Code's precedence: a rules or mode deny stands; a hook block or deny
/// denies; an `ask` rule or a hook ask asks; a hook `allow` skips the prompt
/// the mode alone would show (no rule matched) but never beats a deny or ask
/// rule, nor plan mode's refusal of edits. In `unattended` mode what would
/// still ask is denied.
pub fn decide(
    mode: PermissionMode,
    set: &PermissionSet,
    call: &ToolCall<'_>,
    paths: &PolicyPaths,
    hooks: &crate::HookOutcome,
) -> Decision {
    // Unattended is `default` with asks turned into denies; evaluate it as
    // `default` so a hook allow can still settle an unmatched call, and let
    // `combine` turn what remains an ask into a deny.
    let base = match mode {
        PermissionMode::Unattended => PermissionMode::Default,
        other => other,
    };
    let rules = evaluate(base, set, call, paths);
    let hook_allows = hooks.blocked.is_none()
        && !hooks.halted
        && hooks
            .permission
            .as_ref()
            .is_some_and(|p| p.decision == crate::HookDecision::Allow);
    let rules = match rules {
        Decision::Ask { .. }
            if hook_allows && !matches!(rule_verdict(set, call, paths), Verdict::Ask(_)) =>
        {
            Decision::Allow
        }
        other => other,
    };
    crate::combine(mode, rules, hooks)
}

/// What an ask becomes when nobody is there to answer it.
pub(crate) fn unattended_deny(reason: &str) -> Decision {
    Decision::Deny {
        reason: format!("{reason}: would need approval; this session runs unattended"),
    }
}

/// `default` mode's answer once deny rules are out of the way.
fn by_rules(
    verdict: Verdict<'_>,
    call: &ToolCall<'_>,
    access: Access<'_>,
    paths: &PolicyPaths,
) -> Decision {
    match verdict {
        Verdict::Deny(rule) => Decision::Deny {
            reason: format!("denied by the rule `{rule}`"),
        },
        Verdict::Ask(rule) => Decision::Ask {
            reason: format!("the rule `{rule}` requires approval"),
        },
        Verdict::Allow => Decision::Allow,
        Verdict::Unmatched(missing) => {
            // Claude Code lets read-only tools look around the project unasked.
            let read_inside = matches!(access, Access::Read(Some(path)) if is_read_only(call.claude_name()) && paths.contains(&paths.resolve(path)));
            if read_inside {
                Decision::Allow
            } else {
                Decision::Ask { reason: missing }
            }
        }
    }
}

fn rule_verdict<'a>(
    set: &'a PermissionSet,
    call: &ToolCall<'_>,
    paths: &PolicyPaths,
) -> Verdict<'a> {
    let claude_name = call.claude_name();
    let access = call.access();
    if let Access::Command(Some(command)) = access
        && claude_name == "Bash"
    {
        return command_verdict(set, command);
    }
    let hits = |rule: &&Rule| rule.matches(claude_name, access, paths);
    if let Some(rule) = set.deny.iter().find(hits) {
        return Verdict::Deny(rule);
    }
    if let Some(rule) = set.ask.iter().find(hits) {
        return Verdict::Ask(rule);
    }
    if set.allow.iter().any(|r| hits(&r)) {
        return Verdict::Allow;
    }
    Verdict::Unmatched(unmatched_reason(call, access, paths))
}

/// Shell commands are judged part by part: any denied part denies the whole,
/// any part that asks makes the whole ask, and every part must be allowed.
fn command_verdict<'a>(set: &'a PermissionSet, command: &str) -> Verdict<'a> {
    let split = shell::split(command);
    let whole = command.trim();
    // Deny and ask rules see the whole command, each part and every command
    // hidden in a substitution: any of them runs.
    let candidates: Vec<&str> = std::iter::once(whole)
        .chain(split.parts.iter().chain(&split.nested).map(String::as_str))
        .collect();
    let hit = |rule: &&Rule| candidates.iter().any(|c| rule.matches_command(c));
    if let Some(rule) = set.deny.iter().find(hit) {
        return Verdict::Deny(rule);
    }
    if let Some(rule) = set.ask.iter().find(hit) {
        return Verdict::Ask(rule);
    }
    if set.allow.iter().any(|r| r.allows_whole_command(whole)) {
        return Verdict::Allow;
    }
    if split.has_substitution {
        return Verdict::Unmatched(format!(
            "`{whole}` runs commands inside `$(...)` or backticks, which only a rule for the exact command can allow"
        ));
    }
    let unmatched: Vec<&str> = split
        .parts
        .iter()
        .map(String::as_str)
        .filter(|part| !set.allow.iter().any(|r| r.matches_command(part)))
        .collect();
    match unmatched.as_slice() {
        [] if !split.parts.is_empty() => Verdict::Allow,
        [] => Verdict::Unmatched("the command is empty".to_owned()),
        [only] if *only == whole => {
            Verdict::Unmatched(format!("no rule allows the command `{whole}`"))
        }
        parts => Verdict::Unmatched(format!(
            "no rule allows {} in `{whole}`",
            parts
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn unmatched_reason(call: &ToolCall<'_>, access: Access<'_>, paths: &PolicyPaths) -> String {
    let name = call.name;
    match access {
        Access::Read(Some(path)) | Access::Edit(Some(path))
            if !paths.contains(&paths.resolve(path)) =>
        {
            format!("`{name}` on {path} is outside the workspace")
        }
        Access::Edit(Some(path)) => format!("`{name}` would change {path}"),
        Access::Read(None) | Access::Edit(None) | Access::Command(None) => {
            format!("`{name}` was called without the input it needs to be checked")
        }
        Access::Fetch(Some(url)) => format!("no rule allows fetching {url}"),
        _ => format!("no rule allows `{name}`"),
    }
}

/// The rule an "accept for this session" approval adds so that the same call
/// runs unasked next time, and nothing broader: `Bash(npm test)` for that
/// exact command (wildcards escaped), `Edit(src/x.rs)` for a path (or
/// `Edit(//abs/path)` outside the workspace), `WebFetch(domain:host)`, the
/// MCP tool's full name, `Task(type)`, else the bare tool name.
pub fn session_rule_for(call: &ToolCall<'_>, paths: &PolicyPaths) -> String {
    let claude_name = call.claude_name();
    match call.access() {
        Access::Command(Some(command)) => format!("Bash({})", escape_command(command)),
        Access::Read(Some(path)) | Access::Edit(Some(path)) => {
            format!(
                "{claude_name}({})",
                exact_rule_path(&paths.resolve(path), paths)
            )
        }
        Access::Fetch(Some(url)) => match reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
        {
            Some(host) => format!("WebFetch(domain:{host})"),
            None => "WebFetch".to_owned(),
        },
        Access::Subagent(Some(kind)) => format!("{claude_name}({kind})"),
        Access::Command(None)
        | Access::Read(None)
        | Access::Edit(None)
        | Access::Fetch(None)
        | Access::Subagent(None)
        | Access::Other => claude_name.to_owned(),
    }
}
