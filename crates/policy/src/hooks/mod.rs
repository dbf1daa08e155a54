//! Claude Code–compatible hooks: which run for an event, running them in
//! parallel, and folding their answers into one [`HookOutcome`].

mod command;
pub(crate) mod config;
mod event;
mod http;
mod output;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentd_protocol::PermissionMode;
use agentd_tools::ProcessLauncher;
use serde::Serialize;
use serde_json::Value;

pub use config::{HookEventName, HookHandler, HooksConfig, MatcherGroup};
pub use event::{HookCommon, HookEvent, HookInput};
pub use http::{HttpRetry, SIGNATURE_HEADER, sign_body};
pub use output::{HookDecision, HookPermission};

use crate::evaluate::{Decision, unattended_deny};
use output::Effect;

/// Claude Code's default when a hook sets no `timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How hooks run, apart from the configuration itself.
#[derive(Clone)]
pub struct HookOptions {
    /// `CLAUDE_PROJECT_DIR` and the working directory of command hooks.
    pub project_dir: PathBuf,
    /// Signs HTTP hook bodies when set.
    pub http_secret: Option<Vec<u8>>,
    /// For hooks without their own `timeout`.
    pub default_timeout: Duration,
    pub http_retry: HttpRetry,
}

// By hand so the secret never reaches a log line.
impl std::fmt::Debug for HookOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookOptions")
            .field("project_dir", &self.project_dir)
            .field(
                "http_secret",
                &self.http_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("default_timeout", &self.default_timeout)
            .field("http_retry", &self.http_retry)
            .finish()
    }
}

impl HookOptions {
    pub fn new(project_dir: impl Into<PathBuf>) -> Self {
        Self {
            project_dir: project_dir.into(),
            http_secret: None,
            default_timeout: DEFAULT_TIMEOUT,
            http_retry: HttpRetry::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookInitError {
    #[error("cannot build the HTTP client for hooks: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// What ran, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HookTarget {
    Command { command: String },
    Http { url: String },
}

/// How a hook run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HookStatus {
    Exited {
        code: i32,
    },
    /// Ended by a signal it did not get from us.
    Signalled,
    /// Killed (command) or abandoned (HTTP) at its timeout.
    TimedOut,
    SpawnFailed {
        error: String,
    },
    /// The final HTTP status (after retries).
    Http {
        status: u16,
    },
    HttpFailed {
        error: String,
    },
}

/// One hook run, as the caller should audit it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookRecord {
    pub event: HookEventName,
    pub matcher: Option<String>,
    pub target: HookTarget,
    pub duration_ms: u64,
    pub status: HookStatus,
    pub decision: Option<HookDecision>,
    pub blocked: bool,
    /// The block reason or the non-blocking error, for people.
    pub message: Option<String>,
}

/// Every matching hook's answer, combined.
///
/// What `blocked` means depends on the event: `PreToolUse` — the call must
/// not run (see [`combine`]); `UserPromptSubmit` — drop the prompt;
/// `Stop` — do not stop, the reason tells the model how to go on;
/// `PostToolUse` — the tool already ran, the reason is only shown to the model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HookOutcome {
    /// `PreToolUse` only: the strongest decision (deny > defer > ask > allow).
    pub permission: Option<HookPermission>,
    /// Reasons from exit code 2 or `decision: "block"`, one per line.
    pub blocked: Option<String>,
    /// A hook answered `continue: false`: the agent stops entirely.
    pub halted: bool,
    pub stop_reason: Option<String>,
    /// `PreToolUse`: the input to run the tool with instead (first hook wins).
    pub updated_input: Option<Value>,
    /// For the model.
    pub additional_context: Vec<String>,
    /// Warnings for the user.
    pub system_messages: Vec<String>,
    pub suppress_output: bool,
    /// Non-blocking failures (other exit codes, timeouts, HTTP errors), for the user.
    pub errors: Vec<String>,
    pub records: Vec<HookRecord>,
}

