//! A real `agentd serve` (the release binary next to this one) on loopback,
//! authenticated like the end-to-end tests: a known admin password, then
//! `agentd admin token create` for a bearer token. Stopped (SIGTERM, then
//! SIGKILL) by [`Agentd::stop`] or when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ADMIN_PASSWORD: &str = "bench-admin-password-1";

/// How to start a server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub anthropic_url: String,
    /// PostgreSQL; SQLite in the data dir when `None`.
    pub database_url: Option<String>,
    /// Where the server's stderr goes.
    pub log_name: String,
    /// A fixed port (cold-start timing needs it before stdout says it).
    pub port: Option<u16>,
}

pub struct Agentd {
    child: Option<Child>,
    pub pid: u32,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    data_dir: tempfile::TempDir,
    _home: tempfile::TempDir,
    database_url: Option<String>,
}

/// Environment for the server and, inherited, the Claude Code CLI it starts:
/// a private HOME so no user configuration is read or written.
fn base_env(opts: &Options, home: &Path) -> Vec<(String, String)> {
    let claude_dir = home.join(".claude").display().to_string();
    vec![
        ("ANTHROPIC_BASE_URL".into(), opts.anthropic_url.clone()),
        ("ANTHROPIC_API_KEY".into(), "sk-ant-bench-key".into()),
        ("AGENTD_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("AGENTD_LOG".into(), "warn".into()),
        (
            "AGENTD_CLAUDE_PATH".into(),
            crate::claude_cli().display().to_string(),
        ),
        ("HOME".into(), home.display().to_string()),
        ("CLAUDE_CONFIG_DIR".into(), claude_dir),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        ),
        ("CLAUDE_CODE_MAX_RETRIES".into(), "0".into()),
    ]
}

impl Agentd {
    pub async fn start(opts: Options) -> Result<Self> {
        let data_dir = tempfile::tempdir().context("temp data dir")?;
        let home = tempfile::tempdir().context("temp home")?;
        let (child, base) = spawn(&opts, data_dir.path(), home.path()).await?;
        let pid = child.id().ok_or_else(|| anyhow!("agentd exited at once"))?;
        let mut server = Self {
            child: Some(child),
            pid,
            base,
            http: reqwest::Client::new(),
            token: String::new(),
            data_dir,
            _home: home,
            database_url: opts.database_url.clone(),
        };
        server.token = server.admin_token().await?;
        server.http = crate::clients::http_client(&server.token)?;
        Ok(server)
    }

    async fn admin_token(&self) -> Result<String> {
        let mut cmd = Command::new(crate::agentd_bin());
        cmd.args(["admin", "token", "create", "--user", "admin", "--data-dir"])
            .arg(self.data_dir.path())
            .env_remove("AGENTD_CONFIG")
            .env("AGENTD_LOG", "warn");
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .context("agentd admin token create timed out")??;
        if !out.status.success() {
            bail!(
                "agentd admin token create: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !token.starts_with("agentd_pat_") {
            bail!("unexpected token output: {token}");
        }
        Ok(token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST a session; returns its id.
    pub async fn create_session(&self, body: &Value) -> Result<String> {
        let res = self
            .http
            .post(self.url("/api/v1/sessions"))
            .json(body)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("create session: {status} {body}");
        }
        body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no id in {body}"))
    }

    /// Creates `n` sessions with `body`, `concurrency` requests in flight.
    /// Returns the ids, the errors and each POST's latency in ms.
    pub async fn create_many(
        &self,
        n: usize,
        body: &Value,
        concurrency: usize,
    ) -> (Vec<String>, Vec<String>, Vec<f64>) {
        use futures::StreamExt;
        let results: Vec<(Result<String>, f64)> = futures::stream::iter(0..n)
            .map(|_| async {
                let t0 = Instant::now();
                let r = self.create_session(body).await;
                (r, crate::stats::ms(t0.elapsed()))
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let (mut ids, mut errors, mut lat) = (Vec::new(), Vec::new(), Vec::new());
        for (r, ms) in results {
            lat.push(ms);
            match r {
                Ok(id) => ids.push(id),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        (ids, errors, lat)
    }

    /// Every session's status, by paging through the list (admin sees all).
    pub async fn statuses(&self) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        let mut before: Option<String> = None;
        for _ in 0..1_000 {
            // Session ids are URL-safe (UUIDs), so they go in the query as they are.
            let path = match &before {
                Some(b) => format!("/api/v1/sessions?limit=200&before={b}"),
                None => "/api/v1/sessions?limit=200".to_owned(),
            };
            let page: Value = self
                .http
                .get(self.url(&path))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            for s in page["sessions"].as_array().into_iter().flatten() {
                if let (Some(id), Some(st)) = (s["id"].as_str(), s["status"].as_str()) {
                    out.insert(id.to_owned(), st.to_owned());
                }
            }
            match page["next_before"].as_str() {
                Some(b) => before = Some(b.to_owned()),
                None => break,
            }
        }
        Ok(out)
    }

    /// Waits until none of `ids` is queued or running; returns their statuses.
    pub async fn settle(&self, ids: &[String], limit: Duration) -> Result<HashMap<String, String>> {
        let deadline = Instant::now() + limit;
        loop {
            let all = self.statuses().await?;
            let active = ids.iter().filter(|id| {
                matches!(
                    all.get(*id).map(String::as_str),
                    Some("queued" | "running") | None
                )
            });
            if active.count() == 0 || Instant::now() > deadline {
                return Ok(ids
                    .iter()
                    .map(|id| (id.clone(), all.get(id).cloned().unwrap_or_default()))
                    .collect());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM, up to 10 s for a clean exit, then SIGKILL.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(10)).await;
        }
        Ok(())
    }
}

impl Drop for Agentd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

pub async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// The `agentd serve` command for `opts` (also used bare by the cold-start
/// benchmark, which times it itself).
pub fn serve_command(opts: &Options, data_dir: &Path, home: &Path) -> Result<Command> {
    let mut cmd = Command::new(crate::agentd_bin());
    let listen = format!("127.0.0.1:{}", opts.port.unwrap_or(0));
    cmd.args(["serve", "--listen", &listen, "--data-dir"])
        .arg(data_dir);
    if let Some(url) = &opts.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let log_path: PathBuf = crate::out_dir().join(format!("{}.log", opts.log_name));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("open {}", log_path.display()))?;
    cmd.env_remove("AGENTD_CONFIG")
        .env_remove("AGENTD_DATABASE_URL")
        .envs(base_env(opts, home))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    Ok(cmd)
}

async fn spawn(opts: &Options, data_dir: &Path, home: &Path) -> Result<(Child, String)> {
    let mut child = serve_command(opts, data_dir, home)?
        .spawn()
        .context("spawn agentd serve")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("agentd did not start within 30 s")??
            .ok_or_else(|| anyhow!("agentd exited; see bench/out/{}.log", opts.log_name))?;
        if line.starts_with("agentd listening on") {
            break line;
        }
    };
    let base = line
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !base.starts_with("http://127.0.0.1:") {
        bail!("unexpected listen line: {line}");
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, base))
}
