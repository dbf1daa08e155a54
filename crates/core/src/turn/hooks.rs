//! Running a session's hooks: the merged settings' hooks (server, owner,
//! repository, session), command hooks in the session's sandbox, HTTP hooks
//! signed with the server's secret. Every run becomes a `hook.completed`
//! event and a `hook.run` audit entry (who, which hook, event, decision,
//! duration; never headers or the secret).
//!
//! Both runtimes call in here: the builtin loop at its own steps, the
//! claude-code runtime through the CLI's hook callbacks, so a hook sees the
//! same input and has the same effect on either.

use std::sync::Arc;

use agentd_policy::{
    HookCommon, HookEvent, HookEventName, HookInput, HookOptions, HookOutcome, HookRecord,
    HookRunner, HookStatus, HookTarget,
};
use agentd_protocol::event::HookCompleted;
use agentd_protocol::{EventData, SessionId};
use agentd_store::{NewAuditEntry, SessionRecord};
use agentd_tools::ProcessLauncher;
use serde_json::json;

use crate::turn::{RunnerKit, SessionHost};

/// The hooks of one session, ready to run.
pub(crate) struct SessionHooks {
    runner: HookRunner,
    /// The session's sandbox; `Err` says why command hooks cannot run.
    launcher: Result<Arc<dyn ProcessLauncher>, String>,
    common: HookCommon,
    id: SessionId,
    owner_id: Option<String>,
    owner_name: String,
    /// Audit only, no events (the session is going away).
    quiet: bool,
}

impl SessionHooks {
    /// The session's hooks; `None` when no layer configures any.
    pub(crate) async fn load(
        host: &dyn SessionHost,
        kit: &RunnerKit,
        record: &SessionRecord,
    ) -> Option<Self> {
        let settings = crate::turn::settings::load(host, record).await;
        Self::from_config(host, kit, record, settings.hooks).await
    }

    pub(crate) async fn from_config(
        host: &dyn SessionHost,
        kit: &RunnerKit,
        record: &SessionRecord,
        config: agentd_policy::HooksConfig,
    ) -> Option<Self> {
        if config.is_empty() {
            return None;
        }
        let mut options = HookOptions::new(&record.workspace_path);
        options.http_secret = kit.hook_secret.clone();
        options.http_retry = kit.hook_retry;
        let runner = match HookRunner::new(config, options) {
            Ok(runner) => runner,
            Err(e) => {
                tracing::error!(id = %record.id, error = %e, "hooks cannot run");
                return None;
            }
        };
        let workspace = std::path::Path::new(&record.workspace_path);
        let launcher = kit
            .sandbox
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|mode| crate::sandbox::launcher(mode, workspace, &kit.data_dir));
        let owner_name = host.owner_name(record).await;
        Some(Self {
            runner,
            launcher,
            common: HookCommon {
                session_id: record.id.to_string(),
                transcript_path: String::new(),
                cwd: record.workspace_path.clone(),
                permission_mode: record.permission_mode,
            },
            id: record.id,
            owner_id: record.owner_id.clone(),
            owner_name,
            quiet: false,
        })
    }

    /// Runs without `hook.completed` events (for a session being deleted,
    /// whose log is going away); the audit log still gets every run.
    pub(crate) fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Whether any hook is configured for `event` (whatever its matcher).
    pub(crate) fn has(&self, event: HookEventName) -> bool {
        self.runner
            .config()
            .groups
            .get(&event)
            .is_some_and(|groups| groups.iter().any(|g| !g.hooks.is_empty()))
    }

    /// Runs the hooks for `input`, records each run, and returns what they
    /// said together. `call_id` ties tool hooks to their call in events.
    pub(crate) async fn run(
        &self,
        host: &dyn SessionHost,
        input: HookInput,
        call_id: Option<&str>,
    ) -> HookOutcome {
        if !self.has(input.name()) {
            return HookOutcome::default();
        }
        let event = HookEvent {
            common: self.common.clone(),
            input,
        };
        let env = [("AGENTD_SESSION_ID".to_owned(), self.id.to_string())];
        let outcome = match &self.launcher {
            Ok(launcher) => self.runner.run(&event, launcher.as_ref(), &env).await,
            Err(why) => {
                // HTTP hooks need no sandbox; command hooks must not run
                // outside it.
                let launcher = Refusing(why.clone());
                self.runner.run(&event, &launcher, &env).await
            }
        };
        for record in &outcome.records {
            self.record(host, record, call_id).await;
        }
        outcome
    }

    async fn record(&self, host: &dyn SessionHost, record: &HookRecord, call_id: Option<&str>) {
        let (kind, target) = match &record.target {
            HookTarget::Command { command } => ("command", command.clone()),
            HookTarget::Http { url } => ("http", without_query(url)),
        };
        let outcome = match &record.status {
            _ if record.blocked => "blocked",
            HookStatus::TimedOut => "timeout",
            HookStatus::Exited { code: 0 } => "ok",
            HookStatus::Http { status } if (200..300).contains(status) => "ok",
            HookStatus::Exited { .. }
            | HookStatus::Http { .. }
            | HookStatus::Signalled
            | HookStatus::SpawnFailed { .. }
            | HookStatus::HttpFailed { .. } => "error",
        };
        let decision = record
            .decision
            .and_then(|d| serde_json::to_value(d).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        let event = HookCompleted {
            hook_event: record.event.to_string(),
            kind: kind.to_owned(),
            target: target.clone(),
            call_id: call_id.map(str::to_owned),
            outcome: outcome.to_owned(),
            decision: decision.clone(),
            message: record.message.clone(),
            duration_ms: record.duration_ms,
        };
        if !self.quiet {
            host.emit(EventData::HookCompleted(event)).await;
        }
        let entry = NewAuditEntry {
            actor_id: self.owner_id.clone(),
            actor_name: self.owner_name.clone(),
            action: "hook.run".to_owned(),
            target: Some(self.id.to_string()),
            detail: json!({
                "event": record.event,
                "matcher": record.matcher,
                "hook": {"type": kind, "target": target},
                "call_id": call_id,
                "outcome": outcome,
                "status": record.status,
                "decision": decision,
                "blocked": record.blocked,
                "duration_ms": record.duration_ms,
            }),
            ip: None,
        };
        host.audit(entry).await;
    }
}

/// A URL as it may be shown: no user info, query or fragment (where tokens
/// tend to hide).
fn without_query(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_start = rest
                .find('/')
                .map_or(rest, |slash| &rest[..slash])
                .rfind('@')
                .map_or(0, |at| at + 1);
            format!("{scheme}://{}", &rest[host_start..])
        }
        None => url.to_owned(),
    }
}

/// Stands in for the sandbox when there is none: command hooks fail to
/// start (a non-blocking error, as for any hook that cannot run).
struct Refusing(String);

impl ProcessLauncher for Refusing {
    fn command(
        &self,
        _program: &str,
        _args: &[String],
        _cwd: &std::path::Path,
    ) -> tokio::process::Command {
        // A program that cannot exist, so spawning fails with the reason.
        tokio::process::Command::new(format!("/nonexistent/sandbox unavailable: {}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_lose_credentials_and_queries() {
        assert_eq!(
            without_query("https://u:p@hooks.example/a/b?token=x#f"),
            "https://hooks.example/a/b"
        );
        assert_eq!(
            without_query("http://127.0.0.1:9/hook"),
            "http://127.0.0.1:9/hook"
        );
    }
}
