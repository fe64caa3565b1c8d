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
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::embedding::{self, EmbeddingOptions};
use crate::similarity::{SimilarityMatrix, SimilarityMeasure};
use crate::{lon, metrics, stats, Error, Landscape, Result};

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
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Fdc,
    Marginals,
    /// Mean fitness per level pair of parameters `a` (x axis) and `b` (y axis).
    Interactions {
        a: String,
        b: String,
    },
    /// The local optima network ([`crate::lon::lon_graph`]) of the `max_nodes`
    /// local optima with the largest basins (global optima always included).
    Lon {
        /// Perturbations per local optimum.
        perturbations: usize,
        max_nodes: usize,
    },
    /// The HOPE embedding's 2-D map ([`crate::embedding`]) with the fitness rank
    /// interpolated on a `raster.0 × raster.1` grid from the `neighbours` nearest
    /// configurations; at most `max_points` configurations are drawn as dots (an
    /// even stride over the ids; the surface uses all of them).
    Embedding {
        options: EmbeddingOptions,
        raster: (usize, usize),
        neighbours: usize,
        max_points: usize,
    },
}

impl Kind {
    /// `Kind::Lon` with 30 perturbations per optimum and at most 300 nodes.
    pub fn lon() -> Kind {
        Kind::Lon {
            perturbations: 30,
            max_nodes: 300,
        }
    }
    /// `Kind::Embedding` with default options, a 120 × 80 raster, 8 neighbours and
    /// at most 20,000 dots.
    pub fn embedding() -> Kind {
        Kind::Embedding {
            options: EmbeddingOptions::default(),
            raster: (120, 80),
            neighbours: 8,
            max_points: 20_000,
        }
    }
}

/// Size, seed and font of a plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub width: u32,
    pub height: u32,
    /// Seed of the randomised parts (FDC jitter, LON perturbations and layout; the
    /// embedding's seed is in [`Kind::Embedding`]).
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
    Lon {
        title: String,
        y_label: String,
        nodes: Vec<LonNode>,
        edges: Vec<LonFigEdge>,
    },
    Surface {
        title: String,
        x_label: String,
        y_label: String,
        x_range: (f64, f64),
        y_range: (f64, f64),
        nx: usize,
        ny: usize,
        /// Row-major from the bottom: `raster[j * nx + i]`, the rank in [0, 1].
        raster: Vec<f64>,
        points: Vec<[f64; 2]>,
        best: Vec<[f64; 2]>,
    },
    Matrix {
        title: String,
        labels: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
        range: (f64, f64),
    },
}

/// A node of a drawn LON.
#[derive(Debug, Clone)]
struct LonNode {
    x: f64,
    fitness: f64,
    /// Radius in pixels.
    radius: u32,
    global: bool,
}

#[derive(Debug, Clone)]
struct LonFigEdge {
    from: usize,
    to: usize,
    /// Weight / largest weight drawn, in (0, 1].
    strength: f64,
    improving: bool,
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
        Kind::Lon {
            perturbations,
            max_nodes,
        } => lon_figure(l, *perturbations, *max_nodes, opts.seed),
        Kind::Embedding {
            options,
            raster,
            neighbours,
            max_points,
        } => embedding_figure(l, options, *raster, *neighbours, *max_points),
    }
}

/// Writes a similarity-matrix heatmap (one annotated cell per pair) to `out`.
pub fn plot_similarity(m: &SimilarityMatrix, out: &Path, opts: &PlotOptions) -> Result<()> {
    let format = Format::from_path(out)?;
    let range = match m.measure {
        SimilarityMeasure::GammaIou(_) => (0.0, 1.0),
        _ => (-1.0, 1.0),
    };
    let fig = Figure::Matrix {
        title: format!(
            "Similarity of {} landscapes ({})",
            m.labels.len(),
            m.measure.label()
        ),
        labels: m.labels.clone(),
        values: m.values.clone(),
        range,
    };
    let mut key = vec![
        ("measure".to_string(), m.measure.label()),
        ("landscapes".to_string(), m.labels.join(", ")),
    ];
    for (i, a) in m.labels.iter().enumerate() {
        for (j, b) in m.labels.iter().enumerate().skip(i + 1) {
            key.push((
                format!("{a} vs {b}"),
                format!(
                    "{} ({} shared configurations)",
                    cell_text(m.values[i][j]),
                    m.n_shared[i][j]
                ),
            ));
        }
    }
    render(&fig, &key, format, out, opts)
}

