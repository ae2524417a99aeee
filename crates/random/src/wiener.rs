//! The Wiener first-passage-time distribution of the drift-diffusion model, as Stan's
//! `wiener_lpdf(y | alpha, tau, beta, delta)` defines it: the density of the time `y` at
//! which a diffusion with drift `delta` and unit variance, started at `beta · alpha`
//! between an absorbing lower boundary at 0 and an upper one at `alpha`, reaches the
//! **upper** boundary, shifted by the non-decision time `tau`. (It is a defective density:
//! it integrates to the probability of reaching the upper boundary first. The lower
//! boundary's density is the same function with `1 - beta` and `-delta`.)
//!
//! The log density, its partial derivatives and the cumulative distribution function are
//! computed from the two series of Navarro & Fuss (2009) for the standardized density of
//! the lower boundary,
//!
//! ```text
//! g(u, w) = (2π u³)^(-1/2) Σ_{k ∈ Z} (w + 2k) exp(-(w + 2k)² / (2u))        (small times)
//!         = π Σ_{k ≥ 1} k exp(-k² π² u / 2) sin(k π w)                      (large times)
//! ```
//!
//! with `u = (y - tau) / alpha²` and `w = 1 - beta`:
//! `log f = log g(u, w) + delta · alpha · w - delta² (y - tau) / 2 - 2 log alpha`.
//!
//! **Which series.** The one that Navarro & Fuss's term counts say needs fewer terms for an
//! absolute error of `1e-12` in `g` (the small-time series below `u ≈ 0.3`); in its regime
//! each series has positive, well-conditioned partial sums.
//!
//! **How many terms.** Rather than a fixed count, terms are added until a bound on the
//! whole remaining tail, computed from the last index reached, is below [`TOLERANCE`]
//! relative to the partial sum of the density: for the small-time series the tail beyond
//! `|w + 2k| ≥ X` is at most `2 (φ(X) + ½ ∫_X^∞ φ)` for the decreasing `φ(x) = x^m e^{-x²/2u}`
//! (`m = 1` for the density, 3 for its `u`-derivative), and for the large-time series
//! beyond `k ≥ X` at most `φ(X) + ∫_X^∞ φ` with `φ(k) = k^m e^{-k² π² u / 2}`. The bound is
//! the same for the derivative series (whose terms have the extra factors `k`, `k²` or
//! `(w + 2k)²`), so the log density and every partial derivative are accurate to about
//! `1e-14` relative (rounding included) wherever the density is not zero. All sums are
//! taken relative to their leading exponential, so the log density stays finite for
//! response times far in either tail (`u` from `1e-300` to `1e300`).
//!
//! The draws are exact (no random-walk approximation): the boundary is fixed to the upper
//! one, and the time is the inverse of the conditional CDF at a uniform draw, from the
//! CDF's own small-time series (Blurton, Kesselmeier & Gondan 2012: Lévy first-passage
//! terms with drift) or large-time series (Feller), solved by safeguarded Newton steps.

use std::f64::consts::PI;

/// The relative accuracy each series is summed to (see the module's doc).
pub const TOLERANCE: f64 = 1e-15;

/// At most this many terms of a series (never reached for `1e-300 < u < 1e300` and
/// `beta` in `(0, 1)`: the small-time series needs about `√u` terms, the large-time one
/// about `1 / √u`, and each is used only where it needs few).
const MAX_TERMS: usize = 100_000;

/// The largest `|delta · alpha|` a draw accepts: beyond it the CDF's exponentials
/// overflow (and the processes that end at the upper boundary are rarer than `e^-1400`).
pub const MAX_STANDARDIZED_DRIFT: f64 = 700.0;

/// `log g(u, w)` and its partial derivatives in `u` and `w`.
#[derive(Debug, Clone, Copy)]
struct Standard {
    log: f64,
    d_u: f64,
    d_w: f64,
}

/// Whether the small-time series needs fewer terms than the large-time one at `u`, by
/// Navarro & Fuss's (2009) counts for an absolute error of `1e-12` in `g`.
fn small_time_is_shorter(u: f64) -> bool {
    let eps = 1e-12;
    let large = if PI * u * eps < 1.0 {
        (-2.0 * (PI * u * eps).ln() / (PI * PI * u))
            .sqrt()
            .max(1.0 / (PI * u.sqrt()))
    } else {
        1.0 / (PI * u.sqrt())
    };
    let small = if 2.0 * (2.0 * PI * u).sqrt() * eps < 1.0 {
        (2.0 + (-2.0 * u * (2.0 * (2.0 * PI * u).sqrt() * eps).ln()).sqrt()).max(u.sqrt() + 1.0)
    } else {
        2.0
    };
    small < large
}

