//! After the fit: the posterior predictive check a user looks at first
//! (observed against predicted choice proportions, per subject where there
//! are subjects, with a 90% interval) and PSIS-LOO of the pointwise
//! log-likelihood, from a fit in memory or from its draws read back.

use crate::data::Data;
use crate::labels::Dims;
use crate::sample::{Fit, VariableKind};
use rlc_diagnostics::{loo, relative_efficiency, RelativeEfficiency};

pub use rlc_diagnostics::{compare, threshold_text, CompareRow, LooResult, TailFit};

/// One line of the predictive check: a statistic of an observed variable
/// (over all its cells, or one subject's), observed and predicted.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    /// `choice`, or `choice[S07]` for one subject.
    pub variable: String,
    /// `P(choice = 1)`, or `mean`/`sd` for a continuous variable.
    pub statistic: String,
    pub observed: f64,
    /// The predicted statistic's posterior mean and 90% interval.
    pub predicted_mean: f64,
    pub q5: f64,
    pub q95: f64,
}

impl CheckRow {
    /// Whether the observed value lies outside the 90% interval.
    pub fn is_outside(&self) -> bool {
        self.observed < self.q5 || self.observed > self.q95
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The statistics of one set of cells: the proportion of each value for a
/// discrete variable with few values, else the mean and sd.
fn statistics(values: &[f64], categories: &[f64]) -> Vec<f64> {
    let n = values.len().max(1) as f64;
    if !categories.is_empty() {
        return categories
            .iter()
            .map(|c| values.iter().filter(|v| *v == c).count() as f64 / n)
            .collect();
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    vec![mean, var.sqrt()]
}

/// The predictive check of every `{name}_rep` variable of `fit` against
/// the observed `data`: only the cells the model predicted (finite in some
/// draw) and the data hold; cells missing in the data, and cells no `~`
/// scores (padding past `Tsubj`), are left out of both sides. Subjects are
/// the first axis when the data grouped it (`size N by subjID`).
pub fn check(fit: &Fit, data: &Data, dims: &Dims) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    let mut offset = 0;
    for v in &fit.variables {
        let len = v.len();
        let start = offset;
        offset += len;
        if v.kind != VariableKind::Predicted {
            continue;
        }
        let name = v.name.trim_end_matches("_rep");
        let Some(observed) = data.loaded.value(name) else {
            continue;
        };
        let predicted_cells: Vec<bool> = (0..observed.len())
            .map(|k| {
                fit.chains.iter().any(|c| {
                    c.values
                        .iter()
                        .any(|d| d.get(start + k).is_some_and(|x| x.is_finite()))
                })
            })
            .collect();
        // Discrete variables with at most 10 values get proportions.
        let mut values: Vec<f64> = observed
            .values
            .iter()
            .enumerate()
            .filter(|(k, x)| !observed.is_missing(*k) && x.is_finite() && predicted_cells[*k])
            .map(|(_, x)| *x)
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let discrete = observed.elem != rlc_data::ElemType::Real && values.len() <= 10;
        let categories: Vec<f64> = if discrete { values } else { Vec::new() };
        let labels: Vec<String> = if discrete {
            categories
                .iter()
                .map(|c| format!("P({name} = {c})"))
                .collect()
        } else {
            vec!["mean".to_string(), "sd".to_string()]
        };
        // The groups of cells: all, then per subject.
        let inner: usize = observed.shape.iter().skip(1).product();
        let subject_labels = dims
            .data
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.dims.first())
            .and_then(|d| dims.labels(d))
            .filter(|_| observed.shape.len() >= 2);
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        let present: Vec<usize> = (0..observed.len())
            .filter(|k| {
                !observed.is_missing(*k) && observed.values[*k].is_finite() && predicted_cells[*k]
            })
            .collect();
        groups.push((name.to_string(), present.clone()));
        if let Some(labels) = subject_labels {
            for (n, label) in labels.iter().enumerate() {
                let cells: Vec<usize> = present
                    .iter()
                    .copied()
                    .filter(|k| k / inner.max(1) == n)
                    .collect();
                if !cells.is_empty() {
                    groups.push((format!("{name}[{label}]"), cells));
                }
            }
        }
        for (group, cells) in groups {
            let obs: Vec<f64> = cells.iter().map(|k| observed.values[*k]).collect();
            let observed_stats = statistics(&obs, &categories);
            let mut predicted: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
            for chain in &fit.chains {
                for draw in &chain.values {
                    let rep: Vec<f64> = cells
                        .iter()
                        .filter_map(|k| draw.get(start + k).copied())
                        .filter(|x| x.is_finite())
                        .collect();
                    if rep.is_empty() {
                        continue;
                    }
                    for (p, s) in predicted.iter_mut().zip(statistics(&rep, &categories)) {
                        p.push(s);
                    }
                }
            }
            for ((label, obs), mut pred) in labels.iter().zip(observed_stats).zip(predicted) {
                // With two categories the second proportion says nothing new.
                if discrete && categories.len() == 2 && label == &labels[1] {
                    continue;
                }
                pred.sort_by(f64::total_cmp);
                let mean = pred.iter().sum::<f64>() / pred.len().max(1) as f64;
                rows.push(CheckRow {
                    variable: group.clone(),
                    statistic: label.clone(),
                    observed: obs,
                    predicted_mean: mean,
                    q5: quantile(&pred, 0.05),
                    q95: quantile(&pred, 0.95),
                });
            }
        }
    }
    rows
}

/// The `log_lik` matrix of a fit: one row per draw (chains one after the
/// other), one column per observation; with the number of chains.
pub fn log_lik_matrix(fit: &Fit) -> Option<(Vec<Vec<f64>>, usize)> {
    let mut offset = 0;
    let mut range = None;
    for v in &fit.variables {
        if v.kind == VariableKind::LogLik {
            range = Some(offset..offset + v.len());
        }
        offset += v.len();
    }
    let range = range?;
    let length = fit.draws_per_chain();
    let chains: Vec<_> = fit.chains.iter().filter(|c| !c.values.is_empty()).collect();
    let rows = chains
        .iter()
        .flat_map(|c| c.values[..length].iter().map(|d| d[range.clone()].to_vec()))
        .collect();
    Some((rows, chains.len()))
}

/// PSIS-LOO of a log-likelihood matrix drawn by `chains` chains of equal
/// length, with the relative efficiency of each observation from the chains.
pub fn psis_loo(matrix: &[Vec<f64>], chains: usize) -> Result<LooResult, String> {
    let r_eff = relative_efficiency(matrix, chains.max(1)).map_err(|e| e.to_string())?;
    loo(matrix, &RelativeEfficiency::PerObservation(r_eff)).map_err(|e| e.to_string())
}
