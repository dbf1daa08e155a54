//! The markdown body of the pull request opened for a finished task.

use std::fmt::Write as _;

use crate::FileStat;

/// Files listed one by one; the rest are counted. GitHub caps a body at
/// 65,536 characters, and nobody reads a thousand-row table.
const MAX_ROWS: usize = 100;

/// Markdown for a pull request: the summary, a table of changed files, the
/// diff totals and the cost of the session, with a link to it when known.
pub fn pr_body(
    summary: &str,
    files: &[FileStat],
    cost_usd: f64,
    session_url: Option<&str>,
) -> String {
    let mut out = String::new();
    let summary = summary.trim();
    out.push_str("## Summary\n\n");
    out.push_str(if summary.is_empty() {
        "_No summary was given._"
    } else {
        summary
    });
    out.push_str("\n\n## Files changed\n\n");

    if files.is_empty() {
        out.push_str("No files changed.\n");
    } else {
        out.push_str("| File | Added | Removed |\n|---|---:|---:|\n");
        for f in files.iter().take(MAX_ROWS) {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "| {} | +{} | -{} |", cell(&f.path), f.added, f.removed);
        }
        if files.len() > MAX_ROWS {
            let _ = writeln!(out, "| _…and {} more_ | | |", files.len() - MAX_ROWS);
        }
        let added: u64 = files.iter().map(|f| f.added).sum();
        let removed: u64 = files.iter().map(|f| f.removed).sum();
        let _ = writeln!(
            out,
            "\n**{} {} changed**, {added} {}(+), {removed} {}(-)",
            files.len(),
            plural(files.len() as u64, "file", "files"),
            plural(added, "insertion", "insertions"),
            plural(removed, "deletion", "deletions"),
        );
    }

    let _ = write!(out, "\n---\n\nCost: {}", money(cost_usd));
    if let Some(url) = session_url.filter(|u| !u.trim().is_empty()) {
        // Angle brackets keep a URL with `)` or spaces from breaking the link.
        let _ = write!(out, " · [Session](<{}>)", url.trim().replace('>', "%3E"));
    }
    out.push_str("\n\n_Opened by agentd._\n");
    out
}

/// A path as a table cell: code-formatted, with `|` escaped so it cannot
/// split the row, and no newlines.
fn cell(path: &str) -> String {
    let flat = path.replace(['\n', '\r'], " ").replace('|', "\\|");
    if flat.contains('`') {
        flat
    } else {
        format!("`{flat}`")
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn money(usd: f64) -> String {
    if !usd.is_finite() || usd < 0.0 {
        "unknown".into()
    } else if usd > 0.0 && usd < 0.01 {
        "< $0.01".into()
    } else {
        format!("${usd:.2}")
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn stat(path: &str, added: u64, removed: u64) -> FileStat {
        FileStat {
            path: path.into(),
            added,
            removed,
        }
    }

    #[test]
    fn body_snapshot() {
        let body = pr_body(
            "Fix the parser.\n\nHandles empty input now.",
            &[stat("src/parse.rs", 12, 3), stat("a|b.md", 1, 0)],
            0.4237,
            Some("https://agentd.example/s/0190"),
        );
        assert_eq!(
            body,
            "## Summary\n\
             \n\
             Fix the parser.\n\
             \n\
             Handles empty input now.\n\
             \n\
             ## Files changed\n\
             \n\
             | File | Added | Removed |\n\
             |---|---:|---:|\n\
             | `src/parse.rs` | +12 | -3 |\n\
             | `a\\|b.md` | +1 | -0 |\n\
             \n\
             **2 files changed**, 13 insertions(+), 3 deletions(-)\n\
             \n\
             ---\n\
             \n\
             Cost: $0.42 · [Session](<https://agentd.example/s/0190>)\n\
             \n\
             _Opened by agentd._\n"
        );
    }

    #[test]
    fn body_without_files_or_link() {
        let body = pr_body("  ", &[], 0.001, None);
        assert_eq!(
            body,
            "## Summary\n\n_No summary was given._\n\n## Files changed\n\nNo files changed.\n\
             \n---\n\nCost: < $0.01\n\n_Opened by agentd._\n"
        );
    }

    #[test]
    fn long_lists_are_cut_and_counts_are_singular_when_one() {
        let files: Vec<FileStat> = (0..105).map(|i| stat(&format!("f{i}"), 1, 0)).collect();
        let body = pr_body("s", &files, 1.0, None);
        assert!(body.contains("| _…and 5 more_ | | |"));
        assert!(!body.contains("`f100`"));
        let one = pr_body("s", &[stat("x", 1, 1)], f64::NAN, None);
        assert!(one.contains("**1 file changed**, 1 insertion(+), 1 deletion(-)"));
        assert!(one.contains("Cost: unknown"));
    }
}