/// The text of a similarity cell: two decimals, or `n/a` when undefined.
fn cell_text(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.2}"))
}

fn lon_figure(
    l: &Landscape,
    perturbations: usize,
    max_nodes: usize,
    seed: u64,
) -> Result<(Figure, Vec<(String, String)>)> {
    if perturbations == 0 {
        return Err(Error::Plot(
            "the LON needs at least one perturbation per optimum".into(),
        ));
    }
    if max_nodes == 0 {
        return Err(Error::Plot("--max-nodes must be at least 1".into()));
    }
    let scores = l.scores();
    let imp = metrics::improvement(l, &scores);
    let local = imp.local_optima();
    let b = metrics::basins(&imp.next);
    let g = lon::lon_graph(l, &b, &local, perturbations, seed);
    let go = metrics::global_optima(&scores);
    // The largest basins first (ties: smaller id), then make room for every global
    // optimum.
    let mut chosen = local.clone();
    chosen.sort_by(|&x, &y| b.size[y].cmp(&b.size[x]).then(x.cmp(&y)));
    chosen.truncate(max_nodes);
    for &o in &go {
        if !chosen.contains(&o) {
            if chosen.len() >= max_nodes {
                let drop = chosen
                    .iter()
                    .rposition(|c| !go.contains(c))
                    .expect("fewer global optima than nodes");
                chosen.remove(drop);
            }
            chosen.push(o);
        }
    }
    chosen.sort_unstable();
    let pos = |id: u32| chosen.binary_search(&(id as usize)).ok();
    let mut edges: Vec<(usize, usize, u32)> = g
        .edges
        .iter()
        .filter_map(|e| Some((pos(e.from)?, pos(e.to)?, e.weight)))
        .collect();
    edges.sort_unstable();
    let max_w = edges.iter().map(|e| e.2).max().unwrap_or(1).max(1) as f64;
    let f = l.fitness();
    let xs = lon_layout(
        chosen.len(),
        &chosen.iter().map(|&c| scores[c]).collect::<Vec<_>>(),
        &edges,
        seed,
    );
    let max_basin = chosen.iter().map(|&c| b.size[c]).max().unwrap_or(1).max(1) as f64;
    let nodes = chosen
        .iter()
        .zip(&xs)
        .map(|(&c, &x)| LonNode {
            x,
            fitness: f[c],
            radius: 2 + (7.0 * (b.size[c] as f64).ln() / max_basin.ln().max(1e-9)).round() as u32,
            global: go.contains(&c),
        })
        .collect::<Vec<_>>();
    let n_improving = edges
        .iter()
        .filter(|e| scores[chosen[e.1]] > scores[chosen[e.0]])
        .count();
    let fig_edges = edges
        .iter()
        .map(|&(a, c, w)| LonFigEdge {
            from: a,
            to: c,
            strength: w as f64 / max_w,
            improving: scores[chosen[c]] > scores[chosen[a]],
        })
        .collect();
    let key = vec![
        ("local optima".into(), local.len().to_string()),
        (
            "drawn".into(),
            format!("{} (largest basins; global optima always)", chosen.len()),
        ),
        ("escape edges (all)".into(), g.edges.len().to_string()),
        ("escape edges drawn".into(), edges.len().to_string()),
        ("improving edges drawn".into(), n_improving.to_string()),
        (
            "perturbations per optimum".into(),
            perturbations.to_string(),
        ),
        ("seed".into(), seed.to_string()),
    ];
    Ok((
        Figure::Lon {
            title: format!(
                "Local optima network: {} of {} optima, {} of {} edges",
                chosen.len(),
                local.len(),
                edges.len(),
                g.edges.len()
            ),
            y_label: l.fitness_name().to_string(),
            nodes,
            edges: fig_edges,
        },
        key,
    ))
}

