//! Vector special-function kernels for the lane code generator: `exp`, `ln`
//! and `log1p` of an `F64X2` value (two subjects' numbers side by side),
//! emitted inline as Cranelift IR.
//!
//! Why: Cranelift has no transcendental instructions, and calling the scalar
//! library function once per lane would cost the lanes their gain. So each
//! kernel is a short straight-line sequence (no calls, no branches, no
//! lookup tables): both lanes run the same instructions, and special
//! arguments (NaN, infinities, zero, out of domain, overflow) are handled by
//! vector compares and `bitselect`.
//!
//! Method: the classic fdlibm reductions (Cody–Waite / Tang). `exp` writes
//! `x = k ln2 + r` with ln2 split in a high part exact in `k * ln2_hi` and a
//! low part, approximates `e^r` with fdlibm's rational form in `r`, and
//! scales by `2^k` in two multiplications by powers of two built from integer
//! bits (so results near overflow and subnormal results are right). `ln`
//! splits the bits into exponent and mantissa, reduces the mantissa to
//! `[sqrt(2)/2, sqrt(2))`, writes `ln(1+f)` with `s = f/(2+f)` and a
//! polynomial in `s^2`, and adds `k ln2` in two parts. `log1p` reduces
//! `u = 1 + x` the same way and adds the rounding error of `1 + x` as the
//! correction `c/u`.
//!
//! Accuracy, measured by the tests against Rust's `f64::exp`, `ln`, `ln_1p`
//! (glibc's): at most 1 ulp from std for every result (`MAX_ULP_*`) over
//! 4.5 million arguments for `exp` (1 ulp apart on 7.0% of them), 3.5 million
//! for `ln` (2.2%) and 4.4 million for `log1p` (0.14%); NaN, infinities and
//! zeros (underflow included) exactly as std.
//!
//! No FMA is used (only separately rounded `fmul`/`fadd`), so the results are
//! the same bits on every x86-64 whatever its features; the tests check that
//! code compiled for plain SSE2, and for SSE4.1, gives the bits of code
//! compiled with the host's features (AVX-512 and FMA where measured).
//! Everything lowers with SSE2 alone: float arithmetic and compares (`addpd`,
//! `divpd`, `cmppd`), 64-bit lane integer ops (`paddq`, `psubq`, `pand`,
//! `psllq`, `psrlq`), constants (loads from the constant pool), `bitselect`
//! (`and`/`andn`/`or`, or `pblendvb` with SSE4.1; the clamps of `exp` become
//! `minpd`/`maxpd`). Avoided, for lack of a short SSE2 lowering: `nearest`
//! (`roundpd` is SSE4.1, otherwise libcalls), `fcvt_from_sint` of `I64X2`
//! (scalarized through general registers), `sshr` of `I64X2` (AVX-512
//! `vpsraq`, otherwise a five-instruction emulation), `icmp` of `I64X2` (one
//! instruction with SSE4.1/4.2, an emulation without) and `fmin`/`fmax` (long
//! NaN-exact sequences).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F64X2, I64X2};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;

/// Largest difference from std's `f64::exp` measured by the tests, in ulp.
#[cfg(test)]
const MAX_ULP_EXP: u64 = 1;
/// Largest difference from std's `f64::ln` measured by the tests, in ulp.
#[cfg(test)]
const MAX_ULP_LN: u64 = 1;
/// Largest difference from std's `f64::ln_1p` measured by the tests, in ulp.
#[cfg(test)]
const MAX_ULP_LOG1P: u64 = 1;

/// `1.5 * 2^52`: adding it to a double of magnitude below `2^51` rounds to an
/// integer held in the low mantissa bits (our `nearest` and int-to-float
/// conversion without SSE4.1 `roundpd` or AVX-512 `vcvtqq2pd`).
const MAGIC: f64 = 6755399441055744.0;
const MAGIC_BITS: i64 = 0x4338_0000_0000_0000;

/// ln 2 in two parts: `LN2_HI` has 32 significant bits, so `k * LN2_HI` is
/// exact for every exponent `k`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);

