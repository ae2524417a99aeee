//! Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari and
//! Gelman 2018): the rank of each true value among its posterior draws is
//! uniform when the sampler and the model are right. This module tests a
//! set of ranks for uniformity three ways: the chi-square of a histogram,
//! and the z-scores of the ranks' mean and variance (which catch the bias
//! and the over- or under-dispersion a histogram test misses at small
//! counts).

/// The uniformity tests of ranks in `0..=max_rank`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankTest {
    /// Counts of ranks in equal-width bins of `0..=max_rank`.
    pub bins: Vec<usize>,
    /// Pearson's chi-square of the bins against equal counts.
    pub chi_square: f64,
    /// Its p-value (chi-square with `bins - 1` degrees of freedom).
    pub p_value: f64,
    /// z-score of the mean scaled rank against 1/2 (positive: truth above
    /// the posterior too often, the posterior is biased low).
    pub z_mean: f64,
    /// z-score of the scaled ranks' variance against 1/12 (positive: too
    /// many extreme ranks, the posterior is too narrow).
    pub z_variance: f64,
    /// How much the ranks' correlation within a fit inflates the tests'
    /// variance (Kish's design effect, `1 + (m - 1) ICC`, from the scaled
    /// ranks' intraclass correlation; 1 for independent ranks). The
    /// statistics above are corrected by it.
    pub design_effect: f64,
}

/// Tests ranks for uniformity with `bins` bins: each rank is `(rank, of)`, in
/// `0..=of` (the truth's rank among `of` posterior draws). Fits need not rank
/// among equally many draws (a chain that failed leaves fewer): each rank is
/// scaled by its own count. Empty input gives NaN statistics.
pub fn rank_uniformity(ranks: &[(usize, usize)], bins: usize) -> RankTest {
    let each_its_own: Vec<usize> = (0..ranks.len()).collect();
    rank_uniformity_clustered(ranks, &each_its_own, bins)
}

/// [`rank_uniformity`] of ranks that come in clusters (`cluster[i]` is rank
/// i's: the fit it comes from). The elements of one fit of a hierarchical
/// model share its hyperparameters, so their ranks are correlated even when
/// all is calibrated, and a test that took them as independent would flag
/// too often; the tests are corrected by the design effect that the ranks'
/// intraclass correlation gives.
pub fn rank_uniformity_clustered(
    ranks: &[(usize, usize)],
    cluster: &[usize],
    bins: usize,
) -> RankTest {
    let bins = bins.max(2);
    let mut counts = vec![0usize; bins];
    for &(r, of) in ranks {
        counts[(r.min(of) * bins / (of + 1)).min(bins - 1)] += 1;
    }
    let n = ranks.len() as f64;
    let expected = n / bins as f64;
    let chi_square: f64 = counts
        .iter()
        .map(|c| (*c as f64 - expected).powi(2) / expected)
        .sum();
    // Scaled ranks are uniform on (0, 1): mean 1/2, variance 1/12, fourth
    // central moment 1/80.
    let u: Vec<f64> = ranks
        .iter()
        .map(|&(r, of)| (r.min(of) as f64 + 0.5) / (of + 1) as f64)
        .collect();
    let mean = u.iter().sum::<f64>() / n;
    let var = u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let deff = design_effect(&u, cluster);
    let chi_square = chi_square / deff;
    RankTest {
        p_value: chi_square_survival(chi_square, (bins - 1) as f64),
        chi_square,
        bins: counts,
        z_mean: (mean - 0.5) / (1.0 / 12.0 / n).sqrt() / deff.sqrt(),
        z_variance: (var - 1.0 / 12.0) / ((1.0 / 80.0 - 1.0 / 144.0) / n).sqrt() / deff.sqrt(),
        design_effect: deff,
    }
}

/// Kish's design effect `1 + (m - 1) ICC` of values `u` in clusters: `m`
/// the mean cluster size, `ICC` the one-way ANOVA estimate of the intraclass
/// correlation (clamped to [0, 1]). 1 when every cluster has one value.
fn design_effect(u: &[f64], cluster: &[usize]) -> f64 {
    let mut groups: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for (x, c) in u.iter().zip(cluster) {
        groups.entry(*c).or_default().push(*x);
    }
    let (n, k) = (u.len() as f64, groups.len() as f64);
    if k < 2.0 || n <= k {
        return 1.0;
    }
    let grand = u.iter().sum::<f64>() / n;
    let (mut between, mut within, mut squares) = (0.0, 0.0, 0.0);
    for values in groups.values() {
        let m = values.len() as f64;
        let mean = values.iter().sum::<f64>() / m;
        between += m * (mean - grand).powi(2);
        within += values.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        squares += m * m;
    }
    let (msb, msw) = (between / (k - 1.0), within / (n - k));
    let m0 = (n - squares / n) / (k - 1.0);
    let denominator = msb + (m0 - 1.0) * msw;
    let icc = if denominator > 0.0 {
        ((msb - msw) / denominator).clamp(0.0, 1.0)
    } else {
        0.0
    };
    1.0 + (n / k - 1.0) * icc
}

