//! A directory as a streamed tar or zip archive.
//!
//! The `tar` and `zip` writers are synchronous, so one blocking task walks
//! the tree and writes the archive into a bounded channel in 64 KiB chunks;
//! the response body reads from it. Memory stays at a few chunks whatever
//! the tree's size, a slow client slows the walk down, and a client that
//! goes away closes the channel, which stops the walk.
//!
//! Entries are named relative to the archived directory. `.git` is left out
//! at every depth; symlinks are stored as symlinks (never followed, so one
//! pointing outside the workspace discloses only its target's name);
//! sockets, FIFOs and devices are skipped.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::Stream;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::FilesError;
use crate::path::{RelPath, Tree, is_protected};

const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the walk and the response.
const CHANNEL_CHUNKS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    Tar,
    Zip,
}

impl ArchiveFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Tar => "tar",
            Self::Zip => "zip",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Tar => "application/x-tar",
            Self::Zip => "application/zip",
        }
    }
}

/// The directory `rel` names as an archive stream. Errors about the path
/// come back before anything is streamed; an I/O error during the walk ends
/// the stream with an error (so the client sees a broken transfer, not a
/// short archive that looks whole).
pub async fn archive(
    tree: &Tree,
    rel: &RelPath,
    format: ArchiveFormat,
) -> Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static, FilesError> {
    let dir = tree.resolve(rel)?;
    let meta = tokio::fs::metadata(&dir)
        .await
        .map_err(|e| FilesError::io(rel.as_str(), e))?;
    if !meta.is_dir() {
        return Err(FilesError::NotADirectory {
            path: rel.as_str().to_owned(),
        });
    }
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let written = match format {
            ArchiveFormat::Tar => write_tar(&dir, &mut out),
            ArchiveFormat::Zip => write_zip(&dir, &mut out),
        };
        let result = written.and_then(|()| out.flush());
        if let Err(e) = result
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            tracing::warn!(error = %e, "writing an archive failed");
            let _ = tx.blocking_send(Err(e));
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Sends what is written as chunks; a closed channel (the client went away)
/// is `BrokenPipe`.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// One thing in the tree, named relative to the archived directory.
enum Entry {
    Dir {
        rel: String,
        meta: Metadata,
    },
    File {
        rel: String,
        meta: Metadata,
        path: PathBuf,
    },
    Symlink {
        rel: String,
        meta: Metadata,
        target: PathBuf,
    },
}

/// Every entry under `root`, parents before children, names sorted, `.git`
/// and special files left out.
fn walk(root: &Path, visit: &mut dyn FnMut(Entry) -> io::Result<()>) -> io::Result<()> {
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        let mut names: Vec<_> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .filter(|name| !is_protected(name) && !crate::upload::is_in_progress(name))
            .collect();
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let rel = format!("{prefix}{}", name.to_string_lossy());
            // Gone since the listing: skip it, as `tar` would warn and go on.
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = meta.file_type();
            if kind.is_dir() {
                visit(Entry::Dir {
                    rel: rel.clone(),
                    meta,
                })?;
                subdirs.push((path, format!("{rel}/")));
            } else if kind.is_symlink() {
                let target = fs::read_link(&path)?;
                visit(Entry::Symlink { rel, meta, target })?;
            } else if kind.is_file() {
                visit(Entry::File { rel, meta, path })?;
            }
        }
        dirs.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// Exactly `len` bytes of the file: a file that shrinks while being read is
/// padded with zeros and one that grows is cut, so the sizes already written
/// in the headers stay true.
fn exactly(path: &Path, len: u64) -> io::Result<impl Read> {
    let file = File::open(path)?;
    Ok(file.take(len).chain(io::repeat(0)).take(len))
}

fn write_tar(root: &Path, out: &mut ChannelWriter) -> io::Result<()> {
    use tar::{EntryType, Header, HeaderMode};
    let mut builder = tar::Builder::new(out);
    walk(root, &mut |entry| {
        let mut header = Header::new_gnu();
        match entry {
            Entry::Dir { rel, meta } => {
                header.set_metadata_in_mode(&meta, HeaderMode::Complete);
                header.set_entry_type(EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, format!("{rel}/"), io::empty())
            }
            Entry::File { rel, meta, path } => {
                header.set_metadata_in_mode(&meta, HeaderMode::Complete);
                header.set_size(meta.len());
                builder.append_data(&mut header, rel, exactly(&path, meta.len())?)
            }
            Entry::Symlink { rel, meta, target } => {
                header.set_metadata_in_mode(&meta, HeaderMode::Complete);
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, rel, target)
            }
        }
    })?;
    builder.into_inner()?;
    Ok(())
}

fn write_zip(root: &Path, out: &mut ChannelWriter) -> io::Result<()> {
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new_stream(out);
    let options = |meta: &Metadata| {
        use std::os::unix::fs::PermissionsExt;
        let mut options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(meta.permissions().mode() & 0o777)
            .large_file(meta.len() >= u64::from(u32::MAX));
        if let Some(at) = meta.modified().ok().and_then(zip_time) {
            options = options.last_modified_time(at);
        }
        options
    };
    walk(root, &mut |entry| {
        match entry {
            Entry::Dir { rel, meta } => zip.add_directory(rel, options(&meta))?,
            Entry::File { rel, meta, path } => {
                zip.start_file(rel, options(&meta))?;
                io::copy(&mut exactly(&path, meta.len())?, &mut zip)?;
            }
            Entry::Symlink { rel, meta, target } => {
                zip.add_symlink(rel, target.to_string_lossy(), options(&meta))?;
            }
        }
        Ok(())
    })?;
    zip.finish()?;
    Ok(())
}

