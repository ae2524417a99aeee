"""``rlc.summary``: the posterior summary ``rlc run`` prints (stansummary's
columns), one row per scalar of the posterior, computed by the same Rust code
from a tree's draws."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from . import _rlc

# The columns of rlc.summary, after `parameter` and `variable`, in the order
# of _rlc.summarize's tuples.
STATISTICS = ["mean", "mcse_mean", "sd", "mad", "q5", "q50", "q95", "ess_bulk", "ess_tail", "rhat"]


def element_labels(array: xr.DataArray) -> list:
    """The names of a posterior variable's elements, row-major, as ``rlc
    run`` and ``rlc recover`` name them: the language's 0-based indices,
    grouped axes by their labels (``A[S07]``, ``q[S07, 1]``); a scalar is its
    name."""
    name = str(array.name)
    axes = [d for d in array.dims if d not in ("chain", "draw")]
    if not axes:
        return [name]
    ticks = []
    for axis in axes:
        if axis in array.coords:
            ticks.append([str(v) for v in array.coords[axis].values.tolist()])
        else:
            ticks.append([str(i) for i in range(array.sizes[axis])])
    return [f"{name}[{', '.join(parts)}]" for parts in _product(ticks)]


def _product(ticks: list) -> list:
    out = [[]]
    for axis in ticks:
        out = [prefix + [t] for prefix in out for t in axis]
    return out


def draws_bytes(array: xr.DataArray) -> tuple:
    """A (chain, draw, ...) array as the bytes of a C-ordered (chain, draw,
    element) float64 array, with its chains, draws and elements."""
    values = np.ascontiguousarray(array.transpose("chain", "draw", ...).values, dtype="<f8")
    chains, draws = values.shape[:2]
    elements = int(np.prod(values.shape[2:], dtype=np.int64))
    return values.tobytes(), chains, draws, elements


def summary(tree: xr.DataTree, var_names: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """The posterior summary of a run, one row per scalar of each posterior
    variable (parameters and ``out`` values; ``var_names`` picks some),
    with ``rlc run``'s columns, computed by the same code: ``mean``,
    ``mcse_mean``, ``sd``, ``mad``, the 5%, 50% and 95% quantiles (``q5``,
    ``q50``, ``q95``), the bulk and tail effective sample sizes and the
    rank-normalized split R-hat. ``parameter`` names the scalar as ``rlc
    run`` does (``alpha``, ``A[S07]``, ``w[1, 0]``), ``variable`` its
    variable. ``tree`` is what :meth:`rlc.Model.sample` returns, or a tree
    read back from a Zarr store."""
    posterior = tree["posterior"]
    if isinstance(var_names, str):
        var_names = [var_names]
    names = list(posterior.data_vars) if var_names is None else list(var_names)
    rows = []
    for name in names:
        if name not in posterior.data_vars:
            raise KeyError(f"there is no variable {name!r} in the posterior (it holds {', '.join(posterior.data_vars)})")
        array = posterior[name]
        data, chains, draws, elements = draws_bytes(array)
        stats = _rlc.summarize(data, chains, draws, elements)
        for label, values in zip(element_labels(array), stats):
            rows.append([label, str(name), *values])
    return pd.DataFrame(rows, columns=["parameter", "variable", *STATISTICS])
