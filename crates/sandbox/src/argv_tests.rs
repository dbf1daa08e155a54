use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use super::*;
use crate::policy::{HiddenPath, NetworkPolicy, ResourceLimits, SandboxPolicy};

/// A policy with nothing taken from the host, so the snapshot is stable.
fn policy() -> SandboxPolicy {
    SandboxPolicy {
        workspace: PathBuf::from("/srv/ws"),
        extra_writable: Vec::new(),
        extra_readonly: Vec::new(),
        network: NetworkPolicy::None,
        limits: ResourceLimits::default(),
        hidden_paths: Vec::new(),
        env: vec![("PATH".to_owned(), "/usr/bin:/bin".to_owned())],
        home: PathBuf::from("/home/agent"),
        home_dir: None,
        protect_git: false,
        git_is_file: false,
    }
}

fn argv(policy: &SandboxPolicy) -> Vec<String> {
    bwrap_argv(
        policy,
        Path::new("/srv/ws"),
        "bash",
        &["-c".to_owned(), "ls".to_owned()],
    )
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Position of the first occurrence of `window` in `argv`.
fn find(argv: &[String], window: &str) -> Option<usize> {
    let window = words(window);
    argv.windows(window.len())
        .position(|w| w == window.as_slice())
}

fn has(argv: &[String], window: &str) -> bool {
    find(argv, window).is_some()
}

#[test]
fn default_policy_snapshot() {
    let expected = words(
        "--unshare-all --unshare-user --disable-userns --uid 1000 --gid 1000 \
         --die-with-parent --new-session \
         --ro-bind-try /usr /usr --ro-bind-try /bin /bin --ro-bind-try /sbin /sbin \
         --ro-bind-try /lib /lib --ro-bind-try /lib32 /lib32 --ro-bind-try /lib64 /lib64 \
         --ro-bind-try /libx32 /libx32 --ro-bind-try /etc /etc --ro-bind-try /opt /opt \
         --proc /proc --dev /dev \
         --tmpfs /tmp --tmpfs /home/agent --bind /srv/ws /srv/ws \
         --chdir /srv/ws --clearenv --setenv PATH /usr/bin:/bin --setenv HOME /home/agent \
         -- /usr/bin/prlimit --cpu=600 --as=8589934592 --nproc=1024 --fsize=1073741824 \
         --nofile=4096 -- bash -c ls",
    );
    assert_eq!(argv(&policy()), expected);
}

#[test]
fn network_is_unshared_unless_host_is_asked_for() {
    let isolated = argv(&policy());
    assert!(!has(&isolated, "--share-net"));
    assert!(!has(
        &isolated,
        "--ro-bind-try /run/systemd/resolve /run/systemd/resolve"
    ));

    let host = argv(&SandboxPolicy {
        network: NetworkPolicy::Host,
        ..policy()
    });
    // --unshare-all stays: every other namespace is still private.
    assert!(has(
        &host,
        "--unshare-all --unshare-user --disable-userns --share-net"
    ));
    assert!(has(
        &host,
        "--ro-bind-try /run/systemd/resolve /run/systemd/resolve"
    ));
}

#[test]
fn extra_paths_are_bound_at_the_same_path_after_the_workspace() {
    let argv = argv(&SandboxPolicy {
        extra_writable: vec![PathBuf::from("/var/cache/agentd")],
        extra_readonly: vec![PathBuf::from("/root/.cargo")],
        ..policy()
    });
    let rw = find(&argv, "--bind /var/cache/agentd /var/cache/agentd");
    let ro = find(&argv, "--ro-bind /root/.cargo /root/.cargo");
    let ws = find(&argv, "--bind /srv/ws /srv/ws");
    assert!(rw.is_some() && ro.is_some() && ws.is_some(), "{argv:?}");
    assert!(ws < rw, "{argv:?}");
}

#[test]
fn hidden_directories_get_an_empty_unreadable_read_only_tmpfs() {
    let argv = argv(&SandboxPolicy {
        hidden_paths: vec![HiddenPath::directory("/root/.ssh")],
        ..policy()
    });
    let tmpfs = find(&argv, "--perms 0000 --tmpfs /root/.ssh");
    let remount = find(&argv, "--remount-ro /root/.ssh");
    assert!(tmpfs.is_some() && tmpfs < remount, "{argv:?}");
    // The remount comes after every mount, before the command.
    assert!(remount < find(&argv, "--chdir"), "{argv:?}");
}

#[test]
fn hidden_files_are_covered_by_dev_null() {
    let argv = argv(&SandboxPolicy {
        hidden_paths: vec![HiddenPath::file("/etc/shadow")],
        ..policy()
    });
    assert!(has(&argv, "--ro-bind /dev/null /etc/shadow"), "{argv:?}");
    assert!(find(&argv, "--ro-bind-try /etc /etc") < find(&argv, "/dev/null /etc/shadow"));
    assert!(!has(&argv, "--remount-ro /etc/shadow"));
}

#[test]
fn a_hidden_path_inside_the_workspace_is_mounted_over_it() {
    let argv = argv(&SandboxPolicy {
        hidden_paths: vec![HiddenPath::file("/srv/ws/.env")],
        ..policy()
    });
    let ws = find(&argv, "--bind /srv/ws /srv/ws");
    let hide = find(&argv, "--ro-bind /dev/null /srv/ws/.env");
    assert!(ws.is_some() && ws < hide, "{argv:?}");
}

#[test]
fn a_workspace_inside_a_hidden_dir_stays_reachable() {
    let argv = argv(&SandboxPolicy {
        hidden_paths: vec![HiddenPath::directory("/srv")],
        ..policy()
    });
    // Hidden first, workspace bound on top; the cover is traversable only.
    let hide = find(&argv, "--perms 0111 --tmpfs /srv");
    let ws = find(&argv, "--bind /srv/ws /srv/ws");
    assert!(hide.is_some() && hide < ws, "{argv:?}");
}

#[test]
fn protect_git_pins_dot_git_and_makes_hooks_and_config_read_only() {
    let argv = argv(&SandboxPolicy {
        protect_git: true,
        ..policy()
    });
    let ws = find(&argv, "--bind /srv/ws /srv/ws");
    let git = find(&argv, "--bind-try /srv/ws/.git /srv/ws/.git");
    let hooks = find(&argv, "--ro-bind-try /srv/ws/.git/hooks /srv/ws/.git/hooks");
    let config = find(
        &argv,
        "--ro-bind-try /srv/ws/.git/config /srv/ws/.git/config",
    );
    assert!(
        ws.is_some() && ws < git && git < hooks && git < config,
        "{argv:?}"
    );

    let unprotected = self::argv(&policy());
    assert!(!unprotected.iter().any(|arg| arg.contains(".git")));
}

#[test]
fn a_worktree_pins_its_dot_git_file_read_only() {
    let argv = argv(&SandboxPolicy {
        protect_git: true,
        git_is_file: true,
        ..policy()
    });
    let ws = find(&argv, "--bind /srv/ws /srv/ws");
    let git = find(&argv, "--ro-bind-try /srv/ws/.git /srv/ws/.git");
    assert!(ws.is_some() && ws < git, "{argv:?}");
    assert!(
        !argv.iter().any(|arg| arg.contains(".git/hooks")),
        "{argv:?}"
    );
}

#[test]
fn environment_is_cleared_then_set_and_home_is_always_the_private_one() {
    let argv = argv(&SandboxPolicy {
        env: vec![
            ("GREETING".to_owned(), "hello world".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ],
        ..policy()
    });
    let clear = find(&argv, "--clearenv").unwrap_or(usize::MAX);
    let first_set = find(&argv, "--setenv").unwrap_or(0);
    assert!(clear < first_set, "{argv:?}");
    let greeting = argv
        .windows(3)
        .any(|w| w == ["--setenv", "GREETING", "hello world"]);
    assert!(greeting, "a value with spaces stays one argument: {argv:?}");
    assert!(has(&argv, "--setenv HOME /home/agent"));
    assert!(!has(&argv, "--setenv HOME /root"));
}

#[test]
fn the_command_follows_the_limits_verbatim() {
    let args = ["--unshare-all".to_owned(), "; rm -rf /".to_owned()];
    let argv = bwrap_argv(&policy(), Path::new("/srv/ws/sub"), "--weird", &args);
    let tail = &argv[argv.len() - 5..];
    assert_eq!(
        tail,
        [
            "--nofile=4096",
            "--",
            "--weird",
            "--unshare-all",
            "; rm -rf /"
        ]
    );
    assert!(has(&argv, "--chdir /srv/ws/sub"));
}

#[test]
fn limits_come_from_the_policy() {
    let limits = ResourceLimits {
        cpu_seconds: 5,
        memory_bytes: 1 << 20,
        max_processes: 64,
        max_file_size_bytes: 4096,
        max_open_files: 32,
    };
    let argv = argv(&SandboxPolicy { limits, ..policy() });
    let expected = "/usr/bin/prlimit --cpu=5 --as=1048576 --nproc=64 --fsize=4096 --nofile=32 --";
    assert!(has(&argv, expected), "{argv:?}");
}

#[test]
fn pid_namespace_cap_wraps_bwrap_with_pid_max_above_the_reserved_pids() {
    let args = ["-c".to_owned(), "ls".to_owned()];
    let full = launch_argv(
        Path::new("/usr/bin/bwrap"),
        ProcessCap::PidNamespace,
        &policy(),
        Path::new("/srv/ws"),
        "bash",
        &args,
    );
    let prefix = words(
        "/usr/bin/setpriv --pdeathsig KILL -- /usr/bin/unshare --user --map-root-user --pid --fork --kill-child --mount-proc -- /bin/sh -c",
    );
    assert_eq!(full[..prefix.len()], prefix[..]);
    assert_eq!(full[prefix.len()], cap_script());
    assert_eq!(
        full[prefix.len() + 1..prefix.len() + 4],
        ["sh", "1324", "/usr/bin/bwrap"]
    );
    assert_eq!(full[prefix.len() + 4..], argv(&policy())[..]);
}

#[test]
fn without_a_pid_namespace_cap_bwrap_runs_directly() {
    let full = launch_argv(
        Path::new("/opt/bwrap"),
        ProcessCap::RlimitOnly,
        &policy(),
        Path::new("/srv/ws"),
        "bash",
        &["-c".to_owned(), "ls".to_owned()],
    );
    assert_eq!(full[0], "/opt/bwrap");
    assert_eq!(full[1..], argv(&policy())[..]);
}

#[test]
fn a_persistent_home_is_bound_read_write_in_place_of_the_tmpfs() {
    let mut policy = policy();
    policy.home_dir = Some(PathBuf::from("/data/claude-home/s1"));
    let argv = argv(&policy);
    assert!(
        has(&argv, "--bind /data/claude-home/s1 /home/agent"),
        "{argv:?}"
    );
    assert!(!has(&argv, "--tmpfs /home/agent"), "{argv:?}");
    assert!(has(&argv, "--setenv HOME /home/agent"), "{argv:?}");
}

#[test]
fn a_persistent_home_inside_a_hidden_data_dir_stays_reachable() {
    let mut policy = policy();
    policy.hidden_paths = vec![HiddenPath::directory("/data")];
    policy.home_dir = Some(PathBuf::from("/data/claude-home/s1"));
    let argv = argv(&policy);
    // bwrap reads a bind's source from the host's root, so hiding /data
    // inside does not hide the home, and nothing of /data shows beside it.
    assert!(has(&argv, "--perms 0000 --tmpfs /data"), "{argv:?}");
    assert!(
        has(&argv, "--bind /data/claude-home/s1 /home/agent"),
        "{argv:?}"
    );
}
