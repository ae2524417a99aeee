//! MCMC diagnostics: rank-normalized split R-hat, bulk and tail effective sample sizes,
//! Monte Carlo standard errors, posterior summaries, and the sampler checks (divergences,
//! tree-depth hits, E-BFMI, chains whose log density stays below another's, chains whose
//! step size collapsed).
//!
//! This crate owns the arithmetic of convergence diagnosis as in Vehtari, Gelman, Simpson,
//! Carpenter and Bürkner (2021), computed exactly as ArviZ 0.23 does (`az.rhat(method=
//! "rank")`, `az.ess(method="bulk" | "tail" | "mean")`, `az.mcse(method="mean")`). It knows
//! nothing of the rlc language or of the sampler (it sees plain numbers: one slice of draws
//! per chain), and does no file IO and no printing. Its tests, in `tests/diagnostics.rs`,
//! compare against values ArviZ computed once for the draw sets in `tests/data/` (see the
//! README there); the tests themselves need no Python.
//!
//! Chains are given as any slice of `AsRef<[f64]>` (`&[Vec<f64>]`, `&[&[f64]]`), one entry
//! per chain in draw order. Chains of unequal length (an interrupted run) are cut to the
//! shortest. Statistics that cannot be computed (fewer than 4 draws, a NaN draw) are NaN.
//!
//! The `loo` module adds model assessment from pointwise log-likelihood draws: Pareto
//! smoothed importance sampling ([`psis`]), approximate leave-one-out cross-validation
//! ([`loo`]) with its Pareto k diagnostics, and the comparison of models ([`compare`]), as
//! the R package `loo` documents them and ArviZ computes them (its tests compare against
//! ArviZ too). Those functions return a typed [`LooError`] instead of NaN for unusable input.
//! The `sbc` module tests the ranks of simulation-based calibration for uniformity
//! ([`rank_uniformity`]).

mod loo;
mod normal;
mod ranks;
mod sbc;

pub use loo::{
    compare, compare_pointwise, loo, pareto_k_threshold, psis, psis_tail_length,
    relative_efficiency, stacking_weights, threshold_text, CompareRow, LooError, LooResult,
    ParetoKCounts, Psis, RelativeEfficiency, TailFit,
};
pub use normal::inverse_normal_cdf;
pub use sbc::{chi_square_survival, rank_uniformity, rank_uniformity_clustered, RankTest};

/// Draws as a chains × draws matrix, row-major.
#[derive(Clone, Debug)]
struct Draws {
    chains: usize,
    draws: usize,
    values: Vec<f64>,
}

impl Draws {
    fn new<C: AsRef<[f64]>>(chains: &[C]) -> Self {
        let draws = chains.iter().map(|c| c.as_ref().len()).min().unwrap_or(0);
        let values = chains
            .iter()
            .flat_map(|c| c.as_ref()[..draws].iter().copied())
            .collect();
        Self {
            chains: chains.len(),
            draws,
            values,
        }
    }

    fn chain(&self, i: usize) -> &[f64] {
        &self.values[i * self.draws..(i + 1) * self.draws]
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        Self {
            values: self.values.iter().map(|&v| f(v)).collect(),
            ..*self
        }
    }

    /// Splits each chain into its first and last halves (dropping the middle draw of an
    /// odd-length chain), so that a drift within a chain shows up as disagreement.
    fn split(&self) -> Self {
        let half = self.draws / 2;
        let mut values = Vec::with_capacity(2 * self.chains * half);
        for i in 0..self.chains {
            let chain = self.chain(i);
            values.extend_from_slice(&chain[..half]);
            values.extend_from_slice(&chain[self.draws - half..]);
        }
        Self {
            chains: 2 * self.chains,
            draws: half,
            values,
        }
    }

    /// Replaces each value by the normal quantile of its pooled fractional rank (Blom's
    /// offset 3/8), which makes R-hat and ESS well defined for heavy tails.
    fn rank_normalize(&self) -> Self {
        self.rank_normalized_by(&sorted_order(&self.values))
    }

