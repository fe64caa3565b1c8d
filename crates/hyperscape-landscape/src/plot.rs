//! Plots of a landscape (feature `plot`): SVG, PNG or a self-contained HTML page
//! (the SVG plus a table of key metrics), drawn with `plotters`.
//!
//! Kinds implemented:
//! - [`Kind::Fdc`]: fitness against the Hamming distance (in parameters) to the
//!   nearest global optimum, one point per configuration, coloured by fitness; the
//!   distances are integers, so points get a seeded horizontal jitter of ±0.3; the
//!   title carries the FDC (Spearman and Pearson).
//! - [`Kind::Marginals`]: one panel per parameter: the mean fitness per level (line)
//!   and the min–max band over all other parameters.
//! - [`Kind::Interactions`]: a heatmap of the mean fitness per level pair of two
//!   parameters.
//!
//! Text is measured and (in PNG) drawn with `ab_glyph` from a TrueType font read at
//! run time: `$HYPERSCAPE_FONT`, else DejaVu Sans (Debian: `fonts-dejavu-core`). No
//! fontconfig or freetype is needed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{metrics, stats, Error, Landscape, Result};

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
    Html,
}

impl Format {
    /// `.svg`, `.png`, `.html` / `.htm` (case-insensitive).
    pub fn from_path(p: &Path) -> Result<Format> {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            Some("html") | Some("htm") => Ok(Format::Html),
            _ => Err(Error::Plot(format!(
                "{}: unknown output format (use a .svg, .png or .html file)",
                p.display()
            ))),
        }
    }
}

/// What to plot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Fdc,
    Marginals,
    /// Mean fitness per level pair of parameters `a` (x axis) and `b` (y axis).
    Interactions {
        a: String,
        b: String,
    },
}

/// Size, seed and font of a plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub width: u32,
    pub height: u32,
    /// Seed of the randomised parts (the FDC jitter).
    pub seed: u64,
    /// TrueType font (default: `$HYPERSCAPE_FONT`, else DejaVu Sans).
    pub font: Option<PathBuf>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 900,
            height: 600,
            seed: 0,
            font: None,
        }
    }
}

const DEFAULT_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
];

