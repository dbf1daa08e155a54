//! Deciding, once at startup, how tools will be sandboxed: find bubblewrap,
//! prove it works on this kernel, and find out how processes can be capped.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::argv::{CAP_FAILED_EXIT, PRLIMIT, ProcessCap, SETPRIV, SH, UNSHARE, launch_argv};
use crate::error::SandboxError;
use crate::policy::SandboxPolicy;

/// What the operator configured (`sandbox = "auto" | "bubblewrap" | "none"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxSetting {
    /// The best sandbox available; on Linux that is bubblewrap. Never falls
    /// back to no sandbox: that has to be asked for.
    #[default]
    Auto,
    Bubblewrap,
    /// Tools run unsandboxed. Only ever from explicit configuration.
    None,
}

/// How tools will actually run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SandboxMode {
    Bubblewrap {
        bwrap: PathBuf,
        process_cap: ProcessCap,
    },
    /// Unsandboxed: the operator set `sandbox = "none"`.
    None,
}

/// [`detect_in`] with the server's own `PATH`. Blocking (it runs bwrap a few
/// times): call it at startup or from `spawn_blocking`.
pub fn detect(configured: SandboxSetting) -> Result<SandboxMode, SandboxError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    detect_in(configured, &path)
}

/// Finds `bwrap` on `search_path`, checks the helpers the launcher relies on,
/// runs a sandboxed `true` to prove user namespaces work, and probes whether
/// the process cap ([`ProcessCap::PidNamespace`]) is available.
pub fn detect_in(
    configured: SandboxSetting,
    search_path: &OsStr,
) -> Result<SandboxMode, SandboxError> {
    match configured {
        SandboxSetting::None => return Ok(SandboxMode::None),
        SandboxSetting::Auto | SandboxSetting::Bubblewrap => {}
    }
    let bwrap = find_executable("bwrap", search_path).ok_or(SandboxError::Missing)?;
    for (tool, path) in [
        ("prlimit", PRLIMIT),
        ("unshare", UNSHARE),
        ("setpriv", SETPRIV),
        ("sh", SH),
    ] {
        if !is_executable(Path::new(path)) {
            return Err(SandboxError::MissingHelper {
                tool,
                path: PathBuf::from(path),
            });
        }
    }
    self_test(&bwrap)?;
    let process_cap = probe_process_cap(&bwrap);
    Ok(SandboxMode::Bubblewrap { bwrap, process_cap })
}

fn find_executable(name: &str, search_path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The policy the probes run under: the default one, over the temp dir
/// (nothing is written there; `true` only has to start).
fn probe_policy() -> SandboxPolicy {
    let mut policy = SandboxPolicy::new(std::env::temp_dir());
    policy.protect_git = false;
    policy
}

fn run_probe(bwrap: &Path, cap: ProcessCap) -> std::io::Result<Output> {
    let policy = probe_policy();
    let argv = launch_argv(bwrap, cap, &policy, &policy.workspace, "true", &[]);
    let (program, args) = argv
        .split_first()
        .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
    Command::new(program)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
}

fn self_test(bwrap: &Path) -> Result<(), SandboxError> {
    let output =
        run_probe(bwrap, ProcessCap::RlimitOnly).map_err(|err| SandboxError::SelfTestFailed {
            bwrap: bwrap.to_owned(),
            detail: format!("could not run it: {err}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let lower = stderr.to_lowercase();
    // bwrap's wordings: "No permissions to create new namespace", "setting up
    // uid map: Permission denied", "Creating new namespace failed".
    if lower.contains("namespace") || lower.contains("uid map") {
        Err(SandboxError::UserNamespacesUnavailable { stderr })
    } else {
        Err(SandboxError::SelfTestFailed {
            bwrap: bwrap.to_owned(),
            detail: format!("a sandboxed `true` exited with {}: {stderr}", output.status),
        })
    }
}

/// Whether the outer pid namespace's `pid_max` can be set. On older kernels
/// the sandbox still works, but a fork bomb by a root server is only ended by
/// the tool's timeout, so say so loudly.
fn probe_process_cap(bwrap: &Path) -> ProcessCap {
    match run_probe(bwrap, ProcessCap::PidNamespace) {
        Ok(output) if output.status.success() => ProcessCap::PidNamespace,
        Ok(output) => {
            let expected = output.status.code() == Some(i32::from(CAP_FAILED_EXIT));
            tracing::warn!(
                status = %output.status,
                stderr = %String::from_utf8_lossy(&output.stderr).trim(),
                kernel_too_old = expected,
                "sandbox cannot cap the number of processes; a fork bomb is stopped only by the \
                 tool timeout (per-namespace pid_max needs Linux 6.14+)"
            );
            ProcessCap::RlimitOnly
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not probe the sandbox process cap");
            ProcessCap::RlimitOnly
        }
    }
}
