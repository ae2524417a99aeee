//! The generative functions (`lower_generative`) of every bundled model
//! (`models/` and `tests/check/ok/`), run on the reference interpreter with
//! random data that fits each model's declarations:
//!
//! * each model lowers in the modes it should (the pointwise log-likelihood
//!   for every model; simulation for the models that observe their data in
//!   order), or fails with a clear error that points at the reason, and the
//!   lowered IR verifies;
//! * the pointwise log-likelihood is the likelihood: for a model without
//!   `target +=`, the log density minus the scored cells' log-likelihoods
//!   (priors and Jacobians) does not change when the observed values do;
//! * a simulation is fixed by its seed and changes with it; missing cells
//!   stay missing and are never scored;
//! * one-step predictive draws (replicas) leave the observed values alone:
//!   the scores are those of the observed data, and each draw of a discrete
//!   observation equals the observed value with the probability its
//!   log-likelihood gives, which a full simulation would not.

use rand::SeedableRng;
use rlc_check::model::Model;
use rlc_check::types::ElemType;
use rlc_ir::interp::{eval, eval_random, EvalError, Tensor};
use rlc_ir::{
    lower_generative, Channel, Function, GenerativeIr, GenerativeOptions, Input, ParamSource,
};
use rlc_testkit::{generate_data, models, Rng};
use std::collections::HashMap;
use std::path::Path;

/// The pointwise log-likelihood alone (`rlc run --log-lik`).
const LOG_LIK: GenerativeOptions = GenerativeOptions {
    params: ParamSource::Theta,
    draw: false,
    write_back: false,
    log_lik: true,
};
/// A simulation at given parameters (`rlc simulate --at`, `--predict full`).
const SIMULATE: GenerativeOptions = GenerativeOptions {
    params: ParamSource::Theta,
    draw: true,
    write_back: true,
    log_lik: false,
};
/// A simulation from the priors (`rlc simulate --prior`).
const SIMULATE_PRIOR: GenerativeOptions = GenerativeOptions {
    params: ParamSource::Prior,
    ..SIMULATE
};
/// A simulation that also scores its draws (`rlc simulate`: the mask tells
/// which cells were drawn).
const SIMULATE_SCORED: GenerativeOptions = GenerativeOptions {
    log_lik: true,
    ..SIMULATE
};
/// One-step predictive draws with the scores (`rlc run --predict --log-lik`).
const ONE_STEP: GenerativeOptions = GenerativeOptions {
    params: ParamSource::Theta,
    draw: true,
    write_back: false,
    log_lik: true,
};

/// A bundled model: its file name, source and checked form.
struct Case {
    name: String,
    source: String,
    model: Model,
}

fn compile(name: &str, source: &str) -> Case {
    let (model, diagnostics) = rlc_check::compile(source);
    let model = model.unwrap_or_else(|| panic!("{name} does not compile: {diagnostics:?}"));
    Case {
        name: name.to_string(),
        source: source.to_string(),
        model,
    }
}

/// Every bundled model, named by its folder and file (`models/rl_single.rlm`).
fn cases() -> Vec<Case> {
    models()
        .iter()
        .map(|path| {
            let source = std::fs::read_to_string(path).expect("model file");
            compile(&short_name(path), &source)
        })
        .collect()
}

fn short_name(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|f| f.to_string_lossy());
    match (folder, file) {
        (Some(folder), Some(file)) if folder == "models" => format!("models/{file}"),
        (Some(_), Some(file)) => format!("tests/check/ok/{file}"),
        _ => path.display().to_string(),
    }
}

impl Case {
    /// Whether the program has a `target +=` (outside comments).
    fn has_target_add(&self) -> bool {
        self.source.lines().any(|line| {
            let code = line.split("//").next().unwrap_or("");
            code.replace(' ', "").contains("target+=")
        })
    }

    fn lower(&self, options: GenerativeOptions) -> GenerativeIr {
        let g = lower_generative(&self.model, options)
            .unwrap_or_else(|e| panic!("{}: {options:?}: {}", self.name, e.message));
        if let Err(errors) = rlc_ir::verify::verify(&g.function) {
            panic!(
                "{}: {options:?}: the IR does not verify: {:?}\n{}",
                self.name,
                errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                rlc_ir::print::print_function(&g.function)
            );
        }
        g
    }

    /// The one-step predictive draws, or `None` for a model whose `~`
    /// observes a value computed from data (scored at the element it is
    /// computed from, but no draw can be put back there).
    fn one_step(&self) -> Option<GenerativeIr> {
        match lower_generative(&self.model, ONE_STEP) {
            Ok(_) => Some(self.lower(ONE_STEP)),
            // No place for a draw, or a density written by hand (`LogDensity`).
            Err(e)
                if e.message.contains("cannot be put back into the data")
                    || e.message.contains("rlc cannot draw from") =>
            {
                None
            }
            Err(e) => panic!("{}: one step: {}", self.name, e.message),
        }
    }

