//! Webhook handling against GitHub's own example deliveries, from the
//! `@octokit/webhooks-examples` npm package that `scripts/test` installs
//! (or `AGENTD_TEST_WEBHOOK_EXAMPLES`, the path of its `index.json`).
//! Each payload is edited only where a test needs a different decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use agentd_github::{
    ClosedPullRequest, TaskTrigger, TriggerConfig, TriggerSource, WebhookError, WebhookEvent,
    parse_event, sign, verify_signature,
};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_json::{Value, json};

const SECRET: &[u8] = b"webhook secret for tests";

#[derive(Deserialize)]
struct EventExamples {
    name: String,
    examples: Vec<Value>,
}

fn examples_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AGENTD_TEST_WEBHOOK_EXAMPLES") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    let path = PathBuf::from(home).join(
        ".cache/agentd-npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
    );
    assert!(
        path.exists(),
        "GitHub's webhook examples are not installed at {}: run scripts/test (it installs \
         the pinned @octokit/webhooks-examples) or set AGENTD_TEST_WEBHOOK_EXAMPLES",
        path.display()
    );
    path
}

fn all_examples() -> &'static [EventExamples] {
    static ALL: OnceLock<Vec<EventExamples>> = OnceLock::new();
    ALL.get_or_init(|| {
        let text = std::fs::read(examples_path()).unwrap();
        serde_json::from_slice(&text).unwrap()
    })
}

/// The examples of `event` whose `action` is `action` (`None`: no action).
fn examples(event: &str, action: Option<&str>) -> Vec<Value> {
    let found: Vec<Value> = all_examples()
        .iter()
        .filter(|e| e.name == event)
        .flat_map(|e| e.examples.iter())
        .filter(|x| x.get("action").and_then(Value::as_str) == action)
        .cloned()
        .collect();
    assert!(!found.is_empty(), "no {event}.{action:?} example");
    found
}

/// Signs `payload` as GitHub would, verifies it, and parses it: the path a
/// delivery takes through the server.
fn deliver(event: &str, payload: &Value) -> WebhookEvent {
    let body = serde_json::to_vec_pretty(payload).unwrap();
    let header = sign(SECRET, &body);
    verify_signature(SECRET, &body, Some(&header)).unwrap();
    parse_event(event, &body).unwrap()
}

fn cfg() -> TriggerConfig {
    TriggerConfig {
        handle: "@agentd".into(),
        label: Some("agentd".into()),
    }
}

#[test]
fn signatures_cover_the_exact_bytes_of_real_deliveries() {
    let payload = &examples("issue_comment", Some("created"))[0];
    let pretty = serde_json::to_vec_pretty(payload).unwrap();
    let compact = serde_json::to_vec(payload).unwrap();
    let header = sign(SECRET, &pretty);

    assert_eq!(verify_signature(SECRET, &pretty, Some(&header)), Ok(()));
    // The same JSON re-serialised is different bytes: it must not verify,
    // which is why the server has to keep the raw body.
    assert_eq!(
        verify_signature(SECRET, &compact, Some(&header)),
        Err(WebhookError::SignatureMismatch)
    );
    let forged = sign(b"someone else's secret", &pretty);
    assert_eq!(
        verify_signature(SECRET, &pretty, Some(&forged)),
        Err(WebhookError::SignatureMismatch)
    );
    assert_eq!(
        verify_signature(SECRET, &pretty, None),
        Err(WebhookError::MissingSignature)
    );
    let sha1_style = header.replace("sha256=", "sha1=");
    assert_eq!(
        verify_signature(SECRET, &pretty, Some(&sha1_style)),
        Err(WebhookError::MalformedSignature)
    );
    assert_eq!(
        verify_signature(SECRET, &pretty, Some(&header[..header.len() - 2])),
        Err(WebhookError::MalformedSignature)
    );
}

#[test]
fn every_example_of_every_event_parses() {
    let mut parsed = 0;
    for event in all_examples() {
        for example in &event.examples {
            let body = serde_json::to_vec(example).unwrap();
            if let Err(err) = parse_event(&event.name, &body) {
                panic!("{}.{:?}: {err}", event.name, example.get("action"));
            }
            parsed += 1;
        }
    }
    assert!(parsed > 100, "only {parsed} examples");
}

#[test]
fn ping_parses_and_triggers_nothing() {
    for payload in examples("ping", None) {
        let event = deliver("ping", &payload);
        let WebhookEvent::Ping(ping) = &event else {
            panic!("ping expected, got {event:?}");
        };
        assert_eq!(ping.zen, payload["zen"].as_str().unwrap());
        assert_eq!(ping.hook_id, payload["hook_id"].as_u64());
        assert_eq!(event.task_trigger(&cfg()), None);
        assert_eq!(event.pr_closed(), None);
    }
}

#[test]
fn issue_comments_trigger_only_when_they_mention_the_handle() {
    for mut payload in examples("issue_comment", Some("created")) {
        // As published, the comment mentions nobody.
        assert_eq!(
            deliver("issue_comment", &payload).task_trigger(&cfg()),
            None
        );

        payload["comment"]["body"] = json!("Thanks! @agentd: please add a test for `parse()`.");
        let trigger = deliver("issue_comment", &payload)
            .task_trigger(&cfg())
            .expect("a mention triggers a task");
        let issue = &payload["issue"];
        assert_eq!(
            trigger,
            TaskTrigger {
                repo_full_name: payload["repository"]["full_name"].as_str().unwrap().into(),
                clone_url: payload["repository"]["clone_url"].as_str().unwrap().into(),
                default_branch: payload["repository"]["default_branch"]
                    .as_str()
                    .unwrap()
                    .into(),
                issue_number: issue["number"].as_u64().unwrap(),
                pull_request: None,
                issue_title: issue["title"].as_str().unwrap().into(),
                issue_body: issue["body"].as_str().unwrap_or_default().into(),
                prompt: "please add a test for `parse()`.".into(),
                requested_by: payload["comment"]["user"]["login"].as_str().unwrap().into(),
                source: TriggerSource::Comment {
                    id: payload["comment"]["id"].as_u64().unwrap(),
                    html_url: payload["comment"]["html_url"].as_str().unwrap().into(),
                },
            }
        );
        assert_eq!(trigger.repo_full_name, "Codertocat/Hello-World");

        // A longer handle is someone else.
        payload["comment"]["body"] = json!("@agentdx please add a test");
        assert_eq!(
            deliver("issue_comment", &payload).task_trigger(&cfg()),
            None
        );
    }
}

