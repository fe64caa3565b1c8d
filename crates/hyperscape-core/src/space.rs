//! Search spaces.
//!
//! - [`SearchSpace`] is the plain map `name -> distribution` that samplers work on.
//! - [`SpaceDecl`] is a space declared up front (a TOML file for the CLI, or built in
//!   code): parameters in order, optional conditions (`when`), optional grid levels, and
//!   optionally the study's direction(s). It can be enumerated for the grid sampler and
//!   for landscape mapping, and it can drive a define-by-run [`Trial`](crate::Trial).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::trial::Direction;

/// A plain search space: parameter name to distribution, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace(pub BTreeMap<String, Distribution>);

impl SearchSpace {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a parameter after validating its distribution.
    pub fn add(mut self, name: &str, dist: Distribution) -> Result<Self> {
        self.0.insert(name.to_string(), dist.validate(name)?);
        Ok(self)
    }
    pub fn get(&self, name: &str) -> Option<&Distribution> {
        self.0.get(name)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Distribution)> {
        self.0.iter()
    }
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

/// A parameter is active only when another parameter takes one of some values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub param: String,
    pub values: Vec<ParamValue>,
}

impl Condition {
    pub fn holds(&self, assignment: &BTreeMap<String, ParamValue>) -> bool {
        assignment
            .get(&self.param)
            .is_some_and(|v| self.values.iter().any(|c| c.same_as(v)))
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamDecl {
    pub name: String,
    pub distribution: Distribution,
    /// Present only when this condition holds.
    pub condition: Option<Condition>,
    /// Explicit levels for grid enumeration (needed for continuous floats).
    pub grid: Option<Vec<ParamValue>>,
}

/// A declared space: ordered parameters, with conditions and grid levels.
///
/// TOML form:
/// ```toml
/// direction = "minimize"            # or directions = ["minimize", "maximize"]
/// [params.lr]
/// type = "float"
/// low = 1e-5
/// high = 1.0
/// log = true
/// grid = [1e-4, 1e-3, 1e-2]          # optional: levels for the grid sampler
/// [params.optimizer]
/// type = "categorical"
/// choices = ["sgd", "adam"]
/// [params.momentum]
/// type = "float"
/// low = 0.0
/// high = 0.99
/// when = { optimizer = "sgd" }       # optional: only present under this branch
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpaceDecl {
    /// Parameters in an order where every condition's parent comes first.
    pub params: Vec<ParamDecl>,
    /// Directions declared in the file, if any.
    pub directions: Option<Vec<Direction>>,
}

/// Largest grid that [`SpaceDecl::grid`] will enumerate.
pub const MAX_GRID_POINTS: usize = 20_000_000;

impl SpaceDecl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an unconditional parameter.
    pub fn param(self, name: &str, dist: Distribution) -> Result<Self> {
        self.push(ParamDecl {
            name: name.to_string(),
            distribution: dist,
            condition: None,
            grid: None,
        })
    }

    /// Adds a parameter present only when `parent` takes one of `values`.
    pub fn conditional_param(
        self,
        name: &str,
        dist: Distribution,
        parent: &str,
        values: Vec<ParamValue>,
    ) -> Result<Self> {
        self.push(ParamDecl {
            name: name.to_string(),
            distribution: dist,
            condition: Some(Condition {
                param: parent.to_string(),
                values,
            }),
            grid: None,
        })
    }

    /// Adds a fully specified parameter, validating it against those already declared.
    pub fn push(mut self, mut decl: ParamDecl) -> Result<Self> {
        let name = decl.name.clone();
        if self.params.iter().any(|p| p.name == name) {
            return Err(space_err(
                None,
                format!("parameter `{name}` is declared twice"),
            ));
        }
        decl.distribution = decl.distribution.validate(&name)?;
        if let Some(levels) = &decl.grid {
            if levels.is_empty() {
                return Err(space_err(
                    None,
                    format!("parameter `{name}`: `grid` is empty"),
                ));
            }
            let checked: Result<Vec<_>> = levels
                .iter()
                .map(|v| decl.distribution.check_value(&name, v))
                .collect();
            decl.grid = Some(checked?);
        }
        if let Some(c) = &decl.condition {
            let parent = self.params.iter().find(|p| p.name == c.param).ok_or_else(|| {
                space_err(
                    None,
                    format!(
                        "parameter `{name}` has a condition on `{}`, which is not declared before it",
                        c.param
                    ),
                )
            })?;
            for v in &c.values {
                parent.distribution.check_value(&c.param, v).map_err(|e| {
                    space_err(None, format!("condition of parameter `{name}`: {e}"))
                })?;
            }
        }
        self.params.push(decl);
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&ParamDecl> {
        self.params.iter().find(|p| p.name == name)
    }

    /// All parameters as a plain search space (conditions dropped).
    pub fn search_space(&self) -> SearchSpace {
        SearchSpace(
            self.params
                .iter()
                .map(|p| (p.name.clone(), p.distribution.clone()))
                .collect(),
        )
    }

    /// Whether any parameter is conditional.
    pub fn is_conditional(&self) -> bool {
        self.params.iter().any(|p| p.condition.is_some())
    }

    /// Reads a TOML space file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: Some(path.display().to_string()),
            source: e,
        })?;
        Self::parse_toml(&text, Some(&path.display().to_string()))
    }

    /// Parses a TOML space.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse_toml(text, None)
    }

    fn parse_toml(text: &str, location: Option<&str>) -> Result<Self> {
        let loc = || location.map(str::to_string);
        let table: toml::Table =
            toml::from_str(text).map_err(|e| space_err(loc(), e.to_string()))?;
        let mut directions = None;
        let mut params_table = None;
        for (key, value) in table {
            match key.as_str() {
                "direction" => {
                    let d = parse_direction(&value).map_err(|r| space_err(loc(), r))?;
                    directions = Some(vec![d]);
                }
                "directions" => {
                    let arr = value.as_array().ok_or_else(|| {
                        space_err(loc(), "`directions` must be an array of strings".into())
                    })?;
                    let ds: std::result::Result<Vec<_>, _> =
                        arr.iter().map(parse_direction).collect();
                    directions = Some(ds.map_err(|r| space_err(loc(), r))?);
                }
                "params" => params_table = Some(value),
                other => {
                    return Err(space_err(
                        loc(),
                        format!(
                        "unknown top-level key `{other}` (expected direction, directions, params)"
                    ),
                    ))
                }
            }
        }
        let params_table = params_table
            .ok_or_else(|| space_err(loc(), "no [params.NAME] tables declared".into()))?;
        let params_table = params_table
            .as_table()
            .ok_or_else(|| space_err(loc(), "`params` must be a table of tables".into()))?;
        if params_table.is_empty() {
            return Err(space_err(loc(), "no [params.NAME] tables declared".into()));
        }

        let mut decls = Vec::new();
        for (name, value) in params_table {
            let mut t = value
                .as_table()
                .cloned()
                .ok_or_else(|| space_err(loc(), format!("params.{name} must be a table")))?;
            let when = t.remove("when");
            let grid = t.remove("grid");
            let dist: Distribution =
                toml::Value::Table(t)
                    .try_into()
                    .map_err(|e: toml::de::Error| {
                        space_err(loc(), format!("params.{name}: {}", e.message()))
                    })?;
            let condition = when
                .map(|w| parse_condition(name, &w))
                .transpose()
                .map_err(|r| space_err(loc(), r))?;
            let grid = grid
                .map(|g| -> std::result::Result<Vec<ParamValue>, String> {
                    g.try_into().map_err(|e: toml::de::Error| {
                        format!(
                            "params.{name}.grid must be an array of values: {}",
                            e.message()
                        )
                    })
                })
                .transpose()
                .map_err(|r| space_err(loc(), r))?;
            decls.push(ParamDecl {
                name: name.clone(),
                distribution: dist,
                condition,
                grid,
            });
        }

        // Order so that every parent precedes its children; keep file order otherwise.
        let mut ordered = SpaceDecl {
            params: Vec::new(),
            directions,
        };
        while !decls.is_empty() {
            let pos = decls.iter().position(|d| {
                d.condition
                    .as_ref()
                    .map_or(true, |c| ordered.params.iter().any(|p| p.name == c.param))
            });
            match pos {
                Some(i) => {
                    let d = decls.remove(i);
                    ordered = ordered.push(d).map_err(|e| relocate(e, loc()))?;
                }
                None => {
                    let d = &decls[0];
                    let parent = &d
                        .condition
                        .as_ref()
                        .expect("only conditionals remain")
                        .param;
                    let reason = if params_table.contains_key(parent) {
                        format!("conditions of `{}` and `{parent}` form a cycle", d.name)
                    } else {
                        format!(
                            "parameter `{}` has a condition on `{parent}`, which is not declared",
                            d.name
                        )
                    };
                    return Err(space_err(loc(), reason));
                }
            }
        }
        Ok(ordered)
    }

    /// Whether `decl` is active given the values chosen so far.
    pub fn is_active(decl: &ParamDecl, assignment: &BTreeMap<String, ParamValue>) -> bool {
        decl.condition
            .as_ref()
            .map_or(true, |c| c.holds(assignment))
    }

    /// Levels that the grid takes for one parameter.
    pub fn grid_levels(decl: &ParamDecl) -> Result<Vec<ParamValue>> {
        if let Some(g) = &decl.grid {
            return Ok(g.clone());
        }
        decl.distribution.levels().ok_or_else(|| {
            space_err(
                None,
                format!(
                    "parameter `{}` is a continuous float: give it a `step` or explicit `grid = [...]` levels to enumerate it",
                    decl.name
                ),
            )
        })
    }

    /// Every point of the grid, honouring conditions (an inactive parameter is absent
    /// from the point, and points that differ only in inactive parameters appear once).
    pub fn grid(&self) -> Result<Vec<BTreeMap<String, ParamValue>>> {
        let levels: Vec<Vec<ParamValue>> = self
            .params
            .iter()
            .map(Self::grid_levels)
            .collect::<Result<_>>()?;
        let mut out = Vec::new();
        let mut current = BTreeMap::new();
        self.enumerate(0, &levels, &mut current, &mut out)?;
        Ok(out)
    }

    fn enumerate(
        &self,
        i: usize,
        levels: &[Vec<ParamValue>],
        current: &mut BTreeMap<String, ParamValue>,
        out: &mut Vec<BTreeMap<String, ParamValue>>,
    ) -> Result<()> {
        if i == self.params.len() {
            if out.len() >= MAX_GRID_POINTS {
                return Err(space_err(
                    None,
                    format!("the grid has more than {MAX_GRID_POINTS} points"),
                ));
            }
            out.push(current.clone());
            return Ok(());
        }
        let decl = &self.params[i];
        if !Self::is_active(decl, current) {
            return self.enumerate(i + 1, levels, current, out);
        }
        for v in &levels[i] {
            current.insert(decl.name.clone(), v.clone());
            self.enumerate(i + 1, levels, current, out)?;
        }
        current.remove(&decl.name);
        Ok(())
    }

    /// Number of grid points, without enumerating them (ignores conditions' dedup
    /// only when there are none).
    pub fn grid_size(&self) -> Result<usize> {
        if self.is_conditional() {
            return Ok(self.grid()?.len());
        }
        self.params.iter().try_fold(1usize, |acc, p| {
            Ok(acc.saturating_mul(Self::grid_levels(p)?.len()))
        })
    }
}

