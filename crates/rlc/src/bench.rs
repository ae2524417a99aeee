//! `rlc bench`: how long compiling takes, stage by stage (front end,
//! lowering, autodiff, JIT), and the median time of one
//! log-density+gradient evaluation with the JIT and with the interpreter.

use crate::exit::{ExitCode, Failure};
use rlc_driver::{Backend, Compiled, Data, Density};
use std::time::{Duration, Instant};

/// The median time of one call of `f`, over batches lasting about `budget` in all.
pub fn median_time(mut f: impl FnMut(), budget: Duration) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(50));
    // Batches of calls long enough to time reliably, at least 11 batches.
    let per_batch = ((Duration::from_millis(2).as_nanos() / once.as_nanos()).max(1)) as u32;
    let batches =
        (budget.as_nanos() / (once.as_nanos() * u128::from(per_batch))).clamp(11, 501) as usize;
    let mut times: Vec<Duration> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed() / per_batch
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn time_evaluation(density: &mut Density, budget: Duration) -> Result<Duration, Failure> {
    let theta = vec![0.1; density.dim];
    let mut grad = vec![0.0; density.dim];
    density.logp_grad(&theta, &mut grad).map_err(|e| {
        Failure::new(
            ExitCode::SamplingFailure,
            format!("error: evaluating the log density: {e}"),
        )
    })?;
    Ok(median_time(
        || {
            let _ = density.logp_grad(&theta, &mut grad);
        },
        budget,
    ))
}

pub fn run(compiled: &Compiled, data: &Data, json: bool, threads: usize) -> Result<(), Failure> {
    let start = Instant::now();
    let mut jit = Density::with_threads(compiled, data, Backend::Jit, threads)?;
    let jit_compile = start.elapsed();
    let jit_time = time_evaluation(&mut jit, Duration::from_secs(2))?;
    let mut interp = Density::new(compiled, data, Backend::Interp)?;
    let interp_time = time_evaluation(&mut interp, Duration::from_secs(2))?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let compile = compiled.front_end + compiled.lowering + compiled.autodiff + jit_compile;
    if json {
        outln!(
            "{{\"compile_ms\": {:.3}, \"front_end_ms\": {:.3}, \"lowering_ms\": {:.3}, \"autodiff_ms\": {:.3}, \"jit_ms\": {:.3}, \"grad_eval_us\": {:.4}, \"interp_grad_eval_us\": {:.4}}}",
            ms(compile),
            ms(compiled.front_end),
            ms(compiled.lowering),
            ms(compiled.autodiff),
            ms(jit_compile),
            us(jit_time),
            us(interp_time)
        );
    } else {
        outln!(
            "compile: {:.2} ms (front end {:.2}, lowering {:.2}, autodiff {:.2}, JIT {:.2})",
            ms(compile),
            ms(compiled.front_end),
            ms(compiled.lowering),
            ms(compiled.autodiff),
            ms(jit_compile)
        );
        outln!(
            "one log density + gradient: {:.3} µs (JIT), {:.1} µs (interpreter)",
            us(jit_time),
            us(interp_time)
        );
    }
    Ok(())
}