    /// Whether some left side of `~` (outside `param` lines and comments)
    /// appears twice: a cell drawn twice keeps its last draw but is scored by
    /// both, so its draws do not follow its summed log-likelihood.
    fn scores_a_cell_twice(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.source.lines().any(|line| {
            let code = line.split("//").next().unwrap_or("").trim();
            match code.split_once(" ~ ") {
                Some((lhs, _)) if !code.starts_with("param ") => !seen.insert(lhs.to_string()),
                _ => false,
            }
        })
    }

    /// The text of the model that a lowering error points at.
    fn at(&self, span: rlc_syntax::ast::Span) -> &str {
        self.source
            .get(span.start..span.end)
            .unwrap_or("<bad span>")
    }
}

/// A data set: the sizes and each data variable's tensor (NaN: missing).
#[derive(Clone)]
struct DataSet {
    sizes: HashMap<String, i64>,
    values: HashMap<String, Tensor>,
}

fn random_data(model: &Model, seed: u64) -> DataSet {
    let (sizes, data) = generate_data(model, &mut Rng(seed));
    let values = data
        .into_iter()
        .map(|(name, v)| (name, Tensor::new(v.shape, v.values)))
        .collect();
    DataSet { sizes, values }
}

/// A value for one cell of data variable `name` that fits its declaration
/// (as `generate_data` makes them): an int in its range, else a real in (0.1, 0.9).
fn fresh_cell(model: &Model, name: &str, sizes: &HashMap<String, i64>, rng: &mut Rng) -> f64 {
    let decl = model
        .data
        .iter()
        .find(|d| model.symbol(d.symbol).name == name)
        .expect("a data declaration");
    match model.symbol(decl.symbol).info.ty.elem {
        ElemType::Int => {
            let (lo, hi) = decl
                .int_range
                .as_ref()
                .and_then(|r| Some((r.lo.eval(sizes)?, r.hi.eval(sizes)?)))
                .unwrap_or((0, 3));
            (lo as f64 + (rng.unit() * (hi - lo) as f64).floor()).min(hi as f64 - 1.0)
        }
        ElemType::Real => rng.uniform(0.1, 0.9),
        ElemType::Bool => f64::from(u8::from(rng.unit() < 0.5)),
    }
}

/// The declared range of int data variable `name` (`None` for reals).
fn int_range(model: &Model, name: &str, sizes: &HashMap<String, i64>) -> Option<(i64, i64)> {
    let decl = model
        .data
        .iter()
        .find(|d| model.symbol(d.symbol).name == name)?;
    if model.symbol(decl.symbol).info.ty.elem != ElemType::Int {
        return None;
    }
    let range = decl.int_range.as_ref()?;
    Some((range.lo.eval(sizes)?, range.hi.eval(sizes)?))
}

/// `data` with every present cell of the variables in `observed` given a
/// new value (the missing pattern is kept).
fn new_observations(model: &Model, data: &DataSet, observed: &[String], seed: u64) -> DataSet {
    let mut rng = Rng(seed);
    let mut out = data.clone();
    for name in observed {
        let tensor = out.values.get_mut(name).expect("observed data");
        for cell in tensor.data.iter_mut().filter(|c| !c.is_nan()) {
            *cell = fresh_cell(model, name, &data.sizes, &mut rng);
        }
    }
    out
}

