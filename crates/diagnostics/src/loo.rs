//! Pareto smoothed importance sampling (PSIS), approximate leave-one-out cross-validation
//! (PSIS-LOO) and the comparison of models by their expected log predictive density.
//!
//! The method is that of Vehtari, Gelman and Gabry (2017, "Practical Bayesian model
//! evaluation using leave-one-out cross-validation and WAIC") and Vehtari, Simpson,
//! Gelman, Yao and Gabry (2024, "Pareto smoothed importance sampling", JMLR 25(72)), as
//! documented by the R package `loo` (2.10) and computed by ArviZ 0.23 (`az.psislw`,
//! `az.loo`, `az.compare`):
//!
//! * For observation `i` the log importance ratios of the `S` posterior draws are
//!   `-log p(y_i | θ_s)`. The `M = ceil(min(S / 5, 3 sqrt(S / r_eff)))` largest are fitted
//!   by a generalized Pareto distribution (Zhang and Stephens 2009, with the weakly
//!   informative prior that pulls k̂ toward 0.5 with the weight of 10 observations),
//!   replaced by the fitted distribution's expected order statistics, and truncated at the
//!   largest raw ratio. k̂ is the fit's shape: the reliability diagnostic.
//! * `elpd_loo_i = log Σ_s w_is p(y_i | θ_s)` with the normalized smoothed weights, and
//!   `p_loo_i = lpd_i − elpd_loo_i`, where `lpd_i = log mean_s p(y_i | θ_s)`.
//!
//! Where `loo` and ArviZ differ, this module does as follows (so that it agrees with ArviZ
//! wherever ArviZ is defined, and with `loo` on the cases ArviZ leaves undefined):
//!
//! * Standard errors use the variance with denominator `N`, as ArviZ: `se = sqrt(N ·
//!   var(elpd_loo_i))`. `loo` divides by `N − 1`, so its standard errors (and `se_diff`)
//!   are larger by the factor `sqrt(N / (N − 1))`.
//! * `elpd_diff` in [`compare`] is `loo_compare`'s: each model's elpd_loo minus the best
//!   one's, so it is zero for the best model and negative for the others. ArviZ reports the
//!   same magnitudes with the opposite sign.
//! * The tail is the draws whose ratio is strictly above the `(M + 1)`-th largest and above
//!   the smallest normal double (ArviZ); `loo` takes the top `M` by sort position. They
//!   differ only when ratios tie at the cutoff.
//! * When fewer than 5 draws are in the tail, when the tail's ratios are all equal, or when
//!   the fit fails, the ratios are left unsmoothed and k̂ is `+∞`, as in `loo`; the reason
//!   is kept per observation ([`TailFit`]) and explained by [`LooResult::warning`].
//! * The log weights returned are normalized (their exponentials sum to one), as ArviZ's
//!   `psislw(normalize=True)`; `loo` returns them unnormalized.
//! * A log-likelihood that is NaN or infinite is an error ([`LooError`]) rather than a NaN
//!   result: a draw under which an observation is impossible (`-∞`) would have an infinite
//!   importance ratio, which no smoothing can make into a usable estimate.

use std::fmt;

/// Fewer tail draws than this and the generalized Pareto distribution is not fitted (`loo`'s
/// `min_len`).
const MIN_TAIL_DRAWS: usize = 5;

/// Grid points of the Zhang–Stephens estimator beyond `sqrt(n)` (`loo`'s `min_grid_pts`).
const MIN_GRID_POINTS: usize = 30;

/// The weakly informative prior on k̂: a Gaussian centered at 0.5 worth this many
/// observations (Vehtari et al. 2024, appendix).
const PRIOR_K_CENTER: f64 = 0.5;
const PRIOR_K_WEIGHT: f64 = 10.0;

/// Why PSIS, LOO or a comparison could not be computed.
#[derive(Clone, Debug, PartialEq)]
pub enum LooError {
    /// The log-likelihood matrix, or the vector of log ratios, has no draws.
    NoDraws,
    /// The log-likelihood matrix has no observations (its draws are empty rows).
    NoObservations,
    /// The draws (rows) of the log-likelihood matrix differ in length.
    RaggedDraws {
        /// Index of the first draw whose length differs from the first draw's.
        draw: usize,
        /// Number of observations in the first draw.
        expected: usize,
        /// Number of observations in this draw.
        found: usize,
    },
    /// A log-likelihood value is NaN or infinite.
    NonFiniteLogLikelihood {
        /// Index of the draw (row, from 0; messages count from 1).
        draw: usize,
        /// Index of the observation (column, from 0; messages count from 1).
        observation: usize,
        /// The offending value.
        value: f64,
    },
    /// A log importance ratio is NaN or `+∞` (`-∞`, a zero ratio, is allowed).
    NonFiniteLogRatio {
        /// Index of the draw.
        draw: usize,
        /// The offending value.
        value: f64,
    },
    /// Every log importance ratio is `-∞`, so there is no weight to normalize.
    NoPositiveRatio,
    /// [`RelativeEfficiency::PerObservation`] does not have one value per observation.
    RelativeEfficiencyCount {
        /// Number of observations.
        expected: usize,
        /// Number of relative efficiencies given.
        found: usize,
    },
    /// A relative efficiency is not a positive finite number.
    InvalidRelativeEfficiency {
        /// The observation it belongs to, when given per observation.
        observation: Option<usize>,
        /// The offending value.
        value: f64,
    },
    /// The draws cannot be split into the given number of equally long chains.
    UnevenChains {
        /// Number of draws.
        draws: usize,
        /// Number of chains asked for.
        chains: usize,
    },
    /// Chains too short for an effective sample size (at least 4 draws each).
    TooFewDrawsPerChain {
        /// Draws in each chain.
        draws_per_chain: usize,
    },
    /// Models compared on different numbers of observations.
    ObservationCountMismatch {
        /// The model whose count differs from the first model's.
        model: String,
        /// Observations of the first model.
        expected: usize,
        /// Observations of this model.
        found: usize,
    },
}

