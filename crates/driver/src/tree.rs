//! A run as the groups of an ArviZ `DataTree`: `posterior` (the parameters
//! and `out` values by chain and draw), `posterior_predictive` and
//! `log_likelihood` (when the run computed them), `sample_stats` (the
//! sampler statistics under ArviZ's names), `observed_data` (the data the
//! model observes with `~`) and `constant_data` (the rest of the data it was
//! fitted to: rewards, covariates), each array with named axes and every axis with its
//! coordinate values, and the run's settings and adaptation as attributes.
//!
//! This is the one description of the layout: the Python package turns it
//! into an `xarray.DataTree` and the CLI's `--output-format zarr` writes it as
//! a Zarr store, so both give the same groups, names, axes and attributes.
//! It holds values only; it knows nothing of xarray or of Zarr.

use crate::compile::Compiled;
use crate::data::Data;
use crate::density::element_names;
use crate::generate;
use crate::labels::{self, Dims};
use crate::sample::{ChainFit, Fit, VariableKind};
use rlc_data::ElemType;
use std::time::{SystemTime, UNIX_EPOCH};

/// The element values of an array, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Text(Vec<String>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named array with named axes (xarray's variable).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub name: String,
    /// One name per axis, outermost first.
    pub dims: Vec<String>,
    pub shape: Vec<usize>,
    pub values: Values,
}

/// An attribute value: what both xarray and Zarr's JSON metadata can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Text(String),
    Int(i64),
    /// A count or seed that may pass `i64::MAX` (a seed is any `u64`).
    UInt(u64),
    Float(f64),
    Texts(Vec<String>),
    Floats(Vec<f64>),
    Ints(Vec<i64>),
}

/// One group of the tree (an xarray `Dataset`).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// `posterior`, `sample_stats`, `observed_data`, … (ArviZ's group names).
    pub name: String,
    pub variables: Vec<Array>,
    /// One one-dimensional array per axis the variables use, named after it:
    /// the labels of a grouped axis (`size N by subjID`), else 0, 1, ….
    pub coords: Vec<Array>,
    pub attrs: Vec<(String, Attr)>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub groups: Vec<Group>,
}

