//! What the OpenAI-compatible fake says: the shared [`Turn`] and
//! [`Failure`] scripts, plus [`Quirk`]s that reproduce how real local
//! servers deviate from the Chat Completions stream (PROTOCOLS §5.3).

use serde::{Deserialize, Serialize};

use crate::script::{Failure, Reply, Turn};

/// A known deviation of a real server, switched on per turn or per fake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quirk {
    /// Tool-call fragments carry no `index` (Ollama before 0.4.7, Gemini-compat proxies).
    MissingIndex,
    /// Every parallel tool call says `index: 0` (Ollama models without a parser).
    RepeatedIndexZero,
    /// All tool calls arrive whole, arguments complete, in one chunk (Ollama).
    WholeCallInOneChunk,
    /// The usage chunk says `"choices": null` (vLLM).
    NullChoicesInUsage,
    /// The usage chunk has no `choices` key at all (vLLM).
    MissingChoicesInUsage,
    /// No usage chunk, as servers that ignore `stream_options` send.
    NoUsage,
    /// Continuation fragments repeat `"id": ""`.
    EmptyIdOnContinuation,
    /// The body ends after the last chunk without `data: [DONE]`.
    NoDoneMarker,
    /// `finish_reason: "stop"` even though tool calls were made (older Ollama).
    StopWithToolCalls,
}

/// One answer to one `POST /v1/chat/completions`: a [`Reply`] plus the
/// quirks to apply to it. As JSON: `{"turn": {...}, "quirks": ["missing_index"]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenAiReply {
    #[serde(flatten)]
    pub reply: Reply,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<Quirk>,
}

impl OpenAiReply {
    pub fn quirk(mut self, quirk: Quirk) -> Self {
        self.quirks.push(quirk);
        self
    }
}

impl From<Reply> for OpenAiReply {
    fn from(reply: Reply) -> Self {
        Self {
            reply,
            quirks: Vec::new(),
        }
    }
}

impl From<Turn> for OpenAiReply {
    fn from(turn: Turn) -> Self {
        Reply::Turn(turn).into()
    }
}

impl From<Failure> for OpenAiReply {
    fn from(failure: Failure) -> Self {
        Reply::Failure(failure).into()
    }
}

/// `turn().text("hi").tool_use(..).quirk(Quirk::MissingIndex)`: a quirk
/// ends the turn builder (it makes an [`OpenAiReply`]), so put it last.
pub trait WithQuirks {
    fn quirk(self, quirk: Quirk) -> OpenAiReply;
}

impl WithQuirks for Turn {
    fn quirk(self, quirk: Quirk) -> OpenAiReply {
        OpenAiReply::from(self).quirk(quirk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::turn;
    use serde_json::json;

    #[test]
    fn replies_with_quirks_round_trip_as_json() {
        let reply = turn()
            .text("hi")
            .quirk(Quirk::MissingIndex)
            .quirk(Quirk::NoUsage);
        let wire = serde_json::to_value(&reply).unwrap();
        assert_eq!(wire["quirks"], json!(["missing_index", "no_usage"]));
        assert_eq!(wire["turn"]["blocks"][0]["text"], "hi");
        assert_eq!(serde_json::from_value::<OpenAiReply>(wire).unwrap(), reply);
        let plain: OpenAiReply = serde_json::from_value(
            json!({"failure": {"status": 500, "error_type": "server_error", "message": "x"}}),
        )
        .unwrap();
        assert!(plain.quirks.is_empty());
        assert!(matches!(plain.reply, Reply::Failure(_)));
    }
}
