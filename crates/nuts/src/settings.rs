//! Sampler settings; every default is Stan's (CmdStan 2.3x) unless a comment says otherwise.

/// Everything that controls a sampling run.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerSettings {
    /// Warmup (adaptation) iterations per chain. Stan: 1000.
    pub num_warmup: usize,
    /// Draws kept after warmup per chain. Stan: 1000.
    pub num_draws: usize,
    /// Number of chains. Stan (CmdStanPy, cmdstanr): 4.
    pub num_chains: usize,
    /// Threads the chains run on; 0 means one per chain, up to the number of cores.
    /// Draws do not depend on this: chain `k` always runs on one thread with its own RNG.
    pub num_threads: usize,
    /// Seed of the run; chain `k`'s random stream is derived from `(seed, k)` alone.
    /// Stan picks a random seed when none is given; here the default is 0 so that library
    /// callers are reproducible, and the command line chooses a seed when the user does not.
    pub seed: u64,
    /// Maximum tree depth: a trajectory has at most `2^max_depth` leapfrog steps. Stan: 10.
    pub max_depth: u32,
    /// Energy error above which a trajectory is declared divergent. Stan: 1000.
    pub max_energy_error: f64,
    /// Target mean acceptance statistic of the step-size adaptation (Stan's `delta`,
    /// `adapt_delta`). Stan: 0.8.
    pub target_accept: f64,
    /// Step size before the initial step-size search. Stan: 1.
    pub initial_step_size: f64,
    /// Initial values are drawn uniformly from `(-init_radius, init_radius)` on the
    /// unconstrained scale. Stan: 2.
    pub init_radius: f64,
    /// Given initial values per unconstrained coordinate (CmdStan's `init=FILE`): `Some`
    /// starts every chain there, `None` draws that coordinate from `(-init_radius,
    /// init_radius)`. Empty: all drawn. Extra entries are ignored.
    pub init_values: Vec<Option<f64>>,
    /// How many initial values to try before a chain gives up because the density or its
    /// gradient is never finite. Stan: 100.
    pub max_init_tries: usize,
    /// Which warmup strategy adapts the step size and mass matrix.
    pub warmup: WarmupKind,
    /// The knobs of Stan's warmup, used when `warmup` is [`WarmupKind::Stan`].
    pub stan_warmup: StanWarmupSettings,
    /// The knobs of the gradient-based warmup, used when `warmup` is
    /// [`WarmupKind::Fisher`].
    pub fisher_warmup: FisherWarmupSettings,
    /// The knobs of the low-rank correction, used when `warmup` is
    /// [`WarmupKind::FisherLowRank`].
    pub low_rank: LowRankSettings,
}

impl Default for SamplerSettings {
    fn default() -> Self {
        Self {
            num_warmup: 1000,
            num_draws: 1000,
            num_chains: 4,
            num_threads: 0,
            seed: 0,
            max_depth: 10,
            max_energy_error: 1000.0,
            target_accept: 0.8,
            initial_step_size: 1.0,
            init_radius: 2.0,
            init_values: Vec::new(),
            max_init_tries: 100,
            warmup: WarmupKind::Stan,
            stan_warmup: StanWarmupSettings::default(),
            fisher_warmup: FisherWarmupSettings::default(),
            low_rank: LowRankSettings::default(),
        }
    }
}

/// The available warmup strategies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WarmupKind {
    /// Stan's: dual-averaging step size and a diagonal mass matrix from the variance of
    /// the draws in windows of doubling length.
    #[default]
    Stan,
    /// Nutpie's kind: a diagonal mass matrix from the draws *and* their gradients (the
    /// one minimizing the Fisher divergence, `sqrt(var(draws) / var(gradients))` per
    /// coordinate), updated after every draw from short windows that grow, with the
    /// step size adapted throughout ([`FisherWarmup`](crate::warmup::FisherWarmup)).
    Fisher,
    /// The gradient-based diagonal metric of [`Fisher`](Self::Fisher) with nutpie's
    /// low-rank correction: a few eigen-directions, estimated from the recent draws and
    /// gradients, along which the diagonal metric's variance is furthest off
    /// ([`crate::lowrank`]). Same schedule as `Fisher`.
    FisherLowRank,
}

