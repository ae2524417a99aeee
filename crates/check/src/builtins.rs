//! The table of built-in functions and distributions: their argument names
//! and the rule that gives their result's shape. The checker applies the
//! rules in one place (`Checker::apply_rule`); adding a function is a row
//! here, not new checking code.

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Abs,
    Logistic,
    Logit,
    Phi,
    PhiApprox,
    LogPhi,
    InvPhi,
    Lgamma,
    Sin,
    Cos,
    Tanh,
    Pow,
    Atan2,
    Softmax,
    LogSoftmax,
    LogSumExp,
    Sum,
    Mean,
    Prod,
    Min,
    Max,
    Dot,
    Matmul,
    Concat,
    Stack,
    Where,
    Arange,
    Zeros,
    Ones,
    Fill,
}

/// How a function's result shape and element type follow from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeRule {
    /// Elementwise on one numeric argument; the result is real.
    UnaryReal,
    /// Elementwise on one numeric argument; the element type is kept.
    UnaryKeep,
    /// Elementwise on two broadcast numeric arguments; the result is real.
    BinaryReal,
    /// Along one axis (`axis=`, default -1); the shape is kept.
    AlongAxis,
    /// A reduction over `axis=` (all axes by default), with `keepdims=`.
    /// `real_result` is true for reductions whose result is real on ints.
    Reduce { real_result: bool },
    /// `dot(a, b)` of two vectors of one length.
    Dot,
    /// `matmul(a, b)` as NumPy's `@` for 1-D and 2-D operands.
    Matmul,
    /// Joins arrays along an existing axis (`axis=`, default 0).
    Concat,
    /// Stacks equal-shaped arrays along a new axis (`axis=`, default 0).
    Stack,
    /// `where(cond, a, b)`, all broadcast.
    Where,
    /// `arange(n)`: `int[n]` with values in `0..n`.
    Arange,
    /// `zeros(d1, …)`, `ones(d1, …)`: a real array of the given dimensions.
    Constant,
    /// `fill(value, d1, …)`.
    Fill,
}

/// A function's signature: positional parameter names (the last one repeats
/// when `variadic`), the keyword options it takes, and its shape rule.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSig {
    pub function: Function,
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub variadic: bool,
    pub takes_axis: bool,
    pub takes_keepdims: bool,
    pub rule: ShapeRule,
}

const fn f(
    function: Function,
    name: &'static str,
    params: &'static [&'static str],
    rule: ShapeRule,
) -> FunctionSig {
    FunctionSig {
        function,
        name,
        params,
        variadic: false,
        takes_axis: false,
        takes_keepdims: false,
        rule,
    }
}

const fn reduce(function: Function, name: &'static str, real_result: bool) -> FunctionSig {
    FunctionSig {
        takes_axis: true,
        takes_keepdims: true,
        ..f(function, name, &["x"], ShapeRule::Reduce { real_result })
    }
}

const fn variadic(mut sig: FunctionSig) -> FunctionSig {
    sig.variadic = true;
    sig
}

const fn with_axis(mut sig: FunctionSig) -> FunctionSig {
    sig.takes_axis = true;
    sig
}

use Function as F;
use ShapeRule as R;

pub static FUNCTIONS: &[FunctionSig] = &[
    f(F::Exp, "exp", &["x"], R::UnaryReal),
    f(F::Log, "log", &["x"], R::UnaryReal),
    f(F::Log1p, "log1p", &["x"], R::UnaryReal),
    f(F::Expm1, "expm1", &["x"], R::UnaryReal),
    f(F::Sqrt, "sqrt", &["x"], R::UnaryReal),
    f(F::Abs, "abs", &["x"], R::UnaryKeep),
    f(F::Logistic, "logistic", &["x"], R::UnaryReal),
    f(F::Logit, "logit", &["x"], R::UnaryReal),
    f(F::Phi, "Phi", &["x"], R::UnaryReal),
    f(F::PhiApprox, "Phi_approx", &["x"], R::UnaryReal),
    f(F::LogPhi, "log_Phi", &["x"], R::UnaryReal),
    f(F::InvPhi, "inv_Phi", &["p"], R::UnaryReal),
    f(F::Lgamma, "lgamma", &["x"], R::UnaryReal),
    f(F::Sin, "sin", &["x"], R::UnaryReal),
    f(F::Cos, "cos", &["x"], R::UnaryReal),
    f(F::Tanh, "tanh", &["x"], R::UnaryReal),
    f(F::Pow, "pow", &["x", "y"], R::BinaryReal),
    f(F::Atan2, "atan2", &["y", "x"], R::BinaryReal),
    with_axis(f(F::Softmax, "softmax", &["x"], R::AlongAxis)),
    with_axis(f(F::LogSoftmax, "log_softmax", &["x"], R::AlongAxis)),
    reduce(F::LogSumExp, "logsumexp", true),
    reduce(F::Sum, "sum", false),
    reduce(F::Mean, "mean", true),
    reduce(F::Prod, "prod", false),
    reduce(F::Min, "min", false),
    reduce(F::Max, "max", false),
    f(F::Dot, "dot", &["a", "b"], R::Dot),
    f(F::Matmul, "matmul", &["a", "b"], R::Matmul),
    with_axis(variadic(f(F::Concat, "concat", &["arrays"], R::Concat))),
    with_axis(variadic(f(F::Stack, "stack", &["arrays"], R::Stack))),
    f(F::Where, "where", &["condition", "x", "y"], R::Where),
    f(F::Arange, "arange", &["n"], R::Arange),
    variadic(f(F::Zeros, "zeros", &["dims"], R::Constant)),
    variadic(f(F::Ones, "ones", &["dims"], R::Constant)),
    variadic(f(F::Fill, "fill", &["value", "dims"], R::Fill)),
];

