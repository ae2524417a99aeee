//! hBayesDM models against long Stan runs of hBayesDM's own programs: for one model of
//! each task family (`models/hbayesdm/posterior/MODEL.json`, made by
//! `models/hbayesdm/stan_posterior.py`: 4 chains × (1000 + 2500 or more) Stan draws on the
//! model's committed simulated data), `rlc run` with its defaults on the same file gives
//! posterior means within 4 combined Monte Carlo standard errors of Stan's, standard
//! deviations within 10% (or, where the reference records the sd's own MCSE and the two
//! runs pin the sd down less well than that, within 4 combined MCSEs of the sd), R-hat
//! below 1.01, and no more divergent draws than Stan's run had (per draw), plus the
//! count's own noise (three standard deviations, from the spread of Stan's chains; at least 10).
//! A reference may set `rlc_draws` (draws per chain) where heavy tails or slow mixing
//! make the standard deviation of the default 4 × 1000 draws too noisy for the 10%
//! check, and says why in `rlc_draws_reason`; likewise `rlc_adapt_delta` (with
//! `rlc_adapt_delta_reason`) where a funnel needs a higher target acceptance rate than 0.8,
//! and `rlc_adaptation` / `rlc_warmup` (with `rlc_warmup_reason`) where the default warmup
//! fails on the model at some seeds.
//! A positive quantity with a heavy right tail, or whose sd Stan's draws leave uncertain
//! by more than 2.5% (the reference's `log_scale`), is compared by the mean and sd of its
//! log. Everything is computed from rlc's CSV draws.
//! Every parameter and transformed parameter that both name (`mu_pr.1`, `sigma.2`, `A_pr.3`, `A.3`) is compared.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hbayesdm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/hbayesdm")
}

/// Divergent draws allowed beyond Stan's rate at the least: the hierarchies' group scales
/// make mild funnels, where a seed may give a handful.
const DIVERGENCE_SLACK: f64 = 10.0;

/// Divergent draws allowed beyond Stan's rate, in standard deviations of the difference
/// of the two counts (see `divergence_allowance`).
const DIVERGENCE_SDS: f64 = 3.0;

