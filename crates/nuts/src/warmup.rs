//! Warmup strategies: how a chain's step size and mass matrix are tuned before sampling.
//!
//! A strategy sees the chain only through [`Tunable`], so strategies can be added without
//! touching the trajectory code. Two exist: [`StanWarmup`] (Stan's windowed adaptation)
//! and [`FisherWarmup`] (nutpie's gradient-based diagonal metric, optionally with its
//! low-rank correction, [`crate::lowrank`]).

use crate::chain::ChainError;
use crate::density::LogDensity;
use crate::lowrank::{DrawBuffer, LowRank};
use crate::settings::{FisherWarmupSettings, LowRankSettings, SamplerSettings, StanWarmupSettings};
use crate::trajectory::Nuts;

/// What one transition told the warmup.
#[derive(Clone, Copy, Debug)]
pub struct TransitionInfo {
    /// Stan's `accept_stat__`: the mean Metropolis acceptance over the trajectory.
    pub accept_stat: f64,
    /// Whether the trajectory diverged.
    pub divergent: bool,
    /// Leapfrog steps taken.
    pub n_leapfrog: u32,
    /// Whether the trajectory reached the maximum tree depth.
    pub at_max_depth: bool,
}

/// The view of a chain a warmup strategy gets: its tuning parameters and current state.
pub trait Tunable {
    /// The number of coordinates.
    fn dim(&self) -> usize;
    /// The step size the next transition will use.
    fn step_size(&self) -> f64;
    /// Sets the step size of the following transitions.
    fn set_step_size(&mut self, step_size: f64);
    /// The diagonal of the inverse mass matrix (the metric's inverse, Stan's
    /// `inv_metric`): the posterior variances the sampler assumes.
    fn inv_mass_matrix(&self) -> &[f64];
    /// Replaces the diagonal inverse mass matrix; `inv_mass.len()` must be `dim()`. A
    /// low-rank correction, if any, stays (it is relative to the diagonal).
    fn set_inv_mass_matrix(&mut self, inv_mass: &[f64]);
    /// Sets the low-rank correction of the metric (an empty one makes it diagonal):
    /// `M^-1 = S (I + U (Λ - I) U') S` with `S^2` the diagonal.
    fn set_low_rank(&mut self, low_rank: &LowRank);
    /// The chain's current position (unconstrained).
    fn position(&self) -> &[f64];
    /// The gradient of the log density at the current position.
    fn gradient(&self) -> &[f64];
    /// The log density at the current position.
    fn log_density(&self) -> f64;
    /// Runs Stan's step-size search from the current position with the current metric,
    /// starting at the current step size, and keeps the step size it finds.
    fn find_initial_step_size(&mut self) -> Result<(), ChainError>;
}

/// A way of adapting the sampler during warmup.
pub trait WarmupStrategy {
    /// Called once before the first warmup transition.
    fn start(&mut self, chain: &mut dyn Tunable) -> Result<(), ChainError>;
    /// Called after each warmup transition (iterations counted from 0).
    fn learn(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
        transition: &TransitionInfo,
    ) -> Result<(), ChainError>;
    /// Called after the last warmup transition; sets the step size kept for sampling.
    fn finish(&mut self, chain: &mut dyn Tunable);
    /// Called instead of ending warmup when the chain cannot move at the step size
    /// `finish` set (one leapfrog step from where it stands is almost never accepted):
    /// searches for a step size from there, restarts the step size's averaging and
    /// returns how many more warmup iterations adapt it (the strategy's last phase
    /// again) before `finish` is called once more. The metric stays as it is.
    fn extend(&mut self, chain: &mut dyn Tunable) -> Result<usize, ChainError>;
    /// Called when warmup would end, before [`extend`](Self::extend): returns how many
    /// more warmup iterations adapt the metric again (0: none), for a chain that moved to
    /// another region after its metric became final, where that metric does not fit.
    fn readapt(
        &mut self,
        _chain: &mut dyn Tunable,
        _iteration: usize,
    ) -> Result<usize, ChainError> {
        Ok(0)
    }
    /// Whether more than a tenth of the transitions at the end of warmup diverged (after
    /// [`raise_target_accept`](Self::raise_target_accept) may no longer raise): the chain
    /// then starts its warmup again ([`crate::ExtensionReason::KeptDiverging`]).
    fn still_diverging(&self) -> bool {
        false
    }
    /// Called when warmup would end, after [`readapt`](Self::readapt) found nothing to
    /// do: returns how many more warmup iterations adapt the step size again (0: none),
    /// at a higher target acceptance rate, for a chain many of whose last transitions
    /// diverged at the step size the current target gives.
    fn raise_target_accept(
        &mut self,
        _chain: &mut dyn Tunable,
        _iteration: usize,
    ) -> Result<usize, ChainError> {
        Ok(0)
    }
    /// Called when warmup would end, after [`readapt`](Self::readapt) found nothing to
    /// do: returns how many more warmup iterations adapt the metric again from where the
    /// chain stands (0: none), for a chain most of whose last transitions reached the
    /// maximum tree depth, a sign that its metric does not fit the region it samples.
    fn readapt_at_max_depth(
        &mut self,
        _chain: &mut dyn Tunable,
        _iteration: usize,
    ) -> Result<usize, ChainError> {
        Ok(0)
    }
    /// The acceptance rate the step size is adapted to.
    fn target_accept(&self) -> f64;
}

/// Warmup iterations added when a chain cannot move at the end of warmup, at least.
const MIN_EXTENSION: usize = 50;

/// The short windows a metric adapted again starts with (then one window of
/// `FisherWarmupSettings::window`).
const READAPT_EARLY_WINDOWS: usize = 5;

impl<D: LogDensity> Tunable for Nuts<D> {
    fn dim(&self) -> usize {
        self.current.position.len()
    }
    fn step_size(&self) -> f64 {
        self.step_size
    }
    fn set_step_size(&mut self, step_size: f64) {
        self.step_size = step_size;
    }
    fn inv_mass_matrix(&self) -> &[f64] {
        &self.hamiltonian.inv_mass
    }
    fn set_inv_mass_matrix(&mut self, inv_mass: &[f64]) {
        self.hamiltonian.set_inv_mass(inv_mass);
    }
    fn set_low_rank(&mut self, low_rank: &LowRank) {
        self.hamiltonian.set_low_rank(low_rank);
    }
    fn position(&self) -> &[f64] {
        &self.current.position
    }
    fn gradient(&self) -> &[f64] {
        &self.current.grad
    }
    fn log_density(&self) -> f64 {
        self.current.logp
    }
    fn find_initial_step_size(&mut self) -> Result<(), ChainError> {
        Nuts::find_initial_step_size(self)
    }
}

