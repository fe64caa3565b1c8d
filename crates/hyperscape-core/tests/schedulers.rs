//! Budget-assigning schedulers: SHA, Hyperband, ASHA, BOHB, DEHB and PBT on synthetic
//! learning curves, with state held in the storage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hyperscape_core::pruner::BUDGET_ATTR;
use hyperscape_core::scheduler::{
    lineage, CHECKPOINT_DIR_ATTR, PARENT_ATTR, PREVIOUS_BUDGET_ATTR, RUNG_ATTR, SH_BRACKET_ATTR,
};
use hyperscape_core::{
    open_storage, AshaScheduler, BohbDensity, BohbScheduler, BracketScheduler, DehbScheduler,
    Distribution, Error, FrozenTrial, OptimizeOptions, ParamValue, PbtScheduler, Pruner,
    RandomSampler, SearchSpace, Study, Trial, TrialState,
};

/// Loss of configuration `x` after `epochs` epochs: falls with the budget towards
/// `(x - 0.3)^2`, so configurations rank the same at every budget.
fn curve(x: f64, epochs: u64) -> f64 {
    (x - 0.3).powi(2) + 1.0 / (1.0 + epochs as f64)
}

/// Trains from the previous budget to the budget, reporting each epoch.
fn objective(t: &mut Trial) -> Result<f64, Error> {
    let x = t.suggest_float("x", 0.0, 1.0)?;
    let budget = t.budget().expect("schedulers give a budget");
    let from = t.previous_budget().unwrap_or(0);
    assert!(
        from < budget,
        "trial {} trains {from}..{budget}",
        t.number()
    );
    for e in from + 1..=budget {
        t.report(e, curve(x, e))?;
    }
    Ok(curve(x, budget))
}

fn study(p: impl Pruner + 'static, seed: u64) -> Study {
    Study::builder("s")
        .sampler(RandomSampler::new(Some(seed)))
        .pruner(p)
        .build()
        .unwrap()
}

fn attr(t: &FrozenTrial, k: &str) -> Option<u64> {
    t.system_attrs.get(k).and_then(|v| v.as_u64())
}

fn x_of(t: &FrozenTrial) -> f64 {
    t.params["x"].as_f64().unwrap()
}

fn value(t: &FrozenTrial) -> f64 {
    t.values.as_ref().unwrap()[0]
}

/// (bracket instance, rung) -> trials
fn rungs(trials: &[FrozenTrial]) -> BTreeMap<(u64, u64), Vec<&FrozenTrial>> {
    let mut m: BTreeMap<(u64, u64), Vec<&FrozenTrial>> = BTreeMap::new();
    for t in trials {
        m.entry((
            attr(t, SH_BRACKET_ATTR).unwrap(),
            attr(t, RUNG_ATTR).unwrap(),
        ))
        .or_default()
        .push(t);
    }
    m
}

/// Every promotion repeats its parent's parameters, starts from its budget, and the
/// promoted trials of a rung are exactly the best of the rung below.
fn check_promotions(trials: &[FrozenTrial]) {
    let by_number: BTreeMap<u64, &FrozenTrial> = trials.iter().map(|t| (t.number, t)).collect();
    for t in trials {
        if let Some(p) = attr(t, PARENT_ATTR) {
            let parent = by_number[&p];
            assert_eq!(t.params, parent.params, "trial {}", t.number);
            assert_eq!(attr(t, PREVIOUS_BUDGET_ATTR), attr(parent, BUDGET_ATTR));
            assert_eq!(attr(t, RUNG_ATTR), attr(parent, RUNG_ATTR).map(|r| r + 1));
            assert!(attr(t, BUDGET_ATTR) > attr(parent, BUDGET_ATTR));
        }
    }
}

#[test]
fn successive_halving_runs_exact_rungs_and_promotes_the_best() {
    // 1..27, eta 3: 27 trials at 1, 9 at 3, 3 at 9, 1 at 27.
    let s = study(
        BracketScheduler::successive_halving(1, Some(27), 3, None).unwrap(),
        1,
    );
    s.optimize(objective, 40).unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 40);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let r = rungs(&trials);
    let shape: Vec<(u64, usize, u64)> = r
        .iter()
        .map(|((_, i), ts)| (*i, ts.len(), attr(ts[0], BUDGET_ATTR).unwrap()))
        .collect();
    assert_eq!(shape, vec![(0, 27, 1), (1, 9, 3), (2, 3, 9), (3, 1, 27)]);
    assert!(r.keys().all(|(k, _)| *k == 0), "one bracket");
    for i in 0..3u64 {
        let below = &r[&(0, i)];
        let mut ranked: Vec<&FrozenTrial> = below.clone();
        ranked.sort_by(|a, b| value(a).total_cmp(&value(b)));
        let promoted: BTreeSet<u64> = r[&(0, i + 1)]
            .iter()
            .map(|t| attr(t, PARENT_ATTR).unwrap())
            .collect();
        let best: BTreeSet<u64> = ranked[..r[&(0, i + 1)].len()]
            .iter()
            .map(|t| t.number)
            .collect();
        assert_eq!(promoted, best, "rung {i}");
    }
    check_promotions(&trials);
    // The top trial is the best configuration of the bottom rung, at the max budget.
    let top = r[&(0, 3)][0];
    let best_x = r[&(0, 0)]
        .iter()
        .map(|t| x_of(t))
        .min_by(|a, b| (a - 0.3).abs().total_cmp(&(b - 0.3).abs()))
        .unwrap();
    assert_eq!(x_of(top), best_x);
    // Intermediate values continue the parent's steps.
    let steps: Vec<u64> = top.intermediate_values.keys().copied().collect();
    assert_eq!(steps, (10..=27).collect::<Vec<_>>());
}

