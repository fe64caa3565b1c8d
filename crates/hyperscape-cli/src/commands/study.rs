//! `hyperscape study create | show`: studies that carry their objective.

use anyhow::{bail, Context, Result};
use hyperscape_core::sampler::fresh_seed;
use hyperscape_core::study::StudySpec;
use hyperscape_core::{Direction, Error, Study};

use crate::cli::{StudyCommand, StudyCreateArgs, StudyShowArgs};
use crate::common::{self, redact};
use crate::output;

pub fn execute(c: StudyCommand) -> Result<i32> {
    match c {
        StudyCommand::Create(a) => create(*a),
        StudyCommand::Show(a) => show(a),
    }
}

/// The spec `study create` stores, from its arguments.
fn spec_from_args(a: &StudyCreateArgs) -> Result<(StudySpec, Vec<Direction>)> {
    if a.command.first().is_none_or(|c| c.is_empty()) {
        bail!("no objective command given after `--`");
    }
    if a.n_trials == Some(0) {
        bail!("--n-trials must be at least 1");
    }
    if a.max_failed == Some(0) {
        bail!("--max-failed must be at least 1");
    }
    if let Some(t) = a.trial_timeout {
        if !(t.is_finite() && t > 0.0) {
            bail!("--trial-timeout must be a positive number of seconds, not {t}");
        }
    }
    let hb = a.heartbeat_interval;
    if !(hb.is_finite() && hb > 0.0) {
        bail!("--heartbeat-interval must be a positive number of seconds, not {hb}");
    }
    let space = common::load_space(&a.space)?;
    // Fail early on an unknown sampler or a grid that cannot be enumerated.
    common::sampler(&a.sampler.sampler, a.sampler.seed, &space, None)?;
    let directions =
        common::requested_directions(a.direction, &space).unwrap_or(vec![Direction::Minimize]);
    let mut spec = StudySpec::new(space, a.command.clone());
    spec.sampler = a.sampler.sampler.clone();
    // One seed for every worker: one Sobol sequence, one grid order.
    // Drawn seeds fit in 53 bits, so any JSON reader keeps them exact.
    spec.seed = Some(a.sampler.seed.unwrap_or_else(|| fresh_seed() >> 11));
    spec.n_trials = a.n_trials;
    spec.trial_timeout_secs = a.trial_timeout;
    spec.heartbeat_interval_secs = hb;
    spec.max_retry = a.max_retry;
    spec.max_failed = a.max_failed;
    let grace = a.pruner.prune_grace;
    if !(grace.is_finite() && grace >= 0.0) {
        bail!("--prune-grace must be a number of seconds >= 0, not {grace}");
    }
    spec.prune_grace_secs = Some(grace);
    match super::run::scheduler_config(&a.scheduler, &a.pruner.pruner, spec.seed)? {
        Some((name, o)) => {
            spec.scheduler = Some(name);
            spec.scheduler_options = o;
            // Every worker must see the same directory: stored absolute.
            let root = a
                .scheduler
                .checkpoint_root
                .clone()
                .unwrap_or_else(|| "hyperscape-checkpoints".into());
            spec.checkpoint_root = Some(std::path::absolute(&root).unwrap_or(root));
        }
        None => {
            let options = a.pruner.options();
            common::pruner(&a.pruner.pruner, &options)?;
            if a.pruner.pruner != "none" {
                spec.pruner = Some(a.pruner.pruner.clone());
                spec.pruner_options = options;
            }
            if let Some(root) = &a.scheduler.checkpoint_root {
                spec.checkpoint_root = Some(std::path::absolute(root).unwrap_or(root.clone()));
            }
        }
    }
    spec.validate().context("invalid study spec")?;
    Ok((spec, directions))
}

fn create(a: StudyCreateArgs) -> Result<i32> {
    let (spec, directions) = spec_from_args(&a)?;
    let url = redact(&a.storage.storage);
    let storage = common::open_storage(&a.storage.storage)?;
    let study = match Study::builder(&a.study)
        .storage(storage.clone())
        .directions(directions)
        .build()
    {
        Ok(s) => s,
        Err(Error::StudyExists(_)) if a.skip_if_exists => {
            eprintln!(
                "study `{}` already exists in `{url}`: skipped (--skip-if-exists)",
                a.study
            );
            return Ok(0);
        }
        Err(Error::StudyExists(_)) => bail!(
            "study `{}` already exists in `{url}` (choose another name, pass \
             --skip-if-exists, or delete it with `hyperscape delete --study {}`)",
            a.study,
            a.study
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot create study `{}`", a.study)),
    };
    if let Err(e) = spec.save(&storage, study.id()) {
        // Leave no half-made study behind: a worker would find it without its spec.
        let _ = storage.delete_study(study.id());
        return Err(e).with_context(|| format!("cannot store the spec of study `{}`", a.study));
    }
    let budget = match spec.budget()? {
        Some(n) if spec.sampler == "grid" && spec.n_trials.is_none_or(|m| m > n) => {
            format!("{n} trial(s) (every grid point once)")
        }
        Some(n) => format!("{n} trial(s)"),
        None => "none (workers stop on their own --trials)".into(),
    };
    output::out(&format!(
        "created study `{}` in `{url}`\n\
         sampler: {} (seed {})\n\
         budget: {budget}\n\
         start workers with: hyperscape worker --study {} --storage '{url}'\n",
        a.study,
        spec.sampler,
        spec.seed.map(|s| s.to_string()).unwrap_or_default(),
        a.study,
    ))?;
    Ok(0)
}

fn show(a: StudyShowArgs) -> Result<i32> {
    let storage = common::open_storage(&a.storage.storage)?;
    let spec = load_spec(&storage, &a.study, &a.storage.storage)?;
    output::json(&spec.to_json()?)?;
    Ok(0)
}

/// The spec of study `name`; clear errors when the study or its spec is missing.
pub fn load_spec(
    storage: &std::sync::Arc<dyn hyperscape_core::Storage>,
    name: &str,
    url: &str,
) -> Result<StudySpec> {
    match StudySpec::load(storage, name) {
        Ok(Some(spec)) => Ok(spec),
        Ok(None) => bail!(
            "study `{name}` has no spec: it was not made with `hyperscape study create` \
             (run it with `hyperscape run`, or create a study with `hyperscape study create`)"
        ),
        Err(Error::StudyNotFound(_)) => bail!(
            "study `{name}` does not exist in `{}` (create it with `hyperscape study create`)",
            redact(url)
        ),
        Err(e) => Err(e).with_context(|| format!("cannot read the spec of study `{name}`")),
    }
}
