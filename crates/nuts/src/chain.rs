//! The life of one chain: initial values, warmup, sampling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::density::LogDensity;
use crate::hamiltonian::{Hamiltonian, Point};
use crate::lowrank::LowRank;
use crate::sampler::ChainEvent;
use crate::settings::SamplerSettings;
use crate::trajectory::Nuts;
use crate::warmup::{make_strategy, TransitionInfo, Tunable};

/// Why a chain stopped without finishing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChainError {
    /// No initial value had a finite log density and gradient.
    #[error(
        "no finite log density or gradient at {tries} random initial values drawn uniformly \
         from (-{radius}, {radius}) on the unconstrained scale{}; last problem: {last_problem}",
        given_note(*.given)
    )]
    InitFailed {
        /// How many initial values were tried.
        tries: usize,
        /// How many coordinates were given (the same at every try) rather than drawn.
        given: usize,
        /// Half-width of the interval the values were drawn from.
        radius: f64,
        /// What went wrong at the last one (the density's error or a non-finite value).
        last_problem: String,
    },
    /// Nothing is drawn (every coordinate given, or `init_radius` 0 and the others at
    /// zero), and the log density or gradient is not finite at that one point.
    #[error(
        "no finite log density or gradient at the fixed initial point (the given values; 0 \
         on the unconstrained scale where none is given); problem: {last_problem}"
    )]
    GivenInitFailed {
        /// What went wrong there (the density's error or a non-finite value).
        last_problem: String,
    },
    /// The model or its data is at fault at a point the chain reached (an index out
    /// of range): not a divergence, an error to fix ([`LogDensity::is_fault`]).
    #[error("{message}")]
    ModelFault {
        /// The density's error, which says where.
        message: String,
    },
    /// The step-size search grew the step beyond 1e7: the density does not decay.
    #[error("the posterior is improper: the step size search grew beyond 1e7")]
    ImproperPosterior,
    /// The step-size search shrank the step to 0.
    #[error(
        "no acceptable small step size could be found; perhaps the posterior is not continuous"
    )]
    NoStepSize,
    /// The adapted mass matrix was not finite.
    #[error(
        "numerical overflow in mass matrix adaptation: the draws reached extreme values on \
         the unconstrained scale; the posterior may be too wide or improper"
    )]
    MetricOverflow,
}

/// Stan's per-draw sampler statistics (the `__` columns of a CmdStan CSV).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawStats {
    /// `lp__`: the log density at the draw.
    pub lp: f64,
    /// `accept_stat__`: mean Metropolis acceptance probability over the trajectory.
    pub accept_stat: f64,
    /// `stepsize__`: the step size used by this transition.
    pub step_size: f64,
    /// `treedepth__`: depth of the trajectory tree.
    pub tree_depth: u32,
    /// `n_leapfrog__`: leapfrog steps (gradient evaluations) in the trajectory.
    pub n_leapfrog: u32,
    /// `divergent__`: whether the trajectory diverged.
    pub divergent: bool,
    /// `energy__`: the Hamiltonian at the draw.
    pub energy: f64,
}

/// One iteration of a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    /// Iteration index from 0, warmup included.
    pub iteration: usize,
    /// Whether the iteration belongs to warmup.
    pub is_warmup: bool,
    /// The position on the unconstrained scale.
    pub position: Vec<f64>,
    /// Sampler statistics.
    pub stats: DrawStats,
}

/// The result of warmup, kept for sampling (written as CmdStan's adaptation comments).
#[derive(Clone, Debug, PartialEq)]
pub struct Adaptation {
    /// The step size used for sampling.
    pub step_size: f64,
    /// The acceptance rate that step size was adapted to: the settings' target, or
    /// higher where warmup raised it ([`ExtensionReason::Diverged`]).
    pub target_accept: f64,
    /// The diagonal of the inverse mass matrix used for sampling.
    pub inv_mass_matrix: Vec<f64>,
    /// The low-rank correction of the metric used for sampling (empty unless the warmup
    /// is [`WarmupKind::FisherLowRank`](crate::WarmupKind::FisherLowRank)): directions in
    /// the coordinates scaled by `sqrt(inv_mass_matrix)` and the variances along them.
    pub low_rank: LowRank,
    /// Warmup iterations run beyond the planned number (0 almost always): the sum of
    /// `extensions`.
    pub extra_warmup: usize,
    /// Each time warmup went on beyond its plan, in order, and why.
    pub extensions: Vec<WarmupExtension>,
}

