//! The sampler on densities whose answers are known.
//!
//! Every test goes through `run`, the one place that touches the public API. Tests marked
//! slow in their name run full-length (Stan's default) chains only with `RLC_SLOW_TESTS=1`;
//! without it they run shorter chains with correspondingly looser checks.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rlc_nuts::{
    sample, times_extended, ChainError, ChainEvent, ChainRun, ExtensionReason, LogDensity,
    SamplerSettings, WarmupExtension, WarmupKind,
};

fn slow_tests() -> bool {
    std::env::var("RLC_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// A Gaussian with mean zero and a given precision matrix (dense, row-major).
#[derive(Clone)]
struct Gaussian {
    precision: Vec<f64>,
    dim: usize,
}

impl Gaussian {
    fn standard(dim: usize) -> Self {
        Self::diagonal(&vec![1.0; dim])
    }

    fn diagonal(sds: &[f64]) -> Self {
        let dim = sds.len();
        let mut precision = vec![0.0; dim * dim];
        for (i, sd) in sds.iter().enumerate() {
            precision[i * dim + i] = 1.0 / (sd * sd);
        }
        Self { precision, dim }
    }

    /// Covariance `S (I + (rho - 1) w w') S` with `S = diag(sds)` and `w` a unit vector:
    /// one direction of the scaled coordinates with variance `rho`.
    fn planted(sds: &[f64], w: &[f64], rho: f64) -> Self {
        let dim = sds.len();
        let mut precision = vec![0.0; dim * dim];
        for i in 0..dim {
            for j in 0..dim {
                let identity = if i == j { 1.0 } else { 0.0 };
                precision[i * dim + j] =
                    (identity + (1.0 / rho - 1.0) * w[i] * w[j]) / (sds[i] * sds[j]);
            }
        }
        Self { precision, dim }
    }

    /// Two coordinates with standard deviations `sd` and correlation `corr`.
    fn correlated(sd: [f64; 2], corr: f64) -> Self {
        let cov = [
            sd[0] * sd[0],
            corr * sd[0] * sd[1],
            corr * sd[0] * sd[1],
            sd[1] * sd[1],
        ];
        let det = cov[0] * cov[3] - cov[1] * cov[2];
        let precision = vec![cov[3] / det, -cov[1] / det, -cov[2] / det, cov[0] / det];
        Self { precision, dim: 2 }
    }
}

impl LogDensity for Gaussian {
    type Error = Infallible;
    fn dim(&self) -> usize {
        self.dim
    }
    fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        let mut logp = 0.0;
        for i in 0..self.dim {
            let row = &self.precision[i * self.dim..(i + 1) * self.dim];
            let px: f64 = row.iter().zip(x).map(|(p, x)| p * x).sum();
            grad[i] = -px;
            logp -= 0.5 * x[i] * px;
        }
        Ok(logp)
    }
}

/// A funnel, centered: `y ~ N(0, y_sd)`, `x_i ~ N(0, exp(y / 2))` (Neal's: `y_sd` 3).
struct Funnel {
    dim: usize,
    y_sd: f64,
}

impl Funnel {
    fn neal(dim: usize) -> Self {
        Self { dim, y_sd: 3.0 }
    }
}

impl LogDensity for Funnel {
    type Error = Infallible;
    fn dim(&self) -> usize {
        self.dim
    }
    fn logp_and_grad(&mut self, q: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        let y = q[0];
        let n = (self.dim - 1) as f64;
        let inv_var = (-y).exp();
        let sum_sq: f64 = q[1..].iter().map(|x| x * x).sum();
        let y_var = self.y_sd * self.y_sd;
        grad[0] = -y / y_var + 0.5 * sum_sq * inv_var - 0.5 * n;
        for (g, x) in grad[1..].iter_mut().zip(&q[1..]) {
            *g = -x * inv_var;
        }
        Ok(-y * y / (2.0 * y_var) - 0.5 * sum_sq * inv_var - 0.5 * n * y)
    }
}

/// `-sum cosh(x_i - center)`: from the initial values near 0, 20 units out, the gradient
/// is about 1e8, and it grows exponentially further out.
struct FarAway {
    dim: usize,
    center: f64,
}

impl LogDensity for FarAway {
    type Error = Infallible;
    fn dim(&self) -> usize {
        self.dim
    }
    fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        let mut logp = 0.0;
        for (g, x) in grad.iter_mut().zip(x) {
            let u = x - self.center;
            logp -= u.cosh();
            *g = -u.sinh();
        }
        Ok(logp)
    }
}

/// A standard normal whose evaluation fails outside a box (as a model's `reject` would).
struct Walled {
    dim: usize,
    wall: f64,
}

impl LogDensity for Walled {
    type Error = String;
    fn dim(&self) -> usize {
        self.dim
    }
    fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, String> {
        if x.iter().any(|x| x.abs() > self.wall) {
            return Err(format!("outside the box |x| <= {}", self.wall));
        }
        for (g, x) in grad.iter_mut().zip(x) {
            *g = -x;
        }
        Ok(-0.5 * x.iter().map(|x| x * x).sum::<f64>())
    }
}

/// Runs the sampler with `settings`, collecting the chains and the streamed events.
struct Run {
    chains: Vec<ChainRun>,
    streamed_draws: usize,
    warmup_done_events: usize,
}

fn run<D: LogDensity>(settings: &SamplerSettings, make: impl Fn(usize) -> D + Sync) -> Run {
    run_watched(settings, make, |_| {})
}

/// `run`, calling `watch` with each iteration's draw as it is made.
fn run_watched<D: LogDensity>(
    settings: &SamplerSettings,
    make: impl Fn(usize) -> D + Sync,
    watch: impl Fn(&rlc_nuts::Draw) + Sync,
) -> Run {
    let streamed = AtomicUsize::new(0);
    let warmup_done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results = sample(
        settings,
        make,
        |event| match event {
            ChainEvent::Draw { draw, .. } => {
                streamed.fetch_add(1, Ordering::Relaxed);
                watch(draw);
            }
            ChainEvent::WarmupDone { .. } => {
                warmup_done.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        },
        &stop,
    );
    let chains = results
        .into_iter()
        .map(|r| r.expect("chain failed"))
        .collect();
    Run {
        chains,
        streamed_draws: streamed.into_inner(),
        warmup_done_events: warmup_done.into_inner(),
    }
}

/// Post-warmup values of coordinate `i`, one vector per chain.
fn coordinate(chains: &[ChainRun], i: usize) -> Vec<Vec<f64>> {
    chains
        .iter()
        .map(|c| {
            c.draws
                .iter()
                .filter(|d| !d.is_warmup)
                .map(|d| d.position[i])
                .collect()
        })
        .collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// Mean over all chains and its Monte Carlo standard error by batch means (the
/// diagnostics crate is deliberately not a dependency of the sampler, even for tests).
fn mean_and_mcse(chains: &[Vec<f64>]) -> (f64, f64) {
    let batches: Vec<f64> = chains
        .iter()
        .flat_map(|c| c.chunks(c.len() / 10).map(mean).collect::<Vec<_>>())
        .collect();
    (
        mean(&batches),
        (variance(&batches) / batches.len() as f64).sqrt(),
    )
}

/// Split R-hat (Gelman et al., BDA3), without rank normalization.
fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let half = chains[0].len() / 2;
    let parts: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..half], &c[c.len() - half..]])
        .collect();
    let n = half as f64;
    let means: Vec<f64> = parts.iter().map(|p| mean(p)).collect();
    let within = mean(&parts.iter().map(|p| variance(p)).collect::<Vec<_>>());
    let between = n * variance(&means);
    (((n - 1.0) / n * within + between / n) / within).sqrt()
}

