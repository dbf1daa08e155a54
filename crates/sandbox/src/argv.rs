//! The pure transform: policy + command → argv. Nothing here touches the
//! file system or spawns anything, so every decision is unit-tested on its
//! output (`argv_tests.rs`) and the integration suite only has to show that
//! bubblewrap does what the argv says.

use std::path::{Path, PathBuf};

use crate::policy::{HiddenPath, NetworkPolicy, PathKind, ResourceLimits, SandboxPolicy};

/// The uid and gid of the sandboxed process inside its user namespace. Not 0:
/// bubblewrap then drops every capability, so the process cannot unmount what
/// hides a path or remount a read-only bind.
pub const SANDBOX_UID: u32 = 1000;

/// Absolute paths of the util-linux helpers, never looked up through the
/// sandbox's `PATH`: a `prlimit` planted in the workspace must not run instead.
pub const PRLIMIT: &str = "/usr/bin/prlimit";
pub const UNSHARE: &str = "/usr/bin/unshare";
/// util-linux `setpriv`, which gives the outermost process a parent-death
/// signal: bwrap's `--die-with-parent` binds the sandbox to its own parent,
/// so the process the server starts must die with the server.
pub const SETPRIV: &str = "/usr/bin/setpriv";
pub const SH: &str = "/bin/sh";

/// Pids below this are not reused once a pid namespace has wrapped around
/// (the kernel's RESERVED_PIDS), hence the headroom added to `pid_max`.
pub const RESERVED_PIDS: u64 = 300;

/// System directories bound read-only. `-try`: not every distribution has all
/// of them. A symlinked `/bin` (→ `usr/bin`) is followed by the bind, so it
/// shows the same files as `/usr/bin`.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
];

/// Where `/etc/resolv.conf` commonly points; bound only with host networking.
const RESOLVER_DIRS: &[&str] = &["/run/systemd/resolve", "/run/resolvconf"];

/// Exit status of the launch wrapper when the process cap cannot be set.
pub const CAP_FAILED_EXIT: u8 = 125;

/// How the number of processes in a sandbox is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessCap {
    /// The sandbox runs inside an extra pid namespace whose `pid_max` is
    /// `max_processes + RESERVED_PIDS` (per-namespace `pid_max`, Linux 6.14+).
    PidNamespace,
    /// Only RLIMIT_NPROC, which the kernel does not apply to the host's root
    /// uid: a fork bomb run by a root server is stopped only by the timeout.
    RlimitOnly,
}

/// The arguments to give `bwrap` (not including the `bwrap` binary itself) to
/// run `program args` in `cwd` under `policy`, with the resource limits
/// applied by `prlimit` inside the sandbox.
pub fn bwrap_argv(
    policy: &SandboxPolicy,
    cwd: &Path,
    program: &str,
    args: &[String],
) -> Vec<String> {
    let mut argv = Argv::default();
    // Explicit --unshare-user (not the -try in --unshare-all): without a user
    // namespace the process would keep the host root's capabilities.
    argv.push(["--unshare-all", "--unshare-user", "--disable-userns"]);
    if policy.network == NetworkPolicy::Host {
        argv.push(["--share-net"]);
    }
    let uid = SANDBOX_UID.to_string();
    argv.push(["--uid", &uid, "--gid", &uid]);
    // --new-session: no TIOCSTI into the server's terminal.
    argv.push(["--die-with-parent", "--new-session"]);
    for dir in SYSTEM_DIRS {
        argv.push(["--ro-bind-try", dir, dir]);
    }
    argv.push(["--proc", "/proc", "--dev", "/dev"]);
    if policy.network == NetworkPolicy::Host {
        for dir in RESOLVER_DIRS {
            argv.push(["--ro-bind-try", dir, dir]);
        }
    }
    for mount in layered_mounts(policy) {
        mount.emit(&mut argv);
    }
    // Hidden directories become read-only last: binds beneath them needed
    // their mount points created first.
    for hidden in &policy.hidden_paths {
        if hidden.kind == PathKind::Directory {
            argv.push(["--remount-ro"]);
            argv.path(&hidden.path);
        }
    }
    argv.push(["--chdir"]);
    argv.path(cwd);
    // --clearenv must precede --setenv: bwrap applies them in order.
    argv.push(["--clearenv"]);
    for (key, value) in &policy.env {
        if key != "HOME" {
            argv.push(["--setenv", key, value]);
        }
    }
    argv.push(["--setenv", "HOME"]);
    argv.path(&policy.home);
    argv.push(["--", PRLIMIT]);
    argv.0.extend(prlimit_flags(&policy.limits));
    argv.push(["--", program]);
    argv.0.extend(args.iter().cloned());
    argv.0
}

