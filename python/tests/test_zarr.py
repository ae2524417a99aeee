"""`rlc run --output-format zarr` writes the DataTree the package returns:
xarray opens the store, its draws equal the CSV files' of the same run, and
its groups, variables, dims, coords and attributes are the package's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import rlc
from conftest import DATA, MODELS, STATS, cmdstan_array, read_cmdstan

pytest.importorskip("zarr")

RUN = dict(chains=2, warmup=100, draws=60, seed=4)
# Attributes that differ between two runs of the same settings.
TIMING = {"created_at", "sampling_time", "warmup_time", "chain_sampling_time", "model", "data"}


@pytest.fixture(scope="module")
def stores(run_cli, tmp_path_factory):
    csv_dir = tmp_path_factory.mktemp("csv")
    zarr_dir = tmp_path_factory.mktemp("zarr")
    flags = ["--chains", RUN["chains"], "--warmup", RUN["warmup"], "--draws", RUN["draws"], "--seed", RUN["seed"], "--quiet",
             "--log-lik", "--predict"]
    model, data = MODELS / "rl_hier.rlm", DATA / "rl_hier.csv"
    run_cli("run", model, "--data", data, "--output-dir", csv_dir, *flags)
    out = run_cli("run", model, "--data", data, "--output-dir", zarr_dir, "--output-format", "zarr", *flags)
    assert "rl_hier.zarr" in out.stdout
    # The store replaces no CSV files: there are none.
    assert not list(zarr_dir.glob("*.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opened = xr.open_datatree(zarr_dir / "rl_hier.zarr", engine="zarr").load()
    return read_cmdstan(csv_dir, "rl_hier"), opened


def test_store_opens_with_the_groups(stores):
    _chains, tree = stores
    assert list(tree.children) == ["posterior", "posterior_predictive", "log_likelihood", "sample_stats", "observed_data", "constant_data"]


def test_store_draws_equal_the_csv_draws(stores):
    chains, tree = stores
    for name, variable in tree["posterior"].data_vars.items():
        np.testing.assert_array_equal(variable.values, cmdstan_array(chains, name, variable.shape[2:]), err_msg=name)
    for name, column in STATS.items():
        expected = np.stack([c[column].to_numpy() for c in chains])
        np.testing.assert_array_equal(tree["sample_stats"][name].values.astype(float), expected, err_msg=name)
    log_lik = tree["log_likelihood"]["log_lik"]
    np.testing.assert_array_equal(log_lik.values, cmdstan_array(chains, "log_lik", log_lik.shape[2:]))
    choice = tree["posterior_predictive"]["choice"]
    assert choice.dims == ("chain", "draw", "N", "T")
    np.testing.assert_array_equal(choice.values, cmdstan_array(chains, "choice_rep", choice.shape[2:]))


def test_store_is_the_packages_tree(stores):
    _chains, stored = stores
    frame = pd.read_csv(DATA / "rl_hier.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_hier.rlm").sample(
            data=frame, progress=False, log_likelihood=True, predict="one-step", **RUN
        )
    for group in tree.children:
        mine, theirs = tree[group].to_dataset(), stored[group].to_dataset()
        # Values, dims and coordinates; the attributes one by one below.
        xr.testing.assert_equal(mine, theirs)
        assert list(mine.data_vars) == list(theirs.data_vars)
        for k in set(mine.attrs) - TIMING:
            np.testing.assert_equal(mine.attrs[k], theirs.attrs[k], err_msg=f"{group}.attrs[{k}]")
        assert set(mine.attrs) == set(theirs.attrs)
        for name in mine.variables:
            assert mine[name].dtype == theirs[name].dtype or (
                mine[name].dtype.kind == "U" and theirs[name].dtype.kind in "UOT"
            ), (group, name, mine[name].dtype, theirs[name].dtype)
    assert list(stored["posterior"]["N"].values) == [str(s) for s in pd.unique(frame["subjID"])]
