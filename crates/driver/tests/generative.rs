//! Every distribution run forward through the whole pipeline: a one-line
//! model `y ~ D(args)` on `M = 100 000` cells is compiled, lowered to its
//! generative function (the `Random` op), bound to a design that has no `y`,
//! and simulated on the interpreter with `generate::simulate`. The draws are
//! checked against the family's analytic values: the mean and the variance
//! within 5 standard errors (`rlc_random::moments`; the variance's standard
//! error from the sample's fourth central moment), the empirical CDF at a few
//! quantiles for the families without moments (Cauchy, HalfCauchy), and the
//! category frequencies of Categorical. Each model has its own seed, so the
//! outcome is the same on every run; a wrong parameterization (a Gamma rate
//! read as a scale, an InverseGamma scale as a rate, logits as
//! probabilities) is off by far more than 5 standard errors.

use rlc_driver::generate::{self, ParamValues};
use rlc_driver::point::Point;
use rlc_random::Family;

const M: usize = 100_000;

/// The draws of `y` from the model `size M / data y: {ty}[M] / {params} / y ~ {dist}`
/// with the parameters at `values`, simulated with `seed`.
fn simulate(ty: &str, params: &str, dist: &str, values: &[(&str, f64)], seed: u64) -> Vec<f64> {
    let source = format!("size M\ndata y: {ty}[M]\n{params}\ny ~ {dist}\n");
    let design = format!("{{\"M\": {M}}}");
    let (observed, simulated) = simulate_source(&source, &design, values, seed);
    assert_eq!(observed, ["y"], "{dist}");
    let y = simulated.data.value("y").expect("simulated y");
    assert_eq!(y.shape, [M], "{dist}");
    assert!(y.missing.is_none(), "{dist}: missing draws");
    y.values.clone()
}

/// A data set simulated from the model `source` on the JSON `design` with the
/// parameters at `values` and `seed`, and the variables the model observes.
fn simulate_source(
    source: &str,
    design: &str,
    values: &[(&str, f64)],
    seed: u64,
) -> (Vec<String>, generate::Simulated) {
    let compiled = rlc_driver::compile(source, "model.rlm")
        .unwrap_or_else(|e| panic!("{source}: {}", e.message));
    let observed = generate::observed_variables(&compiled).expect("observes");
    let design = rlc_driver::data::load_design(
        &compiled.model,
        "design.json",
        design.as_bytes(),
        None,
        &observed,
    )
    .unwrap_or_else(|e| panic!("{source}: {}", e.message));
    let point: rlc_driver::density::GivenValues = values
        .iter()
        .map(|(name, v)| (name.to_string(), rlc_data::GivenValue::flat(vec![*v])))
        .collect();
    let simulated = generate::simulate(
        &compiled,
        &design,
        &ParamValues::Point(Point::Constrained(point)),
        seed,
        0,
    )
    .unwrap_or_else(|e| panic!("{source}: {}", e.message));
    (observed, simulated)
}

/// The sample mean, variance and fourth central moment.
fn sample_moments(x: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    (mean, var, m4)
}

/// Mean and variance of the draws within 5 standard errors of `(mean, var)`.
fn check_moments(what: &str, x: &[f64], (mean, var): (f64, f64)) {
    let n = x.len() as f64;
    let (m, v, m4) = sample_moments(x);
    let se_mean = (var / n).sqrt();
    let se_var = ((m4 - v * v) / n).sqrt();
    assert!(
        (m - mean).abs() <= 5.0 * se_mean,
        "{what}: mean {m}, expected {mean} (standard error {se_mean})"
    );
    assert!(
        (v - var).abs() <= 5.0 * se_var,
        "{what}: variance {v}, expected {var} (standard error {se_var})"
    );
}

