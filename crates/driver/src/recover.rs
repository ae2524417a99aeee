//! Parameter recovery and simulation-based calibration: data sets simulated
//! from the priors on a design, each fitted, the truths compared with their
//! posteriors (correlation of truth and posterior mean, coverage of the 50%
//! and 90% intervals, the ranks of simulation-based calibration and their
//! uniformity). Fits run in parallel on threads, each with its own seeds,
//! so the results do not depend on the number of threads.

use crate::compile::Compiled;
use crate::data::Data;
use crate::density::{Backend, Density};
use crate::error::{Error, ErrorKind};
use crate::generate::{self, ParamValues};
use crate::sample::{self, SampleSettings, Silent, VariableKind};
use rlc_diagnostics::{rank_uniformity_clustered, summarize, RankTest};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The settings of a recovery study.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoverSettings {
    /// How many data sets to simulate and fit.
    pub fits: usize,
    /// The study's seed: data set `k` is simulated from stream `k` and fitted
    /// with seed `seed + k + 1`.
    pub seed: u64,
    /// Each fit's sampler settings (its `seed` and `threads` are set per fit).
    pub sample: SampleSettings,
    /// How many fits run at once (0: one per core).
    pub jobs: usize,
    /// Keep every `thin`-th draw for the ranks (0: enough to keep about 100
    /// draws per fit), so that the ranked draws are nearly independent.
    pub thin: usize,
}

impl Default for RecoverSettings {
    fn default() -> Self {
        RecoverSettings {
            fits: 100,
            seed: 0,
            sample: SampleSettings {
                chains: 2,
                warmup: 500,
                draws: 500,
                ..SampleSettings::default()
            },
            jobs: 0,
            thin: 0,
        }
    }
}

/// One scalar (a parameter or `out` element) of one fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub fit: usize,
    /// `alpha`, `A[3]` (0-based, as the language indexes).
    pub name: String,
    /// The variable it belongs to (`A`).
    pub variable: String,
    pub is_parameter: bool,
    pub truth: f64,
    pub mean: f64,
    pub sd: f64,
    pub q5: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub q95: f64,
    /// How many of the `ranked` thinned draws lie below the truth.
    pub rank: usize,
    pub ranked: usize,
    pub rhat: f64,
    pub ess_bulk: f64,
    /// The fit's divergent transitions (the same on each of its rows): a fit
    /// whose sampler diverged may be miscalibrated by its sampling, not by
    /// the model.
    pub divergences: usize,
}

/// The recovery of one variable, over all its elements and fits.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableRecovery {
    pub variable: String,
    pub is_parameter: bool,
    /// Pairs (fit × element) it is computed over.
    pub count: usize,
    /// The fits it is computed over.
    pub fits: usize,
    /// Pearson correlation of truth and posterior mean, over all pairs.
    pub correlation: f64,
    /// For a variable with several elements per fit (one per subject): the
    /// median over fits of the correlation across its elements within a
    /// fit, how well the fits tell the subjects apart. The pooled
    /// `correlation` also counts how much the group level moves between
    /// fits, and can be near 1 while individual differences are not
    /// recovered. `None` for a scalar or fewer than 3 elements.
    pub within_fits: Option<f64>,
    /// Shares of truths inside the central 50% and 90% intervals.
    pub coverage_50: f64,
    pub coverage_90: f64,
    /// The uniformity of the ranks.
    pub ranks: RankTest,
}

/// The two-sided normal quantile and the p-value beyond which a calibration
/// statistic is flagged (p = 0.001, as the SBC tests use).
pub const Z_FLAG: f64 = 3.29;
pub const P_FLAG: f64 = 0.001;
/// Fewer fits than this do not flag the ranks: with one fit the ranks of a
/// subject-level variable share every hyperparameter draw, the correlation
/// within fits cannot be estimated, and the test warns falsely.
pub const MIN_FITS_FOR_RANKS: usize = 10;

