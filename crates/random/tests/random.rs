//! The generators against the distributions they claim to draw from.
//!
//! * Moments: for every family with a finite variance, at two to four argument sets each
//!   (small and large shapes, probabilities near 0 and 1, logits ±30, Poisson rates 0.1
//!   and 500, Binomial n = 1 and 1000), the mean and variance of 10^5 draws are within
//!   [`Z_MAX`] standard errors of [`moments`]. The variance's standard error comes from
//!   the analytic fourth central moment (excess kurtosis below).
//! * Distribution functions: where moments do not exist (Cauchy, HalfCauchy, StudentT with
//!   nu ≤ 2, InverseGamma with alpha = 1) and for a few closed-form CDFs, a
//!   Kolmogorov–Smirnov statistic at p = 1e-6.
//! * Categorical: chi-square of the frequencies at p = 1e-6, for probabilities and logits
//!   (huge and -inf logits included); zero-probability categories are never drawn.
//! * Supports, also at extreme arguments; errors for invalid arguments; a proptest that
//!   any arguments give a value in the support or an error; reproducibility.
//!
//! All random streams are seeded, so a run is deterministic.

use std::f64::consts::PI;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlc_random::{
    draw, draw_categorical, moments, CategoricalArgs, DrawError, Family, Requirement,
    MAX_POISSON_RATE, MAX_TRIALS,
};

/// Draws per statistical check.
const N: usize = 100_000;
/// How many standard errors a sample mean or variance may be from its expected value.
const Z_MAX: f64 = 5.0;
/// The significance level of the Kolmogorov–Smirnov and chi-square checks.
const ALPHA: f64 = 1e-6;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn draws(family: Family, args: &[f64], n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed);
    (0..n)
        .map(|_| match draw(family, args, &mut rng) {
            Ok(x) => x,
            Err(e) => panic!("{family:?}{args:?}: {e}"),
        })
        .collect()
}

// ---- Supports ----------------------------------------------------------------------

/// Whether `x` is a value `family` with `args` can take.
fn in_support(family: Family, args: &[f64], x: f64) -> bool {
    let whole = x.fract() == 0.0 && x >= 0.0;
    match family {
        Family::Normal | Family::StudentT | Family::Cauchy => x.is_finite(),
        Family::HalfNormal
        | Family::HalfCauchy
        | Family::LogNormal
        | Family::Exponential
        | Family::Gamma
        | Family::InverseGamma
        | Family::Weibull => x > 0.0 && x.is_finite(),
        Family::Beta => x > 0.0 && x < 1.0,
        Family::Uniform => x > args[0] && x < args[1],
        Family::BernoulliP | Family::BernoulliLogits | Family::WienerBoundary => {
            x == 0.0 || x == 1.0
        }
        Family::BinomialP | Family::BinomialLogits | Family::BetaBinomial => whole && x <= args[0],
        Family::PoissonRate | Family::PoissonLogRate | Family::NegativeBinomial => whole,
        Family::Wiener => x > args[1] && x.is_finite(),
        Family::VonMises => x > -PI && x < PI,
        Family::ExGaussian
        | Family::SkewNormal
        | Family::Logistic
        | Family::Laplace
        | Family::Gumbel => x.is_finite(),
        Family::Wald => x > 0.0 && x.is_finite(),
    }
}

fn assert_in_support(family: Family, args: &[f64], xs: &[f64]) {
    if let Some(x) = xs.iter().find(|&&x| !in_support(family, args, x)) {
        panic!("{family:?}{args:?} drew {x:e}, outside its support");
    }
}

// ---- Moments -----------------------------------------------------------------------

/// The excess kurtosis, for the standard error of the sample variance.
fn excess_kurtosis(family: Family, a: &[f64]) -> f64 {
    let bernoulli = |p: f64, q: f64| (1.0 - 6.0 * p * q) / (p * q);
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    match family {
        Family::Normal => 0.0,
        Family::HalfNormal => 8.0 * (PI - 3.0) / (PI - 2.0).powi(2),
        Family::StudentT => {
            assert!(a[0] > 4.0, "StudentT needs nu > 4 for a finite kurtosis");
            6.0 / (a[0] - 4.0)
        }
        Family::LogNormal => {
            let s2 = a[1] * a[1];
            (4.0 * s2).exp() + 2.0 * (3.0 * s2).exp() + 3.0 * (2.0 * s2).exp() - 6.0
        }
        Family::Exponential => 6.0,
        Family::Gamma => 6.0 / a[0],
        Family::InverseGamma => {
            assert!(
                a[0] > 4.0,
                "InverseGamma needs alpha > 4 for a finite kurtosis"
            );
            (30.0 * a[0] - 66.0) / ((a[0] - 3.0) * (a[0] - 4.0))
        }
        Family::Beta => {
            let (al, be) = (a[0], a[1]);
            let s = al + be;
            6.0 * ((al - be).powi(2) * (s + 1.0) - al * be * (s + 2.0))
                / (al * be * (s + 2.0) * (s + 3.0))
        }
        Family::Uniform => -1.2,
        Family::Weibull => {
            let g = |i: f64| libm::tgamma(1.0 + i / a[0]);
            let (g1, g2, g3, g4) = (g(1.0), g(2.0), g(3.0), g(4.0));
            (g4 - 4.0 * g1 * g3 + 6.0 * g1 * g1 * g2 - 3.0 * g1.powi(4)) / (g2 - g1 * g1).powi(2)
                - 3.0
        }
        // 6/φ + 1/variance (checked against SciPy's nbinom).
        Family::NegativeBinomial => 6.0 / a[1] + 1.0 / (a[0] + a[0] * a[0] / a[1]),
        // Checked against SciPy's betabinom.
        Family::BetaBinomial => {
            let (n, al, be) = (a[0], a[1], a[2]);
            let s = al + be;
            s * s * (1.0 + s) / (n * al * be * (s + 2.0) * (s + 3.0) * (s + n))
                * (s * (s - 1.0 + 6.0 * n) + 3.0 * al * be * (n - 2.0) + 6.0 * n * n
                    - 3.0 * al * be * n * (6.0 - n) / s
                    - 18.0 * al * be * n * n / (s * s))
                - 3.0
        }
        Family::BernoulliP => bernoulli(a[0], 1.0 - a[0]),
        Family::BernoulliLogits => bernoulli(logistic(a[0]), logistic(-a[0])),
        Family::BinomialP => bernoulli(a[1], 1.0 - a[1]) / a[0],
        Family::BinomialLogits => bernoulli(logistic(a[1]), logistic(-a[1])) / a[0],
        Family::PoissonRate => 1.0 / a[0],
        Family::PoissonLogRate => (-a[0]).exp(),
        Family::Cauchy | Family::HalfCauchy => panic!("{family:?} has no moments"),
        Family::Wiener => panic!("Wiener's kurtosis is estimated from the sample"),
        Family::WienerBoundary => {
            let p = rlc_random::wiener::upper_probability(a[0], a[1], a[2]);
            bernoulli(p, 1.0 - p)
        }
        Family::VonMises => panic!("VonMises has no moments on the line"),
        // The cumulants add: 6 tau^4 over the squared variance, tau = 1 / lambda.
        Family::ExGaussian => 6.0 / (1.0 + (a[1] * a[2]).powi(2)).powi(2),
        Family::Wald => 15.0 * a[0] / a[1],
        Family::Logistic => 1.2,
        Family::Laplace => 3.0,
        Family::Gumbel => 2.4,
        Family::SkewNormal => {
            let delta = a[2] / a[2].hypot(1.0);
            let m = delta * (2.0 / PI).sqrt();
            2.0 * (PI - 3.0) * m.powi(4) / (1.0 - m * m).powi(2)
        }
    }
}

