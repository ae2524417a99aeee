//! Special functions whose direct formulas overflow or lose every digit where
//! the value itself is an ordinary number: the log of the standard normal CDF
//! (`log(Phi(x))` is `-inf` below about `x = -38`) and the log of the
//! exponentially scaled modified Bessel function `I0` (`I0(x)` overflows
//! above `x = 713`, the von Mises density's normalizer), each with the slope
//! its derivative needs, computed where it stays accurate.
//!
//! The interpreter and the JIT's runtime call these same functions, so both
//! back ends give the same bits.

use std::f64::consts::{PI, SQRT_2};

/// `ln(2 pi) / 2`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Below this `x`, `Phi(x)` is computed by its asymptotic series (`erfc` of
/// `-x / sqrt 2 > 26.16` is near the end of the normal doubles).
const LOG_PHI_SERIES_BELOW: f64 = -37.0;

/// `sum_k (-1)^k (2k-1)!! / x^(2k)` for `x <= -37`: `Phi(x) = phi(x) / (-x)`
/// times this. Its terms fall by at least `1 / x^2 < 1/1369` each, so ten
/// reach far below an ulp.
fn mills_series(x: f64) -> f64 {
    let r = 1.0 / (x * x);
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=10 {
        term *= -((2 * k - 1) as f64) * r;
        sum += term;
    }
    sum
}

/// Mills' ratio `R(x) = Phi(-x) / phi(x)`, the normal tail beyond `x` in units of the
/// density at `x`: about `1 / x` far above 0, and finite there where `Phi(-x)` and
/// `phi(x)` underflow (from `x = 38`); it overflows, as the ratio does, below about
/// `x = -37.7`. From `erfc` below 37 (`erfc(x / sqrt 2)` and `exp(x^2 / 2)` stay normal
/// doubles there), the asymptotic series above.
pub fn mills_ratio(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x >= -LOG_PHI_SERIES_BELOW {
        return mills_series(-x) / x;
    }
    0.5 * libm::erfc(x / SQRT_2) * (0.5 * x * x).exp() * (2.0 * PI).sqrt()
}

/// `ln Phi(x)`, the log of the standard normal CDF, finite for every finite
/// `x` (Stan's `std_normal_lcdf`): `ln1p(-Phi(-x))` above 0 (where `Phi(x)`
/// is near 1 and its log small), the log of `erfc` down to -37, the
/// asymptotic series below.
pub fn log_phi(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 0.0 {
        return (-0.5 * libm::erfc(x / SQRT_2)).ln_1p();
    }
    if x > LOG_PHI_SERIES_BELOW {
        return (0.5 * libm::erfc(-x / SQRT_2)).ln();
    }
    if x == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    // ln(phi(x) / -x) written so that x^2 / 2 cannot overflow before x is
    // below -1e154, where the value is -inf anyway.
    -0.5 * x * x - (-x).ln() - HALF_LN_2PI + mills_series(x).ln()
}

/// The derivative of [`log_phi`]: `phi(x) / Phi(x)` (the inverse Mills
/// ratio of `-x`), about `-x` far below 0, 0 far above.
pub fn log_phi_slope(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= LOG_PHI_SERIES_BELOW {
        // phi(x) / Phi(x) = -x / series, exact to an ulp where x^2 would not be.
        return -x / mills_series(x);
    }
    (-0.5 * x * x - HALF_LN_2PI - log_phi(x)).exp()
}

/// `Phi^-1(p)`, the standard normal quantile (Stan's `inv_Phi`): `-inf` at 0,
/// `inf` at 1, NaN outside `[0, 1]`. Abramowitz and Stegun's 26.2.23 (error
/// below 4.5e-4) for the lower half, then Newton's method on `log_phi(x) =
/// ln p`, which is concave and increasing, so the steps converge from either
/// side, quadratically: three reach an ulp, the fourth checks. The upper half
/// by symmetry, from `1 - p` (exact for p >= 0.5).
pub fn inv_phi(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p > 0.5 {
        return -inv_phi(1.0 - p);
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    let t = (-2.0 * p.ln()).sqrt();
    let mut x = -(t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t));
    let target = p.ln();
    for _ in 0..6 {
        let step = (log_phi(x) - target) / log_phi_slope(x);
        x -= step;
        if step.abs() <= 1e-16 * x.abs().max(1e-300) {
            break;
        }
    }
    x
}

/// From here on `I0` and `I1` are computed by their asymptotic series, whose
/// smallest term there is far below an ulp; below, by the power series,
/// whose terms are all positive (no cancellation) and about 70 at most.
const BESSEL_ASYMPTOTIC_FROM: f64 = 30.0;

