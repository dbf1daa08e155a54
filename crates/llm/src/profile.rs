//! Per-model request shape and list prices, as data. Models drift (PROTOCOLS
//! §1.12): a new model should need a table row, not new code.

use serde::{Deserialize, Serialize};

use crate::stream::TokenUsage;

/// How the request's `thinking` field is set for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingMode {
    /// `{"type":"adaptive"}`: the model picks its depth (Opus 4.6+, required by Opus 4.7+).
    Adaptive,
    /// `{"type":"enabled","budget_tokens":N}`; N is kept below max_tokens.
    Enabled { budget_tokens: u32 },
    /// `{"type":"disabled"}`.
    Disabled,
    /// No `thinking` field at all (models or proxies that do not know it).
    Omit,
}

/// US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
    /// 5-minute cache writes (1.25 × input).
    pub cache_write: f64,
    /// Cache hits (0.1 × input).
    pub cache_read: f64,
}

impl Pricing {
    /// List price with the standard cache multipliers.
    pub const fn list(input: f64, output: f64) -> Self {
        Self {
            input,
            output,
            cache_write: input * 1.25,
            cache_read: input * 0.1,
        }
    }

    pub fn cost_usd(&self, usage: &TokenUsage) -> f64 {
        let per_token = |count: u64, per_mtok: f64| count as f64 * per_mtok / 1_000_000.0;
        per_token(usage.input_tokens, self.input)
            + per_token(usage.output_tokens, self.output)
            + per_token(usage.cache_creation_input_tokens, self.cache_write)
            + per_token(usage.cache_read_input_tokens, self.cache_read)
    }

