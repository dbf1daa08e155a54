//! GitHub webhooks end to end: GitHub's own example deliveries (from
//! `@octokit/webhooks-examples`, `AGENTD_TEST_WEBHOOK_EXAMPLES`), signed here
//! with the hook's secret and posted to a real `agentd serve`, which clones
//! a local bare repository (through the clone URL template), runs the task
//! against the Anthropic fake and talks to the GitHub fake, whose recorded
//! requests are asserted exactly.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, FakeGitHub, RecordedRequest, turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::common::{self, Backend, Server, git};

const SECRET: &str = "webhook-secret-for-e2e-tests";
const TOKEN: &str = "ghp_webhooktoken0000000000";
const REPO: &str = "Codertocat/Hello-World";
const PUBLIC_URL: &str = "https://agentd.example";

// ---------------------------------------------------------------------------
// GitHub's example payloads

fn examples_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AGENTD_TEST_WEBHOOK_EXAMPLES") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    PathBuf::from(home)
        .join(".cache/agentd-npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json")
}

/// The first example of `event` with `action` (`None`: no action).
fn example(event: &str, action: Option<&str>) -> Value {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let path = examples_path();
        let text = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "GitHub's webhook examples are not at {} ({e}): run scripts/test or set \
                 AGENTD_TEST_WEBHOOK_EXAMPLES",
                path.display()
            )
        });
        serde_json::from_slice(&text).unwrap()
    });
    all.iter()
        .filter(|e| e["name"] == event)
        .flat_map(|e| e["examples"].as_array().unwrap().iter())
        .find(|x| x.get("action").and_then(Value::as_str) == action)
        .cloned()
        .unwrap_or_else(|| panic!("no {event}.{action:?} example"))
}

/// `issue_comment.created` on issue 1, with this comment text.
fn comment_payload(body: &str) -> Value {
    let mut payload = example("issue_comment", Some("created"));
    payload["comment"]["body"] = json!(body);
    payload
}

// ---------------------------------------------------------------------------
// The world: a bare "GitHub" repository, the fakes and the server

fn commit(work: &Path, message: &str) {
    git(work, &["add", "."]);
    git(
        work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            message,
        ],
    );
}

struct World {
    anthropic: FakeAnthropic,
    github: FakeGitHub,
    server: Server,
    /// `<root>/Codertocat/Hello-World.git`, what the template points at.
    repos: tempfile::TempDir,
}

impl World {
    async fn start(backend: Backend, extra: &[(&str, &str)]) -> World {
        let anthropic = FakeAnthropic::start().await;
        let github = FakeGitHub::start().await;
        let repos = tempfile::tempdir().unwrap();
        // The examples' repository, default branch `master`, plus a
        // `feature` branch for pull request comments.
        let work = repos.path().join("work");
        std::fs::create_dir(&work).unwrap();
        git(&work, &["init", "-q", "-b", "master"]);
        std::fs::write(work.join("README.md"), "# Hello Wrold\n").unwrap();
        commit(&work, "init");
        git(&work, &["checkout", "-q", "-b", "feature"]);
        std::fs::write(work.join("FEATURE.md"), "half done\n").unwrap();
        commit(&work, "feature work");
        git(&work, &["checkout", "-q", "master"]);
        std::fs::create_dir(repos.path().join("Codertocat")).unwrap();
        git(
            repos.path(),
            &[
                "clone",
                "-q",
                "--bare",
                "work",
                "Codertocat/Hello-World.git",
            ],
        );
        let template = format!("file://{}/{{owner}}/{{repo}}.git", repos.path().display());
        let api = github.base_url();
        let mut env = vec![
            ("AGENTD_GITHUB_WEBHOOK_SECRET", SECRET),
            ("GITHUB_TOKEN", TOKEN),
            ("AGENTD_GITHUB_API_URL", api.as_str()),
            ("AGENTD_GITHUB_CLONE_URL", template.as_str()),
            ("AGENTD_PUBLIC_URL", PUBLIC_URL),
        ];
        env.extend_from_slice(extra);
        let server = Server::start_with(backend, &anthropic, &env).await;
        github.add_issue(REPO, 1, "Spelling error in the README file");
        World {
            anthropic,
            github,
            server,
            repos,
        }
    }

