//! The OpenAI-compatible client against the testkit's fake: streaming
//! translation, local-server quirks, request shape, errors and retry, and
//! the model router. One test binary, several modules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod quirks;
mod request_shape;
mod router;
mod streaming;

use agentd_llm::{Message, ModelRequest, OpenAiClient, OpenAiConfig, RetryPolicy, ToolDefinition};
use agentd_testkit::FakeOpenAi;
use serde_json::json;

pub fn client(fake: &FakeOpenAi) -> OpenAiClient {
    client_with(fake, |_| {})
}

pub fn client_with(fake: &FakeOpenAi, tweak: impl FnOnce(&mut OpenAiConfig)) -> OpenAiClient {
    let mut config = OpenAiConfig::for_tests(fake.base_url());
    config.retry = RetryPolicy::fast();
    tweak(&mut config);
    OpenAiClient::new(config).unwrap()
}

pub fn request(model: &str) -> ModelRequest {
    ModelRequest {
        model: model.into(),
        system: Some("You are terse.".into()),
        messages: vec![Message::user_text("list the files")],
        tools: vec![
            ToolDefinition {
                name: "bash".into(),
                description: "Run a shell command".into(),
                input_schema: json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}),
            },
            ToolDefinition {
                name: "read_file".into(),
                description: "Read a file".into(),
                input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            },
        ],
        max_tokens: None,
        metadata_user_id: None,
        api_key: None,
    }
}
