//! Acquisition: log expected improvement (stable far into the tail, after Ament et al.,
//! "Unexpected improvements to expected improvement", 2023) or, for several objectives,
//! log expected hypervolume improvement ([`super::ehvi`]), plus the log probability of
//! feasibility of each constraint, and its optimisation over the unit cube.
//!
//! `EI = σ·h(z)` with `h(z) = φ(z) + zΦ(z)`, `z = (μ − best)/σ` (maximisation). For
//! `z > −1`, `ln h` is computed directly; for `−25 < z ≤ −1`,
//! `ln h = −z²/2 − ln√(2π) + ln(1 − √(π/2)·|z|·erfcx(|z|/√2))` (no cancellation, no
//! underflow); below, the asymptotic series `ln h ≈ −z²/2 − ln√(2π) − 2 ln|z| +
//! ln(1 − 3/z² + 15/z⁴)`. `erfcx` uses the Chebyshev fit of `erfc` without its
//! `exp(−x²)` factor (relative error < 1.2e-7), so nothing overflows or underflows.
//!
//! The optimiser evaluates seeded, Owen-scrambled Sobol candidates (rounded onto the
//! discrete levels first), runs projected L-BFGS from the best few (and from the
//! incumbent) on the continuous relaxation, rounds, searches the continuous coordinates
//! again with the discrete ones held at their rounded levels, sweeps the choices of each
//! categorical parameter, and returns the best point that was not evaluated before.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ehvi::Ehvi;
use super::lbfgs;
use super::model::Gp;

/// `ln√(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// `ln√(π/2)`.
const LN_SQRT_PI_2: f64 = 0.225_791_352_644_727_4;
const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// `erfcx(x) = exp(x²)·erfc(x)` for `x ≥ 0`.
#[inline]
pub fn erfcx_nonneg(x: f64) -> f64 {
    let (t, p) = crate::special::erfc_parts(x);
    t * p.exp()
}

/// `ln Φ(z)`, accurate in both tails.
pub fn log_ndtr(z: f64) -> f64 {
    if z <= 0.0 {
        let x = -z * FRAC_1_SQRT_2;
        (0.5 * erfcx_nonneg(x)).ln() - x * x
    } else {
        let x = z * FRAC_1_SQRT_2;
        (-0.5 * erfcx_nonneg(x) * (-x * x).exp()).ln_1p()
    }
}

/// `ln(1 − e^a)` for `a < 0`.
pub fn log1mexp(a: f64) -> f64 {
    if a > -std::f64::consts::LN_2 {
        (-a.exp_m1()).ln()
    } else {
        (-a.exp()).ln_1p()
    }
}

/// `ln h(z)`, `h(z) = φ(z) + zΦ(z)`: finite for every finite `z`.
pub fn log_h(z: f64) -> f64 {
    if z > -1.0 {
        let phi = (-0.5 * z * z - LN_SQRT_2PI).exp();
        let cdf = log_ndtr(z).exp();
        (phi + z * cdf).ln()
    } else if z > -25.0 {
        let a = (erfcx_nonneg(-z * FRAC_1_SQRT_2) * -z).ln() + LN_SQRT_PI_2;
        -0.5 * z * z - LN_SQRT_2PI + log1mexp(a.min(-1e-300))
    } else {
        let z2 = z * z;
        -0.5 * z2 - LN_SQRT_2PI - 2.0 * (-z).ln() + (1.0 - 3.0 / z2 + 15.0 / (z2 * z2)).ln()
    }
}

/// `ln EI` for a posterior `N(μ, σ²)` and the incumbent `best` (maximisation).
pub fn log_ei(mu: f64, var: f64, best: f64) -> f64 {
    let s = var.sqrt();
    s.ln() + log_h((mu - best) / s)
}

