//! What a user configures for one MCP server, and the checks it must pass
//! before anything is spawned or dialled.

use std::collections::BTreeMap;

use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::error::McpError;

/// What [`McpServerConfig::redacted`] puts in place of every secret.
pub const REDACTED: &str = "***";

/// Headers rmcp's Streamable HTTP client sets itself; a config that sets them
/// would break the session, so it is rejected up front rather than at the
/// first request.
const RESERVED_HEADERS: &[&str] = &["accept", "mcp-session-id", "last-event-id", "content-type"];

/// A value that may be a credential (an env value, a header value).
///
/// It serializes as the plain string, because configs are stored and handed
/// to servers as they are, but `Debug` never shows it, so a config that ends up
/// in a log line or an error does not leak it. Views use
/// [`McpServerConfig::redacted`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for the one place that hands it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// One MCP server the agent may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServerConfig {
    /// `[A-Za-z0-9_-]{1,64}`, no `__` and no leading or trailing `_`: it
    /// becomes the middle part of `mcp__<server>__<tool>`.
    pub name: String,
    pub transport: McpTransport,
}

/// How to reach the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum McpTransport {
    /// A child process speaking JSON-RPC on stdin/stdout. `command` is run
    /// directly (looked up on `PATH`), never through a shell, so `args` are
    /// passed verbatim.
    Stdio {
        command: String,
        #[serde(default)]
        args: Vec<String>,
        /// Added to the inherited (secret-scrubbed) environment.
        #[serde(default)]
        env: BTreeMap<String, Secret>,
    },
    /// Streamable HTTP (MCP 2025-03-26 and later).
    Http {
        url: String,
        /// Sent with every request, e.g. `Authorization: Bearer …`.
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
    },
}

impl McpServerConfig {
    pub fn stdio(name: impl Into<String>, command: impl Into<String>, args: &[&str]) -> Self {
        Self {
            name: name.into(),
            transport: McpTransport::Stdio {
                command: command.into(),
                args: args.iter().map(|arg| (*arg).to_owned()).collect(),
                env: BTreeMap::new(),
            },
        }
    }

    pub fn http(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            transport: McpTransport::Http {
                url: url.into(),
                headers: BTreeMap::new(),
            },
        }
    }

    /// A copy safe to show: every env and header value becomes `"***"`.
    /// Keys stay, so a user can still see *which* variables are set.
    pub fn redacted(&self) -> Self {
        let hide = |map: &BTreeMap<String, Secret>| {
            map.keys()
                .map(|key| (key.clone(), Secret::new(REDACTED)))
                .collect()
        };
        let transport = match &self.transport {
            McpTransport::Stdio { command, args, env } => McpTransport::Stdio {
                command: command.clone(),
                args: args.clone(),
                env: hide(env),
            },
            McpTransport::Http { url, headers } => McpTransport::Http {
                url: url.clone(),
                headers: hide(headers),
            },
        };
        Self {
            name: self.name.clone(),
            transport,
        }
    }

    /// Checks everything that can be checked without starting the server.
    pub fn validate(&self) -> Result<(), McpError> {
        validate_name(&self.name)?;
        let server = Some(self.name.as_str());
        match &self.transport {
            McpTransport::Stdio { command, args, env } => {
                if command.trim().is_empty() {
                    return Err(McpError::config(server, "`command` is empty"));
                }
                if command.contains('\0') || args.iter().any(|arg| arg.contains('\0')) {
                    return Err(McpError::config(
                        server,
                        "command or args contain a NUL byte",
                    ));
                }
                for (key, value) in env {
                    if key.is_empty() || key.contains(['=', '\0']) {
                        return Err(McpError::config(
                            server,
                            format!("env name `{key}` is empty or contains `=` or NUL"),
                        ));
                    }
                    if value.expose().contains('\0') {
                        return Err(McpError::config(
                            server,
                            format!("env `{key}` contains a NUL byte"),
                        ));
                    }
                }
                Ok(())
            }
            McpTransport::Http { url, headers } => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| McpError::config(server, format!("`url` is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(McpError::config(
                        server,
                        format!("`url` must be http or https, not `{}`", parsed.scheme()),
                    ));
                }
                for (key, value) in headers {
                    header_pair(key, value).map_err(|reason| McpError::config(server, reason))?;
                }
                Ok(())
            }
        }
    }
}

/// The typed header the HTTP transport sends, or why it cannot be sent.
pub(crate) fn header_pair(key: &str, value: &Secret) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(key.as_bytes())
        .map_err(|_| format!("`{key}` is not a valid HTTP header name"))?;
    if RESERVED_HEADERS.contains(&name.as_str()) {
        return Err(format!("header `{key}` is set by the MCP client itself"));
    }
    // The value is a secret: say which header is wrong, never what it holds.
    let mut value = HeaderValue::from_str(value.expose())
        .map_err(|_| format!("the value of header `{key}` is not a valid HTTP header value"))?;
    value.set_sensitive(true);
    Ok((name, value))
}

fn validate_name(name: &str) -> Result<(), McpError> {
    let reason = if name.is_empty() || name.len() > 64 {
        Some("must be 1 to 64 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("may only contain A-Z, a-z, 0-9, `_` and `-`")
    } else if name.contains("__") || name.starts_with('_') || name.ends_with('_') {
        // `mcp__<server>__<tool>` is split on `__`; these would make it ambiguous.
        Some("may not contain `__` or start or end with `_`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(McpError::config(
            None,
            format!("server name `{name}` {reason}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn names_follow_the_tool_name_alphabet() {
        for ok in ["fs", "my-server", "a_b", "A1", &"x".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a.b", "a__b", "_a", "a_", "ü", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redacted_hides_values_but_keeps_keys() {
        let mut config = McpServerConfig::stdio("fs", "npx", &["-y", "srv"]);
        if let McpTransport::Stdio { env, .. } = &mut config.transport {
            env.insert("TOKEN".into(), "s3cret".into());
        }
        let shown = config.redacted();
        let McpTransport::Stdio { env, args, .. } = &shown.transport else {
            panic!("stdio stays stdio");
        };
        assert_eq!(env.get("TOKEN").unwrap().expose(), REDACTED);
        assert_eq!(args, &["-y", "srv"]);
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&shown).unwrap().contains("s3cret"));
    }

    #[test]
    fn http_config_is_checked_before_dialling() {
        let mut config = McpServerConfig::http("web", "ftp://example.com/mcp");
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("http or https")
        );

        config = McpServerConfig::http("web", "https://example.com/mcp");
        if let McpTransport::Http { headers, .. } = &mut config.transport {
            headers.insert("Authorization".into(), "Bearer x".into());
        }
        config.validate().unwrap();

        if let McpTransport::Http { headers, .. } = &mut config.transport {
            headers.insert("Mcp-Session-Id".into(), "x".into());
        }
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("Mcp-Session-Id")
        );
    }

    #[test]
    fn stdio_config_rejects_empty_commands_and_bad_env() {
        assert!(McpServerConfig::stdio("a", " ", &[]).validate().is_err());
        let mut config = McpServerConfig::stdio("a", "node", &[]);
        if let McpTransport::Stdio { env, .. } = &mut config.transport {
            env.insert("A=B".into(), "x".into());
        }
        assert!(config.validate().is_err());
    }
}
