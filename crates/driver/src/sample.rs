//! Sampling a bound model with NUTS: chains in parallel, each draw reported
//! to an [`Observer`] as it is made (to stream it to a file or move a
//! progress bar) and the whole fit returned in memory.

use crate::density::{Density, EvalFailure};
use crate::error::{Error, ErrorKind};
use crate::generate::DrawOutputs;
use crate::summary::RunDraws;
use rlc_nuts::{ChainEvent, LogDensity, SamplerSettings};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use rlc_nuts::{
    times_extended, Adaptation, ExtensionReason, FisherWarmupSettings, WarmupExtension, WarmupKind,
};

/// The sampler statistics columns, in CmdStan's order.
pub const STAT_COLUMNS: [&str; 7] = [
    "lp__",
    "accept_stat__",
    "stepsize__",
    "treedepth__",
    "n_leapfrog__",
    "divergent__",
    "energy__",
];

/// The settings of a run; the defaults are CmdStan's, except for the warmup
/// (see [`DEFAULT_ADAPTATION`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSettings {
    /// Number of chains, run in parallel. Stan: 4.
    pub chains: usize,
    /// How warmup adapts the step size and mass matrix: Stan's windowed
    /// adaptation, or the gradient-based (Fisher divergence) one of nutpie.
    pub adaptation: WarmupKind,
    /// Warmup iterations per chain ([`default_warmup`] of the adaptation;
    /// Stan: 1000).
    pub warmup: usize,
    /// Draws per chain after warmup. Stan: 1000.
    pub draws: usize,
    /// Keep every `thin`-th of the draws (the first, then every `thin`-th after it):
    /// `draws.div_ceil(thin)` per chain are kept. Stan: 1 (CmdStan's `thin`,
    /// hBayesDM's `nthin`).
    pub thin: usize,
    /// The run's seed; chain `k`'s randomness depends on `(seed, k)` only.
    pub seed: u64,
    /// Maximum NUTS tree depth. Stan: 10.
    pub max_depth: u32,
    /// Target acceptance rate of step-size adaptation. Stan: 0.8.
    pub adapt_delta: f64,
    /// Threads the chains run on; 0 means one per chain up to the number of
    /// cores. The draws do not depend on it.
    pub threads: usize,
    /// Initial values are drawn uniformly from `(-init_radius, init_radius)` on the
    /// unconstrained scale; 0 starts at the origin. Stan: 2 (CmdStan's `init=R`).
    pub init_radius: f64,
    /// Initial values of some or all parameters, on their own (constrained) scale, by
    /// name, arrays row-major (CmdStan's `init=FILE`): every chain starts there in
    /// those coordinates; the others are drawn as `init_radius` says. Empty: none.
    pub init: crate::density::GivenValues,
}

/// The adaptation a run uses unless told otherwise, chosen by measurement
/// (docs/performance.md, "Warmup").
pub const DEFAULT_ADAPTATION: WarmupKind = WarmupKind::Fisher;

/// The warmup length that suits an adaptation: Stan's 1000 for Stan's
/// windows; fewer for the gradient-based metric, which is good after a few
/// hundred draws (docs/performance.md, "Warmup").
pub fn default_warmup(adaptation: WarmupKind) -> usize {
    match adaptation {
        WarmupKind::Stan => 1000,
        WarmupKind::Fisher | WarmupKind::FisherLowRank => 400,
    }
}

impl Default for SampleSettings {
    fn default() -> Self {
        SampleSettings {
            chains: 4,
            adaptation: DEFAULT_ADAPTATION,
            warmup: default_warmup(DEFAULT_ADAPTATION),
            draws: 1000,
            thin: 1,
            seed: 0,
            max_depth: 10,
            adapt_delta: 0.8,
            threads: 0,
            init_radius: 2.0,
            init: HashMap::new(),
        }
    }
}

impl SampleSettings {
    /// The draws each chain keeps: every `thin`-th of `draws`, the first included.
    pub fn kept_draws(&self) -> usize {
        self.draws.div_ceil(self.thin.max(1))
    }