/// Warmup iterations a chain ran beyond the planned number, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WarmupExtension {
    /// The iterations added.
    pub iterations: usize,
    /// Why.
    pub reason: ExtensionReason,
}

/// Why a chain's warmup went on beyond its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionReason {
    /// The chain could not move at the step size warmup ended with
    /// ([`WarmupStrategy::extend`](crate::WarmupStrategy::extend)): the step size was
    /// adapted again.
    CouldNotMove,
    /// 20 consecutive transitions in the first half of the chain's warmup each left it
    /// where it stood or diverged (a start far out, where the log density is finite but
    /// its gradient so steep that no step changes a coordinate, or where the density
    /// breaks down along every path): warmup started again from a new initial point.
    Stuck,
    /// The chain moved to a region of another log density after its metric became final
    /// ([`WarmupStrategy::readapt`](crate::WarmupStrategy::readapt)): the metric and the
    /// step size were adapted again there.
    MovedAfterMetric,
    /// More than a tenth of the transitions at the end of warmup diverged
    /// ([`WarmupStrategy::raise_target_accept`](crate::WarmupStrategy::raise_target_accept)):
    /// the step size was adapted again at a higher target acceptance rate
    /// ([`Adaptation::target_accept`]).
    Diverged,
    /// More than half of the transitions at the end of warmup reached the maximum tree
    /// depth ([`WarmupStrategy::readapt_at_max_depth`](crate::WarmupStrategy::readapt_at_max_depth)):
    /// the metric and the step size were adapted again from where the chain stood.
    AtMaxDepth,
    /// More than a tenth of the transitions at the end of warmup still diverged after the
    /// target acceptance rate was raised twice: the chain ended its warmup where no step
    /// is short enough (a cliff where the density falls off, a funnel's neck), where the
    /// step-size adaptation drives the step down until the chain cannot leave. Warmup
    /// started again from a new initial point, once.
    KeptDiverging,
}

/// How many times one chain's warmup may be extended.
const MAX_WARMUP_EXTENSIONS: usize = 2;

/// How many times a chain's warmup may adapt its metric again after moving
/// (`WarmupStrategy::readapt`).
const MAX_READAPTATIONS: usize = 2;

/// How many times a chain's warmup may adapt its metric again because its trajectories
/// reached the maximum tree depth (`WarmupStrategy::readapt_at_max_depth`): once, since a
/// posterior that needs such long trajectories with any metric would only pay for more.
const MAX_READAPTATIONS_AT_MAX_DEPTH: usize = 1;

/// How many times a chain's warmup may raise its target acceptance rate
/// (`WarmupStrategy::raise_target_accept`): 0.8 becomes 0.9, then 0.95.
const MAX_TARGET_RAISES: usize = 2;

/// Consecutive warmup transitions, each of which left the chain where it stood (every
/// step too small to change a coordinate) or diverged, after which a chain in the first
/// half of its warmup starts again from a new initial point. (A chain on its way to the
/// typical set diverges at most a few times in a row: 5 over the 112 chains of the 28
/// quickest hBayesDM ports, in their first 200 iterations.)
const STUCK_PATIENCE: usize = 20;

/// How many times a chain may start again from a new initial point.
const MAX_INIT_RESTARTS: usize = 10;

