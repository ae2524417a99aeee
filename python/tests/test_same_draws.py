"""The package samples exactly what the CLI samples: the same seed on the same
data gives the same draws, bit for bit, and ArviZ summarizes them as the
CLI's table does."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS, STATS, cmdstan_array, column_name, read_cmdstan

RUN = dict(chains=2, warmup=200, draws=200, seed=7)

CASES = [("rl_single", "rl_single.csv"), ("rl_hier", "rl_hier.csv")]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def both(request, run_cli, tmp_path_factory):
    """(model name, the CLI's chains as DataFrames, its stdout, the package's tree)."""
    model, data = request.param
    out = tmp_path_factory.mktemp(model)
    cli = run_cli(
        "run", MODELS / f"{model}.rlm", "--data", DATA / data, "--output-dir", out, "--quiet",
        "--chains", RUN["chains"], "--warmup", RUN["warmup"], "--draws", RUN["draws"], "--seed", RUN["seed"],
    )
    frame = pd.read_csv(DATA / data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        # Three threads per chain (the CLI's run used the cores left over):
        # the draws do not depend on it.
        tree = rlc.Model.from_file(MODELS / f"{model}.rlm").sample(
            data=frame, progress=False, threads_per_chain=3, **RUN
        )
    return model, read_cmdstan(out, model), cli.stdout, tree


def test_posterior_draws_are_the_clis_bit_for_bit(both):
    _model, chains, _stdout, tree = both
    posterior = tree["posterior"]
    assert len(posterior.data_vars) > 0
    for name, variable in posterior.data_vars.items():
        expected = cmdstan_array(chains, name, variable.shape[2:])
        np.testing.assert_array_equal(variable.values, expected, strict=True, err_msg=name)


def test_sample_stats_are_the_clis(both):
    _model, chains, _stdout, tree = both
    stats = tree["sample_stats"]
    for name, column in STATS.items():
        expected = np.stack([c[column].to_numpy() for c in chains])
        np.testing.assert_array_equal(stats[name].values.astype(float), expected.astype(float), err_msg=name)
    assert stats["diverging"].dtype == bool
    assert stats["tree_depth"].dtype == np.int64


def _half_unit(text: str) -> float:
    """Half a unit of the last digit the CLI printed."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (-decimals) * 10.0 ** (int(exponent) if exponent else 0)


def _cli_table(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.strip()]
    header = lines[0].split()
    rows = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) != len(header) + 1 or line.startswith("warning"):
            continue
        rows[parts[0]] = dict(zip(header, parts[1:]))
    return rows


def test_arviz_summary_matches_the_cli_table(both):
    az = pytest.importorskip("arviz")
    _model, _chains, stdout, tree = both
    table = _cli_table(stdout)
    idata = rlc.to_inference_data(tree)
    summary = az.summary(idata, kind="all", round_to="none")
    # ArviZ's rows are each variable's elements in row-major order; name
    # them as the CLI does (CmdStan's 1-based `A.3`).
    names = []
    for name, variable in tree["posterior"].data_vars.items():
        names += [column_name(name, index) for index in np.ndindex(*variable.shape[2:])]
    assert len(names) == len(summary)
    checked = 0
    for name, (_label, row) in zip(names, summary.iterrows()):
        printed = table[name]
        for cli_column, arviz_column in [("Mean", "mean"), ("ESS_bulk", "ess_bulk"), ("R_hat", "r_hat")]:
            text = printed[cli_column]
            if not re.match(r"^-?[0-9.]+(e-?[0-9]+)?$", text):
                continue
            assert abs(float(text) - row[arviz_column]) <= _half_unit(text) + 1e-9, (name, cli_column, text, row[arviz_column])
            checked += 1
    assert checked >= len(names)


@pytest.mark.parametrize("adaptation", ["stan", "fisher", "fisher-lowrank"])
def test_each_adaptation_samples_as_the_cli(run_cli, tmp_path, adaptation):
    """`adaptation=` is `rlc run --adaptation`; without `warmup`, both take the
    adaptation's default length (1000 for Stan's, 400 for the gradient-based)."""
    settings = dict(chains=2, draws=100, seed=3)
    cli = run_cli(
        "run", MODELS / "rl_single.rlm", "--data", DATA / "rl_single.csv", "--output-dir", tmp_path,
        "--quiet", "--chains", 2, "--draws", 100, "--seed", 3, "--adaptation", adaptation,
    )
    assert f"with {adaptation} adaptation" in cli.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_single.rlm").sample(
            data=DATA / "rl_single.csv", progress=False, adaptation=adaptation, **settings
        )
    attrs = tree["posterior"].attrs
    assert attrs["adaptation"] == adaptation
    assert attrs["num_warmup"] == (1000 if adaptation == "stan" else 400)
    assert 0 < attrs["warmup_grad_evals"] < attrs["grad_evals"]
    chains = read_cmdstan(tmp_path, "rl_single")
    expected = cmdstan_array(chains, "alpha", ())
    np.testing.assert_array_equal(tree["posterior"]["alpha"].values, expected, strict=True)
    with pytest.raises(ValueError, match="adaptation"):
        rlc.Model.from_file(MODELS / "rl_single.rlm").sample(
            data=DATA / "rl_single.csv", progress=False, adaptation="nutpie", **settings
        )


