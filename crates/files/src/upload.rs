//! Writing an uploaded file: streamed to a temporary file beside the target
//! (never held in memory), then renamed over it, so a reader (or the agent)
//! sees the old file or the new one, never half of it, and an upload cut off
//! or over the limit leaves nothing behind.

use std::fmt::Display;
use std::io;
use std::path::Path;

use agentd_protocol::event::FileChangeKind;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use similar::{ChangeTag, TextDiff};
use tokio::io::AsyncWriteExt;

use crate::error::FilesError;
use crate::path::{RelPath, Tree};

/// The name prefix of an upload still being written (hidden from listings
/// and archives: it is not a file yet).
const TEMP_PREFIX: &str = ".agentd-upload-";

/// True for an upload's temporary file.
pub(crate) fn is_in_progress(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX))
}

/// Files up to this size get line counts in their `file.changed` event;
/// diffing bigger ones is not worth holding the request.
const DIFF_MAX_BYTES: u64 = 1024 * 1024;

/// What an upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub path: String,
    pub size: u64,
    pub change: FileChangeKind,
    pub lines_added: u64,
    pub lines_removed: u64,
}

/// Writes `body` to the file `rel` names, creating missing parent
/// directories. More than `limit` bytes is `TooLarge` and writes nothing.
pub async fn upload<S, E>(
    tree: &Tree,
    rel: &RelPath,
    body: S,
    limit: u64,
) -> Result<Upload, FilesError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let shown = rel.as_str();
    let not_a_file = || FilesError::NotAFile {
        path: shown.to_owned(),
    };
    if rel.is_root() {
        return Err(not_a_file());
    }
    let target = tree.resolve(rel)?;
    let existing = match tokio::fs::metadata(&target).await {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => return Err(not_a_file()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(FilesError::io(shown, e)),
    };
    let parent = target.parent().ok_or_else(not_a_file)?;
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory => {
                FilesError::NotADirectory {
                    path: shown.to_owned(),
                }
            }
            _ => FilesError::io(shown, e),
        })?;
    let temp = parent.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::now_v7().simple()));
    let written = async {
        let size = write_body(&temp, body, limit).await?;
        if let Some(meta) = &existing {
            // Replacing a script keeps it executable.
            tokio::fs::set_permissions(&temp, meta.permissions())
                .await
                .map_err(FilesError::Io)?;
        }
        let (lines_added, lines_removed) = line_counts(existing.is_some(), &target, &temp).await;
        tokio::fs::rename(&temp, &target)
            .await
            .map_err(|e| FilesError::io(shown, e))?;
        Ok::<_, FilesError>((size, lines_added, lines_removed))
    }
    .await;
    let (size, lines_added, lines_removed) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e);
        }
    };
    Ok(Upload {
        path: shown.to_owned(),
        size,
        change: if existing.is_some() {
            FileChangeKind::Modified
        } else {
            FileChangeKind::Added
        },
        lines_added,
        lines_removed,
    })
}

async fn write_body<S, E>(temp: &Path, body: S, limit: u64) -> Result<u64, FilesError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .await
        .map_err(FilesError::Io)?;
    let mut size: u64 = 0;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| FilesError::Interrupted(e.to_string()))?;
        size = size.saturating_add(chunk.len() as u64);
        if size > limit {
            return Err(FilesError::TooLarge { limit });
        }
        file.write_all(&chunk).await.map_err(FilesError::Io)?;
    }
    // tokio's File finishes its last write in the background unless flushed.
    file.flush().await.map_err(FilesError::Io)?;
    Ok(size)
}

