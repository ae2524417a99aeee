"""The pointwise log-likelihood and the posterior predictive draws: the CLI's
`--log-lik` and `--predict` columns, as ArviZ's `log_likelihood` and
`posterior_predictive` groups, without changing the posterior draws."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import rlc
from conftest import DATA, MODELS, ROOT, cmdstan_array, read_cmdstan

RUN = dict(chains=2, warmup=150, draws=40, seed=9)


def sample(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        return rlc.Model.from_file(MODELS / "rl_hier.rlm").sample(
            data=pd.read_csv(DATA / "rl_hier.csv"), progress=False, **{**RUN, **options}
        )


@pytest.fixture(scope="module")
def with_extras():
    return sample(log_likelihood=True, predict="one-step")


def test_groups_and_dims(with_extras):
    tree = with_extras
    assert list(tree.children) == ["posterior", "posterior_predictive", "log_likelihood", "sample_stats", "observed_data", "constant_data"]
    choice = tree["posterior_predictive"]["choice"]
    assert choice.dims == ("chain", "draw", "N", "T")
    assert list(choice["N"].values) == list(tree["observed_data"]["N"].values)
    assert tree["log_likelihood"]["log_lik"].dims[:2] == ("chain", "draw")
    # Predicted choices are choices: 1 or 2 where the subject made one.
    observed = tree["observed_data"]["choice"].values
    made = ~np.isnan(observed.astype(float))
    assert set(np.unique(choice.values[:, :, made])) <= {1.0, 2.0}


def test_extras_leave_the_posterior_unchanged(with_extras):
    plain = sample()
    assert "log_likelihood" not in plain.children
    np.testing.assert_array_equal(plain["posterior"]["A"].values, with_extras["posterior"]["A"].values)


def test_extras_are_the_clis(with_extras, run_cli, tmp_path):
    run_cli(
        "run", MODELS / "rl_hier.rlm", "--data", DATA / "rl_hier.csv", "--output-dir", tmp_path, "--quiet",
        "--chains", RUN["chains"], "--warmup", RUN["warmup"], "--draws", RUN["draws"], "--seed", RUN["seed"],
        "--log-lik", "--predict",
    )
    chains = read_cmdstan(tmp_path, "rl_hier")
    log_lik = with_extras["log_likelihood"]["log_lik"]
    np.testing.assert_array_equal(log_lik.values, cmdstan_array(chains, "log_lik", log_lik.shape[2:]))
    choice = with_extras["posterior_predictive"]["choice"]
    np.testing.assert_array_equal(choice.values, cmdstan_array(chains, "choice_rep", choice.shape[2:]))


def test_subject_log_likelihood_is_per_subject():
    tree = sample(log_likelihood="subject", draws=5)
    log_lik = tree["log_likelihood"]["log_lik"]
    assert log_lik.shape[2] == tree["posterior"].sizes["N"]
    subjects = [str(s) for s in tree["observed_data"]["N"].values]
    assert list(log_lik["log_lik_dim_0"].values) == [f"subject {s}" for s in subjects]


def test_each_log_likelihood_column_is_labelled_by_the_cell_it_scores(with_extras):
    # The data cell, as the model indexes it (the subject by its label, the trial
    # from 0), so that az.loo(pointwise=True)'s Pareto k can be traced to a trial.
    labels = list(with_extras["log_likelihood"]["log_lik"]["log_lik_dim_0"].values)
    observed = with_extras["observed_data"]["choice"]
    subjects = [str(s) for s in observed["N"].values]
    made = ~np.isnan(observed.values.astype(float))
    expected = [f"choice[{subjects[n]}, {t}]" for n in range(made.shape[0]) for t in range(made.shape[1]) if made[n, t]]
    assert labels == expected


def test_arviz_loo_reads_the_log_likelihood():
    az = pytest.importorskip("arviz")
    # Per subject: every column varies across draws. (Per observation, each
    # subject's first choice scores log(1/2) whatever the parameters, a
    # constant column that ArviZ 1.x's Pareto smoothing refuses.)
    tree = sample(log_likelihood="subject")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(rlc.to_inference_data(tree))
    # ArviZ 0.x's result is a Series, 1.x's an object with `elpd`.
    elpd = loo.elpd if hasattr(loo, "elpd") else loo["elpd_loo"]
    assert np.isfinite(float(elpd))


def test_arviz_plot_ppc_pairs_the_observed_choices_with_their_predictions(with_extras):
    # observed_data holds only what the model observes (the choices; the
    # outcomes are constant_data), so ArviZ's PPC plot needs no var_names.
    az = pytest.importorskip("arviz")
    pytest.importorskip("matplotlib")
    assert list(with_extras["observed_data"].data_vars) == list(with_extras["posterior_predictive"].data_vars)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        axes = az.plot_ppc(rlc.to_inference_data(with_extras), num_pp_samples=20)
    assert axes is not None


def test_bad_extras_are_value_errors():
    with pytest.raises(ValueError, match="log_likelihood must be"):
        sample(log_likelihood="trial")
    with pytest.raises(ValueError, match="predict must be"):
        sample(predict="yes")


def test_an_observation_computed_from_data_has_a_log_likelihood():
    # A bet observed as a rank computed from the stake (hBayesDM's cgt_cm): it cannot
    # be simulated, but each bet is scored at its `stake` cell, so ArviZ's LOO runs.
    import arviz as az

    data = pd.DataFrame({"stake": [0, 2, 5, 3, 4, 1], "descending": [0, 1, 0, 1, 0, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rlc.ConvergenceWarning)
        model = rlc.Model.from_file(ROOT / "tests" / "check" / "ok" / "ranked_bets.rlm")
        tree = model.sample(data=data, log_likelihood=True, progress=False, **RUN)
    labels = list(tree["log_likelihood"]["log_lik"]["log_lik_dim_0"].values)
    assert labels == [f"stake[{t}]" for t in range(6)]
    assert list(tree["observed_data"].data_vars) == ["stake"]
    gamma = tree["posterior"]["gamma"].values
    ranks = np.array([0, 1, 3, 1, 2, 0])
    k = np.where(data["descending"] == 1, 3 - ranks, ranks)
    logits = gamma[..., None] * np.array([0.0, 0.5, 1.0, 1.5])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(tree["log_likelihood"]["log_lik"].values, log_p[..., k], rtol=1e-10, atol=1e-12)
    assert np.isfinite(az.loo(rlc.to_inference_data(tree)).elpd_loo)
