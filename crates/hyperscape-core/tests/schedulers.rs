//! Budget-assigning schedulers: SHA, Hyperband, ASHA, BOHB and PBT on synthetic
//! learning curves, with state held in the storage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hyperscape_core::pruner::BUDGET_ATTR;
use hyperscape_core::scheduler::{
    lineage, CHECKPOINT_DIR_ATTR, PARENT_ATTR, PREVIOUS_BUDGET_ATTR, RUNG_ATTR, SH_BRACKET_ATTR,
};
use hyperscape_core::{
    open_storage, AshaScheduler, BohbScheduler, BracketScheduler, Error, FrozenTrial,
    OptimizeOptions, ParamValue, PbtScheduler, Pruner, RandomSampler, Study, Trial, TrialState,
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
    let run = || {
        let s = study(
            BohbScheduler::new(1, Some(9), 3, Some(12))
                .unwrap()
                .random_fraction(0.0)
                .unwrap(),
            12,
        );
        s.optimize(objective, 13 + 6 + 3 + 13).unwrap();
        s.trials().unwrap()
    };
    let trials = run();
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
        "{} vs {}",
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
