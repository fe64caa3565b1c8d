//! CSV loading: column selection, kinds, and malformed inputs.

use hyperscape_core::ParamValue;
use hyperscape_landscape::{analyze, load_reader, Error, LoadOptions, ParamKind, Settings};

fn opts(fitness: &str) -> LoadOptions {
    LoadOptions {
        fitness: fitness.into(),
        maximize: true,
        ..LoadOptions::default()
    }
}

fn load(csv: &str, o: &LoadOptions) -> Result<hyperscape_landscape::Table, Error> {
    load_reader(csv.as_bytes(), "test.csv", o)
}

const GRID: &str = ",lr,depth,booster,acc\n\
0,0.1,1,gbtree,0.5\n\
1,0.1,2,gbtree,0.6\n\
2,0.01,1,gbtree,0.7\n\
3,0.01,2,gbtree,0.8\n\
4,0.1,1,dart,0.55\n\
5,0.1,2,dart,0.65\n\
6,0.01,1,dart,0.75\n\
7,0.01,2,dart,0.85\n";

#[test]
fn infers_params_and_kinds() {
    let mut o = opts("acc");
    o.categorical = vec!["booster".into()];
    let t = load(GRID, &o).unwrap();
    let l = &t.landscape;
    assert_eq!(l.len(), 8);
    let names: Vec<&str> = l.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["lr", "depth", "booster"]); // unnamed index skipped
    assert_eq!(l.params()[0].kind, ParamKind::Ordinal);
    assert_eq!(
        l.params()[0].levels,
        vec![ParamValue::Float(0.01), ParamValue::Float(0.1)]
    );
    assert_eq!(
        l.params()[1].levels,
        vec![ParamValue::Int(1), ParamValue::Int(2)]
    );
    assert_eq!(l.params()[2].kind, ParamKind::Categorical);
    assert_eq!(l.grid_size(), 8);
    let r = analyze(l, &Settings::default()).unwrap();
    assert_eq!(r.n_local_optima, 1);
    assert_eq!(r.global_optima[0].fitness, 0.85);
    assert_eq!(r.n_edges, 12);
}

#[test]
fn non_numeric_ordinal_asks_for_categorical() {
    let e = load(GRID, &opts("acc")).unwrap_err();
    assert!(matches!(e, Error::NonNumericOrdinal { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("booster") && msg.contains("--categorical"),
        "{msg}"
    );
}

#[test]
fn missing_columns_are_named() {
    let e = load(GRID, &opts("accuracy")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`accuracy` not found") && msg.contains("`acc`"),
        "{msg}"
    );

    let mut o = opts("acc");
    o.params = Some(vec!["lr".into(), "gamma".into(), "eta".into()]);
    let msg = load(GRID, &o).unwrap_err().to_string();
    assert!(msg.contains("`gamma`, `eta` not found"), "{msg}");
    assert!(!msg.contains("`lr` not"), "{msg}");

    o.params = Some(vec!["gamma".into(), "eta".into()]);
    let e = load(GRID, &o).unwrap_err();
    assert!(matches!(e, Error::NoParamColumns { .. }), "{e}");
    assert!(e.to_string().contains("none of the parameter columns"));

    o.params = Some(vec!["lr".into(), "acc".into()]);
    assert!(matches!(
        load(GRID, &o).unwrap_err(),
        Error::ParamIsMeasure { .. }
    ));
}

#[test]
fn duplicates_error_or_mean() {
    let csv = "a,b,f\n1,1,1.0\n1,2,2.0\n1,1,3.0\n";
    let e = load(csv, &opts("f")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("a=1, b=1") && msg.contains("lines 2 and 4"),
        "{msg}"
    );
    assert!(msg.contains("--aggregate-duplicates"), "{msg}");
    let mut o = opts("f");
    o.aggregate_duplicates = true;
    let t = load(csv, &o).unwrap();
    assert_eq!(t.info.n_duplicates_merged, 1);
    assert_eq!(t.landscape.len(), 2);
    let i = t.landscape.find(&[0, 0]).unwrap();
    assert_eq!(t.landscape.fitness()[i], 2.0);
}

#[test]
fn nan_and_empty_fitness_are_dropped_and_counted() {
    let csv = "a,f\n1,1.0\n2,NaN\n3,\n4,nan\n5,inf\n6,2.0\n";
    let t = load(csv, &opts("f")).unwrap();
    assert_eq!(t.info.n_rows, 6);
    assert_eq!(t.info.n_dropped, 4);
    assert_eq!(t.landscape.len(), 2);
    let e = load("a,f\n1,NaN\n", &opts("f")).unwrap_err();
    assert!(e.to_string().contains("no configuration left"), "{e}");
    let e = load("a,f\n1,abc\n", &opts("f")).unwrap_err();
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("`abc`"),
        "{e}"
    );
}

#[test]
fn grid_with_holes() {
    // 3 × 2 grid without (1, 1) and (2, 0).
    let csv = "x,y,f\n0,0,1\n0,1,2\n1,0,3\n2,1,4\n";
    let t = load(csv, &opts("f")).unwrap();
    let l = &t.landscape;
    assert_eq!(l.len(), 4);
    assert_eq!(l.grid_size(), 6);
    // (1,0) has neighbours (0,0) only: (2,0) and (1,1) are absent.
    let i = l.find(&[1, 0]).unwrap();
    assert_eq!(l.neighbours(i), &[l.find(&[0, 0]).unwrap() as u32]);
    // (2,1) is isolated: a local optimum (and here the global one).
    let j = l.find(&[2, 1]).unwrap();
    assert!(l.neighbours(j).is_empty());
    let r = analyze(l, &Settings::default()).unwrap();
    assert_eq!(r.n_missing, 2);
    assert_eq!(r.n_edges, 2);
    // (0,1) and (1,0) each beat their only neighbour (0,0); (2,1) is isolated.
    assert_eq!(r.n_local_optima, 3);
    assert_eq!(r.basins.global_basin_size, 1);
}

#[test]
fn booleans_empty_params_and_auto_excluded_measures() {
    let csv = "flag,x,f\ntrue,1,1\nFalse,1,2\ntrue,2,3\nfalse,2,4\n";
    let t = load(csv, &opts("f")).unwrap();
    assert_eq!(t.landscape.params()[0].kind, ParamKind::Boolean);
    let e = load("x,f\n1,1\n,2\n", &opts("f")).unwrap_err();
    assert!(matches!(e, Error::EmptyParam { line: 3, .. }), "{e}");
    // A column with more than 64 distinct values is taken for a measure.
    let mut csv = String::from("x,other,f\n");
    for i in 0..100 {
        csv.push_str(&format!("{},{},{}\n", i % 10, i as f64 * 0.37, i));
    }
    let mut o = opts("f");
    o.aggregate_duplicates = true;
    let t = load(&csv, &o).unwrap();
    assert_eq!(t.info.auto_excluded, vec!["other".to_string()]);
    assert_eq!(t.landscape.params().len(), 1);
    // Extra measures are loaded alongside.
    let mut o = opts("f");
    o.params = Some(vec!["x".into(), "other".into()]);
    o.extra_measures = vec!["f".into()];
    assert!(load(&csv, &o).is_ok());
}
