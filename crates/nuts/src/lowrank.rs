//! The low-rank correction of the gradient-based diagonal metric (nutpie's "low-rank
//! modified mass matrix", Seyboldt, Carlson & Carpenter 2026, arXiv:2603.18845).
//!
//! With the diagonal metric `D = diag(s^2)` the sampler moves in the scaled coordinates
//! `z = x / s`, where a Gaussian posterior has covariance `S^-1 Σ S^-1`. The correction
//! estimates that scaled covariance, inside the span of the recent draws and gradients,
//! as the symmetric positive definite `C` with `C Cg C = Cx`, where `Cx` and `Cg` are the
//! (regularized) covariances of the scaled draws and gradients: for a Gaussian the
//! gradients' covariance is the inverse of the draws', so `C` is exact, and in general it
//! minimizes the Fisher divergence. The eigen-directions `u` of `C` whose eigenvalues `λ`
//! lie outside `[1 / cutoff, cutoff]` (where the diagonal metric is furthest off) are
//! kept, and the inverse mass matrix becomes
//! `M^-1 = S (I + U (Λ - I) U') S`, applied in `O(dk)` for `k` kept directions.

use crate::settings::LowRankSettings;

/// Orthonormal directions in the scaled coordinates and the posterior variance along
/// each (the eigenvalues of the scaled covariance that replace 1 along them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LowRank {
    /// Unit vectors of length `dim`, mutually orthogonal.
    pub vectors: Vec<Vec<f64>>,
    /// One eigenvalue per vector.
    pub values: Vec<f64>,
}

/// Recent draws and their gradients, kept for the low-rank estimate.
#[derive(Clone, Debug)]
pub(crate) struct DrawBuffer {
    dim: usize,
    draws: Vec<f64>,
    grads: Vec<f64>,
}

impl DrawBuffer {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            draws: Vec::new(),
            grads: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        self.draws.clear();
        self.grads.clear();
    }

    pub fn push(&mut self, position: &[f64], gradient: &[f64]) {
        self.draws.extend_from_slice(position);
        self.grads.extend_from_slice(gradient);
    }

    pub fn len(&self) -> usize {
        self.draws.len().checked_div(self.dim).unwrap_or(0)
    }

    /// The low-rank correction of the diagonal metric `inv_mass` from the draws held; see
    /// [`estimate_low_rank`].
    pub fn estimate(&self, inv_mass: &[f64], settings: &LowRankSettings) -> Option<LowRank> {
        estimate_low_rank(&self.draws, &self.grads, inv_mass, settings)
    }
}

