//! `rlc bench`: how long compiling takes, stage by stage, and the median
//! time of one log-density+gradient evaluation on the given data.

use crate::density::Density;
use crate::exit::{ExitCode, Failure};
use crate::pipeline::Compiled;
use std::time::{Duration, Instant};

/// The median time of one call of `f`, over enough calls to last about `budget`.
pub fn median_time(mut f: impl FnMut(), budget: Duration) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(50));
    // Batches of calls long enough to time reliably, at least 11 batches.
    let per_batch = ((Duration::from_millis(2).as_nanos() / once.as_nanos()).max(1)) as u32;
    let batches =
        ((budget.as_nanos() / (once.as_nanos() * u128::from(per_batch))).clamp(11, 501)) as usize;
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

pub fn run(compiled: &Compiled, density: &mut Density, json: bool) -> Result<(), Failure> {
    let theta = vec![0.1; density.dim];
    let mut grad = vec![0.0; density.dim];
    density.logp_grad(&theta, &mut grad).map_err(|e| {
        Failure::new(
            ExitCode::SamplingFailure,
            format!("error: evaluating the log density: {e}"),
        )
    })?;
    let interp = median_time(
        || {
            let _ = density.logp_grad(&theta, &mut grad);
        },
        Duration::from_secs(2),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let compile = compiled.front_end + compiled.lowering + compiled.autodiff;
    if json {
        println!(
            "{{\"compile_ms\": {:.3}, \"front_end_ms\": {:.3}, \"lowering_ms\": {:.3}, \"autodiff_ms\": {:.3}, \"grad_eval_us\": {:.3}, \"interp_grad_eval_us\": {:.3}, \"backend\": \"interp\"}}",
            ms(compile),
            ms(compiled.front_end),
            ms(compiled.lowering),
            ms(compiled.autodiff),
            interp.as_secs_f64() * 1e6,
            interp.as_secs_f64() * 1e6
        );
    } else {
        println!(
            "compile: {:.2} ms (front end {:.2}, lowering {:.2}, autodiff {:.2})",
            ms(compile),
            ms(compiled.front_end),
            ms(compiled.lowering),
            ms(compiled.autodiff)
        );
        println!(
            "one log density + gradient (interpreter): {:.2} µs",
            interp.as_secs_f64() * 1e6
        );
    }
    Ok(())
}