impl fmt::Display for LooError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDraws => write!(f, "there are no draws"),
            Self::NoObservations => write!(f, "the log-likelihood has no observations"),
            Self::RaggedDraws {
                draw,
                expected,
                found,
            } => write!(
                f,
                "draw {} has {found} log-likelihood values, but draw 1 has {expected}",
                draw + 1
            ),
            Self::NonFiniteLogLikelihood {
                draw,
                observation,
                value,
            } => write!(
                f,
                "the log-likelihood of observation {} (`log_lik.{}`) in draw {} is {value}; \
                 leave-one-out needs finite values (a draw under which an observation is \
                 impossible cannot come from the posterior given that observation)",
                observation + 1,
                observation + 1,
                draw + 1
            ),
            Self::NonFiniteLogRatio { draw, value } => write!(
                f,
                "the log importance ratio of draw {} is {value}; it must be finite or -inf",
                draw + 1
            ),
            Self::NoPositiveRatio => write!(f, "every importance ratio is zero"),
            Self::RelativeEfficiencyCount { expected, found } => write!(
                f,
                "{found} relative efficiencies were given for {expected} observations"
            ),
            Self::InvalidRelativeEfficiency { observation, value } => match observation {
                Some(i) => write!(
                    f,
                    "the relative efficiency of observation {} is {value}; it must be \
                     positive and finite",
                    i + 1
                ),
                None => write!(
                    f,
                    "the relative efficiency is {value}; it must be positive and finite"
                ),
            },
            Self::UnevenChains { draws, chains } => {
                write!(
                    f,
                    "{draws} draws cannot be split into {chains} equal chains"
                )
            }
            Self::TooFewDrawsPerChain { draws_per_chain } => write!(
                f,
                "chains of {draws_per_chain} draws are too short for an effective sample \
                 size (at least 4 are needed)"
            ),
            Self::ObservationCountMismatch {
                model,
                expected,
                found,
            } => write!(
                f,
                "model `{model}` has {found} observations but the first model has \
                 {expected}; models can only be compared on the same observations"
            ),
        }
    }
}

impl std::error::Error for LooError {}

/// The relative efficiency `r_eff` of the draws for each observation: the MCMC effective
/// sample size of the likelihood `p(y_i | θ)` divided by the number of draws. It sets the
/// tail length (fewer effective draws, longer tail) and scales the PSIS effective sample
/// size.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum RelativeEfficiency {
    /// `r_eff = 1`, as for independent draws: the default of `loo::psis` and of
    /// `az.psislw`, and what `az.loo` uses for a single chain.
    #[default]
    Independent,
    /// One value for every observation. ArviZ's `az.loo` uses by default the mean over all
    /// posterior parameters of their ESS for the mean ([`crate::ess_mean`]) divided by the
    /// number of draws.
    Common(f64),
    /// One value per observation, e.g. from [`relative_efficiency`] (`loo::relative_eff`).
    PerObservation(Vec<f64>),
}

impl RelativeEfficiency {
    fn for_observations(&self, observations: usize) -> Result<Vec<f64>, LooError> {
        let values = match self {
            Self::Independent => vec![1.0; observations],
            Self::Common(r) => {
                check_relative_efficiency(*r, None)?;
                vec![*r; observations]
            }
            Self::PerObservation(values) => {
                if values.len() != observations {
                    return Err(LooError::RelativeEfficiencyCount {
                        expected: observations,
                        found: values.len(),
                    });
                }
                for (i, r) in values.iter().enumerate() {
                    check_relative_efficiency(*r, Some(i))?;
                }
                values.clone()
            }
        };
        Ok(values)
    }
}

fn check_relative_efficiency(value: f64, observation: Option<usize>) -> Result<(), LooError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LooError::InvalidRelativeEfficiency { observation, value })
    }
}