/// `ln(I0(x) e^-x)` and `ln(I1(x) / I0(x))` for `x >= 0`. Each series is
/// summed as `1 + rest` and taken as `ln_1p(rest)`, so that neither the small
/// `rest` near 0 nor the difference of the two logs far out loses digits.
fn log_bessel_i0e_and_ratio(x: f64) -> (f64, f64) {
    // The rests of the two series (their first terms are 1).
    let (mut t0, mut r0, mut t1, mut r1) = (1.0f64, 0.0f64, 1.0f64, 0.0f64);
    if x < BESSEL_ASYMPTOTIC_FROM {
        // I0 = sum (x²/4)^k / (k!)², I1 = (x/2) sum (x²/4)^k / (k! (k+1)!).
        let q = 0.25 * x * x;
        for k in 1..200 {
            let k = k as f64;
            t0 *= q / (k * k);
            t1 *= q / (k * (k + 1.0));
            r0 += t0;
            r1 += t1;
            if t0 <= (1.0 + r0) * 1e-17 && t1 <= (1.0 + r1) * 1e-17 {
                break;
            }
        }
        let ln_i0 = r0.ln_1p();
        (ln_i0 - x, (0.5 * x).ln() + r1.ln_1p() - ln_i0)
    } else {
        // I_nu(x) e^-x ~ (2 pi x)^-1/2 sum_k (-1)^k prod_j (4nu² - (2j-1)²) / (k! (8x)^k).
        for k in 1..60 {
            let odd = (2 * k - 1) as f64;
            let d = 8.0 * x * k as f64;
            let n0 = t0 * odd * odd / d;
            let n1 = t1 * (odd * odd - 4.0) / d;
            if n0.abs() > t0.abs() {
                break; // the asymptotic series starts to diverge
            }
            t0 = n0;
            t1 = n1;
            r0 += t0;
            r1 += t1;
            if t0.abs() <= 1e-17 && t1.abs() <= 1e-17 {
                break;
            }
        }
        let ln_i0 = r0.ln_1p();
        (-0.5 * (2.0 * PI * x).ln() + ln_i0, r1.ln_1p() - ln_i0)
    }
}

/// `ln(I0(x) e^-|x|)`, the log of the exponentially scaled modified Bessel
/// function of the first kind of order 0: finite for every finite `x` (the
/// von Mises normalizer is `ln(2 pi) + kappa + log_bessel_i0e(kappa)`).
pub fn log_bessel_i0e(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    if a == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    log_bessel_i0e_and_ratio(a).0
}

