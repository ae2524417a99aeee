//! Points given by their constrained values (`--at`, `--init FILE`, a truth
//! file, `Model.logp({...})`) map to the unconstrained coordinates the
//! sampler uses, also for parameters whose bounds are expressions of other
//! parameters (ordered cutpoints, `in (c1, inf)`): before, every command
//! refused them.

use std::collections::HashMap;

fn density(source: &str) -> rlc_driver::Density {
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", br#"{"K": 3}"#, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Interp)
        .unwrap_or_else(|e| panic!("{}", e.message))
}

fn values(items: &[(&str, &[f64])]) -> HashMap<String, Vec<f64>> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn logistic_inverse(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

#[test]
fn bounds_that_depend_on_other_parameters_are_inverted_at_their_values() {
    let source = "size K\nparam c1 ~ Normal(0, 3)\nparam c2 in (c1, inf) ~ Normal(0, 3)\nparam top in (-inf, c1) ~ Normal(0, 3)\nparam lo ~ Normal(0, 1)\nparam w: real[K] in (lo, lo + exp(c1)) ~ Normal(0, 1)\n";
    let d = density(source);
    let width = (-1.0_f64).exp();
    let given = values(&[
        ("c1", &[-1.0]),
        ("c2", &[0.3]),
        ("top", &[-4.0]),
        ("lo", &[0.5]),
        (
            "w",
            &[0.5 + 0.1 * width, 0.5 + 0.5 * width, 0.5 + 0.95 * width],
        ),
    ]);
    let theta = d.unconstrain(&given).expect("unconstrained");
    let expected = [
        -1.0,
        (0.3_f64 + 1.0).ln(),
        (-1.0_f64 + 4.0).ln(),
        0.5,
        logistic_inverse(0.1),
        logistic_inverse(0.5),
        logistic_inverse(0.95),
    ];
    assert_eq!(theta.len(), expected.len());
    for (k, (t, e)) in theta.iter().zip(expected).enumerate() {
        assert!((t - e).abs() < 1e-12, "coordinate {k}: {t} vs {e}");
    }
    // A value outside its bounds at the others' values is refused, by name.
    let outside = values(&[
        ("c1", &[-1.0]),
        ("c2", &[-2.0]),
        ("top", &[-4.0]),
        ("lo", &[0.5]),
        ("w", &[0.6]),
    ]);
    let error = d.unconstrain(&outside).expect_err("c2 < c1");
    assert!(
        error.contains("`c2` = -2 is outside its support (-1, inf)"),
        "{error}"
    );
    // The parameters its bounds may depend on must be given too.
    let partial = values(&[("c2", &[0.3])]);
    let error = d.unconstrain_given(&partial).expect_err("c1 missing");
    assert!(
        error.contains("give the parameters declared before it as well (not given: c1)"),
        "{error}"
    );
    // Initial values that give only parameters with constant bounds still work.
    let only_c1 = d
        .unconstrain_given(&values(&[("c1", &[2.0])]))
        .expect("c1 alone");
    assert_eq!(only_c1[0], Some(2.0));
    assert!(only_c1[1..].iter().all(Option::is_none));
}