/// Unconstrained coordinates in (-1, 1).
fn random_theta(model: &Model, sizes: &HashMap<String, i64>, seed: u64) -> Vec<f64> {
    let ir = rlc_ir::lower(model).expect("lowers");
    let dim = ir.dim.eval(sizes).expect("dim") as usize;
    let mut rng = Rng(seed);
    (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn inputs(f: &Function, data: &DataSet, theta: &[f64]) -> Vec<Tensor> {
    f.inputs
        .iter()
        .map(|i| match i {
            Input::Theta => Tensor::vector(theta.to_vec()),
            Input::Data(name) => data.values[name].clone(),
        })
        .collect()
}

/// One run of a generative function: the parameters and `out` values, then
/// each observed variable's channels by name.
#[derive(Debug, Clone)]
struct Run {
    values: Vec<Tensor>,
    channels: HashMap<(String, Channel), Tensor>,
}

/// Bit for bit (a missing cell, NaN, equals itself).
fn same(a: &Tensor, b: &Tensor) -> bool {
    a.shape == b.shape
        && a.data.len() == b.data.len()
        && a.data
            .iter()
            .zip(&b.data)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

impl PartialEq for Run {
    fn eq(&self, other: &Run) -> bool {
        self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| same(a, b))
            && self.channels.len() == other.channels.len()
            && self
                .channels
                .iter()
                .all(|(k, a)| other.channels.get(k).is_some_and(|b| same(a, b)))
    }
}

impl Run {
    fn get(&self, name: &str, channel: Channel) -> &Tensor {
        &self.channels[&(name.to_string(), channel)]
    }
}

fn run(g: &GenerativeIr, data: &DataSet, theta: &[f64], seed: u64) -> Result<Run, EvalError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let results = eval_random(
        &g.function,
        &data.sizes,
        &inputs(&g.function, data, theta),
        &mut rng,
    )?;
    let channel_count: usize = g.observed.iter().map(|o| o.channels.len()).sum();
    let split = results.len() - channel_count;
    let mut rest = results[split..].iter();
    let mut channels = HashMap::new();
    for o in &g.observed {
        for c in &o.channels {
            let tensor = rest.next().expect("one result per channel").clone();
            channels.insert((o.name.clone(), *c), tensor);
        }
    }
    Ok(Run {
        values: results[..split].to_vec(),
        channels,
    })
}

fn log_density(model: &Model, data: &DataSet, theta: &[f64]) -> f64 {
    let ir = rlc_ir::lower(model).expect("lowers");
    let f = &ir.log_density;
    eval(f, &data.sizes, &inputs(f, data, theta)).expect("evaluates")[0].data[0]
}

/// The sum of the scored cells' log-likelihoods of a run.
fn scored_sum(g: &GenerativeIr, run: &Run) -> (f64, usize) {
    let mut total = 0.0;
    let mut count = 0;
    for o in &g.observed {
        let ll = run.get(&o.name, Channel::LogLik);
        let mask = run.get(&o.name, Channel::Mask);
        for (l, m) in ll.data.iter().zip(&mask.data) {
            if *m >= 1.0 {
                total += l;
                count += 1;
            }
        }
    }
    (total, count)
}

fn names(g: &GenerativeIr) -> Vec<String> {
    g.observed.iter().map(|o| o.name.clone()).collect()
}

/// Whether `name` is scored by a `~` of its own (not only drawn as a `Wiener`'s
/// `upper`, whose pair's score goes to the response time).
fn scored(g: &GenerativeIr, name: &str) -> bool {
    g.observed.iter().any(|o| o.name == name && o.scored)
}

/// What each bundled model in `models/` observes with `~`; every one lowers
/// in every mode.
const MODELS: &[(&str, &[&str])] = &[
    ("bandit4arm.rlm", &["choice"]),
    ("choice_kernel.rlm", &["action"]),
    ("continuous_report.rlm", &["error"]),
    ("eight_schools.rlm", &["y"]),
    ("exgauss_rt.rlm", &["rt"]),
    ("kalman_bandit.rlm", &["choice", "reward"]),
    // The choice is drawn with its response time (`LBA`'s `response`).
    ("lba.rlm", &["choice", "rt"]),
    ("logistic_regression.rlm", &["y"]),
    ("pearce_hall.rlm", &["choice", "reward"]),
    ("prl_fictitious.rlm", &["choice"]),
    ("rl_blocks.rlm", &["choice", "reward"]),
    ("rl_hier.rlm", &["choice"]),
    ("rl_pos_neg.rlm", &["action"]),
    ("rl_single.rlm", &["action"]),
    // Scored with `target +=` only: nothing is observed with `~`, so there is
    // nothing to draw or score (the driver turns this into a model error,
    // checked in `crates/driver/tests/generative.rs`).
    ("rl_single_pytensor.rlm", &[]),
    // The choice is drawn with its response time (`Wiener`'s `upper`).
    ("rlddm.rlm", &["choice", "rt", "reward"]),
];

#[test]
fn every_bundled_model_in_models_lowers_as_expected() {
    let bundled: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.name.starts_with("models/"))
        .collect();
    let listed: Vec<String> = MODELS.iter().map(|(n, _)| format!("models/{n}")).collect();
    let found: Vec<String> = bundled.iter().map(|c| c.name.clone()).collect();
    assert_eq!(
        found, listed,
        "every model in models/ must be listed in MODELS (and nothing else)"
    );
    for (case, (_, observed)) in bundled.iter().zip(MODELS) {
        for options in [LOG_LIK, SIMULATE, SIMULATE_PRIOR, SIMULATE_SCORED, ONE_STEP] {
            let g = case.lower(options);
            assert_eq!(names(&g), *observed, "{}: {options:?}", case.name);
            for o in &g.observed {
                assert_eq!(o.channels, options.channels(), "{}", case.name);
            }
        }
    }
}