/// The derivative of [`log_bessel_i0e`]: `sign(x) (I1(|x|) / I0(|x|) - 1)`,
/// computed as `expm1` of the difference of the logs, so that it keeps its
/// digits where it is about `-1 / (2x)`.
pub fn log_bessel_i0e_slope(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    if a == f64::INFINITY {
        return 0.0;
    }
    let slope = log_bessel_i0e_and_ratio(a).1.exp_m1();
    if x < 0.0 {
        -slope
    } else {
        slope
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // reference values as mpmath printed them
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs().max(1e-300),
            "got {got:e}, want {want:e}"
        );
    }

    /// Values of mpmath at 50 digits: `log(ncdf(x))`.
    #[test]
    fn log_phi_matches_high_precision_values() {
        let cases = [
            (-1000.0, -500007.82669481218),
            (-100.0, -5005.5242086942051),
            (-38.0, -726.55721601882013),
            (-37.0, -689.03058557689059),
            (-10.0, -53.231285150512471),
            (-1.0, -1.8410216450092635),
            (0.0, -std::f64::consts::LN_2),
            (0.5, -0.36894641528865639),
            (3.0, -0.0013508099647481938),
            (5.0, -2.8665161296376359e-7),
            (10.0, -7.6198530241605261e-24),
        ];
        for (x, want) in cases {
            close(log_phi(x), want, 1e-14);
        }
        assert_eq!(log_phi(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(log_phi(f64::INFINITY), 0.0);
        assert!(log_phi(f64::NAN).is_nan());
    }

    /// Values of mpmath at 40 digits: `ncdf(-x) / npdf(x)`, on both sides of the switch
    /// from `erfc` to the series at 37.
    #[test]
    fn mills_ratio_matches_high_precision_values() {
        let cases = [
            (-5.0, 672_621.636_722_879_25),
            (-1.0, 3.477_051_811_703_694_5),
            (0.0, 1.253_314_137_315_500_3),
            (0.5, 0.876_364_456_453_692_3),
            (1.0, 0.655_679_542_418_798_5),
            (3.0, 0.304_590_298_710_103_3),
            (10.0, 0.099_028_596_471_731_92),
            (26.0, 0.038_404_893_342_102_13),
            (36.9, 0.027_080_411_586_417_08),
            (37.0, 0.027_007_327_965_128_34),
            (37.1, 0.026_934_637_468_950_71),
            (60.0, 0.016_662_040_889_713_75),
            (1000.0, 0.000_999_999_000_003),
            (1e8, 1e-8),
        ];
        for (x, want) in cases {
            close(mills_ratio(x), want, 1e-13);
        }
        assert_eq!(mills_ratio(f64::INFINITY), 0.0);
        assert_eq!(mills_ratio(f64::NEG_INFINITY), f64::INFINITY);
        assert!(mills_ratio(f64::NAN).is_nan());
    }

    /// mpmath: `-sqrt(2) * erfcinv(2 p)`.
    #[test]
    fn inv_phi_matches_high_precision_values() {
        let cases = [
            (1e-300, -37.047096299361199),
            (1e-10, -6.3613409024040562),
            (0.025, -1.9599639845400542),
            (0.3, -0.52440051270804082),
            (0.5, 0.0),
            (0.7, 0.52440051270804066),
            (0.975, 1.9599639845400539),
            (1.0 - 1e-10, 6.3613408896974219),
        ];
        for (p, want) in cases {
            let got = inv_phi(p);
            assert!(
                (got - want).abs() <= 4e-16 * want.abs().max(1.0),
                "inv_phi({p:e}) = {got:e}, want {want:e}"
            );
        }
        assert_eq!(inv_phi(0.0), f64::NEG_INFINITY);
        assert_eq!(inv_phi(1.0), f64::INFINITY);
        assert!(inv_phi(-0.1).is_nan() && inv_phi(1.5).is_nan() && inv_phi(f64::NAN).is_nan());
        // It inverts Phi: on a grid of p, Phi(inv_phi(p)) = p.
        for k in 1..1000 {
            let p = k as f64 / 1000.0;
            let back = 0.5 * libm::erfc(-inv_phi(p) / SQRT_2);
            // (An ulp of the quantile moves Phi by |x| phi/Phi times as much, relatively.)
            assert!(
                (back - p).abs() <= 32.0 * f64::EPSILON * p,
                "p = {p}: {back}"
            );
        }
    }

    #[test]
    fn log_phi_slope_is_its_derivative() {
        for x in [
            -1e4f64, -200.0, -37.5, -36.5, -5.0, -1.0, 0.0, 0.7, 4.0, 9.0,
        ] {
            let h = 1e-6 * x.abs().max(1.0);
            let fd = (log_phi(x + h) - log_phi(x - h)) / (2.0 * h);
            close(log_phi_slope(x), fd, 1e-6);
        }
        close(log_phi_slope(-1e200), 1e200, 1e-15);
        assert_eq!(log_phi_slope(f64::INFINITY), 0.0);
    }

    /// mpmath: `log(besseli(0, x)) - x`.
    #[test]
    fn log_bessel_i0e_matches_high_precision_values() {
        let cases = [
            (0.0, 0.0),
            (1e-3, -0.000999750000015625),
            (0.5, -0.4384502808145187),
            (2.0, -1.1760064585170437),
            (29.9, -2.6136146894449043),
            (30.0, -2.6152985668280642),
            (100.0, -3.2202673100574163),
            (1e6, -7.8266936871867473),
        ];
        for (x, want) in cases {
            close(log_bessel_i0e(x), want, 1e-14);
            close(log_bessel_i0e(-x), want, 1e-14);
        }
    }

    #[test]
    fn log_bessel_i0e_slope_is_its_derivative() {
        for x in [1e-3f64, 0.5, 3.0, 29.5, 30.5, 250.0, 1e5] {
            let h = 1e-6 * x;
            let fd = (log_bessel_i0e(x + h) - log_bessel_i0e(x - h)) / (2.0 * h);
            close(log_bessel_i0e_slope(x), fd, 1e-6);
            close(log_bessel_i0e_slope(-x), -fd, 1e-6);
        }
        assert_eq!(log_bessel_i0e_slope(0.0), -1.0);
        // I1/I0 - 1 ~ -1/(2x) - 1/(8x²) far out.
        close(log_bessel_i0e_slope(1e8), -0.5e-8 - 0.125e-16, 1e-12);
    }
}
