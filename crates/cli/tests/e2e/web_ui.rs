//! The web UI in a real browser: a real `agentd serve` with the testkit
//! model, and Debian's Chromium driven by playwright-core running
//! `crates/web/tests/browser/flows.mjs` (log in, start a session, watch text
//! and a tool card stream, approve, cancel a long command, follow up, files,
//! offline outbox, reload mid-stream, keyboard, a task, steer, a session
//! paused by its `[limits]` budget and resumed, notifications, settings with
//! a real MCP server check, admin users/quotas/usage/audit), at desktop size
//! and at 390×844.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/screenshots/` (outside git).
//!
//! `scripts/test` installs Chromium and playwright-core and sets
//! `AGENTD_TEST_CHROMIUM` / `AGENTD_TEST_PLAYWRIGHT`; without them the test
//! is skipped locally and fails under CI.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::common::{ADMIN_PASSWORD, Backend, Server};

/// The browser and playwright-core, or `None` to skip (never under CI).
fn browser_tools() -> Option<(String, String)> {
    let chromium = std::env::var("AGENTD_TEST_CHROMIUM").ok();
    let playwright = std::env::var("AGENTD_TEST_PLAYWRIGHT").ok();
    match (chromium, playwright) {
        (Some(c), Some(p)) => {
            assert!(Path::new(&c).exists(), "no browser at {c}");
            assert!(
                Path::new(&p).join("package.json").exists(),
                "no playwright-core at {p}"
            );
            Some((c, p))
        }
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "AGENTD_TEST_CHROMIUM and AGENTD_TEST_PLAYWRIGHT must be set in CI (scripts/test sets them)"
            )
        }
        _ => {
            eprintln!(
                "skipped: set AGENTD_TEST_CHROMIUM and AGENTD_TEST_PLAYWRIGHT (scripts/test does)"
            );
            None
        }
    }
}

/// The model's side of flows.mjs, turn by turn.
fn script(fake: &FakeAnthropic) {
    let slow = Duration::from_millis(40);
    // Start: text with Markdown and a tool that the rules allow.
    fake.push(
        turn()
            .text("Hello! Let me **look** around.")
            .tool_use("bash", json!({"command": "echo tool-output-line"}))
            .delay_per_event(slow),
    );
    // An edit that needs a person.
    fake.push(turn().tool_use(
        "write_file",
        json!({"path": "approved.txt", "content": "approved\n"}),
    ));
    fake.push(turn().text("Approved and written."));
    // The long command the page cancels.
    fake.push(turn().tool_use("bash", json!({"command": "sleep 300"})));
    fake.push(turn().text("Follow-up answered."));
    fake.push(turn().text("Got the offline message."));
    // A long answer, streamed slowly enough to reload in the middle of it.
    let long: String = (1..=24)
        .map(|i| format!("Line {i} of the long answer.\n\n"))
        .chain(std::iter::once("END-OF-LONG".to_owned()))
        .collect();
    fake.push(turn().text(long).delay_per_event(Duration::from_millis(60)));
    // The task from the new-task form.
    fake.push(turn().text("Task done."));
    // A session that runs past the [limits] session budget (100 000 tokens)
    // in one call; the page steers it while its tool runs, then resumes it
    // with a raised budget. The tool runs 8 s: the steer must arrive while
    // it runs (then it goes with the tool's result), and a loaded CI machine
    // made 4 s too short for the page to see the tool and send it.
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "sleep 8"}))
            .usage(150_000, 10, 0, 0),
    );
    fake.push(turn().text("Resumed after budget."));
}

/// A git repository with one commit, for the task.
fn task_repo(dir: &Path) {
    std::fs::write(dir.join("README.md"), "task repo\n").unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e.x",
            "commit",
            "-qm",
            "init",
        ],
    ] {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    }
}

