"""The progress bar: drawn on stderr from the sampler's counters (tqdm when
installed, else a plain line), silent with progress=False."""

from __future__ import annotations

import warnings

import pandas as pd

import rlc
from conftest import DATA, MODELS


def run(progress: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        rlc.Model.from_file(MODELS / "rl_single.rlm").sample(
            data=pd.read_csv(DATA / "rl_single.csv"), chains=2, warmup=300, draws=100, seed=1, progress=progress
        )


def test_progress_bar_counts_every_iteration(capfd):
    run(progress=True)
    err = capfd.readouterr().err
    # Both tqdm's bar and the plain line end on the phase and the count.
    assert "sampling" in err and "800/800" in err, err


def test_progress_false_is_silent(capfd):
    run(progress=False)
    assert capfd.readouterr().err == ""
