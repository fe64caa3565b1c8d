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
