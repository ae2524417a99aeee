//! The scalar distribution families, their arguments and what each argument may be.

/// A scalar distribution family with one parameterization, as the language names it.
///
/// The arguments are given in the language's order and follow Stan's functions
/// reference, which is also what the model's log density uses. A distribution with two
/// parameterizations (`Bernoulli(p)` and `Bernoulli(logits = …)`) is two families here.
/// `Categorical` takes a vector and is drawn by [`crate::draw_categorical`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `Normal(mu, sigma)`: mean `mu`, standard deviation `sigma > 0`.
    Normal,
    /// `HalfNormal(sigma)`: `|x|` for `x ~ Normal(0, sigma)`.
    HalfNormal,
    /// `StudentT(nu, mu, sigma)`: `nu > 0` degrees of freedom, location, scale.
    StudentT,
    /// `Cauchy(mu, sigma)`: location and scale `sigma > 0`.
    Cauchy,
    /// `HalfCauchy(sigma)`: `|x|` for `x ~ Cauchy(0, sigma)`.
    HalfCauchy,
    /// `LogNormal(mu, sigma)`: `exp(x)` for `x ~ Normal(mu, sigma)`.
    LogNormal,
    /// `Exponential(rate)`: mean `1 / rate`.
    Exponential,
    /// `Gamma(alpha, beta)`: shape `alpha > 0` and **rate** `beta > 0` (mean `alpha / beta`).
    Gamma,
    /// `InverseGamma(alpha, beta)`: shape `alpha > 0` and **scale** `beta > 0`
    /// (`beta / x` for `x ~ Gamma(alpha, 1)`).
    InverseGamma,
    /// `Weibull(alpha, sigma)`: shape `alpha > 0` and scale `sigma > 0`.
    Weibull,
    /// `Beta(alpha, beta)`: two shapes `> 0`, values in `(0, 1)`.
    Beta,
    /// `Uniform(lower, upper)`: values in `(lower, upper)`.
    Uniform,
    /// `Bernoulli(p)`: `1` with probability `p ∈ [0, 1]`, else `0`.
    BernoulliP,
    /// `Bernoulli(logits = l)`: `1` with probability `logistic(l)`; `l = ±inf` is allowed.
    BernoulliLogits,
    /// `Binomial(n, p)`: successes in `n` trials (`n` a whole number `≤ 2^53`).
    BinomialP,
    /// `Binomial(n, logits = l)`: success probability `logistic(l)`.
    BinomialLogits,
    /// `Poisson(rate)`: `rate ∈ [0, 2^52]`; rate 0 always gives 0.
    PoissonRate,
    /// `Poisson(log_rate = a)`: rate `exp(a)`; `a = -inf` always gives 0.
    PoissonLogRate,
    /// `NegativeBinomial(mu, phi)`: counts with mean `mu > 0` and variance
    /// `mu + mu² / phi` (Stan's `neg_binomial_2`), a Poisson of a Gamma rate.
    NegativeBinomial,
    /// `BetaBinomial(n, alpha, beta)`: successes in `n` trials whose success
    /// probability is a `Beta(alpha, beta)` draw.
    BetaBinomial,
    /// `Wiener(alpha, tau, beta, delta)`: the time a diffusion with drift `delta`, started
    /// at `beta · alpha` between boundaries 0 and `alpha > 0`, reaches the upper boundary,
    /// plus `tau`; drawn conditional on reaching the upper boundary (see [`crate::wiener`]).
    Wiener,
    /// The boundary a diffusion of `Wiener(alpha, tau, beta, delta)` ends at, drawn
    /// from its arguments `(alpha, beta, delta)`: `1` (the upper boundary) with the
    /// probability [`crate::wiener::upper_probability`], else `0`. With a time drawn
    /// from [`Family::Wiener`] given that boundary, a (boundary, time) pair of the
    /// drift-diffusion model.
    WienerBoundary,
    /// `VonMises(mu, kappa)`: an angle in radians around the mean direction `mu` with
    /// concentration `kappa > 0`; draws are in `[-pi, pi]`.
    VonMises,
    /// `ExGaussian(mu, sigma, lambda)`: a `Normal(mu, sigma)` draw plus an
    /// `Exponential(lambda)` one (Stan's `exp_mod_normal`).
    ExGaussian,
    /// `SkewNormal(xi, omega, alpha)`: location, scale `omega > 0` and shape `alpha`
    /// (Stan's `skew_normal`; `alpha = 0` is `Normal(xi, omega)`).
    SkewNormal,
    /// `Wald(mu, lambda)`: the inverse Gaussian, mean `mu > 0` and shape `lambda > 0`
    /// (the first-passage time of a one-boundary diffusion).
    Wald,
    /// `Logistic(mu, s)`: location and scale `s > 0`.
    Logistic,
    /// `Laplace(mu, b)`: location and scale `b > 0` (Stan's `double_exponential`).
    Laplace,
    /// `Gumbel(mu, beta)`: the largest-value Gumbel, location and scale `beta > 0`.
    Gumbel,
}

