//! The summary table (stansummary's columns) and the warnings a Stan user
//! expects after a run: divergences, max tree depth hits, R-hat, ESS, E-BFMI,
//! chains whose log density stays below the others' (a minor mode), and chains whose
//! step size collapsed.

use rlc_diagnostics::{
    chains_below, collapsed_step_sizes, divergences, e_bfmi, max_tree_depth_hits, median,
    summarize, ChainsBelow, Summary,
};
use std::fmt::Write;
use std::sync::OnceLock;

/// The draws of a run, per chain, by column name.
pub struct RunDraws {
    pub columns: Vec<String>,
    /// `chains[c][k]` holds column k's draws of chain c.
    pub chains: Vec<Vec<Vec<f64>>>,
    /// Sampling time in seconds (for ESS per second), if known.
    pub sampling_seconds: Option<f64>,
    /// Each column's summary, computed once for the table and the warnings.
    summaries: OnceLock<Vec<Option<Summary>>>,
}

impl RunDraws {
    pub fn new(
        columns: Vec<String>,
        chains: Vec<Vec<Vec<f64>>>,
        sampling_seconds: Option<f64>,
    ) -> RunDraws {
        RunDraws {
            columns,
            chains,
            sampling_seconds,
            summaries: OnceLock::new(),
        }
    }

    /// The summary of column `k`, or `None` for the sampler's columns other than `lp__`,
    /// which are not summarized. All are computed at the first call, the columns split
    /// among the machine's cores (each column's summary is independent of the split).
    fn summary(&self, k: usize) -> Option<&Summary> {
        self.summaries
            .get_or_init(|| {
                let summarized = |k: usize| {
                    let name = &self.columns[k];
                    (!name.ends_with("__") || name == "lp__").then(|| summarize(&self.column(k)))
                };
                let columns = self.columns.len();
                let threads = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(columns.div_ceil(16))
                    .max(1);
                let per_thread = columns.div_ceil(threads).max(1);
                std::thread::scope(|scope| {
                    let parts: Vec<_> = (0..columns)
                        .step_by(per_thread)
                        .map(|start| {
                            let end = (start + per_thread).min(columns);
                            scope.spawn(move || (start..end).map(summarized).collect::<Vec<_>>())
                        })
                        .collect();
                    parts
                        .into_iter()
                        .flat_map(|part| part.join().expect("a summary thread panicked"))
                        .collect()
                })
            })
            .get(k)
            .and_then(Option::as_ref)
    }

    /// Only the statistics columns and the columns of the variables named
    /// in `vars` (`alpha`, `A`: every element of `A`); an unknown name is an
    /// error listing the variables there are.
    pub fn select(&self, vars: &[String]) -> Result<RunDraws, String> {
        let variable = |column: &str| column.split(['.', '[']).next().unwrap_or("").to_string();
        let known: Vec<String> = {
            let mut v: Vec<String> = self
                .columns
                .iter()
                .filter(|c| !c.ends_with("__"))
                .map(|c| variable(c))
                .collect();
            v.dedup();
            v
        };
        if let Some(unknown) = vars.iter().find(|v| !known.contains(v)) {
            return Err(format!(
                "there is no variable `{unknown}` in the draws (they hold {})",
                known.join(", ")
            ));
        }
        let keep: Vec<usize> = (0..self.columns.len())
            .filter(|&k| {
                let c = &self.columns[k];
                c.ends_with("__") || vars.contains(&variable(c))
            })
            .collect();
        Ok(RunDraws::new(
            keep.iter().map(|&k| self.columns[k].clone()).collect(),
            self.chains
                .iter()
                .map(|c| keep.iter().map(|&k| c[k].clone()).collect())
                .collect(),
            self.sampling_seconds,
        ))
    }

