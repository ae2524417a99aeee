//! One NUTS transition: the recursive doubling of a trajectory, as Stan's `base_nuts`.
//!
//! Multinomial sampling of the new state along the trajectory, biased progressive sampling
//! between the old trajectory and each new subtree, and the generalized U-turn criterion
//! checked over every merged subtree and, as current Stan does, also across the boundary
//! of each merge (the left part plus the first point of the right part, and vice versa),
//! which stops the trajectory from looping around some targets (stan-dev/stan#2800).
//! All buffers are allocated once per chain; a transition allocates nothing.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::chain::ChainError;
use crate::density::LogDensity;
use crate::hamiltonian::{log_sum_exp, sum4, Hamiltonian, Point};

/// What one transition reports, in Stan's sampler-parameter vocabulary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transition {
    pub accept_stat: f64,
    pub step_size: f64,
    pub tree_depth: u32,
    pub n_leapfrog: u32,
    pub divergent: bool,
    pub energy: f64,
}

/// Momentum and velocity at one end of a (sub)trajectory.
struct End {
    momentum: Vec<f64>,
    velocity: Vec<f64>,
}

impl End {
    fn zeros(dim: usize) -> Self {
        Self {
            momentum: vec![0.0; dim],
            velocity: vec![0.0; dim],
        }
    }
}

/// The locals of one level of the recursion, kept between transitions.
struct Level {
    init_end: End,
    final_begin: End,
    rho_init: Vec<f64>,
    rho_final: Vec<f64>,
    propose_final: Point,
}

/// Buffers for the top level of a transition.
struct Workspace {
    levels: Vec<Level>,
    forward: Point,
    backward: Point,
    sample: Point,
    propose: Point,
    forward_end: End,
    backward_end: End,
    old_adjacent: End,
    new_begin: End,
    rho: Vec<f64>,
    rho_new: Vec<f64>,
}

/// The NUTS kernel of one chain: the Hamiltonian, the chain's current state and RNG, and
/// the step size the warmup tunes.
pub(crate) struct Nuts<D> {
    pub hamiltonian: Hamiltonian<D>,
    pub current: Point,
    pub rng: ChaCha8Rng,
    pub step_size: f64,
    max_depth: u32,
    max_energy_error: f64,
    workspace: Workspace,
}

impl<D: LogDensity> Nuts<D> {
    /// `current` must already hold the log density and gradient at its position.
    pub fn new(
        hamiltonian: Hamiltonian<D>,
        current: Point,
        rng: ChaCha8Rng,
        step_size: f64,
        max_depth: u32,
        max_energy_error: f64,
    ) -> Self {
        let dim = current.position.len();
        let levels = (0..max_depth)
            .map(|_| Level {
                init_end: End::zeros(dim),
                final_begin: End::zeros(dim),
                rho_init: vec![0.0; dim],
                rho_final: vec![0.0; dim],
                propose_final: Point::zeros(dim),
            })
            .collect();
        let workspace = Workspace {
            levels,
            forward: Point::zeros(dim),
            backward: Point::zeros(dim),
            sample: Point::zeros(dim),
            propose: Point::zeros(dim),
            forward_end: End::zeros(dim),
            backward_end: End::zeros(dim),
            old_adjacent: End::zeros(dim),
            new_begin: End::zeros(dim),
            rho: vec![0.0; dim],
            rho_new: vec![0.0; dim],
        };
        Self {
            hamiltonian,
            current,
            rng,
            step_size,
            max_depth,
            max_energy_error,
            workspace,
        }
    }