    /// A usage error for settings no run can have (the draws' memory is
    /// checked against the model by [`crate::memory::check_draws`]).
    pub fn validate(&self) -> Result<(), Error> {
        if self.chains == 0 {
            return Err(Error::usage("error: --chains must be at least 1"));
        }
        if self.draws == 0 {
            return Err(Error::usage(
                "error: --draws must be at least 1 (the draws after warmup are what a run is for)",
            ));
        }
        if self.thin == 0 {
            return Err(Error::usage(
                "error: --thin must be at least 1 (1 keeps every draw)",
            ));
        }
        if !(self.adapt_delta > 0.0 && self.adapt_delta < 1.0) {
            return Err(Error::usage("error: --adapt-delta must be between 0 and 1"));
        }
        if !(self.init_radius >= 0.0 && self.init_radius.is_finite()) {
            return Err(Error::usage(format!(
                "error: the initial values' radius (--init R, or --init-radius R with a file) must be a finite number, 0 or more (got {})",
                self.init_radius
            )));
        }
        if self.init_radius > MAX_INIT_RADIUS {
            return Err(Error::usage(format!(
                "error: the initial values' radius (--init R, or --init-radius R with a file) must be at most {MAX_INIT_RADIUS:e} (got {:e}): it is a distance on the unconstrained scale, where a positive parameter is exp of the value, so exp(710) already overflows; Stan's default is 2",
                self.init_radius
            )));
        }
        // A trajectory has up to 2^max_depth steps and the sampler keeps
        // one set of vectors per level: past 30 (a billion gradient
        // evaluations per draw) a depth is a mistake, not a setting.
        if !(1..=MAX_TREE_DEPTH).contains(&self.max_depth) {
            return Err(Error::usage(format!(
                "error: --max-depth must be between 1 and {MAX_TREE_DEPTH} (a tree of depth {MAX_TREE_DEPTH} has up to 2^{MAX_TREE_DEPTH} ≈ 10^9 leapfrog steps per draw; Stan's default is 10)"
            )));
        }
        let iterations = self.warmup.checked_add(self.draws);
        if iterations.is_none_or(|n| n > MAX_ITERATIONS) {
            return Err(Error::usage(format!(
                "error: --warmup plus --draws must be at most {MAX_ITERATIONS} per chain (got {} + {})",
                self.warmup, self.draws
            )));
        }
        if self.chains > MAX_CHAINS {
            return Err(Error::usage(format!(
                "error: --chains must be at most {MAX_CHAINS}"
            )));
        }
        Ok(())
    }
}

/// The deepest NUTS tree a run may ask for.
pub const MAX_TREE_DEPTH: u32 = 30;

/// The largest radius initial values are drawn from. Past a few hundred on
/// the unconstrained scale a positive parameter's exp overflows, so a larger
/// radius is a mistake; at about 9e307 the interval's width itself is
/// infinite.
pub const MAX_INIT_RADIUS: f64 = 1e6;
/// The most iterations (warmup and draws) of one chain: far beyond any run,
/// small enough that counts and progress bars never overflow.
pub const MAX_ITERATIONS: usize = 1 << 40;
/// The most chains of one run.
pub const MAX_CHAINS: usize = 1 << 16;

/// What a value in a draw is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableKind {
    /// A parameter, on its constrained scale.
    Parameter,
    /// An `out` value.
    Out,
    /// An out written in loops (`out pe[n, t] = …`, with `--loop-outs`): in
    /// the draws and the posterior, not in the summary unless asked for.
    LoopOut,
    /// The pointwise log-likelihood (`log_lik`).
    LogLik,
    /// A posterior predictive draw of an observed variable (`{name}_rep`).
    Predicted,
}

/// One named array written with every draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: VariableKind,
}