/// Draws `N` values and compares their mean and variance with the analytic ones.
fn check_moments(family: Family, args: &[f64], seed: u64) {
    let xs = draws(family, args, N, seed);
    assert_in_support(family, args, &xs);
    let Some((mean, variance)) = moments(family, args) else {
        panic!("{family:?}{args:?} has no moments");
    };
    let n = N as f64;
    let sample_mean = xs.iter().sum::<f64>() / n;
    let sample_variance = xs.iter().map(|x| (x - sample_mean).powi(2)).sum::<f64>() / (n - 1.0);
    if variance == 0.0 {
        assert!(
            xs.iter().all(|&x| x == mean),
            "{family:?}{args:?} is degenerate at {mean}"
        );
        return;
    }
    let z_mean = (sample_mean - mean) / (variance / n).sqrt();
    let mu4 = if family == Family::Wiener {
        // No closed form is at hand: the sample's fourth central moment.
        xs.iter().map(|x| (x - sample_mean).powi(4)).sum::<f64>() / n
    } else {
        (excess_kurtosis(family, args) + 3.0) * variance * variance
    };
    let se_variance = ((mu4 - variance * variance * (n - 3.0) / (n - 1.0)) / n).sqrt();
    let z_variance = (sample_variance - variance) / se_variance;
    assert!(
        z_mean.abs() < Z_MAX && z_variance.abs() < Z_MAX,
        "{family:?}{args:?}: mean {sample_mean} vs {mean} (z = {z_mean:.2}), \
         variance {sample_variance} vs {variance} (z = {z_variance:.2})"
    );
}

fn check_all_moments(family: Family, cases: &[&[f64]]) {
    for (i, args) in cases.iter().enumerate() {
        check_moments(family, args, 1000 + i as u64);
    }
}

#[test]
fn normal_moments() {
    check_all_moments(Family::Normal, &[&[0.0, 1.0], &[-3.0, 0.01], &[1e3, 50.0]]);
}

#[test]
fn half_normal_moments() {
    check_all_moments(Family::HalfNormal, &[&[1.0], &[0.01], &[20.0]]);
}

#[test]
fn student_t_moments() {
    check_all_moments(
        Family::StudentT,
        &[&[5.0, 1.0, 2.0], &[30.0, -1.0, 0.5], &[9.0, 0.0, 1.0]],
    );
}

#[test]
fn log_normal_moments() {
    check_all_moments(
        Family::LogNormal,
        &[&[0.0, 0.25], &[1.0, 0.8], &[-2.0, 0.1]],
    );
}

#[test]
fn exponential_moments() {
    check_all_moments(Family::Exponential, &[&[1.0], &[0.01], &[250.0]]);
}

#[test]
fn gamma_moments() {
    // Shape below 1 (boosted sampler), moderate, and large; beta is a rate.
    check_all_moments(Family::Gamma, &[&[0.1, 1.0], &[2.0, 3.0], &[500.0, 0.5]]);
}

#[test]
fn weibull_moments() {
    // A shape below 1 (a heavy right tail), the exponential, and a peaked one.
    check_all_moments(Family::Weibull, &[&[0.8, 1.0], &[1.0, 0.3], &[5.0, 2.0]]);
}

#[test]
fn ex_gaussian_moments() {
    // Mostly exponential, balanced, and mostly Gaussian.
    check_all_moments(
        Family::ExGaussian,
        &[&[0.4, 0.01, 5.0], &[0.5, 0.1, 8.0], &[-2.0, 3.0, 20.0]],
    );
}

#[test]
fn wald_moments() {
    // Nearly normal (lambda >> mu), moderate, and heavily skewed.
    check_all_moments(Family::Wald, &[&[1.0, 200.0], &[0.6, 2.0], &[3.0, 0.5]]);
}

