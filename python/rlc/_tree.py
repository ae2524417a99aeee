"""The run as an ``xarray.DataTree`` (ArviZ 1.x's native type), built from the
groups the native module returns (laid out by ``rlc_driver::tree``, the same
layout the CLI writes with ``--output-format zarr``), and its conversion to
ArviZ 0.x's ``InferenceData``."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _array(item: dict) -> np.ndarray:
    """A numpy array from the native module's description of one."""
    if item["dtype"] == "str":
        values = np.array(item["data"], dtype=object)
        if values.size:
            values = values.astype(str)
        return values.reshape(item["shape"])
    return np.frombuffer(item["data"], dtype=item["dtype"]).reshape(item["shape"]).copy()


def _dataset(group: dict) -> xr.Dataset:
    coords = {c["name"]: (tuple(c["dims"]), _array(c)) for c in group["coords"]}
    variables = {v["name"]: (tuple(v["dims"]), _array(v)) for v in group["variables"]}
    return xr.Dataset(variables, coords=coords, attrs=dict(group["attrs"]))


def build_tree(groups: list) -> xr.DataTree:
    """The DataTree of a run: one child per group, in the driver's order."""
    return xr.DataTree.from_dict({g["name"]: _dataset(g) for g in groups})


def to_inference_data(tree: xr.DataTree):
    """Converts a run's DataTree for ArviZ 0.x.

    With ArviZ 0.x installed, returns an ``arviz.InferenceData`` with the same
    groups (``posterior``, ``sample_stats``, ``observed_data``, …), variables,
    dims, coords and attributes. With ArviZ 1.x, whose functions take the
    DataTree itself, returns ``tree`` unchanged, so that code written as
    ``az.summary(rlc.to_inference_data(tree))`` works with either version.
    Raises ImportError when ArviZ is not installed (``pip install rlc[arviz]``).
    """
    import arviz as az

    major = int(az.__version__.split(".")[0])
    if major >= 1:
        return tree
    groups = {name: tree[name].to_dataset() for name in tree.children}
    return az.InferenceData(**groups)
