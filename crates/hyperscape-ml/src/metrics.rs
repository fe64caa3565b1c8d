//! Scores of a prediction against a target.

use std::collections::BTreeMap;

use crate::data::Target;
use crate::error::{Error, Result};
use crate::model::Prediction;

/// Named scores, serialised as a flat JSON object: `accuracy` and `cross_entropy`
/// (when the model gives probabilities) for classifiers, `mse`, `rmse`, `mae` and `r2`
/// for regressors.
pub type Metrics = BTreeMap<String, f64>;

/// Probabilities are clipped to this before the log, as scikit-learn does.
const EPS: f64 = 1e-7;

/// Scores `prediction` against `target`.
pub fn evaluate(prediction: &Prediction, target: &Target) -> Result<Metrics> {
    let mut m = Metrics::new();
    match (prediction, target) {
        (
            Prediction::Probabilities { p, n_classes },
            Target::Classes {
                labels,
                n_classes: k,
                ..
            },
        ) => {
            if n_classes != k || p.len() != labels.len() * k {
                return Err(Error::Invalid(format!(
                    "prediction has {} probabilities over {n_classes} classes for {} samples of {k} classes",
                    p.len(),
                    labels.len()
                )));
            }
            let mut correct = 0usize;
            let mut ce = 0.0f64;
            for (i, &y) in labels.iter().enumerate() {
                let row = &p[i * k..(i + 1) * k];
                let arg = argmax(row);
                correct += usize::from(arg == y as usize);
                ce -= (row[y as usize] as f64).clamp(EPS, 1.0).ln();
            }
            let n = labels.len().max(1) as f64;
            m.insert("accuracy".into(), correct as f64 / n);
            m.insert("cross_entropy".into(), ce / n);
        }
        (Prediction::Labels(pred), Target::Classes { labels, .. }) => {
            if pred.len() != labels.len() {
                return Err(Error::Invalid(format!(
                    "{} predicted labels for {} samples",
                    pred.len(),
                    labels.len()
                )));
            }
            let correct = pred.iter().zip(labels).filter(|(a, b)| a == b).count();
            m.insert(
                "accuracy".into(),
                correct as f64 / labels.len().max(1) as f64,
            );
        }
        (Prediction::Values(pred), Target::Values(y)) => {
            if pred.len() != y.len() {
                return Err(Error::Invalid(format!(
                    "{} predicted values for {} samples",
                    pred.len(),
                    y.len()
                )));
            }
            let n = y.len().max(1) as f64;
            let mean = y.iter().sum::<f64>() / n;
            let sse: f64 = pred.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum();
            let sst: f64 = y.iter().map(|t| (t - mean) * (t - mean)).sum();
            let mae: f64 = pred.iter().zip(y).map(|(p, t)| (p - t).abs()).sum::<f64>() / n;
            m.insert("mse".into(), sse / n);
            m.insert("rmse".into(), (sse / n).sqrt());
            m.insert("mae".into(), mae);
            m.insert("r2".into(), if sst > 0.0 { 1.0 - sse / sst } else { 0.0 });
        }
        _ => {
            return Err(Error::Invalid(
                "prediction kind does not match the target (classification vs regression)".into(),
            ))
        }
    }
    Ok(m)
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_cross_entropy() {
        let target = Target::Classes {
            labels: vec![0, 1],
            n_classes: 2,
            names: vec!["a".into(), "b".into()],
        };
        let pred = Prediction::Probabilities {
            p: vec![0.9, 0.1, 0.6, 0.4],
            n_classes: 2,
        };
        let m = evaluate(&pred, &target).unwrap();
        assert_eq!(m["accuracy"], 0.5);
        let want = -(0.9f64.ln() + 0.4f64.ln()) / 2.0;
        assert!((m["cross_entropy"] - want).abs() < 1e-6);
    }

    #[test]
    fn regression_scores() {
        let m = evaluate(
            &Prediction::Values(vec![1.0, 2.0, 3.0]),
            &Target::Values(vec![1.0, 2.0, 4.0]),
        )
        .unwrap();
        assert!((m["mse"] - 1.0 / 3.0).abs() < 1e-12);
        assert!((m["r2"] - (1.0 - 1.0 / (14.0 / 3.0))).abs() < 1e-12);
    }

    #[test]
    fn kind_mismatch_is_an_error() {
        let err = evaluate(
            &Prediction::Values(vec![1.0]),
            &Target::Classes {
                labels: vec![0],
                n_classes: 1,
                names: vec![],
            },
        );
        assert!(err.is_err());
    }
}
