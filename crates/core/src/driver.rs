//! One task per session with work: takes inputs in order and runs a turn
//! for each, then exits when nothing is left (idle sessions cost no task).

use std::sync::Arc;

use agentd_protocol::SessionId;
use agentd_store::InputRecord;

use crate::manager::{Live, SessionManager};

pub(crate) async fn drive(manager: SessionManager, live: Arc<Live>, id: SessionId) {
    loop {
        let (input, cancel): (InputRecord, _) = {
            let mut state = live.state.lock().await;
            match state.queue.pop_front() {
                Some(input) => {
                    let token = manager.inner.shutdown.child_token();
                    state.turn_cancel = Some(token.clone());
                    (input, token)
                }
                None => {
                    state.running = false;
                    state.turn_cancel = None;
                    return;
                }
            }
        };
        if manager.inner.shutdown.is_cancelled() {
            // Leave the input pending in the store; the next start runs it.
            let mut state = live.state.lock().await;
            state.running = false;
            state.turn_cancel = None;
            return;
        }
        crate::turn::run_turn(&manager, &live, id, input, cancel).await;
        live.turn_ended.notify_waiters();
    }
}
