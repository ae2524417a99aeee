//! Draws of the scalar families, and their analytic means and variances.

use std::f64::consts::PI;

/// The Euler–Mascheroni constant (the mean of the standard Gumbel).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

use rand::distr::Open01;
use rand::Rng;
use rand_distr::{Binomial, Cauchy, Distribution, Exp1, Gamma, Poisson, StandardNormal};

use crate::bernoulli::{bernoulli, bernoulli_logit, logistic_pair};
use crate::error::{DrawError, Requirement};
use crate::family::{ArgumentKind, Family, Support, MAX_POISSON_RATE, MAX_TRIALS};

/// How many NaN draws in a row [`draw`] tolerates before giving up. A NaN can only come
/// from `0 · inf` in a sampler's arithmetic (a Student-t whose chi-square draw underflowed
/// to 0 together with a normal draw of exactly 0, say), which a random generator repeats
/// with probability far below anything observable.
const NAN_ATTEMPTS: usize = 64;

/// One draw of `family` with `args` in the language's order (see [`Family`]).
///
/// Arguments are checked first; an invalid one is a [`DrawError`] naming it, never a
/// panic. Whole-number families return the number as an `f64`. A continuous draw is always
/// inside the family's open support: one that rounds to a boundary (a `Gamma(0.01, 1)`
/// draw below `5e-324`, say, or a `Beta(0.1, 0.1)` draw within `1e-17` of 1) is returned as
/// the nearest `f64` inside it, and overflow gives `±f64::MAX`. So a positive family never
/// gives 0 and Beta never gives 0 or 1, where the model's log density would be infinite.
///
/// The same RNG state gives the same draw: the algorithms consume the generator's output
/// deterministically, and nothing else is random.
pub fn draw<R: Rng + ?Sized>(family: Family, args: &[f64], rng: &mut R) -> Result<f64, DrawError> {
    check(family, args)?;
    for _ in 0..NAN_ATTEMPTS {
        let x = draw_checked(family, args, rng);
        if !x.is_nan() {
            return Ok(into_support(family, args, x));
        }
    }
    Err(DrawError::NotANumber {
        family: family.name(),
        attempts: NAN_ATTEMPTS,
    })
}