/// The share of draws at or below each `x` within 5 standard errors of `cdf(x)`.
fn check_cdf(what: &str, draws: &[f64], points: &[f64], cdf: impl Fn(f64) -> f64) {
    let n = draws.len() as f64;
    for &x in points {
        let p = cdf(x);
        let share = draws.iter().filter(|d| **d <= x).count() as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (share - p).abs() <= 5.0 * se,
            "{what}: P(y <= {x}) is {share} in the draws, expected {p} (standard error {se})"
        );
    }
}

/// Distributions with a mean and a variance: the language's form, the
/// element type, the family and its arguments (in `rlc_random`'s order).
const WITH_MOMENTS: &[(&str, &str, Family, &[f64])] = &[
    ("Normal(0.3, 1.7)", "real", Family::Normal, &[0.3, 1.7]),
    ("HalfNormal(2.5)", "real", Family::HalfNormal, &[2.5]),
    // nu > 4, so that the variance has a standard error.
    (
        "StudentT(7.5, 0.3, 1.7)",
        "real",
        Family::StudentT,
        &[7.5, 0.3, 1.7],
    ),
    (
        "LogNormal(0.3, 0.4)",
        "real",
        Family::LogNormal,
        &[0.3, 0.4],
    ),
    ("Exponential(2.5)", "real", Family::Exponential, &[2.5]),
    ("Gamma(2.5, 1.5)", "real", Family::Gamma, &[2.5, 1.5]),
    (
        "InverseGamma(6.5, 1.5)",
        "real",
        Family::InverseGamma,
        &[6.5, 1.5],
    ),
    ("Weibull(1.5, 2.0)", "real", Family::Weibull, &[1.5, 2.0]),
    (
        "ExGaussian(0.4, 0.05, 6.0)",
        "real",
        Family::ExGaussian,
        &[0.4, 0.05, 6.0],
    ),
    ("Wald(0.7, 3.0)", "real", Family::Wald, &[0.7, 3.0]),
    ("Logistic(1.0, 0.5)", "real", Family::Logistic, &[1.0, 0.5]),
    ("Laplace(-1.0, 2.0)", "real", Family::Laplace, &[-1.0, 2.0]),
    ("Gumbel(0.5, 1.5)", "real", Family::Gumbel, &[0.5, 1.5]),
    (
        "SkewNormal(0.5, 1.5, -3.0)",
        "real",
        Family::SkewNormal,
        &[0.5, 1.5, -3.0],
    ),
    ("Beta(2.5, 1.5)", "real", Family::Beta, &[2.5, 1.5]),
    ("Uniform(-1, 2)", "real", Family::Uniform, &[-1.0, 2.0]),
    ("Bernoulli(0.3)", "int", Family::BernoulliP, &[0.3]),
    ("Bernoulli(p = 0.3)", "int", Family::BernoulliP, &[0.3]),
    (
        "Bernoulli(logits = -0.4)",
        "int",
        Family::BernoulliLogits,
        &[-0.4],
    ),
    ("Binomial(7, 0.3)", "int", Family::BinomialP, &[7.0, 0.3]),
    (
        "Binomial(n = 7, logits = 0.5)",
        "int",
        Family::BinomialLogits,
        &[7.0, 0.5],
    ),
    ("Poisson(3.5)", "int", Family::PoissonRate, &[3.5]),
    (
        "BetaBinomial(12, 2.0, 3.0)",
        "int",
        Family::BetaBinomial,
        &[12.0, 2.0, 3.0],
    ),
    (
        "NegativeBinomial(3.5, 2.0)",
        "int",
        Family::NegativeBinomial,
        &[3.5, 2.0],
    ),
    (
        "Poisson(log_rate = 1.2)",
        "int",
        Family::PoissonLogRate,
        &[1.2],
    ),
];

#[test]
fn draws_have_their_distributions_mean_and_variance() {
    for (k, (dist, ty, family, args)) in WITH_MOMENTS.iter().enumerate() {
        let draws = simulate(ty, "", dist, &[], 1000 + k as u64);
        if *ty == "int" {
            assert!(
                draws.iter().all(|d| d.fract() == 0.0 && *d >= 0.0),
                "{dist}: a draw is not a count"
            );
        }
        let expected = rlc_random::moments(*family, args).expect("finite moments");
        check_moments(dist, &draws, expected);
    }
}

