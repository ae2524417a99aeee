//! Random-variate generators for the language's distribution families, so a model can
//! run forward: every `~` on data draws its left side from its distribution.
//!
//! This crate owns the draws and the analytic moments of each family, in the
//! parameterizations of `rlc-check`'s distribution table and the IR's log densities
//! (Stan's functions reference: `Gamma(alpha, beta)` with `beta` a **rate**,
//! `InverseGamma(alpha, beta)` with `beta` a **scale**, …). It knows nothing of the
//! language, the IR or files: a caller maps a distribution and its parameterization to a
//! [`Family`], passes plain `f64` arguments and its own random number generator
//! (e.g. `rand_chacha::ChaCha8Rng::seed_from_u64(seed)`), and gets a number back. There is
//! no thread-local or global generator, so the same generator state gives the same draws.
//!
//! Every input is checked: an invalid argument (NaN, `±inf`, out of range, a fractional
//! Binomial `n`, empty categorical weights) is a [`DrawError`] naming the family, the
//! argument and its value, never a panic. Where `rand_distr` has a well-tested sampler it
//! is used; this crate adds exact Bernoulli trials for tiny probabilities (`bernoulli`),
//! the logistic function without cancellation, the categorical draw (`categorical`), the linear ballistic accumulator's finishing
//! times (`lba`), and
//! the clamping that keeps every draw inside its family's open support (`draw`).
//!
//! Tests: `tests/random.rs` checks sample means and variances against [`moments`],
//! quantiles of the families without moments, categorical frequencies, supports, and
//! that arbitrary arguments give a value or an error (proptest).

mod bernoulli;
mod categorical;
mod draw;
mod error;
mod family;
mod lba;
pub mod wiener;

pub use categorical::{draw_categorical, CategoricalArgs, SIMPLEX_TOLERANCE};
pub use draw::{draw, moments};
pub use error::{DrawError, Requirement};
pub use family::{Family, MAX_POISSON_RATE, MAX_TRIALS};
pub use lba::{draw_lba_finish_times, Accumulator};