/// The low-rank correction of the diagonal inverse mass matrix `inv_mass` estimated from
/// draws and gradients (`n * dim` values each, draw after draw). `None` when there are
/// fewer than two draws or the estimate is not finite; an empty [`LowRank`] when no
/// eigenvalue passes the cutoff.
pub fn estimate_low_rank(
    draws: &[f64],
    grads: &[f64],
    inv_mass: &[f64],
    settings: &LowRankSettings,
) -> Option<LowRank> {
    let dim = inv_mass.len();
    if dim == 0 || draws.len() != grads.len() || !draws.len().is_multiple_of(dim) {
        return None;
    }
    let n = draws.len() / dim;
    if n < 2 {
        return None;
    }
    let scale: Vec<f64> = inv_mass.iter().map(|m| m.sqrt()).collect();

    // Centered, scaled draws and gradients: columns of `dim` values.
    let centered = |values: &[f64], draws_side: bool| -> Vec<Vec<f64>> {
        let mut mean = vec![0.0; dim];
        for row in values.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        values
            .chunks_exact(dim)
            .map(|row| {
                row.iter()
                    .zip(&mean)
                    .zip(&scale)
                    .map(|((v, m), s)| if draws_side { (v - m) / s } else { (v - m) * s })
                    .collect()
            })
            .collect()
    };
    let x = centered(draws, true);
    let g = centered(grads, false);

    // An orthonormal basis of the span of the draws and gradients (the whole space when
    // there are enough of them to span it).
    let basis: Vec<Vec<f64>> = if 2 * n >= dim {
        (0..dim)
            .map(|i| {
                let mut e = vec![0.0; dim];
                e[i] = 1.0;
                e
            })
            .collect()
    } else {
        orthonormal_basis(x.iter().chain(&g), dim)
    };
    let r = basis.len();
    if r == 0 {
        return Some(LowRank::default());
    }

    // Covariances of the projections, regularized by `gamma * I`.
    let project = |columns: &[Vec<f64>]| -> Vec<Vec<f64>> {
        columns
            .iter()
            .map(|c| basis.iter().map(|b| dot(b, c)).collect())
            .collect()
    };
    let covariance = |projected: &[Vec<f64>]| -> Vec<f64> {
        let mut cov = vec![0.0; r * r];
        for p in projected {
            for i in 0..r {
                let pi = p[i];
                for j in 0..=i {
                    cov[i * r + j] += pi * p[j];
                }
            }
        }
        for i in 0..r {
            for j in 0..=i {
                let v = cov[i * r + j] / n as f64 + if i == j { settings.gamma } else { 0.0 };
                cov[i * r + j] = v;
                cov[j * r + i] = v;
            }
        }
        cov
    };
    let px = project(&x);
    let pg = project(&g);
    let cov_x = covariance(&px);
    let cov_g = covariance(&pg);

    // C = Cg^-1 # Cx (the geometric mean): with Cg = L L', C = L^-T (L' Cx L)^(1/2) L^-1.
    let l = cholesky(&cov_g, r)?;
    let mut middle = vec![0.0; r * r];
    // L' Cx L
    let mut cx_l = vec![0.0; r * r];
    for i in 0..r {
        for j in 0..r {
            cx_l[i * r + j] = (j..r).map(|k| cov_x[i * r + k] * l[k * r + j]).sum();
        }
    }
    for i in 0..r {
        for j in 0..r {
            middle[i * r + j] = (i..r).map(|k| l[k * r + i] * cx_l[k * r + j]).sum();
        }
    }
    symmetrize(&mut middle, r);
    let (values, vectors) = symmetric_eigen(&middle, r)?;
    // (L' Cx L)^(1/2) = V diag(sqrt(values)) V'
    let mut root = vec![0.0; r * r];
    for i in 0..r {
        for j in 0..=i {
            let v: f64 = (0..r)
                .map(|k| vectors[i * r + k] * values[k].max(0.0).sqrt() * vectors[j * r + k])
                .sum();
            root[i * r + j] = v;
            root[j * r + i] = v;
        }
    }
    // C = L^-T root L^-1: solve L' Y = root, then C = Y L^-1, i.e. L' C' = Y'.
    let y = solve_upper_transposed(&l, &root, r);
    let yt = transpose(&y, r);
    let ct = solve_upper_transposed(&l, &yt, r);
    let mut c = transpose(&ct, r);
    symmetrize(&mut c, r);
    let (values, vectors) = symmetric_eigen(&c, r)?;
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }

    // Keep the directions outside [1/cutoff, cutoff], furthest from 1 first, and only
    // those that the draws and gradients both inform. Whatever
    // the posterior, E[(u.x)(u.g)] = -|u|^2 (integration by parts), so the sample mean of
    // -(u.x)(u.g) is near 1 along a supported direction, and near 0 along one in which
    // the draws (or the gradients) have no spread, where the estimate would only reflect
    // the regularization (fewer draws than dimensions).
    let support = |k: usize| -> f64 {
        let along = |p: &Vec<f64>| (0..r).map(|j| vectors[j * r + k] * p[j]).sum::<f64>();
        -px.iter()
            .zip(&pg)
            .map(|(x, g)| along(x) * along(g))
            .sum::<f64>()
            / n as f64
    };
    let cutoff = settings.eigval_cutoff.max(1.0);
    let mut kept: Vec<usize> = (0..r)
        .filter(|&k| values[k] > 0.0 && (values[k] > cutoff || values[k] < 1.0 / cutoff))
        .filter(|&k| support(k) >= settings.min_support)
        .collect();
    kept.sort_by(|&a, &b| values[b].ln().abs().total_cmp(&values[a].ln().abs()));
    kept.truncate(settings.max_rank);
    let mut low_rank = LowRank::default();
    for k in kept {
        let mut u = vec![0.0; dim];
        for (j, b) in basis.iter().enumerate() {
            let w = vectors[j * r + k];
            for (u, b) in u.iter_mut().zip(b) {
                *u += w * b;
            }
        }
        let norm = dot(&u, &u).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return None;
        }
        u.iter_mut().for_each(|u| *u /= norm);
        low_rank.vectors.push(u);
        low_rank.values.push(values[k]);
    }
    Some(low_rank)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Modified Gram-Schmidt with one re-orthogonalization, dropping columns (nearly) in the
