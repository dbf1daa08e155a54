//! Showing events to a person in a terminal (or as NDJSON with `--json`).

use std::io::Write;

use agentd_protocol::event::OutputStream;
use agentd_protocol::{EventData, EventEnvelope};

pub struct Renderer {
    json: bool,
    /// Whether the cursor sits after streamed text (needs a newline first).
    mid_line: bool,
}

impl Renderer {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            mid_line: false,
        }
    }

    pub fn show(&mut self, envelope: &EventEnvelope) {
        if self.json {
            if let Ok(line) = serde_json::to_string(envelope) {
                println!("{line}");
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        match &envelope.event {
            EventData::TextDelta(d) => {
                let _ = write!(out, "{}", d.text);
                self.mid_line = !d.text.ends_with('\n');
            }
            EventData::ToolStarted(t) => {
                self.newline(&mut out);
                let _ = writeln!(out, "⏺ {}({})", t.tool, summarize(&t.input));
            }
            EventData::ToolOutput(o) => {
                for line in o.chunk.lines() {
                    let mark = match o.stream {
                        OutputStream::Stdout => "│",
                        OutputStream::Stderr => "!",
                    };
                    let _ = writeln!(out, "  {mark} {line}");
                }
            }
            EventData::ToolCompleted(t) => {
                let verdict = if t.ok { "ok" } else { "failed" };
                let first = t.output.lines().last().unwrap_or("");
                let _ = writeln!(out, "  ⎿ {verdict} in {} ms: {first}", t.duration_ms);
            }
            EventData::FileChanged(f) => {
                let _ = writeln!(
                    out,
                    "  ✎ {} ({:?}, +{} -{})",
                    f.path, f.change, f.lines_added, f.lines_removed
                );
            }
            EventData::Error(e) => {
                self.newline(&mut out);
                eprintln!("error [{}]: {}", e.code, e.message);
            }
            EventData::TaskResult(r) => {
                self.newline(&mut out);
                if let Some(url) = &r.pr_url {
                    let _ = writeln!(out, "⇪ pull request: {url}");
                } else if let Some(branch) = r.branch.as_ref().filter(|_| r.pushed) {
                    let _ = writeln!(out, "⇪ pushed {branch}");
                }
                if let Some(error) = &r.error {
                    eprintln!("task: {error}");
                }
            }
            EventData::BudgetExceeded(b) => {
                self.newline(&mut out);
                eprintln!("budget: {}", b.message);
            }
            EventData::PermissionResolved(r) => {
                let _ = writeln!(out, "  ⚑ {:?} by {}", r.decision, r.by);
            }
            EventData::HookCompleted(h) if h.outcome != "ok" => {
                self.newline(&mut out);
                let why = h.message.as_deref().unwrap_or("");
                let _ = writeln!(out, "  ⚓ {} hook {}: {why}", h.hook_event, h.outcome);
            }
            EventData::MessageCompleted(_) => self.newline(&mut out),
            EventData::SessionStatus(_)
            | EventData::TurnStarted(_)
            | EventData::TurnCompleted(_)
            | EventData::InputQueued(_)
            | EventData::MessageStarted(_)
            | EventData::ThinkingDelta(_)
            | EventData::Usage(_)
            | EventData::PermissionRequested(_)
            | EventData::CheckpointCreated(_)
            | EventData::CheckpointRestored(_)
            | EventData::HookCompleted(_) => {}
        }
        let _ = out.flush();
    }

    fn newline(&mut self, out: &mut impl Write) {
        if self.mid_line {
            let _ = writeln!(out);
            self.mid_line = false;
        }
    }
}

/// A one-line view of a tool's input.
fn summarize(input: &serde_json::Value) -> String {
    let text = match input
        .get("command")
        .or_else(|| input.get("path"))
        .or_else(|| input.get("pattern"))
    {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => input.to_string(),
    };
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}
