//! The special functions generated code calls: Cranelift has no
//! transcendental instructions, so each is a Rust `extern "C"` function
//! registered as a JIT symbol. They are the reference interpreter's own
//! functions (or the same std/libm calls), so the two agree bit for bit.

use rlc_ir::{interp, special};
use rlc_ir::{SpecialFn, UnaryOp};
use rlc_random::wiener::Gradient;
use std::cell::Cell;

pub(crate) extern "C" fn exp(x: f64) -> f64 {
    rlc_ir::elementary::exp(x)
}

pub(crate) extern "C" fn ln(x: f64) -> f64 {
    rlc_ir::elementary::ln(x)
}

pub(crate) extern "C" fn log1p(x: f64) -> f64 {
    x.ln_1p()
}

pub(crate) extern "C" fn expm1(x: f64) -> f64 {
    x.exp_m1()
}

pub(crate) extern "C" fn log1pexp(x: f64) -> f64 {
    interp::log1p_exp(x)
}

pub(crate) extern "C" fn logistic(x: f64) -> f64 {
    interp::logistic(x)
}

pub(crate) extern "C" fn lgamma(x: f64) -> f64 {
    libm::lgamma(x)
}

pub(crate) extern "C" fn digamma(x: f64) -> f64 {
    interp::digamma(x)
}

pub(crate) extern "C" fn trigamma(x: f64) -> f64 {
    interp::trigamma(x)
}

pub(crate) extern "C" fn phi(x: f64) -> f64 {
    interp::phi(x)
}

pub(crate) extern "C" fn sin(x: f64) -> f64 {
    x.sin()
}

pub(crate) extern "C" fn cos(x: f64) -> f64 {
    x.cos()
}

pub(crate) extern "C" fn tanh(x: f64) -> f64 {
    x.tanh()
}

pub(crate) extern "C" fn log_phi(x: f64) -> f64 {
    special::log_phi(x)
}

pub(crate) extern "C" fn log_phi_slope(x: f64) -> f64 {
    special::log_phi_slope(x)
}

pub(crate) extern "C" fn inv_phi(x: f64) -> f64 {
    special::inv_phi(x)
}

pub(crate) extern "C" fn mills_ratio(x: f64) -> f64 {
    special::mills_ratio(x)
}

pub(crate) extern "C" fn log_bessel_i0e(x: f64) -> f64 {
    special::log_bessel_i0e(x)
}

pub(crate) extern "C" fn log_bessel_i0e_slope(x: f64) -> f64 {
    special::log_bessel_i0e_slope(x)
}

pub(crate) extern "C" fn pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// The symbol name and address of the function computing `op`, for the
/// unary ops that are calls.
pub(crate) fn unary_symbol(op: UnaryOp) -> Option<(&'static str, *const u8)> {
    let f: extern "C" fn(f64) -> f64 = match op {
        UnaryOp::Exp => exp,
        UnaryOp::Log => ln,
        UnaryOp::Log1p => log1p,
        UnaryOp::Expm1 => expm1,
        UnaryOp::Log1pExp => log1pexp,
        UnaryOp::Logistic => logistic,
        UnaryOp::Lgamma => lgamma,
        UnaryOp::Digamma => digamma,
        UnaryOp::Trigamma => trigamma,
        UnaryOp::Phi => phi,
        UnaryOp::Sin => sin,
        UnaryOp::Cos => cos,
        UnaryOp::Tanh => tanh,
        UnaryOp::LogPhi => log_phi,
        UnaryOp::LogPhiSlope => log_phi_slope,
        UnaryOp::LogBesselI0e => log_bessel_i0e,
        UnaryOp::LogBesselI0eSlope => log_bessel_i0e_slope,
        UnaryOp::InvPhi => inv_phi,
        UnaryOp::MillsRatio => mills_ratio,
        UnaryOp::Neg | UnaryOp::Not | UnaryOp::Sqrt | UnaryOp::Abs => return None,
    };
    let name = match op {
        UnaryOp::Exp => "rlc_exp",
        UnaryOp::Log => "rlc_log",
        UnaryOp::Log1p => "rlc_log1p",
        UnaryOp::Expm1 => "rlc_expm1",
        UnaryOp::Log1pExp => "rlc_log1pexp",
        UnaryOp::Logistic => "rlc_logistic",
        UnaryOp::Lgamma => "rlc_lgamma",
        UnaryOp::Digamma => "rlc_digamma",
        UnaryOp::Trigamma => "rlc_trigamma",
        UnaryOp::Phi => "rlc_phi",
        UnaryOp::Sin => "rlc_sin",
        UnaryOp::Cos => "rlc_cos",
        UnaryOp::Tanh => "rlc_tanh",
        UnaryOp::LogPhi => "rlc_log_phi",
        UnaryOp::LogPhiSlope => "rlc_log_phi_slope",
        UnaryOp::LogBesselI0e => "rlc_log_bessel_i0e",
        UnaryOp::LogBesselI0eSlope => "rlc_log_bessel_i0e_slope",
        UnaryOp::InvPhi => "rlc_inv_phi",
        UnaryOp::MillsRatio => "rlc_mills_ratio",
        UnaryOp::Neg | UnaryOp::Not | UnaryOp::Sqrt | UnaryOp::Abs => return None,
    };
    Some((name, f as *const u8))
}

