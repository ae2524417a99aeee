//! The model run forward, through the `rlc` binary:
//!
//! * `rlc run --log-lik --predict` writes the pointwise log-likelihood and the
//!   predictive draws in CmdStan's naming (`log_lik.i`, `choice_rep.i.j`),
//!   says so in the header, keeps them out of the summary table, sums a
//!   subject's trials with `--log-lik subject`, and leaves the posterior
//!   draws exactly as a run without them;
//! * `rlc loo --json` prints the PSIS-LOO keys, one Pareto k per observation;
//! * `rlc compare` prefers the model that simulated the data over the same
//!   model without learning, by several standard errors;
//! * simulate → fit round trips: every bundled model that can run forward
//!   simulates data sets from its priors on its own design (`rlc simulate
//!   --prior --n K`), each is fitted with `rlc run`, and the true values fall
//!   inside their 90% intervals at a rate an exact binomial test accepts as
//!   0.9. (Shifting every true value by one posterior standard deviation
//!   fails that test: about 74% coverage.) `RLC_SLOW_TESTS=1` fits three
//!   times as many data sets and uses rl_hier's full example design.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn slow() -> bool {
    std::env::var_os("RLC_SLOW_TESTS").is_some_and(|v| v == "1")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlc-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `rlc` with `args` from the repository root; panics unless it succeeds.
