//! Points in phase space and the leapfrog integrator for a diagonal Euclidean metric.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::density::LogDensity;

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
/// matrix `M^-1`, owning the density and counting its evaluations.
pub(crate) struct Hamiltonian<D> {
    pub density: D,
    pub inv_mass: Vec<f64>,
    pub grad_evals: u64,
}

impl<D: LogDensity> Hamiltonian<D> {
    pub fn new(density: D) -> Self {
        let dim = density.dim();
        Self {
            density,
            inv_mass: vec![1.0; dim],
            grad_evals: 0,
        }
    }

    /// Evaluates the density at `point.position`, storing `-inf` on any failure so that
    /// the point gets zero weight and the trajectory reaching it diverges.
    pub fn update_gradient(&mut self, point: &mut Point) {
        self.grad_evals += 1;
        point.logp = match self.density.logp_and_grad(&point.position, &mut point.grad) {
            Ok(logp) if logp.is_finite() => logp,
            _ => f64::NEG_INFINITY,
        };
    }

    /// The total energy; NaN (from a non-finite gradient) counts as infinite, as in Stan.
    pub fn energy(&self, point: &Point) -> f64 {
        let kinetic = 0.5
            * sum4(point.momentum.len(), |i| {
                point.momentum[i] * point.momentum[i] * self.inv_mass[i]
            });
        finite_or_infinite(kinetic - point.logp)
    }

    /// The energy, also writing the velocity `M^-1 p` in the same pass over the point.
    pub fn energy_and_velocity(&self, point: &Point, velocity: &mut [f64]) -> f64 {
        self.velocity(&point.momentum, velocity);
        let kinetic = 0.5 * sum4(point.momentum.len(), |i| point.momentum[i] * velocity[i]);
        finite_or_infinite(kinetic - point.logp)
    }

    /// Writes the velocity `M^-1 p` ("sharp" momentum) used by the U-turn criterion.
    pub fn velocity(&self, momentum: &[f64], out: &mut [f64]) {
        for ((v, p), m) in out.iter_mut().zip(momentum).zip(&self.inv_mass) {
            *v = p * m;
        }
    }

    /// Draws the momentum from its Gaussian, `p ~ N(0, M)`.
    pub fn sample_momentum<R: Rng>(&self, point: &mut Point, rng: &mut R) {
        for (p, m) in point.momentum.iter_mut().zip(&self.inv_mass) {
            let z: f64 = rng.sample(StandardNormal);
            *p = z / m.sqrt();
        }
    }

    /// One leapfrog step of signed length `step` (kick, drift, kick).
    pub fn leapfrog(&mut self, point: &mut Point, step: f64) {
        let half = 0.5 * step;
        for (p, g) in point.momentum.iter_mut().zip(&point.grad) {
            *p += half * g;
        }
        for ((q, p), m) in point
            .position
            .iter_mut()
            .zip(&point.momentum)
            .zip(&self.inv_mass)
        {
            *q += step * m * p;
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
