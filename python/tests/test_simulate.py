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


def test_a_row_of_values_is_read_by_its_labels():
    """`params=table.iloc[i]`: a Series names its parameters; one whose
    labels are not names, or a labelled Series inside a dict (subject ids),
    is refused rather than read by position."""
    model = rlc.Model.from_file(RL_SINGLE)
    design = DATA / "rl_single.csv"
    row = pd.DataFrame({"alpha": [0.1, 0.3], "beta": [2.0, 4.0]}).iloc[1]
    assert model.simulate(design, row, seed=1).truth == {"alpha": 0.3, "beta": 4.0}
    with pytest.raises(rlc.UsageError, match="names as its labels"):
        model.simulate(design, pd.Series([0.3, 4.0]), seed=1)
    with pytest.raises(rlc.UsageError, match="1-D array"):
        model.simulate(design, np.zeros((2, 2)), seed=1)
    hier = rlc.Model.from_file(RL_HIER)
    by_subject = pd.Series(np.zeros(20), index=[f"S{i:02d}" for i in range(20)])
    with pytest.raises(rlc.UsageError, match="read by position"):
        hier.simulate(DATA / "rl_hier.csv", {"mu_pr": [0, 0], "sigma": [1, 1], "A_pr": by_subject, "tau_pr": 0}, seed=1)


def test_a_simulations_truth_is_a_point_again():
    """The truth (with its `out` values) or a truth file's layout gives the
    same data set again, and the log density there."""
    hier = rlc.Model.from_file(RL_HIER)
    design = DATA / "rl_hier.csv"
    first = hier.simulate(design, prior=True, seed=4)
    again = hier.simulate(design, first.truth, seed=9)
    for name, values in first.truth.items():
        np.testing.assert_allclose(again.truth[name], values, rtol=1e-12)
    layout = {"model": "rl_hier.rlm", "seed": 4, "params": {k: v.tolist() for k, v in first.truth.items()}, "outs": {}}
    assert hier.simulate(design, layout, seed=9).data["choice"].equals(again.data["choice"])
    assert np.isfinite(hier.logp(first.truth, first.data))


