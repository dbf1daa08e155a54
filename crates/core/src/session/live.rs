//! A session in memory while it has (or recently had) work: its queue of
//! inputs, the steers waiting for a tool boundary, the approvals waiting for
//! a person, a requested pause, and the task driving its turns. Fields are
//! private; everything else uses the named operations below, each of which
//! keeps the state consistent under one lock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::event::{ApprovalDecision, InputKind, InputQueued, PermissionRequested};
use agentd_protocol::{EventData, SessionId, SessionStatus};
use agentd_store::{InputRecord, SessionRecord};
use tokio::sync::{Mutex, MutexGuard, Notify, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::CoreError;
use crate::services::Services;
use crate::turn::RunnerSession;
use crate::turn::StatusCommit;

pub(crate) struct LiveSession {
    id: SessionId,
    state: Mutex<State>,
    /// Woken whenever a turn ends.
    turn_ended: Notify,
    /// Woken by a resume (or raised limits): a paused turn checks again.
    resumed: Notify,
    /// What the runner keeps across this session's turns (the Claude Code
    /// process, MCP connections).
    runner: Arc<RunnerSession>,
}

#[derive(Default)]
struct State {
    /// Follow-up messages waiting for the running turn to end.
    queue: VecDeque<InputRecord>,
    /// Steers waiting for the next tool boundary.
    steers: Vec<InputRecord>,
    /// A driver task owns the session's turns.
    running: bool,
    turn_cancel: Option<CancellationToken>,
    driver: Option<JoinHandle<()>>,
    /// Tool calls waiting for a person.
    approvals: Vec<PendingApproval>,
    /// Pause before the next model call (`POST …/pause`) until resumed.
    pause_requested: bool,
}

/// A request waiting for a person's answer.
pub(crate) struct PendingApproval {
    pub(crate) request: PermissionRequested,
    pub(crate) answer: oneshot::Sender<Answer>,
}

pub(crate) struct Answer {
    pub(crate) decision: ApprovalDecision,
    pub(crate) by: String,
    pub(crate) message: Option<String>,
}

/// The session's lock, held while something must not race a turn's start
/// (a workspace sweep, a rollback, a pull request's end).
pub(crate) struct Held<'a>(MutexGuard<'a, State>);

impl Held<'_> {
    /// A driver owns the session's turns (one runs or is about to).
    pub(crate) fn running(&self) -> bool {
        self.0.running
    }
}

impl LiveSession {
    pub(crate) fn new(id: SessionId) -> Self {
        Self {
            id,
            state: Mutex::default(),
            turn_ended: Notify::new(),
            resumed: Notify::new(),
            runner: Arc::new(RunnerSession::default()),
        }
    }

    pub(crate) fn id(&self) -> SessionId {
        self.id
    }

    pub(crate) fn runner(&self) -> &Arc<RunnerSession> {
        &self.runner
    }

