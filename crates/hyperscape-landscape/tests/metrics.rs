//! Every metric on small landscapes computed by hand.

use hyperscape_core::ParamValue;
use hyperscape_landscape::metrics::{self, Epsilon};
use hyperscape_landscape::{analyze, Landscape, Param, Settings};

fn chain(f: &[f64], maximize: bool) -> Landscape {
    Landscape::full_grid(
        vec![Param::ordinal_range("x", f.len())],
        "f",
        maximize,
        |c| f[c[0] as usize],
    )
    .unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn unimodal_chain() {
    // f = -(x - 3)^2: -9 -4 -1 0 -1 -4 -9.
    let f: Vec<f64> = (0..7).map(|x| -((x as f64 - 3.0).powi(2))).collect();
    let l = chain(&f, true);
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_configs, 7);
    assert_eq!(r.n_edges, 6);
    assert_eq!(r.n_improving_edges, 6);
    assert_eq!(r.n_local_optima, 1);
    assert!((r.local_optima_ratio - 1.0 / 7.0).abs() < 1e-12);
    assert_eq!(r.n_global_optima, 1);
    assert_eq!(r.global_optima[0].params["x"], ParamValue::Int(3));
    assert_eq!(r.global_optima[0].fitness, 0.0);
    // Fitness falls monotonically with distance: FDC spearman -1.
    assert!(close(r.fdc.spearman, -1.0));
    assert!(r.fdc.pearson.unwrap() < -0.9);
    assert!((r.fdc.mean_distance - 12.0 / 7.0).abs() < 1e-12);
    assert_eq!(r.fdc.max_distance, 3);
    // No two neighbours tie.
    assert!(close(r.neutrality.mean, 0.0));
    assert!(close(r.neutrality.edge_share, 0.0));
    // One basin: everything climbs to x = 3 in |x - 3| steps.
    assert_eq!(r.basins.n_basins, 1);
    assert_eq!(r.basins.global_basin_size, 7);
    assert_eq!(r.basins.global_basin_share, 1.0);
    assert!((r.basins.mean_climb_length - 12.0 / 7.0).abs() < 1e-12);
    // Climbs 0→1→2→3 (steps 5, 3, 1), 1→2→3 (3, 1), and mirrored: every
    // step sequence shrinks, so FFI = 1 over 4 climbs of ≥ 3 configurations.
    assert_eq!(r.ffi.n_paths, 4);
    assert!(close(r.ffi.paths, 1.0));
    // Mean gap to neighbours: 5, 4, 2, 1, 2, 4, 5 vs distance 3 2 1 0 1 2 3.
    assert!(close(r.ffi.gap_distance_spearman, 1.0));
}

#[test]
fn neutrality_with_epsilon() {
    let f: Vec<f64> = (0..7).map(|x| -((x as f64 - 3.0).powi(2))).collect();
    let l = chain(&f, true);
    // Gaps along the chain: 5 3 1 1 3 5. With ε = 3: shares 0, ½, 1, 1, 1, ½, 0.
    let (shares, edges) = metrics::neutrality(&l, 3.0);
    let mean: f64 = shares.iter().flatten().sum::<f64>() / 7.0;
    assert!((mean - 4.0 / 7.0).abs() < 1e-12);
    assert!(close(edges, 8.0 / 12.0));
    let s = Settings {
        epsilon: Epsilon::Absolute(3.0),
        ..Settings::default()
    };
    let r = analyze(&l, &s).unwrap();
    assert!(close(r.neutrality.mean, 4.0 / 7.0));
    // Relative: range 9, so 1/3 of it is ε = 3 again.
    let s = Settings {
        epsilon: Epsilon::Relative(1.0 / 3.0),
        ..Settings::default()
    };
    let r = analyze(&l, &s).unwrap();
    assert!((r.neutrality.epsilon - 3.0).abs() < 1e-12);
    assert!(close(r.neutrality.mean, 4.0 / 7.0));
    // Neutrality is highest near the optimum: negative correlation with distance.
    assert!(r.neutrality.distance_spearman.unwrap() < -0.9);
}

#[test]
fn unimodal_2d_grid() {
    // f = -(|x - 1| + |y - 2|) on 3 × 4: every edge changes f by 1.
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("x", 3), Param::ordinal_range("y", 4)],
        "f",
        true,
        |c| -((c[0] as f64 - 1.0).abs() + (c[1] as f64 - 2.0).abs()),
    )
    .unwrap();
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_configs, 12);
    assert_eq!(r.n_edges, 3 * 3 + 2 * 4);
    assert_eq!(r.n_improving_edges, 17);
    assert_eq!(r.n_local_optima, 1);
    assert!(close(r.fdc.spearman, -1.0));
    assert!(close(r.fdc.pearson, -1.0));
    assert_eq!(r.basins.global_basin_size, 12);
    assert_eq!(r.fdc.max_distance, 3);
}

