//! Points in phase space and the leapfrog integrator for a Euclidean metric: diagonal, or
//! diagonal with a low-rank correction.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::density::LogDensity;
use crate::lowrank::LowRank;

/// A point in phase space with the log density and gradient at its position, so that a
/// leapfrog step needs one gradient evaluation, not two.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub position: Vec<f64>,
    pub momentum: Vec<f64>,
    pub grad: Vec<f64>,
    /// The log density at `position`; `-inf` where the density failed or was not finite.
    pub logp: f64,
}

impl Point {
    pub fn zeros(dim: usize) -> Self {
        Self {
            position: vec![0.0; dim],
            momentum: vec![0.0; dim],
            grad: vec![0.0; dim],
            logp: 0.0,
        }
    }

    /// Copies without allocating; trajectories copy points at every leaf.
    pub fn copy_from(&mut self, other: &Point) {
        self.position.copy_from_slice(&other.position);
        self.momentum.copy_from_slice(&other.momentum);
        self.grad.copy_from_slice(&other.grad);
        self.logp = other.logp;
    }
}

/// The Hamiltonian `H(q, p) = -log p(q) + p' M^-1 p / 2` with a diagonal inverse mass
/// matrix `M^-1`, or one with a low-rank correction, owning the density and counting its
/// evaluations.
pub(crate) struct Hamiltonian<D> {
    pub density: D,
    pub inv_mass: Vec<f64>,
    /// The low-rank correction, `None` for a diagonal metric.
    low_rank: Option<LowRankMetric>,
    /// A buffer for the velocity in the leapfrog step with a low-rank metric.
    drift: Vec<f64>,
    pub grad_evals: u64,
    /// The first fault of the model met in an evaluation ([`LogDensity::is_fault`]),
    /// which the chain stops with after the transition.
    pub fault: Option<String>,
}

/// `M^-1 = S (I + U (Λ - I) U') S` with `S = diag(sqrt(inv_mass))` and `U` orthonormal:
/// the velocity, the kinetic energy and the momentum's square root cost `O(dk)`.
struct LowRankMetric {
    /// `sqrt(inv_mass)`, kept in step with it.
    scale: Vec<f64>,
    /// The `k` directions, `dim` values each.
    vectors: Vec<Vec<f64>>,
    /// The directions and eigenvalues as given, for reporting.
    given: LowRank,
    /// `λ - 1`: the velocity's correction along each direction.
    velocity_coef: Vec<f64>,
    /// `λ^(-1/2) - 1`: the momentum's correction along each direction.
    momentum_coef: Vec<f64>,
    /// Per-direction scratch.
    coef: Vec<f64>,
}

impl<D: LogDensity> Hamiltonian<D> {
    pub fn new(density: D) -> Self {
        let dim = density.dim();
        Self {
            density,
            inv_mass: vec![1.0; dim],
            low_rank: None,
            drift: Vec::new(),
            grad_evals: 0,
            fault: None,
        }
    }

    /// Replaces the diagonal of the metric (`S^2`), keeping any low-rank correction.
    pub fn set_inv_mass(&mut self, inv_mass: &[f64]) {
        self.inv_mass.copy_from_slice(inv_mass);
        if let Some(lr) = &mut self.low_rank {
            for (s, m) in lr.scale.iter_mut().zip(inv_mass) {
                *s = m.sqrt();
            }
        }
    }

    /// Sets (or with an empty one, removes) the low-rank correction.
    pub fn set_low_rank(&mut self, low_rank: &LowRank) {
        if low_rank.values.is_empty() {
            self.low_rank = None;
            return;
        }
        let k = low_rank.values.len();
        self.drift.resize(self.inv_mass.len(), 0.0);
        self.low_rank = Some(LowRankMetric {
            scale: self.inv_mass.iter().map(|m| m.sqrt()).collect(),
            vectors: low_rank.vectors.clone(),
            given: low_rank.clone(),
            velocity_coef: low_rank.values.iter().map(|l| l - 1.0).collect(),
            momentum_coef: low_rank
                .values
                .iter()
                .map(|l| l.sqrt().recip() - 1.0)
                .collect(),
            coef: vec![0.0; k],
        });
    }

    /// The low-rank correction in use (empty for a diagonal metric).
    pub fn low_rank(&self) -> LowRank {
        self.low_rank
            .as_ref()
            .map_or_else(LowRank::default, |lr| lr.given.clone())
    }

    /// Evaluates the density at `point.position`, storing `-inf` on any failure so that
    /// the point gets zero weight and the trajectory reaching it diverges (a fault of the
    /// model is also kept in `fault`, for the chain to stop with).
    pub fn update_gradient(&mut self, point: &mut Point) {
        self.grad_evals += 1;
        point.logp = match self.density.logp_and_grad(&point.position, &mut point.grad) {
            Ok(logp) if logp.is_finite() => logp,
            Err(error) => {
                if self.fault.is_none() && self.density.is_fault(&error) {
                    self.fault = Some(error.to_string());
                }
                f64::NEG_INFINITY
            }
            _ => f64::NEG_INFINITY,
        };
    }

