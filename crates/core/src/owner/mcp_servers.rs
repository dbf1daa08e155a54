//! A user's saved MCP servers as data: validating input into a
//! configuration, splitting secrets from what may be shown, and joining them
//! back. Secret values (env and header values) are sealed by the credential
//! vault and never leave through a view. The API is `manager::mcp_servers`.

use std::collections::BTreeMap;

use agentd_mcp::{McpServerConfig, McpTimeouts, McpTransport, Secret};
use agentd_protocol::{McpCheckResult, McpServerInput, McpServerView, McpTransportKind};
use agentd_store::{McpServerRecord, McpServerSecrets};

use crate::error::CoreError;

/// Saved servers per user; a generous cap against runaway imports.
pub(crate) const MAX_SERVERS_PER_USER: usize = 100;

/// The input as a validated configuration.
pub(crate) fn config_from_input(input: &McpServerInput) -> Result<McpServerConfig, CoreError> {
    let kind = match (input.kind, &input.command, &input.url) {
        (Some(kind), _, _) => kind,
        (None, Some(_), None) => McpTransportKind::Stdio,
        (None, None, Some(_)) => McpTransportKind::Http,
        (None, Some(_), Some(_)) => {
            return Err(invalid(&input.name, "give `command` or `url`, not both"));
        }
        (None, None, None) => {
            return Err(invalid(
                &input.name,
                "give `command` (a stdio server) or `url` (Streamable HTTP)",
            ));
        }
    };
    let secrets = |map: &Option<BTreeMap<String, String>>| -> BTreeMap<String, Secret> {
        map.iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Secret::new(v.as_str())))
            .collect()
    };
    let transport = match kind {
        McpTransportKind::Stdio => {
            if input.url.is_some() || input.headers.is_some() {
                return Err(invalid(
                    &input.name,
                    "a stdio server takes no `url` or `headers`",
                ));
            }
            McpTransport::Stdio {
                command: input.command.clone().unwrap_or_default(),
                args: input.args.clone().unwrap_or_default(),
                env: secrets(&input.env),
            }
        }
        McpTransportKind::Http => {
            if input.command.is_some() || input.args.is_some() || input.env.is_some() {
                return Err(invalid(
                    &input.name,
                    "an http server takes no `command`, `args` or `env`",
                ));
            }
            McpTransport::Http {
                url: input.url.clone().unwrap_or_default(),
                headers: secrets(&input.headers),
            }
        }
    };
    let config = McpServerConfig {
        name: input.name.clone(),
        transport,
    };
    config
        .validate()
        .map_err(|e| CoreError::Invalid(e.to_string()))?;
    Ok(config)
}

fn invalid(name: &str, reason: &str) -> CoreError {
    CoreError::Invalid(format!("MCP server `{name}`: {reason}"))
}