#[test]
fn plateau() {
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("x", 3), Param::ordinal_range("y", 3)],
        "f",
        false,
        |_| 1.0,
    )
    .unwrap();
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_improving_edges, 0);
    assert_eq!(r.n_local_optima, 9);
    // One plateau of 9 members.
    assert_eq!(r.n_local_optima_plateaus, 1);
    assert_eq!(r.n_local_optima_plateau_members, 9);
    assert_eq!(r.n_global_optima, 9);
    assert!(close(r.neutrality.mean, 1.0));
    assert!(close(r.neutrality.edge_share, 1.0));
    // Every configuration is a global optimum: distances all 0, FDC undefined.
    assert_eq!(r.fdc.spearman, None);
    assert_eq!(r.fdc.pearson, None);
    assert_eq!(r.fdc.max_distance, 0);
    assert_eq!(r.autocorrelation.lags[0].pooled, None);
    assert_eq!(r.autocorrelation.lags[0].median, None);
    assert_eq!(r.assortativity, None);
    assert_eq!(r.basins.n_basins, 9);
    assert_eq!(r.basins.max_size, 1);
    assert_eq!(r.basins.global_basin_share, 1.0);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["fdc"]["spearman"].is_null());
}

#[test]
fn two_basins() {
    // x:  0  1  2  3  4  5  6
    // f:  1  3  2  0  2  5  4   (maximise)
    // Local optima x=1 (3) and x=5 (5). x=3 has two equally better neighbours
    // (x=2, x=4, both 2): ties go to the smaller id, so it climbs to x=1.
    let l = chain(&[1.0, 3.0, 2.0, 0.0, 2.0, 5.0, 4.0], true);
    let imp = metrics::improvement(&l, &l.scores());
    assert_eq!(imp.local_optima(), vec![1, 5]);
    let b = metrics::basins(&imp.next);
    assert_eq!(b.attractor, vec![1, 1, 1, 1, 5, 5, 5]);
    assert_eq!(b.steps, vec![1, 0, 1, 2, 1, 0, 1]);
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_local_optima, 2);
    assert_eq!(r.n_local_optima_plateaus, 2);
    assert_eq!(r.basins.n_basins, 2);
    assert_eq!(r.basins.largest[0].size, 4);
    assert!(!r.basins.largest[0].is_global);
    assert_eq!(r.basins.largest[1].size, 3);
    assert!(r.basins.largest[1].is_global);
    assert_eq!(r.basins.global_basin_size, 3);
    assert!((r.basins.global_basin_share - 3.0 / 7.0).abs() < 1e-12);
    // The fitter optimum has the smaller basin.
    assert!(close(r.basins.size_fitness_spearman, -1.0));
    assert_eq!(r.n_improving_edges, 6);
    // Minimising the same column swaps the roles: optima at x=0 (1), x=3 (0).
    let l = chain(&[1.0, 3.0, 2.0, 0.0, 2.0, 5.0, 4.0], false);
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.global_optima[0].params["x"], ParamValue::Int(3));
    assert_eq!(r.n_local_optima, 3); // x = 0, 3, 6
}

#[test]
fn categorical_neighbours_are_all_other_levels() {
    let f = [1.0, 3.0, 2.0, 4.0];
    // Ordinal: optima at index 1 and 3.
    let r = analyze(&chain(&f, true), &Settings::default()).unwrap();
    assert_eq!(r.n_local_optima, 2);
    // Categorical: a complete graph; only the best level is an optimum, and every
    // other level climbs to it in one step.
    let l = Landscape::full_grid(
        vec![Param::categorical("c", &["a", "b", "c", "d"])],
        "f",
        true,
        |c| f[c[0] as usize],
    )
    .unwrap();
    assert_eq!(l.neighbours(0), &[1, 2, 3]);
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_edges, 6);
    assert_eq!(r.n_improving_edges, 6);
    assert_eq!(r.n_local_optima, 1);
    assert_eq!(r.global_optima[0].params["c"], ParamValue::Str("d".into()));
    assert_eq!(r.fdc.max_distance, 1); // Hamming
    assert!((r.basins.mean_climb_length - 3.0 / 4.0).abs() < 1e-12);
    // Boolean × ordinal: the flip is the only boolean neighbour.
    let l = Landscape::full_grid(
        vec![Param::boolean("b"), Param::ordinal_range("x", 3)],
        "f",
        true,
        |c| c[0] as f64 + c[1] as f64,
    )
    .unwrap();
    assert_eq!(l.neighbours(0).len(), 2); // (false,0): (false,1), (true,0)
    assert_eq!(l.neighbours(4).len(), 3); // (true,1): (true,0), (true,2), (false,1)
    let r = analyze(&l, &Settings::default()).unwrap();
    assert_eq!(r.n_local_optima, 1);
    assert_eq!(r.fdc.max_distance, 3);
}