/// What the acquisition rewards, besides feasibility.
pub enum Target<'a> {
    /// Nothing yet (no feasible trial): only the feasibility terms count.
    None,
    /// `ln EI` of one GP over the best feasible standardised value (maximisation).
    LogEi { gp: &'a Gp, best: f64 },
    /// `ln EHVI` of one GP per objective (standardised losses, minimisation) over the
    /// feasible front's box decomposition.
    LogEhvi { gps: Vec<&'a Gp>, ehvi: &'a Ehvi },
}

/// The acquisition: the target's log improvement plus `ln P(c ≤ threshold)` for each
/// constraint GP. Everything is maximised.
pub struct Acquisition<'a> {
    /// Dimension of the points.
    pub d: usize,
    pub target: Target<'a>,
    /// Constraint GPs and their standardised feasibility thresholds.
    pub constraints: Vec<(&'a Gp, f64)>,
}

impl Acquisition<'_> {
    pub fn value(&self, x: &[f64]) -> f64 {
        let mut v = 0.0;
        match &self.target {
            Target::None => {}
            Target::LogEi { gp, best } => {
                let (mu, var) = gp.predict(x);
                v += log_ei(mu, var, *best);
            }
            Target::LogEhvi { gps, ehvi } => {
                let (mu, var): (Vec<f64>, Vec<f64>) = gps.iter().map(|g| g.predict(x)).unzip();
                v += ehvi.log_value(&mu, &var);
            }
        }
        for (gp, thr) in &self.constraints {
            let (mu, var) = gp.predict(x);
            v += log_ndtr((thr - mu) / var.sqrt());
        }
        v
    }

    /// Values at many points (`m × d`, row-major), batched.
    pub fn values(&self, xs: &[f64]) -> Vec<f64> {
        let m = xs.len() / self.d.max(1);
        let mut v = vec![0.0; m];
        match &self.target {
            Target::None => {}
            Target::LogEi { gp, best } => {
                for (o, (mu, var)) in v.iter_mut().zip(gp.predict_many(xs)) {
                    *o += log_ei(mu, var, *best);
                }
            }
            Target::LogEhvi { gps, ehvi } => {
                let preds: Vec<Vec<(f64, f64)>> = gps.iter().map(|g| g.predict_many(xs)).collect();
                for (i, o) in v.iter_mut().enumerate() {
                    let (mu, var): (Vec<f64>, Vec<f64>) = preds.iter().map(|p| p[i]).unzip();
                    *o += ehvi.log_value(&mu, &var);
                }
            }
        }
        for (gp, thr) in &self.constraints {
            for (o, (mu, var)) in v.iter_mut().zip(gp.predict_many(xs)) {
                *o += log_ndtr((thr - mu) / var.sqrt());
            }
        }
        v
    }

    /// The value and its gradient (numeric coordinates only).
    pub fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let d = x.len();
        let (mut gm, mut gv) = (vec![0.0; d], vec![0.0; d]);
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut v = 0.0;
        match &self.target {
            Target::None => {}
            Target::LogEi { gp, best } => {
                let (mu, var) = gp.predict_grad(x, &mut gm, &mut gv);
                let s = var.sqrt();
                let z = (mu - best) / s;
                let lh = log_h(z);
                v += s.ln() + lh;
                // d ln h/dz = Φ(z)/h(z).
                let r = (log_ndtr(z) - lh).exp();
                for m in 0..d {
                    let dvar = gv[m] / (2.0 * var);
                    g[m] += dvar + r * (gm[m] / s - z * dvar);
                }
            }
            Target::LogEhvi { gps, ehvi } => {
                let k = gps.len();
                let (mut mus, mut vars) = (vec![0.0; k], vec![0.0; k]);
                let mut grads = Vec::with_capacity(k);
                for (j, gp) in gps.iter().enumerate() {
                    let (mu, var) = gp.predict_grad(x, &mut gm, &mut gv);
                    mus[j] = mu;
                    vars[j] = var;
                    grads.push((gm.clone(), gv.clone()));
                }
                let (mut dmu, mut dvar) = (vec![0.0; k], vec![0.0; k]);
                v += ehvi.log_value_grad(&mus, &vars, &mut dmu, &mut dvar);
                if v.is_finite() {
                    for (j, (gmj, gvj)) in grads.iter().enumerate() {
                        for m in 0..d {
                            g[m] += dmu[j] * gmj[m] + dvar[j] * gvj[m];
                        }
                    }
                }
            }
        }
        for (gp, thr) in &self.constraints {
            let (mu, var) = gp.predict_grad(x, &mut gm, &mut gv);
            let s = var.sqrt();
            let z = (thr - mu) / s;
            let lc = log_ndtr(z);
            v += lc;
            let r = (-0.5 * z * z - LN_SQRT_2PI - lc).exp();
            for m in 0..d {
                g[m] += r * (-gm[m] / s - z * gv[m] / (2.0 * var));
            }
        }
        v
    }
}