    /// [`Draws::rank_normalize`], given the values' increasing order.
    fn rank_normalized_by(&self, order: &[usize]) -> Self {
        let ranks = ranks::average_ranks_in_order(&self.values, order);
        let size = self.values.len() as f64;
        let values = ranks
            .into_iter()
            .map(|r| inverse_normal_cdf((r - 0.375) / (size + 0.25)))
            .collect();
        Self { values, ..*self }
    }

    /// Too few draws or a NaN: ArviZ's `_not_valid` with `min_draws=4`.
    fn invalid(&self) -> bool {
        self.draws < 4 || self.chains == 0 || self.values.iter().any(|v| v.is_nan())
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// How far `v` is from `center`: 0 where they are equal, also when both are the same
/// infinity (a quantity that is `-inf` in every draw is a constant, not a NaN).
fn distance(v: f64, center: f64) -> f64 {
    if v == center {
        0.0
    } else {
        (v - center).abs()
    }
}

/// Whether every value equals the first (equal infinities included, NaN never).
fn all_equal(values: &[f64]) -> bool {
    values.iter().all(|v| *v == values[0])
}

/// Sample variance with denominator `n - 1`.
fn sample_variance(values: &[f64]) -> f64 {
    if !values.is_empty() && all_equal(values) {
        return 0.0;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() as f64 - 1.0)
}

/// The classic potential scale reduction factor of the given (already split) chains.
fn basic_rhat(draws: &Draws) -> f64 {
    let n = draws.draws as f64;
    let chain_means: Vec<f64> = (0..draws.chains).map(|i| mean(draws.chain(i))).collect();
    let within = mean(
        &(0..draws.chains)
            .map(|i| sample_variance(draws.chain(i)))
            .collect::<Vec<_>>(),
    );
    let between = n * sample_variance(&chain_means);
    ((between / within + n - 1.0) / n).sqrt()
}

/// Effective sample size of the given (already split) chains: Geyer's initial monotone
/// sequence over the multi-chain autocorrelation, exactly as ArviZ's `_ess`.
///
/// ArviZ computes every autocovariance by FFT; here each lag is summed directly, and only
/// the lags Geyer's truncation reaches are computed, which agrees to rounding error.
fn basic_ess(draws: &Draws) -> f64 {
    if draws.invalid_for_ess() {
        return f64::NAN;
    }
    let size = draws.values.len() as f64;
    let (min, max) = draws
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // A constant sequence: numpy's float resolution, as ArviZ (or one infinity throughout).
    if max - min < 1e-15 || max == min {
        return size;
    }
    let chains = draws.chains;
    let n = draws.draws;
    let nf = n as f64;
    let chain_means: Vec<f64> = (0..chains).map(|i| mean(draws.chain(i))).collect();
    let centered: Vec<Vec<f64>> = (0..chains)
        .map(|i| draws.chain(i).iter().map(|v| v - chain_means[i]).collect())
        .collect();
    // The "biased" autocovariance (divided by n at every lag), averaged over chains.
    let mean_acov = |lag: usize| -> f64 {
        centered
            .iter()
            .map(|x| {
                x[..n - lag]
                    .iter()
                    .zip(&x[lag..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / nf
            })
            .sum::<f64>()
            / chains as f64
    };

    let mean_var = mean_acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if chains > 1 {
        var_plus += sample_variance(&chain_means);
    }
    let autocorrelation = |lag: usize| 1.0 - (mean_var - mean_acov(lag)) / var_plus;

    let mut rho = vec![0.0; n];
    let mut rho_even = 1.0;
    rho[0] = rho_even;
    let mut rho_odd = autocorrelation(1);
    rho[1] = rho_odd;

    // Geyer's initial positive sequence: sum pairs of lags while their sum is positive.
    let mut t = 1;
    while t + 3 < n && rho_even + rho_odd > 0.0 {
        rho_even = autocorrelation(t + 1);
        rho_odd = autocorrelation(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho[t + 1] = rho_even;
            rho[t + 2] = rho_odd;
        }
        t += 2;
    }
    // `max_t` is -1 when no pair was added (ArviZ's Python indexing then still works).
    let max_t = t as i64 - 2;
    let after_last = (max_t + 1) as usize;
    if rho_even > 0.0 {
        rho[after_last] = rho_even;
    }
    // Geyer's initial monotone sequence: pair sums may not increase.
    let mut t = 1;
    while (t as i64) <= max_t - 2 {
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t] {
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0;
            rho[t + 2] = rho[t + 1];
        }
        t += 2;
    }

    let tau = -1.0 + 2.0 * rho[..after_last].iter().sum::<f64>() + rho[after_last];
    // Caps the ESS at size * log10(size) for antithetic chains.
    let tau = tau.max(1.0 / size.log10());
    let ess = size / tau;
    if rho.iter().any(|r| r.is_nan()) {
        f64::NAN
    } else {
        ess
    }
}

impl Draws {
    fn invalid_for_ess(&self) -> bool {
        self.draws < 2 || self.values.iter().any(|v| v.is_nan())
    }
}

/// Rank-normalized split R-hat: the larger of the bulk R-hat (of rank-normalized split
/// chains) and the tail R-hat (of the same after folding around the median), as ArviZ's
/// `rhat(method="rank")`.
///
/// Unlike ArviZ, which returns NaN for a single chain, one chain is split in two and
/// diagnosed like two, as Stan's `posterior` package does.
pub fn rhat<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    rank_normalized_and_rhat(&draws.split()).1
}

/// The rank-normalized split chains and the rank-normalized split R-hat (the larger of
/// the bulk one and the one after folding around the median), sorting the draws once:
/// the folded order is merged from the sorted one.
fn rank_normalized_and_rhat(split: &Draws) -> (Draws, f64) {
    let order = sorted_order(&split.values);
    let bulk = split.rank_normalized_by(&order);
    let center = median_of_sorted(&order, &split.values);
    let folded = split.map(|v| distance(v, center));
    let tail = basic_rhat(&folded.rank_normalized_by(&folded_order(&order, &split.values, center)));
    let rhat = basic_rhat(&bulk).max(tail);
    (bulk, rhat)
}

/// Bulk effective sample size: the ESS of the rank-normalized split chains.
pub fn ess_bulk<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    basic_ess(&draws.split().rank_normalize())
}

/// Tail effective sample size: the smaller ESS of the indicators of being below the 5%
/// and the 95% quantile.
pub fn ess_tail<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    ess_quantile(&draws, 0.05).min(ess_quantile(&draws, 0.95))
}

