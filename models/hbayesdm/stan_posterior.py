"""A long Stan run of an hBayesDM model on its committed data: writes posterior/MODEL.json.

    python models/hbayesdm/stan_posterior.py MODEL [--stan-dir DIR] [--draws N] [--seed S]
                                             [--adapt-delta D] [--output FILE]
                                             [--data FILE]

The posterior reference of `models/hbayesdm/MODEL.rlm` is hBayesDM's own Stan program for
the model, sampled by Stan (pystan 3, 4 chains x (1000 warmup + N draws, default 2500), seed
20261201) on the model's committed simulated data file (the row of MODELS in
stan_reference.py, or `--data`, whose data conversion, Stan-syntax update and program fixes, PATCHES,
this script reuses; the fixes are recorded as `stan_patch`). It records, for every
parameter and transformed parameter (named as CmdStan and `rlc summary` name them:
`mu_pr.1`, `A.3`), the posterior mean, its Monte Carlo standard error (ArviZ's, from the
bulk effective sample size), the posterior standard deviation and its Monte Carlo
standard error (ArviZ's `method="sd"`), with Stan's divergence count (also per chain) and
the worst R-hat of Stan's own chains (`stan_max_rhat`). Every positive quantity also gets
Hill's estimate of its right tail index (from the largest 2% of the draws) and the same
four numbers for its log (`log_scale`): the test compares a heavy-tailed one (tail index
below 4, or an sd that Stan's draws pin down no better than to 2.5%) on the log scale. At
R-hat 1.01 or more, or with most of 20 or more divergences in one chain, the script warns:
a chain has not mixed or has explored differently, and the run is no reference until more
draws or another `--seed`, which the file records, give one whose chains agree.
`crates/rlc/tests/hbayesdm_posterior.rs` runs `rlc run` with its defaults on the same file
and checks the means within 4 combined Monte Carlo standard errors and the standard
deviations within 10% (or within 4 combined MCSEs of the sd, where those are larger).

Needs pystan 3 and arviz (only to regenerate a reference, never for the tests) and
hBayesDM's Stan programs, as stan_reference.py does.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from stan_reference import MODELS, PATCHES, STAN_COMMIT, TASKS, modern  # noqa: E402

SEED = 20261201
CHAINS = 4
WARMUP = 1000
# Hill's estimate of a positive quantity's right tail index uses the largest 2% of the draws.
HILL_FRACTION = 0.02


def hill_tail_index(draws):
    """Hill's estimate of the right tail index of positive draws, from the largest 2%."""
    import numpy as np

    x = np.sort(np.asarray(draws, dtype=float).ravel())[::-1]
    k = max(20, int(HILL_FRACTION * len(x)))
    if len(x) <= k or x[k] <= 0:
        return float("inf")
    mean_log_ratio = float(np.mean(np.log(x[:k] / x[k])))
    # The largest draws all equal (a bounded quantity at its bound): no tail at all.
    return 1.0 / mean_log_ratio if mean_log_ratio > 0 else float("inf")