/// Checks mean and variance of each coordinate against the truth, within `z` MCSEs.
fn check_moments(chains: &[ChainRun], true_sds: &[f64], z: f64) {
    for (i, sd) in true_sds.iter().enumerate() {
        let x = coordinate(chains, i);
        let (m, mcse) = mean_and_mcse(&x);
        assert!(
            m.abs() < z * mcse,
            "coordinate {i}: mean {m} not within {z} MCSE ({mcse}) of 0"
        );
        let squares: Vec<Vec<f64>> = x
            .iter()
            .map(|c| c.iter().map(|v| v * v).collect())
            .collect();
        let (m2, mcse2) = mean_and_mcse(&squares);
        assert!(
            (m2 - sd * sd).abs() < z * mcse2,
            "coordinate {i}: E[x^2] {m2} not within {z} MCSE ({mcse2}) of {}",
            sd * sd
        );
        let rhat = split_rhat(&x);
        assert!(rhat < 1.01, "coordinate {i}: R-hat {rhat}");
    }
}

fn settings(warmup: usize, draws: usize, seed: u64) -> SamplerSettings {
    SamplerSettings {
        num_warmup: warmup,
        num_draws: draws,
        seed,
        ..SamplerSettings::default()
    }
}

#[test]
fn standard_normal_1d() {
    let s = settings(1000, 1000, 1);
    let result = run(&s, |_| Gaussian::standard(1));
    assert_eq!(result.chains.len(), 4);
    assert_eq!(result.streamed_draws, 4 * 2000);
    assert_eq!(result.warmup_done_events, 4);
    check_moments(&result.chains, &[1.0], 4.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert!(
            (0.5..3.0).contains(&adaptation.step_size),
            "step size {}",
            adaptation.step_size
        );
        assert!((0.6..1.6).contains(&adaptation.inv_mass_matrix[0]));
        assert_eq!(
            adaptation.extra_warmup, 0,
            "a tuned chain's warmup is not extended"
        );
        // Sampling runs with exactly the adapted step size, as CmdStan's header reports.
        for d in chain.draws.iter().filter(|d| !d.is_warmup) {
            assert_eq!(d.stats.step_size, adaptation.step_size);
        }
        let accept = mean(
            &chain
                .draws
                .iter()
                .filter(|d| !d.is_warmup)
                .map(|d| d.stats.accept_stat)
                .collect::<Vec<_>>(),
        );
        assert!((0.7..0.97).contains(&accept), "mean accept_stat {accept}");
        // Every leapfrog step of every draw was a gradient evaluation, plus a few more.
        let leapfrogs: u64 = chain
            .draws
            .iter()
            .map(|d| u64::from(d.stats.n_leapfrog))
            .sum();
        assert!(chain.grad_evals > leapfrogs && chain.grad_evals < leapfrogs + 200);
    }
}

#[test]
fn standard_normal_100d() {
    // 100 dimensions take a while in an unoptimized build; the short run still adapts.
    let (warmup, draws) = if slow_tests() {
        (1000, 1000)
    } else {
        (400, 400)
    };
    let s = settings(warmup, draws, 2);
    let result = run(&s, |_| Gaussian::standard(100));
    check_moments(&result.chains, &[1.0; 100], 5.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert!(
            (0.2..1.0).contains(&adaptation.step_size),
            "step size {}",
            adaptation.step_size
        );
        // The last window of the short run holds only 100 draws, so each variance is
        // known to about 12%; over 400 estimates the extremes reach 35% off.
        for v in &adaptation.inv_mass_matrix {
            assert!((0.4..2.0).contains(v), "inverse mass {v}");
        }
        // Early warmup tries large step sizes and may diverge; sampling must not.
        for d in chain.draws.iter().filter(|d| !d.is_warmup) {
            assert!(!d.stats.divergent);
            assert!(d.stats.tree_depth <= 10);
            assert!(d.stats.n_leapfrog < 1 << (d.stats.tree_depth + 1));
        }
    }
}

#[test]
fn correlated_gaussian() {
    let s = settings(1000, 1000, 3);
    let result = run(&s, |_| Gaussian::correlated([1.0, 2.0], 0.9));
    check_moments(&result.chains, &[1.0, 2.0], 4.0);
    // The true means are 0, so E[xy] is the covariance, 0.9 * 1 * 2.
    let products: Vec<Vec<f64>> = coordinate(&result.chains, 0)
        .iter()
        .zip(&coordinate(&result.chains, 1))
        .map(|(x, y)| x.iter().zip(y).map(|(a, b)| a * b).collect())
        .collect();
    let (cov, mcse) = mean_and_mcse(&products);
    assert!(
        (cov - 1.8).abs() < 4.0 * mcse,
        "covariance {cov}, expected 1.8 within 4 MCSE ({mcse})"
    );
    for chain in &result.chains {
        let inv_mass = &chain
            .adaptation
            .as_ref()
            .expect("warmup finished")
            .inv_mass_matrix;
        // A diagonal metric estimates the marginal variances, 1 and 4.
        assert!((0.6..1.6).contains(&inv_mass[0]), "{inv_mass:?}");
        assert!((2.4..6.4).contains(&inv_mass[1]), "{inv_mass:?}");
    }
}

#[test]
fn badly_scaled_gaussian() {
    let sds = [0.01, 0.1, 1.0, 10.0, 100.0];
    let s = settings(1000, 1000, 4);
    let result = run(&s, |_| Gaussian::diagonal(&sds));
    check_moments(&result.chains, &sds, 4.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        for (v, sd) in adaptation.inv_mass_matrix.iter().zip(&sds) {
            let ratio = v / (sd * sd);
            assert!((0.6..1.6).contains(&ratio), "inverse mass {v} for sd {sd}");
        }
        // With the metric adapted the problem is a standard normal again.
        assert!((0.4..2.0).contains(&adaptation.step_size));
    }
}