/// Runs the configured hooks.
#[derive(Clone, Debug)]
pub struct HookRunner {
    config: HooksConfig,
    options: HookOptions,
    client: reqwest::Client,
}

impl HookRunner {
    pub fn new(config: HooksConfig, options: HookOptions) -> Result<Self, HookInitError> {
        // A redirect would resend the signed event to wherever it points.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(HookInitError::HttpClient)?;
        Ok(Self {
            config,
            options,
            client,
        })
    }

    pub fn config(&self) -> &HooksConfig {
        &self.config
    }

    /// Runs every hook whose matcher fits `event`, in parallel, and combines
    /// their answers. Command hooks start through `launcher` with `env` plus
    /// `CLAUDE_PROJECT_DIR`. Identical hooks run once, as in Claude Code.
    pub async fn run(
        &self,
        event: &HookEvent,
        launcher: &dyn ProcessLauncher,
        env: &[(String, String)],
    ) -> HookOutcome {
        let name = event.name();
        let subjects = event.input.subjects();
        let mut selected: Vec<(Option<&str>, &HookHandler)> = Vec::new();
        for group in self.config.groups.get(&name).into_iter().flatten() {
            if !group.applies_to(&subjects) {
                continue;
            }
            for handler in &group.hooks {
                if !selected.iter().any(|(_, h)| *h == handler) {
                    selected.push((group.matcher.as_deref(), handler));
                }
            }
        }
        if selected.is_empty() {
            return HookOutcome::default();
        }
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(e) => {
                return HookOutcome {
                    errors: vec![format!("cannot encode the {name} hook input: {e}")],
                    ..HookOutcome::default()
                };
            }
        };
        let mut env = env.to_vec();
        env.push((
            "CLAUDE_PROJECT_DIR".to_owned(),
            self.options.project_dir.to_string_lossy().into_owned(),
        ));
        let runs = selected
            .into_iter()
            .map(|(matcher, handler)| self.run_one(name, matcher, handler, &body, launcher, &env));
        let results = futures::future::join_all(runs).await;
        fold(results)
    }

    async fn run_one(
        &self,
        event: HookEventName,
        matcher: Option<&str>,
        handler: &HookHandler,
        body: &[u8],
        launcher: &dyn ProcessLauncher,
        env: &[(String, String)],
    ) -> (Effect, HookRecord) {
        let started = Instant::now();
        let (target, status, effect, timeout) = match handler {
            HookHandler::Command { command, timeout } => {
                let timeout = timeout.unwrap_or(self.options.default_timeout);
                let run = command::run(
                    command,
                    body,
                    timeout,
                    launcher,
                    &self.options.project_dir,
                    env,
                )
                .await;
                let effect = match &run.status {
                    HookStatus::Exited { code } => {
                        output::from_exit(event, *code, &run.stdout, &run.stderr, command)
                    }
                    _ => Effect::default(),
                };
                let target = HookTarget::Command {
                    command: command.clone(),
                };
                (target, run.status, effect, timeout)
            }
            HookHandler::Http {
                url,
                timeout,
                headers,
            } => {
                let timeout = timeout.unwrap_or(self.options.default_timeout);
                let request = http::HttpRequest {
                    url,
                    headers,
                    body,
                    secret: self.options.http_secret.as_deref(),
                    timeout,
                };
                let run = http::post(&self.client, &request, self.options.http_retry).await;
                let effect = match &run.body {
                    Some(body) => output::from_body(event, body, url),
                    None => Effect::default(),
                };
                (
                    HookTarget::Http { url: url.clone() },
                    run.status,
                    effect,
                    timeout,
                )
            }
        };
        let effect = with_failure(effect, &target, &status, timeout);
        let record = HookRecord {
            event,
            matcher: matcher.map(str::to_owned),
            target,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            decision: effect.permission.as_ref().map(|p| p.decision),
            blocked: effect.blocked.is_some(),
            message: effect.blocked.clone().or_else(|| effect.error.clone()),
            status,
        };
        (effect, record)
    }
}

