//! Runs chains in parallel threads and reports their progress as it happens.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::chain::{run_chain, Adaptation, ChainError, ChainRun, Draw};
use crate::density::LogDensity;
use crate::settings::SamplerSettings;

/// Something a chain reports while it runs. Events of one chain arrive in order, from
/// the thread running it; events of different chains interleave.
#[derive(Clone, Copy, Debug)]
pub enum ChainEvent<'a> {
    /// Initial values were found; warmup begins.
    Started {
        /// The chain's index.
        chain: usize,
        /// The initial position (unconstrained); sent again with a new one when the chain
        /// starts over ([`ExtensionReason::Stuck`](crate::ExtensionReason::Stuck)).
        init: &'a [f64],
    },
    /// An iteration finished (warmup or sampling: see [`Draw::is_warmup`]).
    Draw {
        /// The chain's index.
        chain: usize,
        /// The draw and its statistics.
        draw: &'a Draw,
    },
    /// Warmup ended (or was skipped); sampling uses this step size and metric.
    WarmupDone {
        /// The chain's index.
        chain: usize,
        /// The adapted step size and inverse mass matrix.
        adaptation: &'a Adaptation,
    },
    /// The chain stopped with an error; its other chains go on.
    Failed {
        /// The chain's index.
        chain: usize,
        /// Why.
        error: &'a ChainError,
    },
}

/// Samples `settings.num_chains` chains, chain `k` from the density `make_density(k)`
/// built on the thread that runs it.
///
/// `on_event` is called from the worker threads as chains progress (use it to stream draws
/// to disk or drive progress bars; it should be quick). Setting `stop` makes every chain
/// finish after its current iteration, keeping what it drew ([`ChainRun::interrupted`]).
/// Returns one result per chain, in chain order.
pub fn sample<D, F, E>(
    settings: &SamplerSettings,
    make_density: F,
    on_event: E,
    stop: &AtomicBool,
) -> Vec<Result<ChainRun, ChainError>>
where
    D: LogDensity,
    F: Fn(usize) -> D + Sync,
    E: Fn(ChainEvent<'_>) + Sync,
{
    let num_chains = settings.num_chains;
    let num_threads = match settings.num_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, num_chains.max(1));

    // Chains are handed out from a shared counter; which thread runs a chain does not
    // matter because each chain's randomness is its own.
    let next_chain = AtomicUsize::new(0);
    let run_chains = || {
        let mut finished = Vec::new();
        loop {
            let chain = next_chain.fetch_add(1, Ordering::Relaxed);
            if chain >= num_chains {
                return finished;
            }
            let result = run_chain(chain, make_density(chain), settings, &on_event, stop);
            if let Err(error) = &result {
                on_event(ChainEvent::Failed { chain, error });
            }
            finished.push((chain, result));
        }
    };

    let mut finished: Vec<(usize, Result<ChainRun, ChainError>)> = if num_threads == 1 {
        run_chains()
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..num_threads).map(|_| scope.spawn(run_chains)).collect();
            workers
                .into_iter()
                .flat_map(|worker| match worker.join() {
                    Ok(results) => results,
                    // A panicking density is a bug in the caller's code: pass it on.
                    Err(payload) => std::panic::resume_unwind(payload),
                })
                .collect()
        })
    };
    finished.sort_by_key(|(chain, _)| *chain);
    finished.into_iter().map(|(_, result)| result).collect()
}
