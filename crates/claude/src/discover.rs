//! Finding the `claude` binary and checking its version.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::error::ClaudeError;

/// The oldest CLI we accept: the floor the official Agent SDK checks for
/// (stream-json input and the control protocol). Fields added later
/// (`api_error_status`, `terminal_reason`, `model_usage_since_last_result`)
/// have fallbacks; the pinned version in `scripts/test` is the one tested.
pub const MIN_VERSION: &str = "2.0.0";

/// The first run of the ~400 MB native binary can be slow on a cold cache.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A `claude` binary that answered `--version` with a version we support.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaudeCli {
    pub path: PathBuf,
    pub version: String,
}

impl ClaudeCli {
    /// Uses `explicit` (config / `--claude-path`) when given, else the first
    /// `claude` on `PATH`; runs `claude --version` and checks [`MIN_VERSION`].
    pub async fn discover(explicit: Option<&Path>) -> Result<ClaudeCli, ClaudeError> {
        let path = match explicit {
            Some(path) if is_executable(path) => path.to_path_buf(),
            Some(path) => {
                return Err(ClaudeError::NotFound {
                    searched: format!("{} is not an executable file", path.display()),
                });
            }
            None => search_path(std::env::var_os("PATH")).ok_or_else(|| ClaudeError::NotFound {
                searched: "no `claude` on PATH".into(),
            })?,
        };
        let version = run_version(&path).await?;
        if !at_least(&version, MIN_VERSION) {
            return Err(ClaudeError::TooOld {
                path,
                found: version,
                needed: MIN_VERSION,
            });
        }
        Ok(ClaudeCli { path, version })
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn search_path(path_var: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path_var?)
        .map(|dir| dir.join("claude"))
        .find(|candidate| is_executable(candidate))
}

async fn run_version(path: &Path) -> Result<String, ClaudeError> {
    let mut command = tokio::process::Command::new(path);
    command
        .arg("--version")
        .env_remove("CLAUDECODE")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(VERSION_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            ClaudeError::Protocol(format!(
                "`{} --version` did not answer within {VERSION_TIMEOUT:?}",
                path.display()
            ))
        })?
        .map_err(|source| ClaudeError::Spawn {
            path: path.to_path_buf(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(ClaudeError::Exited {
            code: output.status.code(),
            stderr_tail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    parse_version(&stdout).ok_or_else(|| {
        ClaudeError::Protocol(format!(
            "unexpected `claude --version` output: {:?}",
            stdout.trim()
        ))
    })
}

/// `"2.1.330 (Claude Code)"` → `"2.1.330"`.
pub(crate) fn parse_version(output: &str) -> Option<String> {
    let token = output.split_whitespace().next()?.trim_start_matches('v');
    numbers(token).map(|_| token.to_owned())
}

/// Major, minor, patch; a pre-release or build suffix is ignored.
fn numbers(version: &str) -> Option<[u64; 3]> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let mut out = [0; 3];
    for slot in &mut out {
        *slot = parts.next()?.parse().ok()?;
    }
    Some(out)
}

pub(crate) fn at_least(found: &str, needed: &str) -> bool {
    match (numbers(found), numbers(needed)) {
        (Some(found), Some(needed)) => found >= needed,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_compare_numerically() {
        assert_eq!(
            parse_version("2.1.330 (Claude Code)\n").as_deref(),
            Some("2.1.330")
        );
        assert_eq!(parse_version("v2.0.0").as_deref(), Some("2.0.0"));
        assert_eq!(parse_version("Claude Code"), None);
        assert!(at_least("2.1.330", "2.0.0"));
        assert!(at_least("2.10.0", "2.9.9"));
        assert!(at_least("2.0.0-beta.1", "2.0.0"));
        assert!(!at_least("1.0.128", "2.0.0"));
        assert!(!at_least("garbage", "2.0.0"));
    }

    #[test]
    fn path_search_finds_executables_only() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(plain.join("claude"), "not executable").unwrap();
        let exe = bin.join("claude");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let var = std::env::join_paths([plain, bin]).unwrap();
        assert_eq!(search_path(Some(var)), Some(exe));
        assert_eq!(search_path(None), None);
    }
}