#[test]
fn distance_transform_matches_brute_force() {
    // Ties at several places force the separable transform (more than 4 targets).
    let params = vec![
        Param::ordinal_range("x", 5),
        Param::categorical("c", &["a", "b", "c"]),
        Param::ordinal_range("y", 4),
    ];
    let tops = [
        [0, 0, 0],
        [4, 1, 3],
        [2, 2, 1],
        [0, 2, 3],
        [3, 0, 0],
        [1, 1, 1],
    ];
    let l = Landscape::full_grid(params, "f", true, |c| {
        tops.iter().any(|t| t[..] == *c) as u8 as f64
    })
    .unwrap();
    let go = metrics::global_optima(&l.scores());
    assert_eq!(go.len(), 6);
    let d = metrics::distances_to(&l, &go);
    for (i, &di) in d.iter().enumerate() {
        let brute = go.iter().map(|&g| l.distance(i, g)).min().unwrap();
        assert_eq!(di, brute, "config {i}");
    }
}

#[test]
fn autocorrelation_by_hand() {
    // [1 2 3 4]: per walk r1 = 1. Pooled: μ = 2.5, σ² = 1.25, lag-1 products
    // 0.75, -0.25, 0.75 → mean 5/12 → ρ(1) = 1/3. The reversed walk adds the same.
    let s = vec![vec![1.0, 2.0, 3.0, 4.0], vec![4.0, 3.0, 2.0, 1.0]];
    let a = metrics::autocorrelation(&s, 1);
    assert!(close(a[0].median, 1.0));
    assert!(close(a[0].pooled, 1.0 / 3.0));
    assert_eq!(a[0].n_defined, 2);
    // Alternating walk: r1 = -1.
    let a = metrics::autocorrelation(&[vec![0.0, 1.0, 0.0, 1.0, 0.0]], 2);
    assert!(close(a[0].median, -1.0));
    assert!(close(a[1].median, 1.0));
    // Walks follow edges: on f = x, consecutive values differ by exactly 1; and
    // the same seed gives the same walks.
    let l = chain(&(0..50).map(f64::from).collect::<Vec<_>>(), true);
    let w = metrics::random_walks(&l, &l.scores(), 20, 30, 7);
    assert_eq!(w.len(), 20);
    for s in &w {
        assert_eq!(s.len(), 30);
        assert!(s.windows(2).all(|p| (p[0] - p[1]).abs() == 1.0));
    }
    assert_eq!(w, metrics::random_walks(&l, &l.scores(), 20, 30, 7));
    assert_ne!(w, metrics::random_walks(&l, &l.scores(), 20, 30, 8));
    // A smooth landscape is strongly autocorrelated.
    let r = analyze(&l, &Settings::default()).unwrap();
    assert!(r.autocorrelation.lags[0].pooled.unwrap() > 0.5);
    assert!(r.autocorrelation.correlation_length.unwrap() > 1.0);
}

#[test]
fn assortativity_matches_definition() {
    let f = [1.0, 3.0, 2.0, 0.0, 2.0, 5.0, 4.0];
    let l = chain(&f, true);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..l.len() {
        for &j in l.neighbours(i) {
            x.push(f[i]);
            y.push(f[j as usize]);
        }
    }
    let want = hyperscape_landscape::stats::pearson(&x, &y).unwrap();
    assert!((metrics::assortativity(&l).unwrap() - want).abs() < 1e-12);
    // A linear chain is positively assortative; an alternating one negatively.
    assert!(metrics::assortativity(&chain(&[0.0, 1.0, 2.0, 3.0], true)).unwrap() > 0.0);
    assert!(metrics::assortativity(&chain(&[0.0, 1.0, 0.0, 1.0], true)).unwrap() < 0.0);
}