#[test]
fn logistic_laplace_gumbel_moments() {
    check_all_moments(Family::Logistic, &[&[0.0, 1.0], &[-3.0, 0.2]]);
    check_all_moments(Family::Laplace, &[&[0.0, 1.0], &[5.0, 0.1]]);
    check_all_moments(Family::Gumbel, &[&[0.0, 1.0], &[2.0, 3.0]]);
}

#[test]
fn skew_normal_moments() {
    // Symmetric (the Normal), skewed either way, and nearly half-normal.
    check_all_moments(
        Family::SkewNormal,
        &[
            &[1.0, 2.0, 0.0],
            &[0.0, 1.0, 3.0],
            &[5.0, 0.5, -2.0],
            &[0.0, 1.0, 1e6],
        ],
    );
}

/// The distribution function of `VonMises(0, kappa)` on `[-pi, pi]`, by the
/// trapezoid rule on 200,001 points (far below the KS test's resolution).
fn von_mises_cdf(kappa: f64) -> impl Fn(f64) -> f64 {
    const POINTS: usize = 200_001;
    let h = 2.0 * PI / (POINTS - 1) as f64;
    let density = |x: f64| (kappa * (x.cos() - 1.0)).exp();
    let mut cumulative = vec![0.0; POINTS];
    for i in 1..POINTS {
        let (a, b) = (-PI + (i - 1) as f64 * h, -PI + i as f64 * h);
        cumulative[i] = cumulative[i - 1] + 0.5 * h * (density(a) + density(b));
    }
    let total = cumulative[POINTS - 1];
    move |x: f64| {
        let t = ((x + PI) / h).clamp(0.0, (POINTS - 1) as f64);
        let i = (t as usize).min(POINTS - 2);
        let f = t - i as f64;
        (cumulative[i] * (1.0 - f) + cumulative[i + 1] * f) / total
    }
}

#[test]
fn von_mises_distribution_function() {
    // Nearly uniform, moderate, concentrated (the rejection sampler), and a mean
    // direction near pi, whose draws wrap around to -pi.
    for (seed, mu, kappa) in [
        (40, 0.0, 0.01),
        (41, 1.0, 2.0),
        (42, -2.0, 60.0),
        (43, 3.0, 1.5),
    ] {
        let cdf = von_mises_cdf(kappa);
        check_cdf(Family::VonMises, &[mu, kappa], seed, move |x| {
            let d = x - mu;
            cdf(d - 2.0 * PI * (d / (2.0 * PI)).round())
        });
    }
    // Beyond kappa = 1e8 the normal limit: sd 1 / sqrt(kappa).
    let xs = draws(Family::VonMises, &[0.5, 1e10], N, 44);
    assert_in_support(Family::VonMises, &[0.5, 1e10], &xs);
    let sd = (xs.iter().map(|x| (x - 0.5).powi(2)).sum::<f64>() / N as f64).sqrt();
    assert!((sd * 1e5 - 1.0).abs() < 0.02, "sd {sd}");
}

#[test]
fn negative_binomial_moments() {
    // Strongly overdispersed, moderate, and nearly Poisson.
    check_all_moments(
        Family::NegativeBinomial,
        &[&[3.0, 0.5], &[20.0, 4.0], &[2.0, 1e4]],
    );
}

#[test]
fn beta_binomial_moments() {
    check_all_moments(
        Family::BetaBinomial,
        &[&[10.0, 2.0, 3.0], &[40.0, 0.5, 0.7], &[5.0, 20.0, 1.5]],
    );
}

#[test]
fn inverse_gamma_moments() {
    check_all_moments(
        Family::InverseGamma,
        &[&[5.0, 2.0], &[12.0, 0.5], &[50.0, 100.0]],
    );
}

#[test]
fn beta_moments() {
    check_all_moments(
        Family::Beta,
        &[&[0.5, 0.5], &[2.0, 5.0], &[0.1, 3.0], &[200.0, 100.0]],
    );
}

#[test]
fn uniform_moments() {
    check_all_moments(
        Family::Uniform,
        &[&[0.0, 1.0], &[-5.0, 5.0], &[1e6, 1e6 + 1.0]],
    );
}

#[test]
fn bernoulli_moments() {
    check_all_moments(
        Family::BernoulliP,
        &[&[0.5], &[1e-3], &[0.999], &[0.0], &[1.0]],
    );
    check_all_moments(
        Family::BernoulliLogits,
        &[&[0.0], &[-30.0], &[30.0], &[2.5]],
    );
}

#[test]
fn binomial_moments() {
    check_all_moments(
        Family::BinomialP,
        &[
            &[1.0, 0.3],
            &[1000.0, 0.3],
            &[1000.0, 0.999],
            &[50.0, 0.01],
            &[0.0, 0.4],
        ],
    );
    check_all_moments(
        Family::BinomialLogits,
        &[
            &[1.0, -2.0],
            &[20.0, 1.5],
            &[1000.0, 30.0],
            &[1000.0, -30.0],
        ],
    );
}

#[test]
fn poisson_moments() {
    check_all_moments(Family::PoissonRate, &[&[0.1], &[3.0], &[12.0], &[500.0]]);
    check_all_moments(
        Family::PoissonLogRate,
        &[&[3f64.ln()], &[-5.0], &[500f64.ln()]],
    );
}

/// Wiener first-passage times, drawn by inverting the series CDF, against the conditional
/// mean and variance from the process's Laplace transform (a different formula from the
/// draws' series): unbiased and biased starts, drifts toward and away from the upper
/// boundary (where few processes end and the conditional times are short), no drift, and
/// wide and narrow boundaries.
#[test]
fn wiener_moments() {
    check_all_moments(
        Family::Wiener,
        &[
            &[1.0, 0.3, 0.5, 0.0],
            &[2.0, 0.2, 0.5, 1.0],
            &[1.5, 0.0, 0.3, -1.5],
            &[0.8, 0.1, 0.8, 2.5],
            &[3.0, 0.4, 0.6, 0.5],
            &[1.2, 0.25, 0.1, 0.04],
            &[0.5, 0.0, 0.95, -4.0],
        ],
    );
}

