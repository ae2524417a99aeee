"""Many fits at once on a real Dask LocalCluster (2 worker processes): a
20-fit recovery study equal to `rlc recover`'s, the same study with a worker
killed in the middle, an interrupted study run again, fit_many's rows against
single fits, and a model comparison."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS

distributed = pytest.importorskip("dask.distributed")

MODEL = MODELS / "rl_single.rlm"
# A short design (80 trials) and short fits keep the study to a few seconds.
DESIGN = pd.read_csv(DATA / "rl_single.csv").iloc[:80]
SETTINGS = dict(chains=2, warmup=150, draws=100)
FITS = 20
SEED = 11


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def read_exact(path) -> pd.DataFrame:
    """A CSV file with every number parsed exactly (Python's float())."""
    frame = pd.read_csv(path, dtype=str)
    for column in frame.columns:
        if column not in ("name", "variable", "kind", "adaptation"):
            frame[column] = frame[column].map(float)
    return frame


def recover(client, out, **options):
    return rlc.recover(MODEL, DESIGN, fits=FITS, client=client, out=out, seed=SEED, progress=False, **SETTINGS, **options)


def fit_folders(out):
    return sorted(p.name for p in (out / "rl_single").iterdir() if not p.name.startswith("."))


def temporaries(out):
    return sorted(p.name for p in (out / "rl_single").iterdir() if p.name.startswith("."))


def wait_until_idle(client, timeout=60):
    """Until no worker is running a fit (cancelled tasks run to their end)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(s["busy"] == 0 for s in client.run(rlc.batch._worker_stats).values()):
            return
        time.sleep(0.05)
    raise AssertionError("the workers are still busy")


@pytest.fixture(scope="module")
def study(client, tmp_path_factory):
    """The undisturbed study, and how many compiles and fits the workers did."""
    before = client.run(rlc.batch._worker_stats)
    out = tmp_path_factory.mktemp("study")
    result = recover(client, out)
    after = client.run(rlc.batch._worker_stats)
    return result, out, before, after


def test_recovery_study(study):
    result, out, before, after = study
    assert not result.interrupted and not result.failures
    assert (result.sampled, result.skipped) == (FITS, 0)
    assert sorted(result.fits["fit"].unique()) == list(range(FITS))
    assert len(result.fits) == FITS * 2  # alpha and beta
    assert list(result.variables["variable"]) == ["alpha", "beta"]
    assert (result.variables["n"] == FITS).all()
    assert fit_folders(out) == [f"sim-{k:05d}" for k in range(FITS)]
    assert temporaries(out) == []
    info = json.loads((out / "rl_single" / "sim-00003" / "fit.json").read_text())
    assert info["seed"] == SEED + 4 and info["k"] == 3 and info["settings"]["draws"] == 100
    # Every fit sampled once, on a worker that compiled the model once.
    sampled = sum(after[w]["sampled"] - before.get(w, {"sampled": 0})["sampled"] for w in after)
    compiles = {w: after[w]["compiles"] - before.get(w, {"compiles": 0})["compiles"] for w in after}
    assert sampled == FITS
    assert all(c <= 1 for c in compiles.values()), compiles
    # The draws are the run's DataTree, the simulated data its observed_data.
    tree = rlc.batch.load_draws(out, "rl_single/sim-00003")
    assert tree["posterior"]["alpha"].shape == (2, 100)
    assert tree["observed_data"]["action"].shape == (80,)
    np.testing.assert_allclose(
        float(tree["posterior"]["alpha"].mean()),
        result.fits.query("fit == 3 and name == 'alpha'")["mean"].item(),
        rtol=1e-12,
    )


def test_recovery_rows_are_rlc_recovers(study, run_cli, tmp_path):
    """The distributed study is `rlc recover` with the same seed: the same
    rows, to the last bit, and the same table."""
    result, _out, _before, _after = study
    design = tmp_path / "design.csv"
    DESIGN.to_csv(design, index=False)
    csv = tmp_path / "recover.csv"
    printed = run_cli(
        "recover", MODEL, "--data", design, "--fits", FITS, "--seed", SEED, "--output", csv, "--quiet",
        "--chains", SETTINGS["chains"], "--warmup", SETTINGS["warmup"], "--draws", SETTINGS["draws"],
    ).stdout
    theirs = read_exact(csv)
    ours = result.fits
    assert list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs, check_dtype=False, check_exact=True)
    for _, v in result.variables.iterrows():
        line = next(l for l in printed.splitlines() if l.startswith(v["variable"] + " "))
        assert f"{v['coverage_90']:.3f}" in line and f"{v['correlation']:.3f}" in line
        # A scalar has no correlation within fits: NaN here, `-` in the command's table.
        assert np.isnan(v["correlation_within_fits"]) and line.split()[4] == "-"
    # Recovery.to_csv writes the CLI's file.
    ours_csv = tmp_path / "ours.csv"
    result.to_csv(ours_csv)
    pd.testing.assert_frame_equal(read_exact(ours_csv), theirs, check_exact=True)


def test_a_killed_worker_loses_no_fit(study, client, tmp_path):
    """A worker process killed in the middle of a fit: its task runs again
    elsewhere, and the study ends with every fit present once and the same
    rows as the undisturbed study."""
    undisturbed, _out, _before, _after = study
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = threading.Event()

    def kill_in_the_middle():
        deadline = time.time() + 60
        while time.time() < deadline:
            folder = tmp_path / "rl_single"
            if folder.exists():
                done = [p for p in folder.iterdir() if not p.name.startswith(".")]
                # The victim is in the middle of a fit: its folder-to-be exists.
                running = [p for p in folder.iterdir() if p.name.startswith(".") and f".tmp-{victim}-" in p.name]
                if len(done) >= 4 and running:
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                    return
            time.sleep(0.002)

    killer = threading.Thread(target=kill_in_the_middle)
    killer.start()
    result = recover(client, tmp_path)
    killer.join()
    assert killed.is_set()
    assert victim not in client.run(os.getpid).values()
    assert not result.failures and not result.interrupted
    assert fit_folders(tmp_path) == [f"sim-{k:05d}" for k in range(FITS)]
    assert temporaries(tmp_path) == []
    pd.testing.assert_frame_equal(result.fits, undisturbed.fits, check_exact=True)
    pd.testing.assert_frame_equal(result.variables, undisturbed.variables, check_exact=True)
    client.wait_for_workers(2, timeout=60)


def test_a_rerun_after_an_interruption_does_only_the_missing_fits(study, client, tmp_path):
    undisturbed, _out, _before, _after = study
    with pytest.warns(UserWarning, match="interrupted"):
        first = recover(client, tmp_path, _stop_after=6)
    assert first.interrupted
    # Fits already running when the batch stopped run to their end.
    wait_until_idle(client)
    complete = fit_folders(tmp_path)
    assert 6 <= len(complete) < FITS
    written = {f: (tmp_path / "rl_single" / f / "fit.json").read_text() for f in complete}
    again = recover(client, tmp_path)
    assert (again.sampled, again.skipped) == (FITS - len(complete), len(complete))
    assert fit_folders(tmp_path) == [f"sim-{k:05d}" for k in range(FITS)]
    # The complete fits were read back, not redone.
    assert {f: (tmp_path / "rl_single" / f / "fit.json").read_text() for f in complete} == written
    pd.testing.assert_frame_equal(again.fits, undisturbed.fits, check_exact=True)
    # A third run samples nothing.
    third = recover(client, tmp_path)
    assert (third.sampled, third.skipped) == (0, FITS)
    # Another seed in the same folder is refused rather than mixed in.
    with pytest.raises(rlc.UsageError, match="overwrite=True"):
        rlc.recover(MODEL, DESIGN, fits=2, client=client, out=tmp_path, seed=SEED + 1, progress=False, **SETTINGS)


def test_fits_that_finish_after_an_interruption_are_counted_and_returned(tmp_path):
    """Ctrl-C cannot stop a fit already running; one that finishes before the
    call returns (its own cluster closed) is complete on disk, so it is in the
    result and the count, as a rerun would read it back."""
    with pytest.warns(UserWarning, match="interrupted"):
        first = rlc.recover(MODEL, DESIGN, fits=FITS, out=tmp_path, seed=SEED, progress=False, _stop_after=1, **SETTINGS)
    complete = fit_folders(tmp_path)
    assert len(complete) >= 1
    assert sorted(first.fits["fit"].unique()) == [int(f.removeprefix("sim-")) for f in complete]
    assert first.sampled == len(complete)


def recover_as_the_cli(client, run_cli, tmp_path, model, options: dict, *flags):
    """Two fits of `model` by rlc.recover with `options` (SETTINGS and more), checked
    equal to `rlc recover` with the same settings and `flags`; returns the study."""
    result = rlc.recover(model, DESIGN, fits=2, client=client, out=tmp_path / "out", seed=SEED, progress=False, **options)
    design = tmp_path / "design.csv"
    DESIGN.to_csv(design, index=False)
    csv = tmp_path / "recover.csv"
    run_cli(
        "recover", model, "--data", design, "--fits", 2, "--seed", SEED, "--output", csv, "--quiet",
        "--chains", SETTINGS["chains"], "--warmup", SETTINGS["warmup"], "--draws", SETTINGS["draws"],
        *flags,
    )
    pd.testing.assert_frame_equal(result.fits.reset_index(drop=True), read_exact(csv), check_dtype=False, check_exact=True)
    return result


def test_recover_passes_the_adaptation(client, run_cli, tmp_path):
    """`adaptation=` is `rlc recover --adaptation`: the same rows, whose last
    column records it."""
    options = dict(SETTINGS, adaptation="fisher-lowrank")
    result = recover_as_the_cli(client, run_cli, tmp_path, MODEL, options, "--adaptation", "fisher-lowrank")
    assert set(result.fits["adaptation"]) == {"fisher-lowrank"}


def test_recover_and_fit_many_pass_the_initial_values(client, run_cli, tmp_path):
    """`init=` is `rlc recover --init` (a radius, or values for every fit's
    chains), and each fit of fit_many starts where model.sample(init=) would;
    a value for a parameter the model lacks is refused before any fit."""
    options = dict(SETTINGS, init={"alpha": 0.3})
    (tmp_path / "init.json").write_text('{"alpha": 0.3}')
    result = recover_as_the_cli(client, run_cli, tmp_path, MODEL, options, "--init", tmp_path / "init.json")
    # The initial values change the draws (the same seeds without them differ).
    plain = rlc.recover(MODEL, DESIGN, fits=2, client=client, out=tmp_path / "plain", seed=SEED, progress=False, **SETTINGS)
    assert not plain.fits["mean"].equals(result.fits["mean"])

    model = rlc.Model.from_file(MODEL)
    data = DATA / "tutorial.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        fits = rlc.fit_many(model, {"t": data}, client=client, out=tmp_path / "many", seed=5, progress=False, init=0, **SETTINGS)
        tree = model.sample(data=data, seed=rlc.batch.fit_seed(5, "rl_single/t"), progress=False, init=0, **SETTINGS)
    expected = rlc.summary(tree)
    pd.testing.assert_frame_equal(fits[expected.columns].reset_index(drop=True), expected, check_exact=True)

    with pytest.raises(rlc.UsageError, match="has no parameter 'gamma'"):
        rlc.recover(MODEL, DESIGN, fits=2, client=client, out=tmp_path / "bad", seed=SEED, progress=False, init={"gamma": 1.0}, **SETTINGS)
    with pytest.raises(rlc.UsageError, match="init must be a finite radius"):
        rlc.fit_many(model, {"t": data}, client=client, out=tmp_path / "bad2", seed=5, progress=False, init=-1.0, **SETTINGS)


def test_fit_many_rows_equal_single_fits(client, tmp_path):
    """Each row of fit_many is the summary of the fit model.sample makes on
    its own with the fit's seed."""
    frame = pd.read_csv(DATA / "tutorial.csv")
    datasets = {"first": frame.iloc[:75], "second": frame.iloc[75:], "whole": DATA / "tutorial.csv"}
    model = rlc.Model.from_file(MODEL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        fits = rlc.fit_many(model, datasets, client=client, out=tmp_path, seed=5, progress=False, **SETTINGS)
    assert list(fits["fit"].unique()) == ["rl_single/first", "rl_single/second", "rl_single/whole"]
    assert fits.attrs["sampled"] == 3 and fits.attrs["seed"] == 5
    assert list(fits.columns[:6]) == ["fit", "model", "dataset", "parameter", "variable", "kind"]
    for name, data in datasets.items():
        fit = f"rl_single/{name}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rlc.ConvergenceWarning)
            tree = model.sample(data=data, seed=rlc.batch.fit_seed(5, fit), progress=False, **SETTINGS)
        expected = rlc.summary(tree)
        ours = fits[fits["fit"] == fit].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours[expected.columns], expected, check_exact=True)
        assert (ours["seed"] == rlc.batch.fit_seed(5, fit)).all()
        assert (ours["divergences"] == int(tree["sample_stats"]["diverging"].sum())).all()
        # The summary is of these draws: the mean and quantiles are numpy's.
        alpha = tree["posterior"]["alpha"].values
        row = ours.set_index("parameter").loc["alpha"]
        np.testing.assert_allclose(row["mean"], alpha.mean(), rtol=1e-12)
        np.testing.assert_allclose([row["q5"], row["q50"], row["q95"]], np.quantile(alpha, [0.05, 0.5, 0.95]), rtol=1e-12)
        # The saved draws are the tree's.
        saved = rlc.batch.load_draws(tmp_path, fit)
        np.testing.assert_array_equal(saved["posterior"]["beta"].values, tree["posterior"]["beta"].values)


def test_compare_models_per_participant(client, tmp_path):
    """Three models on three participants: each participant's LOO table, and
    the table over all of them from the pointwise elpd of every participant."""
    frames = [pd.read_csv(DATA / f).assign(participant=p) for p, f in
              [("p1", "tutorial.csv"), ("p2", "rl_single.csv"), ("p3", "rl_pos_neg.csv")]]
    long = pd.concat(frames, ignore_index=True)[["participant", "action", "reward"]]
    models = [MODELS / "rl_single.rlm", MODELS / "rl_pos_neg.rlm", MODELS / "choice_kernel.rlm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = rlc.compare_models(models, long, by="participant", client=client, out=tmp_path, seed=3,
                                        progress=False, chains=2, warmup=200, draws=200)
    assert not comparison.failures
    table = comparison.table
    assert sorted(table["model"]) == ["choice_kernel", "rl_pos_neg", "rl_single"]
    assert list(table["rank"]) == [0, 1, 2]
    assert table["elpd_loo"].is_monotonic_decreasing
    assert table["elpd_diff"].iloc[0] == 0 and (table["elpd_diff"].iloc[1:] < 0).all()
    np.testing.assert_allclose(table["weight"].sum(), 1.0)
    per = comparison.per_dataset
    assert sorted(per["dataset"].unique()) == ["p1", "p2", "p3"]
    # Over all participants, each model's elpd is the sum of its elpds per participant…
    totals = per.groupby("model")["elpd_loo"].sum()
    for _, row in table.iterrows():
        np.testing.assert_allclose(row["elpd_loo"], totals[row["model"]], rtol=1e-12)
    # …and each per-participant elpd is that fit's PSIS-LOO, in fit_many's rows.
    fits = comparison.fits
    for _, row in per.iterrows():
        fit = fits[fits["fit"] == f"{row['model']}/{row['dataset']}"]
        np.testing.assert_allclose(fit["elpd_loo"].iloc[0], row["elpd_loo"], rtol=1e-12)
    # The pointwise values ArviZ would read: the saved log-likelihood.
    tree = rlc.batch.load_draws(tmp_path, "rl_single/p1")
    assert tree["log_likelihood"]["log_lik"].shape == (2, 200, 150)


def test_a_comparison_with_no_data_set_says_why(client, tmp_path):
    """Leave-one-subject-out on models of one subject fails for every fit: the
    comparison's table is empty, and its repr says why, in the package's words."""
    frame = pd.read_csv(DATA / "tutorial.csv").iloc[:60]
    models = [MODELS / "rl_single.rlm", MODELS / "rl_pos_neg.rlm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = rlc.compare_models(models, {"a": frame, "b": frame}, client=client, out=tmp_path, seed=1,
                                        log_likelihood="subject", progress=False, chains=1, warmup=20, draws=20)
    assert comparison.table.empty and len(comparison.failures) == 4
    text = repr(comparison)
    assert "4 fits failed, and their data sets were left out:" in text
    assert 'rl_single/a: error: log_likelihood="subject" needs subjects' in text


def test_a_fit_that_cannot_run_is_reported_not_retried(client, tmp_path):
    frame = pd.read_csv(DATA / "tutorial.csv").iloc[:60]
    bad = frame.copy()
    bad.loc[5, "action"] = 2
    with pytest.warns(UserWarning, match="1 fit"):
        fits = rlc.fit_many(MODEL, {"good": frame, "bad": bad}, client=client, out=tmp_path, seed=1,
                            progress=False, chains=1, warmup=50, draws=20)
    assert list(fits["fit"].unique()) == ["rl_single/good"]
    assert "bad (DataFrame), row 5, column \"action\"" in fits.attrs["failures"]["rl_single/bad"]
    assert fit_folders(tmp_path) == ["good"]
    # A model error is raised at once, before any fit.
    with pytest.raises(rlc.CompileError):
        rlc.fit_many(rlc.Model("param x ~ Normal(0, 1)\ny ~ Normal(x, 1)"), {"good": frame}, client=client,
                     out=tmp_path / "other", progress=False)


def test_errors_in_a_split_frame_name_the_rows_of_the_whole_frame(client, tmp_path):
    """by= fits each participant's rows; a bad cell is named by its label in the
    frame that was split (as `df.loc` takes it), not by its place in the participant's rows."""
    frame = pd.read_csv(DATA / "tutorial.csv").iloc[:60]
    long = pd.concat([frame.assign(participant="p1"), frame.assign(participant="p2")], ignore_index=True)
    long.loc[65, "action"] = 2
    with pytest.warns(UserWarning, match="1 fit"):
        fits = rlc.fit_many(MODEL, long, by="participant", client=client, out=tmp_path, seed=1,
                            progress=False, chains=1, warmup=50, draws=20)
    assert list(fits["fit"].unique()) == ["rl_single/p1"]
    # Row 65 of the frame that was split (the 6th of p2's rows).
    assert 'p2 (DataFrame), row 65, column "action"' in fits.attrs["failures"]["rl_single/p2"]
    # On a labelled frame, its label and its position in that frame, as df.loc and df.iloc take them.
    labelled = long.set_axis([f"r{i}" for i in range(len(long))])
    with pytest.warns(UserWarning, match="1 fit"):
        fits = rlc.fit_many(MODEL, labelled, by="participant", client=client, out=tmp_path / "labelled", seed=1,
                            progress=False, chains=1, warmup=50, draws=20)
    assert "row df.loc['r65'] (df.iloc[65])" in fits.attrs["failures"]["rl_single/p2"]
    # A recovery study's design is named the same way, before any fit.
    design = long[long["participant"] == "p2"]
    with pytest.raises(rlc.DataError, match=r'design \(DataFrame\), row df.loc\[65\] \(df.iloc\[5\]\), column "action"'):
        rlc.recover(MODEL, design, fits=2, client=client, out=tmp_path / "study", progress=False)


def test_rows_with_no_group_are_refused_not_dropped(tmp_path):
    """by= with a missing id: pandas' groupby would drop those rows (a whole
    participant's fit lost without a word); they are refused, named by index."""
    frame = pd.read_csv(DATA / "tutorial.csv").iloc[:60]
    long = pd.concat([frame.assign(participant="p1"), frame.assign(participant=None)], ignore_index=True)
    with pytest.raises(rlc.UsageError, match=r"by='participant': the rows with index 60, 61, 62, 63, 64 \(and 55 more\) have no 'participant'"):
        rlc.fit_many(MODEL, long, by="participant", out=tmp_path, seed=1, progress=False)


def test_batch_settings_too_large_for_their_type(tmp_path):
    frame = pd.read_csv(DATA / "tutorial.csv").iloc[:60]
    with pytest.raises(rlc.UsageError, match=r"seed must be at most 2\*\*64 - 1"):
        rlc.recover(MODEL, frame, fits=2, seed=2**64, out=tmp_path, progress=False)
    with pytest.raises(rlc.UsageError, match=r"thin must be at most 2\*\*64 - 1"):
        rlc.recover(MODEL, frame, fits=2, seed=1, thin=2**64, out=tmp_path, progress=False)
    with pytest.raises(rlc.UsageError, match=r"threads must be at most 2\*\*64 - 1"):
        rlc.fit_many(MODEL, [frame], seed=1, threads=2**64, out=tmp_path, progress=False)
    with pytest.raises(rlc.UsageError, match="chains must be at most 65536"):
        rlc.fit_many(MODEL, [frame], seed=1, chains=2**64, out=tmp_path, progress=False)


SET_MODEL = """size T
data action: int[T] in 0..2
data reward: real[T]
data q0: real[2] = [0.5, 0.5]
param alpha ~ Beta(1, 1)
param beta ~ HalfNormal(10)
scan (q = q0; a in action, r in reward) {
  a ~ Categorical(logits = beta * q)
  set_subtensor(q[a], q[a] + alpha * (r - q[a]))
}
"""


def test_recover_and_fit_many_pass_the_values_set(client, run_cli, tmp_path):
    """`set=` is `rlc recover --set` (the values in every simulated data set and
    its fit), and each fit of fit_many loads its data with them, as
    model.sample(set=) does; a bad one is refused before any fit."""
    path = tmp_path / "rl_set.rlm"
    path.write_text(SET_MODEL)
    options = dict(SETTINGS, set={"q0": [0.9, 0.1]})
    result = recover_as_the_cli(client, run_cli, tmp_path, path, options, "--set", "q0=[0.9, 0.1]")
    plain = rlc.recover(path, DESIGN, fits=2, client=client, out=tmp_path / "plain", seed=SEED, progress=False, **SETTINGS)
    assert not plain.fits["mean"].equals(result.fits["mean"])

    model = rlc.Model.from_file(path)
    data = DATA / "tutorial.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = rlc.fit_many(model, {"t": data}, client=client, out=tmp_path / "many", seed=5, progress=False, **options)
        tree = model.sample(data=data, seed=rlc.batch.fit_seed(5, "rl_set/t"), progress=False, **options)
    expected = rlc.summary(tree)
    pd.testing.assert_frame_equal(fits[expected.columns].reset_index(drop=True), expected, check_exact=True)

    with pytest.raises(rlc.DataError, match="the model declares no data `q1`"):
        rlc.recover(path, DESIGN, fits=2, client=client, out=tmp_path / "bad", seed=SEED, progress=False, set={"q1": 1}, **SETTINGS)


def test_fit_many_keeps_loop_outs_in_the_saved_draws(client, tmp_path):
    """``loop_outs=True``: a fit's outs written in loops are in its saved draws, as
    model.sample gives them, and not in the summary rows; without it the fit's key is
    what it always was."""
    from test_loop_outs import DATA as LOOP_DATA, MODEL as LOOP_MODEL

    model = rlc.Model.from_file(LOOP_MODEL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        fits = rlc.fit_many(model, {"d": LOOP_DATA}, client=client, out=tmp_path, seed=3, progress=False, loop_outs=True, **SETTINGS)
        tree = model.sample(LOOP_DATA, seed=rlc.batch.fit_seed(3, "loop_outs/d"), progress=False, loop_outs=True, **SETTINGS)
    assert set(fits["variable"]) == {"alpha", "beta"}
    saved = rlc.batch.load_draws(tmp_path, "loop_outs/d")
    np.testing.assert_array_equal(saved["posterior"]["pe"].values, tree["posterior"]["pe"].values)
    settings = rlc.batch._sample_settings(dict(SETTINGS), rlc.batch.SAMPLE_DEFAULTS)
    assert "loop_outs" not in settings