/// fdlibm's minimax coefficients P1..P5 (bit patterns, exact; about 1/6,
/// -1/360, 1/15120, ...): with `c = r - r^2 (P1 + P2 r^2 + ... + P5 r^8)`,
/// `e^r = 1 + r + r c / (2 - c)` on `|r| <= ln2/2`.
const EXP_P: [f64; 5] = [
    f64::from_bits(0x3fc5_5555_5555_553e),
    f64::from_bits(0xbf66_c16c_16be_bd93),
    f64::from_bits(0x3f11_566a_af25_de2c),
    f64::from_bits(0xbebb_bd41_c5d2_6bf1),
    f64::from_bits(0x3e66_3769_72be_a4d0),
];

/// fdlibm's coefficients of `R(z) = L1 z + ... + L7 z^7` in
/// `ln(1+f) = 2s + s R(s^2)`, `s = f/(2+f)` (about 2/3, 2/5, 2/7, ...).
const LOG_L: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593),
    f64::from_bits(0x3fd9_9999_9997_fa04),
    f64::from_bits(0x3fd2_4924_9422_9359),
    f64::from_bits(0x3fcc_71c5_1d8e_78af),
    f64::from_bits(0x3fc7_4664_96cb_03de),
    f64::from_bits(0x3fc3_9a09_d078_c69f),
    f64::from_bits(0x3fc2_f112_df3e_5244),
];

/// Clamp bounds of `exp`'s argument: beyond them the result is already
/// `+inf` (above `709.78`) or `0` (below `-745.14`), and inside them the
/// integer arithmetic on `k` cannot overflow its fields.
const EXP_CLAMP_HI: f64 = 710.0;
const EXP_CLAMP_LO: f64 = -746.0;

/// `e^x` of both lanes (within 1 ulp; `exp(NaN) = NaN`, `exp(+inf) = +inf`,
/// `exp(-inf) = 0`, overflow to `+inf`, gradual underflow to subnormals then 0).
pub(crate) fn exp_f64x2(b: &mut FunctionBuilder, x: Value) -> Value {
    // Clamping (NaN passes, the compares being false) is all the special
    // handling: exp(710) overflows and exp(-746) underflows to 0 in the
    // final scaling, exactly as for any argument beyond them.
    let hi_bound = fconst(b, EXP_CLAMP_HI);
    let above = b.ins().fcmp(FloatCC::LessThan, hi_bound, x);
    let x = select(b, above, hi_bound, x);
    let lo_bound = fconst(b, EXP_CLAMP_LO);
    let below = b.ins().fcmp(FloatCC::LessThan, x, lo_bound);
    let x = select(b, below, lo_bound, x);

    // k = nearest(x / ln2), both as a double and as an integer in the low
    // bits of `t`.
    let inv_ln2 = fconst(b, INV_LN2);
    let magic = fconst(b, MAGIC);
    let xl = b.ins().fmul(x, inv_ln2);
    let t = b.ins().fadd(xl, magic);
    let kf = b.ins().fsub(t, magic);

    // r = x - k ln2 as hi - lo; hi is exact (k * LN2_HI is, and cancels).
    let ln2_hi = fconst(b, LN2_HI);
    let ln2_lo = fconst(b, LN2_LO);
    let khi = b.ins().fmul(kf, ln2_hi);
    let hi = b.ins().fsub(x, khi);
    let lo = b.ins().fmul(kf, ln2_lo);
    let r = b.ins().fsub(hi, lo);

    // c = r - r^2 (P1 + r^2 (P2 + ...)); e^r = 1 - ((lo - r c / (2 - c)) - hi).
    let z = b.ins().fmul(r, r);
    let p = poly_const(b, z, &EXP_P);
    let zp = b.ins().fmul(z, p);
    let c = b.ins().fsub(r, zp);
    let rc = b.ins().fmul(r, c);
    let two = fconst(b, 2.0);
    let den = b.ins().fsub(two, c);
    let q = b.ins().fdiv(rc, den);
    let lq = b.ins().fsub(lo, q);
    let lqh = b.ins().fsub(lq, hi);
    let one = fconst(b, 1.0);
    let y = b.ins().fsub(one, lqh);

    // 2^k in two factors 2^k1 2^k2, k1 = floor(k/2), k2 = k - k1, each a
    // normal double for k in [-1076, 1025], so y 2^k1 is exact and the one
    // rounding is in the last product (right for subnormal results too).
    // With t's bits T = MAGIC_BITS + k: h = (k + 2048) >> 1 = k1 + 1024
    // (shifting a non-negative number: no arithmetic shift, which x86 lacks
    // for 64-bit lanes before AVX-512), exponent fields k1 + 1023 = h - 1
    // and k2 + 1023 = k - h + 2047.
    let tb = as_int(b, t);
    let biased = iconst(b, MAGIC_BITS - 2048);
    let k2048 = b.ins().isub(tb, biased);
    let h = b.ins().ushr_imm_u(k2048, 1);
    let e1_off = iconst(b, 1);
    let e1 = b.ins().isub(h, e1_off);
    let s1 = b.ins().ishl_imm_u(e1, 52);
    let s1 = as_float(b, s1);
    let e2_off = iconst(b, MAGIC_BITS - 2047);
    let th = b.ins().isub(tb, h);
    let e2 = b.ins().isub(th, e2_off);
    let s2 = b.ins().ishl_imm_u(e2, 52);
    let s2 = as_float(b, s2);
    let y1 = b.ins().fmul(y, s1);
    b.ins().fmul(y1, s2)
}