fn ess_quantile(draws: &Draws, prob: f64) -> f64 {
    ess_below(draws, quantile_mquantiles(&draws.values, prob))
}

/// The ESS of the indicator of a draw being at most `threshold`.
fn ess_below(draws: &Draws, threshold: f64) -> f64 {
    let indicator = draws.map(|v| if v <= threshold { 1.0 } else { 0.0 });
    basic_ess(&indicator.split())
}

/// Effective sample size for the mean: the ESS of the split chains, not rank-normalized.
pub fn ess_mean<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    basic_ess(&draws.split())
}

/// Monte Carlo standard error of the mean: `sd / sqrt(ess_mean)`.
pub fn mcse_mean<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    sample_variance(&draws.values).sqrt() / basic_ess(&draws.split()).sqrt()
}

/// Monte Carlo standard error of the standard deviation (ArviZ's `mcse(method="sd")`):
/// by the delta method from the variance of the squared deviations `d = (x - mean)^2`,
/// `sqrt((mean(d^2) - mean(d)^2) / ess_mean(d) / (4 mean(d)))`. Unlike the mean's, it
/// grows with the kurtosis: a heavy tail leaves the sd uncertain long after the mean is
/// pinned down.
pub fn mcse_sd<C: AsRef<[f64]>>(chains: &[C]) -> f64 {
    let draws = Draws::new(chains);
    if draws.invalid() {
        return f64::NAN;
    }
    let center = mean(&draws.values);
    let squares = draws.map(|v| (v - center) * (v - center));
    let variance = mean(&squares.values);
    let fourth = mean(&squares.map(|d| d * d).values);
    let ess = basic_ess(&squares.split());
    ((fourth - variance * variance) / ess / (4.0 * variance)).sqrt()
}

