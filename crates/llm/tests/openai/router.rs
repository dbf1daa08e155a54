//! `openai:` models go to the OpenAI-compatible server, the rest to Anthropic.

use agentd_llm::{
    AnthropicClient, AnthropicConfig, LlmError, ModelClient, ModelRouter, collect, profile_for,
};
use agentd_testkit::{FakeAnthropic, FakeOpenAi, turn};
use pretty_assertions::assert_eq;

use crate::{client, request};

fn anthropic(fake: &FakeAnthropic) -> AnthropicClient {
    AnthropicClient::new(AnthropicConfig::for_tests(fake.base_url())).unwrap()
}

#[tokio::test]
async fn the_prefix_picks_the_provider_and_is_stripped() {
    let claude = FakeAnthropic::start().await;
    let local = FakeOpenAi::start().await;
    claude.push(turn().text("from claude"));
    local.push(turn().text("from llama"));
    let router = ModelRouter::new(anthropic(&claude), Some(client(&local)));

    let from_local = collect(router.stream(&request("openai:llama3.1")).await.unwrap())
        .await
        .unwrap();
    let from_claude = collect(router.stream(&request("claude-sonnet-4-5")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        from_local.content,
        vec![agentd_llm::ContentBlock::text("from llama")]
    );
    assert_eq!(
        from_claude.content,
        vec![agentd_llm::ContentBlock::text("from claude")]
    );
    assert_eq!(local.message_requests()[0]["model"], "llama3.1");
    assert_eq!(claude.message_requests()[0]["model"], "claude-sonnet-4-5");
    assert_eq!(
        profile_for("openai:llama3.1")
            .pricing
            .cost_usd(&from_local.usage),
        0.0
    );
}

#[tokio::test]
async fn an_openai_model_without_a_configured_server_is_a_config_error() {
    let claude = FakeAnthropic::start().await;
    let router = ModelRouter::new(anthropic(&claude), None);
    let err = router
        .stream(&request("openai:llama3.1"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, LlmError::Config(m) if m.contains("OPENAI_BASE_URL")),
        "{err:?}"
    );
    let err = router
        .create(&request("openai:llama3.1"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LlmError::Config(_)));
    assert!(claude.requests().is_empty());
}