/// What happened to the tail of one vector of importance ratios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailFit {
    /// The generalized Pareto distribution was fitted and the tail smoothed.
    Smoothed,
    /// Fewer than 5 draws lie strictly above the cutoff (too few draws, or ratios tied at
    /// the cutoff): nothing was fitted and k̂ is `+∞`.
    TooFewTailDraws {
        /// Draws strictly above the cutoff (0 when the tail length itself is below 5).
        tail_draws: usize,
    },
    /// The largest ratios are all equal (for instance a log-likelihood that is the same in
    /// every draw): nothing was fitted and k̂ is `+∞`. The weights of equal ratios are equal,
    /// so the estimate itself is then exact.
    ConstantTail,
    /// The Zhang–Stephens estimate was not a number: nothing was smoothed and k̂ is `+∞`.
    FitFailed,
}

/// Pareto smoothed importance weights of one vector of importance ratios.
#[derive(Clone, Debug, PartialEq)]
pub struct Psis {
    /// Smoothed, truncated and normalized log weights, one per draw in the input's order;
    /// their exponentials sum to one.
    pub log_weights: Vec<f64>,
    /// Estimated shape k̂ of the generalized Pareto distribution fitted to the tail, after
    /// the weakly informative prior; `+∞` when no fit was made (see [`Psis::tail_fit`]).
    pub pareto_k: f64,
    /// The tail length `M = ceil(min(S / 5, 3 sqrt(S / r_eff)))` asked for.
    pub tail_length: usize,
    /// Whether the tail was smoothed, and if not why.
    pub tail_fit: TailFit,
    /// PSIS effective sample size `r_eff / Σ w_s²` (`loo`'s `n_eff`); over-optimistic when
    /// k̂ is above the threshold.
    pub effective_sample_size: f64,
}

/// The tail length used for `draws` draws of relative efficiency `r_eff`:
/// `ceil(min(S / 5, 3 sqrt(S / r_eff)))`.
pub fn psis_tail_length(draws: usize, r_eff: f64) -> usize {
    let s = draws as f64;
    // `s / 5.0` rather than `0.2 * s`: the product can round just above an integer and
    // lengthen the tail by one where loo and ArviZ do not.
    (s / 5.0).min(3.0 * (s / r_eff).sqrt()).ceil() as usize
}

/// The sample-size dependent threshold on k̂ of Vehtari et al. (2024):
/// `min(1 − 1 / log10(S), 0.7)`. Above it the PSIS estimate is unreliable.
pub fn pareto_k_threshold(draws: usize) -> f64 {
    (1.0 - 1.0 / (draws as f64).log10()).min(0.7)
}

/// Pareto smoothed importance sampling of one vector of log importance ratios (one per
/// draw), with relative efficiency `r_eff` (1 for independent draws).
pub fn psis(log_ratios: &[f64], r_eff: f64) -> Result<Psis, LooError> {
    if log_ratios.is_empty() {
        return Err(LooError::NoDraws);
    }
    check_relative_efficiency(r_eff, None)?;
    if let Some((draw, &value)) = log_ratios
        .iter()
        .enumerate()
        .find(|(_, r)| r.is_nan() || **r == f64::INFINITY)
    {
        return Err(LooError::NonFiniteLogRatio { draw, value });
    }
    if log_ratios.iter().all(|r| *r == f64::NEG_INFINITY) {
        return Err(LooError::NoPositiveRatio);
    }
    Ok(smooth(log_ratios, r_eff))
}

/// PSIS of ratios already checked: none NaN or `+∞`, at least one finite, `r_eff > 0`.
fn smooth(log_ratios: &[f64], r_eff: f64) -> Psis {
    let draws = log_ratios.len();
    let largest = log_ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Shifting so that the largest ratio is 1 keeps the exponentials in range.
    let mut log_weights: Vec<f64> = log_ratios.iter().map(|r| r - largest).collect();
    let tail_length = psis_tail_length(draws, r_eff);
    let (pareto_k, tail_fit) = smooth_tail(&mut log_weights, tail_length);
    // Truncation at the largest raw ratio: a smoothed weight may not exceed it.
    for w in &mut log_weights {
        *w = w.min(0.0);
    }
    let total = log_sum_exp(&log_weights);
    for w in &mut log_weights {
        *w -= total;
    }
    let sum_squares: f64 = log_weights.iter().map(|w| (2.0 * w).exp()).sum();
    Psis {
        log_weights,
        pareto_k,
        tail_length,
        tail_fit,
        effective_sample_size: r_eff / sum_squares,
    }
}