/// The shortest warmup whose end is judged for a failed adaptation (a move after the
/// metric was set, trajectories at the maximum depth, divergences). A shorter one (a smoke
/// run, a quick look at a model's output) is not adapted again: its last few transitions
/// say nothing of its adaptation, and Stan adapts no metric under 20 iterations either.
/// (At `--warmup 5`, these rules fired on noise: a quick run of a slow model took 200
/// warmup iterations.) A chain that cannot move at all is still given more warmup.
const MIN_WARMUP_TO_READAPT: usize = 20;

/// How many of `extensions` were for `reason`.
pub fn times_extended(extensions: &[WarmupExtension], reason: ExtensionReason) -> usize {
    extensions.iter().filter(|e| e.reason == reason).count()
}

/// Whether a new initial point would differ from the last: some coordinate is drawn
/// (not given by `init_values`) from an interval of positive width.
fn init_can_be_redrawn(settings: &SamplerSettings, dim: usize) -> bool {
    settings.init_radius > 0.0
        && (0..dim).any(|i| settings.init_values.get(i).copied().flatten().is_none())
}

/// Everything one chain produced.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainRun {
    /// The chain's index.
    pub chain: usize,
    /// The initial position (unconstrained): the last one drawn, when the chain started
    /// again from a new one ([`ExtensionReason::Stuck`]).
    pub init: Vec<f64>,
    /// Every iteration, warmup first.
    pub draws: Vec<Draw>,
    /// Step size and metric after warmup; `None` if stopped during warmup.
    pub adaptation: Option<Adaptation>,
    /// Log-density-and-gradient evaluations, including initialization and step-size
    /// searches.
    pub grad_evals: u64,
    /// The part of `grad_evals` spent before sampling: initialization and warmup (all of
    /// them if the chain stopped during warmup).
    pub warmup_grad_evals: u64,
    /// Wall time of warmup (including initialization).
    pub warmup_time: Duration,
    /// Wall time of the sampling phase.
    pub sampling_time: Duration,
    /// Whether the stop flag ended the chain early.
    pub interrupted: bool,
}

/// The RNG of chain `chain`: one ChaCha stream per chain under the run's seed, so the
/// draws depend on `(seed, chain)` only, never on thread scheduling.
pub(crate) fn chain_rng(seed: u64, chain: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(chain as u64);
    rng
}

/// The part of [`ChainError::InitFailed`]'s message about given coordinates.
fn given_note(given: usize) -> String {
    match given {
        0 => String::new(),
        1 => " (one coordinate given, the same at each)".into(),
        n => format!(" ({n} coordinates given, the same at each)"),
    }
}

/// Starts a chain's warmup again from a new initial point, with the initial step size,
/// a unit metric and a fresh strategy (a chain stuck early, or one that kept diverging to
/// the end of its warmup).
fn start_again<D: LogDensity>(
    nuts: &mut Nuts<D>,
    settings: &SamplerSettings,
) -> Result<Box<dyn crate::warmup::WarmupStrategy>, ChainError> {
    let dim = nuts.hamiltonian.density.dim();
    nuts.current = initial_point(&mut nuts.hamiltonian, &mut nuts.rng, settings)?;
    nuts.step_size = settings.initial_step_size;
    nuts.hamiltonian.set_inv_mass(&vec![1.0; dim]);
    nuts.hamiltonian.set_low_rank(&LowRank::default());
    let mut strategy = make_strategy(settings, dim);
    strategy.start(nuts)?;
    Ok(strategy)
}

