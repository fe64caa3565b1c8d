//! Property tests: every sampler's values fall inside their distribution (bounds, log,
//! steps, choices), and the unit-cube mappings round-trip.

use std::collections::BTreeMap;

use hyperscape_core::{
    Distribution, GridSampler, ParamValue, RandomSampler, Sampler, SobolSampler, SpaceDecl, Study,
    TpeSampler,
};
use proptest::prelude::*;

fn arb_distribution() -> impl Strategy<Value = Distribution> {
    prop_oneof![
        (-1e6f64..1e6, 1e-3f64..1e6).prop_map(|(lo, w)| Distribution::float(lo, lo + w)),
        (1e-8f64..1e3, 1.001f64..1e6).prop_map(|(lo, f)| Distribution::float_log(lo, lo * f)),
        (-100f64..100.0, 1usize..200, 1e-3f64..10.0)
            .prop_map(|(lo, k, s)| Distribution::float_step(lo, lo + k as f64 * s, s)),
        (-1000i64..1000, 1i64..5000).prop_map(|(lo, w)| Distribution::int(lo, lo + w)),
        (1i64..1000, 1i64..100_000).prop_map(|(lo, w)| Distribution::int_log(lo, lo + w)),
        (-1000i64..1000, 1i64..500, 1i64..20).prop_map(|(lo, k, s)| Distribution::int_step(
            lo,
            lo + k * s,
            s
        )),
        prop::collection::btree_set("[a-z]{1,6}", 1..8)
            .prop_map(|s| Distribution::categorical(s.into_iter().collect::<Vec<_>>())),
    ]
}

fn assert_within(d: &Distribution, v: &ParamValue) {
    d.check_value("p", v)
        .unwrap_or_else(|e| panic!("{v:?} not in {d}: {e}"));
    if let (Distribution::Float { low, high, .. }, ParamValue::Float(x)) = (d, v) {
        assert!(*x >= *low && *x <= *high, "{x} outside [{low}, {high}]");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn from_unit_stays_inside(d in arb_distribution(), u in 0.0f64..1.0) {
        let d = d.validate("p").unwrap();
        assert_within(&d, &d.from_unit(u));
    }

    #[test]
    fn to_external_always_valid(d in arb_distribution(), x in -1e9f64..1e9) {
        let d = d.validate("p").unwrap();
        assert_within(&d, &d.to_external(x));
    }

    #[test]
    fn unit_round_trip(d in arb_distribution(), u in 0.0f64..1.0) {
        let d = d.validate("p").unwrap();
        let v = d.from_unit(u);
        let back = d.from_unit(d.to_unit(&v).unwrap());
        prop_assert!(back.same_as(&v) || matches!(d, Distribution::Float { step: None, .. }),
            "{v:?} -> {back:?} in {d}");
    }

    #[test]
    fn samplers_stay_inside(d in arb_distribution(), seed in any::<u64>()) {
        let d = d.validate("p").unwrap();
        for sampler in [Box::new(RandomSampler::new(Some(seed))) as Box<dyn Sampler>,
                        Box::new(SobolSampler::new(Some(seed))),
                        // Few start-up trials, so most draws come from the Parzen estimators.
                        Box::new(TpeSampler::builder().seed(Some(seed)).n_startup_trials(3).build().unwrap()),
                        Box::new(TpeSampler::builder().seed(Some(seed)).n_startup_trials(3).multivariate(true).build().unwrap())] {
            let study = Study::builder("p").boxed_sampler(sampler).build().unwrap();
            study.optimize(|t| -> hyperscape_core::Result<f64> {
                let v = t.suggest("p", d.clone())?;
                assert_within(&d, &v);
                Ok(d.to_unit(&v).unwrap_or(0.0))
            }, 12).unwrap();
            prop_assert_eq!(study.trials_with_state(hyperscape_core::TrialState::Complete).unwrap().len(), 12);
        }
    }
}

#[test]
fn log_uniform_spreads_over_decades() {
    let study = Study::builder("log")
        .sampler(RandomSampler::new(Some(7)))
        .build()
        .unwrap();
    let mut below = 0;
    let n = 2000;
    for _ in 0..n {
        let mut t = study.ask().unwrap();
        let x = t.suggest_float_log("lr", 1e-5, 1.0).unwrap();
        if x < 1e-3 {
            below += 1;
        }
        study.tell_values(t, x).unwrap();
    }
    // Two of the five decades lie below 1e-3: expect 40% (uniform sampling gives 0.1%).
    let frac = below as f64 / n as f64;
    assert!((0.35..0.45).contains(&frac), "fraction below 1e-3: {frac}");
}

#[test]
fn sobol_fills_the_square_better_than_random() {
    // Discrepancy proxy: count points per cell of a 8x8 grid over 256 points; Sobol's
    // counts are (near) exactly 4 each, random ones scatter.
    let spread = |sampler: Box<dyn Sampler>| {
        let space = SpaceDecl::new()
            .param("x", Distribution::float(0.0, 1.0))
            .unwrap()
            .param("y", Distribution::float(0.0, 1.0))
            .unwrap();
        let study = Study::builder("s")
            .boxed_sampler(sampler)
            .space(space.search_space())
            .build()
            .unwrap();
        let mut cells = BTreeMap::new();
        for _ in 0..256 {
            let mut t = study.ask().unwrap();
            let p = t.suggest_space(&space).unwrap();
            let cx = (p["x"].as_f64().unwrap() * 8.0) as usize;
            let cy = (p["y"].as_f64().unwrap() * 8.0) as usize;
            *cells.entry((cx, cy)).or_insert(0i32) += 1;
            study.tell_values(t, 0.0).unwrap();
        }
        (0..8)
            .flat_map(|x| (0..8).map(move |y| (x, y)))
            .map(|c| (cells.get(&c).copied().unwrap_or(0) - 4).abs())
            .sum::<i32>()
    };
    let sobol = spread(Box::new(SobolSampler::new(Some(3))));
    let random = spread(Box::new(RandomSampler::new(Some(3))));
    assert!(sobol <= 4, "sobol deviation {sobol}");
    assert!(
        random > 3 * sobol.max(1),
        "random {random} vs sobol {sobol}"
    );
}

#[test]
fn grid_sampler_rejects_continuous_float() {
    let space = SpaceDecl::new()
        .param("x", Distribution::float(0.0, 1.0))
        .unwrap();
    let e = GridSampler::from_space(&space, Some(1)).unwrap_err();
    assert!(e.to_string().contains("`x`"), "{e}");
}