    fn column(&self, k: usize) -> Vec<&[f64]> {
        self.chains.iter().map(|c| c[k].as_slice()).collect()
    }
    fn find(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

fn fmt(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{x:.2e}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// The table: one row for `lp__` and each parameter and `out` element,
/// named as the CSV files name them.
pub fn table(draws: &RunDraws) -> String {
    table_with_labels(draws, &draws.columns)
}

/// [`table`] with other row names (`labels[k]` for column `k`): the model's
/// own, 0-based and with subject ids (see [`model_labels`]).
pub fn table_with_labels(draws: &RunDraws, labels: &[String]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for (k, name) in draws.columns.iter().enumerate() {
        if name.ends_with("__") && name != "lp__" {
            continue;
        }
        let Some(s) = draws.summary(k) else {
            continue;
        };
        let per_second = draws
            .sampling_seconds
            .filter(|t| *t > 0.0)
            .map_or("-".to_string(), |t| format!("{:.0}", s.ess_bulk / t));
        rows.push((
            labels.get(k).cloned().unwrap_or_else(|| name.clone()),
            vec![
                fmt(s.mean),
                fmt(s.mcse_mean),
                fmt(s.sd),
                fmt(s.mad),
                fmt(s.q5),
                fmt(s.q50),
                fmt(s.q95),
                format!("{:.0}", s.ess_bulk),
                format!("{:.0}", s.ess_tail),
                per_second,
                format!("{:.3}", s.rhat),
            ],
        ));
    }
    let headers = [
        "Mean",
        "MCSE",
        "StdDev",
        "MAD",
        "5%",
        "50%",
        "95%",
        "ESS_bulk",
        "ESS_tail",
        "ESS_bulk/s",
        "R_hat",
    ];
    let name_width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for (_, cells) in &rows {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    // Padded by hand: `{:width$}` panics past a width of 65,535, which a
    // long parameter name reaches.
    out.push_str(&pad(name_width));
    for (h, w) in headers.iter().zip(&widths) {
        let _ = write!(out, "  {h:>w$}");
    }
    out.push('\n');
    for (name, cells) in rows {
        out.push_str(&name);
        out.push_str(&pad(name_width - name.chars().count()));
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {c:>w$}");
        }
        out.push('\n');
    }
    out
}

/// `n` spaces.
fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// The warnings Stan would print, each one line (empty when all is well).
pub fn warnings(draws: &RunDraws, max_depth: u32) -> Vec<String> {
    warnings_labelled(draws, max_depth, &draws.columns)
}

/// How near ±π (in radians) a direction's draw counts as at the cut.
const NEAR_THE_CUT: f64 = 0.1;
/// The share of a direction's draws near the cut that gets a warning.
const AT_THE_CUT: f64 = 0.05;

/// A warning for each direction (a parameter a `VonMises` prior gives `(-pi,
/// pi)`, named in `circular`) whose draws crowd an end of the interval: the
/// chains cannot cross the cut, so the posterior may lie on its other side
/// (every chain can start on the wrong side, with R-hat 1.000).
pub fn directions_at_the_cut(
    draws: &RunDraws,
    circular: &[String],
    labels: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, column) in draws.columns.iter().enumerate() {
        let base = column.split('.').next().unwrap_or(column);
        if !circular.iter().any(|c| c == base) {
            continue;
        }
        let values: Vec<f64> = draws.column(k).into_iter().flatten().copied().collect();
        if values.is_empty() {
            continue;
        }
        let near = values
            .iter()
            .filter(|x| std::f64::consts::PI - x.abs() < NEAR_THE_CUT)
            .count();
        let share = near as f64 / values.len() as f64;
        if share > AT_THE_CUT {
            let name = labels.get(k).unwrap_or(column);
            out.push(format!(
                "{:.0}% of the draws of {name} lie within {NEAR_THE_CUT} of ±π, where its VonMises prior's interval (-pi, pi) is cut: the chains cannot cross it, so the posterior may lie on the other side; give the direction as the angle of a point (language.md, VonMises).",
                100.0 * share
            ));
        }
    }
    out
}

/// [`warnings`] naming the columns by `labels` (one per column, as the
/// table shows them: the model's labels under `--labels model`).
pub fn warnings_labelled(draws: &RunDraws, max_depth: u32, labels: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let total: usize = draws
        .chains
        .iter()
        .map(|c| c.first().map_or(0, |v| v.len()))
        .sum();
    if let Some(k) = draws.find("divergent__") {
        let n: usize = draws
            .column(k)
            .iter()
            .map(|c| divergences(&c.iter().map(|x| *x != 0.0).collect::<Vec<_>>()))
            .sum();
        if n > 0 {
            out.push(format!(
                "{n} of {total} draws ({:.1}%) ended with a divergence; the posterior may be biased. Reparameterize (e.g. non-centered) or raise --adapt-delta.",
                100.0 * n as f64 / total.max(1) as f64
            ));
        }
    }
    if let Some(k) = draws.find("treedepth__") {
        let n: usize = draws
            .column(k)
            .iter()
            .map(|c| {
                max_tree_depth_hits(&c.iter().map(|x| *x as u32).collect::<Vec<_>>(), max_depth)
            })
            .sum();
        if n > 0 {
            out.push(format!(
                "{n} of {total} draws hit the maximum tree depth of {max_depth}; sampling is inefficient. Consider raising --max-depth or reparameterizing."
            ));
        }
    }
    if let Some(k) = draws.find("energy__") {
        for (c, energy) in draws.column(k).iter().enumerate() {
            let b = e_bfmi(energy);
            if b.is_finite() && b < 0.3 {
                out.push(format!(
                    "chain {} has a low E-BFMI of {b:.2}; the posterior may have heavy tails.",
                    c + 1
                ));
            }
        }
    }
    if let Some(k) = draws.find("lp__") {
        out.extend(chains_below_warning(&draws.column(k)));
    }
    if let Some(k) = draws.find("stepsize__") {
        out.extend(collapsed_step_size_warnings(draws, k));
    }
    let mut high_rhat = Vec::new();
    let mut low_ess = Vec::new();
    for (k, column) in draws.columns.iter().enumerate() {
        if column.ends_with("__") {
            continue;
        }
        let name = labels.get(k).unwrap_or(column);
        let Some(s) = draws.summary(k) else {
            continue;
        };
        // A quantity the same in every draw (an `out` of data alone) has
        // nothing to estimate: no ESS to warn about.
        let first = draws
            .chains
            .first()
            .and_then(|c| c.get(k))
            .and_then(|d| d.first())
            .map(|x| x.to_bits());
        let constant = first.is_some()
            && draws.chains.iter().all(|c| {
                c.get(k)
                    .is_some_and(|d| d.iter().all(|x| Some(x.to_bits()) == first))
            });
        if constant {
            continue;
        }
        if s.rhat > 1.01 {
            high_rhat.push(format!("{name} ({:.3})", s.rhat));
        }
        if s.ess_bulk < 400.0 || s.ess_tail < 400.0 {
            low_ess.push(format!("{name} ({:.0})", s.ess_bulk.min(s.ess_tail)));
        }
    }
    if !high_rhat.is_empty() {
        out.push(format!(
            "R-hat above 1.01 for {}: the chains have not mixed; run longer or check the model.",
            list(&high_rhat)
        ));
    }
    if !low_ess.is_empty() {
        out.push(format!(
            "effective sample size below 400 for {}: estimates are imprecise; run more draws.",
            list(&low_ess)
        ));
    }
    out
}

/// The warning naming the chains whose `lp__` stays below the highest chain's
/// ([`chains_below`]), or none.
fn chains_below_warning(log_density: &[&[f64]]) -> Option<String> {
    let ChainsBelow { highest, below } = chains_below(log_density)?;
    let median_of = |c: usize| fmt(median(log_density[c]));
    let names: Vec<String> = below.iter().map(|c| (c + 1).to_string()).collect();
    let (chains, they) = match names.len() {
        1 => (format!("chain {}", names[0]), "it"),
        _ => (format!("chains {}", list(&names)), "they"),
    };
    let medians: Vec<String> = below.iter().map(|&c| median_of(c)).collect();
    Some(format!(
        "{chains} sampled a region of lower log density than chain {} (median lp__ {} against {}; their draws barely overlap): {they} may be stuck in a minor mode. The summary mixes the regions: compare the chains, start them elsewhere (--init 0 or --init FILE) and run longer.",
        highest + 1,
        medians.join(", "),
        median_of(highest),
    ))
}

/// A warning for each chain whose step size is far below the other chains'
/// ([`collapsed_step_sizes`]; `k` is the `stepsize__` column), with the share
/// of its draws that diverged.
fn collapsed_step_size_warnings(draws: &RunDraws, k: usize) -> Vec<String> {
    let step_sizes: Vec<f64> = draws.column(k).iter().map(|c| median(c)).collect();
    let divergent = draws.find("divergent__").map(|d| draws.column(d));
    collapsed_step_sizes(&step_sizes)
        .into_iter()
        .map(|collapsed| {
            let diverged = divergent
                .as_ref()
                .and_then(|d| d.get(collapsed.chain))
                .filter(|d| !d.is_empty())
                .map_or(String::new(), |d| {
                    let share = d.iter().filter(|x| **x != 0.0).count() as f64 / d.len() as f64;
                    format!(" ({:.0}% of its draws diverged)", 100.0 * share)
                });
            format!(
                "chain {} adapted a step size of {}, {:.0} times smaller than the other chains' (median {}): it ended warmup where no step is short enough (a funnel's neck, a cliff where the density falls off) and may not have left it{diverged}. Its draws may not represent the posterior: compare the chains, rerun with another --seed or --init, or reparameterize.",
                collapsed.chain + 1,
                step(collapsed.step_size),
                collapsed.others / collapsed.step_size,
                step(collapsed.others),
            )
        })
        .collect()
}

/// A step size with three significant digits: `0.0800`, `1.31e-3`.
fn step(x: f64) -> String {
    if (0.01..1000.0).contains(&x) {
        format!("{x:.3}")
    } else {
        format!("{x:.2e}")
    }
}

fn list(items: &[String]) -> String {
    if items.len() <= 5 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..5].join(", "), items.len() - 5)
    }
}

