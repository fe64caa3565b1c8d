//! Plots: every kind writes a valid SVG with the expected marks, a PNG of the asked
//! size, and an HTML page; bad input gives a clear error.
#![cfg(feature = "plot")]

use hyperscape_landscape::plot::{plot, Kind, PlotOptions};
use hyperscape_landscape::{Landscape, Param};

/// 3 x 4 grid, f = x + 10 y (max at x = 2, y = 3).
fn tiny() -> Landscape {
    Landscape::full_grid(
        vec![Param::ordinal_range("x", 3), Param::ordinal_range("y", 4)],
        "f",
        true,
        |c| c[0] as f64 + 10.0 * c[1] as f64,
    )
    .unwrap()
}

fn opts() -> PlotOptions {
    PlotOptions {
        width: 400,
        height: 300,
        ..PlotOptions::default()
    }
}

fn svg(kind: &Kind) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.svg");
    plot(&tiny(), kind, &out, &opts()).unwrap();
    let s = std::fs::read_to_string(&out).unwrap();
    assert!(
        s.trim_start().starts_with("<svg"),
        "{}",
        &s[..50.min(s.len())]
    );
    assert!(s.trim_end().ends_with("</svg>"));
    s
}

#[test]
fn fdc_svg_has_one_point_per_configuration_and_the_fdc_in_the_title() {
    let s = svg(&Kind::Fdc);
    assert_eq!(s.matches("<circle").count(), 12);
    assert!(s.contains("FDC = "), "title missing");
}

#[test]
fn marginals_svg_has_one_mean_point_per_level() {
    let s = svg(&Kind::Marginals);
    // 3 levels of x + 4 of y; one band polygon per parameter.
    assert_eq!(s.matches("<circle").count(), 7);
    assert_eq!(s.matches("<polygon").count(), 2);
}

#[test]
fn interactions_svg_has_one_cell_per_level_pair() {
    let rects = |nx: usize| {
        let l = Landscape::full_grid(
            vec![Param::ordinal_range("x", nx), Param::ordinal_range("y", 4)],
            "f",
            true,
            |c| c[0] as f64 + 10.0 * c[1] as f64,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.svg");
        let kind = Kind::Interactions {
            a: "x".into(),
            b: "y".into(),
        };
        plot(&l, &kind, &out, &opts()).unwrap();
        std::fs::read_to_string(out)
            .unwrap()
            .matches("<rect")
            .count()
    };
    // One more level of x adds exactly one column of 4 cells.
    assert_eq!(rects(3), rects(2) + 4);
    assert_eq!(rects(4), rects(3) + 4);
    assert!(svg(&Kind::Interactions {
        a: "x".into(),
        b: "y".into()
    })
    .contains("Mean f per (x, y)"));
}

#[test]
fn png_has_the_asked_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    for (i, kind) in [
        Kind::Fdc,
        Kind::Marginals,
        Kind::Interactions {
            a: "x".into(),
            b: "y".into(),
        },
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("p{i}.png"));
        plot(&tiny(), kind, &out, &opts()).unwrap();
        let b = std::fs::read(&out).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&b[12..16], b"IHDR");
        let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
        assert_eq!((w, h), (400, 300));
    }
}