#[test]
fn funnel_divergences_are_counted() {
    let s = settings(1000, 1000, 5);
    let result = run(&s, |_| Funnel::neal(10));
    // Whether the few thousand draws after warmup reach the neck varies with the seed;
    // warmup, which starts with large steps, always diverges there.
    let divergent: usize = result
        .chains
        .iter()
        .flat_map(|c| &c.draws)
        .filter(|d| d.stats.divergent)
        .count();
    assert!(divergent > 0, "the centered funnel should diverge");
    // A divergence ends the trajectory: the subtree it happened in is not counted in the
    // depth, so the leapfrog steps are fewer than twice the completed tree's.
    for d in result.chains.iter().flat_map(|c| &c.draws) {
        if d.stats.divergent {
            assert!(d.stats.n_leapfrog < 1 << (d.stats.tree_depth + 1));
        }
    }
}

#[test]
fn same_seed_same_draws_whatever_the_threads() {
    let base = settings(150, 100, 42);
    let one = run(
        &SamplerSettings {
            num_threads: 1,
            ..base.clone()
        },
        |_| Gaussian::correlated([1.0, 3.0], 0.5),
    );
    let four = run(
        &SamplerSettings {
            num_threads: 4,
            ..base.clone()
        },
        |_| Gaussian::correlated([1.0, 3.0], 0.5),
    );
    for (a, b) in one.chains.iter().zip(&four.chains) {
        assert_eq!(a.init, b.init);
        assert_eq!(a.draws.len(), b.draws.len());
        for (x, y) in a.draws.iter().zip(&b.draws) {
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x.position), bits(&y.position));
            assert_eq!(x.stats.energy.to_bits(), y.stats.energy.to_bits());
        }
        assert_eq!(a.adaptation, b.adaptation);
    }
    // Different chains differ, and a different seed gives different draws.
    assert_ne!(one.chains[0].init, one.chains[1].init);
    let other = run(&SamplerSettings { seed: 43, ..base }, |_| {
        Gaussian::correlated([1.0, 3.0], 0.5)
    });
    assert_ne!(other.chains[0].init, one.chains[0].init);
}

#[test]
fn failed_evaluations_are_divergences_not_crashes() {
    let s = settings(300, 300, 6);
    let result = run(&s, |_| Walled { dim: 3, wall: 1.5 });
    let divergent = result
        .chains
        .iter()
        .flat_map(|c| &c.draws)
        .filter(|d| d.stats.divergent)
        .count();
    assert!(divergent > 0);
    for d in result.chains.iter().flat_map(|c| &c.draws) {
        assert!(d.position.iter().all(|x| x.abs() <= 1.5));
        assert!(d.stats.lp.is_finite());
    }
}

#[test]
fn initial_values_are_retried_then_fail_clearly() {
    // Finite only on a small corner of the (-2, 2)^2 box: found after a few tries.
    struct Corner;
    impl LogDensity for Corner {
        type Error = &'static str;
        fn dim(&self) -> usize {
            2
        }
        fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Self::Error> {
            if x[0] < 1.0 || x[1] < 1.0 {
                return Ok(f64::NEG_INFINITY);
            }
            grad.fill(0.0);
            Ok(0.0)
        }
    }
    let s = settings(0, 1, 7);
    let runs = sample(&s, |_| Corner, |_| {}, &AtomicBool::new(false));
    for r in &runs {
        let chain = r.as_ref().expect("a finite corner exists");
        assert!(chain.init.iter().all(|x| *x >= 1.0));
    }

    struct Never;
    impl LogDensity for Never {
        type Error = &'static str;
        fn dim(&self) -> usize {
            1
        }
        fn logp_and_grad(&mut self, _: &[f64], _: &mut [f64]) -> Result<f64, Self::Error> {
            Err("log of a negative number")
        }
    }
    let failures = Mutex::new(0);
    let runs = sample(
        &s,
        |_| Never,
        |event| {
            if let ChainEvent::Failed { .. } = event {
                *failures.lock().expect("not poisoned") += 1;
            }
        },
        &AtomicBool::new(false),
    );
    assert_eq!(*failures.lock().expect("not poisoned"), 4);
    for r in runs {
        let error = r.expect_err("no finite value anywhere");
        assert!(matches!(error, ChainError::InitFailed { tries: 100, .. }));
        let message = error.to_string();
        assert!(message.contains("100") && message.contains("log of a negative number"));
    }
}

#[test]
fn a_radius_too_wide_to_draw_from_fails_instead_of_panicking() {
    struct Flat;
    impl LogDensity for Flat {
        type Error = &'static str;
        fn dim(&self) -> usize {
            1
        }
        fn logp_and_grad(&mut self, _: &[f64], grad: &mut [f64]) -> Result<f64, Self::Error> {
            grad.fill(0.0);
            Ok(0.0)
        }
    }
    let mut s = settings(0, 1, 7);
    s.init_radius = 1e308;
    for r in sample(&s, |_| Flat, |_| {}, &AtomicBool::new(false)) {
        let error = r.expect_err("(-1e308, 1e308) is wider than the largest number");
        assert!(
            error.to_string().contains("wider than the largest number"),
            "{error}"
        );
    }
}

#[test]
fn given_initial_values_start_every_chain_there() {
    // Coordinate 0 given, coordinate 1 drawn from (-0.5, 0.5): every chain starts at 3 in
    // the first and somewhere different in the second.
    let s = SamplerSettings {
        init_values: vec![Some(3.0), None],
        init_radius: 0.5,
        ..settings(0, 1, 11)
    };
    let result = run(&s, |_| Gaussian::standard(2));
    let seconds: Vec<f64> = result.chains.iter().map(|c| c.init[1]).collect();
    for chain in &result.chains {
        assert_eq!(chain.init[0], 3.0);
        assert!(chain.init[1].abs() < 0.5);
    }
    assert!(seconds.windows(2).any(|w| w[0] != w[1]), "{seconds:?}");

    // Radius 0: every coordinate not given starts at 0 (CmdStan's `init=0`).
    let zero = SamplerSettings {
        init_radius: 0.0,
        ..settings(0, 1, 11)
    };
    for chain in run(&zero, |_| Gaussian::standard(3)).chains {
        assert_eq!(chain.init, vec![0.0; 3]);
    }
}