/// A built-in distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    Normal,
    HalfNormal,
    StudentT,
    Cauchy,
    HalfCauchy,
    LogNormal,
    Exponential,
    Gamma,
    InverseGamma,
    Weibull,
    Beta,
    Uniform,
    Bernoulli,
    Binomial,
    Poisson,
    NegativeBinomial,
    BetaBinomial,
    Categorical,
    OrderedLogistic,
    Wiener,
    VonMises,
    ExGaussian,
    SkewNormal,
    Wald,
    Logistic,
    Laplace,
    Gumbel,
    /// The linear ballistic accumulator (Brown & Heathcote 2008), as hBayesDM's
    /// `lba_lpdf`: `rt ~ LBA(d, A, v, s, tau, response = k)`, the density of the
    /// (response, time) pair, `v` the mean drifts along the last axis.
    Lba,
    /// `y ~ LogDensity(lp)`: adds `lp`, a log density written by hand from `y`
    /// and the parameters, scored at `y` (its pointwise log-likelihood, for
    /// LOO); nothing to draw from.
    LogDensity,
}

/// Where an observed outcome must lie, as the log density checks it (one rule
/// for the lowering, which writes the check, and the explainer, which names
/// the data rows that break it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeRange {
    /// `y >= 0`: a half distribution's, a waiting time's, a count's.
    NonNegative,
    /// `y > 0`.
    Positive,
    /// `0 <= y <= 1`.
    UnitClosed,
    /// `y` is 0 or 1.
    Binary,
    /// `0 <= y <= n`, `n` the first argument.
    UpToFirstArg,
    /// `lower <= y <= upper`, the first two arguments.
    BetweenArgs,
    /// Not checked: every real, an angle, a category (checked as an index), or
    /// a density already -inf outside (Wiener's at or below `tau`).
    Unchecked,
}

impl OutcomeRange {
    /// Whether `y` is outside, or `None` where that depends on the arguments
    /// (a count of 3 under `Binomial(n, p)`) or is not checked.
    pub fn excludes(self, y: f64) -> Option<bool> {
        match self {
            OutcomeRange::NonNegative => Some(y < 0.0),
            OutcomeRange::Positive => Some(y <= 0.0),
            OutcomeRange::UnitClosed => Some(!(0.0..=1.0).contains(&y)),
            OutcomeRange::Binary => Some(y != 0.0 && y != 1.0),
            OutcomeRange::UpToFirstArg if y < 0.0 => Some(true),
            OutcomeRange::UpToFirstArg | OutcomeRange::BetweenArgs | OutcomeRange::Unchecked => {
                None
            }
        }
    }
}

impl OutcomeRange {
    /// A value inside the range at which every formula of the distribution is
    /// finite (0 for counts, 1 for a positive real, ½ in [0, 1]), which the log
    /// density computes with where the outcome is outside; `None` where the
    /// range is not checked or depends on the arguments.
    pub fn inside_value(self, discrete: bool) -> Option<f64> {
        match self {
            OutcomeRange::Unchecked | OutcomeRange::BetweenArgs => None,
            OutcomeRange::UnitClosed => Some(0.5),
            _ if discrete => Some(0.0),
            _ => Some(1.0),
        }
    }
}

impl Distribution {
    /// Whether its outcomes are whole numbers (or bools, or categories).
    pub fn is_discrete(self) -> bool {
        DISTRIBUTIONS
            .iter()
            .any(|s| s.distribution == self && s.support.is_discrete())
    }

    /// Whether its outcomes are angles (its support is the circle): data
    /// under it should be in radians, a parameter under it is cut at ±π.
    pub fn is_circular(self) -> bool {
        DISTRIBUTIONS
            .iter()
            .any(|s| s.distribution == self && s.support == Support::Circle)
    }

