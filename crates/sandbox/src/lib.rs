//! Running every process an agent's tools start under bubblewrap.
//!
//! The crate is a pure function plus one small place that spawns:
//! [`bwrap_argv`] / [`launch_argv`] turn a [`SandboxPolicy`] and a command
//! into an argv and touch nothing; [`SandboxLauncher`] (an
//! [`agentd_tools::ProcessLauncher`]) checks the policy against the host once
//! and turns that argv into a `tokio::process::Command`; [`detect`] decides at
//! startup whether bubblewrap is there and works.
//!
//! Architecture invariant: no dependency on store, server or llm. Tools do not
//! know they are sandboxed; the launcher is swapped in around them.
//!
//! # What the sandbox looks like inside
//!
//! System directories (`/usr`, `/etc`, …) read-only, with host secrets in them
//! ([`SYSTEM_SECRETS`]) hidden; a fresh `/proc` and minimal `/dev`; a private
//! `/tmp`; a private empty `HOME` (or, with [`SandboxPolicy::home_dir`], a
//! private host directory that persists: the Claude Code CLI's); the workspace read-write at its real path;
//! private pid, ipc, uts, cgroup, user and (unless [`NetworkPolicy::Host`])
//! network namespaces; no further user namespaces; a new session (no
//! `TIOCSTI`); exactly the environment the policy lists. The process runs as
//! uid 1000 of its user namespace, which bubblewrap maps to the server's uid:
//! files it writes belong to the server, and since it is not uid 0 inside it
//! holds no capabilities, so it cannot unmount what covers a hidden path or
//! remount a read-only bind.
//!
//! # Resource limits: `prlimit` inside, a capped pid namespace outside
//!
//! Per-process limits (CPU seconds, address space, file size, open files) are
//! set by running the program through util-linux `prlimit` *inside* the
//! sandbox, rather than `setrlimit` in a `pre_exec` hook: no `unsafe`, the
//! limits bind only the sandboxed program and its children (not bwrap, which
//! needs file descriptors and memory to set up), soft and hard limit alike so
//! the program cannot raise them, and they are visible in the argv, so the
//! unit tests cover them.
//!
//! The number of processes is the hard one. RLIMIT_NPROC is not enforced for
//! the host's root uid, and the user namespace maps the sandbox user to the
//! server's uid — root here — so `--uid 1000` does not help (measured: 200
//! background processes start under `prlimit --nproc=50`). A pid namespace
//! alone has no size limit either. What does work as root: since Linux 6.14
//! `pid_max` is per pid namespace and enforced at every level of nesting. So
//! with [`ProcessCap::PidNamespace`] bwrap is started inside one more pid
//! namespace, owned by a fresh user namespace, whose `pid_max` a fixed script
//! sets to `max_processes + 300` first (300 = pids the kernel will not reuse
//! after wrap-around, so at least `max_processes` processes and threads are
//! always possible, at most 299 more). The sandboxed process cannot raise it:
//! it lives in a nested pid namespace and cannot see the outer one's `/proc`.
//! Because the writer is root of a *new* user namespace, an older kernel
//! refuses the write (EPERM) instead of lowering the host's `pid_max`; [`detect`]
//! probes this and falls back to [`ProcessCap::RlimitOnly`] with a warning. A
//! cgroup `pids.max` would also work but needs a delegated, writable cgroup
//! tree and cleanup of one cgroup per command; this needs neither.
//!
//! Memory is bounded per process only (RLIMIT_AS is virtual address space,
//! not resident memory); a cgroup `memory.max` is the real fix when one is
//! available.
//!
//! # Process lifetime
//!
//! Everything in the sandbox dies with it: when the command exits, bwrap's
//! init exits and the kernel kills the rest of its pid namespace, `setsid`
//! or not. Killing the launched process's group (what the bash tool does)
//! reaches `unshare` and bwrap, which is the outer namespace's init, so the
//! sandbox goes at once. Killing only the launched pid relies on `unshare
//! --kill-child`; util-linux before 2.39 arms that `PR_SET_PDEATHSIG` just
//! after `fork` without re-checking the parent, so a kill within that first
//! instant can orphan the sandbox. Nothing here survives the server itself
//! crashing (no death signal ties `unshare` to the server: one set from a
//! tokio worker thread would fire when that *thread* exits).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod argv;
mod detect;
mod error;
mod launcher;
mod policy;

pub use argv::{
    CAP_FAILED_EXIT, PRLIMIT, ProcessCap, RESERVED_PIDS, SANDBOX_UID, SETPRIV, SH, UNSHARE,
    bwrap_argv, launch_argv,
};
pub use detect::{SandboxMode, SandboxSetting, detect, detect_in};
pub use error::SandboxError;
pub use launcher::{REFUSED_EXIT, SandboxLauncher};
pub use policy::{
    DEFAULT_HOME, HiddenPath, NetworkPolicy, PathKind, ResourceLimits, SYSTEM_SECRETS,
    SandboxPolicy, default_env,
};