#[test]
fn hyperband_runs_every_bracket_with_its_counts() {
    // 1..9, eta 3, s_max 2: bracket 2 = 9@1, 3@3, 1@9; bracket 1 = 5@3, 1@9;
    // bracket 0 = 3@9. Then the cycle starts again.
    let s = study(BracketScheduler::hyperband(1, Some(9), 3).unwrap(), 2);
    s.optimize(objective, 13 + 6 + 3 + 2).unwrap();
    let trials = s.trials().unwrap();
    let r = rungs(&trials);
    let shape: Vec<((u64, u64), usize, u64)> = r
        .iter()
        .map(|(k, ts)| (*k, ts.len(), attr(ts[0], BUDGET_ATTR).unwrap()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ((0, 0), 9, 1),
            ((0, 1), 3, 3),
            ((0, 2), 1, 9),
            ((1, 0), 5, 3),
            ((1, 1), 1, 9),
            ((2, 0), 3, 9),
            ((3, 0), 2, 1),
        ]
    );
    // With one worker the brackets run one after the other.
    let order: Vec<u64> = trials
        .iter()
        .map(|t| attr(t, SH_BRACKET_ATTR).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    check_promotions(&trials);
}

#[test]
fn synchronous_rungs_wait_for_their_trials_and_never_promote_twice_in_parallel() {
    let s = study(
        BracketScheduler::successive_halving(1, Some(9), 3, None).unwrap(),
        3,
    );
    let opts = OptimizeOptions::n_trials(26)
        .n_jobs(4)
        .poll_interval(std::time::Duration::from_millis(2));
    s.optimize_with(
        |t: &mut Trial| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            objective(t)
        },
        opts,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 26);
    let r = rungs(&trials);
    // Bracket 0 (9@1, 3@3, 1@9) has priority whenever it has a slot free, so it is
    // complete; later brackets started while it waited for its rungs.
    assert_eq!(r[&(0, 0)].len(), 9);
    assert_eq!(r[&(0, 1)].len(), 3);
    assert_eq!(r[&(0, 2)].len(), 1);
    assert!(
        r.contains_key(&(1, 0)),
        "workers did not idle while bracket 0 waited"
    );
    for (&(k, i), ts) in &r {
        assert!(ts.len() <= [9, 3, 1][i as usize]);
        if i == 0 {
            continue;
        }
        // A rung is filled only after every trial of the rung below finished.
        let below = &r[&(k, i - 1)];
        assert_eq!(below.len(), [9, 3, 1][i as usize - 1]);
        let last_done = below
            .iter()
            .map(|t| t.datetime_complete.unwrap())
            .max()
            .unwrap();
        for t in ts {
            assert!(t.datetime_start.unwrap() >= last_done, "trial {}", t.number);
        }
    }
    let parents: Vec<u64> = trials.iter().filter_map(|t| attr(t, PARENT_ATTR)).collect();
    let unique: BTreeSet<u64> = parents.iter().copied().collect();
    assert_eq!(parents.len(), unique.len(), "a trial promoted twice");
    check_promotions(&trials);
}

#[test]
fn asha_promotes_the_top_third_of_each_rung_under_parallel_workers() {
    let s = study(AshaScheduler::new(1, Some(27), 3).unwrap(), 4);
    let opts = OptimizeOptions::n_trials(80).n_jobs(4);
    s.optimize_with(
        |t: &mut Trial| {
            // Longer budgets take longer, so workers interleave.
            std::thread::sleep(std::time::Duration::from_micros(
                200 * t.budget().unwrap_or(1),
            ));
            objective(t)
        },
        opts,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 80, "no worker ever waited");
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let parents: Vec<u64> = trials.iter().filter_map(|t| attr(t, PARENT_ATTR)).collect();
    let unique: BTreeSet<u64> = parents.iter().copied().collect();
    assert_eq!(parents.len(), unique.len(), "a trial promoted twice");
    check_promotions(&trials);
    let by_rung = |r: u64| -> Vec<&FrozenTrial> {
        trials
            .iter()
            .filter(|t| attr(t, RUNG_ATTR) == Some(r))
            .collect()
    };
    assert!(!by_rung(3).is_empty(), "someone reached the max budget");
    for t in &trials {
        if attr(t, PARENT_ATTR).is_none() {
            assert_eq!(attr(t, RUNG_ATTR), Some(0));
            assert_eq!(attr(t, BUDGET_ATTR), Some(1));
            continue;
        }
        // At promotion time the parent ranked in the top floor(n / eta) of the n
        // complete trials of its rung.
        let rank = attr(t, "promotion_rank").unwrap();
        let n = attr(t, "promotion_rung_size").unwrap();
        assert!(rank < n / 3, "trial {}: rank {rank} of {n}", t.number);
        let rung = by_rung(attr(t, RUNG_ATTR).unwrap() - 1);
        assert!(n as usize <= rung.len());
        // Later arrivals can only push it down by as many places as they are.
        let parent = trials[attr(t, PARENT_ATTR).unwrap() as usize].clone();
        let final_rank = rung.iter().filter(|o| value(o) < value(&parent)).count() as u64;
        assert!(final_rank <= rank + (rung.len() as u64 - n));
    }
}

