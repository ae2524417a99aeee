//! Run-time errors name `file:line:column` of the model's text: lines and columns
//! (in characters, 1-based) are right on ASCII and non-ASCII lines, at the start and
//! end of the text and past it.

#[test]
fn spans_are_located_by_line_and_character_column() {
    let source = "param a ~ Normal(0, 1)\n// größe: ünïcode\nparam b ~ Normal(0, 1)  // ä\ntarget += a + b\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let at = |needle: &str| {
        let start = source.find(needle).expect("in the text");
        compiled.locate((start, start + needle.len()))
    };
    assert_eq!(at("param a"), "m.rlm:1:1 (`param a`)");
    assert_eq!(at("Normal(0, 1)\n//"), "m.rlm:1:11 (`Normal(0, 1)\n//`)");
    // A non-ASCII line: columns count characters, not bytes.
    assert_eq!(at("ünïcode"), "m.rlm:2:11 (`ünïcode`)");
    assert_eq!(at("param b"), "m.rlm:3:1 (`param b`)");
    assert_eq!(at("a + b"), "m.rlm:4:11 (`a + b`)");
    // Past the end of the text: the last position, no panic.
    let end = source.len();
    assert_eq!(compiled.locate((end + 5, end + 9)), "m.rlm:5:1 (``)");
}

