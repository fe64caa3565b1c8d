//! Validation shared by commands: storage, space files, samplers, directions, studies.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hyperscape_core::sampler::SAMPLERS;
use hyperscape_core::{
    Direction, Error, HeartbeatConfig, Pruner, PrunerOptions, Sampler, SpaceDecl, Storage, Study,
};

use crate::cli::DirectionArg;

/// Opens the storage named by `url`.
pub fn open_storage(url: &str) -> Result<Arc<dyn Storage>> {
    hyperscape_core::open_storage(url)
        .map_err(|e| anyhow::anyhow!(redact(&e.to_string())))
        .with_context(|| format!("cannot open storage `{}`", redact(url)))
}

/// `text` with the passwords of any URLs in it (`scheme://user:PASSWORD@host`) and of
/// libpq-style `password=...` settings replaced by `***`. Every storage URL the CLI
/// prints goes through this, and so does every error message (see `main`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The URL starts at its scheme (letters, digits, `+`, `-`, `.`) and ends at a
        // blank or a quote; core's `redact_url` hides its password.
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |j| j + 1);
        let end = rest[i..]
            .find(|c: char| "`'\"<>".contains(c) || c.is_whitespace())
            .map_or(rest.len(), |j| i + j);
        out.push_str(&rest[..start]);
        out.push_str(&hyperscape_core::storage::redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    redact_key_values(&out)
}

