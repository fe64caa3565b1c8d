//! The landscape: configurations encoded as level indices, their fitness, and the
//! one-parameter neighbourhood graph (CSR adjacency).
//!
//! Two configurations are neighbours when they differ in exactly one parameter:
//! ordinal → adjacent levels (index ±1); categorical → any other level; boolean → the
//! other value. A grid with holes simply lacks the missing neighbours.

use std::collections::{BTreeMap, HashMap};

use hyperscape_core::ParamValue;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};

/// How the levels of a parameter relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// Numeric levels, sorted; neighbours are adjacent levels; distance |i − j|.
    Ordinal,
    /// Unordered levels; every other level is a neighbour; distance 0 or 1.
    Categorical,
    /// `false`/`true`; the neighbour is the flip; distance 0 or 1.
    Boolean,
}

/// One hyperparameter: its name, kind and levels (index = level code).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub levels: Vec<ParamValue>,
}

impl Param {
    /// An ordinal parameter with the given numeric levels (must be sorted).
    pub fn ordinal(name: &str, levels: Vec<ParamValue>) -> Self {
        Param {
            name: name.to_string(),
            kind: ParamKind::Ordinal,
            levels,
        }
    }
    /// An ordinal parameter with integer levels `0..n`.
    pub fn ordinal_range(name: &str, n: usize) -> Self {
        Self::ordinal(name, (0..n as i64).map(ParamValue::Int).collect())
    }
    /// A categorical parameter with string levels.
    pub fn categorical(name: &str, levels: &[&str]) -> Self {
        Param {
            name: name.to_string(),
            kind: ParamKind::Categorical,
            levels: levels
                .iter()
                .map(|s| ParamValue::Str(s.to_string()))
                .collect(),
        }
    }
    /// A boolean parameter (levels `false`, `true`).
    pub fn boolean(name: &str) -> Self {
        Param {
            name: name.to_string(),
            kind: ParamKind::Boolean,
            levels: vec![ParamValue::Bool(false), ParamValue::Bool(true)],
        }
    }
}

/// Largest number of levels of one parameter (codes are `u32`; the dense-index
/// arithmetic stays in `u64`).
pub const MAX_LEVELS: usize = 1 << 24;

/// Configuration lookup: mixed-radix key → configuration id.
#[derive(Debug, Clone)]
enum Index {
    /// `slots[key]` is the id or `u32::MAX` (a hole); used when the full grid is at
    /// most 4× the number of configurations (plus slack).
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32>),
}

const ABSENT: u32 = u32::MAX;

/// A landscape over a (possibly incomplete) grid.
#[derive(Debug, Clone)]
pub struct Landscape {
    params: Vec<Param>,
    fitness_name: String,
    maximize: bool,
    /// Row-major `n × d` level codes.
    codes: Vec<u32>,
    fitness: Vec<f64>,
    /// Mixed-radix strides (last parameter fastest).
    strides: Vec<u64>,
    grid_size: u64,
    keys: Vec<u64>,
    index: Index,
    /// CSR adjacency: neighbours of `i` are `adj[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    adj: Vec<u32>,
}

