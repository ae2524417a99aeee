"""Outs written in loops (`out pe[n, t] = …`): with `loop_outs=True` they are in the
posterior with the loops' axes, NaN where no step wrote an element, equal to the
recursion computed again from the draws, the same as `rlc run --loop-outs` writes,
and the draws are the same as without them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rlc
from conftest import ROOT, cmdstan_array, read_cmdstan

MODEL = ROOT / "tests" / "check" / "ok" / "loop_outs.rlm"
CHOICE = [[0, 1, None, 1, 0, 0], [1, 1, 0, None, None, None], [0, 0, 1, 1, 0, 1]]
REWARD = [[1.0, 0.0, 1.0, 1.0, None, 0.5], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.5, 1.0, 0.0]]
DATA = {"N": 3, "T": 6, "Tsubj": [6, 3, 5], "choice": CHOICE, "reward": REWARD}
RUN = dict(chains=2, warmup=100, draws=20, seed=5, progress=False)


def sample(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        return rlc.Model.from_file(MODEL).sample(DATA, **{**RUN, **options})


@pytest.fixture(scope="module")
def with_loop_outs():
    return sample(loop_outs=True)


def test_dims_and_missing_elements(with_loop_outs):
    posterior = with_loop_outs["posterior"]
    pe = posterior["pe"]
    assert pe.dims == ("chain", "draw", "N", "T")
    assert posterior["q_before"].shape[2:] == (3, 6, 2)
    written = np.array([[c is not None and r is not None for c, r in zip(cs, rs)] for cs, rs in zip(CHOICE, REWARD)])
    assert (np.isnan(pe.values) == ~written).all()
    # `step[n, t]` is written for 1 <= t < Tsubj[n], as the loop `for t in 1..Tsubj[n]` runs.
    step = posterior["step"].values[0, 0]
    for n, last in enumerate(DATA["Tsubj"]):
        assert np.isnan(step[n, 0]) and (step[n, 1:last] == np.arange(1, last)).all()
        assert np.isnan(step[n, last:]).all()


def test_values_are_the_recursion(with_loop_outs):
    posterior = with_loop_outs["posterior"]
    alpha, pe = posterior["alpha"].values, posterior["pe"].values
    for chain, draw in [(0, 0), (1, 7)]:
        for n in range(3):
            q = np.zeros(2)
            for t in range(6):
                c, r = CHOICE[n][t], REWARD[n][t]
                if c is None or r is None:
                    continue
                assert pe[chain, draw, n, t] == pytest.approx(r - q[c], abs=1e-12)
                np.testing.assert_allclose(posterior["q_before"].values[chain, draw, n, t], q, atol=1e-12)
                q[c] += alpha[chain, draw] * (r - q[c])


def test_the_draws_do_not_change(with_loop_outs):
    plain = sample()
    assert "pe" not in plain["posterior"]
    np.testing.assert_array_equal(plain["posterior"]["alpha"].values, with_loop_outs["posterior"]["alpha"].values)


def test_the_cli_writes_the_same(with_loop_outs, run_cli, tmp_path):
    import json

    data = tmp_path / "data.json"
    data.write_text(json.dumps(DATA))
    args = ["run", MODEL, "--data", data, "--chains", 2, "--warmup", 100, "--draws", 20, "--seed", 5]
    plain = run_cli(*args, "--output-dir", tmp_path / "plain")
    assert "--loop-outs writes them" in plain.stderr
    result = run_cli(*args, "--output-dir", tmp_path / "out", "--loop-outs", "--quiet")
    assert "pe.1.1" not in result.stdout and "--vars pe shows them" in result.stdout
    chains = read_cmdstan(tmp_path / "out", "loop_outs")
    pe = with_loop_outs["posterior"]["pe"]
    np.testing.assert_array_equal(cmdstan_array(chains, "pe", pe.shape[2:]), pe.values)
    shown = run_cli(*args, "--output-dir", tmp_path / "shown", "--loop-outs", "--quiet", "--vars", "pe")
    assert "pe.1.1" in shown.stdout


def test_thinning_keeps_every_nth_draw(with_loop_outs):
    """``thin=3`` keeps the first draw and every third after it: the same draws as every
    third of the unthinned run's, the loop outs with them."""
    thinned = sample(loop_outs=True, thin=3)
    for name in ("alpha", "pe"):
        np.testing.assert_array_equal(thinned["posterior"][name].values, with_loop_outs["posterior"][name].values[:, ::3])
    assert thinned["posterior"].attrs["num_draws"] == 7 and thinned["posterior"].attrs["thin"] == 3
    with pytest.raises(rlc.UsageError, match="thin"):
        sample(thin=0)


def test_simulate_adds_the_true_loop_outs_to_the_truth_when_asked():
    """`simulate(loop_outs=True)` (`rlc simulate --loop-outs`): the truth holds the outs
    written in loops at the true parameters on the simulated data, each the delta rule
    replayed on the simulated choices; without it, the truth and the data are unchanged."""
    model = rlc.Model.from_file(MODEL)
    truth_point = {"alpha": 0.3, "beta": 2.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asked = model.simulate(DATA, truth_point, seed=11, loop_outs=True)
        plain = model.simulate(DATA, truth_point, seed=11)
    assert "pe" not in plain.truth and set(plain.truth) <= set(asked.truth)
    assert np.array_equal(np.asarray(asked.data["choice"], dtype=float), np.asarray(plain.data["choice"], dtype=float), equal_nan=True)
    pe = asked.truth["pe"]
    assert pe.shape == (3, 6)
    choice = np.asarray(asked.data["choice"], dtype=float)
    for n in range(3):
        q = [0.0, 0.0]
        for t in range(6):
            c, r = choice[n, t], REWARD[n][t]
            if np.isnan(c) or r is None:
                assert np.isnan(pe[n, t])
                continue
            c = int(c)
            assert pe[n, t] == pytest.approx(r - q[c], abs=1e-12)
            q[c] += truth_point["alpha"] * (r - q[c])
