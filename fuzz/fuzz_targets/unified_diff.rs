//! Unified diffs for the page's edit cards (`agentd_web::unified_diff`):
//! the path and both texts come from a tool call's input.
//!
//! Input: path, old text and new text separated by NUL bytes.
//! Invariants: nothing panics; `None` exactly when a side is over the
//! limit; equal texts give no hunk; every hunk header's line counts match
//! the lines under it, and the `-`/` ` lines rebuild the old text's lines
//! in order, the `+`/` ` lines the new text's.
#![no_main]

use agentd_web::{MAX_DIFF_BYTES, unified_diff};
use libfuzzer_sys::fuzz_target;

/// `@@ -a,b +c,d @@` → (b, d); a missing count is 1.
fn counts(header: &str) -> (usize, usize) {
    let inner = header
        .trim_start_matches("@@ ")
        .split(" @@")
        .next()
        .unwrap_or("");
    let mut parts = inner.split(' ');
    let count = |part: Option<&str>| -> usize {
        let range = part.unwrap_or("").trim_start_matches(['-', '+']);
        match range.split_once(',') {
            Some((_, n)) => n
                .parse()
                .unwrap_or_else(|_| panic!("bad hunk header {header:?}")),
            None => 1,
        }
    };
    (count(parts.next()), count(parts.next()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\0');
    let (path, old, new) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    // Paths are single lines in practice; a newline in one would make the
    // header ambiguous, which is not what this target checks.
    let path = path.replace(['\n', '\r'], "_");
    // `similar` also ends a line at a lone `\r` but writes no `\n` after
    // it, so such a diff's lines cannot be told apart by splitting; the
    // structural checks below skip those texts (it cannot panic either way).
    let lone_cr = |t: &str| t.replace("\r\n", "").contains('\r');
    if lone_cr(old) || lone_cr(new) {
        let _ = unified_diff(&path, old, new);
        return;
    }
    let diff = unified_diff(&path, old, new);
    let too_big = old.len() > MAX_DIFF_BYTES || new.len() > MAX_DIFF_BYTES;
    assert_eq!(diff.is_none(), too_big);
    let Some(diff) = diff else { return };
    if old == new {
        assert!(
            !diff.contains("\n@@ ") && !diff.starts_with("@@ "),
            "equal texts gave hunks: {diff:?}"
        );
        return;
    }

    let old_lines: Vec<&str> = old
        .split_inclusive('\n')
        .map(|l| l.trim_end_matches('\n'))
        .collect();
    let new_lines: Vec<&str> = new
        .split_inclusive('\n')
        .map(|l| l.trim_end_matches('\n'))
        .collect();
    let mut lines = diff.split('\n').peekable();
    // Header: `--- a/path` and `+++ b/path`.
    assert_eq!(
        lines.next(),
        Some(format!("--- a/{path}").as_str()),
        "{diff:?}"
    );
    assert_eq!(
        lines.next(),
        Some(format!("+++ b/{path}").as_str()),
        "{diff:?}"
    );
    let (mut old_seen, mut new_seen) = (Vec::new(), Vec::new());
    while let Some(header) = lines.next() {
        if header.is_empty() && lines.peek().is_none() {
            break;
        }
        assert!(
            header.starts_with("@@ -"),
            "expected a hunk header, got {header:?} in {diff:?}"
        );
        let (mut old_left, mut new_left) = counts(header);
        while old_left + new_left > 0 {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("hunk {header:?} is cut short in {diff:?}"));
            let (mark, rest) = line.split_at(line.len().min(1));
            let take = |left: usize| {
                left.checked_sub(1).unwrap_or_else(|| {
                    panic!("hunk {header:?} has more lines than it says in {diff:?}")
                })
            };
            match mark {
                " " => {
                    old_left = take(old_left);
                    new_left = take(new_left);
                    old_seen.push(rest);
                    new_seen.push(rest);
                }
                "-" => {
                    old_left = take(old_left);
                    old_seen.push(rest);
                }
                "+" => {
                    new_left = take(new_left);
                    new_seen.push(rest);
                }
                _ => panic!("unexpected line {line:?} in hunk {header:?} of {diff:?}"),
            }
            if lines.peek() == Some(&"\\ No newline at end of file") {
                lines.next();
            }
        }
    }
    // Each hunk's lines appear in the texts in order.
    let in_order = |seen: &[&str], all: &[&str]| {
        let mut all = all.iter();
        seen.iter().all(|s| all.any(|a| a == s))
    };
    assert!(
        in_order(&old_seen, &old_lines),
        "old lines out of order in {diff:?}"
    );
    assert!(
        in_order(&new_seen, &new_lines),
        "new lines out of order in {diff:?}"
    );
});
