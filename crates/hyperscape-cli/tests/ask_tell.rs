//! A script-driven ask/tell loop, each step its own process.
#![cfg_attr(not(feature = "sqlite"), allow(unused))]

mod common;

use common::*;
use serde_json::Value;

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn ask_tell_loop_then_best() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let mut told = Vec::new();
    for i in 0..4u64 {
        let asked: Value = serde_json::from_str(
            &env.ok(&["ask", "--study", "at", "--space", &space, "--seed", "9"]),
        )
        .unwrap();
        assert_eq!(asked["trial"], i);
        let x = asked["params"]["x"].as_f64().unwrap();
        // Between ask and tell the trial stays running.
        let running = env.trials("at");
        assert_eq!(running[i as usize]["state"], "running");
        let n = i.to_string();
        if i == 2 {
            env.ok(&[
                "tell", "--study", "at", "--trial", &n, "--state", "failed", "--reason", "oom",
            ]);
        } else {
            let v = (x - 0.3).abs().to_string();
            env.ok(&["tell", "--study", "at", "--trial", &n, "--value", &v]);
            told.push((i, (x - 0.3).abs()));
        }
    }
    let trials = env.trials("at");
    assert_eq!(trials[2]["state"], "failed");
    assert_eq!(trials[2]["fail_reason"], "oom");
    let (best_n, best_v) =
        told.iter()
            .copied()
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    let best: Value =
        serde_json::from_str(&env.ok(&["best", "--study", "at", "--format", "json"])).unwrap();
    assert_eq!(best["number"], best_n);
    assert_eq!(best["value"].as_f64().unwrap(), best_v);

    // Telling a finished trial again is an error that names it.
    let out = env
        .hs()
        .args([
            "tell",
            "--study",
            "at",
            "--trial",
            "0",
            "--value",
            "1",
            "--storage",
            &env.storage(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trial 0"));
}