impl VariableRecovery {
    /// Why the ranks are not uniform, when the rank test flags them (p below
    /// [`P_FLAG`], or a z of the mean or variance beyond [`Z_FLAG`]):
    /// `ranks are not uniform ([bins], p = …): <what it means>`.
    pub fn calibration_warning(&self) -> Option<String> {
        let r = &self.ranks;
        if self.fits < MIN_FITS_FOR_RANKS {
            return None;
        }
        if !(r.p_value < P_FLAG || r.z_mean.abs() > Z_FLAG || r.z_variance.abs() > Z_FLAG) {
            return None;
        }
        let why = if r.z_mean > Z_FLAG {
            "the truth is too often above the posterior (it is biased low)"
        } else if r.z_mean < -Z_FLAG {
            "the truth is too often below the posterior (it is biased high)"
        } else if r.z_variance > Z_FLAG {
            "too many truths in the tails: the posteriors are too narrow (or the chains too short to mix)"
        } else if r.z_variance < -Z_FLAG {
            "too few truths in the tails: the posteriors are too wide"
        } else {
            "the rank histogram is not flat"
        };
        let correlated = if r.design_effect > 1.05 {
            format!(
                "; the ranks of one fit are correlated, which the test counts (design effect {:.1})",
                r.design_effect
            )
        } else {
            String::new()
        };
        Some(format!(
            "ranks are not uniform ({:?}, p = {:.2e}{correlated}): {why}",
            r.bins, r.p_value
        ))
    }
}

/// A whole study.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub rows: Vec<Recovered>,
    pub variables: Vec<VariableRecovery>,
    /// Fits that failed, with why.
    pub failures: Vec<(usize, String)>,
    /// How many fits finished (their rows are in `rows`).
    pub fitted: usize,
    /// Fits the stop flag ended part-way: left out of `rows` and of the
    /// calibration, as a fit that never started is (their draws are too few,
    /// and too early in the chains, to rank the truth among).
    pub interrupted: Vec<usize>,
    /// Divergent transitions over all fits.
    pub divergences: usize,
    pub settings: RecoverSettings,
}

/// What one fit yields: its scalars and its divergent transitions, or why it
/// has none.
enum FitOutcome {
    Fitted(Vec<Recovered>, usize),
    Failed(Error),
    /// Its data set could not be simulated (a draw outside the observed
    /// variable's declaration): the study stops, as `rlc simulate` does,
    /// since leaving out such data sets would bias the calibration silently.
    Unsimulated(Error),
    Interrupted,
}

/// Simulated data set `k` of a study with seed `seed`: drawn from the priors on the
/// design with stream `k` of the seed, named after the design and `k`.
pub fn simulate_data_set(
    compiled: &Compiled,
    design: &Data,
    seed: u64,
    k: usize,
) -> Result<(generate::Simulated, Data), Error> {
    let simulated = generate::simulate(compiled, design, &ParamValues::Prior, seed, k as u64)?;
    let data = Data {
        sizes: design.sizes.clone(),
        loaded: simulated.data.clone(),
        name: format!("{} (simulated data set {k})", design.name),
        row_names: design.row_names.clone(),
    };
    Ok((simulated, data))
}

/// The sampler's seed of fit `k` of a study with seed `seed`.
pub fn fit_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add(k as u64 + 1)
}

/// How many draws apart the ranked draws are: `thin`, or with 0 enough to keep
/// about 100 of a fit's `draws` (all chains).
pub fn thinning(thin: usize, draws: usize) -> usize {
    match thin {
        0 => (draws / 100).max(1),
        t => t,
    }
}