    /// The total energy; NaN (from a non-finite gradient) counts as infinite, as in Stan.
    pub fn energy(&self, point: &Point) -> f64 {
        let p = &point.momentum;
        let mut kinetic = 0.5 * sum4(p.len(), |i| p[i] * p[i] * self.inv_mass[i]);
        if let Some(lr) = &self.low_rank {
            // p' S U (Λ - I) U' S p / 2
            for (u, c) in lr.vectors.iter().zip(&lr.velocity_coef) {
                let along = sum4(p.len(), |i| u[i] * lr.scale[i] * p[i]);
                kinetic += 0.5 * c * along * along;
            }
        }
        finite_or_infinite(kinetic - point.logp)
    }

    /// The energy, also writing the velocity `M^-1 p` in the same pass over the point.
    pub fn energy_and_velocity(&mut self, point: &Point, velocity: &mut [f64]) -> f64 {
        self.velocity(&point.momentum, velocity);
        let kinetic = 0.5 * sum4(point.momentum.len(), |i| point.momentum[i] * velocity[i]);
        finite_or_infinite(kinetic - point.logp)
    }

    /// Writes the velocity `M^-1 p` ("sharp" momentum) used by the U-turn criterion.
    pub fn velocity(&mut self, momentum: &[f64], out: &mut [f64]) {
        match &mut self.low_rank {
            None => {
                for ((v, p), m) in out.iter_mut().zip(momentum).zip(&self.inv_mass) {
                    *v = p * m;
                }
            }
            Some(lr) => {
                // S (S p + U ((Λ - I) U' S p))
                let n = momentum.len();
                for ((coef, u), c) in lr.coef.iter_mut().zip(&lr.vectors).zip(&lr.velocity_coef) {
                    *coef = c * sum4(n, |i| u[i] * lr.scale[i] * momentum[i]);
                }
                for ((v, p), s) in out.iter_mut().zip(momentum).zip(&lr.scale) {
                    *v = s * p;
                }
                for (u, coef) in lr.vectors.iter().zip(&lr.coef) {
                    for (v, u) in out.iter_mut().zip(u) {
                        *v += coef * u;
                    }
                }
                for (v, s) in out.iter_mut().zip(&lr.scale) {
                    *v *= s;
                }
            }
        }
    }

    /// Draws the momentum from its Gaussian, `p ~ N(0, M)`.
    pub fn sample_momentum<R: Rng>(&mut self, point: &mut Point, rng: &mut R) {
        match &mut self.low_rank {
            None => {
                for (p, m) in point.momentum.iter_mut().zip(&self.inv_mass) {
                    let z: f64 = rng.sample(StandardNormal);
                    *p = z / m.sqrt();
                }
            }
            Some(lr) => {
                // M = S^-1 (I + U (Λ^-1 - I) U') S^-1, whose square root is
                // S^-1 (I + U (Λ^(-1/2) - I) U'): p = S^-1 (z + U ((Λ^(-1/2) - 1) U' z)).
                let p = &mut point.momentum;
                for p in p.iter_mut() {
                    *p = rng.sample(StandardNormal);
                }
                let n = p.len();
                for ((coef, u), c) in lr.coef.iter_mut().zip(&lr.vectors).zip(&lr.momentum_coef) {
                    *coef = c * sum4(n, |i| u[i] * p[i]);
                }
                for (u, coef) in lr.vectors.iter().zip(&lr.coef) {
                    for (p, u) in p.iter_mut().zip(u) {
                        *p += coef * u;
                    }
                }
                for (p, s) in p.iter_mut().zip(&lr.scale) {
                    *p /= s;
                }
            }
        }
    }

    /// One leapfrog step of signed length `step` (kick, drift, kick).
    pub fn leapfrog(&mut self, point: &mut Point, step: f64) {
        let half = 0.5 * step;
        for (p, g) in point.momentum.iter_mut().zip(&point.grad) {
            *p += half * g;
        }
        if self.low_rank.is_some() {
            let mut drift = std::mem::take(&mut self.drift);
            self.velocity(&point.momentum, &mut drift);
            for (q, v) in point.position.iter_mut().zip(&drift) {
                *q += step * v;
            }
            self.drift = drift;
        } else {
            for ((q, p), m) in point
                .position
                .iter_mut()
                .zip(&point.momentum)
                .zip(&self.inv_mass)
            {
                *q += step * m * p;
            }
        }
        self.update_gradient(point);
        for (p, g) in point.momentum.iter_mut().zip(&point.grad) {
            *p += half * g;
        }
    }
}

/// `log(exp(a) + exp(b))`, exact when either argument is `-inf`.
pub(crate) fn log_sum_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    if a > b {
        a + (b - a).exp().ln_1p()
    } else {
        b + (a - b).exp().ln_1p()
    }
}

fn finite_or_infinite(energy: f64) -> f64 {
    if energy.is_nan() {
        f64::INFINITY
    } else {
        energy
    }
}