    /// The argument, by name, that says which response an observation is of, for a
    /// distribution of a (response, time) pair: `Wiener`'s `upper` (which boundary),
    /// `LBA`'s `response` (which accumulator). Data, not a parameter of the time's
    /// density: run forward, it is drawn with the time.
    pub fn response_argument(self) -> Option<&'static str> {
        match self {
            Distribution::Wiener => Some("upper"),
            Distribution::Lba => Some("response"),
            _ => None,
        }
    }

    /// Where an observed outcome of this distribution must lie.
    pub fn outcome_range(self) -> OutcomeRange {
        use Distribution as D;
        match self {
            D::HalfNormal | D::HalfCauchy | D::Exponential | D::Poisson | D::NegativeBinomial => {
                OutcomeRange::NonNegative
            }
            D::LogNormal | D::Gamma | D::InverseGamma | D::Weibull | D::Wald => {
                OutcomeRange::Positive
            }
            D::Beta => OutcomeRange::UnitClosed,
            D::Bernoulli => OutcomeRange::Binary,
            D::Binomial | D::BetaBinomial => OutcomeRange::UpToFirstArg,
            D::Uniform => OutcomeRange::BetweenArgs,
            D::Normal
            | D::StudentT
            | D::Cauchy
            | D::Categorical
            | D::OrderedLogistic
            | D::Wiener
            | D::VonMises
            | D::ExGaussian
            | D::SkewNormal
            | D::Logistic
            | D::Laplace
            | D::Gumbel
            | D::Lba
            | D::LogDensity => OutcomeRange::Unchecked,
        }
    }
}

/// The values a distribution puts mass on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// The real line.
    Real,
    /// `(0, inf)`.
    Positive,
    /// `(0, 1)`.
    UnitInterval,
    /// `(lower, upper)` given by the first two arguments.
    BetweenArgs,
    /// `(x, inf)` with `x` the second argument (`Wiener`'s `tau`).
    AboveSecondArg,
    /// Angles in radians: every real number, the density repeating every
    /// `2 pi`; a parameter is given `(-pi, pi)`.
    Circle,
    /// `0` or `1` (or `false`/`true`).
    Binary,
    /// `0, 1, …, n` with `n` the first argument.
    UpToFirstArg,
    /// `0, 1, 2, …`.
    Counts,
    /// `0..K`, with `K` the last axis of the probability argument.
    Categories,
}

impl Support {
    pub fn is_discrete(self) -> bool {
        matches!(
            self,
            Support::Binary | Support::UpToFirstArg | Support::Counts | Support::Categories
        )
    }
}

/// The values an argument of a distribution may take, as in Stan's functions
/// reference. Where an argument's value is known when compiling, the checker
/// compares it with this (`Checker::check_argument_ranges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgRange {
    /// Any finite number (a location, a logit).
    Finite,
    /// Finite and `> 0` (a scale, a shape, a rate).
    Positive,
    /// Finite and `>= 0` (a count, a Poisson rate).
    NonNegative,
    /// In `[0, 1]`.
    Probability,
    /// Probabilities in `[0, 1]` that sum to 1 along the last axis.
    Simplex,
    /// Finite and greater than the named argument (`upper > lower`).
    Above(&'static str),
    /// `0` or `1`: which boundary of a diffusion a response reached (`Wiener`'s `upper`).
    Boundary,
    /// A 0-based index of an accumulator, along the last axis of the drifts (`LBA`'s
    /// `response`).
    Accumulator,
}

impl ArgRange {
    /// The requirement in words, after the argument's name: "`sigma` must be …".
    pub fn describe(self) -> String {
        match self {
            ArgRange::Finite => "finite".to_string(),
            ArgRange::Positive => "> 0".to_string(),
            ArgRange::NonNegative => ">= 0".to_string(),
            ArgRange::Probability => "in [0, 1]".to_string(),
            ArgRange::Simplex => "in [0, 1], summing to 1 along the last axis".to_string(),
            ArgRange::Above(other) => format!("> `{other}`"),
            ArgRange::Boundary => "0 or 1".to_string(),
            ArgRange::Accumulator => "an accumulator's index, 0 or more".to_string(),
        }
    }
}

/// A distribution's signature: one or more parameterizations (argument name
/// lists, selected by keyword), the allowed values of each argument, and
/// its support.
#[derive(Debug, Clone, Copy)]
pub struct DistributionSig {
    pub distribution: Distribution,
    pub name: &'static str,
    pub parameterizations: &'static [&'static [&'static str]],
    /// For each argument name, whether it must be an integer.
    pub int_params: &'static [&'static str],
    /// The allowed values of each argument name (of every parameterization).
    pub ranges: &'static [(&'static str, ArgRange)],
    pub support: Support,
}

impl DistributionSig {
    /// The allowed values of the argument `name`.
    pub fn range(&self, name: &str) -> Option<ArgRange> {
        self.ranges
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }
}

const fn d(
    distribution: Distribution,
    name: &'static str,
    parameterizations: &'static [&'static [&'static str]],
    ranges: &'static [(&'static str, ArgRange)],
    support: Support,
) -> DistributionSig {
    DistributionSig {
        distribution,
        name,
        parameterizations,
        int_params: &[],
        ranges,
        support,
    }
}

use ArgRange::{Above, Accumulator, Boundary, Finite, NonNegative, Positive, Probability, Simplex};
use Distribution as D;
use Support as S;