fn space_err(location: Option<String>, reason: String) -> Error {
    Error::InvalidSpace { location, reason }
}

fn relocate(e: Error, location: Option<String>) -> Error {
    match e {
        Error::InvalidSpace { reason, .. } => Error::InvalidSpace { location, reason },
        other => match location {
            Some(l) => Error::InvalidSpace {
                location: Some(l),
                reason: other.to_string(),
            },
            None => other,
        },
    }
}

fn parse_direction(v: &toml::Value) -> std::result::Result<Direction, String> {
    v.as_str()
        .ok_or_else(|| format!("direction must be a string, got `{v}`"))?
        .parse()
}

fn parse_condition(name: &str, w: &toml::Value) -> std::result::Result<Condition, String> {
    let t = w
        .as_table()
        .filter(|t| t.len() == 1)
        .ok_or_else(|| format!("params.{name}.when must be a table with one entry, like when = {{ optimizer = \"sgd\" }}"))?;
    let (parent, vals) = t.iter().next().expect("one entry");
    let values: Vec<ParamValue> = match vals {
        toml::Value::Array(a) => a
            .iter()
            .map(|v| v.clone().try_into())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e: toml::de::Error| format!("params.{name}.when: {}", e.message()))?,
        v => vec![v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("params.{name}.when: {}", e.message()))?],
    };
    Ok(Condition {
        param: parent.clone(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
direction = "minimize"
[params.lr]
type = "float"
low = 1e-5
high = 1.0
log = true
[params.layers]
type = "int"
low = 1
high = 4
[params.activation]
type = "categorical"
choices = ["relu", "tanh"]
"#;

    #[test]
    fn parses_the_issue_example() {
        let s = SpaceDecl::from_toml_str(EXAMPLE).unwrap();
        assert_eq!(s.directions, Some(vec![Direction::Minimize]));
        let names: Vec<_> = s.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lr", "layers", "activation"]);
        assert_eq!(s.params[0].distribution, Distribution::float_log(1e-5, 1.0));
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = SpaceDecl::from_toml_str("[params.x]\ntype = \"float\"\nlow = 2.0\nhigh = 1.0\n")
            .unwrap_err();
        assert!(e.to_string().contains("`x`"), "{e}");
        let e = SpaceDecl::from_toml_str("[params.x]\ntype = \"floaty\"\nlow = 0\nhigh = 1\n")
            .unwrap_err();
        assert!(e.to_string().contains("params.x"), "{e}");
        let e = SpaceDecl::from_toml_str(
            "[params.m]\ntype = \"int\"\nlow = 0\nhigh = 3\nwhen = { opt = \"sgd\" }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`opt`"), "{e}");
        let e = SpaceDecl::from_toml_str(
            "direction = \"up\"\n[params.a]\ntype = \"int\"\nlow = 0\nhigh = 3\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("up"), "{e}");
    }

    #[test]
    fn conditional_grid_drops_inactive_params() {
        let s = SpaceDecl::from_toml_str(
            r#"
[params.momentum]
type = "float"
low = 0.0
high = 0.9
step = 0.45
when = { opt = "sgd" }
[params.opt]
type = "categorical"
choices = ["sgd", "adam"]
"#,
        )
        .unwrap();
        assert_eq!(s.params[0].name, "opt", "parents are ordered first");
        let g = s.grid().unwrap();
        assert_eq!(g.len(), 3 + 1);
        assert!(g.iter().filter(|p| p.contains_key("momentum")).count() == 3);
    }

    #[test]
    fn continuous_float_needs_levels_for_grid() {
        let s = SpaceDecl::from_toml_str(EXAMPLE).unwrap();
        let e = s.grid().unwrap_err();
        assert!(e.to_string().contains("`lr`"), "{e}");
        let s = SpaceDecl::from_toml_str(
            &EXAMPLE.replace("log = true", "log = true\ngrid = [1e-4, 1e-2]"),
        )
        .unwrap();
        assert_eq!(s.grid().unwrap().len(), 2 * 4 * 2);
        assert!(SpaceDecl::from_toml_str(
            &EXAMPLE.replace("log = true", "log = true\ngrid = [3.0]")
        )
        .is_err());
    }
}
