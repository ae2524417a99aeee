"""Each failure raises its exception class, with the CLI's words."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS, ROOT

SHAPE_ERROR = "tests/check/err/shape_error_seed.rlm"


def test_compile_error_is_the_clis_report(run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    cli = run_cli("check", "--color", "never", SHAPE_ERROR, check=False)
    assert cli.returncode == 1
    model = rlc.Model.from_file(SHAPE_ERROR)
    with pytest.raises(rlc.CompileError) as caught:
        model.check()
    error = caught.value
    assert isinstance(error, rlc.Error)
    assert str(error) + "\n" == cli.stderr
    assert str(error).splitlines()[-1] == f"error: {SHAPE_ERROR} has 1 error"
    [diagnostic] = error.diagnostics
    assert diagnostic.code == "E0120"
    assert diagnostic.severity == "error"
    assert "cannot be broadcast" in diagnostic.message
    assert "keepdims=true" in diagnostic.hint
    primary = [label for label in diagnostic.labels if label.primary]
    assert len(primary) == 1
    # The primary label is the operator; the others point at its operands.
    assert (primary[0].line, primary[0].column) == (16, 20)
    assert primary[0].text == "-"
    assert (diagnostic.line, diagnostic.column) == (16, 20)
    assert any(label.text == "logsumexp(logits, axis=1)" for label in diagnostic.labels)
    # Sampling the same model raises the same error.
    with pytest.raises(rlc.CompileError):
        model.sample(progress=False)


def test_check_returns_warnings_of_a_clean_model():
    assert rlc.Model.from_file(MODELS / "rl_single.rlm").check() == []


def test_dataframe_error_names_row_and_column():
    frame = pd.read_csv(DATA / "rl_single.csv")
    frame.loc[5, "action"] = 2
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    with pytest.raises(rlc.DataError) as caught:
        model.sample(data=frame, progress=False)
    error = caught.value
    [item] = error.errors
    assert (item.row, item.column, item.line) == (5, "action", 7)
    assert item.code == "D0014"
    assert str(error).splitlines() == [
        'DataFrame, row 5, column "action": ' + item.message,
        "error: DataFrame does not fit the model (1 error)",
    ]
    assert "outside the declared range 0..2" in item.message


def _frame_error(frame):
    """The one data error of sampling rl_single on `frame`."""
    with pytest.raises(rlc.DataError) as caught:
        rlc.Model.from_file(MODELS / "rl_single.rlm").logp({"alpha": 0.5, "beta": 1.0}, data=frame)
    [item] = caught.value.errors
    return caught.value, item


def test_dataframe_error_names_the_row_as_loc_counts():
    """A filtered, shuffled or relabelled frame's error names the row by its
    index label, which `df.loc` takes, and by its position, which `df.iloc` takes."""
    frame = pd.read_csv(DATA / "rl_single.csv")
    filtered = frame[frame["trial"] > 10].copy()  # labels 10, 11, …
    filtered.loc[15, "action"] = 7
    error, item = _frame_error(filtered)
    assert (item.row, item.position, item.column, item.line) == (15, 5, "action", 7)
    assert filtered.loc[item.row, "action"] == 7 and filtered.iloc[item.position]["action"] == 7
    assert str(error).splitlines()[0] == 'DataFrame, row df.loc[15] (df.iloc[5]), column "action": ' + item.message

    shuffled = frame.sample(frac=1, random_state=0)
    shuffled.loc[107, "action"] = 7
    _, item = _frame_error(shuffled)
    assert item.row == 107 and item.position == shuffled.index.get_loc(107) != 107

    labelled = frame.set_axis([f"t{i:03d}" for i in range(len(frame))])
    labelled.loc["t042", "action"] = 9
    error, item = _frame_error(labelled)
    assert (item.row, item.position, item.column) == ("t042", 42, "action")
    assert "DataFrame, row df.loc['t042'] (df.iloc[42]), column \"action\"" in str(error)

    # Unnamed MultiIndex levels: the label is the tuple df.loc takes.
    multi = frame.set_axis(pd.MultiIndex.from_arrays([["s1"] * len(frame), list(range(len(frame)))]))
    multi.loc[("s1", 3), "action"] = -1
    error, item = _frame_error(multi)
    assert item.row == ("s1", 3) and item.position == 3
    assert multi.loc[item.row, "action"] == -1
    assert "row df.loc[('s1', 3)] (df.iloc[3])" in str(error)

    # A named index is a column again; its labels still name the rows.
    by_trial = frame.set_index("trial")
    by_trial.loc[9, "action"] = 5
    _, item = _frame_error(by_trial)
    assert (item.row, item.position) == (9, 8)


def test_dataframe_error_on_the_default_index_names_the_position():
    frame = pd.read_csv(DATA / "rl_single.csv")
    frame.loc[5, "action"] = 2
    error, item = _frame_error(frame)
    assert (item.row, item.position) == (5, 5)
    assert str(error).startswith('DataFrame, row 5, column "action": ')


def test_a_per_group_value_that_varies_names_both_rows_as_the_frame_does():
    """D0019 compares a row with an earlier one: both are named as df.loc and
    df.iloc take them, not by the lines of the CSV text the package writes."""
    model = rlc.Model(
        "size N by subjID\nsize T\ndata choice: int?[N, T] in 1..3\ndata age: real[N]\nparam mu ~ Normal(0, 1)\n"
        "for n in 0..N { for t in 0..T { if present(choice[n, t]) { choice[n, t] - 1 ~ Bernoulli(logits = mu * age[n]) } } }\n",
        "age.rlm",
    )
    frame = pd.DataFrame({"subjID": ["s1"] * 3 + ["s2"] * 3, "choice": [1, 2, 1, 2, 2, 1],
                          "age": [30.0, 30.0, 31.0, 40.0, 40.0, 40.0]}, index=[f"r{i}" for i in range(6)])
    with pytest.raises(rlc.DataError) as caught:
        model.logp({"mu": 0.1}, data=frame)
    [item] = caught.value.errors
    assert (item.code, item.row, item.position) == ("D0019", "r2", 2)
    assert "has \"30\" on row df.loc['r0'] (df.iloc[0]) and \"31\" here" in item.message
    assert str(caught.value).startswith("DataFrame, row df.loc['r2'] (df.iloc[2]), column \"age\": ")


@pytest.mark.parametrize(
    "ids, says",
    [
        (["s1"] * 100 + ["s1 "] * 100 + ["s3"] * 100, "are two subjects in the DataFrame but one, 's1'"),
        ([1] * 100 + ["1"] * 100 + [3] * 100, "are two subjects in the DataFrame but one, '1'"),
        ([1.0] * 50 + [1] * 50 + [2] * 100 + [3] * 100, "are one subject in the DataFrame (the values are equal) but two, '1.0' and '1'"),
    ],
)
def test_subject_ids_that_pandas_and_their_text_group_differently_are_an_error(ids, says):
    """The loader groups rows by the trimmed text of their ids; ids that group
    otherwise in pandas would fit other subjects than the frame holds."""
    frame = pd.read_csv(DATA / "rl_hier.csv")
    frame = frame[frame["subjID"] <= 3].copy()
    frame["subjID"] = pd.Series(ids, index=frame.index, dtype=object)
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    with pytest.raises(rlc.DataError) as caught:
        model.logp(np.zeros(10), data=frame)
    [item] = caught.value.errors
    assert item.code == "D0030" and item.column == "subjID"
    assert says in item.message
    # The same ids, made consistent, load: as many subjects as pandas sees.
    frame["subjID"] = frame["subjID"].astype(str).str.strip().str.replace(".0", "", regex=False)
    subjects = frame["subjID"].nunique()
    assert np.isfinite(model.logp(np.zeros(4 + 2 * subjects), data=frame))


def test_a_parameter_value_that_is_not_finite_is_a_usage_error():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    data = DATA / "rl_single.csv"
    for point, name in [({"alpha": np.nan, "beta": 2.0}, "`alpha` = NaN"), ({"alpha": 0.3, "beta": np.inf}, "`beta` = inf")]:
        with pytest.raises(rlc.UsageError, match=f"parameter {name} is not a finite number"):
            model.logp(point, data=data)
    with pytest.raises(rlc.UsageError, match="initial values: parameter `beta` = inf is not a finite number"):
        model.sample(data=data, init={"beta": np.inf}, chains=1, warmup=5, draws=5, progress=False)
    hier = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    point = {"mu_pr": [np.nan, 0.5], "sigma": [0.1, 0.1], "A_pr": np.zeros(20), "tau_pr": np.zeros(20)}
    with pytest.raises(rlc.UsageError, match=r"parameter `mu_pr\[0\]` = NaN is not a finite number"):
        hier.logp(point, data=DATA / "rl_hier.csv")


def test_dataframe_missing_column():
    frame = pd.read_csv(DATA / "rl_single.csv").drop(columns=["reward"])
    with pytest.raises(rlc.DataError) as caught:
        rlc.Model.from_file(MODELS / "rl_single.rlm").logp({"alpha": 0.5, "beta": 1.0}, data=frame)
    [item] = caught.value.errors
    assert item.row is None
    assert "reward" in item.message


def test_file_error_is_the_clis(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    text = (DATA / "rl_single.csv").read_text().splitlines()
    text[3] = "3,1,x"
    bad.write_text("\n".join(text) + "\n")
    cli = run_cli("run", MODELS / "rl_single.rlm", "--data", bad, "--quiet", "--output-dir", tmp_path, check=False)
    assert cli.returncode == 3
    with pytest.raises(rlc.DataError) as caught:
        rlc.Model.from_file(MODELS / "rl_single.rlm").sample(data=bad, progress=False)
    assert str(caught.value) + "\n" == cli.stderr
    [item] = caught.value.errors
    assert (item.line, item.column, item.row) == (4, "reward", None)


def test_dict_error_names_the_path():
    data = {"action": [0, 1, 5], "reward": [1.0, 0.0, 1.0]}
    with pytest.raises(rlc.DataError) as caught:
        rlc.Model.from_file(MODELS / "rl_single.rlm").logp({"alpha": 0.5, "beta": 1.0}, data=data)
    [item] = caught.value.errors
    assert item.path == "action[2]" and item.file == "dict"
    assert str(caught.value).startswith("dict, at action[2]: ")


def test_bad_point_is_a_usage_error():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    data = DATA / "rl_single.csv"
    with pytest.raises(rlc.UsageError) as caught:
        model.logp({"alpha": 1.3, "beta": 2.0}, data=data)
    assert isinstance(caught.value, ValueError)
    assert "parameter `alpha` = 1.3 is outside its support (0, 1)" in str(caught.value)
    with pytest.raises(rlc.UsageError, match="2 coordinates"):
        model.grad([0.0, 0.0, 0.0], data=data)
    with pytest.raises(rlc.UsageError, match="chains must be at least 1"):
        model.sample(data=data, chains=0, progress=False)
    with pytest.raises(rlc.UsageError, match="adapt_delta must be strictly between 0 and 1"):
        model.sample(data=data, adapt_delta=1.0, progress=False)
    with pytest.raises(rlc.UsageError, match="seed must not be negative"):
        model.sample(data=data, seed=-1, progress=False)
    with pytest.raises(TypeError, match="draws must be an integer"):
        model.sample(data=data, draws=10.5, progress=False)


def test_logp_that_is_not_finite_is_the_clis_sampling_error(run_cli, tmp_path):
    """Where `rlc logp` fails (exit 4), logp and grad raise SamplingError with its explanation."""
    data = tmp_path / "inf_reward.csv"
    data.write_text("trial,action,reward\n1,1,1\n2,0,inf\n3,1,0\n")
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    cli = run_cli("logp", MODELS / "rl_single.rlm", "--data", data, "--at", "alpha=0.3,beta=2", check=False)
    assert cli.returncode == 4
    expected = cli.stderr.strip().splitlines()[-1]
    assert "`reward` holds inf at line 3" in expected
    for method in (model.logp, model.grad):
        with pytest.raises(rlc.SamplingError) as caught:
            method({"alpha": 0.3, "beta": 2.0}, data=data)
        assert str(caught.value) == expected
    # The same data as a DataFrame.
    frame = pd.read_csv(data)
    with pytest.raises(rlc.SamplingError, match="the data hold a value that is not finite, `reward` holds inf"):
        model.logp({"alpha": 0.3, "beta": 2.0}, data=frame)
    # A point where the density is not finite, though inside the support.
    cli = run_cli("logp", MODELS / "rl_single.rlm", "--data", DATA / "rl_single.csv", "--at", "alpha=0.5,beta=1e308", check=False)
    assert cli.returncode == 4
    with pytest.raises(rlc.SamplingError) as caught:
        model.logp({"alpha": 0.5, "beta": 1e308}, data=DATA / "rl_single.csv")
    assert str(caught.value) == cli.stderr.strip().splitlines()[-1]
    assert "the first value that is not finite is inf" in str(caught.value)
    # An infinite value is no point of the density: refused as a usage error by both.
    cli = run_cli("logp", MODELS / "rl_single.rlm", "--data", DATA / "rl_single.csv", "--at", "alpha=0.3,beta=inf", check=False)
    assert cli.returncode == 2
    assert "parameter `beta` = inf is not a finite number" in cli.stderr
    # A finite point on the same model still evaluates.
    assert np.isfinite(model.logp({"alpha": 0.3, "beta": 2.0}, data=DATA / "rl_single.csv"))


def test_settings_too_large_for_their_type_are_usage_errors():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    data = DATA / "rl_single.csv"
    for setting, message in [
        (dict(seed=2**64), "seed must be at most 2\\*\\*64 - 1, not 18446744073709551616"),
        (dict(chains=2**64), "chains must be at most 65536"),
        (dict(draws=2**64), "draws must be at most 1099511627776"),
        (dict(warmup=2**70), "warmup must be at most 1099511627776"),
        (dict(warmup=2**39, draws=2**40), "warmup plus draws must be at most 1099511627776"),
        (dict(max_depth=2**32), "max_depth must be at most 30"),
        (dict(max_depth=0), "max_depth must be at least 1"),
        (dict(threads_per_chain=2**64), "threads_per_chain must be at most 2\\*\\*64 - 1"),
    ]:
        with pytest.raises(rlc.UsageError, match=message):
            model.sample(data=data, progress=False, **setting)
    # The largest seed is a seed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = model.sample(data=data, chains=1, warmup=20, draws=10, seed=2**64 - 1, progress=False)
    assert tree["posterior"]["alpha"].shape == (1, 10)
    # ... and is recorded as given (it was stored as an i64, so came back negative).
    assert tree["sample_stats"].attrs["seed"] == 2**64 - 1


def test_a_model_file_that_is_not_text(run_cli, tmp_path):
    path = tmp_path / "binary.rlm"
    path.write_bytes(b"size T\n\x86\x00\xff")
    cli = run_cli("check", path, check=False)
    assert cli.returncode == 2
    with pytest.raises(rlc.UsageError) as caught:
        rlc.Model.from_file(path)
    assert str(caught.value) + "\n" == cli.stderr
    assert f"{path} is not UTF-8 text" in str(caught.value)


def test_no_data_for_a_model_that_declares_data():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    with pytest.raises(rlc.DataError) as caught:
        model.sample(progress=False)
    message = str(caught.value)
    assert message.startswith(f"error: {model.name} declares data (`action`, `reward`, the size `T`), but none was given (data=None)")
    assert "\n" not in message and "dict:" not in message
    # The items still say what is missing, against data=None.
    assert [(item.file, item.code) for item in caught.value.errors] == [("data=None", "D0010")] * 2
    assert 'no key "action"' in caught.value.errors[0].message
    # A model without data still samples with data=None.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model("param x ~ Normal(0, 1)\n").sample(chains=1, warmup=20, draws=10, seed=1, progress=False)
    assert tree["posterior"]["x"].shape == (1, 10)


def test_sampling_error_when_no_chain_can_start():
    model = rlc.Model("param x ~ Normal(0, 1)\ntarget += log(x - x - 1)\n", name="nan.rlm")
    with pytest.raises(rlc.SamplingError) as caught:
        model.sample(chains=2, warmup=10, draws=10, seed=1, progress=False)
    assert str(caught.value).splitlines()[-1] == "error: no chain produced draws"
    assert isinstance(caught.value, rlc.Error)


def test_bad_data_argument():
    with pytest.raises(TypeError, match="DataFrame, a dict"):
        rlc.Model.from_file(MODELS / "rl_single.rlm").sample(data=42, progress=False)


TWO_MODES = """
param x: real ~ Normal(0, 3)
let left = (x + 4) / 0.3
let right = (x - 4) / 0.3
target += logsumexp([-0.5 * left * left, -0.5 * right * right - 30])
"""


def test_chains_in_a_lower_mode_are_named_in_a_convergence_warning():
    """Two modes 30 log units apart behind a barrier: a chain stays in the one its random
    start is nearer. Where the chains split, the warning names the ones in the lower mode."""
    model = rlc.Model(TWO_MODES, "two_modes.rlm")
    split = 0
    for seed in range(1, 9):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tree = model.sample(data={}, chains=4, warmup=200, draws=200, seed=seed, progress=False)
        lower = [int(c) + 1 for c in tree["posterior"]["chain"].values
                 if float(tree["posterior"]["x"].sel(chain=c).mean()) > 0]
        texts = [str(w.message) for w in caught if issubclass(w.category, rlc.ConvergenceWarning)]
        named = [t for t in texts if "may be stuck in a minor mode" in t]
        if len(lower) in (0, 4):
            assert not named, (seed, named)
            continue
        split += 1
        chains = ", ".join(str(c) for c in lower)
        expected = f"chain{'s' if len(lower) > 1 else ''} {chains} sampled a region of lower log density"
        assert any(expected in t for t in named), (seed, lower, texts)
    assert split > 0, "no seed split the chains between the modes"


def test_draws_that_would_not_fit_in_memory_are_refused_before_sampling():
    # Sampling keeps the draws in memory: 10**9 draws of rl_single's columns need
    # far more than any machine has, and allocating them would abort the process.
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    with pytest.raises(rlc.UsageError, match="would need .* of memory for the draws"):
        model.sample(data=DATA / "rl_single.csv", draws=10**9, log_likelihood=True, progress=False)


def test_a_size_or_parameter_named_draw_or_chain_is_a_model_error():
    # They would clash with the results' own axes, after sampling.
    for source in ["size draw\nparam mu ~ Normal(0, 1)\n", "param chain ~ Normal(0, 1)\n"]:
        with pytest.raises(rlc.CompileError, match="E0180"):
            rlc.Model(source, name="reserved.rlm").check()


def test_convergence_warnings_name_elements_as_the_tree_does():
    import re

    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.sample(data=DATA / "rl_hier.csv", chains=2, warmup=30, draws=30, seed=2, progress=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, rlc.ConvergenceWarning)]
    assert messages, "30 draws after 30 warmup iterations leave R-hat or ESS warnings"
    text = " ".join(messages)
    # `sigma[0]`, `A_pr[7]` (subject 7's label), never CmdStan's 1-based `sigma.1`.
    assert re.search(r"[A-Za-z_]\[[^\]]+\]", text), text
    assert not re.search(r"[A-Za-z_]\.\d", text), text


def test_messages_name_the_packages_settings_not_the_command_lines():
    # The driver words its advice for `rlc run` (`--draws`, `--max-depth`);
    # from Python it names sample()'s keyword arguments.
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    with pytest.raises(rlc.UsageError) as caught:
        model.sample(data=DATA / "rl_single.csv", draws=10**9, progress=False)
    assert "run fewer draws" in str(caught.value) and "--" not in str(caught.value)
    with pytest.raises(rlc.UsageError) as caught:
        model.sample(data=DATA / "rl_single.csv", log_likelihood="subject", progress=False)
    assert 'log_likelihood="subject" needs subjects' in str(caught.value) and "--" not in str(caught.value)
    with pytest.warns(rlc.ConvergenceWarning) as warned:
        model.sample(data=DATA / "rl_single.csv", chains=1, warmup=30, draws=30, max_depth=1, seed=3, progress=False)
    depth = [str(w.message) for w in warned if "maximum tree depth" in str(w.message)]
    assert depth and "raising max_depth" in depth[0] and "--" not in depth[0]


def test_angles_that_look_like_degrees_are_a_warning_when_sampling():
    """The notes of binding the model to its data reach Python as warnings, as
    `rlc run` prints them: angles under VonMises beyond ±2π are probably degrees."""
    model = rlc.Model(
        "size T\ndata err: real[T]\nparam k ~ Gamma(2, 0.2)\nerr ~ VonMises(0, k)\n",
        "angles.rlm",
    )
    data = {"T": 4, "err": np.array([-40.0, 12.5, 75.0, 3.0])}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.sample(data=data, chains=1, warmup=50, draws=50, seed=1, progress=False)
    texts = [str(w.message) for w in caught if w.category is UserWarning]
    assert any("`err` holds values up to 75" in t and "radians" in t for t in texts), texts