/// The `prob` quantile of `values` by linear interpolation between order statistics
/// (numpy's default, R's type 7). NaN for an empty slice.
pub fn quantile(values: &[f64], prob: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, prob)
}

fn quantile_sorted(sorted: &[f64], prob: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * prob.clamp(0.0, 1.0);
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's `_lerp`, which interpolates from the nearer end; between equal values (equal
    // infinities too) the value itself.
    if a == b {
        a
    } else if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// scipy's `mquantiles(alphap=1, betap=1)`, which ArviZ uses for the tail-ESS thresholds;
/// it is type 7 too, but rounds differently from numpy, which matters for ties.
fn quantile_mquantiles(values: &[f64], prob: f64) -> f64 {
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    mquantile_of_sorted(&x, prob)
}

/// [`quantile_mquantiles`] of values already sorted increasingly.
fn mquantile_of_sorted(x: &[f64], prob: f64) -> f64 {
    let n = x.len();
    if n == 1 {
        return x[0];
    }
    let nf = n as f64;
    // scipy's `m = alphap + p * (1 - alphap - betap)` with alphap = betap = 1.
    let m = 1.0 - prob;
    let aleph = nf * prob + m;
    let k = aleph.clamp(1.0, nf - 1.0).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    if x[k - 1] == x[k] {
        return x[k];
    }
    (1.0 - gamma) * x[k - 1] + gamma * x[k]
}

/// The median (the mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_sorted(&sorted)
}

fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        // numpy's `median` averages the middle pair as `(a + b) / 2`, which can differ in
        // the last bit from interpolating; the folded R-hat depends on which values tie.
        _ if n.is_multiple_of(2) => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        _ => sorted[n / 2],
    }
}

/// The median absolute deviation from the median, scaled by 1.4826 so that it estimates
/// the standard deviation of a normal distribution, as Stan's `posterior::mad` and
/// CmdStan's `stansummary` report it.
pub fn mad(values: &[f64]) -> f64 {
    let center = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| distance(*v, center)).collect();
    1.4826 * median(&deviations)
}

/// Energy Bayesian fraction of missing information of one chain (Stan's formula):
/// `sum((E[i] - E[i-1])^2) / sum((E[i] - mean(E))^2)`. Below 0.3 suggests the momentum
/// resampling cannot move the chain across energy levels efficiently.
pub fn e_bfmi(energy: &[f64]) -> f64 {
    if energy.len() < 2 {
        return f64::NAN;
    }
    let numerator: f64 = energy.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let m = mean(energy);
    let denominator: f64 = energy.iter().map(|e| (e - m).powi(2)).sum();
    numerator / denominator
}

/// Chains whose log density stays below another chain's ([`chains_below`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainsBelow {
    /// The chain with the highest median log density.
    pub highest: usize,
    /// The chains whose log density stays below it, in order.
    pub below: Vec<usize>,
}

