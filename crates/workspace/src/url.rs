//! Which repository URLs we accept, and the cache key of each repository.
//!
//! URLs come from API callers, so they are checked before git sees them:
//! git treats `-…` as an option (`--upload-pack=<cmd>` runs a command) and
//! `<helper>::<address>` as a remote helper (`ext::<cmd>` runs a command).

use std::path::Path;

use crate::error::{WorkspaceError, redact};

/// A URL we accept, with what we know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoUrl {
    /// Exactly what git gets (may contain credentials: never show it).
    pub raw: String,
    /// The same with credentials replaced, for errors and stored records.
    pub display: String,
    /// The identity of the repository: scheme and host lowercased, no
    /// credentials, no trailing `/` or `.git`; scp-like and `file://` forms
    /// folded into `ssh://` and plain paths.
    pub normalized: String,
}

impl RepoUrl {
    /// Check `url` and work out its normalized form.
    pub fn parse(url: &str) -> Result<Self, WorkspaceError> {
        let invalid = |reason: &str| WorkspaceError::InvalidUrl {
            reason: format!("{reason}: {}", redact(url)),
        };
        if url.is_empty() || url.len() > 2048 {
            return Err(invalid("empty or longer than 2048 bytes"));
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("contains whitespace or control characters"));
        }
        if url.starts_with('-') {
            return Err(invalid("must not start with '-'"));
        }
        if is_helper_syntax(url) {
            return Err(invalid(
                "remote helper syntax (<transport>::…) is not allowed",
            ));
        }
        let normalized = if let Some(path) = url.strip_prefix('/') {
            local_path(&format!("/{path}")).ok_or_else(|| invalid("not a clean absolute path"))?
        } else if let Some(rest) = strip_scheme(url, "file") {
            // file:///abs/path only; file://host/… would mean a network share.
            let path = rest
                .strip_prefix('/')
                .ok_or_else(|| invalid("file URLs must be file:///absolute/path"))?;
            local_path(&format!("/{path}")).ok_or_else(|| invalid("not a clean absolute path"))?
        } else if let Some(rest) = strip_scheme(url, "https") {
            format!(
                "https://{}",
                authority_and_path(rest).ok_or_else(|| invalid("no host"))?
            )
        } else if let Some(rest) = strip_scheme(url, "ssh") {
            format!(
                "ssh://{}",
                authority_and_path(rest).ok_or_else(|| invalid("no host"))?
            )
        } else if let Some((host, path)) = scp_like(url) {
            format!(
                "ssh://{}/{}",
                host.to_ascii_lowercase(),
                trim_repo_path(path)
            )
        } else {
            return Err(invalid(
                "use https://, ssh://, user@host:path, file:/// or an absolute path",
            ));
        };
        Ok(Self {
            raw: url.to_owned(),
            display: redact(url),
            normalized,
        })
    }

    /// A stable name for the cached mirror of this repository.
    pub fn cache_key(&self) -> String {
        format!("{:016x}", fnv1a64(self.normalized.as_bytes()))
    }
}

/// `<transport>::<address>` (git's remote-helper form), e.g. `ext::sh -c …`.
fn is_helper_syntax(url: &str) -> bool {
    match url.find("::") {
        Some(i) => {
            let head = &url[..i];
            !head.is_empty()
                && head
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'))
        }
        None => false,
    }
}

fn strip_scheme<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = url.split_once("://")?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// `host[:port]/path` without userinfo, host lowercased; `None` when the host
/// is missing or would be read as an option by ssh (`-oProxyCommand=…`).
fn authority_and_path(rest: &str) -> Option<String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with('-') {
        return None;
    }
    Some(format!(
        "{}/{}",
        host.to_ascii_lowercase(),
        trim_repo_path(path)
    ))
}

/// `user@host:path`, as git reads it: no `/` before the first `:`.
fn scp_like(url: &str) -> Option<(&str, &str)> {
    let (login, rest) = url.split_once('@')?;
    let (host, path) = rest.split_once(':')?;
    let login_ok = !login.is_empty()
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let host_ok = !host.is_empty()
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    (login_ok && host_ok && !path.is_empty() && !login.starts_with('-')).then_some((host, path))
}

fn trim_repo_path(path: &str) -> &str {
    let path = path.trim_matches('/');
    path.strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/')
}

/// A plain absolute path with no `.`/`..` parts, trailing `/` and `.git` removed.
fn local_path(path: &str) -> Option<String> {
    let p = Path::new(path);
    let clean = p.components().all(|c| {
        matches!(
            c,
            std::path::Component::RootDir | std::path::Component::Normal(_)
        )
    });
    clean.then(|| format!("/{}", trim_repo_path(path)))
}

/// FNV-1a: a tiny, fixed, dependency-free hash, so cache directory names stay
/// the same across releases (std's hashers make no such promise). Collisions
/// are caught by comparing the normalized URL recorded in the mirror's config.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn norm(url: &str) -> String {
        RepoUrl::parse(url).unwrap().normalized
    }

    #[test]
    fn normalizes_equivalent_spellings_to_one_key() {
        assert_eq!(norm("https://GitHub.com/o/r.git"), "https://github.com/o/r");
        assert_eq!(
            norm("https://tok@github.com/o/r/"),
            "https://github.com/o/r"
        );
        assert_eq!(norm("git@github.com:o/r.git"), "ssh://github.com/o/r");
        assert_eq!(norm("ssh://git@GitHub.com/o/r"), "ssh://github.com/o/r");
        assert_eq!(norm("file:///srv/repos/r.git"), "/srv/repos/r");
        assert_eq!(norm("/srv/repos/r.git/"), "/srv/repos/r");
        let a = RepoUrl::parse("https://github.com/o/r").unwrap();
        let b = RepoUrl::parse("https://x:y@github.com/o/r.git").unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
        assert_eq!(a.cache_key().len(), 16);
        assert_ne!(a.cache_key(), RepoUrl::parse("/srv/r").unwrap().cache_key());
    }

    #[test]
    fn refuses_dangerous_and_unsupported_urls() {
        for bad in [
            "",
            "--upload-pack=touch /tmp/pwned",
            "-oProxyCommand=x",
            "ext::sh -c touch% /tmp/pwned",
            "ext::sh",
            "fd::17",
            "http://example.com/r.git",
            "git://example.com/r.git",
            "ftp://example.com/r.git",
            "relative/path",
            "./r",
            "/srv/../etc",
            "file://host/share/r",
            "ssh://-oProxyCommand=touch/x",
            "https:///nohost",
            "-@host:r",
            "git@-host:r",
            "https://example.com/r\n.git",
        ] {
            let err = RepoUrl::parse(bad).unwrap_err();
            assert!(
                matches!(err, WorkspaceError::InvalidUrl { .. }),
                "{bad:?} gave {err:?}"
            );
        }
        // IPv6 literals contain "::" but are not helper syntax.
        assert!(RepoUrl::parse("https://[::1]:8443/r.git").is_ok());
    }

    #[test]
    fn display_form_has_no_credentials() {
        let u = RepoUrl::parse("https://bob:hunter2@example.com/r.git").unwrap();
        assert_eq!(u.display, "https://***@example.com/r.git");
        let e = RepoUrl::parse("http://bob:hunter2@example.com/r.git").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }
}
