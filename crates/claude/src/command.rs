//! The CLI's argv and environment, as pure functions of [`SpawnOptions`].
//! Every value is its own argv entry: nothing goes through a shell.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Arc;

use agentd_protocol::PermissionMode;

/// How to start one CLI process.
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    pub cwd: PathBuf,
    pub model: Option<String>,
    pub permission_mode: PermissionMode,
    /// A Claude session id to continue (`--resume=<id>`).
    pub resume: Option<String>,
    /// Variables for the CLI, e.g. `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`.
    /// They win over inherited ones and pass the secret filter.
    pub env: Vec<(String, String)>,
    /// A file holding `{"mcpServers": {...}}`, passed as `--mcp-config`
    /// with `--strict-mcp-config` (no other MCP configuration is read). A
    /// file, not inline JSON: env and header values are secrets, and argv is
    /// readable by every local user.
    pub mcp_config: Option<PathBuf>,
    pub append_system_prompt: Option<String>,
    /// Appended last, verbatim.
    pub extra_args: Vec<String>,
    /// Hook events (`PreToolUse`, `PostToolUse`, `Stop`, …) the CLI calls
    /// back for (`hook_callback`, answered by
    /// [`PermissionHandler::hook`](crate::PermissionHandler::hook)), for
    /// every tool: the handler does the matching.
    pub hook_events: Vec<String>,
    /// Starts the CLI (inside a sandbox); `None`: directly, with the
    /// server's environment less its secrets.
    pub launcher: Option<Arc<dyn crate::CliLauncher>>,
}

/// How long the CLI waits for one hook callback, in seconds. The host runs
/// the hooks under their own timeouts; this only guards against a host that
/// never answers.
const HOOK_CALLBACK_TIMEOUT_SECS: u64 = 900;

