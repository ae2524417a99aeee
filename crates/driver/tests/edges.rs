//! The edges of the math: where a log density is finite, it and its gradient
//! come out finite (and right) on both backends — a certain outcome under a
//! probability of exactly 0 or 1, a logistic probability far in its tails, a
//! Beta prior at a value that rounds to 0 or 1, the utility `pow(x, s)` of a
//! zero outcome and of a zero delay (`pow(r * delay, s)`), a product with a zero
//! factor.

use rlc_driver::{Backend, Density};

/// The log density and gradient of `source` on JSON `data` at the
/// unconstrained point `theta`, on `backend`.
fn evaluate(source: &str, data: &str, theta: &[f64], backend: Backend) -> (f64, Vec<f64>) {
    let compiled =
        rlc_driver::compile(source, "edge.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "edge.json", data.as_bytes(), None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let mut density =
        Density::new(&compiled, &data, backend).unwrap_or_else(|e| panic!("{}", e.message));
    let mut grad = vec![0.0; density.dim];
    let lp = density.logp_grad(theta, &mut grad).expect("evaluates");
    (lp, grad)
}

struct Case {
    what: &'static str,
    source: &'static str,
    data: &'static str,
    theta: &'static [f64],
    /// The exact log density, where it is known in closed form.
    logp: Option<f64>,
}

const CASES: &[Case] = &[
    Case {
        what: "a certain outcome under p = 1 (theta = 40 rounds p to 1)",
        source: "size T\ndata y: int[T] in 0..2\nparam p ~ Beta(1, 1)\ny ~ Bernoulli(p)\n",
        data: r#"{"T": 2, "y": [1, 1]}"#,
        theta: &[40.0],
        logp: None,
    },
    Case {
        what: "a certain outcome under p = 0",
        source: "size T\ndata y: int[T] in 0..2\nparam p ~ Beta(1, 1)\ny ~ Bernoulli(p)\n",
        data: r#"{"T": 2, "y": [0, 0]}"#,
        theta: &[-40.0],
        logp: None,
    },
    Case {
        what: "Binomial at p = 0 and 0 successes",
        source: "size T\ndata y: int[T]\nparam p ~ Beta(1, 1)\ny ~ Binomial(10, p)\n",
        data: r#"{"T": 1, "y": [0]}"#,
        theta: &[-40.0],
        logp: None,
    },
    Case {
        what: "Bernoulli(logistic(x)) with |x| = 50: scored on the logit scale",
        source: "size T\ndata y: int[T] in 0..2\ndata x: real[T]\nparam b ~ Normal(0, 1)\ny ~ Bernoulli(p = logistic(b * x))\n",
        data: r#"{"T": 2, "y": [0, 1], "x": [50.0, -50.0]}"#,
        theta: &[1.0],
        // log(1 - σ(50)) + log σ(-50) + log N(1 | 0, 1), to double precision.
        logp: Some(-50.0 - 50.0 - 0.5 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "let p = logistic(x), then Bernoulli(p) and Binomial(n, p) in a loop: scored on the logit scale as the inline call is",
        source: "size T\ndata y: int[T] in 0..2\ndata x: real[T]\nparam b ~ Normal(0, 1)\nlet p = logistic(b * x)\ny ~ Bernoulli(p)\nfor t in 0..T {\n  let q = logistic(b * x[t])\n  y[t] ~ Binomial(1, q)\n}\n",
        data: r#"{"T": 2, "y": [0, 1], "x": [50.0, -50.0]}"#,
        theta: &[1.0],
        logp: Some(2.0 * (-50.0 - 50.0) - 0.5 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "where(x > 0, log(a * x), 0) at x = 0: the branch not taken (log 0) adds nothing to the gradient",
        source: "size T\ndata x: real[T]\nparam a in (0, inf) ~ Exponential(1)\ntarget += sum(where(x > 0, log(a * x), 0.0))\n",
        data: r#"{"T": 3, "x": [0.0, 1.0, 2.0]}"#,
        theta: &[0.7],
        logp: None,
    },
    Case {
        what: "a mixture's where(r, log(logistic(l)), log(logistic(-l))) with |l| = 800, and log(x) made in a loop's body",
        source: "size T\ndata r: bool[T]\ndata x: real[T]\nparam b ~ Normal(0, 1)\nlet l = b * x\ntarget += sum(where(r, log(logistic(l)), log(logistic(-l))))\nfor t in 0..T {\n  let v = log(exp(b) * x[t])\n  target += where(x[t] > 0, v * b, 0.0)\n}\n",
        data: r#"{"T": 3, "r": [true, false, true], "x": [0.0, -400.0, 400.0]}"#,
        theta: &[2.0],
        logp: None,
    },
    Case {
        what: "log(a * x) made outside a for loop and a scan whose where leaves it out at x = 0",
        source: "size T\ndata x: real[T]\nparam a in (0, inf) ~ Exponential(1)\nlet v = log(a * x)\nfor t in 0..T {\n  target += where(x[t] > 0, v[t], 0.0)\n}\nlet w = scan (acc = 0.0; xt in x) {\n  where(xt > 0, acc + log(xt * a), acc)\n}\ntarget += sum(w)\n",
        data: r#"{"T": 3, "x": [0.0, 1.0, 2.0]}"#,
        theta: &[-0.356_674_943_938_732_4],
        logp: None,
    },
    Case {
        what: "logp: a shifted log-normal response time, a two-component mixture scoring one value under both, a Categorical and a Bernoulli",
        source: "size T\ndata rt: real[T]\ndata c: int[T] in 0..3\nparam mu ~ Normal(0, 1)\nparam sigma ~ HalfNormal(1)\nparam ndt in (0, 0.2)\nparam m: real[2] ~ Normal(0, 3)\nparam w ~ Beta(1, 1)\ntarget += sum(logp(LogNormal(mu, sigma), rt - ndt))\nfor t in 0..T {\n  target += logsumexp(log(stack(w, 1 - w)) + logp(Normal(m, 1), rt[t]))\n}\ntarget += sum(logp(Categorical(logits = [m[0], m[1], mu]), c)) + logp(Bernoulli(w), 1)\n",
        data: r#"{"T": 3, "rt": [0.45, 0.8, 1.9], "c": [0, 2, 1]}"#,
        theta: &[-0.5, -0.3, 0.2, -1.0, 1.5, 0.4],
        // SciPy's densities at these values, with the log-Jacobians.
        logp: Some(-23.855_258_433_708_254),
    },
    Case {
        what: "Weibull response times and NegativeBinomial counts (a count of 0 and a large one)",
        source: "size T\ndata rt: real[T]\ndata y: int[T]\ndata x: real[T]\nparam k ~ Gamma(2, 1)\nparam s ~ HalfNormal(1)\nparam phi ~ Exponential(1)\nrt ~ Weibull(k, s)\ny ~ NegativeBinomial(exp(0.5 + x * 2 * k), phi)\n",
        data: r#"{"T": 3, "rt": [0.4, 1.3, 2.5], "y": [0, 3, 17], "x": [0.0, 0.5, 1.0]}"#,
        theta: &[0.3, -0.2, 0.5],
        // SciPy's weibull_min and nbinom (n = phi, p = phi / (phi + mu)), with the log-Jacobians.
        logp: Some(-14.770_701_901_763_58),
    },
    Case {
        what: "BetaBinomial at 0, in the middle and at n successes",
        source: "size T\ndata y: int[T]\nparam a ~ Exponential(1)\nparam b ~ Exponential(1)\ny ~ BetaBinomial(10, a, b)\n",
        data: r#"{"T": 3, "y": [0, 4, 10]}"#,
        theta: &[0.2, -0.4],
        // SciPy's betabinom, with the log-Jacobians.
        logp: Some(-9.550_611_224_926_426),
    },
    Case {
        what: "OrderedLogistic: every category, and a rating far below every cutpoint (eta = -16)",
        source: "size T\ndata x: real[T]\ndata y: int[T] in 0..4\nparam b ~ Normal(0, 1)\nparam c0 ~ Normal(0, 3)\nparam g: real[2] in (0, inf) ~ Exponential(1)\nlet c = [c0, c0 + g[0], c0 + g[0] + g[1]]\ny ~ OrderedLogistic(b * x, c)\n",
        data: r#"{"T": 5, "x": [-2.0, 0.0, 1.5, 3.0, -40.0], "y": [0, 1, 2, 3, 0]}"#,
        theta: &[0.4, -0.5, 0.2, 0.3],
        // log(σ(η - c[k-1]) - σ(η - c[k])) by NumPy/SciPy, with the log-Jacobians.
        logp: Some(-9.358_847_695_140_51),
    },
    Case {
        what: "OrderedLogistic in its far tails: the top category 60 logits below the last cutpoint, the bottom one 60 above the first",
        source: "param e ~ Normal(0, 1)\ntarget += logp(OrderedLogistic(e - 60, [-1.0, 0.5]), 2) + logp(OrderedLogistic(e + 60, [-1.0, 0.5]), 0)\n",
        data: "{}",
        theta: &[0.3],
        // log σ(e - 60 - 0.5) + log(1 - σ(e + 60 + 1)) + log N(e), each -softplus to double precision.
        logp: Some(-60.2 - 61.3 - 0.045 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "NegativeBinomial near its Poisson limit (phi = 1e8 by a parameter, 1e15, 1e300)",
        source: "param u ~ Normal(0, 1)\ntarget += logp(NegativeBinomial(2, exp(u + 18.420680743952367)), 3) + logp(NegativeBinomial(2, 1e15), 3) + logp(NegativeBinomial(2, 1e300), 3)\n",
        data: "{}",
        theta: &[0.0],
        // Poisson(3 | 2) = -1.7123179275482192 three times, less (y(y-1) - 2yμ + μ²)/(2φ)
        // = 1/φ for φ = 1e8 and 1e15, and the prior at 0.
        logp: Some(3.0 * -1.712_317_927_548_219_2 - 1e-8 - 1e-15 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "a mixture (logsumexp) with a component of log density -inf (Beta at 0): its weight is 0 and so is its slope",
        source: "param a in (0, inf) ~ Exponential(1)\ndata y: real\ntarget += logsumexp(stack(logp(Beta(a, 2), y), log(0.5) + logp(Normal(0, 1), y)))\n",
        data: r#"{"y": 0.0}"#,
        theta: &[0.4],
        logp: Some(0.4 - 1.491_824_697_641_270_3 - std::f64::consts::LN_2 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "OrderedLogistic with cutpoints 1e-8 apart, 50 logits above them (the middle category's gap from the cutpoints, not from two logistics)",
        source: "param e ~ Normal(0, 1)\ntarget += logp(OrderedLogistic(50 + e, [0.0, 1e-8]), 1)\n",
        data: "{}",
        theta: &[0.0],
        // log(σ(50) − σ(50 − 1e-8)) to 60 digits (Python's decimal), and the prior.
        logp: Some(-68.420_680_738_952_37 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "BetaBinomial with beta = 1e8 (its lgammas of 1.7e9 differ in their last digits)",
        source: "param e ~ Normal(0, 1)\ntarget += logp(BetaBinomial(1, 2.0, 1e8 * exp(e)), 0)\n",
        data: "{}",
        theta: &[0.0],
        // log(β / (α + β)) to 50 digits (Python's decimal), and the prior.
        logp: Some(-1.999_999_980_000_000_3e-8 - 0.918_938_533_204_672_7),
    },
    Case {
        what: "VonMises angles (one near -pi, one at a concentration of 6e4), ExGaussian and SkewNormal response times",
        source: "size T\ndata ang: real[T]\ndata rt: real[T]\nparam mu ~ Normal(0, 1)\nparam kappa ~ Gamma(2, 0.5)\nparam sigma ~ HalfNormal(1)\nparam lambda ~ Exponential(1)\nparam alpha ~ Normal(0, 3)\nang ~ VonMises(mu, kappa)\ntarget += logp(VonMises(mu + 0.01, 5e4 * kappa), 0.3)\nrt ~ ExGaussian(0.4, sigma, lambda)\nrt ~ SkewNormal(0.5, sigma, alpha)\n",
        data: r#"{"T": 3, "ang": [-3.1, 0.5, 2.0], "rt": [0.45, 0.8, 1.9]}"#,
        theta: &[0.3, 0.2, -1.5, 1.0, 4.0],
        // SciPy's vonmises, exponnorm (K = 1 / (sigma lambda)) and skewnorm, with the log-Jacobians.
        logp: Some(-35.481_038_319_664_38),
    },
    Case {
        what: "log_Phi 60 sds below the mean (log(Phi(x)) is -inf there)",
        source: "param e ~ Normal(0, 1)\ntarget += log_Phi(e - 60)\n",
        data: "{}",
        theta: &[0.3],
        // SciPy's log_ndtr, and the prior.
        logp: Some(-1_788.017_489_466_801_2),
    },
    Case {
        what: "an ExGaussian 200 sds from its Gaussian part (Stan's log erfc gives -inf there)",
        source: "param e ~ Normal(0, 1)\ntarget += logp(ExGaussian(0, 1, 200 * exp(e)), 0.0)\n",
        data: "{}",
        theta: &[0.3],
        // SciPy's exponnorm, and the prior.
        logp: Some(-1.882_890_786_229_834_3),
    },
    Case {
        what: "a SkewNormal 150 sds into its short side",
        source: "param e ~ Normal(0, 1)\ntarget += logp(SkewNormal(0, 1, 50 * exp(e)), -3.0)\n",
        data: "{}",
        theta: &[0.3],
        // SciPy's skewnorm, and the prior.
        logp: Some(-20_510.755_832_496_525),
    },
    Case {
        what: "atan2 in every quadrant, and a direction as the angle of a point (Stan's unit_vector)",
        source: "param a ~ Normal(0, 1)\nparam v: real[2] ~ Normal(0, 1)\ndata y: real\ntarget += atan2(a, 2.0) + atan2(1.0, a) + atan2(-a, -2.0) + atan2(-1.0, a)\ny ~ VonMises(atan2(v[1], v[0]), 3.0)\n",
        data: r#"{"y": 3.0}"#,
        theta: &[0.3, -1.2, -0.1],
        // Python's math.atan2 and SciPy's vonmises(3, loc=atan2(-0.1, -1.2)).logpdf(3), and the priors.
        logp: Some(-6.869_252_713_022_172),
    },
    Case {
        what: "Wald response times; Logistic, Laplace and Gumbel values",
        source: "size T\ndata rt: real[T]\ndata x: real[T]\nparam mu ~ HalfNormal(1)\nparam lam ~ Exponential(1)\nparam m ~ Normal(0, 1)\nparam s ~ HalfNormal(1)\nrt ~ Wald(mu, lam)\nx ~ Logistic(m, s)\nx ~ Laplace(m, s)\nx ~ Gumbel(m, s)\n",
        data: r#"{"T": 3, "rt": [0.3, 0.9, 2.5], "x": [-1.0, 0.2, 4.0]}"#,
        theta: &[-0.2, 0.5, 0.4, -0.3],
        // SciPy's invgauss (mu / lambda, scale lambda), logistic, laplace and gumbel_r,
        // with the log-Jacobians.
        logp: Some(-33.113_446_673_712_104),
    },
    Case {
        what: "far tails: a Logistic 800 scales out, a Gumbel 40 scales below its mode, a Wald at 10^4 its mean",
        source: "param e ~ Normal(0, 1)\ntarget += logp(Logistic(0, 1), -800 * exp(e)) + logp(Gumbel(0, 1), -30 * exp(e)) + logp(Wald(2, 2), 1e4 * exp(e)) - 2 * 0.918938533204672742 - 0.09\n",
        data: "{}",
        theta: &[0.3],
        // SciPy's logistic, gumbel_r and invgauss, each with the prior (the prior
        // counted once: the other two added back in the model).
        logp: Some(-1_080.850_984_594_007_3 - 3.864_443_342_271_826_6e17 - 13_512.389_963_875_947),
    },
    Case {
        what: "Wald with a mean of 1e160 and at a time of 1e300 (mu² and (y - mu)² would overflow)",
        source: "param e ~ Normal(0, 1)\ntarget += logp(Wald(1e160 * exp(e), 1), 1.0) + logp(Wald(exp(e), 1), 1e300)\n",
        data: "{}",
        theta: &[0.0],
        // ½(log λ - log 2π - 3 log y) - λ(y - μ)²/(2μ²y): -½ log 2π - ½ for μ → ∞ at y = 1
        // (to 1e-160), and -½ log 2π - 1.5 log 1e300 - (1e300 - 1)²/(2e300), and the prior.
        logp: Some(
            -0.918_938_533_204_672_7 - 0.5 - 0.918_938_533_204_672_7 - 1.5 * 690.775_527_898_213_7
                - 0.5e300
                - 0.918_938_533_204_672_7,
        ),
    },
    Case {
        what: "inv_Phi of a probability, and of one of 1e-300 (its quantile -37)",
        source: "param e ~ Normal(0, 1)\ntarget += inv_Phi(logistic(e)) + inv_Phi(logistic(e - 690))\n",
        data: "{}",
        theta: &[0.3],
        // mpmath's quantiles of the two probabilities, and the prior.
        logp: Some(-37.794_317_220_089_37),
    },
    Case {
        what: "pow(0, s): the utility of a zero outcome has no slope in s",
        source: "size T\ndata x: real[T]\nparam rho ~ Beta(1, 1)\ntarget += sum(pow(x, rho))\n",
        data: r#"{"T": 2, "x": [0.0, 2.0]}"#,
        theta: &[0.0],
        logp: None,
    },
    Case {
        what: "pow(r * delay, s) and sqrt(r * delay) at a delay of 0 (hBayesDM's dd_cs): no slope in r",
        source: "size T\ndata delay: real[T]\nparam r in (0, 1)\nparam s in (0, 10)\ntarget += sum(exp(-pow(r * delay, s))) + sum(sqrt(r * delay))\n",
        data: r#"{"T": 3, "delay": [0.0, 7.0, 30.0]}"#,
        // s = 0.38 (below 1, where the slope of pow in its base is infinite at 0), and 7.3.
        theta: &[-1.0, -3.2],
        logp: None,
    },
    Case {
        what: "Prelec's weight exp(-(-log p)^tau) at p = 1 and of 1 - p (the power is inf, its use has no slope)",
        source: "data p: real[2] in [0, 1]\nparam tau in (0, 1)\ntarget += sum(exp(-pow(-log(p), tau))) + sum(exp(-pow(-log(1 - p), tau)))\n",
        data: r#"{"p": [1.0, 0.3]}"#,
        theta: &[0.3],
        logp: None,
    },
    Case {
        what: "Bernoulli's p as 1 - logistic(x) and as Phi_approx(x) far in their tails: scored from their logits",
        source: "data y: int[4] in 0..2\ndata d: real[4]\nparam z ~ Normal(0, 1)\nfor t in 0..4 {\n  y[t] ~ Bernoulli(1 - logistic(z * d[t]))\n}\ny ~ Bernoulli(Phi_approx(z * d))\n",
        data: r#"{"y": [0, 1, 0, 1], "d": [50.0, -50.0, 1.0, -1.0]}"#,
        theta: &[0.8],
        // The log-sigmoids of the logits -z d and 0.07056 (z d)^3 + 1.5976 z d, and the prior.
        logp: Some(-9_164.573_518_923_751),
    },
    Case {
        what: "hBayesDM's two-option softmax far in its tails: Categorical(p = [p1, 1 - p1]) and [1 - p1, p1] with p1 = 1 / (1 + exp(x)), Bernoulli(1 / (1 + exp(-x))): scored from their logits",
        source: "data k: int[4] in 0..2\ndata d: real[4]\nparam z ~ Normal(0, 1)\nfor t in 0..4 {\n  let p1 = 1 / (1 + exp(z * d[t]))\n  k[t] ~ Categorical(p = [p1, 1 - p1])\n}\nk ~ Bernoulli(1 / (exp(-z * d) + 1))\nlet q = 1 / (1 + exp(z * d[0]))\nk[0] ~ Categorical(p = [1 - q, q])\n",
        data: r#"{"k": [0, 1, 0, 1], "d": [50.0, -50.0, 1.0, -1.0]}"#,
        theta: &[0.8],
        // The log-sigmoids of the logits -z d (Categorical), z d (Bernoulli) and z d[0]
        // (the last line), and the prior.
        logp: Some(-165.923_341_196_995_84),
    },
    Case {
        what: "NegativeBinomial with a mean of 0 (a rate times an exposure of 0): the point mass at 0, as Poisson's",
        source: "data exposure: real[2]\ndata k: int[2] in 0..100\nparam log_rate ~ Normal(0, 1)\nparam phi in (0, inf) ~ Exponential(1)\nk ~ NegativeBinomial(exp(log_rate) * exposure, phi)\nk ~ Poisson(exp(log_rate) * exposure)\n",
        data: r#"{"exposure": [0.0, 2.0], "k": [0, 3]}"#,
        theta: &[0.5, 0.7],
        logp: None,
    },
    Case {
        what: "pow(r * delay, s) at a delay of 0 with s above 1",
        source: "size T\ndata delay: real[T]\nparam r in (0, 1)\nparam s in (0, 10)\ntarget += sum(exp(-pow(r * delay, s)))\n",
        data: r#"{"T": 2, "delay": [0.0, 3.0]}"#,
        theta: &[0.5, 1.5],
        logp: None,
    },
    Case {
        what: "Wiener: both boundaries, a fast and a slow response, a strong drift",
        source: "size T\ndata rt: real[T]\nparam a in (0.5, 3)\nparam tau in (0, 0.2)\nparam b ~ Beta(2, 2)\nparam d ~ Normal(0, 2)\nrt[0] ~ Wiener(a, tau, b, d)\nrt[1] ~ Wiener(a, tau, 1 - b, -d)\nrt[2] ~ Wiener(a, tau, b, 4 * d)\n",
        data: r#"{"T": 3, "rt": [0.25, 3.5, 0.6]}"#,
        theta: &[0.3, 0.5, -0.4, 1.1],
        logp: None,
    },
    Case {
        // (At x = 6, 1 - Phi_approx(x) = 2e-11 carries only 5 digits, too few for
        // finite differences; the Wiener density itself is tested there in rlc-random.)
        what: "Wiener with beta = 0.9988 and 0.0012 (Phi_approx in its tails)",
        source: "data rt: real\nparam x ~ Normal(0, 1)\nrt ~ Wiener(1.5, 0.1, Phi_approx(x), 0.5)\nrt ~ Wiener(1.5, 0.1, 1 - Phi_approx(x), -0.5)\n",
        data: r#"{"rt": 0.8}"#,
        theta: &[3.0],
        logp: None,
    },
    Case {
        what: "prod with one and with two zero factors",
        source: "data x: real[3]\nparam a ~ Normal(0, 1)\ntarget += prod(x * a) + prod([a, 0.0, a]) + prod([a, 0.0, 2.0])\n",
        data: r#"{"x": [1.0, 0.0, 2.0]}"#,
        theta: &[1.5],
        logp: None,
    },
    Case {
        what: "max and min of tied values: the adjoint is split among the ties (1/k each), so max([a, a]) has the slope of a",
        source: "param a ~ Normal(0, 1)\ntarget += max([a, a]) + min([a, a, a]) + 2 * max([a, a, a - 1.0])\n",
        data: "{}",
        theta: &[0.3],
        // -a²/2 - log √(2π) + a + a + 2a at a = 0.3.
        logp: Some(-0.045 - 0.918_938_533_204_672_7 + 1.2),
    },
    Case {
        what: "max and min over an axis with tied elements",
        source: "param a ~ Normal(0, 1)\nparam b ~ Normal(0, 1)\nlet m = [[a, a], [b, b], [a, 0.0 - 9.0]]\ntarget += sum(max(m, axis=1)) + sum(min(m, axis=0, keepdims=true))\n",
        data: "{}",
        theta: &[0.7, 0.2],
        logp: None,
    },
];

/// StudentT's normalization is a series above nu = 50 (the log-gamma difference
/// cancels as nu grows): the two forms meet there, and far out the density is the
/// normal limit (it was 18 units off at nu = 1e16, as Stan's is).
#[test]
fn student_t_is_continuous_where_its_normalization_changes_form_and_normal_far_out() {
    // `nu` unconstrained, so that theta is nu itself (the density is only read at nu > 0).
    let source = "data y: real\nparam nu\ntarget += logp(StudentT(nu, 0, 1), y)\n";
    let data = r#"{"y": 0.5}"#;
    for backend in [Backend::Jit, Backend::Interp] {
        let at = |nu: f64| evaluate(source, data, &[nu], backend);
        // 50 itself is the log-gamma form's; the next number up, the series'.
        let (below, slope_below) = at(50.0);
        let (above, slope_above) = at(f64::from_bits(50f64.to_bits() + 1));
        assert!(
            (below - above).abs() < 1e-14,
            "{backend:?}: {below} {above}"
        );
        assert!(
            (slope_below[0] - slope_above[0]).abs() < 1e-12,
            "{backend:?}: {slope_below:?} {slope_above:?}"
        );
        // The normal limit (less its first correction, -(1/4 + z²/2 - z⁴/4) / nu),
        // with no slope in nu.
        for nu in [1e8, 1e16, 1e300] {
            let (lp, grad) = at(nu);
            let expected = -0.918_938_533_204_672_7 - 0.125 - 0.359_375 / nu;
            assert!((lp - expected).abs() < 1e-14, "{backend:?} nu {nu}: {lp}");
            assert!(grad[0].abs() < 1e-15, "{backend:?} nu {nu}: {grad:?}");
        }
    }
}

/// The gradient of `target += max([a, a])`: exactly 1, the derivative of
/// `a`, on both backends (plus the prior's -a); `max([a, b])` at a tie
/// splits it.
#[test]
fn max_at_a_tie_has_the_slope_of_its_value() {
    for backend in [Backend::Jit, Backend::Interp] {
        let (_, grad) = evaluate(
            "param a ~ Normal(0, 1)\ntarget += max([a, a])\n",
            "{}",
            &[0.25],
            backend,
        );
        assert_eq!(grad, [1.0 - 0.25], "{backend:?}");
        let (_, grad) = evaluate(
            "param a ~ Normal(0, 1)\nparam b ~ Normal(0, 1)\ntarget += max([a, b]) - min([a, b, b, b])\n",
            "{}",
            &[0.25, 0.25],
            backend,
        );
        assert_eq!(grad, [0.5 - 0.25 - 0.25, 0.5 - 0.75 - 0.25], "{backend:?}");
    }
}

/// The log-sum-exp of huge logits (1e26: `log 2` is far below their ulp, so
/// the log-sum-exp rounds to the maximum): the softmax weights of its adjoint
/// still sum to 1, so `logsumexp([x, x, x - 1])` has the slope of `x`, on a
/// short vector, on rows of a matrix, on a long vector, and in a Categorical
/// whose logits grow along a scan (1.4^150), on both backends.
#[test]
fn log_sum_exp_of_huge_tied_logits_has_the_slope_of_its_value() {
    let cases: &[(&str, &str, f64)] = &[
        (
            "param a: real\ntarget += logsumexp([a * 1e26, a * 1e26, a * 1e26 - 1])\n",
            "{}",
            1e26,
        ),
        (
            "param a: real\nlet m = [[a * 1e26, a * 1e26], [a * 2e26, a * 2e26]]\ntarget += sum(logsumexp(m, axis=1))\n",
            "{}",
            3e26,
        ),
        (
            "size K\ndata z: real[K]\nparam a: real\ntarget += logsumexp(a * 1e26 + z)\n",
            r#"{"K": 12, "z": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}"#,
            1e26,
        ),
    ];
    for (source, data, slope) in cases {
        for backend in [Backend::Jit, Backend::Interp] {
            let (_, grad) = evaluate(source, data, &[3.0], backend);
            assert!(
                (grad[0] - slope).abs() <= 1e-12 * slope,
                "{source} on {backend:?}: {grad:?}, not {slope}"
            );
        }
    }
    // Choices whose two logits differ by 1 while both grow as 1.4^t: the
    // likelihood does not depend on `a` at all, so the gradient is the
    // prior's -a up to the rounding of 1e22-sized terms (each softmax weight
    // to 1e-16 relative), not the 1e22 of unnormalized weights.
    let source = "size T\ndata y: int[T] in 0..2\nparam a ~ Normal(0, 1)\nscan (v = 1.0; c in y) {\n  c ~ Categorical(logits = [a * v, a * v - 1])\n  v * 1.4\n}\n";
    let ys: Vec<String> = (0..150).map(|t| (t % 2).to_string()).collect();
    let data = format!(r#"{{"T": 150, "y": [{}]}}"#, ys.join(", "));
    for backend in [Backend::Jit, Backend::Interp] {
        let (_, grad) = evaluate(source, &data, &[0.3], backend);
        assert!(grad[0].abs() < 1e3, "{backend:?}: {grad:?}");
    }
}

/// Central finite differences of the log density.
fn finite_differences(case: &Case, backend: Backend) -> Vec<f64> {
    (0..case.theta.len())
        .map(|i| {
            let h = 1e-6 * case.theta[i].abs().max(1.0);
            let mut plus = case.theta.to_vec();
            plus[i] += h;
            let mut minus = case.theta.to_vec();
            minus[i] -= h;
            let (lp_plus, _) = evaluate(case.source, case.data, &plus, backend);
            let (lp_minus, _) = evaluate(case.source, case.data, &minus, backend);
            (lp_plus - lp_minus) / (2.0 * h)
        })
        .collect()
}

#[test]
fn finite_where_the_math_is_finite_on_both_backends() {
    let mut failures = Vec::new();
    for case in CASES {
        for backend in [Backend::Jit, Backend::Interp] {
            let (lp, grad) = evaluate(case.source, case.data, case.theta, backend);
            if !lp.is_finite() || grad.iter().any(|g| !g.is_finite()) {
                failures.push(format!(
                    "{} ({backend:?}): logp {lp}, gradient {grad:?}",
                    case.what
                ));
                continue;
            }
            if let Some(expected) = case.logp {
                if (lp - expected).abs() > 1e-9 * expected.abs() {
                    failures.push(format!(
                        "{} ({backend:?}): logp {lp}, expected {expected}",
                        case.what
                    ));
                }
            }
            let fd = finite_differences(case, backend);
            for (g, f) in grad.iter().zip(&fd) {
                if (g - f).abs() > 1e-5 * (1.0 + f.abs()) {
                    failures.push(format!(
                        "{} ({backend:?}): gradient {g}, finite differences {f}",
                        case.what
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A model over no data (a size of 0, a subject with no trials) evaluates
/// to its prior, on both backends: the likelihood of nothing is 1.
#[test]
fn empty_data_evaluates_to_the_prior_on_both_backends() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let model = |name: &str| std::fs::read_to_string(root.join(name)).expect("model");
    // (model, data with no observations, the prior alone, its data, theta)
    let cases: Vec<(String, &str, &str, &str, Vec<f64>)> = vec![
        (
            model("rl_single.rlm"),
            r#"{"T": 0, "action": [], "reward": []}"#,
            "param alpha ~ Beta(1, 1)\nparam beta ~ HalfNormal(10)\n",
            "{}",
            vec![0.3, -0.2],
        ),
        (
            model("rl_single_pytensor.rlm"),
            r#"{"T": 1, "action": [1], "reward": [0.0]}"#,
            "param alpha ~ Beta(1, 1)\nparam beta ~ HalfNormal(10)\n",
            "{}",
            vec![0.3, -0.2],
        ),
        (
            model("eight_schools.rlm"),
            r#"{"J": 0, "y": [], "sigma": []}"#,
            "param mu ~ Normal(0, 5)\nparam tau ~ HalfCauchy(5)\n",
            "{}",
            vec![0.4, 0.1],
        ),
        (
            model("logistic_regression.rlm"),
            r#"{"N": 0, "K": 2, "X": [], "y": []}"#,
            "size K\nparam alpha ~ Normal(0, 2.5)\nparam w: real[K] ~ Normal(0, 2.5)\n",
            r#"{"K": 2}"#,
            vec![0.4, 0.1, -0.3],
        ),
        (
            model("logistic_regression.rlm"),
            r#"{"N": 3, "K": 0, "X": [[], [], []], "y": [0, 1, 1]}"#,
            // No covariates: alpha alone explains y.
            "size N\ndata y: int[N] in 0..2\nparam alpha ~ Normal(0, 2.5)\ny ~ Bernoulli(logits = alpha)\n",
            r#"{"N": 3, "y": [0, 1, 1]}"#,
            vec![0.4],
        ),
        (
            // A subject with no trials: all its cells missing.
            "size N\nsize T\ndata choice: int?[N, T] in 0..2\nparam mu ~ Normal(0, 1)\nparam b: real[N] ~ Normal(mu, 1)\nfor n in 0..N {\n  scan (q = [0.0, 0.0]; c in choice[n]) {\n    if present(c) {\n      c ~ Categorical(logits = b[n] * q)\n      set_subtensor(q[c], q[c] + 0.5 * (1 - q[c]))\n    } else {\n      q\n    }\n  }\n}\n".to_string(),
            r#"{"N": 2, "T": 2, "choice": [[null, null], [null, null]]}"#,
            "size N\nparam mu ~ Normal(0, 1)\nparam b: real[N] ~ Normal(mu, 1)\n",
            r#"{"N": 2}"#,
            vec![0.2, -0.5, 0.7],
        ),
    ];
    for (source, data, prior, prior_data, theta) in &cases {
        let first = source.lines().next().unwrap_or_default();
        for backend in [Backend::Jit, Backend::Interp] {
            let (lp, grad) = evaluate(source, data, theta, backend);
            let (expected, expected_grad) = evaluate(prior, prior_data, theta, backend);
            assert!(
                (lp - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                "{first} on {data} ({backend:?}): {lp}, the prior gives {expected}"
            );
            for (g, e) in grad.iter().zip(&expected_grad) {
                assert!(
                    (g - e).abs() <= 1e-12 * e.abs().max(1.0),
                    "{first} on {data} ({backend:?}): gradient {grad:?}, the prior's {expected_grad:?}"
                );
            }
        }
    }
}

/// Found by the fuzzing campaign: code that never runs for the data's sizes
/// (a branch not taken, a loop over 0 elements) may index out of range or
/// into an empty value; both backends evaluate the model, and fail alike
/// when the bad index does run.
#[test]
fn indices_in_code_that_never_runs_do_not_fail_either_backend() {
    let branch = "size N\nparam a ~ Normal(0, 1)\nparam p: real[N] ~ Normal(0, 1)\ntarget += if a > 100 { p[5] } else { a }\n";
    let empty = "size N\ndata d: int[N] in 0..N\nparam q: real[N] ~ Exponential(1)\nparam b ~ Normal(0, 1)\nfor i in 0..N {\n  let v = exp(0.1 * (d - q))\n  for j in 0..N {\n    target += v[j] * b\n  }\n}\n";
    for backend in [Backend::Jit, Backend::Interp] {
        let (lp, _) = evaluate(branch, r#"{"N": 1}"#, &[0.5, 0.1], backend);
        assert!(lp.is_finite(), "{backend:?}: {lp}");
        let (lp, grad) = evaluate(empty, r#"{"N": 0, "d": []}"#, &[0.5], backend);
        assert!(
            lp.is_finite() && grad == [-0.5],
            "{backend:?}: {lp} {grad:?}"
        );
        // The branch with the bad index taken: an error on both.
        let compiled = rlc_driver::compile(branch, "edge.rlm").expect("compiles");
        let data = rlc_driver::data::load(&compiled.model, "edge.json", br#"{"N": 1}"#, None)
            .expect("loads");
        let mut density = Density::new(&compiled, &data, backend).expect("binds");
        let mut grad = vec![0.0; density.dim];
        assert!(
            density.logp_grad(&[200.0, 0.1], &mut grad).is_err(),
            "{backend:?}: p[5] of a length-1 p ran"
        );
    }
}

/// `Laplace(mu, b)` at `y == mu` has the slope 0 in `mu` and `y`, as Stan's
/// `double_exponential` (sign(0) = 0), on both backends; `abs` keeps Stan's
/// slope 1 at 0 (the Stan edge table).
#[test]
fn laplace_has_no_slope_at_its_mode() {
    for backend in [Backend::Jit, Backend::Interp] {
        let (_, grad) = evaluate(
            "param m: real\ndata y: real\ny ~ Laplace(m, 1)\n",
            r#"{"y": 1.0}"#,
            &[1.0],
            backend,
        );
        assert_eq!(grad, [0.0], "{backend:?}");
        let (_, grad) = evaluate(
            "param m: real\nparam y ~ Laplace(1, 2)\ntarget += -0.5 * m ^ 2\n",
            "{}",
            &[0.0, 1.0],
            backend,
        );
        assert_eq!(grad, [0.0, 0.0], "{backend:?}");
        let (_, grad) = evaluate("param m: real\ntarget += abs(m)\n", "{}", &[0.0], backend);
        assert_eq!(grad, [1.0], "{backend:?}");
    }
}
