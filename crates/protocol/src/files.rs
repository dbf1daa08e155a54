//! The files API: listings of a session's workspace, uploads and share
//! links. Every path is relative to the workspace root, `/`-separated.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What a directory entry is. Symlinks are reported as such, not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileEntry {
    pub name: String,
    /// Relative to the workspace root.
    pub path: String,
    pub kind: FileKind,
    /// Bytes, for files; `null` for directories and symlinks.
    pub size: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub modified: Option<OffsetDateTime>,
}

/// `GET /api/v1/sessions/{id}/files`: one level of a directory, directories
/// first, then by name. `.git` is never listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FileList {
    /// The directory listed (`""` for the workspace root).
    pub path: String,
    pub entries: Vec<FileEntry>,
    /// True when the directory holds more entries than one listing returns
    /// (10,000); the rest are left out.
    #[serde(default)]
    pub truncated: bool,
}

/// `PUT /api/v1/sessions/{id}/files/content`: the file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UploadedFile {
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

/// `POST /api/v1/sessions/{id}/shares`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShareRequest {
    /// A file in the workspace (directories cannot be shared).
    pub path: String,
    /// Lifetime of the link, 1 second to 30 days (default 1 day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

/// A share link as created: the only time its URL (and so its token) is
/// shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedShare {
    pub id: String,
    pub path: String,
    /// `/api/v1/shared/<token>`: anyone holding it may download the file
    /// until it expires or is revoked.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A share link as listed (without its token, which is not stored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShareView {
    pub id: String,
    pub path: String,
    /// The user who created it (who, with admins, may revoke it).
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoked_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/sessions/{id}/shares`, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShareList {
    pub shares: Vec<ShareView>,
}