/// Replaces the tail of the shifted log ratios by the fitted order statistics, returning
/// k̂ and what was done.
fn smooth_tail(log_weights: &mut [f64], tail_length: usize) -> (f64, TailFit) {
    let draws = log_weights.len();
    if tail_length < MIN_TAIL_DRAWS || tail_length >= draws {
        return (f64::INFINITY, TailFit::TooFewTailDraws { tail_draws: 0 });
    }
    let mut order: Vec<usize> = (0..draws).collect();
    order.sort_by(|&a, &b| log_weights[a].total_cmp(&log_weights[b]));
    let top = &order[draws - tail_length..];
    // `loo` declines to fit when its M largest values are all equal (to within a hundredth
    // of an ulp of 1: the largest is 0 after the shift).
    if log_weights[top[tail_length - 1]] - log_weights[top[0]] < f64::EPSILON / 100.0 {
        return (f64::INFINITY, TailFit::ConstantTail);
    }
    // The cutoff is the (M+1)-th largest value, but never below the log of the smallest
    // normal double, so that the exceedances `exp(x) − exp(cutoff)` are representable.
    let cutoff = log_weights[order[draws - tail_length - 1]].max(f64::MIN_POSITIVE.ln());
    let tail: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| log_weights[i] > cutoff)
        .collect();
    if tail.len() < MIN_TAIL_DRAWS {
        return (
            f64::INFINITY,
            TailFit::TooFewTailDraws {
                tail_draws: tail.len(),
            },
        );
    }
    let exp_cutoff = cutoff.exp();
    let exceedances: Vec<f64> = tail
        .iter()
        .map(|&i| log_weights[i].exp() - exp_cutoff)
        .collect();
    let Some(fit) = fit_generalized_pareto(&exceedances) else {
        return (f64::INFINITY, TailFit::FitFailed);
    };
    let n = tail.len() as f64;
    for (j, &i) in tail.iter().enumerate() {
        let p = (j as f64 + 0.5) / n;
        log_weights[i] = (fit.quantile(p) + exp_cutoff).ln();
    }
    (fit.k, TailFit::Smoothed)
}

/// A generalized Pareto distribution with location 0; `k` is the shape (positive for heavy
/// tails: the negative of Zhang and Stephens' k) and `sigma` the scale.
#[derive(Clone, Copy, Debug)]
struct GeneralizedPareto {
    k: f64,
    sigma: f64,
}

impl GeneralizedPareto {
    /// The `p` quantile: `σ ((1 − p)^(−k) − 1) / k`, or `−σ log(1 − p)` for k = 0.
    fn quantile(self, p: f64) -> f64 {
        if self.k == 0.0 {
            -self.sigma * (-p).ln_1p()
        } else {
            self.sigma * (-self.k * (-p).ln_1p()).exp_m1() / self.k
        }
    }
}

/// Zhang and Stephens' (2009) empirical Bayes estimate of a generalized Pareto distribution
/// from positive values sorted ascending, with k̂ then pulled toward 0.5 by the weakly
/// informative prior of Vehtari et al. (2024). `None` when the estimate is not a number or
/// the scale is not positive (the tail is then left unsmoothed).
fn fit_generalized_pareto(sorted: &[f64]) -> Option<GeneralizedPareto> {
    let n = sorted.len();
    let nf = n as f64;
    let largest = *sorted.last()?;
    // The first quartile, `x[floor(n/4 + 0.5)]` counting from one, scales the grid.
    let quartile = sorted[((nf / 4.0 + 0.5).floor() as usize).clamp(1, n) - 1];
    let grid_size = MIN_GRID_POINTS + nf.sqrt().floor() as usize;
    let m = grid_size as f64;
    // The profile log-likelihood of θ, with k(θ) = mean(log(1 − θ x)).
    let k_of = |theta: f64| sorted.iter().map(|x| (-theta * x).ln_1p()).sum::<f64>() / nf;
    let thetas: Vec<f64> = (1..=grid_size)
        .map(|j| 1.0 / largest + (1.0 - (m / (j as f64 - 0.5)).sqrt()) / (3.0 * quartile))
        .collect();
    let profile: Vec<f64> = thetas
        .iter()
        .map(|&theta| {
            let k = k_of(theta);
            nf * ((-theta / k).ln() - k - 1.0)
        })
        .collect();
    // The posterior mean of θ over the grid, weighted by the normalized likelihoods.
    let normalizer = log_sum_exp(&profile);
    let theta: f64 = thetas
        .iter()
        .zip(&profile)
        .map(|(t, l)| t * (l - normalizer).exp())
        .sum();
    let k = k_of(theta);
    // The scale comes from the unadjusted k, as in loo and ArviZ.
    let sigma = -k / theta;
    let k = (nf * k + PRIOR_K_WEIGHT * PRIOR_K_CENTER) / (nf + PRIOR_K_WEIGHT);
    (k.is_finite() && sigma.is_finite() && sigma > 0.0).then_some(GeneralizedPareto { k, sigma })
}

/// `log Σ exp(v)`, computed around the largest value; `-∞` for no values or all `-∞`.
fn log_sum_exp(values: &[f64]) -> f64 {
    let largest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !largest.is_finite() {
        return largest;
    }
    largest + values.iter().map(|v| (v - largest).exp()).sum::<f64>().ln()
}

/// `sqrt(N · var(values))` with the variance's denominator `N` (ArviZ's convention).
fn standard_error_of_sum(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (n * variance).sqrt()
}

/// A checked log-likelihood matrix in observation-major order (one column after another).
struct Columns {
    draws: usize,
    observations: usize,
    values: Vec<f64>,
}

