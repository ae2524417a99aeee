"""``rlc.Model``: a ``.rlm`` model compiled to native code, sampled with NUTS
on a Rust thread while this thread draws the progress bar and listens for
Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time
import warnings
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import pandas as pd
import xarray as xr

from . import _rlc
from ._data import set_values, data_bytes, positional
from ._errors import ConvergenceWarning, DataError, Diagnostic, Error, UsageError
from ._progress import Progress
from ._tree import build_tree

# How often the calling thread looks at the run: progress, Ctrl-C, the end.
_POLL_SECONDS = 0.1


class Simulation(NamedTuple):
    """One data set :meth:`Model.simulate` drew.

    ``data`` is the design with every observed variable replaced by its
    draws, in the design's own form: a DataFrame for a DataFrame or a CSV/TSV
    file (every row and column kept, a skipped trial's cell missing), a dict
    of numpy arrays and sizes for a dict or JSON file. :meth:`Model.sample`
    takes it as it is. ``truth`` holds the values the data were drawn with,
    by name: each parameter (given or drawn from its prior) and ``out``
    value, a numpy array shaped as declared. ``seed`` and ``stream`` repeat
    it: ``rlc simulate --seed SEED --n K`` writes data set ``stream + 1``
    from the same numbers."""

    data: Any
    truth: dict
    seed: int
    stream: int


class Model:
    """A model written in the ``.rlm`` language.

    ``rlc.Model(source, name="model.rlm")`` takes the model's text (``name``
    is how diagnostics name it); :meth:`from_file` reads a file. The model is
    compiled (checked, lowered, differentiated) on first use and the result
    kept: :meth:`check`, :meth:`sample`, :meth:`logp` and :meth:`grad` raise
    :class:`rlc.CompileError` when it does not compile.
    """

    def __init__(self, source: str, name: str = "model.rlm"):
        if not isinstance(source, str):
            raise TypeError(f"source must be the model's text (str), not {type(source).__name__}")
        self.source = source
        self.name = name
        self._compiled = None
        # The run in progress, for tests that interrupt it.
        self._run = None

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> "Model":
        """Reads a ``.rlm`` file (UTF-8); diagnostics name it by ``path``. A
        file that is not UTF-8 text raises :class:`rlc.UsageError`."""
        path = os.fspath(path)
        with open(path, "rb") as f:
            content = f.read()
        try:
            source = content.decode("utf-8")
        except UnicodeDecodeError as e:
            # The CLI's words (`rlc check`, exit 2).
            raise UsageError(
                f"error: the model file {path} is not UTF-8 text (invalid byte at offset {e.start})"
            ) from None
        return cls(source, name=str(path))

    def __repr__(self) -> str:
        return f"rlc.Model(name={self.name!r})"

    def __getstate__(self) -> dict:
        # The compiled model is native code in this process: a copy (sent to
        # another process, as Dask does) compiles again on first use.
        return {"source": self.source, "name": self.name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["source"], state["name"])

    def _compile(self, warn: bool = True):
        if self._compiled is None:
            self._compiled = _rlc.compile(self.source, self.name)
            rendered = self._compiled.render_warnings()
            if warn and rendered:
                warnings.warn(f"{self.name} compiled with warnings:\n{rendered}", UserWarning, stacklevel=3)
        return self._compiled

    def check(self) -> list:
        """Compiles the model and returns its warnings as a list of
        :class:`rlc.Diagnostic` (empty for a clean model). Raises
        :class:`rlc.CompileError`, whose ``str()`` is the report ``rlc check``
        prints, when the model has errors."""
        compiled = self._compile(warn=False)
        return [Diagnostic._from_dict(d) for d in compiled.warnings()]

    @property
    def variables(self) -> list:
        """The names of the parameters and ``out`` values, in declaration
        order: the variables of the ``posterior`` group."""
        return [name for name, _kind in self._compile().variables()]

    def _load(self, data: Any, set: Optional[Mapping] = None):
        compiled = self._compile()
        if isinstance(data, _rlc.LoadedData):
            return data
        given = data_bytes(data, declared=_declared(compiled), grouping=compiled.grouping_columns())
        try:
            loaded = _rlc.load_data(compiled, given.name, given.content, given.frame, given.rows, set_values(set))
        except DataError as error:
            if data is None:
                raise _no_data_error(self.name, compiled, error) from None
            raise
        # The loader's notes, which `rlc run` prints: to the caller of sample/logp/….
        for note in loaded.notes:
            warnings.warn(note, UserWarning, stacklevel=_caller_stacklevel())
        return loaded

    def sample(
        self,
        data: Any = None,
        chains: int = 4,
        draws: int = 1000,
        warmup: Optional[int] = None,
        seed: Optional[int] = None,
        max_depth: int = 10,
        adapt_delta: float = 0.8,
        progress: bool = True,
        backend: str = "jit",
        log_likelihood: Union[bool, str] = False,
        predict: Optional[str] = None,
        adaptation: Optional[str] = None,
        threads_per_chain: int = 0,
        init: Union[float, Mapping, None] = None,
        set: Optional[Mapping[str, Any]] = None,
        loop_outs: bool = False,
        thin: int = 1,
        # A test hook: stop once this many draws (all chains) are made, as
        # Ctrl-C would, without depending on timing.
        _stop_after: Optional[int] = None,
    ) -> xr.DataTree:
        """Samples the posterior with NUTS (Stan's algorithm and warmup) and
        returns the run as an ``xarray.DataTree``.

        ``data`` is a pandas DataFrame in long format (one row per trial,
        grouped as the model's ``size N by COL`` says), a dict of arrays,
        lists and scalars (Stan JSON's layout; NaN or None for a missing cell),
        or the path of a CSV, TSV or JSON data file (``None``: no data, for a
        model that declares none; a model that declares data raises
        :class:`rlc.DataError`). For a DataFrame, errors name the rows by
        their index labels, as ``df.loc`` takes them. It is loaded and checked exactly as
        ``rlc run`` loads a file; errors raise :class:`rlc.DataError`.
        Columns and keys that no declaration reads are ignored.

        ``set`` gives data of constant dimensions their values apart from
        ``data``, as ``rlc run --set`` does and hBayesDM's function arguments
        (``choiceRT_ddm(data, RTbound = 0.2)``): ``set={"RTbound": 0.2,
        "mu0": [0.3, 1.0]}``, each checked against its declaration as a JSON
        key is, and used over the data's column or key of that name (a
        ``UserWarning`` says so). A bad one raises :class:`rlc.DataError`.

        The settings are ``rlc run``'s flags, with the same defaults: the
        number of ``chains`` (run in parallel), ``warmup`` iterations and
        ``draws`` per chain, ``max_depth`` and ``adapt_delta``, and the
        warmup's ``adaptation``: ``"stan"`` (Stan's windowed adaptation; its
        default warmup is 1000), ``"fisher"`` (nutpie's gradient-based mass
        matrix; default warmup 400) or ``"fisher-lowrank"`` (the same with
        nutpie's low-rank correction, for correlated posteriors; default
        warmup 400); ``None`` takes ``rlc run``'s default. The same
        ``seed`` gives the same draws as ``rlc run --seed`` on the same data,
        bit for bit; without one, a seed is taken from the clock and recorded
        in the attributes. ``backend="interp"`` runs the reference
        interpreter instead of native code. ``progress=False`` draws no bar.
        ``threads_per_chain`` splits a model's loop over independent
        subjects across that many threads in each chain (``rlc run
        --threads``; 0, the default: the cores left over, cores / chains);
        the draws are the same bits on any number.

        ``init`` sets the initial values, as CmdStan's ``init`` (``rlc run
        --init``): a number ``r`` draws every chain's from ``(-r, r)`` on the
        unconstrained scale (``0``: all chains start at the origin; ``None``,
        the default: 2); a mapping of parameter names to values on their own
        scale (``{"mu_pr": [0, 0.5], "sigma": 1}``, arrays row-major, a scalar
        for every element) starts every chain there in those parameters, the
        others drawn from ``(-2, 2)``. A value outside its parameter's support
        or a name the model does not have raises :class:`rlc.UsageError`.

        ``log_likelihood=True`` (or ``"observation"``) also computes each
        observation's log-likelihood per draw, the ``log_likelihood`` group
        that ``az.loo`` reads (``log_lik``, one column per scored cell);
        ``"subject"`` sums them per subject, for leave-one-subject-out
        (``rlc run --log-lik``). ``predict="one-step"`` draws each observed
        variable given the observed history, ``"full"`` whole simulated
        sessions, into the ``posterior_predictive`` group under the observed
        variables' names and axes (``rlc run --predict``). Neither changes the
        posterior draws. ``loop_outs=True`` also computes the outs the model
        writes in its loops (``out pe[n, t] = …``: trial-by-trial values, as
        hBayesDM's ``modelRegressor``), into the ``posterior`` group with the
        loops' axes, NaN where no step wrote an element (``rlc run
        --loop-outs``); they take no part in the convergence warnings.
        ``thin`` keeps every ``thin``-th draw, the first included (``rlc run
        --thin``, CmdStan's ``thin``, hBayesDM's ``nthin``): ``draws=1000,
        thin=10`` gives 100 draws per chain, the same as every tenth of the
        unthinned run's.

        The tree's groups are ``posterior`` (each parameter and ``out``
        value with dims ``("chain", "draw", *axes)``, the axes named after the
        model's sizes, the subject ids of ``size N by subjID`` as ``N``'s
        coordinates), ``posterior_predictive`` and ``log_likelihood`` (when
        asked for), ``sample_stats`` (ArviZ's names: ``lp``,
        ``acceptance_rate``, ``step_size``, ``tree_depth``, ``n_steps``,
        ``diverging``, ``energy``), ``observed_data`` (the data the model
        observes with ``~``, as loaded, missing cells NaN) and
        ``constant_data`` (the rest of the data). Settings, seed, timing and adaptation are in the
        groups' attributes.

        Ctrl-C (or the notebook's interrupt button) stops every chain after its
        current iteration and returns the draws made so far, cut to the
        chains' common length, with a ``UserWarning``; before any draw it
        raises ``KeyboardInterrupt``. Stan's warnings (divergences, tree depth,
        E-BFMI, R-hat, ESS) are issued as :class:`rlc.ConvergenceWarning`.
        """
        tree, messages = self._sample(
            data,
            chains=chains,
            draws=draws,
            warmup=warmup,
            seed=seed,
            max_depth=max_depth,
            adapt_delta=adapt_delta,
            progress=progress,
            backend=backend,
            log_likelihood=log_likelihood,
            predict=predict,
            adaptation=adaptation,
            threads_per_chain=threads_per_chain,
            init=init,
            set=set,
            loop_outs=loop_outs,
            thin=thin,
            _stop_after=_stop_after,
        )
        for category, message in messages:
            warnings.warn(message, category, stacklevel=2)
        return tree

    def _sample(
        self,
        data: Any,
        chains: int = 4,
        draws: int = 1000,
        warmup: Optional[int] = None,
        seed: Optional[int] = None,
        max_depth: int = 10,
        adapt_delta: float = 0.8,
        progress: bool = True,
        backend: str = "jit",
        log_likelihood: Union[bool, str] = False,
        predict: Optional[str] = None,
        adaptation: Optional[str] = None,
        threads: int = 0,
        threads_per_chain: int = 0,
        init: Union[float, Mapping, None] = None,
        set: Optional[Mapping[str, Any]] = None,
        loop_outs: bool = False,
        thin: int = 1,
        _stop_after: Optional[int] = None,
    ) -> tuple:
        """:meth:`sample`'s work: the tree, and the warnings to issue as
        (category, message) pairs rather than issued (so that a batch's
        worker threads can keep each fit's own). ``threads`` is how many
        threads the chains run on (0: one per chain, up to the cores); the
        draws do not depend on it. ``data`` may also be data the native
        module has loaded (a simulated data set)."""
        if seed is None:
            seed = time.time_ns() % 1_000_000_000
        _check_settings(chains=chains, draws=draws, warmup=0 if warmup is None else warmup, max_depth=max_depth, seed=seed, adapt_delta=adapt_delta, threads_per_chain=threads_per_chain, thin=thin)
        init_radius, init_values = _initial_values(init)
        compiled = self._compile()
        loaded = self._load(data, set)
        run = _rlc.start(
            compiled,
            loaded,
            int(chains),
            None if warmup is None else int(warmup),
            int(draws),
            int(seed),
            int(max_depth),
            float(adapt_delta),
            backend,
            _log_lik_unit(log_likelihood),
            predict,
            None if _stop_after is None else int(_stop_after),
            int(threads),
            adaptation,
            int(threads_per_chain),
            init_radius,
            init_values,
            loop_outs=bool(loop_outs),
            thin=int(thin),
        )
        self._run = run
        bar = Progress(int(chains) * (run.warmup() + int(draws)), int(chains), progress)
        try:
            # Off the main thread (a Dask worker's task) there is no Ctrl-C
            # to listen for: without a bar, wait in Rust.
            if progress or threading.current_thread() is threading.main_thread():
                _wait(run, bar)
            result = run.result()
        finally:
            # Whatever ends the wait (an error in the bar, a second exception),
            # the chains must not run on unattended.
            if not run.finished():
                run.stop()
            bar.close()
            self._run = None
        messages = [(UserWarning, note) for note in result["notes"]]
        messages += [(UserWarning, failure) for failure in result["failures"]]
        if result["interrupted"]:
            groups = {g["name"]: g for g in result["groups"]}
            chain_coord = next((c for c in groups.get("posterior", {}).get("coords", []) if c["name"] == "chain"), None)
            kept = chain_coord["shape"][0] if chain_coord else None
            asked = groups.get("posterior", {}).get("attrs", {}).get("num_chains")
            left = ""
            if kept is not None and asked is not None and kept < asked:
                left = f" by {kept} of the {asked} chains (the other {asked - kept} had made no draws yet, still in warmup)"
            messages.append(
                (UserWarning, f"sampling was interrupted: the tree holds the {result['draws']} draws per chain made so far{left}")
            )
        messages.extend((ConvergenceWarning, message) for message in result["warnings"])
        return build_tree(result["groups"]), messages

    def _point(self, point: Any) -> dict:
        if isinstance(point, pd.Series):
            # A row of a table of values (`truth.iloc[i]`): its labels name
            # the parameters; read by position they would be coordinates.
            if not all(isinstance(label, str) for label in point.index):
                raise UsageError(
                    "a Series of parameter values needs the parameters' names as its labels "
                    "(or pass .to_numpy() for unconstrained coordinates)"
                )
            point = point.to_dict()
        if isinstance(point, Mapping):
            kinds = dict(self._compile().variables())
            # A truth file as rlc simulate writes it ({"params": {…}, "outs": {…}}).
            if isinstance(point.get("params"), Mapping) and "params" not in kinds:
                point = point["params"]
            # `out` values (in a simulation's truth) follow from the parameters.
            point = {name: value for name, value in point.items() if kinds.get(name) != "out"}
            return {"values": _given_values(point)}
        try:
            array = np.asarray(point, dtype=float)
        except (TypeError, ValueError):
            array = None
        if array is None or array.ndim != 1:
            raise UsageError(
                "a point is a dict of constrained values by name, or a 1-D array of unconstrained coordinates"
            )
        return {"unconstrained": array.tolist()}

    def _logp_grad(self, point: Any, data: Any, backend: str, set: Optional[Mapping]):
        loaded = self._load(data, set)
        lp, grad, coordinates, notes = _rlc.logp_grad(self._compile(), loaded, backend_name=backend, **self._point(point))
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)
        return lp, np.asarray(grad, dtype=float), coordinates

    def logp(
        self,
        point: Union[Mapping[str, Any], Sequence[float], np.ndarray],
        data: Any,
        backend: str = "jit",
        set: Optional[Mapping[str, Any]] = None,
    ) -> float:
        """The log density at ``point``, log-Jacobian and normalizing constants
        included (``rlc logp``'s value; ``lp`` in ``sample_stats``).

        ``point`` is a dict of constrained parameter values by name (scalars,
        lists or arrays; every parameter, inside its support), or a 1-D array
        of unconstrained coordinates in declaration order, arrays row-major.
        A point that does not fit raises :class:`rlc.UsageError` (a
        ``ValueError``). ``data`` and ``set`` are as for :meth:`sample`. Where the log
        density or its gradient is not finite (``-inf`` included), this and
        :meth:`grad` raise :class:`rlc.SamplingError` with ``rlc logp``'s
        explanation (the first term that is not finite, or the data value it
        came from), as ``rlc logp`` fails there.
        """
        return self._logp_grad(point, data, backend, set)[0]

    def grad(
        self,
        point: Union[Mapping[str, Any], Sequence[float], np.ndarray],
        data: Any,
        backend: str = "jit",
        set: Optional[Mapping[str, Any]] = None,
    ) -> np.ndarray:
        """The gradient of :meth:`logp` with respect to the unconstrained
        coordinates (declaration order, arrays row-major; their names are
        :meth:`coordinates`), as a 1-D numpy array."""
        return self._logp_grad(point, data, backend, set)[1]

    def coordinates(self, data: Any, set: Optional[Mapping[str, Any]] = None) -> list:
        """The names of the unconstrained coordinates on ``data``
        (``alpha``, ``A_pr.1``, …, 1-based as ``rlc logp`` names them).
        ``data`` may be a design without the observed variables (as for
        :meth:`simulate`): the coordinates depend on the sizes alone."""
        compiled = self._compile()
        try:
            loaded = self._load(data, set)
        except DataError as error:
            given = data_bytes(data, declared=_declared(compiled), grouping=compiled.grouping_columns())
            try:
                loaded = _rlc.load_design(compiled, given.name, given.content, given.frame, given.rows, set_values(set))
            except Error:
                raise error from None
        return _rlc.coordinates(compiled, loaded)

    def simulate(
        self,
        design: Any = None,
        params: Union[Mapping[str, Any], Sequence[float], np.ndarray, None] = None,
        *,
        prior: bool = False,
        seed: Optional[int] = None,
        n: Optional[int] = None,
        set: Optional[Mapping[str, Any]] = None,
        loop_outs: bool = False,
    ) -> Union[Simulation, list]:
        """Runs the model forward (``rlc simulate``): draws every variable the
        model observes with ``~`` on ``design``, trial by trial, each
        learner's state updated by its own draws.

        ``design`` is data as for :meth:`sample` (a DataFrame, a dict, a
        path; ``None`` for a model that declares no data), in which the
        observed variables may be absent: its sizes, subjects, trials, and
        the data the model only reads (outcomes shown, conditions) say what
        to simulate. ``params`` gives the parameter values: a dict of
        constrained values by name (``{"alpha": 0.3, "beta": 2}``, arrays for
        array parameters, a scalar for every element) or a 1-D array of
        unconstrained coordinates (a labelled Series, a simulation's
        ``truth`` and a truth file of ``rlc simulate`` are also values by
        name); ``prior=True`` draws them from the priors instead (each data
        set its own). A model without parameters needs
        neither. ``seed`` fixes the draws (without one, a seed is taken from
        the clock and recorded in the result); the same seed gives the same
        data set as ``rlc simulate --seed`` on the same design, bit for bit.
        ``set`` is as for :meth:`sample` (``rlc simulate --set``); the data
        sets carry its values (a DataFrame as columns, ``mu0.1`` and
        ``mu0.2`` for an array; a dict as keys). ``loop_outs=True`` adds to
        ``truth`` the outs written in loops (``out pe[n, t] = …``, a model's
        regressors) at the true parameters, computed on the simulated data
        (NaN where no step wrote a cell; ``rlc simulate --loop-outs``).

        Returns a :class:`Simulation` (``data``, ``truth``, ``seed``,
        ``stream``); with ``n``, a list of ``n`` of them (data sets drawn
        from streams 0 to ``n - 1`` of the seed, as ``rlc simulate --n``).
        A model that cannot be run forward, or a design that does not fit,
        raises :class:`rlc.Error` (its subclasses as :meth:`sample`'s).
        """
        compiled = self._compile()
        if prior and params is not None:
            raise UsageError("give the parameter values (params=) or prior=True, not both")
        has_params = any(kind == "parameter" for _name, kind in compiled.variables())
        if params is None and not prior and has_params:
            raise UsageError(
                "give the parameter values (params={'alpha': 0.3, 'beta': 2}, or an array of unconstrained "
                "coordinates) or draw them from the priors (prior=True)"
            )
        point = self._point(params) if params is not None else {}
        if seed is None:
            seed = time.time_ns() % 1_000_000_000
        seed = _check_int("seed", seed, most=_U64)
        count = 1 if n is None else _check_int("n", n, least=1)
        for note in _rlc.forward_notes(compiled):
            warnings.warn(note, UserWarning, stacklevel=2)
        given = data_bytes(design, declared=_declared(compiled), grouping=compiled.grouping_columns())
        try:
            loaded = _rlc.load_design(compiled, given.name, given.content, given.frame, given.rows, set_values(set))
        except DataError as error:
            if design is None:
                raise _no_data_error(self.name, compiled, error, keyword="design") from None
            raise
        text_columns = compiled.grouping_columns()
        simulations = []
        for stream in range(count):
            try:
                content, form, observed, truth, notes = _rlc.simulate_file(
                    compiled, loaded, given.content, given.frame, seed, stream, **point, loop_outs=bool(loop_outs)
                )
            except Error as error:
                if count == 1:
                    raise
                # Say which data set failed: the others are lost with the
                # exception, and this one can be drawn alone (n=None).
                raise type(error)(
                    f"data set {stream} of {count} (seed={seed}, stream {stream}; the {stream} before it were "
                    f"drawn): {error.message.removeprefix('error: ')}",
                    None,
                ) from None
            for note in notes:
                warnings.warn(f"data set {stream}: {note}", UserWarning, stacklevel=2)
            data = _simulated_data(design, content, form, observed, text_columns, list(set or ()))
            truth = {name: np.asarray(values, dtype=float).reshape(shape) for name, shape, values in truth}
            simulations.append(Simulation(data, truth, seed, stream))
            if stream == 0 and count > 1:
                _check_room(count, data, truth)
        return simulations[0] if n is None else simulations


def _caller_stacklevel() -> int:
    """The `stacklevel` of `warnings.warn` called here that names the first frame outside
    this package: the user's call, however deep inside the package the warning is made."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == package:
        frame, level = frame.f_back, level + 1
    return level


def _declared(compiled) -> set:
    """The names of the model's data variables and sizes."""
    variables, sizes = compiled.data_names()
    return set(variables) | set(sizes)


def _nbytes(data: Any) -> int:
    if isinstance(data, pd.DataFrame):
        return int(data.memory_usage(deep=True).sum())
    return sum(int(np.asarray(v).nbytes) for v in data.values())


def _check_room(count: int, data: Any, truth: dict) -> None:
    """``n`` data sets as large as the first must fit in half the machine's
    memory: a list of them cannot be streamed (loop over seeds for more)."""
    each = _nbytes(data) + _nbytes(truth) + 1024
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        memory = 8 * 2**30
    if count * each > memory // 2:
        raise UsageError(
            f"n={count} data sets of about {each / 2**20:.2f} MiB each would need {count * each / 2**30:.1f} GiB, "
            f"more than half of this machine's {memory / 2**30:.1f} GiB: simulate fewer at a time (streams "
            "k of a seed are what `rlc simulate --n` writes to files, one at a time)"
        )


def _simulated_data(
    design: Any, content: bytes, form: str, observed: list, text_columns: list, given: Sequence[str] = ()
) -> Any:
    """A simulated file as the user's kind of data: a dict for JSON (arrays
    as numpy, missing cells NaN), a DataFrame for delimited text. A
    DataFrame design keeps its index, columns and dtypes; only the observed
    columns, and those of the variables ``given`` by ``set=`` (``mu0.1``,
    ``mu0.2`` for an array), are replaced (or added). Read from a file, the
    columns that name groups (subject ids) stay text, as the loader reads
    them (`001`)."""
    if form == "json":
        return {key: _json_array(value) for key, value in json.loads(content).items()}
    table = pd.read_csv(
        io.BytesIO(content), sep=form, dtype={column: str for column in text_columns},
        keep_default_na=False, na_values=["NA", ""],
    )
    if isinstance(design, pd.DataFrame):
        frame = design.copy()
        for name, elem in observed:
            if name in table.columns:
                frame[name] = _typed_column(table[name], elem).set_axis(frame.index)
        for column in table.columns:
            if any(re.fullmatch(rf"{re.escape(name)}(\.[0-9]+)*", column) for name in given):
                frame[column] = table[column].set_axis(frame.index)
        return frame
    for name, elem in observed:
        if name in table.columns:
            table[name] = _typed_column(table[name], elem)
    return table


def _typed_column(column: pd.Series, elem: str) -> pd.Series:
    """An observed column as its declaration types it: an ``int`` column
    stays integer (pandas' nullable ``Int64`` where cells are missing), a
    ``bool`` column boolean."""
    if elem == "real":
        return column.astype(float)
    kind = "boolean" if elem == "bool" else "Int64"
    if column.isna().any():
        return column.astype(kind)
    return column.astype(bool if elem == "bool" else np.int64)


def _json_array(value: Any) -> Any:
    """A Stan JSON value as numpy: null cells NaN, ``"Inf"`` and ``"-Inf"``
    infinite; scalars (sizes) as they are."""
    if not isinstance(value, list):
        return value
    array = np.array(value, dtype=object)
    if any(v is None or isinstance(v, str) for v in array.flat):
        return np.array([np.nan if v is None else float(v) for v in array.flat], dtype=float).reshape(array.shape)
    return np.array(value)


def _no_data_error(model_name: str, compiled, error: DataError, keyword: str = "data") -> DataError:
    """``data=None`` for a model that needs data: say so, naming what the
    model declares, rather than what an empty data set lacks."""
    variables, sizes = compiled.data_names()
    declared = [f"`{name}`" for name in variables] + [f"the size `{name}`" for name in sizes]
    message = (
        f"error: {model_name} declares data ({', '.join(declared)}), but none was given ({keyword}=None): "
        f"pass a DataFrame, a dict of arrays or the path of a data file as {keyword}="
    )
    return DataError(message, [vars(item) for item in error.errors])


def _log_lik_unit(log_likelihood: Union[bool, str]) -> Optional[str]:
    if log_likelihood is True:
        return "observation"
    if log_likelihood is False or log_likelihood is None:
        return None
    return log_likelihood


def _given_values(values: Mapping) -> dict:
    """Parameter values by name as the native module takes them: each one's
    elements row-major and its shape (a value shaped otherwise than its
    parameter, a transposed matrix, is refused there, not read row-major)."""
    given = {}
    for name, value in values.items():
        if isinstance(value, pd.Series) and not positional(value.index):
            # Its labels (subject ids, say) would be dropped and the values
            # read by position: refused rather than paired wrongly.
            raise UsageError(
                f"parameter {name!r}: a Series with labels is read by position, not by its labels; give the "
                "values in the model's order (the order of the posterior's coordinates, as the data list the "
                "subjects) as an array, or .to_numpy() if the Series is already in that order"
            )
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as error:
            raise UsageError(f"parameter {name!r}: {value!r} is not an array of numbers (lists of different lengths?): {error}") from None
        given[str(name)] = (array.ravel(order="C").tolist(), list(array.shape))
    return given


def _initial_values(init: Union[float, Mapping, None]) -> tuple:
    """``sample``'s ``init`` as the native module takes it: the radius (None:
    the driver's default), and the given values by parameter name or None."""
    if init is None:
        return None, None
    if isinstance(init, Mapping):
        try:
            return None, _given_values(init)
        except (TypeError, ValueError) as error:
            raise TypeError(f"init must map parameter names to numbers, not {init!r}") from error
    if isinstance(init, bool) or not isinstance(init, (int, float, np.integer, np.floating)):
        raise TypeError(f"init must be a radius (a number) or a mapping of parameter values, not {init!r}")
    if not (np.isfinite(init) and init >= 0):
        raise UsageError(f"init must be a finite radius, 0 or more, not {init!r}")
    return float(init), None


# The largest value of an integer setting: the driver's limit where it has
# one (its errors would name the CLI's flags), else what the native module's
# u64 (seed) and usize (counts, on a 64-bit machine) hold, past which the
# conversion would fail with a bare OverflowError.
_U64 = 2**64 - 1
_MOST = {
    "chains": _rlc.MAX_CHAINS,
    "draws": _rlc.MAX_ITERATIONS,
    "warmup": _rlc.MAX_ITERATIONS,
    "max_depth": _rlc.MAX_TREE_DEPTH,
}


def _check_int(name: str, value: Any, least: int = 0, most: int = _U64) -> int:
    """``value`` as an int if it is one from ``least`` to ``most``; else
    TypeError (not an integer) or UsageError naming the setting and its range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if value < least:
        raise UsageError(f"{name} must not be negative, not {value}" if least == 0 else f"{name} must be at least {least}, not {value}")
    if value > most:
        limit = "2**64 - 1" if most == _U64 else str(most)
        raise UsageError(f"{name} must be at most {limit}, not {value}")
    return value


def _check_settings(**settings) -> None:
    """Rejects settings no run can have, in the words of the Python API (the
    driver would name the CLI's flags)."""
    for name, value in settings.items():
        if name == "adapt_delta":
            if not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value < 1:
                raise UsageError(f"adapt_delta must be strictly between 0 and 1, not {value!r}")
            continue
        least = 1 if name in ("chains", "max_depth", "thin") else 0
        _check_int(name, value, least, _MOST.get(name, _U64))
    if settings["warmup"] + settings["draws"] > _rlc.MAX_ITERATIONS:
        raise UsageError(
            f"warmup plus draws must be at most {_rlc.MAX_ITERATIONS} per chain, not {settings['warmup']} + {settings['draws']}"
        )


def _wait(run, bar: Progress) -> None:
    """Polls the run until it ends. Ctrl-C raises KeyboardInterrupt in this
    (the main) thread, wherever it is waiting; it only asks the chains to
    stop, and the loop goes on until they have. The first second is polled
    more often, so that a short run does not wait for the poll."""
    started = time.monotonic()
    while True:
        try:
            if run.finished():
                bar.update(run.progress())
                return
            time.sleep(_POLL_SECONDS if time.monotonic() - started > 1 else _POLL_SECONDS / 10)
            bar.update(run.progress())
        except KeyboardInterrupt:
            run.stop()