/// Draws initial values until the density and gradient are finite: the coordinates
/// `settings.init_values` gives are kept, the others drawn from `(-r, r)`. When nothing is
/// drawn (every coordinate given, or `r` = 0) there is one point to try.
fn initial_point<D: LogDensity>(
    hamiltonian: &mut Hamiltonian<D>,
    rng: &mut ChaCha8Rng,
    settings: &SamplerSettings,
) -> Result<Point, ChainError> {
    let dim = hamiltonian.density.dim();
    let mut point = Point::zeros(dim);
    let radius = settings.init_radius;
    let given = |i: usize| settings.init_values.get(i).copied().flatten();
    let drawn = radius > 0.0 && (0..dim).any(|i| given(i).is_none());
    if drawn && !(2.0 * radius).is_finite() {
        // The interval (-r, r) has no uniform distribution to draw from.
        return Err(ChainError::InitFailed {
            tries: 0,
            given: (0..dim).filter(|&i| given(i).is_some()).count(),
            radius,
            last_problem: "the interval is wider than the largest number".to_string(),
        });
    }
    let tries = if drawn {
        settings.max_init_tries
    } else {
        settings.max_init_tries.min(1)
    };
    let mut last_problem = String::from("no tries allowed (max_init_tries = 0)");
    for _ in 0..tries {
        for (i, q) in point.position.iter_mut().enumerate() {
            *q = match given(i) {
                Some(x) => x,
                None if radius > 0.0 => rng.random_range(-radius..radius),
                None => 0.0,
            };
        }
        hamiltonian.grad_evals += 1;
        match hamiltonian
            .density
            .logp_and_grad(&point.position, &mut point.grad)
        {
            Ok(logp) if !logp.is_finite() => {
                last_problem = format!("log density is {logp}");
            }
            Ok(_) if point.grad.iter().any(|g| !g.is_finite()) => {
                last_problem = String::from("gradient is not finite");
            }
            Ok(logp) => {
                point.logp = logp;
                return Ok(point);
            }
            Err(error) if hamiltonian.density.is_fault(&error) => {
                return Err(ChainError::ModelFault {
                    message: error.to_string(),
                });
            }
            Err(error) => last_problem = error.to_string(),
        }
    }
    if drawn {
        Err(ChainError::InitFailed {
            tries,
            given: (0..dim).filter(|&i| given(i).is_some()).count(),
            radius,
            last_problem,
        })
    } else {
        Err(ChainError::GivenInitFailed { last_problem })
    }
}

/// The chain's end when an evaluation met a fault of the model (an index out of range).
fn stop_at_fault<D: LogDensity>(nuts: &mut Nuts<D>) -> Result<(), ChainError> {
    match nuts.hamiltonian.fault.take() {
        Some(message) => Err(ChainError::ModelFault { message }),
        None => Ok(()),
    }
}