impl Variable {
    /// The number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parameters, then the `out` values, of a bound model, in the order a
/// draw's values hold them.
pub fn variables(density: &Density) -> Vec<Variable> {
    density
        .params
        .iter()
        .map(|p| Variable {
            name: p.name.clone(),
            shape: p.shape.clone(),
            kind: VariableKind::Parameter,
        })
        .chain(density.outs.iter().map(|(name, shape, in_loops)| Variable {
            name: name.clone(),
            shape: shape.clone(),
            kind: if *in_loops {
                VariableKind::LoopOut
            } else {
                VariableKind::Out
            },
        }))
        .collect()
}

/// The CmdStan CSV column names of `variables`: `name.i.j`, 1-based, in
/// CmdStan's column-major order; and for each, its position in a draw's
/// row-major values.
pub fn column_names(variables: &[Variable]) -> (Vec<String>, Vec<usize>) {
    let mut names = Vec::new();
    let mut order = Vec::new();
    let mut base = 0;
    for v in variables {
        let count = v.len();
        for k in 0..count {
            // k counts in column-major order: the first index varies fastest.
            let mut rest = k;
            let mut index = vec![0; v.shape.len()];
            for (axis, d) in v.shape.iter().enumerate() {
                index[axis] = rest % d;
                rest /= d;
            }
            let mut row_major = 0;
            for (axis, d) in v.shape.iter().enumerate() {
                row_major = row_major * d + index[axis];
            }
            let mut name = v.name.clone();
            for i in &index {
                name.push_str(&format!(".{}", i + 1));
            }
            names.push(name);
            order.push(base + row_major);
        }
        base += count;
    }
    (names, order)
}

/// One iteration as the observer sees it.
#[derive(Debug, Clone, Copy)]
pub struct DrawRecord<'a> {
    pub chain: usize,
    /// Iteration index from 0, warmup included.
    pub iteration: usize,
    pub is_warmup: bool,
    /// A draw the run keeps (not warmup, not left out by `thin`): the files and the
    /// fit hold the kept draws alone.
    pub kept: bool,
    /// The values of [`STAT_COLUMNS`].
    pub stats: [f64; 7],
    /// The variables' values, row-major one after the other (empty during warmup).
    pub values: &'a [f64],
}