#[test]
fn given_initial_values_outside_the_support_fail_once_and_clearly() {
    // Finite only for x > 1: starting at 0 can never work, so one try and a message that
    // names the given values rather than a hundred random draws.
    struct Positive;
    impl LogDensity for Positive {
        type Error = &'static str;
        fn dim(&self) -> usize {
            1
        }
        fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Self::Error> {
            grad[0] = 0.0;
            Ok(if x[0] > 1.0 { 0.0 } else { f64::NEG_INFINITY })
        }
    }
    let s = SamplerSettings {
        init_values: vec![Some(0.0)],
        ..settings(0, 1, 3)
    };
    let runs = sample(&s, |_| Positive, |_| {}, &AtomicBool::new(false));
    for r in runs {
        let error = r.expect_err("not finite at the given point");
        assert!(
            matches!(error, ChainError::GivenInitFailed { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("fixed initial point"), "{error}");
    }
}

#[test]
fn stop_flag_keeps_what_was_drawn() {
    let stop = AtomicBool::new(false);
    let drawn = AtomicUsize::new(0);
    let s = SamplerSettings {
        num_threads: 2,
        ..settings(1000, 1000, 8)
    };
    let runs = sample(
        &s,
        |_| Gaussian::standard(2),
        |event| {
            if let ChainEvent::Draw { .. } = event {
                if drawn.fetch_add(1, Ordering::Relaxed) == 100 {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        },
        &stop,
    );
    let kept: usize = runs
        .iter()
        .map(|r| r.as_ref().expect("no failure").draws.len())
        .sum();
    assert_eq!(kept, drawn.load(Ordering::Relaxed));
    assert!(kept < 200);
    assert!(runs.iter().all(|r| r
        .as_ref()
        .is_ok_and(|c| c.interrupted && c.adaptation.is_none())));
}

#[test]
fn zero_dimensions_and_zero_warmup() {
    let s = settings(0, 20, 9);
    let result = run(&s, |_| Gaussian::standard(0));
    for chain in &result.chains {
        assert_eq!(chain.draws.len(), 20);
        assert!(chain.adaptation.is_some());
    }
    let result = run(&s, |_| Gaussian::standard(3));
    assert_eq!(result.warmup_done_events, 4);
}

/// A fingerprint of every bit of a run: positions, statistics, adaptation and counts
/// (FNV-1a over the values' bits, chain after chain).
fn fingerprint(chains: &[ChainRun]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |x: u64| {
        for byte in x.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for chain in chains {
        chain.init.iter().for_each(|x| add(x.to_bits()));
        for d in &chain.draws {
            d.position.iter().for_each(|x| add(x.to_bits()));
            add(d.stats.lp.to_bits());
            add(d.stats.accept_stat.to_bits());
            add(d.stats.step_size.to_bits());
            add(u64::from(d.stats.n_leapfrog));
            add(d.stats.energy.to_bits());
        }
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        add(adaptation.step_size.to_bits());
        adaptation
            .inv_mass_matrix
            .iter()
            .for_each(|x| add(x.to_bits()));
        // Empty (adding nothing) unless the warmup has a low-rank correction.
        adaptation
            .low_rank
            .values
            .iter()
            .chain(adaptation.low_rank.vectors.iter().flatten())
            .for_each(|x| add(x.to_bits()));
        add(chain.grad_evals);
    }
    hash
}

/// Stan's warmup gives exactly the draws it gave before other strategies existed: the
/// fingerprints were recorded with the sampler of commit b7ae9a9 (Stan's warmup only),
/// and again when the end of warmup began to check whether the chain can move (eight
/// one-step probes per chain, counted in `grad_evals`; the draws were checked to be the
/// same bits with the probes left out of the count).
#[test]
fn stan_warmup_draws_are_unchanged() {
    let mut s = settings(1000, 200, 2024);
    s.num_chains = 2;
    let gaussian = run(&s, |_| Gaussian::diagonal(&[0.1, 1.0, 3.0, 20.0]));
    let funnel = run(
        &SamplerSettings {
            seed: 7,
            ..s.clone()
        },
        |_| Funnel::neal(4),
    );
    let short = run(&settings(150, 50, 5), |_| {
        Gaussian::correlated([1.0, 3.0], 0.5)
    });
    assert_eq!(fingerprint(&gaussian.chains), 0xd38f_6eb3_5165_f43e);
    assert_eq!(fingerprint(&funnel.chains), 0xaaeb_fe3c_cef6_7ffc);
    assert_eq!(fingerprint(&short.chains), 0x0115_88d8_c7dc_57f9);
}

/// One chain of 400 warmup iterations and 1000 draws (seed 7) on the density `make`
/// builds around a flag, which is set once the chain's metric is final (iteration 345 of
/// the fisher warmups, final from 340; 360 of Stan's, whose last window ends at 349).
fn changed_after_the_metric_is_final<D: LogDensity>(
    warmup: WarmupKind,
    make: impl Fn(std::sync::Arc<AtomicBool>) -> D + Sync,
) -> Run {
    let changed = std::sync::Arc::new(AtomicBool::new(false));
    let s = SamplerSettings {
        warmup,
        num_chains: 1,
        ..settings(400, 1000, 7)
    };
    let change_at = if warmup == WarmupKind::Stan { 360 } else { 345 };
    run_watched(
        &s,
        |_| make(changed.clone()),
        |draw| {
            if draw.iteration == change_at {
                changed.store(true, Ordering::Relaxed);
            }
        },
    )
}

/// A standard Gaussian until `moved` is set, then one of sd 0.5 whose log density is
/// 40 higher: a chain that finds another region of the posterior at that moment, made
/// deterministic. (The chain keeps the log density of the point it stands on from before
/// the change; the new density is above it near that point, so the chain moves on.)
struct MovingGaussian {
    moved: std::sync::Arc<AtomicBool>,
    dim: usize,
}

impl LogDensity for MovingGaussian {
    type Error = Infallible;

    fn dim(&self) -> usize {
        self.dim
    }

    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        let (sd, level) = if self.moved.load(Ordering::Relaxed) {
            (0.5, 40.0)
        } else {
            (1.0, 0.0)
        };
        let mut logp = level;
        for (g, x) in grad.iter_mut().zip(position) {
            let z = x / sd;
            logp -= 0.5 * z * z;
            *g = -z / sd;
        }
        Ok(logp)
    }
}

/// A chain that moves to another region while its warmup adapts only the step size (the
/// fisher metric is final from iteration 340 of 400) adapts its metric again there,
/// says so in its adaptation, and samples the new region with a metric that fits it;
/// Stan's warmup, which is Stan's, does not.
#[test]
fn a_chain_that_moves_after_its_metric_is_final_adapts_it_again() {
    for warmup in [
        WarmupKind::Fisher,
        WarmupKind::FisherLowRank,
        WarmupKind::Stan,
    ] {
        let result =
            changed_after_the_metric_is_final(warmup, |moved| MovingGaussian { moved, dim: 4 });
        let chain = &result.chains[0];
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        if warmup == WarmupKind::Stan {
            assert!(adaptation
                .extensions
                .iter()
                .all(|e| e.reason != ExtensionReason::MovedAfterMetric));
            continue;
        }
        assert_eq!(
            adaptation.extensions,
            [WarmupExtension {
                iterations: 190,
                reason: ExtensionReason::MovedAfterMetric
            }],
            "{warmup:?}"
        );
        assert_eq!(adaptation.extra_warmup, 190);
        assert_eq!(result.streamed_draws, 400 + 190 + 1000);
        for m in &adaptation.inv_mass_matrix {
            assert!(
                (0.15..0.4).contains(m),
                "{warmup:?}: {:?}",
                adaptation.inv_mass_matrix
            );
        }
        check_moments(&result.chains, &[0.5; 4], 4.0);
        let divergent = chain
            .draws
            .iter()
            .filter(|d| !d.is_warmup && d.stats.divergent)
            .count();
        assert_eq!(divergent, 0, "{warmup:?}");
    }
}

/// A standard Gaussian until `widened` is set, then one whose coordinates but the last
/// have sd 1000 (the unnormalized log density keeps its level): a metric that fitted
/// before is then a thousand times too narrow along them, as a metric estimated from the
/// few draws a chain made after a long climb can be, and a trajectory needs about 3000
/// leapfrog steps of the size the last coordinate allows to turn back.
struct WideningGaussian {
    widened: std::sync::Arc<AtomicBool>,
    before: Gaussian,
    after: Gaussian,
}

impl WideningGaussian {
    fn new(widened: std::sync::Arc<AtomicBool>, dim: usize) -> Self {
        let mut sds = vec![1000.0; dim];
        sds[dim - 1] = 1.0;
        Self {
            widened,
            before: Gaussian::standard(dim),
            after: Gaussian::diagonal(&sds),
        }
    }
}

impl LogDensity for WideningGaussian {
    type Error = Infallible;

    fn dim(&self) -> usize {
        self.before.dim
    }

    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        if self.widened.load(Ordering::Relaxed) {
            self.after.logp_and_grad(position, grad)
        } else {
            self.before.logp_and_grad(position, grad)
        }
    }
}

/// A chain whose trajectories reach the maximum tree depth while its warmup adapts only
/// the step size (the fisher metric is final from iteration 340 of 400) adapts its metric
/// again from where it stands, says so in its adaptation, and then samples with short
/// trajectories; Stan's warmup, which is Stan's, does not.
#[test]
fn a_chain_whose_trajectories_reach_the_maximum_depth_adapts_its_metric_again() {
    for warmup in [
        WarmupKind::Fisher,
        WarmupKind::FisherLowRank,
        WarmupKind::Stan,
    ] {
        let result =
            changed_after_the_metric_is_final(warmup, |widened| WideningGaussian::new(widened, 6));
        let chain = &result.chains[0];
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        let at_max_depth = chain
            .draws
            .iter()
            .filter(|d| !d.is_warmup && d.stats.tree_depth >= SamplerSettings::default().max_depth)
            .count();
        if warmup == WarmupKind::Stan {
            assert!(
                adaptation.extensions.is_empty(),
                "{:?}",
                adaptation.extensions
            );
            assert!(at_max_depth > 900, "{at_max_depth}");
            continue;
        }
        assert_eq!(
            adaptation.extensions,
            [WarmupExtension {
                iterations: 190,
                reason: ExtensionReason::AtMaxDepth
            }],
            "{warmup:?}"
        );
        assert_eq!(result.streamed_draws, 400 + 190 + 1000);
        let m = &adaptation.inv_mass_matrix;
        for wide in &m[..5] {
            assert!((3e5..3e6).contains(wide), "{warmup:?}: {m:?}");
        }
        assert!((0.5..2.0).contains(&m[5]), "{warmup:?}: {m:?}");
        assert!(
            at_max_depth < 10,
            "{warmup:?}: {at_max_depth} draws at the maximum depth"
        );
    }
}

/// A standard normal in 3 dimensions that, until `released` is set, traps a chain at the
/// first point evaluated (its initial point): with `ball` 0 every other point fails to
/// evaluate, so no step leaves it (as a start where the gradient is so steep that every
/// step is too small to change a coordinate); with `ball` r > 0 the log density drops by
/// 1e9 outside the ball of radius r around it, so the chain moves inside but every
/// trajectory diverges at its edge (as a start where the density breaks down along every
/// path).
struct TrappedStart {
    first: Option<Vec<f64>>,
    ball: f64,
    released: std::sync::Arc<AtomicBool>,
}

impl LogDensity for TrappedStart {
    type Error = String;

    fn dim(&self) -> usize {
        3
    }

    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, String> {
        let first = self.first.get_or_insert_with(|| position.to_vec());
        let mut logp = -0.5 * position.iter().map(|x| x * x).sum::<f64>();
        for (g, x) in grad.iter_mut().zip(position) {
            *g = -x;
        }
        if !self.released.load(Ordering::Relaxed) {
            let distance = position
                .iter()
                .zip(first.iter())
                .map(|(x, f)| (x - f) * (x - f))
                .sum::<f64>()
                .sqrt();
            if self.ball == 0.0 && distance > 0.0 {
                return Err("trapped".into());
            }
            if self.ball > 0.0 && distance > self.ball {
                logp -= 1e9;
            }
        }
        Ok(logp)
    }
}

/// A chain whose first 20 warmup transitions each stay put or diverge starts warmup
/// again from a new initial point (drawn from its own random stream), says so, and
/// samples.
#[test]
fn a_chain_stuck_at_its_initial_point_starts_again_from_another() {
    for (warmup, ball) in [
        (WarmupKind::Fisher, 0.0),
        (WarmupKind::Stan, 0.0),
        (WarmupKind::Fisher, 0.01),
    ] {
        let released = std::sync::Arc::new(AtomicBool::new(false));
        let s = SamplerSettings {
            warmup,
            num_chains: 1,
            ..settings(300, 1000, 4)
        };
        // The trap holds for the first 20 iterations, as a point far out would.
        let result = run_watched(
            &s,
            |_| TrappedStart {
                first: None,
                ball,
                released: released.clone(),
            },
            |draw| {
                if draw.iteration == 19 {
                    released.store(true, Ordering::Relaxed);
                }
            },
        );
        let chain = &result.chains[0];
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert_eq!(
            adaptation.extensions,
            [WarmupExtension {
                iterations: 20,
                reason: ExtensionReason::Stuck
            }],
            "{warmup:?}, ball {ball}"
        );
        assert_eq!(adaptation.extra_warmup, 20);
        assert_eq!(result.streamed_draws, 300 + 20 + 1000);
        let first = &chain.draws[0].position;
        if ball == 0.0 {
            // The first 20 iterations stayed at the first initial point.
            assert!(chain.draws[..20].iter().all(|d| &d.position == first));
        } else {
            // They moved, and each diverged.
            assert!(chain.draws[..20].iter().all(|d| d.stats.divergent));
            assert!(chain.draws[..20].iter().any(|d| &d.position != first));
        }
        // The chain's recorded initial point is the new one.
        assert!(chain.draws[20].is_warmup);
        let distance: f64 = chain
            .init
            .iter()
            .zip(first)
            .map(|(x, f)| (x - f) * (x - f))
            .sum::<f64>()
            .sqrt();
        assert!(distance > 0.01, "{warmup:?}, ball {ball}: {:?}", chain.init);
        check_moments(&result.chains, &[1.0; 3], 4.0);
    }
}

/// A chain that ends warmup where it cannot move (here: one warmup iteration, after
/// which dual averaging proposes a step size of about 14 on a standard normal, where every
/// leapfrog step explodes) gets more warmup instead of diverging on every draw: a step
/// size searched from where it stands and averaged again, for both strategies.
#[test]
fn a_chain_that_cannot_move_when_warmup_ends_gets_more_warmup() {
    for warmup in [WarmupKind::Stan, WarmupKind::Fisher] {
        let s = SamplerSettings {
            warmup,
            ..settings(1, 1000, 3)
        };
        let result = run(&s, |_| Gaussian::standard(2));
        assert_eq!(result.warmup_done_events, 4);
        let extra: usize = result
            .chains
            .iter()
            .map(|c| c.adaptation.as_ref().expect("warmup finished").extra_warmup)
            .sum();
        assert_eq!(result.streamed_draws, 4 * (1 + 1000) + extra);
        check_moments(&result.chains, &[1.0, 1.0], 4.0);
        for chain in &result.chains {
            let adaptation = chain.adaptation.as_ref().expect("warmup finished");
            assert!(adaptation.extra_warmup >= 50, "{warmup:?}: not extended");
            assert!(
                (0.3..3.0).contains(&adaptation.step_size),
                "{warmup:?}: step size {}",
                adaptation.step_size
            );
            let sampling: Vec<_> = chain.draws.iter().filter(|d| !d.is_warmup).collect();
            assert_eq!(sampling.len(), 1000);
            assert_eq!(
                chain.draws.iter().filter(|d| d.is_warmup).count(),
                1 + adaptation.extra_warmup
            );
            let divergent = sampling.iter().filter(|d| d.stats.divergent).count();
            assert!(divergent < 10, "{warmup:?}: {divergent} divergent draws");
        }
    }
}

/// The gradient-based warmup with a short warmup, as `rlc run --adaptation fisher`.
fn fisher(warmup: usize, draws: usize, seed: u64) -> SamplerSettings {
    SamplerSettings {
        warmup: WarmupKind::Fisher,
        ..settings(warmup, draws, seed)
    }
}

#[test]
fn fisher_warmup_finds_the_exact_metric_of_a_badly_scaled_gaussian() {
    let sds = [0.01, 0.1, 1.0, 10.0, 100.0];
    let result = run(&fisher(300, 1000, 4), |_| Gaussian::diagonal(&sds));
    assert_eq!(result.warmup_done_events, 4);
    check_moments(&result.chains, &sds, 4.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        // For a Gaussian, var(draws) / var(gradients) is the variance squared whatever
        // the draws: the metric is exact, where Stan's is off by 10-40%.
        for (v, sd) in adaptation.inv_mass_matrix.iter().zip(&sds) {
            let ratio = v / (sd * sd);
            assert!((ratio - 1.0).abs() < 1e-9, "inverse mass {v} for sd {sd}");
        }
        assert!((0.4..2.0).contains(&adaptation.step_size));
        assert!(chain.warmup_grad_evals > 0 && chain.warmup_grad_evals < chain.grad_evals);
        for d in chain.draws.iter().filter(|d| !d.is_warmup) {
            assert!(!d.stats.divergent);
        }
    }
}

#[test]
fn fisher_warmup_samples_correlated_and_high_dimensional_gaussians() {
    let result = run(&fisher(400, 1000, 3), |_| {
        Gaussian::correlated([1.0, 2.0], 0.9)
    });
    check_moments(&result.chains, &[1.0, 2.0], 4.0);
    let draws = if slow_tests() { 1000 } else { 400 };
    let result = run(&fisher(300, draws, 2), |_| Gaussian::standard(100));
    check_moments(&result.chains, &[1.0; 100], 5.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        for v in &adaptation.inv_mass_matrix {
            assert!((v - 1.0).abs() < 1e-9, "inverse mass {v}");
        }
    }
}

#[test]
fn fisher_warmup_on_the_funnel_and_walls_does_not_fail() {
    let result = run(&fisher(300, 300, 5), |_| Funnel::neal(10));
    assert_eq!(result.chains.len(), 4);
    let result = run(&fisher(300, 300, 6), |_| Walled { dim: 3, wall: 1.5 });
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert!(adaptation
            .inv_mass_matrix
            .iter()
            .all(|v| v.is_finite() && *v > 0.0));
    }
    // Warmups too short for any window still run.
    for warmup in [1, 2, 5] {
        let result = run(&fisher(warmup, 20, 8), |_| Gaussian::standard(2));
        assert!(result.chains.iter().all(|c| c.adaptation.is_some()));
    }
}

/// A chain that starts where the gradient is 1e8 first gets a metric of about 1e-8 from
/// its gradients there. At a target acceptance of 0.99 dual averaging raises the step
/// size too slowly to make up for it, and the chain crept for good (each chain's mean
/// stayed 8-10 units short of the target's with all 5 seeds) until the warmup searched
/// for the step size again whenever the metric shrinks tenfold.
#[test]
fn fisher_warmup_reaches_the_target_from_where_the_gradient_is_huge() {
    for seed in 1..4 {
        let settings = SamplerSettings {
            warmup: WarmupKind::Fisher,
            target_accept: 0.99,
            ..settings(400, 200, seed)
        };
        let result = run(&settings, |_| FarAway {
            dim: 5,
            center: 20.0,
        });
        for chain in &result.chains {
            let m = mean(&coordinate(std::slice::from_ref(chain), 0)[0]);
            assert!(
                (m - 20.0).abs() < 0.5,
                "seed {seed}, chain {}: mean {m}, not about 20",
                chain.chain
            );
        }
    }
}

#[test]
fn fisher_warmup_same_seed_same_draws_whatever_the_threads() {
    let base = fisher(150, 100, 42);
    let one = run(
        &SamplerSettings {
            num_threads: 1,
            ..base.clone()
        },
        |_| Gaussian::correlated([1.0, 3.0], 0.5),
    );
    let two = run(
        &SamplerSettings {
            num_threads: 2,
            ..base.clone()
        },
        |_| Gaussian::correlated([1.0, 3.0], 0.5),
    );
    assert_eq!(fingerprint(&one.chains), fingerprint(&two.chains));
    // And the strategy matters: Stan's warmup gives other draws.
    let stan = run(&settings(150, 100, 42), |_| {
        Gaussian::correlated([1.0, 3.0], 0.5)
    });
    assert_ne!(fingerprint(&one.chains), fingerprint(&stan.chains));
}

/// The gradient-based warmup with the low-rank correction, as
/// `rlc run --adaptation fisher-lowrank`.
fn fisher_lowrank(warmup: usize, draws: usize, seed: u64) -> SamplerSettings {
    SamplerSettings {
        warmup: WarmupKind::FisherLowRank,
        ..settings(warmup, draws, seed)
    }
}

/// A 20-dimensional Gaussian with one direction (`w`, in the coordinates scaled by the
/// standard deviations `sds`) of variance `rho` relative to the others.
fn planted_case(rho: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dim = 20;
    let sds: Vec<f64> = (0..dim).map(|i| 0.5 + 0.25 * i as f64).collect();
    let norm = (dim as f64).sqrt();
    let w: Vec<f64> = (0..dim)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } / norm)
        .collect();
    // Marginal standard deviations: s_i sqrt(1 + (rho - 1) w_i^2).
    let marginal = sds
        .iter()
        .zip(&w)
        .map(|(s, w)| s * (1.0 + (rho - 1.0) * w * w).sqrt())
        .collect();
    (sds, w, marginal)
}

