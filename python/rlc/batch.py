"""Many fits at once on Dask: :func:`fit_many` (models × data sets),
:func:`recover` (``rlc recover``, distributed) and :func:`compare_models`
(each model on each data set, then a LOO table).

A batch is a list of fits, each named by a fit id ``<model>/<data set>``.
Each fit runs as one Dask task on a worker process, which compiles each model
once (the compiled model is kept per process, by the hash of its source),
samples, writes the fit to ``out/<fit id>/`` and sends back only its summary
rows, so the client's memory does not grow with the draws. A fit's folder is
written under a temporary name and renamed when complete: it holds
``fit.json`` (seed, settings, hashes of the model and the data, timing,
warnings), ``summary.json`` (the rows), ``loo.json`` (with a log-likelihood)
and ``draws.zarr`` (the run's DataTree, as ``rlc run --output-format zarr``
writes it). Running the same batch again reads the complete fits back and
runs only the missing ones. Each fit's seed is derived from the batch's seed
and the fit id alone (:func:`fit_seed`), so a batch gives the same results
whatever the number of workers and the order in which they run.

The reference is docs/batch.md in the repository.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import socket
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Optional, Union

import numpy as np
import pandas as pd

from . import _rlc
from ._data import DataBytes, data_bytes, positional, set_values
from ._errors import Error, UsageError
from ._model import Model, _check_int, _check_settings, _initial_values, _log_lik_unit
from ._progress import FitProgress
from ._summary import STATISTICS, draws_bytes, element_labels, summary

__all__ = ["fit_many", "recover", "compare_models", "fit_seed", "load_draws", "Recovery", "Comparison"]

# The layout of a fit's folder; a folder of another version is not read back.
FORMAT = 1
# The settings a fit takes from **sample_kwargs, with their defaults.
SAMPLE_DEFAULTS = dict(chains=4, warmup=None, adaptation=None, draws=1000, max_depth=10, adapt_delta=0.8, backend="jit", log_likelihood=False, predict=None, init=None, set=None, loop_outs=False, thin=1)
RECOVER_DEFAULTS = dict(chains=2, warmup=500, adaptation=None, draws=500, max_depth=10, adapt_delta=0.8, init=None, set=None)
# rlc recover's CSV columns.
RECOVER_COLUMNS = [
    "fit", "name", "variable", "kind", "truth", "mean", "sd", "q5", "q25", "q50", "q75", "q95",
    "rank", "ranked_draws", "rhat", "ess_bulk", "divergences", "adaptation",
]
LOO_COLUMNS = ["elpd_loo", "se_elpd_loo", "p_loo", "k_bad"]
# A fit in progress: `.<name>.tmp-<pid>-<random>` beside its final folder.
_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9]+-[0-9a-f]{12}$")


# ---------------------------------------------------------------------------
# Seeds and ids


def fit_seed(batch_seed: int, fit_id: str) -> int:
    """The sampler seed of fit ``fit_id`` in a batch with seed ``batch_seed``
    (:func:`fit_many`, :func:`compare_models`): a hash of the two, below
    2**63, the same on every machine and whatever the order of the fits.
    ``model.sample(data, seed=fit_seed(batch_seed, fit_id), ...)`` repeats
    one fit of a batch on its own, draw for draw."""
    digest = hashlib.blake2b(f"rlc-batch\0{int(batch_seed)}\0{fit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def _safe(name: str) -> str:
    """A name usable as a folder name: letters, digits, ``.``, ``_``, ``-``."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(name))
    if not name or name.startswith("."):
        name = "_" + name
    return name


def _clock_seed() -> int:
    return time.time_ns() % 1_000_000_000


def _sha256(data: Union[bytes, str]) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# What a worker is sent: one job per fit


@dataclass(frozen=True)
class _Job:
    kind: str  # "fit" or "recover"
    fit: str  # the fit id, `model/dataset`, also its folder under `out`
    model: str
    dataset: str
    source: str
    model_name: str
    model_sha256: str
    data_name: str
    data: bytes
    frame: bool
    rows: Any  # a DataFrame's index labels, which its errors name (see _data_payload)
    data_sha256: str
    seed: int  # the sampler's seed
    settings: tuple  # sorted (name, value) pairs
    out: str
    save: Optional[str]
    overwrite: bool
    threads: int
    study_seed: int = 0  # recover: the study's seed and the data set's number
    k: int = 0
    thin: int = 0

    def key(self) -> dict:
        """What a complete fit's fit.json must record for the fit to count
        as this one (everything that changes its draws)."""
        key = {
            "format": FORMAT,
            "kind": self.kind,
            "model_sha256": self.model_sha256,
            "data_sha256": self.data_sha256,
            "seed": self.seed,
            "settings": dict(self.settings),
        }
        if self.kind == "recover":
            key.update(study_seed=self.study_seed, k=self.k, thin=self.thin)
        return _jsonable(key)


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------------------
# The worker side


_LOCK = threading.Lock()
_MODELS: dict = {}
_DESIGNS: dict = {}
_STATS = {"compiles": 0, "sampled": 0, "busy": 0}


def _worker_stats() -> dict:
    """This process's counts: models compiled, fits sampled, fits running
    (for tests: ``client.run(rlc.batch._worker_stats)``)."""
    with _LOCK:
        return dict(_STATS)


def _model(job: _Job) -> Model:
    """The job's model, compiled once per process (by the hash of its source)."""
    key = (job.model_sha256, job.model_name)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = Model(job.source, name=job.model_name)
            model._compile(warn=False)
            _MODELS[key] = model
            _STATS["compiles"] += 1
        return model


def _set_of(job: _Job) -> Optional[list]:
    """The job's ``set=`` values, ``NAME=VALUE`` each, as the loader takes them."""
    given = dict(job.settings).get("set")
    return None if given is None else list(given)