#[test]
fn asha_single_worker_matches_the_reference_sequence() {
    // Hand-checked: eta 3, ladder 1, 3, 9. Values fall with x's distance to 0.3.
    let s = study(AshaScheduler::new(1, Some(9), 3).unwrap(), 5);
    s.optimize(objective, 12).unwrap();
    let trials = s.trials().unwrap();
    // Reference model: promote from the highest rung with an unpromoted top-1/3 trial.
    let mut rungs: Vec<Vec<(f64, u64)>> = vec![vec![]; 3];
    let mut promoted = BTreeSet::new();
    for t in &trials {
        let mut expect_parent = None;
        'outer: for k in (0..2).rev() {
            let mut r = rungs[k].clone();
            r.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for &(_, n) in r.iter().take(r.len() / 3) {
                if !promoted.contains(&n) {
                    expect_parent = Some((n, k as u64 + 1));
                    break 'outer;
                }
            }
        }
        assert_eq!(
            attr(t, PARENT_ATTR),
            expect_parent.map(|p| p.0),
            "trial {}",
            t.number
        );
        let rung = expect_parent.map_or(0, |p| p.1);
        assert_eq!(attr(t, RUNG_ATTR), Some(rung));
        if let Some((p, _)) = expect_parent {
            promoted.insert(p);
        }
        rungs[rung as usize].push((value(t), t.number));
    }
    assert!(!promoted.is_empty());
}