/// `sum(term(i) for i in 0..n)` with four independent accumulators. A single running sum
/// is one long chain of dependent additions, which made these reductions most of the
/// sampler's own cost per leapfrog step.
#[inline(always)]
pub(crate) fn sum4(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            *a += term(4 * c + k);
        }
    }
    for i in 4 * chunks..n {
        acc[0] += term(i);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A Gaussian with precision `diag(precision)`.
    struct DiagonalGaussian(Vec<f64>);

    impl LogDensity for DiagonalGaussian {
        type Error = std::convert::Infallible;
        fn dim(&self) -> usize {
            self.0.len()
        }
        fn logp_and_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64, Self::Error> {
            let mut logp = 0.0;
            for ((g, x), p) in grad.iter_mut().zip(x).zip(&self.0) {
                *g = -p * x;
                logp -= 0.5 * p * x * x;
            }
            Ok(logp)
        }
    }

    /// A 4-dimensional metric with two low-rank directions, and its dense `M^-1` and `M`.
    fn low_rank_hamiltonian() -> (Hamiltonian<DiagonalGaussian>, Vec<f64>, Vec<f64>) {
        let mut ham = Hamiltonian::new(DiagonalGaussian(vec![1.0, 4.0, 0.5, 2.0]));
        let inv_mass = [0.5, 2.0, 1.0, 3.0];
        ham.set_inv_mass(&inv_mass);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let low_rank = LowRank {
            vectors: vec![vec![h, h, 0.0, 0.0], vec![0.0, 0.0, h, -h]],
            values: vec![10.0, 0.1],
        };
        ham.set_low_rank(&low_rank);
        let dense = |power: f64| {
            let mut m = vec![0.0; 16];
            for i in 0..4 {
                for j in 0..4 {
                    let mut inner = if i == j { 1.0 } else { 0.0 };
                    for (u, l) in low_rank.vectors.iter().zip(&low_rank.values) {
                        inner += (l.powf(power) - 1.0) * u[i] * u[j];
                    }
                    m[i * 4 + j] = (inv_mass[i] * inv_mass[j]).powf(0.5 * power) * inner;
                }
            }
            m
        };
        (ham, dense(1.0), dense(-1.0))
    }

    #[test]
    fn low_rank_metric_matches_its_dense_form() {
        let (mut ham, inv_mass, mass) = low_rank_hamiltonian();
        assert_eq!(ham.low_rank().values, vec![10.0, 0.1]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut point = Point::zeros(4);
        // Velocity and kinetic energy.
        point.momentum = vec![0.3, -1.2, 2.0, 0.7];
        let mut v = vec![0.0; 4];
        ham.velocity(&point.momentum, &mut v);
        for i in 0..4 {
            let dense: f64 = (0..4)
                .map(|j| inv_mass[i * 4 + j] * point.momentum[j])
                .sum();
            assert!((v[i] - dense).abs() < 1e-12, "{i}: {} vs {dense}", v[i]);
        }
        let kinetic: f64 = 0.5 * (0..4).map(|i| point.momentum[i] * v[i]).sum::<f64>();
        assert!((ham.energy(&point) - kinetic).abs() < 1e-12);
        assert!((ham.energy_and_velocity(&point, &mut v) - kinetic).abs() < 1e-12);
        // The momentum's covariance is M.
        let n = 200_000;
        let mut cov = [0.0; 16];
        for _ in 0..n {
            ham.sample_momentum(&mut point, &mut rng);
            for i in 0..4 {
                for j in 0..4 {
                    cov[i * 4 + j] += point.momentum[i] * point.momentum[j] / n as f64;
                }
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                let scale = (mass[i * 4 + i] * mass[j * 4 + j]).sqrt();
                let error = (cov[i * 4 + j] - mass[i * 4 + j]).abs() / scale;
                assert!(
                    error < 0.02,
                    "({i}, {j}): {} vs {}",
                    cov[i * 4 + j],
                    mass[i * 4 + j]
                );
            }
        }
    }

    #[test]
    fn leapfrog_with_a_low_rank_metric_conserves_energy_and_is_reversible() {
        let (mut ham, _, _) = low_rank_hamiltonian();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut point = Point::zeros(4);
        point.position = vec![0.5, -0.3, 1.2, 0.1];
        ham.update_gradient(&mut point);
        ham.sample_momentum(&mut point, &mut rng);
        let start = point.clone();
        let h0 = ham.energy(&point);
        let mut worst: f64 = 0.0;
        for _ in 0..400 {
            ham.leapfrog(&mut point, 0.01);
            worst = worst.max((ham.energy(&point) - h0).abs());
        }
        assert!(worst < 1e-3, "energy error {worst}");
        assert!(
            (point.position[0] - start.position[0]).abs() > 1e-3,
            "did not move"
        );
        for p in &mut point.momentum {
            *p = -*p;
        }
        for _ in 0..400 {
            ham.leapfrog(&mut point, 0.01);
        }
        for (a, b) in point.position.iter().zip(&start.position) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // Removing the correction makes the metric diagonal again.
        ham.set_low_rank(&LowRank::default());
        assert!(ham.low_rank().values.is_empty());
    }
}
