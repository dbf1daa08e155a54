//! The last lines a stdio server wrote to stderr, kept for error messages:
//! "connection closed" alone does not tell a user that `npx` could not find
//! the package, the server's own output does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// How much of the output is kept: enough for a stack trace's head, small
/// enough to put into an error shown to a model.
const MAX_LINES: usize = 20;
const MAX_LINE_CHARS: usize = 500;

#[derive(Clone, Debug, Default)]
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl StderrTail {
    /// Reads `stderr` until the process closes it. The reader must keep
    /// draining for the life of the child, or a chatty server would block on
    /// a full pipe.
    pub(crate) fn capture(server: &str, stderr: ChildStderr) -> (Self, JoinHandle<()>) {
        let tail = Self::default();
        let writer = tail.clone();
        let server = server.to_owned();
        let handle = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(server = %server, "mcp stderr: {line}");
                writer.push(line);
            }
        });
        (tail, handle)
    }

    fn push(&self, line: String) {
        let line: String = line.chars().take(MAX_LINE_CHARS).collect();
        // A poisoned lock only means another push panicked; the text is still usable.
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The captured lines, or `None` when the server wrote nothing.
    pub(crate) fn text(&self) -> Option<String> {
        let lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        (!text.trim().is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_lines() {
        let tail = StderrTail::default();
        assert_eq!(tail.text(), None);
        for i in 0..(MAX_LINES + 5) {
            tail.push(format!("line {i}"));
        }
        let text = tail.text().unwrap();
        assert!(text.starts_with("line 5\n"), "{text}");
        assert!(text.ends_with(&format!("line {}", MAX_LINES + 4)));
    }
}
