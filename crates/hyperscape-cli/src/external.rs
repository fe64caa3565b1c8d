//! Running the external objective command of `hyperscape run`.
//!
//! The command is started directly (no shell), in its own process group, with stdin
//! closed. Parameters reach it as `{name}` placeholders in its arguments and as
//! environment variables. Its last non-empty stdout line is the result.
//!
//! Progress lines, `{"step": s, "value": v}` (or `"values": [...]` for several
//! objectives), are read as they arrive and reported to the trial; when the pruner
//! stops the trial, the command's process group gets SIGTERM, then SIGKILL after the
//! grace period if it has not exited (see `docs/pruning.md`).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyperscape_core::ParamValue;

use crate::trial_loop::Outcome;

/// Lines of stderr kept for a failed trial's reason.
const STDERR_TAIL_LINES: usize = 20;
/// Bytes of stderr kept for a failed trial's reason.
const STDERR_TAIL_BYTES: usize = 2048;
/// How often a running child is polled for exit, timeout and interruption.
const POLL: Duration = Duration::from_millis(20);
/// How long to wait for the output pipes to close after the child has exited (a
/// background grandchild may hold them open).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Default grace period between SIGTERM and SIGKILL for a pruned command.
pub const DEFAULT_PRUNE_GRACE: Duration = Duration::from_secs(5);

/// The objective command, as given after `--`.
#[derive(Debug, Clone)]
pub struct ObjectiveCommand {
    pub argv: Vec<String>,
    pub timeout: Option<Duration>,
    /// How long a pruned command may take to exit after SIGTERM before SIGKILL.
    pub prune_grace: Duration,
}

/// What the trial made of one progress line.
#[derive(Debug, Clone, PartialEq)]
pub enum StepVerdict {
    Continue,
    /// The pruner stopped the trial at this step.
    Prune,
    /// The report was refused (a non-finite value, a storage error): fail the trial.
    Fail(String),
}

/// One progress line: the step and its value(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub step: u64,
    pub values: Vec<f64>,
}

/// The trial an evaluation is for.
pub struct TrialInput<'a> {
    pub study: &'a str,
    pub number: u64,
    pub params: &'a BTreeMap<String, ParamValue>,
    /// Budget and checkpoint given by a scheduler (empty without one).
    pub schedule: Schedule,
}

/// What a scheduler told the trial (see `docs/pruning.md`, "Checkpoint protocol").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    /// The last step to train to: `{budget}`, `HYPERSCAPE_BUDGET`.
    pub budget: Option<u64>,
    /// The step the checkpoint in the checkpoint directory was trained to (absent:
    /// start from scratch): `{previous_budget}`, `HYPERSCAPE_PREVIOUS_BUDGET`.
    pub previous_budget: Option<u64>,
    /// The trial's checkpoint directory (a copy of the parent's for a promotion or a
    /// PBT exploit): `{checkpoint_dir}`, `HYPERSCAPE_CHECKPOINT_DIR`.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// The trial this one continues: `{parent}`, `HYPERSCAPE_PARENT_TRIAL`.
    pub parent: Option<u64>,
}

impl Schedule {
    pub fn of(t: &hyperscape_core::Trial) -> Self {
        Self {
            budget: t.budget(),
            previous_budget: t.previous_budget(),
            checkpoint_dir: t.checkpoint_dir(),
            parent: t.parent(),
        }
    }

    /// `(placeholder, environment variable, value)` of each field.
    fn fields(&self) -> [(&'static str, &'static str, Option<String>); 4] {
        [
            (
                "budget",
                "HYPERSCAPE_BUDGET",
                self.budget.map(|b| b.to_string()),
            ),
            (
                "previous_budget",
                "HYPERSCAPE_PREVIOUS_BUDGET",
                self.previous_budget.map(|b| b.to_string()),
            ),
            (
                "checkpoint_dir",
                "HYPERSCAPE_CHECKPOINT_DIR",
                self.checkpoint_dir
                    .as_ref()
                    .map(|d| d.to_string_lossy().into_owned()),
            ),
            (
                "parent",
                "HYPERSCAPE_PARENT_TRIAL",
                self.parent.map(|p| p.to_string()),
            ),
        ]
    }
}