/// What one argument of a family may be; checked before every draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgumentKind {
    /// Any finite number.
    Real,
    /// Finite and `> 0`.
    Positive,
    /// Finite and `>= 0` (`VonMises`' `kappa`: 0 is the uniform circle).
    NonNegative,
    /// In `[0, 1]`.
    Probability,
    /// In `(0, 1)`.
    OpenProbability,
    /// Any number but NaN: `±inf` are the probabilities 1 and 0.
    Logit,
    /// A whole number in `[0, MAX_TRIALS]`.
    Trials,
    /// A Poisson rate in `[0, MAX_POISSON_RATE]`.
    PoissonRate,
    /// A log Poisson rate: not NaN, at most `ln MAX_POISSON_RATE`.
    LogPoissonRate,
}

/// The values a family's draws take, used to keep every draw inside the open support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Support {
    Real,
    Positive,
    UnitInterval,
    /// Between the first two arguments.
    BetweenArgs,
    /// Above the second argument (`Wiener`'s `tau`).
    AboveSecondArg,
    /// Whole numbers; the samplers produce them exactly.
    Discrete,
}

/// The largest number of Binomial trials: every whole number up to `2^53` is exact in an
/// `f64`, so draws are exact too.
pub const MAX_TRIALS: f64 = 9_007_199_254_740_992.0;

/// The largest Poisson rate: `2^52`, so that a draw exceeds `2^53` (where whole numbers stop
/// being exact in an `f64`) with a probability far below anything observable.
pub const MAX_POISSON_RATE: f64 = 4_503_599_627_370_496.0;

impl Family {
    /// Every scalar family, in declaration order.
    pub const ALL: [Family; 29] = [
        Family::Normal,
        Family::HalfNormal,
        Family::StudentT,
        Family::Cauchy,
        Family::HalfCauchy,
        Family::LogNormal,
        Family::Exponential,
        Family::Gamma,
        Family::InverseGamma,
        Family::Weibull,
        Family::Beta,
        Family::Uniform,
        Family::BernoulliP,
        Family::BernoulliLogits,
        Family::BinomialP,
        Family::BinomialLogits,
        Family::PoissonRate,
        Family::PoissonLogRate,
        Family::NegativeBinomial,
        Family::BetaBinomial,
        Family::Wiener,
        Family::WienerBoundary,
        Family::VonMises,
        Family::ExGaussian,
        Family::SkewNormal,
        Family::Wald,
        Family::Logistic,
        Family::Laplace,
        Family::Gumbel,
    ];

    /// The number of arguments.
    pub fn arity(self) -> usize {
        self.argument_names().len()
    }

