//! read_file, write_file and edit_file on a real temp workspace.

mod common;

use agentd_tools::{ChangeKind, FileChange, ToolOutcome};
use common::{assert_error, fixture};
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn read_file_numbers_lines_and_honours_ranges() {
    let fx = fixture();
    fx.write("src/lib.rs", "one\ntwo\nthree\nfour\n");

    let all = fx.call("read_file", json!({"path": "src/lib.rs"})).await;
    assert_eq!(
        all,
        ToolOutcome::ok("     1\tone\n     2\ttwo\n     3\tthree\n     4\tfour\n")
    );

    let middle = fx
        .call(
            "read_file",
            json!({"path": "src/lib.rs", "offset": 2, "limit": 2}),
        )
        .await;
    assert_eq!(
        middle.content,
        "     2\ttwo\n     3\tthree\n\n(showing lines 2-3 of 4; use offset=4 to read more)"
    );

    let past_end = fx
        .call("read_file", json!({"path": "src/lib.rs", "offset": 9}))
        .await;
    assert_error(
        &past_end,
        "offset 9 is past the end of src/lib.rs, which has 4 lines",
    );
}

#[tokio::test]
async fn read_file_stops_at_the_output_budget_and_says_how_to_continue() {
    let mut fx = fixture();
    fx.ctx.limits.max_output_chars = 100;
    let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
    fx.write("long.txt", &text);
    let outcome = fx.call("read_file", json!({"path": "long.txt"})).await;
    assert!(!outcome.is_error);
    assert!(outcome.content.starts_with("     1\tline 1\n"));
    assert!(
        outcome
            .content
            .ends_with("(showing lines 1-7 of 50; use offset=8 to read more)"),
        "{}",
        outcome.content
    );
}

#[tokio::test]
async fn read_file_refuses_binary_large_missing_and_directories() {
    let mut fx = fixture();
    std::fs::write(fx.root().join("blob.bin"), b"\x7fELF\0\0\x01").unwrap();
    assert_error(
        &fx.call("read_file", json!({"path": "blob.bin"})).await,
        "appears to be a binary file",
    );

    fx.ctx.limits.max_read_bytes = 10;
    fx.write("big.txt", "0123456789abc");
    assert_error(
        &fx.call("read_file", json!({"path": "big.txt"})).await,
        "above the read limit of 10 bytes",
    );

    assert_error(
        &fx.call("read_file", json!({"path": "nope.txt"})).await,
        "no such file or directory: nope.txt",
    );
    std::fs::create_dir(fx.root().join("dir")).unwrap();
    assert_error(
        &fx.call("read_file", json!({"path": "dir"})).await,
        "is a directory",
    );
    fx.write("empty.txt", "");
    assert_eq!(
        fx.call("read_file", json!({"path": "empty.txt"})).await,
        ToolOutcome::ok("empty.txt is empty")
    );
}

#[tokio::test]
async fn write_file_creates_parents_and_reports_changes() {
    let fx = fixture();
    let created = fx
        .call(
            "write_file",
            json!({"path": "a/b/new.txt", "content": "x\ny\n"}),
        )
        .await;
    assert_eq!(
        created,
        ToolOutcome::ok("Created a/b/new.txt (2 lines)").with_change(FileChange {
            path: "a/b/new.txt".into(),
            kind: ChangeKind::Added,
            lines_added: 2,
            lines_removed: 0,
        })
    );
    assert_eq!(fx.read("a/b/new.txt"), "x\ny\n");

    let absolute = fx.root().join("a/b/new.txt");
    let modified = fx
        .call(
            "write_file",
            json!({"path": absolute.to_str().unwrap(), "content": "x\nz\nw\n"}),
        )
        .await;
    assert_eq!(
        modified.changes,
        [FileChange {
            path: "a/b/new.txt".into(),
            kind: ChangeKind::Modified,
            lines_added: 2,
            lines_removed: 1
        }]
    );
    assert_eq!(fx.read("a/b/new.txt"), "x\nz\nw\n");

    let same = fx
        .call(
            "write_file",
            json!({"path": "a/b/new.txt", "content": "x\nz\nw\n"}),
        )
        .await;
    assert_eq!(
        same,
        ToolOutcome::ok("a/b/new.txt already has this content; nothing changed")
    );
}

