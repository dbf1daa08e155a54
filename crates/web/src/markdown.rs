//! Markdown → safe HTML for the conversation: CommonMark with tables,
//! strikethrough and task lists by pulldown-cmark, then ammonia's allow-list
//! sanitiser, because the text comes from a model (and through it from
//! whatever it read) and is inserted into the page as HTML.

use pulldown_cmark::{Options, Parser, html};

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
    html::push_html(&mut out, Parser::new_ext(text, options));
    ammonia::Builder::default()
        .add_tag_attributes("code", &["class"])
        .add_tag_attributes("input", &["type", "checked", "disabled"])
        .add_tags(&["input"])
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string()
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
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_MARKDOWN_BYTES);
        assert!(render_markdown(&text).len() < MAX_MARKDOWN_BYTES * 2);
    }
}
