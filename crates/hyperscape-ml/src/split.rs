//! Seeded splits: stratified train/validation/test and (stratified) k-fold.
//!
//! Splits are disjoint and cover every sample once; with the same seed they are the
//! same on every machine (ChaCha8 streams, no thread-dependent order).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Target};
use crate::error::{Error, Result};

/// Row indices of a train/validation/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

/// Groups of row indices that must be split proportionally: one per class for
/// classification, a single group for regression.
fn strata(target: &Target) -> Vec<Vec<usize>> {
    match target {
        Target::Classes {
            labels, n_classes, ..
        } => {
            let mut groups = vec![Vec::new(); *n_classes];
            for (i, &l) in labels.iter().enumerate() {
                groups[l as usize].push(i);
            }
            groups.retain(|g| !g.is_empty());
            groups
        }
        Target::Values(v) => vec![(0..v.len()).collect()],
    }
}

/// A stratified split with `valid` and `test` fractions of the samples (each class is
/// split in those proportions, rounded; the rest is training data).
pub fn train_valid_test(data: &Dataset, valid: f64, test: f64, seed: u64) -> Result<Split> {
    if !(0.0..1.0).contains(&valid) || !(0.0..1.0).contains(&test) || valid + test >= 1.0 {
        return Err(Error::Invalid(format!(
            "split fractions valid={valid}, test={test} must be in [0, 1) and sum below 1"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = Split {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for mut group in strata(&data.target) {
        group.shuffle(&mut rng);
        let n = group.len() as f64;
        let n_test = (n * test).round() as usize;
        let n_valid = ((n * valid).round() as usize).min(group.len() - n_test);
        split.test.extend_from_slice(&group[..n_test]);
        split
            .valid
            .extend_from_slice(&group[n_test..n_test + n_valid]);
        split.train.extend_from_slice(&group[n_test + n_valid..]);
    }
    for part in [&mut split.train, &mut split.valid, &mut split.test] {
        part.shuffle(&mut rng);
    }
    if split.train.is_empty() {
        return Err(Error::Invalid(format!(
            "dataset `{}` has too few samples ({}) for this split",
            data.name,
            data.n_samples()
        )));
    }
    Ok(split)
}

/// Stratified k-fold: `k` pairs of (train rows, validation rows); every sample is in
/// exactly one validation fold.
pub fn kfold(data: &Dataset, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > data.n_samples() {
        return Err(Error::Invalid(format!(
            "k-fold needs 2 <= k <= n_samples ({}), got k = {k}",
            data.n_samples()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0usize;
    for mut group in strata(&data.target) {
        group.shuffle(&mut rng);
        // Deal the class out round-robin, continuing where the last class stopped,
        // so fold sizes differ by at most one.
        for i in group {
            folds[next % k].push(i);
            next += 1;
        }
    }
    Ok((0..k)
        .map(|f| {
            let valid = folds[f].clone();
            let train = folds
                .iter()
                .enumerate()
                .filter(|(g, _)| *g != f)
                .flat_map(|(_, rows)| rows.iter().copied())
                .collect();
            (train, valid)
        })
        .collect())
}

/// The first `fraction` of `rows` (at least one row): the training-data fidelity.
/// Callers pass rows in shuffled order, so a prefix is a random subset, and a larger
/// fraction always contains a smaller one.
pub fn fraction_of(rows: &[usize], fraction: f64) -> &[usize] {
    let n = ((rows.len() as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    &rows[..n.clamp(1.min(rows.len()), rows.len())]
}
