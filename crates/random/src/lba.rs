//! Draws of the linear ballistic accumulator (Brown & Heathcote 2008): each response
//! option's accumulator starts uniformly in `(0, A)` and rises at a drift drawn from
//! `Normal(v, s)` towards the threshold `b = A + d`; the first to reach it gives the
//! response and, after the non-decision time, the response time. A trial in which no
//! drift is positive has no response, so the drifts are drawn given that at least one is
//! (the density `LBA(…)` scores, hBayesDM's `lba_lpdf`, is normalized the same way).

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::error::{DrawError, Requirement};

/// One accumulator's arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accumulator {
    /// The threshold's distance above the start-point range, `b - A` (`> 0`).
    pub d: f64,
    /// The width of the start-point range (`> 0`).
    pub a: f64,
    /// The mean drift (finite).
    pub v: f64,
    /// The drift's standard deviation (`> 0`).
    pub s: f64,
}

/// Each accumulator's finishing time, `(A + d - k) / V` with `k ~ Uniform(0, A)` and
/// `V ~ Normal(v, s)`, `+inf` where `V <= 0`, written to `times` (one per accumulator),
/// given that at least one finishes. The response is the index of the smallest.
///
/// Algorithm: exact, without rejection of whole trials (which would never end where
/// every drift is almost surely negative). The signs of the drifts are drawn in order,
/// each given that some drift from it on is positive while none before it was:
/// `P(V_j > 0 | …) = P(V_j > 0) / (1 - prod_{i >= j} P(V_i <= 0))`, from the log of each
/// `P(V_i <= 0)` (so neither product nor complement cancels); once one is positive the
/// rest are unconditioned. A drift known to be positive is drawn from the normal
/// truncated to `(0, inf)`: by rejection from the normal where most of its mass is above
/// 0, and by Robert's (1995) exponential proposal in the tail.
pub fn draw_lba_finish_times<R: Rng + ?Sized>(
    accumulators: &[Accumulator],
    times: &mut [f64],
    rng: &mut R,
) -> Result<(), DrawError> {
    for acc in accumulators {
        check(acc)?;
    }
    if accumulators.is_empty() {
        return Err(DrawError::NoAccumulators);
    }
    // log P(V_i <= 0) for each i, and their sums from each i to the end.
    let log_negative: Vec<f64> = accumulators
        .iter()
        .map(|acc| log_phi(-acc.v / acc.s))
        .collect();
    let mut from_here = vec![0.0; accumulators.len() + 1];
    for j in (0..accumulators.len()).rev() {
        from_here[j] = from_here[j + 1] + log_negative[j];
    }
    if from_here[0] == 0.0 {
        // Every P(V_i <= 0) rounds to 1.
        return Err(DrawError::NoPositiveDrift);
    }
    let mut any_positive = false;
    for (j, (acc, time)) in accumulators.iter().zip(times.iter_mut()).enumerate() {
        let drift = if any_positive {
            let z: f64 = StandardNormal.sample(rng);
            acc.v + acc.s * z
        } else {
            // P(V_j > 0) / P(some V_i > 0, i >= j).
            let positive = -libm::expm1(log_negative[j]);
            let some = -libm::expm1(from_here[j]);
            let p = (positive / some).min(1.0);
            if rng.random::<f64>() < p {
                acc.v + acc.s * positive_normal_tail(-acc.v / acc.s, rng)
            } else {
                0.0
            }
        };
        *time = if drift > 0.0 {
            any_positive = true;
            let start = acc.a * rng.random::<f64>();
            (acc.a + acc.d - start) / drift
        } else {
            f64::INFINITY
        };
    }
    Ok(())
}

fn check(acc: &Accumulator) -> Result<(), DrawError> {
    let argument = |argument, value: f64, requirement| DrawError::Argument {
        family: "LBA",
        argument,
        value,
        requirement,
    };
    for (name, value, positive) in [
        ("d", acc.d, true),
        ("A", acc.a, true),
        ("v", acc.v, false),
        ("s", acc.s, true),
    ] {
        if value.is_nan() {
            return Err(argument(name, value, Requirement::Number));
        }
        if !value.is_finite() {
            return Err(argument(name, value, Requirement::Finite));
        }
        if positive && value <= 0.0 {
            return Err(argument(name, value, Requirement::Positive));
        }
    }
    Ok(())
}

/// `ln Phi(x)`, the standard normal CDF's log, finite far into the lower tail. Unlike
/// `wiener`'s, it keeps the digits of the small log above 0 (`log1p`), which the
/// conditional probability of a positive drift needs; Wiener's draws keep their own
/// (its bits fix the simulated data sets).
fn log_phi(x: f64) -> f64 {
    if x >= 0.0 {
        libm::log1p(-0.5 * libm::erfc(x / std::f64::consts::SQRT_2))
    } else if x > -37.0 {
        (0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)).ln()
    } else {
        // erfc's asymptotic series, before it underflows:
        // Phi(x) = phi(x) / |x| (1 - 1/x² + 3/x⁴ - 15/x⁶ + …).
        let x2 = x * x;
        -0.5 * x2 - (-x).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + libm::log1p(-1.0 / x2 + 3.0 / (x2 * x2) - 15.0 / (x2 * x2 * x2))
    }
}

/// A standard normal draw given that it is above `lower`.
fn positive_normal_tail<R: Rng + ?Sized>(lower: f64, rng: &mut R) -> f64 {
    if lower < 0.5 {
        // At least 30% of the mass is above `lower`: the normal itself, rejected below.
        loop {
            let z: f64 = StandardNormal.sample(rng);
            if z > lower {
                return z;
            }
        }
    }
    // Robert (1995): a shifted exponential of the optimal rate, accepted with
    // probability exp(-(z - rate)² / 2); at least 76% of proposals are accepted.
    let rate = 0.5 * (lower + (lower * lower + 4.0).sqrt());
    loop {
        let e: f64 = Exp1.sample(rng);
        let z = lower + e / rate;
        let u: f64 = rng.random();
        if u.ln() <= -0.5 * (z - rate) * (z - rate) {
            return z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_phi_is_continuous_where_its_two_forms_meet() {
        let below = log_phi(-37.0 - 1e-9);
        let above = log_phi(-37.0 + 1e-9);
        assert!((below - above).abs() < 1e-6, "{below} {above}");
        assert!(log_phi(-1e3).is_finite() && log_phi(40.0) == 0.0);
        // Phi(-1) = 0.158655253931457
        assert!((log_phi(-1.0) - 0.158_655_253_931_457_f64.ln()).abs() < 1e-13);
    }
}
