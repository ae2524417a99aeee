//! Points given by their constrained values (`--at`, `--init FILE`, a truth
//! file, `Model.logp({...})`) map to the unconstrained coordinates the
//! sampler uses, also for parameters whose bounds are expressions of other
//! parameters (ordered cutpoints, `in (c1, inf)`): before, every command
//! refused them.

fn density(source: &str) -> rlc_driver::Density {
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", br#"{"K": 3}"#, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Interp)
        .unwrap_or_else(|e| panic!("{}", e.message))
}

fn values(items: &[(&str, &[f64])]) -> rlc_driver::density::GivenValues {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), rlc_data::GivenValue::flat(v.to_vec())))
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

/// A matrix given nested as another shape (transposed) was read row-major
/// into the wrong elements; it is refused, while a flat row-major list, a
/// number for every element, and the parameter's own nesting are taken.
#[test]
fn a_value_nested_as_another_shape_than_its_parameter_is_refused() {
    let d = density("size K\nparam q: real[2, K] ~ Normal(0, 1)\n");
    let nested = |elements: &[f64], nesting: &[usize]| {
        let value = rlc_data::GivenValue::shaped(elements.to_vec(), nesting.to_vec());
        [("q".to_string(), value)].into_iter().collect()
    };
    let elements = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let as_declared = d.unconstrain(&nested(&elements, &[2, 3])).expect("[2, 3]");
    assert_eq!(as_declared, elements);
    let flat = d.unconstrain(&nested(&elements, &[6])).expect("flat");
    assert_eq!(flat, elements);
    let one = d.unconstrain(&nested(&[0.5], &[])).expect("a number");
    assert_eq!(one, vec![0.5; 6]);
    let error = d
        .unconstrain(&nested(&elements, &[3, 2]))
        .expect_err("transposed");
    assert!(
        error.contains("parameter `q` is [2, 3], the value given is nested as [3, 2]"),
        "{error}"
    );
    let error = d
        .unconstrain(&nested(&elements[..4], &[2, 2]))
        .expect_err("too few");
    assert!(error.contains("has 6 elements, 4 were given"), "{error}");
}