#[test]
fn html_embeds_the_svg_and_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.html");
    plot(&tiny(), &Kind::Fdc, &out, &opts()).unwrap();
    let s = std::fs::read_to_string(&out).unwrap();
    assert!(s.starts_with("<!DOCTYPE html>"));
    assert!(s.contains("<svg") && s.contains("</svg>"));
    assert!(s.contains("<th>configurations</th><td>12</td>"));
    assert!(s.contains("FDC (Spearman)"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = plot(&tiny(), &Kind::Fdc, &dir.path().join("p.jpg"), &opts()).unwrap_err();
    assert!(e.to_string().contains("unknown output format"), "{e}");
    let e = plot(
        &tiny(),
        &Kind::Interactions {
            a: "x".into(),
            b: "nope".into(),
        },
        &dir.path().join("p.svg"),
        &opts(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("`nope`") && e.to_string().contains("x, y"),
        "{e}"
    );
    let e = plot(
        &tiny(),
        &Kind::Interactions {
            a: "x".into(),
            b: "x".into(),
        },
        &dir.path().join("p.svg"),
        &opts(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("two different"), "{e}");
}

#[test]
fn fdc_jitter_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let read = |seed: u64, name: &str| {
        let out = dir.path().join(name);
        let o = PlotOptions { seed, ..opts() };
        plot(&tiny(), &Kind::Fdc, &out, &o).unwrap();
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(read(1, "a.svg"), read(1, "b.svg"));
    assert_ne!(read(1, "c.svg"), read(2, "d.svg"));
}

// ---- LON, embedding and similarity plots ----

use hyperscape_landscape::embedding::EmbeddingOptions;
use hyperscape_landscape::plot::plot_similarity;
use hyperscape_landscape::{
    compare_landscapes, lon, metrics, similarity_matrix_of_columns,
    similarity_matrix_of_landscapes, SimilarityMeasure,
};

/// 12 x 12 grid with a rugged, tie-free fitness: many local optima, one global.
fn rugged() -> Landscape {
    Landscape::full_grid(
        vec![Param::ordinal_range("a", 12), Param::ordinal_range("b", 12)],
        "f",
        true,
        |c| {
            let (a, b) = (c[0] as f64, c[1] as f64);
            ((a * 37.0 + b * 91.0 + a * b * 13.0) % 101.0) + 0.001 * (a * 12.0 + b)
        },
    )
    .unwrap()
}

fn svg_of(l: &Landscape, kind: &Kind, seed: u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.svg");
    let o = PlotOptions { seed, ..opts() };
    plot(l, kind, &out, &o).unwrap();
    std::fs::read_to_string(out).unwrap()
}

/// (local optima, global optima, escape edges, improving escape edges) of the LON
/// with `k` perturbations and `seed`, from the library.
fn lon_counts(l: &Landscape, k: usize, seed: u64) -> (usize, usize, usize, usize) {
    let scores = l.scores();
    let imp = metrics::improvement(l, &scores);
    let local = imp.local_optima();
    let b = metrics::basins(&imp.next);
    let g = lon::lon_graph(l, &b, &local, k, seed);
    let improving = g
        .edges
        .iter()
        .filter(|e| scores[e.to as usize] > scores[e.from as usize])
        .count();
    (
        local.len(),
        metrics::global_optima(&scores).len(),
        g.edges.len(),
        improving,
    )
}

#[test]
fn lon_svg_has_one_circle_per_optimum_and_one_arrow_per_edge() {
    let l = rugged();
    let (n_local, n_global, n_edges, n_improving) = lon_counts(&l, 20, 3);
    assert!(
        n_local >= 8 && n_edges >= 8,
        "{n_local} optima, {n_edges} edges"
    );
    assert!(n_improving > 0 && n_improving < n_edges);
    let s = svg_of(
        &l,
        &Kind::Lon {
            perturbations: 20,
            max_nodes: 1000,
        },
        3,
    );
    // Nodes, a ring per global optimum, the legend's ring.
    assert_eq!(s.matches("<circle").count(), n_local + n_global + 1);
    // One arrowhead per edge; one line per edge plus a legend line, in the
    // improving (blue) and worsening (orange) colours.
    assert_eq!(s.matches("<polygon").count(), n_edges);
    let lines = |colour: &str| {
        s.split("<polyline")
            .skip(1)
            .filter(|p| p.split('>').next().unwrap().contains(colour))
            .count()
    };
    assert_eq!(lines("stroke=\"#1E5AC8\""), n_improving + 1);
    assert_eq!(lines("stroke=\"#D75A1E\""), n_edges - n_improving + 1);
    assert!(
        s.contains(&format!(
            "{n_local} of {n_local} optima, {n_edges} of {n_edges} edges"
        )),
        "title"
    );
}

#[test]
fn lon_is_capped_at_max_nodes_and_keeps_the_global_optimum() {
    let l = rugged();
    let (n_local, n_global, n_edges, _) = lon_counts(&l, 20, 0);
    let s = svg_of(
        &l,
        &Kind::Lon {
            perturbations: 20,
            max_nodes: 3,
        },
        0,
    );
    assert_eq!(n_global, 1);
    assert_eq!(s.matches("<circle").count(), 3 + 1 + 1);
    assert!(s.contains(&format!("3 of {n_local} optima")), "title");
    assert!(s.contains(&format!("of {n_edges} edges")), "title");
    // The red ring of the global optimum is drawn although its basin may be small.
    assert!(s.contains("stroke=\"#FF0000\""));
}

#[test]
fn lon_layout_is_seeded() {
    let l = rugged();
    let kind = Kind::lon();
    assert_eq!(svg_of(&l, &kind, 5), svg_of(&l, &kind, 5));
    assert_ne!(svg_of(&l, &kind, 5), svg_of(&l, &kind, 6));
}

fn embedding_kind(nx: usize, ny: usize, max_points: usize, seed: u64) -> Kind {
    Kind::Embedding {
        options: EmbeddingOptions {
            seed,
            ..EmbeddingOptions::default()
        },
        raster: (nx, ny),
        neighbours: 4,
        max_points,
    }
}

#[test]
fn embedding_svg_has_the_raster_cells_the_points_and_the_optimum() {
    let l = rugged();
    let a = svg_of(&l, &embedding_kind(10, 6, 1000, 0), 0);
    let b = svg_of(&l, &embedding_kind(5, 6, 1000, 0), 0);
    assert_eq!(a.matches("<rect").count(), b.matches("<rect").count() + 30);
    assert_eq!(a.matches("<circle").count(), 144);
    // The global optimum's marker and the legend's.
    assert_eq!(a.matches("<polygon").count(), 2);
    // At most 50 dots: every third configuration (ceil(144 / 3) = 48).
    let c = svg_of(&l, &embedding_kind(5, 6, 50, 0), 0);
    assert_eq!(c.matches("<circle").count(), 48);
    assert!(a.contains("HOPE graph embedding (144 configurations)"));
}

#[test]
fn embedding_plot_is_reproducible_under_its_seed() {
    let l = rugged();
    assert_eq!(
        svg_of(&l, &embedding_kind(8, 8, 1000, 2), 0),
        svg_of(&l, &embedding_kind(8, 8, 1000, 2), 0)
    );
}

/// The tiny grid with f transformed by `g`.
fn tiny_with(name: &str, g: impl Fn(f64, f64) -> f64 + Sync) -> Landscape {
    Landscape::full_grid(
        vec![Param::ordinal_range("x", 3), Param::ordinal_range("y", 4)],
        name,
        true,
        |c| g(c[0] as f64, c[1] as f64),
    )
    .unwrap()
}

#[test]
fn similarity_heatmap_shows_the_similarity_module_numbers() {
    let a = tiny_with("a", |x, y| x + 10.0 * y);
    let b = tiny_with("b", |x, y| 10.0 * x + y);
    let c = tiny_with("c", |x, y| (x - 1.0).powi(2) + y * y * 0.5 - x * y);
    let ls = [
        ("a".to_string(), &a),
        ("b".to_string(), &b),
        ("c".to_string(), &c),
    ];
    let m = similarity_matrix_of_landscapes(&ls, SimilarityMeasure::Spearman).unwrap();
    for (i, (_, x)) in ls.iter().enumerate() {
        for (j, (_, y)) in ls.iter().enumerate() {
            let s = compare_landscapes(x, y, &[]).unwrap();
            assert_eq!(m.values[i][j], s.spearman, "cell {i} {j}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let draw = |m: &hyperscape_landscape::SimilarityMatrix, name: &str| {
        let out = dir.path().join(name);
        plot_similarity(m, &out, &opts()).unwrap();
        std::fs::read_to_string(out).unwrap()
    };
    let s3 = draw(&m, "m3.svg");
    for row in &m.values {
        for v in row {
            let t = format!(">\n{:.2}\n</text>", v.unwrap());
            assert!(s3.contains(&t), "cell text {t} missing");
        }
    }
    assert!(s3.contains("Similarity of 3 landscapes (Spearman)"));
    let m2 = similarity_matrix_of_landscapes(&ls[..2], SimilarityMeasure::Spearman).unwrap();
    let s2 = draw(&m2, "m2.svg");
    // 9 cells against 4.
    assert_eq!(s3.matches("<rect").count(), s2.matches("<rect").count() + 5);

    // Columns of one file, γ-set IoU: the numbers of `similarity()`.
    let cols = [
        ("a".to_string(), a.fitness()),
        ("b".to_string(), b.fitness()),
    ];
    let g = similarity_matrix_of_columns(&cols, true, SimilarityMeasure::GammaIou(0.25)).unwrap();
    let s = hyperscape_landscape::similarity(a.fitness(), b.fitness(), true, &[0.25]);
    assert_eq!(g.values[0][1], Some(s.gamma_sets[0].iou));
    assert_eq!(g.values[0][0], Some(1.0));
    let k = similarity_matrix_of_columns(&cols, true, SimilarityMeasure::KendallTauB).unwrap();
    assert_eq!(k.values[1][0], s.kendall_tau_b);
}

#[test]
fn similarity_errors_are_clear() {
    let a = tiny_with("a", |x, y| x + y);
    let e = similarity_matrix_of_landscapes(&[("a".into(), &a)], SimilarityMeasure::Spearman)
        .unwrap_err();
    assert!(
        e.to_string().contains("at least two landscapes, got 1"),
        "{e}"
    );
    let other = Landscape::full_grid(vec![Param::ordinal_range("z", 3)], "z", true, |c| {
        c[0] as f64
    })
    .unwrap();
    let e = similarity_matrix_of_landscapes(
        &[("a".into(), &a), ("other".into(), &other)],
        SimilarityMeasure::Spearman,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("`a` vs `other`") && e.to_string().contains("different parameters"),
        "{e}"
    );
    let e = similarity_matrix_of_columns(
        &[("a".into(), a.fitness()), ("b".into(), a.fitness())],
        true,
        SimilarityMeasure::GammaIou(1.5),
    )
    .unwrap_err();
    assert!(e.to_string().contains("(0, 1]"), "{e}");
}

#[test]
fn new_kinds_write_png_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let l = rugged();
    for (i, kind) in [Kind::lon(), embedding_kind(20, 10, 1000, 0)]
        .iter()
        .enumerate()
    {
        let png = dir.path().join(format!("k{i}.png"));
        plot(&l, kind, &png, &opts()).unwrap();
        assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
        let html = dir.path().join(format!("k{i}.html"));
        plot(&l, kind, &html, &opts()).unwrap();
        let s = std::fs::read_to_string(html).unwrap();
        assert!(s.starts_with("<!DOCTYPE html>") && s.contains("<svg"));
    }
    let a = tiny_with("a", |x, y| x + y);
    let b = tiny_with("b", |x, y| x - y);
    let m = similarity_matrix_of_landscapes(
        &[("a".into(), &a), ("b".into(), &b)],
        SimilarityMeasure::Spearman,
    )
    .unwrap();
    let html = dir.path().join("s.html");
    plot_similarity(&m, &html, &opts()).unwrap();
    let s = std::fs::read_to_string(html).unwrap();
    assert!(s.contains("<th>a vs b</th>"), "{s}");
}