/// The mean and variance of `family` with `args`, or `None` when either is infinite or
/// undefined (Cauchy, HalfCauchy, StudentT with `nu <= 2`, InverseGamma with
/// `alpha <= 2`) or the arguments are invalid.
pub fn moments(family: Family, args: &[f64]) -> Option<(f64, f64)> {
    check(family, args).ok()?;
    let a = args;
    let moments = match family {
        Family::Normal => (a[0], a[1] * a[1]),
        Family::HalfNormal => {
            let s2 = a[0] * a[0];
            (a[0] * (2.0 / PI).sqrt(), s2 * (1.0 - 2.0 / PI))
        }
        Family::StudentT => {
            let (nu, mu, sigma) = (a[0], a[1], a[2]);
            if nu <= 2.0 {
                return None;
            }
            (mu, sigma * sigma * nu / (nu - 2.0))
        }
        Family::Cauchy | Family::HalfCauchy => return None,
        Family::LogNormal => {
            let (mu, s2) = (a[0], a[1] * a[1]);
            ((mu + s2 / 2.0).exp(), s2.exp_m1() * (2.0 * mu + s2).exp())
        }
        Family::Exponential => (1.0 / a[0], 1.0 / (a[0] * a[0])),
        Family::Gamma => (a[0] / a[1], a[0] / (a[1] * a[1])),
        Family::InverseGamma => {
            let (alpha, beta) = (a[0], a[1]);
            if alpha <= 2.0 {
                return None;
            }
            let mean = beta / (alpha - 1.0);
            (mean, mean * mean / (alpha - 2.0))
        }
        Family::Weibull => {
            let (k, sigma) = (a[0], a[1]);
            let g1 = libm::tgamma(1.0 + 1.0 / k);
            let g2 = libm::tgamma(1.0 + 2.0 / k);
            (sigma * g1, sigma * sigma * (g2 - g1 * g1))
        }
        Family::NegativeBinomial => (a[0], a[0] + a[0] * a[0] / a[1]),
        Family::BetaBinomial => {
            let (n, alpha, beta) = (a[0], a[1], a[2]);
            let s = alpha + beta;
            (
                n * alpha / s,
                n * alpha * beta * (s + n) / (s * s * (s + 1.0)),
            )
        }
        Family::Beta => {
            let (alpha, beta) = (a[0], a[1]);
            let s = alpha + beta;
            (alpha / s, alpha * beta / (s * s * (s + 1.0)))
        }
        Family::Uniform => {
            let w = a[1] - a[0];
            (a[0] + w / 2.0, w * w / 12.0)
        }
        Family::BernoulliP => (a[0], a[0] * (1.0 - a[0])),
        Family::BernoulliLogits => {
            let (p, q) = logistic_pair(a[0]);
            (p, p * q)
        }
        Family::BinomialP => (a[0] * a[1], a[0] * a[1] * (1.0 - a[1])),
        Family::BinomialLogits => {
            let (p, q) = logistic_pair(a[1]);
            (a[0] * p, a[0] * p * q)
        }
        Family::PoissonRate => (a[0], a[0]),
        Family::PoissonLogRate => (a[0].exp(), a[0].exp()),
        Family::Wiener => crate::wiener::upper_moments(a[0], a[1], a[2], a[3]),
        Family::WienerBoundary => {
            let p = crate::wiener::upper_probability(a[0], a[1], a[2]);
            (p, p * (1.0 - p))
        }
        // An angle's mean and variance on the line depend on where the circle is cut.
        Family::VonMises => return None,
        Family::ExGaussian => (a[0] + 1.0 / a[2], a[1] * a[1] + 1.0 / (a[2] * a[2])),
        Family::Wald => (a[0], a[0] * a[0] * a[0] / a[1]),
        Family::Logistic => (a[0], a[1] * a[1] * PI * PI / 3.0),
        Family::Laplace => (a[0], 2.0 * a[1] * a[1]),
        Family::Gumbel => (a[0] + a[1] * EULER_GAMMA, a[1] * a[1] * PI * PI / 6.0),
        Family::SkewNormal => {
            let (xi, omega, alpha) = (a[0], a[1], a[2]);
            let delta = alpha / alpha.hypot(1.0);
            (
                xi + omega * delta * (2.0 / PI).sqrt(),
                omega * omega * (1.0 - 2.0 * delta * delta / PI),
            )
        }
    };
    (moments.0.is_finite() && moments.1.is_finite()).then_some(moments)
}

/// Checks the number of arguments and each one against its [`ArgumentKind`].
fn check(family: Family, args: &[f64]) -> Result<(), DrawError> {
    let kinds = family.argument_kinds();
    if args.len() != kinds.len() {
        return Err(DrawError::Arity {
            family: family.name(),
            expected: kinds.len(),
            got: args.len(),
        });
    }
    let names = family.argument_names();
    for ((&value, &kind), &argument) in args.iter().zip(kinds).zip(names) {
        if let Some(requirement) = violation(kind, value) {
            return Err(DrawError::Argument {
                family: family.name(),
                argument,
                value,
                requirement,
            });
        }
    }
    if family == Family::Uniform {
        let (lower, upper) = (args[0], args[1]);
        if lower.next_up() >= upper {
            return Err(DrawError::EmptyInterval { lower, upper });
        }
    }
    if family == Family::Wiener {
        // The series' exponentials overflow beyond a standardized drift of 700.
        let (alpha, tau, delta) = (args[0], args[1], args[3]);
        // A draw is a number above tau.
        if tau >= f64::MAX {
            return Err(DrawError::Argument {
                family: family.name(),
                argument: "tau",
                value: tau,
                requirement: Requirement::AtMost(f64::MAX.next_down()),
            });
        }
        let limit = crate::wiener::MAX_STANDARDIZED_DRIFT / alpha;
        if (delta * alpha).abs() > crate::wiener::MAX_STANDARDIZED_DRIFT {
            return Err(DrawError::Argument {
                family: family.name(),
                argument: "delta",
                value: delta,
                requirement: Requirement::AtMost(limit),
            });
        }
    }
    Ok(())
}

