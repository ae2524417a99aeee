//! Why a draw could not be made: always a value, never a panic.

use std::fmt;

/// What an argument failed to be. Each variant names the one condition the value broke,
/// so the message says exactly what to fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Requirement {
    /// The value was NaN.
    Number,
    /// The value was `±inf` where only finite values make sense.
    Finite,
    /// The value was `≤ 0`.
    Positive,
    /// The value was `< 0`.
    NonNegative,
    /// The value was outside `[0, 1]`.
    Probability,
    /// The value was outside `(0, 1)`.
    OpenUnitInterval,
    /// The value had a fractional part.
    WholeNumber,
    /// The value exceeded this bound.
    AtMost(f64),
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Number => f.write_str("must be a number"),
            Requirement::Finite => f.write_str("must be finite"),
            Requirement::Positive => f.write_str("must be > 0"),
            Requirement::NonNegative => f.write_str("must be >= 0"),
            Requirement::Probability => f.write_str("must be in [0, 1]"),
            Requirement::OpenUnitInterval => f.write_str("must be in (0, 1)"),
            Requirement::WholeNumber => f.write_str("must be a whole number"),
            Requirement::AtMost(bound) => write!(f, "must be at most {bound}"),
        }
    }
}

/// Why [`crate::draw`], [`crate::draw_categorical`] or [`crate::moments`] refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DrawError {
    /// The wrong number of arguments for the family.
    #[error("{family} takes {expected} argument(s), got {got}")]
    Arity {
        family: &'static str,
        expected: usize,
        got: usize,
    },
    /// One argument of a scalar family is invalid.
    #[error("`{argument}` of {family} {requirement}, got {value}")]
    Argument {
        family: &'static str,
        argument: &'static str,
        value: f64,
        requirement: Requirement,
    },
    /// `Uniform(lower, upper)` with no floating-point number strictly between the bounds
    /// (including `lower >= upper`).
    #[error("Uniform needs a number strictly between `lower` and `upper`, got lower = {lower}, upper = {upper}")]
    EmptyInterval { lower: f64, upper: f64 },
    /// `Categorical` with an empty weight vector.
    #[error("Categorical needs at least one category, got none")]
    NoCategories,
    /// One element of a categorical weight vector is invalid.
    #[error("`{argument}[{index}]` of Categorical {requirement}, got {value}")]
    Weight {
        /// `p` or `logits`.
        argument: &'static str,
        index: usize,
        value: f64,
        requirement: Requirement,
    },
    /// Categorical probabilities that do not sum to 1 within [`crate::SIMPLEX_TOLERANCE`].
    #[error("`p` of Categorical must sum to 1, sums to {sum}")]
    NotSimplex { sum: f64 },
    /// Categorical logits that are all `-inf`: no category has positive probability.
    #[error("`logits` of Categorical are all -inf, so no category is possible")]
    NoPossibleCategory,
    /// A sampler kept producing NaN. With valid arguments this happens only with an
    /// RNG that is not random (one returning constant bits, say).
    #[error("{family} produced NaN {attempts} times in a row; is the random number generator degenerate?")]
    NotANumber {
        family: &'static str,
        attempts: usize,
    },
    /// `LBA` with no accumulator (an empty drift vector).
    #[error("LBA needs at least one accumulator (drift), got none")]
    NoAccumulators,
    /// `LBA` whose every drift is negative with probability 1 to double precision (each
    /// `v / s` below about -38): no accumulator ever reaches the threshold.
    #[error("every drift `v` of LBA is so far below 0 (in units of `s`) that no accumulator reaches the threshold: there is no response to draw")]
    NoPositiveDrift,
}
