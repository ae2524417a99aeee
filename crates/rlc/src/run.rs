//! `rlc run`: compile, load the data, sample with NUTS (chains in parallel,
//! a progress bar per chain on a terminal), stream the draws to CmdStan CSV
//! files, and print the summary and warnings. Ctrl-C stops the chains and
//! keeps what was written.

use crate::density::Density;
use crate::exit::{ExitCode, Failure};
use crate::output::{column_names, ChainWriter, Column, RunSettings, STAT_COLUMNS};
use crate::summary::{self, RunDraws};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rlc_nuts::{ChainEvent, LogDensity, SamplerSettings};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The settings of a run, with CmdStan's defaults.
pub struct RunOptions {
    pub chains: usize,
    pub warmup: usize,
    pub draws: usize,
    pub seed: u64,
    pub output_dir: PathBuf,
    pub max_depth: u32,
    pub adapt_delta: f64,
    pub quiet: bool,
    pub data_file: String,
    pub model_name: String,
}

/// The sampler's view of a model: a log density on the unconstrained scale.
struct SamplerDensity(Density);

impl LogDensity for SamplerDensity {
    type Error = String;
    fn dim(&self) -> usize {
        self.0.dim
    }
    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, String> {
        self.0.logp_grad(position, grad).map_err(|e| e.to_string())
    }
}

/// What each chain's event handler owns: its file, a density for the
/// generated quantities, and the draws kept for the summary.
struct ChainState {
    writer: ChainWriter,
    generated: Density,
    /// Per column (statistics, then values in CSV order), the chain's draws.
    columns: Vec<Vec<f64>>,
    order: Vec<usize>,
    error: Option<String>,
    bar: ProgressBar,
    divergences: usize,
}

