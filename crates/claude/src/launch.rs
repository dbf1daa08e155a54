//! Running the CLI somewhere other than directly on the host.
//!
//! This crate knows nothing of sandboxes: the session engine hands in a
//! [`CliLauncher`] (bubblewrap, in `agentd-core`) that turns the CLI's argv
//! and environment into the command to spawn. The process then gets its
//! pipes, its own process group and `kill_on_drop` here, as without one.

use std::path::Path;

use tokio::process::Command;

/// Builds the command that starts the CLI.
pub trait CliLauncher: Send + Sync + std::fmt::Debug {
    /// `env` is the CLI's environment beyond a minimal base the launcher
    /// provides (`PATH`, locale, `HOME`): [`SpawnOptions::env`] plus `PWD`,
    /// and nothing inherited from the server. `cwd` is where the CLI runs.
    ///
    /// [`SpawnOptions::env`]: crate::SpawnOptions::env
    fn command(
        &self,
        program: &Path,
        args: &[String],
        env: Vec<(String, String)>,
        cwd: &Path,
    ) -> Result<Command, String>;
}
