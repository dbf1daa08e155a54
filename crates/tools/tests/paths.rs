//! Every tool refuses paths that leave the workspace.

mod common;

use std::os::unix::fs::symlink;

use common::{assert_error, fixture};
use serde_json::{Value, json};

/// One call per tool, each aimed at `path`.
fn calls(path: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("read_file", json!({"path": path})),
        ("write_file", json!({"path": path, "content": "pwned"})),
        (
            "edit_file",
            json!({"path": path, "old_string": "root", "new_string": "pwned"}),
        ),
        ("glob", json!({"pattern": "*", "path": path})),
        ("list", json!({"path": path})),
        ("grep", json!({"pattern": "root", "path": path})),
    ]
}

#[tokio::test]
async fn escaping_paths_are_refused_by_every_tool() {
    let fx = fixture();
    symlink("/etc", fx.root().join("etc_link")).unwrap();
    fx.write("sub/keep.txt", "x");
    symlink("../../", fx.root().join("sub/up")).unwrap();
    for path in [
        "../x",
        "/etc/passwd",
        "/etc",
        "etc_link",
        "etc_link/passwd",
        "sub/up/x",
        "sub/../../x",
    ] {
        for (tool, input) in calls(path) {
            let outcome = fx.call(tool, input).await;
            assert_error(&outcome, "path escapes the workspace: ");
            assert!(outcome.changes.is_empty());
        }
    }
    assert!(!std::path::Path::new("/etc/pwned").exists());
}

#[tokio::test]
async fn symlinks_inside_the_workspace_are_not_followed_out_by_walkers() {
    let fx = fixture();
    symlink("/etc", fx.root().join("etc_link")).unwrap();
    fx.write("a.txt", "root\n");
    let grep = fx.call("grep", json!({"pattern": "root"})).await;
    assert_eq!(grep.content, "a.txt:1:root");
    let glob = fx.call("glob", json!({"pattern": "**/passwd"})).await;
    assert_eq!(glob.content, "no files match **/passwd");
}