const LOCATION_SCALE: &[(&str, ArgRange)] = &[("mu", Finite), ("sigma", Positive)];
const SHAPES: &[(&str, ArgRange)] = &[("alpha", Positive), ("beta", Positive)];

pub static DISTRIBUTIONS: &[DistributionSig] = &[
    d(
        D::Normal,
        "Normal",
        &[&["mu", "sigma"]],
        LOCATION_SCALE,
        S::Real,
    ),
    d(
        D::HalfNormal,
        "HalfNormal",
        &[&["sigma"]],
        &[("sigma", Positive)],
        S::Positive,
    ),
    d(
        D::StudentT,
        "StudentT",
        &[&["nu", "mu", "sigma"]],
        &[("nu", Positive), ("mu", Finite), ("sigma", Positive)],
        S::Real,
    ),
    d(
        D::Cauchy,
        "Cauchy",
        &[&["mu", "sigma"]],
        LOCATION_SCALE,
        S::Real,
    ),
    d(
        D::HalfCauchy,
        "HalfCauchy",
        &[&["sigma"]],
        &[("sigma", Positive)],
        S::Positive,
    ),
    d(
        D::LogNormal,
        "LogNormal",
        &[&["mu", "sigma"]],
        LOCATION_SCALE,
        S::Positive,
    ),
    d(
        D::Exponential,
        "Exponential",
        &[&["rate"]],
        &[("rate", Positive)],
        S::Positive,
    ),
    d(
        D::Gamma,
        "Gamma",
        &[&["alpha", "beta"]],
        SHAPES,
        S::Positive,
    ),
    d(
        D::InverseGamma,
        "InverseGamma",
        &[&["alpha", "beta"]],
        SHAPES,
        S::Positive,
    ),
    d(
        D::Weibull,
        "Weibull",
        &[&["alpha", "sigma"]],
        &[("alpha", Positive), ("sigma", Positive)],
        S::Positive,
    ),
    d(
        D::Beta,
        "Beta",
        &[&["alpha", "beta"]],
        SHAPES,
        S::UnitInterval,
    ),
    d(
        D::Uniform,
        "Uniform",
        &[&["lower", "upper"]],
        &[("lower", Finite), ("upper", Above("lower"))],
        S::BetweenArgs,
    ),
    d(
        D::Bernoulli,
        "Bernoulli",
        &[&["p"], &["logits"]],
        &[("p", Probability), ("logits", Finite)],
        S::Binary,
    ),
    DistributionSig {
        int_params: &["n"],
        ..d(
            D::Binomial,
            "Binomial",
            &[&["n", "p"], &["n", "logits"]],
            &[("n", NonNegative), ("p", Probability), ("logits", Finite)],
            S::UpToFirstArg,
        )
    },
    d(
        D::Poisson,
        "Poisson",
        &[&["rate"], &["log_rate"]],
        &[("rate", NonNegative), ("log_rate", Finite)],
        S::Counts,
    ),
    d(
        D::NegativeBinomial,
        "NegativeBinomial",
        &[&["mu", "phi"]],
        &[("mu", Positive), ("phi", Positive)],
        S::Counts,
    ),
    DistributionSig {
        int_params: &["n"],
        ..d(
            D::BetaBinomial,
            "BetaBinomial",
            &[&["n", "alpha", "beta"]],
            &[("n", NonNegative), ("alpha", Positive), ("beta", Positive)],
            S::UpToFirstArg,
        )
    },
    d(
        D::Categorical,
        "Categorical",
        &[&["p"], &["logits"]],
        &[("p", Simplex), ("logits", Finite)],
        S::Categories,
    ),
    d(
        D::OrderedLogistic,
        "OrderedLogistic",
        &[&["eta", "cutpoints"]],
        &[("eta", Finite), ("cutpoints", Finite)],
        S::Categories,
    ),
    // `upper` (by name only) says which boundary each response reached, 1 the
    // upper and 0 the lower: the density of the (boundary, time) pair, which runs
    // forward as one (a boundary, then its time).
    DistributionSig {
        int_params: &["upper"],
        ..d(
            D::Wiener,
            "Wiener",
            &[
                &["alpha", "tau", "beta", "delta"],
                &["alpha", "tau", "beta", "delta", "upper"],
            ],
            &[
                ("alpha", Positive),
                ("tau", NonNegative),
                ("beta", Probability),
                ("delta", Finite),
                ("upper", Boundary),
            ],
            S::AboveSecondArg,
        )
    },
    d(
        D::VonMises,
        "VonMises",
        &[&["mu", "kappa"]],
        &[("mu", Finite), ("kappa", NonNegative)],
        S::Circle,
    ),
    d(
        D::ExGaussian,
        "ExGaussian",
        &[&["mu", "sigma", "lambda"]],
        &[("mu", Finite), ("sigma", Positive), ("lambda", Positive)],
        S::Real,
    ),
    d(
        D::SkewNormal,
        "SkewNormal",
        &[&["xi", "omega", "alpha"]],
        &[("xi", Finite), ("omega", Positive), ("alpha", Finite)],
        S::Real,
    ),
    d(
        D::Wald,
        "Wald",
        &[&["mu", "lambda"]],
        &[("mu", Positive), ("lambda", Positive)],
        S::Positive,
    ),
    d(
        D::Logistic,
        "Logistic",
        &[&["mu", "s"]],
        &[("mu", Finite), ("s", Positive)],
        S::Real,
    ),
    d(
        D::Laplace,
        "Laplace",
        &[&["mu", "b"]],
        &[("mu", Finite), ("b", Positive)],
        S::Real,
    ),
    d(
        D::Gumbel,
        "Gumbel",
        &[&["mu", "beta"]],
        &[("mu", Finite), ("beta", Positive)],
        S::Real,
    ),
    // `v` holds one mean drift per accumulator along its last axis; `response`
    // (0-based) says which accumulator reached the threshold first: the density of the
    // (response, time) pair, which runs forward as one.
    DistributionSig {
        int_params: &["response"],
        ..d(
            D::Lba,
            "LBA",
            &[&["d", "A", "v", "s", "tau", "response"]],
            &[
                ("d", Positive),
                ("A", Positive),
                ("v", Finite),
                ("s", Positive),
                ("tau", NonNegative),
                ("response", Accumulator),
            ],
            S::Positive,
        )
    },
    d(
        D::LogDensity,
        "LogDensity",
        &[&["lp"]],
        &[("lp", Finite)],
        S::Real,
    ),
];