/// The complete argv (program first) that runs `program` sandboxed. With
/// [`ProcessCap::PidNamespace`], bwrap starts inside an outer pid namespace
/// whose `pid_max` is set first by a fixed shell script; the script runs as
/// root of a fresh user namespace, so on a kernel without per-namespace
/// `pid_max` the write fails (EPERM) instead of lowering the host's.
pub fn launch_argv(
    bwrap: &Path,
    cap: ProcessCap,
    policy: &SandboxPolicy,
    cwd: &Path,
    program: &str,
    args: &[String],
) -> Vec<String> {
    let mut argv = Vec::new();
    match cap {
        ProcessCap::PidNamespace => {
            let pid_max = policy.limits.max_processes.saturating_add(RESERVED_PIDS);
            argv.extend(
                [
                    SETPRIV,
                    "--pdeathsig",
                    "KILL",
                    "--",
                    UNSHARE,
                    "--user",
                    "--map-root-user",
                    "--pid",
                    "--fork",
                    // unshare killed → SIGKILL to the namespace's init, which
                    // takes every process of the sandbox with it.
                    "--kill-child",
                    // A fresh /proc for the namespace: the cap script
                    // writes pid_max there, never through the host's mount.
                    "--mount-proc",
                    "--",
                    SH,
                    "-c",
                    &cap_script(),
                    "sh",
                    &pid_max.to_string(),
                ]
                .map(str::to_owned),
            );
        }
        ProcessCap::RlimitOnly => {}
    }
    argv.push(bwrap.to_string_lossy().into_owned());
    argv.extend(bwrap_argv(policy, cwd, program, args));
    argv
}

/// Sets the pid namespace's `pid_max` to `$1`, then execs the rest. Values
/// travel as positional parameters, never spliced into the script.
fn cap_script() -> String {
    format!(
        "echo \"$1\" > /proc/sys/kernel/pid_max || {{ echo 'agentd sandbox: cannot cap the number \
         of processes (per-namespace pid_max needs Linux 6.14 or later)' >&2; exit {CAP_FAILED_EXIT}; }}; \
         shift; exec \"$@\""
    )
}

/// `prlimit` sets soft and hard limit alike, so the process cannot raise them.
/// RLIMIT_NPROC is set too: ignored for a root server, it does bound a
/// non-root one (counted per user namespace, so per sandbox).
fn prlimit_flags(limits: &ResourceLimits) -> Vec<String> {
    vec![
        format!("--cpu={}", limits.cpu_seconds),
        format!("--as={}", limits.memory_bytes),
        format!("--nproc={}", limits.max_processes),
        format!("--fsize={}", limits.max_file_size_bytes),
        format!("--nofile={}", limits.max_open_files),
    ]
}

