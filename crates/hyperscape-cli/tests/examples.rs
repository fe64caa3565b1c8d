//! The shipped examples keep working: the external-command example of the README.
#![cfg_attr(not(feature = "sqlite"), allow(unused))]

mod common;

use common::*;

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn the_readme_external_command_example_runs() {
    let env = Env::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/external");
    let space = root.join("space.toml").display().to_string();
    let script = root.join("train.py").display().to_string();
    env.ok(&[
        "run", "--study", "logreg", "--space", &space, "--trials", "4", "--seed", "3", "--",
        "python3", &script, "--lr", "{lr}", "--l2", "{l2}", "--epochs", "{epochs}", "--batch",
        "{batch}",
    ]);
    let trials = env.trials("logreg");
    assert_eq!(trials.len(), 4);
    for t in &trials {
        assert_eq!(t["state"], "complete", "{t}");
        let v = t["value"].as_f64().unwrap();
        // Validation log-loss of a 2-class logistic regression: positive, and no worse
        // than wildly diverged.
        assert!(v > 0.0 && v < 20.0, "{v}");
    }
}