impl Columns {
    fn new<R: AsRef<[f64]>>(log_lik: &[R]) -> Result<Self, LooError> {
        let first = log_lik.first().ok_or(LooError::NoDraws)?;
        let observations = first.as_ref().len();
        if observations == 0 {
            return Err(LooError::NoObservations);
        }
        for (draw, row) in log_lik.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != observations {
                return Err(LooError::RaggedDraws {
                    draw,
                    expected: observations,
                    found: row.len(),
                });
            }
            if let Some((observation, &value)) =
                row.iter().enumerate().find(|(_, v)| !v.is_finite())
            {
                return Err(LooError::NonFiniteLogLikelihood {
                    draw,
                    observation,
                    value,
                });
            }
        }
        let draws = log_lik.len();
        let mut values = Vec::with_capacity(draws * observations);
        for i in 0..observations {
            values.extend(log_lik.iter().map(|row| row.as_ref()[i]));
        }
        Ok(Self {
            draws,
            observations,
            values,
        })
    }

    fn column(&self, i: usize) -> &[f64] {
        &self.values[i * self.draws..(i + 1) * self.draws]
    }
}

/// The relative efficiency of each observation's likelihood, as `loo::relative_eff`: the
/// ESS for the mean ([`crate::ess_mean`], split chains, as `posterior::ess_mean`) of
/// `exp(log_lik_i)` divided by the number of draws.
///
/// `log_lik` holds `S` draws (rows) of `N` log-likelihood values, the `chains` chains one
/// after another, each `S / chains` draws long in sampling order.
pub fn relative_efficiency<R: AsRef<[f64]>>(
    log_lik: &[R],
    chains: usize,
) -> Result<Vec<f64>, LooError> {
    let columns = Columns::new(log_lik)?;
    let draws = columns.draws;
    if chains == 0 || !draws.is_multiple_of(chains) {
        return Err(LooError::UnevenChains { draws, chains });
    }
    let draws_per_chain = draws / chains;
    if draws_per_chain < 4 {
        return Err(LooError::TooFewDrawsPerChain { draws_per_chain });
    }
    Ok((0..columns.observations)
        .map(|i| {
            let column = columns.column(i);
            // The ESS does not change when every value is scaled by one constant, and
            // dividing by the largest likelihood keeps the exponentials finite.
            let largest = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let likelihood: Vec<f64> = column.iter().map(|v| (v - largest).exp()).collect();
            let by_chain: Vec<&[f64]> = likelihood.chunks(draws_per_chain).collect();
            crate::ess_mean(&by_chain) / draws as f64
        })
        .collect())
}

/// How many observations fall in each of `loo`'s Pareto k categories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParetoKCounts {
    /// `k ≤ threshold`: the estimate is reliable.
    pub good: usize,
    /// `threshold < k ≤ 1`: the estimate is biased and unreliable.
    pub bad: usize,
    /// `k > 1` (including `+∞`, no fit): the ratios have no finite mean; the estimate is
    /// not defined.
    pub very_bad: usize,
}

/// PSIS-LOO estimates of one model, with their pointwise values and diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct LooResult {
    /// Number of posterior draws `S` (all chains pooled).
    pub draws: usize,
    /// Number of observations `N`.
    pub observations: usize,
    /// Expected log pointwise predictive density for new data, `Σ_i elpd_loo_i`.
    pub elpd_loo: f64,
    /// Its standard error `sqrt(N · var(elpd_loo_i))`.
    pub se_elpd_loo: f64,
    /// Effective number of parameters, `Σ_i p_loo_i`: how much better the model predicts
    /// the data it was fitted to than left-out data.
    pub p_loo: f64,
    /// Its standard error `sqrt(N · var(p_loo_i))`.
    pub se_p_loo: f64,
    /// The LOO information criterion `−2 · elpd_loo` (deviance scale).
    pub looic: f64,
    /// Its standard error `2 · se_elpd_loo`.
    pub se_looic: f64,
    /// Log pointwise predictive density of the data given all of it, `Σ_i lpd_i`.
    pub lpd: f64,
    /// Pointwise `elpd_loo_i`.
    pub elpd_loo_i: Vec<f64>,
    /// Pointwise `p_loo_i = lpd_i − elpd_loo_i`.
    pub p_loo_i: Vec<f64>,
    /// Pointwise Pareto k̂ (`+∞` where no fit was made).
    pub pareto_k: Vec<f64>,
    /// Pointwise PSIS effective sample size.
    pub psis_ess: Vec<f64>,
    /// Pointwise relative efficiency used for the tail length.
    pub r_eff: Vec<f64>,
    /// Pointwise outcome of the tail fit.
    pub tail_fit: Vec<TailFit>,
    /// The threshold `min(1 − 1/log10(S), 0.7)` above which k̂ marks an unreliable value.
    pub k_threshold: f64,
    /// Observations per k̂ category.
    pub k_counts: ParetoKCounts,
}