#[test]
fn max_budget_auto_is_measured_by_a_first_full_trial() {
    let s = study(AshaScheduler::new(1, None, 3).unwrap(), 6);
    s.optimize(
        |t: &mut Trial| -> Result<f64, Error> {
            let x = t.suggest_float("x", 0.0, 1.0)?;
            let budget = t.budget().unwrap_or(9); // the probe runs "to the end": 9 epochs
            for e in t.previous_budget().unwrap_or(0) + 1..=budget {
                t.report(e, curve(x, e))?;
            }
            Ok(curve(x, budget))
        },
        8,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(attr(&trials[0], BUDGET_ATTR), None);
    assert!(trials[0].system_attrs.contains_key("auto_budget_probe"));
    let budgets: BTreeSet<u64> = trials[1..]
        .iter()
        .filter_map(|t| attr(t, BUDGET_ATTR))
        .collect();
    assert!(budgets.contains(&1) && budgets.is_subset(&[1, 3, 9].into()));
}

#[test]
fn a_resumed_study_keeps_its_bracket_state() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sched.db").display());
    let open = |sched: BracketScheduler| {
        Study::builder("hb")
            .storage(open_storage(&url).unwrap())
            .sampler(RandomSampler::new(Some(9)))
            .pruner(sched)
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    // Stop in the middle of bracket 0's second rung.
    let s = open(BracketScheduler::hyperband(1, Some(9), 3).unwrap());
    s.optimize(objective, 11).unwrap();
    drop(s);
    let s = open(BracketScheduler::hyperband(1, Some(9), 3).unwrap());
    s.optimize(objective, 11).unwrap();
    let trials = s.trials().unwrap();
    let r = rungs(&trials);
    let shape: Vec<((u64, u64), usize)> = r.iter().map(|(k, ts)| (*k, ts.len())).collect();
    assert_eq!(
        shape,
        vec![
            ((0, 0), 9),
            ((0, 1), 3),
            ((0, 2), 1),
            ((1, 0), 5),
            ((1, 1), 1),
            ((2, 0), 3),
        ]
    );
    check_promotions(&trials);
    // Other settings on the same study: refused, naming both.
    let s = open(BracketScheduler::hyperband(1, Some(27), 3).unwrap());
    let e = s.ask().err().unwrap().to_string();
    assert!(e.contains("hyperband(min=1,max=9,eta=3)"), "{e}");
    assert!(e.contains("resume the study with the settings"), "{e}");
}

#[test]
fn promoted_trials_resume_from_a_copy_of_the_parent_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let s = Study::builder("ckpt")
        .sampler(RandomSampler::new(Some(10)))
        .pruner(BracketScheduler::successive_halving(1, Some(9), 3, None).unwrap())
        .checkpoint_root(dir.path())
        .build()
        .unwrap();
    s.optimize(
        |t: &mut Trial| -> Result<f64, Error> {
            let x = t.suggest_float("x", 0.0, 1.0)?;
            let ckpt = t.checkpoint_dir().unwrap().join("epochs.txt");
            let from = t.previous_budget().unwrap_or(0);
            // The checkpoint holds the epochs trained so far, written by the parent.
            let done: u64 = std::fs::read_to_string(&ckpt)
                .map(|s| s.trim().parse().unwrap())
                .unwrap_or(0);
            assert_eq!(done, from, "trial {}", t.number());
            let budget = t.budget().unwrap();
            std::fs::write(&ckpt, budget.to_string()).unwrap();
            Ok(curve(x, budget))
        },
        13,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert!(
        trials.iter().all(|t| t.state == TrialState::Complete),
        "{trials:?}"
    );
    for t in &trials {
        let d = t.system_attrs[CHECKPOINT_DIR_ATTR].as_str().unwrap();
        assert!(d.ends_with(&format!("trial-{}", t.number)), "{d}");
        // Each trial's own directory still holds its own budget (the copy left the
        // parent's untouched).
        let s = std::fs::read_to_string(std::path::Path::new(d).join("epochs.txt")).unwrap();
        assert_eq!(s, attr(t, BUDGET_ATTR).unwrap().to_string());
    }
}

/// PBT: member state is a file `w.txt` holding "trial,weight"; each interval adds
/// `lr` per step (a good lr grows the weight faster).
fn pbt_objective(t: &mut Trial) -> Result<f64, Error> {
    let lr = t.suggest_float("lr", 0.01, 1.0)?;
    let _depth = t.suggest_int("depth", 1, 5)?;
    let dir = t.checkpoint_dir().unwrap();
    let file = dir.join("w.txt");
    let (writer, mut w) = match std::fs::read_to_string(&file) {
        Ok(s) => {
            let (a, b) = s.trim().split_once(',').unwrap();
            (a.parse::<i64>().unwrap(), b.parse::<f64>().unwrap())
        }
        Err(_) => (-1, 0.0),
    };
    // Record what the checkpoint held when the trial started.
    t.set_user_attr("found_writer", writer)?;
    t.set_user_attr("found_weight", w)?;
    for e in t.previous_budget().unwrap_or(0) + 1..=t.budget().unwrap() {
        w += lr;
        t.report(e, -w)?;
    }
    std::fs::write(&file, format!("{},{w}", t.number())).unwrap();
    Ok(-w)
}

/// (generation, member, exploited member, parameters) of a PBT trial.
type PbtKey = (
    Option<u64>,
    Option<u64>,
    Option<u64>,
    BTreeMap<String, ParamValue>,
);

fn run_pbt(seed: u64, root: &std::path::Path) -> Vec<FrozenTrial> {
    let s = Study::builder("pbt")
        .sampler(RandomSampler::new(Some(seed)))
        .pruner(
            PbtScheduler::new(4, 2, 6, Some(seed))
                .unwrap()
                .resample_probability(0.0)
                .unwrap(),
        )
        .checkpoint_root(root)
        .build()
        .unwrap();
    let summary = s
        .optimize_with(pbt_objective, OptimizeOptions::n_trials(100))
        .unwrap();
    assert!(
        summary.exhausted,
        "PBT ends when the population reached its budget"
    );
    s.trials().unwrap()
}

#[test]
fn pbt_exploit_copies_checkpoint_and_hyperparameters_and_records_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let trials = run_pbt(11, dir.path());
    assert_eq!(trials.len(), 4 * 3, "4 members x 3 intervals");
    let by_number: BTreeMap<u64, &FrozenTrial> = trials.iter().map(|t| (t.number, t)).collect();
    let mut exploits = 0;
    for t in &trials {
        let g = attr(t, "pbt_generation").unwrap();
        assert_eq!(attr(t, BUDGET_ATTR), Some(2 * (g + 1)));
        let found = t.user_attrs["found_writer"].as_i64().unwrap();
        if g == 0 {
            assert_eq!(found, -1, "generation 0 starts from scratch");
            assert!(attr(t, PARENT_ATTR).is_none());
            continue;
        }
        let parent = by_number[&attr(t, PARENT_ATTR).unwrap()];
        assert_eq!(attr(parent, "pbt_generation"), Some(g - 1));
        // The checkpoint found at the start is the parent's final one.
        assert_eq!(found, parent.number as i64, "trial {}", t.number);
        assert_eq!(
            t.user_attrs["found_weight"].as_f64().unwrap(),
            -value(parent)
        );
        if let Some(src) = attr(t, "pbt_exploited_member") {
            exploits += 1;
            assert_eq!(attr(parent, "pbt_member"), Some(src));
            assert_ne!(attr(t, "pbt_member"), Some(src));
            // Explored from the parent's hyperparameters: lr x0.8 or x1.2, depth
            // a neighbour (no resampling in this run).
            let lr = t.params["lr"].as_f64().unwrap();
            let plr = parent.params["lr"].as_f64().unwrap();
            assert!(
                [plr * 0.8, (plr * 1.2).min(1.0)]
                    .iter()
                    .any(|v| (v - lr).abs() < 1e-12),
                "lr {lr} from {plr}"
            );
            let d = t.params["depth"].as_i64().unwrap();
            let pd = parent.params["depth"].as_i64().unwrap();
            assert_eq!((d - pd).abs(), 1, "depth {d} from {pd}");
            // The parent was in the top quantile of its generation.
            let gen: Vec<&FrozenTrial> = trials
                .iter()
                .filter(|o| attr(o, "pbt_generation") == Some(g - 1))
                .collect();
            let better = gen.iter().filter(|o| value(o) < value(parent)).count();
            assert_eq!(better, 0, "quantile 0.25 of 4: the best member is copied");
        } else {
            assert_eq!(attr(parent, "pbt_member"), attr(t, "pbt_member"));
            assert_eq!(t.params, parent.params);
        }
    }
    assert_eq!(exploits, 2, "one exploit per generation after the first");
    // The lineage of the best final trial: one trial per interval, with the
    // hyperparameters used in each.
    let best = trials
        .iter()
        .filter(|t| attr(t, "pbt_generation") == Some(2))
        .min_by(|a, b| value(a).total_cmp(&value(b)))
        .unwrap();
    let chain = lineage(&trials, best.number);
    let gens: Vec<u64> = chain
        .iter()
        .map(|t| attr(t, "pbt_generation").unwrap())
        .collect();
    assert_eq!(gens, vec![0, 1, 2]);
    // Seeded: the same run again makes the same decisions.
    let dir2 = tempfile::tempdir().unwrap();
    let again = run_pbt(11, dir2.path());
    let key = |ts: &[FrozenTrial]| -> Vec<PbtKey> {
        let mut v: Vec<_> = ts
            .iter()
            .map(|t| {
                (
                    attr(t, "pbt_generation"),
                    attr(t, "pbt_member"),
                    attr(t, "pbt_exploited_member"),
                    t.params.clone(),
                )
            })
            .collect();
        v.sort_by_key(|a| (a.0, a.1));
        v
    };
    assert_eq!(key(&trials), key(&again));
}