/// A mount placed over the system view, in the order they must happen.
enum Mount<'a> {
    Tmpfs(&'a Path),
    ReadOnly(&'a Path),
    ReadWrite(&'a Path),
    /// Bound onto itself only if it exists; pins it as a mount point.
    ReadWriteTry(PathBuf),
    ReadOnlyTry(PathBuf),
    /// A host directory bound read-write at another path (a persistent home).
    BindAt {
        source: &'a Path,
        dest: &'a Path,
    },
    Hide(&'a HiddenPath, &'static str),
}

impl Mount<'_> {
    fn path(&self) -> &Path {
        match self {
            Mount::Tmpfs(path) | Mount::ReadOnly(path) | Mount::ReadWrite(path) => path,
            Mount::ReadWriteTry(path) | Mount::ReadOnlyTry(path) => path,
            Mount::BindAt { dest, .. } => dest,
            Mount::Hide(hidden, _) => &hidden.path,
        }
    }

    fn emit(&self, argv: &mut Argv) {
        let (flag, path) = match self {
            Mount::Tmpfs(path) => {
                argv.push(["--tmpfs"]);
                argv.path(path);
                return;
            }
            Mount::BindAt { source, dest } => {
                argv.push(["--bind"]);
                argv.path(source);
                argv.path(dest);
                return;
            }
            Mount::Hide(hidden, perms) => {
                match hidden.kind {
                    PathKind::Directory => argv.push(["--perms", perms, "--tmpfs"]),
                    // /dev/null on a bind that is nodev: open() fails outright.
                    PathKind::File => argv.push(["--ro-bind", "/dev/null"]),
                }
                argv.path(&hidden.path);
                return;
            }
            Mount::ReadOnly(path) => ("--ro-bind", *path),
            Mount::ReadWrite(path) => ("--bind", *path),
            Mount::ReadWriteTry(path) => ("--bind-try", path.as_path()),
            Mount::ReadOnlyTry(path) => ("--ro-bind-try", path.as_path()),
        };
        argv.push([flag]);
        argv.path(path);
        argv.path(path);
    }
}

/// Every mount over the system view, shallowest path first (stable, so among
/// equal depths the declared order holds and hiding comes last): a mount can
/// only cover what was mounted before it, so a hidden path inside the
/// workspace stays hidden and a workspace inside a hidden data dir stays
/// visible.
fn layered_mounts(policy: &SandboxPolicy) -> Vec<Mount<'_>> {
    let home = match &policy.home_dir {
        Some(source) => Mount::BindAt {
            source,
            dest: &policy.home,
        },
        None => Mount::Tmpfs(&policy.home),
    };
    let mut mounts = vec![Mount::Tmpfs(Path::new("/tmp")), home];
    mounts.extend(policy.extra_readonly.iter().map(|p| Mount::ReadOnly(p)));
    mounts.push(Mount::ReadWrite(&policy.workspace));
    mounts.extend(policy.extra_writable.iter().map(|p| Mount::ReadWrite(p)));
    if policy.protect_git && policy.git_is_file {
        // A worktree's `.git` is a file naming its git dir: pinned read-only,
        // so a tool cannot point the server's later git commands at a
        // repository (and config) of its own making.
        mounts.push(Mount::ReadOnlyTry(policy.workspace.join(".git")));
    } else if policy.protect_git {
        let git = policy.workspace.join(".git");
        mounts.push(Mount::ReadOnlyTry(git.join("hooks")));
        mounts.push(Mount::ReadOnlyTry(git.join("config")));
        mounts.push(Mount::ReadWriteTry(git));
    }
    let beneath = |dir: &Path| {
        mounts
            .iter()
            .any(|mount| mount.path() != dir && mount.path().starts_with(dir))
    };
    let hidden: Vec<Mount<'_>> = policy
        .hidden_paths
        .iter()
        // 0111: traversable to reach a mount beneath, never listable.
        .map(|hidden| {
            Mount::Hide(
                hidden,
                if beneath(&hidden.path) {
                    "0111"
                } else {
                    "0000"
                },
            )
        })
        .collect();
    mounts.extend(hidden);
    mounts.sort_by_key(|mount| mount.path().components().count());
    mounts
}

#[derive(Default)]
struct Argv(Vec<String>);

impl Argv {
    fn push<const N: usize>(&mut self, items: [&str; N]) {
        self.0.extend(items.map(str::to_owned));
    }

    /// Paths were checked to be UTF-8 when the launcher was built, so the
    /// lossy conversion never changes one here.
    fn path(&mut self, path: &Path) {
        self.0.push(path.to_string_lossy().into_owned());
    }
}

#[cfg(test)]
#[path = "argv_tests.rs"]
mod tests;