/// The small-time series, every term relative to `exp(-w² / 2u)` (the largest).
fn small_time(u: f64, w: f64) -> Option<Standard> {
    let shift = w * w / (2.0 * u);
    let scaled = |x: f64| (shift - x * x / (2.0 * u)).exp();
    // Σ x e, Σ x³ e, Σ (1 - x²/u) e over x = w + 2k.
    let (mut s1, mut s3, mut sw) = (w, w * w * w, 1.0 - w * w / u);
    for k in 1..MAX_TERMS {
        let two_k = 2.0 * k as f64;
        for x in [w - two_k, w + two_k] {
            let e = scaled(x);
            s1 += x * e;
            s3 += x * x * x * e;
            sw += (1.0 - x * x / u) * e;
        }
        // Every remaining |x| is at least X = 2k + 1 (spaced by 2 on each side).
        let big_x = two_k + 1.0;
        if big_x * big_x >= 3.0 * u {
            let q = scaled(big_x);
            let tail1 = 2.0 * (big_x * q + 0.5 * u * q);
            let tail3 = 2.0 * (big_x.powi(3) * q + 0.5 * u * (big_x * big_x + 2.0 * u) * q);
            // |1 - x²/u| ≤ x + x³/u for x ≥ 1.
            let tail_w = tail1 + tail3 / u;
            if converged(s1, tail1, &[(s3, tail3), (sw, tail_w)]) {
                break;
            }
        }
    }
    // Not positive, or NaN.
    if s1.is_nan() || s1 <= 0.0 {
        return None;
    }
    Some(Standard {
        log: -0.5 * (2.0 * PI).ln() - 1.5 * u.ln() - shift + s1.ln(),
        // (u² would underflow below u = 1e-162.)
        d_u: -1.5 / u + s3 / s1 / (2.0 * u) / u,
        d_w: sw / s1,
    })
}

/// The large-time series, every term relative to `exp(-π² u / 2)` (the first).
fn large_time(u: f64, w: f64) -> Option<Standard> {
    let c = PI * PI * u / 2.0;
    let (sin1, cos1) = (PI * w).sin_cos();
    // Σ k e sin, Σ k³ e sin, Σ k² e cos, with e = exp(-c (k² - 1)).
    let (mut s1, mut s3, mut sw) = (sin1, sin1, cos1);
    for k in 2..MAX_TERMS {
        let kf = k as f64;
        let e = (-c * (kf * kf - 1.0)).exp();
        let (sin, cos) = (kf * PI * w).sin_cos();
        s1 += kf * e * sin;
        s3 += kf * kf * kf * e * sin;
        sw += kf * kf * e * cos;
        let big_x = kf + 1.0;
        if 2.0 * c * big_x * big_x >= 3.0 {
            let q = (-c * (big_x * big_x - 1.0)).exp();
            let tail1 = big_x * q + q / (2.0 * c);
            let tail3 = big_x.powi(3) * q + q * (c * big_x * big_x + 1.0) / (2.0 * c * c);
            // k² ≤ k³ for k ≥ 1.
            if converged(s1, tail1, &[(s3, tail3), (sw, tail3)]) {
                break;
            }
        }
    }
    // Not positive, or NaN.
    if s1.is_nan() || s1 <= 0.0 {
        return None;
    }
    Some(Standard {
        log: PI.ln() - c + s1.ln(),
        d_u: -(PI * PI / 2.0) * s3 / s1,
        d_w: PI * sw / s1,
    })
}

/// Whether the tails are small enough: the density's relative to its sum, each
/// derivative's (its sum over the density's) to within `TOLERANCE` of `1 + |derivative|`.
fn converged(s1: f64, tail1: f64, derivatives: &[(f64, f64)]) -> bool {
    let scale = s1.abs();
    if tail1 > TOLERANCE * scale {
        return false;
    }
    derivatives
        .iter()
        .all(|(s, tail)| *tail <= TOLERANCE * (scale + s.abs()))
}

