//! CMA-ES with margin (Hamano, Saito, Nomura, Shirakawa, GECCO 2022) for discrete
//! dimensions: ints and step floats, whose unit-cube coordinate is rounded to a level.
//!
//! Without care the search distribution shrinks inside one level's bin and the
//! dimension freezes. After every generation, each discrete coordinate's scale `a_j` is
//! set so that a sample leaves the bin of the mean with probability at least `α/2` on
//! each side that has a neighbouring level (at least `α` on the only side, at the first
//! and last levels). `a_j` never goes below 1, so the margin only ever widens the
//! marginal; the covariance update sees samples divided by `a`. This is the paper's
//! "side" correction (scaling `A`); its "edge" correction (moving the mean) is left out
//! because the mean never leaves the unit cube here.

use crate::param::Distribution;

/// The bins of a discrete dimension in the unit cube, as `Distribution::from_unit`
/// rounds them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bins {
    /// `n` equal bins (linear ints, step ints, step floats).
    Uniform(f64),
    /// A log int: unit `u` maps to `exp(lo + u (hi - lo))`, rounded.
    LogInt {
        lo: f64,
        hi: f64,
        low: i64,
        high: i64,
    },
}

impl Bins {
    /// The bins of `d`, or `None` for a continuous (or categorical) distribution.
    pub fn of(d: &Distribution) -> Option<Self> {
        match d {
            Distribution::Float { step: Some(_), .. } => {
                Some(Bins::Uniform(d.cardinality().unwrap_or(1) as f64))
            }
            Distribution::Int {
                low,
                high,
                log: true,
                ..
            } => Some(Bins::LogInt {
                lo: (*low as f64 - 0.5).max(0.5).ln(),
                hi: (*high as f64 + 0.5).ln(),
                low: *low,
                high: *high,
            }),
            Distribution::Int { .. } => Some(Bins::Uniform(d.cardinality().unwrap_or(1) as f64)),
            _ => None,
        }
    }

    /// The bin `[lo, hi]` holding `u`, and whether a level lies below and above it.
    pub fn bin(&self, u: f64) -> (f64, f64, bool, bool) {
        let u = u.clamp(0.0, 1.0);
        match *self {
            Bins::Uniform(n) => {
                let k = (u * n).floor().min(n - 1.0);
                (k / n, (k + 1.0) / n, k > 0.0, k < n - 1.0)
            }
            Bins::LogInt { lo, hi, low, high } => {
                let v = ((lo + u * (hi - lo)).exp().round() as i64).clamp(low, high);
                let to_u = |x: f64| ((x.max(0.5).ln() - lo) / (hi - lo)).clamp(0.0, 1.0);
                (
                    to_u(v as f64 - 0.5),
                    to_u(v as f64 + 0.5),
                    v > low,
                    v < high,
                )
            }
        }
    }
}

/// The smallest standard deviation for coordinate value `m` in `bins` such that a
/// normal sample leaves the bin with probability at least `alpha` (split over both
/// sides when both have neighbours).
pub(crate) fn required_std(bins: &Bins, m: f64, alpha: f64) -> f64 {
    let (lo, hi, below, above) = bins.bin(m);
    let per_side = if below && above { alpha / 2.0 } else { alpha };
    let z = normal_quantile(1.0 - per_side);
    let mut need: f64 = 0.0;
    if below {
        need = need.max((m - lo).max(0.0) / z);
    }
    if above {
        need = need.max((hi - m).max(0.0) / z);
    }
    need
}

/// The standard normal quantile (Acklam's rational approximation, relative error
/// below 1.2e-9), for `p` in (0, 1).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-7);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-7);
    }

    #[test]
    fn bins_follow_from_unit_rounding() {
        for d in [
            Distribution::int(0, 4),
            Distribution::int_step(0, 30, 5),
            Distribution::float_step(0.0, 1.0, 0.25),
            Distribution::int_log(1, 100),
        ] {
            let bins = Bins::of(&d).unwrap();
            for i in 0..200 {
                let u = (i as f64 + 0.5) / 200.0;
                let (lo, hi, _, _) = bins.bin(u);
                assert!(lo <= u && u <= hi, "{d}: {u} not in [{lo}, {hi}]");
                let v = d.from_unit(u);
                let inside = |w: f64| d.from_unit(w.clamp(0.0, 1.0)) == v;
                assert!(inside(lo + 1e-9) && inside(hi - 1e-9), "{d} at {u}");
            }
        }
        assert_eq!(Bins::of(&Distribution::float(0.0, 1.0)), None);
    }

    #[test]
    fn required_std_gives_the_margin() {
        let b = Bins::Uniform(4.0);
        // Mean at the centre of bin 1 of 4: half-width 1/8, both sides open.
        let s = required_std(&b, 0.375, 0.02);
        assert!((s - 0.125 / normal_quantile(0.99)).abs() < 1e-12);
        // The first bin has only an upper neighbour.
        let s = required_std(&b, 0.125, 0.02);
        assert!((s - 0.125 / normal_quantile(0.98)).abs() < 1e-12);
    }
}