/// How many divergent draws rlc's `chains` × `draws` may have: Stan's rate, plus
/// `DIVERGENCE_SDS` standard deviations of the difference of the two counts (at least
/// `DIVERGENCE_SLACK`). A chain's count varies as Stan's own chains' did (the variance
/// of the reference's `divergences_per_chain`, or Poisson's, the mean, if that is
/// larger), and in proportion to its length; where a model diverges on a few percent of
/// its draws, a seed moves the count by tens (`dbdm_prob_weight`: Stan's chains had 12 to
/// 21 of 2500), which a fixed slack of 10 would call a failure.
fn divergence_allowance(reference: &Value, chains: f64, draws: f64) -> (f64, f64) {
    let stan_chains = reference["stan"]["chains"].as_f64().unwrap_or(4.0);
    let stan_length = reference["stan"]["draws"].as_f64().unwrap_or(5000.0);
    let total = reference["divergences"].as_f64().unwrap_or(0.0);
    let per_chain: Vec<f64> = reference["divergences_per_chain"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let mean = total / stan_chains;
    let sample_variance = if per_chain.len() > 1 {
        let m = per_chain.iter().sum::<f64>() / per_chain.len() as f64;
        per_chain.iter().map(|c| (c - m) * (c - m)).sum::<f64>() / (per_chain.len() - 1) as f64
    } else {
        0.0
    };
    let chain_variance = sample_variance.max(mean);
    let ratio = draws / stan_length;
    // rlc's count: `chains` chains, each `ratio` times as long as Stan's; Stan's total,
    // scaled to rlc's number of draws, has the error of its own `stan_chains` chains.
    let scale = chains * ratio / stan_chains;
    let variance = chains * chain_variance * ratio + stan_chains * chain_variance * scale * scale;
    let expected = total * scale;
    let allowed = expected + (DIVERGENCE_SDS * variance.sqrt()).max(DIVERGENCE_SLACK);
    (expected, allowed.ceil())
}

/// A positive quantity whose right tail index (Hill's estimate from Stan's draws, recorded
/// in the reference's `log_scale`) is below this is compared on the log scale: the sample
/// sd estimates the sd with a finite variance of its own only where the fourth moment
/// exists, and below 2 there is no sd at all (the group scales with `HalfCauchy` priors).
const HEAVY_TAIL_INDEX: f64 = 4.0;

/// A positive quantity whose sd Stan's own draws pin down no better than this (its MCSE
/// relative to it) is compared on the log scale too: then the 10% check would be less
/// than 4 of the sd's standard errors (a kurtosis of 30, as the reward sensitivities of
/// `bandit4arm_4par` have, leaves the sd of 20,000 draws uncertain by 5–10%).
const VAGUE_SD: f64 = 0.025;

fn check(reference: &Path) -> String {
    let text = std::fs::read_to_string(reference).expect("reference");
    let reference: Value = serde_json::from_str(&text).expect("JSON");
    let model = reference["model"].as_str().expect("model");
    let data = hbayesdm_dir().join(reference["data"].as_str().expect("data"));
    // A reference may ask for more draws per chain than the default 1000
    // (`rlc_draws`, with its reason): where a quantity's tails are heavy, the
    // standard deviation of 4000 draws is itself too noisy for a 10% check.
    let draws = reference["rlc_draws"].as_u64().unwrap_or(1000);
    let draws_arg = draws.to_string();
    let seed = checked_seed();
    let mut args = vec!["--draws", &draws_arg, "--seed", &seed];
    // A funnel that needs a higher target acceptance rate than the default 0.8
    // (`rlc_adapt_delta`, with its reason; Stan's own in `stan.adapt_delta`).
    let adapt_delta = reference["rlc_adapt_delta"].as_f64().map(|d| d.to_string());
    if let Some(d) = &adapt_delta {
        args.extend(["--adapt-delta", d]);
    }
    // Another warmup than the default (`rlc_adaptation`, `rlc_warmup`, with their
    // reason), where the default one fails on the model at some seeds.
    let adaptation = reference["rlc_adaptation"].as_str();
    if let Some(a) = adaptation {
        args.extend(["--adaptation", a]);
    }
    let warmup = reference["rlc_warmup"].as_u64().map(|w| w.to_string());
    if let Some(w) = &warmup {
        args.extend(["--warmup", w]);
    }
    // For experiments: options added to every checked run
    // (`RLC_POSTERIOR_RUN_ARGS="--adaptation stan --warmup 1000"`).
    let extra = std::env::var("RLC_POSTERIOR_RUN_ARGS").unwrap_or_default();
    args.extend(extra.split_whitespace());
    let stan = reference["summary"].as_object().expect("summary");
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .expect("[mean, mcse, sd] or [mean, mcse, sd, sd's mcse]")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    };
    // Heavy right tails are compared on the log scale: which quantities are is decided
    // by Stan's draws alone, before rlc runs.
    let empty = serde_json::Map::new();
    let log_scale: serde_json::Map<String, Value> = reference["log_scale"]
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .filter(|(name, v)| {
            let heavy = v["tail_index"]
                .as_f64()
                .is_some_and(|t| t < HEAVY_TAIL_INDEX);
            let vague = stan
                .get(name.as_str())
                .map(numbers)
                .is_some_and(|r| r.len() > 3 && r[3] > VAGUE_SD * r[2]);
            heavy || vague
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let columns: Vec<String> = stan.keys().cloned().collect();
    let (stdout, draws_of) = match run_rlc(
        &hbayesdm_dir().join(format!("{model}.rlm")),
        &data,
        &args,
        &columns,
    ) {
        Ok(run) => run,
        Err(stderr) => return format!("{model}: rlc run failed: {stderr}"),
    };
    let mut problems = Vec::new();
    let mut compared = 0;
    let mut on_log_scale = 0;
    let mut by_mcse = 0;
    for (name, r) in stan {
        let Some(chains) = draws_of.get(name) else {
            continue;
        };
        let mut r = numbers(r);
        let mut scale = "";
        let chains: Vec<Vec<f64>> = match log_scale.get(name) {
            Some(log) => {
                r = numbers(&log["log"]);
                scale = "log ";
                on_log_scale += 1;
                chains
                    .iter()
                    .map(|c| c.iter().map(|x| x.ln()).collect())
                    .collect()
            }
            None => chains.clone(),
        };
        let summary = rlc_diagnostics::summarize(&chains);
        let (mean, sd) = (summary.mean, summary.sd);
        let (ref_mean, ref_mcse, ref_sd) = (r[0], r[1], r[2]);
        let combined = summary.mcse_mean.hypot(ref_mcse);
        if (mean - ref_mean).abs() > 4.0 * combined {
            problems.push(format!(
                "{scale}{name} mean {mean} vs Stan {ref_mean} (combined MCSE {combined:.4})"
            ));
        }
        // The sd within 10%, or, where the two runs pin it down less well than that,
        // within 4 combined MCSEs of the sd (references made before the sd's MCSE was
        // recorded: 10% only).
        let sd_off = (sd - ref_sd).abs();
        if sd_off > 0.1 * ref_sd {
            let combined_sd = r
                .get(3)
                .map(|ref_sd_mcse| rlc_diagnostics::mcse_sd(&chains).hypot(*ref_sd_mcse));
            match combined_sd {
                Some(c) if sd_off <= 4.0 * c => by_mcse += 1,
                _ => problems.push(format!(
                    "{scale}{name} sd {sd} vs Stan {ref_sd}{}",
                    combined_sd.map_or(String::new(), |c| format!(" (combined MCSE {c:.4})"))
                )),
            }
        }
        if summary.rhat >= 1.01 {
            problems.push(format!("{name} R-hat {}", summary.rhat));
        }
        compared += 1;
    }
    if compared < 4 {
        problems.push(format!(
            "only {compared} quantities named alike in rlc's summary and Stan's"
        ));
    }
    let stan_draws = reference["stan"]["chains"].as_f64().unwrap_or(4.0)
        * reference["stan"]["draws"].as_f64().unwrap_or(5000.0);
    let stan_divergent = reference["divergences"].as_f64().unwrap_or(0.0);
    let (expected, allowed) = divergence_allowance(&reference, 4.0, draws as f64);
    let divergent = common::divergent_draws(&stdout);
    if divergent as f64 > allowed {
        problems.push(format!(
            "{divergent} divergent draws (Stan: {stan_divergent} of {stan_draws}, \
             {expected:.0} at its rate; at most {allowed} allowed)"
        ));
    }
    println!(
        "{model}: {compared} quantities compared ({on_log_scale} on the log scale; \
         {by_mcse} sds more than 10% off but within 4 combined MCSEs), \
         {divergent} divergent draws (Stan {stan_divergent} of {stan_draws})"
    );
    if problems.is_empty() {
        String::new()
    } else {
        format!("{model}:\n  {}\n{stdout}", problems.join("\n  "))
    }
}

/// The seed of the checks: 20261201, or `RLC_POSTERIOR_SEED` to see whether a result
/// holds at other seeds.
fn checked_seed() -> String {
    std::env::var("RLC_POSTERIOR_SEED").unwrap_or_else(|_| "20261201".into())
}

/// Per chain, the draws of each column named.
type ColumnDraws = std::collections::HashMap<String, Vec<Vec<f64>>>;

/// `rlc run MODEL --data DATA ARGS --quiet` into a scratch folder (removed after):
/// its stdout and the draws of `columns`, or its stderr if it failed.
fn run_rlc(
    model: &Path,
    data: &Path,
    args: &[&str],
    columns: &[String],
) -> Result<(String, ColumnDraws), String> {
    let stem = model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy());
    let out = std::env::temp_dir().join(format!("rlc-hbdm-{stem}-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .arg("run")
        .arg(model)
        .arg("--data")
        .arg(data)
        .args(args)
        .args(["--quiet", "--output-dir"])
        .arg(&out)
        .output()
        .expect("rlc runs");
    let draws = output.status.success().then(|| {
        let draws = column_draws(&out, &stem, columns);
        // Each chain's adapted step size, for the report: a chain whose warmup ended
        // with a collapsed step size is the usual cause of an R-hat failure.
        eprintln!("{stem}: step sizes {}", step_sizes(&out, &stem).join(", "));
        draws
    });
    let _ = std::fs::remove_dir_all(&out);
    match draws {
        Some(draws) => Ok((String::from_utf8_lossy(&output.stdout).into_owned(), draws?)),
        None => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// The step size each chain's CSV file records after its warmup.
fn step_sizes(dir: &Path, stem: &str) -> Vec<String> {
    (1..)
        .map_while(|chain| std::fs::read_to_string(dir.join(format!("{stem}_{chain}.csv"))).ok())
        .map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("# Step size = "))
                .map_or("?".into(), |s| {
                    format!("{:.3e}", s.trim().parse::<f64>().unwrap_or(f64::NAN))
                })
        })
        .collect()
}

/// The draws of `columns` in the chains' CSV files `dir/STEM_1.csv`, `STEM_2.csv`, ….
fn column_draws(dir: &Path, stem: &str, columns: &[String]) -> Result<ColumnDraws, String> {
    let mut draws = ColumnDraws::new();
    if columns.is_empty() {
        return Ok(draws);
    }
    for chain in 1.. {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{stem}_{chain}.csv"))) else {
            break;
        };
        let mut rows = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = rows.next().unwrap_or("").split(',').collect();
        // Stan's names that rlc's draws do not have (a generated quantity) are left out,
        // as the comparison leaves them out.
        let at: Vec<(&String, usize)> = columns
            .iter()
            .filter_map(|c| Some((c, column_of(c, &header, columns)?)))
            .collect();
        let mut chain_draws = vec![Vec::new(); at.len()];
        for row in rows {
            let cells: Vec<&str> = row.split(',').collect();
            for (k, &(_, i)) in at.iter().enumerate() {
                let cell = cells.get(i).ok_or("a short row in the draws")?;
                chain_draws[k].push(cell.parse::<f64>().map_err(|e| e.to_string())?);
            }
        }
        for ((column, _), values) in at.iter().zip(chain_draws) {
            draws.entry((*column).clone()).or_default().push(values);
        }
    }
    Ok(draws)
}

/// The position in rlc's `header` of Stan's quantity `name`: the same name, or for a
/// vector of one element that the port declares as a scalar (hBayesDM's `hgf_ibrb_single`
/// sizes `kappa` by the number of its free levels), `X.1` is rlc's `X` when Stan has no
/// `X.2`.
fn column_of(name: &str, header: &[&str], stan_names: &[String]) -> Option<usize> {
    let position = |n: &str| header.iter().position(|h| *h == n);
    position(name).or_else(|| {
        let scalar = name.strip_suffix(".1")?;
        let second = format!("{scalar}.2");
        if stan_names.contains(&second) {
            return None;
        }
        position(scalar)
    })
}

/// The references in `dir` (`*.json`), sorted; none if there is no such folder.
fn references_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut references: Vec<PathBuf> = entries
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    references.sort();
    references
}