#[test]
fn bohb_draws_new_configurations_from_its_model() {
    for density in [BohbDensity::Parzen, BohbDensity::Kde] {
        bohb_model_proposals(density);
    }
}

fn bohb_model_proposals(density: BohbDensity) {
    let run = || {
        let s = study(
            BohbScheduler::new(1, Some(9), 3, Some(12))
                .unwrap()
                .random_fraction(0.0)
                .unwrap()
                .density(density),
            12,
        );
        s.optimize(objective, 13 + 6 + 3 + 13).unwrap();
        s.trials().unwrap()
    };
    let trials = run();
    assert_eq!(
        trials[0].system_attrs["scheduler_settings"]["density"],
        density.name()
    );
    let modelled: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| t.system_attrs.contains_key("bohb_model_budget"))
        .collect();
    assert!(!modelled.is_empty());
    for t in &modelled {
        // Fitted on a budget with at least d + 3 = 4 observations, before the trial.
        let b = attr(t, "bohb_model_budget").unwrap();
        let n = trials
            .iter()
            .filter(|o| o.number < t.number && attr(o, BUDGET_ATTR) == Some(b))
            .count();
        assert!(n >= 4, "trial {}: {n} observations at {b}", t.number);
        assert!(attr(t, PARENT_ATTR).is_none() && attr(t, RUNG_ATTR) == Some(0));
    }
    // The model proposes near the optimum (x = 0.3) more than random search would.
    let mean_dist = |ts: &[&FrozenTrial]| {
        ts.iter().map(|t| (x_of(t) - 0.3).abs()).sum::<f64>() / ts.len() as f64
    };
    let random: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| {
            attr(t, PARENT_ATTR).is_none() && !t.system_attrs.contains_key("bohb_model_budget")
        })
        .collect();
    assert!(
        mean_dist(&modelled) < mean_dist(&random),
        "{density:?}: {} vs {}",
        mean_dist(&modelled),
        mean_dist(&random)
    );
    // Seeded: same proposals again.
    let again = run();
    let xs = |ts: &[FrozenTrial]| ts.iter().map(x_of).collect::<Vec<_>>();
    assert_eq!(xs(&trials), xs(&again));
}

#[test]
fn schedulers_refuse_several_objectives() {
    let s = Study::builder("mo")
        .directions(vec![
            hyperscape_core::Direction::Minimize,
            hyperscape_core::Direction::Minimize,
        ])
        .pruner(AshaScheduler::new(1, Some(9), 3).unwrap())
        .storage(Arc::new(hyperscape_core::InMemoryStorage::new()))
        .build()
        .unwrap();
    let e = s.ask().err().unwrap().to_string();
    assert!(e.contains("single-objective"), "{e}");
}

#[test]
fn pbt_with_a_declared_space_decides_the_same_with_any_number_of_workers() {
    let run = |jobs: usize| {
        let dir = tempfile::tempdir().unwrap();
        let mut space = BTreeMap::new();
        space.insert(
            "lr".to_string(),
            hyperscape_core::Distribution::float(0.01, 1.0),
        );
        space.insert(
            "depth".to_string(),
            hyperscape_core::Distribution::int(1, 5),
        );
        let s = Study::builder("pbt")
            .sampler(RandomSampler::new(Some(jobs as u64))) // differs: must not matter
            .space(hyperscape_core::SearchSpace(space))
            .pruner(PbtScheduler::new(4, 2, 6, Some(21)).unwrap())
            .checkpoint_root(dir.path())
            .build()
            .unwrap();
        let opts = OptimizeOptions::n_trials(100)
            .n_jobs(jobs)
            .poll_interval(std::time::Duration::from_millis(1));
        s.optimize_with(pbt_objective, opts).unwrap();
        let trials = s.trials().unwrap();
        assert_eq!(trials.len(), 12);
        let mut v: Vec<PbtKey> = trials
            .iter()
            .map(|t| {
                (
                    attr(t, "pbt_generation"),
                    attr(t, "pbt_member"),
                    attr(t, "pbt_exploited_member"),
                    t.params.clone(),
                )
            })
            .collect();
        v.sort_by_key(|a| (a.0, a.1));
        v
    };
    let one = run(1);
    assert!(one.iter().any(|k| k.2.is_some()), "some member exploited");
    assert_eq!(one, run(3));
}