#[test]
fn every_bundled_model_scores_its_data_and_runs_forward_or_says_why_not() {
    for case in cases() {
        let g = case.lower(LOG_LIK);
        if let Some(one_step) = case.one_step() {
            assert_eq!(names(&g), names(&one_step), "{}", case.name);
        }
        for options in [SIMULATE, SIMULATE_PRIOR, SIMULATE_SCORED] {
            match lower_generative(&case.model, options) {
                Ok(sim) => {
                    case.lower(options);
                    assert_eq!(names(&sim), names(&g), "{}: {options:?}", case.name);
                }
                Err(e) => {
                    // The only reasons a model that can be scored cannot run
                    // forward: a value read before its draw, an observation
                    // computed from data, a density written by hand, or a flat
                    // prior.
                    let flat = e.message.contains("has no prior to draw from")
                        && options.params == ParamSource::Prior;
                    let order = e.message.starts_with("this model cannot be run forward")
                        && (e.message.contains("before the `~` that draws it")
                            || e.message.contains("the bounds of parameter")
                            || e.message.contains("cannot be put back into the data")
                            || e.message.contains("rlc cannot draw from"));
                    assert!(
                        flat || order,
                        "{}: {options:?}: unexpected error {}",
                        case.name,
                        e.message
                    );
                    assert!(!case.at(e.span).is_empty(), "{}: empty span", case.name);
                }
            }
        }
    }
}

/// Rescorla-Wagner written the vectorized way, with a `~` on all the choices
/// at once after the scan has read them: the scores are defined, but a
/// simulation cannot draw a choice before the scan uses it.
const VECTORIZED: &str = "size T
data action: int[T] in 0..2
data reward: real[T]
param alpha ~ Beta(1, 1)
param beta ~ HalfNormal(10)
let Qs = scan (q = [0.5, 0.5]; a in action, r in reward) {
  set_subtensor(q[a], q[a] + alpha * (r - q[a]))
}
let logits = beta * Qs[:-1]
action[1:] ~ Categorical(logits = logits)
";

#[test]
fn a_vectorized_model_is_scored_but_cannot_be_simulated() {
    let case = compile("vectorized", VECTORIZED);
    for options in [LOG_LIK, ONE_STEP] {
        assert_eq!(names(&case.lower(options)), ["action"]);
    }
    for options in [SIMULATE, SIMULATE_PRIOR] {
        let e = lower_generative(&case.model, options).expect_err("cannot run forward");
        assert!(
            e.message.starts_with("this model cannot be run forward")
                && e.message
                    .contains("`action` is used here before the `~` that draws it")
                && e.message.contains("write the trials as a `scan`"),
            "{}",
            e.message
        );
        assert_eq!(
            case.at(e.span),
            "action",
            "the error points at the first read"
        );
    }
}

/// Stickiness written as Stan users write it: each choice depends on the one before,
/// read as `choice[n, t - 1]` in the loop that draws `choice[n, t]`. A simulation reads
/// the element drawn the iteration before (the first trial keeps the design's value, as
/// the log density conditions on it).
const STICKY: &str = "size N
size T
data choice: int[N, T] in 0..2
param beta ~ Normal(0, 1)
for n in 0..N {
  for t in 1..T {
    let prev = choice[n, t - 1]
    choice[n, t] ~ Bernoulli(logits = beta * (2 * prev - 1))
  }
}
";

#[test]
fn a_loop_reads_the_choice_it_drew_the_trial_before() {
    let case = compile("sticky", STICKY);
    let g = case.lower(SIMULATE_SCORED);
    // Each row starts with 1, then 0s; beta = 40 makes each choice repeat the one before
    // (P = 1 - 4e-18), so a read of the design's 0 would show as a switch.
    let (n, t) = (3, 6);
    let mut design = vec![0.0; n * t];
    for row in 0..n {
        design[row * t] = 1.0;
    }
    let data = DataSet {
        sizes: HashMap::from([("N".to_string(), n as i64), ("T".to_string(), t as i64)]),
        values: HashMap::from([("choice".to_string(), Tensor::new(vec![n, t], design))]),
    };
    let drawn = run(&g, &data, &[40.0], 7).expect("runs forward");
    assert_eq!(drawn.get("choice", Channel::Value).data, vec![1.0; n * t]);
    let mask = &drawn.get("choice", Channel::Mask).data;
    for (cell, m) in mask.iter().enumerate() {
        assert_eq!(*m, f64::from(u8::from(cell % t != 0)), "cell {cell}");
    }
}