/// Approximate leave-one-out cross-validation by PSIS.
///
/// `log_lik` holds `S` draws (rows) of the `N` pointwise log-likelihoods
/// `log p(y_i | θ_s)`; draws from several chains are pooled (their order matters only to
/// [`relative_efficiency`]). Every value must be finite.
pub fn loo<R: AsRef<[f64]>>(
    log_lik: &[R],
    r_eff: &RelativeEfficiency,
) -> Result<LooResult, LooError> {
    let columns = Columns::new(log_lik)?;
    let (draws, observations) = (columns.draws, columns.observations);
    let r_eff = r_eff.for_observations(observations)?;
    let log_draws = (draws as f64).ln();

    let mut elpd_loo_i = Vec::with_capacity(observations);
    let mut lpd_i = Vec::with_capacity(observations);
    let mut pareto_k = Vec::with_capacity(observations);
    let mut psis_ess = Vec::with_capacity(observations);
    let mut tail_fit = Vec::with_capacity(observations);
    let mut terms = vec![0.0; draws];
    for (i, &r) in r_eff.iter().enumerate() {
        let column = columns.column(i);
        let log_ratios: Vec<f64> = column.iter().map(|v| -v).collect();
        let smoothed = smooth(&log_ratios, r);
        for ((term, w), v) in terms.iter_mut().zip(&smoothed.log_weights).zip(column) {
            *term = w + v;
        }
        elpd_loo_i.push(log_sum_exp(&terms));
        lpd_i.push(log_sum_exp(column) - log_draws);
        pareto_k.push(smoothed.pareto_k);
        psis_ess.push(smoothed.effective_sample_size);
        tail_fit.push(smoothed.tail_fit);
    }
    let p_loo_i: Vec<f64> = lpd_i.iter().zip(&elpd_loo_i).map(|(l, e)| l - e).collect();

    let k_threshold = pareto_k_threshold(draws);
    let mut k_counts = ParetoKCounts::default();
    for &k in &pareto_k {
        if k <= k_threshold {
            k_counts.good += 1;
        } else if k <= 1.0 {
            k_counts.bad += 1;
        } else {
            k_counts.very_bad += 1;
        }
    }
    let elpd_loo: f64 = elpd_loo_i.iter().sum();
    let se_elpd_loo = standard_error_of_sum(&elpd_loo_i);
    Ok(LooResult {
        draws,
        observations,
        elpd_loo,
        se_elpd_loo,
        p_loo: p_loo_i.iter().sum(),
        se_p_loo: standard_error_of_sum(&p_loo_i),
        looic: -2.0 * elpd_loo,
        se_looic: 2.0 * se_elpd_loo,
        lpd: lpd_i.iter().sum(),
        elpd_loo_i,
        p_loo_i,
        pareto_k,
        psis_ess,
        r_eff,
        tail_fit,
        k_threshold,
        k_counts,
    })
}

/// At most this many observations are named in a warning.
const NAMED_OBSERVATIONS: usize = 10;

impl LooResult {
    /// Indexes (from 0) of the observations whose k̂ is above [`LooResult::k_threshold`].
    pub fn high_k_observations(&self) -> Vec<usize> {
        (0..self.observations)
            .filter(|&i| self.pareto_k[i] > self.k_threshold)
            .collect()
    }

    /// A warning in plain language when any k̂ is above the threshold, saying which
    /// observations (numbered from 1, as a reader counts rows), what it means and what to
    /// do; `None` when every k̂ is good.
    pub fn warning(&self) -> Option<String> {
        self.warning_named(None)
    }

