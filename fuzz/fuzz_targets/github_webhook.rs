//! A GitHub webhook delivery as the server's route sees it: the signature
//! header checked against the raw body, the body parsed for the event
//! named in `X-GitHub-Event`, then the trigger rules.
//!
//! Input: the event name on the first line, the `X-Hub-Signature-256`
//! header on the second, the raw body after that.
//! Invariants: nothing panics; our own signature of a body verifies and
//! only a signature equal to it does; a mention's request is text of the
//! comment; a fully quoted comment never summons (agentd quotes itself in
//! its replies); the owner and name taken from a repository never contain
//! a `/` or `..`.
#![no_main]

use agentd_github::{
    TriggerConfig, WebhookEvent, mention, parse_event, parse_repo, sign, verify_signature,
};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"It's a Secret to Everybody";
const HANDLE: &str = "@agentd";

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn check_repo(text: &str) {
    if let Some((owner, name)) = parse_repo(text) {
        for part in [&owner, &name] {
            assert!(
                !part.is_empty() && !part.contains('/') && part != ".." && part != ".",
                "{text:?} gave {owner:?}/{name:?}"
            );
        }
    }
}

fn check_mention(body: &str) {
    if let Some(request) = mention(body, HANDLE) {
        assert!(
            body.contains(&request),
            "the request {request:?} is not in the comment {body:?}"
        );
    }
    let quoted: String = body
        .split_inclusive('\n')
        .map(|line| format!("> {line}"))
        .collect();
    assert_eq!(
        mention(&quoted, HANDLE),
        None,
        "a quoted comment summoned: {quoted:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let (event, rest) = split_line(data);
    let (header, body) = split_line(rest);
    let (Ok(event), Ok(header)) = (std::str::from_utf8(event), std::str::from_utf8(header)) else {
        return;
    };

    let ours = sign(SECRET, body);
    assert_eq!(
        verify_signature(SECRET, body, Some(&ours)),
        Ok(()),
        "our own signature failed"
    );
    if verify_signature(SECRET, body, Some(header)).is_ok() {
        assert_eq!(
            header.trim().to_ascii_lowercase(),
            ours,
            "a forged signature verified"
        );
    }

    if let Ok(text) = std::str::from_utf8(body) {
        check_mention(text);
        check_repo(text);
    }
    let Ok(parsed) = parse_event(event, body) else {
        return;
    };
    for label in [None, Some("agentd".to_owned())] {
        let cfg = TriggerConfig {
            handle: HANDLE.into(),
            label,
        };
        if let Some(trigger) = parsed.task_trigger(&cfg) {
            check_repo(&trigger.repo_full_name);
            check_repo(&trigger.clone_url);
        }
    }
    if let WebhookEvent::IssueComment(comment) = &parsed {
        check_mention(&comment.comment.body);
    }
    if let Some(closed) = parsed.pr_closed() {
        check_repo(&closed.repo_full_name);
    }
});
