//! How tools start processes. Tools never call `Command::new` themselves: the
//! launcher decides what actually runs, so a sandbox (bubblewrap) can wrap the
//! program later without any tool changing.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

/// Server secrets a tool's child process must never inherit.
pub const SCRUBBED_ENV_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    // Set by Claude Code; a child that sees it believes it runs nested inside it.
    "CLAUDECODE",
];

/// Every variable with this prefix is server configuration, hence scrubbed.
pub const SCRUBBED_ENV_PREFIX: &str = "AGENTD_";

/// Builds the [`Command`] for any process a tool starts.
///
/// The tool adds its own stdio pipes, process group and kill policy on top;
/// the launcher owns the program, arguments, working directory and environment.
pub trait ProcessLauncher: Send + Sync {
    fn command(&self, program: &str, args: &[String], cwd: &Path) -> Command;
}

/// Runs the program as-is: cwd set, stdin null, server secrets scrubbed.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectLauncher;

impl ProcessLauncher for DirectLauncher {
    fn command(&self, program: &str, args: &[String], cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(cwd).stdin(Stdio::null());
        scrub_env(&mut cmd, std::env::vars_os().map(|(key, _)| key));
        cmd
    }
}

/// Removes secrets from the environment `cmd` would inherit.
///
/// `inherited` is the list of variable names present in the parent; it is a
/// parameter so the policy can be tested without mutating the process env.
fn scrub_env(cmd: &mut Command, inherited: impl IntoIterator<Item = OsString>) {
    for name in SCRUBBED_ENV_VARS {
        cmd.env_remove(name);
    }
    for name in inherited {
        if is_server_config(&name) {
            cmd.env_remove(name);
        }
    }
}

fn is_server_config(name: &OsString) -> bool {
    name.to_str()
        .is_some_and(|name| name.starts_with(SCRUBBED_ENV_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(cmd: &Command) -> Vec<String> {
        let mut names: Vec<String> = cmd
            .as_std()
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn scrubs_fixed_secrets_and_every_agentd_variable() {
        let mut cmd = Command::new("true");
        let inherited = [
            "PATH",
            "AGENTD_DATABASE_URL",
            "AGENTD_X",
            "HOME",
            "XAGENTD_NOT",
        ];
        scrub_env(&mut cmd, inherited.iter().map(OsString::from));
        let mut expected: Vec<String> = SCRUBBED_ENV_VARS
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        expected.extend(["AGENTD_DATABASE_URL".to_owned(), "AGENTD_X".to_owned()]);
        expected.sort();
        assert_eq!(removed(&cmd), expected);
    }

    #[test]
    fn direct_launcher_sets_cwd_and_program() {
        let cmd = DirectLauncher.command("bash", &["-c".into(), "true".into()], Path::new("/tmp"));
        let std = cmd.as_std();
        assert_eq!(std.get_program(), "bash");
        assert_eq!(std.get_current_dir(), Some(Path::new("/tmp")));
        let args: Vec<_> = std.get_args().collect();
        assert_eq!(args, ["-c", "true"]);
    }
}
