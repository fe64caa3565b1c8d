//! NSGA-III: convergence to the DTLZ2 sphere, hypervolume against random search and
//! NSGA-II, spread over the reference directions, seeded reproducibility. All seeded.

use hyperscape_core::functions::dtlz2;
use hyperscape_core::sampler::multi::{fronts_until, hypervolume};
use hyperscape_core::sampler::{reference_directions, sampler_by_name, Nsga2Sampler, Nsga3Builder};
use hyperscape_core::{Direction, RandomSampler, Sampler, Study};

fn nsga3(seed: u64, pop: usize) -> Box<dyn Sampler> {
    Box::new(
        Nsga3Builder::default()
            .seed(Some(seed))
            .population_size(pop)
            .build()
            .unwrap(),
    )
}

fn nsga2(seed: u64, pop: usize) -> Box<dyn Sampler> {
    Box::new(
        Nsga2Sampler::builder()
            .seed(Some(seed))
            .population_size(pop)
            .build()
            .unwrap(),
    )
}

/// DTLZ2 with three objectives over six variables; the values of every trial in order.
fn run_dtlz2(sampler: Box<dyn Sampler>, n: usize) -> Vec<Vec<f64>> {
    let s = Study::builder("d")
        .directions(vec![Direction::Minimize; 3])
        .boxed_sampler(sampler)
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x: Vec<f64> = (0..6)
                .map(|i| t.suggest_float(&format!("x{i}"), 0.0, 1.0))
                .collect::<Result<_, _>>()?;
            Ok(dtlz2(&x).to_vec())
        },
        n,
    )
    .unwrap();
    let mut trials = s.trials().unwrap();
    trials.sort_by_key(|t| t.number);
    trials.into_iter().map(|t| t.values.unwrap()).collect()
}

fn hv(values: &[Vec<f64>]) -> f64 {
    let pts: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
    hypervolume(&pts, &[1.1, 1.1, 1.1])
}

/// Reference directions (p = 4, 15 of them) nearest to some point of the
/// non-dominated set of `values` (angle to the direction, on the raw values: DTLZ2's
/// front is already normalised).
fn niches_covered(values: &[Vec<f64>]) -> usize {
    let pts: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
    let front = fronts_until(&pts, 1).into_iter().next().unwrap_or_default();
    let refs = reference_directions(3, 4);
    let mut hit = vec![false; refs.len()];
    for i in front {
        let p = pts[i];
        let norm = p.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        let best = refs
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let wn = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                let cos = p.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / (norm * wn);
                (k, cos)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        hit[best.0] = true;
    }
    hit.iter().filter(|h| **h).count()
}

#[test]
fn nsga3_converges_on_dtlz2_and_beats_random() {
    for seed in 0..2 {
        let v3 = run_dtlz2(nsga3(seed, 20), 400);
        let v2 = run_dtlz2(nsga2(seed, 20), 400);
        let vr = run_dtlz2(Box::new(RandomSampler::new(Some(seed))), 400);
        let radius = |v: &[Vec<f64>]| {
            v.iter()
                .map(|p| p.iter().map(|x| x * x).sum::<f64>().sqrt())
                .sum::<f64>()
                / v.len() as f64
        };
        let (first, last) = (radius(&v3[..20]), radius(&v3[340..]));
        let (h3, h2, hr) = (hv(&v3), hv(&v2), hv(&vr));
        let (n3, n2) = (niches_covered(&v3[300..]), niches_covered(&v2[300..]));
        println!(
            "seed {seed}: radius first {first:.3} last {last:.3}; hypervolume nsga3 {h3:.4}, \
             nsga2 {h2:.4}, random {hr:.4}; niches of the last 100 trials nsga3 {n3}/15, nsga2 {n2}/15"
        );
        assert!(
            last < first - 0.1 && last < 1.2,
            "first {first} last {last}"
        );
        assert!(h3 > hr + 0.05, "nsga3 {h3} vs random {hr}");
        assert!(h3 > 0.9 * h2, "nsga3 {h3} vs nsga2 {h2}");
    }
}

#[test]
fn a_seeded_nsga3_run_is_reproducible_and_registered() {
    assert_eq!(run_dtlz2(nsga3(3, 10), 60), run_dtlz2(nsga3(3, 10), 60));
    assert_ne!(run_dtlz2(nsga3(3, 10), 60), run_dtlz2(nsga3(4, 10), 60));
    assert_eq!(
        sampler_by_name("nsga3", Some(0), None).unwrap().name(),
        "nsga3"
    );
    assert!(Nsga3Builder::default().divisions(Some(0)).build().is_err());
    assert!(Nsga3Builder::default().population_size(1).build().is_err());
}
