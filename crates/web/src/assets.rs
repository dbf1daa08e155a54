//! The embedded files of `assets/`, looked up by URL path.

use std::borrow::Cow;

use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Files;

/// What the page may load: only its own scripts, styles and API, nothing
/// inline (Markdown arrives sanitized, and is inserted as HTML only after
/// that), and it may not be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; \
manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// One file of the UI.
pub struct Asset {
    pub bytes: Cow<'static, [u8]>,
    pub content_type: &'static str,
    /// A strong validator for `ETag` / `If-None-Match`.
    pub etag: String,
}

/// The file for a URL path (`/` is the page itself), if there is one.
pub fn asset(url_path: &str) -> Option<Asset> {
    let name = match url_path.trim_start_matches('/') {
        "" | "index.html" => "index.html",
        other => other,
    };
    // rust-embed never leaves its folder, but say so: no `..` anywhere.
    if name.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let file = Files::get(name)?;
    let digest = Sha256::digest(&file.data);
    let etag = format!(
        "\"{}\"",
        digest
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Some(Asset {
        content_type: content_type(name),
        bytes: file.data,
        etag,
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_page_and_its_modules_are_embedded_with_their_types() {
        let page = asset("/").expect("index");
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        assert!(String::from_utf8_lossy(&page.bytes).contains("app.js"));
        assert_eq!(
            asset("/js/app.js").expect("app").content_type,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            asset("/manifest.webmanifest")
                .expect("manifest")
                .content_type,
            "application/manifest+json"
        );
        assert!(asset("/sw.js").is_some());
        assert!(asset("/nope.js").is_none());
        assert!(asset("/js/../index.html").is_none());
    }

    #[test]
    fn every_file_the_service_worker_caches_exists() {
        let sw = asset("/sw.js").expect("sw");
        let text = String::from_utf8_lossy(&sw.bytes);
        let start = text.find("const SHELL = [").expect("SHELL list");
        let list = &text[start..start + text[start..].find("];").expect("end of SHELL")];
        let paths: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        assert!(paths.len() > 10, "{paths:?}");
        for path in paths {
            assert!(
                asset(path).is_some(),
                "sw.js caches {path}, which does not exist"
            );
        }
    }

    /// Every event type the page's JavaScript names is one the protocol
    /// defines (a renamed event would otherwise just stop rendering), the
    /// types `stream.js` listens for are the ones the modules dispatch on
    /// (the conversation's `switch`), and each protocol event is either listened for or named
    /// below as not shown.
    #[test]
    fn the_ui_names_only_protocol_events_and_ignores_none_silently() {
        /// Protocol events the page does not show, and why.
        const NOT_SHOWN: &[&str] = &[
            // Hook runs are for the audit log; what a hook changes (a
            // refused tool, a turn that goes on) reaches the page through
            // the tool and turn events.
            "hook.completed",
        ];
        let protocol: BTreeSet<&str> = agentd_protocol::EventData::TYPES.iter().copied().collect();
        let quoted = |text: &str| -> BTreeSet<String> {
            text.split('\'')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };

        // The SSE event names the stream subscribes to.
        let stream = js("js/stream.js");
        let subscribed = quoted(between(&stream, "const TYPES = [", "];"));
        assert!(subscribed.len() > 10, "{subscribed:?}");

        // Every event type any module dispatches on: `switch (env.type)`
        // cases and `env.type === '…'` tests.
        let mut dispatched = BTreeSet::new();
        for path in Files::iter().filter(|p| p.ends_with(".js")) {
            let text = js(&path);
            for (at, _) in text.match_indices("switch (env.type) {") {
                let body = between(&text[at..], "{", "default:");
                dispatched.extend(
                    body.split("case '")
                        .skip(1)
                        .filter_map(|c| c.split_once('\'').map(|(name, _)| name.to_owned())),
                );
            }
            for op in ["env.type === '", "env.type == '"] {
                dispatched.extend(
                    text.split(op)
                        .skip(1)
                        .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name.to_owned())),
                );
            }
        }
        assert!(dispatched.len() > 10, "{dispatched:?}");

        for name in subscribed.iter().chain(&dispatched) {
            assert!(
                protocol.contains(name.as_str()),
                "the UI handles `{name}`, which agentd-protocol does not define"
            );
        }
        assert_eq!(
            subscribed, dispatched,
            "stream.js listens for (left) and the modules dispatch on (right) different events"
        );
        for name in &protocol {
            assert!(
                subscribed.contains(*name) != NOT_SHOWN.contains(name),
                "`{name}`: listen for it in stream.js and render it, or list it in NOT_SHOWN (not both)"
            );
        }
    }

    fn js(path: &str) -> String {
        let file = Files::get(path).unwrap_or_else(|| panic!("{path} is embedded"));
        String::from_utf8(file.data.into_owned()).expect("UTF-8")
    }

    /// The text between the first `start` and the next `end` after it.
    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
        let to = text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
        &text[from..from + to]
    }

    #[test]
    fn etags_follow_content() {
        let a = asset("/").expect("index").etag;
        assert_eq!(a, asset("/index.html").expect("index").etag);
        assert_ne!(a, asset("/style.css").expect("css").etag);
    }
}