#[test]
fn local_optima_network() {
    // Two basins on a line of a 2-D grid: perturbations of two parameters from
    // the worse optimum reach the better one's basin.
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("x", 7), Param::ordinal_range("y", 2)],
        "f",
        true,
        |c| [1.0, 3.0, 2.0, 0.0, 2.0, 5.0, 4.0][c[0] as usize] + 0.1 * c[1] as f64,
    )
    .unwrap();
    let s = Settings {
        lon_perturbations: 50,
        ..Settings::default()
    };
    let r = analyze(&l, &s).unwrap();
    let lon = r.lon.unwrap();
    assert_eq!(lon.n_nodes, r.n_local_optima);
    assert_eq!(lon.n_nodes, 2);
    // From (1,1) two-parameter moves reach x ∈ {0, 2} only: no escape.
    assert_eq!(lon.n_edges, 0);
    assert_eq!(lon.n_sinks, 2);
    assert_eq!(lon.n_reaching_global, 1);
}

#[test]
fn analysis_is_deterministic() {
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("x", 8), Param::ordinal_range("y", 8)],
        "f",
        true,
        |c| ((c[0] * 7 + c[1] * 13) % 11) as f64,
    )
    .unwrap();
    let s = Settings {
        lon_perturbations: 10,
        ..Settings::default()
    };
    let a = serde_json::to_string(&analyze(&l, &s).unwrap()).unwrap();
    let b = serde_json::to_string(&analyze(&l, &s).unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn similarity_by_hand() {
    use hyperscape_landscape::similarity;
    let s = similarity(
        &[1.0, 2.0, 3.0, 4.0],
        &[1.0, 2.0, 4.0, 3.0],
        true,
        &[0.25, 0.5],
    );
    assert!(close(s.spearman, 0.8)); // 1 - 6·2 / (4·15)
    assert!(close(s.kendall_tau_b, 4.0 / 6.0)); // 5 concordant, 1 discordant
    assert_eq!(s.gamma_sets[0].k, 1);
    assert_eq!(s.gamma_sets[0].iou, 0.0); // best: index 3 vs index 2
    assert_eq!(s.gamma_sets[1].k, 2);
    assert_eq!(s.gamma_sets[1].iou, 1.0); // {2, 3} both
                                          // Minimising: the best are the smallest.
    let s = similarity(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 3.0, 4.0], false, &[0.25]);
    assert_eq!(s.gamma_sets[0].iou, 0.0);
}

#[test]
fn compare_two_landscapes_on_a_shared_grid() {
    use hyperscape_landscape::compare_landscapes;
    let a = Landscape::full_grid(
        vec![Param::ordinal_range("x", 3), Param::boolean("b")],
        "a",
        true,
        |c| c[0] as f64 + c[1] as f64,
    )
    .unwrap();
    // `b` has its parameters in the other order and lacks one configuration.
    let b = Landscape::new(
        vec![Param::boolean("b"), Param::ordinal_range("x", 3)],
        vec![0, 0, 0, 1, 0, 2, 1, 0, 1, 1],
        vec![0.0, 1.0, 2.0, 1.0, 2.0],
        "b",
        true,
    )
    .unwrap();
    let s = compare_landscapes(&a, &b, &[0.5]).unwrap();
    assert_eq!(s.n_shared, 5);
    assert_eq!(s.n_only_a, 1);
    assert_eq!(s.n_only_b, 0);
    assert!(close(s.spearman, 1.0));
    assert!(close(s.kendall_tau_b, 1.0));
}

#[test]
fn lon_graph_is_what_the_summary_counts() {
    use hyperscape_landscape::lon;
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("x", 9), Param::ordinal_range("y", 9)],
        "f",
        true,
        |c| ((c[0] * 7 + c[1] * 13) % 11) as f64 + 0.01 * c[0] as f64,
    )
    .unwrap();
    let scores = l.scores();
    let imp = metrics::improvement(&l, &scores);
    let local = imp.local_optima();
    let b = metrics::basins(&imp.next);
    let g = lon::lon_graph(&l, &b, &local, 25, 4);
    let s = lon::local_optima_network(&l, &scores, &b, &local, 25, 4);
    assert!(g.edges.len() > 5, "{} edges", g.edges.len());
    assert_eq!(g.nodes, local);
    assert_eq!(s.n_edges, g.edges.len());
    let improving = g
        .edges
        .iter()
        .filter(|e| scores[e.to as usize] > scores[e.from as usize])
        .count();
    assert_eq!(s.n_improving_edges, improving);
    assert_eq!(s.escape_rate, Some(g.escaped as f64 / g.landed as f64));
    // Weights count the escaping perturbations; edges join distinct optima.
    assert_eq!(
        g.edges.iter().map(|e| e.weight as u64).sum::<u64>(),
        g.escaped
    );
    for e in &g.edges {
        assert_ne!(e.from, e.to);
        assert!(imp.is_local_optimum(e.from as usize) && imp.is_local_optimum(e.to as usize));
    }
    assert!(g.landed <= 25 * local.len() as u64);
}
