#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use agentd_policy::{Rule, RuleErrorKind};
use common::{bash, matches, path};
use serde_json::json;

#[test]
fn valid_rules_parse_and_keep_their_text() {
    let cases = [
        ("Bash", "Bash"),
        ("Bash(*)", "Bash(*)"),
        ("Bash(npm run test:*)", "Bash(npm run test:*)"),
        ("Bash(git * main)", "Bash(git * main)"),
        ("Read(./src/**)", "Read(./src/**)"),
        ("Edit(src/**/*.ts)", "Edit(src/**/*.ts)"),
        ("Read(//etc/passwd)", "Read(//etc/passwd)"),
        ("Read(~/.ssh/**)", "Read(~/.ssh/**)"),
        (
            "WebFetch(domain:example.com)",
            "WebFetch(domain:example.com)",
        ),
        ("mcp__github", "mcp__github"),
        ("mcp__github__*", "mcp__github__*"),
        ("mcp__github__create_pr", "mcp__github__create_pr"),
        ("Task(Explore)", "Task(Explore)"),
        // agentd's own tool names are read as Claude Code's.
        ("bash(ls)", "Bash(ls)"),
        ("edit_file", "Edit"),
        ("  Bash(echo (a))  ", "Bash(echo (a))"),
    ];
    for (text, shown) in cases {
        let rule = Rule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(rule.to_string(), shown);
    }
}

#[test]
fn malformed_rules_say_what_is_wrong() {
    let cases = [
        ("", RuleErrorKind::Empty),
        ("   ", RuleErrorKind::Empty),
        ("Bash(ls", RuleErrorKind::UnclosedParen),
        ("(ls)", RuleErrorKind::MissingTool),
        ("Ba sh", RuleErrorKind::InvalidToolName("Ba sh".into())),
        ("Bash)", RuleErrorKind::InvalidToolName("Bash)".into())),
        ("Bash()", RuleErrorKind::EmptySpecifier),
        ("Bash(npm:* test)", RuleErrorKind::MisplacedPrefix),
        ("Bash(git * :*)", RuleErrorKind::MisplacedPrefix),
        ("Bash(:*)", RuleErrorKind::MisplacedPrefix),
        ("WebFetch(example.com)", RuleErrorKind::WebFetchNeedsDomain),
        ("WebFetch(domain:)", RuleErrorKind::WebFetchNeedsDomain),
        ("mcp__github(create)", RuleErrorKind::McpSpecifier),
    ];
    for (text, kind) in cases {
        let err = Rule::parse(text).expect_err(text);
        assert_eq!(err.kind, kind, "{text}");
        assert_eq!(err.rule, text);
    }
    let glob = Rule::parse("Read(src/[a)").unwrap_err();
    assert!(matches!(glob.kind, RuleErrorKind::InvalidGlob(_)), "{glob}");
    assert!(
        glob.to_string()
            .starts_with("invalid permission rule \"Read(src/[a)\": invalid path glob")
    );
}

#[test]
fn bash_rules_match_exact_prefix_and_glob() {
    let cases = [
        ("Bash", "anything at all", true),
        ("Bash(*)", "anything", true),
        ("Bash(npm run build)", "npm run build", true),
        ("Bash(npm run build)", "  npm run build  ", true),
        ("Bash(npm run build)", "npm run build --watch", false),
        ("Bash(npm run test:*)", "npm run test", true),
        ("Bash(npm run test:*)", "npm run test -- --watch", true),
        ("Bash(npm run test:*)", "npm run testing", false),
        ("Bash(npm:*)", "npm install", true),
        ("Bash(npm:*)", "npmx install", false),
        ("Bash(git * main)", "git checkout main", true),
        ("Bash(git * main)", "git push --force origin main", true),
        ("Bash(git * main)", "git checkout dev", false),
        ("Bash(ls *)", "ls -la", true),
        ("Bash(ls *)", "ls", true),
        ("Bash(ls *)", "lsof", false),
        ("Bash(ls*)", "lsof", true),
        ("Bash(* install)", "pnpm install", true),
        ("Bash(echo \\*)", "echo *", true),
        ("Bash(echo \\*)", "echo hi", false),
        ("Bash(grep a\\|b x)", "grep a\\|b x", true),
        ("Read", "ls", false),
    ];
    for (rule, command, expected) in cases {
        assert_eq!(
            matches(rule, "bash", &bash(command)),
            expected,
            "{rule} vs {command:?}"
        );
    }
}

