//! The GitHub fake on the wire, with a plain HTTP client: status codes,
//! GitHub's error bodies, list filters and request recording.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use agentd_testkit::{FakeGitHub, GitHubFailure, PullStatus};
use serde_json::{Value, json};

async fn call(
    fake: &FakeGitHub,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", fake.base_url()));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

const AUTH: Option<&str> = Some("Bearer ghp_x");

#[tokio::test]
async fn answers_401_without_credentials_but_records_the_request() {
    let fake = FakeGitHub::start().await;
    let get = reqwest::Method::GET;

    let (status, body) = call(&fake, get.clone(), "/repos/o/r/pulls/1", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest", "status": "401"})
    );
    let (status, body) = call(
        &fake,
        get.clone(),
        "/repos/o/r/pulls/1",
        Some("Basic abc"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );

    // `token …`, the older scheme, works as well as `Bearer …`.
    let (status, _) = call(
        &fake,
        get.clone(),
        "/repos/o/r/pulls/1",
        Some("token ghp_x"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    fake.set_token(Some("ghp_right"));
    let (status, _) = call(&fake, get, "/repos/o/r/pulls/1", AUTH, None).await;
    assert_eq!(status, 401);

    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/repos/o/r/pulls/1"; 4]);
}

#[tokio::test]
async fn creates_pull_requests_under_githubs_rules() {
    let fake = FakeGitHub::start().await;
    let post = reqwest::Method::POST;
    let pr = json!({"title": "T", "head": "feature", "base": "main", "body": "B"});

    let (status, created) = call(
        &fake,
        post.clone(),
        "/repos/octo/hello/pulls",
        AUTH,
        Some(pr.clone()),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["number"], 1);
    assert_eq!(
        created["html_url"],
        "https://github.example/octo/hello/pull/1"
    );
    assert_eq!(created["state"], "open");
    assert_eq!(created["head"]["ref"], "feature");
    assert_eq!(created["head"]["label"], "octo:feature");
    assert_eq!(
        created["head"]["repo"]["clone_url"],
        "https://github.example/octo/hello.git"
    );
    assert_eq!(created["base"]["ref"], "main");

    let (status, body) = call(
        &fake,
        post.clone(),
        "/repos/octo/hello/pulls",
        AUTH,
        Some(pr),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom",
                        "message": "A pull request already exists for octo:feature."}],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        })
    );

    fake.set_no_diff("octo/hello", "octo:empty");
    let empty = json!({"title": "T", "head": "empty", "base": "main"});
    let (status, body) = call(
        &fake,
        post.clone(),
        "/repos/octo/hello/pulls",
        AUTH,
        Some(empty),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"][0]["message"],
        "No commits between main and octo:empty"
    );

    let (status, body) = call(
        &fake,
        post,
        "/repos/octo/hello/pulls",
        AUTH,
        Some(json!({"title": "T"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"],
        json!([{"resource": "PullRequest", "code": "missing_field", "field": "head"}])
    );
}

#[tokio::test]
async fn lists_pull_requests_by_head_and_state() {
    let fake = FakeGitHub::start().await;
    let a = fake.add_pull_request("octo/hello", "a", "main");
    let b = fake.add_pull_request("octo/hello", "b", "main");
    fake.set_pull_request_status("octo/hello", a.number, PullStatus::Merged);
    let get = reqwest::Method::GET;
    let numbers = |list: Value| -> Vec<u64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["number"].as_u64().unwrap())
            .collect()
    };

    let (_, open) = call(&fake, get.clone(), "/repos/octo/hello/pulls", AUTH, None).await;
    assert_eq!(numbers(open), [b.number]);
    let (_, all) = call(
        &fake,
        get.clone(),
        "/repos/octo/hello/pulls?state=all",
        AUTH,
        None,
    )
    .await;
    assert_eq!(numbers(all.clone()), [b.number, a.number]);
    assert_eq!(all[1]["merged_at"], "2026-01-01T00:00:00Z");
    assert_eq!(all[1].get("merged"), None, "list items carry no `merged`");
    let (_, by_head) = call(
        &fake,
        get.clone(),
        "/repos/octo/hello/pulls?head=octo%3Ab&state=open",
        AUTH,
        None,
    )
    .await;
    assert_eq!(numbers(by_head), [b.number]);
    // Like GitHub, a head without its owner filters nothing.
    let (_, bare) = call(
        &fake,
        get.clone(),
        "/repos/octo/hello/pulls?head=a&state=all",
        AUTH,
        None,
    )
    .await;
    assert_eq!(numbers(bare), [b.number, a.number]);

    let (status, single) = call(
        &fake,
        get,
        &format!("/repos/octo/hello/pulls/{}", a.number),
        AUTH,
        None,
    )
    .await;
    assert_eq!(
        (status, &single["merged"], &single["state"]),
        (200, &json!(true), &json!("closed"))
    );

    let recorded = fake.requests();
    assert_eq!(recorded[2].query("head"), Some("octo:b"));
    assert_eq!(recorded[2].query("state"), Some("open"));
}

#[tokio::test]
async fn comments_need_an_issue_and_failures_can_be_scripted() {
    let fake = FakeGitHub::start().await;
    let (post, patch) = (reqwest::Method::POST, reqwest::Method::PATCH);
    let hi = Some(json!({"body": "hi"}));

    let (status, _) = call(
        &fake,
        post.clone(),
        "/repos/o/r/issues/3/comments",
        AUTH,
        hi.clone(),
    )
    .await;
    assert_eq!(status, 404);
    fake.add_issue("o/r", 3, "Bug");
    let (status, comment) = call(
        &fake,
        post.clone(),
        "/repos/o/r/issues/3/comments",
        AUTH,
        hi.clone(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        comment["html_url"],
        "https://github.example/o/r/issues/3#issuecomment-1001"
    );
    let (status, edited) = call(
        &fake,
        patch,
        "/repos/o/r/issues/comments/1001",
        AUTH,
        Some(json!({"body": "bye"})),
    )
    .await;
    assert_eq!((status, &edited["body"]), (200, &json!("bye")));
    assert_eq!(fake.comments()[0].body, "bye");

    fake.fail_next(GitHubFailure::new(429, "API rate limit exceeded").header("retry-after", "7"));
    let response = reqwest::Client::new()
        .post(format!("{}/repos/o/r/issues/3/comments", fake.base_url()))
        .header("authorization", "Bearer x")
        .json(&json!({"body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    // Served once: the next request gets its real answer.
    let (status, _) = call(&fake, post, "/repos/o/r/issues/3/comments", AUTH, hi).await;
    assert_eq!(status, 201);
    assert_eq!(fake.comments().len(), 2);

    fake.reset();
    assert!(fake.requests().is_empty() && fake.comments().is_empty());
}
