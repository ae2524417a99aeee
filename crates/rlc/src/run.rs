//! `rlc run`: sample with the driver (chains in parallel), stream each draw
//! to its chain's CmdStan CSV and move a progress bar per chain, then print
//! the summary and warnings. Ctrl-C stops the chains and keeps what was
//! written.

use crate::exit::{ExitCode, Failure};
use crate::lock::OutputLock;
use crate::output::{ChainWriter, RunSettings};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rlc_driver::generate::{DrawExtras, DrawOutputs, LogLikUnit, PredictKind};
use rlc_driver::sample::{self, Adaptation, DrawRecord, Observer, SampleSettings};
use rlc_driver::{Compiled, Data, Density};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The settings of a run beyond the sampler's.
pub struct RunOptions {
    /// The per-draw extras (pointwise log-likelihood, predictive draws).
    pub extras: DrawExtras,
    /// Print PSIS-LOO after the run.
    pub loo: bool,
    pub sample: SampleSettings,
    pub output_dir: PathBuf,
    pub quiet: bool,
    pub data_file: String,
    /// `--set NAME=VALUE`, for the CSV header.
    pub set: Vec<String>,
    pub model_name: String,
    pub format: OutputFormat,
    /// How the summary names array elements, and which variables it shows.
    pub labels: crate::Labels,
    pub vars: Vec<String>,
    /// The initial values as given (`--init`), for the CSV header.
    pub init: String,
}

/// Where the draws go: one CmdStan CSV per chain, streamed as they are
/// made, or one Zarr store written when sampling ends (`zarr.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Zarr,
}

/// One chain's file and progress bar.
struct ChainOutput {
    /// `None` when the draws go to a Zarr store instead.
    writer: Option<ChainWriter>,
    bar: ProgressBar,
    divergences: usize,
    error: Option<String>,
}

/// Streams draws to the files and the progress bars.
struct Terminal {
    chains: Vec<Mutex<ChainOutput>>,
    /// Set when a file cannot be written: the run stops, since draws that
    /// cannot be kept are wasted work.
    stop: &'static AtomicBool,
}