    fn bare(&self) -> PathBuf {
        self.repos.path().join("Codertocat/Hello-World.git")
    }

    async fn deliver(&self, event: &str, delivery: &str, payload: &Value) -> (u16, Value) {
        deliver_signed(&self.server, event, delivery, payload).await
    }

    async fn wait_task(&self, id: &str) -> Value {
        self.server
            .wait_status(id, &["completed", "failed", "cancelled"])
            .await;
        let (status, task) = self.server.get(&format!("/api/v1/tasks/{id}")).await;
        assert_eq!(status, 200, "{task}");
        task
    }

    /// Waits for GitHub requests matching `pick` until there are `n`.
    async fn wait_github(
        &self,
        n: usize,
        pick: impl Fn(&RecordedRequest) -> bool,
    ) -> Vec<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let seen: Vec<_> = self.github.requests().into_iter().filter(&pick).collect();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} GitHub requests, got {seen:#?}\nlog:\n{}",
                self.server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn deliver_signed(
    server: &Server,
    event: &str,
    delivery: &str,
    payload: &Value,
) -> (u16, Value) {
    let body = serde_json::to_vec_pretty(payload).unwrap();
    let signature = agentd_github::sign(SECRET.as_bytes(), &body);
    common::send(
        server
            .anon
            .post(server.url("/api/v1/webhooks/github"))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .header("user-agent", "GitHub-Hookshot/e2e")
            .body(body),
    )
    .await
}

fn is_comment_post(r: &RecordedRequest) -> bool {
    r.method == "POST" && r.path.ends_with("/comments")
}

fn is_comment_patch(r: &RecordedRequest) -> bool {
    r.method == "PATCH" && r.path.contains("/issues/comments/")
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_required_and_pings_answered() {
    let world = World::start(Backend::Sqlite, &[]).await;
    let server = &world.server;
    let ping = example("ping", None);
    let body = serde_json::to_vec(&ping).unwrap();
    let post = |signature: Option<String>, body: Vec<u8>| {
        let mut req = server
            .anon
            .post(server.url("/api/v1/webhooks/github"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", "delivery-ping-1")
            .body(body);
        if let Some(signature) = signature {
            req = req.header("x-hub-signature-256", signature);
        }
        common::send(req)
    };

    // Missing, malformed and forged signatures: 401, one stable code.
    let forged = agentd_github::sign(b"not the secret", &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    for (signature, body) in [
        (None, body.clone()),
        (Some("sha256=zz".to_owned()), body.clone()),
        (Some(forged), body.clone()),
        // Signed, then changed on the way.
        (
            Some(agentd_github::sign(SECRET.as_bytes(), &body)),
            tampered,
        ),
    ] {
        let (status, answer) = post(signature, body).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_signature", "{answer}");
    }

    let (status, answer) = post(Some(agentd_github::sign(SECRET.as_bytes(), &body)), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "pong");
    assert_eq!(answer["delivery"], "delivery-ping-1");

    // Signed but not a delivery: clear 400s, no 500.
    let junk = b"{not json".to_vec();
    let (status, answer) = common::send(
        server
            .anon
            .post(server.url("/api/v1/webhooks/github"))
            .header("x-github-event", "issues")
            .header("x-github-delivery", "delivery-junk")
            .header(
                "x-hub-signature-256",
                agentd_github::sign(SECRET.as_bytes(), &junk),
            )
            .body(junk),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "validation_failed");
    let (status, answer) = common::send(
        server
            .anon
            .post(server.url("/api/v1/webhooks/github"))
            .header("x-github-event", "ping")
            .header(
                "x-hub-signature-256",
                agentd_github::sign(SECRET.as_bytes(), b"{}"),
            )
            .body("{}"),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    // Events agentd does not act on are acknowledged and dropped.
    let (status, answer) = world
        .deliver(
            "workflow_run",
            "delivery-other",
            &json!({"action": "completed"}),
        )
        .await;
    assert_eq!((status, answer["outcome"].clone()), (200, json!("ignored")));

    // Deliveries are in the audit log, by "github".
    let (_, audit) = server.get("/api/v1/audit?action=webhook.github").await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[1]["actor_name"], "github");
    assert_eq!(entries[1]["detail"]["delivery"], "delivery-ping-1");
    assert_eq!(entries[1]["detail"]["outcome"], "pong");
    assert!(
        !server.log().contains(SECRET),
        "the secret leaked into the log"
    );

    // Without a secret the route is off, and says so.
    let off = Server::start(Backend::Sqlite, &world.anthropic).await;
    let (status, answer) = deliver_signed(&off, "ping", "d", &ping).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "webhook_not_configured");
}

async fn replayed_deliveries_are_ignored_across_restarts(backend: Backend) {
    let mut world = World::start(backend, &[]).await;
    world
        .anthropic
        .set_default(turn().text("Nothing to change."));
    let payload = comment_payload("@agentd check the README");

    let (status, first) = world
        .deliver("issue_comment", "delivery-replay-1", &payload)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["outcome"], "task_started", "{first}");
    let (status, again) = world
        .deliver("issue_comment", "delivery-replay-1", &payload)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["outcome"], "duplicate");
    assert!(again.get("task_id").is_none());

    world.server.restart().await;
    let (status, after_restart) = world
        .deliver("issue_comment", "delivery-replay-1", &payload)
        .await;
    assert_eq!(status, 200, "{after_restart}");
    assert_eq!(after_restart["outcome"], "duplicate");

    let (_, tasks) = world.server.get("/api/v1/tasks").await;
    let tasks = tasks["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "one task for one delivery: {tasks:?}");
    assert_eq!(tasks[0]["id"], first["task_id"]);
}

both_backends!(replays, replayed_deliveries_are_ignored_across_restarts);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_starts_a_task_replies_and_reports_the_result() {
    let world = World::start(
        Backend::Sqlite,
        &[("AGENTD_GITHUB_WEBHOOK_PERMISSION_MODE", "acceptEdits")],
    )
    .await;
    world.anthropic.push(turn().tool_use(
        "write_file",
        json!({"path": "README.md", "content": "# Hello World\n"}),
    ));
    world
        .anthropic
        .push(turn().text("Fixed the spelling of World."));

    let payload = comment_payload("Thanks! @agentd please fix the spelling in the README");
    let (status, answer) = world
        .deliver("issue_comment", "delivery-mention", &payload)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "task_started", "{answer}");
    let id = answer["task_id"].as_str().unwrap().to_owned();
    let task = world.wait_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["base_branch"], "master");
    assert_eq!(task["pr_state"], "open");
    assert_eq!(task["session"]["permission_mode"], "acceptEdits");

    // The model got the request and the issue it came from.
    let first = &world.anthropic.message_requests()[0];
    let prompt = first["messages"][0]["content"].to_string();
    assert!(
        prompt.contains("please fix the spelling in the README")
            && prompt.contains("Codertocat/Hello-World#1: Spelling error in the README file"),
        "{prompt}"
    );

    // The work is on the "GitHub" remote, in the pull request's branch.
    let branch = task["result"]["branch"].as_str().unwrap();
    assert_eq!(
        git(&world.bare(), &["show", &format!("{branch}:README.md")]),
        "# Hello World\n"
    );

    // GitHub saw: the reply, the pull request, the reply edited with the result.
    let patches = world.wait_github(1, is_comment_patch).await;
    let requests = world.github.requests();
    let calls: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let reply = world.github.comments()[0].clone();
    let post = (
        "POST".to_owned(),
        "/repos/Codertocat/Hello-World/issues/1/comments".to_owned(),
    );
    let pull = (
        "POST".to_owned(),
        "/repos/Codertocat/Hello-World/pulls".to_owned(),
    );
    let patch = (
        "PATCH".to_owned(),
        format!("/repos/Codertocat/Hello-World/issues/comments/{}", reply.id),
    );
    let at = |call: &(String, String)| calls.iter().position(|c| c == call).unwrap();
    assert!(
        at(&post) < at(&patch) && at(&pull) < at(&patch),
        "{calls:?}"
    );
    assert_eq!(calls.len(), 3, "{calls:?}");
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let started = &requests[at(&post)];
    assert_eq!(
        started.body,
        json!({"body": format!(
            "🤖 **agentd** is working on this: task [`{id}`](<{PUBLIC_URL}/api/v1/tasks/{id}>).\n\n\
             This comment will show the result when the task ends.\n"
        )})
    );
    let pr = &world.github.pull_requests(REPO)[0];
    assert_eq!(requests[at(&pull)].body["base"], "master");
    assert_eq!(requests[at(&pull)].body["head"], branch);
    assert_eq!(
        patches[0].body,
        json!({"body": format!(
            "✅ **agentd** finished task [`{id}`](<{PUBLIC_URL}/api/v1/tasks/{id}>).\n\n\
             > Fixed the spelling of World.\n\n\
             - Branch: `{branch}`\n- Pull request: {}\n- Files changed: 1\n",
            pr.html_url()
        )})
    );
    assert_eq!(
        world.github.comments().len(),
        1,
        "one reply, edited in place"
    );

    // The pull request is merged: the task is done, and the reply says so.
    let mut merged = example("pull_request", Some("closed"));
    merged["number"] = json!(pr.number);
    merged["pull_request"]["number"] = json!(pr.number);
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["head"]["ref"] = json!(branch);
    let (status, answer) = world
        .deliver("pull_request", "delivery-merged", &merged)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "task_updated", "{answer}");
    assert_eq!(answer["task_id"], id.as_str());
    let (_, task) = world.server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "completed");
    assert_eq!(task["pr_state"], "merged");
    let patches = world.wait_github(2, is_comment_patch).await;
    assert!(
        patches[1].body["body"]
            .as_str()
            .unwrap()
            .contains(&format!("- Pull request: {} (merged)", pr.html_url())),
        "{:?}",
        patches[1].body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_starts_a_task_under_the_unattended_profile() {
    let world = World::start(Backend::Sqlite, &[]).await;
    world
        .anthropic
        .set_default(turn().text("The README is fine as it is."));
    let mut labeled = example("issues", Some("labeled"));

    // Another label does nothing.
    let (status, answer) = world
        .deliver("issues", "delivery-bug-label", &labeled)
        .await;
    assert_eq!(
        (status, answer["outcome"].clone()),
        (200, json!("ignored")),
        "{answer}"
    );

    labeled["label"]["name"] = json!("agentd");
    let (status, answer) = world
        .deliver("issues", "delivery-agentd-label", &labeled)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "task_started", "{answer}");
    let id = answer["task_id"].as_str().unwrap().to_owned();
    let task = world.wait_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    // Not the server's default mode (bypassPermissions in these tests).
    assert_eq!(task["session"]["permission_mode"], "unattended");
    assert_eq!(
        task["session"]["title"],
        "Spelling error in the README file"
    );
    let prompt = world.anthropic.message_requests()[0]["messages"][0]["content"].to_string();
    assert!(
        prompt.contains("Spelling error in the README file"),
        "{prompt}"
    );

    // Nothing changed, so no pull request; the reply says what the agent said.
    let patches = world.wait_github(1, is_comment_patch).await;
    let text = patches[0].body["body"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("✅ **agentd** finished task [`{id}`]"))
            && text.contains("> The README is fine as it is."),
        "{text}"
    );
    assert!(
        world
            .github
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/pulls"))
    );
    assert_eq!(world.wait_github(1, is_comment_post).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_comment_works_on_its_branch() {
    let world = World::start(
        Backend::Sqlite,
        &[("AGENTD_GITHUB_WEBHOOK_PERMISSION_MODE", "acceptEdits")],
    )
    .await;
    let pr = world.github.add_pull_request(REPO, "feature", "master");
    world.anthropic.push(turn().tool_use(
        "write_file",
        json!({"path": "FEATURE.md", "content": "done\n"}),
    ));
    world.anthropic.push(turn().text("Finished the feature."));

    let mut payload = comment_payload("@agentd finish this feature");
    payload["issue"]["number"] = json!(pr.number);
    payload["issue"]["pull_request"] = json!({
        "url": format!("https://api.github.com/repos/{REPO}/pulls/{}", pr.number),
        "html_url": pr.html_url(),
    });
    let (status, answer) = world
        .deliver("issue_comment", "delivery-pr-comment", &payload)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "task_started", "{answer}");
    let id = answer["task_id"].as_str().unwrap().to_owned();
    let task = world.wait_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["base_branch"], "feature");

    // The branch was read from GitHub, the work started from it, and the
    // new pull request goes into it.
    let reads = world
        .wait_github(1, |r| {
            r.method == "GET" && r.path.ends_with(&format!("/pulls/{}", pr.number))
        })
        .await;
    assert_eq!(reads.len(), 1);
    let branch = task["result"]["branch"].as_str().unwrap();
    assert_eq!(
        git(&world.bare(), &["show", &format!("{branch}:FEATURE.md")]),
        "done\n"
    );
    let log = git(&world.bare(), &["log", "--format=%s", branch]);
    assert!(log.contains("feature work"), "{log}");
    let opened = world
        .wait_github(1, |r| r.method == "POST" && r.path.ends_with("/pulls"))
        .await;
    assert_eq!(opened[0].body["base"], "feature");
    assert_eq!(opened[0].body["head"], branch);
    let posts = world.wait_github(1, is_comment_post).await;
    assert_eq!(
        posts[0].path,
        format!(
            "/repos/Codertocat/Hello-World/issues/{}/comments",
            pr.number
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_pull_request_unmerged_cancels_its_task() {
    let world = World::start(Backend::Sqlite, &[]).await;
    world.anthropic.push(turn().tool_use(
        "write_file",
        json!({"path": "NOTES.md", "content": "notes\n"}),
    ));
    world.anthropic.push(turn().text("Wrote notes."));
    // A task started over the API: any task's pull request counts.
    let url = format!("file://{}", world.bare().display());
    let (status, created) = world
        .server
        .post(
            "/api/v1/tasks",
            json!({"repo": url, "branch": "master", "prompt": "write notes",
                   "permission_mode": "acceptEdits", "github_repo": REPO}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let task = world.wait_task(&id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let pr = &world.github.pull_requests(REPO)[0];

    let mut closed = example("pull_request", Some("closed"));
    assert_eq!(closed["pull_request"]["merged"], false);
    closed["number"] = json!(pr.number + 100);
    let (status, answer) = world
        .deliver("pull_request", "delivery-unknown-pr", &closed)
        .await;
    assert_eq!(
        (status, answer["outcome"].clone()),
        (200, json!("ignored")),
        "{answer}"
    );

    closed["number"] = json!(pr.number);
    let (status, answer) = world
        .deliver("pull_request", "delivery-closed", &closed)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "task_updated", "{answer}");
    let (_, task) = world.server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert_eq!(task["pr_state"], "closed");
    assert_eq!(
        task["session"]["status_reason"],
        format!("pull request #{} was closed without merging", pr.number)
    );
    let events = world.server.events(&id).await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "session.status");
    assert_eq!(last["data"]["status"], "cancelled");
}