def _design(job: _Job, model: Model):
    key = (job.model_sha256, job.data_sha256, dict(job.settings).get("set"))
    with _LOCK:
        design = _DESIGNS.get(key)
        if design is None:
            design = _rlc.load_design(model._compile(), job.data_name, job.data, job.frame, job.rows, _set_of(job))
            _DESIGNS[key] = design
        return design


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: Path, value: Any) -> None:
    # Python writes floats as the shortest text that reads back the same.
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, allow_nan=True)
        f.write("\n")


def _saved(folder: Path) -> Optional[dict]:
    """A complete fit's result read back, or None if ``folder`` holds none."""
    try:
        info = _read_json(folder / "fit.json")
        rows = _read_json(folder / "summary.json")
    except (OSError, ValueError):
        return None
    loo = None
    if (folder / "loo.json").exists():
        try:
            loo = _read_json(folder / "loo.json")
        except (OSError, ValueError):
            return None
    return {"fit": info.get("fit"), "sampled": False, "info": info, "rows": rows, "loo": loo, "error": None}


def _run_job(job: _Job) -> dict:
    """One fit, on a worker: read it back if it is complete, else sample,
    write its folder atomically and return its summary. The model's, the
    data's and the sampler's errors are returned (a fit that cannot run
    would fail the same way again); anything else raises, so that Dask
    retries the task."""
    with _LOCK:
        _STATS["busy"] += 1
    try:
        final = Path(job.out) / job.fit
        done = _saved(final)
        if done is not None:
            if done["info"].get("key") == job.key():
                return done
            if not job.overwrite:
                return _failure(job, f"{final} holds a fit made with other settings, data or model; pass overwrite=True to replace it")
        # The fit's folder-to-be, made before sampling: it marks a fit in
        # progress (and is left behind if this process is killed).
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        temporary.mkdir()
        try:
            result = _fit(job)
            return _commit(job, final, temporary, result)
        except Error as e:  # the model's, the data's, the sampler's: no retry
            return _failure(job, str(e))
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    finally:
        with _LOCK:
            _STATS["busy"] -= 1


def _failure(job: _Job, message: str) -> dict:
    return {"fit": job.fit, "sampled": False, "info": None, "rows": None, "loo": None, "error": message}


def _fit(job: _Job) -> dict:
    """Samples the job's fit; returns what goes into its folder."""
    model = _model(job)
    settings = dict(job.settings)
    truth = None
    if job.kind == "recover":
        design = _design(job, model)
        data, truth = _rlc.simulate(model._compile(), design, job.study_seed, job.k)
        sample_settings = {**settings, "log_likelihood": False, "predict": None, "backend": "jit"}
    else:
        data = _rlc.load_data(model._compile(), job.data_name, job.data, job.frame, job.rows, _set_of(job))
        sample_settings = settings
    started = time.time()
    tree, messages = model._sample(
        data,
        chains=sample_settings["chains"],
        draws=sample_settings["draws"],
        warmup=sample_settings["warmup"],
        adaptation=sample_settings.get("adaptation"),
        seed=job.seed,
        max_depth=sample_settings["max_depth"],
        adapt_delta=sample_settings["adapt_delta"],
        backend=sample_settings["backend"],
        log_likelihood=sample_settings["log_likelihood"],
        predict=sample_settings["predict"],
        init=_init_argument(sample_settings.get("init")),
        loop_outs=bool(sample_settings.get("loop_outs", False)),
        thin=int(sample_settings.get("thin", 1)),
        progress=False,
        threads=job.threads,
        # A batch's parallelism is its fits: one thread per chain.
        threads_per_chain=1,
    )
    elapsed = time.time() - started
    kinds = dict(model._compile().variables())
    divergences = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    loo = None
    if "log_likelihood" in tree.children:
        data_ll, chains, draws, observations = draws_bytes(tree["log_likelihood"]["log_lik"])
        try:
            loo = dict(_rlc.psis_loo(data_ll, chains, draws, observations))
        except Error as e:
            loo = {"error": str(e)}
    if job.kind == "recover":
        rows = _recovered_rows(job, tree, truth, kinds, settings)
    else:
        frame = summary(tree)
        # The outs written in loops (an element per trial) are in the saved draws only.
        frame = frame[frame["variable"].isin(kinds)].reset_index(drop=True)
        frame.insert(2, "kind", ["param" if kinds.get(v) == "parameter" else "out" for v in frame["variable"]])
        rows = frame.to_dict(orient="records")
    info = {
        "format": FORMAT,
        "fit": job.fit,
        "kind": job.kind,
        "model": job.model,
        "dataset": job.dataset,
        "model_name": job.model_name,
        "data_name": job.data_name,
        "seed": job.seed,
        "settings": settings,
        "key": job.key(),
        "divergences": divergences,
        "draws_per_chain": int(tree["posterior"].sizes.get("draw", 0)),
        "chains": int(tree["posterior"].sizes.get("chain", 0)),
        "sampling_time": elapsed,
        "warnings": [message for _category, message in messages],
        "loo": None if loo is None else {k: v for k, v in loo.items() if k not in ("elpd_loo_i", "p_loo_i", "pareto_k")},
        "rlc_version": _rlc.__version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "draws": None,
    }
    if job.kind == "recover":
        info.update(study_seed=job.study_seed, k=job.k, thin=job.thin)
    return {"info": info, "rows": rows, "loo": loo, "tree": tree}