impl WarmupKind {
    /// The name used on the command line and in output files: `stan`, `fisher` or `fisher-lowrank`.
    pub fn name(self) -> &'static str {
        match self {
            WarmupKind::Stan => "stan",
            WarmupKind::Fisher => "fisher",
            WarmupKind::FisherLowRank => "fisher-lowrank",
        }
    }

    /// The kind of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "stan" => Some(WarmupKind::Stan),
            "fisher" => Some(WarmupKind::Fisher),
            "fisher-lowrank" => Some(WarmupKind::FisherLowRank),
            _ => None,
        }
    }
}

/// The parameters of Stan's warmup (Stan reference manual, "HMC algorithm parameters").
#[derive(Clone, Debug, PartialEq)]
pub struct StanWarmupSettings {
    /// Dual-averaging regularization scale. Stan: 0.05.
    pub gamma: f64,
    /// Dual-averaging iteration offset, damping early iterations. Stan: 10.
    pub t0: f64,
    /// Dual-averaging relaxation exponent. Stan: 0.75.
    pub kappa: f64,
    /// Iterations at the start of warmup that adapt only the step size. Stan: 75.
    pub init_buffer: usize,
    /// Iterations at the end of warmup that adapt only the step size. Stan: 50.
    pub term_buffer: usize,
    /// Length of the first mass-matrix window; each following window doubles. Stan: 25.
    pub base_window: usize,
}

impl Default for StanWarmupSettings {
    fn default() -> Self {
        Self {
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
            init_buffer: 75,
            term_buffer: 50,
            base_window: 25,
        }
    }
}

/// The parameters of the gradient-based warmup ([`WarmupKind::Fisher`]).
///
/// The schedule follows nutpie's (nuts-rs's `early_window`, `step_size_window`, and
/// foreground/background estimators switched at the end of each window): the mass matrix
/// is adapted from the first draw, in short windows during the first `early_fraction` of
/// warmup, then in longer windows that grow by `window_growth`; the last
/// `final_fraction` of warmup adapts only the step size.
#[derive(Clone, Debug, PartialEq)]
pub struct FisherWarmupSettings {
    /// Dual-averaging regularization scale (as Stan's `gamma`).
    pub gamma: f64,
    /// Dual-averaging iteration offset (as Stan's `t0`).
    pub t0: f64,
    /// Dual-averaging relaxation exponent (as Stan's `kappa`).
    pub kappa: f64,
    /// The share of warmup, from its start, that adapts only the step size, with the
    /// identity metric, while the chain travels from its initial point (Stan's
    /// `init_buffer`, 75 of 1000): draws far out in the tails, where the gradient may be
    /// 1e10, would otherwise set a metric so small that the chain never leaves.
    pub initial_fraction: f64,
    /// The share of warmup, from its start, whose windows are `early_window` long.
    pub early_fraction: f64,
    /// The share of warmup, at its end, that adapts only the step size.
    pub final_fraction: f64,
    /// Window length in the early phase.
    pub early_window: usize,
    /// Length of the first window after the early phase.
    pub window: usize,
    /// Each later window is this many times longer than the one before (at least 1).
    pub window_growth: f64,
    /// Draws the estimator needs before its estimate replaces the metric.
    pub min_draws: usize,
    /// When a coordinate of the metric (a variance) has shrunk by more than this factor
    /// since the step size was last searched for, the step size is searched for again
    /// from the current position and its averaging restarted, as Stan's warmup does after
    /// every window. Dual averaging alone raises the step size slowly at a high target
    /// acceptance (at 0.99 by at most `exp(0.2 sqrt(t))` in `t` iterations), so after the
    /// metric shrinks by orders of magnitude (a chain that started far out, where the
    /// gradient is 1e9) the trajectories would creep at the old step size for good.
    pub step_search_factor: f64,
    /// Whether the metric keeps its value while the estimator's draws span a transient
    /// ([`FisherEstimator::saw_transient`](crate::warmup::FisherEstimator::saw_transient)):
    /// a chain still climbing from far out, where the gradients vary by orders of
    /// magnitude along its path, would otherwise set variances as small as 1e-10 and
    /// then move too little to correct them (rlc's own rule; on the reference data sets
    /// and bundled models it never triggers, and their draws are unchanged).
    pub skip_transients: bool,
    /// A chain whose log density, in the last half of the draws made with the final
    /// metric, lies more than this many standard deviations (of the log densities the
    /// metric was estimated from) from their mean moved to another region after its metric
    /// was set: warmup goes on for it, adapting the metric again (rlc's own rule;
    /// `f64::INFINITY` turns it off).
    pub level_shift_sds: f64,
    /// A chain more than this share of whose transitions in the last half of the
    /// step-size-only phase diverged (and at least 2) adapts its step size again at a
    /// higher target acceptance rate (the rejection rate aimed at halved: 0.8 becomes
    /// 0.9, then 0.95), for twice that phase's length. So many divergent transitions at
    /// the end of warmup foretell as many divergent draws, which a smaller step size
    /// avoids, as raising `--adapt-delta` by hand does (rlc's own rule; 1 turns it off).
    pub divergence_share: f64,
    /// A chain more than this share of whose transitions in the last half of the
    /// step-size-only phase reached the maximum tree depth adapts its metric again from
    /// where it stands, once, as after a move (`level_shift_sds`). A metric that fits
    /// lets most trajectories turn back well before 1023 leapfrog steps; one estimated
    /// from the few draws a chain made after a long climb from far out can be many times
    /// too narrow in some direction, and every draw then costs the maximum (rlc's own
    /// rule; 1 turns it off).
    pub max_depth_share: f64,
}

