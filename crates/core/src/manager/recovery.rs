//! Start-up after a crash. The event log is the truth: a turn it shows
//! started and never completed is marked `interrupted` (with events); a
//! session row that disagrees with the log's last status is set from it;
//! every input acknowledged and never taken, on any session, is handed to a
//! driver, so nothing acknowledged is dropped.
//!
//! Taking an input and starting its turn are one transaction
//! (`turn::start`), and so are a turn's end and its status
//! (`turn::finish`): there is no "taken but never started" input and no
//! "completed but still running" turn to find. The log checks below still
//! repair databases written before that was so.

use agentd_protocol::event::{ErrorEvent, TurnCompleted};
use agentd_protocol::{ErrorCode, EventData, EventEnvelope, SessionStatus, TurnStopReason, Usage};
use agentd_store::{BatchWrites, SessionRecord};

use crate::error::CoreError;
use crate::manager::SessionManager;
use crate::services::Services;
use crate::turn::StatusCommit;
use crate::turn::TurnEnd;

const REASON: &str = "the server stopped while this turn was running";

/// Statuses a session has only while a turn of it runs (or is about to).
const ACTIVE: [SessionStatus; 4] = [
    SessionStatus::Queued,
    SessionStatus::Running,
    SessionStatus::BlockedOnApproval,
    // Paused inside a turn (budget or request): the turn is gone now.
    SessionStatus::Paused,
];

pub(crate) async fn recover(manager: &SessionManager) -> Result<(), CoreError> {
    let services = &manager.services;
    for mut record in services.store.sessions_to_recover(&ACTIVE).await? {
        let id = record.id;
        let log = LogState::read(services, id).await?;
        if let Some(turn) = log.open_turn() {
            tracing::warn!(%id, turn, "marking interrupted turn");
            interrupt(services, &mut record, turn).await?;
        } else if let Some(status) = log.status(&record)
            && status != record.status
        {
            tracing::warn!(%id, row = %record.status.as_str(), log = %status.as_str(), "session row disagreed with its log; set from the log");
            record.status = status;
            let row = BatchWrites {
                sessions: vec![record.clone()],
                ..BatchWrites::default()
            };
            services.store.append_events_with(&[], &row).await?;
        }
        let mut pending = services.store.pending_inputs(id).await?;
        if pending.is_empty() && record.status == SessionStatus::Queued {
            // Queued with nothing to take and no turn open: the input was
            // taken and its turn never started (possible only in databases
            // written before the two were one transaction). Run it again.
            match services.store.untake_last_input(id).await? {
                Some(input) => {
                    tracing::warn!(%id, input = %input.id, "input taken but never started; running it again");
                    pending.push(input);
                }
                None => {
                    StatusCommit::to(SessionStatus::Idle, None)
                        .commit(services, &mut record)
                        .await?;
                }
            }
        }
        if pending.is_empty() {
            continue;
        }
        if record.status != SessionStatus::Queued {
            // Never idle (or ended) with acknowledged input waiting.
            StatusCommit::to(SessionStatus::Queued, None)
                .commit(services, &mut record)
                .await?;
        }
        tracing::info!(%id, inputs = pending.len(), "resuming acknowledged inputs");
        manager
            .sessions
            .get(id)
            .schedule(&manager.services, pending)
            .await;
    }
    Ok(())
}

/// What the end of a session's log says about its turns and status.
struct LogState {
    started: Option<EventEnvelope>,
    completed: Option<EventEnvelope>,
    status: Option<EventEnvelope>,
}

impl LogState {
    async fn read(services: &Services, id: agentd_protocol::SessionId) -> Result<Self, CoreError> {
        let last = |kind: &'static str| services.store.last_event_of_type(id, kind);
        Ok(Self {
            started: last("turn.started").await?,
            completed: last("turn.completed").await?,
            status: last("session.status").await?,
        })
    }

    /// The turn the log shows started and not completed. A log whose last
    /// status is one a turn holds (written before `turn.started` existed
    /// in the same transaction) counts too.
    fn open_turn(&self) -> Option<u32> {
        let seq = |e: &Option<EventEnvelope>| e.as_ref().map_or(0, |e| e.seq);
        let started_turn = match self.started.as_ref().map(|e| &e.event) {
            Some(EventData::TurnStarted(started)) => Some(started.turn),
            _ => None,
        };
        if seq(&self.started) > seq(&self.completed) {
            return started_turn;
        }
        let in_turn = matches!(
            self.status.as_ref().map(|e| &e.event),
            Some(EventData::SessionStatus(s)) if matches!(
                s.status,
                SessionStatus::Running | SessionStatus::BlockedOnApproval | SessionStatus::Paused
            )
        );
        if in_turn && seq(&self.status) > seq(&self.completed) {
            // Old logs wrote `running` before `turn.started`: the turn after
            // the last completed one had begun.
            return Some(started_turn.map_or(1, |t| t + 1));
        }
        None
    }

    /// The status the log says the session has, when no turn is open: its
    /// last `session.status`, or (for logs written before a turn's end and
    /// status were one transaction) what its last `turn.completed` implies.
    fn status(&self, record: &SessionRecord) -> Option<SessionStatus> {
        let seq = |e: &Option<EventEnvelope>| e.as_ref().map_or(0, |e| e.seq);
        if seq(&self.completed) > seq(&self.status)
            && let Some(EventData::TurnCompleted(done)) = self.completed.as_ref().map(|e| &e.event)
        {
            return Some(TurnEnd::new(done.stop_reason).status);
        }
        match self.status.as_ref().map(|e| &e.event) {
            Some(EventData::SessionStatus(s)) => Some(s.status),
            // No status event at all: the row is all there is.
            _ => Some(record.status),
        }
    }
}

/// The `interrupted` end of a turn the previous process was running: the
/// error, `turn.completed` and the status, in one transaction.
async fn interrupt(
    services: &Services,
    record: &mut SessionRecord,
    turn: u32,
) -> Result<(), CoreError> {
    record.turns = record.turns.max(turn);
    let events = vec![
        EventData::Error(ErrorEvent {
            code: ErrorCode::Interrupted,
            message: REASON.to_owned(),
            retryable: true,
        }),
        EventData::TurnCompleted(TurnCompleted {
            turn,
            stop_reason: TurnStopReason::Interrupted,
            denied: 0,
            usage: Usage::default(),
        }),
    ];
    let change = StatusCommit {
        before: events,
        ..StatusCommit::to(SessionStatus::Interrupted, Some(REASON.to_owned()))
    };
    change.commit(services, record).await
}
