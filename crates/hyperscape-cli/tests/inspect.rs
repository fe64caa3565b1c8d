//! `trials`, `best`, `studies` and `delete` on a SQLite storage.
#![cfg_attr(not(feature = "sqlite"), allow(unused))]

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

fn populated(env: &Env) {
    let space = env.write("space.toml", SPACE_X);
    // x > 0.5 fails: some complete trials, some failed ones.
    let script = env.write(
        "obj.py",
        "import sys\nx = float(sys.argv[1])\nif x > 0.5:\n    print('too big', file=sys.stderr); sys.exit(1)\nprint(x)\n",
    );
    env.ok(&[
        "run", "--study", "s", "--space", &space, "--trials", "8", "--seed", "3", "--", "python3",
        &script, "{x}",
    ]);
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn trials_json_has_exactly_the_documented_keys() {
    let env = Env::new();
    populated(&env);
    let trials = env.trials("s");
    assert_eq!(numbers(&trials), (0..8).collect::<Vec<_>>());
    let allowed: BTreeSet<&str> = [
        "number",
        "state",
        "params",
        "value",
        "values",
        "fail_reason",
        "intermediate_values",
        "user_attrs",
        "datetime_start",
        "datetime_complete",
        "duration_seconds",
        "retried_from",
    ]
    .into();
    let complete = with_state(&trials, "complete");
    let failed = with_state(&trials, "failed");
    assert!(
        !complete.is_empty() && !failed.is_empty(),
        "seed 3 gives both kinds"
    );
    for t in &trials {
        let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(keys.is_subset(&allowed), "unexpected keys in {t}");
        assert!(keys.contains("number") && keys.contains("state") && keys.contains("params"));
        assert!(
            !keys.contains("values"),
            "single objective uses `value`: {t}"
        );
        assert!(t["params"]["x"].is_f64());
    }
    for t in complete {
        assert_eq!(t["value"], t["params"]["x"]);
        assert!(t.get("fail_reason").is_none(), "{t}");
    }
    for t in failed {
        assert!(t.get("value").is_none(), "{t}");
        let r = t["fail_reason"].as_str().unwrap();
        assert!(r.contains("status 1") && r.contains("too big"), "{r}");
    }
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn trials_csv_table_best_and_studies() {
    let env = Env::new();
    populated(&env);
    let csv = env.ok(&["trials", "--study", "s", "--format", "csv"]);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("number,state,value,params_x,"),
        "{header}"
    );
    assert!(header.ends_with("fail_reason"), "{header}");
    assert_eq!(lines.count(), 8 + csv_extra_lines(&csv));

    let table = env.ok(&["trials", "--study", "s"]);
    assert!(table.starts_with("number"), "{table}");
    assert!(
        table.contains("complete") && table.contains("failed"),
        "{table}"
    );

    let trials = env.trials("s");
    let min = with_state(&trials, "complete")
        .iter()
        .map(|t| t["value"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    let best: Value =
        serde_json::from_str(&env.ok(&["best", "--study", "s", "--format", "json"])).unwrap();
    assert_eq!(best["value"].as_f64().unwrap(), min);
    assert_eq!(best["state"], "complete");
    let best_table = env.ok(&["best", "--study", "s"]);
    assert!(
        best_table.contains(&format!("value: {min}")),
        "{best_table}"
    );

    let studies: Value = serde_json::from_str(&env.ok(&["studies", "--format", "json"])).unwrap();
    let s = &studies.as_array().unwrap()[0];
    assert_eq!(s["name"], "s");
    assert_eq!(s["n_trials"], 8);
    assert_eq!(s["directions"], serde_json::json!(["minimize"]));
    assert_eq!(s["best_value"].as_f64().unwrap(), min);
    let table = env.ok(&["studies"]);
    assert!(table.lines().nth(1).unwrap().starts_with("s "), "{table}");
}

/// Lines inside quoted multi-line CSV fields (fail reasons carry stderr lines).
fn csv_extra_lines(csv: &str) -> usize {
    let mut extra = 0;
    let mut quoted = false;
    for c in csv.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if quoted => extra += 1,
            _ => {}
        }
    }
    extra
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn delete_needs_yes_and_removes_the_study() {
    let env = Env::new();
    populated(&env);
    let out = env
        .hs()
        .args(["delete", "--study", "s", "--storage", &env.storage()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(env.trials("s").len(), 8, "nothing deleted without --yes");
    env.ok(&["delete", "--study", "s", "--yes"]);
    let out = env
        .hs()
        .args(["trials", "--study", "s", "--storage", &env.storage()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("study `s` does not exist"));
    let studies: Value = serde_json::from_str(&env.ok(&["studies", "--format", "json"])).unwrap();
    assert_eq!(studies, serde_json::json!([]));
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn multi_objective_values_and_pareto_front() {
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "directions = [\"minimize\", \"minimize\"]\n[params.x]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n[params.y]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n",
    );
    let script = env.write(
        "obj.py",
        "import json, os\np = json.loads(os.environ['HYPERSCAPE_PARAMS'])\nprint(json.dumps({'values': [p['x'] + p['y'], 1 - p['x'] + p['y']]}))\n",
    );
    let out = env.ok(&[
        "run", "--study", "mo", "--space", &space, "--trials", "12", "--seed", "1", "--",
        "python3", &script,
    ]);
    assert!(out.contains("Pareto front"), "{out}");
    let trials = env.trials("mo");
    assert_eq!(with_state(&trials, "complete").len(), 12);
    let pts: Vec<(u64, f64, f64)> = trials
        .iter()
        .map(|t| {
            assert!(
                t.get("value").is_none(),
                "several objectives use `values`: {t}"
            );
            let v = t["values"].as_array().unwrap();
            (
                t["number"].as_u64().unwrap(),
                v[0].as_f64().unwrap(),
                v[1].as_f64().unwrap(),
            )
        })
        .collect();
    let dominated = |a: &(u64, f64, f64)| {
        pts.iter()
            .any(|b| b.1 <= a.1 && b.2 <= a.2 && (b.1 < a.1 || b.2 < a.2))
    };
    let expected: BTreeSet<u64> = pts.iter().filter(|p| !dominated(p)).map(|p| p.0).collect();
    let front: Value =
        serde_json::from_str(&env.ok(&["best", "--study", "mo", "--format", "json"])).unwrap();
    let got: BTreeSet<u64> = front
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(got, expected);
    assert!(front[0]["values"].is_array());
}