/// The requirement `value` breaks as an argument of `kind`, if any.
fn violation(kind: ArgumentKind, value: f64) -> Option<Requirement> {
    use ArgumentKind as K;
    if value.is_nan() {
        return Some(Requirement::Number);
    }
    match kind {
        K::Real if !value.is_finite() => Some(Requirement::Finite),
        K::Positive if value <= 0.0 => Some(Requirement::Positive),
        K::Positive if value.is_infinite() => Some(Requirement::Finite),
        K::NonNegative if value < 0.0 => Some(Requirement::NonNegative),
        K::NonNegative if value.is_infinite() => Some(Requirement::Finite),
        K::Probability if !(0.0..=1.0).contains(&value) => Some(Requirement::Probability),
        K::OpenProbability if !(value > 0.0 && value < 1.0) => Some(Requirement::OpenUnitInterval),
        K::Trials if value < 0.0 => Some(Requirement::NonNegative),
        K::Trials if value > MAX_TRIALS => Some(Requirement::AtMost(MAX_TRIALS)),
        K::Trials if value.fract() != 0.0 => Some(Requirement::WholeNumber),
        K::PoissonRate if value < 0.0 => Some(Requirement::NonNegative),
        K::PoissonRate if value > MAX_POISSON_RATE => Some(Requirement::AtMost(MAX_POISSON_RATE)),
        K::LogPoissonRate if value > MAX_POISSON_RATE.ln() => {
            Some(Requirement::AtMost(MAX_POISSON_RATE.ln()))
        }
        _ => None,
    }
}

