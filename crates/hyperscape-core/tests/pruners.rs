//! Pruners' decisions on hand-made intermediate curves, with tiny studies.

use std::sync::Arc;

use hyperscape_core::pruner::{rung_key, BRACKET_ATTR, BUDGET_ATTR};
use hyperscape_core::{
    Direction, Error, HyperbandPruner, MedianPruner, ParetoPruner, PatientPruner, PercentilePruner,
    Pruner, Study, SuccessiveHalvingPruner, ThresholdPruner, TrialResult, TrialState,
    WilcoxonPruner,
};

fn study(p: impl Pruner + 'static, d: Direction) -> Study {
    Study::builder("p").direction(d).pruner(p).build().unwrap()
}

/// Runs one trial along `curve` (step i gets curve[i]); returns the step it was
/// pruned at, or None if it completed (with its last value).
fn run(study: &Study, curve: &[f64]) -> Option<u64> {
    let mut t = study.ask().unwrap();
    for (s, &v) in curve.iter().enumerate() {
        match t.report(s as u64, v) {
            Ok(()) => {}
            Err(Error::Pruned { step }) => {
                assert_eq!(step, s as u64);
                study.tell(t, TrialResult::Pruned).unwrap();
                return Some(step);
            }
            Err(e) => panic!("{e}"),
        }
    }
    study
        .tell(t, TrialResult::Complete(vec![*curve.last().unwrap()]))
        .unwrap();
    None
}

#[test]
fn median_prunes_curves_worse_than_the_median() {
    let s = study(MedianPruner::new().n_startup_trials(3), Direction::Minimize);
    for c in [[1.0, 0.9, 0.8], [2.0, 1.9, 1.8], [3.0, 2.9, 2.8]] {
        assert_eq!(run(&s, &c), None);
    }
    // Median at step 0 is 2.0: 2.5 is worse.
    assert_eq!(run(&s, &[2.5, 0.1, 0.1]), Some(0));
    // Better than the median at every step.
    assert_eq!(run(&s, &[1.5, 1.4, 1.3]), None);
    // Below the medians of steps 0 (1.75) and 1 (1.65) of the 4 complete trials, above
    // that of step 2 (1.55): its best so far (1.6) is worse there.
    assert_eq!(run(&s, &[1.6, 1.6, 1.6]), Some(2));
}

#[test]
fn median_waits_for_startup_trials_and_warmup() {
    let s = study(
        MedianPruner::new().n_startup_trials(2).n_warmup_steps(2),
        Direction::Minimize,
    );
    assert_eq!(run(&s, &[1.0, 1.0, 1.0]), None);
    // Only one complete trial: no pruning yet, however bad.
    assert_eq!(run(&s, &[9.0, 9.0, 9.0]), None);
    // Two complete trials; warm-up protects steps 0 and 1.
    assert_eq!(run(&s, &[9.0, 9.0, 9.0]), Some(2));
}

#[test]
fn median_is_direction_aware() {
    let s = study(MedianPruner::new().n_startup_trials(2), Direction::Maximize);
    run(&s, &[1.0, 2.0]);
    run(&s, &[3.0, 4.0]);
    // Maximising: 2.5 at step 0 is above the median (2.0).
    assert_eq!(run(&s, &[2.5, 3.5]), None);
    assert_eq!(run(&s, &[0.5, 9.0]), Some(0));
}

#[test]
fn percentile_and_interval_steps() {
    // 25th percentile of 1, 2, 3, 4 is 1.75.
    let p = PercentilePruner::new(25.0)
        .unwrap()
        .n_startup_trials(4)
        .interval_steps(2);
    let s = study(p, Direction::Minimize);
    for v in [1.0, 2.0, 3.0, 4.0] {
        run(&s, &[v, v, v, v]);
    }
    assert_eq!(run(&s, &[1.7, 1.7, 1.7]), None);
    // Judged at steps 0 and 2 only: bad at step 1 but good at step 0 -> judged at 2.
    assert_eq!(run(&s, &[1.0, 5.0, 5.0]), None, "best so far is 1.0");
    assert_eq!(run(&s, &[1.8, 0.0]), Some(0));
    // n_min_trials: no complete trial reported step 5.
    let s = study(
        PercentilePruner::new(50.0)
            .unwrap()
            .n_startup_trials(1)
            .n_min_trials(2),
        Direction::Minimize,
    );
    run(&s, &[1.0]);
    assert_eq!(run(&s, &[5.0]), None, "one trial at step 0, two needed");
}