/// The chains whose log density (`lp__`, one slice per chain) stays below that of the chain
/// with the highest median throughout: the chain's 90% quantile is under that chain's 10%
/// quantile. Chains that sample one distribution overlap far more than that, so such chains
/// sample another region: a minor mode a chain started near and cannot leave, or one it
/// has not yet left. Chains with fewer than 10 finite values are not judged. `None` when
/// no chain is below.
pub fn chains_below<C: AsRef<[f64]>>(log_density: &[C]) -> Option<ChainsBelow> {
    let sorted: Vec<Option<Vec<f64>>> = log_density
        .iter()
        .map(|c| {
            let mut v: Vec<f64> = c
                .as_ref()
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            (v.len() >= 10).then_some(v)
        })
        .collect();
    let (highest, top) = sorted
        .iter()
        .enumerate()
        .filter_map(|(c, v)| v.as_ref().map(|v| (c, v)))
        .max_by(|(_, a), (_, b)| median_sorted(a).total_cmp(&median_sorted(b)))?;
    let floor = quantile_sorted(top, 0.1);
    let below: Vec<usize> = sorted
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_ref().is_some_and(|v| quantile_sorted(v, 0.9) < floor))
        .map(|(c, _)| c)
        .collect();
    (!below.is_empty()).then_some(ChainsBelow { highest, below })
}

/// How many times smaller than the other chains' median step size a chain's must be for
/// [`collapsed_step_sizes`] to report it. Chains of one posterior adapt step sizes within
/// a factor of about 4 of each other (10 at most in 185 runs of rlc's tests and hBayesDM's
/// ports); the chains of `hgf_ibrb_single` that stayed stuck had 50 to 16,000.
pub const STEP_SIZE_COLLAPSE: f64 = 20.0;

/// A chain whose adapted step size is far below the other chains' ([`collapsed_step_sizes`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CollapsedStepSize {
    pub chain: usize,
    pub step_size: f64,
    /// The median of the other chains' step sizes.
    pub others: f64,
}

/// The chains whose step size (one per chain, as warmup left it) is more than
/// [`STEP_SIZE_COLLAPSE`] times smaller than the median of the other chains'. Such a chain
/// ended its warmup where no step is short enough (a funnel's neck, a cliff where the
/// density falls off): its transitions kept diverging and the step-size adaptation drove
/// the step down, and with it the chain may stay where it is. A step size that is not
/// finite and positive is not judged, nor is a run with fewer than two that are.
pub fn collapsed_step_sizes(step_sizes: &[f64]) -> Vec<CollapsedStepSize> {
    let judged: Vec<(usize, f64)> = step_sizes
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| s.is_finite() && *s > 0.0)
        .collect();
    if judged.len() < 2 {
        return Vec::new();
    }
    judged
        .iter()
        .filter_map(|&(chain, step_size)| {
            let others: Vec<f64> = judged
                .iter()
                .filter(|(c, _)| *c != chain)
                .map(|(_, s)| *s)
                .collect();
            let others = median(&others);
            (others > STEP_SIZE_COLLAPSE * step_size).then_some(CollapsedStepSize {
                chain,
                step_size,
                others,
            })
        })
        .collect()
}

/// How many draws diverged.
pub fn divergences(divergent: &[bool]) -> usize {
    divergent.iter().filter(|d| **d).count()
}

/// How many draws stopped at the maximum tree depth (their trajectories were cut short).
pub fn max_tree_depth_hits(tree_depths: &[u32], max_depth: u32) -> usize {
    tree_depths.iter().filter(|d| **d >= max_depth).count()
}

/// One row of a posterior summary, with stansummary's columns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Mean over all chains.
    pub mean: f64,
    /// Monte Carlo standard error of the mean ([`mcse_mean`]).
    pub mcse_mean: f64,
    /// Standard deviation over all chains (denominator `n - 1`).
    pub sd: f64,
    /// Scaled median absolute deviation ([`mad`]).
    pub mad: f64,
    /// 5% quantile.
    pub q5: f64,
    /// Median.
    pub q50: f64,
    /// 95% quantile.
    pub q95: f64,
    /// Bulk effective sample size ([`ess_bulk`]).
    pub ess_bulk: f64,
    /// Tail effective sample size ([`ess_tail`]).
    pub ess_tail: f64,
    /// Rank-normalized split R-hat ([`rhat`]).
    pub rhat: f64,
}

