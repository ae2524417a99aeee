"""Makes tests/data/reference.json: draw sets and the diagnostics ArviZ computes for them.

Run once, by hand (the Rust tests only read the JSON):
    pip install arviz numpy scipy
    python3 crates/diagnostics/tests/data/make_reference.py
Versions used for the committed file are recorded in it under "versions".
"""

import json
import pathlib

import arviz as az
import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20240501)


def ar1(phi, chains, draws, innovations=None):
    """AR(1) chains with unit marginal variance started from the stationary law."""
    sd = np.sqrt(1 - phi**2)
    out = np.empty((chains, draws))
    for c in range(chains):
        x = rng.normal()
        for t in range(draws):
            e = rng.normal() if innovations is None else innovations()
            x = phi * x + sd * e
            out[c, t] = x
    return out


sets = {}
sets["ar1_low"] = ar1(0.3, 4, 200)
sets["ar1_high"] = ar1(0.9, 4, 200)
shifted = ar1(0.5, 4, 200)
shifted[3] += 1.5
sets["shifted_chain"] = shifted
sets["antithetic"] = ar1(-0.6, 4, 200)
sets["heavy_tailed"] = rng.standard_cauchy((4, 200)) + 10.0
sets["discrete_ties"] = rng.poisson(2.0, (4, 200)).astype(float)
sets["odd_length"] = ar1(0.7, 3, 101)
sets["single_chain"] = ar1(0.4, 1, 200)
sets["short"] = rng.normal(size=(2, 9))
sets["drifting"] = ar1(0.8, 4, 200) + np.linspace(0, 2, 200)

reference = {
    "versions": {
        "arviz": az.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    },
    "sets": [],
}
for name, x in sets.items():
    flat = x.ravel()
    entry = {
        "name": name,
        "draws": x.tolist(),
        "rhat": float(az.rhat(x, method="rank")),
        "ess_bulk": float(az.ess(x, method="bulk")),
        "ess_tail": float(az.ess(x, method="tail")),
        "ess_mean": float(az.ess(x, method="mean")),
        "mcse_mean": float(az.mcse(x, method="mean")),
        "mcse_sd": float(az.mcse(x, method="sd")),
        "mean": float(np.mean(flat)),
        "sd": float(np.std(flat, ddof=1)),
        "q5": float(np.quantile(flat, 0.05)),
        "q50": float(np.quantile(flat, 0.5)),
        "q95": float(np.quantile(flat, 0.95)),
        # posterior::mad and stansummary: 1.4826 * median(|x - median(x)|).
        "mad": float(1.4826 * np.median(np.abs(flat - np.median(flat)))),
        # Each chain read as a sequence of energies.
        "e_bfmi": [float(v) for v in az.bfmi(x)],
    }
    if x.shape[0] == 1:
        # ArviZ gives NaN for one chain; rlc (like Stan's posterior) splits it in two.
        # ArviZ's own internals compute that value.
        from arviz.stats.diagnostics import _rhat, _split_chains, _z_scale

        split = _split_chains(x)
        entry["rhat"] = None
        entry["rhat_one_chain_split"] = float(max(
            _rhat(_z_scale(split)), _rhat(_z_scale(np.abs(split - np.median(split))))
        ))
    reference["sets"].append(entry)

ps = [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02425, 0.075, 0.3, 0.5, 0.6,
      0.924, 0.97575, 0.999, 1 - 1e-10]
reference["normal_quantiles"] = [[p, float(stats.norm.ppf(p))] for p in ps]

path = pathlib.Path(__file__).with_name("reference.json")
path.write_text(json.dumps(reference, indent=1) + "\n")
print("wrote", path)
for s in reference["sets"]:
    print(f'{s["name"]:15s} rhat {s["rhat"] or float("nan"):.4f} bulk {s["ess_bulk"]:.1f} tail {s["ess_tail"]:.1f} mean {s["ess_mean"]:.1f}')
