//! The `.mcp.json` format shared with Claude Code:
//! `{"mcpServers": {"<name>": {"type": "stdio"|"http", …}}}`.
//!
//! The same document is what the Claude Code CLI takes with `--mcp-config`,
//! so export and the CLI config are one shape. Env and header values are kept
//! literally: `${VAR}` references are not expanded here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{McpServerConfig, McpTransport, Secret};
use crate::error::McpError;

#[derive(Deserialize, Serialize)]
struct McpJson {
    /// Required, so that a stray JSON file (or `[]`) is an error, not "no servers".
    #[serde(rename = "mcpServers")]
    mcp_servers: BTreeMap<String, Entry>,
}

/// One entry as written by users and by Claude Code. Every field is optional
/// here so a missing one gets a message naming the entry, not a serde error.
/// Unknown fields are ignored so files written for newer clients still load.
#[derive(Deserialize, Serialize, Default)]
struct Entry {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<EntryKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env: Option<BTreeMap<String, Secret>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    headers: Option<BTreeMap<String, Secret>>,
}

#[derive(Deserialize, Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum EntryKind {
    Stdio,
    Http,
    Sse,
    /// In-process servers of the Claude Agent SDK; they have no address.
    Sdk,
    #[serde(other)]
    Unknown,
}

/// Parses a `.mcp.json` document into validated configs, sorted by name.
///
/// Rejects `sse` entries (legacy HTTP+SSE transport), `sdk` entries and
/// unknown types, naming the entry.
pub fn import_mcp_json(text: &str) -> Result<Vec<McpServerConfig>, McpError> {
    let doc: McpJson = serde_json::from_str(text)
        .map_err(|e| McpError::config(None, format!("not a valid .mcp.json document: {e}")))?;
    doc.mcp_servers
        .into_iter()
        .map(|(name, entry)| {
            let config = entry_to_config(name, entry)?;
            config.validate()?;
            Ok(config)
        })
        .collect()
}

fn entry_to_config(name: String, entry: Entry) -> Result<McpServerConfig, McpError> {
    let server = Some(name.as_str());
    let transport = match entry.kind {
        // Claude Code treats a missing type as stdio.
        None | Some(EntryKind::Stdio) => {
            let Some(command) = entry.command else {
                let hint = if entry.url.is_some() {
                    "stdio entry has no `command` (for a URL, set \"type\": \"http\")"
                } else {
                    "stdio entry has no `command`"
                };
                return Err(McpError::config(server, hint));
            };
            McpTransport::Stdio {
                command,
                args: entry.args.unwrap_or_default(),
                env: entry.env.unwrap_or_default(),
            }
        }
        Some(EntryKind::Http) => {
            let Some(url) = entry.url else {
                return Err(McpError::config(server, "http entry has no `url`"));
            };
            McpTransport::Http {
                url,
                headers: entry.headers.unwrap_or_default(),
            }
        }
        Some(EntryKind::Sse) => return Err(McpError::LegacySse { server: name }),
        Some(EntryKind::Sdk) => {
            return Err(McpError::config(
                server,
                "`sdk` servers run inside the Claude Agent SDK and cannot be used here",
            ));
        }
        Some(EntryKind::Unknown) => {
            return Err(McpError::config(
                server,
                "unknown `type`; expected \"stdio\" or \"http\"",
            ));
        }
    };
    Ok(McpServerConfig { name, transport })
}

/// The `.mcp.json` document for `configs`, pretty-printed, secrets included
/// (it is meant to be used, not shown; show [`McpServerConfig::redacted`]).
pub fn export_mcp_json(configs: &[McpServerConfig]) -> String {
    // Serializing maps of strings cannot fail; fall back to an empty document
    // rather than panic if that ever changes.
    serde_json::to_string_pretty(&document(configs))
        .unwrap_or_else(|_| String::from("{\"mcpServers\":{}}"))
}

/// The value for the Claude Code CLI's `--mcp-config` (the same shape as
/// `.mcp.json`, with an explicit `type` on every entry).
pub fn to_claude_mcp_config(configs: &[McpServerConfig]) -> serde_json::Value {
    serde_json::to_value(document(configs))
        .unwrap_or_else(|_| serde_json::json!({"mcpServers": {}}))
}

