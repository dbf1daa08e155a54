//! glob, list and grep, including .gitignore handling.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod common;

use agentd_tools::ToolOutcome;
use common::{Fixture, assert_error, fixture};
use pretty_assertions::assert_eq;
use serde_json::json;

/// A small project whose .gitignore hides `target/` and `*.log` (no .git dir:
/// ignore rules apply to plain directories too).
fn project() -> Fixture {
    let fx = fixture();
    fx.write(".gitignore", "target/\n*.log\n");
    fx.write("src/main.rs", "fn main() {\n    println!(\"Hello\");\n}\n");
    fx.write("src/util/mod.rs", "pub fn hello() {}\n");
    fx.write("README.md", "# hello world\n");
    fx.write("debug.log", "hello from the log\n");
    fx.write("target/out.rs", "fn hello() {}\n");
    fx.write(".git/config", "hello = git internals\n");
    std::fs::write(fx.root().join("src/data.bin"), b"hello\0binary").unwrap();
    fx
}

#[tokio::test]
async fn glob_matches_sorted_and_respects_gitignore() {
    let fx = project();
    let rs = fx.call("glob", json!({"pattern": "**/*.rs"})).await;
    assert_eq!(rs, ToolOutcome::ok("src/main.rs\nsrc/util/mod.rs"));

    let top_level = fx.call("glob", json!({"pattern": "*"})).await;
    assert_eq!(top_level.content, ".gitignore\nREADME.md");

    let under = fx
        .call("glob", json!({"pattern": "*.rs", "path": "src/util"}))
        .await;
    assert_eq!(under.content, "src/util/mod.rs");

    assert_eq!(
        fx.call("glob", json!({"pattern": "*.py"})).await,
        ToolOutcome::ok("no files match *.py")
    );
    assert_error(
        &fx.call("glob", json!({"pattern": "a[b"})).await,
        "invalid glob pattern",
    );
    assert_error(
        &fx.call("glob", json!({"pattern": "*", "path": "README.md"}))
            .await,
        "not a directory: README.md",
    );
}

#[tokio::test]
async fn glob_caps_results_with_a_note() {
    let fx = fixture();
    for i in 0..1_005 {
        fx.write(&format!("f{i:04}.txt"), "");
    }
    let outcome = fx.call("glob", json!({"pattern": "*.txt"})).await;
    assert!(outcome.content.starts_with("f0000.txt\nf0001.txt\n"));
    assert!(outcome.content.ends_with(
        "f0999.txt\n(showing the first 1000 of 1005 matching files; narrow the pattern or path)"
    ));
}

#[tokio::test]
async fn list_marks_directories_and_respects_gitignore() {
    let fx = project();
    let outcome = fx.call("list", json!({})).await;
    assert_eq!(
        outcome,
        ToolOutcome::ok(
            ".gitignore\nREADME.md\nsrc/\nsrc/data.bin\nsrc/main.rs\nsrc/util/\nsrc/util/mod.rs"
        )
    );
    let sub = fx.call("list", json!({"path": "src/util"})).await;
    assert_eq!(sub.content, "src/util/mod.rs");
    std::fs::create_dir(fx.root().join("empty")).unwrap();
    assert_eq!(
        fx.call("list", json!({"path": "empty"})).await.content,
        "empty is empty"
    );
    assert_error(
        &fx.call("list", json!({"path": "nope"})).await,
        "no such file or directory: nope",
    );
}

#[tokio::test]
async fn grep_finds_lines_skipping_ignored_and_binary_files() {
    let fx = project();
    let outcome = fx.call("grep", json!({"pattern": "hello"})).await;
    assert_eq!(
        outcome,
        ToolOutcome::ok("README.md:1:# hello world\nsrc/util/mod.rs:1:pub fn hello() {}")
    );

    let ci = fx
        .call(
            "grep",
            json!({"pattern": "hello", "case_insensitive": true, "glob": "*.rs"}),
        )
        .await;
    assert_eq!(
        ci.content,
        "src/main.rs:2:    println!(\"Hello\");\nsrc/util/mod.rs:1:pub fn hello() {}"
    );

    let by_path = fx
        .call(
            "grep",
            json!({"pattern": "fn", "glob": "util/*.rs", "path": "src"}),
        )
        .await;
    assert_eq!(by_path.content, "src/util/mod.rs:1:pub fn hello() {}");

    // A file named explicitly is searched even though .gitignore hides it.
    let explicit = fx
        .call("grep", json!({"pattern": "hello", "path": "debug.log"}))
        .await;
    assert_eq!(explicit.content, "debug.log:1:hello from the log");
}

#[tokio::test]
async fn grep_caps_results_and_reports_errors() {
    let fx = fixture();
    fx.write("many.txt", &"match\n".repeat(10));
    let capped = fx
        .call("grep", json!({"pattern": "match", "max_results": 3}))
        .await;
    assert_eq!(
        capped.content,
        "many.txt:1:match\nmany.txt:2:match\nmany.txt:3:match\n(stopped at 3 matches; narrow the pattern, path or glob, or raise max_results)"
    );
    assert_eq!(
        fx.call("grep", json!({"pattern": "absent"})).await,
        ToolOutcome::ok("no matches for absent")
    );
    assert_error(
        &fx.call("grep", json!({"pattern": "("})).await,
        "invalid regex",
    );
    assert_error(
        &fx.call("grep", json!({"pattern": "x", "glob": "[" })).await,
        "invalid glob",
    );
}
