use std::path::PathBuf;

/// Every variant says what the operator (or caller) should do about it.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap (bwrap) was not found on PATH: install bubblewrap (apt-get install bubblewrap) \
         or set sandbox = \"none\" to run tools unsandboxed"
    )]
    Missing,
    #[error(
        "{tool} was not found at {path}: install util-linux, which the sandbox uses to apply \
         resource limits, or set sandbox = \"none\" to run tools unsandboxed"
    )]
    MissingHelper { tool: &'static str, path: PathBuf },
    #[error(
        "bubblewrap is installed but cannot create user namespaces here ({stderr}): enable them \
         (sysctl user.max_user_namespaces > 0; on Ubuntu also \
         kernel.apparmor_restrict_unprivileged_userns=0, or run the container with \
         --security-opt seccomp=unconfined), or set sandbox = \"none\" to run tools unsandboxed"
    )]
    UserNamespacesUnavailable { stderr: String },
    #[error("bubblewrap at {bwrap} failed its self-test: {detail}")]
    SelfTestFailed { bwrap: PathBuf, detail: String },
    #[error("{what} {path} must be an existing directory: {source}")]
    BadPath {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path:?} is not valid UTF-8; the sandbox cannot bind it reliably")]
    NonUtf8Path { what: &'static str, path: PathBuf },
    #[error("working directory {cwd} is outside the sandbox workspace {workspace}")]
    CwdOutsideWorkspace { cwd: PathBuf, workspace: PathBuf },
}