/// One scalar of fit `k` (`name`, an element of `variable`) against its `truth`: the
/// posterior summary of its draws (`per_chain`, one slice per chain, of equal length),
/// the interval ends, and the rank of the truth among every `thin`-th draw of the chains
/// one after another.
#[allow(clippy::too_many_arguments)]
pub fn recovered<C: AsRef<[f64]>>(
    k: usize,
    name: String,
    variable: String,
    is_parameter: bool,
    truth: f64,
    per_chain: &[C],
    thin: usize,
) -> Recovered {
    let s = summarize(per_chain);
    let mut all: Vec<f64> = per_chain
        .iter()
        .flat_map(|c| c.as_ref().iter().copied())
        .collect();
    // Ranks over every chain's draws, thinned.
    let ranked: Vec<f64> = all.iter().copied().step_by(thin.max(1)).collect();
    all.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let h = (all.len().saturating_sub(1)) as f64 * q;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        match (all.get(lo), all.get(hi)) {
            (Some(a), Some(b)) => a + (h - lo as f64) * (b - a),
            _ => f64::NAN,
        }
    };
    Recovered {
        fit: k,
        name,
        variable,
        is_parameter,
        truth,
        mean: s.mean,
        sd: s.sd,
        q5: quantile(0.05),
        q25: quantile(0.25),
        q50: quantile(0.5),
        q75: quantile(0.75),
        q95: quantile(0.95),
        rank: ranked.iter().filter(|x| **x < truth).count(),
        ranked: ranked.len(),
        rhat: s.rhat,
        ess_bulk: s.ess_bulk,
        divergences: 0,
    }
}

/// One fit of the study: simulate data set `k`, sample, rank the truths.
fn one_fit(
    compiled: &Compiled,
    design: &Data,
    settings: &RecoverSettings,
    k: usize,
    stop: &AtomicBool,
) -> FitOutcome {
    let (simulated, data) = match simulate_data_set(compiled, design, settings.seed, k) {
        Ok(s) => s,
        Err(e) => return FitOutcome::Unsimulated(e),
    };
    match fit_one(compiled, &simulated, &data, settings, k, stop) {
        Ok(Some((rows, divergences))) => FitOutcome::Fitted(rows, divergences),
        Ok(None) => FitOutcome::Interrupted,
        Err(e) if e.kind == ErrorKind::Interrupted => FitOutcome::Interrupted,
        Err(e) => FitOutcome::Failed(e),
    }
}

/// [`one_fit`]'s work: `None` when the stop flag cut a chain short.
#[allow(clippy::type_complexity)]
fn fit_one(
    compiled: &Compiled,
    simulated: &generate::Simulated,
    data: &Data,
    settings: &RecoverSettings,
    k: usize,
    stop: &AtomicBool,
) -> Result<Option<(Vec<Recovered>, usize)>, Error> {
    let density = Density::new(compiled, data, Backend::Jit)?;
    let sample_settings = SampleSettings {
        seed: fit_seed(settings.seed, k),
        threads: 1,
        ..settings.sample.clone()
    };
    let fit = sample::sample(&density, &sample_settings, &Silent, stop)?;
    if fit.chains.iter().any(|c| c.interrupted) {
        return Ok(None);
    }
    let dims = crate::labels::dims(compiled, data);
    let thin = thinning(settings.thin, fit.draws_per_chain() * fit.chains.len());
    let length = fit.draws_per_chain();
    let chains: Vec<&crate::sample::ChainFit> =
        fit.chains.iter().filter(|c| !c.values.is_empty()).collect();
    let divergences = chains
        .iter()
        .map(|c| c.stats.iter().filter(|s| s[5] != 0.0).count())
        .sum();
    let mut rows = Vec::new();
    let mut offset = 0;
    for (index, (v, (_, _, truth))) in fit.variables.iter().zip(&simulated.truth).enumerate() {
        let labels = dims.element_labels(index, &v.shape);
        for (e, truth) in truth.iter().enumerate() {
            let column = offset + e;
            let per_chain: Vec<Vec<f64>> = chains
                .iter()
                .map(|c| c.values[..length].iter().map(|d| d[column]).collect())
                .collect();
            rows.push(recovered(
                k,
                labels.get(e).cloned().unwrap_or_else(|| v.name.clone()),
                v.name.clone(),
                v.kind == VariableKind::Parameter,
                *truth,
                &per_chain,
                thin,
            ));
        }
        offset += v.len();
    }
    for row in &mut rows {
        row.divergences = divergences;
    }
    Ok(Some((rows, divergences)))
}

