//! Repository names out of the forms users and payloads give them, and the
//! escaping that keeps them and branch names from reshaping a request URL.

/// `(owner, repo)` from `owner/name`, an https URL (`https://github.com/o/r`,
/// with or without `.git`, credentials or a trailing slash, any host so
/// GitHub Enterprise works) or an ssh remote (`git@github.com:o/r.git`,
/// `ssh://git@host/o/r.git`). `None` for anything else, including names
/// with characters GitHub does not allow.
pub fn parse_repo(url_or_full_name: &str) -> Option<(String, String)> {
    let s = url_or_full_name.trim();
    let path = if let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .or_else(|| s.strip_prefix("ssh://"))
        .or_else(|| s.strip_prefix("git://"))
    {
        // Drop `user:password@host:port`; what follows the first `/` is the path.
        let (_authority, path) = rest.split_once('/')?;
        path
    } else if let Some((authority, path)) = s.split_once(':') {
        // scp-like `git@host:owner/name.git`; a bare `owner/name` has no colon.
        if authority.is_empty() || authority.contains('/') {
            return None;
        }
        path
    } else {
        s
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    (valid_owner(owner) && valid_name(name)).then(|| (owner.to_owned(), name.to_owned()))
}

/// Logins are letters, digits and hyphens (underscores appear on GitHub
/// Enterprise, where logins can come from an identity provider).
fn valid_owner(owner: &str) -> bool {
    !owner.is_empty()
        && owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a
/// value is safe as a path segment or query value (`feature/x` →
/// `feature%2Fx`, `a+b` → `a%2Bb`).
pub(crate) fn encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(s: &str) -> Option<(String, String)> {
        parse_repo(s)
    }

    #[test]
    fn accepts_the_usual_forms() {
        let expected = Some(("octo-org".to_owned(), "hello.world".to_owned()));
        for input in [
            "octo-org/hello.world",
            " octo-org/hello.world\n",
            "https://github.com/octo-org/hello.world",
            "https://github.com/octo-org/hello.world.git",
            "https://github.com/octo-org/hello.world/",
            "http://ghe.example:8080/octo-org/hello.world.git",
            "https://x-access-token:secret@github.com/octo-org/hello.world.git",
            "git@github.com:octo-org/hello.world.git",
            "git@github.com:octo-org/hello.world",
            "ssh://git@github.com/octo-org/hello.world.git",
            "ssh://git@github.com:22/octo-org/hello.world.git",
        ] {
            assert_eq!(pair(input), expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for input in [
            "",
            "octo-org",
            "octo-org/",
            "/hello",
            "octo-org/hello/extra",
            "https://github.com/octo-org",
            "https://github.com/octo-org/hello/pull/3",
            "octo org/hello",
            "octo-org/..",
            "octo-org/hé",
            "file:///tmp/repo",
            "C:/repo/x",
        ] {
            assert_eq!(pair(input), None, "{input:?}");
        }
    }

    #[test]
    fn encodes_all_but_unreserved() {
        assert_eq!(encode("feature/x+y z"), "feature%2Fx%2By%20z");
        assert_eq!(encode("octo:main"), "octo%3Amain");
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