pub fn function(name: &str) -> Option<&'static FunctionSig> {
    FUNCTIONS.iter().find(|s| s.name == name)
}

pub fn distribution(name: &str) -> Option<&'static DistributionSig> {
    DISTRIBUTIONS.iter().find(|s| s.name == name)
}

/// The names that are special forms rather than table entries.
pub const SPECIAL_FORMS: &[&str] = &["present", "set_subtensor", "inc_subtensor", "logp"];

const NEG_BINOMIAL: &str = "Stan's `neg_binomial_2(mu, phi)` (PyMC's `NegativeBinomial(mu, alpha)`) is `NegativeBinomial(mu, phi)`: mean `mu`, variance `mu + mu^2 / phi`";
const MULTIVARIATE: &str = "rlc has no multivariate normal or LKJ prior: give correlated parameters independent (non-centered) priors, or write a 2 x 2 Cholesky factor by hand";
const DIRICHLET: &str = "rlc has no `Dirichlet` (and no simplex type): `param g: real[K] ~ Gamma(alpha, 1)` with `let p = g / sum(g)` makes `p` a Dirichlet(alpha) draw";
const TRIGONOMETRIC: &str = "rlc has `sin`, `cos`, `tanh` and `atan2(y, x)`; `tan(x)` is `sin(x) / cos(x)`, `atan(x)` is `atan2(x, 1)`; `asin` and `acos` are not built in: compute them of the data before loading it";
const INVERSE_GAUSSIAN: &str =
    "the inverse Gaussian is `Wald(mu, lambda)` (mean `mu`, shape `lambda`)";
const ORDERED: &str = "rlc has no ordered probit: `OrderedLogistic(eta, cutpoints)` is the logistic one; the probit one is the Categorical of the differences of `Phi(c - eta)` between neighbouring cutpoints";