/// span of the earlier ones.
fn orthonormal_basis<'a>(columns: impl Iterator<Item = &'a Vec<f64>>, dim: usize) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for column in columns {
        if basis.len() == dim {
            break;
        }
        let norm0 = dot(column, column).sqrt();
        if !(norm0.is_finite() && norm0 > 0.0) {
            continue;
        }
        let mut v = column.clone();
        for _ in 0..2 {
            for b in &basis {
                let proj = dot(b, &v);
                for (v, b) in v.iter_mut().zip(b) {
                    *v -= proj * b;
                }
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-8 * norm0 {
            v.iter_mut().for_each(|v| *v /= norm);
            basis.push(v);
        }
    }
    basis
}

fn symmetrize(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (a[i * n + j] + a[j * n + i]);
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
}

fn transpose(a: &[f64], n: usize) -> Vec<f64> {
    let mut t = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            t[j * n + i] = a[i * n + j];
        }
    }
    t
}

/// The lower Cholesky factor `L` (row-major) of a symmetric positive definite matrix.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L' Y = B` for `Y` (all `n × n`, row-major), `L` lower triangular.
fn solve_upper_transposed(l: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n * n];
    for col in 0..n {
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k * n + i] * y[k * n + col]).sum();
            y[i * n + col] = (b[i * n + col] - s) / l[i * n + i];
        }
    }
    y
}