/// `log g(u, w)` and its partials, from the shorter series (the other one if the first
/// lost its sign to rounding, which the choice of series prevents in practice).
fn standard(u: f64, w: f64) -> Option<Standard> {
    if small_time_is_shorter(u) {
        small_time(u, w).or_else(|| large_time(u, w))
    } else {
        large_time(u, w).or_else(|| small_time(u, w))
    }
}

/// The log density and its partial derivatives, as [`lpdf_gradient`] returns them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gradient {
    /// `wiener_lpdf(y | alpha, tau, beta, delta)`.
    pub value: f64,
    /// The partial derivatives in `y`, `alpha`, `tau`, `beta`, `delta`, in that order.
    pub partials: [f64; 5],
}

/// Stan's `wiener_lpdf(y | alpha, tau, beta, delta)`: the log density of reaching the
/// upper boundary at time `y` (see the module's doc).
///
/// `-inf` where the density is 0: `y <= tau` (also `y = inf`), or `beta` exactly 0 or 1
/// (the start is on a boundary). NaN for arguments outside the distribution's domain
/// (`alpha <= 0`, `tau < 0`, `beta` outside `[0, 1]`, a non-finite `alpha`, `tau` or `delta`) or NaN.
pub fn lpdf(y: f64, alpha: f64, tau: f64, beta: f64, delta: f64) -> f64 {
    lpdf_gradient(y, alpha, tau, beta, delta).value
}

/// [`lpdf`] and its partial derivatives in all five arguments (in `y` it is minus the one
/// in `tau`). Where the log density is `-inf` the partials are 0; where it is NaN they are
/// NaN.
pub fn lpdf_gradient(y: f64, alpha: f64, tau: f64, beta: f64, delta: f64) -> Gradient {
    let nan = Gradient {
        value: f64::NAN,
        partials: [f64::NAN; 5],
    };
    let zero_density = Gradient {
        value: f64::NEG_INFINITY,
        partials: [0.0; 5],
    };
    let valid = alpha > 0.0
        && alpha.is_finite()
        && tau.is_finite()
        && tau >= 0.0
        && delta.is_finite()
        && (0.0..=1.0).contains(&beta)
        && !y.is_nan();
    if !valid {
        return nan;
    }
    let t = y - tau;
    // (t is not NaN: y and tau are numbers.)
    if t <= 0.0 || t.is_infinite() || beta == 0.0 || beta == 1.0 {
        return zero_density;
    }
    let alpha2 = alpha * alpha;
    let u = t / alpha2;
    let w = 1.0 - beta;
    let Some(g) = standard(u, w) else {
        return zero_density;
    };
    if g.log == f64::NEG_INFINITY {
        return zero_density;
    }
    let value = g.log + delta * alpha * w - delta * delta * t / 2.0 - 2.0 * alpha.ln();
    let d_tau = -g.d_u / alpha2 + delta * delta / 2.0;
    let d_alpha = -2.0 * u * g.d_u / alpha + delta * w - 2.0 / alpha;
    let d_beta = -g.d_w - delta * alpha;
    let d_delta = alpha * w - delta * t;
    Gradient {
        value,
        partials: [-d_tau, d_alpha, d_tau, d_beta, d_delta],
    }
}

// ---- Probabilities, the CDF and draws ------------------------------------------------

/// The probability of reaching the lower boundary first, for the standardized drift
/// `v = drift · alpha` and the start `w` (in units of `alpha`) above the lower boundary:
/// `(e^{-2vw} - e^{-2v}) / (1 - e^{-2v})`, or `1 - w` without drift.
fn lower_probability(v: f64, w: f64) -> f64 {
    if v.abs() < 1e-12 {
        return 1.0 - w;
    }
    if v > 0.0 {
        (-2.0 * v * w).exp() * (-2.0 * v * (1.0 - w)).exp_m1() / (-2.0 * v).exp_m1()
    } else {
        let m = -v;
        (-2.0 * m * (1.0 - w)).exp_m1() / (-2.0 * m).exp_m1()
    }
}

/// The probability that a draw of `Wiener(alpha, tau, beta, delta)`'s process ends at the
/// upper boundary: the total mass of the density [`lpdf`].
pub fn upper_probability(alpha: f64, beta: f64, delta: f64) -> f64 {
    lower_probability(-delta * alpha, 1.0 - beta)
}