#[test]
fn patient_prunes_after_patience_without_improvement() {
    let s = study(
        PatientPruner::new(None, 2, 0.0).unwrap(),
        Direction::Minimize,
    );
    // Improves at step 2: the window after patience (steps 1..=3) holds a better value.
    assert_eq!(run(&s, &[5.0, 4.0, 3.0, 3.0, 2.5]), None);
    // Equal is not worse (Optuna's strict test)...
    assert_eq!(run(&s, &[5.0, 5.0, 5.0, 5.0]), None);
    // ... but no value in the window (steps 1..=3) below the best before it (5.0) is.
    assert_eq!(run(&s, &[5.0, 5.5, 5.1, 5.2]), Some(3));
    // min_delta: improvements of 0.05 do not count.
    let s = study(
        PatientPruner::new(None, 1, 0.1).unwrap(),
        Direction::Maximize,
    );
    assert_eq!(run(&s, &[1.0, 1.05, 1.08]), Some(2));
    assert_eq!(run(&s, &[1.0, 1.2, 1.4]), None);
    // Wrapping: patience says prune, but the wrapped median (no complete trials in a
    // fresh study) does not.
    let s = study(
        PatientPruner::new(Some(Box::new(MedianPruner::new())), 1, 0.0).unwrap(),
        Direction::Minimize,
    );
    assert_eq!(run(&s, &[1.0, 1.0, 1.0]), None);
}

#[test]
fn threshold_bounds() {
    let s = study(
        ThresholdPruner::new(Some(0.0), Some(10.0)).unwrap(),
        Direction::Minimize,
    );
    assert_eq!(run(&s, &[5.0, 9.9, 0.0]), None);
    assert_eq!(run(&s, &[5.0, 10.5]), Some(1));
    assert_eq!(run(&s, &[-0.5]), Some(0));
    let mut t = ThresholdPruner::new(None, Some(1.0)).unwrap();
    t.n_warmup_steps = 2;
    let s = study(t, Direction::Maximize);
    assert_eq!(run(&s, &[5.0, 5.0, 5.0]), Some(2));
    assert!(ThresholdPruner::new(None, None).is_err());
    assert!(ThresholdPruner::new(Some(2.0), Some(1.0)).is_err());
}

#[test]
fn successive_halving_rungs() {
    let sha = SuccessiveHalvingPruner::new(1, 2, 0, 0).unwrap();
    assert_eq!(
        (0..5).map(|r| sha.rung_step(r)).collect::<Vec<_>>(),
        [1, 2, 4, 8, 16]
    );
    let late = SuccessiveHalvingPruner::new(3, 4, 1, 0).unwrap();
    assert_eq!(late.rung_step(0), 12);
    assert_eq!(late.rung_step(1), 48);
    // Top 1/eta of peers plus itself; with fewer than eta values, only the best.
    assert!(sha.is_promotable(1.0, &[2.0], Direction::Minimize));
    assert!(!sha.is_promotable(3.0, &[2.0], Direction::Minimize));
    assert!(sha.is_promotable(2.0, &[1.0, 3.0, 4.0], Direction::Minimize));
    assert!(!sha.is_promotable(3.0, &[1.0, 2.0, 4.0], Direction::Minimize));
    assert!(sha.is_promotable(3.0, &[1.0, 2.0, 4.0], Direction::Maximize));

    let s = study(sha, Direction::Minimize);
    // First trial: alone at every rung, promoted through rungs 0 (step 1), 1 (step 2),
    // 2 (step 4); records the value at each.
    assert_eq!(run(&s, &[9.0, 5.0, 4.0, 3.0, 2.0]), None);
    let t0 = &s.trials().unwrap()[0];
    assert_eq!(t0.system_attrs[&rung_key(0)], 5.0);
    assert_eq!(t0.system_attrs[&rung_key(1)], 4.0);
    assert_eq!(t0.system_attrs[&rung_key(2)], 2.0);
    assert!(!t0.system_attrs.contains_key(&rung_key(3)));
    // Worse at rung 0 (step 1) than trial 0: pruned there, the rung recorded.
    assert_eq!(run(&s, &[0.0, 6.0, 0.0]), Some(1));
    let t1 = &s.trials().unwrap()[1];
    assert_eq!(t1.state, TrialState::Pruned);
    assert_eq!(t1.system_attrs[&rung_key(0)], 6.0);
    // Better at rung 0, worse at rung 1.
    assert_eq!(run(&s, &[0.0, 1.0, 4.5]), Some(2));
}

