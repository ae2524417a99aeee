"""`Model.simulate`: the model run forward from Python, the same data sets as
`rlc simulate`, in the design's own form, ready for `Model.sample`."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import rlc

from conftest import DATA, MODELS

RL_HIER = MODELS / "rl_hier.rlm"
RL_SINGLE = MODELS / "rl_single.rlm"


def test_the_same_data_sets_as_the_command_line(run_cli, tmp_path):
    run_cli("simulate", RL_HIER, "--data", DATA / "rl_hier.csv", "--prior", "--seed", 5, "--n", 2,
            "--output-dir", tmp_path, "--quiet")
    model = rlc.Model.from_file(RL_HIER)
    simulations = model.simulate(DATA / "rl_hier.csv", prior=True, seed=5, n=2)
    assert [s.stream for s in simulations] == [0, 1]
    for k, simulation in enumerate(simulations):
        written = pd.read_csv(tmp_path / f"rl_hier_sim_{k + 1}.csv")
        assert list(simulation.data.columns) == list(written.columns)
        assert simulation.data["choice"].equals(written["choice"].astype(simulation.data["choice"].dtype))
        truth = json.loads((tmp_path / f"rl_hier_sim_{k + 1}.truth.json").read_text())
        for name, values in {**truth["params"], **truth["outs"]}.items():
            np.testing.assert_array_equal(simulation.truth[name], np.asarray(values, dtype=float))
    # Each data set draws its own parameters from the priors.
    assert not np.array_equal(simulations[0].truth["A"], simulations[1].truth["A"])


def test_a_dataframe_design_keeps_its_index_columns_and_types():
    model = rlc.Model.from_file(RL_HIER)
    design = pd.read_csv(DATA / "rl_hier.csv").drop(columns="choice")
    design.index = [f"row{i}" for i in range(len(design))]
    design["session"] = "a"  # a column no declaration reads
    design.loc[["row3", "row10"], "outcome"] = np.nan  # trials without an outcome, which the model skips
    simulation = model.simulate(design, {"mu_pr": [0.0, 0.5], "sigma": [0.3, 0.2], "A_pr": 0.1, "tau_pr": -0.2},
                                seed=1)
    data = simulation.data
    assert list(data.index) == list(design.index)
    assert list(data.columns) == list(design.columns) + ["choice"]
    assert (data["session"] == "a").all()
    pd.testing.assert_series_equal(data["outcome"], design["outcome"])
    # Choices are 1 or 2 where an outcome is present; a trial the model skips
    # (no outcome) has no choice, and the column stays integer.
    present = design["outcome"].notna()
    assert set(data.loc[present, "choice"]) <= {1, 2}
    assert data.loc[~present, "choice"].isna().all()
    assert data["choice"].isna().sum() == 2
    assert str(data["choice"].dtype) == "Int64"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = model.sample(data, seed=1, draws=20, warmup=20, progress=False)
    assert int(tree["observed_data"]["choice"].isnull().sum()) >= 2
    # The truth is the values given (a scalar for every element).
    np.testing.assert_array_equal(simulation.truth["mu_pr"], [0.0, 0.5])
    np.testing.assert_array_equal(simulation.truth["A_pr"], np.full(simulation.truth["A_pr"].shape, 0.1))
    assert simulation.truth["A"].shape == (design["subjID"].nunique(),)


def test_simulated_data_are_sampled_as_they_are():
    model = rlc.Model.from_file(RL_SINGLE)
    design = pd.read_csv(DATA / "rl_single.csv").drop(columns="action")
    simulation = model.simulate(design, {"alpha": 0.3, "beta": 4.0}, seed=11)
    assert simulation.data["action"].dtype == np.int64
    assert set(simulation.data["action"]) <= {0, 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = model.sample(simulation.data, seed=2, draws=300, warmup=300, progress=False)
    np.testing.assert_array_equal(tree["observed_data"]["action"].values, simulation.data["action"].to_numpy())


def test_a_json_design_gives_a_dict_of_arrays():
    model = rlc.Model.from_file(MODELS / "eight_schools.rlm")
    simulation = model.simulate(DATA / "eight_schools.json", {"mu": 1.0, "tau": 2.0, "theta_tilde": 0.0}, seed=4)
    data = simulation.data
    assert data["J"] == 8
    assert isinstance(data["y"], np.ndarray) and data["y"].shape == (8,)
    sigma = np.asarray(json.loads((DATA / "eight_schools.json").read_text())["sigma"], dtype=float)
    np.testing.assert_array_equal(data["sigma"], sigma)
    np.testing.assert_array_equal(simulation.truth["theta"], np.ones(8))
    # The draws are Normal(theta, sigma): standardized, they are not far out.
    assert np.all(np.abs((data["y"] - 1.0) / sigma) < 6)
    # A dict design gives a dict too, sampled as it is.
    again = model.simulate({"J": 8, "sigma": sigma}, {"mu": 1.0, "tau": 2.0, "theta_tilde": 0.0}, seed=4)
    np.testing.assert_array_equal(again.data["y"], data["y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.sample(again.data, seed=1, draws=50, warmup=50, progress=False)


def test_the_seed_repeats_a_data_set_and_streams_differ():
    model = rlc.Model.from_file(RL_SINGLE)
    design = DATA / "rl_single.csv"
    first = model.simulate(design, {"alpha": 0.3, "beta": 4.0}, seed=8, n=2)
    again = model.simulate(design, {"alpha": 0.3, "beta": 4.0}, seed=8)
    assert first[0].data["action"].equals(again.data["action"])
    assert not first[0].data["action"].equals(first[1].data["action"])
    assert first[1].truth["alpha"] == 0.3  # given values are shared
    unseeded = model.simulate(design, {"alpha": 0.3, "beta": 4.0})
    assert isinstance(unseeded.seed, int)
    assert unseeded.data["action"].equals(model.simulate(design, {"alpha": 0.3, "beta": 4.0}, seed=unseeded.seed).data["action"])


def test_what_is_asked_wrongly_is_said():
    model = rlc.Model.from_file(RL_SINGLE)
    design = DATA / "rl_single.csv"
    with pytest.raises(rlc.UsageError, match="prior=True"):
        model.simulate(design)
    with pytest.raises(rlc.UsageError, match="not both"):
        model.simulate(design, {"alpha": 0.3, "beta": 4.0}, prior=True)
    with pytest.raises(rlc.UsageError, match="gamma"):
        model.simulate(design, {"alpha": 0.3, "gamma": 4.0}, seed=1)
    with pytest.raises(rlc.UsageError, match="n must be at least 1"):
        model.simulate(design, prior=True, n=0)
    with pytest.raises(rlc.DataError, match="reward"):
        model.simulate(pd.DataFrame({"action": [0, 1]}), prior=True, seed=1)
    # A model that observes nothing cannot be run forward.
    nothing = rlc.Model("param mu ~ Normal(0, 1)\n", name="prior_only.rlm")
    with pytest.raises(rlc.Error, match="observe|forward|~"):
        nothing.simulate(None, {"mu": 0.0}, seed=1)


def test_a_model_without_parameters_needs_no_values():
    model = rlc.Model("size T\ndata y: real[T]\ny ~ Normal(0, 1)\n", name="fixed.rlm")
    simulation = model.simulate({"T": 5}, seed=3)
    assert simulation.truth == {}
    assert simulation.data["y"].shape == (5,)
