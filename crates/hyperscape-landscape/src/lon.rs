//! Local optima network (LON): nodes are local optima; from each optimum, `k`
//! seeded random two-parameter perturbations (each of two distinct parameters moves
//! to a neighbouring level: ordinal ±1, categorical/boolean another level) are
//! followed by a best-improvement climb (the memoised attractor). A perturbation
//! that lands in another basin is an *escape edge*, weighted by its frequency.

use std::collections::{HashMap, HashSet, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::landscape::{Landscape, ParamKind};
use crate::metrics::Basins;

/// Summary of the local optima network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LonSummary {
    pub perturbations_per_optimum: usize,
    pub n_nodes: usize,
    /// Distinct escape edges (a → b, b ≠ a).
    pub n_edges: usize,
    /// Distinct escape edges to a strictly fitter local optimum.
    pub n_improving_edges: usize,
    /// Perturbations that escaped / perturbations that landed on a configuration.
    pub escape_rate: Option<f64>,
    /// Local optima without an improving escape edge (global optima included).
    pub n_sinks: usize,
    /// Local optima from which improving escape edges lead to a global optimum.
    pub n_reaching_global: usize,
    /// The heaviest edges: (from, to, weight), ids as configuration ids.
    pub top_edges: Vec<(u32, u32, u32)>,
}

/// One escape edge of the LON: perturbations from local optimum `from` whose climb
/// ended at local optimum `to` (`to ≠ from`); ids are configuration ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LonEdge {
    pub from: u32,
    pub to: u32,
    /// Number of the `k` perturbations of `from` that escaped to `to`.
    pub weight: u32,
}

/// The local optima network itself (what [`LonSummary`] summarises).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LonGraph {
    /// The local optima (configuration ids), in the order given.
    pub nodes: Vec<usize>,
    /// Escape edges, sorted by (`from`'s position in `nodes`, `to`).
    pub edges: Vec<LonEdge>,
    /// Perturbations that landed on a configuration (a grid with holes loses some).
    pub landed: u64,
    /// Perturbations that landed in another basin.
    pub escaped: u64,
}

/// Builds the LON over the local optima `local`: `k` seeded perturbations per
/// optimum (the stream of optimum `o` is fixed by `seed` and `o`, so the result
/// does not depend on the thread count).
pub fn lon_graph(l: &Landscape, basins: &Basins, local: &[usize], k: usize, seed: u64) -> LonGraph {
    let d = l.params().len();
    // Per optimum: escape edges (target, weight), perturbations landed, escaped.
    type PerOptimum = (Vec<(u32, u32)>, u64, u64);
    let results: Vec<PerOptimum> = local
        .par_iter()
        .map(|&o| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4c4f_4e00);
            rng.set_stream(o as u64);
            let mut edges: HashMap<u32, u32> = HashMap::new();
            let (mut landed, mut escaped) = (0u64, 0u64);
            let base = l.codes(o).to_vec();
            for _ in 0..k {
                let mut c = base.clone();
                let p1 = rng.random_range(0..d);
                let mut chosen = vec![p1];
                if d > 1 {
                    let mut p2 = rng.random_range(0..d - 1);
                    if p2 >= p1 {
                        p2 += 1;
                    }
                    chosen.push(p2);
                }
                for p in chosen {
                    let param = &l.params()[p];
                    let levels = param.levels.len() as u32;
                    if levels < 2 {
                        continue;
                    }
                    let v = c[p];
                    c[p] = match param.kind {
                        ParamKind::Ordinal => {
                            if v == 0 {
                                1
                            } else if v + 1 == levels || rng.random_bool(0.5) {
                                v - 1
                            } else {
                                v + 1
                            }
                        }
                        _ => {
                            let w = rng.random_range(0..levels - 1);
                            if w >= v {
                                w + 1
                            } else {
                                w
                            }
                        }
                    };
                }
                if let Some(j) = l.find(&c) {
                    landed += 1;
                    let a = basins.attractor[j];
                    if a as usize != o {
                        escaped += 1;
                        *edges.entry(a).or_insert(0) += 1;
                    }
                }
            }
            let mut e: Vec<(u32, u32)> = edges.into_iter().collect();
            e.sort_unstable();
            (e, landed, escaped)
        })
        .collect();
    let mut edges = Vec::new();
    let (mut landed, mut escaped) = (0u64, 0u64);
    for (&o, (e, la, es)) in local.iter().zip(results) {
        landed += la;
        escaped += es;
        edges.extend(e.into_iter().map(|(to, weight)| LonEdge {
            from: o as u32,
            to,
            weight,
        }));
    }
    LonGraph {
        nodes: local.to_vec(),
        edges,
        landed,
        escaped,
    }
}

/// Builds the LON and summarises it.
pub fn local_optima_network(
    l: &Landscape,
    scores: &[f64],
    basins: &Basins,
    local: &[usize],
    k: usize,
    seed: u64,
) -> LonSummary {
    let g = lon_graph(l, basins, local, k, seed);
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut n_improving = 0;
    let mut has_improving: HashSet<u32> = HashSet::new();
    let mut reverse: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut all_edges = Vec::with_capacity(g.edges.len());
    for e in &g.edges {
        all_edges.push((e.from, e.to, e.weight));
        if scores[e.to as usize] > scores[e.from as usize] {
            n_improving += 1;
            has_improving.insert(e.from);
            reverse.entry(e.to).or_default().push(e.from);
        }
    }
    let n_sinks = local
        .iter()
        .filter(|&&o| !has_improving.contains(&(o as u32)))
        .count();
    let (landed, escaped) = (g.landed, g.escaped);
    // Backward BFS from the global optima over improving edges.
    let mut seen: HashMap<u32, ()> = HashMap::new();
    let mut queue: VecDeque<u32> = local
        .iter()
        .filter(|&&o| scores[o] == max)
        .map(|&o| o as u32)
        .collect();
    for &q in &queue {
        seen.insert(q, ());
    }
    while let Some(x) = queue.pop_front() {
        if let Some(srcs) = reverse.get(&x) {
            for &s in srcs {
                if seen.insert(s, ()).is_none() {
                    queue.push_back(s);
                }
            }
        }
    }
    all_edges.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    all_edges.truncate(10);
    LonSummary {
        perturbations_per_optimum: k,
        n_nodes: local.len(),
        n_edges: g.edges.len(),
        n_improving_edges: n_improving,
        escape_rate: (landed > 0).then(|| escaped as f64 / landed as f64),
        n_sinks,
        n_reaching_global: seen.len(),
        top_edges: all_edges,
    }
}
