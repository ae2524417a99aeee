//! The only view of a model the sampler has.

/// A log density on an unconstrained real space, with its gradient.
///
/// Each chain owns its own instance (built on the chain's thread by the factory given to
/// [`sample`](crate::sample)), so implementations may keep scratch buffers in `self` and
/// need not be `Send` or `Sync`.
pub trait LogDensity {
    /// Why an evaluation failed. During a trajectory a failure is treated as a
    /// divergence; while looking for initial values it is retried and, if every try
    /// fails, reported to the caller through [`ChainError::InitFailed`](crate::ChainError).
    type Error: std::fmt::Display;

    /// The number of unconstrained coordinates.
    fn dim(&self) -> usize;

    /// Returns the log density at `position` (up to a constant) and writes its gradient
    /// into `grad`. Both slices have length [`dim`](Self::dim). A non-finite result is
    /// treated like an error.
    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, Self::Error>;

    /// Whether `error` is a fault of the model or its data (an index out of range)
    /// rather than a point outside the density's domain: the chain then stops with it
    /// ([`ChainError::ModelFault`](crate::ChainError)) instead of counting a divergence,
    /// as Stan stops on an index error. No fault by default.
    fn is_fault(&self, _error: &Self::Error) -> bool {
        false
    }
}
