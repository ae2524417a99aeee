//! `rlc run`: sample with the driver (chains in parallel), stream each draw
//! to its chain's CmdStan CSV and move a progress bar per chain, then print
//! the summary and warnings. Ctrl-C stops the chains and keeps what was
//! written.

use crate::exit::{ExitCode, Failure};
use crate::output::{ChainWriter, RunSettings};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rlc_driver::sample::{self, Adaptation, DrawRecord, Observer, SampleSettings};
use rlc_driver::{summary, Compiled, Data, Density};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The settings of a run beyond the sampler's.
pub struct RunOptions {
    pub sample: SampleSettings,
    pub output_dir: PathBuf,
    pub quiet: bool,
    pub data_file: String,
    pub model_name: String,
    pub format: OutputFormat,
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
}

impl Observer for Terminal {
    fn warmup_done(&self, chain: usize, adaptation: &Adaptation) {
        if let Ok(mut c) = self.chains[chain].lock() {
            let written = c
                .writer
                .as_mut()
                .map(|w| w.adaptation(adaptation.step_size, &adaptation.inv_mass_matrix));
            if let Some(Err(e)) = written {
                c.error = Some(e.to_string());
            }
            c.bar.set_message("sampling");
        }
    }

    fn draw(&self, draw: &DrawRecord<'_>) {
        let Ok(mut c) = self.chains[draw.chain].lock() else {
            return;
        };
        c.bar.inc(1);
        if draw.is_warmup {
            return;
        }
        if draw.stats[5] != 0.0 {
            c.divergences += 1;
            let n = c.divergences;
            c.bar.set_message(format!("sampling, {n} divergent"));
        }
        if let Some(Err(e)) = c.writer.as_mut().map(|w| w.draw(&draw.stats, draw.values)) {
            c.error.get_or_insert(e.to_string());
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
    std::fs::create_dir_all(&options.output_dir).map_err(|e| {
        Failure::usage(format!(
            "error: cannot create the output folder {}: {e}",
            options.output_dir.display()
        ))
    })?;
    let columns = sample::variables(density);
    let s = &options.sample;
    let settings = RunSettings {
        model_name: options.model_name.clone(),
        data_file: options.data_file.clone(),
        num_warmup: s.warmup,
        num_draws: s.draws,
        max_depth: s.max_depth,
        adapt_delta: s.adapt_delta,
        seed: s.seed,
        init_radius: 2.0,
    };
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
                        Failure::usage(format!(
                            "error: cannot write to {}: {e}",
                            options.output_dir.display()
                        ))
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
    let terminal = Terminal { chains };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process (tests call run once).
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let result = sample::sample(density, s, &terminal, &stop);
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
    for (chain, out) in fit.chains.iter().zip(&mut outputs) {
        out.bar.finish();
        let failed = chain.stats.is_empty() && chain.error.is_some();
        let (warmup, sampling) = if failed {
            (Default::default(), Default::default())
        } else {
            (chain.warmup_time, chain.sampling_time)
        };
        if let Some(w) = out.writer.as_mut() {
            let _ = w.finish(warmup, sampling, failed || chain.interrupted);
        }
        if let Some(e) = chain.error.as_ref().or(out.error.as_ref()) {
            failures.push(format!("chain {}: {e}", chain.chain + 1));
        }
    }
    let _ = progress.clear();
    let written_to = match options.format {
        OutputFormat::Csv => options.output_dir.clone(),
        OutputFormat::Zarr => {
            let path = options
                .output_dir
                .join(format!("{}.zarr", options.model_name));
            let tree = rlc_driver::tree::build(compiled, data, &fit);
            crate::zarr::write(&path, &tree).map_err(|e| {
                Failure::usage(format!("error: cannot write {}: {e}", path.display()))
            })?;
            path
        }
    };
    for f in &failures {
        eprintln!("error: {f}");
    }
    let draws = fit.run_draws();
    println!("{}", summary::table(&draws));
    for w in summary::warnings(&draws, s.max_depth) {
        println!("warning: {w}");
    }
    println!(
        "{} chains × {} draws in {:.2} s ({} gradient evaluations, seed {}); draws written to {}",
        draws.chains.len(),
        fit.draws_per_chain(),
        fit.elapsed.as_secs_f64(),
        fit.grad_evals(),
        s.seed,
        written_to.display()
    );
    if fit.interrupted {
        return Err(Failure::new(
            ExitCode::Interrupted,
            "interrupted: the chains were stopped early; the files hold the draws made so far",
        ));
    }
    if !failures.is_empty() && draws.chains.len() < s.chains {
        return Err(Failure::new(
            ExitCode::SamplingFailure,
            format!("error: {} of {} chains failed", failures.len(), s.chains),
        ));
    }
    Ok(())
}