impl ObjectiveCommand {
    /// Runs the command for one trial; polls `interrupted` to stop early, and hands
    /// each progress line to `report` as it arrives.
    pub fn evaluate(
        &self,
        input: &TrialInput<'_>,
        interrupted: &AtomicBool,
        report: &mut dyn FnMut(&Progress) -> StepVerdict,
    ) -> Outcome {
        let mut cmd = self.build(input);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Failed(format!("cannot start command `{}`: {e}", self.argv[0]))
            }
        };
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let stdout = Arc::new(Mutex::new(LastLine::default()));
        let stderr = Arc::new(Mutex::new(Tail::default()));
        let (progress_tx, progress_rx) = mpsc::channel::<Result<Progress, String>>();
        if let Some(out) = child.stdout.take() {
            let sink = stdout.clone();
            let tx = done_tx.clone();
            std::thread::spawn(move || {
                read_lines(out, |l| match parse_progress(&l) {
                    Some(p) => {
                        let _ = progress_tx.send(p);
                    }
                    None => lock(&sink).push(l),
                });
                let _ = tx.send(());
            });
        }
        if let Some(err) = child.stderr.take() {
            let sink = stderr.clone();
            let tx = done_tx.clone();
            std::thread::spawn(move || {
                read_lines(err, |l| lock(&sink).push(l));
                let _ = tx.send(());
            });
        }
        drop(done_tx);

        let start = Instant::now();
        // Hands the progress lines received so far to the trial; `Some` ends the trial.
        let mut drain = |child: &mut Child, wait: Duration| -> Option<Outcome> {
            let mut first = true;
            loop {
                let msg = if first {
                    first = false;
                    match progress_rx.recv_timeout(wait) {
                        Ok(m) => Some(m),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            // Stdout is closed but the command still runs.
                            std::thread::sleep(wait);
                            None
                        }
                    }
                } else {
                    progress_rx.try_recv().ok()
                };
                let end = match msg? {
                    Ok(p) => match report(&p) {
                        StepVerdict::Continue => continue,
                        StepVerdict::Prune => Outcome::Pruned { step: p.step },
                        StepVerdict::Fail(r) => Outcome::Failed(r),
                    },
                    Err(reason) => Outcome::Failed(reason),
                };
                terminate(child, self.prune_grace);
                return Some(end);
            }
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    kill(&mut child);
                    return Outcome::Failed(format!("cannot wait for the command: {e}"));
                }
            }
            if interrupted.load(Ordering::SeqCst) {
                kill(&mut child);
                return Outcome::Interrupted;
            }
            if let Some(t) = self.timeout {
                if start.elapsed() >= t {
                    kill(&mut child);
                    wait_pipes(&done_rx);
                    return Outcome::Failed(with_stderr(
                        format!("timed out after {}s (command killed)", t.as_secs_f64()),
                        &lock(&stderr).text(),
                    ));
                }
            }
            if let Some(end) = drain(&mut child, POLL) {
                wait_pipes(&done_rx);
                return end;
            }
        };
        wait_pipes(&done_rx);
        // Progress printed just before the exit: its decisions stand.
        if let Some(end) = drain(&mut child, Duration::ZERO) {
            return end;
        }
        let stderr_tail = lock(&stderr).text();
        if !status.success() {
            let how = match status.code() {
                Some(c) => format!("command exited with status {c}"),
                None => format!("command was killed by a signal ({status})"),
            };
            return Outcome::Failed(with_stderr(how, &stderr_tail));
        }
        let last = lock(&stdout).0.clone();
        match parse_result(last.as_deref()) {
            Ok(v) => Outcome::Values(v),
            Err(reason) => Outcome::Failed(with_stderr(reason, &stderr_tail)),
        }
    }

    fn build(&self, input: &TrialInput<'_>) -> Command {
        let args: Vec<String> = self.argv.iter().map(|a| substitute(a, input)).collect();
        let mut cmd = Command::new(&args[0]);
        cmd.args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env(
                "HYPERSCAPE_PARAMS",
                serde_json::to_string(input.params).unwrap_or_else(|_| "{}".into()),
            )
            .env("HYPERSCAPE_TRIAL_NUMBER", input.number.to_string())
            .env("HYPERSCAPE_STUDY", input.study);
        for (name, value) in input.params {
            cmd.env(env_name(name), value.to_string());
        }
        for (_, var, value) in input.schedule.fields() {
            match value {
                Some(v) => cmd.env(var, v),
                None => cmd.env_remove(var),
            };
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so a timeout or Ctrl-C kills its children too.
            cmd.process_group(0);
        }
        cmd
    }
}

/// `HYPERSCAPE_PARAM_<NAME>`: upper-cased, non-alphanumerics turned into `_`.
pub fn env_name(param: &str) -> String {
    let tail: String = param
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("HYPERSCAPE_PARAM_{tail}")
}