fn rlc(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "rlc {} failed ({}):\n{}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// rlc's exit code and standard error, for a command that may fail.
fn rlc_status(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A chain's CSV: its `#` lines, its column names, and the rows as text.
struct Chain {
    comments: Vec<String>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Chain {
    fn read(path: &Path) -> Chain {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let mut comments = Vec::new();
        let mut columns = Vec::new();
        for line in lines.by_ref() {
            if line.starts_with('#') {
                comments.push(line.to_string());
            } else {
                columns = line.split(',').map(str::to_string).collect();
                break;
            }
        }
        let rows = lines
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        Chain {
            comments,
            columns,
            rows,
        }
    }

    fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn value(&self, row: usize, column: usize) -> f64 {
        match self.rows[row][column].as_str() {
            "nan" | "NaN" => f64::NAN,
            text => text
                .parse()
                .unwrap_or_else(|_| panic!("`{text}` is not a number")),
        }
    }
}

/// The names of the columns that start with `prefix`, in file order.
fn columns_with(chain: &Chain, prefix: &str) -> Vec<String> {
    chain
        .columns
        .iter()
        .filter(|c| c.starts_with(prefix))
        .cloned()
        .collect()
}

/// A long CSV file's rows as maps from column name to cell.
fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("data file");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

fn is_missing(cell: &str) -> bool {
    matches!(cell.trim(), "" | "NA" | "NaN" | "nan")
}

#[test]
fn log_lik_and_replicas_are_written_in_cmdstan_naming() {
    let dir = temp_dir("naming");
    let data = "models/data/rl_hier_sim.csv";
    let run = |unit: &str, out: &Path| {
        stdout(&rlc(&[
            "run",
            "models/rl_hier.rlm",
            "--data",
            data,
            "--chains",
            "1",
            "--warmup",
            "100",
            "--draws",
            "20",
            "--seed",
            "5",
            "--quiet",
            "--log-lik",
            unit,
            "--predict",
            "--output-dir",
            path_str(out),
        ]))
    };
    let by_trial = dir.join("trial");
    let table = run("observation", &by_trial);
    let chain = Chain::read(&by_trial.join("rl_hier_1.csv"));
    assert!(chain
        .comments
        .iter()
        .any(|c| c == "# log_lik = observation"));
    assert!(chain.comments.iter().any(|c| c == "# predict = one-step"));

    // The design: subjects in order of appearance, each one's trials in order.
    let rows = csv_rows(&workspace().join(data));
    let mut subjects: Vec<String> = Vec::new();
    let mut cells: Vec<Vec<bool>> = Vec::new();
    for row in &rows {
        let subject = &row["subjID"];
        if subjects.last() != Some(subject) {
            subjects.push(subject.clone());
            cells.push(Vec::new());
        }
        let present = !is_missing(&row["choice"]) && !is_missing(&row["outcome"]);
        cells.last_mut().expect("a subject").push(present);
    }
    let (n, t) = (
        subjects.len(),
        cells.iter().map(Vec::len).max().unwrap_or(0),
    );
    let present: usize = cells.iter().flatten().filter(|p| **p).count();
    assert!(present < n * t, "the design should have missing cells");

    // One log_lik column per scored trial, 1-based, in order.
    let log_lik = columns_with(&chain, "log_lik");
    let expected: Vec<String> = (1..=present).map(|i| format!("log_lik.{i}")).collect();
    assert_eq!(log_lik, expected);
    // One replica per cell of choice[N, T], 1-based, column-major like every column.
    let replicas = columns_with(&chain, "choice_rep");
    let mut expected = Vec::new();
    for j in 1..=t {
        for i in 1..=n {
            expected.push(format!("choice_rep.{i}.{j}"));
        }
    }
    assert_eq!(replicas, expected);
    for row in 0..chain.rows.len() {
        for (s, trials) in cells.iter().enumerate() {
            for j in 0..t {
                let x = chain.value(
                    row,
                    chain.column(&format!("choice_rep.{}.{}", s + 1, j + 1)),
                );
                if trials.get(j).copied().unwrap_or(false) {
                    assert!(x == 1.0 || x == 2.0, "a replica choice of {x}");
                } else {
                    assert!(x.is_nan(), "a replica {x} of a trial that was not made");
                }
            }
        }
        for name in &log_lik {
            let l = chain.value(row, chain.column(name));
            assert!(l.is_finite() && l < 0.0, "{name} = {l}");
        }
    }
    // The summary table shows the parameters and `out` values only.
    for line in table.lines() {
        assert!(
            !line.starts_with("log_lik") && !line.contains("_rep"),
            "the summary lists {line}"
        );
    }

    // Per subject: one column per subject, the sum of that subject's trials
    // (the same seed gives the same draws).
    let by_subject = dir.join("subject");
    run("subject", &by_subject);
    let summed = Chain::read(&by_subject.join("rl_hier_1.csv"));
    assert!(summed.comments.iter().any(|c| c == "# log_lik = subject"));
    let expected: Vec<String> = (1..=n).map(|i| format!("log_lik.{i}")).collect();
    assert_eq!(columns_with(&summed, "log_lik"), expected);
    for row in 0..chain.rows.len() {
        let mut k = 0;
        for (s, trials) in cells.iter().enumerate() {
            let count = trials.iter().filter(|p| **p).count();
            let total: f64 = (k..k + count)
                .map(|i| chain.value(row, chain.column(&format!("log_lik.{}", i + 1))))
                .sum();
            k += count;
            let subject = summed.value(row, summed.column(&format!("log_lik.{}", s + 1)));
            assert!(
                (subject - total).abs() <= 1e-9 * total.abs(),
                "subject {}: {subject} is not the sum of its trials, {total}",
                s + 1
            );
        }
    }
    let loo = rlc(&["loo", path_str(&by_subject), "--json"]);
    let loo: Value = serde_json::from_str(&stdout(&loo)).expect("JSON");
    assert_eq!(loo["pareto_k"].as_array().map(Vec::len), Some(n));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The sampler's statistics and the parameters of every chain file in `dir`.
fn posterior_columns(dir: &Path, model: &str, chains: usize) -> Vec<Vec<Vec<String>>> {
    (1..=chains)
        .map(|c| {
            let chain = Chain::read(&dir.join(format!("{model}_{c}.csv")));
            let keep: Vec<usize> = chain
                .columns
                .iter()
                .enumerate()
                .filter(|(_, name)| !name.starts_with("log_lik") && !name.contains("_rep"))
                .map(|(k, _)| k)
                .collect();
            assert!(keep.len() >= 9, "{:?}", chain.columns);
            chain
                .rows
                .iter()
                .map(|r| keep.iter().map(|&k| r[k].clone()).collect())
                .collect()
        })
        .collect()
}

#[test]
fn predictive_draws_and_log_lik_leave_the_posterior_draws_unchanged() {
    let dir = temp_dir("unchanged");
    let fit = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "run",
            "models/rl_single.rlm",
            "--data",
            "models/data/rl_single.csv",
            "--chains",
            "2",
            "--warmup",
            "100",
            "--draws",
            "50",
            "--seed",
            "9",
            "--quiet",
            "--output-dir",
            path_str(&out),
        ];
        args.extend_from_slice(extra);
        rlc(&args);
        posterior_columns(&out, "rl_single", 2)
    };
    let plain = fit("plain", &[]);
    assert_eq!(plain[0].len(), 50);
    for extra in [
        &["--predict"][..],
        &["--predict", "full", "--log-lik"],
        &["--log-lik", "--loo"],
    ] {
        assert!(
            fit(&extra.join(""), extra) == plain,
            "{extra:?} changed the posterior draws"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loo_json_has_its_keys_and_one_pareto_k_per_observation() {
    let dir = temp_dir("loo");
    let run = rlc(&[
        "run",
        "models/rl_single.rlm",
        "--data",
        "models/data/rl_single.csv",
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "200",
        "--seed",
        "3",
        "--quiet",
        "--loo",
        "--output-dir",
        path_str(&dir),
    ]);
    let out = rlc(&["loo", path_str(&dir), "--json"]);
    let loo: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let number = |key: &str| {
        loo[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number: {loo}"))
    };
    let observations = csv_rows(&workspace().join("models/data/rl_single.csv")).len();
    let ks = loo["pareto_k"].as_array().expect("pareto_k is an array");
    assert_eq!(ks.len(), observations);
    // A k is a number, or null where it could not be estimated (an
    // observation whose log-likelihood is the same in every draw: rl_single's
    // first choice).
    assert!(ks.iter().all(|k| k.is_f64() || k.is_null()), "{ks:?}");
    assert!(ks.iter().filter(|k| k.is_f64()).count() >= observations - 1);
    let elpd = number("elpd_loo");
    assert!(elpd < 0.0 && number("se_elpd_loo") > 0.0 && number("p_loo") > 0.0);
    assert!((number("looic") + 2.0 * elpd).abs() < 1e-9 * elpd.abs());
    // `rlc run --loo` printed the same estimate.
    let printed = stdout(&run);
    let line = printed
        .lines()
        .find(|l| l.starts_with("elpd_loo"))
        .expect("the run prints elpd_loo");
    let shown: f64 = line
        .split_whitespace()
        .nth(1)
        .expect("estimate")
        .parse()
        .expect("number");
    assert!((shown - elpd).abs() <= 0.05 + 1e-9, "{line} vs {elpd}");

    // A value that is not finite is named by its file, draw and column, as
    // the columns count (from 1).
    let file = dir.join("rl_single_2.csv");
    let text = std::fs::read_to_string(&file).expect("draws");
    let header = text
        .lines()
        .find(|l| l.starts_with("lp__"))
        .expect("header");
    let column = header
        .split(',')
        .position(|c| c == "log_lik.150")
        .expect("column log_lik.150");
    let mut draw = 0;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.starts_with("lp__") || l.is_empty() {
                return l.to_string();
            }
            draw += 1;
            if draw != 4 {
                return l.to_string();
            }
            let mut cells: Vec<&str> = l.split(',').collect();
            cells[column] = "nan";
            cells.join(",")
        })
        .collect();
    std::fs::write(&file, edited.join("\n") + "\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["loo", path_str(&dir)])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("rl_single_2.csv, draw 4: `log_lik.150` is NaN"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// rl_single's learner (the same lines as `models/rl_single.rlm`) playing a
/// two-armed bandit: arm 0 pays 1 with probability 0.2, arm 1 with 0.8. The
/// `~` on the reward is a constant in the log density, but in a simulation
/// it draws the reward of the arm just chosen.
const LEARNER_AND_BANDIT: &str = "size T
data action: int[T] in 0..2
data reward: int[T] in 0..2
param alpha ~ Beta(1, 1)
param beta ~ HalfNormal(10)
scan (q = [0.5, 0.5]; a in action, r in reward) {
  a ~ Categorical(logits = beta * q)
  r ~ Bernoulli(0.2 + 0.6 * a)
  set_subtensor(q[a], q[a] + alpha * (r - q[a]))
}
";

/// rl_single with one wrong assumption: no learning (alpha fixed to 0).
const NO_LEARNING: &str = "size T
data action: int[T] in 0..2
data reward: real[T]
param beta ~ HalfNormal(10)
let alpha = 0.0
scan (q = [0.5, 0.5]; a in action, r in reward) {
  a ~ Categorical(logits = beta * q)
  set_subtensor(q[a], q[a] + alpha * (r - q[a]))
}
";

#[test]
fn compare_prefers_the_model_that_made_the_data() {
    let dir = temp_dir("compare");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let bandit = write("bandit.rlm", LEARNER_AND_BANDIT);
    let no_learning = write("no_learning.rlm", NO_LEARNING);
    let trials: String = (1..=300).map(|t| format!("{t}\n")).collect();
    let design = write("design.csv", &format!("trial\n{trials}"));
    let data = dir.join("sim.csv");
    rlc(&[
        "simulate",
        path_str(&bandit),
        "--data",
        path_str(&design),
        "--at",
        "alpha=0.3,beta=4",
        "--seed",
        "5",
        "--quiet",
        "--output",
        path_str(&data),
    ]);
    // The rewards follow the arms chosen.
    let rows = csv_rows(&data);
    assert_eq!(rows.len(), 300);
    for (arm, p) in [("0", 0.2), ("1", 0.8)] {
        let rewards: Vec<f64> = rows
            .iter()
            .filter(|r| r["action"] == arm)
            .map(|r| r["reward"].parse().expect("a reward"))
            .collect();
        let n = rewards.len() as f64;
        assert!(n >= 10.0, "arm {arm} chosen {n} times");
        let rate = rewards.iter().sum::<f64>() / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (rate - p).abs() <= 5.0 * se,
            "arm {arm} paid {rate}, not {p}"
        );
    }
    let mut fits = Vec::new();
    for (name, model) in [
        ("rl_single", workspace().join("models/rl_single.rlm")),
        ("no_learning", no_learning.clone()),
    ] {
        let out = dir.join(name);
        rlc(&[
            "run",
            path_str(&model),
            "--data",
            path_str(&data),
            "--chains",
            "2",
            "--warmup",
            "300",
            "--draws",
            "300",
            "--seed",
            "1",
            "--quiet",
            "--log-lik",
            "--output-dir",
            path_str(&out),
        ]);
        fits.push(out);
    }
    // Given in the worse order: compare sorts them.
    let table = rlc(&["compare", path_str(&fits[1]), path_str(&fits[0]), "--json"]);
    let rows: Value = serde_json::from_str(&stdout(&table)).expect("JSON");
    let rows = rows.as_array().expect("one row per run");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], path_str(&fits[0]), "{rows:?}");
    assert_eq!(rows[0]["elpd_diff"], 0.0);
    let diff = rows[1]["elpd_diff"].as_f64().expect("elpd_diff");
    let se = rows[1]["se_diff"].as_f64().expect("se_diff");
    assert!(
        diff < 0.0 && -diff > 4.0 * se,
        "rl_single is ahead by {} ({se} standard errors of the difference)",
        -diff
    );
    let text = stdout(&rlc(&["compare", path_str(&fits[0]), path_str(&fits[1])]));
    assert!(
        text.contains(&format!("{} predicts best", path_str(&fits[0]))),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One summary row: 5% and 95% quantiles, mean, sd and R-hat.
#[derive(Debug, Clone, Copy)]
struct Interval {
    q5: f64,
    q95: f64,
    mean: f64,
    sd: f64,
    rhat: f64,
}

/// The rows of rlc's summary table (name Mean MCSE StdDev MAD 5% 50% 95%
/// ESS_bulk ESS_tail ESS_bulk/s R_hat), by name.
fn summary_rows(stdout: &str) -> HashMap<String, Interval> {
    let mut rows = HashMap::new();
    for line in stdout.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != 12 || cells[1] == "Mean" {
            continue;
        }
        let num = |i: usize| cells[i].parse::<f64>().unwrap_or(f64::NAN);
        rows.insert(
            cells[0].to_string(),
            Interval {
                q5: num(5),
                q95: num(7),
                mean: num(1),
                sd: num(3),
                rhat: num(11),
            },
        );
    }
    rows
}

/// A truth file's values by CmdStan column name (`beta`, `w.2`, `z.1.3`):
/// nested arrays are indexed 1-based from the outside in.
fn flatten(name: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{name}.{}", i + 1), item, out);
            }
        }
        other => out.push((name.to_string(), other.as_f64().expect("a number"))),
    }
}

/// A bundled model, the design its data sets are simulated on (the model's
/// own data file unless listed in `DESIGNS`), and how many data sets.
struct RoundTrip {
    model: String,
    design: String,
    count: usize,
}

/// Designs other than the model's own data file: rl_hier's example data
/// (20 subjects × 100 trials) take 10 s a fit, so by default its data sets
/// are simulated on the design of `rl_hier_sim.csv` (8 subjects, ragged,
/// with missed responses).
const DESIGNS: &[(&str, &str)] = &[("rl_hier", "rl_hier_sim.csv")];

/// Every bundled model with a data file of its own stem.
fn round_trips(count: usize) -> Vec<RoundTrip> {
    let root = workspace();
    let mut out = Vec::new();
    let mut models: Vec<PathBuf> = std::fs::read_dir(root.join("models"))
        .expect("models/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rlm"))
        .collect();
    models.sort();
    for path in models {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem")
            .to_string();
        let listed = DESIGNS.iter().find(|(m, _)| *m == stem).filter(|_| !slow());
        let design = match listed {
            Some((_, design)) => format!("models/data/{design}"),
            None => match ["csv", "json"]
                .iter()
                .map(|ext| format!("models/data/{stem}.{ext}"))
                .find(|p| root.join(p).exists())
            {
                Some(design) => design,
                None => continue,
            },
        };
        out.push(RoundTrip {
            model: format!("models/{stem}.rlm"),
            design,
            count,
        });
    }
    out
}

