//! Benchmark 5, Concurrency: 100 and 1,000 builtin sessions running at once on a real
//! `agentd serve` (SQLite, its single writer), each model streaming text at
//! 50 tokens/s: errors, CPU, memory, and how long the batch took against
//! the time the streams alone need.

use std::time::{Duration, Instant};

use agentd_protocol::Runtime;
use anyhow::Result;
use serde_json::json;

use crate::b_memory::session_body;
use crate::procfs;
use crate::report::{Headline, Section, Table};
use crate::server::{Agentd, Options};
use crate::stampfake::{Script, StampFake};
use crate::stats::{Summary, fmt};

pub const TITLE: &str = "Concurrency";
pub const GOALS: &[(&str, &str)] = &[("1,000 sessions streaming at once: errors", "0")];

struct Outcome {
    n: usize,
    errors: Vec<String>,
    peak_running: usize,
    create_secs: f64,
    total_secs: f64,
    cpu_pct: f64,
    peak_rss_mib: f64,
    post_ms: Option<Summary>,
    events: u64,
}

async fn batch(n: usize, stream_secs: u64) -> Result<Outcome> {
    // Every model stream waits behind the fake's gate until the whole batch
    // is created, so all N really stream at once (created one after another
    // with 10 s streams, the first would end before the last began).
    let fake = StampFake::start(Script::Stamped {
        deltas: usize::try_from(stream_secs * 50).unwrap_or(500),
        interval: Duration::from_millis(20),
    })
    .await?;
    let server = Agentd::start(Options {
        anthropic_url: fake.base_url(),
        log_name: format!("concurrency-{n}"),
        ..Options::default()
    })
    .await?;
    let ws = tempfile::tempdir()?;
    let body = session_body(Runtime::Builtin, ws.path());
    let t0 = Instant::now();
    let (ids, mut errors, post_ms) = server.create_many(n, &body, 16).await;
    let create_secs = t0.elapsed().as_secs_f64();
    let wait_until = Instant::now() + Duration::from_secs(60);
    while fake.arrivals().len() < ids.len() && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cpu0 = procfs::cpu_secs(server.pid);
    let t0 = Instant::now();
    fake.set_gate(true);
    let mut peak_running = 0;
    let limit = Duration::from_secs(stream_secs * 4 + 60);
    let mut finished = None;
    while t0.elapsed() < limit {
        let statuses = server.statuses().await?;
        let status = |id: &String| statuses.get(id).map(String::as_str);
        let active = ids
            .iter()
            .filter(|id| matches!(status(id), Some("queued" | "running")))
            .count();
        let running = ids
            .iter()
            .filter(|id| status(id) == Some("running"))
            .count();
        peak_running = peak_running.max(running);
        if active == 0 {
            errors.extend(ids.iter().filter_map(|id| match status(id) {
                Some("idle") => None,
                other => Some(format!("{id} ended {other:?}")),
            }));
            finished = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let total = match finished {
        Some(d) => d.as_secs_f64(),
        None => {
            errors.push(format!(
                "not all sessions finished within {} s",
                limit.as_secs()
            ));
            t0.elapsed().as_secs_f64()
        }
    };
    let cpu_pct = 100.0 * (procfs::cpu_secs(server.pid) - cpu0) / total.max(1e-9);
    let peak_rss_mib = procfs::peak_rss_kib(server.pid) as f64 / 1024.0;
    // Events stored: what the single writer had to append.
    let mut events = 0;
    if let Some(id) = ids.first() {
        let page: serde_json::Value = server
            .http
            .get(server.url(&format!(
                "/api/v1/sessions/{id}/events?format=json&limit=10000"
            )))
            .send()
            .await?
            .json()
            .await?;
        events = page["events"].as_array().map_or(0, |a| a.len() as u64) * ids.len() as u64;
    }
    server.stop().await?;
    Ok(Outcome {
        n,
        errors,
        peak_running,
        create_secs,
        total_secs: total,
        cpu_pct,
        peak_rss_mib,
        post_ms: Summary::of(&post_ms),
        events,
    })
}

pub async fn run(quick: bool) -> Result<Vec<Section>> {
    let (sizes, stream_secs): (&[usize], u64) = if quick {
        (&[10, 100], 4)
    } else {
        (&[100, 1_000], 10)
    };
    let mut s = Section::new("5", TITLE, "");
    let mut table = Table::new(&[
        "sessions",
        "errors",
        "peak running at once",
        "create all (s)",
        "streams started → all idle (s)",
        "stream alone (s)",
        "server CPU % (of 1 core)",
        "peak RSS MiB",
        "POST p50 / p99 ms",
        "events stored (≈)",
    ]);
    let mut at_max = None;
    for &n in sizes {
        match batch(n, stream_secs).await {
            Ok(o) => {
                let post = o
                    .post_ms
                    .as_ref()
                    .map_or("-".into(), |p| format!("{} / {}", fmt(p.p50), fmt(p.p99)));
                table.row(vec![
                    o.n.to_string(),
                    o.errors.len().to_string(),
                    o.peak_running.to_string(),
                    fmt(o.create_secs),
                    fmt(o.total_secs),
                    stream_secs.to_string(),
                    fmt(o.cpu_pct),
                    fmt(o.peak_rss_mib),
                    post,
                    o.events.to_string(),
                ]);
                s.data[n.to_string()] = json!({"errors": o.errors.iter().take(10).collect::<Vec<_>>(), "error_count": o.errors.len(), "peak_running": o.peak_running,
                    "create_secs": o.create_secs, "total_secs": o.total_secs, "cpu_pct": o.cpu_pct, "peak_rss_mib": o.peak_rss_mib, "post_ms": o.post_ms, "events": o.events});
                if n == *sizes.last().unwrap_or(&0) {
                    at_max = Some(o);
                }
            }
            Err(e) => table.row(vec![
                n.to_string(),
                format!("not measured: {e:#}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
    }
    s.tables.push(table);
    let max_n = sizes.last().copied().unwrap_or(0);
    let figure = format!("{max_n} sessions streaming at once: errors");
    let result = at_max.as_ref().map_or("not measured".into(), |o| {
        format!(
            "{} errors, {} running at peak",
            o.errors.len(),
            o.peak_running
        )
    });
    s.headlines.push(Headline::new(
        &figure,
        GOALS[0].1,
        result,
        at_max.as_ref().map(|o| o.errors.is_empty()),
    ));
    if let Some(o) = &at_max {
        let overrun = o.total_secs - stream_secs as f64;
        if overrun > 2.0 {
            s.analysis.push(format!(
                "With {max_n} sessions streaming at once the batch needed {} s for {stream_secs} s of model output: \
                 {} events at 50 per second per session ({} per second in all) each go through the one event-log \
                 writer before they are published, and the server used {} % CPU (of 200 % on 2 cores). The deltas \
                 queue, so clients see them late, but none is lost and no session failed. Fix: coalesce a session's \
                 consecutive text deltas (e.g. per 50 ms) before they are logged, and with PostgreSQL spread \
                 sessions over writers.",
                fmt(o.total_secs), o.events, max_n * 50, fmt(o.cpu_pct)
            ));
        }
    }
    s.method = format!(
        "A real `agentd serve` (release, SQLite in WAL mode: one writer, group commit) per batch and the model \
         fake of `stampfake.rs`, whose every reply streams text for {stream_secs} s (one delta every 20 ms, 50 \
         tokens/s). The batch is created with 16 POSTs in flight while every model stream waits behind the fake's \
         gate; once every session's request has arrived the gate opens, so all N stream at once. The session list \
         is then polled every 500 ms for the number running, until none is queued or running. Errors = failed \
         POSTs + sessions that did not end `idle`. CPU = the server's user+system time from the gate opening to \
         the end; peak RSS = VmHWM."
    );
    Ok(vec![s])
}