/// The `hooks` of the `initialize` request: one callback per event, the
/// callback id being the event name; `null` when there are none.
pub(crate) fn initialize_hooks(opts: &SpawnOptions) -> serde_json::Value {
    if opts.hook_events.is_empty() {
        return serde_json::Value::Null;
    }
    let map: serde_json::Map<String, serde_json::Value> = opts
        .hook_events
        .iter()
        .map(|event| {
            (
                event.clone(),
                serde_json::json!([{
                    "matcher": null,
                    "hookCallbackIds": [event],
                    "timeout": HOOK_CALLBACK_TIMEOUT_SECS,
                }]),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

/// The CLI's `--permission-mode` for an agentd mode. `unattended` has no
/// CLI twin: it runs as `default`, so every call the CLI would ask a person
/// about reaches our `PermissionHandler` instead, which decides for the
/// absent person. (`dontAsk` would deny those calls inside the CLI, out of
/// agentd's sight.)
pub(crate) fn cli_permission_mode(mode: PermissionMode) -> &'static str {
    match mode {
        PermissionMode::Default | PermissionMode::Unattended => "default",
        PermissionMode::AcceptEdits => "acceptEdits",
        PermissionMode::Plan => "plan",
        PermissionMode::BypassPermissions => "bypassPermissions",
    }
}

pub(crate) fn args(opts: &SpawnOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "--output-format",
        "stream-json",
        "--input-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--permission-prompt-tool",
        "stdio",
    ]
    .map(str::to_owned)
    .into();
    // `--flag=value` so a value starting with `-` is never read as a flag
    // (`--resume` even takes an optional value).
    args.push(format!(
        "--permission-mode={}",
        cli_permission_mode(opts.permission_mode)
    ));
    if let Some(model) = &opts.model {
        args.push(format!("--model={model}"));
    }
    if let Some(id) = &opts.resume {
        args.push(format!("--resume={id}"));
    }
    if let Some(config) = &opts.mcp_config {
        args.push(format!("--mcp-config={}", config.display()));
        args.push("--strict-mcp-config".to_owned());
    }
    if let Some(prompt) = &opts.append_system_prompt {
        args.push(format!("--append-system-prompt={prompt}"));
    }
    args.extend(opts.extra_args.iter().cloned());
    args
}

/// Inherited variables the CLI must not see unless passed explicitly:
/// nesting markers, agentd's own configuration, and anything that looks
/// like a credential (the server's keys are not the agent's).
fn withheld(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    const SECRET_SUFFIXES: [&str; 6] = [
        "_KEY",
        "_TOKEN",
        "_SECRET",
        "_PASSWORD",
        "_CREDENTIALS",
        "_DATABASE_URL",
    ];
    name == "CLAUDECODE"
        || name == "DATABASE_URL"
        || name.starts_with("AGENTD_")
        || name.starts_with("ANTHROPIC_")
        || name.contains("SECRET")
        || SECRET_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The environment handed to a [`crate::CliLauncher`]: only what was asked
/// for, nothing of the server's. `IS_SANDBOX` is not needed: a sandbox runs
/// the CLI as an unprivileged user.
pub(crate) fn launcher_env(opts: &SpawnOptions) -> Vec<(String, String)> {
    let mut out = vec![("PWD".to_owned(), opts.cwd.to_string_lossy().into_owned())];
    out.extend(opts.env.iter().filter(|(k, _)| k != "PWD").cloned());
    out
}

/// The child's whole environment.
pub(crate) fn env(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    opts: &SpawnOptions,
    is_root: bool,
) -> Vec<(OsString, OsString)> {
    let explicit = |name: &OsStr| opts.env.iter().any(|(k, _)| OsStr::new(k) == name);
    let mut out: Vec<(OsString, OsString)> = inherited
        .into_iter()
        .filter(|(name, _)| !withheld(name) && !explicit(name))
        .filter(|(name, _)| name != "PWD" && !(is_root && name == "IS_SANDBOX"))
        .collect();
    out.push(("PWD".into(), opts.cwd.clone().into_os_string()));
    if is_root {
        // The CLI refuses bypassPermissions as root unless told it is sandboxed.
        out.push(("IS_SANDBOX".into(), "1".into()));
    }
    out.extend(opts.env.iter().map(|(k, v)| (k.into(), v.into())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn argv_carries_every_option_as_single_entries() {
        let opts = SpawnOptions {
            cwd: "/ws".into(),
            model: Some("claude-x".into()),
            permission_mode: PermissionMode::Unattended,
            resume: Some("-weird-id".into()),
            mcp_config: Some("/private/mcp.json".into()),
            append_system_prompt: Some("be $(careful)".into()),
            extra_args: vec!["--max-turns".into(), "3".into()],
            ..SpawnOptions::default()
        };
        assert_eq!(
            args(&opts)[8..],
            [
                "--permission-mode=default",
                "--model=claude-x",
                "--resume=-weird-id",
                "--mcp-config=/private/mcp.json",
                "--strict-mcp-config",
                "--append-system-prompt=be $(careful)",
                "--max-turns",
                "3",
            ]
        );
        assert_eq!(cli_permission_mode(PermissionMode::Plan), "plan");
        assert_eq!(
            cli_permission_mode(PermissionMode::AcceptEdits),
            "acceptEdits"
        );
        assert_eq!(
            cli_permission_mode(PermissionMode::BypassPermissions),
            "bypassPermissions"
        );
    }

    #[test]
    fn a_launcher_gets_only_the_explicit_environment() {
        let opts = SpawnOptions {
            cwd: "/ws".into(),
            env: vec![("ANTHROPIC_API_KEY".into(), "agent-key".into())],
            ..SpawnOptions::default()
        };
        assert_eq!(
            launcher_env(&opts),
            [("PWD", "/ws"), ("ANTHROPIC_API_KEY", "agent-key")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn env_drops_secrets_and_agentd_config_unless_passed() {
        let inherited = [
            ("PATH", "/bin"),
            ("HOME", "/root"),
            ("CLAUDECODE", "1"),
            ("AGENTD_ADMIN_TOKEN", "x"),
            ("AGENTD_TEST_CLAUDE", "/c"),
            ("ANTHROPIC_API_KEY", "server-key"),
            ("OPENAI_API_KEY", "k"),
            ("GITHUB_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("DATABASE_URL", "postgres://"),
            ("PWD", "/elsewhere"),
            ("LANG", "C.UTF-8"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let opts = SpawnOptions {
            cwd: "/ws".into(),
            env: vec![
                ("ANTHROPIC_API_KEY".into(), "agent-key".into()),
                ("HOME".into(), "/tmp/h".into()),
            ],
            ..SpawnOptions::default()
        };
        let got: Vec<(String, String)> = env(inherited, &opts, true)
            .into_iter()
            .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
            .collect();
        let want: Vec<(String, String)> = [
            ("PATH", "/bin"),
            ("LANG", "C.UTF-8"),
            ("PWD", "/ws"),
            ("IS_SANDBOX", "1"),
            ("ANTHROPIC_API_KEY", "agent-key"),
            ("HOME", "/tmp/h"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        assert_eq!(got, want);
    }
}