    pub(crate) async fn hold(&self) -> Held<'_> {
        Held(self.state.lock().await)
    }

    pub(crate) async fn is_running(&self) -> bool {
        self.state.lock().await.running
    }

    /// Takes a durable input: a steer joins the running turn, anything
    /// else waits its turn; an idle session becomes `queued` and gets a
    /// driver. Returns whether the input waits behind a running turn.
    pub(crate) async fn enqueue(
        self: &Arc<Self>,
        services: &Arc<Services>,
        input: InputRecord,
    ) -> Result<bool, CoreError> {
        let mut state = self.state.lock().await;
        let queued = state.running;
        if queued {
            let event = EventData::InputQueued(InputQueued {
                input_id: input.id.clone(),
                kind: input.kind,
                text: input.text.clone(),
            });
            services.log.append_durable(self.id, event).await?;
        }
        match input.kind {
            InputKind::Steer if state.running => state.steers.push(input),
            InputKind::Steer | InputKind::Message => state.queue.push_back(input),
        }
        if !state.running {
            // `queued` until the driver starts the turn, so a crash in
            // between is recovered, not forgotten.
            let mut record = services
                .store
                .get_session(self.id)
                .await?
                .ok_or(CoreError::NotFound)?;
            if record.status != SessionStatus::Queued {
                StatusCommit::to(SessionStatus::Queued, None)
                    .commit(services, &mut record)
                    .await?;
            }
            self.start_driver(&mut state, services);
        }
        Ok(queued)
    }

    /// Inputs recovered from the store at start-up.
    pub(crate) async fn schedule(
        self: &Arc<Self>,
        services: &Arc<Services>,
        inputs: Vec<InputRecord>,
    ) {
        let mut state = self.state.lock().await;
        state.queue.extend(inputs);
        if !state.running && !state.queue.is_empty() {
            self.start_driver(&mut state, services);
        }
    }

    fn start_driver(self: &Arc<Self>, state: &mut State, services: &Arc<Services>) {
        state.running = true;
        state.driver = Some(tokio::spawn(crate::session::driver::drive(
            services.clone(),
            self.clone(),
        )));
    }

    /// The next input and the cancel token of its turn; `None` ends the
    /// driver (nothing left, or the engine is shutting down, which leaves
    /// the input pending in the store for the next start).
    pub(crate) async fn next_input(
        &self,
        shutdown: &CancellationToken,
    ) -> Option<(InputRecord, CancellationToken)> {
        let mut state = self.state.lock().await;
        let input = match state.queue.pop_front() {
            Some(input) if !shutdown.is_cancelled() => input,
            _ => {
                state.running = false;
                state.turn_cancel = None;
                return None;
            }
        };
        let token = shutdown.child_token();
        state.turn_cancel = Some(token.clone());
        Some((input, token))
    }

    pub(crate) fn turn_done(&self) {
        self.turn_ended.notify_waiters();
    }

    /// Interrupts the running turn and waits up to `grace` for it to end.
    /// Queued messages stay queued.
    pub(crate) async fn cancel_turn(&self, grace: Duration) {
        let ended = self.turn_ended.notified();
        tokio::pin!(ended);
        let cancelled = {
            let state = self.state.lock().await;
            match &state.turn_cancel {
                Some(token) if state.running => {
                    ended.as_mut().enable();
                    token.cancel();
                    true
                }
                _ => false,
            }
        };
        if cancelled {
            let _ = tokio::time::timeout(grace, ended).await;
        }
    }

    /// Steers that arrived since the last tool boundary.
    pub(crate) async fn take_steers(&self) -> Vec<InputRecord> {
        std::mem::take(&mut self.state.lock().await.steers)
    }

    /// Ends a turn: steers that never found a tool boundary become the next
    /// message, and `commit` writes the end with whether input still waits
    /// (under the lock: an input enqueued meanwhile waits for this status,
    /// so it cannot be followed by a stale `idle`).
    pub(crate) async fn end_turn(
        &self,
        services: &Services,
        record: &mut SessionRecord,
        end: StatusCommit,
    ) -> Result<(), CoreError> {
        let mut state = self.state.lock().await;
        let steers = std::mem::take(&mut state.steers);
        for steer in steers.into_iter().rev() {
            state.queue.push_front(steer);
        }
        let end = match end.status {
            SessionStatus::Idle if !state.queue.is_empty() => StatusCommit {
                status: SessionStatus::Queued,
                reason: None,
                ..end
            },
            _ => end,
        };
        end.commit(services, record).await
    }

    pub(crate) async fn request_pause(&self) {
        self.state.lock().await.pause_requested = true;
    }

    pub(crate) async fn clear_pause(&self) {
        self.state.lock().await.pause_requested = false;
    }

    pub(crate) async fn pause_requested(&self) -> bool {
        self.state.lock().await.pause_requested
    }

    /// Wakes a paused turn to check its pause and budgets again.
    pub(crate) fn resume(&self) {
        self.resumed.notify_waiters();
    }

    pub(crate) fn resumed(&self) -> tokio::sync::futures::Notified<'_> {
        self.resumed.notified()
    }

    pub(crate) async fn add_approval(&self, pending: PendingApproval) {
        self.state.lock().await.approvals.push(pending);
    }

    pub(crate) async fn drop_approval(&self, request_id: &str) {
        self.state
            .lock()
            .await
            .approvals
            .retain(|p| p.request.request_id != request_id);
    }

    pub(crate) async fn pending_approvals(&self) -> Vec<PermissionRequested> {
        let state = self.state.lock().await;
        state.approvals.iter().map(|p| p.request.clone()).collect()
    }

    /// Takes a waiting request out, to answer it.
    pub(crate) async fn take_approval(&self, request_id: &str) -> Option<PendingApproval> {
        let mut state = self.state.lock().await;
        let index = state
            .approvals
            .iter()
            .position(|p| p.request.request_id == request_id)?;
        Some(state.approvals.remove(index))
    }

    /// Stops the session's work: drops what waits, cancels the running
    /// turn, and hands back its driver to wait for.
    pub(crate) async fn stop(&self) -> Option<JoinHandle<()>> {
        let mut state = self.state.lock().await;
        state.queue.clear();
        state.steers.clear();
        if let Some(token) = &state.turn_cancel {
            token.cancel();
        }
        state.driver.take()
    }

    /// The driver, for a shutdown to wait for (the turn was cancelled by
    /// the engine's shutdown token).
    pub(crate) async fn take_driver(&self) -> Option<JoinHandle<()>> {
        self.state.lock().await.driver.take()
    }
}
