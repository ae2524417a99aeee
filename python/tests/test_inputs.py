"""Every kind of `data=` loads the same data, and `logp`/`grad` are the CLI's."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS

RUN = dict(chains=1, warmup=50, draws=20, seed=11, progress=False)


def sample(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        return rlc.Model.from_file(MODELS / f"{model}.rlm").sample(data=data, **RUN)


def test_dataframe_dict_and_path_give_the_same_draws():
    frame = pd.read_csv(DATA / "rl_single.csv")
    from_frame = sample("rl_single", frame)
    from_path = sample("rl_single", DATA / "rl_single.csv")
    from_str = sample("rl_single", str(DATA / "rl_single.csv"))
    as_dict = {"action": frame["action"].to_numpy(), "reward": frame["reward"].tolist()}
    from_dict = sample("rl_single", as_dict)
    for other in [from_path, from_str, from_dict]:
        np.testing.assert_array_equal(from_frame["posterior"]["alpha"].values, other["posterior"]["alpha"].values)


def test_dict_with_missing_cells_is_the_grouped_frame():
    # The same subjects as a long DataFrame and as a dict of [N, T] arrays
    # with NaN (and None) where a cell is missing.
    frame = pd.read_csv(DATA / "rl_hier.csv")
    subjects = pd.unique(frame["subjID"])
    longest = frame.groupby("subjID").size().max()
    choice = np.full((len(subjects), longest), np.nan)
    outcome = np.full((len(subjects), longest), np.nan)
    for n, s in enumerate(subjects):
        rows = frame[frame["subjID"] == s]
        choice[n, : len(rows)] = rows["choice"]
        outcome[n, : len(rows)] = rows["outcome"]
    outcome_lists = [[None if np.isnan(x) else x for x in row] for row in outcome]
    point = {"mu_pr": [0.1, 0.2], "sigma": [0.3, 0.4], "A_pr": np.linspace(-1, 1, len(subjects)), "tau_pr": np.zeros(len(subjects))}
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    from_frame = model.logp(point, data=frame)
    from_dict = model.logp(point, data={"choice": choice, "outcome": outcome_lists})
    assert from_frame == from_dict


def test_named_index_becomes_a_column():
    frame = pd.read_csv(DATA / "rl_hier.csv")
    point = {"mu_pr": [0.1, 0.2], "sigma": [0.3, 0.4], "A_pr": np.zeros(20), "tau_pr": np.zeros(20)}
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    assert model.logp(point, data=frame.set_index("subjID")) == model.logp(point, data=frame)


def test_float_data_round_trips_exactly():
    # Reals whose shortest text has 17 digits survive the CSV written from
    # the DataFrame, so the log density is the one of the arrays themselves.
    rng = np.random.default_rng(0)
    frame = pd.read_csv(DATA / "rl_single.csv")
    frame["reward"] = rng.random(len(frame))
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    point = {"alpha": 0.3, "beta": 2.0}
    as_dict = {"action": frame["action"].to_numpy(), "reward": frame["reward"].to_numpy()}
    assert model.logp(point, data=frame) == model.logp(point, data=as_dict)


def test_a_row_whose_every_cell_is_missing_is_a_trial():
    """A missed trial (no response, no outcome) is a row of missing cells: it
    stays a trial, as in the same arrays given as a dict (a CSV file's line of
    empty fields is skipped, but the frame's cells are written NA)."""
    model = rlc.Model(
        "size T\ndata action: int?[T] in 0..2\ndata reward: real?[T]\nparam alpha ~ Beta(1, 1)\n"
        "param beta ~ HalfNormal(10)\nscan (q = [0.5, 0.5]; a in action, r in reward) {\n"
        "  if present(a) && present(r) {\n    a ~ Categorical(logits = beta * q)\n"
        "    set_subtensor(q[a], q[a] + alpha * (r - q[a]))\n  } else {\n    q * 0.9\n  }\n}\n",
        "decay.rlm",
    )
    frame = pd.read_csv(DATA / "rl_single.csv")[["action", "reward"]].astype(float)
    frame.loc[[3, 4, 5], ["action", "reward"]] = np.nan
    point = {"alpha": 0.3, "beta": 2.0}
    as_dict = {"action": frame["action"].to_numpy(), "reward": frame["reward"].to_numpy()}
    assert model.logp(point, data=frame) == model.logp(point, data=as_dict)
    tree = model.sample(data=frame, **RUN)
    assert tree["observed_data"].sizes["T"] == len(frame)
    design = frame.drop(columns="action")
    assert len(model.simulate(design, point, seed=1).data) == len(frame)


def test_float32_columns_are_the_values_a_dict_of_them_gives():
    """A float32 column is written as the float64 it is (0.30000001192…),
    not as its shortest float32 text ("0.3"): frame and dict agree."""
    frame = pd.read_csv(DATA / "rl_single.csv")
    frame["reward"] = (frame["reward"] * 0.1 + 0.3).astype("float32")
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    point = {"alpha": 0.3, "beta": 2.0}
    as_dict = {"action": frame["action"].to_numpy(), "reward": frame["reward"].to_numpy()}
    assert model.logp(point, data=frame) == model.logp(point, data=as_dict)


def test_a_dataarray_in_a_dict_is_its_values():
    """A DataArray (a previous run's observed_data) is taken as its values."""
    xr = pytest.importorskip("xarray")
    frame = pd.read_csv(DATA / "rl_single.csv")
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    point = {"alpha": 0.3, "beta": 2.0}
    arrays = {"action": frame["action"].to_numpy(), "reward": frame["reward"].to_numpy()}
    as_dataarrays = {k: xr.DataArray(v, dims=["T"]) for k, v in arrays.items()}
    assert model.logp(point, data=as_dataarrays) == model.logp(point, data=arrays)


def test_logp_and_grad_are_the_clis(run_cli):
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    data = DATA / "rl_hier.csv"
    cli = json.loads(
        run_cli("logp", MODELS / "rl_hier.rlm", "--data", data, "--json", "--at",
                "mu_pr=[0.1,0.2],sigma=[0.3,0.4],A_pr=[" + ",".join(["0.5"] * 20) + "],tau_pr=[" + ",".join(["-0.25"] * 20) + "]").stdout
    )
    point = {"mu_pr": [0.1, 0.2], "sigma": np.array([0.3, 0.4]), "A_pr": [0.5] * 20, "tau_pr": np.full(20, -0.25)}
    assert model.logp(point, data=data) == cli["logp"]
    np.testing.assert_array_equal(model.grad(point, data=data), cli["gradient"])
    assert model.coordinates(data) == cli["coordinates"]
    # The same point by its unconstrained coordinates.
    theta = [0.1, 0.2, np.log(0.3), np.log(0.4)] + [0.5] * 20 + [-0.25] * 20
    assert model.logp(np.array(theta), data=data) == pytest.approx(cli["logp"], rel=1e-14)
    assert model.logp(point, data=data, backend="interp") == pytest.approx(cli["logp"], rel=1e-12)


def test_variables():
    assert rlc.Model.from_file(MODELS / "rl_hier.rlm").variables == ["mu_pr", "sigma", "A_pr", "tau_pr", "A", "tau"]


def test_an_index_level_also_kept_as_a_column_is_read_once():
    frame = pd.read_csv(DATA / "rl_hier.csv")
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    point = {"mu_pr": [0.1, -0.2], "sigma": [0.3, 0.4], "A_pr": [0.0] * 20, "tau_pr": [0.5] * 20}
    expected = model.logp(point, data=frame)
    assert model.logp(point, data=frame.set_index("subjID", drop=False)) == expected
    assert model.logp(point, data=frame.set_index("subjID")) == expected


def test_boolean_columns_and_arrays_are_numpys_ones_and_zeros():
    # A reward column of True/False (pandas' bool, its nullable "boolean",
    # or Python bools in an object column) is 1/0 for an `int` or `real`
    # declaration, as numpy counts it, from a DataFrame and from a dict.
    frame = pd.read_csv(DATA / "rl_single.csv")
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    point = {"alpha": 0.3, "beta": 2.0}
    as_ints = frame.assign(reward=(frame["reward"] > 0.5).astype(int), action=frame["action"])
    expected = model.logp(point, data=as_ints)
    as_bools = as_ints.assign(reward=as_ints["reward"].astype(bool), action=as_ints["action"].astype(bool))
    assert model.logp(point, data=as_bools) == expected
    nullable = as_bools.astype({"action": "boolean", "reward": "boolean"})
    assert model.logp(point, data=nullable) == expected
    assert model.logp(point, data=as_bools.astype({"action": object, "reward": object})) == expected
    as_dict = {"action": as_bools["action"].to_numpy(), "reward": as_bools["reward"].tolist()}
    assert model.logp(point, data=as_dict) == expected


def test_whole_floats_are_written_as_the_integers_they_are():
    # pandas makes an integer column with a missing cell float: its subjects
    # are still called 1, 2, … (not 1.0), and its choices still integers.
    frame = pd.read_csv(DATA / "rl_hier.csv")
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    as_floats = frame.assign(subjID=frame["subjID"].astype(float), choice=frame["choice"].astype(float))
    point = {"mu_pr": [0.1, -0.2], "sigma": [0.3, 0.4], "A_pr": [0.0] * 20, "tau_pr": [0.5] * 20}
    assert model.logp(point, data=as_floats) == model.logp(point, data=frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        fit = model.sample(data=as_floats, **RUN)
    subjects = [str(s) for s in pd.unique(frame["subjID"])]
    assert list(fit["posterior"]["N"].values) == subjects


def test_a_matrix_value_is_taken_nested_as_its_parameter_and_refused_transposed():
    """A value's shape is checked against its parameter's: a transposed matrix is
    refused (it was read row-major into the wrong elements), a flat row-major
    list is taken; fit_many's settings keep a matrix's shape for its fits."""
    model = rlc.Model("size K\nparam q: real[2, K] ~ Normal(0, 1)\n")
    data = {"K": 3}
    q = np.arange(6.0).reshape(2, 3) / 10
    assert model.logp({"q": q}, data=data) == model.logp({"q": q.ravel()}, data=data)
    with pytest.raises(rlc.UsageError, match=r"parameter `q` is \[2, 3\], the value given is nested as \[3, 2\]"):
        model.logp({"q": q.T}, data=data)
    with pytest.raises(rlc.UsageError, match=r"nested as \[3, 2\]"):
        model.sample(data=data, init={"q": q.T}, **RUN)
    with pytest.raises(rlc.UsageError, match=r"parameter 'q': .* is not an array of numbers"):
        model.logp({"q": [[1.0, 2.0, 3.0], [4.0, 5.0]]}, data=data)
    settings = rlc.batch._sample_settings({"init": {"q": q}}, rlc.batch.SAMPLE_DEFAULTS)
    np.testing.assert_array_equal(rlc.batch._init_argument(settings["init"])["q"], q)
    flat = rlc.batch._sample_settings({"init": {"q": q.ravel()}}, rlc.batch.SAMPLE_DEFAULTS)
    assert flat["init"] == (("q", tuple(q.ravel())),)


def test_a_dict_of_series_with_different_indexes_is_refused():
    """A dict's values are read by position: Series whose indexes differ (one
    reordered) would pair the wrong rows, so they are refused; aligned ones
    (and arrays) are read as before."""
    frame = pd.read_csv(DATA / "rl_single.csv")
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    point = {"alpha": 0.3, "beta": 2.0}
    aligned = {"action": frame["action"], "reward": frame["reward"]}
    assert model.logp(point, data=aligned) == model.logp(point, data=frame)
    reordered = {"action": frame["action"][::-1], "reward": frame["reward"]}
    with pytest.raises(rlc.UsageError, match=r"data\['action'\] and data\['reward'\] are Series with different indexes"):
        model.logp(point, data=reordered)


def test_a_data_default_is_used_with_a_warning_unless_the_frame_or_dict_sets_it():
    """`data bound: real = 0.1` (hBayesDM's arguments in its ports): a DataFrame or dict
    without it takes the default, with the note as a warning; a column or key sets it."""
    model = rlc.Model(
        "size T\ndata y: real[T]\ndata shift: real in [0, inf) = 0.5\nparam mu ~ Normal(0, 1)\n"
        "y ~ Normal(mu + shift, 1)\n",
        "shift.rlm",
    )
    explicit = rlc.Model("size T\ndata y: real[T]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu + 2.0, 1)\n", "two.rlm")
    default = rlc.Model("size T\ndata y: real[T]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu + 0.5, 1)\n", "half.rlm")
    y = [0.3, 1.2, 2.5]
    for data in (pd.DataFrame({"y": y}), {"y": y}):
        with pytest.warns(UserWarning, match="`shift` is not in .*: the model's default, 0.5, is used"):
            lp = model.logp({"mu": 0.2}, data=data)
        assert lp == pytest.approx(default.logp({"mu": 0.2}, data={"y": y}), rel=1e-12)
    for data in (pd.DataFrame({"y": y, "shift": 2.0}), {"y": y, "shift": 2.0}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lp = model.logp({"mu": 0.2}, data=data)
        assert lp == pytest.approx(explicit.logp({"mu": 0.2}, data={"y": y}), rel=1e-12)


def test_an_array_setting_is_set_by_a_key_or_its_element_columns():
    """`data scale: real[2] = [0.5, 1.0]` (hBayesDM's array arguments, such as the HGF's
    `mu0`): a DataFrame or dict without it takes the default with a warning; a dict's key
    or a DataFrame's columns `scale.1`, `scale.2` set it."""
    model = rlc.Model(
        "size T\ndata y: real[T]\ndata scale: real[2] in (0, inf) = [0.5, 1.0]\n"
        "param mu ~ Normal(0, scale[0])\ny ~ Normal(mu, scale[1])\n",
        "scale.rlm",
    )
    written = "size T\ndata y: real[T]\nparam mu ~ Normal(0, {})\ny ~ Normal(mu, {})\n"
    y = [0.3, 1.2, 2.5]
    default = rlc.Model(written.format(0.5, 1.0), "default.rlm").logp({"mu": 0.2}, data={"y": y})
    for data in (pd.DataFrame({"y": y}), {"y": y}):
        with pytest.warns(UserWarning, match=r"`scale` is not in .*: the model's default, \[0.5, 1\], is used"):
            assert model.logp({"mu": 0.2}, data=data) == pytest.approx(default, rel=1e-12)
    explicit = rlc.Model(written.format(2.0, 3.0), "explicit.rlm").logp({"mu": 0.2}, data={"y": y})
    for data in (pd.DataFrame({"y": y, "scale.1": 2.0, "scale.2": 3.0}), {"y": y, "scale": [2.0, 3.0]}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert model.logp({"mu": 0.2}, data=data) == pytest.approx(explicit, rel=1e-12)
    with pytest.raises(rlc.DataError, match='the header has column "scale.1" but not "scale.2"'):
        model.logp({"mu": 0.2}, data=pd.DataFrame({"y": y, "scale.1": 2.0}))


def test_set_gives_data_apart_from_the_data_as_rlc_run_set_does(tmp_path):
    """`set={"shift": 2.0, "scale": [2, 3]}` is `rlc run --set`: each value is checked
    as a JSON key is, replaces the data's column or key of that name (with a warning
    when the data has one), and works for every kind of data, for logp, grad,
    coordinates, sample and simulate (whose data sets carry the values)."""
    model = rlc.Model(
        "size T\ndata y: real[T]\ndata shift: real in [0, inf) = 0.5\n"
        "data scale: real[2] in (0, inf) = [0.5, 1.0]\n"
        "param mu ~ Normal(0, scale[0])\ny ~ Normal(mu + shift, scale[1])\n",
        "set.rlm",
    )
    written = rlc.Model("size T\ndata y: real[T]\nparam mu ~ Normal(0, 2.0)\ny ~ Normal(mu + 1.5, 3.0)\n", "w.rlm")
    y = [0.3, 1.2, 2.5]
    expected = written.logp({"mu": 0.2}, data={"y": y})
    given = {"shift": 1.5, "scale": np.array([2.0, 3.0])}
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": y, "shift": 9.0}).to_csv(path, index=False)
    for data in (pd.DataFrame({"y": y}), {"y": y}, path, pd.DataFrame({"y": y, "shift": 9.0}), {"y": y, "shift": -4}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert model.logp({"mu": 0.2}, data=data, set=given) == pytest.approx(expected, rel=1e-12)
            assert model.grad({"mu": 0.2}, data=data, set=given) == pytest.approx(
                written.grad({"mu": 0.2}, data={"y": y}), rel=1e-12
            )
        notes = [str(w.message) for w in caught]
        assert not any("default" in n for n in notes), notes
        in_data = not isinstance(data, pd.DataFrame) or "shift" in data
        in_data = in_data and not (isinstance(data, dict) and "shift" not in data)
        assert any("`shift` is set apart from" in n and "(1.5); its value in" in n for n in notes) == in_data, (data, notes)
    assert model.coordinates({"y": y}, set=given) == ["mu"]
    # sample: the same draws as the data with the values in it.
    run = dict(chains=1, warmup=30, draws=10, seed=5, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = model.sample({"y": y}, set=given, **run)
        b = model.sample({"y": y, "shift": 1.5, "scale": [2.0, 3.0]}, **run)
    assert np.array_equal(a.posterior["mu"].values, b.posterior["mu"].values)
    # simulate: the data set carries them, so that fitting it reads them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = model.simulate(pd.DataFrame({"y": y}), {"mu": 0.2}, seed=3, set=given).data
        as_dict = model.simulate({"y": y}, {"mu": 0.2}, seed=3, set=given).data
    assert list(frame["shift"]) == [1.5] * 3
    assert list(frame["scale.1"]) == [2.0] * 3 and list(frame["scale.2"]) == [3.0] * 3
    assert as_dict["shift"] == 1.5 and list(as_dict["scale"]) == [2.0, 3.0]
    # A bad value is a DataError naming it; a value that is no data, a TypeError.
    with pytest.raises(rlc.DataError, match=r"set= shift=-1.*outside the declared bounds") as error:
        model.logp({"mu": 0.2}, data={"y": y}, set={"shift": -1, "sigma": 2})
    assert "the model declares no data `sigma`" in str(error.value)
    assert "2 of the values given with set= do not fit the model" in str(error.value)
    with pytest.raises(rlc.DataError, match="is sized by the data"):
        model.logp({"mu": 0.2}, data={"y": y}, set={"y": [1.0]})
    with pytest.raises(rlc.DataError, match="no missing cells"):
        model.logp({"mu": 0.2}, data={"y": y}, set={"shift": float("nan")})
    with pytest.raises(TypeError, match="set must be a dict"):
        model.logp({"mu": 0.2}, data={"y": y}, set=[("shift", 1.0)])
    with pytest.raises(TypeError, match=r"set\['shift'\]: cannot use a"):
        model.logp({"mu": 0.2}, data={"y": y}, set={"shift": object()})


def test_a_size_with_a_default_is_set_as_hbayesdms_arguments_are():
    """`size L = 3` is a setting: `set={"L": 4, "w": [...]}`, a column `L` with the
    columns `w.1` … `w.3` of a DataFrame, or the keys of a dict give it, to the same
    density; an array default that fits only L = 3 is a DataError that says so; a
    data set simulated with `set=` carries L as a column."""
    model = rlc.Model(
        "size T\nsize L = 3\ndata y: real[T]\ndata w: real[L - 1] = [1.0, 2.0]\n"
        "param mu: real[L - 1] ~ Normal(0, 1)\ny ~ Normal(sum(mu * w), 1)\n",
        "levels.rlm",
    )
    y = [0.3, 1.2, 2.5]
    point = {"mu": [0.1, -0.2, 0.3]}
    by_set = model.logp(point, data={"y": y}, set={"L": 4, "w": [1.0, 2.0, 3.0]})
    frame = pd.DataFrame({"y": y, "L": 4, "w.1": 1.0, "w.2": 2.0, "w.3": 3.0})
    assert model.logp(point, data=frame) == pytest.approx(by_set, rel=1e-12)
    assert model.logp(point, data={"y": y, "L": 4, "w": [1, 2, 3]}) == pytest.approx(by_set, rel=1e-12)
    assert model.coordinates({"y": y}, set={"L": 4, "w": [1, 2, 3]}) == ["mu.1", "mu.2", "mu.3"]
    with pytest.raises(rlc.DataError, match=r"`data w: real\[L - 1\]` has 2 elements .* but its dimension `L - 1` is 3, where `L` is 4"):
        model.logp(point, data={"y": y}, set={"L": 4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulated = model.simulate(pd.DataFrame({"y": y}), point, seed=3, set={"L": 4, "w": [1, 2, 3]}).data
    assert list(simulated["L"]) == [4] * 3 and list(simulated["w.3"]) == [3.0] * 3
    assert model.logp(point, data=simulated) == pytest.approx(
        model.logp(point, data=simulated[["y"]], set={"L": 4, "w": [1, 2, 3]}), rel=1e-12
    )
