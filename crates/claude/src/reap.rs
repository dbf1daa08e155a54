//! Killing a CLI together with everything it started.
//!
//! The CLI's own process group is not enough: its Bash tool starts each
//! command with `setsid` (a new session and group, observed with 2.1.330),
//! so `killpg` on the CLI's group misses exactly the processes that
//! matter. We walk the process tree from `/proc` instead, while the CLI is
//! stopped so it cannot start more, and kill every descendant's group.

use std::collections::HashSet;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgrp};

/// One row of the process table: pid, parent, process group.
#[derive(Clone, Copy, Debug)]
struct Proc {
    pid: i32,
    ppid: i32,
    pgrp: i32,
}

fn process_table() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

/// `pid (comm) state ppid pgrp …`; `comm` may hold spaces and parentheses,
/// so the fields are counted from the last `)`. Zombies are left out: they
/// are dead already.
fn parse_stat(pid: i32, stat: &str) -> Option<Proc> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    (state != "Z" && state != "X").then_some(Proc { pid, ppid, pgrp })
}

/// Live descendants of `root` (not `root` itself), parents before children.
pub(crate) fn descendants(root: i32) -> Vec<i32> {
    descendants_in(&process_table(), root)
        .into_iter()
        .map(|p| p.pid)
        .collect()
}

fn descendants_in(table: &[Proc], root: i32) -> Vec<Proc> {
    let mut found: Vec<Proc> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for child in table.iter().filter(|p| p.ppid == parent && p.pid != root) {
            if !found.iter().any(|f| f.pid == child.pid) {
                found.push(*child);
                frontier.push(child.pid);
            }
        }
    }
    found
}

/// The processes `root` started, remembered so they can be found after
/// `root` exits and they are re-parented.
pub(crate) struct Snapshot(Vec<Proc>);

impl Snapshot {
    pub fn take(root: Pid) -> Self {
        Self(descendants_in(&process_table(), root.as_raw()))
    }

    /// SIGKILL to those still alive in the group they had (a pid reused
    /// since by an unrelated process is left alone).
    pub fn kill_survivors(&self) {
        let table = process_table();
        for old in &self.0 {
            if table.iter().any(|p| p.pid == old.pid && p.pgrp == old.pgrp) {
                let _ = kill(Pid::from_raw(old.pid), Signal::SIGKILL);
            }
        }
    }
}

/// SIGKILL to `root` (a live, unreaped child of ours, leader of its own
/// group), its group, and every descendant and descendant's group.
pub(crate) fn kill_tree(root: Pid) {
    // Stopped, it can neither start new processes nor let its children be
    // re-parented away before we find them.
    let _ = kill(root, Signal::SIGSTOP);
    let own_group = getpgrp().as_raw();
    let mut groups: HashSet<i32> = HashSet::from([root.as_raw()]);
    for process in descendants_in(&process_table(), root.as_raw()) {
        groups.insert(process.pgrp);
        let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
    }
    for group in groups {
        // Never our own group (a tool that did not setsid shares the CLI's
        // group, which is never ours), never init's.
        if group > 1 && group != own_group {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
    let _ = kill(root, Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let p = parse_stat(42, "42 (a) b (c)) S 7 42 42 0 -1").unwrap();
        assert_eq!((p.pid, p.ppid, p.pgrp), (42, 7, 42));
        assert!(parse_stat(43, "43 (z) Z 7 43 43").is_none());
        assert!(parse_stat(44, "garbage").is_none());
    }

    #[test]
    fn the_tree_is_walked_through_other_groups() {
        let table = [
            Proc {
                pid: 10,
                ppid: 1,
                pgrp: 10,
            },
            Proc {
                pid: 11,
                ppid: 10,
                pgrp: 11,
            },
            Proc {
                pid: 12,
                ppid: 11,
                pgrp: 11,
            },
            Proc {
                pid: 13,
                ppid: 12,
                pgrp: 13,
            },
            Proc {
                pid: 20,
                ppid: 1,
                pgrp: 20,
            },
        ];
        let pids: Vec<i32> = descendants_in(&table, 10).iter().map(|p| p.pid).collect();
        assert_eq!(pids, [11, 12, 13]);
    }

    #[test]
    fn a_real_tree_is_killed_across_sessions() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "setsid sh -c 'sleep 60' & sleep 60"])
            .process_group(0)
            .spawn()
            .unwrap();
        let root = i32::try_from(child.id()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while descendants(root).len() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let before = descendants(root);
        assert!(before.len() >= 3, "{before:?}");
        kill_tree(Pid::from_raw(root));
        child.wait().unwrap();
        // SIGKILL is asynchronous and orphans are reaped by init: wait for
        // the processes to go, ignoring zombies (dead, awaiting reaping).
        let running = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut alive: Vec<i32> = before;
        while !alive.is_empty() && std::time::Instant::now() < deadline {
            alive.retain(|p| running(*p));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(alive, Vec::<i32>::new());
    }
}
