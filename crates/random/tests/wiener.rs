//! The Wiener first-passage-time log density and its gradient:
//! * against `data/wiener_reference.csv`, 236 points computed in 40-digit arithmetic by
//!   `data/wiener_reference.py` (mpmath: both series summed far past convergence, and
//!   numerical derivatives, not the analytic ones), over `alpha` 0.6 to 2.5, `tau` 0.15 and
//!   0.4, `beta` 0.08 to 0.87, `delta` -2.5 to 1.3, and decision times from 0.003 to 25
//!   `alpha²`;
//! * the gradient against central finite differences of the log density, at random points;
//! * finite values far in the tails, and the values where the density is zero or the
//!   arguments are invalid;
//! * the lower boundary's density, `1 - beta` and `-delta`, and the two boundaries'
//!   densities integrating to one.

use rlc_random::wiener::{lpdf, lpdf_gradient, upper_probability};

const REFERENCE: &str = include_str!("data/wiener_reference.csv");

#[test]
fn matches_the_high_precision_reference() {
    let mut rows = 0;
    let mut worst_value: f64 = 0.0;
    let mut worst_partial: f64 = 0.0;
    for line in REFERENCE.lines().skip(1) {
        let x: Vec<f64> = line
            .split(',')
            .map(|v| v.parse().expect("a number"))
            .collect();
        let (y, alpha, tau, beta, delta) = (x[0], x[1], x[2], x[3], x[4]);
        let got = lpdf_gradient(y, alpha, tau, beta, delta);
        let value_error = (got.value - x[5]).abs() / x[5].abs().max(1.0);
        assert!(
            value_error < 1e-13,
            "lpdf({y}, {alpha}, {tau}, {beta}, {delta}) = {} (expected {})",
            got.value,
            x[5]
        );
        worst_value = worst_value.max(value_error);
        for (i, name) in ["y", "alpha", "tau", "beta", "delta"].iter().enumerate() {
            let expected = x[6 + i];
            let error = (got.partials[i] - expected).abs() / (1.0 + expected.abs());
            assert!(
                error < 1e-11,
                "d/d{name} at ({y}, {alpha}, {tau}, {beta}, {delta}) = {} (expected {expected})",
                got.partials[i]
            );
            worst_partial = worst_partial.max(error);
        }
        assert_eq!(lpdf(y, alpha, tau, beta, delta), got.value);
        rows += 1;
    }
    assert!(rows > 200, "only {rows} reference rows");
    println!("{rows} points: worst relative error {worst_value:.1e} (value), {worst_partial:.1e} (partials)");
}

/// A deterministic stream in [0, 1).
fn stream(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let mut u = stream(17);
    for _ in 0..2000 {
        let alpha = 0.3 + 4.0 * u();
        let tau = 0.5 * u();
        let beta = 0.02 + 0.96 * u();
        let delta = -5.0 + 10.0 * u();
        // Decision times from 0.002 to 12 alpha², log-uniformly.
        let t = alpha * alpha * (0.002f64.ln() + (12.0f64 / 0.002).ln() * u()).exp();
        let x = [tau + t, alpha, tau, beta, delta];
        let got = lpdf_gradient(x[0], x[1], x[2], x[3], x[4]);
        assert!(got.value.is_finite(), "{x:?}");
        for i in 0..5 {
            // Steps small against the distance from y to tau.
            let mut h = 1e-6
                * if i == 0 || i == 2 {
                    t
                } else {
                    x[i].abs().max(0.1)
                };
            if i == 2 {
                // Stay inside tau >= 0 (below it the density is not defined).
                h = h.min(0.5 * tau);
            }
            let (mut plus, mut minus) = (x, x);
            plus[i] += h;
            minus[i] -= h;
            let fd = (lpdf(plus[0], plus[1], plus[2], plus[3], plus[4])
                - lpdf(minus[0], minus[1], minus[2], minus[3], minus[4]))
                / (2.0 * h);
            let g = got.partials[i];
            assert!(
                (fd - g).abs() <= 1e-6 * (1.0 + fd.abs()),
                "partial {i} at {x:?}: {g} vs finite differences {fd}"
            );
        }
    }
}

#[test]
fn finite_far_in_the_tails_and_zero_or_nan_where_it_should_be() {
    // Decision times from 1e-300 to 1e300 alpha²: the log density is finite (it tends to
    // -inf, but as a number), and so is its gradient where it is representable (below
    // about 1e-150 alpha² its slope in tau is beyond 1e300).
    for t in [1e-300, 1e-100, 1e-30, 1e-6, 1e-3, 1e3, 1e30, 1e300] {
        for beta in [1e-9, 0.5, 1.0 - 1e-9] {
            let got = lpdf_gradient(t, 1.0, 0.0, beta, 0.0);
            assert!(
                got.value.is_finite() && got.value < 10.0,
                "t {t} beta {beta}: {got:?}"
            );
            if t >= 1e-100 {
                assert!(got.partials.iter().all(|p| p.is_finite()), "t {t}: {got:?}");
            }
        }
    }
    // A large decision time: the first large-time term, exactly.
    let (t, w): (f64, f64) = (1e3, 0.5);
    let expected = std::f64::consts::PI.ln() - std::f64::consts::PI.powi(2) * t / 2.0
        + (std::f64::consts::PI * w).sin().ln();
    assert!((lpdf(t, 1.0, 0.0, 0.5, 0.0) - expected).abs() < 1e-12 * expected.abs());
    // Zero density: at or before tau, at y = inf, with the start on a boundary.
    for (y, beta) in [
        (0.2, 0.5),
        (0.1, 0.5),
        (f64::INFINITY, 0.5),
        (1.0, 0.0),
        (1.0, 1.0),
    ] {
        let got = lpdf_gradient(y, 1.0, 0.2, beta, 0.5);
        assert_eq!(got.value, f64::NEG_INFINITY, "y {y} beta {beta}");
        assert_eq!(got.partials, [0.0; 5]);
    }
    // Invalid arguments.
    for (alpha, tau, beta, delta) in [
        (0.0, 0.2, 0.5, 0.0),
        (-1.0, 0.2, 0.5, 0.0),
        (1.0, 0.2, 1.5, 0.0),
        (1.0, f64::NAN, 0.5, 0.0),
        (1.0, 0.2, 0.5, f64::INFINITY),
    ] {
        assert!(lpdf(1.0, alpha, tau, beta, delta).is_nan());
    }
}

/// Simpson's rule on a log-spaced grid of decision times.
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    let n = 20_000;
    let (a, b) = (lo.ln(), hi.ln());
    let h = (b - a) / n as f64;
    let g = |s: f64| {
        let t = s.exp();
        f(t) * t
    };
    let mut total = g(a) + g(b);
    for i in 1..n {
        total += g(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    total * h / 3.0
}

#[test]
fn both_boundaries_integrate_to_one() {
    for (alpha, beta, delta) in [(1.0, 0.5, 0.0), (2.0, 0.3, 1.2), (0.8, 0.7, -2.0)] {
        let tau = 0.25;
        let upper = integrate(
            |t| lpdf(tau + t, alpha, tau, beta, delta).exp(),
            1e-8,
            200.0,
        );
        let lower = integrate(
            |t| lpdf(tau + t, alpha, tau, 1.0 - beta, -delta).exp(),
            1e-8,
            200.0,
        );
        let p = upper_probability(alpha, beta, delta);
        assert!(
            (upper - p).abs() < 1e-8,
            "{alpha} {beta} {delta}: {upper} vs {p}"
        );
        assert!((upper + lower - 1.0).abs() < 1e-8, "{upper} + {lower}");
    }
}