/// Names from Python, NumPy, PyTensor, PyMC and Stan that rlc spells
/// otherwise, with how. An unknown name, function or distribution found here
/// gets this as its help rather than a "did you mean".
static FOREIGN_NAMES: &[(&str, &str)] = &[
    // Python
    ("True", "write `true`"),
    ("False", "write `false`"),
    (
        "None",
        "rlc has no `None`: a value that may be missing is a type, `int?`, tested with \
         `present(…)`; NumPy's new axis `x[:, None]` is `stack(x, axis=1)` (a `[N]` \
         array as `[N, 1]`)",
    ),
    (
        "newaxis",
        "NumPy's new axis `x[:, np.newaxis]` is `stack(x, axis=1)` (a `[N]` array as `[N, 1]`)",
    ),
    (
        "expand_dims",
        "NumPy's `expand_dims(x, 1)` is `stack(x, axis=1)` (a `[N]` array as `[N, 1]`)",
    ),
    (
        "range",
        "Python's `range(n)` is `0..n` in a `for` or `scan` header, or `arange(n)` for an array \
         of indices",
    ),
    (
        "len",
        "write the size the array is declared with (`T` for `data x: real[T]`)",
    ),
    (
        "print",
        "there is no printing: `out x = …` writes a value with every draw",
    ),
    (
        "float",
        "`int` converts to `real` by itself where a real is expected",
    ),
    // NumPy, PyTensor
    (
        "nan",
        "rlc has no NaN: a value that may be missing is a type, `real?`, tested with `present(…)`",
    ),
    (
        "NaN",
        "rlc has no NaN: a value that may be missing is a type, `real?`, tested with `present(…)`",
    ),
    (
        "pi",
        "rlc has no named constants: write `3.141592653589793`",
    ),
    (
        "maximum",
        "the elementwise maximum of `a` and `b` is `where(a > b, a, b)`",
    ),
    (
        "minimum",
        "the elementwise minimum of `a` and `b` is `where(a < b, a, b)`",
    ),
    (
        "fmax",
        "the elementwise maximum of `a` and `b` is `where(a > b, a, b)`",
    ),
    (
        "fmin",
        "the elementwise minimum of `a` and `b` is `where(a < b, a, b)`",
    ),
    ("switch", "PyTensor's `switch(c, a, b)` is `where(c, a, b)`"),
    ("power", "write `x ^ y` or `pow(x, y)`"),
    ("square", "write `x ^ 2`"),
    ("sigmoid", "the logistic sigmoid is `logistic(x)`"),
    ("expit", "the logistic sigmoid is `logistic(x)`"),
    ("invlogit", "the logistic sigmoid is `logistic(x)`"),
    ("inv_logit", "Stan's `inv_logit` is `logistic(x)`"),
    ("log1m", "Stan's `log1m(x)` is `log1p(-x)`"),
    ("log_inv_logit", "Stan's `log_inv_logit(x)` is `-logsumexp(stack(0.0, -x), axis=0)` for a scalar `x` (`-log1p(exp(-x))` overflows below x = -709), or score with `Bernoulli(logits = x)`"),
    ("log1m_inv_logit", "Stan's `log1m_inv_logit(x)` is `-logsumexp(stack(0.0, x), axis=0)` for a scalar `x` (`-log1p(exp(x))` overflows above x = 709), or score with `Bernoulli(logits = x)`"),
    ("log_mix", "write the mixture's log density as `logsumexp(stack(log(w) + lp1, log1p(-w) + lp2), axis=0)`"),
    ("clip", "clip with `where`: `where(x < lo, lo, where(x > hi, hi, x))`"),
    ("fmod", "rlc has no remainder: compute the value in the data, or count it in a `scan` carry"),
    ("mod", "rlc has no remainder: compute the value in the data, or count it in a `scan` carry"),
    ("floor", "rlc has no rounding functions: compute the value in the data, or count it in a `scan` carry"),
    (
        "log_sum_exp",
        "write `logsumexp(x)` (with `axis=` and `keepdims=` as in NumPy)",
    ),
    ("logaddexp", "write `logsumexp(stack(a, b), axis=0)`"),
    (
        "zeros_like",
        "write `zeros(T)` with the array's declared size",
    ),
    (
        "ones_like",
        "write `ones(T)` with the array's declared size",
    ),
    ("full", "write `fill(value, d1, …)`"),
    ("rep_vector", "Stan's `rep_vector(x, n)` is `fill(x, n)`"),
    ("rep_array", "Stan's `rep_array(x, n)` is `fill(x, n)`"),
    (
        "rep_matrix",
        "Stan's `rep_matrix(x, m, n)` is `fill(x, m, n)`",
    ),
    ("to_vector", "arrays need no conversion: drop `to_vector`"),
    ("num_elements", "write the sizes the array is declared with"),
    ("rows", "write the size the array is declared with"),
    ("cols", "write the size the array is declared with"),
    (
        "cumsum",
        "a running sum is a `scan`: `scan (s = 0.0; v in x) { s + v }`",
    ),
    ("exp2", "write `2 ^ x`"),
    ("inv", "write `1 / x`"),
    // PyMC
    ("Deterministic", "PyMC's `Deterministic` is `out name = …`"),
    ("Potential", "PyMC's `Potential` is `target += …`"),
    (
        "Data",
        "data are declared at the top level: `data x: real[T]`",
    ),
    (
        "MutableData",
        "data are declared at the top level: `data x: real[T]`",
    ),
    (
        "ConstantData",
        "data are declared at the top level: `data x: real[T]`",
    ),
    (
        "sample",
        "models are sampled from the command line: `rlc run model.rlm --data …`",
    ),
    // Stan's distributions whose rlc names differ by more than capitals
    (
        "student_t",
        "Stan's `student_t` is `StudentT(nu, mu, sigma)`",
    ),
    ("lognormal", "Stan's `lognormal` is `LogNormal(mu, sigma)`"),
    (
        "inv_gamma",
        "Stan's `inv_gamma` is `InverseGamma(alpha, beta)`",
    ),
    (
        "bernoulli_logit",
        "Stan's `bernoulli_logit(l)` is `Bernoulli(logits = l)`",
    ),
    (
        "binomial_logit",
        "Stan's `binomial_logit(n, l)` is `Binomial(n, logits = l)`",
    ),
    (
        "poisson_log",
        "Stan's `poisson_log(a)` is `Poisson(log_rate = a)`",
    ),
    (
        "categorical_logit",
        "Stan's `categorical_logit(l)` is `Categorical(logits = l)` (0-based outcomes)",
    ),
    // Distributions and functions rlc does not have, which "did you mean"
    // would answer with another one (`NegBinomial2` with `Binomial`).
    ("NegBinomial", NEG_BINOMIAL),
    ("NegBinomial2", NEG_BINOMIAL),
    ("neg_binomial_2", NEG_BINOMIAL),
    ("neg_binomial", "Stan's `neg_binomial(alpha, beta)` is `NegativeBinomial(mu = alpha / beta, phi = alpha)`"),
    ("beta_binomial", "Stan's `beta_binomial(n, alpha, beta)` is `BetaBinomial(n, alpha, beta)`"),
    ("MvNormal", MULTIVARIATE),
    ("MultiNormal", MULTIVARIATE),
    ("multi_normal", MULTIVARIATE),
    ("multi_normal_cholesky", MULTIVARIATE),
    ("LKJCorr", MULTIVARIATE),
    ("LKJCholeskyCov", MULTIVARIATE),
    ("lkj_corr", MULTIVARIATE),
    ("lkj_corr_cholesky", MULTIVARIATE),
    ("Dirichlet", DIRICHLET),
    ("dirichlet", DIRICHLET),
    ("ordered_logistic", "Stan's `ordered_logistic(eta, c)` is `OrderedLogistic(eta, c)`, with 0-based outcomes"),
    ("OrderedProbit", ORDERED),
    ("ordered_probit", ORDERED),
    ("exp_mod_normal", "Stan's `exp_mod_normal(mu, sigma, lambda)` is `ExGaussian(mu, sigma, lambda)` (`lambda` a rate: the exponential part's mean is `1 / lambda`)"),
    ("tan", TRIGONOMETRIC),
    ("asin", TRIGONOMETRIC),
    ("acos", TRIGONOMETRIC),
    ("atan", TRIGONOMETRIC),
    ("log_modified_bessel_first_kind", "rlc has no Bessel functions; the von Mises density is `VonMises(mu, kappa)`"),
    ("digamma", "rlc has no `digamma`; `lgamma` is the log of the gamma function"),
    ("lbeta", "write `lgamma(a) + lgamma(b) - lgamma(a + b)`"),
    ("lchoose", "write `lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)`"),
    ("choose", "write `exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1))`"),
    ("log_diff_exp", "write `a + log1p(-exp(b - a))` for log(exp(a) - exp(b)), a > b"),
    ("probit", "the probit of `p` is `inv_Phi(p)`"),
    ("norminv", "the normal quantile is `inv_Phi(p)`"),
    ("ndtri", "the normal quantile is `inv_Phi(p)`"),
    ("erf", "write `2 * Phi(x * sqrt(2.0)) - 1`"),
    ("erfc", "write `2 * Phi(-x * sqrt(2.0))`"),
    ("std_normal_lcdf", "write `log_Phi(x)`"),
    ("std_normal_lccdf", "write `log_Phi(-x)`"),
    ("normal_lcdf", "write `log_Phi((x - mu) / sigma)`"),
    ("normal_lccdf", "write `log_Phi((mu - x) / sigma)`"),
    ("log_ndtr", "write `log_Phi(x)`"),
    ("normcdf", "write `Phi(x)`, or `log_Phi(x)` for its log"),
    ("half_normal", "write `HalfNormal(sigma)`"),
    ("InverseGaussian", INVERSE_GAUSSIAN),
    ("InvGauss", INVERSE_GAUSSIAN),
    ("InvGaussian", INVERSE_GAUSSIAN),
    ("Invgaussian", INVERSE_GAUSSIAN),
    ("invgauss", INVERSE_GAUSSIAN),
    ("inverse_gaussian", INVERSE_GAUSSIAN),
    ("ShiftedWald", "the shifted Wald of a response time `rt` is `logp(Wald(mu, lambda), rt - shift)`"),
    ("DoubleExponential", "the double exponential is `Laplace(mu, b)`"),
    ("Gaussian", "the normal distribution is `Normal(mu, sigma)` (`sigma` the sd)"),
    ("half_cauchy", "write `HalfCauchy(sigma)`"),
    (
        "HalfStudentT",
        "rlc has no `HalfStudentT`; `StudentT` with bounds `in (0, inf)` on the parameter is one",
    ),
];

