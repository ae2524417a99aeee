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
}

/// Tests ranks for uniformity with `bins` bins: each rank is `(rank, of)`, in
/// `0..=of` (the truth's rank among `of` posterior draws). Fits need not rank
/// among equally many draws (a chain that failed leaves fewer): each rank is
/// scaled by its own count. Empty input gives NaN statistics.
pub fn rank_uniformity(ranks: &[(usize, usize)], bins: usize) -> RankTest {
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
    RankTest {
        p_value: chi_square_survival(chi_square, (bins - 1) as f64),
        chi_square,
        bins: counts,
        z_mean: (mean - 0.5) / (1.0 / 12.0 / n).sqrt(),
        z_variance: (var - 1.0 / 12.0) / ((1.0 / 80.0 - 1.0 / 144.0) / n).sqrt(),
    }
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