/// Runs chain `chain` to the end (or until `stop` is set), reporting each iteration.
pub(crate) fn run_chain<D: LogDensity>(
    chain: usize,
    density: D,
    settings: &SamplerSettings,
    on_event: &(dyn Fn(ChainEvent<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<ChainRun, ChainError> {
    let start = Instant::now();
    let mut rng = chain_rng(settings.seed, chain);
    let mut hamiltonian = Hamiltonian::new(density);
    let init = initial_point(&mut hamiltonian, &mut rng, settings)?;
    let mut init_position = init.position.clone();
    on_event(ChainEvent::Started {
        chain,
        init: &init_position,
    });
    let dim = init_position.len();
    let mut nuts = Nuts::new(
        hamiltonian,
        init,
        rng,
        settings.initial_step_size,
        settings.max_depth,
        settings.max_energy_error,
    );

    let mut strategy = make_strategy(settings, dim);
    if settings.num_warmup > 0 {
        strategy.start(&mut nuts)?;
    } else {
        // Without warmup there is nothing to adapt, but Stan still searches a step size.
        nuts.find_initial_step_size()?;
    }
    stop_at_fault(&mut nuts)?;

    // Warmup ends later than planned when the chain moved after its metric became final
    // (`WarmupStrategy::readapt`, at most `MAX_READAPTATIONS` times), ran most of its last
    // trajectories to the maximum tree depth (`WarmupStrategy::readapt_at_max_depth`,
    // once), diverged often at its end (`WarmupStrategy::raise_target_accept`, at most
    // `MAX_TARGET_RAISES` times) or cannot move at the step size it ended with
    // (`WarmupStrategy::extend`, at most `MAX_WARMUP_EXTENSIONS` times).
    //
    // A chain whose last `STUCK_PATIENCE` transitions, in the first half of its warmup,
    // each stayed put or diverged starts warmup again from a new initial point (at most
    // `MAX_INIT_RESTARTS` times); `warmup_start` is the iteration its current warmup
    // began at, the strategy's 0, and `unmoved` counts those transitions in a row.
    let mut warmup_start = 0;
    let mut unmoved = 0;
    let mut last_position = init_position.clone();
    let mut warmup_end = settings.num_warmup;
    let mut extensions: Vec<WarmupExtension> = Vec::new();
    let mut draws = Vec::with_capacity(settings.num_warmup + settings.num_draws);
    let mut adaptation = None;
    let mut warmup_time = Duration::ZERO;
    let mut sampling_start = Instant::now();
    let mut interrupted = false;
    let mut warmup_grad_evals = None;
    if settings.num_warmup == 0 {
        warmup_grad_evals = Some(nuts.hamiltonian.grad_evals);
        let adapted = Adaptation {
            step_size: nuts.step_size,
            target_accept: settings.target_accept,
            inv_mass_matrix: nuts.hamiltonian.inv_mass.clone(),
            low_rank: nuts.hamiltonian.low_rank(),
            extra_warmup: 0,
            extensions: Vec::new(),
        };
        on_event(ChainEvent::WarmupDone {
            chain,
            adaptation: &adapted,
        });
        adaptation = Some(adapted);
        warmup_time = start.elapsed();
    }
    let mut iteration = 0;
    while iteration < warmup_end + settings.num_draws {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let is_warmup = iteration < warmup_end;
        let transition = nuts.transition();
        stop_at_fault(&mut nuts)?;
        let draw = Draw {
            iteration,
            is_warmup,
            position: nuts.current.position.clone(),
            stats: DrawStats {
                lp: nuts.current.logp,
                accept_stat: transition.accept_stat,
                step_size: transition.step_size,
                tree_depth: transition.tree_depth,
                n_leapfrog: transition.n_leapfrog,
                divergent: transition.divergent,
                energy: transition.energy,
            },
        };
        if is_warmup {
            let info = TransitionInfo {
                accept_stat: transition.accept_stat,
                divergent: transition.divergent,
                n_leapfrog: transition.n_leapfrog,
                at_max_depth: transition.tree_depth >= settings.max_depth,
            };
            strategy.learn(&mut nuts, iteration - warmup_start, &info)?;
        }
        on_event(ChainEvent::Draw { chain, draw: &draw });
        draws.push(draw);
        iteration += 1;
        // Only the first half of warmup watches for a stuck chain: no copy per draw after.
        let watched = is_warmup && 2 * (iteration - warmup_start) <= settings.num_warmup;
        if watched {
            let stayed = nuts.current.position == last_position;
            if !stayed {
                last_position.clone_from(&nuts.current.position);
            }
            unmoved = if stayed || transition.divergent {
                unmoved + 1
            } else {
                0
            };
        }
        // Warmup starts again from a new initial point (`start_again`) for a chain stuck
        // early, or one that kept diverging to its end: the reason, and the iterations
        // that adds.
        let mut again = None;
        if watched
            && unmoved == STUCK_PATIENCE
            && times_extended(&extensions, ExtensionReason::Stuck) < MAX_INIT_RESTARTS
            && init_can_be_redrawn(settings, dim)
        {
            again = Some((ExtensionReason::Stuck, iteration - warmup_start));
        }
        if again.is_none() && iteration == warmup_end {
            strategy.finish(&mut nuts);
            // The first of the reasons to go on that applies, in this order; a warmup too
            // short to judge is not adapted again.
            let mut more = None;
            if settings.num_warmup >= MIN_WARMUP_TO_READAPT {
                if times_extended(&extensions, ExtensionReason::MovedAfterMetric)
                    < MAX_READAPTATIONS
                {
                    let iterations = strategy.readapt(&mut nuts, iteration - warmup_start)?;
                    more = Some((iterations, ExtensionReason::MovedAfterMetric));
                }
                // Before raising the target: trajectories that run to the maximum depth
                // also diverge where the metric does not fit, and a metric that fits mends
                // both.
                if more.is_none_or(|(iterations, _)| iterations == 0)
                    && times_extended(&extensions, ExtensionReason::AtMaxDepth)
                        < MAX_READAPTATIONS_AT_MAX_DEPTH
                {
                    let iterations =
                        strategy.readapt_at_max_depth(&mut nuts, iteration - warmup_start)?;
                    more = Some((iterations, ExtensionReason::AtMaxDepth));
                }
                if more.is_none_or(|(iterations, _)| iterations == 0)
                    && times_extended(&extensions, ExtensionReason::Diverged) < MAX_TARGET_RAISES
                {
                    let iterations =
                        strategy.raise_target_accept(&mut nuts, iteration - warmup_start)?;
                    more = Some((iterations, ExtensionReason::Diverged));
                }
            }
            if more.is_none_or(|(iterations, _)| iterations == 0)
                && times_extended(&extensions, ExtensionReason::CouldNotMove)
                    < MAX_WARMUP_EXTENSIONS
                && nuts.cannot_move()
            {
                more = Some((strategy.extend(&mut nuts)?, ExtensionReason::CouldNotMove));
            }
            if let Some((iterations, reason)) = more.filter(|(iterations, _)| *iterations > 0) {
                extensions.push(WarmupExtension { iterations, reason });
                warmup_end += iterations;
                continue;
            }
            // A chain whose last transitions still diverge often after both raises ended
            // its warmup where no step is short enough (a cliff where the density falls
            // off, a funnel's neck): warmup again from a new initial point, once.
            if settings.num_warmup >= MIN_WARMUP_TO_READAPT
                && times_extended(&extensions, ExtensionReason::Diverged) >= MAX_TARGET_RAISES
                && times_extended(&extensions, ExtensionReason::KeptDiverging) == 0
                && strategy.still_diverging()
                && init_can_be_redrawn(settings, dim)
            {
                again = Some((ExtensionReason::KeptDiverging, settings.num_warmup));
            }
        }
        if let Some((reason, iterations)) = again {
            strategy = start_again(&mut nuts, settings)?;
            init_position.clone_from(&nuts.current.position);
            on_event(ChainEvent::Started {
                chain,
                init: &init_position,
            });
            last_position.clone_from(&nuts.current.position);
            unmoved = 0;
            extensions.push(WarmupExtension { iterations, reason });
            warmup_start = iteration;
            warmup_end += iterations;
            continue;
        }
        if iteration == warmup_end {
            let adapted = Adaptation {
                step_size: nuts.step_size(),
                target_accept: strategy.target_accept(),
                inv_mass_matrix: nuts.inv_mass_matrix().to_vec(),
                low_rank: nuts.hamiltonian.low_rank(),
                extra_warmup: warmup_end - settings.num_warmup,
                extensions: std::mem::take(&mut extensions),
            };
            on_event(ChainEvent::WarmupDone {
                chain,
                adaptation: &adapted,
            });
            adaptation = Some(adapted);
            warmup_time = start.elapsed();
            warmup_grad_evals = Some(nuts.hamiltonian.grad_evals);
            sampling_start = Instant::now();
        }
    }
    if settings.num_warmup > 0 && adaptation.is_none() {
        warmup_time = start.elapsed();
    }
    let sampling_time = if adaptation.is_some() {
        sampling_start.elapsed()
    } else {
        Duration::ZERO
    };
    Ok(ChainRun {
        chain,
        init: init_position,
        draws,
        adaptation,
        grad_evals: nuts.hamiltonian.grad_evals,
        warmup_grad_evals: warmup_grad_evals.unwrap_or(nuts.hamiltonian.grad_evals),
        warmup_time,
        sampling_time,
        interrupted,
    })
}