/// Runs a recovery study on `design` (loaded with
/// [`crate::data::load_design`]); `progress(done, total)` is called as fits
/// finish, and `fitted(rows)` with each fitted one's rows (from the worker
/// threads: a front end can keep them before the study ends). Setting `stop` ends it early with the
/// fits done so far.
pub fn recover(
    compiled: &Compiled,
    design: &Data,
    settings: &RecoverSettings,
    progress: &(dyn Fn(usize, usize) + Sync),
    fitted: &(dyn Fn(&[Recovered]) + Sync),
    stop: &AtomicBool,
) -> Result<Recovery, Error> {
    settings.sample.validate()?;
    if settings.fits == 0 {
        return Err(Error::usage("error: --fits must be at least 1"));
    }
    let kept = settings.sample.draws * settings.sample.chains;
    if settings.thin >= kept.max(1) {
        return Err(Error::usage(format!(
            "error: --thin {} keeps one draw of a fit's {kept} ({} chains × {} draws) for the ranks, too few to rank the truth among: give a smaller --thin (or 0, the default: about 100 draws kept)",
            settings.thin, settings.sample.chains, settings.sample.draws
        )));
    }
    // Fail early, once, on a model that cannot run forward or a flat prior, and on
    // initial values that do not fit the model (not once per fit).
    let (_, first) = simulate_data_set(compiled, design, settings.seed, 0)?;
    if !settings.sample.init.is_empty() {
        Density::new(compiled, &first, Backend::Interp)?
            .unconstrain_given(&settings.sample.init)
            .map_err(|e| Error::usage(format!("error: initial values: {e}")))?;
    }
    let jobs = match settings.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, settings.fits);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, FitOutcome)>> = Mutex::new(Vec::new());
    // Set when a data set cannot be simulated: no further fit starts.
    let abandoned = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) || abandoned.load(Ordering::Relaxed) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= settings.fits {
                    return;
                }
                let result = one_fit(compiled, design, settings, k, stop);
                if let FitOutcome::Fitted(rows, _) = &result {
                    fitted(rows);
                }
                if matches!(result, FitOutcome::Unsimulated(_)) {
                    abandoned.store(true, Ordering::Relaxed);
                }
                if let Ok(mut r) = results.lock() {
                    r.push((k, result));
                }
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, settings.fits);
            });
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| Error::internal("internal error: a recovery worker panicked"))?;
    results.sort_by_key(|(k, _)| *k);
    if let Some((k, FitOutcome::Unsimulated(e))) = results
        .iter()
        .find(|(_, r)| matches!(r, FitOutcome::Unsimulated(_)))
    {
        let message = e.message.strip_prefix("error: ").unwrap_or(&e.message);
        return Err(Error::new(
            e.kind,
            format!("error: simulated data set {k} of the study: {message}"),
        ));
    }
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut interrupted = Vec::new();
    let mut fitted = 0;
    let mut divergences = 0;
    for (k, result) in results {
        match result {
            FitOutcome::Fitted(r, d) => {
                rows.extend(r);
                divergences += d;
                fitted += 1;
            }
            FitOutcome::Failed(e) => failures.push((k, e.message)),
            FitOutcome::Interrupted => interrupted.push(k),
            // Returned as the study's error above.
            FitOutcome::Unsimulated(_) => {}
        }
    }
    let variables = variable_recovery(&rows, &unit_variables(compiled));
    Ok(Recovery {
        rows,
        variables,
        failures,
        fitted,
        interrupted,
        divergences,
        settings: settings.clone(),
    })
}

