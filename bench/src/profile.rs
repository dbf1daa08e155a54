//! A CPU profile of the server while a benchmark round runs, with `perf`
//! when the machine has it: where the time goes when a goal is missed.
//! Optional: without perf (or permission) the report just says so.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct Profile {
    child: Child,
    file: PathBuf,
}

/// Starts sampling `pid` (user and kernel stacks' leaf functions) into
/// `bench/out/<name>.perf.data`. `None` when perf cannot start.
pub fn start(pid: u32, name: &str) -> Option<Profile> {
    let file = crate::out_dir().join(format!("{name}.perf.data"));
    let child = Command::new("perf")
        .args(["record", "-F", "499", "-p", &pid.to_string(), "-o"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    Some(Profile { child, file })
}

impl Profile {
    /// Stops sampling and returns the hottest functions as
    /// "12.3 % symbol (dso)" lines, at most `top`.
    pub async fn finish(mut self, top: usize) -> Vec<String> {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SIGINT makes perf write its file and exit.
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGINT);
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            return Vec::new();
        }
        let report = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "dso,symbol",
                "--percent-limit",
                "1",
                "-i",
            ])
            .arg(&self.file)
            .stderr(Stdio::null())
            .output();
        let Ok(Ok(out)) = tokio::time::timeout(Duration::from_secs(60), report).await else {
            return Vec::new();
        };
        parse(&String::from_utf8_lossy(&out.stdout), top)
    }
}

/// The `perf report --stdio` lines "  12.34%  dso  [.] symbol".
fn parse(text: &str, top: usize) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.trim();
            let (pct, rest) = l.split_once('%')?;
            let pct: f64 = pct.trim().parse().ok()?;
            let mut parts = rest.split_whitespace();
            let dso = parts.next()?;
            let symbol: Vec<&str> = parts.skip(1).collect();
            let mut symbol = symbol.join(" ");
            if symbol.len() > 90 {
                symbol.truncate(90);
                symbol.push('…');
            }
            Some(format!("{pct:.1} % `{symbol}` ({dso})"))
        })
        .take(top)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_become_short_entries() {
        let text = "# header\n    23.39%  agentd  [.] tokio::runtime::park\n     1.00%  [kernel.kallsyms]  [k] tcp_sendmsg\n\n";
        assert_eq!(
            parse(text, 5),
            vec![
                "23.4 % `tokio::runtime::park` (agentd)",
                "1.0 % `tcp_sendmsg` ([kernel.kallsyms])"
            ]
        );
    }
}