#[test]
fn a_dead_workers_scheduler_trial_is_failed_but_not_retried() {
    let s = Study::builder("hb")
        .sampler(RandomSampler::new(Some(1)))
        .pruner(AshaScheduler::new(1, Some(9), 3).unwrap())
        .heartbeat(
            hyperscape_core::HeartbeatConfig::new(std::time::Duration::from_millis(20))
                .stale_after(std::time::Duration::from_millis(40))
                .max_retries(3),
        )
        .build()
        .unwrap();
    let t = s.ask().unwrap();
    let dead = t.number();
    drop(t); // its worker "dies": no more heartbeats
    std::thread::sleep(std::time::Duration::from_millis(150));
    let t = s.ask().unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials[dead as usize].state, TrialState::Failed);
    assert_eq!(trials.len(), 2, "no retry trial was enqueued");
    assert!(trials.iter().all(|t| t.retried_from.is_none()));
    assert_eq!(t.budget(), Some(1));
}

// ---- DEHB -------------------------------------------------------------------------

fn dehb(seed: u64, min: u64, max: u64) -> DehbScheduler {
    DehbScheduler::new(min, Some(max), 3, Some(seed)).unwrap()
}

/// A study over a declared space (DEHB then draws every configuration itself).
fn declared(p: impl Pruner + 'static, seed: u64, space: &[(&str, Distribution)]) -> Study {
    Study::builder("s")
        .sampler(RandomSampler::new(Some(seed)))
        .space(SearchSpace(
            space
                .iter()
                .map(|(n, d)| (n.to_string(), d.clone()))
                .collect(),
        ))
        .pruner(p)
        .build()
        .unwrap()
}

fn x_space() -> Vec<(&'static str, Distribution)> {
    vec![("x", Distribution::float(0.0, 1.0))]
}

fn origin(t: &FrozenTrial) -> &str {
    t.system_attrs["dehb_origin"].as_str().unwrap()
}

/// (bracket instance, rung) -> (count, budget)
fn shape_of(trials: &[FrozenTrial]) -> Vec<((u64, u64), usize, u64)> {
    rungs(trials)
        .iter()
        .map(|(k, ts)| (*k, ts.len(), attr(ts[0], BUDGET_ATTR).unwrap()))
        .collect()
}

#[test]
fn dehb_runs_hyperbands_rungs_and_evolves_after_the_first_iteration() {
    // 1..9, eta 3: one Hyperband iteration is 13 + 6 + 3 = 22 trials; run two.
    let s = declared(dehb(13, 1, 9), 13, &x_space());
    s.optimize(objective, 44).unwrap();
    let trials = s.trials().unwrap();
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let h = study(BracketScheduler::hyperband(1, Some(9), 3).unwrap(), 13);
    h.optimize(objective, 44).unwrap();
    assert_eq!(shape_of(&trials), shape_of(&h.trials().unwrap()));
    check_promotions(&trials);
    // Subpopulations of 9, 5 and 3 members at budgets 1, 3, 9.
    let size = |b: u64| match b {
        1 => 9,
        3 => 5,
        9 => 3,
        _ => unreachable!(),
    };
    for t in &trials {
        let k = attr(t, SH_BRACKET_ATTR).unwrap();
        let i = attr(t, RUNG_ATTR).unwrap();
        let m = attr(t, "dehb_member").unwrap();
        assert!(
            m < size(attr(t, BUDGET_ATTR).unwrap()),
            "trial {}",
            t.number
        );
        match (k < 3, i) {
            // The first iteration is Hyperband's: uniform draws, promotions.
            (true, 0) => assert_eq!(origin(t), "random"),
            (true, _) => {
                assert_eq!(origin(t), "promotion");
                assert!(attr(t, PARENT_ATTR).is_some());
            }
            // Later, every slot is a new configuration from DE, trained from scratch.
            (false, _) => {
                assert_eq!(origin(t), "mutation", "trial {}", t.number);
                assert!(attr(t, PARENT_ATTR).is_none());
                assert!(attr(t, PREVIOUS_BUDGET_ATTR).is_none());
                assert_eq!(
                    t.intermediate_values.keys().next().copied(),
                    Some(1),
                    "trained from the first step"
                );
            }
        }
    }
    // Members are handed out in turn at each level: instance 3 (bracket 2 again)
    // continues level 1's count after instances 0 (3 slots) and 1 (5 slots).
    let members: Vec<u64> = trials
        .iter()
        .filter(|t| attr(t, SH_BRACKET_ATTR) == Some(3) && attr(t, RUNG_ATTR) == Some(1))
        .map(|t| attr(t, "dehb_member").unwrap())
        .collect();
    assert_eq!(members, vec![3, 4, 0], "(8, 9, 10) mod 5");
}

/// Parameters of every trial, in order.
fn params_of(trials: &[FrozenTrial]) -> Vec<BTreeMap<String, ParamValue>> {
    trials.iter().map(|t| t.params.clone()).collect()
}