def moments(per_chain):
    """[mean, its MCSE, sd, the sd's MCSE] of draws shaped [chain, draw] (ArviZ's MCSEs)."""
    import arviz as az

    return [float(per_chain.mean()), float(az.mcse(per_chain, method="mean")),
            float(per_chain.std(ddof=1)), float(az.mcse(per_chain, method="sd"))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--stan-dir", default="/work/hbdm-src/commons/stan_files")
    parser.add_argument("--draws", type=int, default=2500, help="draws per chain after warmup")
    parser.add_argument(
        "--seed", type=int, default=SEED,
        help=f"Stan's seed (default {SEED}); another one only when a chain of the default run"
        " has not mixed (the script warns), and recorded in the file",
    )
    parser.add_argument(
        "--adapt-delta", type=float, default=None,
        help="Stan's target acceptance rate (default Stan's 0.8); a higher one, recorded in the"
        " file, for a funnel whose divergences leave Stan's chains unmixed",
    )
    parser.add_argument("--output", help="the file to write (default posterior/MODEL.json)")
    parser.add_argument(
        "--data",
        help="another data file than MODELS' row (relative to models/hbayesdm, recorded in the"
        " file): simulated data on which the posterior is identified, where the row's is not",
    )
    args = parser.parse_args()
    if args.model not in MODELS:
        sys.exit(f"{args.model}: not in stan_reference.py's MODELS (add a row)")
    task, data_path, _ = MODELS[args.model]
    data_file = os.path.join(HERE, args.data or data_path)

    import aiohttp.client
    import arviz as az
    import numpy as np
    import stan

    aiohttp.client.DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
    with open(os.path.join(args.stan_dir, args.model + ".stan"), "rb") as f:
        raw = f.read()
    code = modern(raw.decode())
    # The fixes stan_reference.py makes to programs that do not compute the model they
    # describe (choiceRT_lba_single scores only two trials per condition without its own).
    for old, new, _ in PATCHES.get(args.model, []):
        if old not in code:
            sys.exit(f"{args.model}: the patch's text {old!r} is not in the program")
        code = code.replace(old, new)
    data = TASKS[task](data_file)
    # A relative --output is the caller's: resolved before the change of folder below.
    out = os.path.abspath(args.output or os.path.join(HERE, "posterior", args.model + ".json"))
    os.chdir(tempfile.mkdtemp(prefix="stan_posterior_"))
    model = stan.build(code, data=data, random_seed=args.seed)
    options = {} if args.adapt_delta is None else {"delta": args.adapt_delta}
    fit = model.sample(num_chains=CHAINS, num_warmup=WARMUP, num_samples=args.draws, **options)
    # fit._draws is [column, draw, chain]: the sampler's columns, then the parameters,
    # transformed parameters and generated quantities. Generated quantities (log_lik,
    # y_pred) are left out.
    draws = fit._draws
    first = len(fit.sample_and_sampler_param_names)
    generated = ("log_lik", "y_pred", "y_hat", "choice_pred")
    summary = {}
    log_scale = {}
    worst_rhat = (None, 0.0)
    for i, column in enumerate(fit.constrained_param_names):
        if column.split(".")[0] in generated:
            continue
        per_chain = draws[first + i].T  # [chain, draw]
        # A constant or non-finite quantity (an initial value, a NaN for a padded
        # trial) has no posterior to compare.
        if not np.all(np.isfinite(per_chain)) or np.ptp(per_chain) == 0:
            continue
        summary[column] = moments(per_chain)
        if np.all(per_chain > 0):
            logs = np.log(per_chain)
            tail_index = hill_tail_index(per_chain)
            log_scale[column] = {
                # null: the largest draws all equal, no tail (JSON has no infinity)
                "tail_index": round(tail_index, 3) if math.isfinite(tail_index) else None,
                "log": moments(logs),
            }
        rhat = float(az.rhat(per_chain))
        if rhat > worst_rhat[1]:
            worst_rhat = (column, rhat)
    divergent = fit.sample_and_sampler_param_names.index("divergent__")
    divergences = int(draws[divergent].sum())
    per_chain_divergences = [int(x) for x in draws[divergent].sum(axis=0)]
    reference = {
        "model": args.model,
        "data": os.path.relpath(data_file, HERE),
        "stan_program": f"hBayesDM {STAN_COMMIT} commons/stan_files/{args.model}.stan",
        "stan_sha256": hashlib.sha256(raw).hexdigest(),
        **(
            {"stan_patch": [{"old": old, "new": new, "why": why} for old, new, why in PATCHES[args.model]]}
            if args.model in PATCHES
            else {}
        ),
        "stan": {
            "chains": CHAINS, "warmup": WARMUP, "draws": args.draws, "seed": args.seed,
            **({} if args.adapt_delta is None else {"adapt_delta": args.adapt_delta}),
        },
        "divergences": divergences,
        "divergences_per_chain": per_chain_divergences,
        # Stan's own rank-normalized R-hat, worst over the quantities: a reference whose
        # chains disagree (one stuck in a funnel) is no reference.
        "stan_max_rhat": [worst_rhat[0], round(worst_rhat[1], 4)],
        "summary": summary,
        # Every positive quantity: Hill's estimate of its right tail index, and the mean,
        # its MCSE and the sd of its log, which the test compares instead of the quantity's
        # own where the tail is heavy.
        **({"log_scale": log_scale} if log_scale else {}),
    }
    # The settings a reference asks of rlc's run (`rlc_draws`, `rlc_adapt_delta`, with
    # their reasons) are the test's, not Stan's: a remade reference keeps them.
    if os.path.exists(out):
        with open(out) as f:
            reference.update({k: v for k, v in json.load(f).items() if k.startswith("rlc_")})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(reference, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {out}: {len(summary)} quantities, {divergences} divergences,"
          f" Stan's R-hat at most {worst_rhat[1]:.4f} ({worst_rhat[0]})")
    # Divergences piled up in one chain mark a chain that explored differently (a funnel's
    # neck), which can widen the pooled sds while R-hat stays below 1.01.
    if divergences >= 20 and max(per_chain_divergences) > divergences / 2:
        print(f"warning: one chain has {max(per_chain_divergences)} of the {divergences}"
              " divergences: compare its draws with the others', or rerun with another --seed")
    if worst_rhat[1] >= 1.01:
        print(f"warning: Stan's chains have not mixed (R-hat {worst_rhat[1]:.4f} for"
              f" {worst_rhat[0]}): rerun with more --draws or another --seed")


if __name__ == "__main__":
    main()