/// The parameters and `out` values whose elements are units of one kind, one per
/// subject (or arm, block…): the first axis has a size's name (`real[N]`, `real[N, K]`),
/// not a number (`mu_pr: real[3]` holds the group means of three different parameters,
/// whose correlation within a fit means nothing).
pub fn unit_variables(compiled: &Compiled) -> Vec<String> {
    let ir = &compiled.ir;
    ir.params
        .iter()
        .map(|p| (&p.name, &p.shape))
        .chain(ir.outs.iter().map(|o| (&o.name, &o.ty.shape)))
        .filter(|(_, shape)| shape.first().is_some_and(|d| d.as_size().is_some()))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The recovery of each variable over the rows of all fits (in the order the
/// variables first appear): correlation of truth and posterior mean (and within
/// fits, for the variables named in `units`: [`unit_variables`]), coverage of the
/// central 50% and 90% intervals, uniformity of the ranks.
pub fn variable_recovery(rows: &[Recovered], units: &[String]) -> Vec<VariableRecovery> {
    let mut variables: Vec<VariableRecovery> = Vec::new();
    let mut names: Vec<(String, bool)> = Vec::new();
    for r in rows {
        if !names.iter().any(|(n, _)| *n == r.variable) {
            names.push((r.variable.clone(), r.is_parameter));
        }
    }
    for (name, is_parameter) in names {
        let of: Vec<&Recovered> = rows.iter().filter(|r| r.variable == name).collect();
        let n = of.len() as f64;
        let inside = |lo: fn(&Recovered) -> f64, hi: fn(&Recovered) -> f64| {
            of.iter()
                .filter(|r| r.truth >= lo(r) && r.truth <= hi(r))
                .count() as f64
                / n
        };
        let ranks: Vec<(usize, usize)> = of.iter().map(|r| (r.rank, r.ranked)).collect();
        let fits: Vec<usize> = of.iter().map(|r| r.fit).collect();
        let within_fits = if units.contains(&name) {
            within_fit_correlation(&of)
        } else {
            None
        };
        variables.push(VariableRecovery {
            variable: name,
            is_parameter,
            count: of.len(),
            fits: {
                let mut distinct = fits.clone();
                distinct.sort_unstable();
                distinct.dedup();
                distinct.len()
            },
            correlation: correlation(
                &of.iter().map(|r| r.truth).collect::<Vec<_>>(),
                &of.iter().map(|r| r.mean).collect::<Vec<_>>(),
            ),
            within_fits,
            coverage_50: inside(|r| r.q25, |r| r.q75),
            coverage_90: inside(|r| r.q5, |r| r.q95),
            ranks: rank_uniformity_clustered(&ranks, &fits, 10),
        });
    }
    variables
}

/// [`VariableRecovery::within_fits`] of one variable's rows (each fit's
/// rows next to each other, as a study lists them).
fn within_fit_correlation(rows: &[&Recovered]) -> Option<f64> {
    let mut per_fit: Vec<f64> = rows
        .chunk_by(|a, b| a.fit == b.fit)
        .filter(|fit| fit.len() >= 3)
        .map(|fit| {
            let truths: Vec<f64> = fit.iter().map(|r| r.truth).collect();
            let means: Vec<f64> = fit.iter().map(|r| r.mean).collect();
            correlation(&truths, &means)
        })
        .filter(|r| r.is_finite())
        .collect();
    if per_fit.is_empty() {
        return None;
    }
    per_fit.sort_by(f64::total_cmp);
    let m = per_fit.len();
    Some(if m % 2 == 1 {
        per_fit[m / 2]
    } else {
        (per_fit[m / 2 - 1] + per_fit[m / 2]) / 2.0
    })
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

impl Recovery {
    /// Every fit's truth and posterior summary as CSV, one row per scalar;
    /// the last column names the warmup's adaptation (`stan`, `fisher`,
    /// `fisher-lowrank`), the same for every row.
    pub fn csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push_str(&csv_rows(
            &self.rows,
            self.settings.sample.adaptation.name(),
        ));
        out
    }
}

/// The header line of [`Recovery::csv`].
pub const CSV_HEADER: &str = "fit,name,variable,kind,truth,mean,sd,q5,q25,q50,q75,q95,rank,ranked_draws,rhat,ess_bulk,divergences,adaptation\n";

/// The lines of [`Recovery::csv`] for `rows` (one fit's, as it finishes, or
/// the study's), the warmup's `adaptation` in the last column.
pub fn csv_rows(rows: &[Recovered], adaptation: &str) -> String {
    let mut out = String::new();
    for r in rows {
        let quote = |s: &str| {
            if s.contains(',') || s.contains('"') {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        out.push_str(&format!(
            "{},{},{},{},{:?},{:?},{:?},{:?},{:?},{:?},{:?},{:?},{},{},{:?},{:?},{},{}\n",
            r.fit,
            quote(&r.name),
            quote(&r.variable),
            if r.is_parameter { "param" } else { "out" },
            r.truth,
            r.mean,
            r.sd,
            r.q5,
            r.q25,
            r.q50,
            r.q75,
            r.q95,
            r.rank,
            r.ranked,
            r.rhat,
            r.ess_bulk,
            r.divergences,
            adaptation
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{variable_recovery, Recovered};

    fn row(fit: usize, element: usize, truth: f64, mean: f64) -> Recovered {
        Recovered {
            fit,
            name: format!("A[{element}]"),
            variable: "A".into(),
            is_parameter: true,
            truth,
            mean,
            sd: 0.1,
            q5: mean - 0.2,
            q25: mean - 0.1,
            q50: mean,
            q75: mean + 0.1,
            q95: mean + 0.2,
            rank: 5,
            ranked: 10,
            rhat: 1.0,
            ess_bulk: 400.0,
            divergences: 0,
        }
    }

    /// Subjects' means that follow the fit's group level but not each
    /// subject's truth: the pooled correlation is high, the one within fits
    /// (how well a fit tells its subjects apart) is not.
    #[test]
    fn the_correlation_within_fits_sees_past_the_group_level() {
        let mut rows = Vec::new();
        for fit in 0..5 {
            let group = 2.0 * fit as f64;
            for (e, (dt, dm)) in [(0.3, -0.3), (-0.3, 0.3), (0.1, 0.1), (-0.1, -0.1)]
                .into_iter()
                .enumerate()
            {
                rows.push(row(fit, e, group + dt, group + dm));
            }
        }
        let units = ["A".to_string()];
        let v = &variable_recovery(&rows, &units)[0];
        assert!(v.correlation > 0.95, "{}", v.correlation);
        let within = v.within_fits.expect("4 elements per fit");
        assert!(within < 0.0, "{within}");
        // A scalar has no within-fit correlation.
        let scalar: Vec<Recovered> = (0..5).map(|f| row(f, 0, f as f64, f as f64)).collect();
        assert_eq!(variable_recovery(&scalar, &units)[0].within_fits, None);
        // Nor has a vector of different parameters (`mu_pr: real[3]`).
        assert_eq!(variable_recovery(&rows, &[])[0].within_fits, None);
    }

    /// A subject-level variable is one whose first axis is a size; a vector sized by a
    /// number holds different parameters.
    #[test]
    fn unit_variables_are_sized_by_a_size() {
        let source = "size N\ndata y: real[N]\nparam mu_pr: real[3] ~ Normal(0, 1)\nparam a: real[N] ~ Normal(0, 1)\nparam b: real[N, 2] ~ Normal(0, 1)\nparam c: real[2, N] ~ Normal(0, 1)\nparam s ~ HalfNormal(1)\nout twice = 2 * a\nfor n in 0..N {\n  y[n] ~ Normal(a[n] + b[n, 0] + c[0, n] + mu_pr[0], s)\n}\n";
        let compiled = crate::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(super::unit_variables(&compiled), ["a", "b", "twice"]);
    }

    /// Every truth below every draw is flagged from 10 fits on, not from one
    /// fit of 20 subjects (which share its hyperparameters: a false alarm).
    #[test]
    fn too_few_fits_flag_no_miscalibration() {
        let biased = |fits: usize, elements: usize| -> Vec<Recovered> {
            (0..fits)
                .flat_map(|f| {
                    (0..elements).map(move |e| Recovered {
                        rank: 0,
                        ..row(f, e, e as f64, e as f64)
                    })
                })
                .collect()
        };
        let units = ["A".to_string()];
        let one = &variable_recovery(&biased(1, 20), &units)[0];
        assert_eq!(one.fits, 1);
        assert!(one.ranks.p_value < 1e-3);
        assert_eq!(one.calibration_warning(), None);
        let many = &variable_recovery(&biased(10, 20), &units)[0];
        assert!(many.calibration_warning().is_some());
    }
}