/// What the optimiser needs to know of the space.
pub struct Space<'a> {
    /// Number of choices of each categorical dimension (`None` for numeric ones).
    pub levels: &'a [Option<usize>],
    /// Rounds a point onto the discrete levels in place (the identity for floats) and
    /// puts inactive conditional coordinates at their imputed values.
    pub round: &'a dyn Fn(&mut [f64]),
    /// Which coordinates are active at a point (all, without conditional parameters);
    /// a local search keeps inactive ones fixed.
    pub active: &'a dyn Fn(&[f64]) -> Vec<bool>,
    /// Whether any coordinate is conditional (then `round` also canonicalises).
    pub conditional: bool,
    /// Discrete numeric coordinates (ints, steps).
    pub discrete: &'a [bool],
    /// Rounded points never to return (evaluated or running).
    pub exclude: &'a HashSet<Vec<u64>>,
}

/// How local-search starts are chosen among the scored candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartRule {
    /// The `n_local` best candidates.
    Best,
    /// The best candidate, then `n_local − 1` more drawn without replacement with
    /// probability proportional to `exp(a − a_max)` (`a` the log acquisition).
    Roulette,
}

/// Search settings.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    pub n_candidates: usize,
    pub n_local: usize,
    pub local_iter: usize,
    pub seed: u32,
    pub starts: StartRule,
}

/// Indices of the local-search starts among `values` (sorted best first, so index 0 is
/// the best candidate): the first `n_local` under [`StartRule::Best`]; under
/// [`StartRule::Roulette`] index 0, then up to `n_local − 1` others drawn without
/// replacement with weights `exp(v − v₀)` (seeded by `seed`; candidates whose weight
/// underflows to 0 are never drawn, so fewer starts come back once one candidate
/// dominates).
pub fn choose_starts(values: &[f64], n_local: usize, rule: StartRule, seed: u32) -> Vec<usize> {
    let n = values.len().min(n_local);
    if rule == StartRule::Best || n == 0 {
        return (0..n).collect();
    }
    let top = values[0];
    let mut w: Vec<f64> = values.iter().map(|v| (v - top).exp()).collect();
    w[0] = 0.0;
    let mut out = vec![0];
    let mut rng = ChaCha8Rng::seed_from_u64(0x726f_756c_6574_7465 ^ u64::from(seed));
    while out.len() < n {
        let total: f64 = w.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            break;
        }
        let u = rng.random::<f64>() * total;
        let mut acc = 0.0;
        let mut pick = None;
        for (i, wi) in w.iter().enumerate() {
            if *wi > 0.0 {
                acc += wi;
                pick = Some(i);
                if acc >= u {
                    break;
                }
            }
        }
        let Some(i) = pick else { break };
        w[i] = 0.0;
        out.push(i);
    }
    out
}