/// The two-sided exact binomial test of `k` successes in `n` trials with
/// success probability `p` (the outcomes no likelier than `k`, as R's
/// `binom.test`).
fn binomial_test(k: usize, n: usize, p: f64) -> f64 {
    let ln_fact: Vec<f64> = (0..=n)
        .scan(0.0, |acc, i| {
            if i > 0 {
                *acc += (i as f64).ln();
            }
            Some(*acc)
        })
        .collect();
    let pmf = |j: usize| {
        (ln_fact[n] - ln_fact[j] - ln_fact[n - j]
            + j as f64 * p.ln()
            + (n - j) as f64 * (1.0 - p).ln())
        .exp()
    };
    let observed = pmf(k);
    (0..=n)
        .map(pmf)
        .filter(|q| *q <= observed * (1.0 + 1e-7))
        .sum::<f64>()
        .min(1.0)
}

#[test]
fn the_binomial_test_is_exact() {
    // R's binom.test rule evaluated in exact rational arithmetic (Python's
    // fractions and math.comb).
    for (k, n, p, expected) in [
        (80, 100, 0.9, 0.002_300_248_918_965_346),
        (85, 100, 0.9, 0.096_284_047_928_357_53),
        (270, 300, 0.9, 1.0),
        (3, 10, 0.5, 0.343_75),
        (240, 290, 0.9, 0.000_169_207_580_338_527_7),
    ] {
        let got = binomial_test(k, n, p);
        assert!(
            (got - expected).abs() <= 1e-6 * expected.max(1e-3),
            "binom.test({k}, {n}, {p}): {got}, expected {expected}"
        );
    }
}

/// One fitted data set: each scalar parameter's true value and interval.
type Fitted = Vec<(String, f64, Interval)>;

/// Simulates `trip.count` data sets from the priors and fits each; returns
/// every data set's true values with their intervals.
fn simulate_and_fit(trip: &RoundTrip, dir: &Path, seed: u64) -> Vec<(String, Fitted)> {
    let stem = Path::new(&trip.model)
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem");
    let sims = dir.join(stem);
    rlc(&[
        "simulate",
        &trip.model,
        "--data",
        &trip.design,
        "--prior",
        "--n",
        &trip.count.to_string(),
        "--seed",
        &seed.to_string(),
        "--quiet",
        "--output-dir",
        path_str(&sims),
    ]);
    let extension = Path::new(&trip.design)
        .extension()
        .and_then(|e| e.to_str())
        .expect("extension");
    (1..=trip.count)
        .map(|k| {
            let data = sims.join(format!("{stem}_sim_{k}.{extension}"));
            let truth_path = sims.join(format!("{stem}_sim_{k}.truth.json"));
            let truth: Value =
                serde_json::from_str(&std::fs::read_to_string(&truth_path).expect("a truth file"))
                    .expect("JSON");
            assert_eq!(truth["model"], trip.model.as_str());
            assert_eq!(truth["stream"], (k - 1) as u64);
            assert_eq!(truth["seed"], seed);
            let data_name = data.file_name().and_then(|n| n.to_str()).expect("name");
            assert_eq!(truth["data"], data_name);
            let mut values = Vec::new();
            for (name, value) in truth["params"].as_object().expect("params") {
                flatten(name, value, &mut values);
            }
            // The simulated file loads back into `rlc run` unchanged.
            let out = rlc(&[
                "run",
                &trip.model,
                "--data",
                path_str(&data),
                "--chains",
                "2",
                "--warmup",
                "300",
                "--draws",
                "300",
                "--seed",
                &k.to_string(),
                "--quiet",
                "--output-dir",
                path_str(&sims.join(format!("fit_{k}"))),
            ]);
            let table = summary_rows(&stdout(&out));
            let fitted = values
                .into_iter()
                .map(|(name, v)| {
                    let row = *table
                        .get(&name)
                        .unwrap_or_else(|| panic!("{stem}: {name} is not in the summary"));
                    (name, v, row)
                })
                .collect();
            (format!("{stem}_sim_{k}"), fitted)
        })
        .collect()
}