    /// Moves the chain by one NUTS transition from `self.current`.
    pub fn transition(&mut self) -> Transition {
        let Workspace {
            levels,
            forward,
            backward,
            sample,
            propose,
            forward_end,
            backward_end,
            old_adjacent,
            new_begin,
            rho,
            rho_new,
        } = &mut self.workspace;
        let ham = &mut self.hamiltonian;
        let rng = &mut self.rng;

        ham.sample_momentum(&mut self.current, rng);
        let h0 = ham.energy(&self.current);
        forward.copy_from(&self.current);
        backward.copy_from(&self.current);
        sample.copy_from(&self.current);
        for end in [&mut *forward_end, &mut *backward_end] {
            end.momentum.copy_from_slice(&self.current.momentum);
            ham.velocity(&self.current.momentum, &mut end.velocity);
        }
        rho.copy_from_slice(&self.current.momentum);

        // Weights are exp(H0 - H), so the initial point has log weight 0.
        let mut log_sum_weight = 0.0;
        let mut n_leapfrog = 0;
        let mut sum_metro_prob = 0.0;
        let mut divergent = false;
        let mut depth = 0;

        while depth < self.max_depth {
            rho_new.fill(0.0);
            let mut log_sum_weight_subtree = f64::NEG_INFINITY;
            let go_forward = rng.random::<f64>() > 0.5;
            let (edge, new_end, old_far_end, sign) = if go_forward {
                (&mut *forward, &mut *forward_end, &*backward_end, 1.0)
            } else {
                (&mut *backward, &mut *backward_end, &*forward_end, -1.0)
            };
            // The end being extended becomes interior; keep it for the boundary checks.
            std::mem::swap(old_adjacent, new_end);

            let mut builder = TreeBuilder {
                ham: &mut *ham,
                rng: &mut *rng,
                z: edge,
                step: sign * self.step_size,
                h0,
                max_energy_error: self.max_energy_error,
                n_leapfrog: 0,
                sum_metro_prob: 0.0,
                divergent: false,
            };
            let edges = Edges {
                begin_momentum: &mut new_begin.momentum,
                begin_velocity: &mut new_begin.velocity,
                end_momentum: &mut new_end.momentum,
                end_velocity: &mut new_end.velocity,
            };
            let valid = builder.build(
                depth,
                propose,
                edges,
                rho_new,
                &mut log_sum_weight_subtree,
                &mut levels[..depth as usize],
            );
            n_leapfrog += builder.n_leapfrog;
            sum_metro_prob += builder.sum_metro_prob;
            divergent |= builder.divergent;
            if !valid {
                break;
            }
            depth += 1;

            // Biased progressive sampling: favour the new subtree.
            if log_sum_weight_subtree > log_sum_weight
                || rng.random::<f64>() < (log_sum_weight_subtree - log_sum_weight).exp()
            {
                std::mem::swap(sample, propose);
            }
            log_sum_weight = log_sum_exp(log_sum_weight, log_sum_weight_subtree);

            // Whole trajectory, then each part extended by the first point of the other.
            let persist = no_u_turn(&old_far_end.velocity, &new_end.velocity, rho, rho_new)
                && no_u_turn(
                    &old_far_end.velocity,
                    &new_begin.velocity,
                    rho,
                    &new_begin.momentum,
                )
                && no_u_turn(
                    &old_adjacent.velocity,
                    &new_end.velocity,
                    rho_new,
                    &old_adjacent.momentum,
                );
            for (r, n) in rho.iter_mut().zip(rho_new.iter()) {
                *r += n;
            }
            if !persist {
                break;
            }
        }

        std::mem::swap(&mut self.current, sample);
        Transition {
            // Averaged over every leapfrog step, including rejected subtrees, as Stan.
            accept_stat: sum_metro_prob / f64::from(n_leapfrog.max(1)),
            step_size: self.step_size,
            tree_depth: depth,
            n_leapfrog,
            divergent,
            energy: ham.energy(&self.current),
        }
    }

    /// Whether the chain cannot leave its position at the current step size: from
    /// there, one leapfrog step has a mean acceptance probability below
    /// `STUCK_ACCEPTANCE` over `STUCK_PROBES` momenta. A chain that ends warmup at such a
    /// point (the neck of a funnel, entered while dual averaging had briefly shrunk the
    /// step) would diverge on the first step of every transition and never move. The
    /// momenta come from a copy of the chain's RNG, so asking does not change the draws.
    pub fn cannot_move(&mut self) -> bool {
        if self.current.position.is_empty() {
            return false;
        }
        let mut rng = self.rng.clone();
        let mut acceptance = 0.0;
        for _ in 0..STUCK_PROBES {
            let probe = &mut self.workspace.propose;
            probe.copy_from(&self.current);
            self.hamiltonian.sample_momentum(probe, &mut rng);
            let h0 = self.hamiltonian.energy(probe);
            self.hamiltonian.leapfrog(probe, self.step_size);
            acceptance += (h0 - self.hamiltonian.energy(probe)).min(0.0).exp();
        }
        acceptance / (STUCK_PROBES as f64) < STUCK_ACCEPTANCE
    }