/// Summarizes one scalar quantity from its draws, one slice per chain.
///
/// Every field equals what its own function ([`mcse_mean`], [`mad`], [`ess_bulk`],
/// [`ess_tail`], [`rhat`], [`quantile`]) returns, bit for bit, but the draws are sorted
/// once and the rank-normalized split chains are shared by the bulk ESS and R-hat: a run's
/// summary sorts each quantity's draws twice (all of them, and the split chains) instead
/// of nine times.
pub fn summarize<C: AsRef<[f64]>>(chains: &[C]) -> Summary {
    let draws = Draws::new(chains);
    let all = &draws.values;
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let split = draws.split();
    let diagnosable = !draws.invalid();
    let (ess_bulk, rhat) = if diagnosable {
        let (bulk, rhat) = rank_normalized_and_rhat(&split);
        (basic_ess(&bulk), rhat)
    } else {
        (f64::NAN, f64::NAN)
    };
    let ess_tail = if diagnosable {
        let below = |prob| ess_below(&draws, mquantile_of_sorted(&sorted, prob));
        below(0.05).min(below(0.95))
    } else {
        f64::NAN
    };
    let mcse_mean = if diagnosable {
        sample_variance(all).sqrt() / basic_ess(&split).sqrt()
    } else {
        f64::NAN
    };
    Summary {
        mean: if all.is_empty() { f64::NAN } else { mean(all) },
        mcse_mean,
        sd: if all.len() < 2 {
            f64::NAN
        } else {
            sample_variance(all).sqrt()
        },
        mad: mad_of_sorted(&sorted),
        q5: quantile_sorted(&sorted, 0.05),
        q50: quantile_sorted(&sorted, 0.5),
        q95: quantile_sorted(&sorted, 0.95),
        ess_bulk,
        ess_tail,
        rhat,
    }
}

/// The positions of `values` in increasing order (`total_cmp`).
fn sorted_order(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order
}

/// [`median`] of `values`, given their increasing order.
fn median_of_sorted(order: &[usize], values: &[f64]) -> f64 {
    let n = order.len();
    match n {
        0 => f64::NAN,
        _ if n.is_multiple_of(2) => (values[order[n / 2 - 1]] + values[order[n / 2]]) / 2.0,
        _ => values[order[n / 2]],
    }
}

/// The increasing order of `|values - center|`, from the increasing order of `values`:
/// the values below `center` read backwards and those above it read forwards are two
/// increasing runs of deviations, merged here without another sort.
fn folded_order(order: &[usize], values: &[f64], center: f64) -> Vec<usize> {
    let deviation = |i: usize| distance(values[i], center);
    let split_at = order.partition_point(|&i| values[i] < center);
    let mut below = order[..split_at].iter().rev().copied().peekable();
    let mut above = order[split_at..].iter().copied().peekable();
    let mut merged = Vec::with_capacity(order.len());
    loop {
        let next = match (below.peek(), above.peek()) {
            (Some(&b), Some(&a)) => {
                if deviation(b).total_cmp(&deviation(a)).is_le() {
                    below.next()
                } else {
                    above.next()
                }
            }
            (Some(_), None) => below.next(),
            (None, Some(_)) => above.next(),
            (None, None) => break,
        };
        merged.extend(next);
    }
    merged
}

/// [`mad`] of values already sorted increasingly.
fn mad_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    // NaN sorts to either end (by its sign), where the runs below and above the median
    // are no longer in order.
    if sorted.iter().any(|v| v.is_nan()) {
        return mad(sorted);
    }
    let center = median_sorted(sorted);
    let deviations: Vec<f64> = sorted.iter().map(|v| distance(*v, center)).collect();
    let order = folded_order(&(0..n).collect::<Vec<_>>(), sorted, center);
    let middle = |k: usize| deviations[order[k]];
    1.4826
        * if n.is_multiple_of(2) {
            (middle(n / 2 - 1) + middle(n / 2)) / 2.0
        } else {
            middle(n / 2)
        }
}