impl Terminal {
    fn write_failed(&self, c: &mut ChainOutput, e: std::io::Error) {
        if c.error.is_none() {
            let path = c
                .writer
                .as_ref()
                .map(|w| w.path().display().to_string())
                .unwrap_or_default();
            c.error = Some(format!("cannot write to {path}: {e}"));
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Observer for Terminal {
    fn warmup_done(&self, chain: usize, adaptation: &Adaptation) {
        if let Ok(mut c) = self.chains[chain].lock() {
            let written = c.writer.as_mut().map(|w| {
                w.adaptation(adaptation)?;
                w.low_rank(&adaptation.low_rank.values, &adaptation.low_rank.vectors)
            });
            if let Some(Err(e)) = written {
                self.write_failed(&mut c, e);
            }
            c.bar.set_message("sampling");
        }
    }

    fn draw(&self, draw: &DrawRecord<'_>) {
        let Ok(mut c) = self.chains[draw.chain].lock() else {
            return;
        };
        c.bar.inc(1);
        if !draw.kept {
            return;
        }
        if draw.stats[5] != 0.0 {
            c.divergences += 1;
            let n = c.divergences;
            c.bar.set_message(format!("sampling, {n} divergent"));
        }
        if c.error.is_some() {
            // The file is short already: a later row would leave a gap.
            return;
        }
        if let Some(Err(e)) = c.writer.as_mut().map(|w| w.draw(&draw.stats, draw.values)) {
            self.write_failed(&mut c, e);
        }
    }

    fn failed(&self, chain: usize, _error: &str) {
        if let Ok(c) = self.chains[chain].lock() {
            c.bar.abandon_with_message("failed");
        }
    }
}

pub fn run(
    compiled: &Compiled,
    data: &Data,
    density: &Density,
    options: &RunOptions,
) -> Result<(), Failure> {
    options.sample.validate()?;
    // A misspelled --vars is found before the run, not after it.
    let names: Vec<String> = sample::variables(density)
        .iter()
        .map(|v| v.name.clone())
        .collect();
    // The model's outs written in loops, and whether the draws hold them (`--loop-outs`).
    let loop_outs = compiled.loop_out_names();
    let loop_outs_written = compiled.ir.outs.iter().any(|o| o.in_loops);
    if let Some(unknown) = options.vars.iter().find(|v| !names.contains(v)) {
        if loop_outs.contains(unknown) {
            return Err(Failure::usage(format!(
                "error: --vars: `{unknown}` is written in loops: add --loop-outs to write it"
            )));
        }
        return Err(Failure::usage(format!(
            "error: --vars: the model has no parameter or `out` value `{unknown}` (it has {})",
            names.join(", ")
        )));
    }
    if !loop_outs.is_empty() && !loop_outs_written && !options.quiet {
        errln!(
            "note: the outs written in loops ({}) are not written: --loop-outs writes them",
            loop_outs.join(", ")
        );
    }
    let extras = DrawOutputs::new(compiled, data, options.extras)?;
    if options.extras.predict.is_some() && !options.quiet {
        for note in rlc_driver::generate::forward_notes(compiled) {
            errln!("note: {note}");
        }
    } else if options.extras.log_lik.is_some() && !options.quiet {
        for note in rlc_driver::generate::log_lik_notes(compiled) {
            errln!("note: {note}");
        }
    }
    std::fs::create_dir_all(&options.output_dir).map_err(|e| {
        Failure::usage(format!(
            "error: cannot create the output folder {}: {e}",
            options.output_dir.display()
        ))
    })?;
    let _lock = OutputLock::acquire(&options.output_dir)?;
    let mut columns = sample::variables(density);
    columns.extend(extras.variables.iter().cloned());
    let s = &options.sample;
    // The draws are kept in memory for the summary (and the Zarr store):
    // refused here, before any output file is written.
    rlc_driver::memory::check_draws_fit(
        s.chains,
        s.kept_draws(),
        columns.iter().map(|c| c.len()).sum(),
    )?;
    let settings = RunSettings {
        model_name: options.model_name.clone(),
        data_file: options.data_file.clone(),
        set: options.set.clone(),
        num_warmup: s.warmup,
        num_draws: s.draws,
        thin: s.thin,
        adaptation: s.adaptation,
        max_depth: s.max_depth,
        adapt_delta: s.adapt_delta,
        seed: s.seed,
        init: options.init.clone(),
        log_lik: options.extras.log_lik.map(|u| match u {
            LogLikUnit::Observation => "observation",
            LogLikUnit::Subject => "subject",
        }),
        log_lik_cells: extras.log_lik_cells().map(|c| c.header()),
        predict: options.extras.predict.map(|p| match p {
            PredictKind::OneStep => "one-step",
            PredictKind::Full => "full",
        }),
        dims: Vec::new(),
        coords: Vec::new(),
        loop_outs: if loop_outs_written {
            loop_outs.clone()
        } else {
            Vec::new()
        },
    };
    let dims = rlc_driver::labels::dims(compiled, data);
    let mut settings = settings;
    for (array, variable) in dims.variables.iter().zip(&columns) {
        if !array.dims.is_empty() {
            settings
                .dims
                .push((variable.name.clone(), array.dims.clone()));
        }
    }
    for variable in &columns {
        // A replica has the axes of the data it replicates.
        if let Some(data_dims) = variable
            .name
            .strip_suffix("_rep")
            .and_then(|n| dims.data.iter().find(|d| d.name == n))
        {
            settings
                .dims
                .push((variable.name.clone(), data_dims.dims.clone()));
        }
    }
    settings.coords = dims.coords.clone();
    let progress = MultiProgress::with_draw_target(
        if options.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    let style = ProgressStyle::with_template("chain {prefix} {bar:30} {pos:>5}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut chains = Vec::new();
    for chain in 0..s.chains {
        let writer = match options.format {
            OutputFormat::Csv => Some(
                ChainWriter::create(&options.output_dir, chain, &settings, &columns).map_err(
                    |e| {
                        Failure::new(
                            ExitCode::OutputError,
                            format!(
                                "error: cannot write to {}: {e}",
                                options.output_dir.display()
                            ),
                        )
                    },
                )?,
            ),
            OutputFormat::Zarr => None,
        };
        let bar = progress.add(ProgressBar::new((s.warmup + s.draws) as u64));
        bar.set_style(style.clone());
        bar.set_prefix(format!("{}", chain + 1));
        bar.set_message("warmup");
        chains.push(Mutex::new(ChainOutput {
            writer,
            bar,
            divergences: 0,
            error: None,
        }));
    }
    let stop = crate::signals::install();
    let terminal = Terminal { chains, stop };
    let result = sample::sample_with(density, &extras, s, &terminal, stop);
    let mut outputs = Vec::new();
    for c in terminal.chains {
        outputs.push(c.into_inner().map_err(|_| {
            Failure::new(
                ExitCode::InternalError,
                "internal error: a chain's output was poisoned",
            )
        })?);
    }
    let fit = match result {
        Ok(fit) => fit,
        Err(e) => {
            for out in &mut outputs {
                out.bar.finish();
                if let Some(w) = out.writer.as_mut() {
                    let _ = w.finish(Default::default(), Default::default(), true);
                }
            }
            let _ = progress.clear();
            return Err(e.into());
        }
    };
    let mut failures = Vec::new();
    // Files that could not be written whole.
    let mut write_errors = Vec::new();
    for (chain, out) in fit.chains.iter().zip(&mut outputs) {
        out.bar.finish();
        let failed = chain.stats.is_empty() && chain.error.is_some();
        let (warmup, sampling) = if failed {
            (Default::default(), Default::default())
        } else {
            (chain.warmup_time, chain.sampling_time)
        };
        if let Some(w) = out.writer.as_mut() {
            let finished = if out.error.is_none() {
                w.finish(warmup, sampling, failed || chain.interrupted)
            } else {
                Ok(())
            };
            if let Some(e) = out.error.clone().or_else(|| {
                finished
                    .err()
                    .map(|e| format!("cannot write to {}: {e}", w.path().display()))
            }) {
                write_errors.push(format!(
                    "{e} (the file holds {} of the chain's draws, each row whole)",
                    w.rows
                ));
                continue;
            }
        }
        if let Some(e) = chain.error.as_ref() {
            failures.push(format!("chain {}: {e}", chain.chain + 1));
        }
    }
    let _ = progress.clear();
    if !write_errors.is_empty() {
        for e in &write_errors {
            errln!("error: {e}");
        }
        return Err(Failure::new(
            ExitCode::OutputError,
            format!(
                "error: the run was stopped because its output could not be written ({} of {} files are incomplete); no summary is printed, as the files do not hold the draws",
                write_errors.len(),
                s.chains
            ),
        ));
    }
    let written_to = match options.format {
        OutputFormat::Csv => options.output_dir.clone(),
        OutputFormat::Zarr => {
            let path = crate::zarr::store_path(&options.output_dir, &options.model_name);
            let tree = rlc_driver::tree::build(compiled, data, &fit);
            crate::zarr::write(&path, &tree).map_err(|e| {
                Failure::new(
                    ExitCode::OutputError,
                    format!("error: cannot write {}: {e}", path.display()),
                )
            })?;
            path
        }
    };
    for f in &failures {
        errln!("error: {f}");
    }
    // Outs written in loops hold an element per trial: the files have them,
    // the summary only when --vars names them.
    let draws = fit.run_draws_of(options.vars.iter().any(|v| loop_outs.contains(v)));
    let draws = if options.vars.is_empty() {
        draws
    } else {
        draws
            .select(&options.vars)
            .map_err(|e| Failure::usage(format!("error: --vars: {e}")))?
    };
    let dims_by_name = settings.dims.iter().cloned().collect();
    let coords = settings.coords.iter().cloned().collect();
    crate::print_table(&draws, options.labels, &dims_by_name, &coords);
    if options.vars.is_empty() && loop_outs_written && !loop_outs.is_empty() {
        outln!("{}", crate::loop_outs_left_out(&loop_outs));
    }
    let labels = crate::column_labels(&draws, options.labels, &dims_by_name, &coords);
    for w in fit.warnings_labelled(&draws, &labels) {
        outln!("warning: {w}");
    }
    outln!(
        "{} chains × {} draws in {:.2} s ({} gradient evaluations: {} in {} warmup iterations{} with {} adaptation, {} in the draws; seed {}); draws written to {}",
        draws.chains.len(),
        fit.draws_per_chain(),
        fit.elapsed.as_secs_f64(),
        fit.grad_evals(),
        fit.warmup_grad_evals(),
        s.warmup,
        match fit.most_extra_warmup() {
            0 => String::new(),
            extra => format!(" (extended by up to {extra})"),
        },
        s.adaptation.name(),
        fit.grad_evals() - fit.warmup_grad_evals(),
        s.seed,
        written_to.display()
    );
    if options.extras.predict.is_some() {
        print_check(&fit, data, compiled);
    }
    if options.loo {
        match rlc_driver::predictive::log_lik_matrix(&fit)
            .map(|(m, chains)| rlc_driver::predictive::psis_loo(&m, chains))
        {
            Some(Ok(result)) => {
                outln!();
                let unit = options.extras.log_lik.map(|u| match u {
                    LogLikUnit::Observation => "observation",
                    LogLikUnit::Subject => "subject",
                });
                let names = extras.log_lik_cells().map(|c| c.names(&dims.coords));
                crate::loo::print_loo(&result, unit, names.as_deref());
            }
            // The draws are written: the run succeeded, its LOO could not be made.
            Some(Err(e)) => errln!("warning: no PSIS-LOO: {e}"),
            None => {}
        }
    }
    if fit.interrupted {
        let signal = crate::signals::received().unwrap_or(2);
        return Err(Failure::new(
            ExitCode::Interrupted(signal),
            format!(
                "interrupted by {}: the chains were stopped early; the files hold the draws made so far, each row whole",
                crate::signals::describe(signal)
            ),
        ));
    }
    if failures.is_empty() {
        return Ok(());
    }
    let message = if draws.chains.len() < s.chains {
        format!("error: {} of {} chains failed", failures.len(), s.chains)
    } else {
        // Every chain sampled, but some draws' outputs (`out` values,
        // predictions, log-likelihoods) could not be computed: their columns
        // hold NaN, which a script must not take for results.
        format!(
            "error: the draws are written, but in {} of {} chains the outputs of some draws could not be computed (their columns are NaN): see the errors above",
            failures.len(),
            s.chains
        )
    };
    Err(Failure::new(ExitCode::SamplingFailure, message))
}

/// The posterior predictive check: observed against predicted statistics,
/// overall and per subject (the subjects outside their interval first).
fn print_check(fit: &rlc_driver::sample::Fit, data: &Data, compiled: &Compiled) {
    let dims = rlc_driver::labels::dims(compiled, data);
    let rows = rlc_driver::predictive::check(fit, data, &dims);
    if rows.is_empty() {
        return;
    }
    outln!();
    outln!("Posterior predictive check (observed vs predicted, 90% interval):");
    let width = rows
        .iter()
        .map(|r| r.variable.len() + r.statistic.len() + 2)
        .max()
        .unwrap_or(10);
    let overall: Vec<_> = rows.iter().filter(|r| !r.variable.contains('[')).collect();
    let subjects: Vec<_> = rows.iter().filter(|r| r.variable.contains('[')).collect();
    let line = |r: &rlc_driver::predictive::CheckRow| {
        outln!(
            "  {}  observed {:>7.3}  predicted {:>7.3} [{:.3}, {:.3}]{}",
            crate::console::pad(&format!("{} {}", r.variable, r.statistic), width),
            r.observed,
            r.predicted_mean,
            r.q5,
            r.q95,
            if r.is_outside() { "  outside" } else { "" }
        );
    };
    overall.iter().for_each(|r| line(r));
    if !subjects.is_empty() {
        let outside: Vec<_> = subjects.iter().filter(|r| r.is_outside()).collect();
        outln!(
            "  per subject: {} of {} statistics outside their 90% interval (about {} expected by chance)",
            outside.len(),
            subjects.len(),
            expected_by_chance(subjects.len())
        );
        for r in outside.iter().take(10) {
            line(r);
        }
        if outside.len() > 10 {
            outln!("  … and {} more", outside.len() - 10);
        }
    }
}

/// How many of `n` statistics fall outside their 90% interval by chance,
/// as a person would say it: `0.4` of 4, `2` of 20, never "0" of a few.
fn expected_by_chance(n: usize) -> String {
    let expected = 0.1 * n as f64;
    if expected < 10.0 && expected.fract() != 0.0 {
        format!("{expected:.1}")
    } else {
        format!("{expected:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::expected_by_chance;

    #[test]
    fn a_few_subjects_expect_a_fraction_outside_not_zero() {
        assert_eq!(expected_by_chance(4), "0.4");
        assert_eq!(expected_by_chance(5), "0.5");
        assert_eq!(expected_by_chance(20), "2");
        assert_eq!(expected_by_chance(25), "2.5");
        assert_eq!(expected_by_chance(200), "20");
    }
}
