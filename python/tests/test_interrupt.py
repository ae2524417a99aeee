"""Stopping a run keeps the draws made so far: through the stop flag (a test
hook that does not depend on timing) and through a real SIGINT, as Ctrl-C in
a terminal or the notebook's interrupt button sends."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS


def test_stop_flag_returns_a_partial_tree():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    frame = pd.read_csv(DATA / "rl_single.csv")
    with pytest.warns(UserWarning, match="interrupted") as caught:
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        tree = model.sample(data=frame, chains=2, warmup=100, draws=100_000, seed=5, progress=False, _stop_after=300)
    posterior = tree["posterior"]
    draws = posterior.sizes["draw"]
    assert 0 < draws < 100_000
    assert posterior.sizes["chain"] == 2
    assert tree["sample_stats"].attrs["interrupted"] == 1
    assert not np.isnan(posterior["alpha"].values).any()
    assert any("interrupted" in str(w.message) for w in caught)
    # The draws kept are the first ones of the full run with the same seed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        full = model.sample(data=frame, chains=2, warmup=100, draws=draws, seed=5, progress=False)
    np.testing.assert_array_equal(full["posterior"]["alpha"].values, posterior["alpha"].values)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to one's own process is POSIX")
def test_sigint_stops_the_chains_and_returns_the_draws():
    model = rlc.Model.from_file(MODELS / "rl_hier.rlm")
    frame = pd.read_csv(DATA / "rl_hier.csv")
    sent = threading.Event()

    def interrupt_once_drawing():
        # Wait until the run exists and has made draws, then press Ctrl-C.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = model._run
            if run is not None and run.progress()[1] >= 20:
                os.kill(os.getpid(), signal.SIGINT)
                sent.set()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=interrupt_once_drawing, daemon=True)
    thread.start()
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = model.sample(data=frame, chains=2, warmup=50, draws=1_000_000, seed=2, progress=False)
    thread.join()
    assert sent.is_set()
    assert time.monotonic() - started < 60
    draws = tree["posterior"].sizes["draw"]
    assert 0 < draws < 1_000_000
    assert any(issubclass(w.category, UserWarning) and "interrupted" in str(w.message) for w in caught)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to one's own process is POSIX")
def test_sigint_during_warmup_raises_keyboard_interrupt():
    model = rlc.Model.from_file(MODELS / "rl_single.rlm")
    frame = pd.read_csv(DATA / "rl_single.csv")

    def interrupt_in_warmup():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = model._run
            if run is not None and sum(run.progress()[0]) >= 10:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=interrupt_in_warmup, daemon=True)
    thread.start()
    with pytest.raises(KeyboardInterrupt, match="no draws were made"):
        model.sample(data=frame, chains=2, warmup=10_000_000, draws=10, seed=2, progress=False)
    thread.join()