/// `ln x` of both lanes (within 1 ulp; `ln(±0) = -inf`, `ln(x < 0) = NaN`,
/// `ln(+inf) = +inf`, `ln(NaN) = NaN`, subnormal `x` as accurate as normal).
pub(crate) fn ln_f64x2(b: &mut FunctionBuilder, x: Value) -> Value {
    // Subnormals have no implicit leading bit: scale them by 2^54 first and
    // take 54 off the exponent.
    let min_normal = fconst(b, f64::MIN_POSITIVE);
    let tiny = b.ins().fcmp(FloatCC::LessThan, x, min_normal);
    let two54 = fconst(b, 18014398509481984.0);
    let scaled = b.ins().fmul(x, two54);
    let xs = select(b, tiny, scaled, x);
    let bits = as_int(b, xs);
    let (f, e) = reduce(b, bits);
    // dk = e - 1023 (- 54), converted through the magic number's bits.
    let adj = iconst(b, -54);
    let adj = b.ins().band(tiny, adj);
    let off = iconst(b, MAGIC_BITS - 1023);
    let kb = b.ins().iadd(e, off);
    let kb = b.ins().iadd(kb, adj);
    let dk = int_to_float(b, kb);
    let r = log_kernel(b, f, dk, None);

    // x <= 0: -inf at ±0, NaN below; x = +inf or NaN: x itself.
    let zero = fconst(b, 0.0);
    let nonpos = b.ins().fcmp(FloatCC::LessThanOrEqual, x, zero);
    let is_zero = b.ins().fcmp(FloatCC::Equal, x, zero);
    let neg_inf = fconst(b, f64::NEG_INFINITY);
    let nan = fconst(b, f64::NAN);
    let low = select(b, is_zero, neg_inf, nan);
    let r = select(b, nonpos, low, r);
    let inf = fconst(b, f64::INFINITY);
    let high = b.ins().fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, x, inf);
    select(b, high, x, r)
}

/// `ln(1 + x)` of both lanes (within 1 ulp, `x` itself for tiny `x`;
/// `log1p(-1) = -inf`, `log1p(x < -1) = NaN`, `log1p(+inf) = +inf`,
/// `log1p(±0) = ±0`, `log1p(NaN) = NaN`).
pub(crate) fn log1p_f64x2(b: &mut FunctionBuilder, x: Value) -> Value {
    let one = fconst(b, 1.0);
    let u = b.ins().fadd(one, x);
    let bits = as_int(b, u);
    let (f, e) = reduce(b, bits);
    let off = iconst(b, MAGIC_BITS - 1023);
    let kb = b.ins().iadd(e, off);
    let dk = int_to_float(b, kb);

    // d = (1 + x) - u, the rounding error of u, computed exactly: for x < 1
    // as x - (u - 1) (u - 1 exact, u being in [0, 2]), else as 1 - (u - x)
    // (u - x exact, x being at least u/2). ln(1+x) = ln u + d/u to far
    // below an ulp; for tiny x, u = 1 and d/u = x.
    let u1 = b.ins().fsub(u, one);
    let d_small = b.ins().fsub(x, u1);
    let ux = b.ins().fsub(u, x);
    let d_large = b.ins().fsub(one, ux);
    let small = b.ins().fcmp(FloatCC::LessThan, x, one);
    let d = select(b, small, d_small, d_large);
    let c = b.ins().fdiv(d, u);
    let r = log_kernel(b, f, dk, Some(c));

    // x <= -1: -inf at -1, NaN below; x = ±0, +inf or NaN: x itself (keeps
    // the sign of -0, which the sum above would lose).
    let minus_one = fconst(b, -1.0);
    let le = b.ins().fcmp(FloatCC::LessThanOrEqual, x, minus_one);
    let eq = b.ins().fcmp(FloatCC::Equal, x, minus_one);
    let neg_inf = fconst(b, f64::NEG_INFINITY);
    let nan = fconst(b, f64::NAN);
    let low = select(b, eq, neg_inf, nan);
    let r = select(b, le, low, r);
    let inf = fconst(b, f64::INFINITY);
    let high = b.ins().fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, x, inf);
    let zero = fconst(b, 0.0);
    let is_zero = b.ins().fcmp(FloatCC::Equal, x, zero);
    let keep = b.ins().bor(high, is_zero);
    select(b, keep, x, r)
}