impl Tree {
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// ArviZ's names of the sampler statistics, in the driver's order
/// ([`crate::sample::STAT_COLUMNS`]).
pub const STAT_NAMES: [&str; 7] = [
    "lp",
    "acceptance_rate",
    "step_size",
    "tree_depth",
    "n_steps",
    "diverging",
    "energy",
];

/// The tree of a finished (or interrupted) run: the chains that made draws,
/// cut to their common length, as [`Fit::run_draws`] summarizes them.
pub fn build(compiled: &Compiled, data: &Data, fit: &Fit) -> Tree {
    let mut dims = labels::dims(compiled, data);
    // The pointwise log-likelihood's axis is labelled by the data cell each
    // element scores (`choice[S07, 15]`), so `az.loo(pointwise=True)` names them.
    if let Some(cells) = &fit.log_lik_cells {
        let names = cells.names(&dims.coords);
        dims.coords.push(("log_lik_dim_0".to_string(), names));
    }
    let draws = fit.draws_per_chain();
    let chains: Vec<&ChainFit> = fit.chains.iter().filter(|c| !c.stats.is_empty()).collect();
    let chain_ids: Vec<i64> = chains.iter().map(|c| c.chain as i64).collect();
    let common = common_attrs(compiled, data);

    // Each variable of a draw goes to its group: parameters and `out` values
    // to `posterior`, the pointwise log-likelihood to `log_likelihood`, and
    // predictive draws (`choice_rep`) to `posterior_predictive` under the
    // observed variable's name and axes, as ArviZ lays them out.
    let mut posterior = Vec::new();
    let mut log_likelihood = Vec::new();
    let mut predictive = Vec::new();
    let mut offset = 0;
    let mut model_variable = 0;
    for variable in &fit.variables {
        let len = variable.len();
        let mut values = Vec::with_capacity(chains.len() * draws * len);
        for chain in &chains {
            for draw in &chain.values[..draws] {
                // A draw whose outputs could not be computed is all NaN, and
                // may be shorter than the variables; pad rather than panic.
                values.extend(
                    (offset..offset + len).map(|k| draw.get(k).copied().unwrap_or(f64::NAN)),
                );
            }
        }
        offset += len;
        let (name, axes, group) = match variable.kind {
            VariableKind::Parameter | VariableKind::Out | VariableKind::LoopOut => {
                let axes = dims.variables.get(model_variable).map(|a| a.dims.clone());
                model_variable += 1;
                (variable.name.clone(), axes, &mut posterior)
            }
            VariableKind::LogLik => (variable.name.clone(), None, &mut log_likelihood),
            VariableKind::Predicted => {
                let observed = variable.name.strip_suffix("_rep").unwrap_or(&variable.name);
                let axes = dims
                    .data
                    .iter()
                    .find(|d| d.name == observed)
                    .map(|d| d.dims.clone());
                // Under its own name, unless that is an axis of the group.
                let name = match observed {
                    "chain" | "draw" => variable.name.as_str(),
                    _ => observed,
                };
                (name.to_string(), axes, &mut predictive)
            }
        };
        let axes = axes
            .filter(|a| a.len() == variable.shape.len())
            .unwrap_or_else(|| default_dims(&name, variable.shape.len()));
        group.push(Array {
            name,
            dims: ["chain", "draw"]
                .iter()
                .map(|s| s.to_string())
                .chain(axes)
                .collect(),
            shape: [chains.len(), draws]
                .into_iter()
                .chain(variable.shape.iter().copied())
                .collect(),
            values: Values::Float(values),
        });
    }

    let sample_stats = STAT_NAMES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let column = chains
                .iter()
                .flat_map(|c| c.stats[..draws].iter().map(move |s| s[k]));
            let values = match *name {
                "tree_depth" | "n_steps" => Values::Int(column.map(|x| x as i64).collect()),
                "diverging" => Values::Bool(column.map(|x| x != 0.0).collect()),
                _ => Values::Float(column.collect()),
            };
            Array {
                name: name.to_string(),
                dims: vec!["chain".into(), "draw".into()],
                shape: vec![chains.len(), draws],
                values,
            }
        })
        .collect();

    // The variables the model observes with `~` are `observed_data`; the
    // rest (rewards, covariates, designs) `constant_data`, as ArviZ lays a
    // run out, so that `az.plot_ppc` pairs each observed variable with its
    // predictive draws. A model that cannot run forward keeps all its data
    // in `observed_data`.
    let (observed, constant): (Vec<Array>, Vec<Array>) =
        match generate::observed_variables(compiled) {
            Ok(names) => data_arrays(data, &dims)
                .into_iter()
                .partition(|a| names.contains(&a.name)),
            Err(_) => (data_arrays(data, &dims), Vec::new()),
        };

    let mut posterior_attrs = common.clone();
    posterior_attrs.extend(run_attrs(fit));
    let mut stats_attrs = posterior_attrs.clone();
    stats_attrs.extend(adaptation_attrs(fit, &chains));
    let data_attrs = common;

    let chain_coord = Array {
        name: "chain".into(),
        dims: vec!["chain".into()],
        shape: vec![chain_ids.len()],
        values: Values::Int(chain_ids),
    };
    let draw_coord = Array {
        name: "draw".into(),
        dims: vec!["draw".into()],
        shape: vec![draws],
        values: Values::Int((0..draws as i64).collect()),
    };
    let group = |name: &str, variables: Vec<Array>, attrs| {
        let mut coords = Vec::new();
        for v in &variables {
            for (axis, dim) in v.dims.iter().enumerate() {
                if coords.iter().any(|c: &Array| &c.name == dim) {
                    continue;
                }
                coords.push(match dim.as_str() {
                    "chain" => chain_coord.clone(),
                    "draw" => draw_coord.clone(),
                    _ => coordinate(dim, v.shape[axis], &dims),
                });
            }
        }
        Group {
            name: name.to_string(),
            variables,
            coords,
            attrs,
        }
    };
    let mut groups = vec![group("posterior", posterior, posterior_attrs.clone())];
    if !predictive.is_empty() {
        groups.push(group(
            "posterior_predictive",
            predictive,
            posterior_attrs.clone(),
        ));
    }
    if !log_likelihood.is_empty() {
        groups.push(group("log_likelihood", log_likelihood, posterior_attrs));
    }
    groups.push(group("sample_stats", sample_stats, stats_attrs));
    groups.push(group("observed_data", observed, data_attrs.clone()));
    if !constant.is_empty() {
        groups.push(group("constant_data", constant, data_attrs));
    }
    Tree { groups }
}

