//! Warmup strategies: how a chain's step size and mass matrix are tuned before sampling.
//!
//! A strategy sees the chain only through [`Tunable`], so new strategies (nutpie's
//! gradient-based mass matrix) can be added without touching the trajectory code.

use crate::chain::ChainError;
use crate::density::LogDensity;
use crate::settings::{SamplerSettings, StanWarmupSettings};
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
    /// Replaces the diagonal inverse mass matrix; `inv_mass.len()` must be `dim()`.
    fn set_inv_mass_matrix(&mut self, inv_mass: &[f64]);
    /// The chain's current position (unconstrained).
    fn position(&self) -> &[f64];
    /// The gradient of the log density at the current position.
    fn gradient(&self) -> &[f64];
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
}

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
        self.hamiltonian.inv_mass.copy_from_slice(inv_mass);
    }
    fn position(&self) -> &[f64] {
        &self.current.position
    }
    fn gradient(&self) -> &[f64] {
        &self.current.grad
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
    fn restart(&mut self) {
        self.counter = 0.0;
        self.s_bar = 0.0;
        self.x_bar = 0.0;
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
            dual: DualAveraging {
                target: target_accept,
                gamma: settings.gamma,
                t0: settings.t0,
                kappa: settings.kappa,
                mu: (10.0 * initial_step_size).ln(),
                counter: 0.0,
                s_bar: 0.0,
                x_bar: 0.0,
            },
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

        chain.find_initial_step_size()?;
        self.dual.mu = (10.0 * chain.step_size()).ln();
        self.dual.restart();
        Ok(())
    }

    fn finish(&mut self, chain: &mut dyn Tunable) {
        chain.set_step_size(self.dual.final_step_size());
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
}