/// A draw with checked arguments; NaN in the rare cases [`draw`] retries.
fn draw_checked<R: Rng + ?Sized>(family: Family, a: &[f64], rng: &mut R) -> f64 {
    let normal = |rng: &mut R| -> f64 { StandardNormal.sample(rng) };
    let indicator = |b: bool| if b { 1.0 } else { 0.0 };
    match family {
        Family::Normal => a[0] + a[1] * normal(rng),
        Family::HalfNormal => a[0] * normal(rng).abs(),
        Family::StudentT => {
            // t = z / sqrt(chi²_nu / nu) with chi²_nu / nu = Gamma(nu/2, 1) / (nu/2).
            let half_nu = half_positive(a[0]);
            let chi2_over_nu = standard_gamma(half_nu, rng) / half_nu;
            a[1] + a[2] * (normal(rng) / chi2_over_nu.sqrt())
        }
        Family::Cauchy => cauchy(a[0], a[1], rng),
        Family::HalfCauchy => cauchy(0.0, a[0], rng).abs(),
        Family::LogNormal => (a[0] + a[1] * normal(rng)).exp(),
        Family::Exponential => {
            let e: f64 = Exp1.sample(rng);
            e / a[0]
        }
        // Drawing with rate 1 and dividing by the rate (rather than passing the scale
        // 1/beta) also works for rates whose reciprocal overflows.
        Family::Gamma => standard_gamma(a[0], rng) / a[1],
        Family::InverseGamma => a[1] / standard_gamma(a[0], rng),
        Family::Weibull => {
            // Inversion: sigma (-log U)^(1/alpha), with -log U an Exp(1) draw.
            let e: f64 = Exp1.sample(rng);
            a[1] * e.powf(1.0 / a[0])
        }
        Family::BetaBinomial => match rand_distr::Beta::new(a[1], a[2]) {
            Ok(beta) => binomial(a[0], beta.sample(rng), rng),
            Err(_) => f64::NAN,
        },
        Family::NegativeBinomial => {
            // A Poisson whose rate is a Gamma(phi, phi / mu) draw; a rate beyond
            // the Poisson sampler's range is NaN, which `draw` retries.
            let (mu, phi) = (a[0], a[1]);
            let rate = standard_gamma(phi, rng) * (mu / phi);
            if (0.0..=MAX_POISSON_RATE).contains(&rate) {
                poisson(rate, rng)
            } else {
                f64::NAN
            }
        }
        Family::Beta => match rand_distr::Beta::new(a[0], a[1]) {
            Ok(beta) => beta.sample(rng),
            Err(_) => f64::NAN,
        },
        Family::Uniform => {
            let (lower, upper) = (a[0], a[1]);
            let u: f64 = rng.sample(Open01);
            let width = upper - lower;
            if width.is_finite() {
                lower + u * width
            } else {
                // Bounds like ±1e308 whose difference overflows.
                lower * (1.0 - u) + upper * u
            }
        }
        Family::BernoulliP => indicator(bernoulli(a[0], rng)),
        Family::BernoulliLogits => indicator(bernoulli_logit(a[0], rng)),
        Family::BinomialP => binomial(a[0], a[1], rng),
        Family::BinomialLogits => {
            // Draw the rarer outcome's count with its probability computed directly, so
            // logits of ±30 keep their full precision instead of rounding 1 - p.
            let (n, logit) = (a[0], a[1]);
            let (p, q) = logistic_pair(logit);
            if logit <= 0.0 {
                binomial(n, p, rng)
            } else {
                n - binomial(n, q, rng)
            }
        }
        Family::PoissonRate => poisson(a[0], rng),
        Family::PoissonLogRate => poisson(a[0].exp(), rng),
        Family::Wiener => {
            let u: f64 = rng.sample(Open01);
            crate::wiener::draw_upper(a[0], a[1], a[2], a[3], u)
        }
        Family::WienerBoundary => indicator(bernoulli(
            crate::wiener::upper_probability(a[0], a[1], a[2]),
            rng,
        )),
        Family::VonMises => von_mises(a[0], a[1], rng),
        Family::Wald => {
            // Michael, Schucany and Haas (1976): the smaller root x of the
            // quadratic a chi-square(1) draw gives, written as mu / (1 + a +
            // sqrt(a (a + 2))) without cancellation, or mu² / x with
            // probability x / (mu + x).
            let (mu, lambda) = (a[0], a[1]);
            let nu = normal(rng);
            let half = mu * (nu * nu) / (2.0 * lambda);
            let x = mu / (1.0 + half + (half * (half + 2.0)).sqrt());
            let u: f64 = rng.sample(Open01);
            if u <= mu / (mu + x) {
                x
            } else {
                mu * (mu / x)
            }
        }
        Family::Logistic => {
            let u: f64 = rng.sample(Open01);
            a[0] + a[1] * (u.ln() - (-u).ln_1p())
        }
        Family::Laplace => {
            let (e1, e2): (f64, f64) = (Exp1.sample(rng), Exp1.sample(rng));
            a[0] + a[1] * (e1 - e2)
        }
        Family::Gumbel => {
            let e: f64 = Exp1.sample(rng);
            a[0] - a[1] * e.ln()
        }
        Family::ExGaussian => {
            let e: f64 = Exp1.sample(rng);
            a[0] + a[1] * normal(rng) + e / a[2]
        }
        Family::SkewNormal => {
            // Azzalini's representation: with u0, v standard normal and
            // delta = alpha / sqrt(1 + alpha²), delta |u0| + sqrt(1 - delta²) v
            // (the sign of u0 carried by both terms, as below).
            let (xi, omega, alpha) = (a[0], a[1], a[2]);
            let norm = alpha.hypot(1.0);
            let (delta, rest) = (alpha / norm, 1.0 / norm);
            let (u0, v) = (normal(rng), normal(rng));
            let u1 = delta * u0 + rest * v;
            xi + omega * if u0 >= 0.0 { u1 } else { -u1 }
        }
    }
}