fn default_dims(name: &str, rank: usize) -> Vec<String> {
    (0..rank).map(|k| format!("{name}_dim_{k}")).collect()
}

/// The coordinate values of axis `dim` of length `len`: the data's labels
/// when it has as many, else 0, 1, ….
fn coordinate(dim: &str, len: usize, dims: &Dims) -> Array {
    let values = match dims.labels(dim) {
        Some(labels) if labels.len() == len => Values::Text(labels.to_vec()),
        _ => Values::Int((0..len as i64).collect()),
    };
    Array {
        name: dim.to_string(),
        dims: vec![dim.to_string()],
        shape: vec![len],
        values,
    }
}

/// The data variables as loaded: ints and bools keep their type unless a
/// cell is missing, in which case the array is float with NaN there.
fn data_arrays(data: &Data, dims: &Dims) -> Vec<Array> {
    dims.data
        .iter()
        .filter_map(|array_dims| {
            let array = data.loaded.value(&array_dims.name)?;
            let values = match (array.elem, array.missing_count()) {
                (ElemType::Int, 0) => Values::Int(array.values.iter().map(|x| *x as i64).collect()),
                (ElemType::Bool, 0) => {
                    Values::Bool(array.values.iter().map(|x| *x != 0.0).collect())
                }
                _ => Values::Float(array.values.clone()),
            };
            let axes = if array_dims.dims.len() == array.shape.len() {
                array_dims.dims.clone()
            } else {
                default_dims(&array_dims.name, array.shape.len())
            };
            Some(Array {
                name: array_dims.name.clone(),
                dims: axes,
                shape: array.shape.clone(),
                values,
            })
        })
        .collect()
}

/// What every group records: who made it, when, from which model and data.
fn common_attrs(compiled: &Compiled, data: &Data) -> Vec<(String, Attr)> {
    vec![
        ("created_at".into(), Attr::Text(utc_now())),
        ("inference_library".into(), Attr::Text("rlc".into())),
        (
            "inference_library_version".into(),
            Attr::Text(env!("CARGO_PKG_VERSION").into()),
        ),
        ("model".into(), Attr::Text(compiled.name.clone())),
        ("data".into(), Attr::Text(data.name.clone())),
    ]
}

/// The run's settings and timing, in ArviZ's names where it has them
/// (`sampling_time`, `tuning_steps`) and CmdStan's otherwise.
fn run_attrs(fit: &Fit) -> Vec<(String, Attr)> {
    let s = &fit.settings;
    let mut attrs = vec![
        (
            "sampling_time".into(),
            Attr::Float(fit.elapsed.as_secs_f64()),
        ),
        ("tuning_steps".into(), Attr::Int(s.warmup as i64)),
        ("num_chains".into(), Attr::Int(s.chains as i64)),
        ("num_warmup".into(), Attr::Int(s.warmup as i64)),
        // The draws the posterior holds per chain (`thin` keeps every thin-th).
        ("num_draws".into(), Attr::Int(s.kept_draws() as i64)),
        ("thin".into(), Attr::Int(s.thin as i64)),
        ("seed".into(), Attr::UInt(s.seed)),
        ("max_depth".into(), Attr::Int(i64::from(s.max_depth))),
        ("adapt_delta".into(), Attr::Float(s.adapt_delta)),
        ("adaptation".into(), Attr::Text(s.adaptation.name().into())),
        ("init_radius".into(), Attr::Float(s.init_radius)),
    ];
    if !s.init.is_empty() {
        // The given initial values as a JSON object by parameter name (sorted, so that
        // the same values give the same text; names are identifiers, values finite).
        let mut given: Vec<_> = s.init.iter().collect();
        given.sort_by_key(|(name, _)| *name);
        let fields: Vec<String> = given
            .iter()
            .map(|(name, value)| {
                let numbers: Vec<String> =
                    value.elements.iter().map(|v| format!("{v:?}")).collect();
                format!("\"{name}\": [{}]", numbers.join(", "))
            })
            .collect();
        attrs.push((
            "init".into(),
            Attr::Text(format!("{{{}}}", fields.join(", "))),
        ));
    }
    attrs.extend([
        ("interrupted".into(), Attr::Int(i64::from(fit.interrupted))),
        ("grad_evals".into(), Attr::Int(fit.grad_evals() as i64)),
        (
            "warmup_grad_evals".into(),
            Attr::Int(fit.warmup_grad_evals() as i64),
        ),
    ]);
    attrs
}