/// A data value that is not finite is named by its line, or by the row as the
/// front end names it (`Data::row_names`: the Python package's DataFrame rows).
#[test]
fn data_values_are_located_by_line_or_by_the_front_ends_row_names() {
    let source = "size T\ndata reward: real[T]\nparam mu ~ Normal(0, 1)\nreward ~ Normal(mu, 1)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let csv = b"reward\n0.5\n1.5\ninf\n2\n";
    let mut data = rlc_driver::data::load(&compiled.model, "d.csv", csv, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let why = |data: &rlc_driver::Data| {
        let density = rlc_driver::Density::new(&compiled, data, rlc_driver::Backend::Interp)
            .unwrap_or_else(|e| panic!("{}", e.message));
        density
            .explain(&[0.0])
            .expect("the log density is not finite")
    };
    assert!(
        why(&data).contains("`reward` holds inf at line 4,"),
        "{}",
        why(&data)
    );
    data.row_names = Some(["a", "b", "c", "d"].map(|r| format!("row {r}")).to_vec());
    assert!(
        why(&data).contains("`reward` holds inf at row c,"),
        "{}",
        why(&data)
    );
}

/// A prior is -inf outside its support when the parameter's declared bounds
/// depend on other values and reach past it (`in (lo, inf) ~ Exponential(1)`
/// with a negative `lo`; it was scored as `Exponential` of a negative value),
/// on both backends, and the explainer says which declaration and why.
#[test]
fn a_prior_outside_its_support_through_dependent_bounds_is_rejected() {
    let source = "param lo ~ Normal(0, 1)\nparam s in (lo, inf) ~ Exponential(1)\nparam u in (lo, 5) ~ Uniform(0, 5)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", b"{}", None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    for backend in [rlc_driver::Backend::Interp, rlc_driver::Backend::Jit] {
        let mut density = rlc_driver::Density::new(&compiled, &data, backend)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let mut grad = [0.0; 3];
        // lo = -2: s = lo + exp(0) = -1 is outside Exponential's support.
        let outside = [-2.0, 0.0, 3.0];
        let lp = density
            .logp_grad(&outside, &mut grad)
            .unwrap_or(f64::NEG_INFINITY);
        assert_eq!(lp, f64::NEG_INFINITY, "{backend:?}");
        let why = density.explain(&outside).expect("explained");
        assert!(
            why.contains("m.rlm:2:1") && why.contains("outside the support of its prior"),
            "{why}"
        );
        // s = -2 + exp(1.5) is inside; u = -2 + 7 logistic(-1.5) = -0.72 is not.
        let lp = density
            .logp_grad(&[-2.0, 1.5, -1.5], &mut grad)
            .unwrap_or(f64::NEG_INFINITY);
        assert_eq!(lp, f64::NEG_INFINITY, "{backend:?}");
        // Inside both supports the priors are their densities.
        let (lo, s_u, u_u) = (0.5_f64, 0.3_f64, -0.2_f64);
        let lp = density
            .logp_grad(&[lo, s_u, u_u], &mut grad)
            .expect("finite");
        let s = lo + s_u.exp();
        let logistic = 1.0 / (1.0 + (-u_u).exp());
        let expected = -0.5 * lo * lo - 0.5 * (2.0 * std::f64::consts::PI).ln() // Normal(0, 1)
            - s + s_u // Exponential(1) and the log-Jacobian
            - 5.0_f64.ln()
            + (4.5_f64).ln()
            + logistic.ln()
            + (1.0 - logistic).ln(); // Uniform(0, 5), width 4.5
        assert!(
            (lp - expected).abs() < 1e-12,
            "{backend:?}: {lp} vs {expected}"
        );
    }
}

/// A value `logp` scores may depend on parameters (a response time less a
/// non-decision time): outside the support at the transforms' centres it is
/// not a data error (it was refused before sampling, exit 3), but -inf there,
/// explained, and finite where the parameters put it inside.
#[test]
fn a_value_logp_scores_outside_its_support_is_a_rejection_not_a_data_error() {
    let source = "size T\ndata rt: real[T]\nparam mu ~ Normal(0, 1)\nparam ndt in (0, 1)\ntarget += sum(logp(LogNormal(mu, 1), rt - ndt))\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    // At ndt = 0.5 (the centre of (0, 1)), 0.3 - ndt < 0.
    let data = rlc_driver::data::load(
        &compiled.model,
        "d.json",
        br#"{"T": 2, "rt": [0.3, 0.8]}"#,
        None,
    )
    .unwrap_or_else(|e| panic!("{}", e.message));
    for backend in [rlc_driver::Backend::Interp, rlc_driver::Backend::Jit] {
        let mut density = rlc_driver::Density::new(&compiled, &data, backend)
            .unwrap_or_else(|e| panic!("{backend:?}: {}", e.message));
        let mut grad = [0.0; 2];
        let lp = density
            .logp_grad(&[0.0, 0.0], &mut grad)
            .unwrap_or(f64::NEG_INFINITY);
        assert_eq!(lp, f64::NEG_INFINITY);
        let why = density.explain(&[0.0, 0.0]).expect("explained");
        assert!(
            why.contains("the value `logp` scores in m.rlm:5:15"),
            "{why}"
        );
        // ndt = logistic(-2) = 0.12 puts both inside.
        let lp = density.logp_grad(&[0.0, -2.0], &mut grad).expect("finite");
        assert!(
            lp.is_finite() && grad.iter().all(|g| g.is_finite()),
            "{lp} {grad:?}"
        );
    }
}

/// `OrderedLogistic`'s cutpoints must increase strictly (as Stan requires):
/// equal or reversed cutpoints reject the point, with an explanation that
/// says so (the equal ones gave a finite density with a NaN gradient).
#[test]
fn cutpoints_that_do_not_increase_are_rejected_by_name() {
    let source = "param eta ~ Normal(0, 1)\nparam c: real[2] ~ Normal(0, 3)\ndata y: int in 0..3\ny ~ OrderedLogistic(eta, c)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", br#"{"y": 0}"#, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    for backend in [rlc_driver::Backend::Interp, rlc_driver::Backend::Jit] {
        let mut density = rlc_driver::Density::new(&compiled, &data, backend)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let mut grad = [0.0; 3];
        for cuts in [[0.0, 0.0], [1.0, -1.0]] {
            let theta = [0.0, cuts[0], cuts[1]];
            let lp = density
                .logp_grad(&theta, &mut grad)
                .unwrap_or(f64::NEG_INFINITY);
            assert_eq!(lp, f64::NEG_INFINITY, "{backend:?} {cuts:?}");
            let why = density.explain(&theta).expect("explained");
            assert!(why.contains("do not increase strictly"), "{why}");
        }
        let lp = density
            .logp_grad(&[0.0, -1.0, 1.0], &mut grad)
            .expect("finite");
        assert!(lp.is_finite() && grad.iter().all(|g| g.is_finite()));
    }
}

