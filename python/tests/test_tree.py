"""The DataTree's layout: groups, variables, dims named after the model's
sizes, coordinates from the data (subject ids), observed data with missing
cells, attributes; and the conversion for ArviZ 0.x."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import rlc
from conftest import DATA, MODELS


@pytest.fixture(scope="module")
def hier():
    frame = pd.read_csv(DATA / "rl_hier.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_hier.rlm").sample(
            data=frame, chains=2, warmup=100, draws=50, seed=3, progress=False
        )
    return frame, tree


def test_groups(hier):
    _frame, tree = hier
    assert isinstance(tree, xr.DataTree)
    assert list(tree.children) == ["posterior", "sample_stats", "observed_data", "constant_data"]


def test_posterior_dims_and_coords(hier):
    frame, tree = hier
    posterior = tree["posterior"]
    assert list(posterior.data_vars) == ["mu_pr", "sigma", "A_pr", "tau_pr", "A", "tau"]
    assert posterior["A"].dims == ("chain", "draw", "N")
    assert posterior["A_pr"].dims == ("chain", "draw", "N")
    assert posterior["mu_pr"].dims == ("chain", "draw", "mu_pr_dim_0")
    assert posterior.sizes["chain"] == 2 and posterior.sizes["draw"] == 50
    np.testing.assert_array_equal(posterior["chain"].values, [0, 1])
    np.testing.assert_array_equal(posterior["draw"].values, np.arange(50))
    # N's coordinates are the subject ids, in order of first appearance.
    subjects = [str(s) for s in pd.unique(frame["subjID"])]
    assert list(posterior["N"].values) == subjects
    np.testing.assert_array_equal(posterior["mu_pr_dim_0"].values, [0, 1])
    # A subject can be picked by its id.
    assert posterior["A"].sel(N=subjects[3]).shape == (2, 50)


def test_sample_stats(hier):
    _frame, tree = hier
    stats = tree["sample_stats"]
    assert set(stats.data_vars) == {"lp", "acceptance_rate", "step_size", "tree_depth", "n_steps", "diverging", "energy"}
    assert stats["diverging"].dtype == bool
    assert stats["n_steps"].dtype == np.int64
    assert stats["lp"].dims == ("chain", "draw")
    attrs = stats.attrs
    assert attrs["inference_library"] == "rlc"
    assert attrs["inference_library_version"] == rlc.__version__
    assert attrs["seed"] == 3 and attrs["num_warmup"] == 100 and attrs["num_draws"] == 50
    assert attrs["max_depth"] == 10 and attrs["adapt_delta"] == 0.8
    assert attrs["tuning_steps"] == 100 and attrs["sampling_time"] > 0
    assert len(attrs["step_size"]) == 2
    assert list(attrs["extra_warmup"]) == [0, 0]
    assert list(attrs["target_accept"]) == [0.8, 0.8]
    coordinates = attrs["unconstrained_coordinates"]
    assert coordinates[:3] == ["mu_pr.1", "mu_pr.2", "sigma.1"]
    assert len(attrs["inv_mass_matrix"]) == 2 * len(coordinates)
    # The step size of the draws is the adapted one.
    np.testing.assert_array_equal(stats["step_size"].values[:, 0], attrs["step_size"])


def test_observed_and_constant_data(hier):
    # What the model observes with `~` (the choices) is observed_data; the rest
    # of its data (the outcomes) constant_data, as ArviZ lays a run out.
    frame, tree = hier
    observed = tree["observed_data"]
    assert list(observed.data_vars) == ["choice"]
    assert list(tree["constant_data"].data_vars) == ["outcome"]
    assert observed["choice"].dims == ("N", "T")
    subjects = pd.unique(frame["subjID"])
    longest = frame.groupby("subjID").size().max()
    assert observed.sizes == {"N": len(subjects), "T": longest}
    first = frame[frame["subjID"] == subjects[0]]
    np.testing.assert_array_equal(observed["choice"].values[0, : len(first)], first["choice"].to_numpy())
    outcome = tree["constant_data"]["outcome"]
    assert outcome.dims == ("N", "T") and list(outcome["N"].values) == list(observed["N"].values)
    np.testing.assert_array_equal(outcome.values[0, : len(first)], first["outcome"].to_numpy())


def test_observed_missing_cells_are_nan():
    # Subject "b" has a missed response and one trial fewer than "a".
    frame = pd.DataFrame(
        {"subjID": ["a", "a", "a", "b", "b"], "choice": [1, 2, 1, 2, None], "outcome": [1.0, -1.0, 1.0, 1.0, None]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_hier.rlm").sample(
            data=frame, chains=1, warmup=20, draws=5, seed=1, progress=False
        )
    choice = tree["observed_data"]["choice"]
    assert list(tree["observed_data"]["N"].values) == ["a", "b"]
    assert choice.dtype == np.float64
    np.testing.assert_array_equal(choice.values, [[1, 2, 1], [2, np.nan, np.nan]])


def test_integer_data_stays_integer():
    frame = pd.read_csv(DATA / "rl_single.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_single.rlm").sample(
            data=frame, chains=1, warmup=20, draws=5, seed=1, progress=False
        )
    action = tree["observed_data"]["action"]
    assert action.dtype == np.int64 and action.dims == ("T",)
    np.testing.assert_array_equal(action.values, frame["action"].to_numpy())
    assert tree["posterior"]["alpha"].dims == ("chain", "draw")


def test_to_inference_data(hier):
    az = pytest.importorskip("arviz")
    _frame, tree = hier
    idata = rlc.to_inference_data(tree)
    if int(az.__version__.split(".")[0]) >= 1:
        assert idata is tree
        return
    assert isinstance(idata, az.InferenceData)
    assert set(idata.groups()) == {"posterior", "sample_stats", "observed_data", "constant_data"}
    xr.testing.assert_identical(idata.posterior, tree["posterior"].to_dataset())
    assert idata.sample_stats.attrs["seed"] == 3
    # ArviZ's own functions work on it.
    assert az.bfmi(idata).shape == (2,)
    assert az.ess(idata, var_names=["mu_pr"])["mu_pr"].shape == (2,)


def test_a_square_parameter_has_distinct_axis_names():
    # xarray names each axis once: the second `K` of `real[K, K]` gets ArviZ's default.
    source = """size K
size T
data y: real[T, K]
param w: real[K, K] ~ Normal(0, 1)
for t in 0..T {
  y[t] ~ Normal(w[0] + w[1], 1)
}
"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = rlc.Model(source, name="square.rlm").sample(
            data={"y": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.4]]}, chains=2, draws=50, seed=1, progress=False
        )
    w = tree["posterior"]["w"]
    assert w.dims == ("chain", "draw", "K", "w_dim_1")
    assert w.mean(("chain", "draw")).shape == (2, 2)
    assert len(rlc.summary(tree).query("variable == 'w'")) == 4