/// `log Φ(x)` for the standard normal CDF, accurate far into the lower tail.
fn log_phi(x: f64) -> f64 {
    if x > -30.0 {
        (0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)).ln()
    } else {
        // Φ(x) = φ(x)/|x| · (1 - 1/x² + 3/x⁴ - 15/x⁶ + 105/x⁸ …) for x → -∞.
        let z2 = 1.0 / (x * x);
        let series = 1.0 - z2 * (1.0 - 3.0 * z2 * (1.0 - 5.0 * z2 * (1.0 - 7.0 * z2)));
        -0.5 * x * x - (-x).ln() - 0.5 * (2.0 * PI).ln() + series.ln()
    }
}

/// The CDF of the time `u` (in units of `alpha²`) at which the process with standardized
/// drift `v` and start `w` is absorbed at the lower boundary (a defective CDF rising from
/// 0 to [`lower_probability`]).
fn lower_cdf(u: f64, v: f64, w: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    if u < 0.5 {
        // Σ_k sign(x_k) [e^{-|v x_k|} Φ((|v| u - |x_k|)/√u) + e^{|v x_k|} Φ(-(|v| u + |x_k|)/√u)],
        // times e^{-v w}, over x_k = w + 2k, largest terms first.
        let (m, root) = (v.abs(), u.sqrt());
        let term = |x: f64| -> f64 {
            let d = x.abs();
            let a = (-m * d + log_phi((m * u - d) / root) - v * w).exp();
            let b = (m * d + log_phi(-(m * u + d) / root) - v * w).exp();
            x.signum() * (a + b)
        };
        let mut sum = term(w);
        for k in 1..MAX_TERMS {
            let two_k = 2.0 * k as f64;
            let (lo, hi) = (term(w - two_k), term(w + two_k));
            sum += lo + hi;
            if lo.abs().max(hi.abs()) <= 1e-17 * sum.abs() && two_k - 1.0 > m * u {
                break;
            }
        }
        sum.max(0.0)
    } else {
        // P - 2π e^{-v w - v² u/2} Σ_k k sin(kπw) e^{-k²π²u/2} / (v² + k²π²).
        let p = lower_probability(v, w);
        let mut sum = 0.0;
        for k in 1..MAX_TERMS {
            let kf = k as f64;
            let rate = v * v + kf * kf * PI * PI;
            let e = (-v * w - rate * u / 2.0).exp();
            sum += kf * (kf * PI * w).sin() * e / rate;
            // The terms' bound k e / rate decreases from here on, faster than geometrically.
            if kf * e / rate <= 1e-18 * p && kf * kf * PI * PI * u > 2.0 {
                break;
            }
        }
        (p - 2.0 * PI * sum).max(0.0)
    }
}

/// The density of [`lower_cdf`] in `u`.
fn lower_density(u: f64, v: f64, w: f64) -> f64 {
    match standard(u, w) {
        Some(g) => (g.log - v * w - v * v * u / 2.0).exp(),
        None => 0.0,
    }
}

/// The time `u` at which [`lower_cdf`] reaches `target` (in `(0, P)`), by Newton steps
/// kept inside a shrinking bracket (bisection when a step leaves it).
fn invert_lower_cdf(target: f64, v: f64, w: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, w * w + 0.1);
    while lower_cdf(hi, v, w) < target {
        lo = hi;
        hi *= 2.0;
        if hi > 1e300 {
            return hi;
        }
    }
    let mut u = 0.5 * (lo + hi);
    for _ in 0..200 {
        let f = lower_cdf(u, v, w) - target;
        if f < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        let density = lower_density(u, v, w);
        let newton = u - f / density;
        let next = if density > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - u).abs() <= 1e-14 * u || hi - lo <= 1e-15 * hi {
            return next;
        }
        u = next;
    }
    u
}

/// A draw of the first-passage time at the upper boundary (including `tau`), conditional
/// on the process ending there: the distribution whose density is [`lpdf`] divided by
/// [`upper_probability`]. `uniform` is a draw in `(0, 1)`; the arguments are valid (as
/// [`crate::draw`] checks them).
pub(crate) fn draw_upper(alpha: f64, tau: f64, beta: f64, delta: f64, uniform: f64) -> f64 {
    let (v, w) = (-delta * alpha, 1.0 - beta);
    let target = uniform * lower_probability(v, w);
    tau + alpha * alpha * invert_lower_cdf(target, v, w)
}