#[test]
fn hyperband_assigns_brackets_with_budgets() {
    let hb = HyperbandPruner::new(1, 27, 3, 0).unwrap();
    assert_eq!(hb.n_brackets(), 4);
    assert_eq!(hb.bracket_budgets(), &[27, 12, 6, 4]);
    for b in 0..4 {
        assert_eq!(hb.bracket(b).unwrap().rung_step(0), 3u64.pow(b));
    }
    assert!(hb.bracket(4).is_none());
    let expect = |n: u64| match n % 49 {
        0..=26 => 0,
        27..=38 => 1,
        39..=44 => 2,
        _ => 3,
    };
    for n in [0, 26, 27, 38, 39, 44, 45, 48, 49, 76] {
        assert_eq!(hb.bracket_of(n), expect(n), "trial {n}");
    }
    // Not a power: 1..=10 with eta 3 has rungs 1, 3, 9 -> 3 brackets.
    assert_eq!(HyperbandPruner::new(1, 10, 3, 0).unwrap().n_brackets(), 3);
    assert!(HyperbandPruner::new(5, 2, 3, 0).is_err());

    // The engine stores bracket and budget at ask time.
    let s = study(hb, Direction::Minimize);
    for n in 0..30u64 {
        let t = s.ask().unwrap();
        assert_eq!(t.bracket(), Some(expect(n)));
        assert_eq!(t.budget(), Some(27));
        s.tell(t, TrialResult::Pruned).unwrap();
    }
    let stored = s.trials().unwrap();
    assert_eq!(stored[28].system_attrs[BRACKET_ATTR], 1);
    assert_eq!(stored[28].system_attrs[BUDGET_ATTR], 27);
}

#[test]
fn hyperband_judges_a_trial_within_its_bracket() {
    // min 1, max 4, eta 2: brackets 0 (rungs 1, 2, 4), 1 (rungs 2, 4), 2 (rung 4).
    let hb = HyperbandPruner::new(1, 4, 2, 0).unwrap();
    assert_eq!(hb.bracket_budgets(), &[4, 3, 3]);
    let s = study(hb, Direction::Minimize);
    // Trials 0..4 are in bracket 0: trial 0 sets a very good rung-0 value.
    assert_eq!(run(&s, &[5.0, 0.1, 0.1]), None);
    assert_eq!(
        run(&s, &[5.0, 3.0]),
        Some(1),
        "worse than trial 0 in bracket 0"
    );
    for _ in 2..4 {
        run(&s, &[5.0, 0.0, 0.0]);
    }
    // Trial 4 is in bracket 1 (first rung at step 2): alone there, it is promoted
    // although bracket 0 holds far better values at its rungs.
    assert_eq!(run(&s, &[9.0, 9.0, 9.0]), None);
    let t4 = &s.trials().unwrap()[4];
    assert_eq!(t4.system_attrs[BRACKET_ATTR], 1);
    assert_eq!(t4.system_attrs[&rung_key(0)], 9.0);
    // Trial 5 competes with trial 4 only: pruned at step 2, not before.
    assert_eq!(run(&s, &[9.5, 9.5, 9.5]), Some(2));
}