    /// [`LooResult::warning`] naming each observation by `names[i]` (the data cell
    /// it scores: `choice[S07, 15]`) instead of its number, where names are given
    /// for every observation.
    pub fn warning_named(&self, names: Option<&[String]>) -> Option<String> {
        let names = names.filter(|n| n.len() == self.observations);
        let name = |i: usize| match names {
            Some(n) => n[i].clone(),
            None => (i + 1).to_string(),
        };
        let high = self.high_k_observations();
        if high.is_empty() {
            return None;
        }
        let fitted: Vec<usize> = high
            .iter()
            .copied()
            .filter(|&i| self.tail_fit[i] == TailFit::Smoothed)
            .collect();
        let mut text = String::new();
        if !fitted.is_empty() {
            let listed: Vec<String> = fitted
                .iter()
                .take(NAMED_OBSERVATIONS)
                .map(|&i| {
                    format!(
                        "{} (k = {})",
                        name(i),
                        k_text(self.pareto_k[i], self.k_threshold)
                    )
                })
                .collect();
            let more = fitted.len().saturating_sub(NAMED_OBSERVATIONS);
            text.push_str(&format!(
                "{} of {} observations {} a Pareto k above {}: observation{} {}{}. ",
                fitted.len(),
                self.observations,
                if fitted.len() == 1 { "has" } else { "have" },
                threshold_text(self.k_threshold),
                if fitted.len() == 1 { "" } else { "s" },
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
            ));
            text.push_str(
                "Their leave-one-out estimates, and so elpd_loo, are unreliable (usually too \
                 optimistic): each of these observations is so influential that the \
                 posterior without it is far from the posterior with it, and importance \
                 sampling cannot reach one from the other. For a reliable estimate, refit the \
                 model without each of them (exact leave-one-out for those observations), use \
                 K-fold cross-validation, or use moment matching. A model that is more robust \
                 to such observations (for instance a heavier-tailed likelihood) often has no \
                 high k. For models of sequences, such as a learner's trials, leaving out one \
                 trial is not the question to ask: use leave-one-subject-out \
                 cross-validation.",
            );
            let modest = fitted.iter().any(|&i| self.pareto_k[i] <= 0.7);
            if modest && self.k_threshold < 0.7 {
                text.push_str(&format!(
                    " With {} draws the threshold is below 0.7; for k between {:.2} and 0.7, \
                     more draws (above 2200) may be enough.",
                    self.draws, self.k_threshold
                ));
            }
        }
        let unfitted = |reason: fn(&TailFit) -> bool| -> Vec<usize> {
            high.iter()
                .copied()
                .filter(|&i| reason(&self.tail_fit[i]))
                .collect()
        };
        let short = unfitted(|t| matches!(t, TailFit::TooFewTailDraws { .. }));
        let constant = unfitted(|t| matches!(t, TailFit::ConstantTail));
        let failed = unfitted(|t| matches!(t, TailFit::FitFailed));
        let mut note = |ids: &[usize], why: &str| {
            if ids.is_empty() {
                return;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!(
                "Pareto k could not be estimated for {} observation{} ({}): {why}",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                name_observations(ids, &name),
            ));
        };
        note(
            &short,
            "fewer than 5 draws are in the tail of their importance ratios (too few draws, \
             or many tied draws); run more draws.",
        );
        note(
            &constant,
            "their largest importance ratios are all equal. If the log-likelihood of such an \
             observation is the same in every draw, its leave-one-out estimate is exact and \
             this can be ignored.",
        );
        note(
            &failed,
            "the generalized Pareto fit to their tail failed; treat their estimates as \
             unreliable.",
        );
        Some(text)
    }
}