/// Splits the bits of a positive normal double `v = 2^(e-1023) m` into
/// `f = m' - 1` with `m'` the mantissa moved into `[sqrt(2)/2, sqrt(2))`
/// (halved when `m` is above about `sqrt(2)`) and `e'` = `e`, plus one when
/// halved, as an integer (so `v = 2^(e'-1023) (1+f)`, `f` exact).
fn reduce(b: &mut FunctionBuilder, bits: Value) -> (Value, Value) {
    let mant_mask = iconst(b, 0x000f_ffff_ffff_ffff);
    let m = b.ins().band(bits, mant_mask);
    // m + 0x95f64 << 32 carries into bit 52 iff m's high 20 bits are at
    // least 0x6a09c, i.e. the mantissa is at least about sqrt(2) (fdlibm's
    // test, on the high word only).
    let carry_in = iconst(b, 0x0009_5f64_0000_0000);
    let bit52 = iconst(b, 0x0010_0000_0000_0000);
    let mc = b.ins().iadd(m, carry_in);
    let i = b.ins().band(mc, bit52);
    // Exponent field 0x3ff (m' = m in [1, sqrt 2)) or 0x3fe (m' = m/2).
    let one_bits = iconst(b, 0x3ff0_0000_0000_0000);
    let exp_field = b.ins().bxor(i, one_bits);
    let mb = b.ins().bor(m, exp_field);
    let mf = as_float(b, mb);
    let one = fconst(b, 1.0);
    let f = b.ins().fsub(mf, one);
    let e = b.ins().ushr_imm_u(bits, 52);
    let inc = b.ins().ushr_imm_u(i, 52);
    let e = b.ins().iadd(e, inc);
    (f, e)
}

/// `dk ln2 + ln(1+f) + c` for `f` in `[sqrt(2)/2 - 1, sqrt(2) - 1)`, `c` a
/// small correction (`None`: 0), in fdlibm's order of operations:
/// `dk ln2_hi - ((hfsq - (s (hfsq + R) + (dk ln2_lo + c))) - f)`.
fn log_kernel(b: &mut FunctionBuilder, f: Value, dk: Value, c: Option<Value>) -> Value {
    let two = fconst(b, 2.0);
    let den = b.ins().fadd(two, f);
    let s = b.ins().fdiv(f, den);
    let z = b.ins().fmul(s, s);
    let w = b.ins().fmul(z, z);
    // R = z (L1 + L3 w + L5 w^2 + L7 w^3) + w (L2 + L4 w + L6 w^2), w = z^2:
    // two independent polynomials, a shorter chain than one in z.
    let odd = poly_const(b, w, &[LOG_L[0], LOG_L[2], LOG_L[4], LOG_L[6]]);
    let t2 = b.ins().fmul(z, odd);
    let even = poly_const(b, w, &[LOG_L[1], LOG_L[3], LOG_L[5]]);
    let t1 = b.ins().fmul(w, even);
    let rr = b.ins().fadd(t2, t1);
    let half = fconst(b, 0.5);
    let hf = b.ins().fmul(half, f);
    let hfsq = b.ins().fmul(hf, f);
    let hr = b.ins().fadd(hfsq, rr);
    let shr = b.ins().fmul(s, hr);
    let ln2_lo = fconst(b, LN2_LO);
    let klo = b.ins().fmul(dk, ln2_lo);
    let klo = match c {
        Some(c) => b.ins().fadd(klo, c),
        None => klo,
    };
    let inner = b.ins().fadd(shr, klo);
    let a = b.ins().fsub(hfsq, inner);
    let a = b.ins().fsub(a, f);
    let ln2_hi = fconst(b, LN2_HI);
    let khi = b.ins().fmul(dk, ln2_hi);
    b.ins().fsub(khi, a)
}