/// The model's names of CmdStan columns: `A.3` → `A[2]` (0-based, as the
/// language indexes), and `A[S07]` where the axis is grouped from the data
/// (`dims` gives each variable's axis names, `coords` each grouped axis's
/// labels); scalars and statistics keep their names.
pub fn model_labels(
    columns: &[String],
    dims: &std::collections::HashMap<String, Vec<String>>,
    coords: &std::collections::HashMap<String, Vec<String>>,
) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let mut parts = c.split('.');
            let name = parts.next().unwrap_or("");
            // Only 1-based integer indices translate (`z.1.real`, a Stan
            // complex part, keeps its name rather than lose a part).
            let indices: Option<Vec<usize>> = parts
                .map(|p| p.parse::<usize>().ok().filter(|i| *i >= 1))
                .collect();
            let indices = indices.unwrap_or_default();
            if indices.is_empty() || c.ends_with("__") {
                return c.clone();
            }
            let axes = dims.get(name);
            let shown: Vec<String> = indices
                .iter()
                .enumerate()
                .map(|(axis, i)| {
                    let zero_based = i.saturating_sub(1);
                    axes.and_then(|a| a.get(axis))
                        .and_then(|d| coords.get(d))
                        .and_then(|labels| labels.get(zero_based))
                        .cloned()
                        .unwrap_or_else(|| zero_based.to_string())
                })
                .collect();
            format!("{name}[{}]", shown.join(", "))
        })
        .collect()
}

/// Whether any column is an array element (named `name.i…`).
pub fn has_arrays(draws: &RunDraws) -> bool {
    draws
        .columns
        .iter()
        .any(|c| !c.ends_with("__") && c.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::model_labels;
    use std::collections::HashMap;

    #[test]
    fn model_labels_translate_only_one_based_integer_indices() {
        let columns: Vec<String> = [
            "lp__",
            "x",
            "x.1",
            "x.2.3",
            "z.1.real",
            "y.0",
            "n_leapfrog__",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        let labels = model_labels(&columns, &HashMap::new(), &HashMap::new());
        assert_eq!(
            labels,
            [
                "lp__",
                "x",
                "x[0]",
                "x[1, 2]",
                "z.1.real",
                "y.0",
                "n_leapfrog__"
            ]
        );
    }
}