/// Receives a run's progress as it happens, from the chains' threads; events
/// of one chain arrive in order. Every method has an empty default.
pub trait Observer: Sync {
    /// Warmup ended; sampling uses this step size and metric.
    fn warmup_done(&self, _chain: usize, _adaptation: &Adaptation) {}
    /// An iteration finished.
    fn draw(&self, _draw: &DrawRecord<'_>) {}
    /// The chain stopped with an error (the others go on).
    fn failed(&self, _chain: usize, _error: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Everything one chain produced.
#[derive(Debug, Clone, Default)]
pub struct ChainFit {
    pub chain: usize,
    /// The sampler statistics of each draw after warmup.
    pub stats: Vec<[f64; 7]>,
    /// Each draw's variable values, row-major one after the other.
    pub values: Vec<Vec<f64>>,
    /// Step size and inverse metric after warmup (`None` if stopped before).
    pub adaptation: Option<Adaptation>,
    pub grad_evals: u64,
    /// The part of `grad_evals` spent in initialization and warmup.
    pub warmup_grad_evals: u64,
    pub warmup_time: Duration,
    pub sampling_time: Duration,
    /// Whether the stop flag ended the chain early.
    pub interrupted: bool,
    /// Why the chain failed, or why its outputs could not be computed.
    pub error: Option<String>,
    /// Each draw's position on the unconstrained scale.
    pub positions: Vec<Vec<f64>>,
}

/// A whole run, in memory.
#[derive(Debug, Clone)]
pub struct Fit {
    pub variables: Vec<Variable>,
    pub chains: Vec<ChainFit>,
    pub settings: SampleSettings,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Whether the stop flag ended the run early.
    pub interrupted: bool,
    /// Which data cell each `log_lik` column scores, when they were computed.
    pub log_lik_cells: Option<crate::generate::LogLikCells>,
    /// Directions: the parameters a `VonMises` prior gives `(-pi, pi)`.
    pub circular: Vec<String>,
}

impl Fit {
    /// The run's warnings, as `rlc run` prints them after its table: Stan's, from
    /// `draws` (R-hat, ESS, divergences, tree depth, E-BFMI), then one naming the
    /// chains whose warmup was extended because they could not move at the step size
    /// warmup ended with.
    pub fn warnings(&self, draws: &RunDraws) -> Vec<String> {
        self.warnings_labelled(draws, &draws.columns)
    }

    /// [`Fit::warnings`] naming the columns by `labels` (one per column).
    pub fn warnings_labelled(&self, draws: &RunDraws, labels: &[String]) -> Vec<String> {
        let mut warnings =
            crate::summary::warnings_labelled(draws, self.settings.max_depth, labels);
        warnings.extend(crate::summary::directions_at_the_cut(
            draws,
            &self.circular,
            labels,
        ));
        for reason in [
            ExtensionReason::Stuck,
            ExtensionReason::MovedAfterMetric,
            ExtensionReason::AtMaxDepth,
            ExtensionReason::Diverged,
            ExtensionReason::KeptDiverging,
            ExtensionReason::CouldNotMove,
        ] {
            let extended: Vec<String> = self
                .chains
                .iter()
                .filter_map(|c| {
                    let adaptation = c.adaptation.as_ref()?;
                    let iterations: usize = adaptation
                        .extensions
                        .iter()
                        .filter(|e| e.reason == reason)
                        .map(|e| e.iterations)
                        .sum();
                    // Raises its warmup then started again from are said with that.
                    let started_again = adaptation
                        .extensions
                        .iter()
                        .any(|e| e.reason == ExtensionReason::KeptDiverging);
                    if reason == ExtensionReason::Diverged && started_again {
                        return None;
                    }
                    let raised = if reason == ExtensionReason::Diverged {
                        format!(" to target {}", adaptation.target_accept)
                    } else {
                        String::new()
                    };
                    (iterations > 0).then(|| {
                        format!("chain {} by {iterations} iterations{raised}", c.chain + 1)
                    })
                })
                .collect();
            if extended.is_empty() {
                continue;
            }
            let why = match reason {
                ExtensionReason::Stuck => "20 transitions in a row early in the chain's warmup each stayed put or diverged (a start far out, where the log density is finite but its gradient so steep that no step changes a coordinate, or where every path breaks down), so its warmup started again from a new initial point; if it recurs, start the chains elsewhere (--init 0, a smaller --init radius, or --init FILE)",
                ExtensionReason::MovedAfterMetric => "the chain moved to a region of another log density after its metric was set (a mode, or a part of the posterior, found late), so its metric and step size were adapted again there; if the chains end in regions of different log density, they have not mixed: run a longer --warmup and compare them",
                ExtensionReason::AtMaxDepth => "more than half of the chain's transitions at the end of warmup reached the maximum tree depth, a sign that its metric did not fit the region it samples (estimated from few draws after a long climb from its initial point), so its metric and step size were adapted again from where it stood; if its draws still reach the maximum depth, raise --max-depth or rescale the parameters",
                ExtensionReason::Diverged => "more than a tenth of the chain's transitions at the end of warmup diverged, so its step size was adapted again at a higher target acceptance rate, as raising --adapt-delta would (0.8 becomes 0.9, then 0.95); if its draws still diverge, reparameterize (e.g. non-centered) or raise --adapt-delta further",
                ExtensionReason::KeptDiverging => "more than a tenth of the chain's transitions at the end of warmup still diverged after its target acceptance rate was raised twice (it ended warmup where no step is short enough: a cliff where the density falls off, a funnel's neck, where the adaptation drives the step down until the chain cannot leave), so its warmup started again from a new initial point; if its draws still diverge, reparameterize or bound the parameters away from the cliff",
                ExtensionReason::CouldNotMove => "at the step size warmup ended with, the chain could not move from where it stood (a warmup too short, or the neck of a funnel entered in its last iterations), so it samples with a smaller step size; more --warmup, or a higher target acceptance rate (--adapt-delta 0.95 or more) for a funnel, usually avoids it",
            };
            warnings.push(format!(
                "warmup was extended ({}): {why}.",
                extended.join(", ")
            ));
        }
        warnings
    }

    /// The chains that made draws, by column (CmdStan names: statistics,
    /// then the variables' elements in CSV order), cut to their common
    /// length, for the summary.
    pub fn run_draws(&self) -> RunDraws {
        self.run_draws_of(false)
    }

    /// [`Fit::run_draws`], with the outs written in loops when `loop_outs`
    /// (they hold an element per trial: shown only when asked for).
    pub fn run_draws_of(&self, loop_outs: bool) -> RunDraws {
        // The summary shows parameters and `out` values, not the per-draw extras.
        let shown: Vec<Variable> = self
            .variables
            .iter()
            .filter(|v| match v.kind {
                VariableKind::Parameter | VariableKind::Out => true,
                VariableKind::LoopOut => loop_outs,
                VariableKind::LogLik | VariableKind::Predicted => false,
            })
            .cloned()
            .collect();
        let (value_names, order) = column_names(&shown);
        let with_draws: Vec<&ChainFit> =
            self.chains.iter().filter(|c| !c.stats.is_empty()).collect();
        let shortest = with_draws.iter().map(|c| c.stats.len()).min().unwrap_or(0);
        let chains = with_draws
            .iter()
            .map(|c| {
                let mut columns: Vec<Vec<f64>> = (0..STAT_COLUMNS.len())
                    .map(|k| c.stats[..shortest].iter().map(|s| s[k]).collect())
                    .collect();
                columns.extend(order.iter().map(|&i| {
                    c.values[..shortest]
                        .iter()
                        .map(|v| v.get(i).copied().unwrap_or(f64::NAN))
                        .collect()
                }));
                columns
            })
            .collect();
        let mut names: Vec<String> = STAT_COLUMNS.iter().map(|s| s.to_string()).collect();
        names.extend(value_names);
        RunDraws::new(
            names,
            chains,
            Some(
                self.chains
                    .iter()
                    .map(|c| c.sampling_time.as_secs_f64())
                    .fold(0.0, f64::max),
            ),
        )
    }

    /// The number of draws of the shortest chain that made any.
    pub fn draws_per_chain(&self) -> usize {
        self.chains
            .iter()
            .filter(|c| !c.stats.is_empty())
            .map(|c| c.stats.len())
            .min()
            .unwrap_or(0)
    }

    /// Gradient evaluations of all chains together.
    pub fn grad_evals(&self) -> u64 {
        self.chains.iter().map(|c| c.grad_evals).sum()
    }

    /// The gradient evaluations of all chains spent in initialization and warmup.
    pub fn warmup_grad_evals(&self) -> u64 {
        self.chains.iter().map(|c| c.warmup_grad_evals).sum()
    }

    /// The most warmup iterations any chain took beyond the ones asked for (its warmup
    /// was extended); 0 almost always.
    pub fn most_extra_warmup(&self) -> usize {
        self.chains
            .iter()
            .filter_map(|c| c.adaptation.as_ref())
            .map(|a| a.extra_warmup)
            .max()
            .unwrap_or(0)
    }
}

/// An explanation of why the log density is not finite where the chains
/// start: at the given initial values with the others at the origin of the
/// unconstrained scale, or else at the first of a few points drawn as initial
/// values are.
fn explain_initial_values(density: &Density, given: &[Option<f64>], radius: f64) -> Option<String> {
    use rand::Rng;
    let mut rng = crate::generate::rng(0, 0);
    let given_at = |i: usize| given.get(i).copied().flatten();
    let mut theta: Vec<f64> = (0..density.dim)
        .map(|i| given_at(i).unwrap_or(0.0))
        .collect();
    for _ in 0..20 {
        if let Some(why) = density.explain(&theta) {
            return Some(why);
        }
        if radius <= 0.0 {
            break;
        }
        for (i, x) in theta.iter_mut().enumerate() {
            *x = given_at(i).unwrap_or_else(|| rng.random_range(-radius..radius));
        }
    }
    None
}

/// The sampler's view of a model: a log density on the unconstrained scale.
struct SamplerDensity(Density);

impl LogDensity for SamplerDensity {
    type Error = EvalFailure;
    fn dim(&self) -> usize {
        self.0.dim
    }
    fn logp_and_grad(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, EvalFailure> {
        self.0.logp_grad(position, grad)
    }
    fn is_fault(&self, error: &EvalFailure) -> bool {
        error.is_index_error()
    }
}

/// What each chain's event handler owns: a density for the variables of
/// each draw, the extras and their random stream, and the draws so far.
struct ChainState {
    generated: Density,
    extras: DrawOutputs,
    rng: rand_chacha::ChaCha8Rng,
    /// The draws after warmup so far, kept or not (for `thin`).
    sampled: usize,
    fit: ChainFit,
}

/// The random stream of chain `chain`'s predictive draws: apart from the
/// sampler's, so asking for them leaves the posterior draws unchanged.
fn extras_rng(seed: u64, chain: usize) -> rand_chacha::ChaCha8Rng {
    crate::generate::rng(seed, (1 << 32) + chain as u64)
}

/// Samples `density`'s posterior. Each chain gets its own copy of the
/// compiled code's work buffers. Setting `stop` ends every chain after its
/// current iteration, keeping its draws. Fails only when no chain made a draw.
pub fn sample(
    density: &Density,
    settings: &SampleSettings,
    observer: &dyn Observer,
    stop: &AtomicBool,
) -> Result<Fit, Error> {
    sample_with(density, &DrawOutputs::none(), settings, observer, stop)
}

/// [`sample`] with extra quantities (pointwise log-likelihood, predictive
/// draws) computed for every draw and written after its variables.
pub fn sample_with(
    density: &Density,
    extras: &DrawOutputs,
    settings: &SampleSettings,
    observer: &dyn Observer,
    stop: &AtomicBool,
) -> Result<Fit, Error> {
    settings.validate()?;
    if density.dim == 0 {
        return Err(Error::usage(
            "error: the model has no parameters, so there is nothing to sample (declare them with `param`; `rlc simulate` runs a model with none forward)",
        ));
    }
    let init_values = density
        .unconstrain_given(&settings.init)
        .map_err(|e| Error::usage(format!("error: initial values: {e}")))?;
    let mut variables = variables(density);
    variables.extend(extras.variables.iter().cloned());
    let value_count: usize = variables.iter().map(Variable::len).sum();
    // The draws are kept in memory: a run that cannot hold them is refused
    // before it starts, not aborted by a failed allocation part-way.
    crate::memory::check_draws_fit(settings.chains, settings.kept_draws(), value_count)?;
    let states: Vec<Mutex<ChainState>> = (0..settings.chains)
        .map(|chain| {
            Mutex::new(ChainState {
                generated: density.clone(),
                extras: extras.clone(),
                rng: extras_rng(settings.seed, chain),
                sampled: 0,
                fit: ChainFit {
                    chain,
                    stats: Vec::with_capacity(settings.kept_draws()),
                    values: Vec::with_capacity(settings.kept_draws()),
                    ..ChainFit::default()
                },
            })
        })
        .collect();
    let densities: Vec<Mutex<Option<SamplerDensity>>> = (0..settings.chains)
        .map(|_| Mutex::new(Some(SamplerDensity(density.clone()))))
        .collect();
    let sampler = SamplerSettings {
        num_warmup: settings.warmup,
        num_draws: settings.draws,
        num_chains: settings.chains,
        num_threads: settings.threads,
        seed: settings.seed,
        max_depth: settings.max_depth,
        target_accept: settings.adapt_delta,
        warmup: settings.adaptation,
        init_radius: settings.init_radius,
        init_values: init_values.clone(),
        ..SamplerSettings::default()
    };
    let started = Instant::now();
    // The chains stop on `halt`: the caller's `stop` (an interrupt), passed on at
    // each event, or a fault of the model in one chain, which stops this run
    // alone (a study's other fits share the caller's flag).
    let halt = AtomicBool::new(stop.load(Ordering::SeqCst));
    let on_chain_event = |event: ChainEvent<'_>| match event {
        ChainEvent::Started { .. } => {}
        ChainEvent::WarmupDone { chain, adaptation } => {
            observer.warmup_done(chain, adaptation);
        }
        ChainEvent::Draw { chain, draw } => {
            let st = &draw.stats;
            let stats = [
                st.lp,
                st.accept_stat,
                st.step_size,
                f64::from(st.tree_depth),
                f64::from(st.n_leapfrog),
                f64::from(u8::from(st.divergent)),
                st.energy,
            ];
            let skipped = |is_warmup: bool| DrawRecord {
                chain,
                iteration: draw.iteration,
                is_warmup,
                kept: false,
                stats,
                values: &[],
            };
            if draw.is_warmup {
                observer.draw(&skipped(true));
                return;
            }
            let Ok(mut s) = states[chain].lock() else {
                return;
            };
            // Thinning keeps the first draw and every `thin`-th after it.
            let kept = s.sampled % settings.thin.max(1) == 0;
            s.sampled += 1;
            if !kept {
                observer.draw(&skipped(false));
                return;
            }
            let mut values: Vec<f64> = match s.generated.generated(&draw.position) {
                Ok(values) => values,
                Err(e) => {
                    s.fit
                        .error
                        .get_or_insert(format!("computing the outputs of a draw: {e}"));
                    vec![f64::NAN; value_count]
                }
            };
            if !s.extras.is_empty() {
                let state = &mut *s;
                match state.extras.compute(&draw.position, &mut state.rng) {
                    Ok(extra) => values.extend(extra),
                    Err(e) => {
                        state
                            .fit
                            .error
                            .get_or_insert(format!("computing the extras of a draw: {e}"));
                    }
                }
                values.resize(value_count, f64::NAN);
            }
            observer.draw(&DrawRecord {
                chain,
                iteration: draw.iteration,
                is_warmup: false,
                kept: true,
                stats,
                values: &values,
            });
            s.fit.stats.push(stats);
            s.fit.values.push(values);
            s.fit.positions.push(draw.position.clone());
        }
        ChainEvent::Failed { chain, error } => {
            if matches!(error, rlc_nuts::ChainError::ModelFault { .. }) {
                // The model is wrong wherever the other chains are: they stop too.
                halt.store(true, Ordering::SeqCst);
            }
            observer.failed(chain, &error.to_string());
        }
    };
    let on_event = |event: ChainEvent<'_>| {
        on_chain_event(event);
        // (After the event: an observer may set `stop` as it takes a draw.)
        if stop.load(Ordering::SeqCst) {
            halt.store(true, Ordering::SeqCst);
        }
    };
    let make = |chain: usize| {
        densities[chain]
            .lock()
            .ok()
            .and_then(|mut d| d.take())
            .expect("each chain's density is taken once")
    };
    let results = rlc_nuts::sample(&sampler, make, on_event, &halt);
    let elapsed = started.elapsed();
    let mut chains = Vec::with_capacity(settings.chains);
    let mut faults = Vec::new();
    for (result, state) in results.into_iter().zip(states) {
        let mut fit = state
            .into_inner()
            .map_err(|_| Error::internal("internal error: a chain's state was poisoned"))?
            .fit;
        match result {
            Ok(run) => {
                fit.adaptation = run.adaptation;
                fit.grad_evals = run.grad_evals;
                fit.warmup_grad_evals = run.warmup_grad_evals;
                fit.warmup_time = run.warmup_time;
                fit.sampling_time = run.sampling_time;
                fit.interrupted = run.interrupted;
            }
            Err(e) => {
                if matches!(e, rlc_nuts::ChainError::ModelFault { .. }) {
                    faults.push(format!("error: chain {}: {e}", fit.chain + 1));
                }
                fit.error = Some(e.to_string());
            }
        }
        chains.push(fit);
    }
    if !faults.is_empty() {
        return Err(Error::new(
            ErrorKind::Sampling,
            format!(
                "{}\nerror: the run was stopped: an index is out of range at a point a chain reached (the model indexes by a value the data or the model's branches make too large); the draws made before are in the output files",
                faults.join("\n")
            ),
        ));
    }
    let interrupted = stop.load(Ordering::SeqCst);
    let some_made_draws = chains.iter().any(|c| !c.stats.is_empty());
    if some_made_draws {
        // A chain that found no starting point says why, as a run whose
        // chains all failed does (below).
        let mut why = None;
        for c in chains.iter_mut() {
            if let Some(e) = c
                .error
                .as_mut()
                .filter(|e| e.starts_with("no finite log density"))
            {
                let why = why.get_or_insert_with(|| {
                    explain_initial_values(density, &init_values, settings.init_radius)
                });
                if let Some(why) = why {
                    e.push_str(&format!("\n  why: {why}"));
                }
            }
        }
    }
    let fit = Fit {
        variables,
        chains,
        settings: settings.clone(),
        elapsed,
        interrupted,
        log_lik_cells: extras.log_lik_cells().cloned(),
        circular: density.circular.clone(),
    };
    if fit.chains.iter().all(|c| c.stats.is_empty()) {
        let errors: Vec<(usize, &String)> = fit
            .chains
            .iter()
            .filter_map(|c| c.error.as_ref().map(|e| (c.chain, e)))
            .collect();
        // The same error in every chain is said once.
        let mut failures: Vec<String> = match errors.as_slice() {
            [(_, first), rest @ ..] if !rest.is_empty() && rest.iter().all(|(_, e)| e == first) => {
                vec![format!("error: all {} chains: {first}", errors.len())]
            }
            _ => errors
                .iter()
                .map(|(c, e)| format!("error: chain {}: {e}", c + 1))
                .collect(),
        };
        if errors
            .iter()
            .any(|(_, e)| e.starts_with("no finite log density"))
        {
            if let Some(why) = explain_initial_values(density, &init_values, settings.init_radius) {
                failures.push(format!("  why: {why}"));
            }
        }
        let (kind, last) = if interrupted {
            (
                ErrorKind::Interrupted,
                "interrupted during warmup: no draws were made".to_string(),
            )
        } else {
            (
                ErrorKind::Sampling,
                "error: no chain produced draws".to_string(),
            )
        };
        let mut message = failures.join("\n");
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(&last);
        return Err(Error::new(kind, message));
    }
    Ok(fit)
}
