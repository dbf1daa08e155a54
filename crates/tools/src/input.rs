//! Typed tool inputs: each tool deserializes its JSON into a struct, so a
//! malformed call becomes one clear error instead of ad-hoc `Value` probing.

use serde::de::DeserializeOwned;

use crate::tool::ToolOutcome;

/// Parses `input` for tool `tool`, or explains to the model what was wrong.
pub(crate) fn parse<T: DeserializeOwned>(
    tool: &str,
    input: serde_json::Value,
) -> Result<T, ToolOutcome> {
    serde_json::from_value(input)
        .map_err(|err| ToolOutcome::error(format!("invalid input for {tool}: {err}")))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Input {
        #[expect(dead_code, reason = "only parsed")]
        path: String,
    }

    #[test]
    fn missing_field_is_a_clear_error() {
        let err = parse::<Input>("read_file", json!({})).unwrap_err();
        assert!(err.is_error);
        assert_eq!(
            err.content,
            "invalid input for read_file: missing field `path`"
        );
    }
}