def _recovered_rows(job: _Job, tree, truth: list, kinds: dict, settings: dict) -> list:
    """rlc recover's rows of this fit, by the driver's code."""
    posterior = tree["posterior"]
    truths = {name: values for name, _shape, values in truth}
    draws = posterior.sizes.get("draw", 0)
    # As rlc recover: about 100 ranked draws over the run's chains.
    thin = _rlc.recover_thinning(job.thin, draws * settings["chains"])
    # The warmup's adaptation, as the run recorded it.
    adaptation = str(posterior.attrs.get("adaptation", tree.attrs.get("adaptation", "")))
    rows = []
    for name in posterior.data_vars:
        array = posterior[name]
        data, chains, n_draws, _elements = draws_bytes(array)
        for r in _rlc.recovered(
            data, chains, n_draws, job.k, str(name), kinds.get(str(name)) == "parameter",
            element_labels(array), list(truths[str(name)]), thin,
        ):
            fit, label, variable, is_parameter, values, rank, ranked, rhat, ess_bulk = r
            row = dict(fit=fit, name=label, variable=variable, kind="param" if is_parameter else "out")
            row.update(zip(RECOVER_COLUMNS[4:12], values))
            row.update(rank=rank, ranked_draws=ranked, rhat=rhat, ess_bulk=ess_bulk, adaptation=adaptation)
            rows.append({c: row[c] for c in RECOVER_COLUMNS if c != "divergences"})
    return rows


def _save_draws(tree, folder: Path, save: Optional[str]) -> Optional[str]:
    if save is None:
        return None
    with warnings.catch_warnings():
        # zarr's notes on format 3 (string arrays, consolidated metadata).
        warnings.simplefilter("ignore")
        if save == "zarr":
            tree.to_zarr(folder / "draws.zarr", mode="w", consolidated=False)
            return "draws.zarr"
        tree.to_netcdf(folder / "draws.nc")
        return "draws.nc"


def _commit(job: _Job, final: Path, temporary: Path, result: dict) -> dict:
    """Writes the fit into its temporary folder and renames it: the final
    folder exists only complete. When another attempt at the same fit got
    there first (a task Dask ran twice), its folder is kept."""
    info = result["info"]
    info["draws"] = _save_draws(result.pop("tree"), temporary, job.save)
    _write_json(temporary / "summary.json", result["rows"])
    if result["loo"] is not None:
        _write_json(temporary / "loo.json", result["loo"])
    _write_json(temporary / "fit.json", info)
    if final.exists() and job.overwrite:
        existing = _saved(final)
        if existing is None or existing["info"].get("key") != job.key():
            shutil.rmtree(final)
    try:
        os.rename(temporary, final)
    except OSError:
        existing = _saved(final)
        if existing is None or existing["info"].get("key") != job.key():
            raise
        return existing
    with _LOCK:
        _STATS["sampled"] += 1
    return {"fit": job.fit, "sampled": True, "info": info, "rows": result["rows"], "loo": result["loo"], "error": None}


# ---------------------------------------------------------------------------
# The client side


def _models(models: Any) -> list:
    """(id, Model) pairs from a Model, a path, or a list or dict of them."""
    def one(m):
        if isinstance(m, Model):
            return m
        if isinstance(m, (str, os.PathLike)):
            return Model.from_file(m)
        raise TypeError(f"a model is an rlc.Model or the path of a .rlm file, not {type(m).__name__}")

    if isinstance(models, (Model, str, os.PathLike)):
        pairs = [(None, one(models))]
    elif isinstance(models, Mapping):
        pairs = [(str(k), one(m)) for k, m in models.items()]
    else:
        pairs = [(None, one(m)) for m in models]
    out, seen = [], set()
    for name, model in pairs:
        ident = _safe(name if name is not None else Path(model.name).stem)
        if ident in seen:
            raise UsageError(f"two models are named {ident!r}: pass them as a dict to name them")
        seen.add(ident)
        out.append((ident, model))
    if not out:
        raise UsageError("no model was given")
    return out


def _is_dataset(value: Any) -> bool:
    return isinstance(value, (pd.DataFrame, str, os.PathLike, Mapping))


def _datasets(datasets: Any, by: Optional[str]) -> tuple:
    """(an iterator of (id, data), the number of data sets or None)."""
    if by is not None:
        if not isinstance(datasets, pd.DataFrame):
            raise TypeError("by= splits a DataFrame: datasets must be one")
        if by not in datasets.columns:
            raise UsageError(f"the DataFrame has no column {by!r} to split by")
        missing = datasets[by].isna()
        if missing.any():
            # pandas' groupby would drop these rows without a word.
            rows = ", ".join(str(r) for r in datasets.index[missing][:5])
            more = f" (and {int(missing.sum()) - 5} more)" if missing.sum() > 5 else ""
            raise UsageError(f"by={by!r}: the rows with index {rows}{more} have no {by!r}, so they belong to no data set")
        groups = datasets.groupby(by, sort=False)
        labels = None if positional(datasets.index) else datasets.index
        # (In the order the groups first appear, as iterating the groupby gives them.)
        parts = (
            (str(key[0] if isinstance(key, tuple) else key), _Part(frame, labels, groups.indices[key]))
            for key, frame in groups
        )
        return parts, groups.ngroups
    if isinstance(datasets, (pd.DataFrame, str, os.PathLike)):
        return iter([(_dataset_id(datasets, 0), datasets)]), 1
    if isinstance(datasets, Mapping):
        if datasets and all(_is_dataset(v) for v in datasets.values()):
            return ((str(k), v) for k, v in datasets.items()), len(datasets)
        return iter([("0000", datasets)]), 1  # one data set given as a dict of arrays
    total = len(datasets) if hasattr(datasets, "__len__") else None

    def items():
        for i, item in enumerate(datasets):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                yield item
            else:
                yield _dataset_id(item, i), item

    return items(), total


def _dataset_id(data: Any, i: int) -> str:
    if isinstance(data, (str, os.PathLike)):
        return Path(os.fspath(data)).stem
    return f"{i:04d}"