#[test]
fn fisher_lowrank_finds_the_planted_direction_and_samples_the_right_covariance() {
    let rho = 3000.0;
    let (sds, w, marginal) = planted_case(rho);
    let result = run(&fisher_lowrank(400, 1000, 11), |_| {
        Gaussian::planted(&sds, &w, rho)
    });
    check_moments(&result.chains, &marginal, 4.0);
    // The variance along the planted direction, E[(w . x / s)^2] = rho.
    let along: Vec<Vec<f64>> = result
        .chains
        .iter()
        .map(|c| {
            c.draws
                .iter()
                .filter(|d| !d.is_warmup)
                .map(|d| {
                    let t: f64 = d
                        .position
                        .iter()
                        .zip(&w)
                        .zip(&sds)
                        .map(|((x, w), s)| w * x / s)
                        .sum();
                    t * t
                })
                .collect()
        })
        .collect();
    let (m2, mcse) = mean_and_mcse(&along);
    assert!(
        (m2 - rho).abs() < 4.0 * mcse,
        "variance along w: {m2} ± {mcse}, not {rho}"
    );
    let mut lowrank_leapfrogs = 0;
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        let lr = &adaptation.low_rank;
        assert!(!lr.values.is_empty(), "no low-rank direction");
        // The direction is in the coordinates scaled by sqrt(inv_mass); map it back to
        // the ones scaled by the true standard deviations to compare with `w`.
        let u: Vec<f64> = lr.vectors[0]
            .iter()
            .zip(&adaptation.inv_mass_matrix)
            .zip(&sds)
            .map(|((u, m), s)| u * m.sqrt() / s)
            .collect();
        let norm = u.iter().map(|u| u * u).sum::<f64>().sqrt();
        let cosine = u.iter().zip(&w).map(|(u, w)| u * w).sum::<f64>().abs() / norm;
        assert!(cosine > 0.95, "cosine {cosine}");
        assert!(lr.values[0] > 10.0, "eigenvalue {}", lr.values[0]);
        for d in chain.draws.iter().filter(|d| !d.is_warmup) {
            assert!(!d.stats.divergent);
            lowrank_leapfrogs += u64::from(d.stats.n_leapfrog);
        }
    }
    // The diagonal metric alone needs longer trajectories on this target (1.8 times as
    // many leapfrog steps with this seed).
    let diagonal = run(&fisher(400, 1000, 11), |_| Gaussian::planted(&sds, &w, rho));
    let diagonal_leapfrogs: u64 = diagonal
        .chains
        .iter()
        .flat_map(|c| c.draws.iter().filter(|d| !d.is_warmup))
        .map(|d| u64::from(d.stats.n_leapfrog))
        .sum();
    assert!(
        3 * lowrank_leapfrogs < 2 * diagonal_leapfrogs,
        "low rank {lowrank_leapfrogs} vs diagonal {diagonal_leapfrogs} leapfrog steps"
    );
}