#[test]
fn parameters_given_by_value_reach_the_draws() {
    // The arguments are parameters here, given on the constrained scale.
    let params = "param shape ~ HalfNormal(5)\nparam rate ~ HalfNormal(5)";
    let draws = simulate(
        "real",
        params,
        "Gamma(shape, rate)",
        &[("shape", 2.5), ("rate", 1.5)],
        7,
    );
    let expected = rlc_random::moments(Family::Gamma, &[2.5, 1.5]).expect("moments");
    check_moments("Gamma(shape = 2.5, rate = 1.5)", &draws, expected);
}

#[test]
fn cauchy_draws_have_their_quantiles() {
    let points = [-20.0, -3.0, -1.0, 0.0, 0.3, 1.0, 2.5, 10.0];
    let (mu, sigma) = (0.3, 1.7);
    let draws = simulate("real", "", "Cauchy(0.3, 1.7)", &[], 21);
    check_cdf("Cauchy(0.3, 1.7)", &draws, &points, |x| {
        0.5 + ((x - mu) / sigma).atan() / std::f64::consts::PI
    });
    let draws = simulate("real", "", "HalfCauchy(1.7)", &[], 22);
    assert!(draws.iter().all(|d| *d > 0.0), "HalfCauchy: a draw <= 0");
    check_cdf("HalfCauchy(1.7)", &draws, &points[4..], |x| {
        2.0 * (x / sigma).atan() / std::f64::consts::PI
    });
}

#[test]
fn categorical_draws_have_their_frequencies() {
    let p = [0.2, 0.5, 0.3];
    let logits: [f64; 3] = [0.1, -0.4, 1.3];
    let total: f64 = logits.iter().map(|l| l.exp()).sum();
    let softmax: Vec<f64> = logits.iter().map(|l| l.exp() / total).collect();
    for (seed, dist, probs) in [
        (31, "Categorical(p = [0.2, 0.5, 0.3])", p.to_vec()),
        (32, "Categorical([0.2, 0.5, 0.3])", p.to_vec()),
        (33, "Categorical(logits = [0.1, -0.4, 1.3])", softmax),
    ] {
        let draws = simulate("int", "", dist, &[], seed);
        let n = draws.len() as f64;
        for (k, pk) in probs.iter().enumerate() {
            let share = draws.iter().filter(|d| **d == k as f64).count() as f64 / n;
            let se = (pk * (1.0 - pk) / n).sqrt();
            assert!(
                (share - pk).abs() <= 5.0 * se,
                "{dist}: category {k} drawn {share} of the time, expected {pk}"
            );
        }
        assert!(
            draws.iter().all(|d| [0.0, 1.0, 2.0].contains(d)),
            "{dist}: a draw outside 0..3"
        );
        let mean: f64 = probs.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
        let var: f64 = probs
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64 - mean).powi(2) * p)
            .sum();
        check_moments(dist, &draws, (mean, var));
    }
}

#[test]
fn a_model_scored_only_with_target_cannot_run_forward() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/rl_single_pytensor.rlm"
    );
    let source = std::fs::read_to_string(path).expect("model file");
    let compiled = rlc_driver::compile(&source, "rl_single_pytensor.rlm").expect("compiles");
    for write_back in [true, false] {
        let options = rlc_ir::GenerativeOptions {
            params: rlc_ir::ParamSource::Theta,
            draw: true,
            write_back,
            log_lik: !write_back,
        };
        let e = generate::generative(&compiled, options).expect_err("nothing to draw");
        assert_eq!(e.kind, rlc_driver::ErrorKind::Model);
        assert!(
            e.message.contains("observes no data with `~`")
                && e.message.contains("a `target +=` cannot be run forward"),
            "{}",
            e.message
        );
    }
}

