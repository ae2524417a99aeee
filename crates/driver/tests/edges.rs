//! The edges of the math: where a log density is finite, it and its gradient
//! come out finite (and right) on both backends — a certain outcome under a
//! probability of exactly 0 or 1, a logistic probability far in its tails, a
//! Beta prior at a value that rounds to 0 or 1, the utility `pow(x, s)` of a
//! zero outcome, a product with a zero factor.

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
        what: "pow(0, s): the utility of a zero outcome has no slope in s",
        source: "size T\ndata x: real[T]\nparam rho ~ Beta(1, 1)\ntarget += sum(pow(x, rho))\n",
        data: r#"{"T": 2, "x": [0.0, 2.0]}"#,
        theta: &[0.0],
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
];

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