/// The boundary of a diffusion, drawn with the probability that it ends at the upper
/// one, against the total mass of the upper boundary's density (the Wiener density
/// integrated over time: its series, not the closed form the draws use), and in
/// frequency (its moments).
#[test]
fn wiener_boundary_draws() {
    let cases: &[&[f64]] = &[
        &[1.0, 0.5, 0.0],
        &[2.0, 0.5, 1.0],
        &[1.5, 0.3, -1.5],
        &[0.8, 0.8, 2.5],
        &[1.2, 0.1, 0.04],
    ];
    check_all_moments(Family::WienerBoundary, cases);
    for args in cases {
        let (alpha, beta, delta) = (args[0], args[1], args[2]);
        // Simpson's rule on (0, 40 alpha²], where the density has decayed to nothing.
        let steps = 200_000;
        let h = 40.0 * alpha * alpha / steps as f64;
        let f = |t: f64| rlc_random::wiener::lpdf(t, alpha, 0.0, beta, delta).exp();
        let mut mass = f(40.0 * alpha * alpha);
        for k in 1..steps {
            mass += if k % 2 == 1 { 4.0 } else { 2.0 } * f(k as f64 * h);
        }
        mass *= h / 3.0;
        let p = rlc_random::wiener::upper_probability(alpha, beta, delta);
        assert!((mass - p).abs() < 1e-7, "{args:?}: mass {mass} vs {p}");
    }
    // Drifts so strong that the upper boundary is all but certain, or all but impossible.
    let certain = draws(Family::WienerBoundary, &[1.0, 0.5, 40.0], 200, 3);
    assert!(certain.iter().all(|&x| x == 1.0));
    let impossible = draws(Family::WienerBoundary, &[1.0, 0.5, -40.0], 200, 3);
    assert!(impossible.iter().all(|&x| x == 0.0));
}

#[test]
fn wiener_draws_and_errors() {
    // Drifts so strong that almost no process ends at the upper boundary: those that do
    // still give times above tau.
    for args in [
        [1.0, 0.2, 0.5, -30.0],
        [2.0, 0.3, 0.01, -5.0],
        [1.0, 0.1, 0.99, 20.0],
    ] {
        assert_in_support(Family::Wiener, &args, &draws(Family::Wiener, &args, 200, 9));
    }
    let wiener = |args: &[f64]| error(Family::Wiener, args);
    assert!(matches!(
        wiener(&[0.0, 0.2, 0.5, 1.0]),
        DrawError::Argument {
            argument: "alpha",
            ..
        }
    ));
    assert!(matches!(
        wiener(&[1.0, 0.2, 1.0, 1.0]),
        DrawError::Argument {
            argument: "beta",
            requirement: Requirement::OpenUnitInterval,
            ..
        }
    ));
    assert!(matches!(
        wiener(&[1.0, 0.2, 0.5, 1e3]),
        DrawError::Argument {
            argument: "delta",
            ..
        }
    ));
}

#[test]
fn moments_are_none_where_they_do_not_exist() {
    assert_eq!(moments(Family::Gamma, &[2.0, 4.0]), Some((0.5, 0.125)));
    assert_eq!(moments(Family::Cauchy, &[0.0, 1.0]), None);
    assert_eq!(moments(Family::HalfCauchy, &[1.0]), None);
    assert_eq!(moments(Family::StudentT, &[2.0, 0.0, 1.0]), None);
    assert_eq!(moments(Family::InverseGamma, &[2.0, 1.0]), None);
    assert_eq!(moments(Family::Normal, &[0.0, -1.0]), None);
    assert_eq!(moments(Family::Normal, &[0.0]), None);
}

// ---- Distribution functions ----------------------------------------------------------

