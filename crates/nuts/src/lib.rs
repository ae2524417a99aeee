//! The No-U-Turn sampler: Stan's multinomial NUTS with the generalized U-turn criterion,
//! Stan's warmup or a gradient-based one (nutpie's), and parallel chains.
//!
//! This crate owns the sampling algorithm and nothing else. It sees a model only through
//! the [`LogDensity`] trait (a dimension and a function returning the log density and its
//! gradient on the unconstrained scale), so it knows nothing of the rlc language, of
//! parameter names or transforms, and it does no file IO and never talks to the terminal:
//! callers receive draws through a [`ChainEvent`] callback and in the returned
//! [`ChainRun`]s, and decide themselves what to write or print.
//!
//! Layout: `hamiltonian` holds phase-space points, the metric (diagonal, or with a
//! low-rank correction) and the leapfrog integrator, `trajectory` the recursive tree
//! building of one NUTS transition, [`warmup`] the adaptation strategies behind the
//! [`WarmupStrategy`] trait, [`lowrank`] the low-rank correction's estimate, `chain` the
//! life of one chain and `sampler` the parallel driver. Tests on analytic targets live in
//! `tests/nuts.rs` (slow ones run only with `RLC_SLOW_TESTS=1`); the overhead benchmark is
//! `benches/overhead.rs` (`cargo bench -p rlc-nuts`).

mod chain;
mod density;
mod hamiltonian;
pub mod lowrank;
mod sampler;
mod settings;
mod trajectory;
pub mod warmup;

pub use chain::{
    times_extended, Adaptation, ChainError, ChainRun, Draw, DrawStats, ExtensionReason,
    WarmupExtension,
};
pub use density::LogDensity;
pub use lowrank::LowRank;
pub use sampler::{sample, ChainEvent};
pub use settings::{
    FisherWarmupSettings, LowRankSettings, SamplerSettings, StanWarmupSettings, WarmupKind,
};
pub use warmup::{FisherWarmup, StanWarmup, TransitionInfo, Tunable, WarmupStrategy};
