//! What belongs to a user rather than a session: their stored credentials,
//! their saved MCP servers, and the limits and budgets they run under.

pub(crate) mod credentials;
pub(crate) mod limits;
pub(crate) mod mcp_servers;