#[test]
fn an_element_no_loop_drew_yet_cannot_be_read() {
    for (source, read) in [
        // `y` is drawn by a later loop.
        (
            "size T\ndata x: real[T]\ndata y: real[T]\nfor t in 1..T {\n  x[t] ~ Normal(y[t - 1], 1)\n}\nfor t in 0..T {\n  y[t] ~ Normal(0, 1)\n}\n",
            "y",
        ),
        // The loop draws `x[t]`, the read is ahead of it.
        (
            "size T\ndata x: real[T]\nfor t in 0..T - 1 {\n  x[t] ~ Normal(x[t + 1], 1)\n}\n",
            "x",
        ),
        // Another row than the one the loop draws (row 1 is drawn by a later loop).
        (
            "size T\ndata x: real[2, T]\nfor t in 1..T {\n  x[0, t] ~ Normal(x[1, t - 1], 1)\n}\nfor t in 0..T {\n  x[1, t] ~ Normal(0, 1)\n}\n",
            "x",
        ),
    ] {
        let case = compile("not yet drawn", source);
        let e = lower_generative(&case.model, SIMULATE).expect_err("cannot run forward");
        assert!(
            e.message
                .contains(&format!("`{read}` is used here before the `~` that draws it")),
            "{source}: {}",
            e.message
        );
    }
}

/// A parameter bounded by the data it explains (the diffusion models'
/// non-decision time below the fastest response): the simulation draws the
/// parameter first, so the error says that, and how to give the bound.
#[test]
fn a_bound_read_from_observed_data_cannot_be_simulated_and_says_why() {
    let case = compile(
        "bound from data",
        "size T\ndata rt: real[T]\nparam ndt in (0, min(rt))\nparam mu ~ Normal(0, 1)\nrt ~ LogNormal(mu, 1)\n",
    );
    for options in [SIMULATE, SIMULATE_PRIOR] {
        let e = lower_generative(&case.model, options).expect_err("cannot run forward");
        assert!(
            e.message.contains(
                "the bounds of parameter `ndt` read `rt`, which is drawn from the parameters"
            ) && e.message.contains("declare the bound as data"),
            "{}",
            e.message
        );
        assert_eq!(case.at(e.span), "rt");
    }
}

/// `2 * y ~ …` and a `let` that picks between data-made values observe a
/// value computed from data: its score goes to the data element it is made
/// of (so PSIS-LOO sees it), but a draw could not be put back there.
#[test]
fn a_left_side_computed_from_data_is_scored_at_its_element_but_not_drawn() {
    let source = "size N
data y: real[N]
data flip: int[N] in 0..2
param mu ~ Normal(0, 1)
2 * y ~ Normal(mu, 1)
for i in 0..N {
  let v = if flip[i] == 1 { let j = N - 1 - i
    1 - y[j] } else { y[i] + 0 }
  v ~ Normal(mu, 2)
}
";
    let case = compile("computed", source);
    for options in [SIMULATE, ONE_STEP] {
        let e = lower_generative(&case.model, options).expect_err("no place for a draw");
        assert!(
            e.message.contains("cannot be put back into the data"),
            "{}",
            e.message
        );
        assert_eq!(case.at(e.span), "2 * y");
    }
    let g = case.lower(LOG_LIK);
    // Scored at `y`, not at `flip` (the condition): the values come first,
    // and of them `y[i]`: `y[j]` reads a `let` of its branch, which the `~`
    // cannot see.
    assert_eq!(names(&g), ["y"]);
    let y = [0.3, -1.2, 2.0];
    let flip = [1.0, 0.0, 1.0];
    let data = DataSet {
        sizes: HashMap::from([("N".to_string(), 3)]),
        values: HashMap::from([
            ("y".to_string(), Tensor::new(vec![3], y.to_vec())),
            ("flip".to_string(), Tensor::new(vec![3], flip.to_vec())),
        ]),
    };
    let mu = 0.4;
    let scored = run(&g, &data, &[mu], 0).expect("scores");
    let normal = |x: f64, sd: f64| {
        -0.5 * ((x - mu) / sd).powi(2) - (sd * (2.0 * std::f64::consts::PI).sqrt()).ln()
    };
    for i in 0..3 {
        let v = if flip[i] == 1.0 { 1.0 - y[2 - i] } else { y[i] };
        let expected = normal(2.0 * y[i], 1.0) + normal(v, 2.0);
        let got = scored.get("y", Channel::LogLik).data[i];
        assert!(
            (got - expected).abs() < 1e-12,
            "y[{i}]: {got} vs {expected}"
        );
        assert_eq!(
            scored.get("y", Channel::Mask).data[i],
            2.0,
            "two `~` score y[{i}]"
        );
    }
}

