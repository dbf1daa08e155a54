//! Tool names as the model sees them: `mcp__<server>__<tool>`.
//!
//! The Anthropic API accepts tool names matching `^[a-zA-Z0-9_-]{1,64}$`, while
//! MCP tool names may contain dots, slashes or anything else and be of any
//! length. So:
//!
//! - every character outside `[A-Za-z0-9_-]` becomes `_`;
//! - a name longer than [`MAX_TOOL_NAME_LEN`] is cut and ends in `_` plus 8 hex
//!   digits of a hash of the *original* server and tool names, so two long
//!   names sharing a prefix stay distinct and a name is stable across runs;
//! - when two tools of one server still map to the same name (`a.b` and
//!   `a_b`), [`crate::McpToolset`] gives the later one (in the server's order)
//!   the hashed form of its original name, and skips it with a warning in the
//!   practically impossible case that this collides too.
//!
//! The tool is always called on the server by its original name.

/// The longest tool name the Anthropic API accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

const PREFIX: &str = "mcp__";
const SEPARATOR: &str = "__";
/// `_` plus 8 hex digits.
const HASH_SUFFIX_LEN: usize = 9;

/// Replaces every character outside `[A-Za-z0-9_-]` with `_`; an empty name
/// becomes `_`.
pub fn sanitize_tool_name(name: &str) -> String {
    if name.is_empty() {
        return String::from("_");
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The name the model sees for `tool` of `server`, at most
/// [`MAX_TOOL_NAME_LEN`] characters (see the module docs for the rules).
pub fn tool_spec_name(server: &str, tool: &str) -> String {
    let full = format!(
        "{PREFIX}{}{SEPARATOR}{}",
        sanitize_tool_name(server),
        sanitize_tool_name(tool)
    );
    if full.len() <= MAX_TOOL_NAME_LEN {
        full
    } else {
        hashed(&full, server, tool)
    }
}

/// The collision fallback: always the hashed form, even when short.
pub(crate) fn disambiguated_spec_name(server: &str, tool: &str) -> String {
    let full = format!(
        "{PREFIX}{}{SEPARATOR}{}",
        sanitize_tool_name(server),
        sanitize_tool_name(tool)
    );
    hashed(&full, server, tool)
}

fn hashed(full: &str, server: &str, tool: &str) -> String {
    // `full` is ASCII after sanitizing, so byte truncation is on a char boundary.
    let keep = full.len().min(MAX_TOOL_NAME_LEN - HASH_SUFFIX_LEN);
    let hash = fnv1a(&[server.as_bytes(), b"\0", tool.as_bytes()]);
    format!("{}_{:08x}", &full[..keep], hash as u32)
}

/// FNV-1a: tiny and, unlike `DefaultHasher`, specified, so a tool keeps its
/// name across agentd versions (the model's prompt cache and transcripts refer
/// to it).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn short_names_are_prefixed_and_sanitized() {
        assert_eq!(
            tool_spec_name("everything", "echo"),
            "mcp__everything__echo"
        );
        assert_eq!(
            tool_spec_name("fs", "read.file/v2"),
            "mcp__fs__read_file_v2"
        );
        assert_eq!(tool_spec_name("fs", "get-sum"), "mcp__fs__get-sum");
        assert_eq!(tool_spec_name("fs", "naïve"), "mcp__fs__na_ve");
        assert_eq!(tool_spec_name("fs", ""), "mcp__fs___");
    }

    #[test]
    fn long_names_are_cut_to_64_with_a_stable_distinct_hash() {
        let a = tool_spec_name("server", &format!("{}_a", "x".repeat(80)));
        let b = tool_spec_name("server", &format!("{}_b", "x".repeat(80)));
        assert_eq!(a.len(), MAX_TOOL_NAME_LEN);
        assert_eq!(b.len(), MAX_TOOL_NAME_LEN);
        assert_ne!(a, b);
        assert!(a.starts_with("mcp__server__xxxx"));
        assert_eq!(
            a,
            tool_spec_name("server", &format!("{}_a", "x".repeat(80)))
        );
        // Exactly 64 fits as is.
        let exact = "t".repeat(64 - "mcp__s__".len());
        assert_eq!(tool_spec_name("s", &exact), format!("mcp__s__{exact}"));
    }

    #[test]
    fn colliding_names_get_distinct_hashed_forms() {
        assert_eq!(tool_spec_name("s", "a.b"), tool_spec_name("s", "a_b"));
        let first = disambiguated_spec_name("s", "a.b");
        let second = disambiguated_spec_name("s", "a_b");
        assert_ne!(first, second);
        assert!(first.starts_with("mcp__s__a_b_"));
        assert!(first.len() <= MAX_TOOL_NAME_LEN);
    }

    #[test]
    fn every_name_uses_the_api_alphabet() {
        let name = tool_spec_name("my-server", "ツール 🔧/read");
        assert!(name.len() <= MAX_TOOL_NAME_LEN);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{name}"
        );
    }
}