fn check_all(references: &[PathBuf]) {
    let failures: Vec<String> = references
        .iter()
        .map(|p| check(p))
        .filter(|f| !f.is_empty())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} models differ from Stan's posterior:\n{}",
        failures.len(),
        references.len(),
        failures.join("\n")
    );
}

#[test]
fn hbayesdm_posteriors_match_long_stan_runs() {
    let dir = hbayesdm_dir().join("posterior");
    let references = references_in(&dir);
    assert!(
        !references.is_empty(),
        "no posterior references in {}",
        dir.display()
    );
    check_all(&references);
}

/// The families whose rlc runs take more than a few seconds each
/// (`posterior/slow/`): run with `RLC_SLOW_TESTS=1`, and listed as skipped without it.
#[test]
fn slow_hbayesdm_posteriors_match_long_stan_runs() {
    let dir = hbayesdm_dir().join("posterior/slow");
    let references = references_in(&dir);
    if !std::env::var("RLC_SLOW_TESTS").is_ok_and(|v| v == "1") {
        let names: Vec<String> = references
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        eprintln!(
            "skipped (set RLC_SLOW_TESTS=1 to run them): the posterior checks of {}",
            names.join(", ")
        );
        return;
    }
    check_all(&references);
}

/// The references named in `RLC_POSTERIOR_MODELS` (comma-separated model names), from
/// `posterior/`, `posterior/slow/` and `posterior/unresolved/`: for trying a sampler
/// change or another seed (`RLC_POSTERIOR_SEED`) on a few models, the kept-aside ones
/// included. Without the variable it checks nothing and says so.
#[test]
fn named_hbayesdm_posteriors_match_long_stan_runs() {
    let Ok(names) = std::env::var("RLC_POSTERIOR_MODELS") else {
        eprintln!("skipped (set RLC_POSTERIOR_MODELS=MODEL,... to check those models)");
        return;
    };
    let posterior = hbayesdm_dir().join("posterior");
    let mut references = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let found = ["", "slow", "unresolved"]
            .iter()
            .map(|sub| posterior.join(sub).join(format!("{name}.json")))
            .find(|p| p.exists());
        references.push(found.unwrap_or_else(|| panic!("no posterior reference for {name}")));
    }
    check_all(&references);
}