#[test]
fn fisher_lowrank_on_uncorrelated_targets_and_hard_ones() {
    // A badly scaled diagonal Gaussian: the diagonal is exact, nothing to correct.
    let sds = [0.01, 0.1, 1.0, 10.0, 100.0];
    let result = run(&fisher_lowrank(300, 600, 4), |_| Gaussian::diagonal(&sds));
    check_moments(&result.chains, &sds, 4.0);
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert!(
            adaptation.low_rank.values.is_empty(),
            "{:?}",
            adaptation.low_rank.values
        );
    }
    // The funnel and a walled density run to the end with a finite metric.
    let result = run(&fisher_lowrank(300, 300, 5), |_| Funnel::neal(10));
    assert_eq!(result.chains.len(), 4);
    let result = run(&fisher_lowrank(300, 300, 6), |_| Walled {
        dim: 3,
        wall: 1.5,
    });
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert!(adaptation
            .low_rank
            .values
            .iter()
            .all(|v| v.is_finite() && *v > 0.0));
    }
    for warmup in [1, 2, 5, 30] {
        let result = run(&fisher_lowrank(warmup, 20, 8), |_| Gaussian::standard(2));
        assert!(result.chains.iter().all(|c| c.adaptation.is_some()));
    }
}

#[test]
fn fisher_lowrank_same_seed_same_draws_whatever_the_threads() {
    let (sds, w, _) = planted_case(100.0);
    let base = fisher_lowrank(200, 100, 42);
    let make = |_| Gaussian::planted(&sds, &w, 100.0);
    let one = run(
        &SamplerSettings {
            num_threads: 1,
            ..base.clone()
        },
        make,
    );
    let two = run(
        &SamplerSettings {
            num_threads: 2,
            ..base.clone()
        },
        make,
    );
    assert!(one.chains.iter().all(|c| !c
        .adaptation
        .as_ref()
        .expect("adapted")
        .low_rank
        .values
        .is_empty()));
    assert_eq!(fingerprint(&one.chains), fingerprint(&two.chains));
    let diagonal = run(&fisher(200, 100, 42), make);
    assert_ne!(fingerprint(&one.chains), fingerprint(&diagonal.chains));
}