/// A left side made of a whole array (`sum(y)`) has no element of its own
/// shape to be scored at: an error in every mode, pointing at it.
#[test]
fn a_left_side_made_of_a_whole_array_is_an_error_in_every_mode() {
    let case = compile(
        "sum(y)",
        "size N\ndata y: real[N]\nparam mu ~ Normal(0, 1)\nsum(y) ~ Normal(mu, 1)\n",
    );
    for (options, why) in [
        (LOG_LIK, "no single data element of its own shape"),
        (SIMULATE, "cannot be put back into the data"),
        (ONE_STEP, "cannot be put back into the data"),
    ] {
        let e = lower_generative(&case.model, options).expect_err("no place for a draw");
        assert!(e.message.contains(why), "{options:?}: {}", e.message);
        assert_eq!(case.at(e.span), "sum(y)");
    }
}

#[test]
fn the_pointwise_log_likelihood_is_the_likelihood() {
    let mut checked = 0;
    let mut skipped = Vec::new();
    for case in cases() {
        if case.has_target_add() {
            continue;
        }
        let g = case.lower(LOG_LIK);
        if g.observed.is_empty() {
            continue;
        }
        let mut changed = false;
        let mut finite_pairs = false;
        for seed in 1..=3 {
            let data = random_data(&case.model, seed);
            let other = new_observations(&case.model, &data, &names(&g), 100 + seed);
            for theta_seed in [7, 8] {
                let theta = random_theta(&case.model, &data.sizes, theta_seed);
                let mut rest = Vec::new();
                for d in [&data, &other] {
                    let lp = log_density(&case.model, d, &theta);
                    if !lp.is_finite() {
                        // A support that depends on the parameters (a response time
                        // below a Wiener's `tau`): nothing to compare.
                        continue;
                    }
                    let run = run(&g, d, &theta, 0).expect("scores");
                    let (scored, count) = scored_sum(&g, &run);
                    assert!(count > 0, "{}: nothing scored", case.name);
                    // Scoring the observed values is deterministic.
                    let again = self::run(&g, d, &theta, 99).expect("scores");
                    assert_eq!(run, again, "{}: the scores depend on the seed", case.name);
                    rest.push((lp - scored, lp));
                }
                let [(a, lp_a), (b, lp_b)] = rest[..] else {
                    continue;
                };
                finite_pairs = true;
                changed |= lp_a != lp_b;
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + lp_a.abs().max(lp_b.abs())),
                    "{}: log density minus the pointwise log-likelihood depends on the observed values: {a} vs {b}",
                    case.name
                );
            }
        }
        if !finite_pairs {
            skipped.push(case.name.clone());
            continue;
        }
        assert!(
            changed,
            "{}: the new observations never changed the log density",
            case.name
        );
        checked += 1;
    }
    println!("log density not finite at any random data set (not checked): {skipped:?}");
    assert!(skipped.len() <= 2, "not checked: {skipped:?}");
    assert!(checked >= 8, "only {checked} models checked");
}

