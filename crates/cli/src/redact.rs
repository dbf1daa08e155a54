//! The one redaction layer of the server's log: every line `agentd serve`
//! writes passes through [`RedactingStderr`], which masks anything shaped
//! like a secret (API keys, agentd tokens, GitHub tokens, bearer values,
//! `password=…`, URL passwords) and the exact values of secrets the server
//! was started with. Code should never log a secret in the first place;
//! this is the net under that rule, not a licence to be careless.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{LazyLock, PoisonError, RwLock};

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;

const MASK: &str = "[REDACTED]";

/// Values shorter than this are not registered: masking a short common
/// string everywhere would garble the log without protecting much.
const MIN_KNOWN_LEN: usize = 8;

/// Environment variables whose values are secrets.
const SECRET_ENV: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "AGENTD_ADMIN_PASSWORD",
    "AGENTD_MASTER_KEY",
    "AGENTD_GITHUB_CLIENT_SECRET",
    "GITHUB_TOKEN",
    "AGENTD_GITHUB_WEBHOOK_SECRET",
];

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Patterns and their replacements, most specific first.
static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"sk-ant-[A-Za-z0-9_\-]{4,}", "sk-ant-[REDACTED]"),
        (r"\bsk-[A-Za-z0-9_\-]{8,}", "sk-[REDACTED]"),
        (r"\bagentd_(pat|at|rt|tk|ws|sh)_[0-9A-Za-z]{8,}", "agentd_${1}_[REDACTED]"),
        (r"\bgithub_pat_[A-Za-z0-9_]{8,}", "github_pat_[REDACTED]"),
        (r"\bgh([pousr])_[A-Za-z0-9]{8,}", "gh${1}_[REDACTED]"),
        (r"(?i)\b(bearer|token)(\s+)[A-Za-z0-9._~+/=\-]{8,}", "${1}${2}[REDACTED]"),
        (
            r#"(?i)\b(password|passwd|pwd|client_secret|secret|api_key|apikey|access_token|refresh_token|master_key)=[^&\s"',;]+"#,
            "${1}=[REDACTED]",
        ),
        (
            r#"(?i)"(password|client_secret|secret|api_key|access_token|refresh_token|token|master_key)"(\s*:\s*)"[^"]*""#,
            r#""${1}"${2}"[REDACTED]""#,
        ),
        (
            r#"(?i)\b(password|client_secret|secret|api_key|access_token|refresh_token|master_key)(\s*:\s*)"[^"]*""#,
            r#"${1}${2}"[REDACTED]""#,
        ),
        // postgres://user:password@host
        (r"(://[^:/@\s]+:)[^@\s/]+@", "${1}[REDACTED]@"),
    ]
    .into_iter()
    .filter_map(|(pattern, replacement)| Regex::new(pattern).ok().map(|r| (r, replacement)))
    .collect()
});

/// Also mask this exact value from now on (a secret from a flag or file).
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_KNOWN_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_owned());
    }
}

/// Registers the values of the environment's secret variables.
pub fn register_env() {
    for name in SECRET_ENV {
        if let Ok(value) = std::env::var(name) {
            register(&value);
        }
    }
}

/// `text` with every known secret value and secret-shaped string masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let known = KNOWN.read().unwrap_or_else(PoisonError::into_inner);
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
    }
    for (pattern, replacement) in PATTERNS.iter() {
        if let Cow::Owned(replaced) = pattern.replace_all(&out, *replacement) {
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// `MakeWriter` for the fmt layer: stderr, through [`redact`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        LineBuffer(Vec::new())
    }
}

/// Collects one event's output (the fmt layer makes a writer per event) so
/// a secret split across `write` calls is still seen whole, then writes it
/// redacted when dropped.
pub struct LineBuffer(Vec<u8>);

impl Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        // Nowhere to report a failed log write; dropping the line is all
        // that can happen.
        let _ = std::io::stderr().write_all(redact(&text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shapes_are_masked() {
        let cases = [
            ("key sk-ant-api03-AbC_dEf-123", "key sk-ant-[REDACTED]"),
            ("openai sk-proj-abcdefgh12345", "openai sk-[REDACTED]"),
            (
                "tok agentd_pat_0123456789abcdef0123",
                "tok agentd_pat_[REDACTED]",
            ),
            (
                "gh gho_16C7e42F292c6912E7710c838347Ae178B4a",
                "gh gho_[REDACTED]",
            ),
            ("ghp_abcdefghijklmnop", "ghp_[REDACTED]"),
            (
                "authorization: Bearer abc.def-ghi_jkl",
                "authorization: Bearer [REDACTED]",
            ),
            (
                "name=ann&password=hunter2hunter2&x=1",
                "name=ann&password=[REDACTED]&x=1",
            ),
            (
                r#"{"name":"ann","password":"p4ss word!"}"#,
                r#"{"name":"ann","password":"[REDACTED]"}"#,
            ),
            (
                r#"Login { password: "p4ss" }"#,
                r#"Login { password: "[REDACTED]" }"#,
            ),
            (
                "postgres://agentd:s3cret@db:5432/agentd",
                "postgres://agentd:[REDACTED]@db:5432/agentd",
            ),
            ("nothing to see here", "nothing to see here"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn registered_values_are_masked_exactly() {
        register("plain-looking-value-42");
        register("short");
        assert_eq!(
            redact("the value plain-looking-value-42 leaked; short stays"),
            "the value [REDACTED] leaked; short stays"
        );
    }
}
