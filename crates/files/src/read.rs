//! Opening one file for download.

use std::time::SystemTime;

use crate::error::FilesError;
use crate::path::{RelPath, Tree};

/// A regular file, open for reading.
#[derive(Debug)]
pub struct OpenedFile {
    pub file: tokio::fs::File,
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// The last component of the path the client asked for.
    pub name: String,
}

/// Opens the regular file `rel` names. Directories, FIFOs and devices are
/// `NotAFile` (reading a FIFO would hang the request).
pub async fn open_file(tree: &Tree, rel: &RelPath) -> Result<OpenedFile, FilesError> {
    let shown = rel.as_str();
    let name = rel.name().ok_or_else(|| FilesError::NotAFile {
        path: shown.to_owned(),
    })?;
    let path = tree.resolve(rel)?;
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| FilesError::io(shown, e))?;
    if !meta.is_file() {
        return Err(FilesError::NotAFile {
            path: shown.to_owned(),
        });
    }
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| FilesError::io(shown, e))?;
    Ok(OpenedFile {
        file,
        size: meta.len(),
        modified: meta.modified().ok(),
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn opens_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/f.bin"), [0u8, 1, 2, 255]).unwrap();
        nix_mkfifo(&dir.path().join("pipe"));
        let tree = Tree::open(dir.path()).unwrap();

        let mut opened = open_file(&tree, &RelPath::parse("d/f.bin").unwrap())
            .await
            .unwrap();
        assert_eq!((opened.size, opened.name.as_str()), (4, "f.bin"));
        let mut bytes = Vec::new();
        opened.file.read_to_end(&mut bytes).await.unwrap();
        assert_eq!(bytes, [0, 1, 2, 255]);

        for path in ["d", "", "pipe"] {
            assert!(
                matches!(
                    open_file(&tree, &RelPath::parse(path).unwrap()).await,
                    Err(FilesError::NotAFile { .. })
                ),
                "{path}"
            );
        }
        assert!(matches!(
            open_file(&tree, &RelPath::parse("d/none").unwrap()).await,
            Err(FilesError::NotFound { .. })
        ));
    }

    fn nix_mkfifo(path: &std::path::Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}