/// A funnel whose neck a chain visits often (`y ~ N(0, 5)`, one `x`) diverges at a step
/// size fit for its mouth. A chain whose last warmup transitions diverge often adapts
/// its step size again at a higher target acceptance rate (`ExtensionReason::Diverged`)
/// and then diverges less; chains where that does not happen draw exactly what they drew
/// without the rule.
#[test]
fn a_chain_whose_warmup_ends_diverging_raises_its_target_acceptance() {
    let with_rule = fisher(400, 1000, 3);
    let mut without_rule = with_rule.clone();
    without_rule.fisher_warmup.divergence_share = 1.0;
    let funnel = |_| Funnel { dim: 2, y_sd: 5.0 };
    let (raised, plain) = (run(&with_rule, funnel), run(&without_rule, funnel));
    let divergent = |chain: &ChainRun| {
        chain
            .draws
            .iter()
            .filter(|d| !d.is_warmup && d.stats.divergent)
            .count()
    };
    let mut times_raised = 0;
    for (a, b) in raised.chains.iter().zip(&plain.chains) {
        let adaptation = a.adaptation.as_ref().expect("warmup finished");
        let plain_adaptation = b.adaptation.as_ref().expect("warmup finished");
        assert_eq!(plain_adaptation.target_accept, 0.8);
        let raises = times_extended(&adaptation.extensions, ExtensionReason::Diverged);
        if raises == 0 {
            assert_eq!(adaptation.target_accept, 0.8);
            assert_eq!(
                fingerprint(std::slice::from_ref(a)),
                fingerprint(std::slice::from_ref(b))
            );
            continue;
        }
        times_raised += raises;
        let expected = if raises == 1 { 0.9 } else { 0.95 };
        assert!((adaptation.target_accept - expected).abs() < 1e-12);
        // Each raise adapts the step size for twice the last phase's 60 iterations.
        assert_eq!(adaptation.extra_warmup, 120 * raises);
        assert_eq!(a.draws.iter().filter(|d| !d.is_warmup).count(), 1000);
        assert!(adaptation.step_size < plain_adaptation.step_size);
        // At this seed the first chain diverged on 76 of its draws without the rule.
        assert!(
            2 * divergent(a) < divergent(b),
            "chain {}: {} divergent draws with the rule, {} without",
            a.chain,
            divergent(a),
            divergent(b)
        );
    }
    assert!(times_raised > 0, "no chain raised its target");
}