/// `c[0] + c[1] v + c[2] v^2 + ...` by Estrin's scheme: pairs `c[2i] +
/// c[2i+1] v` are a polynomial in `v^2`, and so on; its chain of dependent
/// operations is shorter than Horner's.
fn poly(b: &mut FunctionBuilder, v: Value, c: &[Value]) -> Value {
    if let [only] = c {
        return *only;
    }
    let mut pairs = Vec::with_capacity(c.len().div_ceil(2));
    for ch in c.chunks(2) {
        pairs.push(match ch {
            [lo, hi] => {
                let t = b.ins().fmul(v, *hi);
                b.ins().fadd(*lo, t)
            }
            _ => ch[0],
        });
    }
    let v2 = b.ins().fmul(v, v);
    poly(b, v2, &pairs)
}

/// `poly` of constant coefficients.
fn poly_const(b: &mut FunctionBuilder, v: Value, c: &[f64]) -> Value {
    let c: Vec<Value> = c.iter().map(|&ci| fconst(b, ci)).collect();
    poly(b, v, &c)
}

/// The integer `k` (held as `MAGIC_BITS + k`, `|k| < 2^51`) as a double.
fn int_to_float(b: &mut FunctionBuilder, kb: Value) -> Value {
    let t = as_float(b, kb);
    let magic = fconst(b, MAGIC);
    b.ins().fsub(t, magic)
}

/// `v` in both lanes: a 16-byte constant of the function's constant pool
/// (identical constants are shared), loaded where used.
fn fconst(b: &mut FunctionBuilder, v: f64) -> Value {
    let bytes = v.to_le_bytes().repeat(2);
    let c = b.func.dfg.constants.insert(ConstantData::from(bytes));
    b.ins().vconst(F64X2, c)
}

fn iconst(b: &mut FunctionBuilder, v: i64) -> Value {
    let bytes = v.to_le_bytes().repeat(2);
    let c = b.func.dfg.constants.insert(ConstantData::from(bytes));
    b.ins().vconst(I64X2, c)
}

/// Lane-wise `mask ? t : f` for a compare's mask (all ones or all zeros).
fn select(b: &mut FunctionBuilder, mask: Value, t: Value, f: Value) -> Value {
    let m = as_float(b, mask);
    b.ins().bitselect(m, t, f)
}

/// Reinterpretation between `F64X2` and `I64X2` (same lanes, so the byte
/// order is immaterial; Little keeps the verifier's rule for bitcasts simple).
fn as_int(b: &mut FunctionBuilder, v: Value) -> Value {
    b.ins().bitcast(
        I64X2,
        MemFlagsData::new().with_endianness(Endianness::Little),
        v,
    )
}

