//! rlc's own `exp` and `ln`: the reference for the JIT's inline kernels.
//!
//! Why our own: a learning model's trial calls one `exp` and one `ln` (the
//! log-sum-exp of its choice), and as library calls they cost half of a
//! trial's gradient: the call itself, the float registers the loop keeps live
//! spilled around it, and glibc's slower path for `ln` near 1 (where `1 + e`
//! of a confident choice lies). The JIT emits the operations below inline
//! (`rlc_jit`'s `smath`), one for one, and the interpreter calls these, so
//! both back ends give the same bits (`fma` is exactly rounded wherever it
//! runs). Arguments outside the fast range (NaN, infinities, zero, negative,
//! subnormal, and `exp` beyond `|x| >= 708`, where results leave the normal
//! doubles) take a second path, still with no call: a call would make the
//! JIT spill every float register the loop keeps live around it.
//!
//! Method (Tang's table-driven reductions, written from the published
//! descriptions): `exp(x) = 2^(m/128) e^r` with `m` the nearest integer to
//! `128 x / ln 2` and `|r| <= ln 2 / 256`; `2^(m/128)` is a table entry
//! times a power of two set in the exponent bits, and `e^r - 1` a degree-5
//! polynomial. `ln(x) = k ln 2 + ln(c) + log1p(z/c - 1)` with `z = x / 2^k`
//! in `[0.6875, 1.375)`, `c` from a table of 128 intervals of `z` (`c = 1`
//! exactly for the two beside 1) and `log1p` a degree-8 polynomial;
//! `k ln 2 + ln(c)` is summed with its rounding error kept.
//!
//! Accuracy (the tests, against std's `exp` and `ln`, glibc's): within 1 ulp
//! of std on every argument tried, equal on most.

pub use crate::elementary_tables::{EXP_TABLE, LN_TABLE};

/// An entry of `exp`'s table (C layout: the JIT reads it by address).
#[repr(C)]
pub struct ExpEntry {
    /// The bits of `2^(j/128)` rounded, minus `j << 45`.
    pub scale_bits: u64,
    /// `2^(j/128)`'s relative rounding error.
    pub tail: f64,
}

/// An entry of `ln`'s table (C layout: the JIT reads it by address).
#[repr(C)]
pub struct LnEntry {
    /// `1/c` for the interval's point `c`.
    pub inv_c: f64,
    /// `ln(c)` in two parts.
    pub ln_c_hi: f64,
    pub ln_c_lo: f64,
}

/// `1.5 * 2^52`: adding it to a double of magnitude below `2^51` rounds it to
/// an integer, held in the low bits of the sum.
pub const SHIFT: f64 = 6755399441055744.0;
/// `exp` takes the fast path where `|x|` is below this: `e^x` is then a
/// normal double (the smallest normal is `e^-708.40`).
pub const EXP_FAST_BOUND: f64 = 708.0;
/// `exp`'s clamps: beyond them the result is already `+inf` or 0.
pub const EXP_CLAMP_HI: f64 = 710.0;
pub const EXP_CLAMP_LO: f64 = -746.0;
/// Outside the fast range, `2^(m/128)` is built `512` binades nearer 1
/// (`m` shifted by `512 * 128`) and multiplied by `2^512` or `2^-512`.
pub const EXP_SPLIT: i64 = 512 << 7;
pub const EXP_SPLIT_UP: f64 = f64::from_bits((1023 + 512) << 52);
pub const EXP_SPLIT_DOWN: f64 = f64::from_bits((1023 - 512) << 52);
/// `128 / ln 2`.
pub const EXP_N_OVER_LN2: f64 = 128.0 / std::f64::consts::LN_2;
/// `ln 2 / 128` in two parts, the high one exact for the reduction's `fma`.
pub const EXP_LN2_OVER_N_HI: f64 = f64::from_bits(0x3f762e42fefa39ef);
pub const EXP_LN2_OVER_N_LO: f64 = f64::from_bits(0x3c0abc9e3b39803f);
/// `e^r - 1 - r = r^2 (C2 + C3 r + C4 r^2 + C5 r^3)`: Taylor's coefficients
/// (the next term is below 0.01 ulp on `|r| <= ln 2 / 256`).
pub const EXP_C: [f64; 4] = [0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0];

