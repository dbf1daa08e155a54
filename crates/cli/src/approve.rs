//! Answering approval requests of `agentd run` in the terminal.

use std::io::{BufRead, IsTerminal, Write};

use agentd_core::SessionManager;
use agentd_protocol::SessionId;
use agentd_protocol::event::{ApprovalDecision, PermissionRequested};

/// Ask the person at the terminal; with no terminal (a script, CI), decline
/// at once and say how to run without asking, rather than waiting for the
/// request to expire.
pub async fn in_terminal(manager: &SessionManager, id: SessionId, request: &PermissionRequested) {
    let (decision, message) = if std::io::stdin().is_terminal() {
        let prompt = format!(
            "\n? the agent wants to run {}({})\n  {}\n  [y]es / [a]lways this session / [n]o: ",
            request.tool, request.input, request.reason
        );
        let answer = tokio::task::spawn_blocking(move || {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{prompt}");
            let _ = err.flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            line
        })
        .await
        .unwrap_or_default();
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => (ApprovalDecision::Accept, None),
            "a" | "always" => (ApprovalDecision::AcceptForSession, None),
            _ => (
                ApprovalDecision::Decline,
                Some("the user said no".to_owned()),
            ),
        }
    } else {
        eprintln!(
            "\n{} needs approval, but there is no terminal to ask; declined. \
             Use --permission-mode acceptEdits or bypassPermissions, or allow rules in the config.",
            request.tool
        );
        (
            ApprovalDecision::Decline,
            Some("nobody is at the terminal to approve it".to_owned()),
        )
    };
    if let Err(e) = manager
        .answer_approval(
            id,
            &request.request_id,
            decision,
            message,
            "terminal".to_owned(),
        )
        .await
    {
        eprintln!("agentd: could not answer the approval: {e}");
    }
}
