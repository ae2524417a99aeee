//! The special functions generated code calls: Cranelift has no
//! transcendental instructions, so each is a Rust `extern "C"` function
//! registered as a JIT symbol. They compute what the reference interpreter
//! computes (same formulas, same libraries), so the two agree to rounding.

use rlc_ir::UnaryOp;

pub(crate) extern "C" fn exp(x: f64) -> f64 {
    x.exp()
}

pub(crate) extern "C" fn ln(x: f64) -> f64 {
    x.ln()
}

pub(crate) extern "C" fn log1p(x: f64) -> f64 {
    x.ln_1p()
}

pub(crate) extern "C" fn expm1(x: f64) -> f64 {
    x.exp_m1()
}

pub(crate) extern "C" fn log1pexp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

pub(crate) extern "C" fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

pub(crate) extern "C" fn lgamma(x: f64) -> f64 {
    libm::lgamma(x)
}

pub(crate) extern "C" fn digamma(x: f64) -> f64 {
    digamma_impl(x)
}

pub(crate) extern "C" fn trigamma(x: f64) -> f64 {
    trigamma_impl(x)
}

pub(crate) extern "C" fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

pub(crate) extern "C" fn pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// The digamma function: recurrence up to x ≥ 6, then the asymptotic series;
/// reflection for negative arguments.
pub(crate) fn digamma_impl(mut x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    let mut result = 0.0;
    if x < 0.0 {
        // psi(1 - x) - psi(x) = pi / tan(pi x)
        result -= std::f64::consts::PI / (std::f64::consts::PI * x).tan();
        x = 1.0 - x;
    }
    while x < 6.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f
        * (-1.0 / 12.0
            + f * (1.0 / 120.0
                + f * (-1.0 / 252.0 + f * (1.0 / 240.0 + f * (-1.0 / 132.0)))));
    result + x.ln() - 0.5 / x + series
}

/// The trigamma function: recurrence up to x ≥ 6, then the asymptotic
/// series; reflection for negative arguments.
pub(crate) fn trigamma_impl(mut x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    if x < 0.0 {
        // psi1(1 - x) + psi1(x) = pi^2 / sin^2(pi x)
        let s = (std::f64::consts::PI * x).sin();
        return std::f64::consts::PI * std::f64::consts::PI / (s * s) - trigamma_impl(1.0 - x);
    }
    let mut result = 0.0;
    while x < 6.0 {
        result += 1.0 / (x * x);
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = 1.0 / x
        + f / 2.0
        + f / x
            * (1.0 / 6.0 + f * (-1.0 / 30.0 + f * (1.0 / 42.0 + f * (-1.0 / 30.0 + f * 5.0 / 66.0))));
    result + series
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
        UnaryOp::Neg | UnaryOp::Not | UnaryOp::Sqrt | UnaryOp::Abs => return None,
    };
    Some((name, f as *const u8))
}

/// Every unary op that is a call, for registering the symbols.
pub(crate) const CALLED_UNARY: [UnaryOp; 10] = [
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
];

pub(crate) const POW_SYMBOL: &str = "rlc_pow";

pub(crate) fn pow_address() -> *const u8 {
    let f: extern "C" fn(f64, f64) -> f64 = pow;
    f as *const u8
}
