//! The sampler's own cost per gradient evaluation, on a 100-dimensional standard normal.
//!
//! Plain `std::time::Instant`, no harness: `cargo bench -p rlc-nuts`. The gradient of this
//! target costs about as much as a few of the sampler's vector passes, so the figure of
//! interest is the time per evaluation with the gradient's own cost subtracted: what the
//! trajectory code adds to every leapfrog step.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rlc_nuts::{sample, LogDensity, SamplerSettings};

struct StandardNormal {
    dim: usize,
}

impl LogDensity for StandardNormal {
    type Error = Infallible;
    fn dim(&self) -> usize {
        self.dim
    }
    fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        let mut logp = 0.0;
        for (g, x) in grad.iter_mut().zip(x) {
            *g = -x;
            logp -= 0.5 * x * x;
        }
        Ok(logp)
    }
}

const DIM: usize = 100;

/// Nanoseconds per gradient evaluation, measured alone.
fn gradient_ns() -> f64 {
    let mut density = StandardNormal { dim: DIM };
    let mut x: Vec<f64> = (0..DIM).map(|i| i as f64 / DIM as f64).collect();
    let mut grad = vec![0.0; DIM];
    let evals = 2_000_000;
    let start = Instant::now();
    for i in 0..evals {
        // Perturb the input so the evaluations cannot be hoisted out of the loop.
        x[i % DIM] += 1e-9;
        let logp = density
            .logp_and_grad(black_box(&x), black_box(&mut grad))
            .unwrap_or_else(|never| match never {});
        black_box(logp);
    }
    start.elapsed().as_nanos() as f64 / evals as f64
}

fn main() {
    // `cargo test --benches` runs this too; keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let settings = SamplerSettings {
        num_chains: 1,
        num_threads: 1,
        num_warmup: if quick { 50 } else { 1000 },
        num_draws: if quick { 50 } else { 5000 },
        seed: 1,
        ..SamplerSettings::default()
    };
    let grad_ns = gradient_ns();

    let start = Instant::now();
    let runs = sample(
        &settings,
        |_| StandardNormal { dim: DIM },
        |_| {},
        &AtomicBool::new(false),
    );
    let elapsed_ns = start.elapsed().as_nanos() as f64;
    let Some(Ok(chain)) = runs.into_iter().next() else {
        eprintln!("the benchmark chain failed");
        std::process::exit(1);
    };
    let evals = chain.grad_evals as f64;
    let per_eval = elapsed_ns / evals;
    let draws = chain.draws.iter().filter(|d| !d.is_warmup);
    let mean_leapfrog = draws
        .clone()
        .map(|d| f64::from(d.stats.n_leapfrog))
        .sum::<f64>()
        / settings.num_draws as f64;

    println!("nuts overhead, {DIM}-d standard normal, 1 chain:");
    println!(
        "  {} warmup + {} draws, {} gradient evaluations ({mean_leapfrog:.1} leapfrog steps per draw), {:.1} ms",
        settings.num_warmup,
        settings.num_draws,
        chain.grad_evals,
        elapsed_ns / 1e6
    );
    println!("  gradient alone:                    {grad_ns:8.1} ns per evaluation");
    println!("  sampler, gradient included:        {per_eval:8.1} ns per evaluation");
    println!(
        "  sampler overhead:                  {:8.1} ns per evaluation ({:.2} ns per coordinate)",
        per_eval - grad_ns,
        (per_eval - grad_ns) / DIM as f64
    );
}
