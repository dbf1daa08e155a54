//! Syntax highlighting of fenced code blocks, by syntect with Sublime
//! Text's grammars. Output is class-based (`<span class="hl-keyword …">`),
//! not inline styles: the page's CSS (`style.css`, light and dark) colours
//! it, and the sanitiser can allow exactly these classes and nothing else.

use std::sync::LazyLock;
use std::time::Instant;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Every class the highlighter emits starts with this.
pub const CLASS_PREFIX: &str = "hl-";

/// Larger blocks are shown plain: highlighting is linear but not cheap,
/// and a model can print a lot.
const MAX_HIGHLIGHT_BYTES: usize = 64 * 1024;

// Loading the grammars takes tens of milliseconds: once per process.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// The highlighted HTML of `code` (escaped text in `<span>`s) for a fence's
/// language token (`rust`, `py`, `sh`…); `None` for an unknown language or
/// a block too large, or one not done by `deadline`, which the caller
/// shows plain.
pub fn highlight(code: &str, lang: &str, deadline: Option<Instant>) -> Option<String> {
    if lang.is_empty() || code.len() > MAX_HIGHLIGHT_BYTES {
        return None;
    }
    let syntax = SYNTAXES.find_syntax_by_token(lang)?;
    let mut html = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        &SYNTAXES,
        ClassStyle::SpacedPrefixed {
            prefix: CLASS_PREFIX,
        },
    );
    for line in LinesWithEndings::from(code) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        // A grammar error leaves the block plain rather than half-coloured.
        html.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(html.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_classed_spans() {
        let html = highlight("fn main() { let x = \"s\"; }\n", "rust", None).expect("rust");
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(html.contains("hl-keyword"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn code_stays_escaped() {
        let html = highlight("echo '<b>'\n", "sh", None).expect("sh");
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn unknown_or_huge_blocks_are_left_plain() {
        assert_eq!(highlight("x", "no-such-language", None), None);
        assert_eq!(highlight("x", "", None), None);
        assert_eq!(
            highlight(&"x\n".repeat(MAX_HIGHLIGHT_BYTES), "rust", None),
            None
        );
    }

    #[test]
    fn a_passed_deadline_leaves_the_block_plain() {
        assert!(
            highlight(
                "fn a() {}\n",
                "rust",
                Some(Instant::now() + std::time::Duration::from_secs(60))
            )
            .is_some()
        );
        assert_eq!(highlight("fn a() {}\n", "rust", Some(Instant::now())), None);
    }
}
