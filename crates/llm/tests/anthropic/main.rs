//! The Anthropic client against the testkit fake: streaming, faults, retry
//! policy and the exact request shape. One test binary, several modules.
// Shared helpers are not `#[test]` functions, so clippy's in-test allowance
// does not reach them; failing loudly is what a test helper should do.
#![allow(clippy::unwrap_used)]

mod create;
mod faults;
mod request_shape;
mod retry;
mod streaming;

use agentd_llm::{
    AnthropicClient, AnthropicConfig, Message, ModelRequest, RetryPolicy, ToolDefinition,
};
use agentd_testkit::FakeAnthropic;
use serde_json::json;

pub fn client(fake: &FakeAnthropic) -> AnthropicClient {
    client_with(fake, |_| {})
}

pub fn client_with(
    fake: &FakeAnthropic,
    tweak: impl FnOnce(&mut AnthropicConfig),
) -> AnthropicClient {
    let mut config = AnthropicConfig::for_tests(fake.base_url());
    config.retry = RetryPolicy::fast();
    tweak(&mut config);
    AnthropicClient::new(config).unwrap()
}

pub fn request(model: &str) -> ModelRequest {
    ModelRequest {
        model: model.into(),
        system: Some("You are terse.".into()),
        messages: vec![Message::user_text("list the files")],
        tools: vec![ToolDefinition {
            name: "bash".into(),
            description: "Run a shell command".into(),
            input_schema: json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}),
        }],
        max_tokens: None,
        metadata_user_id: None,
        api_key: None,
    }
}