/// Builds the strategy the settings ask for.
pub(crate) fn make_strategy(settings: &SamplerSettings, dim: usize) -> Box<dyn WarmupStrategy> {
    match settings.warmup {
        crate::settings::WarmupKind::Stan => Box::new(StanWarmup::new(
            &settings.stan_warmup,
            settings.num_warmup,
            settings.target_accept,
            settings.initial_step_size,
            dim,
        )),
        crate::settings::WarmupKind::Fisher => Box::new(FisherWarmup::new(
            &settings.fisher_warmup,
            settings.num_warmup,
            settings.target_accept,
            settings.initial_step_size,
            dim,
        )),
        crate::settings::WarmupKind::FisherLowRank => Box::new(
            FisherWarmup::new(
                &settings.fisher_warmup,
                settings.num_warmup,
                settings.target_accept,
                settings.initial_step_size,
                dim,
            )
            .with_low_rank(&settings.low_rank),
        ),
    }
}

/// Nesterov dual averaging of the log step size (Hoffman & Gelman 2014, as Stan's
/// `stepsize_adaptation`).
#[derive(Clone, Debug)]
struct DualAveraging {
    target: f64,
    gamma: f64,
    t0: f64,
    kappa: f64,
    mu: f64,
    counter: f64,
    s_bar: f64,
    x_bar: f64,
}

impl DualAveraging {
    /// Stan's dual averaging of the log step size toward `target`
    /// acceptance, shrinking toward ten times the initial step size.
    fn new(target: f64, gamma: f64, t0: f64, kappa: f64, initial_step_size: f64) -> Self {
        Self {
            target,
            gamma,
            t0,
            kappa,
            mu: (10.0 * initial_step_size).ln(),
            counter: 0.0,
            s_bar: 0.0,
            x_bar: 0.0,
        }
    }

    fn restart(&mut self) {
        self.counter = 0.0;
        self.s_bar = 0.0;
        self.x_bar = 0.0;
    }

    /// Restarts the averaging around `step_size` (`mu = log(10 step_size)`).
    fn restart_at(&mut self, step_size: f64) {
        self.mu = (10.0 * step_size).ln();
        self.restart();
    }

    /// Stan's move after each metric window: searches a step size from the chain's
    /// position with its current metric, and restarts the averaging there.
    fn search_and_restart(&mut self, chain: &mut dyn Tunable) -> Result<(), ChainError> {
        chain.find_initial_step_size()?;
        self.restart_at(chain.step_size());
        Ok(())
    }

    /// Returns the next step size after a transition with acceptance `accept_stat`.
    fn learn(&mut self, accept_stat: f64) -> f64 {
        self.counter += 1.0;
        let accept_stat = accept_stat.min(1.0);
        let eta = 1.0 / (self.counter + self.t0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.target - accept_stat);
        let x = self.mu - self.s_bar * self.counter.sqrt() / self.gamma;
        let x_eta = self.counter.powf(-self.kappa);
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x;
        x.exp()
    }

    fn final_step_size(&self) -> f64 {
        self.x_bar.exp()
    }
}

/// Stan's schedule of mass-matrix windows (`windowed_adaptation`), counting iterations
/// from 0. Signed arithmetic stands in for Stan's unsigned one, whose wrap-around the
/// checks in `new` keep from happening.
#[derive(Clone, Debug)]
struct Windows {
    num_warmup: i64,
    init_buffer: i64,
    term_buffer: i64,
    window_size: i64,
    next_window_end: i64,
}

impl Windows {
    /// `None` when warmup is too short (< 20) for any mass-matrix adaptation, as in Stan.
    fn new(num_warmup: usize, settings: &StanWarmupSettings) -> Option<Self> {
        if num_warmup < 20 {
            return None;
        }
        let n = num_warmup as i64;
        let (init_buffer, term_buffer, base_window) =
            if settings.init_buffer + settings.base_window + settings.term_buffer > num_warmup {
                // Stan's fallback: 15% / 75% / 10% of warmup (truncated like its unsigned ints).
                let init = (0.15 * num_warmup as f64) as i64;
                let term = (0.1 * num_warmup as f64) as i64;
                (init, term, n - (init + term))
            } else {
                (
                    settings.init_buffer as i64,
                    settings.term_buffer as i64,
                    settings.base_window as i64,
                )
            };
        Some(Self {
            num_warmup: n,
            init_buffer,
            term_buffer,
            window_size: base_window,
            next_window_end: init_buffer + base_window - 1,
        })
    }

    /// Whether the draw of `iteration` goes into the variance estimate.
    fn in_window(&self, iteration: i64) -> bool {
        iteration >= self.init_buffer
            && iteration < self.num_warmup - self.term_buffer
            && iteration != self.num_warmup
    }

    fn ends_window(&self, iteration: i64) -> bool {
        iteration == self.next_window_end && iteration != self.num_warmup
    }

    /// Doubles the window, stretching it to the terminal buffer when the one after it
    /// would not fit.
    fn advance(&mut self, iteration: i64) {
        let last_end = self.num_warmup - self.term_buffer - 1;
        if self.next_window_end == last_end {
            return;
        }
        self.window_size *= 2;
        self.next_window_end = iteration + self.window_size;
        if self.next_window_end != last_end {
            let following_end = self.next_window_end + 2 * self.window_size;
            if following_end >= self.num_warmup - self.term_buffer {
                self.next_window_end = last_end;
            }
        }
    }
}

/// Welford's running mean and variance of positions.
#[derive(Clone, Debug)]
struct Welford {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Welford {
    fn new(dim: usize) -> Self {
        Self {
            n: 0.0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
        }
    }

    fn restart(&mut self) {
        self.n = 0.0;
        self.mean.fill(0.0);
        self.m2.fill(0.0);
    }

