//! A user's saved MCP servers through the API (create, list, change,
//! delete, check, `.mcp.json` import/export), and a new session's servers:
//! resolved from the request and stored sealed with it.

use std::collections::BTreeMap;

use agentd_mcp::McpServerConfig;
use agentd_protocol::{
    McpCheckResult, McpImportResult, McpServerInput, McpServerView, McpToolView, SessionId,
    SessionMcpServer,
};
use agentd_store::{CredentialVault, McpServerSecrets};

use crate::error::CoreError;
use crate::manager::SessionManager;
use crate::owner::mcp_servers::{
    MAX_SERVERS_PER_USER, check_timeouts, config_from_input, failed_check, join, keep_referenced,
    not_found, now, split, view,
};

/// The most MCP servers one session may use.
const MAX_SESSION_SERVERS: usize = 20;

impl SessionManager {
    pub(crate) fn vault(&self) -> Result<&CredentialVault, CoreError> {
        self.services.config.credentials.as_ref().ok_or_else(|| {
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
        let stdio = crate::turn::mcp::SandboxedStdio {
            mode: self.services.kit.sandbox.clone(),
            workspace: scratch.path().to_owned(),
            data_dir: self.services.config.data_dir.clone(),
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

/// Resolves a create request's `mcp_servers` into configurations: saved
/// names are looked up among the owner's servers (and copied, so later edits
/// do not change a running session), inline entries validated.
pub(super) async fn resolve(
    manager: &SessionManager,
    owner: Option<&str>,
    entries: &[SessionMcpServer],
) -> Result<Vec<McpServerConfig>, CoreError> {
    if entries.len() > MAX_SESSION_SERVERS {
        return Err(CoreError::Invalid(format!(
            "a session may use at most {MAX_SESSION_SERVERS} MCP servers"
        )));
    }
    let mut configs: Vec<McpServerConfig> = Vec::with_capacity(entries.len());
    for entry in entries {
        let config = match entry {
            SessionMcpServer::Inline(input) => config_from_input(input)?,
            SessionMcpServer::Saved(name) => {
                let owner = owner.ok_or_else(|| {
                    CoreError::Invalid(format!(
                        "MCP server `{name}`: saved servers need a signed-in owner"
                    ))
                })?;
                let saved = manager.vault()?.list_mcp_servers(owner).await?;
                let record = saved.iter().find(|r| &r.name == name).ok_or_else(|| {
                    CoreError::Invalid(format!("you have no saved MCP server named `{name}`"))
                })?;
                manager.saved_config(owner, &record.id).await?
            }
        };
        if configs.iter().any(|c| c.name == config.name) {
            return Err(CoreError::Invalid(format!(
                "MCP server `{}` is listed twice",
                config.name
            )));
        }
        configs.push(config);
    }
    Ok(configs)
}

/// Stores a new session's servers, sealed (they carry secrets).
pub(super) async fn save(
    manager: &SessionManager,
    id: SessionId,
    configs: &[McpServerConfig],
) -> Result<(), CoreError> {
    if configs.is_empty() {
        return Ok(());
    }
    let document = serde_json::to_string(configs)
        .map_err(|e| CoreError::Invalid(format!("MCP servers: {e}")))?;
    manager
        .vault()?
        .put_session_mcp(&id.to_string(), &agentd_store::Secret::new(document))
        .await?;
    Ok(())
}
