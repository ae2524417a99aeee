//! `rlc loo` and `rlc compare`: PSIS-LOO of the pointwise log-likelihood a
//! run wrote (`rlc run --log-lik`, the `log_lik.*` columns Stan users write
//! by hand), and the comparison table of several runs, as R's `loo_compare`
//! and ArviZ's `compare` print them.

use crate::exit::{ExitCode, Failure};
use crate::output;
use rlc_driver::predictive::{compare, LooResult};
use std::path::{Path, PathBuf};

/// The CSV files of a run: every `*.csv` in `dir` holding `lp__` draws, by name.
fn chain_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::usage(format!(
            "error: cannot read the folder {}: {e}",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::usage(format!(
            "error: {} holds no CSV files of draws{}",
            dir.display(),
            crate::zarr_hint(dir)
        )));
    }
    Ok(files)
}

/// A run's pointwise log-likelihood: the draws of all chains (one row each),
/// the number of chains, and the unit of an observation (`observation` or
/// `subject`, from the files' header).
pub struct LogLik {
    pub matrix: Vec<Vec<f64>>,
    pub chains: usize,
    pub unit: Option<String>,
    /// The data the run read (its header's `# data` file) and the labels of
    /// its grouped axes (`# coords` lines), which `rlc compare` checks: it
    /// pairs the runs' observations by position.
    pub data: DataIdentity,
    /// Each column's name, the data cell it scores (`choice[S07, 15]`), when
    /// the files' header says (`# log_lik_cells`, written since 2026-12).
    pub names: Option<Vec<String>>,
}

/// Which data a run read, as its files' header says.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DataIdentity {
    pub file: Option<String>,
    pub coords: Vec<String>,
}

/// The value of a header comment `# key = value`.
fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.trim_start_matches('#').split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
}

/// The `log_lik.*` matrix of a run's files.
pub fn read_log_lik(dir: &Path) -> Result<LogLik, Failure> {
    let files = chain_files(dir)?;
    // Runs of several models in one folder (each run writes `<model>_<chain>.csv`
    // into `output/` by default) must not be pooled.
    let mut models: Vec<String> = Vec::new();
    let mut unit = None;
    let mut cells = None;
    let mut data = DataIdentity::default();
    for path in &files {
        let text = crate::read_text(path)?;
        let model = header(&text, "model").unwrap_or_default();
        if !models.contains(&model) {
            models.push(model);
        }
        unit = unit.or(header(&text, "log_lik"));
        cells = cells.or(header(&text, "log_lik_cells"));
        if data.file.is_none() {
            // The first `file =` of the header is the data's (`# data`), before
            // the output's.
            data.file = header(&text, "file");
            data.coords = text
                .lines()
                .take_while(|l| l.starts_with('#'))
                .filter(|l| l.starts_with("# coords "))
                .map(str::to_string)
                .collect();
        }
    }
    if models.len() > 1 {
        return Err(Failure::usage(format!(
            "error: {} holds the draws of {} models ({}); give each run its own --output-dir",
            dir.display(),
            models.len(),
            models.join(", ")
        )));
    }
    let mut rows = Vec::new();
    let mut chains = 0;
    let mut per_chain = None;
    let mut width = None;
    for path in &files {
        let text = crate::read_text(path)?;
        let chain = output::read_chain(&text).map_err(|e| {
            Failure::new(
                ExitCode::DataError,
                format!("error: {}: {e}", path.display()),
            )
        })?;
        if chain.rows.is_empty() {
            // A chain stopped before its first draw (a killed run), as
            // `rlc summary` leaves it out.
            errln!(
                "note: {} holds no draws (its run stopped before sampling) and is left out",
                path.display()
            );
            continue;
        }
        let columns: Vec<usize> = chain
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.starts_with("log_lik.") || c.as_str() == "log_lik")
            .map(|(k, _)| k)
            .collect();
        if columns.is_empty() {
            return Err(Failure::new(
                ExitCode::DataError,
                format!(
                    "error: {} has no log_lik columns; run the model with `rlc run --log-lik` (or `--loo`)",
                    path.display()
                ),
            ));
        }
        if *width.get_or_insert(columns.len()) != columns.len() {
            return Err(Failure::new(
                ExitCode::DataError,
                format!(
                    "error: {} has a different number of log_lik columns",
                    path.display()
                ),
            ));
        }
        // A value that is not finite is named where the user can find it:
        // its file, draw and column.
        for (d, row) in chain.rows.iter().enumerate() {
            if let Some(&k) = columns.iter().find(|&&k| !row[k].is_finite()) {
                return Err(Failure::new(
                    ExitCode::DataError,
                    format!(
                        "error: {}, draw {}: `{}` is {}; leave-one-out needs finite log-likelihoods (a draw under which an observation is impossible cannot come from the posterior given that observation)",
                        path.display(),
                        d + 1,
                        chain.columns[k],
                        row[k]
                    ),
                ));
            }
        }
        // Chains of unequal length (an interrupted run) are cut to the shortest.
        let n = chain.rows.len();
        per_chain = Some(per_chain.map_or(n, |m: usize| m.min(n)));
        rows.push(
            chain
                .rows
                .iter()
                .map(|r| columns.iter().map(|&k| r[k]).collect::<Vec<f64>>())
                .collect::<Vec<_>>(),
        );
        chains += 1;
    }
    let n = per_chain.unwrap_or(0);
    let matrix = rows
        .into_iter()
        .flat_map(|c| c.into_iter().take(n))
        .collect();
    // A header that does not describe these columns (edited, or corrupt) is not used.
    let names = cells
        .and_then(|c| rlc_driver::generate::LogLikCells::parse(&c))
        .filter(|c| Some(c.len()) == width)
        .map(|c| c.names(&coords_of(&data.coords)));
    Ok(LogLik {
        matrix,
        chains,
        unit,
        data,
        names,
    })
}