/// The MCP server Settings checks (npm's `@modelcontextprotocol/server-everything`).
fn mcp_everything() -> String {
    std::env::var("AGENTD_TEST_MCP_EVERYTHING").unwrap_or_else(|_| {
        format!(
            "{}/.cache/agentd-npm/node_modules/.bin/mcp-server-everything",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

async fn flows_at(viewport: &str) {
    let Some((chromium, playwright)) = browser_tools() else {
        return;
    };
    let fake = FakeAnthropic::start().await;
    script(&fake);
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[permissions]\nallow = [\"Bash(echo tool-output-line)\", \"Bash(sleep:*)\"]\n\n\
         [limits]\nsession_tokens = 100000\n",
    )
    .unwrap();
    let config_path = config.path().display().to_string();
    let mut server =
        Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_CONFIG", &config_path)]).await;
    let workspace = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    task_repo(repo.path());
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/tests/browser/flows.mjs");

    let mut node = tokio::process::Command::new("node");
    node.arg(&flows)
        .env("AGENTD_URL", &server.base)
        .env("AGENTD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("AGENTD_WORKSPACE", workspace.path())
        .env("AGENTD_TASK_REPO", repo.path())
        .env("AGENTD_TEST_MCP_EVERYTHING", mcp_everything())
        .env("AGENTD_TEST_CHROMIUM", &chromium)
        .env("AGENTD_TEST_PLAYWRIGHT", &playwright)
        .env("VIEWPORT", viewport)
        .env("SCREENSHOTS", &screenshots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = node.spawn().expect("node is needed for the browser tests");
    let stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text).await;
        text
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let run = async {
        // The script asks for a server restart when its page is live.
        while let Some(line) = lines.next_line().await.unwrap() {
            if line == "RESTART" {
                server.restart_same_port().await;
                stdin.write_all(b"RESTARTED\n").await.unwrap();
            }
            stdout.push_str(&line);
            stdout.push('\n');
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser flows did not finish in 300 s");
    let stderr = stderr.await.unwrap();
    assert!(
        status.success(),
        "browser flows failed ({viewport}); screenshots in {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        screenshots.display(),
        server.log()
    );
    assert!(stdout.contains("all flows passed"), "{stdout}");
    // The steer reached the model with the tool's result, after the resume.
    let last = fake.message_requests().pop().unwrap();
    assert!(last.to_string().contains("steer-note"), "{last}");
    for shot in [
        "01-login",
        "03-session-approval",
        "07-sessions",
        "08-settings",
        "09-admin",
        "10-paused",
    ] {
        let file = screenshots.join(viewport).join(format!("{shot}.png"));
        assert!(file.exists(), "no screenshot {}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_flows_at_desktop_size() {
    flows_at("desktop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_flows_on_a_phone() {
    flows_at("phone").await;
}

/// What the server puts around the page, without a browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_its_security_headers() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let res = server.anon.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let etag = headers["etag"].clone();
    assert!(res.text().await.unwrap().contains("/js/app.js"));

    // Revalidation by ETag.
    let again = server
        .anon
        .get(server.url("/"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    for (path, ty) in [
        ("/js/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/sw.js", "text/javascript; charset=utf-8"),
    ] {
        let res = server.anon.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], ty, "{path}");
    }
    // Unknown files and API paths stay 404 with the JSON envelope.
    for path in ["/nope.js", "/api/v1/nope", "/api/nope"] {
        let res = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }

    // The Markdown the page asks for comes back sanitized, and only to a
    // logged-in caller.
    let (status, body) = server
        .post(
            "/api/v1/render/markdown",
            json!({"text": "**hi** <script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["html"], "<p><strong>hi</strong> </p>\n");
    // Fenced code comes back highlighted, with the highlighter's classes.
    let (status, body) = server
        .post(
            "/api/v1/render/markdown",
            json!({"text": "```rust\nfn main() {}\n```"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let html = body["html"].as_str().unwrap();
    assert!(
        html.starts_with("<pre><code class=\"language-rust\"><span class=\"hl-"),
        "{html}"
    );
    assert!(html.contains("hl-storage"), "{html}");
    let (status, body) = server
        .post(
            "/api/v1/render/diff",
            json!({"path": "a.txt", "old": "one\ntwo\n", "new": "one\n2\n"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["diff"],
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n"
    );
    let anon = server
        .anon
        .post(server.url("/api/v1/render/markdown"))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}
