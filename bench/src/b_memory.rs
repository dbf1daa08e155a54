//! Benchmark 2, Memory per session: resident memory of a real `agentd serve` (and of
//! the CLI processes it started, read from /proc) with N idle and then N
//! running sessions, builtin vs claude-code.

use std::time::Duration;

use agentd_protocol::Runtime;
use agentd_testkit::{FakeAnthropic, turn};
use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::procfs;
use crate::report::{Headline, Section, Table};
use crate::server::{Agentd, Options};
use crate::stats::fmt;

pub const TITLE: &str = "Memory per session";
pub const GOALS: &[(&str, &str)] = &[("builtin: memory per running session", "≤ 10 MB")];

/// A reply that streams for about `secs` seconds at 50 deltas/s.
pub fn slow_turn(secs: u64) -> agentd_testkit::Turn {
    // The fake sends text in 12-character deltas.
    let deltas = secs * 50;
    turn()
        .text("token token ".repeat(deltas as usize))
        .delay_per_event(Duration::from_millis(20))
}

pub fn session_body(runtime: Runtime, workspace: &std::path::Path) -> Value {
    json!({"prompt": "say something long", "workspace": {"path": workspace}, "runtime": runtime.as_str(), "permission_mode": "bypassPermissions"})
}

/// The largest (server, children) RSS in KiB over `samples` readings 250 ms apart.
async fn sample_rss(pid: u32, samples: usize) -> (u64, u64) {
    let mut best = (0, 0);
    for _ in 0..samples {
        let (own, kids) = procfs::tree_rss_kib(pid);
        if own + kids > best.0 + best.1 {
            best = (own, kids);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    best
}

struct Measured {
    base: (u64, u64),
    idle: (u64, u64),
    running: (u64, u64),
    n: usize,
    cli_processes: usize,
    errors: Vec<String>,
}

async fn measure(runtime: Runtime, n: usize) -> Result<Measured> {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Agentd::start(Options {
        anthropic_url: fake.base_url(),
        log_name: format!("memory-{}", runtime.as_str()),
        ..Options::default()
    })
    .await?;
    let ws = tempfile::tempdir()?;
    let body = session_body(runtime, ws.path());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = sample_rss(server.pid, 4).await;
    let (ids, mut errors, _) = server.create_many(n, &body, 8).await;
    let statuses = server.settle(&ids, Duration::from_secs(60)).await?;
    errors.extend(
        statuses
            .values()
            .filter(|s| s.as_str() != "idle")
            .map(|s| format!("ended {s}")),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = sample_rss(server.pid, 4).await;
    // Running: new sessions whose model streams for longer than we measure.
    fake.set_default(slow_turn(30));
    let (ids, errs, _) = server.create_many(n, &body, 8).await;
    errors.extend(errs);
    // Let every session reach its stream (CLI start-up takes seconds).
    let wait = if runtime == Runtime::Builtin { 2 } else { 8 };
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let statuses = server.statuses().await?;
    let running = ids
        .iter()
        .filter(|id| statuses.get(*id).map(String::as_str) == Some("running"))
        .count();
    if running < n {
        errors.push(format!("only {running} of {n} running when measured"));
    }
    let running_rss = sample_rss(server.pid, 8).await;
    let cli_processes = procfs::descendants(server.pid).len() - 1;
    server.stop().await?;
    if ids.is_empty() {
        bail!("no session could be created: {errors:?}");
    }
    Ok(Measured {
        base,
        idle,
        running: running_rss,
        n,
        cli_processes,
        errors,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn run(quick: bool) -> Result<Vec<Section>> {
    let (n_builtin, n_cli) = if quick { (20, 2) } else { (100, 5) };
    let mut s = Section::new("2", TITLE, "");
    let mut table = Table::new(&[
        "runtime",
        "N",
        "server alone MiB",
        "+N idle: server / CLI MiB",
        "+N running: server / CLI MiB",
        "per idle session MiB",
        "per running session MiB",
        "child processes",
        "errors",
    ]);
    let mut per_running_builtin = None;
    for (runtime, n) in [(Runtime::Builtin, n_builtin), (Runtime::ClaudeCode, n_cli)] {
        match measure(runtime, n).await {
            Ok(m) => {
                let total = |x: (u64, u64)| mib(x.0 + x.1);
                let per_idle = (total(m.idle) - total(m.base)) / m.n as f64;
                let per_running = (total(m.running) - total(m.idle)) / m.n as f64;
                if runtime == Runtime::Builtin {
                    per_running_builtin = Some(per_running);
                }
                table.row(vec![
                    runtime.as_str().into(),
                    m.n.to_string(),
                    fmt(mib(m.base.0)),
                    format!("{} / {}", fmt(mib(m.idle.0)), fmt(mib(m.idle.1))),
                    format!("{} / {}", fmt(mib(m.running.0)), fmt(mib(m.running.1))),
                    fmt(per_idle),
                    fmt(per_running),
                    m.cli_processes.to_string(),
                    m.errors.len().to_string(),
                ]);
                s.data[runtime.as_str()] = json!({"n": m.n, "base_kib": m.base, "idle_kib": m.idle, "running_kib": m.running,
                    "per_idle_mib": per_idle, "per_running_mib": per_running, "child_processes": m.cli_processes, "errors": m.errors});
            }
            Err(e) => {
                table.row(vec![
                    runtime.as_str().into(),
                    n.to_string(),
                    format!("not measured: {e:#}"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                s.data[runtime.as_str()] = json!({"error": format!("{e:#}")});
            }
        }
    }
    s.tables.push(table);
    let result = per_running_builtin.map_or("not measured".into(), |x| format!("{} MiB", fmt(x)));
    s.headlines.push(Headline::new(
        GOALS[0].0,
        GOALS[0].1,
        result,
        per_running_builtin.map(|x| x <= 10.0),
    ));
    let cli = s.data["claude-code"]["per_running_mib"].as_f64();
    if let (Some(b), Some(c)) = (per_running_builtin, cli) {
        s.headlines.push(Headline::new(
            "claude-code: memory per running session (server + CLI)",
            "(comparison)",
            format!("{} MiB ({}× builtin)", fmt(c), fmt(c / b.max(0.01))),
            None,
        ));
    }
    s.method = format!(
        "A real `agentd serve` (release, SQLite) per runtime, with the testkit fake as the model. Resident memory \
         (VmRSS; the largest of several readings 250 ms apart) of the server and, separately, of every process \
         below it in /proc (the Claude Code CLIs). First the server alone, then after N sessions answered \"ok\" and \
         went idle, then with N more sessions whose model streams text at 50 deltas/s (measured 2 s after creation \
         for builtin, 8 s for claude-code so every CLI has started). Per session = the increase ÷ N. \
         N = {n_builtin} builtin, {n_cli} claude-code (each claude-code session keeps one CLI process)."
    );
    if per_running_builtin.is_some_and(|x| x > 10.0) {
        s.analysis.push("Memory per running builtin session is over 10 MB; see results.json for server vs children.".into());
    }
    Ok(vec![s])
}