/// `ln`'s reduction offset: the bits of 0.6875.
pub const LN_OFF: u64 = 0x3fe6_0000_0000_0000;
/// The bits of the smallest normal double: `x - this` below
/// `LN_NORMAL_SPAN` (unsigned) exactly when `x` is a positive normal double.
pub const LN_SMALLEST_NORMAL: u64 = 0x0010_0000_0000_0000;
pub const LN_NORMAL_SPAN: u64 = 0x7fe0_0000_0000_0000;
/// A positive subnormal argument of `ln` is multiplied by `2^54`.
pub const LN_SUBNORMAL_BINADES: i64 = 54;
pub const LN_SUBNORMAL_SCALE: f64 = f64::from_bits((1023 + 54) << 52);
/// `ln 2` in two parts, the high one with 21 trailing zero bits so that
/// `k * LN2_HI` is exact for every exponent `k`.
pub const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
pub const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `log1p(r) - r = r^2 (Q0 + Q1 r + ... + Q6 r^6)`: Taylor's coefficients
/// (`-1/2, 1/3, ..., -1/8`; the next term is below 0.02 ulp on `|r| <= 2^-7`).
pub const LN_Q: [f64; 7] = [-0.5, 1.0 / 3.0, -0.25, 0.2, -1.0 / 6.0, 1.0 / 7.0, -0.125];

/// `e^x`, within 1 ulp of the library's.
pub fn exp(x: f64) -> f64 {
    // NaN fails the test, as do arguments whose results are not normal doubles.
    if x.abs() < EXP_FAST_BOUND {
        let (m_bits, entry, p) = exp_reduce(x);
        let scale = exp_scale(m_bits, entry, 0);
        return scale.mul_add(p, scale);
    }
    // Near and beyond the ends of the doubles: beyond the clamps the result is
    // already +inf or 0, and the power of two is built 512 binades nearer 1
    // and applied by a second multiplication, which overflows or rounds to a
    // subnormal (NaN stays NaN throughout).
    let x = x.clamp(EXP_CLAMP_LO, EXP_CLAMP_HI);
    let (m_bits, entry, p) = exp_reduce(x);
    let (shift, factor) = if x > 0.0 {
        (-EXP_SPLIT, EXP_SPLIT_UP)
    } else {
        (EXP_SPLIT, EXP_SPLIT_DOWN)
    };
    let scale = exp_scale(m_bits, entry, shift);
    scale.mul_add(p, scale) * factor
}

/// The reduction of `exp`: the bits holding `m` (the nearest integer to
/// `128 x / ln 2`, in the low bits), the table's entry for `m mod 128`, and
/// `p` with `e^x = 2^(m/128) (1 + p)` (the entry's rounding error included).
fn exp_reduce(x: f64) -> (u64, &'static ExpEntry, f64) {
    let shifted = x * EXP_N_OVER_LN2 + SHIFT;
    let m_bits = shifted.to_bits();
    let m = shifted - SHIFT;
    let r = (-m).mul_add(EXP_LN2_OVER_N_HI, x);
    let r = (-m).mul_add(EXP_LN2_OVER_N_LO, r);
    let entry = &EXP_TABLE[(m_bits & 127) as usize];
    let r2 = r * r;
    let high = EXP_C[3].mul_add(r, EXP_C[2]);
    let low = EXP_C[1].mul_add(r, EXP_C[0]);
    let poly = high.mul_add(r2, low);
    (m_bits, entry, poly.mul_add(r2, r + entry.tail))
}

/// `2^((m + shift)/128)` rounded as the table's entry: the low bits of
/// `m_bits` are `m` (two's complement), and shifted by 45 they add `m / 128`
/// (rounded down) to the exponent of the entry, whose own `j << 45` was
/// subtracted when the table was made.
fn exp_scale(m_bits: u64, entry: &ExpEntry, shift: i64) -> f64 {
    let m_bits = m_bits.wrapping_add(shift as u64);
    f64::from_bits(entry.scale_bits.wrapping_add(m_bits << 45))
}

