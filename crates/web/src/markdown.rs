//! Markdown → safe HTML for the conversation: CommonMark with tables,
//! strikethrough and task lists by pulldown-cmark, then ammonia's allow-list
//! sanitiser, because the text comes from a model (and through it from
//! whatever it read) and is inserted into the page as HTML. Fenced code
//! blocks in a known language are highlighted (`highlight.rs`); the
//! sanitiser keeps only the highlighter's `hl-*` classes on `<span>`.

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

use crate::highlight::{CLASS_PREFIX, highlight};

/// Largest input rendered; longer text is cut (on a character boundary).
pub const MAX_MARKDOWN_BYTES: usize = 512 * 1024;

/// Renders `text` as sanitized HTML. Links get `rel="noopener noreferrer"`;
/// scripts, styles, event handlers and `javascript:` URLs never survive.
pub fn render_markdown(text: &str) -> String {
    let text = truncate(text, MAX_MARKDOWN_BYTES);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, with_highlighting(Parser::new_ext(text, options)));
    ammonia::Builder::default()
        .add_tag_attributes("code", &["class"])
        .add_tag_attributes("span", &["class"])
        .add_tag_attributes("input", &["type", "checked", "disabled"])
        .add_tags(&["input"])
        .attribute_filter(only_known_classes)
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string()
}

/// Replaces each fenced block in a language the highlighter knows by its
/// highlighted HTML; everything else passes through unchanged.
fn with_highlighting<'a>(
    events: impl Iterator<Item = Event<'a>>,
) -> impl Iterator<Item = Event<'a>> {
    let mut fence: Option<(String, String)> = None; // (language, code so far)
    events.flat_map(move |event| match (&mut fence, event) {
        (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))) => {
            let lang = info.split([' ', ',', '{']).next().unwrap_or("").to_owned();
            fence = Some((lang, String::new()));
            vec![]
        }
        (Some((_, code)), Event::Text(t)) => {
            code.push_str(&t);
            vec![]
        }
        (Some(_), Event::End(TagEnd::CodeBlock)) => {
            let Some((lang, code)) = fence.take() else {
                return vec![];
            };
            vec![Event::Html(CowStr::from(code_block(&lang, &code)))]
        }
        (_, event) => vec![event],
    })
}

/// `<pre><code class="language-…">` as pulldown-cmark writes it, with the
/// highlighted spans inside when the language is known.
fn code_block(lang: &str, code: &str) -> String {
    let class = if lang.is_empty() {
        String::new()
    } else {
        format!(" class=\"language-{}\"", escape(lang))
    };
    let body = highlight(code, lang).unwrap_or_else(|| escape(code).into_owned());
    format!("<pre><code{class}>{body}</code></pre>\n")
}

fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    )
}

/// Classes survive only where the renderer put them: `language-*` on
/// `<code>`, the highlighter's `hl-*` on `<span>`. Anything a model writes
/// in raw HTML (`<span class="…">`) loses its other classes, so it cannot
/// borrow the page's own styles.
fn only_known_classes<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let prefix = match (element, attribute) {
        ("code", "class") => "language-",
        ("span", "class") => CLASS_PREFIX,
        _ => return Some(Cow::Borrowed(value)),
    };
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|class| class.starts_with(prefix))
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(Cow::Owned(kept.join(" ")))
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn renders_common_markdown() {
        assert_eq!(
            render_markdown("# Title\n\nSome **bold** and `code`."),
            "<h1>Title</h1>\n<p>Some <strong>bold</strong> and <code>code</code>.</p>\n"
        );
        let fenced = render_markdown("```rust\nfn main() {}\n```");
        assert!(
            fenced.contains("<code class=\"language-rust\">"),
            "{fenced}"
        );
        assert!(render_markdown("| a |\n|---|\n| 1 |").contains("<table>"));
    }

    #[test]
    fn removes_what_could_run_in_the_page() {
        let html = render_markdown(
            "<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) <a href=\"https://e.x\" onclick=\"y()\">l</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(
            html.contains("<a rel=\"noopener noreferrer\">x</a>"),
            "{html}"
        );
        assert!(!html.contains("onclick"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
    }

    #[test]
    fn fenced_code_is_highlighted_with_classes_only() {
        let html = render_markdown("```rust\nfn main() { let s = \"<x>\"; }\n```\n");
        assert!(
            html.starts_with(
                "<pre><code class=\"language-rust\"><span class=\"hl-source hl-rust\">"
            ),
            "{html}"
        );
        assert!(html.contains("hl-keyword"), "{html}");
        assert!(html.contains("&lt;x&gt;"), "{html}");
        assert!(!html.contains("style="), "{html}");
        // Unknown languages and indented blocks stay plain and escaped.
        assert_eq!(
            render_markdown("```nolang\n<b>\n```"),
            "<pre><code class=\"language-nolang\">&lt;b&gt;\n</code></pre>\n"
        );
        assert_eq!(
            render_markdown("    a < b\n"),
            "<pre><code>a &lt; b\n</code></pre>\n"
        );
    }

    #[test]
    fn raw_html_cannot_use_other_classes_or_styles() {
        let html = render_markdown(
            "<span class=\"toast hl-keyword\" style=\"color:red\">x</span> <code class=\"approval\">y</code>",
        );
        assert!(
            html.contains("<span class=\"hl-keyword\">x</span>"),
            "{html}"
        );
        assert!(html.contains("<code>y</code>"), "{html}");
        assert!(!html.contains("style"), "{html}");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_MARKDOWN_BYTES);
        assert!(render_markdown(&text).len() < MAX_MARKDOWN_BYTES * 2);
    }
}
