//! `auto`: picks a sampler for the study by a documented rule, then delegates to it.
//!
//! The first `n_startup` trials (default 10, fewer for tiny budgets) are scrambled
//! Sobol points. At the first ask after them, [`choose`] looks at the space (the
//! declared one, else what the trials used), the number of objectives and the optional
//! budget hint, and names a sampler; it is built with [`sampler_by_name`], so the rule
//! degrades to what is registered (`gp`, `cmaes` when present, TPE otherwise). See
//! `docs/samplers.md` for the rule and the benchmark behind it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use super::{fresh_seed, sampler_by_name, Sampler, SobolSampler, TrialContext, SAMPLERS};
use crate::error::Result;
use crate::param::{Distribution, ParamValue};
use crate::space::{SearchSpace, SpaceDecl};
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// Multi-objective budgets below this go to MOTPE, larger ones to NSGA-II (on ZDT1,
/// MOTPE leads at 500 and 750 trials, NSGA-II from 1,000: `benches/evolution.rs`).
pub const MO_TPE_MAX_BUDGET: usize = 1000;
/// Unconditional budgets up to this go to GP (when registered).
pub const GP_MAX_BUDGET: usize = 200;
/// Unconditional spaces of up to this many parameters go to GP (when registered).
pub const GP_MAX_DIM: usize = 20;
/// Continuous budgets from this go to CMA-ES (when registered).
pub const CMAES_MIN_BUDGET: usize = 1000;

/// What the rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct AutoInput<'a> {
    pub space: &'a SearchSpace,
    /// Some parameters exist only in some trials (a declared `when`, or seen so).
    pub conditional: bool,
    /// The conditions are declared (so the chosen sampler is given them), not only
    /// seen in the trials.
    pub declared_conditions: bool,
    pub n_objectives: usize,
    /// Total trials the study is expected to run, if known.
    pub budget: Option<usize>,
}

/// The rule. `available` are the registered sampler names ([`SAMPLERS`]).
///
/// 1. Several objectives: `tpe-multivariate` (MOTPE) when the budget is known and below
///    [`MO_TPE_MAX_BUDGET`], otherwise `nsga2`.
/// 2. Conditional: `gp` if registered when the conditions are declared and rule 3's
///    limits hold (the GP imputes inactive parameters; measured on `branin-conditional`
///    and `jenatton`); otherwise `tpe-group`.
/// 3. At most [`GP_MAX_DIM`] parameters of any kind (numbers, categoricals or both) and
///    a known budget up to [`GP_MAX_BUDGET`]: `gp` if registered.
/// 4. All categorical: `tpe-group`; any categorical (a mixed space): `tpe-multivariate`.
/// 5. Numbers only and a known budget of at least [`CMAES_MIN_BUDGET`]: `cmaes` if
///    registered.
/// 6. Otherwise (and as the fallback of 3 and 5): `tpe-multivariate`.
pub fn choose(input: &AutoInput<'_>, available: &[&str]) -> &'static str {
    let has = |n: &str| available.contains(&n);
    if input.n_objectives > 1 {
        return match input.budget {
            Some(b) if b < MO_TPE_MAX_BUDGET => "tpe-multivariate",
            _ if has("nsga2") => "nsga2",
            _ => "tpe-multivariate",
        };
    }
    let n_cat = input
        .space
        .iter()
        .filter(|(_, d)| d.is_categorical())
        .count();
    let small = input
        .budget
        .is_some_and(|b| b <= GP_MAX_BUDGET && input.space.len() <= GP_MAX_DIM);
    if input.conditional {
        return if input.declared_conditions && small && has("gp") {
            "gp"
        } else {
            "tpe-group"
        };
    }
    match input.budget {
        _ if small && has("gp") => "gp",
        _ if n_cat > 0 && n_cat == input.space.len() => "tpe-group",
        _ if n_cat > 0 => "tpe-multivariate",
        Some(b) if b >= CMAES_MIN_BUDGET && has("cmaes") => "cmaes",
        _ => "tpe-multivariate",
    }
}

/// Builds an [`AutoSampler`].
#[derive(Debug, Clone, Default)]
pub struct AutoBuilder {
    seed: Option<u64>,
    budget: Option<usize>,
    space: Option<SpaceDecl>,
    n_startup: Option<usize>,
}

impl AutoBuilder {
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
    /// Expected number of trials (a hint for the rule).
    pub fn budget(mut self, n: Option<usize>) -> Self {
        self.budget = n;
        self
    }
    /// The declared space, if any (its `when` conditions mark it conditional).
    pub fn space(mut self, space: Option<SpaceDecl>) -> Self {
        self.space = space;
        self
    }
    /// Sobol trials before delegating (default `min(10, max(budget / 10, 2))`).
    pub fn n_startup(mut self, n: usize) -> Self {
        self.n_startup = Some(n);
        self
    }
    pub fn build(self) -> AutoSampler {
        let seed = self.seed.unwrap_or_else(fresh_seed);
        let n_startup = self
            .n_startup
            .unwrap_or_else(|| self.budget.map_or(10, |b| (b / 10).clamp(2, 10)));
        AutoSampler {
            seed,
            budget: self.budget,
            space: self.space,
            n_startup,
            available: SAMPLERS.to_vec(),
            startup: SobolSampler::new(Some(seed)),
            delegate: None,
            chosen: ChosenHandle::default(),
        }
    }
}

/// Delegates to the sampler [`choose`] names. Build with [`AutoSampler::builder`].
pub struct AutoSampler {
    seed: u64,
    budget: Option<usize>,
    space: Option<SpaceDecl>,
    n_startup: usize,
    available: Vec<&'static str>,
    startup: SobolSampler,
    delegate: Option<Box<dyn Sampler>>,
    chosen: ChosenHandle,
}

/// Shows which sampler an [`AutoSampler`] chose, after the study took ownership of it.
#[derive(Debug, Clone, Default)]
pub struct ChosenHandle(Arc<OnceLock<String>>);

impl ChosenHandle {
    /// The chosen sampler's registered name (`tpe-group`, `nsga2`, ...), once chosen.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

impl std::fmt::Debug for AutoSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoSampler")
            .field("seed", &self.seed)
            .field("budget", &self.budget)
            .field("n_startup", &self.n_startup)
            .field("chosen", &self.chosen())
            .finish_non_exhaustive()
    }
}