/// A warmup too short to judge its adaptation (under 20 iterations: a smoke run, a quick
/// look at a model's output) ends where it was asked to. On a funnel, whose short warmups
/// end diverging, at the maximum depth or after a move, no chain adapts again (those
/// rules fired on noise and made a 5-iteration warmup 200 long); only a chain that cannot
/// move at all gets more warmup.
#[test]
fn a_warmup_too_short_to_judge_is_not_adapted_again() {
    for num_warmup in [2, 3, 5, 8, 12, 19] {
        for seed in 1..=3 {
            let result = run(&fisher(num_warmup, 20, seed), |_| Funnel {
                dim: 2,
                y_sd: 5.0,
            });
            for chain in &result.chains {
                let adaptation = chain.adaptation.as_ref().expect("warmup finished");
                assert!(
                    adaptation
                        .extensions
                        .iter()
                        .all(|e| e.reason == ExtensionReason::CouldNotMove),
                    "warmup {num_warmup}, seed {seed}, chain {}: {:?}",
                    chain.chain,
                    adaptation.extensions
                );
                assert_eq!(
                    adaptation.extra_warmup,
                    adaptation
                        .extensions
                        .iter()
                        .map(|e| e.iterations)
                        .sum::<usize>()
                );
            }
        }
    }
}

/// A standard normal whose evaluation is a fault of the model beyond `x > fault`
/// (an index out of range there), and merely outside its domain below `-domain`.
struct FaultBeyond {
    fault: f64,
    domain: f64,
}

impl LogDensity for FaultBeyond {
    type Error = String;
    fn dim(&self) -> usize {
        1
    }
    fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, String> {
        if x[0] > self.fault {
            return Err("index 5 is out of range".to_string());
        }
        if x[0] < -self.domain {
            return Err("outside the domain".to_string());
        }
        grad[0] = -x[0];
        Ok(-0.5 * x[0] * x[0])
    }
    fn is_fault(&self, error: &String) -> bool {
        error.starts_with("index")
    }
}

#[test]
fn a_fault_of_the_model_stops_the_chain_that_meets_it() {
    // Reached by every chain of a standard normal: the chain stops with the fault.
    let s = settings(200, 200, 3);
    let faulty = |_| FaultBeyond {
        fault: 1.0,
        domain: f64::INFINITY,
    };
    for r in sample(&s, faulty, |_| {}, &AtomicBool::new(false)) {
        match r {
            Err(ChainError::ModelFault { message }) => {
                assert_eq!(message, "index 5 is out of range")
            }
            other => panic!("expected the fault, got {:?}", other.map(|c| c.draws.len())),
        }
    }
    // An error that is not a fault, as often met, is a divergence: the chains
    // run to their end.
    let walled = |_| FaultBeyond {
        fault: f64::INFINITY,
        domain: 1.0,
    };
    for r in sample(&s, walled, |_| {}, &AtomicBool::new(false)) {
        let chain = r.expect("no fault");
        assert_eq!(chain.draws.iter().filter(|d| !d.is_warmup).count(), 200);
        assert!(chain.draws.iter().any(|d| d.stats.divergent));
    }
}

/// A standard normal cut off by a cliff at `x[0] = wall`, where the log density falls to
/// -inf: every trajectory that reaches the cliff diverges, at any step size.
struct Cliff {
    wall: f64,
}

impl LogDensity for Cliff {
    type Error = Infallible;
    fn dim(&self) -> usize {
        2
    }
    fn logp_and_grad(&mut self, q: &[f64], grad: &mut [f64]) -> Result<f64, Infallible> {
        grad[0] = -q[0];
        grad[1] = -q[1];
        if q[0] > self.wall {
            return Ok(f64::NEG_INFINITY);
        }
        Ok(-0.5 * (q[0] * q[0] + q[1] * q[1]))
    }
}

/// A chain whose transitions still diverge at the end of warmup after both raises of its
/// target acceptance rate starts its warmup again from a new initial point, once
/// (`ExtensionReason::KeptDiverging`), and then draws as many draws as asked; without the
/// divergence rules (`divergence_share` 1) no chain does.
#[test]
fn a_chain_that_keeps_diverging_after_both_raises_starts_warmup_again_once() {
    let with_rule = fisher(400, 200, 5);
    let cliff = |_| Cliff { wall: 0.2 };
    let result = run(&with_rule, cliff);
    let mut started_again = 0;
    for chain in &result.chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        let again = times_extended(&adaptation.extensions, ExtensionReason::KeptDiverging);
        assert!(again <= 1, "chain {}: {again} restarts", chain.chain);
        if again == 1 {
            started_again += 1;
            let reasons: Vec<ExtensionReason> =
                adaptation.extensions.iter().map(|e| e.reason).collect();
            let at = reasons
                .iter()
                .position(|r| *r == ExtensionReason::KeptDiverging)
                .expect("the restart");
            // Both raises came first; the new warmup raises no more.
            assert_eq!(
                reasons[..at]
                    .iter()
                    .filter(|r| **r == ExtensionReason::Diverged)
                    .count(),
                2
            );
            assert!(!reasons[at..].contains(&ExtensionReason::Diverged));
            assert_eq!(adaptation.extensions[at].iterations, 400);
            // A fresh warmup's target: the raises are gone with it.
            assert_eq!(adaptation.target_accept, 0.8);
        }
        assert_eq!(chain.draws.iter().filter(|d| !d.is_warmup).count(), 200);
    }
    assert!(started_again > 0, "no chain started its warmup again");
    let mut without_rules = with_rule.clone();
    without_rules.fisher_warmup.divergence_share = 1.0;
    for chain in &run(&without_rules, cliff).chains {
        let adaptation = chain.adaptation.as_ref().expect("warmup finished");
        assert_eq!(
            times_extended(&adaptation.extensions, ExtensionReason::KeptDiverging),
            0
        );
    }
}
