//! Printing: tables, JSON and CSV on stdout; a progress bar on stderr.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use anyhow::{Context, Result};
use hyperscape_core::export::TrialRecord;
use hyperscape_core::{Direction, FrozenTrial, ParamValue, TrialState};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes to stdout; a closed pipe (`| head`) ends the program quietly.
pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let r = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => r.context("cannot write to stdout"),
    }
}

/// Pretty JSON and a newline on stdout.
pub fn json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot serialise JSON")?;
    out(&format!("{text}\n"))
}

/// The public JSON object of a trial.
pub fn trial_json(t: &FrozenTrial, n_objectives: usize) -> Result<serde_json::Value> {
    serde_json::to_value(TrialRecord::new(t, n_objectives)).context("cannot serialise a trial")
}

/// `a=1, b=relu`.
pub fn params_inline(params: &BTreeMap<String, ParamValue>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value(s) of a trial for a table cell.
pub fn values_cell(t: &FrozenTrial) -> String {
    match &t.values {
        Some(v) => v
            .iter()
            .map(|x| format_number(*x))
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

pub fn format_number(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-4) {
        format!("{x:.6e}")
    } else {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// A plain aligned table with a header row.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                s.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut text = line(headers.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// Trials as a table: number, state, value(s), params, failure reason (first line).
pub fn trials_table(trials: &[FrozenTrial]) -> String {
    // Budget and parent columns when a scheduler gave trials budgets.
    let attr = |t: &FrozenTrial, k: &str| -> String {
        t.system_attrs
            .get(k)
            .and_then(|v| v.as_u64())
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    let scheduled = trials.iter().any(|t| {
        t.system_attrs
            .contains_key(hyperscape_core::pruner::BUDGET_ATTR)
    });
    let rows: Vec<Vec<String>> = trials
        .iter()
        .map(|t| {
            let mut row = vec![t.number.to_string(), t.state.to_string(), values_cell(t)];
            if scheduled {
                row.push(attr(t, hyperscape_core::pruner::BUDGET_ATTR));
                row.push(attr(t, hyperscape_core::scheduler::PARENT_ATTR));
            }
            row.push(params_inline(&t.params));
            row.push(
                t.fail_reason
                    .as_deref()
                    .map(|r| shorten(r.lines().next().unwrap_or(""), 60))
                    .unwrap_or_default(),
            );
            row
        })
        .collect();
    let header: &[&str] = if scheduled {
        &[
            "number",
            "state",
            "value",
            "budget",
            "parent",
            "params",
            "fail_reason",
        ]
    } else {
        &["number", "state", "value", "params", "fail_reason"]
    };
    table(header, &rows)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

/// One trial in detail, for `best` and summaries.
pub fn trial_detail(t: &FrozenTrial) -> String {
    let mut s = format!("trial {} ({})\n", t.number, t.state);
    match &t.values {
        Some(v) if v.len() == 1 => s.push_str(&format!("value: {}\n", v[0])),
        Some(v) => s.push_str(&format!(
            "values: {}\n",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => {}
    }
    if !t.params.is_empty() {
        s.push_str("params:\n");
        for (k, v) in &t.params {
            s.push_str(&format!("  {k} = {v}\n"));
        }
    }
    s
}

/// A progress bar on stderr with the best value so far; hidden when stderr is not a
/// terminal.
pub struct Progress {
    bar: ProgressBar,
    directions: Vec<Direction>,
    best: Mutex<Option<f64>>,
}

impl Progress {
    pub fn new(len: usize, directions: &[Direction], best: Option<f64>) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trials  {msg}",
        ) {
            bar.set_style(style);
        }
        let p = Self {
            bar,
            directions: directions.to_vec(),
            best: Mutex::new(best),
        };
        p.show_best();
        p
    }

    /// Counts a finished trial.
    pub fn done(&self, t: &FrozenTrial) {
        if self.directions.len() == 1 && t.state == TrialState::Complete {
            if let Some(v) = t.value() {
                let mut best = self.best.lock().unwrap_or_else(|p| p.into_inner());
                if best.is_none_or(|b| self.directions[0].better(v, b)) {
                    *best = Some(v);
                }
            }
        }
        self.bar.inc(1);
        self.show_best();
    }

    fn show_best(&self) {
        if let Some(b) = *self.best.lock().unwrap_or_else(|p| p.into_inner()) {
            self.bar.set_message(format!("best: {}", format_number(b)));
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["a", "bb"],
            &[
                vec!["long".into(), "x".into()],
                vec!["1".into(), "y".into()],
            ],
        );
        assert_eq!(t, "a     bb\nlong  x\n1     y\n");
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(1e-7), "1.000000e-7");
    }
}
