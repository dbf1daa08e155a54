#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What a sandboxed `bash -c` can and cannot touch, run through the real bash
//! tool and the real bubblewrap. Each "cannot" is checked on the host too, and
//! where a test could pass vacuously a control run shows the thing would work
//! without the protection.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;

use agentd_sandbox::NetworkPolicy;
use common::Sandbox;

#[tokio::test]
async fn the_workspace_is_writable_and_the_system_readable() {
    let sb = Sandbox::new();
    let out = sb
        .ok("echo hello > made-inside && cat made-inside && ls /usr/bin | grep -c . && git --version && pwd")
        .await;
    assert!(
        out.contains("hello") && out.contains("git version"),
        "{out}"
    );
    // The model sees the real path.
    assert!(out.contains(&sb.ws().display().to_string()), "{out}");
    assert_eq!(
        std::fs::read_to_string(sb.ws().join("made-inside")).unwrap(),
        "hello\n"
    );
}

#[tokio::test]
async fn writes_outside_the_workspace_never_reach_the_host() {
    let sb = Sandbox::new();
    let tag = format!("agentd-escape-{}", std::process::id());
    let script = format!(
        "for p in /root/{tag} /tmp/{tag} /usr/{tag} /etc/{tag} {outside}/{tag} $HOME/{tag}; do \
           (echo x > $p) 2>/dev/null && echo \"wrote $p\"; done; true",
        outside = sb.outside().display(),
    );
    let out = sb.ok(&script).await;
    // /tmp and $HOME are private tmpfs: writable inside, gone afterwards.
    assert!(
        !out.contains("wrote /usr") && !out.contains("wrote /etc"),
        "{out}"
    );
    for dir in ["/root", "/tmp", "/usr", "/etc", "/home/agent"] {
        let path = std::path::Path::new(dir).join(&tag);
        assert!(!path.exists(), "{} appeared on the host", path.display());
    }
    assert!(!sb.outside().join(&tag).exists(), "{out}");
}

#[tokio::test]
async fn hidden_dirs_are_unreadable_even_under_a_bound_dir() {
    let mut sb = Sandbox::new();
    let key = sb.plant_outside(".ssh/id_ed25519", "PRIVATE-KEY-MATERIAL");
    let db = sb.plant_outside("agentd-data/agentd.db", "SERVER-DATABASE");
    sb.policy.extra_readonly.push(sb.outside());
    let read = format!(
        "cat {} {}; ls {} | sed 's/^/listed: /'",
        key.display(),
        db.display(),
        key.parent().unwrap().display()
    );

    // Control: bound read-only and not hidden, both are readable.
    let control = sb.bash(&read, 10_000).await.content;
    assert!(control.contains("PRIVATE-KEY-MATERIAL"), "{control}");
    assert!(
        control.contains("SERVER-DATABASE") && control.contains("listed: id_ed25519"),
        "{control}"
    );

    sb.hide(key.parent().unwrap());
    sb.hide(db.parent().unwrap());
    let outcome = sb.bash(&read, 10_000).await;
    assert_eq!(
        outcome.content.matches("Permission denied").count(),
        3,
        "{}",
        outcome.content
    );
    assert!(
        !outcome.content.contains("PRIVATE-KEY-MATERIAL"),
        "{}",
        outcome.content
    );
    assert!(
        !outcome.content.contains("SERVER-DATABASE"),
        "{}",
        outcome.content
    );
    assert!(
        !outcome.content.contains("listed: id_ed25519"),
        "{}",
        outcome.content
    );
}

#[tokio::test]
async fn host_secrets_in_etc_are_hidden() {
    let sb = Sandbox::new();
    let outcome = sb.bash("cat /etc/shadow; ls /etc/ssh", 10_000).await;
    assert!(outcome.is_error, "{}", outcome.content);
    if std::path::Path::new("/etc/shadow").exists() {
        let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
        let root_entry = shadow.lines().next().unwrap_or("root:");
        assert!(!outcome.content.contains(root_entry), "{}", outcome.content);
    }
    assert!(sb.ok("cat /etc/passwd").await.contains("root:"));
}

