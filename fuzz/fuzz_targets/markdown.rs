//! Markdown → safe HTML (`agentd_web::render_markdown`): model text and,
//! through it, whatever the model read, inserted into the page as HTML.
//!
//! Input: the Markdown. Run with `-max_len` (scripts/fuzz passes 4 KiB)
//! and `-timeout`, so slow inputs are found and reported instead of
//! stalling the run: rendering is bounded by input size, not nesting, at
//! the time of writing, and deep `>` nesting is quadratic (issue 12).
//! Invariants: nothing panics; the output passes the safe-HTML check (no
//! script, style, frames or forms, no event handlers or inline styles, no
//! URL scheme but http(s)/mailto, classes only where the renderer puts
//! them); rendering is deterministic.
#![no_main]

use agentd_fuzz::assert_safe_html;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = agentd_web::render_markdown(text);
    assert_safe_html(&html);
});
