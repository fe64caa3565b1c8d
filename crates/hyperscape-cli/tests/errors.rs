//! Bad input: exit code 1 (runtime) or 2 (usage), with a message naming the problem.

mod common;

use common::*;

fn fails(env: &Env, args: &[&str], code: i32) -> String {
    let out = env.hs().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run_args<'a>(space: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "run",
        "--study",
        "e",
        "--storage",
        "memory:",
        "--space",
        space,
        "--trials",
        "1",
    ];
    v.extend_from_slice(extra);
    v.extend_from_slice(&["--", "echo", "1"]);
    v
}

#[test]
fn missing_space_file() {
    let env = Env::new();
    let err = fails(&env, &run_args("nope.toml", &[]), 1);
    assert!(
        err.starts_with("error: ") && err.contains("nope.toml"),
        "{err}"
    );
}

#[test]
fn invalid_space_names_the_parameter() {
    let env = Env::new();
    let space = env.write(
        "bad.toml",
        "[params.lr]\ntype = \"float\"\nlow = 1.0\nhigh = 0.5\n",
    );
    let err = fails(&env, &run_args(&space, &[]), 1);
    assert!(
        err.starts_with("error: ") && err.contains("`lr`") && err.contains("bad.toml"),
        "{err}"
    );
}

#[test]
fn unknown_sampler() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let err = fails(&env, &run_args(&space, &["--sampler", "tpe-ish"]), 1);
    assert!(
        err.contains("unknown sampler `tpe-ish`") && err.contains("random"),
        "{err}"
    );
}

#[test]
fn grid_over_a_continuous_float() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let err = fails(&env, &run_args(&space, &["--sampler", "grid"]), 1);
    assert!(err.contains("`x`") && err.contains("grid"), "{err}");
}

#[test]
fn unknown_study() {
    let env = Env::new();
    for cmd in ["trials", "best", "delete"] {
        let err = fails(
            &env,
            &[cmd, "--study", "ghost", "--storage", "memory:", "--yes"]
                [..if cmd == "delete" { 6 } else { 5 }],
            1,
        );
        assert!(err.contains("study `ghost` does not exist"), "{cmd}: {err}");
    }
    let err = fails(
        &env,
        &[
            "tell",
            "--study",
            "ghost",
            "--storage",
            "memory:",
            "--trial",
            "0",
            "--value",
            "1",
        ],
        1,
    );
    assert!(err.contains("study `ghost` does not exist"), "{err}");
}

#[test]
fn unknown_storage_scheme() {
    let env = Env::new();
    let err = fails(&env, &["studies", "--storage", "ftp://x"], 1);
    assert!(err.contains("ftp://x"), "{err}");
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn best_of_a_study_without_complete_trials() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    env.ok(&[
        "run", "--study", "empty", "--space", &space, "--trials", "2", "--", "false",
    ]);
    let err = fails(
        &env,
        &["best", "--study", "empty", "--storage", &env.storage()],
        1,
    );
    assert!(err.contains("study `empty` has no complete trial"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    fails(
        &env,
        &["run", "--space", "s.toml", "--trials", "1", "--", "echo"],
        2,
    );
    fails(&env, &["frobnicate"], 2);
    fails(&env, &["tell", "--study", "s", "--trial", "0"], 2);
    fails(&env, &["trials", "--study", "s", "--format", "xml"], 2);
}

#[test]
fn help_has_examples_everywhere() {
    let env = Env::new();
    for cmd in [
        None,
        Some("run"),
        Some("demo"),
        Some("studies"),
        Some("trials"),
        Some("best"),
        Some("delete"),
        Some("ask"),
        Some("tell"),
    ] {
        let mut c = env.hs();
        if let Some(cmd) = cmd {
            c.arg(cmd);
        }
        let out = c.arg("--help").output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Examples:"), "{cmd:?}: {text}");
    }
}

#[test]
fn storage_comes_from_the_environment() {
    let env = Env::new();
    let out = env
        .hs()
        .env("HYPERSCAPE_STORAGE", "ftp://from-env")
        .arg("studies")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ftp://from-env"));
}
