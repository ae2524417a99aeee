//! Loops over subjects split across threads (`JitFunction::compile_threaded`):
//! which loops are split, and that the results are the same bits on any
//! number of threads, with ragged subjects, subjects with no trials, more
//! threads than subjects, and an index error in another thread's chunk.
//! (Every bundled and random model is also checked on 3 threads by
//! `support::check_source`.)

mod support;

use support::*;

const HIER: &str = "rl_hier.rlm";

/// Held by every test here that makes threaded functions: they run one at a
/// time, so that the count of this process's threads before and after one
/// test's drops does not see another test's helpers (a 16-thread function
/// has 15).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn source(name: &str) -> String {
    std::fs::read_to_string(model_file(name)).expect("model file")
}

/// rl_hier's data for `n` subjects of up to `t` trials; subject `s` has
/// `t - s % 4` trials and, when `empty`, subject 1 has none.
fn hier_data(
    n: usize,
    t: usize,
    empty: bool,
    rng: &mut Rng,
) -> (std::collections::HashMap<String, i64>, Data) {
    let mut choice = Vec::new();
    let mut outcome = Vec::new();
    for s in 0..n {
        let trials = if empty && s == 1 { 0 } else { t - s % 4 };
        for k in 0..t {
            if k < trials {
                choice.push(1.0 + (rng.unit() < 0.5) as i32 as f64);
                outcome.push(if rng.unit() < 0.6 { 1.0 } else { -1.0 });
            } else {
                choice.push(f64::NAN);
                outcome.push(f64::NAN);
            }
        }
    }
    let sizes = [("N".to_string(), n as i64), ("T".to_string(), t as i64)]
        .into_iter()
        .collect();
    let data = [
        ("choice".to_string(), choice),
        ("outcome".to_string(), outcome),
    ]
    .into_iter()
    .collect();
    (sizes, data)
}

#[test]
fn the_loop_over_subjects_is_split_and_nothing_else() {
    let _serial = one_at_a_time();
    let (_, ir, grad) = compile_model(&source(HIER));
    let mut rng = Rng(7);
    let (sizes, data) = hier_data(5, 12, false, &mut rng);
    assert_eq!(jit_threads(&grad, &sizes, &data, 2).threaded_loops(), 1);
    assert_eq!(
        jit_threads(&ir.log_density, &sizes, &data, 2).threaded_loops(),
        1
    );
    // One thread outlines nothing: the code is the single-threaded code.
    assert_eq!(jit_threads(&grad, &sizes, &data, 1).threaded_loops(), 0);
    // A model without a loop over subjects has nothing to split.
    let (_, _, single) = compile_model(&source("rl_single.rlm"));
    let (s_sizes, s_data) = generate_data(&compile_model(&source("rl_single.rlm")).0, &mut rng);
    assert_eq!(
        jit_threads(&single, &s_sizes, &s_data, 2).threaded_loops(),
        0
    );
}

#[test]
fn any_number_of_threads_gives_the_same_bits() {
    let _serial = one_at_a_time();
    let (_, ir, grad) = compile_model(&source(HIER));
    let mut rng = Rng(11);
    for (n, empty) in [(7, true), (2, false), (13, true)] {
        let (sizes, data) = hier_data(n, 9, empty, &mut rng);
        let dim = ir.dim.eval(&sizes).expect("dim") as usize;
        let mut one = jit(&grad, &sizes, &data);
        let mut one_lp = jit(&ir.log_density, &sizes, &data);
        for threads in [2, 3, 4, 16] {
            let mut many = jit_threads(&grad, &sizes, &data, threads);
            let mut many_lp = jit_threads(&ir.log_density, &sizes, &data, threads);
            // A clone (another chain) has its own workspaces.
            let mut clone = many.clone();
            for _ in 0..3 {
                let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-2.0, 2.0)).collect();
                let what = format!("{n} subjects on {threads} threads");
                let expected = run(&mut one, &theta);
                assert_same_bits(&what, &run(&mut many, &theta), &expected);
                assert_same_bits(&what, &run(&mut clone, &theta), &expected);
                assert_same_bits(&what, &run(&mut many_lp, &theta), &run(&mut one_lp, &theta));
                assert_matches_interpreter(
                    &what,
                    &expected,
                    &interpret(&grad, &sizes, &theta, &data),
                );
            }
        }
    }
}