fn document(configs: &[McpServerConfig]) -> McpJson {
    let mcp_servers = configs
        .iter()
        .map(|config| (config.name.clone(), config_to_entry(&config.transport)))
        .collect();
    McpJson { mcp_servers }
}

fn config_to_entry(transport: &McpTransport) -> Entry {
    match transport {
        McpTransport::Stdio { command, args, env } => Entry {
            kind: Some(EntryKind::Stdio),
            command: Some(command.clone()),
            args: Some(args.clone()),
            env: (!env.is_empty()).then(|| env.clone()),
            ..Entry::default()
        },
        McpTransport::Http { url, headers } => Entry {
            kind: Some(EntryKind::Http),
            url: Some(url.clone()),
            headers: (!headers.is_empty()).then(|| headers.clone()),
            ..Entry::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    const SAMPLE: &str = r#"{"mcpServers":{
        "fs":  {"command":"npx","args":["-y","@x/server"],"env":{"K":"V"}},
        "git": {"type":"stdio","command":"uvx","args":["mcp-server-git"]},
        "web": {"type":"http","url":"https://example.com/mcp","headers":{"Authorization":"Bearer t"}}
    }}"#;

    #[test]
    fn import_reads_stdio_with_and_without_type_and_http() {
        let configs = import_mcp_json(SAMPLE).unwrap();
        let mut fs = McpServerConfig::stdio("fs", "npx", &["-y", "@x/server"]);
        if let McpTransport::Stdio { env, .. } = &mut fs.transport {
            env.insert("K".into(), "V".into());
        }
        let git = McpServerConfig::stdio("git", "uvx", &["mcp-server-git"]);
        let mut web = McpServerConfig::http("web", "https://example.com/mcp");
        if let McpTransport::Http { headers, .. } = &mut web.transport {
            headers.insert("Authorization".into(), "Bearer t".into());
        }
        assert_eq!(configs, vec![fs, git, web]);
    }

    #[test]
    fn export_then_import_round_trips() {
        let configs = import_mcp_json(SAMPLE).unwrap();
        let text = export_mcp_json(&configs);
        assert_eq!(import_mcp_json(&text).unwrap(), configs);
        assert_eq!(
            to_claude_mcp_config(&configs)["mcpServers"]["web"],
            json!({"type":"http","url":"https://example.com/mcp","headers":{"Authorization":"Bearer t"}})
        );
        assert_eq!(
            to_claude_mcp_config(&configs)["mcpServers"]["git"],
            json!({"type":"stdio","command":"uvx","args":["mcp-server-git"]})
        );
    }

    #[test]
    fn sse_entries_are_rejected_with_a_clear_message() {
        let err = import_mcp_json(r#"{"mcpServers":{"old":{"type":"sse","url":"https://x/sse"}}}"#)
            .unwrap_err();
        assert!(matches!(&err, McpError::LegacySse { server } if server == "old"));
        assert!(
            err.to_string()
                .contains("legacy SSE transport is not supported"),
            "{err}"
        );
    }

    #[test]
    fn bad_entries_name_the_entry() {
        for (doc, expected) in [
            (
                r#"{"mcpServers":{"a":{"url":"https://x"}}}"#,
                "set \"type\": \"http\"",
            ),
            (r#"{"mcpServers":{"a":{"type":"http"}}}"#, "no `url`"),
            (
                r#"{"mcpServers":{"a":{"type":"sdk","name":"a"}}}"#,
                "Claude Agent SDK",
            ),
            (
                r#"{"mcpServers":{"a":{"type":"ws","url":"x"}}}"#,
                "unknown `type`",
            ),
            (r#"{"mcpServers":{"a__b":{"command":"x"}}}"#, "`__`"),
            ("[]", "not a valid .mcp.json"),
        ] {
            let err = import_mcp_json(doc).unwrap_err().to_string();
            assert!(err.contains(expected), "{doc}: {err}");
        }
    }

    #[test]
    fn an_empty_document_has_no_servers() {
        assert_eq!(import_mcp_json(r#"{"mcpServers":{}}"#).unwrap(), vec![]);
        assert!(
            import_mcp_json("{}")
                .unwrap_err()
                .to_string()
                .contains("mcpServers")
        );
        assert_eq!(import_mcp_json(&export_mcp_json(&[])).unwrap(), vec![]);
    }
}