/// A zip timestamp (local time in the format; we write UTC). `None` before
/// 1980, which zip cannot represent.
fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    let t = OffsetDateTime::from(t);
    zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).ok()?,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Cursor;

    use futures::StreamExt;
    use pretty_assertions::assert_eq;

    use super::*;

    /// A tree with nested files, an empty dir, a symlink and a `.git`.
    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("src/nested")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::create_dir_all(root.join(".git/hooks")).unwrap();
        fs::create_dir_all(root.join("vendor/lib/.git")).unwrap();
        fs::write(root.join(".git/config"), "secret").unwrap();
        fs::write(root.join("vendor/lib/.git/HEAD"), "ref").unwrap();
        fs::write(root.join("vendor/lib/a.c"), "int a;").unwrap();
        fs::write(root.join("README.md"), "# hi\n").unwrap();
        fs::write(root.join("src/.agentd-upload-0190"), "half").unwrap();
        fs::write(root.join("src/nested/big.bin"), vec![7u8; 300_000]).unwrap();
        std::os::unix::fs::symlink("../README.md", root.join("src/readme")).unwrap();
        dir
    }

    async fn collect(tree: &Tree, rel: &str, format: ArchiveFormat) -> Vec<u8> {
        let stream = archive(tree, &RelPath::parse(rel).unwrap(), format)
            .await
            .unwrap();
        let mut stream = std::pin::pin!(stream);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    /// name → contents (files), "<dir>" or "-> target".
    type Listing = BTreeMap<String, Vec<u8>>;

    fn expected_root() -> Listing {
        [
            ("README.md", b"# hi\n".to_vec()),
            ("empty/", b"<dir>".to_vec()),
            ("src/", b"<dir>".to_vec()),
            ("src/nested/", b"<dir>".to_vec()),
            ("src/nested/big.bin", vec![7u8; 300_000]),
            ("src/readme", b"-> ../README.md".to_vec()),
            ("vendor/", b"<dir>".to_vec()),
            ("vendor/lib/", b"<dir>".to_vec()),
            ("vendor/lib/a.c", b"int a;".to_vec()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn read_tar(bytes: &[u8]) -> Listing {
        let mut archive = tar::Archive::new(Cursor::new(bytes));
        let mut out = Listing::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let value = match entry.header().entry_type() {
                tar::EntryType::Directory => b"<dir>".to_vec(),
                tar::EntryType::Symlink => {
                    let target = entry.link_name().unwrap().unwrap();
                    format!("-> {}", target.display()).into_bytes()
                }
                _ => {
                    let mut data = Vec::new();
                    entry.read_to_end(&mut data).unwrap();
                    data
                }
            };
            out.insert(name, value);
        }
        out
    }

    fn read_zip(bytes: Vec<u8>) -> Listing {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = Listing::new();
        for i in 0..archive.len() {
            let mut file = archive.by_index(i).unwrap();
            let name = file.name().unwrap().into_owned();
            let value = if file.is_dir() {
                b"<dir>".to_vec()
            } else if file.is_symlink() {
                let mut target = String::new();
                file.read_to_string(&mut target).unwrap();
                format!("-> {target}").into_bytes()
            } else {
                let mut data = Vec::new();
                file.read_to_end(&mut data).unwrap();
                data
            };
            out.insert(name, value);
        }
        out
    }

    #[tokio::test]
    async fn tar_holds_the_tree_without_git() {
        let dir = sample();
        let tree = Tree::open(dir.path()).unwrap();
        let bytes = collect(&tree, "", ArchiveFormat::Tar).await;
        assert_eq!(read_tar(&bytes), expected_root());
    }

    #[tokio::test]
    async fn zip_holds_the_tree_without_git() {
        let dir = sample();
        let tree = Tree::open(dir.path()).unwrap();
        let bytes = collect(&tree, "", ArchiveFormat::Zip).await;
        assert_eq!(read_zip(bytes), expected_root());
    }

    #[tokio::test]
    async fn a_subdirectory_is_named_from_itself() {
        let dir = sample();
        let tree = Tree::open(dir.path()).unwrap();
        let bytes = collect(&tree, "vendor", ArchiveFormat::Tar).await;
        let names: Vec<_> = read_tar(&bytes).into_keys().collect();
        assert_eq!(names, vec!["lib/", "lib/a.c"]);
    }

    #[tokio::test]
    async fn only_directories_are_archived() {
        let dir = sample();
        let tree = Tree::open(dir.path()).unwrap();
        let err = archive(
            &tree,
            &RelPath::parse("README.md").unwrap(),
            ArchiveFormat::Zip,
        )
        .await
        .err();
        assert!(matches!(err, Some(FilesError::NotADirectory { .. })));
    }

    #[test]
    fn a_client_that_goes_away_breaks_the_writer() {
        let (tx, rx) = mpsc::channel(1);
        let mut out = ChannelWriter {
            tx,
            buf: Vec::new(),
        };
        drop(rx);
        let err = out.write_all(&vec![0u8; CHUNK]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