#[test]
fn path_rules_resolve_like_gitignore() {
    // The workspace is /work/repo and home /home/dev (tests/common).
    let cases = [
        ("Read(./src/**)", "src/main.rs", true),
        ("Read(./src/**)", "/work/repo/src/a/b.rs", true),
        ("Read(./src/**)", "lib/src/x.rs", false),
        ("Read(src/**)", "src/x.rs", true),
        ("Read(./.env)", ".env", true),
        ("Read(./.env)", "sub/.env", false),
        // No slash: any depth, as in gitignore.
        ("Read(.env)", "sub/.env", true),
        ("Read(*.env)", "a/b/prod.env", true),
        ("Edit(src/**/*.ts)", "src/a/b/c.ts", true),
        ("Edit(src/**/*.ts)", "src/c.ts", true),
        ("Edit(src/*.ts)", "src/a/c.ts", false),
        // A directory covers what is inside it.
        ("Read(./secrets)", "secrets/key.pem", true),
        ("Read(./secrets/)", "secrets/key.pem", true),
        // `/path` is anchored at the project root, `//path` at the filesystem root.
        ("Read(/docs/*.md)", "docs/a.md", true),
        ("Read(/docs/*.md)", "/docs/a.md", false),
        ("Read(//etc/**)", "/etc/passwd", true),
        ("Read(//etc/passwd)", "etc/passwd", false),
        ("Read(~/.ssh/**)", "/home/dev/.ssh/id_ed25519", true),
        ("Read(~/.ssh/**)", "/work/repo/.ssh/x", false),
        // `..` is resolved before matching.
        ("Read(//etc/**)", "../../etc/shadow", true),
        ("Read(./src/**)", "src/../build/x", false),
    ];
    for (rule, target, expected) in cases {
        let tool = if rule.starts_with("Edit") {
            "edit_file"
        } else {
            "read_file"
        };
        assert_eq!(
            matches(rule, tool, &path(target)),
            expected,
            "{rule} vs {target}"
        );
    }
}

#[test]
fn read_rules_cover_search_tools_and_edit_rules_cover_writes() {
    assert!(matches(
        "Read(./src/**)",
        "grep",
        &json!({"pattern": "x", "path": "src"})
    ));
    assert!(matches(
        "Read(./src/**)",
        "glob",
        &json!({"pattern": "*.rs", "path": "src/a"})
    ));
    assert!(matches("Read(./src/**)", "list", &path("src")));
    assert!(matches("Read", "list", &json!({})));
    assert!(matches(
        "Edit(src/**)",
        "write_file",
        &json!({"path": "src/x.rs", "content": ""})
    ));
    assert!(matches("Edit(src/**)", "edit_file", &path("src/x.rs")));
    assert!(!matches("Write(src/**)", "edit_file", &path("src/x.rs")));
    assert!(!matches("Read(./src/**)", "edit_file", &path("src/x.rs")));
    assert!(!matches("Edit", "read_file", &path("src/x.rs")));
    // Claude Code's own names and field names work too.
    assert!(matches(
        "Read(./src/**)",
        "Read",
        &json!({"file_path": "/work/repo/src/x.rs"})
    ));
}

#[test]
fn domain_mcp_and_subagent_rules() {
    let fetch = |url: &str| json!({ "url": url, "prompt": "summarize" });
    let cases = [
        (
            "WebFetch(domain:example.com)",
            "WebFetch",
            fetch("https://example.com/a"),
            true,
        ),
        (
            "WebFetch(domain:example.com)",
            "WebFetch",
            fetch("https://EXAMPLE.com:8443/a"),
            true,
        ),
        (
            "WebFetch(domain:example.com)",
            "WebFetch",
            fetch("https://api.example.com/"),
            false,
        ),
        (
            "WebFetch(domain:example.com)",
            "WebFetch",
            fetch("https://example.com.evil.io/"),
            false,
        ),
        (
            "WebFetch(domain:*.example.com)",
            "WebFetch",
            fetch("https://api.example.com/"),
            true,
        ),
        (
            "WebFetch(domain:*.example.com)",
            "WebFetch",
            fetch("https://badexample.com/"),
            false,
        ),
        ("WebFetch", "WebFetch", fetch("not a url"), true),
        ("mcp__github", "mcp__github__create_pr", json!({}), true),
        ("mcp__github", "mcp__gitlab__create_pr", json!({}), false),
        (
            "mcp__github__create_pr",
            "mcp__github__create_pr",
            json!({}),
            true,
        ),
        (
            "mcp__github__create_pr",
            "mcp__github__merge_pr",
            json!({}),
            false,
        ),
        (
            "Task(Explore)",
            "Task",
            json!({"subagent_type": "Explore"}),
            true,
        ),
        (
            "Task(Explore)",
            "Agent",
            json!({"subagent_type": "Explore"}),
            true,
        ),
        (
            "Task(Explore)",
            "Task",
            json!({"subagent_type": "Plan"}),
            false,
        ),
        // Surrounding spaces neither escape a rule nor keep an "allow for
        // this session" rule (`Task( Explore )`) from matching its call.
        (
            "Task(Explore)",
            "Task",
            json!({"subagent_type": " Explore "}),
            true,
        ),
        // A specifier for a tool we know nothing about matches nothing.
        ("Skill(deploy)", "Skill", json!({"skill": "deploy"}), false),
    ];
    for (rule, tool, input, expected) in cases {
        assert_eq!(
            matches(rule, tool, &input),
            expected,
            "{rule} vs {tool} {input}"
        );
    }
}
