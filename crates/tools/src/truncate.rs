//! The one place tool output is shortened. Everything counts characters, never
//! bytes, so a cut can never land inside a UTF-8 sequence.

/// Shortens `s` to at most `max_chars` characters of the original, keeping the
/// head and the tail (the end of a build log is usually what matters) with a
/// `[… N characters omitted …]` line in the middle. Text that fits is returned
/// unchanged.
pub fn truncate_output(s: &str, max_chars: usize) -> String {
    let mut kept = HeadTail::new(max_chars);
    kept.push(s);
    kept.finish()
}

/// A streaming [`truncate_output`]: keeps the first and last characters of
/// text pushed in pieces, in bounded memory, so a command printing gigabytes
/// cannot exhaust the server.
#[derive(Debug)]
pub(crate) struct HeadTail {
    head_cap: usize,
    tail_cap: usize,
    head: String,
    head_chars: usize,
    tail: String,
    tail_chars: usize,
    total_chars: usize,
}

impl HeadTail {
    pub(crate) fn new(max_chars: usize) -> Self {
        let head_cap = max_chars.div_ceil(2);
        Self {
            head_cap,
            tail_cap: max_chars - head_cap,
            head: String::new(),
            head_chars: 0,
            tail: String::new(),
            tail_chars: 0,
            total_chars: 0,
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.total_chars += text.chars().count();
        let mut rest = text;
        if self.head_chars < self.head_cap {
            let split = byte_index_of_char(rest, self.head_cap - self.head_chars);
            let (to_head, after) = rest.split_at(split);
            self.head.push_str(to_head);
            self.head_chars += to_head.chars().count();
            rest = after;
        }
        if rest.is_empty() {
            return;
        }
        self.tail.push_str(rest);
        self.tail_chars += rest.chars().count();
        // Trim lazily (only once the tail doubles) so each push stays amortised O(len).
        if self.tail_chars > 2 * self.tail_cap + 4096 {
            self.trim_tail();
        }
    }

    pub(crate) fn finish(mut self) -> String {
        if self.total_chars <= self.head_cap + self.tail_cap {
            self.head.push_str(&self.tail);
            return self.head;
        }
        self.trim_tail();
        let omitted = self.total_chars - self.head_chars - self.tail_chars;
        format!(
            "{}\n[… {omitted} characters omitted …]\n{}",
            self.head, self.tail
        )
    }

    fn trim_tail(&mut self) {
        if self.tail_chars > self.tail_cap {
            let keep_from = byte_index_of_char(&self.tail, self.tail_chars - self.tail_cap);
            self.tail.drain(..keep_from);
            self.tail_chars = self.tail_cap;
        }
    }
}

/// Byte offset of the `n`th character, or the string's length if it is shorter.
fn byte_index_of_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(truncate_output("héllo", 5), "héllo");
        assert_eq!(truncate_output("", 0), "");
    }

    #[test]
    fn keeps_head_and_tail_with_marker() {
        assert_eq!(
            truncate_output("abcdefghij", 4),
            "ab\n[… 6 characters omitted …]\nij"
        );
        assert_eq!(
            truncate_output("abcdefghij", 5),
            "abc\n[… 5 characters omitted …]\nij"
        );
    }

    #[test]
    fn never_splits_multibyte_characters() {
        let s = "é😀".repeat(1000);
        for max in [0, 1, 2, 3, 7, 100, 1999, 2000, 2001] {
            let out = truncate_output(&s, max);
            if max >= 2000 {
                assert_eq!(out, s);
                continue;
            }
            let (head, rest) = out.split_once("\n[… ").unwrap();
            let tail = rest.split_once(" …]\n").unwrap().1;
            assert_eq!(head.chars().count(), max.div_ceil(2));
            assert_eq!(tail.chars().count(), max / 2);
            assert!(s.starts_with(head) && s.ends_with(tail));
        }
    }

    #[test]
    fn streaming_matches_one_shot() {
        let text: String = (0..5000).map(|i| format!("line {i} é😀\n")).collect();
        for max in [0, 10, 333, 30_000, 200_000] {
            let mut kept = HeadTail::new(max);
            // Feed in uneven pieces, each split on a char boundary.
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(37) {
                kept.push(&piece.iter().collect::<String>());
            }
            assert_eq!(kept.finish(), truncate_output(&text, max), "max {max}");
        }
    }
}