#[test]
fn pruned_trials_keep_their_last_step_and_value() {
    let s = study(
        ThresholdPruner::new(None, Some(1.0)).unwrap(),
        Direction::Minimize,
    );
    let summary = s
        .optimize(
            |t| -> hyperscape_core::Result<f64> {
                for step in 0..10 {
                    t.report(step, step as f64 * 0.3)?;
                }
                Ok(0.0)
            },
            1,
        )
        .unwrap();
    assert_eq!(summary.pruned, 1);
    let t = &s.trials().unwrap()[0];
    assert_eq!(t.state, TrialState::Pruned);
    assert_eq!(t.last_intermediate(), Some((4, 1.2)));
    assert_eq!(t.values.as_deref(), Some(&[1.2][..]));
    let json = hyperscape_core::export::to_json(std::slice::from_ref(t), 1);
    assert_eq!(json[0]["pruned_at_step"], 4);
    assert_eq!(json[0]["intermediate_values"]["4"], 1.2);
}

#[test]
fn a_resumed_study_keeps_its_brackets_and_rungs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hb.db").display());
    let open = || {
        Study::builder("hb")
            .storage(hyperscape_core::open_storage(&url).unwrap())
            .pruner(HyperbandPruner::new(1, 4, 2, 0).unwrap())
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    let s = open();
    assert_eq!(run(&s, &[5.0, 1.0, 1.0]), None);
    let mut left = s.ask().unwrap(); // trial 1, bracket 0, left running
    left.report(1, 0.5).unwrap();
    drop(left);
    drop(s);

    let s = open();
    let stored = s.trials().unwrap();
    assert_eq!(stored[1].system_attrs[BRACKET_ATTR], 0);
    assert_eq!(stored[1].system_attrs[&rung_key(0)], 0.5);
    // The rung records of the first run still judge new trials of bracket 0.
    assert_eq!(run(&s, &[5.0, 2.0]), Some(1));
    // Numbering and bracket cycle go on: trial 3 is in bracket 0, 4..7 in bracket 1.
    for _ in 3..6 {
        s.tell(s.ask().unwrap(), TrialResult::Pruned).unwrap();
    }
    let t = s.ask().unwrap();
    assert_eq!((t.number(), t.bracket()), (6, Some(1)));
    // An enqueued trial gets a bracket when claimed; Storage keeps it.
    s.tell(t, TrialResult::Pruned).unwrap();
    s.enqueue_trial(Default::default()).unwrap();
    let t = s.ask().unwrap();
    assert_eq!((t.number(), t.bracket()), (7, Some(2)));
    let _: Arc<dyn hyperscape_core::Storage> = s.storage().clone();
}

#[test]
fn wilcoxon_prunes_a_trial_worse_on_most_instances() {
    let s = study(WilcoxonPruner::new(0.1, 2).unwrap(), Direction::Minimize);
    let best: Vec<f64> = (0..8).map(|i| 1.0 + i as f64 * 0.1).collect();
    assert_eq!(run(&s, &best), None);
    // Worse on every instance by a varying margin: one-sided exact p at n = 4 is
    // 1/16 < 0.1, at n = 3 it is 1/8.
    let worse: Vec<f64> = best
        .iter()
        .enumerate()
        .map(|(i, b)| b + 0.05 * (i + 1) as f64)
        .collect();
    assert_eq!(run(&s, &worse), Some(3));
    // Better on average: never pruned.
    let better: Vec<f64> = best.iter().map(|b| b - 0.2).collect();
    assert_eq!(run(&s, &better), None);
    // Maximising flips the sides.
    let s = study(WilcoxonPruner::new(0.1, 2).unwrap(), Direction::Maximize);
    assert_eq!(run(&s, &best), None);
    assert_eq!(run(&s, &worse), None);
}

