//! The settings a turn obeys: the engine's layers (server, owner; the
//! session's own) merged around the repository's `.claude/settings*.json`,
//! which the runner reads from the workspace it holds.

use std::path::Path;

use agentd_policy::Settings;
use agentd_store::SessionRecord;

use crate::turn::SessionHost;

/// Every layer, merged (server first).
pub(crate) async fn load(host: &dyn SessionHost, record: &SessionRecord) -> Settings {
    let layers = host.settings(record).await;
    let mut all = layers.before_repo;
    match Settings::load_repo(Path::new(&record.workspace_path)) {
        Ok(repo) => all.push(repo),
        Err(e) => tracing::warn!(id = %record.id, error = %e, "ignoring the repository's settings"),
    }
    all.extend(layers.after_repo);
    // `defaultMode` is not taken from any layer: the session's mode was
    // fixed when it was created.
    let mut merged = Settings::merged(all);
    merged.default_mode = None;
    merged
}
