//! A user's saved MCP servers: create, list, change, delete, check, and the
//! `.mcp.json` import/export. Secret values (env and header values) are
//! sealed by the credential vault and never leave through a view.

use std::collections::BTreeMap;

use agentd_mcp::{McpServerConfig, McpTimeouts, McpTransport, Secret};
use agentd_protocol::{
    McpCheckResult, McpImportResult, McpServerInput, McpServerView, McpToolView, McpTransportKind,
};
use agentd_store::{CredentialVault, McpServerRecord, McpServerSecrets};

use crate::error::CoreError;
use crate::manager::SessionManager;

/// Saved servers per user; a generous cap against runaway imports.
const MAX_SERVERS_PER_USER: usize = 100;

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
fn split(
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

fn view(record: &McpServerRecord) -> McpServerView {
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

fn not_found() -> CoreError {
    CoreError::Missing("MCP server not found".into())
}

/// The timeouts of a health check: short, a person is waiting.
fn check_timeouts() -> McpTimeouts {
    McpTimeouts {
        connect: std::time::Duration::from_secs(20),
        request: std::time::Duration::from_secs(10),
        ..McpTimeouts::default()
    }
}

impl SessionManager {
    pub(crate) fn vault(&self) -> Result<&CredentialVault, CoreError> {
        self.inner.config.credentials.as_ref().ok_or_else(|| {
            CoreError::Unsupported(
                "this server has no master key, so it cannot store MCP server configurations"
                    .into(),
            )
        })
    }

    /// The user's saved MCP servers, by name.
    pub async fn list_mcp_servers(&self, user_id: &str) -> Result<Vec<McpServerView>, CoreError> {
        let records = self.vault()?.list_mcp_servers(user_id).await?;
        Ok(records.iter().map(view).collect())
    }

    pub async fn get_mcp_server(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<McpServerView, CoreError> {
        let record = self.vault()?.get_mcp_server(user_id, id).await?;
        record.as_ref().map(view).ok_or_else(not_found)
    }

    pub async fn create_mcp_server(
        &self,
        user_id: &str,
        input: &McpServerInput,
    ) -> Result<McpServerView, CoreError> {
        let config = config_from_input(input)?;
        let vault = self.vault()?;
        if vault.list_mcp_servers(user_id).await?.len() >= MAX_SERVERS_PER_USER {
            return Err(CoreError::Invalid(format!(
                "a user may save at most {MAX_SERVERS_PER_USER} MCP servers"
            )));
        }
        let id = agentd_protocol::ids::prefixed_id("mcp");
        let (record, secrets) = split(&config, &id, user_id, now());
        vault.insert_mcp_server(&record, &secrets).await?;
        Ok(view(&record))
    }

    /// Replaces a saved server. Leaving `env` or `headers` out keeps the
    /// stored values, so a user can change the command without retyping
    /// secrets they cannot read back.
    pub async fn update_mcp_server(
        &self,
        user_id: &str,
        id: &str,
        input: &McpServerInput,
    ) -> Result<McpServerView, CoreError> {
        let vault = self.vault()?;
        let old = vault
            .get_mcp_server(user_id, id)
            .await?
            .ok_or_else(not_found)?;
        let old_secrets = vault
            .mcp_server_secrets(user_id, id)
            .await?
            .unwrap_or_default();
        let mut input = input.clone();
        if input.env.is_none() && input.command.is_some() && !old_secrets.env.is_empty() {
            input.env = Some(old_secrets.env.clone());
        }
        if input.headers.is_none() && input.url.is_some() && !old_secrets.headers.is_empty() {
            input.headers = Some(old_secrets.headers.clone());
        }
        let config = config_from_input(&input)?;
        let (mut record, secrets) = split(&config, id, user_id, now());
        record.created_at = old.created_at;
        if !vault.update_mcp_server(&record, &secrets).await? {
            return Err(not_found());
        }
        Ok(view(&record))
    }

    pub async fn delete_mcp_server(&self, user_id: &str, id: &str) -> Result<(), CoreError> {
        if self.vault()?.delete_mcp_server(user_id, id).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// Starts (or dials) the server and lists its tools. A broken server is
    /// `ok: false` with the reason, never an error of the request.
    pub async fn check_mcp_server(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<McpCheckResult, CoreError> {
        let config = self.saved_config(user_id, id).await?;
        let timeouts = check_timeouts();
        // A stdio server is a command of the user's choosing: it runs in a
        // sandbox like a session's, around an empty scratch workspace.
        let scratch = tempfile::Builder::new()
            .prefix("agentd-mcp-check-")
            .tempdir()
            .map_err(|e| CoreError::Workspace(format!("no scratch directory: {e}")))?;
        let stdio = crate::mcp_session::SandboxedStdio {
            mode: self.inner.sandbox.clone(),
            workspace: scratch.path().to_owned(),
            data_dir: self.inner.config.data_dir.clone(),
        };
        let connected = agentd_mcp::McpConnection::connect_via(&config, &timeouts, &stdio).await;
        let connection = match connected {
            Ok(connection) => connection,
            Err(e) => return Ok(failed_check(e)),
        };
        let result = match connection.list_tools().await {
            Ok(tools) => McpCheckResult {
                ok: true,
                tools: tools
                    .into_iter()
                    .map(|t| McpToolView {
                        name: t.name,
                        description: t.description,
                    })
                    .collect(),
                error: None,
            },
            Err(e) => failed_check(e),
        };
        connection.close().await;
        Ok(result)
    }

    /// One saved server with its secret values.
    pub(crate) async fn saved_config(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<McpServerConfig, CoreError> {
        let vault = self.vault()?;
        let record = vault
            .get_mcp_server(user_id, id)
            .await?
            .ok_or_else(not_found)?;
        let secrets = vault
            .mcp_server_secrets(user_id, id)
            .await?
            .unwrap_or_default();
        join(&record, &secrets)
    }

    /// The user's servers as a `.mcp.json` document. Secret values are not
    /// exported: each becomes `${NAME}`, the reference Claude Code expands
    /// from the environment (and that `import` reads as "keep the value").
    pub async fn export_mcp_servers(&self, user_id: &str) -> Result<serde_json::Value, CoreError> {
        let records = self.vault()?.list_mcp_servers(user_id).await?;
        let placeholders = |keys: &[String]| -> BTreeMap<String, String> {
            keys.iter()
                .map(|k| (k.clone(), format!("${{{k}}}")))
                .collect()
        };
        let configs = records
            .iter()
            .map(|record| {
                let secrets = McpServerSecrets {
                    env: placeholders(&record.env_keys),
                    headers: placeholders(&record.header_keys),
                };
                join(record, &secrets)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(agentd_mcp::to_claude_mcp_config(&configs))
    }

    /// Saves every server of a `.mcp.json` document; a name the user already
    /// has is replaced. A value that is exactly `${KEY}` for a key the
    /// replaced server already had keeps the stored value, so an export
    /// imported back changes nothing.
    pub async fn import_mcp_servers(
        &self,
        user_id: &str,
        text: &str,
    ) -> Result<McpImportResult, CoreError> {
        let configs =
            agentd_mcp::import_mcp_json(text).map_err(|e| CoreError::Invalid(e.to_string()))?;
        let vault = self.vault()?;
        let existing = vault.list_mcp_servers(user_id).await?;
        let new_names = configs
            .iter()
            .filter(|c| !existing.iter().any(|r| r.name == c.name))
            .count();
        if existing.len() + new_names > MAX_SERVERS_PER_USER {
            return Err(CoreError::Invalid(format!(
                "a user may save at most {MAX_SERVERS_PER_USER} MCP servers"
            )));
        }
        let mut imported = Vec::with_capacity(configs.len());
        for mut config in configs {
            let now = now();
            match existing.iter().find(|r| r.name == config.name) {
                Some(old) => {
                    let old_secrets = vault
                        .mcp_server_secrets(user_id, &old.id)
                        .await?
                        .unwrap_or_default();
                    keep_referenced(&mut config, &old_secrets);
                    let (mut record, secrets) = split(&config, &old.id, user_id, now);
                    record.created_at = old.created_at;
                    vault.update_mcp_server(&record, &secrets).await?;
                }
                None => {
                    let id = agentd_protocol::ids::prefixed_id("mcp");
                    let (record, secrets) = split(&config, &id, user_id, now);
                    vault.insert_mcp_server(&record, &secrets).await?;
                }
            }
            imported.push(config.name);
        }
        Ok(McpImportResult { imported })
    }
}

/// `${KEY}` values stand for the value already stored under `KEY`.
fn keep_referenced(config: &mut McpServerConfig, old: &McpServerSecrets) {
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

fn failed_check(error: agentd_mcp::McpError) -> McpCheckResult {
    McpCheckResult {
        ok: false,
        tools: Vec::new(),
        error: Some(error.to_string()),
    }
}

fn now() -> time::OffsetDateTime {
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