class _Part(NamedTuple):
    """The rows of a DataFrame ``by=`` split, at ``positions`` in it (with
    its index ``labels``, None for the default index): errors name them as
    that frame does, ``df.loc[150] (df.iloc[150])``."""

    frame: pd.DataFrame
    labels: Optional[pd.Index]
    positions: Any


def _data_payload(dataset_id: str, data: Any, grouping: Iterable[str] = ()) -> DataBytes:
    """A data set as the worker loads it; errors name the data set (and a
    DataFrame's rows by their labels: those of the frame ``by=`` split).
    ``grouping``: the columns the models group rows by (see data_bytes)."""
    if isinstance(data, _Part):
        given = data_bytes(data.frame, grouping=grouping)
        labels = None if data.labels is None else data.labels[data.positions].tolist()
        given = given._replace(rows=(labels, [int(p) for p in data.positions]))
    else:
        given = data_bytes(data, grouping=grouping)
    if given.frame:
        return given._replace(name=f"{dataset_id} (DataFrame)")
    if given.name == "dict":
        return given._replace(name=f"{dataset_id} (dict)")
    return given


def _sample_settings(sample_kwargs: dict, defaults: dict) -> dict:
    unknown = set(sample_kwargs) - set(defaults)
    if unknown:
        raise TypeError(f"unknown sampling setting(s): {', '.join(sorted(unknown))} (known: {', '.join(defaults)})")
    settings = {**defaults, **sample_kwargs}
    _check_settings(
        chains=settings["chains"], draws=settings["draws"],
        warmup=0 if settings["warmup"] is None else settings["warmup"], max_depth=settings["max_depth"], seed=0, adapt_delta=settings["adapt_delta"],
    )
    if "log_likelihood" in settings:
        settings["log_likelihood"] = _log_lik_unit(settings["log_likelihood"])
    # At their defaults the key is what it was before `loop_outs` and `thin` existed.
    if "loop_outs" in settings and not settings["loop_outs"]:
        del settings["loop_outs"]
    if settings.get("thin") == 1:
        del settings["thin"]
    given = settings.pop("set", None)
    if given is not None:
        # `set=`'s values as the loader takes them (`NAME=VALUE`), sorted: hashable, and
        # without `set` the key is what it was before `set` existed.
        settings["set"] = tuple(sorted(set_values(given)))
    init = settings.pop("init", None)
    if init is not None:
        # A radius, or the given values as sorted (name, values) pairs: a job's settings
        # are a hashable tuple. Without `init` the key is what it was before `init`
        # existed, so earlier batches' folders still count.
        radius, values = _initial_values(init)
        # A value nested as a matrix keeps its shape (its parameter checks it); a number or
        # a flat list is keyed as before shapes were kept.
        settings["init"] = (
            radius
            if values is None
            else tuple(sorted((n, tuple(v)) if len(shape) <= 1 else (n, tuple(v), tuple(shape)) for n, (v, shape) in values.items()))
        )
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in sorted(settings.items())}


def _check_init_names(settings: dict, models) -> None:
    """Initial values that name a parameter a model does not have are refused once,
    before any fit (as ``rlc recover --init`` refuses them)."""
    init = settings.get("init")
    if not isinstance(init, tuple):
        return
    for ident, model in models:
        parameters = [name for name, kind in model._compile().variables() if kind == "parameter"]
        unknown = [name for name, *_ in init if name not in parameters]
        if unknown:
            raise UsageError(
                f"init: model {ident} has no parameter {unknown[0]!r} (its parameters: {', '.join(parameters)})"
            )


def _init_argument(init):
    """A job's ``init`` setting as :meth:`rlc.Model.sample` takes it."""
    if not isinstance(init, tuple):
        return init
    return {name: np.reshape(values, shape[0]) if shape else list(values) for name, values, *shape in init}


def _batch_seed(out: Path, seed: Optional[int]) -> int:
    """The batch's seed: the one given, else the one an earlier run of a
    batch in ``out`` recorded (so that a rerun continues it), else the clock's."""
    record = out / "batch.json"
    if seed is None:
        try:
            seed = int(_read_json(record)["seed"])
        except (OSError, ValueError, KeyError, TypeError):
            seed = _clock_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise UsageError(f"seed must be a non-negative integer, not {seed!r}")
    seed = _check_int("seed", seed)
    _write_json(record, {"seed": int(seed)})
    return int(seed)


def _clean_temporaries(out: Path) -> None:
    """Removes the temporary folders of fits whose worker died."""
    for parent in [out, *(p for p in out.iterdir() if p.is_dir())]:
        for p in parent.iterdir():
            if p.is_dir() and _TEMPORARY.match(p.name):
                shutil.rmtree(p, ignore_errors=True)