/// The mean and variance of the first-passage time at the upper boundary conditional on
/// ending there, `tau` included, from the Laplace transform
/// `E[e^{-sT}; lower] = e^{-v x} sinh((a - x) θ) / sinh(a θ)`, `θ = √(v² + 2s)`
/// (the conditional moments depend on the drift's size only).
pub(crate) fn upper_moments(alpha: f64, tau: f64, beta: f64, delta: f64) -> (f64, f64) {
    // The lower boundary's problem: start x = a (1 - beta), drift -delta.
    let a = alpha;
    let b = alpha * beta; // distance from the start to the upper boundary: a - x
    let theta = delta.abs();
    let (mean, variance) = if a * theta < 0.1 {
        // Series of coth: g(θ)/θ = Σ c_j θ^{2j}, with the mean -c_0 - c_1 θ² … and the
        // variance 2 (c_1 + 2 c_2 θ² + 3 c_3 θ⁴).
        let p = |n: i32| b.powi(n) - a.powi(n);
        let c0 = p(2) / 3.0;
        let c1 = -p(4) / 45.0;
        let c2 = 2.0 * p(6) / 945.0;
        let c3 = -p(8) / 4725.0;
        let t2 = theta * theta;
        let mean = -(c0 + c1 * t2 + c2 * t2 * t2 + c3 * t2 * t2 * t2);
        let variance = 2.0 * (c1 + 2.0 * c2 * t2 + 3.0 * c3 * t2 * t2);
        (mean, variance)
    } else {
        let coth = |z: f64| 1.0 / z.tanh();
        let csch2 = |z: f64| 1.0 / (z.sinh() * z.sinh());
        let g = b * coth(b * theta) - a * coth(a * theta);
        let dg = -b * b * csch2(b * theta) + a * a * csch2(a * theta);
        (-g / theta, (dg * theta - g) / theta.powi(3))
    };
    (tau + mean, variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_series_agree_where_both_converge() {
        for &u in &[0.05, 0.2, 0.5, 1.0, 2.0] {
            for &w in &[0.01, 0.3, 0.5, 0.8, 0.999] {
                let s = small_time(u, w).expect("positive");
                let l = large_time(u, w).expect("positive");
                assert!((s.log - l.log).abs() < 1e-11, "u {u} w {w}: {s:?} {l:?}");
                assert!(
                    (s.d_u - l.d_u).abs() < 1e-9 * (1.0 + s.d_u.abs()),
                    "{u} {w}"
                );
                assert!(
                    (s.d_w - l.d_w).abs() < 1e-9 * (1.0 + s.d_w.abs()),
                    "{u} {w}"
                );
            }
        }
    }

    #[test]
    fn the_cdf_series_agree_and_integrate_the_density() {
        for &(v, w) in &[(0.0, 0.5), (1.5, 0.3), (-2.0, 0.7), (0.5, 0.05)] {
            // Both CDF series at the switch point.
            let u = 0.5;
            let small = {
                let (m, root) = (f64::abs(v), f64::sqrt(u));
                let term = |x: f64| {
                    let d = x.abs();
                    x.signum()
                        * ((-m * d + log_phi((m * u - d) / root) - v * w).exp()
                            + (m * d + log_phi(-(m * u + d) / root) - v * w).exp())
                };
                (-40..=40).map(|k| term(w + 2.0 * k as f64)).sum::<f64>()
            };
            let large = lower_cdf(u, v, w);
            assert!((small - large).abs() < 1e-13, "{v} {w}: {small} {large}");
            // The CDF's derivative is the density.
            for &u in &[0.05, 0.3, 0.7, 1.5] {
                let h = 1e-6 * u;
                let fd = (lower_cdf(u + h, v, w) - lower_cdf(u - h, v, w)) / (2.0 * h);
                let d = lower_density(u, v, w);
                assert!((fd - d).abs() < 1e-6 * d.max(1e-3), "{v} {w} {u}: {fd} {d}");
            }
            let p = lower_probability(v, w);
            assert!((lower_cdf(1e3, v, w) - p).abs() < 1e-14, "{v} {w}");
        }
    }
}