#[test]
fn a_simulation_is_fixed_by_its_seed_and_changes_with_it() {
    let mut checked = 0;
    for case in cases() {
        for options in [SIMULATE, SIMULATE_PRIOR] {
            let Ok(g) = lower_generative(&case.model, options) else {
                continue;
            };
            if g.observed.is_empty() {
                continue;
            }
            let data = random_data(&case.model, 3);
            let theta = random_theta(&case.model, &data.sizes, 5);
            let first = run(&g, &data, &theta, 11).expect("runs");
            assert_eq!(
                first,
                run(&g, &data, &theta, 11).expect("runs"),
                "{}",
                case.name
            );
            // Small discrete data sets can repeat by chance; ten seeds cannot all agree.
            let differs = (12..22).any(|seed| run(&g, &data, &theta, seed).expect("runs") != first);
            assert!(
                differs,
                "{}: {options:?}: every seed gives the same draws",
                case.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} model and mode pairs checked");
}

#[test]
fn missing_cells_stay_missing_and_are_never_scored() {
    let mut with_missing = 0;
    for case in cases() {
        let scores = case.lower(LOG_LIK);
        let one_step = case.one_step();
        let simulate = lower_generative(&case.model, SIMULATE).ok();
        for seed in 1..=4 {
            let data = random_data(&case.model, seed);
            let theta = random_theta(&case.model, &data.sizes, seed);
            let scored = run(&scores, &data, &theta, seed).expect("scores");
            let replicas = one_step
                .as_ref()
                .map(|g| run(g, &data, &theta, seed).expect("draws"));
            let simulated = simulate
                .as_ref()
                .map(|g| run(g, &data, &theta, seed).expect("draws"));
            for name in names(&scores) {
                let observed = &data.values[&name];
                for (cell, x) in observed.data.iter().enumerate() {
                    let mask = scored.get(&name, Channel::Mask).data[cell];
                    let ll = scored.get(&name, Channel::LogLik).data[cell];
                    // How many `~` scored the cell (two on `builtins`' `k`).
                    assert!(
                        mask >= 0.0 && mask.fract() == 0.0,
                        "{}: mask {mask}",
                        case.name
                    );
                    // A response time below a non-decision time (random data against
                    // random parameters) has density 0 under Wiener and LBA.
                    let from_tau = ["Wiener(", "LBA("].iter().any(|d| case.source.contains(d));
                    if mask == 0.0 {
                        assert_eq!(ll, 0.0, "{}: unscored cell has a score", case.name);
                    } else if !(from_tau && ll == f64::NEG_INFINITY) {
                        assert!(ll.is_finite(), "{}: {name}[{cell}] scores {ll}", case.name);
                    }
                    let rep = replicas
                        .as_ref()
                        .map(|r| r.get(&name, Channel::Replica).data[cell]);
                    if x.is_nan() {
                        with_missing += 1;
                        assert_eq!(
                            mask, 0.0,
                            "{}: {name}[{cell}] is missing but scored",
                            case.name
                        );
                        assert!(
                            rep.is_none_or(f64::is_nan),
                            "{}: {name}[{cell}] is missing but drawn",
                            case.name
                        );
                        if let Some(sim) = &simulated {
                            let v = sim.get(&name, Channel::Value).data[cell];
                            assert!(
                                v.is_nan(),
                                "{}: {name}[{cell}] is missing but simulated as {v}",
                                case.name
                            );
                        }
                    } else if let Some(sim) = &simulated {
                        let v = sim.get(&name, Channel::Value).data[cell];
                        assert!(
                            !v.is_nan(),
                            "{}: present {name}[{cell}] became missing",
                            case.name
                        );
                        if let Some((lo, hi)) = int_range(&case.model, &name, &data.sizes) {
                            assert!(
                                v.fract() == 0.0 && lo as f64 <= v && v < hi as f64,
                                "{}: {name}[{cell}] simulated as {v}, outside {lo}..{hi}",
                                case.name
                            );
                        }
                    }
                    // One step scores and draws the same cells; a boundary drawn with
                    // its time is never scored.
                    if !self::scored(&scores, &name) {
                        assert_eq!(mask, 0.0, "{}: {name}[{cell}]", case.name);
                    } else if let Some(rep) = rep {
                        assert_eq!(mask >= 1.0, !rep.is_nan(), "{}: {name}[{cell}]", case.name);
                    }
                }
            }
        }
    }
    assert!(with_missing >= 10, "only {with_missing} missing cells seen");
}

#[test]
fn one_step_draws_leave_the_observed_values_alone() {
    const RUNS: usize = 1500;
    let mut cells = 0;
    for case in cases() {
        let scores = case.lower(LOG_LIK);
        let Some(one_step) = case.one_step() else {
            continue;
        };
        let frequencies = !case.scores_a_cell_twice();
        let data = random_data(&case.model, 21);
        let theta = random_theta(&case.model, &data.sizes, 22);
        let scored = run(&scores, &data, &theta, 0).expect("scores");
        let mut hits: HashMap<(String, usize), usize> = HashMap::new();
        for seed in 0..RUNS as u64 {
            let drawn = run(&one_step, &data, &theta, seed).expect("draws");
            // Drawing changes neither the parameters and `out` values nor the scores.
            assert_eq!(drawn.values, scored.values, "{}", case.name);
            for name in names(&scores) {
                for channel in [Channel::LogLik, Channel::Mask] {
                    assert_eq!(
                        drawn.get(&name, channel),
                        scored.get(&name, channel),
                        "{}: {name} {channel:?}",
                        case.name
                    );
                }
                let observed = &data.values[&name];
                let replica = &drawn.get(&name, Channel::Replica).data;
                for (cell, (x, r)) in observed.data.iter().zip(replica).enumerate() {
                    *hits.entry((name.clone(), cell)).or_default() += usize::from(x == r);
                }
            }
            if seed > 0
                && !(frequencies
                    && one_step
                        .observed
                        .iter()
                        .any(|o| o.ty.elem == rlc_ir::Elem::Int))
            {
                break;
            }
        }
        if !frequencies {
            continue;
        }
        // Each discrete draw is of its trial given the observed history: it
        // equals the observed value with probability exp(log-likelihood).
        for o in one_step
            .observed
            .iter()
            .filter(|o| o.ty.elem == rlc_ir::Elem::Int)
        {
            let ll = &scored.get(&o.name, Channel::LogLik).data;
            let mask = &scored.get(&o.name, Channel::Mask).data;
            for (cell, (l, m)) in ll.iter().zip(mask).enumerate() {
                if *m == 0.0 {
                    continue;
                }
                let p = l.exp();
                let freq = hits[&(o.name.clone(), cell)] as f64 / RUNS as f64;
                let se = (p * (1.0 - p) / RUNS as f64).sqrt();
                assert!(
                    (freq - p).abs() <= 5.0 * se + 1e-9,
                    "{}: {}[{cell}]: the replica equals the observation in {freq} of the draws, but its probability is {p}",
                    case.name,
                    o.name
                );
                cells += 1;
            }
        }
    }
    assert!(cells >= 30, "only {cells} discrete cells checked");
}

#[test]
fn a_simulation_scores_its_own_draws() {
    let mut checked = 0;
    for case in cases() {
        let Ok(scored) = lower_generative(&case.model, SIMULATE_SCORED) else {
            continue;
        };
        // A cell drawn twice keeps its last draw but is scored by both draws.
        if case.scores_a_cell_twice() {
            continue;
        }
        let plain = case.lower(SIMULATE);
        let scores = case.lower(LOG_LIK);
        for seed in 1..=3 {
            let data = random_data(&case.model, seed);
            let theta = random_theta(&case.model, &data.sizes, seed);
            let drawn = run(&scored, &data, &theta, seed).expect("draws");
            let without = run(&plain, &data, &theta, seed).expect("draws");
            // Scoring draws nothing: the same seed gives the same data set.
            assert_eq!(drawn.values.len(), without.values.len());
            let mut simulated = data.clone();
            for name in names(&scored) {
                let value = drawn.get(&name, Channel::Value);
                assert!(
                    same(value, without.get(&name, Channel::Value)),
                    "{}",
                    case.name
                );
                simulated.values.insert(name.clone(), value.clone());
            }
            // The scores of the draws are those of the simulated data set.
            let rescored = run(&scores, &simulated, &theta, 0).expect("scores");
            for name in names(&scored) {
                let mask = drawn.get(&name, Channel::Mask);
                // A boundary drawn with its time is marked drawn, and never scored.
                let rescored_mask = rescored.get(&name, Channel::Mask);
                if self::scored(&scores, &name) {
                    assert!(same(mask, rescored_mask), "{}: {name}", case.name);
                } else {
                    assert!(
                        rescored_mask.data.iter().all(|m| *m == 0.0),
                        "{}: {name}",
                        case.name
                    );
                }
                let (a, b) = (
                    drawn.get(&name, Channel::LogLik),
                    rescored.get(&name, Channel::LogLik),
                );
                for (x, y) in a.data.iter().zip(&b.data) {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + x.abs()),
                        "{}: {name}: {x} vs {y}",
                        case.name
                    );
                }
                // A cell that was not drawn kept its input value.
                for (cell, m) in mask.data.iter().enumerate() {
                    if *m == 0.0 {
                        let (v, x) = (
                            drawn.get(&name, Channel::Value).data[cell],
                            data.values[&name].data[cell],
                        );
                        assert!(v.to_bits() == x.to_bits(), "{}: {name}[{cell}]", case.name);
                    }
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} models checked");
}

/// rl_hier draws a choice only where the outcome is present too: a trial
/// with a choice but no outcome is skipped, and its cell is not drawn (the
/// driver writes it as missing rather than the design's value).
#[test]
fn a_skipped_trial_is_not_marked_drawn() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "models/rl_hier.rlm")
        .expect("rl_hier");
    let g = case.lower(SIMULATE_SCORED);
    let mut skipped = 0;
    for seed in 1..=4 {
        let data = random_data(&case.model, seed);
        let theta = random_theta(&case.model, &data.sizes, seed);
        let drawn = run(&g, &data, &theta, seed).expect("draws");
        let mask = &drawn.get("choice", Channel::Mask).data;
        let (choice, outcome) = (&data.values["choice"].data, &data.values["outcome"].data);
        for cell in 0..mask.len() {
            let made = !choice[cell].is_nan() && !outcome[cell].is_nan();
            assert_eq!(mask[cell] == 1.0, made, "seed {seed}, cell {cell}");
            skipped += usize::from(!choice[cell].is_nan() && outcome[cell].is_nan());
        }
    }
    assert!(
        skipped > 0,
        "no trial with a choice and no outcome in the random data"
    );
}