def _default_client():
    """A LocalCluster of one single-threaded worker process per core."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise ImportError("rlc's batches run on Dask: pip install 'rlc[batch]' (dask[distributed])") from e
    cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


@dataclass
class _Outcome:
    results: dict = field(default_factory=dict)  # fit id -> result dict
    order: list = field(default_factory=list)  # fit ids in the batch's order
    failures: dict = field(default_factory=dict)  # fit id -> message
    sampled: int = 0
    skipped: int = 0
    interrupted: bool = False
    seed: int = 0
    out: Path = Path(".")


def _run_batch(
    jobs: Iterator[_Job],
    total: Optional[int],
    client,
    out: Path,
    progress: bool,
    retries: int,
    _stop_after: Optional[int] = None,
) -> _Outcome:
    """Runs the jobs on ``client``: complete fits are read back, the others
    submitted, at most a window of them at once (so that a generator of data
    sets is not drawn all at once), and gathered as they finish."""
    outcome = _Outcome(out=out)
    own = None
    if client is None:
        client, own = _default_client()
    from dask.distributed import as_completed

    bar = FitProgress(total, progress)
    window = max(64, 4 * sum(client.nthreads().values()))
    pending = as_completed()
    futures: dict = {}  # key -> (future, job), the fits submitted and not yet handled
    left: list = []  # the jobs submitted and not handled when Ctrl-C came
    seen: set = set()
    handled = 0

    def handle(future) -> None:
        nonlocal handled
        _future, job = futures.pop(future.key)
        fit = job.fit
        try:
            result = future.result()
        except Exception as e:  # retries exhausted, or the worker died too often
            result = {"fit": fit, "sampled": False, "error": f"{type(e).__name__}: {e}"}
        future.release()
        record(result)
        handled += 1
        if _stop_after is not None and handled >= _stop_after:
            raise KeyboardInterrupt

    def record(result: dict, shown: bool = True) -> None:
        fit = result["fit"]
        if result.get("error"):
            outcome.failures[fit] = result["error"]
        else:
            outcome.results[fit] = result
            outcome.sampled += bool(result["sampled"])
            outcome.skipped += not result["sampled"]
        if shown:
            bar.update(skipped=not result.get("error") and not result["sampled"], failed=bool(result.get("error")))

    try:
        try:
            for job in jobs:
                if job.fit in seen:
                    raise UsageError(f"two fits have the id {job.fit!r}: give each data set its own name")
                seen.add(job.fit)
                outcome.order.append(job.fit)
                done = _saved(out / job.fit)
                if done is not None:
                    if done["info"].get("key") == job.key():
                        record(done)
                        continue
                    if not job.overwrite:
                        raise UsageError(
                            f"{out / job.fit} holds a fit made with other settings, data or model "
                            "(or another seed); pass overwrite=True to replace it, or another out="
                        )
                future = client.submit(_run_job, job, key=f"rlc-{job.fit}-{uuid.uuid4().hex[:8]}", pure=False, retries=retries)
                futures[future.key] = (future, job)
                pending.add(future)
                while len(futures) >= window:
                    handle(next(pending))
            while futures:
                handle(next(pending))
        except KeyboardInterrupt:
            outcome.interrupted = True
            left = [job for _f, job in futures.values()]
            if futures:
                client.cancel([f for f, _job in futures.values()])
        except BaseException:
            if futures:
                client.cancel([f for f, _job in futures.values()])
            raise
    finally:
        bar.close()
        if own is not None:
            client.close()
            own.close()
    # A fit that was running when Ctrl-C came cannot be cancelled and may
    # have finished since (its folder written whole, or not at all): it
    # counts, and is returned, as the fits before it.
    for job in left:
        done = _saved(out / job.fit)
        if done is not None and done["info"].get("key") == job.key():
            record({**done, "sampled": True}, shown=False)
    if not outcome.interrupted:
        _clean_temporaries(out)
    else:
        warnings.warn(
            f"the batch was interrupted: {len(outcome.results)} fits are complete in {out}; "
            "run the same call again to do the rest",
            UserWarning,
            stacklevel=3,
        )
    if outcome.failures:
        first = next(iter(outcome.failures.items()))
        warnings.warn(
            f"{len(outcome.failures)} fit(s) failed (rerun the batch to retry them); {first[0]}: {first[1]}",
            UserWarning,
            stacklevel=3,
        )
    return outcome


def _prepare(out: Union[str, os.PathLike], seed: Optional[int]) -> tuple:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed = _batch_seed(out, seed)
    _clean_temporaries(out)
    return out, seed


def _fit_jobs(models, datasets, by, out: Path, seed: int, settings: dict, save, overwrite, threads) -> tuple:
    models = _models(models)
    for _ident, model in models:
        model._compile()  # a model error raises here, once, before any task
    _check_init_names(settings, models)
    pairs, count = _datasets(datasets, by)
    frozen = tuple(sorted(settings.items()))
    grouping = {column for _ident, model in models for column in model._compile().grouping_columns()}

    def jobs():
        seen = set()
        for dataset_id, data in pairs:
            dataset = _safe(dataset_id)
            if dataset in seen:
                raise UsageError(f"two data sets are named {dataset!r}")
            seen.add(dataset)
            name, content, frame, rows = _data_payload(dataset, data, grouping)
            data_sha = _sha256(content)
            for ident, model in models:
                fit = f"{ident}/{dataset}"
                yield _Job(
                    kind="fit", fit=fit, model=ident, dataset=dataset, source=model.source,
                    model_name=model.name, model_sha256=_sha256(model.source), data_name=name,
                    data=content, frame=frame, rows=rows, data_sha256=data_sha, seed=fit_seed(seed, fit),
                    settings=frozen, out=str(out), save=save, overwrite=overwrite, threads=threads,
                )

    total = None if count is None else count * len(models)
    return jobs(), total, models


def _check_save(save: Any) -> Optional[str]:
    if save in (None, False):
        return None
    if save is True:
        return "zarr"
    if save not in ("zarr", "netcdf"):
        raise UsageError(f'save must be "zarr", "netcdf" or None, not {save!r}')
    return save


def _summary_frame(outcome: _Outcome) -> pd.DataFrame:
    """fit_many's result: one row per fit × scalar, in the batch's order."""
    frames = []
    for fit in outcome.order:
        result = outcome.results.get(fit)
        if result is None:
            continue
        info = result["info"]
        frame = pd.DataFrame(result["rows"])
        frame.insert(0, "fit", fit)
        frame.insert(1, "model", info["model"])
        frame.insert(2, "dataset", info["dataset"])
        frame["divergences"] = info["divergences"]
        frame["seed"] = info["seed"]
        loo = result.get("loo")
        if info["settings"].get("log_likelihood"):
            frame["elpd_loo"] = (loo or {}).get("elpd_loo", math.nan)
            frame["se_elpd_loo"] = (loo or {}).get("se_elpd_loo", math.nan)
            frame["p_loo"] = (loo or {}).get("p_loo", math.nan)
            frame["k_bad"] = (loo or {}).get("k_bad", 0) + (loo or {}).get("k_very_bad", 0)
        frames.append(frame)
    columns = ["fit", "model", "dataset", "parameter", "variable", "kind", *STATISTICS, "divergences", "seed"]
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    result.attrs.update(
        out=str(outcome.out), seed=outcome.seed, sampled=outcome.sampled, skipped=outcome.skipped,
        failures=dict(outcome.failures), interrupted=outcome.interrupted,
    )
    return result


def fit_many(
    models: Any,
    datasets: Any,
    client=None,
    out: Union[str, os.PathLike] = "results",
    seed: Optional[int] = None,
    *,
    by: Optional[str] = None,
    save: Optional[str] = "zarr",
    progress: bool = True,
    retries: int = 2,
    overwrite: bool = False,
    threads: int = 1,
    _stop_after: Optional[int] = None,
    **sample_kwargs,
) -> pd.DataFrame:
    """Fits each model to each data set on a Dask cluster and returns the
    posterior summaries, one row per fit × scalar.

    ``models`` is an :class:`rlc.Model`, the path of a ``.rlm`` file, or a
    list or dict (by name) of them. ``datasets`` is a collection of data
    sets, each what :meth:`rlc.Model.sample` takes (a DataFrame, a path, a
    dict of arrays): a list, a dict by name, or any iterable, such as a
    generator (yielding data sets or ``(name, data)`` pairs), which is drawn
    as the fits go; or one DataFrame, with ``by="subjID"`` to fit each
    participant's rows on their own. Fit ids are ``<model>/<data set>``: the
    model's name (dict key, else its file's stem), the data set's (dict key,
    file stem, the value of ``by``, else its position ``0000``, ``0001``…).

    ``client`` is a ``dask.distributed.Client``; None starts a
    ``LocalCluster`` with one single-threaded worker process per core for
    the call. Each fit's chains run one after another on the worker's thread
    (``threads``: more threads per fit). ``**sample_kwargs`` are
    :meth:`rlc.Model.sample`'s settings (``chains``, ``warmup``, ``draws``,
    ``max_depth``, ``adapt_delta``, ``backend``, ``log_likelihood``,
    ``predict``, ``init``: the same initial values for every fit; ``set``:
    the same values set apart from every data set, as for
    :meth:`rlc.Model.sample`; ``loop_outs``: each fit's outs written in loops, such as
    hBayesDM's model regressors, in its saved draws, not in the summary rows); with
    ``log_likelihood`` each fit's PSIS-LOO is computed on
    its worker (``elpd_loo``, ``se_elpd_loo``, ``p_loo`` and ``k_bad``, the
    observations with a Pareto k above the threshold).

    Each fit is written to ``out/<fit id>/`` (its draws as ``draws.zarr``,
    or ``draws.nc`` with ``save="netcdf"``, none with ``save=None``),
    atomically; a rerun reads complete fits back and runs only the missing
    ones (a folder made with other settings raises :class:`rlc.UsageError`
    unless ``overwrite=True``). ``seed`` is the batch's (None: the one an
    earlier run recorded in ``out/batch.json``, else the clock's); fit
    ``f``'s sampler seed is :func:`fit_seed` ``(seed, f)``. A task that
    raises is retried ``retries`` times; a task whose worker dies is run
    again elsewhere by Dask. Fits that fail (bad data, no chain could run)
    are left out with a warning, their errors in ``.attrs["failures"]``.

    The result has the columns ``fit``, ``model``, ``dataset``,
    ``parameter``, ``variable``, ``kind`` (``param`` or ``out``), the
    summary of :func:`rlc.summary` (``mean`` … ``rhat``), the fit's
    ``divergences`` and ``seed`` (and its LOO columns); ``.attrs`` holds
    ``out``, ``seed``, ``sampled`` (fits sampled by this call), ``skipped``
    (read back), ``failures`` and ``interrupted``. Ctrl-C stops submitting,
    cancels the fits not yet started and returns those done, with a warning.
    """
    return _summary_frame(
        _fit_many(models, datasets, client, out, seed, by, save, progress, retries, overwrite, threads, _stop_after, sample_kwargs)
    )


def _fit_many(models, datasets, client, out, seed, by, save, progress, retries, overwrite, threads, _stop_after, sample_kwargs) -> _Outcome:
    out, seed = _prepare(out, seed)
    settings = _sample_settings(sample_kwargs, SAMPLE_DEFAULTS)
    jobs, total, _models_ = _fit_jobs(models, datasets, by, out, seed, settings, _check_save(save), overwrite, _check_int("threads", threads))
    outcome = _run_batch(jobs, total, client, out, progress, retries, _stop_after)
    outcome.seed = seed
    return outcome


def load_draws(out: Union[str, os.PathLike], fit: str):
    """The draws of fit ``fit`` (its id, ``model/dataset``) of a batch
    written to ``out``, as the DataTree :meth:`rlc.Model.sample` returned."""
    import xarray as xr

    folder = Path(out) / fit
    info = _read_json(folder / "fit.json")
    if not info.get("draws"):
        raise UsageError(f"the draws of {fit} were not saved (save=None)")
    path = folder / info["draws"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".zarr":
            return xr.open_datatree(path, engine="zarr", consolidated=False).load()
        return xr.open_datatree(path).load()


# ---------------------------------------------------------------------------
# Recovery


@dataclass
class Recovery:
    """A recovery study's results (:func:`recover`), as ``rlc recover``
    reports them: ``fits``, every fit's truth and posterior summary per
    scalar (the CSV's columns); ``variables``, the table per variable
    (correlation of truth and posterior mean over all fits, and
    ``correlation_within_fits``, the median over fits of the correlation
    across a subject-level variable's elements within a fit, how well the
    fits tell subjects apart; coverage of the central 50%
    and 90% intervals, the rank uniformity test of simulation-based
    calibration: chi-square p-value, z of the mean and of the variance of
    the ranks, the rank histogram, and a ``warning`` where the ranks are not
    uniform); the total of ``divergences``, the ``failures`` by fit, the
    study's ``seed``, and how many fits were ``sampled`` by this call and
    ``skipped`` (complete from an earlier call)."""

    fits: pd.DataFrame
    variables: pd.DataFrame
    divergences: int
    failures: dict
    seed: int
    sampled: int
    skipped: int
    interrupted: bool
    out: Path

    def to_csv(self, path: Union[str, os.PathLike]) -> None:
        """Writes ``fits`` as ``rlc recover --output`` does."""
        self.fits[RECOVER_COLUMNS].to_csv(path, index=False)

    def __repr__(self) -> str:
        n = self.fits["fit"].nunique() if len(self.fits) else 0
        lines = [
            f"rlc.Recovery: {n} fits (seed {self.seed}; {self.sampled} sampled now, {self.skipped} read back from {self.out}), "
            f"{self.divergences} divergent transitions, {len(self.failures)} failed",
            self.variables.drop(columns=["rank_bins", "warning"], errors="ignore").to_string(index=False),
        ]
        for _, v in self.variables.iterrows():
            if v.get("warning"):
                lines.append(f"warning: {v['variable']}: {v['warning']}")
        return "\n".join(lines)


def _recover_jobs(model, design, fits, out: Path, seed: int, thin, save, overwrite, threads, sample_kwargs) -> Iterator[_Job]:
    """The jobs of a recovery study: fit k simulates data set k and fits it."""
    settings = _sample_settings(sample_kwargs, RECOVER_DEFAULTS)
    settings.update(backend="jit", log_likelihood=None, predict=None)
    models = _models(model)
    if len(models) != 1:
        raise UsageError("recover studies one model")
    [(ident, model)] = models
    compiled = model._compile()
    _check_init_names(settings, models)
    name, content, frame, rows = _data_payload("design", design, compiled.grouping_columns())
    # Fail here, once, on a model that cannot run forward or a design that
    # does not fit (as rlc recover does before its fits).
    given = settings.get("set")
    _rlc.simulate(compiled, _rlc.load_design(compiled, name, content, frame, rows, None if given is None else list(given)), seed, 0)
    frozen = tuple(sorted(settings.items()))
    model_sha, data_sha = _sha256(model.source), _sha256(content)

    def jobs():
        for k in range(int(fits)):
            yield _Job(
                kind="recover", fit=f"{ident}/sim-{k:05d}", model=ident, dataset=f"sim-{k:05d}",
                source=model.source, model_name=model.name, model_sha256=model_sha, data_name=name,
                data=content, frame=frame, rows=rows, data_sha256=data_sha, seed=_rlc.recover_fit_seed(seed, k),
                settings=frozen, out=str(out), save=_check_save(save), overwrite=overwrite,
                threads=int(threads), study_seed=seed, k=k, thin=int(thin),
            )

    return jobs()


def recover(
    model: Any,
    design: Any,
    fits: int = 100,
    client=None,
    out: Union[str, os.PathLike] = "recover",
    seed: Optional[int] = None,
    *,
    thin: int = 0,
    save: Optional[str] = "zarr",
    progress: bool = True,
    retries: int = 2,
    overwrite: bool = False,
    threads: int = 1,
    _stop_after: Optional[int] = None,
    **sample_kwargs,
) -> Recovery:
    """``rlc recover`` on a Dask cluster: ``fits`` data sets simulated from
    the priors on the ``design`` (a DataFrame, dict or path, whose observed
    variables may be absent), each fitted, the truths compared with the
    posteriors. Data set ``k`` and its fit have the seeds ``rlc recover
    --seed`` gives them (stream ``k`` of ``seed`` for the simulation, ``seed
    + k + 1`` for the sampler), so the rows equal ``rlc recover``'s CSV for
    the same settings, whatever the cluster. ``**sample_kwargs`` are
    ``chains`` (2), ``warmup`` (500), ``draws`` (500), ``max_depth``,
    ``adapt_delta``, ``adaptation`` (as ``--adaptation``; the rows' last
    column records it), ``init`` (as ``--init``: a radius, or values
    given to every fit's chains) and ``set`` (as ``--set``: values set apart
    from the design, in every simulated data set and its fit); ``thin`` as ``--thin``. The statistics are the driver's
    (the code ``rlc recover`` runs). Fit ``k`` is written to
    ``out/<model>/sim-<k>/`` (the simulated data are the draws'
    ``observed_data``, the design their ``constant_data``); ``client``, ``out``, ``save``, ``retries``,
    ``overwrite``, ``progress`` and ``threads`` are as for :func:`fit_many`.
    Returns a :class:`Recovery`."""
    if isinstance(fits, bool) or not isinstance(fits, (int, np.integer)) or fits < 1:
        raise UsageError(f"fits must be at least 1, not {fits!r}")
    fits, thin, threads = _check_int("fits", fits, 1), _check_int("thin", thin), _check_int("threads", threads)
    out, seed = _prepare(out, seed)
    jobs = _recover_jobs(model, design, fits, out, seed, thin, save, overwrite, threads, sample_kwargs)
    outcome = _run_batch(jobs, int(fits), client, out, progress, retries, _stop_after)
    rows, divergences = [], 0
    for fit in outcome.order:
        result = outcome.results.get(fit)
        if result is not None:
            # The fit's divergent transitions on each of its rows, as rlc recover's CSV has them.
            fit_divergences = int(result["info"]["divergences"])
            rows.extend({**row, "divergences": fit_divergences} for row in result["rows"])
            divergences += fit_divergences
    table = pd.DataFrame(rows, columns=RECOVER_COLUMNS)
    variables = _rlc.variable_recovery(
        [
            (
                r["fit"], r["name"], r["variable"], r["kind"] == "param", [r[c] for c in RECOVER_COLUMNS[4:12]],
                r["rank"], r["ranked_draws"], r["rhat"], r["ess_bulk"],
            )
            for r in rows
        ],
        _models(model)[0][1]._compile().unit_variables(),
    )
    failures = {int(f.rsplit("-", 1)[1]): m for f, m in outcome.failures.items()}
    return Recovery(
        fits=table,
        variables=pd.DataFrame(variables, columns=[
            "variable", "kind", "n", "correlation", "correlation_within_fits", "coverage_50", "coverage_90",
            "rank_chi2_p", "rank_z_mean", "rank_z_variance", "rank_bins", "warning",
        ]).astype({"correlation_within_fits": float}),
        divergences=divergences,
        failures=failures,
        seed=seed,
        sampled=outcome.sampled,
        skipped=outcome.skipped,
        interrupted=outcome.interrupted,
        out=out,
    )


# ---------------------------------------------------------------------------
# Model comparison


@dataclass
class Comparison:
    """:func:`compare_models`'s results: ``table``, the LOO comparison over
    all data sets (each model's pointwise elpd over every data set's
    observations, as ``rlc compare`` ranks runs: ``rank``, ``elpd_loo``,
    ``se``, ``p_loo``, ``elpd_diff`` and ``se_diff`` from the best, the
    stacking ``weight``, ``looic``); ``per_dataset``, the same table for each
    data set; ``fits``, :func:`fit_many`'s rows; ``failures`` by fit id."""

    table: pd.DataFrame
    per_dataset: pd.DataFrame
    fits: pd.DataFrame
    failures: dict

    def __repr__(self) -> str:
        text = "rlc.Comparison over {} data sets:\n{}".format(
            self.per_dataset["dataset"].nunique() if len(self.per_dataset) else 0,
            self.table.to_string(index=False),
        )
        if self.failures:
            # An empty table says nothing of why: the failures do.
            shown = list(self.failures.items())[:_FAILURES_SHOWN]
            text += f"\n{len(self.failures)} fits failed, and their data sets were left out:"
            text += "".join(f"\n  {fit}: {message}" for fit, message in shown)
            if len(self.failures) > len(shown):
                text += f"\n  … and {len(self.failures) - len(shown)} more (.failures has them all)"
        return text


# How many failures a Comparison's repr lists.
_FAILURES_SHOWN = 5


def compare_models(
    models: Any,
    datasets: Any,
    client=None,
    out: Union[str, os.PathLike] = "compare",
    seed: Optional[int] = None,
    *,
    by: Optional[str] = None,
    log_likelihood: Union[bool, str] = "observation",
    save: Optional[str] = "zarr",
    progress: bool = True,
    retries: int = 2,
    overwrite: bool = False,
    threads: int = 1,
    **sample_kwargs,
) -> Comparison:
    """Fits every model to every data set (:func:`fit_many`, with each
    fit's pointwise log-likelihood and PSIS-LOO computed on its worker), then
    compares the models by PSIS-LOO as ``rlc compare`` does, per data set
    and over all of them (the pointwise elpd of every data set together), with
    stacking weights. ``datasets`` and ``by`` are as for :func:`fit_many`:
    one DataFrame with ``by="subjID"`` fits each participant on their own;
    one data set of all participants with ``log_likelihood="subject"``
    compares the models by leave-one-subject-out. Only data sets on which
    every model's fit succeeded enter the table. Returns a
    :class:`Comparison`."""
    if not log_likelihood:
        raise UsageError("compare_models needs the log-likelihood: log_likelihood=\"observation\" or \"subject\"")
    outcome = _fit_many(
        models, datasets, client, out, seed, by, save, progress, retries, overwrite, threads, None,
        {**sample_kwargs, "log_likelihood": log_likelihood},
    )
    model_ids = [ident for ident, _ in _models(models)]
    per_dataset, pointwise = [], {m: ([], []) for m in model_ids}
    failures = dict(outcome.failures)
    datasets_in_order = list(dict.fromkeys(fit.split("/", 1)[1] for fit in outcome.order))
    for dataset in datasets_in_order:
        loos = {}
        for m in model_ids:
            fit = f"{m}/{dataset}"
            result = outcome.results.get(fit)
            loo = None if result is None else result.get("loo")
            if loo is None or "elpd_loo_i" not in loo:
                if result is not None:
                    failures.setdefault(fit, (loo or {}).get("error", "no PSIS-LOO"))
                break
            loos[m] = loo
        if len(loos) != len(model_ids):
            continue
        names = list(loos)
        for row in _rlc.compare(names, [loos[m]["elpd_loo_i"] for m in names], [loos[m]["p_loo_i"] for m in names]):
            per_dataset.append({"dataset": dataset, **row})
        for m in names:
            pointwise[m][0].extend(loos[m]["elpd_loo_i"])
            pointwise[m][1].extend(loos[m]["p_loo_i"])
    columns = ["model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "se_diff", "weight", "looic", "se_looic"]
    if per_dataset:
        table = pd.DataFrame(_rlc.compare(model_ids, [pointwise[m][0] for m in model_ids], [pointwise[m][1] for m in model_ids]))
    else:
        table = pd.DataFrame(columns=columns)
    return Comparison(
        table=table[columns],
        per_dataset=pd.DataFrame(per_dataset, columns=["dataset", *columns]),
        fits=_summary_frame(outcome),
        failures=failures,
    )