def test_subject_ids_read_from_a_file_stay_as_written(tmp_path):
    hier = rlc.Model.from_file(RL_HIER)
    design = tmp_path / "design.csv"
    design.write_text("subjID,outcome\n001,1\n001,-1\n002,1\n")
    data = hier.simulate(design, prior=True, seed=1).data
    assert data["subjID"].tolist() == ["001", "001", "002"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = hier.sample(data, seed=1, chains=1, draws=10, warmup=10, progress=False)
    assert list(tree["posterior"]["A"].coords["N"].values) == ["001", "002"]


def test_a_failing_data_set_of_many_is_named():
    """A prior draw the model cannot run forward from fails the list, saying
    which data set it was (the one to look at alone)."""
    source = (
        "size T\ndata y: int[T] in 0..2\nparam z ~ Normal(0, 300)\n"
        "for t in 0..T {\n  y[t] ~ Bernoulli(p = exp(z))\n}\n"
    )
    model = rlc.Model(source, name="bad_prior.rlm")
    with pytest.raises(rlc.Error, match=r"data set \d+ of 50 \(seed=2, stream \d+"):
        model.simulate({"T": 3}, prior=True, seed=2, n=50)


def test_a_list_too_large_for_memory_is_refused_before_it_is_drawn():
    model = rlc.Model.from_file(RL_SINGLE)
    with pytest.raises(rlc.UsageError, match="more than half of this machine"):
        model.simulate(DATA / "rl_single.csv", {"alpha": 0.3, "beta": 4.0}, seed=1, n=10**12)


def test_designs_as_a_user_writes_them():
    model = rlc.Model.from_file(RL_SINGLE)
    values = {"alpha": 0.3, "beta": 4.0}
    # Keys no declaration reads are left out, whatever they hold; pandas'
    # nullable arrays are arrays.
    simulated = model.simulate({"reward": pd.array([1, 0, 1], dtype="Int64"), "note": "pilot"}, values, seed=1)
    assert set(simulated.data) == {"T", "action", "reward"}
    np.testing.assert_array_equal(simulated.data["reward"], [1, 0, 1])
    # Rows and no columns: that many trials, every variable drawn.
    task = rlc.Model.from_file(MODELS.parent / "docs" / "examples" / "rl_single_task.rlm")
    drawn = task.simulate(pd.DataFrame(index=range(6)), values, seed=1).data
    assert list(drawn.columns) == ["action", "reward"] and len(drawn) == 6
    with pytest.raises(rlc.DataError, match=r"but none was given \(design=None\)"):
        model.simulate(None, values)
    # The coordinates of a design without the observed variables.
    hier = rlc.Model.from_file(RL_HIER)
    design = pd.read_csv(DATA / "rl_hier.csv").drop(columns="choice")
    assert hier.coordinates(design)[:3] == ["mu_pr.1", "mu_pr.2", "sigma.1"]


ARMS = """size K = max(choice)
size N by subjID
size T
data choice: int?[N, T] in 1..K + 1
param beta: real[K] ~ Normal(0, 1)
for n in 0..N {
  for t in 0..T {
    if present(choice[n, t]) {
      choice[n, t] - 1 ~ Categorical(logits = beta)
    }
  }
}
"""


def test_a_size_from_the_values_is_the_designs_largest_choice():
    model = rlc.Model(ARMS, "arms.rlm")
    design = pd.DataFrame({"subjID": [1, 1, 2, 2], "choice": [1, 2, 5, 1]})
    # The design's largest choice gives K = 5 parameters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = model.sample(design, seed=1, draws=20, warmup=20, progress=False)
    assert tree["posterior"]["beta"].shape[-1] == 5
    # Draws that never reach the fifth arm: a table of them would be read with K = 1.
    first_arm = {"beta": [20.0, -20.0, -20.0, -20.0, -20.0]}
    with pytest.warns(UserWarning, match="never reaches K = 5"):
        simulation = model.simulate(design, first_arm, seed=2)
    assert set(simulation.data["choice"]) == {1}
    # A dict keeps K as a key, with no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = model.simulate({"K": 5, "N": 1, "T": 3}, first_arm, seed=2)
    assert kept.data["K"] == 5


def test_a_diffusion_models_choices_and_times_are_drawn_together():
    # `Wiener(…, upper = choice - 1)`: a design with only the schedule gives choices,
    # response times and rewards, with no note that the choices are the design's.
    model = rlc.Model.from_file(MODELS / "rlddm.rlm")
    design = pd.DataFrame({"p_good": [0.8] * 150 + [0.2] * 150})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulation = model.simulate(design, {"alpha": 0.3, "v": 4.0, "a": 1.5, "tau": 0.25}, seed=3)
    data = simulation.data
    assert list(data.columns) == ["p_good", "choice", "rt", "reward"]
    assert set(data["choice"]) == {1, 2}
    assert (data["rt"] > 0.25).all()
    # The learner follows the better arm: arm 1 (choice 2) before the reversal, arm 0 after.
    assert (data["choice"][:150] == 2).mean() > 0.6
    assert (data["choice"][200:] == 1).mean() > 0.6


def test_an_lba_models_choices_and_times_are_drawn_together():
    # `LBA(…, response = choice - 1)`: a design with only the conditions gives each trial's
    # choice and response time, the first of two accumulators to finish; the option with
    # the larger drift in a condition wins more often.
    model = rlc.Model.from_file(MODELS / "lba.rlm")
    design = pd.DataFrame({"condition": [1, 2] * 300})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulation = model.simulate(
            design,
            {"d": 0.6, "A": 0.5, "v": [[3.0, 1.0], [1.0, 3.0]], "tau": 0.2},
            seed=4,
        )
    data = simulation.data
    assert list(data.columns) == ["condition", "choice", "rt"]
    assert set(data["choice"]) == {1, 2}
    assert (data["rt"] > 0.2).all()
    first = data[data["condition"] == 1]
    second = data[data["condition"] == 2]
    assert (first["choice"] == 1).mean() > 0.75
    assert (second["choice"] == 2).mean() > 0.75