#[test]
fn simulated_data_sets_recover_their_parameters_at_the_nominal_rate() {
    let dir = temp_dir("round-trips");
    let count = if slow() { 18 } else { 6 };
    let trips = round_trips(count);
    let names: Vec<&str> = trips.iter().map(|t| t.model.as_str()).collect();
    for expected in [
        "models/rl_single.rlm",
        "models/rl_pos_neg.rlm",
        "models/choice_kernel.rlm",
        "models/bandit4arm.rlm",
        "models/prl_fictitious.rlm",
        "models/rl_hier.rlm",
    ] {
        assert!(names.contains(&expected), "{expected} is not in {names:?}");
    }
    // Models that cannot run forward (scored with `target +=` only) are
    // left out, with the reason `rlc simulate` gives.
    let mut runnable = Vec::new();
    for trip in trips {
        let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
            .args(["simulate", &trip.model, "--data", &trip.design, "--prior"])
            .args(["--seed", "1", "--quiet", "--output"])
            .arg(dir.join("probe.data"))
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        if out.status.success() {
            runnable.push(trip);
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("observes no data with `~`"),
                "{}: {stderr}",
                trip.model
            );
        }
    }
    // Two workers, one fit at a time each: both cores stay busy.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(trip) = runnable.get(i) else { break };
                let fitted = simulate_and_fit(trip, &dir, 100 + i as u64);
                results.lock().expect("no panic").extend(fitted);
            });
        }
    });
    let mut results = results.into_inner().expect("no panic");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut report = String::new();
    let (mut inside, mut pairs) = (0, 0);
    for (set, fitted) in &results {
        for (name, truth, row) in fitted {
            let covered = row.q5 <= *truth && *truth <= row.q95;
            inside += usize::from(covered);
            pairs += 1;
            report.push_str(&format!(
                "{set:24} {name:10} true {truth:9.3}  90% [{:9.3}, {:9.3}]  mean {:9.3}  sd {:8.3}  R-hat {:.3}{}\n",
                row.q5,
                row.q95,
                row.mean,
                row.sd,
                row.rhat,
                if covered { "" } else { "  outside" }
            ));
        }
    }
    let p = binomial_test(inside, pairs, 0.9);
    eprintln!(
        "{report}{inside} of {pairs} true values inside their 90% intervals ({:.1}%); binomial test p = {p:.4}",
        100.0 * inside as f64 / pairs as f64
    );
    assert!(pairs >= 120, "only {pairs} (data set, parameter) pairs");
    assert!(
        p > 0.001,
        "{inside} of {pairs} true values inside their 90% intervals: p = {p:.2e} against 0.9"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A design without the observed column: every cell exists until the model
/// skips it. rl_hier draws a choice only where the outcome is present, so the
/// missed trials (no outcome) stay missing rather than taking the loader's
/// placeholder choice.
#[test]
fn simulate_leaves_the_trials_the_model_skips_missing() {
    let dir = temp_dir("skipped");
    let rows = csv_rows(&workspace().join("models/data/rl_hier_sim.csv"));
    let mut design = String::from("subjID,trial,outcome\n");
    for row in &rows {
        design.push_str(&format!(
            "{},{},{}\n",
            row["subjID"], row["trial"], row["outcome"]
        ));
    }
    let design_path = dir.join("design.csv");
    std::fs::write(&design_path, design).expect("write");
    let data = dir.join("sim.csv");
    rlc(&[
        "simulate",
        "models/rl_hier.rlm",
        "--data",
        path_str(&design_path),
        "--prior",
        "--seed",
        "3",
        "--quiet",
        "--output",
        path_str(&data),
    ]);
    let simulated = csv_rows(&data);
    assert_eq!(simulated.len(), rows.len());
    let mut skipped = 0;
    for (row, design_row) in simulated.iter().zip(&rows) {
        assert_eq!(row["outcome"], design_row["outcome"]);
        if is_missing(&row["outcome"]) {
            skipped += 1;
            assert!(
                is_missing(&row["choice"]),
                "a choice {} on a missed trial",
                row["choice"]
            );
        } else {
            assert!(["1", "2"].contains(&row["choice"].as_str()), "{row:?}");
        }
    }
    assert!(skipped > 0, "the design has no missed trials");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--output` names the format the file is read back in: `.json` of a CSV design
/// is JSON holding the same data (the same log density as the CSV written
/// beside it); a JSON design cannot become one table, and a comma-separated design
/// is no `.tsv` file: both refused before anything is written.
#[test]
fn simulate_writes_the_format_its_output_is_named() {
    let dir = temp_dir("output-format");
    let simulate_to = |output: &Path| {
        rlc_status(&[
            "simulate",
            "models/rl_hier.rlm",
            "--data",
            "models/data/rl_hier.csv",
            "--prior",
            "--seed",
            "5",
            "--quiet",
            "--output",
            path_str(output),
        ])
    };
    let (csv, json) = (dir.join("sim.csv"), dir.join("sim.json"));
    for output in [&csv, &json] {
        let (code, stderr) = simulate_to(output);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let text = std::fs::read_to_string(&json).expect("read");
    let value: Value = serde_json::from_str(&text).expect("the .json file is JSON");
    assert!(
        value.get("choice").is_some() && value.get("N").is_some(),
        "{text:.200}"
    );
    let logp = |data: &Path| {
        stdout(&rlc(&[
            "logp",
            "models/rl_hier.rlm",
            "--data",
            path_str(data),
            "--unconstrained",
            &vec!["0.1"; 44].join(","),
        ]))
        .lines()
        .find(|l| l.starts_with("logp ="))
        .map(str::to_string)
        .expect("a logp line")
    };
    assert_eq!(logp(&csv), logp(&json));
    let table = dir.join("eight.csv");
    let (code, stderr) = rlc_status(&[
        "simulate",
        "models/eight_schools.rlm",
        "--data",
        "models/data/eight_schools.json",
        "--prior",
        "--seed",
        "1",
        "--output",
        path_str(&table),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is JSON") && stderr.contains("name the file .json"),
        "{stderr}"
    );
    let tabbed = dir.join("sim.tsv");
    let (code, stderr) = simulate_to(&tabbed);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("a comma"), "{stderr}");
    assert!(!table.exists() && !tabbed.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Stan's and hBayesDM's padded layout: trials past `Tsubj[n]` are padding
/// that no `~` scores.
const PADDED_MODEL: &str = "size N\nsize T\ndata Tsubj: int[N] in 0..T + 1\n\
data choice: int[N, T] in 1..3\ndata outcome: real[N, T]\nparam A ~ Beta(1, 1)\n\
param tau ~ HalfNormal(5)\nfor n in 0..N {\n\
  scan (ev = [0.0, 0.0]; c in choice[n], o in outcome[n], t in 0..T) {\n\
    if t < Tsubj[n] {\n      let k = c - 1\n      k ~ Categorical(logits = tau * ev)\n\
      set_subtensor(ev[k], ev[k] + A * (o - ev[k]))\n    } else {\n      ev\n    }\n  }\n}\n";

/// The predictive check compares the cells the model scores: the padding
/// (here subject 2's two trials of 1) is in neither the observed proportion
/// (3 of 6 scored choices are 1, not 5 of 8) nor, with `--predict full`, the
/// replicas, whose padding cells are `nan` rather than copies of the data.
#[test]
fn the_predictive_check_leaves_out_the_padding() {
    let dir = temp_dir("padding-check");
    let model = dir.join("padded.rlm");
    std::fs::write(&model, PADDED_MODEL).expect("write");
    let data = dir.join("data.json");
    std::fs::write(
        &data,
        r#"{"N": 2, "T": 4, "Tsubj": [4, 2], "choice": [[1,2,2,1],[2,1,1,1]], "outcome": [[1,0,1,1],[0,1,0,0]]}"#,
    )
    .expect("write");
    for kind in ["one-step", "full"] {
        let out_dir = dir.join(kind);
        let out = rlc(&[
            "run",
            path_str(&model),
            "--data",
            path_str(&data),
            "--predict",
            kind,
            "--chains",
            "1",
            "--warmup",
            "50",
            "--draws",
            "20",
            "--seed",
            "1",
            "--quiet",
            "--output-dir",
            path_str(&out_dir),
        ]);
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.contains("P(choice = 1)"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("observed   0.500"), "{kind}: {line}");
        let chain = std::fs::read_to_string(out_dir.join("padded_1.csv")).expect("draws");
        let mut lines = chain.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        for row in lines {
            let cells: Vec<&str> = row.split(',').collect();
            for (name, cell) in header.iter().zip(&cells) {
                let padding = ["choice_rep.2.3", "choice_rep.2.4"].contains(name);
                if name.starts_with("choice_rep") {
                    assert_eq!(cell == &"nan", padding, "{kind}: {name} = {cell}");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Stan's and hBayesDM's padded layout: a non-optional `choice[N, T]` whose
/// trials past `Tsubj[n]` no `~` draws. Those cells cannot be missing (the
/// declaration does not allow it), so they keep the design's padding, or a
/// value in the declared range when the design lacks the variable, and the
/// simulated file loads into `rlc run` unchanged.
#[test]
fn simulate_keeps_the_padding_of_a_variable_that_cannot_be_missing() {
    let dir = temp_dir("padding");
    let model = dir.join("padded.rlm");
    std::fs::write(&model, PADDED_MODEL).expect("write");
    let with_padding = dir.join("with.json");
    std::fs::write(
        &with_padding,
        r#"{"N": 2, "T": 4, "Tsubj": [4, 2], "choice": [[1,2,2,1],[2,1,2,2]], "outcome": [[1,0,1,1],[0,1,0,0]]}"#,
    )
    .expect("write");
    let without = dir.join("without.json");
    std::fs::write(
        &without,
        r#"{"N": 2, "T": 4, "Tsubj": [4, 2], "outcome": [[1,0,1,1],[0,1,0,0]]}"#,
    )
    .expect("write");
    for (design, padding) in [(&with_padding, [2.0, 2.0]), (&without, [1.0, 1.0])] {
        let simulated = dir.join("sim.json");
        rlc(&[
            "simulate",
            path_str(&model),
            "--data",
            path_str(design),
            "--at",
            "A=0.3,tau=2",
            "--seed",
            "1",
            "--quiet",
            "--output",
            path_str(&simulated),
        ]);
        let text = std::fs::read_to_string(&simulated).expect("simulated");
        let json: Value = serde_json::from_str(&text).expect("JSON");
        let second: Vec<f64> = json["choice"][1]
            .as_array()
            .unwrap_or_else(|| panic!("{text}"))
            .iter()
            .map(|v| {
                v.as_f64()
                    .unwrap_or_else(|| panic!("a missing cell: {text}"))
            })
            .collect();
        assert_eq!(second[2..], padding, "{text}");
        assert!(second[..2].iter().all(|c| [1.0, 2.0].contains(c)), "{text}");
        rlc(&[
            "run",
            path_str(&model),
            "--data",
            path_str(&simulated),
            "--chains",
            "1",
            "--warmup",
            "20",
            "--draws",
            "20",
            "--quiet",
            "--output-dir",
            path_str(&dir.join("fit")),
        ]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// language.md's ragged idiom, a `for` to a data-dependent bound
/// (`for t in 1..Tsubj[n]`), runs forward: the pointwise log-likelihood has
/// one column per scored trial, each Normal's log density at the draw;
/// the predictive check and `simulate` cover the trials up to `Tsubj[n]`.
#[test]
fn a_loop_to_a_data_dependent_bound_runs_forward() {
    let dir = temp_dir("ragged-for");
    let model = dir.join("ar.rlm");
    std::fs::write(
        &model,
        "size N\nsize T\ndata Tsubj: int[N] in 0..T + 1\ndata y: real[N, T]\n\
         param mu: real[N] ~ Normal(0, 1)\nparam sigma ~ LogNormal(0, 1)\nparam rho in (-1, 1)\n\
         for n in 0..N {\n  y[n, 0] ~ Normal(mu[n], sigma)\n  for t in 1..Tsubj[n] {\n\
         y[n, t] ~ Normal(mu[n] + rho * y[n, t - 1], sigma)\n  }\n}\n",
    )
    .expect("write");
    let data = dir.join("data.json");
    let y = [[0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 0.0, 0.0]];
    let tsubj = [4usize, 2];
    std::fs::write(
        &data,
        r#"{"N": 2, "T": 4, "Tsubj": [4, 2], "y": [[0.1, 0.2, 0.3, 0.4], [1, 2, 0, 0]]}"#,
    )
    .expect("write");
    let out_dir = dir.join("fit");
    let out = rlc(&[
        "run",
        path_str(&model),
        "--data",
        path_str(&data),
        "--log-lik",
        "--predict",
        "--chains",
        "1",
        "--warmup",
        "100",
        "--draws",
        "20",
        "--seed",
        "1",
        "--quiet",
        "--output-dir",
        path_str(&out_dir),
    ]);
    // The mean of the 6 scored values, not of all 8 cells.
    assert!(
        stdout(&out).contains("y mean   observed   0.667"),
        "{}",
        stdout(&out)
    );
    // The draws without the CmdStan comment lines.
    let draws = dir.join("draws.csv");
    let text = std::fs::read_to_string(out_dir.join("ar_1.csv")).expect("draws");
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    std::fs::write(&draws, kept.join("\n")).expect("write");
    let rows = csv_rows(&draws);
    assert_eq!(rows.len(), 20);
    let normal = |x: f64, m: f64, s: f64| {
        -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    };
    for row in &rows {
        let get = |k: &str| -> f64 { row[k].parse().unwrap_or_else(|_| panic!("{k}")) };
        let (sigma, rho) = (get("sigma"), get("rho"));
        let mut expected = Vec::new();
        for n in 0..2 {
            let mu = get(&format!("mu.{}", n + 1));
            expected.push(normal(y[n][0], mu, sigma));
            for t in 1..tsubj[n] {
                expected.push(normal(y[n][t], mu + rho * y[n][t - 1], sigma));
            }
        }
        let columns: Vec<f64> = (1..=expected.len())
            .map(|k| get(&format!("log_lik.{k}")))
            .collect();
        assert!(!row.contains_key("log_lik.7"), "{row:?}");
        for (got, want) in columns.iter().zip(&expected) {
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
        assert!(is_missing(&row["y_rep.2.3"]) && !is_missing(&row["y_rep.2.2"]));
    }
    let simulated = dir.join("sim.json");
    rlc(&[
        "simulate",
        path_str(&model),
        "--data",
        path_str(&data),
        "--at",
        "mu=0,sigma=1,rho=0.5",
        "--seed",
        "1",
        "--quiet",
        "--output",
        path_str(&simulated),
    ]);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&simulated).expect("simulated"))
            .expect("JSON");
    let second = &json["y"][1];
    // Drawn up to Tsubj = 2; the padding keeps the design's zeros.
    assert!(second[0].as_f64().is_some_and(|v| v != 1.0), "{json}");
    assert!(second[1].as_f64().is_some_and(|v| v != 2.0), "{json}");
    assert_eq!(
        (second[2].as_f64(), second[3].as_f64()),
        (Some(0.0), Some(0.0))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A value two `~` statements observe cannot be drawn (the draw would follow
/// the last statement alone): simulate and `--predict` stop with an error
/// naming the cell; `--log-lik` sums its terms.
#[test]
fn a_value_observed_twice_is_not_run_forward() {
    let dir = temp_dir("twice");
    let model = dir.join("twice.rlm");
    std::fs::write(
        &model,
        "size T\ndata y: real[T]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu, 1)\ny[1:] ~ Normal(mu + 10, 1)\n",
    )
    .expect("write");
    let data = dir.join("data.csv");
    std::fs::write(&data, "y\n0.5\n1.5\n-0.2\n").expect("write");
    let forward = rlc_status;
    let fit = [
        "--chains",
        "1",
        "--warmup",
        "20",
        "--draws",
        "20",
        "--quiet",
        "--output-dir",
    ];
    let out_dir = dir.join("fit");
    for args in [
        vec![
            "simulate",
            path_str(&model),
            "--data",
            path_str(&data),
            "--at",
            "mu=0",
            "--output",
            path_str(&dir.join("sim.csv")),
        ],
        [
            vec![
                "run",
                path_str(&model),
                "--data",
                path_str(&data),
                "--predict",
            ],
            fit.to_vec(),
            vec![path_str(&out_dir)],
        ]
        .concat(),
        [
            vec![
                "run",
                path_str(&model),
                "--data",
                path_str(&data),
                "--predict",
                "full",
            ],
            fit.to_vec(),
            vec![path_str(&out_dir)],
        ]
        .concat(),
    ] {
        let (code, stderr) = forward(&args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`y[1]` is observed by 2 `~` statements (and 1 more cell of `y` too)"),
            "{args:?}: {stderr}"
        );
    }
    rlc(&[
        &[
            "run",
            path_str(&model),
            "--data",
            path_str(&data),
            "--log-lik",
        ][..],
        &fit[..],
        &[path_str(&out_dir)][..],
    ]
    .concat());
    let text = std::fs::read_to_string(out_dir.join("twice_1.csv")).expect("draws");
    let header = text
        .lines()
        .find(|l| l.starts_with("lp__"))
        .expect("header");
    assert!(
        header.ends_with("log_lik.1,log_lik.2,log_lik.3"),
        "{header}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc compare` pairs observations by position: runs whose subjects differ
/// or come in another order are refused, and runs that read different data
/// files are compared with a warning.
#[test]
fn compare_checks_that_the_runs_read_the_same_observations() {
    let dir = temp_dir("compare-data");
    let rows = csv_rows(&workspace().join("models/data/rl_hier.csv"));
    let write = |name: &str, subjects: &[&str]| {
        let mut text = String::from("subjID,trial,choice,outcome\n");
        for s in subjects {
            for row in rows.iter().filter(|r| r["subjID"] == *s).take(30) {
                text.push_str(&format!(
                    "{},{},{},{}\n",
                    row["subjID"], row["trial"], row["choice"], row["outcome"]
                ));
            }
        }
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let fit = |data: &Path, out: &str| {
        let out_dir = dir.join(out);
        rlc(&[
            "run",
            "models/rl_hier.rlm",
            "--data",
            path_str(data),
            "--log-lik",
            "--chains",
            "2",
            "--warmup",
            "100",
            "--draws",
            "100",
            "--seed",
            "1",
            "--quiet",
            "--output-dir",
            path_str(&out_dir),
        ]);
        out_dir
    };
    let a = fit(&write("a.csv", &["1", "2"]), "a");
    let copy = fit(&write("copy.csv", &["1", "2"]), "copy");
    let swapped = fit(&write("swapped.csv", &["2", "1"]), "swapped");
    let out = rlc(&["compare", path_str(&a), path_str(&copy)]);
    let text = stdout(&out);
    assert!(
        text.contains("read") && text.contains("a.csv") && text.contains("copy.csv"),
        "{text}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args(["compare", path_str(&a), path_str(&swapped)])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the same in another order"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An index out of range that comes from the design's data (a code whose
/// digits pick the options, as `pst_Q`'s `type`) is the data error `rlc run`
/// gives on the same file, with the term's place: exit 3, not a failure of
/// the draws.
#[test]
fn simulate_reports_an_index_from_the_data_as_run_does() {
    let dir = temp_dir("sim-index");
    let model = dir.join("codes.rlm");
    std::fs::write(
        &model,
        "size T\ndata k: int[T] in 0..30\ndata y: int[T] in 0..2\nparam p ~ Beta(1, 1)\n\
         let q = [0.2, 0.5, 0.8]\nfor t in 0..T {\n\
         let j = k[t] - 10 * (if k[t] >= 20 { 2 } else if k[t] >= 10 { 1 } else { 0 })\n\
         y[t] ~ Bernoulli(q[j] * p)\n}\n",
    )
    .expect("write");
    let design = dir.join("design.csv");
    std::fs::write(&design, "k\n1\n12\n25\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args([
            "simulate",
            path_str(&model),
            "--data",
            path_str(&design),
            "--prior",
        ])
        .args(["--seed", "1", "--output", path_str(&dir.join("sim.csv"))])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("codes.rlm:8:18 (`q[j]`): index 5 is out of range for axis 0 of length 3"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `run --loo` on data with no observation to score (every response missing)
/// succeeds with its draws and warns that there is no PSIS-LOO; it printed an
/// `error:` line and exited 0.
#[test]
fn run_loo_without_observations_is_a_warning_beside_the_draws() {
    let dir = temp_dir("loo-none");
    let model = dir.join("m.rlm");
    let data = dir.join("d.json");
    std::fs::write(
        &model,
        "size T\ndata y: real?[T]\nparam mu ~ Normal(0, 1)\nscan (s = 0.0; v in y) {\n  if present(v) {\n    v ~ Normal(mu, 1)\n  }\n  s\n}\n",
    )
    .expect("model");
    std::fs::write(&data, r#"{"T": 2, "y": [null, null]}"#).expect("data");
    let out_dir = dir.join("out");
    let out = rlc(&[
        "run",
        path_str(&model),
        "--data",
        path_str(&data),
        "--loo",
        "--chains",
        "1",
        "--draws",
        "20",
        "--seed",
        "1",
        "--quiet",
        "--output-dir",
        path_str(&out_dir),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: no PSIS-LOO: the log-likelihood has no observations")
            && !stderr.contains("error:"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc loo` on a killed run's folder, where some chains stopped before their
/// first draw (their files hold only the header): those are left out with a
/// note, as `rlc summary` does; it refused the run ("there are no draws").
#[test]
fn loo_leaves_out_chains_that_never_drew() {
    let dir = temp_dir("loo-empty-chain");
    let out_dir = dir.join("out");
    short_log_lik_run(&out_dir, "3", "4");
    // Chain 3 as a run killed in its warmup leaves it: comments and the header.
    let third = out_dir.join("rl_single_3.csv");
    let text = std::fs::read_to_string(&third).expect("chain 3");
    let mut header_seen = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            if l.starts_with('#') {
                return !header_seen;
            }
            let keep = !header_seen;
            header_seen = true;
            keep
        })
        .collect();
    std::fs::write(&third, kept.join("\n") + "\n").expect("cut");
    let out = rlc(&["loo", path_str(&out_dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "rl_single_3.csv holds no draws (its run stopped before sampling) and is left out"
        ),
        "{stderr}"
    );
    assert!(stdout(&out).contains("elpd_loo"), "{}", stdout(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc compare` of a run with itself: the same pointwise elpd, said so; it
/// printed "is -0.0 lower in elpd (inf standard errors of the difference)".
#[test]
fn compare_of_a_run_with_itself_says_they_predict_equally_well() {
    let dir = temp_dir("compare-same");
    let out_dir = dir.join("out");
    short_log_lik_run(&out_dir, "2", "5");
    let out = rlc(&["compare", path_str(&out_dir), path_str(&out_dir)]);
    let text = stdout(&out);
    assert!(
        text.contains("predict equally well: their pointwise elpd is the same")
            && !text.contains("standard errors of the difference"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--log-lik` (and `--loo`) on a model that scores some data with `target +=`
/// says that `log_lik` and PSIS-LOO leave those out (it was silent).
#[test]
fn log_lik_notes_the_data_a_target_statement_scores() {
    let dir = temp_dir("loglik-target");
    let model = dir.join("m.rlm");
    let data = dir.join("d.csv");
    std::fs::write(
        &model,
        "size T\ndata y: real[T]\ndata z: real[T]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu, 1)\ntarget += sum(-0.5 * (z - mu) * (z - mu))\n",
    )
    .expect("model");
    std::fs::write(&data, "y,z\n0.1,0.3\n-0.4,0.2\n0.5,-0.1\n").expect("data");
    let out = rlc(&[
        "run",
        path_str(&model),
        "--data",
        path_str(&data),
        "--loo",
        "--chains",
        "1",
        "--draws",
        "50",
        "--seed",
        "1",
        "--output-dir",
        path_str(&dir.join("out")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("m.rlm:6:1")
            && stderr.contains("not to the pointwise log-likelihood: `log_lik` and PSIS-LOO leave out what it scores"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A short `rlc run --log-lik` of rl_single (100 warmup, 60 draws) into `out_dir`.
fn short_log_lik_run(out_dir: &Path, chains: &str, seed: &str) {
    rlc(&[
        "run",
        "models/rl_single.rlm",
        "--data",
        "models/data/rl_single.csv",
        "--log-lik",
        "--chains",
        chains,
        "--warmup",
        "100",
        "--draws",
        "60",
        "--seed",
        seed,
        "--quiet",
        "--output-dir",
        path_str(out_dir),
    ]);
}

/// `--predict` whose draws cannot be made (a Poisson rate above what can be
/// drawn exactly, 2^52, while the density there is finite) writes the draws
/// with NaN predictions and exits 4 saying so; it exited 0.
#[test]
fn predictions_that_cannot_be_drawn_fail_the_run() {
    let dir = temp_dir("predict-fails");
    let model = dir.join("m.rlm");
    let data = dir.join("d.csv");
    std::fs::write(
        &model,
        "size T\ndata y: int[T]\nparam lr ~ Normal(36, 1)\ny ~ Poisson(log_rate = lr)\n",
    )
    .expect("model");
    std::fs::write(&data, "y\n9000000000000000\n8999999999000000\n").expect("data");
    let out_dir = dir.join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .args([
            "run",
            path_str(&model),
            "--data",
            path_str(&data),
            "--predict",
        ])
        .args([
            "--chains",
            "1",
            "--warmup",
            "50",
            "--draws",
            "10",
            "--max-depth",
            "4",
        ])
        .args(["--seed", "1", "--quiet", "--output-dir", path_str(&out_dir)])
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("cannot draw: `log_rate` of Poisson must be at most")
            && stderr.contains("the draws are written, but in 1 of 1 chains the outputs of some draws could not be computed"),
        "{stderr}"
    );
    assert!(out_dir.join("m_1.csv").exists(), "the draws are kept");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model with no parameters (a task whose outcomes are drawn from fixed
/// probabilities) is simulated without `--at` or `--prior`.
#[test]
fn a_model_without_parameters_is_simulated_without_values() {
    let dir = temp_dir("no-params");
    std::fs::write(
        dir.join("task.rlm"),
        "size T\ndata p: real[T] in (0, 1)\ndata r: int[T] in 0..2\nr ~ Bernoulli(p)\n",
    )
    .expect("writes");
    std::fs::write(dir.join("design.csv"), "p\n0.2\n0.9\n0.5\n").expect("writes");
    let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
        .arg("simulate")
        .arg(dir.join("task.rlm"))
        .arg("--data")
        .arg(dir.join("design.csv"))
        .args(["--seed", "1", "--output"])
        .arg(dir.join("sim.csv"))
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("sim.csv")).expect("written");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows.iter()
            .all(|row| row.ends_with(",0") || row.ends_with(",1")),
        "{text}"
    );
}

/// An element tested where it is used (`if present(choice[n, t])`, no name
/// bound): `rlc simulate` draws the cells the design has and leaves the
/// missing ones missing, as with a scan's element names.
#[test]
fn simulate_draws_an_element_tested_where_it_is_used() {
    let dir = temp_dir("element-tested");
    let model = dir.join("blocks.rlm");
    std::fs::write(
        &model,
        "size N by subjID\nsize B by block\nsize T\ndata choice: int?[N, B, T] in 1..3\n\
         param mu ~ Normal(0, 1)\n\
         for n in 0..N {\n  for b in 0..B {\n    for t in 0..T {\n\
               if present(choice[n, b, t]) {\n\
                 (choice[n, b, t] - 1) ~ Bernoulli(logistic(mu))\n      }\n    }\n  }\n}\n",
    )
    .expect("write");
    let design = dir.join("design.csv");
    std::fs::write(
        &design,
        "subjID,block,choice\na,1,1\na,1,NA\na,2,2\nb,1,\nb,1,2\nb,1,1\n",
    )
    .expect("write");
    let data = dir.join("sim.csv");
    rlc(&[
        "simulate",
        path_str(&model),
        "--data",
        path_str(&design),
        "--at",
        "mu=0.3",
        "--seed",
        "5",
        "--quiet",
        "--output",
        path_str(&data),
    ]);
    let simulated = csv_rows(&data);
    let missing: Vec<bool> = simulated.iter().map(|r| is_missing(&r["choice"])).collect();
    assert_eq!(
        missing,
        [false, true, false, true, false, false],
        "{simulated:?}"
    );
    for row in simulated.iter().filter(|r| !is_missing(&r["choice"])) {
        assert!(["1", "2"].contains(&row["choice"].as_str()), "{row:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bet observed as a rank computed from the data (hBayesDM's `cgt_cm`):
/// `--loo` scores each bet at its `stake` cell, with the categorical's log
/// probability of the rank the data give; `simulate` and `--predict` cannot
/// put a drawn rank back and say so (E0191). `--loo` failed with E0191 too.
#[test]
fn an_observation_computed_from_data_is_scored_at_its_element() {
    let dir = temp_dir("computed");
    let model = workspace().join("tests/check/ok/ranked_bets.rlm");
    let data = dir.join("bets.csv");
    let rows = [(0, 0), (2, 1), (5, 0), (3, 1), (4, 0)];
    let mut text = "stake,descending\n".to_string();
    for (s, d) in rows {
        text.push_str(&format!("{s},{d}\n"));
    }
    std::fs::write(&data, text).expect("data");
    let out_dir = dir.join("fit");
    let out = rlc(&[
        "run",
        path_str(&model),
        "--data",
        path_str(&data),
        "--loo",
        "--chains",
        "1",
        "--warmup",
        "50",
        "--draws",
        "30",
        "--seed",
        "3",
        "--output-dir",
        path_str(&out_dir),
    ]);
    assert!(
        stdout(&out).contains("5 observations (PSIS-LOO)"),
        "{}",
        stdout(&out)
    );
    let chain = Chain::read(&out_dir.join("ranked_bets_1.csv"));
    assert_eq!(chain.rows.len(), 30);
    for row in 0..chain.rows.len() {
        let gamma = chain.value(row, chain.column("gamma"));
        let logits = [0.0, 0.5, 1.0, 1.5].map(|x| gamma * x);
        let norm = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        for (t, (s, d)) in rows.iter().enumerate() {
            let rank = match s {
                0 | 1 => 0,
                2 => 1,
                s => s - 2,
            };
            let k = if *d == 1 { 3 - rank } else { rank };
            let expected = logits[k as usize] - norm;
            let got = chain.value(row, chain.column(&format!("log_lik.{}", t + 1)));
            assert!(
                (got - expected).abs() < 1e-9,
                "log_lik.{}: {got} vs {expected}",
                t + 1
            );
        }
    }
    for args in [
        vec![
            "simulate",
            path_str(&model),
            "--data",
            path_str(&data),
            "--at",
            "gamma=1",
        ],
        vec![
            "run",
            path_str(&model),
            "--data",
            path_str(&data),
            "--predict",
            "--quiet",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rlc"))
            .args(&args)
            .arg("--output-dir")
            .arg(dir.join("forward"))
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("[E0191]") && stderr.contains("cannot be put back into the data"),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `size K = max(choice)`: a design's largest choice sets `K` for the draws; a design
/// without the column is refused (D0032); and a table whose draws never reach `K`, which a
/// fit would read with a smaller `K`, is written with a note, where JSON keeps `K`.
#[test]
fn simulate_takes_a_size_from_the_designs_values() {
    let dir = temp_dir("largest");
    let model = dir.join("arms.rlm");
    std::fs::write(
        &model,
        "size K = max(choice)\nsize N by subjID\nsize T\ndata choice: int?[N, T] in 1..K + 1\n\
         param beta: real[K] ~ Normal(0, 1)\nfor n in 0..N {\n  for t in 0..T {\n\
         if present(choice[n, t]) {\n      choice[n, t] - 1 ~ Categorical(logits = beta)\n    }\n  }\n}\n",
    )
    .expect("write");
    let design = dir.join("design.csv");
    std::fs::write(&design, "subjID,choice\n1,1\n1,1\n2,6\n").expect("write");
    let simulate = |at: &str, output: &Path| {
        rlc_status(&[
            "simulate",
            path_str(&model),
            "--data",
            path_str(&design),
            "--at",
            at,
            "--seed",
            "3",
            "--output",
            path_str(output),
        ])
    };
    // Every draw is the last of six arms: K = 6, as the design's largest choice.
    let all_last = "beta=[-20,-20,-20,-20,-20,20]";
    let (code, stderr) = simulate(all_last, &dir.join("last.csv"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("never reaches"), "{stderr}");
    let rows = csv_rows(&dir.join("last.csv"));
    assert!(rows.iter().all(|r| r["choice"] == "6"), "{rows:?}");
    // Every draw is the first arm: the table would be read with K = 1, and says so.
    let all_first = "beta=[20,-20,-20,-20,-20,-20]";
    let (code, stderr) = simulate(all_first, &dir.join("first.csv"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("never reaches K = 6") && stderr.contains("would take K = 1"),
        "{stderr}"
    );
    let (code, stderr) = simulate(all_first, &dir.join("first.json"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("never reaches"), "{stderr}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("first.json")).expect("read"))
            .expect("JSON");
    assert_eq!(json["K"], 6, "{json}");
    // A JSON design without the choices gives K itself; the range `1..K + 1` of the
    // choices it lacks is met by the placeholder its constant lower end gives.
    let keyed = dir.join("keyed.json");
    std::fs::write(&keyed, r#"{"K": 6, "N": 2, "T": 2}"#).expect("write");
    let (code, stderr) = rlc_status(&[
        "simulate",
        path_str(&model),
        "--data",
        path_str(&keyed),
        "--at",
        all_last,
        "--output",
        path_str(&dir.join("keyed_sim.json")),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("keyed_sim.json")).expect("read"))
            .expect("JSON");
    assert_eq!(
        json["choice"],
        serde_json::json!([[6, 6], [6, 6]]),
        "{json}"
    );
    // No choice column, and nothing else gives K.
    std::fs::write(&design, "subjID\n1\n1\n2\n").expect("write");
    let (code, stderr) = simulate(all_first, &dir.join("none.csv"));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("takes its value from `choice`, which the file does not have"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