#[test]
fn dehb_is_reproducible_and_resumes_with_its_state() {
    let run = |seed: u64, n: usize| {
        let s = declared(dehb(seed, 1, 9), 1, &x_space());
        s.optimize(objective, n).unwrap();
        s.trials().unwrap()
    };
    let a = run(7, 50);
    assert_eq!(params_of(&a), params_of(&run(7, 50)));
    assert_ne!(params_of(&a), params_of(&run(8, 50)));

    // Stopped in the second iteration (DE running), then resumed from the storage:
    // the same trials as the run that never stopped.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dehb.db").display());
    let open = || {
        let mut space = BTreeMap::new();
        space.insert("x".to_string(), Distribution::float(0.0, 1.0));
        Study::builder("dehb")
            .storage(open_storage(&url).unwrap())
            .sampler(RandomSampler::new(Some(1)))
            .space(SearchSpace(space))
            .pruner(dehb(7, 1, 9))
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    let s = open();
    s.optimize(objective, 30).unwrap();
    drop(s);
    let s = open();
    s.optimize(objective, 20).unwrap();
    let resumed = s.trials().unwrap();
    assert_eq!(params_of(&resumed), params_of(&a));
    let key = |ts: &[FrozenTrial]| -> Vec<_> {
        ts.iter()
            .map(|t| {
                (
                    attr(t, SH_BRACKET_ATTR),
                    attr(t, RUNG_ATTR),
                    attr(t, "dehb_member"),
                    attr(t, PARENT_ATTR),
                    origin(t).to_string(),
                )
            })
            .collect()
    };
    assert_eq!(key(&resumed), key(&a));
}

/// A DEHB or BOHB study in an SQLite file, resumed by building it again.
fn resumable(url: &str, p: impl Pruner + 'static) -> Study {
    let mut space = BTreeMap::new();
    space.insert("x".to_string(), Distribution::float(0.0, 1.0));
    Study::builder("resume")
        .storage(open_storage(url).unwrap())
        .sampler(RandomSampler::new(Some(1)))
        .space(SearchSpace(space))
        .pruner(p)
        .load_if_exists(true)
        .build()
        .unwrap()
}

#[test]
fn dehb_settings_are_checked_on_resume() {
    let tuned = |seed: Option<u64>, f: f64, cr: f64| {
        DehbScheduler::new(1, Some(9), 3, seed)
            .unwrap()
            .mutation_factor(f)
            .unwrap()
            .crossover_prob(cr)
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dehb.db").display());
    // The reference: 50 trials (DE from trial 22 on) without stopping.
    let whole = {
        let u = format!("sqlite://{}", dir.path().join("whole.db").display());
        let s = resumable(&u, tuned(Some(5), 0.8, 0.3));
        s.optimize(objective, 50).unwrap();
        s.trials().unwrap()
    };
    let s = resumable(&url, tuned(Some(5), 0.8, 0.3));
    s.optimize(objective, 30).unwrap();
    drop(s);
    let first = &s_trials(&url)[0];
    assert_eq!(
        first.system_attrs["scheduler_settings"],
        serde_json::json!({"mutation_factor": 0.8, "crossover_prob": 0.3, "seed": 5})
    );
    // The signature (and so every claim key) is the one of studies created before the
    // settings were stored.
    assert_eq!(first.system_attrs["scheduler"], "dehb(min=1,max=9,eta=3)");

    // Other F, CR or seed: refused, naming the setting and both values; nothing asked.
    for (p, setting, ours, theirs) in [
        (tuned(Some(5), 0.5, 0.3), "mutation_factor", "0.8", "0.5"),
        (tuned(Some(5), 0.8, 0.9), "crossover_prob", "0.3", "0.9"),
        (tuned(Some(6), 0.8, 0.3), "seed", "5", "6"),
    ] {
        let s = resumable(&url, p);
        let e = s.optimize(objective, 5).unwrap_err().to_string();
        assert!(
            e.contains(&format!("`{setting}` {ours}, this run uses {theirs}")),
            "{e}"
        );
        assert!(e.contains("dehb"), "{e}");
        drop(s);
        assert_eq!(s_trials(&url).len(), 30);
    }

    // Same settings, the seed left out: the stored seed is used, and the resumed
    // study proposes what the study that never stopped did.
    let s = resumable(&url, tuned(None, 0.8, 0.3));
    s.optimize(objective, 20).unwrap();
    let resumed = s.trials().unwrap();
    assert_eq!(params_of(&resumed), params_of(&whole));
    assert!(resumed.iter().skip(22).all(|t| origin(t) == "mutation"));
}

fn s_trials(url: &str) -> Vec<FrozenTrial> {
    Study::builder("resume")
        .storage(open_storage(url).unwrap())
        .load_if_exists(true)
        .build()
        .unwrap()
        .trials()
        .unwrap()
}

#[test]
fn bohb_settings_are_checked_on_resume() {
    let bohb = |seed: Option<u64>, f: f64| {
        BohbScheduler::new(1, Some(9), 3, seed)
            .unwrap()
            .random_fraction(f)
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bohb.db").display());
    let s = resumable(&url, bohb(Some(2), 0.25));
    s.optimize(objective, 10).unwrap();
    drop(s);
    let s = resumable(&url, bohb(Some(2), 0.5));
    let e = s.optimize(objective, 1).unwrap_err().to_string();
    assert!(
        e.contains("bohb with `random_fraction` 0.25, this run uses 0.5"),
        "{e}"
    );
    drop(s);
    let s = resumable(&url, bohb(Some(2), 0.25).density(BohbDensity::Kde));
    let e = s.optimize(objective, 1).unwrap_err().to_string();
    assert!(
        e.contains("bohb with `density` \"parzen\", this run uses \"kde\""),
        "{e}"
    );
    drop(s);
    let s = resumable(&url, bohb(None, 0.25));
    s.optimize(objective, 5).unwrap();
    assert_eq!(s.trials().unwrap().len(), 15);
}

#[test]
fn dehb_proposes_valid_values_on_a_mixed_space() {
    let space = vec![
        ("act", Distribution::categorical(["relu", "tanh", "gelu"])),
        ("layers", Distribution::int(1, 4)),
        ("lr", Distribution::float_log(1e-5, 1e-1)),
        ("units", Distribution::int_log(8, 512)),
    ];
    let s = declared(dehb(3, 1, 9), 3, &space);
    s.optimize(
        |t: &mut Trial| -> Result<f64, Error> {
            let act = t.suggest_categorical("act", ["relu", "tanh", "gelu"])?;
            let layers = t.suggest_int("layers", 1, 4)?;
            let lr = t.suggest_float_log("lr", 1e-5, 1e-1)?;
            let units = t.suggest_int_log("units", 8, 512)?;
            let b = t.budget().unwrap() as f64;
            let act_cost = match act.as_str() {
                Some("tanh") => 0.0,
                Some("relu") => 0.1,
                _ => 0.2,
            };
            Ok(act_cost
                + (layers as f64 - 2.0).powi(2) * 0.05
                + (lr.log10() + 3.0).powi(2) * 0.1
                + ((units as f64).ln() - 64f64.ln()).powi(2) * 0.05
                + 1.0 / b)
        },
        66,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 66);
    assert!(
        trials.iter().all(|t| t.state == TrialState::Complete),
        "a proposed value was refused"
    );
    let mutated: Vec<&FrozenTrial> = trials.iter().filter(|t| origin(t) == "mutation").collect();
    assert_eq!(mutated.len(), 44, "iterations 2 and 3 are DE");
    let mut acts = BTreeSet::new();
    let mut layers = BTreeSet::new();
    for t in &mutated {
        for (name, dist) in &space {
            let v = &t.params[*name];
            assert!(dist.check_value(name, v).is_ok(), "{name} = {v:?}");
            assert_eq!(t.distributions[*name], *dist);
        }
        acts.insert(t.params["act"].as_str().unwrap().to_string());
        layers.insert(t.params["layers"].as_i64().unwrap());
    }
    assert!(acts.len() >= 2 && layers.len() >= 2, "{acts:?} {layers:?}");
}

/// A cheap multi-fidelity function on [0, 1]^4: a shifted, scaled quadratic bowl plus
/// a low-fidelity error that shrinks as 1 / sqrt(budget) and distorts the ranking at
/// small budgets.
fn bowl(t: &mut Trial) -> Result<f64, Error> {
    let centre = [0.71, 0.23, 0.52, 0.88];
    let weight = [1.0, 2.0, 4.0, 0.5];
    let mut x = [0.0; 4];
    for (i, v) in x.iter_mut().enumerate() {
        *v = t.suggest_float(&format!("x{i}"), 0.0, 1.0)?;
    }
    let b = t.budget().unwrap() as f64;
    let g: f64 = (0..4).map(|i| weight[i] * (x[i] - centre[i]).powi(2)).sum();
    let bias = 0.3 * (9.0 * x[0] + 5.0 * x[1] - 7.0 * x[2]).sin().abs();
    Ok(g + bias / b.sqrt())
}

#[test]
fn dehb_beats_random_sampling_in_hyperbands_schedule() {
    // Six Hyperband iterations of 1..27, eta 3 (69 trials each): DE starts in the
    // second, and each level's subpopulation evolves about one generation per
    // iteration. Each method's best value at the max budget, five fixed seeds.
    let space: Vec<(String, Distribution)> = (0..4)
        .map(|i| (format!("x{i}"), Distribution::float(0.0, 1.0)))
        .collect();
    let space: Vec<(&str, Distribution)> =
        space.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let best = |s: Study| {
        s.optimize(bowl, 6 * 69).unwrap();
        s.trials()
            .unwrap()
            .iter()
            .filter(|t| attr(t, BUDGET_ATTR) == Some(27))
            .map(value)
            .fold(f64::INFINITY, f64::min)
    };
    let mut wins = 0;
    let (mut d_all, mut h_all) = (Vec::new(), Vec::new());
    for seed in 0..5 {
        let d = best(declared(dehb(seed, 1, 27), seed, &space));
        let h = best(declared(
            BracketScheduler::hyperband(1, Some(27), 3).unwrap(),
            seed,
            &space,
        ));
        if d < h {
            wins += 1;
        }
        d_all.push(d);
        h_all.push(h);
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (dm, hm) = (median(&d_all), median(&h_all));
    eprintln!("dehb {d_all:?} median {dm}; hyperband {h_all:?} median {hm}");
    assert!(
        wins >= 4,
        "DEHB won {wins} of 5 seeds: {d_all:?} vs {h_all:?}"
    );
    assert!(dm < hm, "median {dm} vs {hm}");
}
