//! What a sandboxed process may see and do. Plain data: building the bwrap
//! argv from it is [`crate::bwrap_argv`], a pure function.

use std::path::{Path, PathBuf};

/// Host files that hold secrets and sit inside directories the sandbox binds
/// read-only (`/etc`). The sandboxed process runs as the host's root uid (the
/// user namespace maps it there), so file modes alone would not keep these
/// unreadable: they are hidden explicitly.
pub const SYSTEM_SECRETS: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh",
    "/etc/ssl/private",
];

/// Where the private, empty home directory is mounted unless the caller says
/// otherwise. Not under `/root`, so nothing suggests the process is root.
pub const DEFAULT_HOME: &str = "/home/agent";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Bound read-write at the same path, so paths the model sees are real.
    pub workspace: PathBuf,
    /// Further directories bound read-write at the same path (a cache, rarely).
    pub extra_writable: Vec<PathBuf>,
    /// Further directories bound read-only at the same path: toolchains that
    /// live outside the system directories (`~/.cargo`, `~/.rustup`, …).
    pub extra_readonly: Vec<PathBuf>,
    pub network: NetworkPolicy,
    pub limits: ResourceLimits,
    /// Made unreadable even when under a bound directory: the server's data
    /// dir, `~/.ssh`, host secrets.
    pub hidden_paths: Vec<HiddenPath>,
    /// The complete environment inside; everything else is cleared. `HOME` is
    /// always set to [`SandboxPolicy::home`], whatever this says.
    pub env: Vec<(String, String)>,
    /// Mounted here and used as `HOME`: a private, empty tmpfs, or
    /// [`SandboxPolicy::home_dir`] when one is given.
    pub home: PathBuf,
    /// A host directory bound read-write at [`SandboxPolicy::home`] instead
    /// of the empty tmpfs, so what the process keeps in its home outlives
    /// it (the Claude Code CLI's transcripts, which `--resume` reads).
    pub home_dir: Option<PathBuf>,
    /// `.git/hooks` and `.git/config` of the workspace read-only, and `.git`
    /// itself pinned (a mount point cannot be renamed), so a tool cannot plant
    /// a hook or a config-defined command that the server later runs.
    pub protect_git: bool,
    /// The workspace's `.git` is a file (a worktree), not a directory; set
    /// by [`crate::SandboxLauncher::new`] from the disk.
    pub git_is_file: bool,
}

impl SandboxPolicy {
    /// The default policy for `workspace`: no network, default limits, the
    /// [`SYSTEM_SECRETS`] that exist on this host hidden, `.git` protected,
    /// and a minimal environment ([`default_env`]).
    pub fn new(workspace: impl Into<PathBuf>) -> Self {
        Self {
            workspace: workspace.into(),
            extra_writable: Vec::new(),
            extra_readonly: Vec::new(),
            network: NetworkPolicy::None,
            limits: ResourceLimits::default(),
            hidden_paths: SYSTEM_SECRETS
                .iter()
                .filter_map(|path| HiddenPath::probe(Path::new(path)))
                .collect(),
            env: default_env(),
            home: PathBuf::from(DEFAULT_HOME),
            home_dir: None,
            protect_git: true,
            git_is_file: false,
        }
    }
}

/// `PATH` covering the system directories, and a UTF-8 locale.
pub fn default_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".to_owned(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        ),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ]
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetworkPolicy {
    /// A private network namespace with only a loopback interface.
    #[default]
    None,
    /// The host's network (needed to reach a model API or a package registry).
    Host,
}

/// Per-process limits (`setrlimit`), plus the process cap of the sandbox's
/// pid namespace; see the crate docs for why each mechanism was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimits {
    /// CPU time of each process (RLIMIT_CPU): SIGXCPU, then SIGKILL.
    pub cpu_seconds: u64,
    /// Address space of each process (RLIMIT_AS). Virtual, not resident:
    /// runtimes that reserve large regions (V8, Go, the JVM) need headroom.
    pub memory_bytes: u64,
    /// Processes and threads alive at once in the whole sandbox. At least
    /// this many are always allowed, at most this + 299 (see the crate docs).
    pub max_processes: u64,
    /// Largest file a process may write (RLIMIT_FSIZE): SIGXFSZ past it.
    pub max_file_size_bytes: u64,
    /// Open file descriptors of each process (RLIMIT_NOFILE).
    pub max_open_files: u64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        const GIB: u64 = 1024 * 1024 * 1024;
        Self {
            // The bash tool's longest timeout is 600 s of wall time; a single
            // process burning more CPU than that is runaway by definition.
            cpu_seconds: 600,
            // Node (the Claude Code CLI) reserves several GiB of address space
            // up front; 8 GiB leaves it room while stopping a runaway allocator.
            memory_bytes: 8 * GIB,
            // Enough for a parallel build (compiler threads count), far from
            // anything that hurts the host.
            max_processes: 1024,
            max_file_size_bytes: GIB,
            max_open_files: 4096,
        }
    }
}

/// A path to make unreadable inside the sandbox. Files and directories are
/// hidden differently (a mount must match the kind of what it covers), so the
/// kind is part of the value rather than looked up by the pure argv builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HiddenPath {
    pub path: PathBuf,
    pub kind: PathKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// Covered by an empty, read-only tmpfs with mode 000 (0111 when
    /// another mount lies beneath it, so that one stays reachable).
    Directory,
    /// Covered by `/dev/null` on a nodev mount: opening it fails.
    File,
}

impl HiddenPath {
    pub fn directory(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            kind: PathKind::Directory,
        }
    }

    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            kind: PathKind::File,
        }
    }

    /// Looks at the host: `None` if nothing is there (nothing to hide). The
    /// path is canonicalized, so hiding a symlink hides what it points to,
    /// which is what a process inside would reach through it.
    pub fn probe(path: &Path) -> Option<Self> {
        let path = std::fs::canonicalize(path).ok()?;
        let kind = if std::fs::metadata(&path).ok()?.is_dir() {
            PathKind::Directory
        } else {
            PathKind::File
        };
        Some(Self { path, kind })
    }
}