/// The labels of the grouped axes, from a header's `# coords N = [...]` lines.
fn coords_of(lines: &[String]) -> Vec<(String, Vec<String>)> {
    lines
        .iter()
        .filter_map(|l| {
            let (dim, value) = l.strip_prefix("# coords ")?.split_once(" = ")?;
            let labels = serde_json::from_str::<Vec<String>>(value).ok()?;
            Some((dim.trim().to_string(), labels))
        })
        .collect()
}

/// A run's PSIS-LOO, its unit of observation, which data it read and the
/// names of its observations.
struct RunLoo {
    result: LooResult,
    unit: Option<String>,
    data: DataIdentity,
    names: Option<Vec<String>>,
}

/// PSIS-LOO of a run's folder.
fn loo_of(dir: &Path) -> Result<RunLoo, Failure> {
    let ll = read_log_lik(dir)?;
    let result = rlc_driver::predictive::psis_loo(&ll.matrix, ll.chains).map_err(|e| {
        Failure::new(
            ExitCode::DataError,
            format!("error: PSIS-LOO of {}: {e}", dir.display()),
        )
    })?;
    Ok(RunLoo {
        result,
        unit: ll.unit,
        data: ll.data,
        names: ll.names,
    })
}

/// Runs can be compared only when they score the same observations in the
/// same order: the same unit, the same subjects in the same order (their
/// labels), the same data file (a warning, since a file may be moved or
/// copied unchanged).
fn same_observations(runs: &[(String, RunLoo)]) -> Result<Vec<String>, Failure> {
    let mut warnings = Vec::new();
    let Some((first_name, first)) = runs.first() else {
        return Ok(warnings);
    };
    let (first_unit, first_data) = (&first.unit, &first.data);
    for (name, RunLoo { unit, data, .. }) in &runs[1..] {
        let unit_of = |u: &Option<String>| u.clone().unwrap_or_else(|| "observation".into());
        if unit_of(unit) != unit_of(first_unit) {
            return Err(Failure::new(
                ExitCode::DataError,
                format!(
                    "error: {first_name} scores each {} and {name} each {}: compare runs made with the same --log-lik",
                    unit_of(first_unit),
                    unit_of(unit)
                ),
            ));
        }
        if data.coords != first_data.coords {
            return Err(Failure::new(
                ExitCode::DataError,
                format!(
                    "error: {first_name} and {name} have other subjects, or the same in another order (the labels in their files' `# coords` lines differ): compare pairs observations by position, so the runs must read the same data in the same order"
                ),
            ));
        }
        if data.file != first_data.file {
            warnings.push(format!(
                "{first_name} read {} and {name} read {}: compare pairs observations by position, so they must be the same data in the same order",
                first_data.file.as_deref().unwrap_or("(no data file named)"),
                data.file.as_deref().unwrap_or("(no data file named)")
            ));
        }
    }
    Ok(warnings)
}

/// The warning of a LOO result, without the advice to leave out subjects
/// when the observations are subjects already.
fn warning(result: &LooResult, unit: Option<&str>, names: Option<&[String]>) -> Option<String> {
    let w = result.warning_named(names)?;
    if unit == Some("subject") {
        let advice = " For models of sequences, such as a learner's trials, leaving out one trial is not the question to ask: use leave-one-subject-out cross-validation.";
        return Some(w.replace(advice, ""));
    }
    Some(w)
}

/// The LOO table as `loo` prints it, and its warning.
pub fn print_loo(result: &LooResult, unit: Option<&str>, names: Option<&[String]>) {
    outln!(
        "Computed from {} posterior draws and {} observations (PSIS-LOO).",
        result.draws,
        result.observations
    );
    outln!();
    outln!("          Estimate      SE");
    outln!(
        "elpd_loo  {:>8.1}  {:>6.1}",
        result.elpd_loo,
        result.se_elpd_loo
    );
    outln!("p_loo     {:>8.1}  {:>6.1}", result.p_loo, result.se_p_loo);
    outln!("looic     {:>8.1}  {:>6.1}", result.looic, result.se_looic);
    outln!();
    let c = &result.k_counts;
    let n = result.observations.max(1) as f64;
    outln!("Pareto k diagnostic values:");
    let threshold = rlc_driver::predictive::threshold_text(result.k_threshold);
    outln!(
        "  {:<14}(good)      {:>6}  {:>5.1}%",
        format!("(-Inf, {threshold}]"),
        c.good,
        100.0 * c.good as f64 / n
    );
    outln!(
        "  {:<14}(bad)       {:>6}  {:>5.1}%",
        format!("({threshold}, 1]"),
        c.bad,
        100.0 * c.bad as f64 / n
    );
    outln!(
        "  (1, Inf)      (very bad)  {:>6}  {:>5.1}%",
        c.very_bad,
        100.0 * c.very_bad as f64 / n
    );
    let constant = (0..result.observations)
        .filter(|&i| result.tail_fit[i] == rlc_driver::predictive::TailFit::ConstantTail)
        .count();
    if constant > 0 {
        outln!(
            "  ({constant} of the very bad have the same log-likelihood in every draw: their leave-one-out estimate is exact, not a problem)"
        );
    }
    if let Some(w) = warning(result, unit, names) {
        outln!("warning: {w}");
    }
}