/// Horizontal positions of the LON nodes in [0, 1]: a seeded 1-D Fruchterman–Reingold
/// layout (the vertical position is the fitness, fixed). Repulsion `k²/d` acts along
/// the 2-D distance between nodes (fitness scaled to [0, 1]), attraction `d²/k`
/// along the undirected edges, times `1 + ln w`; the step is capped by a
/// temperature that cools linearly over 200 rounds and x stays in [0, 1].
/// Sequential, so deterministic.
fn lon_layout(n: usize, scores: &[f64], edges: &[(usize, usize, u32)], seed: u64) -> Vec<f64> {
    if n == 1 {
        return vec![0.5];
    }
    let (lo, hi) = scores
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let y: Vec<f64> = scores
        .iter()
        .map(|&v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4c41_594f);
    let mut x: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
    let k = (1.0 / n as f64).sqrt();
    let rounds = 200;
    let mut disp = vec![0.0; n];
    for round in 0..rounds {
        let temp = 0.1 * (1.0 - round as f64 / rounds as f64);
        disp.iter_mut().for_each(|d| *d = 0.0);
        for i in 0..n {
            for j in (i + 1)..n {
                let dx = x[i] - x[j];
                let dy = y[i] - y[j];
                let d = (dx * dx + dy * dy).sqrt().max(1e-3);
                let f = k * k / d * (dx / d);
                disp[i] += f;
                disp[j] -= f;
            }
        }
        for &(a, b, w) in edges {
            let dx = x[a] - x[b];
            let dy = y[a] - y[b];
            let d = (dx * dx + dy * dy).sqrt().max(1e-3);
            let f = d * d / k * (dx / d) * (1.0 + (w as f64).ln());
            disp[a] -= f;
            disp[b] += f;
        }
        // Kept in the frame [0, 1], so that a node without drawn edges is not
        // pushed far away (which would squash the others after rescaling).
        for (xi, &d) in x.iter_mut().zip(&disp) {
            *xi = (*xi + d.clamp(-temp, temp)).clamp(0.0, 1.0);
        }
    }
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    x.iter()
        .map(|&v| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 })
        .collect()
}

