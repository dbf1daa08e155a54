//! Line counts for [`crate::FileChange`].

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

/// Past this, Myers' diff approximates instead of stalling on huge rewrites.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// (lines added, lines removed) going from `old` to `new`.
pub(crate) fn line_counts(old: &str, new: &str) -> (u64, u64) {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_changed_lines() {
        assert_eq!(line_counts("", "a\nb\n"), (2, 0));
        assert_eq!(line_counts("a\nb\nc\n", "a\nB\nc\nd\n"), (2, 1));
        assert_eq!(line_counts("a\n", "a\n"), (0, 0));
        assert_eq!(line_counts("a\nb\n", ""), (0, 2));
    }
}