    fn add(&mut self, x: &[f64]) {
        self.n += 1.0;
        for ((mean, m2), &x) in self.mean.iter_mut().zip(&mut self.m2).zip(x) {
            let delta = x - *mean;
            *mean += delta / self.n;
            *m2 += (x - *mean) * delta;
        }
    }
}

/// Stan's warmup: dual-averaging step size throughout, and a diagonal inverse mass matrix
/// set to the regularized variance of the draws at the end of each slow window, after
/// which the step size is searched for again and its adaptation restarted.
#[derive(Clone, Debug)]
pub struct StanWarmup {
    dual: DualAveraging,
    windows: Option<Windows>,
    variance: Welford,
    scratch: Vec<f64>,
}

impl StanWarmup {
    /// `initial_step_size` sets the first dual-averaging target `mu = log(10 * eps0)`, as
    /// Stan does with the user's step size (before the step-size search).
    pub fn new(
        settings: &StanWarmupSettings,
        num_warmup: usize,
        target_accept: f64,
        initial_step_size: f64,
        dim: usize,
    ) -> Self {
        Self {
            dual: DualAveraging::new(
                target_accept,
                settings.gamma,
                settings.t0,
                settings.kappa,
                initial_step_size,
            ),
            windows: Windows::new(num_warmup, settings),
            variance: Welford::new(dim),
            scratch: vec![0.0; dim],
        }
    }
}

impl WarmupStrategy for StanWarmup {
    fn start(&mut self, chain: &mut dyn Tunable) -> Result<(), ChainError> {
        self.dual.restart();
        chain.find_initial_step_size()
    }

    fn learn(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
        transition: &TransitionInfo,
    ) -> Result<(), ChainError> {
        chain.set_step_size(self.dual.learn(transition.accept_stat));

        let Some(windows) = &mut self.windows else {
            return Ok(());
        };
        let iteration = iteration as i64;
        if windows.in_window(iteration) {
            self.variance.add(chain.position());
        }
        if !windows.ends_window(iteration) {
            return Ok(());
        }
        windows.advance(iteration);

        // Shrink towards 1e-3 so that short windows cannot produce a degenerate metric.
        let n = self.variance.n;
        self.scratch.copy_from_slice(chain.inv_mass_matrix());
        if n > 1.0 {
            for (var, m2) in self.scratch.iter_mut().zip(&self.variance.m2) {
                *var = m2 / (n - 1.0);
            }
        }
        for var in &mut self.scratch {
            *var = (n / (n + 5.0)) * *var + 1e-3 * (5.0 / (n + 5.0));
        }
        if self.scratch.iter().any(|v| !v.is_finite()) {
            return Err(ChainError::MetricOverflow);
        }
        self.variance.restart();
        chain.set_inv_mass_matrix(&self.scratch);
        self.dual.search_and_restart(chain)
    }

    fn finish(&mut self, chain: &mut dyn Tunable) {
        chain.set_step_size(self.dual.final_step_size());
    }

    fn target_accept(&self) -> f64 {
        self.dual.target
    }

    fn extend(&mut self, chain: &mut dyn Tunable) -> Result<usize, ChainError> {
        self.dual.search_and_restart(chain)?;
        let term_buffer = self.windows.as_ref().map_or(0, |w| w.term_buffer as usize);
        Ok(term_buffer.max(MIN_EXTENSION))
    }
}

/// Running means and variances of the draws and of their gradients, for the diagonal
/// metric that minimizes the Fisher divergence.
///
/// For a metric `M^-1 = diag(s^2)`, the sampler moves in `z = x / s`. The Fisher
/// divergence between the draws' distribution in `z` and a standard normal, estimated
/// from draws and gradients, is smallest for `s_i^2 = sqrt(var(x_i) / var(g_i))`
/// (Seyboldt, Carlson & Carpenter 2026, arXiv:2603.18845, the diagonal case): for a
/// Gaussian coordinate with variance `v`, `var(x) = v` and `var(g) = 1 / v`, so the ratio
/// is exact from any two distinct draws, where the variance of the draws alone needs many
/// independent ones.
#[derive(Clone, Debug)]
pub struct FisherEstimator {
    draws: Welford,
    grads: Welford,
    /// The smallest and largest log density of the draws.
    log_density_range: (f64, f64),
    log_density: Welford,
}

impl FisherEstimator {
    /// An empty estimator for `dim` coordinates.
    pub fn new(dim: usize) -> Self {
        Self {
            draws: Welford::new(dim),
            grads: Welford::new(dim),
            log_density_range: (f64::INFINITY, f64::NEG_INFINITY),
            log_density: Welford::new(1),
        }
    }

    /// Forgets every draw.
    pub fn restart(&mut self) {
        self.draws.restart();
        self.grads.restart();
        self.log_density_range = (f64::INFINITY, f64::NEG_INFINITY);
        self.log_density.restart();
    }

    /// Adds a draw, the log density and its gradient there.
    pub fn add(&mut self, position: &[f64], log_density: f64, gradient: &[f64]) {
        self.draws.add(position);
        self.grads.add(gradient);
        let (low, high) = &mut self.log_density_range;
        *low = low.min(log_density);
        *high = high.max(log_density);
        self.log_density.add(&[log_density]);
    }