/// Bounds computed from data that cross (hBayesDM's `tau ~ Uniform(RTbound, minRT)` with a
/// response faster than RTbound) reject every point by name: the log of the negative width
/// was a NaN and "no chain could start".
#[test]
fn bounds_that_cross_are_rejected_by_name() {
    for source in [
        "data RT: real[3] in (0, inf)\nlet minRT = min(RT)\nparam tau ~ Uniform(0.1, minRT)\n",
        "data RT: real[3] in (0, inf)\nparam tau in (0.1, min(RT)) ~ Normal(0, 1)\n",
    ] {
        let compiled =
            rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
        for (rts, crossed) in [("[0.05, 0.4, 0.6]", true), ("[0.3, 0.4, 0.6]", false)] {
            let json = format!(r#"{{"RT": {rts}}}"#);
            let data = rlc_driver::data::load(&compiled.model, "d.json", json.as_bytes(), None)
                .unwrap_or_else(|e| panic!("{}", e.message));
            for backend in [rlc_driver::Backend::Interp, rlc_driver::Backend::Jit] {
                let mut density = rlc_driver::Density::new(&compiled, &data, backend)
                    .unwrap_or_else(|e| panic!("{}", e.message));
                let mut grad = [0.0; 1];
                let lp = density
                    .logp_grad(&[0.2], &mut grad)
                    .unwrap_or(f64::NEG_INFINITY);
                if crossed {
                    assert_eq!(lp, f64::NEG_INFINITY, "{backend:?} {source}");
                    let why = density.explain(&[0.2]).expect("explained");
                    assert!(
                        why.contains("the bounds of") && why.contains("are empty"),
                        "{why}"
                    );
                } else {
                    assert!(
                        lp.is_finite() && grad[0].is_finite(),
                        "{backend:?} {source}"
                    );
                }
            }
        }
    }
}

/// `VonMises`'s `kappa` below 0 and `ExGaussian`'s `sigma` and `lambda` at 0 or
/// below reject the point by name: their formulas stay finite there (an even
/// function of `kappa`, no `log(sigma)`), and an unconstrained `kappa` ran off to
/// -36,000. A `kappa` of 0 is the uniform circle, as in Stan.
#[test]
fn arguments_outside_their_domain_are_rejected_by_name() {
    let source = "param k: real\nparam s: real\nparam mu ~ Normal(0, 1)\ndata y: real\ny ~ VonMises(mu, k)\ny ~ ExGaussian(mu, s, 2)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", br#"{"y": 0.3}"#, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    for backend in [rlc_driver::Backend::Interp, rlc_driver::Backend::Jit] {
        let mut density = rlc_driver::Density::new(&compiled, &data, backend)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let mut grad = [0.0; 3];
        for (k, s) in [(-1.0, 0.5), (-1e-300, 0.5), (2.0, -0.1), (2.0, 0.0)] {
            let theta = [k, s, 0.1];
            let lp = density
                .logp_grad(&theta, &mut grad)
                .unwrap_or(f64::NEG_INFINITY);
            assert_eq!(lp, f64::NEG_INFINITY, "{backend:?} kappa {k}, sigma {s}");
            let why = density.explain(&theta).expect("explained");
            assert!(why.contains("is outside the values it may take"), "{why}");
        }
        for k in [2.0, 0.0] {
            let lp = density
                .logp_grad(&[k, 0.5, 0.1], &mut grad)
                .expect("finite");
            assert!(
                lp.is_finite() && grad.iter().all(|g| g.is_finite()),
                "kappa {k}"
            );
        }
    }
}

/// Angles observed under `VonMises` beyond ±2π (degrees, most likely) get a note
/// naming the data and the statement; angles in radians get none.
#[test]
fn angles_that_look_like_degrees_get_a_note() {
    let source = "size T\ndata err: real[T]\nparam k ~ Gamma(2, 0.2)\nfor t in 0..T {\n  err[t] ~ VonMises(0, k)\n}\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    for (values, noted) in [("[-40.0, 12.5, 75.0]", true), ("[-3.1, 0.2, 3.1]", false)] {
        let json = format!("{{\"T\": 3, \"err\": {values}}}");
        let data = rlc_driver::data::load(&compiled.model, "d.json", json.as_bytes(), None)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let density = rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Jit)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let note = density.notes.iter().find(|n| n.contains("VonMises"));
        assert_eq!(note.is_some(), noted, "{values}: {:?}", density.notes);
        if let Some(note) = note {
            assert!(
                note.contains("`err` holds values up to 75 ") && note.contains("m.rlm:5:3"),
                "{note}"
            );
        }
    }
}