impl AutoSampler {
    pub fn builder() -> AutoBuilder {
        AutoBuilder::default()
    }
    /// The registered name of the sampler delegated to, once chosen.
    pub fn chosen(&self) -> Option<&str> {
        self.chosen.get()
    }

    /// A handle that shows the choice later (the study owns the sampler).
    pub fn chosen_handle(&self) -> ChosenHandle {
        self.chosen.clone()
    }

    /// The rule's input as this study shows it now.
    fn input<'s>(&self, view: &StudyView<'_>, space: &'s mut SearchSpace) -> AutoInput<'s> {
        let declared_conditions = self.space.as_ref().is_some_and(|d| d.is_conditional());
        let mut conditional = declared_conditions;
        if let Some(d) = &self.space {
            *space = d.search_space();
        } else if let Some(d) = view.declared_space() {
            *space = d.clone();
        } else {
            let inter = view.intersection_space();
            let mut union: BTreeMap<String, Distribution> = BTreeMap::new();
            for t in view.trials() {
                for (k, d) in &t.distributions {
                    union.entry(k.clone()).or_insert_with(|| d.clone());
                }
            }
            let names: BTreeSet<&String> = inter.names().collect();
            conditional |= union.keys().any(|k| !names.contains(k));
            *space = SearchSpace(union);
        }
        AutoInput {
            space,
            conditional,
            declared_conditions,
            n_objectives: view.directions().len(),
            budget: self.budget,
        }
    }

    fn delegate(&mut self, view: &StudyView<'_>, number: u64) -> Result<&mut dyn Sampler> {
        if number < self.n_startup as u64 && self.delegate.is_none() {
            return Ok(&mut self.startup);
        }
        if self.delegate.is_none() {
            let mut space = SearchSpace::default();
            let name = choose(&self.input(view, &mut space), &self.available);
            let seed = Some(self.seed ^ 0x5bd1_e995);
            let (name, s) = match sampler_by_name(name, seed, self.space.as_ref()) {
                Ok(s) => (name, s),
                Err(_) => (
                    "tpe-multivariate",
                    sampler_by_name("tpe-multivariate", seed, None)?,
                ),
            };
            let _ = self.chosen.0.set(name.to_string());
            self.delegate = Some(s);
        }
        Ok(self.delegate.as_deref_mut().expect("set above"))
    }
}

impl Sampler for AutoSampler {
    fn name(&self) -> &str {
        "auto"
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
    ) -> SearchSpace {
        match self.delegate(view, trial.number) {
            Ok(s) => s.infer_relative_search_space(view, trial),
            Err(_) => SearchSpace::default(),
        }
    }

    fn sample_relative(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        self.delegate(view, trial.number)?
            .sample_relative(view, trial, space)
    }

    fn sample_independent(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue> {
        self.delegate(view, trial.number)?
            .sample_independent(view, trial, name, distribution)
    }

    fn after_trial(&mut self, view: &StudyView<'_>, trial: &FrozenTrial) {
        if let Some(d) = self.delegate.as_mut() {
            d.after_trial(view, trial);
        }
    }
}