/// (added, removed) lines from the old file to the new one; zeros for
/// binary or large files.
async fn line_counts(existed: bool, old: &Path, new: &Path) -> (u64, u64) {
    async fn text(path: &Path) -> Option<String> {
        let meta = tokio::fs::metadata(path).await.ok()?;
        if meta.len() > DIFF_MAX_BYTES {
            return None;
        }
        String::from_utf8(tokio::fs::read(path).await.ok()?).ok()
    }
    let old = if existed {
        text(old).await
    } else {
        Some(String::new())
    };
    let (Some(old), Some(new)) = (old, text(new).await) else {
        return (0, 0);
    };
    tokio::task::spawn_blocking(move || {
        let diff = TextDiff::configure()
            .timeout(std::time::Duration::from_millis(200))
            .diff_lines(&old, &new);
        diff.iter_all_changes()
            .fold((0, 0), |(a, r), change| match change.tag() {
                ChangeTag::Insert => (a + 1, r),
                ChangeTag::Delete => (a, r + 1),
                ChangeTag::Equal => (a, r),
            })
    })
    .await
    .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use pretty_assertions::assert_eq;

    use super::*;

    fn body(chunks: &[&[u8]]) -> impl Stream<Item = Result<Bytes, io::Error>> + use<> {
        let chunks: Vec<_> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(chunks)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        walk(dir)
            .into_iter()
            .filter(|p| p.contains(".agentd-upload-"))
            .collect()
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.display().to_string());
            if path.is_dir() {
                out.extend(walk(&path));
            }
        }
        out
    }

    #[tokio::test]
    async fn creates_parents_then_replaces_keeping_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let rel = RelPath::parse("new/dir/run.sh").unwrap();

        let first = upload(&tree, &rel, body(&[b"a\n", b"b\n"]), 100)
            .await
            .unwrap();
        assert_eq!(
            first,
            Upload {
                path: "new/dir/run.sh".into(),
                size: 4,
                change: FileChangeKind::Added,
                lines_added: 2,
                lines_removed: 0,
            }
        );
        let file = dir.path().join("new/dir/run.sh");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();

        let second = upload(&tree, &rel, body(&[b"a\nc\n"]), 100).await.unwrap();
        assert_eq!(
            (second.change, second.lines_added, second.lines_removed),
            (FileChangeKind::Modified, 1, 1)
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"a\nc\n");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn over_the_limit_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep"), "old").unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let rel = RelPath::parse("keep").unwrap();
        let result = upload(&tree, &rel, body(&[b"12345", b"67890", b"x"]), 10).await;
        assert!(matches!(result, Err(FilesError::TooLarge { limit: 10 })));
        assert_eq!(std::fs::read(dir.path().join("keep")).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
        // Exactly the limit is fine.
        let ok = upload(&tree, &rel, body(&[b"12345", b"67890"]), 10).await;
        assert_eq!(ok.unwrap().size, 10);
    }

    #[tokio::test]
    async fn a_broken_body_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let chunks = vec![
            Ok(Bytes::from_static(b"part")),
            Err(io::Error::other("connection reset")),
        ];
        let result = upload(
            &tree,
            &RelPath::parse("f").unwrap(),
            futures::stream::iter(chunks),
            100,
        )
        .await;
        assert!(matches!(result, Err(FilesError::Interrupted(_))));
        assert!(walk(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn refuses_directories_and_paths_through_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let up = |p: &str| {
            let rel = RelPath::parse(p).unwrap();
            let tree = tree.clone();
            async move { upload(&tree, &rel, body(&[b"y"]), 10).await }
        };
        assert!(matches!(up("d").await, Err(FilesError::NotAFile { .. })));
        assert!(matches!(up("").await, Err(FilesError::NotAFile { .. })));
        assert!(matches!(
            up("f/inner").await,
            Err(FilesError::NotADirectory { .. })
        ));
    }

    #[tokio::test]
    async fn binary_files_have_no_line_counts() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        let done = upload(
            &tree,
            &RelPath::parse("b.bin").unwrap(),
            body(&[&[0xff, 0xfe, 0x00]]),
            10,
        )
        .await
        .unwrap();
        assert_eq!((done.lines_added, done.lines_removed), (0, 0));
    }
}