/// `ln(x)`, within 1 ulp of the library's.
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    if bits.wrapping_sub(LN_SMALLEST_NORMAL) < LN_NORMAL_SPAN {
        return ln_normal(bits, 0);
    }
    if bits.wrapping_sub(1) < LN_SMALLEST_NORMAL - 1 {
        // A positive subnormal: scaled into the normal doubles exactly.
        return ln_normal((x * LN_SUBNORMAL_SCALE).to_bits(), -LN_SUBNORMAL_BINADES);
    }
    if x == 0.0 {
        f64::NEG_INFINITY
    } else if x < 0.0 {
        f64::NAN
    } else {
        // +inf and NaN are their own logarithms.
        x
    }
}

/// `ln` of the positive normal double of bits `bits`, times `2^extra_k`.
fn ln_normal(bits: u64, extra_k: i64) -> f64 {
    let offset = bits.wrapping_sub(LN_OFF);
    let k = ((offset as i64 >> 52) + extra_k) as f64;
    let z = f64::from_bits(bits.wrapping_sub(offset & (0xfff << 52)));
    let entry = &LN_TABLE[((offset >> 45) & 127) as usize];
    let (ln_c_hi, ln_c_lo) = (entry.ln_c_hi, entry.ln_c_lo);
    let r = z.mul_add(entry.inv_c, -1.0);
    // k ln 2 + ln(c) + r, summed with each rounding error kept (both sums
    // add the smaller term to the larger, or to 0).
    let a = k * LN2_HI;
    let s = a + ln_c_hi;
    let s_error = (a - s) + ln_c_hi;
    let hi = s + r;
    let lo = ((s - hi) + r) + (s_error + k.mul_add(LN2_LO, ln_c_lo));
    // The polynomial by Estrin's scheme: a shorter chain of dependent
    // operations than Horner's.
    let r2 = r * r;
    let q01 = LN_Q[1].mul_add(r, LN_Q[0]);
    let q23 = LN_Q[3].mul_add(r, LN_Q[2]);
    let q45 = LN_Q[5].mul_add(r, LN_Q[4]);
    let r4 = r2 * r2;
    let q0123 = q23.mul_add(r2, q01);
    let q456 = LN_Q[6].mul_add(r2, q45);
    let poly = q456.mul_add(r4, q0123);
    hi + poly.mul_add(r2, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// A small deterministic generator (xorshift), for reproducible arguments.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
        }
    }

    /// The largest difference from `reference` in ulps, where, and on how
    /// many arguments the two differ (printed: `--nocapture` shows it).
    fn worst(f: fn(f64) -> f64, reference: fn(f64) -> f64, xs: &[f64]) -> (u64, f64, usize) {
        let mut worst = (0, 0.0, 0);
        for &x in xs {
            let d = ulps(f(x), reference(x));
            if d > worst.0 {
                worst.0 = d;
                worst.1 = x;
            }
            if d > 0 {
                worst.2 += 1;
            }
        }
        eprintln!(
            "max {} ulp (at {:e}), {} of {} arguments differ",
            worst.0,
            worst.1,
            worst.2,
            xs.len()
        );
        worst
    }

    #[test]
    fn the_constants_are_what_they_say() {
        let ln2_n = std::f64::consts::LN_2 / 128.0;
        assert_eq!(EXP_LN2_OVER_N_HI, ln2_n);
        assert!((EXP_LN2_OVER_N_LO / ln2_n).abs() < 1e-16);
        assert_eq!(LN2_HI.to_bits() & ((1 << 21) - 1), 0);
        // ln 2 = LN_2 + 2.319e-17 (the double's rounding error).
        let ln2_tail = 2.319_046_813_846_299_6e-17;
        assert!(((LN2_HI - std::f64::consts::LN_2) + LN2_LO - ln2_tail).abs() < 1e-25);
    }

    #[test]
    fn the_tables_hold_powers_of_two_and_logs() {
        for (j, e) in EXP_TABLE.iter().enumerate() {
            let (adjusted, tail) = (e.scale_bits, e.tail);
            let t = f64::from_bits(adjusted.wrapping_add((j as u64) << 45));
            let exact = (j as f64 / 128.0).exp2();
            assert!(ulps(t, exact) <= 1, "2^({j}/128): {t} vs {exact}");
            assert!(tail.abs() <= f64::EPSILON / 2.0, "tail {j}: {tail}");
        }
        for (i, e) in LN_TABLE.iter().enumerate() {
            let (inv_c, hi, lo) = (e.inv_c, e.ln_c_hi, e.ln_c_lo);
            let lower = f64::from_bits(LN_OFF + ((i as u64) << 45));
            let upper = f64::from_bits(LN_OFF + ((i as u64 + 1) << 45));
            let c = 1.0 / inv_c;
            assert!(lower <= c && c <= upper, "interval {i}: c {c}");
            assert!(ulps(hi, -inv_c.ln()) <= 1, "ln c {i}");
            assert!(lo.abs() <= hi.abs() * f64::EPSILON, "ln c tail {i}");
        }
    }

    #[test]
    fn exp_is_within_an_ulp_of_the_library() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut xs: Vec<f64> = Vec::new();
        for (lo, hi, n) in [
            (-708.0, 708.0, 1_000_000),
            (-40.0, 40.0, 1_000_000),
            (-1.0, 1.0, 500_000),
            (-1e-3, 1e-3, 200_000),
            (-1e-12, 1e-12, 100_000),
            (700.0, 710.0, 100_000),
            (-746.0, -700.0, 100_000),
            (-800.0, 800.0, 10_000),
        ] {
            xs.extend((0..n).map(|_| rng.uniform(lo, hi)));
        }
        // Every power of two's neighbourhood, and the reduction's boundaries.
        for e in -1074..=10 {
            let x = 2f64.powi(e);
            xs.extend([x, -x, x * 1.5, -x * 1.5]);
        }
        for m in -130_000i64..130_000 {
            let boundary = (m as f64 + 0.5) * std::f64::consts::LN_2 / 128.0;
            xs.extend([boundary, f64::from_bits(boundary.to_bits() + 1)]);
        }
        let (d, at, differ) = worst(exp, f64::exp, &xs);
        assert!(d <= 1, "exp: {d} ulp at {at}");
        assert!(
            differ * 20 < xs.len(),
            "exp differs on {differ} of {}",
            xs.len()
        );
    }

    #[test]
    fn ln_is_within_an_ulp_of_the_library() {
        let mut rng = Rng(0x0fed_cba9_8765_4321);
        let mut xs: Vec<f64> = Vec::new();
        for (lo, hi, n) in [
            (0.5, 2.0, 1_000_000),
            (1.0 - 1e-2, 1.0 + 1e-2, 500_000),
            (1.0 - 1e-8, 1.0 + 1e-8, 200_000),
            (1.0, 2.0, 500_000),
            (0.0, 1e6, 300_000),
        ] {
            xs.extend((0..n).map(|_| rng.uniform(lo, hi)));
        }
        // Arguments spread over every exponent, subnormals, and the doubles nearest 1.
        xs.extend((0..1_000_000).map(|_| f64::from_bits(rng.next() >> 1)));
        xs.extend((0..200_000).map(|_| f64::from_bits(rng.next() >> 12)));
        for k in 1..100_000u64 {
            xs.extend([
                f64::from_bits(1f64.to_bits() + k),
                f64::from_bits(1f64.to_bits() - k),
            ]);
        }
        let (d, at, differ) = worst(ln, f64::ln, &xs);
        assert!(d <= 1, "ln: {d} ulp at {at}");
        assert!(
            differ * 20 < xs.len(),
            "ln differs on {differ} of {}",
            xs.len()
        );
    }

    #[test]
    fn special_arguments_are_the_librarys() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            708.0,
            -708.0,
            709.78,
            710.0,
            -745.2,
            -746.0,
        ] {
            for (name, ours, std) in [("exp", exp(x), x.exp()), ("ln", ln(x), x.ln())] {
                if std.is_finite() && std != 0.0 {
                    assert!(ulps(ours, std) <= 1, "{name}({x}) = {ours}, std {std}");
                } else {
                    // NaN, infinities and zeros exactly, the sign of zero too.
                    assert_eq!(ours.is_nan(), std.is_nan(), "{name}({x})");
                    if !std.is_nan() {
                        assert_eq!(ours.to_bits(), std.to_bits(), "{name}({x})");
                    }
                }
            }
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(ln(1.0).to_bits(), 0.0f64.to_bits());
    }
}