/// Every unary op that is a call, for registering the symbols.
pub(crate) const CALLED_UNARY: [UnaryOp; 19] = [
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Log1p,
    UnaryOp::Expm1,
    UnaryOp::Log1pExp,
    UnaryOp::Logistic,
    UnaryOp::Lgamma,
    UnaryOp::Digamma,
    UnaryOp::Trigamma,
    UnaryOp::Phi,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Tanh,
    UnaryOp::LogPhi,
    UnaryOp::LogPhiSlope,
    UnaryOp::LogBesselI0e,
    UnaryOp::LogBesselI0eSlope,
    UnaryOp::InvPhi,
    UnaryOp::MillsRatio,
];

pub(crate) extern "C" fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

pub(crate) const POW_SYMBOL: &str = "rlc_pow";
pub(crate) const ATAN2_SYMBOL: &str = "rlc_atan2";

pub(crate) fn atan2_address() -> *const u8 {
    let f: extern "C" fn(f64, f64) -> f64 = atan2;
    f as *const u8
}

pub(crate) fn pow_address() -> *const u8 {
    let f: extern "C" fn(f64, f64) -> f64 = pow;
    f as *const u8
}

// ---- Special functions of several operands ---------------------------------------

/// One result of a special function of five operands, by a call per result
/// (a signature of plain floats keeps the generated code free of pointers).
type Five = extern "C" fn(f64, f64, f64, f64, f64) -> f64;

thread_local! {
    /// The operands (as bits) of the last Wiener density computed on this
    /// thread, its value and all five partial derivatives: the series give
    /// them together, and generated code asks for the density of a trial and
    /// then (in the same iteration of a subject's loop, when it computes the
    /// gradient) for the five partials one after the other.
    static WIENER: Cell<Option<([u64; 5], Gradient)>> = const { Cell::new(None) };
}

fn wiener(x: [f64; 5]) -> Gradient {
    let key = x.map(f64::to_bits);
    WIENER.with(|cache| {
        if let Some((last, g)) = cache.get() {
            // Compared by hand: `==` on the arrays is a call to `memcmp`.
            if last.iter().zip(&key).fold(0, |d, (a, b)| d | (a ^ b)) == 0 {
                return g;
            }
        }
        let g = rlc_random::wiener::lpdf_gradient(x[0], x[1], x[2], x[3], x[4]);
        cache.set(Some((key, g)));
        g
    })
}

extern "C" fn wiener_lpdf(y: f64, alpha: f64, tau: f64, beta: f64, delta: f64) -> f64 {
    wiener([y, alpha, tau, beta, delta]).value
}

fn wiener_partial(k: usize, x: [f64; 5]) -> f64 {
    wiener(x).partials[k]
}

macro_rules! wiener_partial_fn {
    ($name:ident, $k:expr) => {
        extern "C" fn $name(y: f64, alpha: f64, tau: f64, beta: f64, delta: f64) -> f64 {
            wiener_partial($k, [y, alpha, tau, beta, delta])
        }
    };
}
wiener_partial_fn!(wiener_d_y, 0);
wiener_partial_fn!(wiener_d_alpha, 1);
wiener_partial_fn!(wiener_d_tau, 2);
wiener_partial_fn!(wiener_d_beta, 3);
wiener_partial_fn!(wiener_d_delta, 4);

/// Every special function's results: `(function, result index, symbol, address)`.
pub(crate) fn special_symbols() -> Vec<(SpecialFn, usize, &'static str, *const u8)> {
    let f = |x: Five| x as *const u8;
    vec![
        (SpecialFn::WienerLpdf, 0, "rlc_wiener_lpdf", f(wiener_lpdf)),
        (
            SpecialFn::WienerGradient,
            0,
            "rlc_wiener_d_y",
            f(wiener_d_y),
        ),
        (
            SpecialFn::WienerGradient,
            1,
            "rlc_wiener_d_alpha",
            f(wiener_d_alpha),
        ),
        (
            SpecialFn::WienerGradient,
            2,
            "rlc_wiener_d_tau",
            f(wiener_d_tau),
        ),
        (
            SpecialFn::WienerGradient,
            3,
            "rlc_wiener_d_beta",
            f(wiener_d_beta),
        ),
        (
            SpecialFn::WienerGradient,
            4,
            "rlc_wiener_d_delta",
            f(wiener_d_delta),
        ),
    ]
}