    /// The usage in agentd's protocol shape, priced.
    pub fn usage(&self, usage: &TokenUsage) -> agentd_protocol::Usage {
        agentd_protocol::Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_input_tokens,
            cache_write_tokens: usage.cache_creation_input_tokens,
            cost_usd: self.cost_usd(usage),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelProfile {
    pub thinking: ThinkingMode,
    /// Used when the request leaves `max_tokens` unset.
    pub default_max_tokens: u32,
    pub context_window: u64,
    /// Whether `tool_choice` `any`/`tool` is accepted. The API rejects it
    /// whenever thinking is on, and Opus 5+ rejects it outright.
    pub forced_tool_choice: bool,
    pub pricing: Pricing,
}

const OPUS_NEW: Pricing = Pricing::list(5.0, 25.0);
const OPUS_OLD: Pricing = Pricing::list(15.0, 75.0);
const SONNET: Pricing = Pricing::list(3.0, 15.0);
const HAIKU_4: Pricing = Pricing::list(1.0, 5.0);
const HAIKU_3_5: Pricing = Pricing::list(0.8, 4.0);

const fn profile(
    thinking: ThinkingMode,
    default_max_tokens: u32,
    pricing: Pricing,
) -> ModelProfile {
    let forced_tool_choice = matches!(thinking, ThinkingMode::Disabled | ThinkingMode::Omit);
    ModelProfile {
        thinking,
        default_max_tokens,
        context_window: 200_000,
        forced_tool_choice,
        pricing,
    }
}

const BUDGET: ThinkingMode = ThinkingMode::Enabled {
    budget_tokens: 8_000,
};

/// Matched by prefix against the name after `claude-`, most specific first.
/// Opus 5 prices are assumed equal to Opus 4.5's until confirmed.
const TABLE: &[(&str, ModelProfile)] = &[
    ("opus-5", profile(ThinkingMode::Adaptive, 32_000, OPUS_NEW)),
    (
        "opus-4-7",
        profile(ThinkingMode::Adaptive, 32_000, OPUS_NEW),
    ),
    (
        "opus-4-6",
        profile(ThinkingMode::Adaptive, 32_000, OPUS_NEW),
    ),
    ("opus-4-5", profile(BUDGET, 32_000, OPUS_NEW)),
    ("opus-4", profile(BUDGET, 32_000, OPUS_OLD)),
    ("sonnet-5", profile(ThinkingMode::Adaptive, 32_000, SONNET)),
    (
        "sonnet-4-6",
        profile(ThinkingMode::Adaptive, 32_000, SONNET),
    ),
    ("sonnet-4", profile(BUDGET, 32_000, SONNET)),
    ("3-7-sonnet", profile(BUDGET, 32_000, SONNET)),
    ("haiku-4", profile(ThinkingMode::Omit, 16_000, HAIKU_4)),
    ("3-5-haiku", profile(ThinkingMode::Omit, 8_192, HAIKU_3_5)),
];

/// For unknown models: send nothing model-specific, price like Sonnet.
const DEFAULT: ModelProfile = profile(ThinkingMode::Omit, 8_192, SONNET);

/// OpenAI-compatible models (`openai:…`): no `thinking` field, and no price,
/// since most are local and free; a hosted model's cost is not tracked.
pub const OPENAI_COMPATIBLE: ModelProfile = ModelProfile {
    thinking: ThinkingMode::Omit,
    default_max_tokens: 8_192,
    context_window: 128_000,
    forced_tool_choice: true,
    pricing: Pricing {
        input: 0.0,
        output: 0.0,
        cache_write: 0.0,
        cache_read: 0.0,
    },
};

/// The profile for a model id. Accepts bare ids (`claude-sonnet-4-5-20250929`),
/// short forms (`opus-5`) and provider-prefixed ids (`us.anthropic.claude-…`);
/// `openai:…` ids get [`OPENAI_COMPATIBLE`].
pub fn profile_for(model: &str) -> ModelProfile {
    if model.starts_with(crate::openai::MODEL_PREFIX) {
        return OPENAI_COMPATIBLE;
    }
    let name = model.rsplit_once("claude-").map_or(model, |(_, rest)| rest);
    TABLE
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or(DEFAULT, |(_, profile)| *profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_resolve_by_prefix() {
        assert_eq!(
            profile_for("claude-opus-4-7").thinking,
            ThinkingMode::Adaptive
        );
        assert_eq!(profile_for("opus-5-5").thinking, ThinkingMode::Adaptive);
        assert!(!profile_for("claude-opus-5").forced_tool_choice);
        assert_eq!(profile_for("claude-sonnet-4-5-20250929").thinking, BUDGET);
        assert_eq!(
            profile_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0").thinking,
            BUDGET
        );
        assert_eq!(profile_for("claude-opus-4-1-20250805").pricing, OPUS_OLD);
        assert_eq!(profile_for("claude-opus-4-5-20251101").pricing, OPUS_NEW);
        assert_eq!(profile_for("claude-haiku-4-5").thinking, ThinkingMode::Omit);
        assert_eq!(profile_for("some-local-model"), DEFAULT);
        let local = profile_for("openai:llama3.1");
        assert_eq!(
            local.pricing.cost_usd(&TokenUsage {
                input_tokens: 1_000_000,
                ..TokenUsage::default()
            }),
            0.0
        );
        assert_eq!(local.thinking, ThinkingMode::Omit);
        // The prefix wins even when a Claude name follows it (a proxy's model).
        assert_eq!(profile_for("openai:claude-opus-4-7"), OPENAI_COMPATIBLE);
    }

    #[test]
    fn thinking_budgets_fit_below_the_default_max_tokens() {
        for (name, profile) in TABLE {
            if let ThinkingMode::Enabled { budget_tokens } = profile.thinking {
                assert!(
                    budget_tokens >= 1024 && budget_tokens < profile.default_max_tokens,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn cost_counts_every_token_kind() {
        let usage = TokenUsage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            cache_creation_input_tokens: 1_000_000,
            cache_read_input_tokens: 1_000_000,
        };
        let cost = SONNET.cost_usd(&usage);
        assert!((cost - (3.0 + 15.0 + 3.75 + 0.3)).abs() < 1e-9, "{cost}");
        assert_eq!(SONNET.usage(&usage).cache_write_tokens, 1_000_000);
    }
}
