#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The engine in-process: limits, shutdown, deletion and slow subscribers.

use std::time::Duration;

use agentd_core::EngineConfig;
use agentd_protocol::{
    CreateSessionRequest, EventData, Runtime, SessionId, SessionStatus, TurnStopReason,
};
use agentd_testkit::{FakeAnthropic, turn};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::common;
use crate::common::TestEngine;

struct Engine {
    inner: common::Engine,
    workspace: tempfile::TempDir,
}

impl std::ops::Deref for Engine {
    type Target = common::Engine;
    fn deref(&self) -> &common::Engine {
        &self.inner
    }
}

async fn engine(fake: &FakeAnthropic, config: EngineConfig) -> Engine {
    Engine {
        inner: TestEngine::anthropic(fake).config(config).start().await,
        workspace: tempfile::tempdir().unwrap(),
    }
}

impl Engine {
    async fn create(&self, prompt: &str, max_turns: Option<u32>) -> SessionId {
        let req = CreateSessionRequest {
            max_turns,
            budget: None,
            mcp_servers: None,
            ..common::request(self.workspace.path(), prompt, Runtime::Builtin, None)
        };
        self.manager.create_session(req, None).await.unwrap().id
    }

    async fn wait_for(&self, id: SessionId, status: SessionStatus) {
        common::wait_for(&self.manager, id, status).await;
    }

    async fn stop_reason(&self, id: SessionId) -> TurnStopReason {
        common::last_stop(&self.manager, id).await
    }
}

#[tokio::test]
async fn a_turn_stops_at_its_request_limit() {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().tool_use("bash", json!({"command": "true"})));
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("loop forever", Some(3)).await;
    engine.wait_for(id, SessionStatus::Idle).await;
    assert_eq!(engine.stop_reason(id).await, TurnStopReason::MaxTurns);
    assert_eq!(fake.message_requests().len(), 3);
    let session = engine.manager.get_session(id).await.unwrap();
    assert_eq!(
        session.status_reason.as_deref(),
        Some("the turn reached its limit of model requests")
    );
}

#[tokio::test]
async fn max_tokens_ends_the_turn_with_that_reason() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().text("a very long answ").stop_reason("max_tokens"));
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("write a novel", None).await;
    engine.wait_for(id, SessionStatus::Idle).await;
    assert_eq!(engine.stop_reason(id).await, TurnStopReason::MaxTokens);
}

#[tokio::test]
async fn usage_and_cost_add_up_per_turn_and_session() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        turn()
            .tool_use("bash", json!({"command": "true"}))
            .usage(1000, 100, 500, 200),
    );
    fake.push(turn().text("done").usage(2000, 50, 1500, 0));
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("count", None).await;
    engine.wait_for(id, SessionStatus::Idle).await;
    let session = engine.manager.get_session(id).await.unwrap();
    assert_eq!(session.usage.input_tokens, 3000);
    assert_eq!(session.usage.output_tokens, 150);
    assert_eq!(session.usage.cache_read_tokens, 2000);
    assert_eq!(session.usage.cache_write_tokens, 200);
    let expected =
        agentd_llm::profile_for(&session.model)
            .pricing
            .cost_usd(&agentd_llm::TokenUsage {
                input_tokens: 3000,
                output_tokens: 150,
                cache_creation_input_tokens: 200,
                cache_read_input_tokens: 2000,
            });
    assert!(expected > 0.0);
    assert!((session.usage.cost_usd - expected).abs() < 1e-9);
    let events = engine.manager.read_events(id, 0, 1000).await.unwrap();
    let turn_usage = events
        .iter()
        .find_map(|e| match &e.event {
            EventData::TurnCompleted(done) => Some(done.usage),
            _ => None,
        })
        .unwrap();
    assert_eq!(turn_usage.input_tokens, 3000);
    let reports: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventData::Usage(u) => Some(u.totals.input_tokens),
            _ => None,
        })
        .collect();
    assert_eq!(reports, [1000, 3000], "usage events carry running totals");
}

#[tokio::test]
async fn shutdown_interrupts_running_turns_and_a_restart_keeps_them_marked() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "sleep 20"})));
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("long", None).await;
    let mut live = engine.manager.subscribe(id);
    loop {
        if let EventData::ToolStarted(_) = live.recv().await.unwrap().envelope.event {
            break;
        }
    }
    let started = std::time::Instant::now();
    engine.manager.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let session = engine.manager.get_session(id).await.unwrap();
    assert_eq!(session.status, SessionStatus::Interrupted);
    assert_eq!(engine.stop_reason(id).await, TurnStopReason::Interrupted);
    // No new work while shutting down.
    assert!(
        engine
            .manager
            .send_message(id, "more".into())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn deleting_a_running_session_stops_it_and_removes_everything() {
    let fake = FakeAnthropic::start().await;
    fake.push(turn().tool_use("bash", json!({"command": "sleep 20"})));
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("long", None).await;
    engine.wait_for(id, SessionStatus::Running).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    engine.manager.delete_session(id).await.unwrap();
    assert!(engine.manager.get_session(id).await.is_err());
    assert!(
        engine
            .manager
            .store()
            .read_events(id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Another session still works afterwards.
    fake.push(turn().text("fine"));
    let other = engine.create("next", None).await;
    engine.wait_for(other, SessionStatus::Idle).await;
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_told_so() {
    let fake = FakeAnthropic::start().await;
    let long = "word ".repeat(400);
    fake.push(turn().text(&long));
    let config = EngineConfig {
        subscriber_buffer: 16,
        ..EngineConfig::default()
    };
    let engine = engine(&fake, config).await;
    let id = engine.create("talk a lot", None).await;
    let mut live = engine.manager.subscribe(id);
    engine.wait_for(id, SessionStatus::Idle).await;
    // Never read while the turn ran: the oldest events were dropped for us.
    assert!(matches!(live.recv().await, Err(RecvError::Lagged(_))));
    // The log still has everything, contiguous.
    let events = engine.manager.read_events(id, 0, 10_000).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(events.len() > 16);
}

#[tokio::test]
async fn cancel_stops_a_streaming_model_response_at_once() {
    let fake = FakeAnthropic::start().await;
    // 200 deltas at 50 ms each: ten seconds of streaming if nobody stops it.
    fake.push(
        turn()
            .text("slow ".repeat(200))
            .delay_per_event(Duration::from_millis(50)),
    );
    let engine = engine(&fake, EngineConfig::default()).await;
    let id = engine.create("take your time", None).await;
    let mut live = engine.manager.subscribe(id);
    loop {
        if let EventData::TextDelta(_) = live.recv().await.unwrap().envelope.event {
            break;
        }
    }
    let asked = std::time::Instant::now();
    let view = engine.manager.cancel(id).await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(view.status, SessionStatus::Cancelled);
    assert_eq!(engine.stop_reason(id).await, TurnStopReason::Cancelled);
    // The partial message never reached the transcript: the next request
    // holds only the two user messages.
    fake.push(turn().text("ok"));
    engine
        .manager
        .send_message(id, "short answer please".into())
        .await
        .unwrap();
    engine.wait_for(id, SessionStatus::Idle).await;
    let last = fake.message_requests().pop().unwrap();
    let roles: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user"], "two user messages merged into one");
}