#[tokio::test]
async fn write_file_errors() {
    let mut fx = fixture();
    std::fs::create_dir(fx.root().join("dir")).unwrap();
    assert_error(
        &fx.call("write_file", json!({"path": "dir", "content": "x"}))
            .await,
        "dir is a directory",
    );
    fx.write("file", "x");
    assert_error(
        &fx.call(
            "write_file",
            json!({"path": "file/child.txt", "content": "x"}),
        )
        .await,
        "cannot create the parent directories of file/child.txt",
    );
    assert_error(
        &fx.call("write_file", json!({"path": "x"})).await,
        "missing field `content`",
    );
    fx.ctx.limits.max_write_bytes = 3;
    assert_error(
        &fx.call("write_file", json!({"path": "y", "content": "long"}))
            .await,
        "above the write limit",
    );
}

#[tokio::test]
async fn edit_file_replaces_a_unique_string() {
    let fx = fixture();
    fx.write("main.rs", "fn main() {\n    println!(\"hi\");\n}\n");
    let outcome = fx
        .call(
            "edit_file",
            json!({"path": "main.rs", "old_string": "    println!(\"hi\");\n", "new_string": "    let x = 1;\n    println!(\"{x}\");\n"}),
        )
        .await;
    assert_eq!(
        outcome,
        ToolOutcome::ok("Edited main.rs: replaced 1 occurrence (+2 -1 lines)").with_change(
            FileChange {
                path: "main.rs".into(),
                kind: ChangeKind::Modified,
                lines_added: 2,
                lines_removed: 1,
            }
        )
    );
    assert_eq!(
        fx.read("main.rs"),
        "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n"
    );
}

#[tokio::test]
async fn edit_file_replace_all() {
    let fx = fixture();
    fx.write("f.txt", "a\nb\na\n");
    let outcome = fx
        .call(
            "edit_file",
            json!({"path": "f.txt", "old_string": "a", "new_string": "c", "replace_all": true}),
        )
        .await;
    assert_eq!(
        outcome.content,
        "Edited f.txt: replaced 2 occurrences (+2 -2 lines)"
    );
    assert_eq!(fx.read("f.txt"), "c\nb\nc\n");
}

#[tokio::test]
async fn edit_file_errors() {
    let fx = fixture();
    fx.write("f.txt", "a\nb\na\n");
    let edit =
        |old: &str, new: &str| json!({"path": "f.txt", "old_string": old, "new_string": new});
    assert_error(
        &fx.call(
            "edit_file",
            json!({"path": "missing.txt", "old_string": "a", "new_string": "b"}),
        )
        .await,
        "file not found: missing.txt; use write_file",
    );
    assert_error(
        &fx.call("edit_file", edit("zzz", "y")).await,
        "old_string not found in f.txt",
    );
    assert_error(
        &fx.call("edit_file", edit("a", "y")).await,
        "old_string found 2 times in f.txt",
    );
    assert_error(&fx.call("edit_file", edit("a", "a")).await, "identical");
    assert_error(
        &fx.call("edit_file", edit("", "y")).await,
        "old_string is empty",
    );
    assert_eq!(
        fx.read("f.txt"),
        "a\nb\na\n",
        "failed edits must not touch the file"
    );

    std::fs::write(fx.root().join("latin1.txt"), b"caf\xe9").unwrap();
    assert_error(
        &fx.call(
            "edit_file",
            json!({"path": "latin1.txt", "old_string": "caf", "new_string": "x"}),
        )
        .await,
        "not valid UTF-8",
    );
}
