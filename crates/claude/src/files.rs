//! `file.changed` for the CLI's file tools, best effort: the tool's
//! structured result (`tool_use_result`: create/update and a patch) when the
//! CLI sends one, the tool input otherwise.

use std::path::Path;

use agentd_protocol::event::{FileChangeKind, FileChanged};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct EditInput {
    file_path: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    old_string: Option<String>,
    #[serde(default)]
    new_string: Option<String>,
    #[serde(default)]
    edits: Vec<EditPair>,
}

#[derive(Deserialize)]
struct EditPair {
    #[serde(default)]
    old_string: String,
    #[serde(default)]
    new_string: String,
}

#[derive(Deserialize)]
struct EditResult {
    #[serde(default, rename = "type")]
    kind: Option<WriteKind>,
    #[serde(default, rename = "structuredPatch")]
    structured_patch: Vec<Hunk>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WriteKind {
    Create,
    Update,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Hunk {
    #[serde(default)]
    lines: Vec<String>,
}

/// The change a successful `tool` call made, if it is a file tool.
pub(crate) fn file_change(
    tool: &str,
    input: &Value,
    result: Option<&Value>,
    cwd: &Path,
) -> Option<FileChanged> {
    let is_write = match tool {
        "Write" => true,
        "Edit" | "MultiEdit" => false,
        _ => return None,
    };
    let input = EditInput::deserialize(input).ok()?;
    let result = result.and_then(|r| EditResult::deserialize(r).ok());
    let change = match result.as_ref().and_then(|r| r.kind.as_ref()) {
        Some(WriteKind::Create) => FileChangeKind::Added,
        Some(WriteKind::Update | WriteKind::Other) | None => FileChangeKind::Modified,
    };
    let patch = result
        .as_ref()
        .map(|r| r.structured_patch.as_slice())
        .unwrap_or_default();
    let (lines_added, lines_removed) = if !patch.is_empty() {
        count_patch(patch)
    } else if is_write {
        (count_lines(input.content.as_deref().unwrap_or_default()), 0)
    } else {
        let pairs = input
            .old_string
            .iter()
            .zip(input.new_string.iter())
            .map(|(old, new)| (old.as_str(), new.as_str()))
            .chain(
                input
                    .edits
                    .iter()
                    .map(|e| (e.old_string.as_str(), e.new_string.as_str())),
            );
        pairs.fold((0, 0), |(added, removed), (old, new)| {
            (added + count_lines(new), removed + count_lines(old))
        })
    };
    Some(FileChanged {
        path: relative(&input.file_path, cwd),
        change,
        lines_added,
        lines_removed,
    })
}

fn count_lines(text: &str) -> u64 {
    text.lines().count() as u64
}

fn count_patch(hunks: &[Hunk]) -> (u64, u64) {
    hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .fold((0, 0), |(added, removed), line| match line.chars().next() {
            Some('+') => (added + 1, removed),
            Some('-') => (added, removed + 1),
            _ => (added, removed),
        })
}

/// Workspace-relative when inside it (the event's contract), else as given.
fn relative(path: &str, cwd: &Path) -> String {
    Path::new(path)
        .strip_prefix(cwd)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_and_edits_from_structured_results() {
        let cwd = Path::new("/ws");
        let created = file_change(
            "Write",
            &json!({"file_path": "/ws/a/b.txt", "content": "1\n2\n"}),
            Some(&json!({"type": "create", "structuredPatch": []})),
            cwd,
        );
        assert_eq!(
            created,
            Some(FileChanged {
                path: "a/b.txt".into(),
                change: FileChangeKind::Added,
                lines_added: 2,
                lines_removed: 0
            })
        );
        let edited = file_change(
            "Edit",
            &json!({"file_path": "/elsewhere/n.txt", "old_string": "b", "new_string": "B\nb2"}),
            Some(&json!({"structuredPatch": [{"lines": [" a", "-b", "+B", "+b2", " c"]}]})),
            cwd,
        )
        .unwrap();
        assert_eq!(
            (
                edited.path.as_str(),
                edited.change,
                edited.lines_added,
                edited.lines_removed
            ),
            ("/elsewhere/n.txt", FileChangeKind::Modified, 2, 1)
        );
    }

    #[test]
    fn inputs_are_the_fallback() {
        let multi = file_change(
            "MultiEdit",
            &json!({"file_path": "/ws/x", "edits": [
                {"old_string": "a", "new_string": "a\nb"}, {"old_string": "c\nd", "new_string": ""}]}),
            None,
            Path::new("/ws"),
        )
        .unwrap();
        assert_eq!((multi.lines_added, multi.lines_removed), (2, 3));
        assert_eq!(
            file_change("Bash", &json!({"command": "ls"}), None, Path::new("/")),
            None
        );
        assert_eq!(
            file_change("Write", &json!({"oops": 1}), None, Path::new("/")),
            None
        );
    }
}