/// Turns a run that did not produce an answer into a non-blocking error.
fn with_failure(
    mut effect: Effect,
    target: &HookTarget,
    status: &HookStatus,
    timeout: Duration,
) -> Effect {
    let who = match target {
        HookTarget::Command { command } => command,
        HookTarget::Http { url } => url,
    };
    let failure = match status {
        HookStatus::Exited { .. } => None,
        HookStatus::Http { status } if (200..300).contains(status) => None,
        HookStatus::Http { status } => Some(format!("hook `{who}` answered HTTP {status}")),
        HookStatus::Signalled => Some(format!("hook `{who}` was killed by a signal")),
        HookStatus::TimedOut => Some(format!(
            "hook `{who}` timed out after {}s and was stopped",
            timeout.as_secs_f32()
        )),
        HookStatus::SpawnFailed { error } => Some(format!("hook `{who}` could not run: {error}")),
        HookStatus::HttpFailed { error } => Some(format!("hook `{who}` failed: {error}")),
    };
    if failure.is_some() {
        effect.error = failure;
    }
    effect
}

fn fold(results: Vec<(Effect, HookRecord)>) -> HookOutcome {
    let mut out = HookOutcome::default();
    for (effect, record) in results {
        if let Some(permission) = effect.permission {
            // Strictly stronger only: among equals the first hook's reason stays.
            if out
                .permission
                .as_ref()
                .is_none_or(|p| permission.decision > p.decision)
            {
                out.permission = Some(permission);
            }
        }
        if let Some(reason) = effect.blocked {
            out.blocked = Some(match out.blocked.take() {
                Some(earlier) => format!("{earlier}\n{reason}"),
                None => reason,
            });
        }
        if let Some(reason) = effect.halt {
            out.halted = true;
            out.stop_reason = out.stop_reason.or(reason);
        }
        out.updated_input = out.updated_input.or(effect.updated_input);
        out.additional_context.extend(effect.additional_context);
        out.system_messages.extend(effect.system_message);
        out.suppress_output |= effect.suppress_output;
        out.errors.extend(effect.error);
        out.records.push(record);
    }
    out
}

/// The decision for a tool call once its `PreToolUse` hooks have answered.
///
/// Hooks can only tighten the rules: a rules deny stands; a hook block, deny
/// or `continue: false` denies; a hook ask (or defer, which agentd treats as
/// "let a person decide") asks; a hook allow leaves the rules' decision as is,
/// so it never overrides a deny or ask — from rules or from the mode. In
/// `unattended` mode the resulting ask becomes a deny.
pub fn combine(mode: PermissionMode, rules: Decision, hooks: &HookOutcome) -> Decision {
    if let Decision::Deny { .. } = rules {
        return rules;
    }
    let combined = if hooks.blocked.is_some() || hooks.halted {
        let reason = hooks.blocked.clone().or_else(|| hooks.stop_reason.clone());
        Decision::Deny {
            reason: reason.unwrap_or_else(|| "a hook stopped the session".to_owned()),
        }
    } else {
        match &hooks.permission {
            None => rules,
            Some(HookPermission { decision, reason }) => match (decision, rules) {
                (HookDecision::Allow, rules) => rules,
                (HookDecision::Deny, _) => Decision::Deny {
                    reason: reason
                        .clone()
                        .unwrap_or_else(|| "denied by a PreToolUse hook".to_owned()),
                },
                (HookDecision::Ask | HookDecision::Defer, rules @ Decision::Ask { .. }) => rules,
                (HookDecision::Ask, _) => Decision::Ask {
                    reason: reason
                        .clone()
                        .unwrap_or_else(|| "a PreToolUse hook asks for approval".to_owned()),
                },
                (HookDecision::Defer, _) => Decision::Ask {
                    reason: reason
                        .clone()
                        .unwrap_or_else(|| "a PreToolUse hook deferred the decision".to_owned()),
                },
            },
        }
    };
    match (mode, combined) {
        (PermissionMode::Unattended, Decision::Ask { reason }) => unattended_deny(&reason),
        (_, combined) => combined,
    }
}