/// Each chain's adaptation results and times, one entry per chain of the
/// tree (in the order of the `chain` coordinate). The inverse mass matrix
/// diagonals are one flat list, chain after chain, so that the attribute
/// stays a plain list that netCDF can store too.
fn adaptation_attrs(fit: &Fit, chains: &[&ChainFit]) -> Vec<(String, Attr)> {
    // The unconstrained coordinates are the parameters' elements, as
    // `Density::coordinates` names them.
    let coordinates = fit
        .variables
        .iter()
        .filter(|v| v.kind == VariableKind::Parameter)
        .flat_map(|v| element_names(&v.name, &v.shape))
        .collect();
    let step_sizes = chains
        .iter()
        .map(|c| c.adaptation.as_ref().map_or(f64::NAN, |a| a.step_size))
        .collect();
    let inv_mass = chains
        .iter()
        .flat_map(|c| {
            c.adaptation
                .as_ref()
                .map(|a| a.inv_mass_matrix.clone())
                .unwrap_or_default()
        })
        .collect();
    // The low-rank correction (`fisher-lowrank`): per chain its number of
    // directions, then their variances and the directions (each of the
    // coordinates' length), flat, chain after chain.
    let low_rank: Vec<&rlc_nuts::LowRank> = chains
        .iter()
        .filter_map(|c| c.adaptation.as_ref().map(|a| &a.low_rank))
        .collect();
    let low_rank_attrs = if low_rank.iter().all(|l| l.values.is_empty()) {
        Vec::new()
    } else {
        vec![
            (
                "low_rank_directions".into(),
                Attr::Floats(
                    chains
                        .iter()
                        .map(|c| {
                            c.adaptation
                                .as_ref()
                                .map_or(0.0, |a| a.low_rank.values.len() as f64)
                        })
                        .collect(),
                ),
            ),
            (
                "low_rank_values".into(),
                Attr::Floats(low_rank.iter().flat_map(|l| l.values.clone()).collect()),
            ),
            (
                "low_rank_vectors".into(),
                Attr::Floats(
                    low_rank
                        .iter()
                        .flat_map(|l| l.vectors.iter().flatten().copied())
                        .collect(),
                ),
            ),
        ]
    };
    let mut attrs = vec![
        ("unconstrained_coordinates".into(), Attr::Texts(coordinates)),
        ("step_size".into(), Attr::Floats(step_sizes)),
        (
            // The acceptance rate each chain's step size was adapted to: the settings'
            // `target_accept`, or higher for a chain whose warmup ended diverging.
            "target_accept".into(),
            Attr::Floats(
                chains
                    .iter()
                    .map(|c| c.adaptation.as_ref().map_or(f64::NAN, |a| a.target_accept))
                    .collect(),
            ),
        ),
        (
            // Warmup iterations beyond `num_warmup`: a chain that could not move at the
            // step size warmup ended with, moved after its metric was set, diverged often
            // at the end of warmup, or stood still early in warmup was given more (0
            // almost always).
            "extra_warmup".into(),
            Attr::Floats(
                chains
                    .iter()
                    .map(|c| c.adaptation.as_ref().map_or(0.0, |a| a.extra_warmup as f64))
                    .collect(),
            ),
        ),
        ("inv_mass_matrix".into(), Attr::Floats(inv_mass)),
        (
            "warmup_time".into(),
            Attr::Floats(chains.iter().map(|c| c.warmup_time.as_secs_f64()).collect()),
        ),
        (
            "chain_sampling_time".into(),
            Attr::Floats(
                chains
                    .iter()
                    .map(|c| c.sampling_time.as_secs_f64())
                    .collect(),
            ),
        ),
    ];
    attrs.extend(low_rank_attrs);
    attrs
}

/// The current time in UTC, ISO 8601 to the second, as ArviZ's `created_at`.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil-date algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}