/// `P(X > x)` for a chi-square `X` with `df` degrees of freedom: the
/// regularized upper incomplete gamma function `Q(df/2, x/2)`.
pub fn chi_square_survival(x: f64, df: f64) -> f64 {
    if !(x.is_finite() && df > 0.0) {
        return if x == f64::INFINITY { 0.0 } else { f64::NAN };
    }
    if x <= 0.0 {
        return 1.0;
    }
    upper_gamma_regularized(df / 2.0, x / 2.0)
}

/// `Q(a, x)`: by its series below `a + 1`, else by Lentz's continued fraction
/// (Numerical Recipes §6.2), to about 1e-14.
fn upper_gamma_regularized(a: f64, x: f64) -> f64 {
    let log_prefix = a * x.ln() - x - libm::lgamma(a);
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut ap = a;
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (1.0 - sum * log_prefix.exp()).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (log_prefix.exp() * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_survival_matches_tables() {
        // Known quantiles: P(X > q) for the given df.
        for (q, df, p) in [
            (27.877, 9.0, 0.001),
            (16.919, 9.0, 0.05),
            (3.841, 1.0, 0.05),
            (0.0158, 1.0, 0.9),
            (124.342, 100.0, 0.05),
        ] {
            let got = chi_square_survival(q, df);
            assert!(
                (got - p).abs() < 2e-4 * p.max(0.01) * 10.0,
                "{q} {df}: {got} vs {p}"
            );
        }
    }

    #[test]
    fn uniform_ranks_pass_and_biased_ranks_fail() {
        let uniform: Vec<(usize, usize)> = (0..1000).map(|i| ((i * 37) % 100, 99)).collect();
        let t = rank_uniformity(&uniform, 10);
        assert!(t.p_value > 0.5 && t.z_mean.abs() < 1.0, "{t:?}");
        let biased: Vec<(usize, usize)> = (0..1000).map(|i| (((i * 37) % 100) / 2, 99)).collect();
        let t = rank_uniformity(&biased, 10);
        assert!(t.p_value < 1e-6 && t.z_mean < -10.0, "{t:?}");
    }

    #[test]
    fn ranks_correlated_within_fits_are_not_taken_as_independent() {
        // 4 fits of 150 subjects, each fit's ranks close together (they
        // share its hyperparameters), the fits spread over the range as
        // calibration has them: pooled as independent, the 600 ranks fill 4
        // bins of 10 and look far from uniform; corrected, 4 fits say little.
        let mut ranks = Vec::new();
        let mut fits = Vec::new();
        for (f, shift) in [5usize, 30, 55, 80].into_iter().enumerate() {
            for s in 0..150usize {
                ranks.push((shift + s % 5, 99));
                fits.push(f);
            }
        }
        let naive = rank_uniformity(&ranks, 10);
        let corrected = rank_uniformity_clustered(&ranks, &fits, 10);
        assert!(naive.p_value < 1e-3, "{naive:?}");
        assert!(corrected.design_effect > 5.0, "{corrected:?}");
        assert!(corrected.p_value > 1e-3, "{corrected:?}");
        // Independent ranks in clusters: no correction, the bias still found.
        let biased: Vec<(usize, usize)> = (0..1000).map(|i| (((i * 37) % 100) / 2, 99)).collect();
        let clusters: Vec<usize> = (0..1000).map(|i| i / 10).collect();
        let t = rank_uniformity_clustered(&biased, &clusters, 10);
        assert!(t.design_effect < 1.5 && t.p_value < 1e-6, "{t:?}");
    }

    #[test]
    fn ranks_among_different_numbers_of_draws_are_scaled_each_by_its_own() {
        // Uniform ranks among 100 draws, and uniform ranks among 50: together
        // uniform. Binning them all by one count would pile the short ones
        // into the lower half.
        let mut ranks: Vec<(usize, usize)> = (0..500).map(|i| ((i * 37) % 100, 99)).collect();
        ranks.extend((0..500).map(|i| ((i * 37) % 50, 49)));
        let t = rank_uniformity(&ranks, 10);
        assert!(t.p_value > 0.5 && t.z_mean.abs() < 1.0, "{t:?}");
        assert!(t.bins.iter().all(|&c| c == 100), "{t:?}");
    }
}