    /// Stan's `init_stepsize`: from the current point, doubles or halves the step size
    /// until the acceptance probability of one leapfrog step crosses 0.8.
    pub fn find_initial_step_size(&mut self) -> Result<(), ChainError> {
        // With no coordinates every step is exact and the search would never stop.
        if self.current.position.is_empty()
            || self.step_size == 0.0
            || self.step_size > 1e7
            || self.step_size.is_nan()
        {
            return Ok(());
        }
        let threshold = 0.8f64.ln();
        let mut direction = 0.0;
        loop {
            let scratch = &mut self.workspace.propose;
            scratch.copy_from(&self.current);
            self.hamiltonian.sample_momentum(scratch, &mut self.rng);
            let h0 = self.hamiltonian.energy(scratch);
            self.hamiltonian.leapfrog(scratch, self.step_size);
            let delta_h = h0 - self.hamiltonian.energy(scratch);
            if direction == 0.0 {
                // The first step only decides the direction of the search.
                direction = if delta_h > threshold { 1.0 } else { -1.0 };
                continue;
            }
            // `energy` never returns NaN, so these are Stan's `!(delta_h > threshold)` and
            // `!(delta_h < threshold)`.
            if (direction > 0.0 && delta_h <= threshold)
                || (direction < 0.0 && delta_h >= threshold)
            {
                return Ok(());
            }
            self.step_size *= if direction > 0.0 { 2.0 } else { 0.5 };
            if self.step_size > 1e7 {
                return Err(ChainError::ImproperPosterior);
            }
            if self.step_size == 0.0 {
                return Err(ChainError::NoStepSize);
            }
        }
    }
}

/// Momenta [`Nuts::cannot_move`] tries.
const STUCK_PROBES: usize = 8;
/// The mean one-step acceptance below which [`Nuts::cannot_move`] calls a chain stuck:
/// a typical energy error above 4.6, where a tuned chain's single steps are accepted
/// with probability near 1.
const STUCK_ACCEPTANCE: f64 = 0.01;

/// `v_a . (x + y) > 0 && v_b . (x + y) > 0`: the momentum summed over a span (given as
/// two parts) still points forward from both of its ends.
fn no_u_turn(velocity_a: &[f64], velocity_b: &[f64], x: &[f64], y: &[f64]) -> bool {
    let n = x.len();
    // Equal lengths up front let the compiler drop the bounds checks in the sums.
    let (velocity_a, velocity_b, y) = (&velocity_a[..n], &velocity_b[..n], &y[..n]);
    let dot_a = sum4(n, |i| velocity_a[i] * (x[i] + y[i]));
    let dot_b = sum4(n, |i| velocity_b[i] * (x[i] + y[i]));
    dot_a > 0.0 && dot_b > 0.0
}

/// Momenta and velocities at the two ends of a subtree being built.
struct Edges<'a> {
    begin_momentum: &'a mut [f64],
    begin_velocity: &'a mut [f64],
    end_momentum: &'a mut [f64],
    end_velocity: &'a mut [f64],
}

/// The state shared by the recursion while one subtree is built.
struct TreeBuilder<'a, D> {
    ham: &'a mut Hamiltonian<D>,
    rng: &'a mut ChaCha8Rng,
    /// The integrator's state at the growing edge of the trajectory.
    z: &'a mut Point,
    step: f64,
    h0: f64,
    max_energy_error: f64,
    n_leapfrog: u32,
    sum_metro_prob: f64,
    divergent: bool,
}

