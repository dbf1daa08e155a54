//! What the fuzz targets share: a runtime for the async decoders, a
//! deterministic way to cut a body into reads, and the safe-HTML check.
//! Panicking is the point here: a failed invariant is a finding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use futures::StreamExt;

/// One current-thread runtime for the whole process: the decoders need
/// tokio's timer (every read has an idle timeout), and building a runtime
/// per input would cost more than the decoding.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(future)
}

/// Cuts `body` into reads of 1–`max` bytes, sized by a small generator
/// seeded with `seed`, the way a socket may split a response anywhere
/// (inside a line ending or a UTF-8 character included).
pub fn reads(body: &[u8], seed: u8, max: usize) -> Vec<Result<Vec<u8>, String>> {
    let mut state = u32::from(seed) | 1;
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = (state as usize % max + 1).min(rest.len());
        let (read, tail) = rest.split_at(len);
        out.push(Ok(read.to_vec()));
        rest = tail;
    }
    out
}

/// Collects a decoder's whole output for a body delivered as `reads`.
pub fn collect_events<T>(
    decode: impl FnOnce(
        futures::stream::Iter<std::vec::IntoIter<Result<Vec<u8>, String>>>,
    ) -> futures::stream::BoxStream<'static, T>,
    reads: Vec<Result<Vec<u8>, String>>,
) -> Vec<T> {
    let stream = decode(futures::stream::iter(reads));
    block_on(stream.collect())
}

/// Elements that must never reach the page from model or user text.
const FORBIDDEN_TAGS: &[&str] = &[
    "script", "style", "iframe", "frame", "object", "embed", "svg", "math", "form", "link", "meta",
    "base", "textarea", "button", "select", "template", "noscript",
];

/// Checks sanitised HTML: no forbidden element, no event-handler or style
/// attribute, no URL with a scheme other than http(s)/mailto, and classes
/// only where the renderer puts them. Panics with the reason otherwise.
pub fn assert_safe_html(html: &str) {
    let lower = html.to_ascii_lowercase();
    for tag in FORBIDDEN_TAGS {
        assert!(
            !lower.contains(&format!("<{tag}")),
            "<{tag} in sanitised output: {html}"
        );
    }
    for tag in tags(html) {
        for (name, value) in &tag.attributes {
            let name = name.to_ascii_lowercase();
            assert!(
                !name.starts_with("on") && name != "style" && name != "srcdoc",
                "attribute {name} on <{}> in: {html}",
                tag.name
            );
            if name == "href" || name == "src" || name == "action" || name == "formaction" {
                assert_safe_url(value, html);
            }
            if name == "class" {
                let prefix = match tag.name.as_str() {
                    "code" => "language-",
                    "span" => "hl-",
                    other => panic!("class on <{other}> in: {html}"),
                };
                assert!(
                    value
                        .split_ascii_whitespace()
                        .all(|c| c.starts_with(prefix)),
                    "class {value:?} on <{}> in: {html}",
                    tag.name
                );
            }
        }
    }
}

fn assert_safe_url(value: &str, html: &str) {
    // As a browser reads it: the attribute's character references decoded
    // (html5ever writes only these three), leading and trailing C0
    // controls and spaces dropped, tabs and newlines dropped anywhere, so
    // `java\tscript:` is still `javascript:`.
    let decoded = value
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let url: String = decoded
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    // A scheme is a letter, then letters, digits, `+`, `-` or `.`, then
    // `:`; anything else before the first `:` makes a relative URL.
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if let Some(scheme) = scheme
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        assert!(
            matches!(scheme.as_str(), "http" | "https" | "mailto"),
            "URL with scheme {scheme:?} ({value:?}) in: {html}"
        );
    }
}

struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// The start tags of serialised HTML as html5ever writes it: text is
/// escaped, so `<` starts a tag; attribute values are double-quoted and may
/// contain `>`.
fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' || bytes.get(i + 1).is_none_or(|b| !b.is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        i += 1;
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
            i += 1;
        }
        let name = html[name_start..i]
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let mut attributes = Vec::new();
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' || bytes[i] == b'/' {
                break;
            }
            let attr_start = i;
            while i < bytes.len() && !matches!(bytes[i], b'=' | b'>' | b' ' | b'/') {
                i += 1;
            }
            let attr = html[attr_start..i].to_owned();
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') && bytes.get(i + 1) == Some(&b'"') {
                let value_start = i + 2;
                let end = html[value_start..]
                    .find('"')
                    .map_or(bytes.len(), |e| value_start + e);
                value = html[value_start..end].to_owned();
                i = end + 1;
            }
            attributes.push((attr, value));
        }
        out.push(Tag { name, attributes });
    }
    out
}
