//! The graph embedding keeps neighbours close, is reproducible under its seed, and
//! the rank surface interpolates as documented.

use hyperscape_landscape::embedding::{embed, idw_raster, rank_scores, EmbeddingOptions};
use hyperscape_landscape::{Landscape, Param};

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Mean embedded distance over graph edges / over all pairs.
fn edge_to_pair_ratio(l: &Landscape, c: &[[f64; 2]]) -> f64 {
    let (mut e, mut ne) = (0.0, 0usize);
    for i in 0..l.len() {
        for &j in l.neighbours(i) {
            e += dist(c[i], c[j as usize]);
            ne += 1;
        }
    }
    let (mut p, mut np) = (0.0, 0usize);
    for i in 0..l.len() {
        for j in (i + 1)..l.len() {
            p += dist(c[i], c[j]);
            np += 1;
        }
    }
    (e / ne as f64) / (p / np as f64)
}

fn chain(n: usize) -> Landscape {
    Landscape::full_grid(vec![Param::ordinal_range("x", n)], "f", true, |c| {
        c[0] as f64
    })
    .unwrap()
}

#[test]
fn a_chain_keeps_neighbours_close_and_its_order_along_the_curve() {
    let l = chain(60);
    let e = embed(&l, &EmbeddingOptions::default()).unwrap();
    let ratio = edge_to_pair_ratio(&l, &e.coords);
    assert!(ratio < 0.15, "edge/pair distance ratio {ratio}");
    // The embedded nearest neighbour of every configuration is a chain neighbour.
    let mut hits = 0;
    for i in 0..60 {
        let nn = (0..60)
            .filter(|&j| j != i)
            .min_by(|&a, &b| {
                dist(e.coords[i], e.coords[a]).total_cmp(&dist(e.coords[i], e.coords[b]))
            })
            .unwrap();
        hits += usize::from(nn.abs_diff(i) == 1);
    }
    assert_eq!(
        hits, 60,
        "{hits} of 60 nearest neighbours are chain neighbours"
    );
    // In order along the curve: x = ψ₂ ≈ cos θ is monotone in the level.
    let xs: Vec<f64> = e.coords.iter().map(|c| c[0]).collect();
    let up = xs.windows(2).all(|w| w[1] > w[0]);
    let down = xs.windows(2).all(|w| w[1] < w[0]);
    assert!(up || down, "x is not monotone along the chain: {xs:?}");
}

#[test]
fn a_two_parameter_grid_keeps_neighbours_close() {
    let l = Landscape::full_grid(
        vec![Param::ordinal_range("a", 15), Param::ordinal_range("b", 12)],
        "f",
        true,
        |c| (c[0] + c[1]) as f64,
    )
    .unwrap();
    let e = embed(&l, &EmbeddingOptions::default()).unwrap();
    let ratio = edge_to_pair_ratio(&l, &e.coords);
    assert!(ratio < 0.3, "edge/pair distance ratio {ratio}");
    assert_eq!(e.coords.len(), 180);
    assert!(e.eigenvalues[0] > e.eigenvalues[1] && e.eigenvalues[1] >= e.eigenvalues[2]);
}

#[test]
fn the_same_seed_gives_the_same_embedding() {
    let l = chain(30);
    let o = EmbeddingOptions {
        seed: 7,
        ..EmbeddingOptions::default()
    };
    assert_eq!(embed(&l, &o).unwrap(), embed(&l, &o).unwrap());
}

#[test]
fn bad_inputs_are_errors() {
    let e = embed(&chain(2), &EmbeddingOptions::default()).unwrap_err();
    assert!(e.to_string().contains("at least 3 configurations"), "{e}");
    // Three configurations on a diagonal: nobody has a neighbour.
    let l = Landscape::new(
        vec![Param::ordinal_range("a", 3), Param::ordinal_range("b", 3)],
        vec![0, 0, 1, 1, 2, 2],
        vec![1.0, 2.0, 3.0],
        "f",
        true,
    )
    .unwrap();
    let e = embed(&l, &EmbeddingOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("no configuration has a neighbour"),
        "{e}"
    );
    for (dim, beta) in [(2, 0.5), (4, 1.0), (4, 0.0)] {
        let o = EmbeddingOptions {
            dim,
            beta,
            ..EmbeddingOptions::default()
        };
        assert!(embed(&chain(10), &o).is_err(), "dim {dim} beta {beta}");
    }
}

#[test]
fn idw_surface_matches_hand_computed_weights() {
    // Values 0 at x = 0 and 1 at x = 1; cell centres at x = 0.25 and 0.75:
    // weights 1/0.25² = 16 and 1/0.75² = 16/9, so 0.1 and 0.9.
    let pts = [[0.0, 0.0], [1.0, 0.0]];
    let r = idw_raster(&pts, &[0.0, 1.0], (0.0, 1.0), (-0.5, 0.5), 2, 1, 2);
    assert!(
        (r[0] - 0.1).abs() < 1e-12 && (r[1] - 0.9).abs() < 1e-12,
        "{r:?}"
    );
    // k = 1: the nearest value; a point on a centre gives its own value.
    let r = idw_raster(&pts, &[0.0, 1.0], (0.0, 1.0), (-0.5, 0.5), 2, 1, 1);
    assert_eq!(r, vec![0.0, 1.0]);
    let r = idw_raster(
        &[[0.25, 0.0], [1.0, 0.0]],
        &[0.3, 1.0],
        (0.0, 1.0),
        (-0.5, 0.5),
        2,
        1,
        2,
    );
    assert_eq!(r[0], 0.3);
}

#[test]
fn ranks_run_from_worst_to_best_with_shared_ties() {
    assert_eq!(
        rank_scores(&[3.0, 1.0, 2.0, 2.0, 5.0]),
        vec![0.75, 0.0, 0.375, 0.375, 1.0]
    );
}