/// The stored row and sealed values of `config`.
pub(crate) fn split(
    config: &McpServerConfig,
    id: &str,
    user_id: &str,
    now: time::OffsetDateTime,
) -> (McpServerRecord, McpServerSecrets) {
    let expose = |map: &BTreeMap<String, Secret>| -> BTreeMap<String, String> {
        map.iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect()
    };
    let mut record = McpServerRecord {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        name: config.name.clone(),
        transport: String::new(),
        command: None,
        args: Vec::new(),
        url: None,
        env_keys: Vec::new(),
        header_keys: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    let mut secrets = McpServerSecrets::default();
    match &config.transport {
        McpTransport::Stdio { command, args, env } => {
            record.transport = McpTransportKind::Stdio.as_str().to_owned();
            record.command = Some(command.clone());
            record.args = args.clone();
            record.env_keys = env.keys().cloned().collect();
            secrets.env = expose(env);
        }
        McpTransport::Http { url, headers } => {
            record.transport = McpTransportKind::Http.as_str().to_owned();
            record.url = Some(url.clone());
            record.header_keys = headers.keys().cloned().collect();
            secrets.headers = expose(headers);
        }
    }
    (record, secrets)
}

/// The configuration a stored row and its values describe.
pub(crate) fn join(
    record: &McpServerRecord,
    secrets: &McpServerSecrets,
) -> Result<McpServerConfig, CoreError> {
    let wrap = |map: &BTreeMap<String, String>| -> BTreeMap<String, Secret> {
        map.iter()
            .map(|(k, v)| (k.clone(), Secret::new(v.as_str())))
            .collect()
    };
    let transport = match record.transport.as_str() {
        "stdio" => McpTransport::Stdio {
            command: record.command.clone().unwrap_or_default(),
            args: record.args.clone(),
            env: wrap(&secrets.env),
        },
        "http" => McpTransport::Http {
            url: record.url.clone().unwrap_or_default(),
            headers: wrap(&secrets.headers),
        },
        other => {
            return Err(CoreError::Store(agentd_store::StoreError::Corrupt(
                format!("MCP server {}: unknown transport {other:?}", record.id),
            )));
        }
    };
    Ok(McpServerConfig {
        name: record.name.clone(),
        transport,
    })
}

pub(crate) fn view(record: &McpServerRecord) -> McpServerView {
    McpServerView {
        id: record.id.clone(),
        name: record.name.clone(),
        transport: if record.transport == "http" {
            McpTransportKind::Http
        } else {
            McpTransportKind::Stdio
        },
        command: record.command.clone(),
        args: record.args.clone(),
        env_keys: record.env_keys.clone(),
        url: record.url.clone(),
        header_keys: record.header_keys.clone(),
        created_at: record.created_at,
    }
}

pub(crate) fn not_found() -> CoreError {
    CoreError::Missing("MCP server not found".into())
}

/// The timeouts of a health check: short, a person is waiting.
pub(crate) fn check_timeouts() -> McpTimeouts {
    McpTimeouts {
        connect: std::time::Duration::from_secs(20),
        request: std::time::Duration::from_secs(10),
        ..McpTimeouts::default()
    }
}

/// `${KEY}` values stand for the value already stored under `KEY`.
pub(crate) fn keep_referenced(config: &mut McpServerConfig, old: &McpServerSecrets) {
    let keep = |map: &mut BTreeMap<String, Secret>, stored: &BTreeMap<String, String>| {
        for (key, value) in map.iter_mut() {
            if value.expose() == format!("${{{key}}}")
                && let Some(real) = stored.get(key)
            {
                *value = Secret::new(real.as_str());
            }
        }
    };
    match &mut config.transport {
        McpTransport::Stdio { env, .. } => keep(env, &old.env),
        McpTransport::Http { headers, .. } => keep(headers, &old.headers),
    }
}

pub(crate) fn failed_check(error: agentd_mcp::McpError) -> McpCheckResult {
    McpCheckResult {
        ok: false,
        tools: Vec::new(),
        error: Some(error.to_string()),
    }
}

pub(crate) fn now() -> time::OffsetDateTime {
    agentd_store::truncate_to_ms(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(json: serde_json::Value) -> McpServerInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn inputs_become_configs_with_clear_errors() {
        let stdio = config_from_input(&input(
            serde_json::json!({"name": "fs", "command": "node", "args": ["x"], "env": {"K": "v"}}),
        ))
        .unwrap();
        assert!(matches!(stdio.transport, McpTransport::Stdio { .. }));
        let http = config_from_input(&input(
            serde_json::json!({"name": "web", "url": "https://x/mcp"}),
        ))
        .unwrap();
        assert!(matches!(http.transport, McpTransport::Http { .. }));
        for (bad, expected) in [
            (serde_json::json!({"name": "a"}), "give `command`"),
            (
                serde_json::json!({"name": "a", "command": "x", "url": "https://x"}),
                "not both",
            ),
            (
                serde_json::json!({"name": "a", "type": "http", "url": "https://x", "env": {}}),
                "takes no",
            ),
            (serde_json::json!({"name": "a__b", "command": "x"}), "`__`"),
            (
                serde_json::json!({"name": "a", "url": "ftp://x"}),
                "http or https",
            ),
        ] {
            let err = config_from_input(&input(bad.clone()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn placeholders_keep_stored_values() {
        let mut config = McpServerConfig::stdio("fs", "node", &[]);
        if let McpTransport::Stdio { env, .. } = &mut config.transport {
            env.insert("TOKEN".into(), "${TOKEN}".into());
            env.insert("OTHER".into(), "new".into());
        }
        let old = McpServerSecrets {
            env: [("TOKEN".to_owned(), "real".to_owned())].into(),
            headers: BTreeMap::new(),
        };
        keep_referenced(&mut config, &old);
        let McpTransport::Stdio { env, .. } = &config.transport else {
            unreachable!()
        };
        assert_eq!(env["TOKEN"].expose(), "real");
        assert_eq!(env["OTHER"].expose(), "new");
    }
}
