//! The files API end to end, on both backends: upload, list, download,
//! tar/zip archives, path confinement, the upload limit, share links and
//! tenancy.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::common::{Backend, Server, client_with, git_repo, send};

async fn started(backend: Backend, env: &[(&str, &str)]) -> (FakeAnthropic, Server) {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Server::start_with(backend, &fake, env).await;
    (fake, server)
}

/// An idle session on `workspace`; its files URL prefix.
async fn session(server: &Server, workspace: &Path) -> (String, String) {
    let id = server.create_session(workspace, "hello").await;
    server.wait_status(&id, &["idle"]).await;
    let base = format!("/api/v1/sessions/{id}");
    (id, base)
}

async fn put(server: &Server, url: &str, bytes: Vec<u8>) -> (u16, Value) {
    send(server.http.put(server.url(url)).body(bytes)).await
}

async fn get_bytes(
    client: &reqwest::Client,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = client.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn names(list: &Value) -> Vec<(String, String)> {
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn upload_list_download(backend: Backend) {
    let (_fake, server) = started(backend, &[]).await;
    let workspace = tempfile::tempdir().unwrap();
    let (id, base) = session(&server, workspace.path()).await;
    // Bigger than the 1 MiB limit on JSON bodies: uploads have their own.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3_000_000).collect();

    let (status, body) = put(
        &server,
        &format!("{base}/files/content?path=docs/notes/blob.bin"),
        bytes.clone(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({"path": "docs/notes/blob.bin", "size": 3_000_000})
    );
    let (status, _) = put(
        &server,
        &format!("{base}/files/content?path=./README.md"),
        b"one\ntwo\n".to_vec(),
    )
    .await;
    assert_eq!(status, 201);

    let (status, root) = server.get(&format!("{base}/files")).await;
    assert_eq!(status, 200, "{root}");
    assert_eq!(root["path"], "");
    assert_eq!(
        names(&root),
        vec![
            ("docs".into(), "dir".into()),
            ("README.md".into(), "file".into())
        ]
    );
    let (_, notes) = server.get(&format!("{base}/files?path=docs/notes")).await;
    let entry = &notes["entries"][0];
    assert_eq!(entry["name"], "blob.bin");
    assert_eq!(entry["path"], "docs/notes/blob.bin");
    assert_eq!(entry["size"], 3_000_000);
    assert!(entry["modified"].is_string());

    let (status, headers, got) = get_bytes(
        &server.http,
        &server.url(&format!("{base}/files/content?path=docs/notes/blob.bin")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, bytes);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    let (_, headers, _) = get_bytes(
        &server.http,
        &server.url(&format!(
            "{base}/files/content?path=docs/notes/blob.bin&download=1"
        )),
    )
    .await;
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"blob.bin\"; filename*=UTF-8''blob.bin"
    );
    // The bytes really are in the workspace.
    assert_eq!(
        std::fs::read(workspace.path().join("docs/notes/blob.bin")).unwrap(),
        bytes
    );

    // Replacing a file; each upload is a file.changed event.
    let (status, _) = put(
        &server,
        &format!("{base}/files/content?path=README.md"),
        b"one\n2\n".to_vec(),
    )
    .await;
    assert_eq!(status, 201);
    let changes: Vec<Value> = server
        .events(&id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "file.changed")
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(
        changes,
        vec![
            json!({"path": "docs/notes/blob.bin", "change": "added", "lines_added": 0, "lines_removed": 0}),
            json!({"path": "README.md", "change": "added", "lines_added": 2, "lines_removed": 0}),
            json!({"path": "README.md", "change": "modified", "lines_added": 1, "lines_removed": 1}),
        ]
    );

    // Wrong kinds and missing paths.
    let (status, body) = server.get(&format!("{base}/files/content?path=docs")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("not_a_file"))
    );
    let (status, body) = server.get(&format!("{base}/files?path=README.md")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("not_a_directory"))
    );
    let (status, body) = server
        .get(&format!("{base}/files/content?path=nope.txt"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = put(
        &server,
        &format!("{base}/files/content?path=docs"),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("not_a_file"))
    );
}
both_backends!(
    upload_then_list_then_download_the_same_bytes,
    upload_list_download
);

/// name → contents, `<dir>` or `-> target`.
type Tree = BTreeMap<String, Vec<u8>>;

fn untar(bytes: &[u8]) -> Tree {
    let mut archive = tar::Archive::new(Cursor::new(bytes));
    let mut out = Tree::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let value = match entry.header().entry_type() {
            tar::EntryType::Directory => b"<dir>".to_vec(),
            tar::EntryType::Symlink => {
                format!("-> {}", entry.link_name().unwrap().unwrap().display()).into_bytes()
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

fn unzip(bytes: Vec<u8>) -> Tree {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = Tree::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().trim_end_matches('/').to_owned();
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

/// The tree as it is on disk (symlinks not followed, `.git` left out).
fn on_disk(root: &Path) -> Tree {
    fn walk(dir: &Path, prefix: &str, out: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            let rel = format!("{prefix}{name}");
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if kind.is_dir() {
                out.insert(rel.clone(), b"<dir>".to_vec());
                walk(&entry.path(), &format!("{rel}/"), out);
            } else {
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = Tree::new();
    walk(root, "", &mut out);
    out
}

async fn archives(backend: Backend) {
    let (_fake, server) = started(backend, &[]).await;
    // A repository: the session works in a worktree whose `.git` is a file.
    let repo = git_repo();
    let (id, base) = session(&server, repo.path()).await;
    let ws = server.workspace_of(&id).await;
    assert!(ws.join(".git").is_file());
    std::fs::create_dir_all(ws.join("src/deep/er")).unwrap();
    std::fs::create_dir_all(ws.join("empty")).unwrap();
    std::fs::write(ws.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    std::fs::write(ws.join("src/deep/er/data.bin"), vec![9u8; 200_000]).unwrap();
    std::os::unix::fs::symlink("../README.md", ws.join("src/readme")).unwrap();
    let expected = on_disk(&ws);
    assert!(expected.contains_key("README.md") && !expected.contains_key(".git"));

    let (_, root) = server.get(&format!("{base}/files")).await;
    assert!(names(&root).iter().all(|(p, _)| p != ".git"), "{root}");

    let (status, headers, tar_bytes) =
        get_bytes(&server.http, &server.url(&format!("{base}/files/archive"))).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-tar");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("workspace.tar")
    );
    assert_eq!(untar(&tar_bytes), expected);

    let (status, headers, zip_bytes) = get_bytes(
        &server.http,
        &server.url(&format!("{base}/files/archive?format=zip")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(unzip(zip_bytes), expected);

    let (_, _, sub) = get_bytes(
        &server.http,
        &server.url(&format!("{base}/files/archive?path=src/deep&format=tar")),
    )
    .await;
    assert_eq!(untar(&sub), on_disk(&ws.join("src/deep")));

    let (status, body) = server
        .get(&format!("{base}/files/archive?format=rar"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation_failed"))
    );
    let (status, body) = server
        .get(&format!("{base}/files/archive?path=README.md"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("not_a_directory"))
    );
}
both_backends!(tar_and_zip_hold_the_tree, archives);

async fn confinement(backend: Backend) {
    let (_fake, server) = started(backend, &[]).await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(workspace.path().join(".git")).unwrap();
    std::fs::write(workspace.path().join(".git/config"), "[core]").unwrap();
    std::os::unix::fs::symlink(outside.path(), workspace.path().join("escape")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        workspace.path().join("secret"),
    )
    .unwrap();
    let (_id, base) = session(&server, workspace.path()).await;

    let escaping = [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "escape/secret.txt",
        "secret",
        "escape",
    ];
    for path in escaping {
        for url in [
            format!("{base}/files?path={path}"),
            format!("{base}/files/content?path={path}"),
            format!("{base}/files/archive?path={path}"),
        ] {
            let (status, body) = server.get(&url).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (400, Some("path_outside_workspace")),
                "{url}"
            );
        }
        let (status, body) = put(
            &server,
            &format!("{base}/files/content?path={path}"),
            b"pwned".to_vec(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("path_outside_workspace")),
            "PUT {path}"
        );
        let (status, body) = server
            .post(&format!("{base}/shares"), json!({"path": path}))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("path_outside_workspace")),
            "share {path}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "top secret"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);

    for path in [".git", ".git/config", ".git/hooks/pre-commit", "sub/.GIT/x"] {
        let (status, body) = server
            .get(&format!("{base}/files/content?path={path}"))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("path_protected")),
            "{path}"
        );
        let (status, body) = put(
            &server,
            &format!("{base}/files/content?path={path}"),
            b"#!/bin/sh".to_vec(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("path_protected")),
            "PUT {path}"
        );
    }
    assert!(!workspace.path().join(".git/hooks").exists());
    // The error names the client's path, never the server's directories.
    let (_, body) = server
        .get(&format!("{base}/files/content?path=secret"))
        .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains(&*workspace.path().to_string_lossy()),
        "{message}"
    );
    assert!(
        !message.contains(&*outside.path().to_string_lossy()),
        "{message}"
    );
}
both_backends!(path_traversal_and_symlink_escapes_are_refused, confinement);

async fn size_limit(backend: Backend) {
    let (_fake, server) = started(backend, &[("AGENTD_MAX_UPLOAD_BYTES", "1024")]).await;
    let workspace = tempfile::tempdir().unwrap();
    let (_id, base) = session(&server, workspace.path()).await;

    let (status, body) = put(
        &server,
        &format!("{base}/files/content?path=ok.bin"),
        vec![1; 1024],
    )
    .await;
    assert_eq!((status, body["size"].as_u64()), (201, Some(1024)));
    let (status, body) = put(
        &server,
        &format!("{base}/files/content?path=big.bin"),
        vec![1; 1025],
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    // A streamed body (no Content-Length) is counted as it arrives.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..4).map(|_| Ok(vec![2u8; 512])).collect();
    let (status, body) = send(
        server
            .http
            .put(server.url(&format!("{base}/files/content?path=streamed.bin")))
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let left: Vec<String> = std::fs::read_dir(workspace.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["ok.bin"]);
}
both_backends!(uploads_beyond_the_limit_are_refused, size_limit);

async fn shares(backend: Backend) {
    let (_fake, server) = started(backend, &[]).await;
    let owner = server.member("owner").await;
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("report.pdf"), b"%PDF-1.4 data").unwrap();
    std::fs::write(workspace.path().join("other.txt"), b"not shared").unwrap();
    let (status, created) = send(
        owner
            .http
            .post(server.url("/api/v1/sessions"))
            .json(&json!({"prompt": "hi", "workspace": {"path": workspace.path()}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    server.wait_status(&id, &["idle"]).await;
    let base = format!("/api/v1/sessions/{id}");

    let (status, share) = send(
        owner
            .http
            .post(server.url(&format!("{base}/shares")))
            .json(&json!({"path": "report.pdf", "expires_in_secs": 600})),
    )
    .await;
    assert_eq!(status, 201, "{share}");
    let url = share["url"].as_str().unwrap().to_owned();
    let token = url.strip_prefix("/api/v1/shared/").unwrap().to_owned();
    assert!(token.starts_with("agentd_sh_") && token.len() > 60, "{url}");
    assert_eq!(share["path"], "report.pdf");

    // Anyone with the link downloads that one file, and nothing else.
    let (status, headers, bytes) = get_bytes(&server.anon, &server.url(&url)).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, b"%PDF-1.4 data");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let (status, _, _) = get_bytes(&server.anon, &server.url(&format!("{url}/../other.txt"))).await;
    assert_eq!(status, 404);
    let (status, _, _) =
        get_bytes(&server.anon, &server.url("/api/v1/shared/agentd_sh_0000")).await;
    assert_eq!(status, 404);
    let (status, _) = send(server.anon.put(server.url(&url)).body("x")).await;
    assert_eq!(status, 405);

    // Listed without the token.
    let (_, list) = send(owner.http.get(server.url(&format!("{base}/shares")))).await;
    assert_eq!(list["shares"].as_array().unwrap().len(), 1);
    assert_eq!(list["shares"][0]["id"], share["id"]);
    assert_eq!(list["shares"][0]["created_by"], owner.id.as_str());
    assert!(!list.to_string().contains(&token));

    // Revoked: 404 at once.
    let share_url = format!("{base}/shares/{}", share["id"].as_str().unwrap());
    let (status, _) = send(owner.http.delete(server.url(&share_url))).await;
    assert_eq!(status, 204);
    let (status, _, _) = get_bytes(&server.anon, &server.url(&url)).await;
    assert_eq!(status, 404);
    let (_, list) = send(owner.http.get(server.url(&format!("{base}/shares")))).await;
    assert!(list["shares"][0]["revoked_at"].is_string());

    // Expired: 410.
    let (status, short) = send(
        owner
            .http
            .post(server.url(&format!("{base}/shares")))
            .json(&json!({"path": "report.pdf", "expires_in_secs": 1})),
    )
    .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = send(server.anon.get(server.url(short["url"].as_str().unwrap()))).await;
    assert_eq!(status, 410);
    let (_, body) = send(server.anon.get(server.url(short["url"].as_str().unwrap()))).await;
    assert_eq!(body["error"]["code"], "share_expired");

    // Only regular files, and sane lifetimes.
    for (body, code) in [
        (json!({"path": "."}), "not_a_file"),
        (
            json!({"path": "report.pdf", "expires_in_secs": 0}),
            "validation_failed",
        ),
        (
            json!({"path": "report.pdf", "expires_in_secs": 99_999_999}),
            "validation_failed",
        ),
    ] {
        let (status, answer) = send(
            owner
                .http
                .post(server.url(&format!("{base}/shares")))
                .json(&body),
        )
        .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }

    // An admin's link on the owner's session: the owner may not revoke it,
    // the admin may.
    let (status, admins) = server
        .post(&format!("{base}/shares"), json!({"path": "other.txt"}))
        .await;
    assert_eq!(status, 201);
    let admin_share = format!("{base}/shares/{}", admins["id"].as_str().unwrap());
    let (status, body) = send(owner.http.delete(server.url(&admin_share))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = send(server.http.delete(server.url(&admin_share))).await;
    assert_eq!(status, 204);

    // Creation and revocation are audited; the token is in no log.
    let (_, audit) = server.get("/api/v1/audit?action=share.create").await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 3, "{audit}");
    let (_, audit) = server.get("/api/v1/audit?action=share.revoke").await;
    let revokes = audit["entries"].as_array().unwrap();
    assert_eq!(revokes.len(), 2, "{audit}");
    assert!(revokes.iter().any(|e| e["actor_name"] == "owner"));
    assert!(!server.log().contains(&token[10..]));

    // A deleted session takes its links with it.
    let (status, again) = send(
        owner
            .http
            .post(server.url(&format!("{base}/shares")))
            .json(&json!({"path": "report.pdf"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(owner.http.delete(server.url(&base))).await;
    assert_eq!(status, 204);
    let (status, _) = send(server.anon.get(server.url(again["url"].as_str().unwrap()))).await;
    assert_eq!(status, 404);
}
both_backends!(
    share_links_work_anonymously_until_revoked_or_expired,
    shares
);

async fn tenancy(backend: Backend) {
    let (_fake, server) = started(backend, &[]).await;
    let other = server.member("other").await;
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("a.txt"), "mine").unwrap();
    let (_id, base) = session(&server, workspace.path()).await;
    let (status, share) = server
        .post(&format!("{base}/shares"), json!({"path": "a.txt"}))
        .await;
    assert_eq!(status, 201);
    let share_url = format!("{base}/shares/{}", share["id"].as_str().unwrap());

    let client = client_with(&other.token);
    let calls = [
        client.get(server.url(&format!("{base}/files"))),
        client.get(server.url(&format!("{base}/files/content?path=a.txt"))),
        client
            .put(server.url(&format!("{base}/files/content?path=a.txt")))
            .body("theirs"),
        client.get(server.url(&format!("{base}/files/archive?format=zip"))),
        client
            .post(server.url(&format!("{base}/shares")))
            .json(&json!({"path": "a.txt"})),
        client.get(server.url(&format!("{base}/shares"))),
        client.delete(server.url(&share_url)),
    ];
    for call in calls {
        let req = call.build().unwrap();
        let what = format!("{} {}", req.method(), req.url().path());
        let res = client.execute(req).await.unwrap();
        assert_eq!(res.status().as_u16(), 404, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{what}");
    }
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("a.txt")).unwrap(),
        "mine"
    );
    // The link still works: the stranger revoked nothing.
    let (status, _, bytes) =
        get_bytes(&server.anon, &server.url(share["url"].as_str().unwrap())).await;
    assert_eq!((status, bytes.as_slice()), (200, b"mine".as_slice()));
}
both_backends!(another_member_gets_404_on_every_route, tenancy);