#[test]
fn an_index_error_in_another_threads_chunk_is_reported_as_on_one() {
    let _serial = one_at_a_time();
    let src = "size N\nsize T\ndata k: int[N, T]\nparam mu ~ Normal(0, 1)\n\
               param a: real[N] ~ Normal(mu, 1)\n\
               for n in 0..N {\n  scan (q = [0.0, 0.0]; j in k[n]) {\n    \
               target += -(q[j] - a[n]) ^ 2\n    set_subtensor(q[j], q[j] + a[n])\n  }\n}\n";
    let (model, diagnostics) = rlc_check::compile(src);
    assert!(model.is_some(), "{diagnostics:?}");
    let (_, _, grad) = compile_model(src);
    let (n, t) = (6, 4);
    let sizes = [("N".to_string(), n as i64), ("T".to_string(), t as i64)]
        .into_iter()
        .collect();
    // Subject 4's third trial indexes past the Q vector: in the last chunk.
    let mut k = vec![1.0; n * t];
    k[4 * t + 2] = 5.0;
    let data: Data = [("k".to_string(), k)].into_iter().collect();
    let theta = vec![0.3; 1 + n];
    let error = |threads: usize| {
        let mut f = jit_threads(&grad, &sizes, &data, threads);
        let lens = f.result_lens();
        let mut outs: Vec<Vec<f64>> = lens.iter().map(|n| vec![0.0; *n]).collect();
        let mut refs: Vec<&mut [f64]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
        f.call(&theta, &mut refs)
            .expect_err("the index is out of range")
    };
    let on_one = error(1);
    assert!(on_one.to_string().contains("index 5"), "{on_one}");
    for threads in [2, 3] {
        assert_eq!(error(threads), on_one, "on {threads} threads");
    }
}

#[test]
fn each_subjects_adjoints_are_added_to_its_own_row_alone() {
    let _serial = one_at_a_time();
    // The gradient loop's per-subject adjoints (`zeros[n] += bar`) are
    // yielded as their one element, not as an [N] array per subject: each
    // subject's row of results holds a few numbers, not 2N + 1.
    let (_, _, grad) = compile_model(&source(HIER));
    let mut rng = Rng(5);
    let n = 200;
    let (sizes, data) = hier_data(n, 3, false, &mut rng);
    let threaded = jit_threads(&grad, &sizes, &data, 2);
    assert!(
        threaded.workspace_len() < n * n,
        "workspace of {} slots for {n} subjects",
        threaded.workspace_len()
    );
    let dim = 4 + 2 * n;
    let theta: Vec<f64> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let expected = interpret(&grad, &sizes, &theta, &data);
    let mut one = jit(&grad, &sizes, &data);
    let mut two = threaded;
    assert_matches_interpreter("one thread", &run(&mut one, &theta), &expected);
    assert_same_bits(
        "two threads",
        &run(&mut two, &theta),
        &run(&mut one, &theta),
    );
}

#[test]
fn clones_called_at_once_from_two_threads_each_use_their_own_helpers() {
    let _serial = one_at_a_time();
    // Two chains, each with its own clone of a 3-thread function, call it at
    // the same time, many times: every result is the one-thread result.
    let (_, _, grad) = compile_model(&source(HIER));
    let mut rng = Rng(23);
    let (sizes, data) = hier_data(11, 9, true, &mut rng);
    let dim = 4 + 2 * 11;
    let thetas: Vec<Vec<f64>> = (0..40)
        .map(|_| (0..dim).map(|_| rng.uniform(-2.0, 2.0)).collect())
        .collect();
    let mut one = jit(&grad, &sizes, &data);
    let expected: Vec<Vec<Vec<f64>>> = thetas.iter().map(|t| run(&mut one, t)).collect();
    let first = jit_threads(&grad, &sizes, &data, 3);
    let second = first.clone();
    std::thread::scope(|scope| {
        for mut f in [first, second] {
            let (thetas, expected) = (&thetas, &expected);
            scope.spawn(move || {
                for (theta, want) in thetas.iter().zip(expected) {
                    assert_same_bits("a clone on its own thread", &run(&mut f, theta), want);
                }
            });
        }
    });
}

/// The threads of this process (Linux), from /proc.
fn process_threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn dropping_a_threaded_function_stops_its_helpers() {
    let _serial = one_at_a_time();
    let (_, _, grad) = compile_model(&source(HIER));
    let mut rng = Rng(29);
    let (sizes, data) = hier_data(6, 5, false, &mut rng);
    let theta = vec![0.1; 4 + 2 * 6];
    let Some(before) = process_threads() else {
        eprintln!("skipped: no /proc/self/status on this system");
        return;
    };
    for _ in 0..30 {
        let mut f = jit_threads(&grad, &sizes, &data, 4);
        run(&mut f, &theta);
        let clone = f.clone();
        drop(f);
        drop(clone);
    }
    // The other tests wait for this one (`one_at_a_time`), but the harness's
    // own threads for them come and go: allow for those, not for 30 × 6
    // helpers left behind.
    let after = process_threads().expect("threads");
    assert!(
        after < before + 20,
        "{before} threads before, {after} after"
    );
}