/// Arguments of rlc's distributions as PyMC, SciPy or the literature name
/// them: (distribution, their name, how rlc writes it).
static FOREIGN_ARGUMENTS: &[(&str, &str, &str)] = &[
    (
        "ExGaussian",
        "nu",
        "PyMC's `nu`, the exponential part's mean, is `lambda = 1 / nu`",
    ),
    (
        "ExGaussian",
        "tau",
        "the exponential part's mean `tau` is `lambda = 1 / tau`",
    ),
    ("ExGaussian", "K", "SciPy's `K` is `1 / (sigma * lambda)`"),
    ("SkewNormal", "mu", "the location (PyMC's `mu`) is `xi`"),
    (
        "SkewNormal",
        "sigma",
        "the scale (PyMC's `sigma`) is `omega`",
    ),
    ("SkewNormal", "loc", "the location (SciPy's `loc`) is `xi`"),
    (
        "SkewNormal",
        "scale",
        "the scale (SciPy's `scale`) is `omega`",
    ),
    ("Normal", "sd", "the standard deviation is `sigma`"),
    (
        "Normal",
        "tau",
        "rlc's `Normal` takes the standard deviation `sigma = 1 / sqrt(tau)`, not a precision",
    ),
    ("Gamma", "scale", "`beta` is the rate: `beta = 1 / scale`"),
    ("Gamma", "theta", "`beta` is the rate: `beta = 1 / theta`"),
    ("Exponential", "lam", "PyMC's `lam` is `rate`"),
    ("Exponential", "scale", "`rate = 1 / scale`"),
    ("Weibull", "beta", "the scale (PyMC's `beta`) is `sigma`"),
    ("NegativeBinomial", "alpha", "PyMC's `alpha` is `phi`"),
    ("VonMises", "loc", "the mean direction is `mu`"),
    ("Wald", "lam", "PyMC's `lam` is `lambda`, the shape"),
    (
        "Wald",
        "alpha",
        "PyMC's shift `alpha`: write `logp(Wald(mu, lambda), y - alpha)`",
    ),
    (
        "Wald",
        "phi",
        "write `Wald(mu, lambda)` with `lambda = phi * mu`",
    ),
    (
        "Laplace",
        "sigma",
        "the scale of Stan's `double_exponential(mu, sigma)` is `b`",
    ),
    ("Logistic", "sigma", "the scale is `s`"),
];