static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Registers the font once per process (later calls reuse the first answer).
fn ensure_font(explicit: Option<&Path>) -> Result<()> {
    FONT.get_or_init(|| {
        let candidates: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => match std::env::var_os("HYPERSCAPE_FONT") {
                Some(p) => vec![PathBuf::from(p)],
                None => DEFAULT_FONTS.iter().map(PathBuf::from).collect(),
            },
        };
        for c in &candidates {
            if let Ok(bytes) = std::fs::read(c) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                    .map_err(|_| format!("{} is not a valid TrueType/OpenType font", c.display()));
            }
        }
        Err(format!(
            "no font found (tried {}); install DejaVu Sans (Debian: apt-get install \
             fonts-dejavu-core) or set HYPERSCAPE_FONT to a .ttf file",
            candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
    .clone()
    .map_err(Error::Plot)
}

/// Data of one figure, independent of the backend.
#[derive(Debug, Clone)]
enum Figure {
    Scatter {
        title: String,
        x_label: String,
        y_label: String,
        /// (x, y, colour value).
        points: Vec<(f64, f64, f64)>,
    },
    Panels {
        title: String,
        y_label: String,
        panels: Vec<Panel>,
    },
    Heatmap {
        title: String,
        x_name: String,
        y_name: String,
        x_levels: Vec<String>,
        y_levels: Vec<String>,
        /// cells[i][j]: x level i, y level j; None where no configuration.
        cells: Vec<Vec<Option<f64>>>,
    },
}

#[derive(Debug, Clone)]
struct Panel {
    name: String,
    levels: Vec<String>,
    mean: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

/// Writes the plot `kind` of `l` to `out` (format from its extension).
pub fn plot(l: &Landscape, kind: &Kind, out: &Path, opts: &PlotOptions) -> Result<()> {
    let format = Format::from_path(out)?;
    let (fig, mut key) = figure(l, kind, opts)?;
    key.insert(0, ("configurations".into(), l.len().to_string()));
    key.insert(
        1,
        (
            "fitness".into(),
            format!(
                "{} ({})",
                l.fitness_name(),
                if l.maximize() {
                    "maximised"
                } else {
                    "minimised"
                }
            ),
        ),
    );
    render(&fig, &key, format, out, opts)
}

fn figure(
    l: &Landscape,
    kind: &Kind,
    opts: &PlotOptions,
) -> Result<(Figure, Vec<(String, String)>)> {
    let f = l.fitness();
    match kind {
        Kind::Fdc => {
            let scores = l.scores();
            let go = metrics::global_optima(&scores);
            let dist = metrics::distances_to(l, &go);
            let distf: Vec<f64> = dist.iter().map(|&d| d as f64).collect();
            let sp = stats::spearman(f, &distf);
            let pe = stats::pearson(f, &distf);
            let fmt = |v: Option<f64>| v.map_or("undefined".to_string(), |x| format!("{x:.3}"));
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            let points = distf
                .iter()
                .zip(f)
                .map(|(&d, &y)| (d + rng.random_range(-0.3..0.3), y, y))
                .collect();
            let key = vec![
                ("global optima".into(), go.len().to_string()),
                ("FDC (Spearman)".into(), fmt(sp)),
                ("FDC (Pearson)".into(), fmt(pe)),
                (
                    "max distance".into(),
                    dist.iter().max().copied().unwrap_or(0).to_string(),
                ),
            ];
            Ok((
                Figure::Scatter {
                    title: format!("FDC = {} (Spearman), {} (Pearson)", fmt(sp), fmt(pe)),
                    x_label: "distance (neighbour steps) to the nearest global optimum".into(),
                    y_label: l.fitness_name().to_string(),
                    points,
                },
                key,
            ))
        }
        Kind::Marginals => {
            let panels = l
                .params()
                .iter()
                .enumerate()
                .map(|(p, param)| {
                    let k = param.levels.len();
                    let mut sum = vec![0.0; k];
                    let mut cnt = vec![0usize; k];
                    let mut min = vec![f64::INFINITY; k];
                    let mut max = vec![f64::NEG_INFINITY; k];
                    for (i, &y) in f.iter().enumerate() {
                        let c = l.codes(i)[p] as usize;
                        sum[c] += y;
                        cnt[c] += 1;
                        min[c] = min[c].min(y);
                        max[c] = max[c].max(y);
                    }
                    // Levels come from the data, so every level has a configuration.
                    let mean = sum
                        .iter()
                        .zip(&cnt)
                        .map(|(s, &n)| s / n.max(1) as f64)
                        .collect();
                    Panel {
                        name: param.name.clone(),
                        levels: param.levels.iter().map(short_label).collect(),
                        mean,
                        min,
                        max,
                    }
                })
                .collect();
            Ok((
                Figure::Panels {
                    title: format!(
                        "Marginal {} per level (mean; band: min to max)",
                        l.fitness_name()
                    ),
                    y_label: l.fitness_name().to_string(),
                    panels,
                },
                vec![("parameters".into(), l.params().len().to_string())],
            ))
        }
        Kind::Interactions { a, b } => {
            let idx = |name: &str| {
                l.params()
                    .iter()
                    .position(|p| p.name == name)
                    .ok_or_else(|| {
                        Error::Plot(format!(
                            "--pair names `{name}`, which is not a parameter (parameters: {})",
                            l.params()
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
            };
            let (pa, pb) = (idx(a)?, idx(b)?);
            if pa == pb {
                return Err(Error::Plot(format!(
                    "--pair needs two different parameters, got `{a}` twice"
                )));
            }
            let (ka, kb) = (l.params()[pa].levels.len(), l.params()[pb].levels.len());
            let mut sum = vec![vec![0.0; kb]; ka];
            let mut cnt = vec![vec![0usize; kb]; ka];
            for (i, &y) in f.iter().enumerate() {
                let c = l.codes(i);
                sum[c[pa] as usize][c[pb] as usize] += y;
                cnt[c[pa] as usize][c[pb] as usize] += 1;
            }
            let cells = sum
                .iter()
                .zip(&cnt)
                .map(|(s, n)| {
                    s.iter()
                        .zip(n)
                        .map(|(s, &n)| (n > 0).then(|| s / n as f64))
                        .collect()
                })
                .collect();
            let lv = |p: usize| l.params()[p].levels.iter().map(short_label).collect();
            Ok((
                Figure::Heatmap {
                    title: format!("Mean {} per ({a}, {b})", l.fitness_name()),
                    x_name: a.clone(),
                    y_name: b.clone(),
                    x_levels: lv(pa),
                    y_levels: lv(pb),
                    cells,
                },
                vec![("pair".into(), format!("{a} × {b}"))],
            ))
        }
    }
}

fn render(
    fig: &Figure,
    key: &[(String, String)],
    format: Format,
    out: &Path,
    opts: &PlotOptions,
) -> Result<()> {
    ensure_font(opts.font.as_deref())?;
    let size = (opts.width, opts.height);
    let err = |e: String| Error::Plot(format!("{}: {e}", out.display()));
    match format {
        Format::Svg => {
            let root = SVGBackend::new(out, size).into_drawing_area();
            draw(fig, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        Format::Png => {
            let root = BitMapBackend::new(out, size).into_drawing_area();
            draw(fig, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        Format::Html => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw(fig, &root).map_err(err)?;
                root.present().map_err(|e| err(e.to_string()))?;
            }
            std::fs::write(out, html_page(fig_title(fig), &svg, key)).map_err(|source| Error::Io {
                path: out.to_path_buf(),
                source,
            })
        }
    }
}

/// A level as an axis label: numbers with at most 3 significant digits.
fn short_label(v: &hyperscape_core::ParamValue) -> String {
    let s = v.to_string();
    match s.parse::<f64>() {
        Ok(x) if x != 0.0 && (x.abs() < 1e-2 || x.abs() >= 1e5) => format!("{x:.1e}"),
        Ok(x) if s.len() > 5 => {
            let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
            format!("{x:.digits$}")
        }
        _ => s,
    }
}

fn fig_title(fig: &Figure) -> &str {
    match fig {
        Figure::Scatter { title, .. }
        | Figure::Panels { title, .. }
        | Figure::Heatmap { title, .. } => title,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_page(title: &str, svg: &str, key: &[(String, String)]) -> String {
    let rows: String = key
        .iter()
        .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(k), escape(v)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse;margin-top:1em}}\
         th,td{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style></head>\n\
         <body><h1>{t}</h1>\n{svg}\n<table>\n{rows}</table>\n</body></html>\n",
        t = escape(title)
    )
}

fn colour(v: f64, lo: f64, hi: f64) -> RGBColor {
    if hi > lo {
        ViridisRGB.get_color_normalized(v, lo, hi)
    } else {
        ViridisRGB.get_color_normalized(0.5, 0.0, 1.0)
    }
}

fn range_of(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

type DrawResult = std::result::Result<(), String>;

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> DrawResult {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    match fig {
        Figure::Scatter {
            title,
            x_label,
            y_label,
            points,
        } => {
            let (x0, x1) = range_of(points.iter().map(|p| p.0));
            let (y0, y1) = range_of(points.iter().map(|p| p.1));
            let (c0, c1) = range_of(points.iter().map(|p| p.2));
            let mut chart = ChartBuilder::on(root)
                .caption(title, ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(e)?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 16))
                .draw()
                .map_err(e)?;
            chart
                .draw_series(
                    points.iter().map(|&(x, y, c)| {
                        Circle::new((x, y), 2, colour(c, c0, c1).mix(0.6).filled())
                    }),
                )
                .map_err(e)?;
        }
        Figure::Panels {
            title,
            y_label,
            panels,
        } => {
            let body = root.titled(title, ("sans-serif", 22)).map_err(e)?;
            let n = panels.len().max(1);
            let cols = (n as f64).sqrt().ceil() as usize;
            let rows = n.div_ceil(cols);
            let (y0, y1) = range_of(
                panels
                    .iter()
                    .flat_map(|p| p.min.iter().chain(&p.max).copied()),
            );
            for (p, area) in panels.iter().zip(body.split_evenly((rows, cols))) {
                let k = p.levels.len() as i32;
                let mut chart = ChartBuilder::on(&area)
                    .caption(&p.name, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(30)
                    .y_label_area_size(55)
                    .build_cartesian_2d((0..k - 1).into_segmented(), y0..y1)
                    .map_err(e)?;
                let labels = p.levels.clone();
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .y_desc(y_label)
                    .x_labels(labels.len().min(12))
                    .x_label_formatter(&|v| match v {
                        SegmentValue::CenterOf(i) => {
                            labels.get(*i as usize).cloned().unwrap_or_default()
                        }
                        _ => String::new(),
                    })
                    .label_style(("sans-serif", 11))
                    .axis_desc_style(("sans-serif", 12))
                    .draw()
                    .map_err(e)?;
                let band: Vec<(SegmentValue<i32>, f64)> = (0..k)
                    .map(|i| (SegmentValue::CenterOf(i), p.max[i as usize]))
                    .chain(
                        (0..k)
                            .rev()
                            .map(|i| (SegmentValue::CenterOf(i), p.min[i as usize])),
                    )
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.2).filled())))
                    .map_err(e)?;
                let mean: Vec<(SegmentValue<i32>, f64)> = (0..k)
                    .map(|i| (SegmentValue::CenterOf(i), p.mean[i as usize]))
                    .collect();
                chart
                    .draw_series(LineSeries::new(mean.clone(), BLUE.stroke_width(2)))
                    .map_err(e)?;
                chart
                    .draw_series(mean.into_iter().map(|pt| Circle::new(pt, 3, BLUE.filled())))
                    .map_err(e)?;
            }
        }
        Figure::Heatmap {
            title,
            x_name,
            y_name,
            x_levels,
            y_levels,
            cells,
        } => {
            let (c0, c1) = {
                let v = cells.iter().flatten().flatten().copied();
                let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                    (a.min(x), b.max(x))
                });
                (lo, hi)
            };
            let (main, legend) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
            let (kx, ky) = (x_levels.len() as i32, y_levels.len() as i32);
            let mut chart = ChartBuilder::on(&main)
                .caption(title, ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d((0..kx - 1).into_segmented(), (0..ky - 1).into_segmented())
                .map_err(e)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(x_name)
                .y_desc(y_name)
                .x_labels(x_levels.len())
                .y_labels(y_levels.len())
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => {
                        x_levels.get(*i as usize).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => {
                        y_levels.get(*i as usize).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 16))
                .draw()
                .map_err(e)?;
            chart
                .draw_series(cells.iter().enumerate().flat_map(|(i, col)| {
                    col.iter().enumerate().filter_map(move |(j, v)| {
                        v.map(|v| {
                            let (i, j) = (i as i32, j as i32);
                            Rectangle::new(
                                [
                                    (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                                    (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                                ],
                                colour(v, c0, c1).filled(),
                            )
                        })
                    })
                }))
                .map_err(e)?;
            colour_bar(&legend, c0, c1).map_err(e)?;
        }
    }
    Ok(())
}

fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(50)
        .margin_bottom(57)
        .margin_right(10)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style(("sans-serif", 11))
        .draw()?;
    let steps = 100;
    chart.draw_series((0..steps).map(|s| {
        let a = lo + (hi - lo) * s as f64 / steps as f64;
        let b = lo + (hi - lo) * (s + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, a), (1.0, b)], colour(a, lo, hi).filled())
    }))?;
    Ok(())
}