/// Replaces `{name}` (a parameter), `{trial}`, `{study}` and the schedule's
/// `{budget}`, `{previous_budget}`, `{checkpoint_dir}` and `{parent}` in one argument
/// (a parameter of the same name wins; a schedule field the trial lacks becomes the
/// empty string); other braces stay as they are. Values are inserted literally: no
/// shell ever sees them.
pub fn substitute(arg: &str, input: &TrialInput<'_>) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            let v = match key {
                "trial" => Some(input.number.to_string()),
                "study" => Some(input.study.to_string()),
                _ => input.params.get(key).map(|v| v.to_string()).or_else(|| {
                    input
                        .schedule
                        .fields()
                        .into_iter()
                        .find(|(k, _, _)| *k == key)
                        .map(|(_, _, v)| v.unwrap_or_default())
                }),
            };
            v.map(|v| (v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses the result line: a number, `{"value": x}` or `{"values": [x, ...]}`.
pub fn parse_result(line: Option<&str>) -> Result<Vec<f64>, String> {
    let Some(line) = line else {
        return Err(
            "the command printed nothing on stdout (expected its result on the last line)".into(),
        );
    };
    let shown = truncate(line, 200);
    if let Ok(x) = line.parse::<f64>() {
        return Ok(vec![x]);
    }
    let bad = || {
        format!(
            "cannot parse the result `{shown}` (the last line of stdout must be a number, \
             {{\"value\": x}} or {{\"values\": [x, y]}})"
        )
    };
    let json: serde_json::Value = serde_json::from_str(line).map_err(|_| bad())?;
    let num = |v: &serde_json::Value| -> Result<f64, String> {
        match v {
            serde_json::Value::Number(n) => n.as_f64().ok_or_else(bad),
            // NaN and infinities are not JSON numbers; accept them as strings so the
            // trial fails with a clear "non-finite" reason.
            serde_json::Value::String(s) => s.parse::<f64>().map_err(|_| bad()),
            _ => Err(bad()),
        }
    };
    if let Some(v) = json.get("value") {
        return Ok(vec![num(v)?]);
    }
    if let Some(serde_json::Value::Array(a)) = json.get("values") {
        if a.is_empty() {
            return Err(bad());
        }
        return a.iter().map(num).collect();
    }
    Err(bad())
}

fn with_stderr(reason: String, stderr_tail: &str) -> String {
    if stderr_tail.trim().is_empty() {
        reason
    } else {
        format!("{reason}; stderr tail:\n{stderr_tail}")
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// `{"step": s, "value": v}` or `{"step": s, "values": [...]}`: `None` for any other
/// line, an error naming what is wrong for a malformed progress line.
pub fn parse_progress(line: &str) -> Option<Result<Progress, String>> {
    let t = line.trim();
    if !t.starts_with('{') || !t.contains("\"step\"") {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(t).ok()?;
    let obj = json.as_object()?;
    let step = obj.get("step")?;
    let shown = truncate(t, 200);
    let bad = |why: &str| Some(Err(format!("invalid progress line `{shown}`: {why}")));
    let Some(step) = step.as_u64() else {
        return bad("\"step\" must be a non-negative integer");
    };
    let num = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    let values = match (obj.get("value"), obj.get("values")) {
        (Some(v), None) => match num(v) {
            Some(x) => vec![x],
            None => return bad("\"value\" must be a number"),
        },
        (None, Some(serde_json::Value::Array(a))) if !a.is_empty() => {
            match a.iter().map(num).collect::<Option<Vec<f64>>>() {
                Some(v) => v,
                None => return bad("\"values\" must be numbers"),
            }
        }
        _ => return bad("expected \"value\": x or \"values\": [x, ...]"),
    };
    Some(Ok(Progress { step, values }))
}

/// Stops a pruned command: SIGTERM to its process group, up to `grace` for it to
/// exit, then SIGKILL to the group.
fn terminate(child: &mut Child, grace: Duration) {
    #[cfg(unix)]
    {
        signal_group(child, "-TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(POLL.min(grace));
        }
    }
    kill(child);
}

#[cfg(unix)]
fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn kill(child: &mut Child) {
    #[cfg(unix)]
    {
        // The whole process group (see `build`); the child itself is its leader.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_pipes(done: &mpsc::Receiver<()>) {
    let deadline = Instant::now() + PIPE_GRACE;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        if done.recv_timeout(left).is_err() {
            return;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_lines(r: impl Read, mut f: impl FnMut(String)) {
    let mut reader = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => f(String::from_utf8_lossy(&buf).trim_end().to_string()),
        }
    }
}

/// The last non-empty line seen.
#[derive(Default)]
struct LastLine(Option<String>);

impl LastLine {
    fn push(&mut self, line: String) {
        let t = line.trim();
        if !t.is_empty() {
            self.0 = Some(t.to_string());
        }
    }
}

/// The last lines seen, within line and byte limits.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
}

impl Tail {
    fn push(&mut self, line: String) {
        let line = truncate(&line, STDERR_TAIL_BYTES);
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.lines.len() > STDERR_TAIL_LINES
            || (self.bytes > STDERR_TAIL_BYTES && self.lines.len() > 1)
        {
            if let Some(l) = self.lines.pop_front() {
                self.bytes -= l.len() + 1;
            }
        }
    }
    fn text(&self) -> String {
        Vec::from(self.lines.clone()).join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(params: &BTreeMap<String, ParamValue>) -> TrialInput<'_> {
        TrialInput {
            study: "s",
            number: 7,
            params,
            schedule: Schedule::default(),
        }
    }

    #[test]
    fn placeholders() {
        let mut p = BTreeMap::new();
        p.insert("lr".to_string(), ParamValue::Float(0.5));
        p.insert("opt".to_string(), ParamValue::Str("$(touch x)".into()));
        let i = input(&p);
        assert_eq!(substitute("--lr={lr}", &i), "--lr=0.5");
        assert_eq!(substitute("{opt}", &i), "$(touch x)");
        assert_eq!(substitute("{trial}-{study}", &i), "7-s");
        assert_eq!(substitute("{unknown} {} {", &i), "{unknown} {} {");
        assert_eq!(substitute("{{lr}}", &i), "{0.5}");
        // Schedule fields: empty without a scheduler, the values with one.
        assert_eq!(substitute("--epochs={budget}", &i), "--epochs=");
        let mut i = input(&p);
        i.schedule = Schedule {
            budget: Some(9),
            previous_budget: Some(3),
            checkpoint_dir: Some("/ck/trial-7".into()),
            parent: Some(2),
        };
        assert_eq!(
            substitute("{budget} {previous_budget} {checkpoint_dir} {parent}", &i),
            "9 3 /ck/trial-7 2"
        );
        // A parameter of the same name wins.
        let mut with_budget = p.clone();
        with_budget.insert("budget".to_string(), ParamValue::Int(1));
        i.params = &with_budget;
        assert_eq!(substitute("{budget}", &i), "1");
    }

    #[test]
    fn env_names() {
        assert_eq!(
            env_name("learning-rate.x"),
            "HYPERSCAPE_PARAM_LEARNING_RATE_X"
        );
    }

    #[test]
    fn results() {
        assert_eq!(parse_result(Some("1.5")), Ok(vec![1.5]));
        assert_eq!(parse_result(Some(r#"{"value": 2}"#)), Ok(vec![2.0]));
        assert_eq!(
            parse_result(Some(r#"{"values": [1, -2.5]}"#)),
            Ok(vec![1.0, -2.5])
        );
        assert!(parse_result(Some("nan")).unwrap()[0].is_nan());
        assert!(parse_result(Some("abc")).unwrap_err().contains("`abc`"));
        assert!(parse_result(None).is_err());
        assert!(parse_result(Some(r#"{"values": []}"#)).is_err());
    }

    #[test]
    fn progress_lines() {
        let p = |l: &str| parse_progress(l);
        assert_eq!(
            p(r#"{"step": 3, "value": 0.5}"#),
            Some(Ok(Progress {
                step: 3,
                values: vec![0.5]
            }))
        );
        assert_eq!(
            p(r#"{"step": 0, "values": [1, 2]}"#)
                .unwrap()
                .unwrap()
                .values,
            [1.0, 2.0]
        );
        assert_eq!(p("1.5"), None);
        assert_eq!(p(r#"{"value": 2}"#), None, "a result line, not progress");
        let e = p(r#"{"step": -1, "value": 2}"#).unwrap().unwrap_err();
        assert!(e.contains("non-negative integer"), "{e}");
        let e = p(r#"{"step": 1, "value": "x"}"#).unwrap().unwrap_err();
        assert!(e.contains("must be a number"), "{e}");
        let e = p(r#"{"step": 1}"#).unwrap().unwrap_err();
        assert!(e.contains("expected"), "{e}");
    }

    #[test]
    fn tail_keeps_the_end() {
        let mut t = Tail::default();
        for i in 0..100 {
            t.push(format!("line {i}"));
        }
        let text = t.text();
        assert!(text.starts_with("line 80"), "{text}");
        assert!(text.ends_with("line 99"));
    }
}
