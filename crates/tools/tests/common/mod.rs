//! A temp-dir workspace plus helpers to call tools by name, as the agent loop does.
#![allow(dead_code, reason = "each test crate uses a different subset")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::path::Path;

use agentd_tools::{Registry, ToolContext, ToolOutcome, Workspace};
use tempfile::TempDir;

pub struct Fixture {
    pub dir: TempDir,
    pub ctx: ToolContext,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ToolContext::new(Workspace::new(dir.path()).unwrap());
    Fixture { dir, ctx }
}

impl Fixture {
    pub fn root(&self) -> &Path {
        self.ctx.workspace.root()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    pub async fn call(&self, tool: &str, input: serde_json::Value) -> ToolOutcome {
        let tool = Registry::builtin().get(tool).unwrap();
        tool.call(input, &self.ctx).await
    }
}

/// Gone, or a zombie waiting to be reaped (it no longer runs anything).
pub fn process_is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[track_caller]
pub fn assert_error(outcome: &ToolOutcome, needle: &str) {
    assert!(outcome.is_error, "expected an error, got {outcome:?}");
    assert!(
        outcome.content.contains(needle),
        "expected {needle:?} in {:?}",
        outcome.content
    );
}
