//! Splitting a shell command into the simple commands it runs, so each can be
//! judged by the rules on its own (`npm test && rm -rf /` is two commands).
//!
//! This is a conservative lexer, not a shell parser: it knows quotes,
//! backslashes, comments and the separators `&&`, `||`, `;`, `|`, `|&`, `&`
//! and newlines. Anything it does not understand stays inside a part, where it
//! makes that part harder to match, which errs towards asking.

/// The result of [`split`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Split {
    /// The top-level simple commands, trimmed, empty ones dropped.
    pub parts: Vec<String>,
    /// Commands inside `$(...)`, backticks and `<(...)`/`>(...)`: they run
    /// too, so deny and ask rules are checked against them.
    pub nested: Vec<String>,
    /// The command substitutes another command's output into itself.
    pub has_substitution: bool,
}

pub(crate) fn split(command: &str) -> Split {
    let chars: Vec<char> = command.chars().collect();
    let mut out = Split::default();
    let mut current = String::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quote == Some('\'') {
            current.push(c);
            if c == '\'' {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\\' {
            current.push(c);
            if let Some(n) = next {
                current.push(n);
            }
            i += 2;
            continue;
        }
        // Substitutions run inside double quotes as well as outside.
        let opens_substitution = (c == '$' && next == Some('('))
            || (quote.is_none() && matches!(c, '<' | '>') && next == Some('('));
        if opens_substitution {
            let end = matching_paren(&chars, i + 2);
            let inner: String = chars[i + 2..end.min(chars.len())].iter().collect();
            current.extend(&chars[i..(end + 1).min(chars.len())]);
            out.add_nested(&inner);
            i = end + 1;
            continue;
        }
        if c == '`' {
            let end = (i + 1..chars.len())
                .find(|&j| chars[j] == '`' && chars[j - 1] != '\\')
                .unwrap_or(chars.len());
            let inner: String = chars[i + 1..end].iter().collect();
            current.extend(&chars[i..(end + 1).min(chars.len())]);
            out.add_nested(&inner);
            i = end + 1;
            continue;
        }
        if quote == Some('"') {
            current.push(c);
            if c == '"' {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                current.push(c);
                i += 1;
            }
            ';' | '\n' => {
                out.flush(&mut current);
                i += 1;
            }
            '&' | '|' if next == Some(c) => {
                out.flush(&mut current);
                i += 2;
            }
            '|' if next == Some('&') => {
                out.flush(&mut current);
                i += 2;
            }
            '|' => {
                out.flush(&mut current);
                i += 1;
            }
            // `2>&1`, `&>file` and `>&2` are redirections, not background jobs.
            '&' if current.ends_with(['>', '<']) || next == Some('>') => {
                current.push(c);
                i += 1;
            }
            '&' => {
                out.flush(&mut current);
                i += 1;
            }
            '#' if current.is_empty() || current.ends_with(char::is_whitespace) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            other => {
                current.push(other);
                i += 1;
            }
        }
    }
    out.flush(&mut current);
    out
}

impl Split {
    fn flush(&mut self, current: &mut String) {
        let part = current.trim();
        if !part.is_empty() {
            self.parts.push(part.to_owned());
        }
        current.clear();
    }

    fn add_nested(&mut self, inner: &str) {
        self.has_substitution = true;
        let inner = split(inner);
        self.nested.extend(inner.parts);
        self.nested.extend(inner.nested);
    }
}

/// The index of the `)` closing a group whose content starts at `start`
/// (or the end of input when it is unbalanced).
fn matching_paren(chars: &[char], start: usize) -> usize {
    let mut depth = 1;
    let mut quote: Option<char> = None;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => i += 1,
            Some(_) => {}
            None => match c {
                '\\' => i += 1,
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(command: &str) -> Vec<String> {
        split(command).parts
    }

    #[test]
    fn splits_on_every_separator() {
        let cases: &[(&str, &[&str])] = &[
            ("npm test && rm -rf /", &["npm test", "rm -rf /"]),
            ("a || b; c | d", &["a", "b", "c", "d"]),
            ("a\nb |& c", &["a", "b", "c"]),
            ("sleep 1 & rm x", &["sleep 1", "rm x"]),
            ("make 2>&1 | tee log", &["make 2>&1", "tee log"]),
            ("cargo build &> out", &["cargo build &> out"]),
            ("echo 'a && b' \"c; d\"", &["echo 'a && b' \"c; d\""]),
            ("echo a\\;b", &["echo a\\;b"]),
            ("ls # && rm -rf /", &["ls"]),
            ("  ;; ls ;  ", &["ls"]),
        ];
        for (command, expected) in cases {
            assert_eq!(parts(command), *expected, "{command}");
        }
    }

    #[test]
    fn substitutions_are_flagged_and_their_commands_collected() {
        let split = split("echo $(rm -rf / && id) `whoami` \"$(date)\" <(cat x)");
        assert!(split.has_substitution);
        assert_eq!(split.parts.len(), 1);
        assert_eq!(split.nested, ["rm -rf /", "id", "whoami", "date", "cat x"]);
        let quoted = super::split("echo '$(not run)'");
        assert!(!quoted.has_substitution);
    }
}