/// How rlc writes argument `argument` of `distribution` when another library
/// names it so.
pub fn foreign_argument(distribution: &str, argument: &str) -> Option<&'static str> {
    FOREIGN_ARGUMENTS
        .iter()
        .find(|(d, a, _)| *d == distribution && *a == argument)
        .map(|(_, _, hint)| *hint)
}

/// How rlc spells `name`, a name from another language, when it does.
pub fn foreign_name(name: &str) -> Option<String> {
    if let Some((_, hint)) = FOREIGN_NAMES.iter().find(|(n, _)| *n == name) {
        return Some(hint.to_string());
    }
    // Stan's density functions: `normal_lpdf(y | mu, sigma)` is `y ~ Normal(mu, sigma)`.
    for suffix in ["_lpdf", "_lpmf", "_lupdf", "_lupmf", "_log"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            let rlc = stan_distribution(stem)?;
            return Some(format!(
                "Stan's `{name}(y | …)` is `sum(logp({rlc}(…), y))` (`logp` is elementwise), \
                 or write `y ~ {rlc}(…)`"
            ));
        }
    }
    if name.ends_with("_rng") {
        return Some(
            "a log density draws no random numbers: rlc has no `_rng` functions; simulate data \
             outside the model"
                .to_string(),
        );
    }
    // Stan's lower-case distribution names.
    stan_distribution(name).map(|rlc| format!("distributions are capitalized: write `{rlc}(…)`"))
}

/// rlc's name for one of Stan's distributions, in Stan's spelling.
fn stan_distribution(stan: &str) -> Option<&'static str> {
    let alias = match stan {
        "student_t" => Some("StudentT"),
        "lognormal" => Some("LogNormal"),
        "inv_gamma" => Some("InverseGamma"),
        "neg_binomial_2" => Some("NegativeBinomial"),
        "bernoulli_logit" => Some("Bernoulli"),
        "binomial_logit" => Some("Binomial"),
        "poisson_log" => Some("Poisson"),
        "categorical_logit" => Some("Categorical"),
        "von_mises" => Some("VonMises"),
        "exp_mod_normal" => Some("ExGaussian"),
        "skew_normal" => Some("SkewNormal"),
        "double_exponential" => Some("Laplace"),
        "inv_gaussian" => Some("Wald"),
        _ => None,
    };
    alias.or_else(|| {
        DISTRIBUTIONS
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(stan) && d.name != stan)
            .map(|d| d.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_distribution_argument_has_an_allowed_range() {
        for sig in DISTRIBUTIONS {
            for name in sig.parameterizations.iter().flat_map(|p| p.iter()) {
                assert!(sig.range(name).is_some(), "{}: `{name}`", sig.name);
            }
            for (name, range) in sig.ranges {
                if let ArgRange::Above(other) = range {
                    assert!(sig.range(other).is_some(), "{}: `{name}`", sig.name);
                }
            }
        }
    }

    /// A hint for another language's name must not hide one of rlc's own.
    #[test]
    fn no_foreign_name_is_a_built_in() {
        for (name, _) in FOREIGN_NAMES {
            assert!(
                function(name).is_none() && distribution(name).is_none(),
                "`{name}` is built in"
            );
        }
    }

    /// Each foreign argument belongs to a distribution that does not take it.
    #[test]
    fn foreign_arguments_are_not_arguments() {
        for (dist, argument, _) in FOREIGN_ARGUMENTS {
            let sig = distribution(dist).unwrap_or_else(|| panic!("`{dist}` is not built in"));
            assert!(sig.range(argument).is_none(), "`{dist}` takes `{argument}`");
        }
    }
}