pub fn run(
    make_density: &dyn Fn() -> Result<Density, Failure>,
    options: &RunOptions,
) -> Result<(), Failure> {
    std::fs::create_dir_all(&options.output_dir).map_err(|e| {
        Failure::usage(format!(
            "error: cannot create the output folder {}: {e}",
            options.output_dir.display()
        ))
    })?;
    let probe = make_density()?;
    let columns: Vec<Column> = probe
        .params
        .iter()
        .map(|p| Column {
            name: p.name.clone(),
            shape: p.shape.clone(),
        })
        .chain(probe.outs.iter().map(|(name, shape)| Column {
            name: name.clone(),
            shape: shape.clone(),
        }))
        .collect();
    let (value_names, order) = column_names(&columns);
    let settings = RunSettings {
        model_name: options.model_name.clone(),
        data_file: options.data_file.clone(),
        num_warmup: options.warmup,
        num_draws: options.draws,
        max_depth: options.max_depth,
        adapt_delta: options.adapt_delta,
        seed: options.seed,
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
    let mut states = Vec::new();
    let mut densities = Vec::new();
    for chain in 0..options.chains {
        let writer =
            ChainWriter::create(&options.output_dir, chain, &settings, &columns).map_err(|e| {
                Failure::usage(format!(
                    "error: cannot write to {}: {e}",
                    options.output_dir.display()
                ))
            })?;
        let bar = progress.add(ProgressBar::new((options.warmup + options.draws) as u64));
        bar.set_style(style.clone());
        bar.set_prefix(format!("{}", chain + 1));
        bar.set_message("warmup");
        states.push(Mutex::new(ChainState {
            writer,
            generated: probe.clone(),
            columns: vec![
                Vec::with_capacity(options.draws);
                STAT_COLUMNS.len() + value_names.len()
            ],
            order: order.clone(),
            error: None,
            bar,
            divergences: 0,
        }));
        densities.push(Mutex::new(Some(SamplerDensity(probe.clone()))));
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process (tests call run once).
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let sampler = SamplerSettings {
        num_warmup: options.warmup,
        num_draws: options.draws,
        num_chains: options.chains,
        seed: options.seed,
        max_depth: options.max_depth,
        target_accept: options.adapt_delta,
        ..SamplerSettings::default()
    };
    let started = Instant::now();
    let on_event = |event: ChainEvent<'_>| match event {
        ChainEvent::Started { .. } => {}
        ChainEvent::WarmupDone { chain, adaptation } => {
            if let Ok(mut s) = states[chain].lock() {
                if let Err(e) = s
                    .writer
                    .adaptation(adaptation.step_size, &adaptation.inv_mass_matrix)
                {
                    s.error = Some(e.to_string());
                }
                s.bar.set_message("sampling");
            }
        }
        ChainEvent::Draw { chain, draw } => {
            let Ok(mut s) = states[chain].lock() else {
                return;
            };
            s.bar.inc(1);
            if draw.is_warmup {
                return;
            }
            let st = &draw.stats;
            if st.divergent {
                s.divergences += 1;
                let n = s.divergences;
                s.bar.set_message(format!("sampling, {n} divergent"));
            }
            let stats = [
                st.lp,
                st.accept_stat,
                st.step_size,
                f64::from(st.tree_depth),
                f64::from(st.n_leapfrog),
                f64::from(u8::from(st.divergent)),
                st.energy,
            ];
            let values: Vec<f64> = match s.generated.generated(&draw.position) {
                Ok(values) => values,
                Err(e) => {
                    s.error
                        .get_or_insert(format!("computing the outputs of a draw: {e}"));
                    vec![f64::NAN; s.order.len()]
                }
            };
            if let Err(e) = s.writer.draw(&stats, &values) {
                s.error.get_or_insert(e.to_string());
            }
            for (k, x) in stats.iter().enumerate() {
                s.columns[k].push(*x);
            }
            let state = &mut *s;
            for (k, &i) in state.order.iter().enumerate() {
                state.columns[STAT_COLUMNS.len() + k]
                    .push(values.get(i).copied().unwrap_or(f64::NAN));
            }
        }
        ChainEvent::Failed { chain, error } => {
            if let Ok(mut s) = states[chain].lock() {
                s.error.get_or_insert(error.to_string());
                s.bar.abandon_with_message("failed");
            }
        }
    };
    let make = |chain: usize| {
        densities[chain]
            .lock()
            .ok()
            .and_then(|mut d| d.take())
            .expect("each chain's density is taken once")
    };
    let results = rlc_nuts::sample(&sampler, make, on_event, &stop);
    let elapsed = started.elapsed();
    let interrupted = stop.load(Ordering::SeqCst);
    let mut failures = Vec::new();
    let mut chains = Vec::new();
    let mut sampling_seconds: f64 = 0.0;
    let mut grad_evals = 0;
    for (chain, (result, state)) in results.into_iter().zip(states).enumerate() {
        let mut state = state.into_inner().map_err(|_| {
            Failure::new(
                ExitCode::InternalError,
                "internal error: a chain's state was poisoned",
            )
        })?;
        state.bar.finish();
        match result {
            Ok(run) => {
                grad_evals += run.grad_evals;
                sampling_seconds = sampling_seconds.max(run.sampling_time.as_secs_f64());
                let _ = state
                    .writer
                    .finish(run.warmup_time, run.sampling_time, run.interrupted);
                if let Some(e) = state.error {
                    failures.push(format!("chain {}: {e}", chain + 1));
                }
                if !state.columns[0].is_empty() {
                    chains.push(state.columns);
                }
            }
            Err(e) => {
                let _ = state
                    .writer
                    .finish(Default::default(), Default::default(), true);
                failures.push(format!("chain {}: {e}", chain + 1));
            }
        }
    }
    let _ = progress.clear();
    for f in &failures {
        eprintln!("error: {f}");
    }
    if chains.is_empty() && interrupted {
        return Err(Failure::new(
            ExitCode::Interrupted,
            "interrupted during warmup: no draws were made",
        ));
    }
    if chains.is_empty() {
        return Err(Failure::new(
            ExitCode::SamplingFailure,
            "error: no chain produced draws",
        ));
    }
    // Chains cut short (Ctrl-C) are summarized over their common length.
    let shortest = chains.iter().map(|c| c[0].len()).min().unwrap_or(0);
    for c in &mut chains {
        for col in c.iter_mut() {
            col.truncate(shortest);
        }
    }
    let mut names: Vec<String> = STAT_COLUMNS.iter().map(|s| s.to_string()).collect();
    names.extend(value_names);
    let draws = RunDraws {
        columns: names,
        chains,
        sampling_seconds: Some(sampling_seconds),
    };
    println!("{}", summary::table(&draws));
    for w in summary::warnings(&draws, options.max_depth) {
        println!("warning: {w}");
    }
    println!(
        "{} chains × {} draws in {:.2} s ({} gradient evaluations, seed {}); draws written to {}",
        draws.chains.len(),
        shortest,
        elapsed.as_secs_f64(),
        grad_evals,
        options.seed,
        options.output_dir.display()
    );
    if interrupted {
        return Err(Failure::new(
            ExitCode::Interrupted,
            "interrupted: the chains were stopped early; the files hold the draws made so far",
        ));
    }
    if !failures.is_empty() && draws.chains.len() < options.chains {
        return Err(Failure::new(
            ExitCode::SamplingFailure,
            format!(
                "error: {} of {} chains failed",
                failures.len(),
                options.chains
            ),
        ));
    }
    Ok(())
}
