//! One level of a directory.

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use agentd_protocol::{FileEntry, FileKind, FileList};
use time::OffsetDateTime;

use crate::error::FilesError;
use crate::path::{RelPath, Tree, is_protected};

/// Most entries one listing returns; the rest are reported as truncated.
pub const MAX_ENTRIES: usize = 10_000;

/// The entries of the directory `rel` names (symlinks reported, not
/// followed), directories first, then by name; `.git` left out.
pub async fn list(tree: &Tree, rel: &RelPath) -> Result<FileList, FilesError> {
    let dir = tree.resolve(rel)?;
    let rel = rel.clone();
    tokio::task::spawn_blocking(move || list_blocking(&dir, &rel))
        .await
        .map_err(|e| FilesError::Io(std::io::Error::other(e)))?
}

fn list_blocking(dir: &Path, rel: &RelPath) -> Result<FileList, FilesError> {
    let shown = rel.as_str();
    let meta = fs::metadata(dir).map_err(|e| FilesError::io(shown, e))?;
    if !meta.is_dir() {
        return Err(FilesError::NotADirectory {
            path: shown.to_owned(),
        });
    }
    let mut entries = Vec::new();
    let mut truncated = false;
    for entry in fs::read_dir(dir).map_err(|e| FilesError::io(shown, e))? {
        let entry = entry.map_err(|e| FilesError::io(shown, e))?;
        let name = entry.file_name();
        if is_protected(&name) || crate::upload::is_in_progress(&name) {
            continue;
        }
        if entries.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        // Gone between the read and the stat: not worth reporting.
        let Ok(meta) = entry.metadata() else { continue };
        let kind = if meta.is_dir() {
            FileKind::Dir
        } else if meta.file_type().is_symlink() {
            FileKind::Symlink
        } else {
            FileKind::File
        };
        let name = name.to_string_lossy().into_owned();
        entries.push(FileEntry {
            path: rel.child(&name),
            name,
            kind,
            size: (kind == FileKind::File).then_some(meta.len()),
            modified: meta.modified().ok().map(OffsetDateTime::from),
        });
    }
    entries.sort_by(
        |a, b| match (a.kind == FileKind::Dir, b.kind == FileKind::Dir) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => a.name.cmp(&b.name),
        },
    );
    Ok(FileList {
        path: shown.to_owned(),
        entries,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn summary(list: &FileList) -> Vec<(String, String, FileKind, Option<u64>)> {
        list.entries
            .iter()
            .map(|e| (e.name.clone(), e.path.clone(), e.kind, e.size))
            .collect()
    }

    #[tokio::test]
    async fn lists_one_level_dirs_first_without_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::create_dir_all(root.join("src/deep")).unwrap();
        fs::write(root.join("src/lib.rs"), "fn x() {}\n").unwrap();
        fs::write(root.join("b.txt"), "bb").unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::write(root.join(".agentd-upload-0190"), "half").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let tree = Tree::open(root).unwrap();

        let top = list(&tree, &RelPath::root()).await.unwrap();
        assert_eq!(top.path, "");
        assert!(!top.truncated);
        assert_eq!(
            summary(&top),
            vec![
                ("src".into(), "src".into(), FileKind::Dir, None),
                ("a.txt".into(), "a.txt".into(), FileKind::File, Some(1)),
                ("b.txt".into(), "b.txt".into(), FileKind::File, Some(2)),
                ("link".into(), "link".into(), FileKind::Symlink, None),
            ]
        );
        assert!(top.entries.iter().all(|e| e.modified.is_some()));

        let src = list(&tree, &RelPath::parse("src").unwrap()).await.unwrap();
        assert_eq!(
            summary(&src),
            vec![
                ("deep".into(), "src/deep".into(), FileKind::Dir, None),
                (
                    "lib.rs".into(),
                    "src/lib.rs".into(),
                    FileKind::File,
                    Some(10)
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_file_or_missing_path_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "x").unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        assert!(matches!(
            list(&tree, &RelPath::parse("f").unwrap()).await,
            Err(FilesError::NotADirectory { .. })
        ));
        assert!(matches!(
            list(&tree, &RelPath::parse("nope").unwrap()).await,
            Err(FilesError::NotFound { .. })
        ));
    }
}
