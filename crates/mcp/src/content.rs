//! Turns an MCP tool result into the text the model gets back.
//!
//! Tool results for the model are text here, so text blocks are joined and
//! everything else is summarized in one bracketed line (`[image: image/png,
//! 1234 bytes]`) rather than pasting kilobytes of base64 into the context.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// Joins the blocks of `result`, one per line. A result with no content but
/// `structuredContent` shows that JSON instead, so it is not lost.
pub(crate) fn render(result: &CallToolResult) -> String {
    let text = result
        .content
        .iter()
        .map(render_block)
        .collect::<Vec<_>>()
        .join("\n");
    match (&result.structured_content, text.is_empty()) {
        (Some(structured), true) => structured.to_string(),
        _ => text,
    }
}

fn render_block(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => {
            format!(
                "[image: {}, {} bytes]",
                image.mime_type,
                base64_len(&image.data)
            )
        }
        ContentBlock::Audio(audio) => {
            format!(
                "[audio: {}, {} bytes]",
                audio.mime_type,
                base64_len(&audio.data)
            )
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            // Embedded text is content the server meant the model to read.
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource: {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource: {uri}, {}, {} bytes]",
                mime_type.as_deref().unwrap_or("application/octet-stream"),
                base64_len(blob)
            ),
            _ => String::from("[resource: unsupported contents]"),
        },
        ContentBlock::ResourceLink(link) => {
            format!("[resource link: {} <{}>]", link.name, link.uri)
        }
        // `ContentBlock` is non-exhaustive: a newer kind is named, not guessed at.
        _ => String::from("[unsupported content block]"),
    }
}

/// The decoded size of base64 `data`, without decoding it: every 4 symbols
/// (padding dropped) carry 3 bytes.
fn base64_len(data: &str) -> usize {
    data.trim_end().trim_end_matches('=').len() * 3 / 4
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use rmcp::model::Resource;

    use super::*;

    #[test]
    fn base64_sizes_match_the_decoded_length() {
        assert_eq!(base64_len(""), 0);
        assert_eq!(base64_len("QQ=="), 1);
        assert_eq!(base64_len("QUI="), 2);
        assert_eq!(base64_len("QUJD"), 3);
        assert_eq!(base64_len("QUJDRA"), 4); // unpadded
    }

    #[test]
    fn text_is_joined_and_binary_summarized() {
        let result = CallToolResult::success(vec![
            ContentBlock::text("Here's the image:"),
            ContentBlock::image("QUJD", "image/png"),
            ContentBlock::embedded_text("file:///a.txt", "hello"),
            ContentBlock::resource_link(Resource::new("file:///b", "b")),
        ]);
        assert_eq!(
            render(&result),
            "Here's the image:\n[image: image/png, 3 bytes]\n[resource: file:///a.txt]\nhello\n[resource link: b <file:///b>]"
        );
    }

    #[test]
    fn structured_content_stands_in_for_missing_text() {
        let mut result = CallToolResult::success(vec![]);
        result.structured_content = Some(serde_json::json!({"sum": 3}));
        assert_eq!(render(&result), r#"{"sum":3}"#);
    }
}