def test_the_low_rank_correction_is_in_the_attributes_as_in_the_csv_header(run_cli, tmp_path):
    """The low-rank directions and their variances (`fisher-lowrank`) are in
    ``sample_stats``'s attributes, the numbers the CLI writes in its header."""
    settings = dict(chains=2, warmup=200, draws=50, seed=3)
    run_cli(
        "run", MODELS / "rl_hier.rlm", "--data", DATA / "rl_hier_sim.csv", "--output-dir", tmp_path,
        "--quiet", "--chains", 2, "--warmup", 200, "--draws", 50, "--seed", 3,
        "--adaptation", "fisher-lowrank",
    )
    counts, values, vectors = [], [], []
    for chain in (1, 2):
        header = [line for line in (tmp_path / f"rl_hier_{chain}.csv").read_text().splitlines() if line.startswith("#")]
        eigen = [line for line in header if line.startswith("# Eigenvalues: ")]
        chain_values = [float(x) for x in eigen[0][len("# Eigenvalues: "):].split(", ")] if eigen else []
        counts.append(len(chain_values))
        values += chain_values
        for line in header:
            if line.startswith("# Direction "):
                vectors += [float(x) for x in line.split(": ", 1)[1].split(", ")]
    assert sum(counts) > 0, "this run keeps low-rank directions"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_hier.rlm").sample(
            data=DATA / "rl_hier_sim.csv", progress=False, adaptation="fisher-lowrank", **settings
        )
    attrs = tree["sample_stats"].attrs
    assert list(attrs["low_rank_directions"]) == counts
    np.testing.assert_allclose(attrs["low_rank_values"], values, rtol=1e-15)
    np.testing.assert_allclose(attrs["low_rank_vectors"], vectors, rtol=1e-15)
    assert len(attrs["low_rank_vectors"]) == sum(counts) * len(attrs["unconstrained_coordinates"])


@pytest.mark.parametrize(
    "python_init, cli_init",
    [(0, "0"), (0.5, "0.5"), ({"alpha": 0.3, "beta": 2.0}, "FILE")],
    ids=["radius-0", "radius-0.5", "values"],
)
def test_initial_values_are_the_clis(python_init, cli_init, run_cli, tmp_path):
    """``init`` (a radius or parameter values) starts the chains where
    ``rlc run --init`` does: the same draws, bit for bit."""
    run = dict(chains=2, warmup=50, draws=20, seed=3)
    if cli_init == "FILE":
        path = tmp_path / "init.json"
        path.write_text('{"alpha": 0.3, "beta": 2.0}')
        cli_init = str(path)
    out = tmp_path / "out"
    run_cli(
        "run", MODELS / "rl_single.rlm", "--data", DATA / "rl_single.csv", "--output-dir", out, "--quiet",
        "--chains", run["chains"], "--warmup", run["warmup"], "--draws", run["draws"], "--seed", run["seed"],
        "--init", cli_init,
    )
    chains = read_cmdstan(out, "rl_single")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = rlc.Model.from_file(MODELS / "rl_single.rlm").sample(
            data=DATA / "rl_single.csv", progress=False, init=python_init, **run
        )
    for name in ("alpha", "beta"):
        expected = cmdstan_array(chains, name, ())
        np.testing.assert_array_equal(tree["posterior"][name].values, expected, strict=True, err_msg=name)
    attrs = tree["posterior"].attrs
    if isinstance(python_init, dict):
        assert attrs["init_radius"] == 2.0
        assert json.loads(attrs["init"]) == {"alpha": [0.3], "beta": [2.0]}
    else:
        assert attrs["init_radius"] == python_init and "init" not in attrs


@pytest.mark.parametrize(
    "init, error, message",
    [
        ({"alpha": 1.5}, rlc.UsageError, "outside its support"),
        ({"gamma": 0.1}, rlc.UsageError, "no parameter `gamma`"),
        (-1, rlc.UsageError, "init must be a finite radius"),
        ("0", TypeError, "init must be a radius"),
    ],
)
def test_bad_initial_values_raise(init, error, message):
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    with pytest.raises(error, match=message):
        model.sample(data=DATA / "rl_single.csv", progress=False, chains=1, warmup=10, draws=10, init=init)
