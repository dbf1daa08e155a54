//! Tasks end to end: a repository behind a git URL (a local bare remote),
//! the agent's work committed and pushed to its own branch, a pull request
//! opened through the GitHub REST fake with exactly the expected request,
//! and `task.result` carrying branch and PR URL.

use agentd_testkit::{FakeAnthropic, FakeGitHub, turn};
use serde_json::{Value, json};

use crate::common::{self, Backend, Server, git};

/// A bare "remote" with one commit on main.
fn remote() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    std::fs::create_dir(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("README.md"), "# demo\n").unwrap();
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "init",
        ],
    );
    git(
        root.path(),
        &["clone", "-q", "--bare", "work", "remote.git"],
    );
    root
}

async fn wait_task(server: &Server, id: &str) -> Value {
    server
        .wait_status(id, &["completed", "failed", "cancelled"])
        .await;
    let (status, task) = server.get(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(status, 200, "{task}");
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_pushes_its_branch_and_opens_a_pull_request() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use(
        "write_file",
        json!({"path": "NOTES.md", "content": "plan\n"}),
    ));
    fake.push(turn().text("Added NOTES.md with the plan."));
    let github = FakeGitHub::start().await;
    let api = github.base_url();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("GITHUB_TOKEN", "ghp_tasktoken0000000000"),
            ("AGENTD_GITHUB_API_URL", &api),
        ],
    )
    .await;
    let root = remote();
    let url = format!("file://{}", root.path().join("remote.git").display());

    let (status, created) = server
        .post(
            "/api/v1/tasks",
            json!({"repo": url, "branch": "main", "prompt": "Write the plan down", "title": "Write the plan",
                   "permission_mode": "acceptEdits", "github_repo": "octo/demo"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let task = wait_task(&server, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let result = &task["result"];
    let branch = result["branch"].as_str().unwrap();
    assert!(branch.starts_with("agentd/"));
    assert_eq!(result["pushed"], true);
    assert_eq!(result["summary"], "Added NOTES.md with the plan.");
    assert_eq!(
        result["files_changed"],
        json!([{"path": "NOTES.md", "added": 1, "removed": 0}])
    );

    // The branch is on the remote with the work.
    let shown = git(
        &root.path().join("remote.git"),
        &["show", &format!("{branch}:NOTES.md")],
    );
    assert_eq!(shown, "plan\n");

    // Exactly one pull request, asked for as GitHub expects.
    let pulls: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/repos/octo/demo/pulls")
        .collect();
    assert_eq!(pulls.len(), 1);
    let request = &pulls[0];
    assert_eq!(
        request.headers["authorization"],
        "Bearer ghp_tasktoken0000000000"
    );
    assert_eq!(request.headers["x-github-api-version"], "2022-11-28");
    assert_eq!(request.body["title"], "Write the plan");
    assert_eq!(request.body["head"], branch);
    assert_eq!(request.body["base"], "main");
    assert_eq!(request.body["draft"], false);
    let body = request.body["body"].as_str().unwrap();
    assert!(
        body.contains("Added NOTES.md with the plan.") && body.contains("NOTES.md"),
        "{body}"
    );
    let pr = &github.pull_requests("octo/demo")[0];
    let pr_url = result["pr_url"].as_str().unwrap();
    assert!(
        pr_url.ends_with(&format!("/octo/demo/pull/{}", pr.number)),
        "{pr_url}"
    );
    assert_eq!(task["session"]["pr_url"], pr_url);

    let events = server.events(&id).await;
    let result_event = events.iter().find(|e| e["type"] == "task.result").unwrap();
    assert_eq!(result_event["data"]["pr_url"], pr_url);
    let (_, list) = server.get("/api/v1/tasks").await;
    assert_eq!(list["tasks"][0]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_changes_means_no_push_and_denied_tools_mean_failure() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("Nothing to change; the code already does that."));
    fake.push(turn().tool_use("bash", json!({"command": "make deploy"})));
    fake.push(turn().text("I could not deploy."));
    let github = FakeGitHub::start().await;
    let api = github.base_url();
    let server = Server::start_with(
        Backend::Sqlite,
        &fake,
        &[
            ("GITHUB_TOKEN", "ghp_tasktoken0000000000"),
            ("AGENTD_GITHUB_API_URL", &api),
        ],
    )
    .await;
    let root = remote();
    let url = format!("file://{}", root.path().join("remote.git").display());

    let (_, created) = server
        .post(
            "/api/v1/tasks",
            json!({"repo": url, "prompt": "check", "github_repo": "octo/demo"}),
        )
        .await;
    let task = wait_task(&server, created["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed");
    assert_eq!(task["result"]["pushed"], false);
    assert!(task["result"].get("pr_url").is_none());

    // Unattended (the default for tasks): the command would need a person,
    // so it is denied, and the task does not count as done.
    let (_, created) = server
        .post(
            "/api/v1/tasks",
            json!({"repo": url, "prompt": "deploy", "github_repo": "octo/demo"}),
        )
        .await;
    let task = wait_task(&server, created["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(
        task["session"]["status_reason"],
        "1 tool call(s) were denied"
    );
    assert!(
        github.requests().iter().all(|r| r.method != "POST"),
        "no pull request was asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_opens_its_pull_request_with_the_owners_own_github_token() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("write_file", json!({"path": "A.md", "content": "a\n"})));
    fake.push(turn().text("Wrote A.md."));
    let github = FakeGitHub::start().await;
    let api = github.base_url();
    // No server token: only the owner's own token can open the PR.
    let server =
        Server::start_with(Backend::Sqlite, &fake, &[("AGENTD_GITHUB_API_URL", &api)]).await;
    let dana = server.member("dana").await;
    let own = "ghp_danasowntoken000000000000";
    let (status, _) = common::send(
        dana.http
            .put(server.url("/api/v1/credentials/github"))
            .json(&json!({"secret": own})),
    )
    .await;
    assert_eq!(status, 200);
    let root = remote();
    let url = format!("file://{}", root.path().join("remote.git").display());
    let (status, created) = common::send(dana.http.post(server.url("/api/v1/tasks")).json(
        &json!({"repo": url, "branch": "main", "prompt": "Write A", "title": "Write A",
                "permission_mode": "acceptEdits", "github_repo": "octo/demo"}),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    let task = wait_task(&server, created["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let pulls: Vec<_> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/repos/octo/demo/pulls")
        .collect();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].headers["authorization"], format!("Bearer {own}"));
    assert!(task["result"]["pr_url"].as_str().is_some(), "{task}");
    assert!(!server.log().contains(own));
}