fn embedding_figure(
    l: &Landscape,
    options: &EmbeddingOptions,
    (nx, ny): (usize, usize),
    neighbours: usize,
    max_points: usize,
) -> Result<(Figure, Vec<(String, String)>)> {
    if nx < 2 || ny < 2 || nx * ny > 4_000_000 {
        return Err(Error::Plot(format!(
            "the raster must be at least 2 × 2 and at most 4,000,000 cells, got {nx} × {ny}"
        )));
    }
    if neighbours == 0 {
        return Err(Error::Plot(
            "the interpolation needs at least one neighbour".into(),
        ));
    }
    let e = embedding::embed(l, options)?;
    let scores = l.scores();
    let rank = embedding::rank_scores(&scores);
    let (x0, x1) = range_of(e.coords.iter().map(|c| c[0]));
    let (y0, y1) = range_of(e.coords.iter().map(|c| c[1]));
    let raster = embedding::idw_raster(&e.coords, &rank, (x0, x1), (y0, y1), nx, ny, neighbours);
    let n = l.len();
    let stride = n.div_ceil(max_points.max(1));
    let points: Vec<[f64; 2]> = e.coords.iter().step_by(stride).copied().collect();
    let go = metrics::global_optima(&scores);
    let best = go.iter().map(|&g| e.coords[g]).collect();
    let key = vec![
        ("HOPE dimension".into(), e.hope_dim.to_string()),
        ("Katz β".into(), format!("{:.4}", e.beta)),
        (
            "Katz eigenvalues λ₁, λ₂, λ₃".into(),
            format!(
                "{:.4}, {:.4}, {:.4}",
                e.eigenvalues[0], e.eigenvalues[1], e.eigenvalues[2]
            ),
        ),
        (
            "raster".into(),
            format!("{nx} × {ny}, {neighbours}-NN inverse-distance weighting"),
        ),
        (
            "configurations drawn".into(),
            format!("{} of {n}", points.len()),
        ),
        ("global optima".into(), go.len().to_string()),
        ("seed".into(), options.seed.to_string()),
    ];
    Ok((
        Figure::Surface {
            title: format!("Fitness rank over the HOPE graph embedding ({n} configurations)"),
            x_label: "ψ₂ (2nd Katz-HOPE axis, D^-1/2 scaled)".into(),
            y_label: "ψ₃".into(),
            x_range: (x0, x1),
            y_range: (y0, y1),
            nx,
            ny,
            raster,
            points,
            best,
        },
        key,
    ))
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
        | Figure::Heatmap { title, .. }
        | Figure::Lon { title, .. }
        | Figure::Surface { title, .. }
        | Figure::Matrix { title, .. } => title,
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
        Figure::Lon {
            title,
            y_label,
            nodes,
            edges,
        } => {
            let (c0, c1) = range_of(nodes.iter().map(|n| n.fitness));
            let (y0, y1) = (c0, c1);
            let (main, legend) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
            let mut chart = ChartBuilder::on(&main)
                .caption(title, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(20)
                .y_label_area_size(70)
                .build_cartesian_2d(-0.04..1.04, y0..y1)
                .map_err(e)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_x_axis()
                .max_light_lines(0)
                .y_desc(y_label)
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 16))
                .draw()
                .map_err(e)?;
            // Data units per pixel, to draw arrowheads of a fixed pixel size.
            let (w, h) = chart.plotting_area().dim_in_pixel();
            let (sx, sy) = (1.08 / w.max(1) as f64, (y1 - y0) / h.max(1) as f64);
            let improving = RGBColor(30, 90, 200);
            let worsening = RGBColor(215, 90, 30);
            for want_improving in [false, true] {
                let col = if want_improving { improving } else { worsening };
                let mine: Vec<&LonFigEdge> = edges
                    .iter()
                    .filter(|x| x.improving == want_improving)
                    .collect();
                let series = chart
                    .draw_series(mine.iter().map(|x| {
                        let (a, b) = (&nodes[x.from], &nodes[x.to]);
                        let style = col
                            .mix(0.15 + 0.6 * x.strength)
                            .stroke_width(1 + (2.0 * x.strength).round() as u32);
                        PathElement::new(vec![(a.x, a.fitness), (b.x, b.fitness)], style)
                    }))
                    .map_err(e)?;
                series
                    .label(if want_improving {
                        "improving escape"
                    } else {
                        "worsening or neutral escape"
                    })
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                    });
                chart
                    .draw_series(mine.iter().map(|x| {
                        let (a, b) = (&nodes[x.from], &nodes[x.to]);
                        // Direction in pixels, from the target back towards the source.
                        let (dx, dy) = ((a.x - b.x) / sx, (a.fitness - b.fitness) / sy);
                        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
                        let (ux, uy) = (dx / len, dy / len);
                        let back = b.radius as f64 + 1.0;
                        let tip = (b.x + ux * back * sx, b.fitness + uy * back * sy);
                        let base = (tip.0 + ux * 8.0 * sx, tip.1 + uy * 8.0 * sy);
                        let side = (-uy * 3.5, ux * 3.5);
                        Polygon::new(
                            vec![
                                tip,
                                (base.0 + side.0 * sx, base.1 + side.1 * sy),
                                (base.0 - side.0 * sx, base.1 - side.1 * sy),
                            ],
                            col.mix(0.3 + 0.6 * x.strength).filled(),
                        )
                    }))
                    .map_err(e)?;
            }
            let mut order: Vec<&LonNode> = nodes.iter().collect();
            order.sort_by(|a, b| a.fitness.total_cmp(&b.fitness));
            chart
                .draw_series(order.iter().map(|n| {
                    Circle::new(
                        (n.x, n.fitness),
                        n.radius,
                        colour(n.fitness, c0, c1).filled(),
                    )
                }))
                .map_err(e)?;
            chart
                .draw_series(
                    nodes
                        .iter()
                        .filter(|n| n.global)
                        .map(|n| Circle::new((n.x, n.fitness), n.radius + 3, RED.stroke_width(2))),
                )
                .map_err(e)?
                .label("global optimum")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(e)?;
            colour_bar(&legend, c0, c1).map_err(e)?;
        }
        Figure::Surface {
            title,
            x_label,
            y_label,
            x_range,
            y_range,
            nx,
            ny,
            raster,
            points,
            best,
        } => {
            let (main, legend) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
            let (x0, x1) = *x_range;
            let (y0, y1) = *y_range;
            let mut chart = ChartBuilder::on(&main)
                .caption(title, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(e)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 15))
                .draw()
                .map_err(e)?;
            let (cw, ch) = ((x1 - x0) / *nx as f64, (y1 - y0) / *ny as f64);
            chart
                .draw_series(raster.iter().enumerate().map(|(c, &v)| {
                    let (i, j) = ((c % nx) as f64, (c / nx) as f64);
                    Rectangle::new(
                        [
                            (x0 + i * cw, y0 + j * ch),
                            (x0 + (i + 1.0) * cw, y0 + (j + 1.0) * ch),
                        ],
                        colour(v, 0.0, 1.0).filled(),
                    )
                }))
                .map_err(e)?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new((p[0], p[1]), 1, BLACK.mix(0.35).filled())),
                )
                .map_err(e)?;
            chart
                .draw_series(
                    best.iter()
                        .map(|p| TriangleMarker::new((p[0], p[1]), 9, RED.filled())),
                )
                .map_err(e)?
                .label("global optimum")
                .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, RED.filled()));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(e)?;
            colour_bar(&legend, 0.0, 1.0).map_err(e)?;
        }
        Figure::Matrix {
            title,
            labels,
            values,
            range,
        } => {
            let k = labels.len() as i32;
            let (main, legend) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
            let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
            let mut chart = ChartBuilder::on(&main)
                .caption(title, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size((8 * longest as u32).clamp(40, 220))
                .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
                .map_err(e)?;
            let label = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(labels.len())
                .y_labels(labels.len())
                .x_label_formatter(&label)
                .y_label_formatter(&|v| match v {
                    // Row 0 at the top.
                    SegmentValue::CenterOf(i) => labels
                        .get((k - 1 - *i) as usize)
                        .cloned()
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(e)?;
            let (lo, hi) = *range;
            let cells: Vec<(i32, i32, Option<f64>)> = values
                .iter()
                .enumerate()
                .flat_map(|(i, row)| {
                    row.iter()
                        .enumerate()
                        .map(move |(j, &v)| (j as i32, k - 1 - i as i32, v))
                })
                .collect();
            chart
                .draw_series(cells.iter().map(|&(x, y, v)| {
                    let fill = match v {
                        Some(v) => colour(v.clamp(lo, hi), lo, hi).filled(),
                        None => RGBColor(220, 220, 220).filled(),
                    };
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                        ],
                        fill,
                    )
                }))
                .map_err(e)?;
            chart
                .draw_series(cells.iter().map(|&(x, y, v)| {
                    let bright = v.is_none_or(|v| (v - lo) / (hi - lo) > 0.6);
                    let style = TextStyle::from(("sans-serif", 16).into_font())
                        .color(if bright { &BLACK } else { &WHITE })
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    Text::new(
                        cell_text(v),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        style,
                    )
                }))
                .map_err(e)?;
            colour_bar(&legend, lo, hi).map_err(e)?;
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