/// `{"elpd_loo", "se_elpd_loo", "p_loo", "looic", "pareto_k": [...]}`.
pub fn loo_json(result: &LooResult) -> String {
    let number = |x: f64| {
        if x.is_finite() {
            format!("{x:?}")
        } else {
            "null".to_string()
        }
    };
    let ks: Vec<String> = result.pareto_k.iter().map(|k| number(*k)).collect();
    format!(
        "{{\"elpd_loo\": {}, \"se_elpd_loo\": {}, \"p_loo\": {}, \"se_p_loo\": {}, \"looic\": {}, \"se_looic\": {}, \"k_threshold\": {}, \"pareto_k\": [{}]}}",
        number(result.elpd_loo),
        number(result.se_elpd_loo),
        number(result.p_loo),
        number(result.se_p_loo),
        number(result.looic),
        number(result.se_looic),
        number(result.k_threshold),
        ks.join(", ")
    )
}

pub fn loo_command(dir: &Path, json: bool) -> Result<(), Failure> {
    let run = loo_of(dir)?;
    if json {
        outln!("{}", loo_json(&run.result));
    } else {
        print_loo(&run.result, run.unit.as_deref(), run.names.as_deref());
    }
    Ok(())
}

pub fn compare_command(dirs: &[PathBuf], json: bool) -> Result<(), Failure> {
    if dirs.len() < 2 {
        return Err(Failure::usage(
            "error: compare needs the output folders of two or more runs",
        ));
    }
    let mut runs = Vec::new();
    for dir in dirs {
        runs.push((dir.display().to_string(), loo_of(dir)?));
    }
    let data_warnings = same_observations(&runs)?;
    let named: Vec<(&str, &LooResult)> =
        runs.iter().map(|(n, r)| (n.as_str(), &r.result)).collect();
    let rows =
        compare(&named).map_err(|e| Failure::new(ExitCode::DataError, format!("error: {e}")))?;
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{{\"name\": \"{}\", \"elpd_diff\": {:?}, \"se_diff\": {:?}, \"elpd_loo\": {:?}, \"se_elpd_loo\": {:?}, \"p_loo\": {:?}, \"looic\": {:?}}}",
                    r.name.replace('"', "\\\""),
                    r.elpd_diff,
                    r.se_diff,
                    r.elpd_loo,
                    r.se_elpd_loo,
                    r.p_loo,
                    r.looic
                )
            })
            .collect();
        outln!("[{}]", items.join(", "));
        for w in &data_warnings {
            errln!("warning: {w}");
        }
        return Ok(());
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(5).max(5);
    outln!(
        "{}  {:>9}  {:>7}  {:>9}  {:>7}  {:>7}  {:>9}",
        crate::console::pad("", width),
        "elpd_diff",
        "se_diff",
        "elpd_loo",
        "se",
        "p_loo",
        "looic"
    );
    for r in &rows {
        outln!(
            "{}  {:>9.1}  {:>7.1}  {:>9.1}  {:>7.1}  {:>7.1}  {:>9.1}",
            crate::console::pad(&r.name, width),
            r.elpd_diff,
            r.se_diff,
            r.elpd_loo,
            r.se_elpd_loo,
            r.p_loo,
            r.looic
        );
    }
    if let [best, second, ..] = rows.as_slice() {
        if second.elpd_diff == 0.0 && second.se_diff == 0.0 {
            // The same pointwise elpd (a run given twice, or two runs of one
            // model at one seed): no difference to measure.
            outln!(
                "{} and {} predict equally well: their pointwise elpd is the same.",
                best.name,
                second.name
            );
        } else {
            let z = if second.se_diff > 0.0 {
                -second.elpd_diff / second.se_diff
            } else {
                f64::INFINITY
            };
            outln!(
                "{} predicts best; the next, {}, is {:.1} lower in elpd ({:.1} standard errors of the difference).",
                best.name, second.name, -second.elpd_diff, z
            );
        }
    }
    for w in &data_warnings {
        outln!("warning: {w}");
    }
    for (name, run) in &runs {
        if let Some(w) = warning(&run.result, run.unit.as_deref(), run.names.as_deref()) {
            outln!("warning: {name}: {w}");
        }
    }
    Ok(())
}