/// `password=secret` (libpq connection strings) -> `password=***`.
fn redact_key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        out.push_str(&rest[..i + "password=".len()]);
        rest = &rest[i + "password=".len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "&;`'\"".contains(c))
            .unwrap_or(rest.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Reads and validates a space file.
pub fn load_space(path: &Path) -> Result<SpaceDecl> {
    if !path.exists() {
        bail!("space file `{}` does not exist", path.display());
    }
    SpaceDecl::from_file(path)
        .with_context(|| format!("cannot load space file `{}`", path.display()))
}

/// Builds the named sampler for `space`.
/// `budget`: the trials this run will ask for, when known (`auto` chooses with it).
pub fn sampler(
    name: &str,
    seed: Option<u64>,
    space: &SpaceDecl,
    budget: Option<usize>,
) -> Result<Box<dyn Sampler>> {
    if !SAMPLERS.contains(&name) {
        bail!(
            "unknown sampler `{name}` (available: {})",
            SAMPLERS.join(", ")
        );
    }
    hyperscape_core::sampler::sampler_by_name_with_budget(name, seed, Some(space), budget)
        .with_context(|| format!("sampler `{name}`"))
}

/// Builds the named pruner with its settings.
pub fn pruner(name: &str, options: &PrunerOptions) -> Result<Box<dyn Pruner>> {
    hyperscape_core::pruner_by_name(name, options)
        .map_err(|e| anyhow::anyhow!("{}", pruner_message(&e.to_string())))
}

/// Core's messages name settings in `snake_case`; the CLI shows its flags.
fn pruner_message(text: &str) -> String {
    let mut out = text
        .trim_start_matches("invalid pruner settings: ")
        .to_string();
    for (key, flag) in PRUNER_FLAGS {
        out = out.replace(&format!("`{key}`"), &format!("`--{flag}`"));
    }
    format!("--pruner: {out}")
}

/// Core setting names and the flags of `hyperscape run` that set them.
pub const PRUNER_FLAGS: &[(&str, &str)] = &[
    ("n_startup_trials", "pruner-startup-trials"),
    ("n_warmup_steps", "pruner-warmup-steps"),
    ("interval_steps", "pruner-interval-steps"),
    ("n_min_trials", "pruner-min-trials"),
    ("percentile", "percentile"),
    ("patience", "patience"),
    ("min_delta", "min-delta"),
    ("wrapped", "patient-wraps"),
    ("lower", "lower"),
    ("upper", "upper"),
    ("min_resource", "min-resource"),
    ("max_resource", "max-resource"),
    ("reduction_factor", "reduction-factor"),
    ("min_early_stopping_rate", "min-early-stopping-rate"),
    ("bootstrap_count", "bootstrap-count"),
    ("p_threshold", "p-threshold"),
    ("n_startup_steps", "startup-steps"),
    ("dominated_fraction", "dominated-fraction"),
];

/// Directions requested: the flag wins over the space file; `None` lets an existing study
/// keep its own (a new one minimises).
pub fn requested_directions(
    flag: Option<DirectionArg>,
    space: &SpaceDecl,
) -> Option<Vec<Direction>> {
    match flag {
        Some(f) => Some(vec![to_direction(f)]),
        None => space.directions.clone(),
    }
}

pub fn to_direction(d: DirectionArg) -> Direction {
    match d {
        DirectionArg::Minimize => Direction::Minimize,
        DirectionArg::Maximize => Direction::Maximize,
    }
}

pub fn fmt_directions(d: &[Direction]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is needed to create or resume a study.
pub struct OpenStudy<'a> {
    pub name: &'a str,
    pub storage: Arc<dyn Storage>,
    pub directions: Option<Vec<Direction>>,
    pub sampler: Box<dyn Sampler>,
    pub heartbeat: Option<HeartbeatConfig>,
    /// The declared space: joint samplers (Sobol, TPE multivariate, ...) sample all of
    /// it from the first trial, and trial k's draw does not depend on thread timing.
    pub space: &'a SpaceDecl,
    /// `None`: no pruning.
    pub pruner: Option<Box<dyn Pruner>>,
    /// Where trials keep checkpoints (schedulers).
    pub checkpoint_root: Option<std::path::PathBuf>,
}

/// Creates the study, or resumes it when it exists (directions must agree).
pub fn create_or_load(spec: OpenStudy<'_>) -> Result<Study> {
    let mut b = Study::builder(spec.name)
        .storage(spec.storage)
        .boxed_sampler(spec.sampler)
        .space(spec.space.search_space())
        .load_if_exists(true);
    if let Some(d) = spec.directions {
        b = b.directions(d);
    }
    if let Some(h) = spec.heartbeat {
        b = b.heartbeat(h);
    }
    if let Some(p) = spec.pruner {
        b = b.boxed_pruner(p);
    }
    if let Some(root) = spec.checkpoint_root {
        b = b.checkpoint_root(root);
    }
    match b.build() {
        Ok(s) => Ok(s),
        Err(Error::DirectionMismatch {
            name,
            stored,
            requested,
        }) => bail!(
            "study `{name}` exists with direction(s) {}, but {} was requested \
             (use another --study name, or the study's direction)",
            fmt_directions(&stored),
            fmt_directions(&requested)
        ),
        Err(e) => Err(e).with_context(|| format!("cannot open study `{}`", spec.name)),
    }
}

/// Loads an existing study (an error names it when it does not exist).
pub fn load_existing(storage: Arc<dyn Storage>, name: &str) -> Result<Study> {
    match Study::load(name, storage) {
        Ok(s) => Ok(s),
        Err(Error::StudyNotFound(_)) => {
            bail!("study `{name}` does not exist (see `hyperscape studies`)")
        }
        Err(e) => Err(e).with_context(|| format!("cannot load study `{name}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://user:pass@host:5432/db"),
            "postgres://user:***@host:5432/db"
        );
        assert_eq!(
            redact("cannot open `postgresql://u:p@ss@h/db`: refused"),
            "cannot open `postgresql://u:***@h/db`: refused"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=x1&sslmode=require"),
            "postgresql://u@h/db?password=***&sslmode=require"
        );
        assert_eq!(
            redact("host=h password=x1 user=u"),
            "host=h password=*** user=u"
        );
        for same in [
            "sqlite:///tmp/a.db",
            "postgres://u@h/db",
            "memory:",
            "no url",
        ] {
            assert_eq!(redact(same), same);
        }
    }
}
