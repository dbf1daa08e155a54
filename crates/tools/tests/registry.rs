//! The registry as the agent loop sees it.

use std::sync::Arc;

use agentd_tools::{Registry, Tool, ToolContext, ToolOutcome, ToolSpec};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

#[test]
fn builtin_registry_has_every_tool_sorted_by_name() {
    let registry = Registry::builtin();
    let expected = [
        "bash",
        "edit_file",
        "glob",
        "grep",
        "list",
        "read_file",
        "write_file",
    ];
    assert_eq!(registry.names(), expected);
    let spec_names: Vec<String> = registry.specs().into_iter().map(|s| s.name).collect();
    assert_eq!(spec_names, expected);
    assert!(registry.get("bash").is_some());
    assert!(registry.get("nope").is_none());
}

#[test]
fn every_spec_is_a_well_formed_object_schema() {
    for spec in Registry::builtin().specs() {
        let schema = &spec.input_schema;
        assert_eq!(schema["type"], "object", "{}", spec.name);
        assert_eq!(schema["additionalProperties"], false, "{}", spec.name);
        assert!(!spec.description.is_empty());
        let properties = schema["properties"].as_object().unwrap();
        for (name, property) in properties {
            let kind = property["type"].as_str().unwrap();
            assert!(
                ["string", "integer", "boolean"].contains(&kind),
                "{}.{name}: {kind}",
                spec.name
            );
            assert!(
                property["description"].is_string(),
                "{}.{name} lacks a description",
                spec.name
            );
        }
        for required in schema["required"].as_array().unwrap() {
            assert!(
                properties.contains_key(required.as_str().unwrap()),
                "{}: {required}",
                spec.name
            );
        }
    }
}

#[test]
fn required_fields_match_the_documented_api() {
    let required = |name: &str| -> Value {
        let spec = Registry::builtin().get(name).unwrap().spec();
        spec.input_schema["required"].clone()
    };
    assert_eq!(required("bash"), json!(["command"]));
    assert_eq!(required("read_file"), json!(["path"]));
    assert_eq!(required("write_file"), json!(["path", "content"]));
    assert_eq!(
        required("edit_file"),
        json!(["path", "old_string", "new_string"])
    );
    assert_eq!(required("glob"), json!(["pattern"]));
    assert_eq!(required("list"), json!([]));
    assert_eq!(required("grep"), json!(["pattern"]));
}

struct Echo;

#[async_trait::async_trait]
impl Tool for Echo {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "echo".into(),
            description: "Echo.".into(),
            input_schema: json!({"type": "object"}),
        }
    }
    async fn call(&self, input: Value, _ctx: &ToolContext) -> ToolOutcome {
        ToolOutcome::ok(input.to_string())
    }
}

#[tokio::test]
async fn custom_tools_can_be_registered() {
    let mut registry = Registry::new();
    assert!(registry.specs().is_empty());
    assert!(registry.register(Arc::new(Echo)).is_none());
    assert!(
        registry.register(Arc::new(Echo)).is_some(),
        "same name replaces"
    );
    let dir = tempfile::tempdir().unwrap();
    let ctx = ToolContext::new(agentd_tools::Workspace::new(dir.path()).unwrap());
    let outcome = registry
        .get("echo")
        .unwrap()
        .call(json!({"a": 1}), &ctx)
        .await;
    assert_eq!(outcome, ToolOutcome::ok(r#"{"a":1}"#));
}