/// Drawing from an `OrderedLogistic` whose cutpoints do not increase is refused
/// with a message about its cutpoints (it named the Categorical it is drawn as).
#[test]
fn ordered_logistic_with_cutpoints_out_of_order_names_them_when_drawn() {
    let source = "size M\ndata y: int[M] in 0..3\nparam a ~ Normal(0, 1)\nparam b ~ Normal(0, 1)\ny ~ OrderedLogistic(0.5, [a, b])\n";
    let compiled = rlc_driver::compile(source, "ordered.rlm").expect("compiles");
    let observed = generate::observed_variables(&compiled).expect("observes y");
    let design = rlc_driver::data::load_design(
        &compiled.model,
        "design.json",
        b"{\"M\": 3}",
        None,
        &observed,
    )
    .expect("loads");
    let point: rlc_driver::density::GivenValues = [("a", 1.0), ("b", -1.0)]
        .iter()
        .map(|(name, v)| (name.to_string(), rlc_data::GivenValue::flat(vec![*v])))
        .collect();
    let error = generate::simulate(
        &compiled,
        &design,
        &ParamValues::Point(Point::Constrained(point)),
        1,
        0,
    )
    .expect_err("cannot be drawn");
    assert!(
        error
            .message
            .contains("OrderedLogistic's `cutpoints` must increase strictly"),
        "{}",
        error.message
    );
}