/// Seed 7's first chain of `choiceRT_ddm` starts with a non-decision time within 1e-9 s
/// of the fastest response (log density -3e8, gradient 1e11). With the metric adapted
/// from its first draws it stayed there all run (step size 1e-8, every tree at the
/// maximum depth); the initial buffer of step-size-only adaptation lets it travel first.
#[test]
fn a_ddm_chain_started_against_the_boundary_leaves_it() {
    let dir = hbayesdm_dir();
    let (stdout, _) = run_rlc(
        &dir.join("choiceRT_ddm.rlm"),
        &dir.join("data/choiceRT_sim.txt"),
        &["--seed", "7", "--chains", "1", "--draws", "200"],
        &[],
    )
    .unwrap_or_else(|stderr| panic!("{stderr}"));
    let table = common::summary_table(&stdout);
    let [lp, ..] = table.get("lp__").copied().expect("lp__ in the summary");
    // The typical set is near -130; the stuck chain sat at -3e8.
    assert!(lp > -1000.0, "mean lp__ {lp}:\n{stdout}");
}

#[test]
fn the_divergence_allowance_is_the_counts_own_noise() {
    // No divergences in Stan's run: rlc may have the fixed slack.
    let none = serde_json::json!({"stan": {"chains": 4, "draws": 1000}, "divergences": 0});
    assert_eq!(divergence_allowance(&none, 4.0, 1000.0), (0.0, 10.0));
    // dbdm_prob_weight's reference: 70 of 4 x 2500, per chain 19, 21, 12 and 18 (sample
    // variance 15, below the Poisson variance 17.5): sd of the difference sqrt(8 x 17.5).
    let dbdm = serde_json::json!({"stan": {"chains": 4, "draws": 2500}, "divergences": 70,
        "divergences_per_chain": [19, 21, 12, 18]});
    let (expected, allowed) = divergence_allowance(&dbdm, 4.0, 2500.0);
    assert_eq!(expected, 70.0);
    assert_eq!(allowed, (70.0 + 3.0 * 140f64.sqrt()).ceil());
    // Twice Stan's length: twice the rate's count, the spread of chains twice as long.
    let (expected, allowed) = divergence_allowance(&dbdm, 4.0, 5000.0);
    assert_eq!(expected, 140.0);
    let variance = 4.0 * 17.5 * 2.0 + 4.0 * 17.5 * 4.0;
    assert_eq!(allowed, (140.0 + 3.0 * f64::sqrt(variance)).ceil());
    // One chain of Stan's with all its divergences: its spread, not Poisson's, counts.
    let lopsided = serde_json::json!({"stan": {"chains": 4, "draws": 1000}, "divergences": 40,
        "divergences_per_chain": [40, 0, 0, 0]});
    let (_, allowed) = divergence_allowance(&lopsided, 4.0, 1000.0);
    assert_eq!(allowed, (40.0 + 3.0 * f64::sqrt(8.0 * 400.0)).ceil());
}