impl Landscape {
    /// Builds a landscape from level codes (`n × d`, row-major) and fitness values.
    /// Errors on codes out of range, non-finite fitness or duplicate configurations.
    pub fn new(
        params: Vec<Param>,
        codes: Vec<u32>,
        fitness: Vec<f64>,
        fitness_name: &str,
        maximize: bool,
    ) -> Result<Self> {
        let d = params.len();
        if d == 0 {
            return Err(Error::Invalid("no parameter".into()));
        }
        let n = fitness.len();
        if codes.len() != n * d {
            return Err(Error::Invalid(format!(
                "{} codes for {n} configurations of {d} parameters",
                codes.len()
            )));
        }
        if n == 0 {
            return Err(Error::Empty { dropped: 0 });
        }
        if n >= ABSENT as usize {
            return Err(Error::Invalid("more than 2^32 - 1 configurations".into()));
        }
        if let Some(i) = fitness.iter().position(|f| !f.is_finite()) {
            return Err(Error::Invalid(format!(
                "configuration {i} has the non-finite fitness {}",
                fitness[i]
            )));
        }
        for p in &params {
            if p.levels.is_empty() || p.levels.len() > MAX_LEVELS {
                return Err(Error::TooManyLevels {
                    column: p.name.clone(),
                    levels: p.levels.len(),
                    max: MAX_LEVELS,
                });
            }
            if p.kind == ParamKind::Boolean && p.levels.len() > 2 {
                return Err(Error::Invalid(format!(
                    "boolean parameter `{}` has more than two levels",
                    p.name
                )));
            }
        }
        let mut strides = vec![1u64; d];
        let mut grid_size: u64 = 1;
        for k in (0..d).rev() {
            strides[k] = grid_size;
            grid_size = grid_size
                .checked_mul(params[k].levels.len() as u64)
                .ok_or(Error::GridTooLarge)?;
        }
        let keys: Vec<u64> = codes
            .par_chunks(d)
            .map(|c| c.iter().zip(&strides).map(|(&c, &s)| c as u64 * s).sum())
            .collect();
        for (i, c) in codes.chunks(d).enumerate() {
            for (k, &v) in c.iter().enumerate() {
                if v as usize >= params[k].levels.len() {
                    return Err(Error::Invalid(format!(
                        "configuration {i}: level {v} of `{}` out of range",
                        params[k].name
                    )));
                }
            }
        }
        let dense_ok = grid_size <= (4 * n as u64).saturating_add(1 << 16);
        let index = if dense_ok {
            let mut slots = vec![ABSENT; grid_size as usize];
            for (i, &k) in keys.iter().enumerate() {
                if slots[k as usize] != ABSENT {
                    return Err(Error::Invalid(format!(
                        "configurations {} and {i} are the same",
                        slots[k as usize]
                    )));
                }
                slots[k as usize] = i as u32;
            }
            Index::Dense(slots)
        } else {
            let mut map = HashMap::with_capacity(n);
            for (i, &k) in keys.iter().enumerate() {
                if let Some(j) = map.insert(k, i as u32) {
                    return Err(Error::Invalid(format!(
                        "configurations {j} and {i} are the same"
                    )));
                }
            }
            Index::Sparse(map)
        };
        let mut l = Landscape {
            params,
            fitness_name: fitness_name.to_string(),
            maximize,
            codes,
            fitness,
            strides,
            grid_size,
            keys,
            index,
            offsets: Vec::new(),
            adj: Vec::new(),
        };
        l.build_adjacency();
        Ok(l)
    }

    /// The full grid of `params`, fitness computed by `f(codes)`.
    pub fn full_grid(
        params: Vec<Param>,
        fitness_name: &str,
        maximize: bool,
        f: impl Fn(&[u32]) -> f64 + Sync,
    ) -> Result<Self> {
        let d = params.len();
        let radices: Vec<u32> = params.iter().map(|p| p.levels.len() as u32).collect();
        let total = radices
            .iter()
            .try_fold(1usize, |a, &r| a.checked_mul(r as usize))
            .ok_or(Error::GridTooLarge)?;
        let mut codes = vec![0u32; total * d];
        codes.par_chunks_mut(d).enumerate().for_each(|(i, c)| {
            let mut rest = i;
            for k in (0..d).rev() {
                c[k] = (rest % radices[k] as usize) as u32;
                rest /= radices[k] as usize;
            }
        });
        let fitness: Vec<f64> = codes.par_chunks(d).map(&f).collect();
        Self::new(params, codes, fitness, fitness_name, maximize)
    }

    fn lookup_key(&self, key: u64) -> Option<u32> {
        match &self.index {
            Index::Dense(s) => {
                let v = *s.get(key as usize)?;
                (v != ABSENT).then_some(v)
            }
            Index::Sparse(m) => m.get(&key).copied(),
        }
    }

    /// Calls `f(j)` for every neighbour of the configuration with key `key`, codes `c`.
    fn for_each_neighbour(&self, key: u64, c: &[u32], mut f: impl FnMut(u32)) {
        for (k, p) in self.params.iter().enumerate() {
            let s = self.strides[k];
            let v = c[k] as u64;
            let base = key - v * s;
            match p.kind {
                ParamKind::Ordinal => {
                    if v > 0 {
                        if let Some(j) = self.lookup_key(base + (v - 1) * s) {
                            f(j);
                        }
                    }
                    if v + 1 < p.levels.len() as u64 {
                        if let Some(j) = self.lookup_key(base + (v + 1) * s) {
                            f(j);
                        }
                    }
                }
                ParamKind::Categorical | ParamKind::Boolean => {
                    for w in 0..p.levels.len() as u64 {
                        if w != v {
                            if let Some(j) = self.lookup_key(base + w * s) {
                                f(j);
                            }
                        }
                    }
                }
            }
        }
    }

