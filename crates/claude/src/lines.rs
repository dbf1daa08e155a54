//! NDJSON framing of the CLI's stdout. Lines have no size cap: one message
//! can carry a whole file (a Write's input, then its result), and the
//! official SDK's 1 MB default is a known source of failures.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Reads lines of any length; the buffer is reused between lines.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// The next non-empty line without its line ending; `None` at EOF.
    pub async fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        loop {
            self.buf.clear();
            if self.inner.read_until(b'\n', &mut self.buf).await? == 0 {
                return Ok(None);
            }
            let end = self
                .buf
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(0, |i| i + 1);
            let start = self.buf[..end]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(end);
            if start < end {
                return Ok(Some(&self.buf[start..end]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_larger_than_a_megabyte_arrive_whole() {
        let big = format!("{{\"text\":\"{}\"}}", "é".repeat(3 * 1024 * 1024));
        let input = format!("{big}\n\n  \r\n{{\"a\":1}}\r\n{{\"tail\":true}}");
        let (mut writer, reader) = tokio::io::duplex(4096);
        let feed = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            writer.write_all(input.as_bytes()).await.unwrap();
        });
        let mut lines = LineReader::new(tokio::io::BufReader::new(reader));
        let first = lines.next_line().await.unwrap().unwrap().to_vec();
        assert_eq!(first.len(), big.len());
        assert_eq!(first, big.as_bytes());
        assert_eq!(lines.next_line().await.unwrap(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(
            lines.next_line().await.unwrap(),
            Some(&b"{\"tail\":true}"[..])
        );
        assert_eq!(lines.next_line().await.unwrap(), None);
        feed.await.unwrap();
    }
}
