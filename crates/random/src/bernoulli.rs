//! Exact Bernoulli trials, including probabilities far below the resolution of one
//! uniform `f64`, and the logistic function computed without cancellation.

use rand::Rng;

/// `logistic(x) = 1 / (1 + e^-x)` for `x <= 0` (or `-inf`), computed as `e^x / (1 + e^x)`,
/// which keeps full relative precision down to the subnormal range.
pub(crate) fn logistic_nonpositive(x: f64) -> f64 {
    debug_assert!(x <= 0.0);
    let e = x.exp();
    e / (1.0 + e)
}

/// `(logistic(x), logistic(-x))`, each to full relative precision (the smaller one is
/// computed directly rather than as `1 - larger`).
pub(crate) fn logistic_pair(x: f64) -> (f64, f64) {
    if x <= 0.0 {
        let p = logistic_nonpositive(x);
        (p, 1.0 - p)
    } else {
        let q = logistic_nonpositive(-x);
        (1.0 - q, q)
    }
}

/// `true` with probability exactly `p` (`p` in `[0, 1]`).
///
/// The rarer outcome is drawn by [`bernoulli_at_most_half`], so both `p = 1e-20` and
/// `p = 1 - 2^-53` are exact: `1 - p` is exact in `f64` for `p >= 0.5` (Sterbenz).
pub(crate) fn bernoulli<R: Rng + ?Sized>(p: f64, rng: &mut R) -> bool {
    if p <= 0.5 {
        bernoulli_at_most_half(p, rng)
    } else {
        !bernoulli_at_most_half(1.0 - p, rng)
    }
}

/// `true` with probability `logistic(logit)`, exact however large `|logit|` is.
pub(crate) fn bernoulli_logit<R: Rng + ?Sized>(logit: f64, rng: &mut R) -> bool {
    if logit <= 0.0 {
        bernoulli_at_most_half(logistic_nonpositive(logit), rng)
    } else {
        !bernoulli_at_most_half(logistic_nonpositive(-logit), rng)
    }
}

/// `true` with probability exactly `r` for `r` in `[0, 0.5]` (also correct up to 1).
///
/// Algorithm: a uniform `U` with unbounded precision is below `r = m · 2^-k`
/// (`m ∈ [0.5, 1)`) exactly when its first `k` bits are all zero and the bits after them,
/// again a uniform, are below `m`. The `k` leading bits are checked 64 at a time (almost
/// always the first word decides), then a fresh 64-bit word `W` is compared with the
/// integer `m · 2^64`, which is exact because `m` has 53 significant bits. So the outcome
/// has probability exactly `r`, unlike `u < r` with one uniform `u`, whose resolution of
/// `2^-53` makes an event of probability `1e-20` happen about 10^4 times too often.
pub(crate) fn bernoulli_at_most_half<R: Rng + ?Sized>(r: f64, rng: &mut R) -> bool {
    if r.is_nan() || r <= 0.0 {
        return false;
    }
    if r >= 1.0 {
        return true;
    }
    let (m, k) = split_binary(r);
    let mut leading = k;
    while leading >= 64 {
        if rng.next_u64() != 0 {
            return false;
        }
        leading -= 64;
    }
    if leading > 0 && rng.next_u64() >> (64 - leading) != 0 {
        return false;
    }
    // m ∈ [0.5, 1), so m · 2^64 ∈ [2^63, 2^64) is a whole number that fits a u64.
    let threshold = (m * TWO_POW_64) as u64;
    rng.next_u64() < threshold
}

const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// `r = m · 2^-k` with `m ∈ [0.5, 1)` and `k >= 0`, for `r` in `(0, 1)` (subnormals too).
fn split_binary(r: f64) -> (f64, u32) {
    debug_assert!(r > 0.0 && r < 1.0);
    // Scale subnormals into the normal range first, so the exponent field is meaningful.
    let (r, extra) = if r < f64::MIN_POSITIVE {
        (r * TWO_POW_64, 64)
    } else {
        (r, 0)
    };
    let bits = r.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as u32;
    // Keep the significand and set the exponent so the value lies in [0.5, 1).
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, 1022 - exponent + extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_binary_is_exact() {
        for r in [
            0.5,
            0.25,
            0.3,
            1e-20,
            1e-310,
            f64::MIN_POSITIVE,
            5e-324,
            0.999,
        ] {
            let (m, k) = split_binary(r);
            assert!((0.5..1.0).contains(&m), "{r}: m = {m}");
            // Two half steps keep the intermediate value normal, so the product is exact.
            let half = (k / 2) as i32;
            assert_eq!(
                m * 2f64.powi(-half) * 2f64.powi(half - k as i32),
                r,
                "{r}: k = {k}"
            );
        }
    }

    #[test]
    fn logistic_is_accurate_in_both_tails() {
        let (p, q) = logistic_pair(-30.0);
        // Reference values from 40-digit arithmetic; both within a few ulps.
        assert!((p / 9.357622968839299e-14 - 1.0).abs() < 1e-15);
        assert_eq!(q, 1.0 - p);
        let (p, q) = logistic_pair(40.0);
        assert!((q / 4.248354255291589e-18 - 1.0).abs() < 1e-15);
        assert_eq!(p, 1.0);
        assert_eq!(logistic_pair(f64::NEG_INFINITY), (0.0, 1.0));
        assert_eq!(logistic_pair(f64::INFINITY), (1.0, 0.0));
    }
}
