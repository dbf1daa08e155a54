//! The web UI: our own HTML, CSS and JavaScript modules embedded in the
//! binary (no Node.js in the build), and the Markdown and diff renderers
//! the page asks the server for.
//!
//! Architecture invariant: no HTTP framework, store or session types; the
//! server decides routes, authentication and headers, this crate only
//! supplies bytes, their content types and safe HTML.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod assets;
mod diff;
mod highlight;
mod markdown;

pub use assets::{Asset, CONTENT_SECURITY_POLICY, asset};
pub use diff::{MAX_DIFF_BYTES, unified_diff};
pub use markdown::{
    MAX_HTML_BYTES, MAX_MARKDOWN_BYTES, MAX_NESTING, MAX_RAW_HTML_TAGS, TooComplex,
    render_markdown, render_markdown_until,
};
