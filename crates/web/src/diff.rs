//! Unified diffs for the page's edit cards, by `similar` (the same crate
//! the tools count changed lines with), so the page needs no diff code.

use std::time::Duration;

use similar::TextDiff;

/// Past this, Myers' diff approximates instead of stalling on huge rewrites.
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);
/// Largest side diffed; the page shows no diff for bigger texts.
pub const MAX_DIFF_BYTES: usize = 256 * 1024;

/// The unified diff (3 lines of context) from `old` to `new`, headed with
/// `path`; `None` when either side is too large to diff here.
pub fn unified_diff(path: &str, old: &str, new: &str) -> Option<String> {
    if old.len() > MAX_DIFF_BYTES || new.len() > MAX_DIFF_BYTES {
        return None;
    }
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn shows_removed_and_added_lines() {
        assert_eq!(
            unified_diff("src/a.rs", "one\ntwo\n", "one\n2\n").as_deref(),
            Some("--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n")
        );
    }

    #[test]
    fn refuses_huge_inputs() {
        assert_eq!(unified_diff("x", &"a".repeat(MAX_DIFF_BYTES + 1), ""), None);
    }
}
