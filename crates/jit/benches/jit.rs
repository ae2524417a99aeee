//! The JIT's speed: compile time of every example model (front end to a
//! callable gradient function), microseconds per gradient evaluation of
//! `rl_single` on the 150-trial reference data against the hand-written
//! gradient (`/work/shared/bench/handwritten`, run in the same session), and
//! nanoseconds per trial of `rl_hier` on the 20×100 reference data. Plain
//! `Instant` timing, medians of many runs. Run: `cargo bench -p rlc-jit`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;
use support::*;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Median seconds per call of `f`, over 21 batches of `batch` calls.
fn time_per_call(batch: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..batch {
        f(i);
    }
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        for i in 0..batch {
            f(i);
        }
        times.push(t.elapsed().as_secs_f64() / batch as f64);
    }
    median(times)
}

/// Front end, autodiff and JIT compilation of a model's gradient function.
fn compile_ms(source: &str, sizes: &HashMap<String, i64>, data: &Data) -> f64 {
    let times = (0..7)
        .map(|_| {
            let t = Instant::now();
            let (_, _, grad) = compile_model(source);
            let f = jit(&grad, sizes, data);
            std::hint::black_box(&f);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

/// The gradient function of a model on a reference data file, and its dimension.
fn reference(model: &str, data: &str) -> (rlc_jit::JitFunction, usize, HashMap<String, i64>, Data) {
    let source = std::fs::read_to_string(model_file(model)).expect("model");
    let (_, ir, grad) = compile_model(&source);
    let (sizes, data) = load_json(&data_file(data));
    let dim = ir.dim.eval(&sizes).expect("dim") as usize;
    (jit(&grad, &sizes, &data), dim, sizes, data)
}

fn handwritten_us() -> Option<f64> {
    let bin = Path::new("/work/shared/bench/handwritten/target/release/handwritten");
    if !bin.exists() {
        println!(
            "hand-written gradient not built: cd /work/shared/bench/handwritten && cargo build --release"
        );
        return None;
    }
    let out = std::process::Command::new(bin)
        .arg("/work/shared/reference/rl_single_150/rlc.csv")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w == "median_us_per_eval" {
            return words.next()?.parse().ok();
        }
    }
    None
}

fn main() {
    println!("compile time (front end + autodiff + JIT of the gradient), median of 7:");
    for path in models() {
        let source = std::fs::read_to_string(&path).expect("model");
        let (model, _, _) = compile_model(&source);
        let (sizes, data) = generate_data(&model, &mut Rng(7));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        println!("  {name:<28} {:7.2} ms", compile_ms(&source, &sizes, &data));
    }

    let (mut f, dim, _, _) = reference("rl_single.rlm", "rl_single_150.json");
    assert_eq!(dim, 2);
    let mut lp = [0.0];
    let mut grad = [0.0; 2];
    let jit_s = time_per_call(20_000, |i| {
        let theta = [0.1 + (i % 7) as f64 * 1e-3, 1.2];
        f.call(&theta, &mut [&mut lp, &mut grad]).expect("call");
        std::hint::black_box(&grad);
    });
    let jit_us = jit_s * 1e6;
    println!("rl_single, 150 trials: {jit_us:.3} µs per log density + gradient (JIT)");
    if let Some(hw) = handwritten_us() {
        println!(
            "rl_single, 150 trials: {hw:.3} µs hand-written; JIT / hand-written = {:.2}",
            jit_us / hw
        );
    }

    let source = std::fs::read_to_string(model_file("rl_single.rlm")).expect("model");
    let (_, _, grad_ir) = compile_model(&source);
    let (sizes, data) = load_json(&data_file("rl_single_150.json"));
    let inputs = interp_inputs(&grad_ir, &sizes, &[0.1, 1.2], &data);
    let interp_s = time_per_call(200, |_| {
        let out = rlc_ir::interp::eval(&grad_ir, &sizes, &inputs).expect("eval");
        std::hint::black_box(&out);
    });
    println!(
        "rl_single, 150 trials: {:.1} µs interpreter; interpreter / JIT = {:.0}",
        interp_s * 1e6,
        interp_s / jit_s
    );

    let (mut scalar, dim, sizes, data) = reference("rl_hier.rlm", "rl_hier_20x100.json");
    let source = std::fs::read_to_string(model_file("rl_hier.rlm")).expect("model");
    let (_, _, grad_ir) = compile_model(&source);
    let mut lanes = jit_lanes(&grad_ir, &sizes, &data, 1);
    let trials = (sizes["N"] * sizes["T"]) as f64;
    let mut lp = [0.0];
    let mut grad = vec![0.0; dim];
    let theta: Vec<f64> = (0..dim).map(|i| 0.1 * ((i % 5) as f64 - 2.0)).collect();
    // Alternating, so that both see the same machine.
    let (mut in_lanes, mut alone) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        for (f, times) in [(&mut lanes, &mut in_lanes), (&mut scalar, &mut alone)] {
            times.push(time_per_call(1_000, |_| {
                f.call(&theta, &mut [&mut lp, &mut grad]).expect("call");
                std::hint::black_box(&grad);
            }));
        }
    }
    let (s, s_scalar) = (median(in_lanes), median(alone));
    println!(
        "rl_hier, 20×100: {:.1} µs per gradient, {:.1} ns per trial (JIT, subjects in SIMD lanes)",
        s * 1e6,
        s * 1e9 / trials
    );
    println!(
        "rl_hier, 20×100: {:.1} µs per gradient, {:.1} ns per trial (JIT, scalar); scalar / lanes = {:.2}",
        s_scalar * 1e6,
        s_scalar * 1e9 / trials,
        s_scalar / s
    );
    let inputs = interp_inputs(&grad_ir, &sizes, &theta, &data);
    let interp_s = time_per_call(5, |_| {
        let out = rlc_ir::interp::eval(&grad_ir, &sizes, &inputs).expect("eval");
        std::hint::black_box(&out);
    });
    println!(
        "rl_hier, 20×100: {:.1} ns per trial interpreter; interpreter / JIT = {:.0}",
        interp_s * 1e9 / trials,
        interp_s / s
    );
}