/// The means of each parameter over `count` prior draws of `model` (one
/// observation `y`, streams 0.. of one seed).
fn prior_means(model: &str, count: u64) -> std::collections::HashMap<String, f64> {
    let compiled =
        rlc_driver::compile(model, "prior.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let observed = generate::observed_variables(&compiled).expect("observes y");
    let design = rlc_driver::data::load_design(
        &compiled.model,
        "design.json",
        b"{\"T\": 1}",
        None,
        &observed,
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    let mut sums = std::collections::HashMap::new();
    for stream in 0..count {
        let simulated = generate::simulate(&compiled, &design, &ParamValues::Prior, 7, stream)
            .unwrap_or_else(|e| panic!("{}", e.message));
        for (name, _, values) in &simulated.truth {
            *sums.entry(name.clone()).or_insert(0.0) += values[0] / count as f64;
        }
    }
    sums
}

/// A prior truncated by bounds that depend on another parameter (ordered
/// cutpoints, language.md's `in (c1, inf)`), or with a parameter as its
/// argument, is the model's density: N(c1) N(c2) 1{c2 > c1}, not renormalized,
/// under which c1's mean is -1/sqrt(pi) (and mu's of `x in (0, inf) ~
/// Normal(mu, 1)`, +1/sqrt(pi)). Drawing c1 first and c2 from its truncated
/// prior would give 0: `rlc recover` would call a correct sampler biased.
/// A prior whose truncation does not depend on other parameters keeps its
/// own mean (Beta(2, 2) cut to (0, 0.5): 0.3125).
#[test]
fn priors_truncated_by_other_parameters_are_drawn_as_the_density_defines() {
    let n = 4000;
    // Each mean's standard error is below 1/sqrt(n): 5 of them is 0.079.
    let tolerance = 5.0 / (n as f64).sqrt();
    let expected = 1.0 / std::f64::consts::PI.sqrt();
    let cut = prior_means(
        "size T\ndata y: real[T]\nparam c1 ~ Normal(0, 1)\nparam c2 in (c1, inf) ~ Normal(0, 1)\ny ~ Normal(c1 + c2, 10)\n",
        n,
    );
    assert!(
        (cut["c1"] + expected).abs() < tolerance,
        "c1 mean {}",
        cut["c1"]
    );
    assert!(
        (cut["c2"] - expected).abs() < tolerance,
        "c2 mean {}",
        cut["c2"]
    );
    let tilted = prior_means(
        "size T\ndata y: real[T]\nparam mu ~ Normal(0, 1)\nparam x in (0, inf) ~ Normal(mu, 1)\ny ~ Normal(x, 10)\n",
        n,
    );
    assert!(
        (tilted["mu"] - expected).abs() < tolerance,
        "mu mean {}",
        tilted["mu"]
    );
    let own = prior_means(
        "size T\ndata y: real[T]\nparam mu ~ Normal(0, 1)\nparam f in (0, 0.5) ~ Beta(2, 2)\ny ~ Normal(mu + f, 10)\n",
        n,
    );
    assert!(own["mu"].abs() < tolerance, "mu mean {}", own["mu"]);
    assert!(
        (own["f"] - 0.3125).abs() < tolerance / 4.0,
        "f mean {}",
        own["f"]
    );
}

/// What running a model forward leaves out is said before it runs: each `target +=`,
/// at any depth (here in a `for` inside an `if`), and the `~ Wiener(…)`s, whose
/// boundaries (the trials' choices) are the design's, in one note.
#[test]
fn the_notes_name_what_a_forward_run_leaves_out() {
    let source = "size T
data RT: real[T] in (0, inf)
data choice: int[T] in 1..3
data flag: bool
param a in (0.5, 3) ~ Normal(1, 1)
param d ~ Normal(0, 1)
if flag {
  for t in 0..T {
    target += -d * d
  }
}
for t in 0..T {
  if choice[t] == 2 {
    RT[t] ~ Wiener(a, 0.1, 0.5, d)
  } else {
    RT[t] ~ Wiener(a, 0.1, 0.5, -d)
  }
}
";
    let compiled =
        rlc_driver::compile(source, "ddm.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let notes = generate::forward_notes(&compiled);
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(
        notes[0].starts_with("ddm.rlm:9:5 (`target += -d * d`) adds to the log density"),
        "{}",
        notes[0]
    );
    assert!(
        notes[1].starts_with("ddm.rlm:14:5 (`RT[t] ~ Wiener(a, 0.1, 0.5, d)`) and ddm.rlm:16:5")
            && notes[1].contains("the choices are the design's, not drawn")
            && notes[1].contains("upper = choice - 1"),
        "{}",
        notes[1]
    );
}

/// `rt ~ Wiener(…, upper = choice - 1)` is the density of the (boundary, time) pair, so
/// run forward it draws both: the choice with the probability that the diffusion ends at
/// that boundary, then the time given it. The design holds neither; the share of upper
/// responses and the times at each boundary have their analytic values (the lower
/// boundary's as the upper one's with the bias and drift mirrored), and no note says the
/// choices are the design's.
#[test]
fn a_wiener_with_upper_draws_the_choice_and_the_time_together() {
    let (alpha, beta, delta) = (1.3, 0.6, 0.7);
    let (observed, simulated) = simulate_ddm("upper = choice - 1", (alpha, delta), 11);
    assert_eq!(observed, ["choice", "rt"]);
    let choice = &simulated.data.value("choice").expect("choice").values;
    let rt = &simulated.data.value("rt").expect("rt").values;
    assert!(choice.iter().all(|c| *c == 1.0 || *c == 2.0));
    let upper: Vec<f64> = choice.iter().map(|c| c - 1.0).collect();
    let p = rlc_random::wiener::upper_probability(alpha, beta, delta);
    check_moments("the upper boundary's share", &upper, (p, p * (1.0 - p)));
    for (code, args) in [
        (2.0, [alpha, 0.2, beta, delta]),
        (1.0, [alpha, 0.2, 1.0 - beta, -delta]),
    ] {
        let times: Vec<f64> = choice
            .iter()
            .zip(rt)
            .filter(|(c, _)| **c == code)
            .map(|(_, t)| *t)
            .collect();
        let expected = rlc_random::moments(Family::Wiener, &args).expect("moments");
        check_moments(&format!("times of choice {code}"), &times, expected);
    }
}

/// `M` (choice, time) pairs simulated from `rt ~ Wiener(a, 0.2, 0.6, d, {upper})` at
/// `a` and `d`, on a design whose choices are all 1 and whose times are absent, with no
/// note that a forward run leaves something out; and the variables the model observes.
fn simulate_ddm(upper: &str, (a, d): (f64, f64), seed: u64) -> (Vec<String>, generate::Simulated) {
    let source = format!(
        "size M
data choice: int[M] in 1..3
data rt: real[M] in (0, inf)
param a in (0.5, 3) ~ Normal(1, 1)
param d ~ Normal(0, 1)
rt ~ Wiener(a, 0.2, 0.6, d, {upper})
"
    );
    let compiled =
        rlc_driver::compile(&source, "ddm.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    assert!(generate::forward_notes(&compiled).is_empty());
    let design = format!("{{\"M\": {M}, \"choice\": [{}]}}", vec!["1"; M].join(", "));
    simulate_source(&source, &design, &[("a", a), ("d", d)], seed)
}

/// A `Wiener`'s `upper` must be known to be 0 or 1, and be a place a drawn boundary can
/// be put back into to run forward.
#[test]
fn a_wiener_upper_that_cannot_be_drawn_back_is_named() {
    let source = "size T
data choice: int[T] in 1..3
data rt: real[T] in (0, inf)
param d ~ Normal(0, 1)
rt ~ Wiener(1, 0.2, 0.5, d, upper = 2 - choice)
";
    let compiled =
        rlc_driver::compile(source, "ddm.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let design = rlc_driver::data::load_design(
        &compiled.model,
        "design.json",
        b"{\"T\": 3, \"choice\": [1, 2, 1]}",
        None,
        &["rt".to_string()],
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    let error = generate::simulate(
        &compiled,
        &design,
        &ParamValues::Point(Point::Constrained(
            [("d".to_string(), rlc_data::GivenValue::flat(vec![0.5]))]
                .into_iter()
                .collect(),
        )),
        1,
        0,
    )
    .expect_err("2 - choice is no place to draw into");
    let detail = format!("{error:?}");
    assert!(
        detail.contains("a drawn boundary cannot be put back into the data"),
        "{}\n{detail}",
        error.message
    );
}

/// A constant `upper` is a fixed boundary: run forward, the times are drawn given it
/// (the lower boundary's with `upper = 0`), and nothing else is drawn (the choice keeps
/// the design's values).
#[test]
fn a_wiener_with_a_constant_upper_draws_times_at_that_boundary() {
    let (alpha, beta, delta) = (1.3, 0.6, 0.7);
    let (observed, simulated) = simulate_ddm("upper = 0", (alpha, delta), 12);
    assert_eq!(observed, ["rt"]);
    let rt = &simulated.data.value("rt").expect("rt").values;
    let lower = [alpha, 0.2, 1.0 - beta, -delta];
    let expected = rlc_random::moments(Family::Wiener, &lower).expect("moments");
    check_moments("times at the lower boundary", rt, expected);
    // The design's choices (all 1) are not drawn.
    let choice = &simulated.data.value("choice").expect("choice").values;
    assert!(choice.iter().all(|c| *c == 1.0));
}

/// `upper` may be a `bool` (accuracy coding: `upper = correct`): run forward, the
/// boundary is drawn into it.
#[test]
fn a_wiener_upper_may_be_a_bool() {
    let source = "size M
data correct: bool[M]
data rt: real[M] in (0, inf)
param a in (0.5, 3) ~ Normal(1, 1)
param d ~ Normal(0, 1)
rt ~ Wiener(a, 0.2, 0.5, d, upper = correct)
";
    let design = format!("{{\"M\": {M}}}");
    let (observed, simulated) = simulate_source(source, &design, &[("a", 1.2), ("d", 1.0)], 13);
    assert_eq!(observed, ["correct", "rt"]);
    let correct = &simulated.data.value("correct").expect("correct").values;
    let p = rlc_random::wiener::upper_probability(1.2, 0.5, 1.0);
    check_moments(
        "the share of correct responses",
        correct,
        (p, p * (1.0 - p)),
    );
}