    /// The mean and standard deviation of the draws' log densities.
    pub fn log_density_mean_sd(&self) -> (f64, f64) {
        let n = self.log_density.n;
        let sd = if n > 1.0 {
            (self.log_density.m2[0] / (n - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        (self.log_density.mean[0], sd)
    }

    /// Whether the draws' log densities span more than a stationary chain's would: the
    /// chain was still travelling toward the typical set (a transient), where the
    /// gradients' variance reflects the journey, not the posterior's scale. In `dim`
    /// dimensions a near-Gaussian posterior's log density varies with sd about
    /// `sqrt(dim / 2)`, so a range above `20 sqrt(dim) + 20` is a transient.
    pub fn saw_transient(&self) -> bool {
        let dim = self.draws.mean.len() as f64;
        let (low, high) = self.log_density_range;
        high - low > 20.0 * dim.sqrt() + 20.0
    }

    /// How many draws were added since the last restart.
    pub fn count(&self) -> usize {
        self.draws.n as usize
    }

    /// Writes the estimated inverse mass matrix diagonal into `inv_mass`, coordinate by
    /// coordinate; a coordinate whose estimate is not a finite positive number (no spread
    /// in the draws or the gradients yet) keeps the value `inv_mass` holds. Estimates are
    /// clamped to `[1e-10, 1e10]`.
    pub fn estimate(&self, inv_mass: &mut [f64]) {
        for ((out, draw_m2), grad_m2) in inv_mass.iter_mut().zip(&self.draws.m2).zip(&self.grads.m2)
        {
            // The ratio of the variances: their common 1/(n-1) cancels.
            let estimate = (draw_m2 / grad_m2).sqrt();
            if estimate.is_finite() && estimate > 0.0 {
                *out = estimate.clamp(1e-10, 1e10);
            }
        }
    }
}

/// The gradient-based warmup (nutpie's kind): a diagonal metric from the draws and their
/// gradients ([`FisherEstimator`]), adapted from the first draws.
///
/// Two estimators see every draw: the foreground one, whose estimate becomes the metric
/// after each draw (once it holds `min_draws`), and the background one. At the end of each
/// window the background estimator, which holds only that window's draws, becomes the
/// foreground and a fresh one starts behind it, so the metric always rests on recent
/// draws (between one and two windows of them) and early transients are forgotten.
/// After an initial buffer (`initial_fraction` of warmup) that adapts only the step size,
/// windows are `early_window` long in the first `early_fraction` of warmup, then
/// `window`, growing by `window_growth` each time. Dual averaging of the step size runs
/// without restarts while the metric adapts, then restarts (as Stan's does after its last
/// window) for the last `final_fraction` of warmup, where the metric stays fixed; the
/// sampling step size is that last phase's average. While the foreground's draws span a
/// transient ([`FisherEstimator::saw_transient`]: a chain still climbing from far out)
/// the metric keeps its value (`skip_transients`). A chain that moves to a region of
/// another log density in the last phase, where the metric it keeps was estimated
/// elsewhere, adapts it again there ([`WarmupStrategy::readapt`], `level_shift_sds`). A
/// chain whose last phase diverges often adapts its step size again at a higher target
/// acceptance rate ([`WarmupStrategy::raise_target_accept`], `divergence_share`). A
/// chain whose last phase runs most trajectories to the maximum tree depth adapts its
/// metric again from where it stands ([`WarmupStrategy::readapt_at_max_depth`],
/// `max_depth_share`): a metric estimated from few draws after a long climb can be far
/// narrower than the posterior in some direction.
///
/// With a low-rank correction ([`with_low_rank`](Self::with_low_rank)) each estimator
/// also keeps its draws and gradients; the correction is estimated from the foreground's
/// at each switch (once it holds `min_draws`) and once more when the metric becomes final,
/// relative to the diagonal of that moment. Between those moments only the diagonal
/// moves, as without the correction.
#[derive(Clone, Debug)]
pub struct FisherWarmup {
    dual: DualAveraging,
    foreground: FisherEstimator,
    background: FisherEstimator,
    settings: FisherWarmupSettings,
    /// The number of warmup iterations planned.
    num_warmup: usize,
    /// The first iteration of the step-size-only phase.
    final_start: usize,
    /// The first iteration that adapts the metric (after the initial buffer).
    initial_end: usize,
    /// The first iteration after the early phase.
    early_end: usize,
    /// The iteration after which the estimators switch next.
    next_switch: usize,
    /// The length of the current window after the early phase.
    window: f64,
    scratch: Vec<f64>,
    /// The diagonal metric when the step size was last searched for.
    searched_metric: Vec<f64>,
    low_rank: Option<LowRankState>,
    /// The log densities of the draws since the metric became final.
    final_log_densities: Vec<f64>,
    /// The transitions in the last half of the step-size-only phase, how many of them
    /// diverged and how many reached the maximum tree depth.
    final_watched: usize,
    final_divergent: usize,
    final_at_max_depth: usize,
    /// The planned length of the step-size-only phase.
    planned_final_length: usize,
    /// The smallest step size that ended warmup diverging too often
    /// ([`WarmupStrategy::raise_target_accept`]): an upper bound of the step size.
    diverging_step_size: f64,
}

/// The draws the low-rank correction is estimated from.
#[derive(Clone, Debug)]
struct LowRankState {
    settings: LowRankSettings,
    foreground: DrawBuffer,
    background: DrawBuffer,
}

impl FisherWarmup {
    /// `initial_step_size` sets the first dual-averaging target `mu = log(10 * eps0)`, as
    /// Stan does.
    pub fn new(
        settings: &FisherWarmupSettings,
        num_warmup: usize,
        target_accept: f64,
        initial_step_size: f64,
        dim: usize,
    ) -> Self {
        let share = |f: f64| (f.clamp(0.0, 1.0) * num_warmup as f64).round() as usize;
        let final_start = num_warmup - share(settings.final_fraction).min(num_warmup);
        let early_end = share(settings.early_fraction).min(final_start);
        let initial_end = share(settings.initial_fraction).min(early_end);
        Self {
            dual: DualAveraging::new(
                target_accept,
                settings.gamma,
                settings.t0,
                settings.kappa,
                initial_step_size,
            ),
            foreground: FisherEstimator::new(dim),
            background: FisherEstimator::new(dim),
            settings: settings.clone(),
            num_warmup,
            final_start,
            initial_end,
            early_end,
            next_switch: initial_end + settings.early_window.max(1) - 1,
            window: settings.window.max(1) as f64,
            scratch: vec![0.0; dim],
            searched_metric: vec![1.0; dim],
            low_rank: None,
            final_log_densities: Vec::new(),
            final_watched: 0,
            final_divergent: 0,
            final_at_max_depth: 0,
            planned_final_length: num_warmup - final_start,
            diverging_step_size: f64::INFINITY,
        }
    }

    /// Adds nutpie's low-rank correction to the diagonal metric.
    pub fn with_low_rank(mut self, settings: &LowRankSettings) -> Self {
        let dim = self.scratch.len();
        self.low_rank = Some(LowRankState {
            settings: settings.clone(),
            foreground: DrawBuffer::new(dim),
            background: DrawBuffer::new(dim),
        });
        self
    }

    /// Re-estimates the low-rank correction from the foreground draws, relative to the
    /// chain's current diagonal.
    fn update_low_rank(&mut self, chain: &mut dyn Tunable) {
        let Some(state) = &self.low_rank else {
            return;
        };
        if state.foreground.len() < state.settings.min_draws.max(2) {
            return;
        }
        // An estimate that fails (not finite) leaves the correction as it was.
        if let Some(low_rank) = state
            .foreground
            .estimate(chain.inv_mass_matrix(), &state.settings)
        {
            chain.set_low_rank(&low_rank);
        }
    }

    /// Searches for the step size again, and restarts its averaging there, when the
    /// diagonal metric has shrunk by more than `step_search_factor` in some coordinate
    /// since the last search. (A metric that grew makes the step size too large, which
    /// the acceptance rate soon shows and dual averaging corrects at any target.)
    fn search_step_size_if_metric_shrank(
        &mut self,
        chain: &mut dyn Tunable,
    ) -> Result<(), ChainError> {
        let factor = self.settings.step_search_factor;
        let shrank = chain
            .inv_mass_matrix()
            .iter()
            .zip(&self.searched_metric)
            .any(|(now, then)| now * factor < *then);
        if !shrank {
            return Ok(());
        }
        self.searched_metric
            .copy_from_slice(chain.inv_mass_matrix());
        self.dual.search_and_restart(chain)
    }

    /// Whether the log densities of the last half of the draws made with the final metric
    /// lie `level_shift_sds` standard deviations of the foreground's log densities (the
    /// draws the metric was estimated from) away from their mean: the chain moved to
    /// another region after its metric became final.
    fn moved_since_metric_was_final(&self) -> bool {
        let n = self.final_log_densities.len();
        if n < 2
            || self.foreground.count() < self.settings.min_draws.max(2)
            || self.foreground.saw_transient()
        {
            return false;
        }
        let recent = &self.final_log_densities[n / 2..];
        let recent_mean = recent.iter().sum::<f64>() / recent.len() as f64;
        let (mean, sd) = self.foreground.log_density_mean_sd();
        (recent_mean - mean).abs() > self.settings.level_shift_sds * sd
    }

    /// Starts the metric's adaptation again at `iteration`, from where the chain stands
    /// (5 short windows, one long one, then the step-size-only phase as long as before),
    /// and returns the warmup iterations that adds.
    fn adapt_metric_again(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
    ) -> Result<usize, ChainError> {
        let final_length = (self.num_warmup - self.final_start).max(MIN_EXTENSION);
        let early = self.settings.early_window.max(1);
        self.initial_end = iteration;
        self.early_end = iteration + READAPT_EARLY_WINDOWS * early;
        self.final_start = self.early_end + self.settings.window.max(1);
        self.num_warmup = self.final_start + final_length;
        self.next_switch = iteration + early - 1;
        self.window = self.settings.window.max(1) as f64;
        self.foreground.restart();
        self.background.restart();
        if let Some(state) = &mut self.low_rank {
            state.foreground.clear();
            state.background.clear();
        }
        self.forget_final_phase();
        // A step size that diverged with the old metric bounds nothing under the new one.
        self.diverging_step_size = f64::INFINITY;
        self.searched_metric
            .copy_from_slice(chain.inv_mass_matrix());
        self.dual.search_and_restart(chain)?;
        Ok(self.num_warmup - iteration)
    }

    /// Whether `count` of the watched transitions of the step-size-only phase are more
    /// than `share` of them, and at least `least`.
    fn watched_often(&self, count: usize, least: usize, share: f64) -> bool {
        count >= least && count as f64 > share * self.final_watched as f64
    }

    /// Forgets what the draws of the step-size-only phase showed, before it starts again.
    fn forget_final_phase(&mut self) {
        self.final_log_densities.clear();
        self.final_watched = 0;
        self.final_divergent = 0;
        self.final_at_max_depth = 0;
    }

    /// Moves the end of the current window forward after a switch at `iteration`.
    fn advance(&mut self, iteration: usize) {
        let early = self.settings.early_window.max(1);
        if iteration + early < self.early_end {
            self.next_switch = iteration + early;
        } else {
            self.next_switch = iteration + self.window.round() as usize;
            self.window *= self.settings.window_growth.max(1.0);
        }
    }
}

impl WarmupStrategy for FisherWarmup {
    fn start(&mut self, chain: &mut dyn Tunable) -> Result<(), ChainError> {
        self.searched_metric
            .copy_from_slice(chain.inv_mass_matrix());
        self.dual.search_and_restart(chain)
    }

    fn learn(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
        transition: &TransitionInfo,
    ) -> Result<(), ChainError> {
        chain.set_step_size(self.dual.learn(transition.accept_stat));
        let log_density = chain.log_density();
        if iteration >= self.final_start {
            self.final_log_densities.push(log_density);
            // The first half follows the restart of dual averaging, whose first steps
            // are too large by design: only the second half tells the step size's fit.
            if 2 * (iteration - self.final_start) >= self.num_warmup - self.final_start {
                self.final_watched += 1;
                self.final_divergent += usize::from(transition.divergent);
                self.final_at_max_depth += usize::from(transition.at_max_depth);
            }
        }
        if iteration < self.initial_end || iteration >= self.final_start {
            return Ok(());
        }

        self.foreground
            .add(chain.position(), log_density, chain.gradient());
        self.background
            .add(chain.position(), log_density, chain.gradient());
        if let Some(state) = &mut self.low_rank {
            state.foreground.push(chain.position(), chain.gradient());
            state.background.push(chain.position(), chain.gradient());
        }
        if self.foreground.count() >= self.settings.min_draws.max(2)
            && !(self.settings.skip_transients && self.foreground.saw_transient())
        {
            self.scratch.copy_from_slice(chain.inv_mass_matrix());
            self.foreground.estimate(&mut self.scratch);
            chain.set_inv_mass_matrix(&self.scratch);
            self.search_step_size_if_metric_shrank(chain)?;
        }
        if iteration == self.next_switch || iteration + 1 == self.final_start {
            self.update_low_rank(chain);
        }
        if iteration == self.next_switch {
            std::mem::swap(&mut self.foreground, &mut self.background);
            self.background.restart();
            if let Some(state) = &mut self.low_rank {
                std::mem::swap(&mut state.foreground, &mut state.background);
                state.background.clear();
            }
            self.advance(iteration);
        }
        if iteration + 1 == self.final_start {
            // The metric is final: average the step size for it alone.
            self.dual.restart_at(chain.step_size());
        }
        Ok(())
    }

    fn finish(&mut self, chain: &mut dyn Tunable) {
        if self.dual.counter > 0.0 {
            // A higher target than the one a step size diverged at never warrants a longer
            // step, though a short average over a lucky stretch can suggest one.
            let step_size = self.dual.final_step_size().min(self.diverging_step_size);
            chain.set_step_size(step_size);
        }
    }

    fn extend(&mut self, chain: &mut dyn Tunable) -> Result<usize, ChainError> {
        self.dual.search_and_restart(chain)?;
        Ok((self.num_warmup - self.final_start).max(MIN_EXTENSION))
    }

    fn readapt(&mut self, chain: &mut dyn Tunable, iteration: usize) -> Result<usize, ChainError> {
        if !self.moved_since_metric_was_final() {
            return Ok(0);
        }
        self.adapt_metric_again(chain, iteration)
    }

    fn readapt_at_max_depth(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
    ) -> Result<usize, ChainError> {
        if !self.watched_often(self.final_at_max_depth, 1, self.settings.max_depth_share) {
            return Ok(0);
        }
        self.adapt_metric_again(chain, iteration)
    }

    fn raise_target_accept(
        &mut self,
        chain: &mut dyn Tunable,
        iteration: usize,
    ) -> Result<usize, ChainError> {
        if !self.watched_often(self.final_divergent, 2, self.settings.divergence_share) {
            return Ok(0);
        }
        // Halving the rejection rate aimed at (0.8 -> 0.9 -> 0.95) shortens the step
        // where a fixed step size is too long for part of the posterior (a funnel's neck).
        self.dual.target = 1.0 - (1.0 - self.dual.target) / 2.0;
        self.diverging_step_size = self.diverging_step_size.min(chain.step_size());
        // Twice the last phase's length: its second half, which decides whether to raise
        // again, is then as long as the whole phase was.
        let final_length = 2 * self.planned_final_length.max(MIN_EXTENSION);
        self.final_start = iteration;
        self.num_warmup = iteration + final_length;
        self.forget_final_phase();
        // Averaging around the step size that diverged, not ten times it as at the start
        // of a phase: larger steps are known to be too large.
        self.dual.restart_at(chain.step_size() / 10.0);
        Ok(final_length)
    }

    fn target_accept(&self) -> f64 {
        self.dual.target
    }

    fn still_diverging(&self) -> bool {
        self.watched_often(self.final_divergent, 2, self.settings.divergence_share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The iterations (0-based) at which Stan's default schedule updates the metric.
    fn window_ends(num_warmup: usize) -> Vec<i64> {
        let Some(mut w) = Windows::new(num_warmup, &StanWarmupSettings::default()) else {
            return Vec::new();
        };
        let mut ends = Vec::new();
        for i in 0..num_warmup as i64 {
            if w.ends_window(i) {
                w.advance(i);
                ends.push(i);
            }
        }
        ends
    }

    #[test]
    fn stan_default_windows() {
        // 75 + (25 + 50 + 100 + 200 + 500) + 50 = 1000, as CmdStan documents.
        assert_eq!(window_ends(1000), vec![99, 149, 249, 449, 949]);
        assert_eq!(window_ends(10), Vec::<i64>::new());
        // 100 warmup: 15 / 75 / 10.
        assert_eq!(window_ends(100), vec![89]);
    }

    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// Independent draws of a Gaussian with these standard deviations and mean `mean`,
    /// with their exact gradients, fed to a Fisher estimator.
    fn fisher_on_gaussian(sds: &[f64], mean: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut estimator = FisherEstimator::new(sds.len());
        let mut x = vec![0.0; sds.len()];
        let mut g = vec![0.0; sds.len()];
        for _ in 0..n {
            for ((x, g), sd) in x.iter_mut().zip(&mut g).zip(sds) {
                let z: f64 = StandardNormal.sample(&mut rng);
                *x = mean + sd * z;
                *g = -(*x - mean) / (sd * sd);
            }
            estimator.add(&x, 0.0, &g);
        }
        let mut inv_mass = vec![1.0; sds.len()];
        estimator.estimate(&mut inv_mass);
        inv_mass
    }

    /// Variance of draws alone after the same draws, for comparison.
    fn draw_variance(sds: &[f64], n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut w = Welford::new(sds.len());
        let mut x = vec![0.0; sds.len()];
        for _ in 0..n {
            for (x, sd) in x.iter_mut().zip(sds) {
                let z: f64 = StandardNormal.sample(&mut rng);
                *x = 3.0 + sd * z;
            }
            w.add(&x);
        }
        w.m2.iter().map(|m2| m2 / (w.n - 1.0)).collect()
    }

    #[test]
    fn fisher_metric_is_the_variance_of_a_diagonal_gaussian() {
        let sds = [1e-3, 0.1, 1.0, 7.0, 300.0];
        // Exact from a handful of draws: var(x) * var(g) = 1 draw by draw for a Gaussian.
        for n in [2, 5, 50, 2000] {
            let inv_mass = fisher_on_gaussian(&sds, 3.0, n, 11);
            for (m, sd) in inv_mass.iter().zip(&sds) {
                let rel = (m / (sd * sd) - 1.0).abs();
                assert!(rel < 1e-9, "n = {n}: {m} vs {}", sd * sd);
            }
        }
        // The variance of 50 draws alone is off by up to about 40%.
        let welford = draw_variance(&sds, 50, 11);
        let worst = welford
            .iter()
            .zip(&sds)
            .map(|(v, sd)| (v / (sd * sd) - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(worst > 0.05, "{worst}");
    }

    /// A non-Gaussian coordinate (a logistic density): the estimate converges as draws
    /// accumulate, to its own fixed point, between the variance and the inverse Fisher
    /// information.
    #[test]
    fn fisher_metric_converges_on_a_logistic() {
        // Standard logistic: variance pi^2/3, E[g^2] = 1/3, so the estimate tends to
        // sqrt((pi^2/3) / (1/3)) = pi.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut estimator = FisherEstimator::new(1);
        let mut errors = Vec::new();
        for n in 1..=40_000 {
            let u: f64 = rand::Rng::random_range(&mut rng, 1e-12..1.0 - 1e-12);
            let x = (u / (1.0 - u)).ln();
            let g = -(x / 2.0).tanh();
            estimator.add(&[x], 0.0, &[g]);
            if n == 400 || n == 40_000 {
                let mut m = [1.0];
                estimator.estimate(&mut m);
                errors.push((m[0] - std::f64::consts::PI).abs() / std::f64::consts::PI);
            }
        }
        assert!(errors[0] < 0.15, "{errors:?}");
        assert!(errors[1] < 0.02, "{errors:?}");
    }

    #[test]
    fn fisher_estimate_keeps_coordinates_without_spread() {
        let mut estimator = FisherEstimator::new(2);
        estimator.add(&[1.0, 2.0], 0.0, &[0.5, -1.0]);
        estimator.add(&[1.0, 3.0], 0.0, &[0.5, -2.0]);
        let mut inv_mass = [0.25, 0.25];
        estimator.estimate(&mut inv_mass);
        assert_eq!(inv_mass[0], 0.25);
        assert!((inv_mass[1] - 1.0).abs() < 1e-12);
        estimator.restart();
        assert_eq!(estimator.count(), 0);
    }

    /// Draws whose log densities span more than a stationary chain's (a chain still
    /// climbing toward the typical set) are a transient; a stationary chain's are not,
    /// and forgetting the draws forgets the range.
    #[test]
    fn a_climbing_log_density_is_a_transient() {
        let dim = 16;
        // 20 sqrt(16) + 20 = 100.
        let mut estimator = FisherEstimator::new(dim);
        let (x, g) = (vec![0.0; dim], vec![0.0; dim]);
        for lp in [-1e6, -2e5, -3e4, -900.0] {
            estimator.add(&x, lp, &g);
        }
        assert!(estimator.saw_transient());
        estimator.restart();
        for lp in [-40.0, -31.0, -52.0, -45.0, -60.0, -38.0] {
            estimator.add(&x, lp, &g);
        }
        assert!(!estimator.saw_transient());
        estimator.add(&x, -141.0, &g);
        assert!(estimator.saw_transient());
    }

    /// A chain seen through [`Tunable`] only: its state is set by the test.
    struct Scripted {
        position: Vec<f64>,
        gradient: Vec<f64>,
        log_density: f64,
        inv_mass: Vec<f64>,
        step_size: f64,
    }

    impl Tunable for Scripted {
        fn dim(&self) -> usize {
            self.position.len()
        }
        fn step_size(&self) -> f64 {
            self.step_size
        }
        fn set_step_size(&mut self, step_size: f64) {
            self.step_size = step_size;
        }
        fn inv_mass_matrix(&self) -> &[f64] {
            &self.inv_mass
        }
        fn set_inv_mass_matrix(&mut self, inv_mass: &[f64]) {
            self.inv_mass.copy_from_slice(inv_mass);
        }
        fn set_low_rank(&mut self, _low_rank: &LowRank) {}
        fn position(&self) -> &[f64] {
            &self.position
        }
        fn gradient(&self) -> &[f64] {
            &self.gradient
        }
        fn log_density(&self) -> f64 {
            self.log_density
        }
        fn find_initial_step_size(&mut self) -> Result<(), ChainError> {
            Ok(())
        }
    }

    impl Scripted {
        /// A chain at the origin with the identity metric and step size 1.
        fn at_origin(dim: usize) -> Self {
            Self {
                position: vec![0.0; dim],
                gradient: vec![0.0; dim],
                log_density: 0.0,
                inv_mass: vec![1.0; dim],
                step_size: 1.0,
            }
        }

        /// Moves to a draw of a Gaussian with this mean and sd in every coordinate, whose
        /// log density is `level` plus the Gaussian's.
        fn draw(&mut self, rng: &mut rand_chacha::ChaCha8Rng, mean: f64, sd: f64, level: f64) {
            self.log_density = level;
            for (x, g) in self.position.iter_mut().zip(&mut self.gradient) {
                let z: f64 = StandardNormal.sample(rng);
                *x = mean + sd * z;
                *g = -z / sd;
                self.log_density -= 0.5 * z * z;
            }
        }
    }

    /// Runs a Fisher warmup of 400 iterations on a chain that draws from one Gaussian
    /// and, from `move_at` on, from another (sd 0.1, its log density 40 higher); returns
    /// the warmup iterations added to adapt the metric again, and the metric at the end.
    fn warmup_with_a_move(move_at: usize) -> (usize, Vec<f64>) {
        let dim = 6;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut chain = Scripted::at_origin(dim);
        let mut warmup = FisherWarmup::new(&FisherWarmupSettings::default(), 400, 0.8, 1.0, dim);
        let info = TransitionInfo {
            accept_stat: 0.8,
            divergent: false,
            n_leapfrog: 7,
            at_max_depth: false,
        };
        warmup.start(&mut chain).expect("start");
        let (mut end, mut added) = (400, 0);
        let mut iteration = 0;
        loop {
            while iteration < end {
                if iteration < move_at {
                    chain.draw(&mut rng, 0.0, 1.0, -100.0);
                } else {
                    chain.draw(&mut rng, 5.0, 0.1, -60.0);
                }
                warmup.learn(&mut chain, iteration, &info).expect("learn");
                iteration += 1;
            }
            warmup.finish(&mut chain);
            let more = warmup.readapt(&mut chain, iteration).expect("readapt");
            if more == 0 {
                return (added, chain.inv_mass);
            }
            added += more;
            end += more;
        }
    }

    /// A chain that moves to another region while only its step size adapts (the metric
    /// is final from iteration 340 of 400) adapts its metric again there, once; a chain
    /// that stays, or moves before the metric is final, does not.
    #[test]
    fn a_chain_that_moves_after_its_metric_is_final_adapts_it_again() {
        let (added, inv_mass) = warmup_with_a_move(350);
        // 5 short windows of 10, one of 80, then the last phase's 60 again.
        assert_eq!(added, 50 + 80 + 60);
        for m in &inv_mass {
            assert!((m / 0.01 - 1.0).abs() < 1e-9, "{inv_mass:?}");
        }
        for move_at in [usize::MAX, 200] {
            let (added, inv_mass) = warmup_with_a_move(move_at);
            assert_eq!(added, 0, "move at {move_at}");
            let expected = if move_at == 200 { 0.01 } else { 1.0 };
            for m in &inv_mass {
                assert!(
                    (m / expected - 1.0).abs() < 1e-9,
                    "move at {move_at}: {inv_mass:?}"
                );
            }
        }
    }

    /// The warmup iterations a Fisher warmup of 400 iterations adds, when it would end,
    /// to adapt the metric again for a chain drawing from a standard Gaussian whose
    /// transitions reach the maximum tree depth where `at_max_depth(iteration)` says.
    fn readaptation_at_max_depth(at_max_depth: impl Fn(usize) -> bool) -> usize {
        let dim = 6;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut chain = Scripted::at_origin(dim);
        let mut warmup = FisherWarmup::new(&FisherWarmupSettings::default(), 400, 0.8, 1.0, dim);
        warmup.start(&mut chain).expect("start");
        for iteration in 0..400 {
            chain.draw(&mut rng, 0.0, 1.0, 0.0);
            let info = TransitionInfo {
                accept_stat: 0.8,
                divergent: false,
                n_leapfrog: if at_max_depth(iteration) { 1023 } else { 7 },
                at_max_depth: at_max_depth(iteration),
            };
            warmup.learn(&mut chain, iteration, &info).expect("learn");
        }
        warmup.finish(&mut chain);
        warmup
            .readapt_at_max_depth(&mut chain, 400)
            .expect("readapt")
    }

    /// A chain more than half of whose transitions in the last half of the
    /// step-size-only phase (iterations 370 to 399 of 400) reach the maximum tree depth
    /// adapts its metric again, as after a move; half of them, or transitions that reach
    /// it earlier in warmup, do not.
    #[test]
    fn a_chain_whose_last_trajectories_reach_the_maximum_depth_adapts_its_metric_again() {
        assert_eq!(readaptation_at_max_depth(|i| i >= 340), 50 + 80 + 60);
        assert_eq!(readaptation_at_max_depth(|i| i >= 384), 50 + 80 + 60);
        assert_eq!(readaptation_at_max_depth(|i| i >= 385), 0);
        assert_eq!(readaptation_at_max_depth(|i| i % 2 == 0), 0);
        assert_eq!(readaptation_at_max_depth(|i| i < 370), 0);
    }

    /// Runs a Fisher warmup of 400 iterations on a chain drawing from a standard
    /// Gaussian whose transitions diverge where `divergent(iteration)` says; at each end
    /// of warmup the strategy may raise its target acceptance (twice at most, as a chain
    /// allows). Transitions accept with probability `accept(iteration)`. Returns the
    /// iterations each raise added, the final target, and the step sizes warmup ended
    /// with each time.
    fn warmup_with_divergences(
        divergent: impl Fn(usize) -> bool,
        accept: impl Fn(usize) -> f64,
    ) -> (Vec<usize>, f64, Vec<f64>) {
        let dim = 3;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut chain = Scripted::at_origin(dim);
        let mut warmup = FisherWarmup::new(&FisherWarmupSettings::default(), 400, 0.8, 1.0, dim);
        warmup.start(&mut chain).expect("start");
        let (mut end, mut added, mut step_sizes) = (400, Vec::new(), Vec::new());
        let mut iteration = 0;
        loop {
            while iteration < end {
                chain.draw(&mut rng, 0.0, 1.0, 0.0);
                let info = TransitionInfo {
                    accept_stat: accept(iteration),
                    divergent: divergent(iteration),
                    n_leapfrog: 7,
                    at_max_depth: false,
                };
                warmup.learn(&mut chain, iteration, &info).expect("learn");
                iteration += 1;
            }
            warmup.finish(&mut chain);
            step_sizes.push(chain.step_size);
            assert_eq!(warmup.readapt(&mut chain, iteration).expect("readapt"), 0);
            let more = if added.len() < 2 {
                warmup
                    .raise_target_accept(&mut chain, iteration)
                    .expect("raise")
            } else {
                0
            };
            if more == 0 {
                return (added, warmup.target_accept(), step_sizes);
            }
            added.push(more);
            end += more;
        }
    }

    /// Many divergent transitions in the last half of the step-size-only phase (340..400
    /// at 400) raise the target acceptance and adapt the step size again for that
    /// phase's length; a few, or those right after the averaging restarts, do not.
    #[test]
    fn a_chain_whose_warmup_ends_diverging_raises_its_target_acceptance() {
        let accept = |_| 0.8;
        // 6 of the last 30 diverge, then none: one raise, and a shorter step.
        let (added, target, steps) =
            warmup_with_divergences(|i| (370..400).contains(&i) && i % 5 == 0, accept);
        assert_eq!(added, [120]);
        assert!((target - 0.9).abs() < 1e-12, "{target}");
        assert!(steps[1] < steps[0], "{steps:?}");
        // Divergences to the end: two raises, 0.8 -> 0.9 -> 0.95.
        let (added, target, _) = warmup_with_divergences(|i| i >= 370 && i % 5 == 0, accept);
        assert_eq!(added, [120, 120]);
        assert!((target - 0.95).abs() < 1e-12, "{target}");
        // Transitions that accept nearly always after the raise would lengthen the step;
        // the step that diverged bounds it.
        let (added, _, steps) = warmup_with_divergences(
            |i| (370..400).contains(&i) && i % 5 == 0,
            |i| if i < 400 { 0.8 } else { 0.999 },
        );
        assert_eq!(added, [120]);
        assert_eq!(steps[1], steps[0]);
        // The first half of the phase follows the restart of dual averaging: not counted.
        let (added, target, _) = warmup_with_divergences(|i| (340..370).contains(&i), accept);
        assert!(added.is_empty());
        assert_eq!(target, 0.8);
        // One divergent transition, or 3 of 30 (a tenth), is not too many.
        let few: [fn(usize) -> bool; 2] =
            [|i| i == 390, |i| (370..400).contains(&i) && i % 10 == 0];
        for divergent in few {
            let (added, target, _) = warmup_with_divergences(divergent, accept);
            assert!(added.is_empty());
            assert_eq!(target, 0.8);
        }
    }

    /// The iterations at which the estimators switch, for a warmup of `n`.
    fn switches(n: usize) -> (Vec<usize>, usize) {
        let mut w = FisherWarmup::new(&FisherWarmupSettings::default(), n, 0.8, 1.0, 1);
        let mut out = Vec::new();
        for i in 0..w.final_start {
            if i == w.next_switch {
                out.push(i);
                w.advance(i);
            }
        }
        (out, w.final_start)
    }

    #[test]
    fn fisher_windows_are_short_then_grow() {
        // 1000: an initial buffer of 75 (step size only), the early phase until 300 in
        // windows of 10, then 80, 120, 180 until 850.
        let (ends, final_start) = switches(1000);
        assert_eq!(final_start, 850);
        let early: Vec<usize> = (0..22).map(|k| 75 + 10 * k + 9).collect();
        assert_eq!(&ends[..22], &early[..]);
        assert_eq!(&ends[22..], &[374, 494, 674]);
        // 300: a buffer of 23, windows of 10 until 90, then one of 80, the rest until 255.
        let (ends, final_start) = switches(300);
        assert_eq!(final_start, 255);
        assert_eq!(ends, [32, 42, 52, 62, 72, 82, 162]);
        // Tiny warmups do not panic.
        for n in [1, 2, 3, 10] {
            let _ = switches(n);
        }
    }
}