/// A `VonMises(mu, kappa)` draw in `[-pi, pi]`: Best and Fisher's (1979) rejection
/// from a wrapped Cauchy envelope, its constant `rho` written without the
/// cancellation of `tau - sqrt(2 tau)` at small `kappa`. Beyond `kappa = 1e8`,
/// where the envelope's `r - 1 ~ 1/(2 kappa)` has lost its digits, the
/// normal limit `Normal(0, 1/sqrt(kappa))`, whose density differs by `O(1/kappa)`;
/// below `kappa = 1e-12`, the uniform one. The rejection loop ends: at every
/// `kappa` in between, the envelope's acceptance rate is above 65%.
fn von_mises<R: Rng + ?Sized>(mu: f64, kappa: f64, rng: &mut R) -> f64 {
    let theta = if kappa < 1e-12 {
        // The density is within 1e-12 of the uniform one (and the envelope's
        // constants would underflow).
        let u: f64 = rng.sample(Open01);
        PI * (2.0 * u - 1.0)
    } else if kappa > 1e8 {
        let z: f64 = StandardNormal.sample(rng);
        z / kappa.sqrt()
    } else {
        let s = (2.0 * kappa).hypot(1.0); // sqrt(1 + 4 kappa²)
        let tau = 1.0 + s;
        let rho = 2.0 * kappa * tau / ((s + 1.0) * (tau + (2.0 * tau).sqrt()));
        let r = (1.0 + rho * rho) / (2.0 * rho);
        let f = loop {
            let u1: f64 = rng.sample(Open01);
            let u2: f64 = rng.sample(Open01);
            let z = (PI * u1).cos();
            let f = (1.0 + r * z) / (r + z);
            let c = kappa * (r - f);
            if c * (2.0 - c) > u2 || (c / u2).ln() + 1.0 - c >= 0.0 {
                break f.clamp(-1.0, 1.0);
            }
        };
        let u3: f64 = rng.sample(Open01);
        if u3 < 0.5 {
            -f.acos()
        } else {
            f.acos()
        }
    };
    // The mean direction within one turn first, so that a large `mu` does not
    // round the draw's offset away.
    let turn = 2.0 * PI;
    let x = mu.rem_euclid(turn) + theta;
    // Inside the open interval a parameter with this prior is given.
    (x - turn * (x / turn).round()).clamp((-PI).next_up(), PI.next_down())
}

/// Moves a continuous draw that rounded onto or past a boundary of the open support to
/// the nearest `f64` inside it.
fn into_support(family: Family, args: &[f64], x: f64) -> f64 {
    let smallest_positive = f64::from_bits(1);
    let (low, high) = match family.support() {
        Support::Real => (f64::MIN, f64::MAX),
        Support::Positive => (smallest_positive, f64::MAX),
        Support::UnitInterval => (smallest_positive, 1.0f64.next_down()),
        Support::BetweenArgs => (args[0].next_up(), args[1].next_down()),
        Support::AboveSecondArg => (args[1].next_up(), f64::MAX),
        Support::Discrete => return x,
    };
    x.clamp(low, high)
}

/// `x / 2` for `x > 0`, kept `> 0` when `x` is the smallest subnormal.
fn half_positive(x: f64) -> f64 {
    (0.5 * x).max(f64::from_bits(1))
}

/// A `Gamma(shape, 1)` draw (Marsaglia and Tsang's method, boosted by `U^(1/shape)` for
/// shapes below 1, as `rand_distr` implements it). `shape` has been checked to be finite
/// and `> 0`, for which the constructor cannot fail; NaN stands for the impossible.
fn standard_gamma<R: Rng + ?Sized>(shape: f64, rng: &mut R) -> f64 {
    match Gamma::new(shape, 1.0) {
        Ok(gamma) => gamma.sample(rng),
        Err(_) => f64::NAN,
    }
}

/// A `Cauchy(mu, sigma)` draw by inversion, `mu + sigma · tan(π u)`.
fn cauchy<R: Rng + ?Sized>(mu: f64, sigma: f64, rng: &mut R) -> f64 {
    match Cauchy::new(mu, sigma) {
        Ok(cauchy) => cauchy.sample(rng),
        Err(_) => f64::NAN,
    }
}

/// A `Binomial(n, p)` draw: `rand_distr`'s BINV inversion for `n·min(p, 1-p) < 10`, else
/// the BTPE rejection algorithm of Kachitvichyanukul and Schmeiser (1988). `n` is a whole
/// number `<= 2^53`, which both algorithms handle and an `f64` holds exactly.
fn binomial<R: Rng + ?Sized>(n: f64, p: f64, rng: &mut R) -> f64 {
    match Binomial::new(n as u64, p) {
        Ok(binomial) => binomial.sample(rng) as f64,
        Err(_) => f64::NAN,
    }
}

/// A `Poisson(rate)` draw: Knuth's multiplication method below rate 12, else the
/// rejection method of Ahrens and Dieter (1982), as `rand_distr` implements them. Rate 0
/// (also `log_rate = -inf`) always gives 0.
fn poisson<R: Rng + ?Sized>(rate: f64, rng: &mut R) -> f64 {
    if rate == 0.0 {
        return 0.0;
    }
    match Poisson::new(rate) {
        Ok(poisson) => poisson.sample(rng),
        Err(_) => f64::NAN,
    }
}