/// An explanation shows a parameter of 1e-300 in scientific notation (it showed
/// `s = 0.0000`) and the operands of the failing operation likewise.
#[test]
fn tiny_and_huge_values_in_explanations_are_readable() {
    let source = "param s in (0, inf)\ndata y: real\ny ~ Normal(0, s)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let data = rlc_driver::data::load(&compiled.model, "d.json", br#"{"y": 1e5}"#, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let density = rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Interp)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let why = density.explain(&[1e-300f64.ln()]).expect("explained");
    assert!(why.contains("s = 1.0000e-300"), "{why}");
    assert!(!why.contains("00000000000000000000"), "{why}");
}

/// An observation outside its distribution's support is named by its data row,
/// for a whole variable, an element in a loop and a Bernoulli outcome of 2 (the
/// message named only the statement).
#[test]
fn an_observation_outside_the_support_is_named_by_its_row() {
    let cases = [
        (
            "size T\ndata rt: real[T]\nparam m ~ HalfNormal(1)\nrt ~ Wald(m, 2)\n",
            "rt\n0.5\n0.7\n-0.2\n0.0\n",
            "`rt` holds -0.2 at line 4 (and 1 more row), outside the support of `Wald`",
        ),
        (
            "size T\ndata rt: real[T]\nparam m ~ HalfNormal(1)\nfor t in 0..T {\n  rt[t] ~ Exponential(m)\n}\n",
            "rt\n0.5\n-3\n",
            "`rt` holds -3 at line 3, outside the support of `Exponential`",
        ),
        (
            "size T\ndata y: int[T]\nparam p ~ Beta(1, 1)\ny ~ Bernoulli(p)\n",
            "y\n0\n1\n2\n",
            "`y` holds 2 at line 4, outside the support of `Bernoulli`",
        ),
    ];
    for (source, csv, expected) in cases {
        let compiled =
            rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
        let message = match rlc_driver::data::load(&compiled.model, "d.csv", csv.as_bytes(), None) {
            Err(e) => e.message,
            Ok(data) => {
                match rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Jit) {
                    Err(e) => e.message,
                    Ok(_) => panic!("{source}: the data were accepted"),
                }
            }
        };
        assert!(message.contains(expected), "{source}: {message}");
    }
}

/// A fault of the model met while sampling (an index out of range where a
/// parameter leads) ends that run with an error naming it, and leaves the
/// caller's stop flag alone: the next run sharing it (a study's next fit)
/// samples as usual.
#[test]
fn a_fault_in_one_run_does_not_stop_the_next() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    let run = |source: &str| {
        let compiled =
            rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
        let data = rlc_driver::data::load(&compiled.model, "c.csv", b"c\n0\n5\n", None)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let density = rlc_driver::Density::new(&compiled, &data, rlc_driver::Backend::Jit)
            .unwrap_or_else(|e| panic!("{}", e.message));
        let settings = rlc_driver::sample::SampleSettings {
            chains: 2,
            warmup: 50,
            draws: 50,
            seed: 1,
            ..Default::default()
        };
        rlc_driver::sample::sample(&density, &settings, &rlc_driver::sample::Silent, &stop)
    };
    let faulty = "size T\ndata c: int[T]\nparam mu ~ Normal(1, 1)\nlet w = [1.0, 2.0, 3.0]\n\
                  for t in 0..T {\n  let j = if mu > 0 { c[t] } else { 0 }\n  target += w[j] * mu\n}\n";
    let Err(error) = run(faulty) else {
        panic!("the index fault did not end the run")
    };
    assert!(
        error.message.contains("index 5 is out of range"),
        "{}",
        error.message
    );
    assert!(!stop.load(Ordering::SeqCst));
    let fine =
        "size T\ndata c: int[T]\nparam mu ~ Normal(1, 1)\nlet w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]\n\
                for t in 0..T {\n  target += w[c[t]] * 0.01 * mu\n}\n";
    let fit = run(fine).unwrap_or_else(|e| panic!("{}", e.message));
    assert!(!fit.interrupted && fit.chains.iter().all(|c| c.stats.len() == 50));
}
