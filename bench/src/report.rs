//! What a benchmark hands back, and how `REPORT.md` and `results.json` are
//! written from it. Every benchmark produces a [`Section`]; one that could
//! not run produces a section that says why ("not measured") instead of
//! failing the whole run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

/// One line of the summary table.
#[derive(Clone, Debug, Serialize)]
pub struct Headline {
    pub figure: String,
    pub goal: String,
    pub result: String,
    /// `None` when there is no goal or it was not measured.
    pub met: Option<bool>,
}

impl Headline {
    pub fn new(figure: &str, goal: &str, result: String, met: Option<bool>) -> Self {
        Self {
            figure: figure.to_owned(),
            goal: goal.to_owned(),
            result,
            met,
        }
    }
}

/// A markdown table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
}

/// One benchmark's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub method: String,
    pub headlines: Vec<Headline>,
    pub tables: Vec<Table>,
    /// Where a goal is missed: by how much, where the time goes, the fix.
    pub analysis: Vec<String>,
    /// Raw numbers for `results.json`.
    pub data: Value,
    pub wall_secs: f64,
    pub error: Option<String>,
}

impl Section {
    pub fn new(id: &str, title: &str, method: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            method: method.to_owned(),
            headlines: Vec::new(),
            tables: Vec::new(),
            analysis: Vec::new(),
            data: json!({}),
            wall_secs: 0.0,
            error: None,
        }
    }

    /// The section for a benchmark that failed or could not run.
    pub fn not_measured(id: &str, title: &str, reason: String, goals: &[(&str, &str)]) -> Self {
        let mut s = Self::new(id, title, "");
        s.headlines = goals
            .iter()
            .map(|(figure, goal)| Headline::new(figure, goal, "not measured".into(), None))
            .collect();
        s.error = Some(reason);
        s
    }
}

/// Everything one run found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Value,
    pub mode: String,
    pub started_at: String,
    pub total_secs: f64,
    pub sections: Vec<Section>,
}

fn met_cell(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("# agentd benchmarks\n\n");
        let _ = writeln!(
            out,
            "Produced by `cargo run --release -p agentd-bench -- all{}` on {} ({} mode, {:.0} s). \
             Raw numbers: [`results.json`](results.json). Goals: DESIGN.md §4 and issue 8.\n",
            if self.mode == "quick" { " --quick" } else { "" },
            self.started_at,
            self.mode,
            self.total_secs
        );
        out.push_str(
            "Read the figures with this machine in mind: 2 cores shared by the server, the model fake and the \
             clients (all in the bench process), on a machine where other work (builds) may run at the same time \
             (the load averages below). Figures close to a goal can land on either side of it from run to run.\n\n",
        );
        out.push_str("## Machine\n\n");
        let mut machine = Table::new(&["", ""]);
        if let Value::Object(map) = &self.machine {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                machine.row(vec![k.clone(), v]);
            }
        }
        machine.markdown(&mut out);
        out.push_str("## Summary\n\n");
        let mut summary = Table::new(&["#", "figure", "goal", "result", "met?"]);
        for s in &self.sections {
            for h in &s.headlines {
                summary.row(vec![
                    s.id.clone(),
                    h.figure.clone(),
                    h.goal.clone(),
                    h.result.clone(),
                    met_cell(h.met).to_owned(),
                ]);
            }
        }
        summary.markdown(&mut out);
        let missed: Vec<&Section> = self
            .sections
            .iter()
            .filter(|s| s.headlines.iter().any(|h| h.met == Some(false)))
            .collect();
        if !missed.is_empty() {
            out.push_str("Goals missed: ");
            let names: Vec<String> = missed
                .iter()
                .map(|s| format!("§{} {}", s.id, s.title))
                .collect();
            out.push_str(&names.join("; "));
            out.push_str(" — see each section's *Analysis*.\n\n");
        }
        for s in &self.sections {
            let _ = writeln!(out, "## {}. {}\n", s.id, s.title);
            if let Some(error) = &s.error {
                let _ = writeln!(out, "**Not measured:** {error}\n");
            }
            if !s.method.is_empty() {
                let _ = writeln!(out, "*Method.* {}\n", s.method);
            }
            for t in &s.tables {
                t.markdown(&mut out);
            }
            if !s.analysis.is_empty() {
                out.push_str("*Analysis.*\n\n");
                for a in &s.analysis {
                    let _ = writeln!(out, "- {a}");
                }
                out.push('\n');
            }
            let _ = writeln!(out, "<sub>section wall time {:.1} s</sub>\n", s.wall_secs);
        }
        out
    }

    pub fn write(&self, dir: &Path, suffix: &str) -> Result<()> {
        let md = dir.join(format!("REPORT{suffix}.md"));
        std::fs::write(&md, self.markdown()).with_context(|| format!("write {}", md.display()))?;
        let js = dir.join(format!("results{suffix}.json"));
        let text = serde_json::to_string_pretty(self).context("encode results")?;
        std::fs::write(&js, text).with_context(|| format!("write {}", js.display()))?;
        Ok(())
    }
}
