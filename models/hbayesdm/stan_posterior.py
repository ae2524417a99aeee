"""A long Stan run of an hBayesDM model on its committed data: writes posterior/MODEL.json.

    python models/hbayesdm/stan_posterior.py MODEL [--stan-dir DIR] [--draws N]

The posterior reference of `models/hbayesdm/MODEL.rlm` is hBayesDM's own Stan program for
the model, sampled by Stan (pystan 3, 4 chains x (1000 warmup + N draws, default 2500), seed 20261201)
on the model's committed simulated data file (the row of MODELS in stan_reference.py,
whose data conversion and Stan-syntax update this script reuses). It records, for every
parameter and transformed parameter (named as CmdStan and `rlc summary` name them:
`mu_pr.1`, `A.3`), the posterior mean, its Monte Carlo standard error (ArviZ's, from the
bulk effective sample size) and the posterior standard deviation, with Stan's divergence
count. `crates/rlc/tests/hbayesdm_posterior.rs` runs `rlc run` with its defaults on the
same file and checks the means within 4 combined Monte Carlo standard errors and the
standard deviations within 10%.

Needs pystan 3 and arviz (only to regenerate a reference, never for the tests) and
hBayesDM's Stan programs, as stan_reference.py does.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from stan_reference import MODELS, STAN_COMMIT, TASKS, modern  # noqa: E402

SEED = 20261201
CHAINS = 4
WARMUP = 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--stan-dir", default="/work/hbdm-src/commons/stan_files")
    parser.add_argument("--draws", type=int, default=2500, help="draws per chain after warmup")
    args = parser.parse_args()
    if args.model not in MODELS:
        sys.exit(f"{args.model}: not in stan_reference.py's MODELS (add a row)")
    task, data_path, _ = MODELS[args.model]
    data_file = os.path.join(HERE, data_path)

    import aiohttp.client
    import arviz as az
    import numpy as np
    import stan

    aiohttp.client.DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
    with open(os.path.join(args.stan_dir, args.model + ".stan"), "rb") as f:
        raw = f.read()
    code = modern(raw.decode())
    data = TASKS[task](data_file)
    os.chdir(tempfile.mkdtemp(prefix="stan_posterior_"))
    model = stan.build(code, data=data, random_seed=SEED)
    fit = model.sample(num_chains=CHAINS, num_warmup=WARMUP, num_samples=args.draws)
    # fit._draws is [column, draw, chain]: the sampler's columns, then the parameters,
    # transformed parameters and generated quantities. Generated quantities (log_lik,
    # y_pred) are left out.
    draws = fit._draws
    first = len(fit.sample_and_sampler_param_names)
    generated = ("log_lik", "y_pred", "y_hat", "choice_pred")
    summary = {}
    for i, column in enumerate(fit.constrained_param_names):
        if column.split(".")[0] in generated:
            continue
        per_chain = draws[first + i].T  # [chain, draw]
        # A constant or non-finite quantity (an initial value, a NaN for a padded
        # trial) has no posterior to compare.
        if not np.all(np.isfinite(per_chain)) or np.ptp(per_chain) == 0:
            continue
        mcse = float(az.mcse(per_chain, method="mean"))
        summary[column] = [float(per_chain.mean()), mcse, float(per_chain.std(ddof=1))]
    divergent = fit.sample_and_sampler_param_names.index("divergent__")
    divergences = int(draws[divergent].sum())
    reference = {
        "model": args.model,
        "data": os.path.relpath(data_file, HERE),
        "stan_program": f"hBayesDM {STAN_COMMIT} commons/stan_files/{args.model}.stan",
        "stan_sha256": hashlib.sha256(raw).hexdigest(),
        "stan": {"chains": CHAINS, "warmup": WARMUP, "draws": args.draws, "seed": SEED},
        "divergences": divergences,
        "summary": summary,
    }
    out = os.path.join(HERE, "posterior", args.model + ".json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(reference, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {out}: {len(summary)} quantities, {divergences} divergences")


if __name__ == "__main__":
    main()