impl Default for FisherWarmupSettings {
    fn default() -> Self {
        Self {
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
            initial_fraction: 0.075,
            early_fraction: 0.3,
            final_fraction: 0.15,
            early_window: 10,
            window: 80,
            window_growth: 1.5,
            min_draws: 4,
            step_search_factor: 10.0,
            skip_transients: true,
            level_shift_sds: 3.0,
            divergence_share: 0.1,
            max_depth_share: 0.5,
        }
    }
}

/// The parameters of the low-rank correction ([`WarmupKind::FisherLowRank`]); the names
/// follow nutpie's (`mass_matrix_gamma`, `mass_matrix_eigval_cutoff`).
#[derive(Clone, Debug, PartialEq)]
pub struct LowRankSettings {
    /// Regularization added to the diagonal of the (scaled) covariances of the draws and
    /// of the gradients before their geometric mean is taken. nutpie: 1e-5.
    pub gamma: f64,
    /// Eigenvalues of the scaled covariance inside `[1 / cutoff, cutoff]` are ignored
    /// (the diagonal metric is close enough along them). nutpie's documentation: 2 to 3;
    /// here 2.
    pub eigval_cutoff: f64,
    /// At most this many directions are kept, those furthest from 1 first (rlc's own
    /// cap: each costs two dot products of the dimension per leapfrog step).
    pub max_rank: usize,
    /// A direction is kept only if the mean of `-(u.x)(u.g)` over the draws, whose
    /// expectation is 1 along every direction, is at least this (rlc's own check: it
    /// drops directions the draws or the gradients do not span).
    pub min_support: f64,
    /// The correction is estimated only from windows of at least this many draws.
    pub min_draws: usize,
}

impl Default for LowRankSettings {
    fn default() -> Self {
        Self {
            gamma: 1e-5,
            eigval_cutoff: 2.0,
            max_rank: 100,
            min_support: 0.5,
            min_draws: 10,
        }
    }
}