fn as_float(b: &mut FunctionBuilder, v: Value) -> Value {
    b.ins().bitcast(
        F64X2,
        MemFlagsData::new().with_endianness(Endianness::Little),
        v,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel_harness::{KernelJit, Rng, Target};

    type Kernel = fn(&mut FunctionBuilder, Value) -> Value;

    struct Jit(KernelJit);

    impl Jit {
        fn new(kernel: Kernel, target: Target) -> Jit {
            Jit(KernelJit::new(kernel, F64X2, target))
        }

        fn run(&self, src: &[f64]) -> Vec<f64> {
            self.0.run(src)
        }

        fn run_into(&self, src: &[f64], dst: &mut [f64]) {
            self.0.run_into(src, dst)
        }
    }

    /// Distance in ulp between two finite doubles (adjacent doubles are 1
    /// apart, across zero and the subnormals too).
    fn ulp_diff(a: f64, b: f64) -> u64 {
        fn key(x: f64) -> i64 {
            let m = (x.to_bits() & !(1 << 63)) as i64;
            if x.is_sign_negative() {
                -m
            } else {
                m
            }
        }
        (key(a) - key(b)).unsigned_abs()
    }

    /// Max ulp and number of arguments where `got` differs from std.
    #[derive(Default, Debug)]
    struct Stats {
        max_ulp: u64,
        differ: usize,
        n: usize,
        worst: f64,
    }

    /// Compares lane results with std: NaN, infinities and zeros exactly
    /// (sign too; so underflow to 0 happens where std's does), other
    /// values within 1 ulp.
    fn compare(name: &str, std_fn: fn(f64) -> f64, xs: &[f64], got: &[f64], st: &mut Stats) {
        for (&x, &g) in xs.iter().zip(got) {
            let w = std_fn(x);
            st.n += 1;
            if w.is_nan() || g.is_nan() {
                assert!(w.is_nan() && g.is_nan(), "{name}({x:e}) = {g:e}, std {w:e}");
                continue;
            }
            if w.is_infinite() || g.is_infinite() || w == 0.0 || g == 0.0 {
                assert_eq!(g.to_bits(), w.to_bits(), "{name}({x:e}) = {g:e}, std {w:e}");
                continue;
            }
            let d = ulp_diff(g, w);
            if d > 0 {
                st.differ += 1;
            }
            if d > st.max_ulp {
                st.max_ulp = d;
                st.worst = x;
            }
            assert!(d <= 1, "{name}({x:e}) = {g:e}, std {w:e}: {d} ulp");
        }
    }

    /// Every ordered pair of `specials`, flattened: each value meets each
    /// other in the other lane.
    fn pairs(specials: &[f64]) -> Vec<f64> {
        let mut v = Vec::new();
        for &a in specials {
            for &b in specials {
                v.push(a);
                v.push(b);
            }
        }
        v
    }

    /// `x` and its `n` neighbours each side.
    fn around(x: f64, n: u64, out: &mut Vec<f64>) {
        for d in 0..=n {
            let up = f64::from_bits(x.to_bits() + d);
            let down = f64::from_bits(x.to_bits().wrapping_sub(d));
            out.push(up);
            out.push(down);
        }
    }

    /// Runs `kernel` over `xs` compiled for this machine and checks it
    /// against std; then checks the SSE2 and SSE4.1 builds give the same bits.
    fn check(name: &str, kernel: Kernel, std_fn: fn(f64) -> f64, mut xs: Vec<f64>) -> Stats {
        if xs.len() % 2 == 1 {
            xs.push(1.0);
        }
        let native = Jit::new(kernel, Target::Native).run(&xs);
        let mut st = Stats::default();
        compare(name, std_fn, &xs, &native, &mut st);
        for target in [Target::Sse2, Target::Sse41] {
            let other = Jit::new(kernel, target).run(&xs);
            for ((x, a), b) in xs.iter().zip(&native).zip(&other) {
                assert!(
                    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                    "{name}({x:e}): {a:e} native, {b:e} on {target:?}"
                );
            }
        }
        eprintln!(
            "{name}: max {} ulp from std over {} arguments, {} ({:.2}%) differ (worst at {:e})",
            st.max_ulp,
            st.n,
            st.differ,
            100.0 * st.differ as f64 / st.n as f64,
            st.worst
        );
        st
    }

    /// `kernel` gives exactly `want` (any NaN for NaN) at each `(x, want)`,
    /// every case next to every other in the other lane, on every target.
    fn exact(name: &str, kernel: Kernel, cases: &[(f64, f64)]) {
        let xs: Vec<f64> = cases.iter().map(|c| c.0).collect();
        for target in [Target::Native, Target::Sse2, Target::Sse41] {
            let got = Jit::new(kernel, target).run(&pairs(&xs));
            for (j, pair) in got.chunks(2).enumerate() {
                let (a, b) = (j / cases.len(), j % cases.len());
                for (g, (x, want)) in pair.iter().zip([cases[a], cases[b]]) {
                    assert!(
                        g.to_bits() == want.to_bits() || g.is_nan() && want.is_nan(),
                        "{name}({x:e}) = {g:e}, want {want:e} on {target:?}"
                    );
                }
            }
        }
    }

    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;
    const TINY: f64 = 4.9e-324;

    #[test]
    fn exp_special_values() {
        exact(
            "exp",
            exp_f64x2,
            &[
                (NAN, NAN),
                (-NAN, NAN),
                (INF, INF),
                (-INF, 0.0),
                (0.0, 1.0),
                (-0.0, 1.0),
                (709.79, INF),
                (710.0, INF),
                (1e300, INF),
                (f64::MAX, INF),
                (-746.0, 0.0),
                (-1e300, 0.0),
                (f64::MIN, 0.0),
                (TINY, 1.0),
                (-TINY, 1.0),
                (1e-300, 1.0),
            ],
        );
    }

    #[test]
    fn ln_special_values() {
        exact(
            "ln",
            ln_f64x2,
            &[
                (0.0, -INF),
                (-0.0, -INF),
                (-TINY, NAN),
                (-1.0, NAN),
                (-INF, NAN),
                (INF, INF),
                (NAN, NAN),
                (-NAN, NAN),
                (1.0, 0.0),
                (TINY, TINY.ln()),
                (f64::MAX, f64::MAX.ln()),
                (f64::MIN_POSITIVE, f64::MIN_POSITIVE.ln()),
                (2.0, std::f64::consts::LN_2),
            ],
        );
    }

    #[test]
    fn log1p_special_values() {
        exact(
            "log1p",
            log1p_f64x2,
            &[
                (-1.0, -INF),
                (-1.5, NAN),
                (-INF, NAN),
                (-1.0 - f64::EPSILON, NAN),
                (INF, INF),
                (NAN, NAN),
                (-NAN, NAN),
                (0.0, 0.0),
                (-0.0, -0.0),
                (TINY, TINY),
                (-TINY, -TINY),
                (1e-300, 1e-300),
                (-1e-300, -1e-300),
                (1e-20, 1e-20),
                (f64::MAX, f64::MAX.ln_1p()),
                (1.0, std::f64::consts::LN_2),
            ],
        );
    }

    #[test]
    fn exp_within_one_ulp() {
        let mut rng = Rng(1);
        let mut xs = Vec::new();
        for _ in 0..2_000_000 {
            xs.push(rng.uniform(-745.2, 709.9));
        }
        for _ in 0..1_000_000 {
            xs.push(rng.uniform(-1.0, 1.0));
        }
        for _ in 0..1_000_000 {
            xs.push(f64::from_bits(rng.next()));
        }
        // Subnormal results and results near overflow.
        for _ in 0..250_000 {
            xs.push(rng.uniform(-745.2, -708.3));
            xs.push(rng.uniform(700.0, 709.8));
        }
        // Overflow, the last normal and the underflow to 0; around 0; the
        // reduction's switch points (j + 1/2) ln2.
        for x in [
            709.782712893384,
            -708.3964185322641,
            -745.1332191019411,
            -745.1332191019412,
            -744.440_071_921_381_2,
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            1.0,
            -1.0,
        ] {
            around(x, 200, &mut xs);
        }
        for j in -1075..1025 {
            let x = (j as f64 + 0.5) * std::f64::consts::LN_2;
            around(x, 8, &mut xs);
        }
        let st = check("exp", exp_f64x2, f64::exp, xs);
        assert!(st.max_ulp <= MAX_ULP_EXP);
    }

    #[test]
    fn ln_within_one_ulp() {
        let mut rng = Rng(2);
        let mut xs = Vec::new();
        // Bit patterns of positive finite doubles (subnormals included).
        for _ in 0..2_000_000 {
            xs.push(f64::from_bits(rng.next() % 0x7ff0_0000_0000_0000));
        }
        for _ in 0..1_000_000 {
            xs.push(rng.uniform(0.5, 2.0));
        }
        for _ in 0..500_000 {
            xs.push(f64::from_bits(rng.next() % 0x0010_0000_0000_0000));
        }
        // 1, the reduction's boundary sqrt(2) (fdlibm's 0x6a09c high word)
        // at several exponents, the ends of the range.
        let sqrt2 = std::f64::consts::SQRT_2;
        let split = f64::from_bits(0x3ff6_a09c_0000_0000);
        for p in [-1074, -1040, -1022, -1, 0, 1, 2, 100, 1023] {
            let s = 2f64.powi(p);
            if s != 0.0 && s.is_finite() {
                around(s, 50, &mut xs);
            }
            for m in [sqrt2, split, sqrt2 / 2.0, split / 2.0] {
                let v = m * s;
                if v.is_finite() && v > 0.0 {
                    around(v, 50, &mut xs);
                }
            }
        }
        around(f64::MAX, 50, &mut xs);
        around(f64::MIN_POSITIVE, 50, &mut xs);
        xs.retain(|x| x.is_finite() && *x > 0.0);
        let st = check("ln", ln_f64x2, f64::ln, xs);
        assert!(st.max_ulp <= MAX_ULP_LN);
    }

    #[test]
    fn log1p_within_one_ulp() {
        let mut rng = Rng(3);
        let mut xs = Vec::new();
        // Bit patterns of positive doubles up to 1e300 and of negative ones
        // above -1.
        for _ in 0..1_500_000 {
            let v = f64::from_bits(rng.next() % 1e300f64.to_bits());
            xs.push(v);
            xs.push(-f64::from_bits(rng.next() % 1f64.to_bits()));
        }
        for _ in 0..500_000 {
            xs.push(rng.uniform(-0.5, 0.5));
            xs.push(rng.uniform(-1.0, 1.0));
        }
        // Near -1, tiny ones near 1e-300, the reduction's boundaries.
        for _ in 0..200_000 {
            xs.push(-1.0 + rng.uniform(0.0, 1e-6));
            xs.push(rng.uniform(-1e-300, 1e-300));
        }
        for x in [
            -1.0 + f64::EPSILON / 2.0,
            -0.5,
            1.0 - std::f64::consts::FRAC_1_SQRT_2,
            -(1.0 - std::f64::consts::FRAC_1_SQRT_2),
            std::f64::consts::SQRT_2 - 1.0,
            1.0,
            2f64.powi(-29),
            2f64.powi(-54),
            -(2f64.powi(-54)),
            2f64.powi(53),
            1e300,
            1e-300,
            TINY,
            f64::MIN_POSITIVE,
        ] {
            around(x, 100, &mut xs);
        }
        xs.retain(|x| *x > -1.0 && *x <= 1e300);
        let st = check("log1p", log1p_f64x2, f64::ln_1p, xs);
        assert!(st.max_ulp <= MAX_ULP_LOG1P);
    }

    /// ns per element of each kernel and of std's function on 4096
    /// arguments: `cargo test --release -p rlc-jit --lib vmath -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing() {
        use std::hint::black_box;
        use std::time::Instant;
        let mut rng = Rng(4);
        type Case = (&'static str, Kernel, fn(f64) -> f64, f64, f64);
        let kernels: [Case; 3] = [
            ("exp", exp_f64x2, f64::exp, -700.0, 700.0),
            ("ln", ln_f64x2, f64::ln, 1e-300, 1e300),
            ("log1p", log1p_f64x2, f64::ln_1p, -0.9, 10.0),
        ];
        for (name, kernel, std_fn, lo, hi) in kernels {
            let xs: Vec<f64> = (0..4096)
                .map(|_| {
                    if name == "ln" {
                        10f64.powf(rng.uniform(-300.0, 300.0))
                    } else {
                        rng.uniform(lo, hi)
                    }
                })
                .collect();
            let mut out = vec![0.0; xs.len()];
            let jit = Jit::new(kernel, Target::Native);
            let reps = 5000;
            let per = |t: std::time::Duration| t.as_secs_f64() * 1e9 / (reps * xs.len()) as f64;
            let t0 = Instant::now();
            for _ in 0..reps {
                jit.run_into(black_box(&xs), &mut out);
                black_box(&out);
            }
            let ours = per(t0.elapsed());
            let t0 = Instant::now();
            for _ in 0..reps {
                for (o, &x) in out.iter_mut().zip(black_box(&xs)) {
                    *o = std_fn(x);
                }
                black_box(&out);
            }
            let theirs = per(t0.elapsed());
            println!("{name}: {ours:.2} ns/element (F64X2 kernel), std {theirs:.2} ns/element");
        }
    }
}