#[test]
fn pareto_prunes_dominated_vectors() {
    let mut p = ParetoPruner::new(0.5).unwrap();
    p.n_startup_trials = 2;
    let s = Study::builder("mo")
        .directions(vec![Direction::Minimize, Direction::Maximize])
        .pruner(p)
        .build()
        .unwrap();
    let run_mo = |curve: &[[f64; 2]]| -> Option<u64> {
        let mut t = s.ask().unwrap();
        for (step, v) in curve.iter().enumerate() {
            if let Err(e) = t.report_values(step as u64, v) {
                assert!(matches!(e, Error::Pruned { .. }), "{e}");
                s.tell(t, TrialResult::Pruned).unwrap();
                return Some(step as u64);
            }
        }
        s.tell(t, TrialResult::Complete(curve.last().unwrap().to_vec()))
            .unwrap();
        None
    };
    assert_eq!(run_mo(&[[1.0, 5.0], [0.5, 6.0]]), None);
    assert_eq!(run_mo(&[[2.0, 8.0], [1.5, 9.0]]), None);
    // Dominated by one peer of two at step 0: 1 > 0.5 * 2 is false, goes on; dominated
    // by both at step 1.
    assert_eq!(run_mo(&[[1.5, 5.5], [2.0, 1.0]]), Some(1));
    // On the front at every step: never pruned.
    assert_eq!(run_mo(&[[0.1, 0.1], [0.1, 0.1]]), None);
    // A vector of the wrong length is refused.
    let mut t = s.ask().unwrap();
    assert!(matches!(
        t.report_values(0, &[1.0]),
        Err(Error::InvalidObjectiveValue(_))
    ));
    // Single-objective pruners refuse multi-objective studies with a clear message.
    let s2 = Study::builder("mo2")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .pruner(MedianPruner::new())
        .build()
        .unwrap();
    let mut t2 = s2.ask().unwrap();
    t2.report(0, 1.0).unwrap_err();
    let e = t2.report(0, 1.0).unwrap_err().to_string();
    assert!(e.contains("single-objective"), "{e}");
    let _ = t.number();
}

/// For each sampled trial: its number, the bracket of its view, the numbers visible.
type SpyLog = std::sync::Arc<std::sync::Mutex<Vec<(u64, Option<u32>, Vec<u64>)>>>;

/// Records what the sampler sees.
struct Spy(SpyLog);

impl hyperscape_core::Sampler for Spy {
    fn name(&self) -> &str {
        "spy"
    }
    fn sample_independent(
        &mut self,
        view: &hyperscape_core::StudyView<'_>,
        trial: &hyperscape_core::sampler::TrialContext,
        _name: &str,
        _d: &hyperscape_core::Distribution,
    ) -> hyperscape_core::Result<hyperscape_core::ParamValue> {
        let seen = view.trials().map(|t| t.number).collect();
        self.0
            .lock()
            .unwrap()
            .push((trial.number, view.bracket(), seen));
        Ok(hyperscape_core::ParamValue::Float(0.5))
    }
}

#[test]
fn samplers_see_the_view_of_the_trial_bracket() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Study::builder("spy")
        .sampler(Spy(log.clone()))
        .pruner(HyperbandPruner::new(1, 4, 2, 0).unwrap()) // brackets [4, 3, 3]
        .build()
        .unwrap();
    for _ in 0..6 {
        let mut t = s.ask().unwrap();
        t.suggest_float("x", 0.0, 1.0).unwrap();
        s.tell(t, TrialResult::Complete(vec![1.0])).unwrap();
    }
    let log = log.lock().unwrap();
    assert_eq!(log[3], (3, Some(0), vec![0, 1, 2]));
    // Trial 5 (bracket 1) sees trial 4, not the trials of bracket 0.
    assert_eq!(log[5], (5, Some(1), vec![4]));
}