/// Compares `N` draws with the distribution function `cdf` by the Kolmogorov–Smirnov
/// distance, evaluated at the 1000 points where `cdf` is `j / 1000` (a lower bound of the
/// full distance, so the level is still at most [`ALPHA`], found without sorting), against
/// the asymptotic critical value.
fn check_cdf(family: Family, args: &[f64], seed: u64, cdf: impl Fn(f64) -> f64) {
    const BINS: usize = 1000;
    let xs = draws(family, args, N, seed);
    assert_in_support(family, args, &xs);
    let mut counts = [0usize; BINS];
    for &x in &xs {
        let u = cdf(x);
        assert!((0.0..=1.0).contains(&u), "cdf({x}) = {u}");
        counts[((u * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let n = N as f64;
    let mut below = 0;
    let mut distance: f64 = 0.0;
    for (j, count) in counts.iter().enumerate() {
        below += count;
        distance = distance.max((below as f64 / n - (j + 1) as f64 / BINS as f64).abs());
    }
    let critical = ((2.0 / ALPHA).ln() / (2.0 * n)).sqrt();
    assert!(
        distance < critical,
        "{family:?}{args:?}: KS distance {distance:.5} >= {critical:.5}"
    );
}

fn cauchy_cdf(mu: f64, sigma: f64) -> impl Fn(f64) -> f64 {
    move |x| 0.5 + ((x - mu) / sigma).atan() / PI
}

#[test]
fn cauchy_distribution_function() {
    check_cdf(Family::Cauchy, &[0.0, 1.0], 1, cauchy_cdf(0.0, 1.0));
    check_cdf(Family::Cauchy, &[5.0, 0.1], 2, cauchy_cdf(5.0, 0.1));
    for (seed, sigma) in [(3, 1.0), (4, 3.0)] {
        check_cdf(Family::HalfCauchy, &[sigma], seed, move |x| {
            2.0 / PI * (x / sigma).atan()
        });
    }
}

#[test]
fn student_t_without_variance_distribution_function() {
    // nu = 1 is the Cauchy distribution; nu = 2 and 3 have closed-form distribution functions.
    check_cdf(Family::StudentT, &[1.0, 2.0, 3.0], 5, cauchy_cdf(2.0, 3.0));
    for (seed, mu, sigma) in [(6, 0.0, 1.0), (7, -1.0, 4.0)] {
        check_cdf(Family::StudentT, &[2.0, mu, sigma], seed, move |x| {
            let z = (x - mu) / sigma;
            0.5 + z / (2.0 * (2.0 + z * z).sqrt())
        });
    }
    check_cdf(Family::StudentT, &[3.0, 1.0, 0.5], 8, |x| {
        let z = (x - 1.0) / 0.5;
        let r = z / 3f64.sqrt();
        0.5 + (r / (1.0 + r * r) + r.atan()) / PI
    });
}

#[test]
fn closed_form_distribution_functions() {
    check_cdf(Family::Exponential, &[2.0], 9, |x| -(-2.0 * x).exp_m1());
    // Gamma(1, beta) is Exponential(beta): checks that beta is a rate.
    check_cdf(Family::Gamma, &[1.0, 3.0], 10, |x| -(-3.0 * x).exp_m1());
    // InverseGamma(1, beta) has no mean; its distribution function is exp(-beta / x).
    check_cdf(Family::InverseGamma, &[1.0, 2.0], 11, |x| (-2.0 / x).exp());
    check_cdf(Family::Uniform, &[-1.0, 3.0], 12, |x| (x + 1.0) / 4.0);
    check_cdf(Family::Beta, &[0.3, 1.0], 13, |x| x.powf(0.3));
    check_cdf(Family::Beta, &[1.0, 4.0], 14, |x| 1.0 - (1.0 - x).powi(4));
}

// ---- Categorical -------------------------------------------------------------------

/// The upper `ALPHA` quantile of a chi-square distribution with `df` degrees of freedom,
/// by the Wilson–Hilferty approximation (accurate to a few percent at these levels).
fn chi_square_critical(df: usize) -> f64 {
    let z = 4.753; // The upper 1e-6 quantile of the standard normal.
    let k = df as f64;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

fn check_categorical(weights: &[f64], kind: CategoricalArgs, probabilities: &[f64], seed: u64) {
    let mut rng = rng(seed);
    let mut counts = vec![0usize; weights.len()];
    for _ in 0..N {
        match draw_categorical(weights, kind, &mut rng) {
            Ok(k) => counts[k] += 1,
            Err(e) => panic!("{weights:?}: {e}"),
        }
    }
    let n = N as f64;
    let mut chi_square = 0.0;
    let mut cells = 0;
    for (k, (&count, &p)) in counts.iter().zip(probabilities).enumerate() {
        if p == 0.0 {
            assert_eq!(count, 0, "{weights:?}: category {k} has probability 0");
        } else {
            let expected = n * p;
            chi_square += (count as f64 - expected).powi(2) / expected;
            cells += 1;
        }
    }
    if cells > 1 {
        let critical = chi_square_critical(cells - 1);
        assert!(
            chi_square < critical,
            "{weights:?}: counts {counts:?}, chi-square {chi_square:.1} >= {critical:.1}"
        );
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|x| x / total).collect()
}

#[test]
fn categorical_frequencies() {
    let p = CategoricalArgs::Probabilities;
    for (seed, probabilities) in [
        vec![0.1, 0.2, 0.3, 0.4],
        vec![0.5, 0.0, 0.25, 0.25],
        vec![1e-3, 0.999],
        vec![1.0],
        vec![0.0, 0.0, 1.0],
    ]
    .iter()
    .enumerate()
    {
        check_categorical(probabilities, p, probabilities, 20 + seed as u64);
    }
    // A simplex off by rounding is accepted.
    let third = [1.0 / 3.0 + 1e-10, 1.0 / 3.0, 1.0 / 3.0];
    check_categorical(&third, p, &[1.0 / 3.0; 3], 30);

    let l = CategoricalArgs::Logits;
    let inf = f64::INFINITY;
    for (seed, logits) in [
        vec![0.0, 1.0, 2.0, -1.0],
        vec![1000.0, 1001.0, -inf, 999.0],
        vec![-1e300, 1e300, 0.0],
        vec![-inf, 0.0],
        vec![-inf, -800.0, -inf, -801.0],
        vec![5.0, -30.0],
    ]
    .iter()
    .enumerate()
    {
        check_categorical(logits, l, &softmax(logits), 40 + seed as u64);
    }
}

#[test]
fn categorical_errors() {
    let mut rng = rng(0);
    let p = CategoricalArgs::Probabilities;
    let l = CategoricalArgs::Logits;
    let mut err = |w: &[f64], kind| match draw_categorical(w, kind, &mut rng) {
        Ok(k) => panic!("{w:?} drew {k}"),
        Err(e) => e,
    };
    assert_eq!(err(&[], p), DrawError::NoCategories);
    assert_eq!(err(&[], l), DrawError::NoCategories);
    assert_eq!(err(&[0.5, 0.6], p), DrawError::NotSimplex { sum: 1.1 });
    assert!(matches!(
        err(&[0.5, 0.5 - 1e-7], p),
        DrawError::NotSimplex { .. }
    ));
    let weight = |argument, index, value: f64, requirement| DrawError::Weight {
        argument,
        index,
        value,
        requirement,
    };
    assert_eq!(
        err(&[1.5, -0.5], p),
        weight("p", 1, -0.5, Requirement::NonNegative)
    );
    assert!(matches!(
        err(&[0.5, f64::NAN], p),
        DrawError::Weight {
            index: 1,
            requirement: Requirement::Number,
            ..
        }
    ));
    assert_eq!(
        err(&[0.0, f64::INFINITY], l),
        weight("logits", 1, f64::INFINITY, Requirement::Finite)
    );
    assert_eq!(
        err(&[f64::NEG_INFINITY; 3], l),
        DrawError::NoPossibleCategory
    );
    assert_eq!(
        err(&[], p).to_string(),
        "Categorical needs at least one category, got none"
    );
    assert_eq!(
        err(&[1.5, -0.5], p).to_string(),
        "`p[1]` of Categorical must be >= 0, got -0.5"
    );
}

// ---- Supports at extreme arguments ---------------------------------------------------

#[test]
fn draws_stay_in_support_at_extreme_arguments() {
    let one_between = [1.0, 1f64.next_up().next_up()];
    let cases: &[(Family, &[f64])] = &[
        (Family::Normal, &[0.0, 1e308]),
        (Family::Normal, &[1e308, 1e308]),
        (Family::HalfNormal, &[1e-300]),
        (Family::HalfNormal, &[5e-324]),
        (Family::StudentT, &[0.05, 0.0, 1.0]),
        (Family::StudentT, &[5e-324, 0.0, 1.0]),
        (Family::StudentT, &[1e300, 0.0, 1.0]),
        (Family::Cauchy, &[0.0, 1e300]),
        (Family::HalfCauchy, &[1e-320]),
        (Family::LogNormal, &[0.0, 50.0]),
        (Family::LogNormal, &[-700.0, 10.0]),
        (Family::Exponential, &[1e300]),
        (Family::Exponential, &[1e-300]),
        (Family::Gamma, &[1e-3, 1.0]),
        (Family::Gamma, &[1e-5, 1e5]),
        (Family::Gamma, &[5e-324, 1.0]),
        (Family::Gamma, &[1e300, 1e-300]),
        (Family::InverseGamma, &[0.01, 1.0]),
        (Family::InverseGamma, &[1e-300, 1e300]),
        (Family::Beta, &[0.01, 0.01]),
        (Family::Beta, &[1e-3, 5.0]),
        (Family::Beta, &[5.0, 1e-3]),
        (Family::Beta, &[1e-300, 1e-300]),
        (Family::Beta, &[1e300, 1e300]),
        (Family::Uniform, &one_between),
        (Family::Uniform, &[-1e308, 1e308]),
        (Family::Uniform, &[1e16, 1e16 + 4.0]),
        (Family::BernoulliLogits, &[800.0]),
        (Family::BernoulliLogits, &[-800.0]),
        (Family::BernoulliLogits, &[f64::INFINITY]),
        (Family::BernoulliLogits, &[f64::NEG_INFINITY]),
        (Family::BernoulliP, &[5e-324]),
        (Family::BinomialP, &[MAX_TRIALS, 0.5]),
        (Family::BinomialP, &[MAX_TRIALS, 1e-300]),
        (Family::BinomialP, &[1e6, 1.0 - 1e-16]),
        (Family::BinomialLogits, &[MAX_TRIALS, 800.0]),
        (Family::BinomialLogits, &[7.0, f64::NEG_INFINITY]),
        (Family::PoissonRate, &[MAX_POISSON_RATE]),
        (Family::PoissonRate, &[0.0]),
        (Family::PoissonRate, &[5e-324]),
        (Family::PoissonLogRate, &[f64::NEG_INFINITY]),
        (Family::PoissonLogRate, &[MAX_POISSON_RATE.ln()]),
        (Family::VonMises, &[PI, 1e7]),
        (Family::VonMises, &[-1e300, 1e-300]),
        (Family::VonMises, &[0.0, 1e300]),
        (Family::ExGaussian, &[0.0, 1e-300, 1e-300]),
        (Family::ExGaussian, &[1e300, 1e300, 1e300]),
        (Family::SkewNormal, &[0.0, 1e300, -1e300]),
        (Family::SkewNormal, &[0.0, 1e-300, 1e300]),
        (Family::Wald, &[1e300, 1e-300]),
        (Family::Wald, &[1e-300, 1e300]),
        (Family::Wald, &[1.0, 1e-300]),
        (Family::Logistic, &[0.0, 1e300]),
        (Family::Laplace, &[1e300, 1e300]),
        (Family::Gumbel, &[-1e300, 1e300]),
    ];
    for (i, &(family, args)) in cases.iter().enumerate() {
        let xs = draws(family, args, 2_000, 500 + i as u64);
        assert_in_support(family, args, &xs);
    }
    // Degenerate cases are exact.
    assert!(draws(Family::Uniform, &one_between, 100, 1)
        .iter()
        .all(|&x| x == 1f64.next_up()));
    let zero = draws(Family::PoissonLogRate, &[f64::NEG_INFINITY], 100, 2);
    assert!(zero.iter().all(|&x| x == 0.0));
    let all = draws(Family::BinomialLogits, &[7.0, f64::INFINITY], 100, 3);
    assert!(all.iter().all(|&x| x == 7.0));
    let none = draws(Family::BernoulliLogits, &[-800.0], 100, 4);
    assert!(none.iter().all(|&x| x == 0.0));
}

// ---- Errors --------------------------------------------------------------------------

fn error(family: Family, args: &[f64]) -> DrawError {
    match draw(family, args, &mut rng(0)) {
        Ok(x) => panic!("{family:?}{args:?} drew {x}"),
        Err(e) => e,
    }
}

fn argument_error(family: Family, args: &[f64], argument: &'static str, requirement: Requirement) {
    match error(family, args) {
        DrawError::Argument {
            argument: a,
            requirement: r,
            family: name,
            ..
        } => {
            assert_eq!(
                (a, r, name),
                (argument, requirement, family.name()),
                "{args:?}"
            );
        }
        e => panic!("{family:?}{args:?}: {e}"),
    }
}

#[test]
fn invalid_arguments_are_errors_that_name_them() {
    use Requirement as R;
    assert_eq!(
        error(Family::Normal, &[0.0, -1.0]).to_string(),
        "`sigma` of Normal must be > 0, got -1"
    );
    assert_eq!(
        error(Family::Normal, &[0.0]).to_string(),
        "Normal takes 2 argument(s), got 1"
    );
    argument_error(Family::Normal, &[f64::INFINITY, 1.0], "mu", R::Finite);
    argument_error(Family::Normal, &[0.0, f64::INFINITY], "sigma", R::Finite);
    argument_error(Family::Normal, &[0.0, 0.0], "sigma", R::Positive);
    argument_error(Family::StudentT, &[-1.0, 0.0, 1.0], "nu", R::Positive);
    argument_error(Family::Gamma, &[1.0, 0.0], "beta", R::Positive);
    argument_error(
        Family::Beta,
        &[f64::NEG_INFINITY, 1.0],
        "alpha",
        R::Positive,
    );
    argument_error(Family::Exponential, &[-2.0], "rate", R::Positive);
    argument_error(Family::BernoulliP, &[1.5], "p", R::Probability);
    argument_error(Family::BernoulliP, &[-1e-300], "p", R::Probability);
    argument_error(Family::BinomialP, &[2.5, 0.5], "n", R::WholeNumber);
    argument_error(Family::BinomialP, &[-1.0, 0.5], "n", R::NonNegative);
    argument_error(Family::BinomialP, &[1e300, 0.5], "n", R::AtMost(MAX_TRIALS));
    argument_error(
        Family::BinomialP,
        &[f64::INFINITY, 0.5],
        "n",
        R::AtMost(MAX_TRIALS),
    );
    argument_error(
        Family::BinomialLogits,
        &[3.0, f64::NAN],
        "logits",
        R::Number,
    );
    argument_error(
        Family::PoissonRate,
        &[1e300],
        "rate",
        R::AtMost(MAX_POISSON_RATE),
    );
    argument_error(Family::PoissonRate, &[-0.5], "rate", R::NonNegative);
    argument_error(
        Family::PoissonLogRate,
        &[40.0],
        "log_rate",
        R::AtMost(MAX_POISSON_RATE.ln()),
    );
    assert_eq!(
        error(Family::Uniform, &[1.0, 1.0]),
        DrawError::EmptyInterval {
            lower: 1.0,
            upper: 1.0
        }
    );
    assert!(matches!(
        error(Family::Uniform, &[1.0, 1f64.next_up()]),
        DrawError::EmptyInterval { .. }
    ));
    // NaN in any argument of any family names that argument.
    for family in Family::ALL {
        for i in 0..family.arity() {
            let mut args = vec![1.0; family.arity()];
            if family == Family::Uniform {
                args[0] = 0.0;
            }
            if family == Family::Wiener {
                args[2] = 0.5;
            }
            if family == Family::WienerBoundary {
                args[1] = 0.5;
            }
            args[i] = f64::NAN;
            argument_error(family, &args, family.argument_names()[i], R::Number);
        }
        assert!(matches!(
            error(family, &vec![0.5; family.arity() + 1]),
            DrawError::Arity { .. }
        ));
    }
}

/// Arguments that mix arbitrary `f64`s (NaN, infinities, subnormals) with values in the
/// families' domains, so both valid and invalid combinations are common.
fn argument() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -5.0..5.0f64,
        0.0..1.0f64,
        (0u32..2000).prop_map(f64::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            5e-324,
            1e-300,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            MAX_TRIALS,
            MAX_POISSON_RATE,
        ]),
    ]
}

/// A family with mostly the right number of arguments.
fn family_and_arguments() -> impl Strategy<Value = (Family, Vec<f64>)> {
    prop::sample::select(Family::ALL.to_vec())
        .prop_flat_map(|family| {
            let len = prop_oneof![9 => Just(family.arity()), 1 => 0..4usize];
            (Just(family), len)
        })
        .prop_flat_map(|(family, len)| (Just(family), prop::collection::vec(argument(), len)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_arguments_give_a_draw_in_support_or_an_error(
        (family, args) in family_and_arguments(),
        seed in any::<u64>(),
    ) {
        let mut rng = rng(seed);
        match draw(family, &args, &mut rng) {
            Ok(x) => prop_assert!(in_support(family, &args, x), "{:?}{:?} drew {}", family, args, x),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = moments(family, &args);
    }

    #[test]
    fn any_weights_give_a_category_or_an_error(
        weights in prop::collection::vec(argument(), 0..6),
        logits in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let kind = if logits { CategoricalArgs::Logits } else { CategoricalArgs::Probabilities };
        if let Ok(k) = draw_categorical(&weights, kind, &mut rng(seed)) {
            prop_assert!(k < weights.len());
            // A category with zero probability is never drawn.
            let impossible = if logits { weights[k] == f64::NEG_INFINITY } else { weights[k] == 0.0 };
            prop_assert!(!impossible, "{:?} drew {}", weights, k);
        }
    }
}

// ---- Reproducibility ------------------------------------------------------------------

#[test]
fn the_same_generator_state_gives_the_same_draws() {
    let cases: &[(Family, &[f64])] = &[
        (Family::StudentT, &[3.0, 0.0, 1.0]),
        (Family::Beta, &[0.5, 2.0]),
        (Family::BinomialLogits, &[100.0, 0.3]),
        (Family::PoissonRate, &[40.0]),
    ];
    for &(family, args) in cases {
        assert_eq!(draws(family, args, 50, 7), draws(family, args, 50, 7));
        assert_ne!(draws(family, args, 50, 7), draws(family, args, 50, 8));
    }
    let mut a = rng(9);
    let mut b = rng(9);
    for _ in 0..50 {
        assert_eq!(
            draw_categorical(&[0.2, 0.3, 0.5], CategoricalArgs::Probabilities, &mut a),
            draw_categorical(&[0.2, 0.3, 0.5], CategoricalArgs::Probabilities, &mut b),
        );
    }
}

/// The LBA's closed forms (Brown & Heathcote 2008), written out here independently of
/// the model's log density: accumulator `acc`'s finishing-time density and survivor at `t`.
fn lba_pdf_survivor(acc: &rlc_random::Accumulator, t: f64) -> (f64, f64) {
    let cdf = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let pdf = |z: f64| (-0.5 * z * z).exp() / (2.0 * PI).sqrt();
    let psi = |z: f64| z * cdf(z) + pdf(z);
    let b = acc.a + acc.d;
    let sigma = t * acc.s;
    let hi = (b - t * acc.v) / sigma;
    let lo = (b - acc.a - t * acc.v) / sigma;
    let density = (acc.v * (cdf(hi) - cdf(lo)) + acc.s * (pdf(lo) - pdf(hi))) / acc.a;
    (density, sigma / acc.a * (psi(hi) - psi(lo)))
}

#[test]
fn lba_draws_give_each_response_and_time_its_probability() {
    use rlc_random::Accumulator;
    let acc = |d, a, v, s| Accumulator { d, a, v, s };
    let cases: &[&[Accumulator]] = &[
        &[acc(1.0, 0.5, 2.0, 1.0), acc(1.0, 0.5, 1.0, 1.0)],
        // Mostly negative drifts: most trials are drawn given that one is positive.
        &[
            acc(0.5, 1.0, -1.0, 1.0),
            acc(0.5, 1.0, -1.5, 1.0),
            acc(0.5, 1.0, 0.2, 0.5),
        ],
        &[acc(0.2, 2.0, 4.0, 0.3), acc(0.2, 2.0, 3.5, 0.3)],
    ];
    for (case, accs) in cases.iter().enumerate() {
        let mut rng = rng(40 + case as u64);
        let mut times = vec![0.0; accs.len()];
        let mut draws = Vec::with_capacity(N);
        for _ in 0..N {
            rlc_random::draw_lba_finish_times(accs, &mut times, &mut rng).expect("drawn");
            let (k, t) = times
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("accumulators");
            assert!(t.is_finite() && t > 0.0, "case {case}: time {t}");
            draws.push((k, t));
        }
        let positive: f64 = 1.0
            - accs
                .iter()
                .map(|a| 0.5 * libm::erfc(a.v / a.s / std::f64::consts::SQRT_2))
                .product::<f64>();
        // P(response k, time <= c) by Simpson's rule over (0, c] in u = t / (1 + t).
        let probability = |k: usize, c: f64| {
            let steps = 20_000;
            let top = c / (1.0 + c);
            let h = top / steps as f64;
            let f = |u: f64| {
                if u <= 0.0 {
                    return 0.0;
                }
                let t = u / (1.0 - u);
                let mut g = lba_pdf_survivor(&accs[k], t).0;
                for (j, a) in accs.iter().enumerate() {
                    if j != k {
                        g *= lba_pdf_survivor(a, t).1;
                    }
                }
                g / ((1.0 - u) * (1.0 - u))
            };
            let mut s = f(top);
            for i in 1..steps {
                s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(i as f64 * h);
            }
            s * h / 3.0 / positive
        };
        let mut sorted: Vec<f64> = draws.iter().map(|d| d.1).collect();
        sorted.sort_by(f64::total_cmp);
        let mut total = 0.0;
        for k in 0..accs.len() {
            total += probability(k, 1e6);
            for q in [0.1, 0.5, 0.9, 0.999] {
                let c = sorted[(q * N as f64) as usize];
                let p = probability(k, c);
                let seen = draws.iter().filter(|d| d.0 == k && d.1 <= c).count() as f64 / N as f64;
                let se = (p * (1.0 - p) / N as f64).sqrt().max(1e-9);
                assert!(
                    ((seen - p) / se).abs() < Z_MAX,
                    "case {case}, response {k}, time <= {c}: {seen} drawn, {p} expected"
                );
            }
        }
        assert!(
            (total - 1.0).abs() < 1e-3,
            "case {case}: the density's mass {total}"
        );
    }
}

#[test]
fn lba_draws_refuse_invalid_arguments_and_hopeless_drifts() {
    use rlc_random::Accumulator;
    let mut rng = rng(9);
    let mut times = [0.0; 2];
    let ok = Accumulator {
        d: 1.0,
        a: 0.5,
        v: 1.0,
        s: 1.0,
    };
    let bad = Accumulator { a: -0.5, ..ok };
    let err =
        rlc_random::draw_lba_finish_times(&[ok, bad], &mut times, &mut rng).expect_err("refused");
    assert_eq!(err.to_string(), "`A` of LBA must be > 0, got -0.5");
    let hopeless = Accumulator { v: -60.0, ..ok };
    let err = rlc_random::draw_lba_finish_times(&[hopeless, hopeless], &mut times, &mut rng)
        .expect_err("refused");
    assert!(matches!(err, DrawError::NoPositiveDrift), "{err}");
    // One drift of 40 standard deviations below 0 beside a likely one: still drawn.
    let far = Accumulator { v: -40.0, ..ok };
    for _ in 0..100 {
        rlc_random::draw_lba_finish_times(&[far, ok], &mut times, &mut rng).expect("drawn");
        assert!(times[0].is_infinite() && times[1].is_finite());
    }
    // Only a far-fetched drift can be positive: it is, given a response.
    let lone = Accumulator { v: -8.0, ..ok };
    rlc_random::draw_lba_finish_times(&[lone, hopeless], &mut times, &mut rng).expect("drawn");
    assert!(times[0].is_finite() && times[1].is_infinite());
    assert!(rlc_random::draw_lba_finish_times(&[], &mut [], &mut rng).is_err());
}