    /// The distribution's name in the language (`Bernoulli` for both parameterizations).
    pub fn name(self) -> &'static str {
        match self {
            Family::Normal => "Normal",
            Family::HalfNormal => "HalfNormal",
            Family::StudentT => "StudentT",
            Family::Cauchy => "Cauchy",
            Family::HalfCauchy => "HalfCauchy",
            Family::LogNormal => "LogNormal",
            Family::Exponential => "Exponential",
            Family::Gamma => "Gamma",
            Family::InverseGamma => "InverseGamma",
            Family::Weibull => "Weibull",
            Family::NegativeBinomial => "NegativeBinomial",
            Family::BetaBinomial => "BetaBinomial",
            Family::Beta => "Beta",
            Family::Uniform => "Uniform",
            Family::BernoulliP | Family::BernoulliLogits => "Bernoulli",
            Family::BinomialP | Family::BinomialLogits => "Binomial",
            Family::PoissonRate | Family::PoissonLogRate => "Poisson",
            Family::Wiener | Family::WienerBoundary => "Wiener",
            Family::VonMises => "VonMises",
            Family::ExGaussian => "ExGaussian",
            Family::SkewNormal => "SkewNormal",
            Family::Wald => "Wald",
            Family::Logistic => "Logistic",
            Family::Laplace => "Laplace",
            Family::Gumbel => "Gumbel",
        }
    }

    /// The argument names in the language's order (those of `rlc-check`'s table).
    pub fn argument_names(self) -> &'static [&'static str] {
        match self {
            Family::Normal | Family::Cauchy | Family::LogNormal => &["mu", "sigma"],
            Family::HalfNormal | Family::HalfCauchy => &["sigma"],
            Family::StudentT => &["nu", "mu", "sigma"],
            Family::Exponential | Family::PoissonRate => &["rate"],
            Family::Gamma | Family::InverseGamma | Family::Beta => &["alpha", "beta"],
            Family::Uniform => &["lower", "upper"],
            Family::Weibull => &["alpha", "sigma"],
            Family::NegativeBinomial => &["mu", "phi"],
            Family::BetaBinomial => &["n", "alpha", "beta"],
            Family::BernoulliP => &["p"],
            Family::BernoulliLogits => &["logits"],
            Family::BinomialP => &["n", "p"],
            Family::BinomialLogits => &["n", "logits"],
            Family::PoissonLogRate => &["log_rate"],
            Family::Wiener => &["alpha", "tau", "beta", "delta"],
            Family::WienerBoundary => &["alpha", "beta", "delta"],
            Family::VonMises => &["mu", "kappa"],
            Family::ExGaussian => &["mu", "sigma", "lambda"],
            Family::SkewNormal => &["xi", "omega", "alpha"],
            Family::Wald => &["mu", "lambda"],
            Family::Logistic => &["mu", "s"],
            Family::Laplace => &["mu", "b"],
            Family::Gumbel => &["mu", "beta"],
        }
    }

    /// Whether draws are whole numbers (returned as `f64`).
    pub fn is_discrete(self) -> bool {
        self.support() == Support::Discrete
    }

    pub(crate) fn argument_kinds(self) -> &'static [ArgumentKind] {
        use ArgumentKind as K;
        match self {
            Family::Normal | Family::Cauchy | Family::LogNormal => &[K::Real, K::Positive],
            Family::HalfNormal | Family::HalfCauchy | Family::Exponential => &[K::Positive],
            Family::StudentT => &[K::Positive, K::Real, K::Positive],
            Family::Gamma
            | Family::InverseGamma
            | Family::Beta
            | Family::Weibull
            | Family::NegativeBinomial => &[K::Positive, K::Positive],
            Family::Uniform => &[K::Real, K::Real],
            Family::BernoulliP => &[K::Probability],
            Family::BernoulliLogits => &[K::Logit],
            Family::BinomialP => &[K::Trials, K::Probability],
            Family::BinomialLogits => &[K::Trials, K::Logit],
            Family::BetaBinomial => &[K::Trials, K::Positive, K::Positive],
            Family::PoissonRate => &[K::PoissonRate],
            Family::PoissonLogRate => &[K::LogPoissonRate],
            Family::Wiener => &[K::Positive, K::Real, K::OpenProbability, K::Real],
            Family::WienerBoundary => &[K::Positive, K::OpenProbability, K::Real],
            Family::VonMises => &[K::Real, K::NonNegative],
            Family::ExGaussian => &[K::Real, K::Positive, K::Positive],
            Family::SkewNormal => &[K::Real, K::Positive, K::Real],
            Family::Wald => &[K::Positive, K::Positive],
            Family::Logistic | Family::Laplace | Family::Gumbel => &[K::Real, K::Positive],
        }
    }

    pub(crate) fn support(self) -> Support {
        match self {
            Family::Normal
            | Family::StudentT
            | Family::Cauchy
            | Family::VonMises
            | Family::ExGaussian
            | Family::SkewNormal
            | Family::Logistic
            | Family::Laplace
            | Family::Gumbel => Support::Real,
            Family::HalfNormal
            | Family::HalfCauchy
            | Family::LogNormal
            | Family::Exponential
            | Family::Gamma
            | Family::InverseGamma
            | Family::Weibull
            | Family::Wald => Support::Positive,
            Family::Beta => Support::UnitInterval,
            Family::Uniform => Support::BetweenArgs,
            Family::Wiener => Support::AboveSecondArg,
            Family::BernoulliP
            | Family::BernoulliLogits
            | Family::BinomialP
            | Family::BinomialLogits
            | Family::PoissonRate
            | Family::PoissonLogRate
            | Family::NegativeBinomial
            | Family::BetaBinomial
            | Family::WienerBoundary => Support::Discrete,
        }
    }
}
