//! `X-Hub-Signature-256` verification: HMAC-SHA256 of the exact raw body,
//! keyed with the webhook secret, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::webhook::WebhookError;

/// The header GitHub signs deliveries with (the SHA-1 `X-Hub-Signature` is
/// legacy and not accepted here).
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";
/// Bytes in an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// Checks a delivery's `X-Hub-Signature-256` header (`sha256=<hex>`) against
/// `raw_body`, which must be the bytes exactly as received: re-serialised
/// JSON would not match. An empty secret is refused, since anyone could
/// sign with it.
pub fn verify_signature(
    secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::EmptySecret);
    }
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex = header
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(WebhookError::MalformedSignature)?;
    let tag = decode_hex(hex).ok_or(WebhookError::MalformedSignature)?;
    if tag.len() != TAG_LEN {
        return Err(WebhookError::MalformedSignature);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| WebhookError::EmptySecret)?;
    mac.update(raw_body);
    // `verify_slice` compares in constant time, so timing leaks nothing
    // about how much of a forged tag was right.
    mac.verify_slice(&tag)
        .map_err(|_| WebhookError::SignatureMismatch)
}

/// `sha256=<lowercase hex>` for `raw_body`: what GitHub would send. For
/// tests and for tools that replay deliveries.
pub fn sign(secret: &[u8], raw_body: &[u8]) -> String {
    let mut out = String::with_capacity(PREFIX.len() + 2 * TAG_LEN);
    out.push_str(PREFIX);
    // HMAC takes keys of any length, so this cannot fail; an empty string
    // (which never verifies) is the harmless answer if it ever did.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(raw_body);
    for byte in mac.finalize().into_bytes().iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Hex to bytes; either case is accepted, odd lengths and other
/// characters are not.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";

    #[test]
    fn matches_githubs_documented_example() {
        // From docs.github.com "Validating webhook deliveries".
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(SECRET, BODY), expected);
        assert_eq!(verify_signature(SECRET, BODY, Some(expected)), Ok(()));
    }

    #[test]
    fn uppercase_hex_and_surrounding_space_are_accepted() {
        let header = format!(
            " {} ",
            sign(SECRET, BODY)
                .to_uppercase()
                .replace("SHA256=", "sha256=")
        );
        assert_eq!(verify_signature(SECRET, BODY, Some(&header)), Ok(()));
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let good = sign(SECRET, BODY);
        assert_eq!(
            verify_signature(SECRET, BODY, None),
            Err(WebhookError::MissingSignature)
        );
        for malformed in [
            "",
            "sha256=",
            "sha1=abcd",
            "sha256=zz",
            "sha256=abc",
            "sha256=abcd",
        ] {
            assert_eq!(
                verify_signature(SECRET, BODY, Some(malformed)),
                Err(WebhookError::MalformedSignature),
                "{malformed:?}"
            );
        }
        assert_eq!(
            verify_signature(b"another secret", BODY, Some(&good)),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify_signature(SECRET, b"Hello, World?", Some(&good)),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify_signature(b"", BODY, Some(&sign(b"", BODY))),
            Err(WebhookError::EmptySecret)
        );
    }
}