    fn build_adjacency(&mut self) {
        let n = self.len();
        let d = self.params.len();
        let degrees: Vec<usize> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut deg = 0;
                self.for_each_neighbour(self.keys[i], &self.codes[i * d..(i + 1) * d], |_| {
                    deg += 1
                });
                deg
            })
            .collect();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0usize);
        let mut acc = 0;
        for &g in &degrees {
            acc += g;
            offsets.push(acc);
        }
        let mut adj = vec![0u32; acc];
        // Fill in parallel, one block of configurations per task.
        const BLOCK: usize = 4096;
        let mut blocks: Vec<(usize, &mut [u32])> = Vec::with_capacity(n / BLOCK + 1);
        let mut rest: &mut [u32] = &mut adj;
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            let (head, tail) = rest.split_at_mut(offsets[end] - offsets[start]);
            blocks.push((start, head));
            rest = tail;
            start = end;
        }
        let this = &*self;
        blocks.into_par_iter().for_each(|(start, out)| {
            let end = (start + BLOCK).min(n);
            let mut pos = 0;
            for i in start..end {
                this.for_each_neighbour(this.keys[i], &this.codes[i * d..(i + 1) * d], |j| {
                    out[pos] = j;
                    pos += 1;
                });
            }
        });
        self.offsets = offsets;
        self.adj = adj;
    }

    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.fitness.len()
    }
    /// Whether there is no configuration (never true for a built landscape).
    pub fn is_empty(&self) -> bool {
        self.fitness.is_empty()
    }
    pub fn params(&self) -> &[Param] {
        &self.params
    }
    pub fn fitness_name(&self) -> &str {
        &self.fitness_name
    }
    pub fn maximize(&self) -> bool {
        self.maximize
    }
    /// Raw fitness values, as loaded.
    pub fn fitness(&self) -> &[f64] {
        &self.fitness
    }
    /// Fitness oriented so that higher is better (`-fitness` when minimising).
    pub fn scores(&self) -> Vec<f64> {
        if self.maximize {
            self.fitness.clone()
        } else {
            self.fitness.iter().map(|f| -f).collect()
        }
    }
    /// Level codes of configuration `i`.
    pub fn codes(&self, i: usize) -> &[u32] {
        let d = self.params.len();
        &self.codes[i * d..(i + 1) * d]
    }
    /// Neighbours of configuration `i`.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.adj[self.offsets[i]..self.offsets[i + 1]]
    }
    /// Number of directed neighbour pairs (twice the number of undirected edges).
    pub fn n_directed_edges(&self) -> usize {
        self.adj.len()
    }
    /// Number of points of the full grid (product of the level counts).
    pub fn grid_size(&self) -> u64 {
        self.grid_size
    }
    /// Whether the mixed-radix box can be materialised as a dense array.
    pub(crate) fn dense_box(&self) -> bool {
        matches!(self.index, Index::Dense(_))
    }
    pub(crate) fn key(&self, i: usize) -> u64 {
        self.keys[i]
    }
    pub(crate) fn strides(&self) -> &[u64] {
        &self.strides
    }
    /// The configuration with these level codes, if present.
    pub fn find(&self, codes: &[u32]) -> Option<usize> {
        if codes.len() != self.params.len()
            || codes
                .iter()
                .zip(&self.params)
                .any(|(&c, p)| c as usize >= p.levels.len())
        {
            return None;
        }
        let key = codes
            .iter()
            .zip(&self.strides)
            .map(|(&c, &s)| c as u64 * s)
            .sum();
        self.lookup_key(key).map(|j| j as usize)
    }
    /// Parameter map (name → value) of configuration `i`.
    pub fn config(&self, i: usize) -> BTreeMap<String, ParamValue> {
        self.params
            .iter()
            .zip(self.codes(i))
            .map(|(p, &c)| (p.name.clone(), p.levels[c as usize].clone()))
            .collect()
    }
    /// Distance between configurations: Manhattan over ordinal level indices plus
    /// Hamming over categorical and boolean parameters.
    pub fn distance(&self, a: usize, b: usize) -> u32 {
        self.params
            .iter()
            .zip(self.codes(a).iter().zip(self.codes(b)))
            .map(|(p, (&x, &y))| match p.kind {
                ParamKind::Ordinal => x.abs_diff(y),
                _ => (x != y) as u32,
            })
            .sum()
    }
}
