//! `agentd-bench`: measures agentd against the "Fast" goals of DESIGN.md §4
//! (issue 8) and writes `bench/REPORT.md` and `bench/results.json`.
//!
//! `cargo run --release -p agentd-bench -- all` (about 3 minutes on 2 cores, plus the build)
//! or `… -- all --quick` (a smoke run of about a minute, written to
//! `bench/out/`). Everything runs on 127.0.0.1; every loop has a count and
//! a time limit; every process it starts it stops. Benchmarks are never
//! timed tests: the only tests here check the statistics helpers.

mod b_cache;
mod b_concurrency;
mod b_durability;
mod b_latency;
mod b_memory;
mod b_runtime;
mod b_start;
mod clients;
mod engine;
mod procfs;
mod profile;
mod report;
mod server;
mod stampfake;
mod stats;
mod strace;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use report::{Report, Section};

#[derive(Parser)]
#[command(name = "agentd-bench", about = "Benchmarks of agentd (issue 8)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every benchmark and write the report.
    All {
        /// A ~1-minute smoke run with small counts, written to bench/out/.
        #[arg(long)]
        quick: bool,
        /// Only these benchmarks (numbers 1-9, comma separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<u8>,
    },
}

/// The workspace root (this crate is `bench/` in it).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Scratch output, git-ignored.
pub fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("out")
}

/// The release `agentd` next to this binary.
pub fn agentd_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("agentd")))
        .unwrap_or_else(|| PathBuf::from("agentd"))
}

/// The Claude Code CLI scripts/test installs.
pub fn claude_cli() -> PathBuf {
    match std::env::var_os("AGENTD_TEST_CLAUDE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/agentd-npm/node_modules/.bin/claude"),
    }
}

/// `cargo run -p agentd-bench` builds only this package, not the server
/// binary it measures: build it (a no-op when fresh) with the same profile.
fn build_agentd() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "agentd-cli", "--bin", "agentd"])
        .current_dir(repo_root())
        .status()
        .context("run cargo build for agentd")?;
    if !agentd_bin().exists() {
        bail!(
            "cannot build the release agentd binary at {}",
            agentd_bin().display()
        );
    }
    if !status.success() {
        // Others edit the workspace concurrently: measure the last good build, and say so.
        eprintln!(
            "warning: cargo build failed; measuring the existing {}",
            agentd_bin().display()
        );
    }
    Ok(())
}

/// 1,000 subscribers and sessions need more descriptors than the default.
fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            let want = hard.min(65_536);
            if soft < want && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
                return want;
            }
            soft
        }
        Err(_) => 0,
    }
}

type BenchFuture = Pin<Box<dyn Future<Output = Result<Vec<Section>>>>>;

struct Bench {
    id: u8,
    title: &'static str,
    goals: &'static [(&'static str, &'static str)],
    /// The benchmark numbers this function reports (1 also does 8, …).
    covers: &'static [u8],
    run: fn(bool) -> BenchFuture,
    limit: Duration,
}

fn benches() -> Vec<Bench> {
    vec![
        Bench {
            id: 1,
            covers: &[1, 8],
            title: b_runtime::TITLE,
            goals: b_runtime::GOALS,
            run: |q| Box::pin(b_runtime::run(q)),
            limit: Duration::from_secs(180),
        },
        Bench {
            id: 2,
            covers: &[2],
            title: b_memory::TITLE,
            goals: b_memory::GOALS,
            run: |q| Box::pin(b_memory::run(q)),
            limit: Duration::from_secs(150),
        },
        Bench {
            id: 3,
            covers: &[3, 4],
            title: b_latency::TITLE,
            goals: b_latency::GOALS,
            run: |q| Box::pin(b_latency::run(q)),
            limit: Duration::from_secs(150),
        },
        Bench {
            id: 5,
            covers: &[5],
            title: b_concurrency::TITLE,
            goals: b_concurrency::GOALS,
            run: |q| Box::pin(b_concurrency::run(q)),
            limit: Duration::from_secs(150),
        },
        Bench {
            id: 6,
            covers: &[6, 7],
            title: b_start::TITLE,
            goals: b_start::GOALS,
            run: |q| Box::pin(b_start::run(q)),
            limit: Duration::from_secs(90),
        },
        Bench {
            id: 9,
            covers: &[9],
            title: b_durability::TITLE,
            goals: b_durability::GOALS,
            run: |q| Box::pin(b_durability::run(q)),
            limit: Duration::from_secs(90),
        },
    ]
}

/// "Not measured" sections for every number a failed bench covers.
fn failed(bench: &Bench, reason: String) -> Vec<Section> {
    bench
        .covers
        .iter()
        .map(|&id| {
            let goals = if id == bench.id { bench.goals } else { &[] };
            let title = if id == bench.id {
                bench.title
            } else {
                "(covered by the benchmark before)"
            };
            Section::not_measured(&id.to_string(), title, reason.clone(), goals)
        })
        .collect()
}

fn main() -> Result<()> {
    let Command::All { quick, only } = Cli::parse().command;
    stampfake::now_ns();
    std::fs::create_dir_all(out_dir()).context("create bench/out")?;
    build_agentd()?;
    let fds = raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut machine = procfs::machine();
    machine["open_files_limit"] = fds.into();
    machine["load_average_at_start"] = procfs::loadavg().into();
    let mut sections = Vec::new();
    for bench in benches() {
        if !only.is_empty() && !bench.covers.iter().any(|c| only.contains(c)) {
            continue;
        }
        eprintln!("bench {}: {} …", bench.id, bench.title);
        let t0 = Instant::now();
        let limit = if quick { bench.limit / 2 } else { bench.limit };
        let outcome =
            runtime.block_on(async { tokio::time::timeout(limit, (bench.run)(quick)).await });
        let mut got = match outcome {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => failed(&bench, format!("{e:#}")),
            Err(_) => failed(
                &bench,
                format!("did not finish within {} s", limit.as_secs()),
            ),
        };
        let n = got.len().max(1) as f64;
        for s in &mut got {
            s.wall_secs = t0.elapsed().as_secs_f64() / n;
            eprintln!(
                "  {} {}: {}",
                s.id,
                s.title,
                s.headlines
                    .iter()
                    .map(|h| format!("{} = {}", h.figure, h.result))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        sections.extend(got);
    }
    sections.sort_by_key(|s| s.id.parse::<u8>().unwrap_or(u8::MAX));
    // Give spawned tasks (fakes, subscribers) a moment to wind down.
    runtime.shutdown_timeout(Duration::from_secs(2));
    machine["load_average_at_end"] = procfs::loadavg().into();
    let report = Report {
        machine,
        mode: if quick { "quick" } else { "full" }.into(),
        started_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        total_secs: started.elapsed().as_secs_f64(),
        sections,
    };
    let dir = if quick || !only.is_empty() {
        out_dir()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    };
    report.write(&dir, "")?;
    eprintln!(
        "wrote {}/REPORT.md and results.json in {:.0} s",
        dir.display(),
        report.total_secs
    );
    Ok(())
}
