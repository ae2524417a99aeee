//! The fuzzing campaign (see the crate doc and docs/testing.md). CI runs a
//! fixed number of cases (`DEFAULT_CASES`, about a minute in a release
//! build); `RLC_FUZZ_CASES=N` runs N, `RLC_FUZZ_SECONDS=S` runs for S
//! seconds, and `RLC_FUZZ_SEED=X` starts from another seed (each run of
//! the CI's budget is the same cases). A failing case is reported with its
//! seed, model and data, and written to `target/fuzz-findings/`;
//! `RLC_FUZZ_REPLAY=SEED,SEED,…` runs just those cases again.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use rlc_fuzz::run::{run_case, Outcome};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Cases run by default (CI).
const DEFAULT_CASES: u32 = 3000;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Writes a failing case where it can be picked up as a regression test.
fn save_finding(case: &rlc_fuzz::Case, seed: u64, outcome: &Outcome) -> String {
    let dir = rlc_fuzz::workspace().join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let model = dir.join(format!("{seed}.rlm"));
    let data = dir.join(format!("{seed}_{}", case.data_name));
    let _ = std::fs::write(&model, &case.source);
    let _ = std::fs::write(&data, &case.data);
    format!(
        "case {seed} ({}): {outcome:?}\n  model: {}\n  data:  {}\n--- model ---\n{}\n--- data ---\n{}",
        case.origin,
        model.display(),
        data.display(),
        case.source,
        String::from_utf8_lossy(&case.data)
            .chars()
            .take(2000)
            .collect::<String>()
    )
}

#[test]
fn the_pipeline_never_panics_and_the_backends_agree() {
    let bundled = rlc_fuzz::bundled();
    let cases: u32 = env("RLC_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let deadline = env::<u64>("RLC_FUZZ_SECONDS").map(|s| Instant::now() + Duration::from_secs(s));
    let start_seed: u64 = env("RLC_FUZZ_SEED").unwrap_or(0x0072_6c63);
    // Panics are caught and reported per case: keep the default hook quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // The runner takes an `Fn`: the tallies live in cells.
    let counts: RefCell<BTreeMap<&'static str, usize>> = RefCell::new(BTreeMap::new());
    let findings: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let slowest = Cell::new((Duration::ZERO, 0u64));
    let total = Cell::new(0usize);
    // One case, run and tallied.
    let run_one = |seed: u64| {
        let case = rlc_fuzz::make_case(seed, &bundled);
        let started = Instant::now();
        let outcome = run_case(&case, seed);
        let took = started.elapsed();
        if took > slowest.get().0 {
            slowest.set((took, seed));
        }
        total.set(total.get() + 1);
        *counts
            .borrow_mut()
            .entry(match outcome {
                Outcome::ModelError => "model error",
                Outcome::DataError => "data error",
                Outcome::BindError => "refused when binding",
                Outcome::Evaluated => "evaluated on both backends",
                Outcome::Panic(_) => "PANIC",
                Outcome::Mismatch(_) => "BACKENDS DISAGREE",
            })
            .or_default() += 1;
        if outcome.is_failure() {
            findings
                .borrow_mut()
                .push(save_finding(&case, seed, &outcome));
        }
    };
    let replay: Option<Vec<u64>> = std::env::var("RLC_FUZZ_REPLAY").ok().map(|list| {
        list.split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("RLC_FUZZ_REPLAY: {s:?} is not a case seed"))
            })
            .collect()
    });
    let mut round = 0u64;
    if let Some(seeds) = &replay {
        seeds.iter().for_each(|&seed| run_one(seed));
    }
    while replay.is_none() {
        let config = Config {
            cases: if deadline.is_some() { 1000 } else { cases },
            failure_persistence: None,
            max_shrink_iters: 0,
            ..Config::default()
        };
        // A fixed seed per round: CI runs the same cases every time.
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&start_seed.wrapping_add(round).to_le_bytes());
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
        let result = runner.run(&any::<u64>(), |seed| {
            run_one(seed);
            // Findings are collected, not failed one by one, so a long run
            // reports all of them.
            Ok::<(), TestCaseError>(())
        });
        if let Err(e) = result {
            findings
                .borrow_mut()
                .push(format!("the runner failed: {e}"));
        }
        round += 1;
        match deadline {
            Some(d) if Instant::now() < d => continue,
            _ => break,
        }
    }
    std::panic::set_hook(hook);
    let (total, slowest) = (total.get(), slowest.get());
    let (counts, findings) = (counts.into_inner(), findings.into_inner());
    eprintln!(
        "fuzz: {total} cases: {counts:?}; slowest case {} took {:.2} s",
        slowest.1,
        slowest.0.as_secs_f64()
    );
    assert!(
        findings.is_empty(),
        "{} of {total} cases failed:\n\n{}",
        findings.len(),
        findings.join("\n\n")
    );
}