/// Eigenvalues (ascending) and eigenvectors (the columns of a row-major `n × n` matrix)
/// of a symmetric matrix: Householder reduction to tridiagonal form, then the implicit QL
/// algorithm (as in EISPACK's `tred2` and `tql2`). `None` if the iteration does not
/// converge or the input is not finite.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    if a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if n == 0 {
        return Some((Vec::new(), Vec::new()));
    }
    let mut v = a.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    let at = |i: usize, j: usize| i * n + j;

    // Householder tridiagonalization.
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for dk in &d[..i] {
            scale += dk.abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for dk in &mut d[..i] {
                *dk /= scale;
                h += *dk * *dk;
            }
            let f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in &mut e[..i] {
                *ej = 0.0;
            }
            for j in 0..i {
                let f = d[j];
                v[at(j, i)] = f;
                let mut g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            let mut f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let f = d[j];
                let g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;

    // Implicit QL on the tridiagonal matrix.
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > 60 {
                    return None;
                }
                let g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let h = g - d[l];
                for di in &mut d[l + 2..n] {
                    *di -= h;
                }
                f += h;

                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    let g = c * e[i];
                    let h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        let h = v[at(k, i + 1)];
                        v[at(k, i + 1)] = s * v[at(k, i)] + c * h;
                        v[at(k, i)] = c * v[at(k, i)] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    if d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    // Sort ascending, moving the vectors along.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]));
    let values = order.iter().map(|&k| d[k]).collect();
    let mut vectors = vec![0.0; n * n];
    for (new, &old) in order.iter().enumerate() {
        for row in 0..n {
            vectors[at(row, new)] = v[at(row, old)];
        }
    }
    Some((values, vectors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let z: f64 = StandardNormal.sample(&mut rng);
                a[i * n + j] = z;
                a[j * n + i] = z;
            }
        }
        a
    }

    #[test]
    fn eigen_decomposition_reconstructs_symmetric_matrices() {
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (7, 4), (40, 5), (120, 6)] {
            let a = random_symmetric(n, seed);
            let (values, vectors) = symmetric_eigen(&a, n).expect("converges");
            assert!(values.windows(2).all(|w| w[0] <= w[1]));
            for i in 0..n {
                for j in 0..n {
                    // A = V diag(values) V' and V'V = I.
                    let rebuilt: f64 = (0..n)
                        .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                        .sum();
                    assert!((rebuilt - a[i * n + j]).abs() < 1e-10, "n = {n}");
                    let gram: f64 = (0..n)
                        .map(|k| vectors[k * n + i] * vectors[k * n + j])
                        .sum();
                    let identity = if i == j { 1.0 } else { 0.0 };
                    assert!((gram - identity).abs() < 1e-10, "n = {n}");
                }
            }
        }
        // Repeated eigenvalues and a zero matrix.
        let (values, _) =
            symmetric_eigen(&[2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 5.0], 3).expect("converges");
        assert_eq!(values, vec![2.0, 2.0, 5.0]);
        let (values, _) = symmetric_eigen(&[0.0; 4], 2).expect("converges");
        assert_eq!(values, vec![0.0, 0.0]);
        assert!(symmetric_eigen(&[f64::NAN], 1).is_none());
    }

    /// Independent draws of a Gaussian with covariance `diag(sds) (I + (rho - 1) w w')
    /// diag(sds)`, `w` a unit vector: one planted direction with scaled variance `rho`.
    /// Returns the draws, the gradients, and `w`.
    fn planted(sds: &[f64], rho: f64, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let dim = sds.len();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut w: Vec<f64> = (0..dim).map(|i| 1.0 + (i % 3) as f64).collect();
        let norm = dot(&w, &w).sqrt();
        w.iter_mut().for_each(|w| *w /= norm);
        let mut draws = Vec::new();
        let mut grads = Vec::new();
        for _ in 0..n {
            let z: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
            // y = (I + (sqrt(rho) - 1) w w') z has covariance I + (rho - 1) w w'.
            let wz = dot(&w, &z);
            let y: Vec<f64> = z
                .iter()
                .zip(&w)
                .map(|(z, w)| z + (rho.sqrt() - 1.0) * wz * w)
                .collect();
            // The gradient in scaled coordinates is -(I + (1/rho - 1) w w') y; in the
            // original ones it is divided by the scale.
            let wy = dot(&w, &y);
            for i in 0..dim {
                draws.push(5.0 + sds[i] * y[i]);
                grads.push(-(y[i] + (1.0 / rho - 1.0) * wy * w[i]) / sds[i]);
            }
        }
        (draws, grads, w)
    }

    #[test]
    fn low_rank_recovers_a_planted_direction() {
        let settings = LowRankSettings::default();
        let cases = [
            (2, 10, 50.0),
            (10, 30, 20.0),
            (60, 80, 100.0),
            (60, 200, 0.01),
            (60, 20, 100.0),
            (60, 40, 0.02),
        ];
        for (dim, n, rho) in cases {
            let sds: Vec<f64> = (0..dim).map(|i| 0.1 * (1.0 + i as f64)).collect();
            let (draws, grads, w) = planted(&sds, rho, n, dim as u64);
            let inv_mass: Vec<f64> = sds.iter().map(|s| s * s).collect();
            let low_rank =
                estimate_low_rank(&draws, &grads, &inv_mass, &settings).expect("an estimate");
            assert_eq!(
                low_rank.values.len(),
                1,
                "dim {dim}, n {n}: {:?}",
                low_rank.values
            );
            let cosine = dot(&low_rank.vectors[0], &w).abs();
            assert!(cosine > 0.95, "dim {dim}, n {n}: cosine {cosine}");
            let value = low_rank.values[0];
            if n > dim {
                // More draws than dimensions: the draws and gradients of a Gaussian
                // determine its covariance, and the estimate is exact.
                assert!(
                    (value / rho - 1.0).abs() < 0.05,
                    "dim {dim}, n {n}: {value} vs {rho}"
                );
            } else {
                // Fewer: the draws do not span the space, the variance along the planted
                // direction is pulled toward the diagonal metric's 1, but stays far from it.
                let (lo, hi) = if rho > 1.0 {
                    (5.0, rho * 1.05)
                } else {
                    (rho * 0.95, 0.2)
                };
                assert!(
                    (lo..hi).contains(&value),
                    "dim {dim}, n {n}: {value} vs {rho}"
                );
            }
        }
    }

    #[test]
    fn low_rank_of_an_uncorrelated_gaussian_is_empty() {
        // With the exact diagonal, every scaled eigenvalue is 1.
        let sds = [0.5, 2.0, 10.0, 0.01];
        let (draws, grads, _) = planted(&sds, 1.0, 50, 9);
        let inv_mass: Vec<f64> = sds.iter().map(|s| s * s).collect();
        let low_rank = estimate_low_rank(&draws, &grads, &inv_mass, &LowRankSettings::default())
            .expect("an estimate");
        assert!(low_rank.values.is_empty(), "{:?}", low_rank.values);
        // Too few draws: no estimate.
        assert!(estimate_low_rank(
            &draws[..4],
            &grads[..4],
            &inv_mass,
            &LowRankSettings::default()
        )
        .is_none());
    }
}
