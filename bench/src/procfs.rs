//! Process figures from /proc: resident memory (of a process and all its
//! descendants, so a session's Claude Code CLI counts), CPU time, and the
//! machine's description for the report.

use std::collections::HashMap;

use serde_json::{Value, json};

/// `VmRSS` of one process, in KiB (0 if it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// `VmHWM` (peak resident) of one process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

fn status_field(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Every process whose ancestry leads to `root` (including it). The CLI
/// processes of claude-code sessions are children (or grandchildren, via a
/// wrapper) of the server.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = stat_fields(pid) {
                parent_of.insert(pid, stat.ppid);
            }
        }
    }
    let mut out = vec![root];
    // Walk each process up to the root; the tree is small, the loop bounded.
    for (&pid, _) in parent_of.iter() {
        let mut cur = pid;
        for _ in 0..64 {
            match parent_of.get(&cur) {
                Some(&p) if p == root => {
                    out.push(pid);
                    break;
                }
                Some(&p) if p > 1 => cur = p,
                _ => break,
            }
        }
    }
    out
}

/// Resident memory of `root` and its descendants, in KiB: (server alone, children).
pub fn tree_rss_kib(root: u32) -> (u64, u64) {
    let own = rss_kib(root);
    let children: u64 = descendants(root)
        .into_iter()
        .filter(|&p| p != root)
        .map(rss_kib)
        .sum();
    (own, children)
}

struct Stat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
}

fn stat_fields(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        cpu_ticks: f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
    })
}

/// CPU seconds (user + system) used so far by one process.
pub fn cpu_secs(pid: u32) -> f64 {
    // Linux reports in USER_HZ, which is 100 on every supported platform.
    stat_fields(pid).map_or(0.0, |s| s.cpu_ticks as f64 / 100.0)
}

/// Threads of a process.
pub fn threads(pid: u32) -> u64 {
    status_field(pid, "Threads:")
}

/// The 1, 5 and 15-minute load averages: other work on the machine (other
/// builds) shows in the figures, so the report records it.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Cores, memory, CPU model, kernel and tool versions.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|s| s.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    json!({
        "cores": cores,
        "memory_gib": format!("{:.1}", mem_kib as f64 / 1024.0 / 1024.0),
        "cpu": model,
        "kernel": first_line("uname", &["-r"]),
        "rustc": first_line("rustc", &["--version"]),
        "git": first_line("git", &["--version"]),
        "bubblewrap": first_line("bwrap", &["--version"]),
        "claude_code": first_line(&crate::claude_cli().to_string_lossy(), &["--version"]),
        "postgresql": first_line("psql", &["--version"]),
    })
}

fn first_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "not found".into())
}