#[test]
fn comments_on_pull_requests_name_the_pull_request() {
    let mut payload = examples("issue_comment", Some("created")).remove(0);
    let number = payload["issue"]["number"].as_u64().unwrap();
    payload["comment"]["body"] = json!("@AgentD fix the failing check");
    // GitHub marks an issue that is a pull request with this object.
    payload["issue"]["pull_request"] = json!({
        "url": format!("https://api.github.com/repos/Codertocat/Hello-World/pulls/{number}"),
        "html_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}"),
        "diff_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}.diff"),
        "patch_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}.patch"),
        "merged_at": null,
    });
    let trigger = deliver("issue_comment", &payload)
        .task_trigger(&cfg())
        .unwrap();
    assert_eq!(trigger.pull_request, Some(number));
    assert_eq!(trigger.issue_number, number);
    assert_eq!(trigger.prompt, "fix the failing check");
}

#[test]
fn edits_bots_and_bare_mentions() {
    let mut payload = examples("issue_comment", Some("created")).remove(0);

    // A bare mention asks for the issue itself.
    payload["comment"]["body"] = json!("@agentd");
    let trigger = deliver("issue_comment", &payload)
        .task_trigger(&cfg())
        .unwrap();
    let title = payload["issue"]["title"].as_str().unwrap();
    assert!(trigger.prompt.starts_with(title), "{:?}", trigger.prompt);

    // Editing a comment must not start the task again.
    payload["action"] = json!("edited");
    payload["comment"]["body"] = json!("@agentd do it");
    assert_eq!(
        deliver("issue_comment", &payload).task_trigger(&cfg()),
        None
    );

    // Nor do bots, or agentd's own account, summon it.
    payload["action"] = json!("created");
    payload["comment"]["user"]["type"] = json!("Bot");
    assert_eq!(
        deliver("issue_comment", &payload).task_trigger(&cfg()),
        None
    );
    payload["comment"]["user"]["type"] = json!("User");
    payload["comment"]["user"]["login"] = json!("AgentD");
    assert_eq!(
        deliver("issue_comment", &payload).task_trigger(&cfg()),
        None
    );
}

#[test]
fn labelling_an_issue_with_the_configured_label_triggers() {
    for mut payload in examples("issues", Some("labeled")) {
        // The published example adds `bug`.
        assert_eq!(payload["label"]["name"], json!("bug"));
        assert_eq!(deliver("issues", &payload).task_trigger(&cfg()), None);

        payload["label"]["name"] = json!("AgentD");
        let event = deliver("issues", &payload);
        let trigger = event.task_trigger(&cfg()).expect("the label triggers");
        let issue = &payload["issue"];
        let title = issue["title"].as_str().unwrap();
        let body = issue["body"].as_str().map(str::trim).unwrap_or_default();
        let prompt = if body.is_empty() {
            title.to_owned()
        } else {
            format!("{title}\n\n{body}")
        };
        assert_eq!(trigger.prompt, prompt);
        assert_eq!(trigger.issue_number, issue["number"].as_u64().unwrap());
        assert_eq!(
            trigger.requested_by,
            payload["sender"]["login"].as_str().unwrap()
        );
        assert_eq!(
            trigger.source,
            TriggerSource::Label {
                name: "AgentD".into()
            }
        );

        // Without a configured label, labels trigger nothing.
        let no_label = TriggerConfig {
            label: None,
            ..cfg()
        };
        assert_eq!(event.task_trigger(&no_label), None);
    }
    // Removing the label is not a request.
    for mut payload in examples("issues", Some("unlabeled")) {
        payload["label"] = json!({"id": 1, "name": "agentd", "color": "ffffff"});
        assert_eq!(deliver("issues", &payload).task_trigger(&cfg()), None);
    }
}

#[test]
fn closed_pull_requests_report_whether_they_were_merged() {
    for mut payload in examples("pull_request", Some("closed")) {
        let unmerged = ClosedPullRequest {
            repo_full_name: payload["repository"]["full_name"].as_str().unwrap().into(),
            number: payload["number"].as_u64().unwrap(),
            merged: false,
            head_branch: payload["pull_request"]["head"]["ref"]
                .as_str()
                .unwrap()
                .into(),
            html_url: payload["pull_request"]["html_url"].as_str().unwrap().into(),
        };
        // The published examples were closed without merging.
        let event = deliver("pull_request", &payload);
        assert_eq!(event.pr_closed(), Some(unmerged.clone()));
        assert_eq!(event.task_trigger(&cfg()), None);

        payload["pull_request"]["merged"] = json!(true);
        payload["pull_request"]["merged_at"] = json!("2026-01-01T00:00:00Z");
        let merged = ClosedPullRequest {
            merged: true,
            ..unmerged
        };
        assert_eq!(deliver("pull_request", &payload).pr_closed(), Some(merged));
    }
    for payload in examples("pull_request", Some("opened")) {
        assert_eq!(deliver("pull_request", &payload).pr_closed(), None);
    }
}