impl<D: LogDensity> TreeBuilder<'_, D> {
    /// Builds a subtree of `2^depth` leapfrog steps from `self.z`, writing its proposal,
    /// end momenta, summed momentum (added to `rho`) and log weight (added to
    /// `log_sum_weight`). Returns false on a divergence or a U-turn inside the subtree.
    /// `levels` must have exactly `depth` entries.
    fn build(
        &mut self,
        depth: u32,
        propose: &mut Point,
        edges: Edges<'_>,
        rho: &mut [f64],
        log_sum_weight: &mut f64,
        levels: &mut [Level],
    ) -> bool {
        let Some((level, deeper)) = levels.split_last_mut() else {
            return self.leaf(propose, edges, rho, log_sum_weight);
        };
        debug_assert_eq!(deeper.len() + 1, depth as usize);

        let mut log_sum_weight_init = f64::NEG_INFINITY;
        level.rho_init.fill(0.0);
        let init_edges = Edges {
            begin_momentum: &mut *edges.begin_momentum,
            begin_velocity: &mut *edges.begin_velocity,
            end_momentum: &mut level.init_end.momentum,
            end_velocity: &mut level.init_end.velocity,
        };
        if !self.build(
            depth - 1,
            propose,
            init_edges,
            &mut level.rho_init,
            &mut log_sum_weight_init,
            deeper,
        ) {
            return false;
        }

        let mut log_sum_weight_final = f64::NEG_INFINITY;
        level.rho_final.fill(0.0);
        let final_edges = Edges {
            begin_momentum: &mut level.final_begin.momentum,
            begin_velocity: &mut level.final_begin.velocity,
            end_momentum: &mut *edges.end_momentum,
            end_velocity: &mut *edges.end_velocity,
        };
        if !self.build(
            depth - 1,
            &mut level.propose_final,
            final_edges,
            &mut level.rho_final,
            &mut log_sum_weight_final,
            deeper,
        ) {
            return false;
        }

        // Multinomial sampling between the two halves (unbiased inside a subtree).
        let log_sum_weight_subtree = log_sum_exp(log_sum_weight_init, log_sum_weight_final);
        *log_sum_weight = log_sum_exp(*log_sum_weight, log_sum_weight_subtree);
        if log_sum_weight_final > log_sum_weight_subtree
            || self.rng.random::<f64>() < (log_sum_weight_final - log_sum_weight_subtree).exp()
        {
            std::mem::swap(propose, &mut level.propose_final);
        }

        for ((r, a), b) in rho.iter_mut().zip(&level.rho_init).zip(&level.rho_final) {
            *r += a + b;
        }
        no_u_turn(
            edges.begin_velocity,
            edges.end_velocity,
            &level.rho_init,
            &level.rho_final,
        ) && no_u_turn(
            edges.begin_velocity,
            &level.final_begin.velocity,
            &level.rho_init,
            &level.final_begin.momentum,
        ) && no_u_turn(
            &level.init_end.velocity,
            edges.end_velocity,
            &level.rho_final,
            &level.init_end.momentum,
        )
    }

    /// One leapfrog step: the base case of the recursion.
    fn leaf(
        &mut self,
        propose: &mut Point,
        edges: Edges<'_>,
        rho: &mut [f64],
        log_sum_weight: &mut f64,
    ) -> bool {
        self.ham.leapfrog(self.z, self.step);
        self.n_leapfrog += 1;
        let h = self
            .ham
            .energy_and_velocity(self.z, &mut *edges.begin_velocity);
        if h - self.h0 > self.max_energy_error {
            self.divergent = true;
        }
        let log_weight = self.h0 - h;
        *log_sum_weight = log_sum_exp(*log_sum_weight, log_weight);
        self.sum_metro_prob += if log_weight > 0.0 {
            1.0
        } else {
            log_weight.exp()
        };
        propose.copy_from(self.z);
        edges.end_velocity.copy_from_slice(edges.begin_velocity);
        edges.begin_momentum.copy_from_slice(&self.z.momentum);
        edges.end_momentum.copy_from_slice(&self.z.momentum);
        for (r, p) in rho.iter_mut().zip(&self.z.momentum) {
            *r += p;
        }
        !self.divergent
    }
}
