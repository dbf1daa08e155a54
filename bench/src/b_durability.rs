//! Benchmark 9, Durability cost: sessions created per second, each acknowledged only
//! once its record and first event are stored, SQLite vs PostgreSQL (a
//! fresh database on the local server, dropped afterwards).

use std::time::{Duration, Instant};

use agentd_protocol::Runtime;
use agentd_testkit::{FakeAnthropic, turn};
use anyhow::Result;
use serde_json::json;

use crate::b_memory::session_body;
use crate::report::{Headline, Section, Table};
use crate::server::{Agentd, Options};
use crate::stats::{Summary, fmt};

pub const TITLE: &str = "Durability cost";
pub const GOALS: &[(&str, &str)] = &[(
    "sessions created per second, SQLite / PostgreSQL",
    "(comparison)",
)];

struct Outcome {
    created: usize,
    errors: usize,
    create_secs: f64,
    settle_secs: f64,
    post: Option<Summary>,
}

async fn measure(database_url: Option<String>, name: &str, n: usize) -> Result<Outcome> {
    let fake = FakeAnthropic::start().await;
    fake.set_default(turn().text("ok"));
    let server = Agentd::start(Options {
        anthropic_url: fake.base_url(),
        database_url,
        log_name: format!("durability-{name}"),
        ..Options::default()
    })
    .await?;
    let ws = tempfile::tempdir()?;
    let body = session_body(Runtime::Builtin, ws.path());
    // Warm the connection pools.
    let _ = server.create_many(8, &body, 8).await;
    let t0 = Instant::now();
    let (ids, errors, post_ms) = server.create_many(n, &body, 16).await;
    let create_secs = t0.elapsed().as_secs_f64();
    let statuses = server.settle(&ids, Duration::from_secs(60)).await?;
    let settle_secs = t0.elapsed().as_secs_f64();
    let failed = statuses.values().filter(|s| s.as_str() != "idle").count();
    server.stop().await?;
    Ok(Outcome {
        created: ids.len(),
        errors: errors.len() + failed,
        create_secs,
        settle_secs,
        post: Summary::of(&post_ms),
    })
}

fn pg_setting(url: &str, name: &str) -> String {
    std::process::Command::new("psql")
        .args([url, "-Atc", &format!("show {name}")])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub async fn run(quick: bool) -> Result<Vec<Section>> {
    let n = if quick { 100 } else { 500 };
    let mut s = Section::new("9", TITLE, "");
    let mut table = Table::new(&[
        "database",
        "sessions",
        "errors",
        "created / s",
        "POST p50 ms",
        "POST p99 ms",
        "all answered and idle / s",
    ]);
    let mut rates = Vec::new();
    let pg = agentd_store::testing::postgres_new_database().await;
    let mut pg_note = String::new();
    let backends: Vec<(&str, Option<String>)> = match &pg {
        Ok(guard) => {
            pg_note = format!(
                "PostgreSQL: fsync={}, synchronous_commit={}.",
                pg_setting(guard.url(), "fsync"),
                pg_setting(guard.url(), "synchronous_commit")
            );
            vec![
                ("SQLite", None),
                ("PostgreSQL", Some(guard.url().to_owned())),
            ]
        }
        Err(e) => {
            table.row(vec![
                "PostgreSQL".into(),
                format!("not measured: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            vec![("SQLite", None)]
        }
    };
    for (name, url) in backends {
        match measure(url, name, n).await {
            Ok(o) => {
                let rate = o.created as f64 / o.create_secs.max(1e-9);
                let cell =
                    |f: fn(&Summary) -> f64| o.post.as_ref().map_or("-".into(), |p| fmt(f(p)));
                table.row(vec![
                    name.into(),
                    o.created.to_string(),
                    o.errors.to_string(),
                    fmt(rate),
                    cell(|p| p.p50),
                    cell(|p| p.p99),
                    fmt(o.created as f64 / o.settle_secs.max(1e-9)),
                ]);
                s.data[name] = json!({"created": o.created, "errors": o.errors, "per_sec": rate, "post_ms": o.post, "settled_per_sec": o.created as f64 / o.settle_secs.max(1e-9)});
                rates.push((name, rate));
            }
            Err(e) => table.row(vec![
                name.into(),
                format!("not measured: {e:#}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
    }
    if let Ok(guard) = pg {
        guard.cleanup().await;
    }
    s.tables.push(table);
    let result = rates
        .iter()
        .map(|(n, r)| format!("{n} {}/s", fmt(*r)))
        .collect::<Vec<_>>()
        .join(", ");
    s.headlines
        .push(Headline::new(GOALS[0].0, GOALS[0].1, result, None));
    s.method = format!(
        "A real `agentd serve` per database with the testkit fake answering \"ok\" at once. After 8 warm-up \
         sessions, {n} sessions are created with 16 POSTs in flight; `POST /api/v1/sessions` answers 201 only after \
         the session row, its first `session.status` event (awaited as durable by the log writer) and its input \
         are committed. Created/s = sessions ÷ time to the last 201; the last column also waits for every session \
         to run its one-request turn (its events written by the same writer). SQLite runs in WAL mode with \
         `synchronous=NORMAL` (commits survive a process crash; the WAL is fsynced at checkpoints, not per commit). \
         {pg_note}"
    );
    Ok(vec![s])
}
