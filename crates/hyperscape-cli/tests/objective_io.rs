//! How parameters reach the external command, and how its failures are recorded.

mod common;

use common::*;
use serde_json::Value;

const SPACE: &str = r#"
[params.x]
type = "float"
low = -2.0
high = 2.0
[params.n-layers]
type = "int"
low = 1
high = 4
[params.cmd]
type = "categorical"
choices = ["$(touch pwned)", "; rm -rf keep", "`touch pwned2`"]
"#;

/// Logs argv and environment of each trial as one JSON line, checks that the three
/// channels agree, and prints x².
const ECHO_PY: &str = r#"
import json, os, sys
p = json.loads(os.environ["HYPERSCAPE_PARAMS"])
rec = {"argv": sys.argv[1:], "params": p,
       "env_x": os.environ["HYPERSCAPE_PARAM_X"],
       "env_layers": os.environ["HYPERSCAPE_PARAM_N_LAYERS"],
       "env_cmd": os.environ["HYPERSCAPE_PARAM_CMD"],
       "trial": os.environ["HYPERSCAPE_TRIAL_NUMBER"],
       "study": os.environ["HYPERSCAPE_STUDY"]}
with open("log.jsonl", "a") as f:
    f.write(json.dumps(rec) + "\n")
print("some progress output")
print(p["x"] ** 2)
print("")
"#;

#[test]
fn params_reach_the_command_three_ways_and_are_never_shell_evaluated() {
    let env = Env::new();
    std::fs::create_dir(env.path("keep")).unwrap();
    let space = env.write("space.toml", SPACE);
    let script = env.write("obj.py", ECHO_PY);
    let out = env
        .hs()
        .args([
            "run",
            "--study",
            "io",
            "--storage",
            "memory:",
            "--space",
            &space,
        ])
        .args(["--trials", "6", "--seed", "5", "--"])
        .args([
            "python3",
            &script,
            "--x={x}",
            "{n-layers}",
            "{cmd}",
            "{trial}",
            "{study}",
            "{other}",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("6 trial(s) in this run (6 complete, 0 failed"),
        "{stdout}"
    );

    let log = std::fs::read_to_string(env.path("log.jsonl")).unwrap();
    let recs: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 6);
    let mut trials_seen = Vec::new();
    let mut cmds_seen = std::collections::BTreeSet::new();
    for r in &recs {
        let p = &r["params"];
        let x = p["x"].as_f64().unwrap();
        let layers = p["n-layers"].as_i64().unwrap();
        let cmd = p["cmd"].as_str().unwrap();
        let argv: Vec<&str> = r["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(argv[0], format!("--x={x}"));
        assert_eq!(argv[1], layers.to_string());
        assert_eq!(argv[2], cmd, "the categorical is passed literally");
        assert_eq!(argv[4], "io");
        assert_eq!(argv[5], "{other}", "unknown placeholders are left alone");
        assert_eq!(r["trial"].as_str().unwrap(), argv[3]);
        assert_eq!(r["env_x"].as_str().unwrap().parse::<f64>().unwrap(), x);
        assert_eq!(r["env_layers"].as_str().unwrap(), layers.to_string());
        assert_eq!(r["env_cmd"].as_str().unwrap(), cmd);
        assert_eq!(r["study"], "io");
        trials_seen.push(argv[3].parse::<u64>().unwrap());
        cmds_seen.insert(cmd.to_string());
    }
    trials_seen.sort_unstable();
    assert_eq!(trials_seen, (0..6).collect::<Vec<_>>());
    assert!(
        cmds_seen.len() >= 2,
        "several choices were tried: {cmds_seen:?}"
    );
    assert!(!env.path("pwned").exists(), "no shell ran the parameter");
    assert!(!env.path("pwned2").exists(), "no shell ran the parameter");
    assert!(env.path("keep").exists(), "no shell ran the parameter");
}

#[test]
fn failing_commands_do_not_stop_the_study() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let out = env
        .hs()
        .args([
            "run",
            "--study",
            "f",
            "--storage",
            "memory:",
            "--space",
            &space,
        ])
        .args(["--trials", "4", "--", "false"])
        .output()
        .unwrap();
    assert_success(&out, &["run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("4 trial(s) in this run (0 complete, 4 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("no complete trial"), "{stdout}");
}

/// One trial per failure mode (grid over `mode`), plus one that succeeds.
#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn each_failure_is_recorded_with_its_reason_and_stderr_tail() {
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "[params.mode]\ntype = \"categorical\"\nchoices = [\"exit\", \"garbage\", \"nan\", \"timeout\", \"ok\", \"empty\"]\n",
    );
    let script = env.write(
        "obj.py",
        r#"
import sys, time
mode = sys.argv[1]
for i in range(50):
    print(f"noise line {i}", file=sys.stderr)
print(f"last words of {mode}", file=sys.stderr)
sys.stderr.flush()
if mode == "exit": sys.exit(3)
if mode == "garbage": print("accuracy: high")
if mode == "nan": print("nan")
if mode == "timeout": time.sleep(30)
if mode == "ok": print('{"value": 0.5}')
"#,
    );
    env.ok(&[
        "run",
        "--study",
        "fail",
        "--space",
        &space,
        "--sampler",
        "grid",
        "--trials",
        "6",
        // Long enough for Python to start and write its stderr on a loaded machine;
        // the `timeout` mode sleeps 30 s, so it still times out.
        "--trial-timeout",
        "5",
        "--",
        "python3",
        &script,
        "{mode}",
    ]);
    let trials = env.trials("fail");
    assert_eq!(numbers(&trials), (0..6).collect::<Vec<_>>());
    let by_mode = |m: &str| -> &Value {
        trials
            .iter()
            .find(|t| t["params"]["mode"] == m)
            .unwrap_or_else(|| panic!("no {m} trial"))
    };
    let reason = |m: &str| -> String {
        let t = by_mode(m);
        assert_eq!(t["state"], "failed", "{t}");
        t["fail_reason"].as_str().unwrap().to_string()
    };
    let r = reason("exit");
    assert!(r.contains("exited with status 3"), "{r}");
    assert!(r.contains("last words of exit"), "stderr tail kept: {r}");
    assert!(!r.contains("noise line 10\n"), "only the tail is kept: {r}");
    assert!(r.len() < 2600, "{}", r.len());
    let r = reason("garbage");
    assert!(r.contains("accuracy: high"), "{r}");
    assert!(r.contains("last words of garbage"), "{r}");
    let r = reason("nan");
    assert!(r.contains("non-finite"), "{r}");
    let r = reason("timeout");
    assert!(r.contains("timed out after 5s"), "{r}");
    assert!(r.contains("last words of timeout"), "{r}");
    let r = reason("empty");
    assert!(r.contains("printed nothing"), "{r}");
    let ok = by_mode("ok");
    assert_eq!(ok["state"], "complete");
    assert_eq!(ok["value"], 0.5);
}