/// "observation 3" or "observations 3, 7, 12 and 4 more", counting from one.
fn name_observations(ids: &[usize], name: &dyn Fn(usize) -> String) -> String {
    let listed: Vec<String> = ids
        .iter()
        .take(NAMED_OBSERVATIONS)
        .map(|&i| name(i))
        .collect();
    let more = ids.len().saturating_sub(NAMED_OBSERVATIONS);
    format!(
        "observation{} {}{}",
        if ids.len() == 1 { "" } else { "s" },
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// One row of a model comparison, with the columns `loo::loo_compare` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    /// The model's name as given.
    pub name: String,
    /// `elpd_loo` of this model minus that of the best model: 0 for the best, negative for
    /// the others (`loo_compare`'s sign; ArviZ reports the opposite).
    pub elpd_diff: f64,
    /// Standard error of `elpd_diff`, `sqrt(N · var(elpd_loo_i − best elpd_loo_i))`
    /// from the pointwise differences; 0 for the best model.
    pub se_diff: f64,
    /// The model's `elpd_loo`.
    pub elpd_loo: f64,
    /// Its standard error.
    pub se_elpd_loo: f64,
    /// The model's `p_loo`.
    pub p_loo: f64,
    /// Its standard error.
    pub se_p_loo: f64,
    /// The model's `looic`.
    pub looic: f64,
    /// Its standard error.
    pub se_looic: f64,
}

/// Compares models fitted to the same observations by PSIS-LOO: rows sorted from the
/// highest elpd_loo (ties keep the given order), each with its difference from the best.
/// The pointwise differences account for the correlation between the models' errors, so
/// `se_diff` is usually much smaller than the models' own standard errors.
pub fn compare<S: AsRef<str>>(models: &[(S, &LooResult)]) -> Result<Vec<CompareRow>, LooError> {
    let pointwise: Vec<(&str, &[f64], &[f64])> = models
        .iter()
        .map(|(name, r)| (name.as_ref(), r.elpd_loo_i.as_slice(), r.p_loo_i.as_slice()))
        .collect();
    compare_pointwise(&pointwise)
}

/// [`compare`] from each model's pointwise `elpd_loo_i` and `p_loo_i` alone (the
/// totals and their standard errors are computed from them exactly as [`loo`] computes
/// them): for results gathered from many fits, such as one model's fits to several
/// participants, whose pointwise values are concatenated.
pub fn compare_pointwise<S: AsRef<str>>(
    models: &[(S, &[f64], &[f64])],
) -> Result<Vec<CompareRow>, LooError> {
    let Some((_, first, _)) = models.first() else {
        return Ok(Vec::new());
    };
    for (name, elpd_i, _) in models {
        if elpd_i.len() != first.len() {
            return Err(LooError::ObservationCountMismatch {
                model: name.as_ref().to_string(),
                expected: first.len(),
                found: elpd_i.len(),
            });
        }
    }
    let totals: Vec<f64> = models.iter().map(|(_, e, _)| e.iter().sum()).collect();
    let mut ranked: Vec<usize> = (0..models.len()).collect();
    ranked.sort_by(|a, b| totals[*b].total_cmp(&totals[*a]));
    let best = models[ranked[0]].1;
    Ok(ranked
        .iter()
        .map(|&m| {
            let (name, elpd_i, p_i) = &models[m];
            let differences: Vec<f64> =
                elpd_i.iter().zip(best.iter()).map(|(m, b)| m - b).collect();
            let se_elpd_loo = standard_error_of_sum(elpd_i);
            CompareRow {
                name: name.as_ref().to_string(),
                elpd_diff: differences.iter().sum(),
                se_diff: standard_error_of_sum(&differences),
                elpd_loo: totals[m],
                se_elpd_loo,
                p_loo: p_i.iter().sum(),
                se_p_loo: standard_error_of_sum(p_i),
                looic: -2.0 * totals[m],
                se_looic: 2.0 * se_elpd_loo,
            }
        })
        .collect())
}

/// Stacking weights of models from their pointwise `elpd_loo_i` (Yao, Vehtari, Simpson
/// and Gelman 2018; ArviZ's `compare(method="stacking")`): the weights on the simplex that
/// maximize `Σ_i log Σ_k w_k exp(elpd_loo_ik)`, the leave-one-out log score of the mixture
/// of the models' predictive distributions. The objective is concave and its maximum is
/// found by the EM iteration for mixture weights with fixed components, which increases it
/// at every step; it stops when no weight moves by more than 1e-10 (at most 100,000 steps).
/// Every model must have the same number of finite values.
pub fn stacking_weights(elpd_loo_i: &[&[f64]]) -> Result<Vec<f64>, LooError> {
    let models = elpd_loo_i.len();
    let Some(first) = elpd_loo_i.first() else {
        return Ok(Vec::new());
    };
    let n = first.len();
    for (k, e) in elpd_loo_i.iter().enumerate() {
        if e.len() != n {
            return Err(LooError::ObservationCountMismatch {
                model: format!("model {}", k + 1),
                expected: n,
                found: e.len(),
            });
        }
    }
    if models == 1 || n == 0 {
        return Ok(vec![1.0 / models as f64; models]);
    }
    // Each observation's densities relative to its largest, so none overflows.
    let densities: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let top = elpd_loo_i
                .iter()
                .map(|e| e[i])
                .fold(f64::NEG_INFINITY, f64::max);
            elpd_loo_i.iter().map(|e| (e[i] - top).exp()).collect()
        })
        .collect();
    let mut weights = vec![1.0 / models as f64; models];
    let mut next = vec![0.0; models];
    for _ in 0..100_000 {
        next.iter_mut().for_each(|x| *x = 0.0);
        for p in &densities {
            let mixture: f64 = p.iter().zip(&weights).map(|(p, w)| p * w).sum();
            if mixture > 0.0 {
                for ((x, p), w) in next.iter_mut().zip(p).zip(&weights) {
                    *x += p * w / mixture;
                }
            }
        }
        let total: f64 = next.iter().sum();
        if total.is_nan() || total <= 0.0 {
            break;
        }
        let change = next
            .iter()
            .zip(&weights)
            .map(|(x, w)| (x / total - w).abs())
            .fold(0.0, f64::max);
        for (w, x) in weights.iter_mut().zip(&next) {
            *w = x / total;
        }
        if change < 1e-10 {
            break;
        }
    }
    Ok(weights)
}

/// The Pareto k threshold as a table shows it: two decimals (`0.70`), or three
/// where two would round it (`0.697` with 2000 draws: `1 - 1/log10(S)`), so
/// that a k counted above it is never printed as equal to it.
pub fn threshold_text(threshold: f64) -> String {
    if ((threshold * 100.0).round() / 100.0 - threshold).abs() < 1e-9 {
        format!("{threshold:.2}")
    } else {
        format!("{threshold:.3}")
    }
}

/// A Pareto k beside `threshold`: two decimals, or three where two would
/// print a k above the threshold as the threshold's own text (0.698 as 0.70).
pub fn k_text(k: f64, threshold: f64) -> String {
    let two = format!("{k:.2}");
    if two == format!("{threshold:.2}") {
        format!("{k:.3}")
    } else {
        two
    }
}

#[cfg(test)]
mod k_text_tests {
    use super::{k_text, threshold_text};

    #[test]
    fn a_k_above_the_threshold_never_prints_as_the_threshold() {
        let threshold = 1.0 - 1.0 / 2000f64.log10();
        assert_eq!(threshold_text(threshold), "0.697");
        assert_eq!(threshold_text(0.7), "0.70");
        assert_eq!(k_text(0.698, threshold), "0.698");
        assert_eq!(k_text(0.704, 0.7), "0.704");
        assert_eq!(k_text(0.93, 0.7), "0.93");
    }
}