pub fn key(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Maximises the acquisition. `starts` are extra local-search starts (the incumbent).
pub fn optimize(acq: &Acquisition<'_>, sp: &Space<'_>, s: Search, starts: &[Vec<f64>]) -> Vec<f64> {
    let d = sp.levels.len();
    let mut scored: Vec<(f64, Vec<f64>)> = Vec::with_capacity(s.n_candidates + 4 * s.n_local);
    let mut cands = Vec::with_capacity(s.n_candidates * d);
    for i in 0..s.n_candidates {
        let mut x: Vec<f64> = (0..d)
            .map(|k| {
                let u = if (k as u32) < sobol_burley::NUM_DIMENSIONS {
                    sobol_burley::sample(i as u32, k as u32, s.seed) as f64
                } else {
                    // Beyond the Sobol table: a hashed coordinate (still seeded).
                    let h = (i as u64 ^ ((k as u64) << 32) ^ s.seed as u64)
                        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    (h >> 11) as f64 / (1u64 << 53) as f64
                };
                match sp.levels[k] {
                    Some(c) => ((u * c as f64).floor()).min(c as f64 - 1.0),
                    None => u,
                }
            })
            .collect();
        (sp.round)(&mut x);
        cands.extend_from_slice(&x);
    }
    for (x, v) in cands.chunks(d.max(1)).zip(acq.values(&cands)) {
        if v.is_finite() {
            scored.push((v, x.to_vec()));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut seeds: Vec<Vec<f64>> = starts.to_vec();
    let mut seen = HashSet::new();
    match s.starts {
        StartRule::Best => {
            for (_, x) in &scored {
                if seeds.len() >= s.n_local + starts.len() {
                    break;
                }
                if seen.insert(key(x)) {
                    seeds.push(x.clone());
                }
            }
        }
        StartRule::Roulette => {
            // Distinct candidates only (rounding can merge them).
            let distinct: Vec<usize> = (0..scored.len())
                .filter(|&i| seen.insert(key(&scored[i].1)))
                .collect();
            let values: Vec<f64> = distinct.iter().map(|&i| scored[i].0).collect();
            seeds.extend(
                choose_starts(&values, s.n_local, StartRule::Roulette, s.seed)
                    .into_iter()
                    .map(|j| scored[distinct[j]].1.clone()),
            );
        }
    }
    // Projected L-BFGS on the acquisition from `x0` over the coordinates `held` leaves
    // free (the others stay at `x0`'s values), rounded; `None` when nothing is free.
    let search = |x0: &[f64], held: &dyn Fn(usize) -> bool| -> Option<Vec<f64>> {
        let lo: Vec<f64> = (0..d).map(|k| if held(k) { x0[k] } else { 0.0 }).collect();
        let hi: Vec<f64> = (0..d).map(|k| if held(k) { x0[k] } else { 1.0 }).collect();
        if lo.iter().zip(&hi).all(|(a, b)| a == b) {
            return None;
        }
        let (mut x, _) = lbfgs::minimize(
            |x, g| {
                let v = acq.value_grad(x, g);
                g.iter_mut().for_each(|e| *e = -*e);
                -v
            },
            x0,
            &lo,
            &hi,
            lbfgs::Options {
                max_iter: s.local_iter,
                pg_tol: 1e-5,
                f_tol: 1e-7,
                ..lbfgs::Options::default()
            },
        );
        (sp.round)(&mut x);
        Some(x)
    };
    for x0 in seeds {
        let on = (sp.active)(&x0);
        let mut x = search(&x0, &|k| sp.levels[k].is_some() || !on[k]).unwrap_or_else(|| {
            let mut x = x0.clone();
            (sp.round)(&mut x);
            x
        });
        let mut best_v = acq.value(&x);
        if sp.discrete.iter().any(|b| *b) {
            // Rounding moved the discrete coordinates, so the continuous ones are no
            // longer optimal for them (on a curved valley such as Branin's the best x1
            // depends on x2): search the continuous ones again with the discrete ones
            // held at their levels, and keep the result if it scores better.
            let on = (sp.active)(&x);
            let held = |k: usize| sp.levels[k].is_some() || sp.discrete[k] || !on[k];
            if let Some(y) = search(&x, &held) {
                let v = acq.value(&y);
                if v > best_v {
                    best_v = v;
                    x = y;
                }
            }
        }
        // One sweep over the choices of every categorical dimension.
        for k in 0..d {
            if let Some(c) = sp.levels[k] {
                let cur = x[k];
                for choice in 0..c {
                    let mut y = x.clone();
                    y[k] = choice as f64;
                    if y[k] == cur {
                        continue;
                    }
                    if sp.conditional {
                        // A parent's choice can switch its children on or off.
                        (sp.round)(&mut y);
                    }
                    let v = acq.value(&y);
                    if v > best_v {
                        best_v = v;
                        x = y;
                    }
                }
            }
        }
        if best_v.is_finite() {
            scored.push((best_v, x));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .iter()
        .find(|(_, x)| !sp.exclude.contains(&key(x)))
        .or_else(|| scored.first())
        .map(|(_, x)| x.clone())
        .unwrap_or_else(|| vec![0.5; d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roulette_starts_are_seeded_distinct_and_favour_high_values() {
        // Sorted best first, as `optimize` passes them.
        let values: Vec<f64> = (0..200).map(|i| -0.05 * i as f64).collect();
        let a = choose_starts(&values, 9, StartRule::Roulette, 7);
        assert_eq!(a, choose_starts(&values, 9, StartRule::Roulette, 7));
        assert_eq!(a.len(), 9);
        assert_eq!(a[0], 0, "the best candidate always starts a search");
        let mut u = a.clone();
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), 9, "drawn without replacement: {a:?}");
        // Another seed draws other starts (the best stays).
        let b = choose_starts(&values, 9, StartRule::Roulette, 8);
        assert_eq!(b[0], 0);
        assert_ne!(a, b);
        // Not the top nine: roulette reaches past them, but mostly into the upper part
        // (weights exp(−0.05 i)).
        let mut all = Vec::new();
        for seed in 0..50 {
            all.extend(
                choose_starts(&values, 9, StartRule::Roulette, seed)
                    .into_iter()
                    .skip(1),
            );
        }
        assert!(all.iter().any(|&i| i > 8));
        let upper = all.iter().filter(|&&i| i < 60).count();
        assert!(upper * 10 > all.len() * 8, "{upper} of {}", all.len());
        // Best: the first n_local. Fewer candidates than starts: all of them.
        assert_eq!(
            choose_starts(&values, 4, StartRule::Best, 7),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            choose_starts(&values[..3], 9, StartRule::Roulette, 7).len(),
            3
        );
        // Weights that underflow are never drawn: only the best remains.
        let steep = [0.0, -1e4, -2e4];
        assert_eq!(choose_starts(&steep, 9, StartRule::Roulette, 1), vec![0]);
        assert!(choose_starts(&values, 0, StartRule::Roulette, 1).is_empty());
    }

    #[test]
    fn log_h_is_continuous_and_matches_the_direct_form() {
        for z in [-0.999_999, -1.0, -1.000_001, -24.999, -25.0, -25.001] {
            let a = log_h(z - 1e-9);
            let b = log_h(z + 1e-9);
            assert!((a - b).abs() < 1e-3, "{z}: {a} vs {b}");
        }
        for z in [-3.0f64, -1.5, -0.5, 0.0, 2.0] {
            let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let cdf = log_ndtr(z).exp();
            let direct = (phi + z * cdf).ln();
            assert!((log_h(z) - direct).abs() < 1e-5, "{z}");
        }
        assert!((log_ndtr(0.0) - 0.5f64.ln()).abs() < 1e-7);
        assert!(log_ndtr(-40.0).is_finite() && log_ndtr(40.0) <= 0.0);
    }
}