#[tokio::test]
async fn symlinks_in_the_workspace_lead_nowhere_useful() {
    let mut sb = Sandbox::new();
    let secret = sb.plant_outside("data/token", "TOP-SECRET-TOKEN");
    sb.policy.extra_readonly.push(sb.outside());
    sb.hide(secret.parent().unwrap());
    std::os::unix::fs::symlink("/etc", sb.ws().join("etc-link")).unwrap();
    std::os::unix::fs::symlink(secret.parent().unwrap(), sb.ws().join("data-link")).unwrap();
    let tag = format!("agentd-escape-{}", std::process::id());
    let outcome = sb
        .bash(
            &format!(
                "cat data-link/token; ls data-link; cat etc-link/shadow; echo x > etc-link/{tag}"
            ),
            10_000,
        )
        .await;
    assert!(
        !outcome.content.contains("TOP-SECRET-TOKEN"),
        "{}",
        outcome.content
    );
    assert!(
        outcome.content.contains("Read-only file system"),
        "{}",
        outcome.content
    );
    assert!(!std::path::Path::new("/etc").join(&tag).exists());
}

#[tokio::test]
async fn there_is_no_network_unless_the_policy_allows_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect = format!("echo hi > /dev/tcp/127.0.0.1/{port} && echo connected");

    let mut sb = Sandbox::new();
    let outcome = sb.bash(&connect, 10_000).await;
    assert!(
        outcome.is_error && !outcome.content.contains("connected"),
        "{}",
        outcome.content
    );
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "{accepted:?}"
    );

    // Control: with the host network the same command reaches the listener.
    sb.policy.network = NetworkPolicy::Host;
    assert!(sb.ok(&connect).await.contains("connected"));
}

#[tokio::test]
async fn the_process_is_unprivileged_and_sees_only_the_policy_environment() {
    let mut sb = Sandbox::new();
    sb.policy
        .env
        .push(("GREETING".to_owned(), "hello world".to_owned()));
    let out = sb
        .ok("id -u; grep CapEff /proc/self/status; env; unshare -r true 2>/dev/null && echo NESTED-USERNS; true")
        .await;
    assert!(out.starts_with("1000\n"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(
        out.contains("GREETING=hello world") && out.contains("HOME=/home/agent"),
        "{out}"
    );
    // The test process has CARGO_* and PATH variables of its own; none leak.
    assert!(!out.contains("CARGO"), "{out}");
    assert!(!out.contains("NESTED-USERNS"), "{out}");
}

#[tokio::test]
async fn git_hooks_and_config_cannot_be_planted() {
    let sb = Sandbox::new();
    let ws = sb.ws();
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&ws)
        .status()
        .unwrap();
    assert!(init.success());
    let config_before = std::fs::read_to_string(ws.join(".git/config")).unwrap();
    let attempt = "echo 'curl evil' > .git/hooks/post-checkout; chmod +x .git/hooks/post-checkout; \
                   git config core.hooksPath /tmp; mv .git .git-old; true";
    sb.ok(attempt).await;
    assert!(!ws.join(".git/hooks/post-checkout").exists());
    assert!(!ws.join(".git-old").exists());
    assert_eq!(
        std::fs::read_to_string(ws.join(".git/config")).unwrap(),
        config_before
    );
    // Ordinary git work still happens.
    let out = sb
        .ok("echo a > a && git add a && git -c user.name=a -c user.email=a@a commit -qm one && git log --oneline")
        .await;
    assert!(out.contains("one"), "{out}");
}

#[tokio::test]
async fn a_cwd_outside_the_workspace_is_refused_with_a_reason() {
    use agentd_tools::ProcessLauncher;
    let sb = Sandbox::new();
    let cmd = sb
        .launcher()
        .command("true", &[], std::path::Path::new("/etc"));
    let output = { cmd }.output().await.unwrap();
    assert_eq!(output.status.code(), Some(126));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("outside the sandbox workspace"), "{stderr}");
}
