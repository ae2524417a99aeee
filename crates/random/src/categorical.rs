//! Draws of one category from probabilities or logits.

use rand::Rng;

use crate::error::{DrawError, Requirement};

/// How far the probabilities given to [`draw_categorical`] may sum from 1. Stan requires a
/// simplex; this tolerance admits the rounding of a probability vector computed in
/// floating point and nothing more.
pub const SIMPLEX_TOLERANCE: f64 = 1e-8;

/// What the weights of a categorical draw are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoricalArgs {
    /// `Categorical(p)`: probabilities, each finite and `>= 0`, summing to 1 within
    /// [`SIMPLEX_TOLERANCE`] (the small remainder is normalized away).
    Probabilities,
    /// `Categorical(logits = l)`: probabilities `softmax(l)`. A logit may be `-inf` (that
    /// category is never drawn) but not NaN or `+inf`, and not all may be `-inf`.
    Logits,
}

/// One 0-based category drawn from `weights`, as `kind` says they are to be read.
///
/// Algorithm: inversion by a linear scan, `u · total` against the running sum of the
/// (for logits: max-shifted, exponentiated) weights, with `u` uniform in `[0, 1)`. The
/// total is the same running sum, so some category is always reached and a category of
/// weight 0 is never drawn. The resolution is that of one uniform `f64`, `2^-53`.
pub fn draw_categorical<R: Rng + ?Sized>(
    weights: &[f64],
    kind: CategoricalArgs,
    rng: &mut R,
) -> Result<usize, DrawError> {
    let shift = check(weights, kind)?;
    let mass = |w: f64| match kind {
        CategoricalArgs::Probabilities => w,
        // Shifting by the maximum keeps every exponent <= 0 (no overflow for huge logits)
        // and gives the likeliest category mass 1 (they cannot all underflow).
        CategoricalArgs::Logits => (w - shift).exp(),
    };
    let total: f64 = weights.iter().map(|&w| mass(w)).sum();
    let target = rng.random::<f64>() * total;
    let mut running = 0.0;
    let mut last_possible = 0;
    for (index, &w) in weights.iter().enumerate() {
        let m = mass(w);
        if m > 0.0 {
            running += m;
            last_possible = index;
            if target < running {
                return Ok(index);
            }
        }
    }
    // Summing in the same order as `total` makes the loop return; this only guards
    // against rounding the argument above did not foresee.
    Ok(last_possible)
}

/// Checks the weights; for logits, returns their maximum (for probabilities, 0).
fn check(weights: &[f64], kind: CategoricalArgs) -> Result<f64, DrawError> {
    if weights.is_empty() {
        return Err(DrawError::NoCategories);
    }
    match kind {
        CategoricalArgs::Probabilities => {
            let bad = |index, value, requirement| DrawError::Weight {
                argument: "p",
                index,
                value,
                requirement,
            };
            for (index, &p) in weights.iter().enumerate() {
                if p.is_nan() {
                    return Err(bad(index, p, Requirement::Number));
                }
                if p < 0.0 {
                    return Err(bad(index, p, Requirement::NonNegative));
                }
                if p.is_infinite() {
                    return Err(bad(index, p, Requirement::Finite));
                }
            }
            let sum: f64 = weights.iter().sum();
            if (sum - 1.0).abs() > SIMPLEX_TOLERANCE {
                return Err(DrawError::NotSimplex { sum });
            }
            Ok(0.0)
        }
        CategoricalArgs::Logits => {
            let bad = |index, value, requirement| DrawError::Weight {
                argument: "logits",
                index,
                value,
                requirement,
            };
            for (index, &l) in weights.iter().enumerate() {
                if l.is_nan() {
                    return Err(bad(index, l, Requirement::Number));
                }
                if l == f64::INFINITY {
                    return Err(bad(index, l, Requirement::Finite));
                }
            }
            let max = weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if max == f64::NEG_INFINITY {
                return Err(DrawError::NoPossibleCategory);
            }
            Ok(max)
        }
    }
}
