"""The package's exceptions and the structured items they carry.

The native module (``rlc._rlc``) raises these classes, built from the
driver's errors in one place (``to_py_err`` in ``python/src/lib.rs``); each
constructor takes the rendered message and a list of plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class Label:
    """A labelled span of a diagnostic: where in the model, and what it says.

    ``line``/``column`` (1-based, columns counted in characters) are the start
    of the span and ``end_line``/``end_column`` its end; ``text`` is the model
    source under the span and ``message`` the label's words. The primary label
    marks the offending expression; the others say where the facts came from.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    text: str
    primary: bool


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message: a stable ``code`` (explained in docs/errors.md),
    ``severity`` ("error" or "warning"), the ``message``, its ``labels`` and an
    optional ``hint`` saying how to fix it."""

    code: str
    severity: str
    message: str
    labels: tuple = field(default_factory=tuple)
    hint: Optional[str] = None

    @classmethod
    def _from_dict(cls, item: dict) -> "Diagnostic":
        return cls(
            code=item["code"],
            severity=item["severity"],
            message=item["message"],
            labels=tuple(Label(**label) for label in item["labels"]),
            hint=item["hint"],
        )

    @property
    def line(self) -> Optional[int]:
        """The line of the primary label (or the first label), if any."""
        label = self._primary()
        return label.line if label else None

    @property
    def column(self) -> Optional[int]:
        """The column of the primary label (or the first label), if any."""
        label = self._primary()
        return label.column if label else None

    def _primary(self) -> Optional[Label]:
        for label in self.labels:
            if label.primary:
                return label
        return self.labels[0] if self.labels else None

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.labels else ""
        return f"[{self.code}] {self.severity}: {self.message}{where}"


@dataclass(frozen=True)
class DataErrorItem:
    """One error in the data: ``file`` (the data's display name: a path,
    "DataFrame" or "dict"), ``code`` (``D0001``…, see docs/errors.md),
    ``message``, and where: ``line`` (1-based, the header is line 1) and
    ``column`` (the column's name) in delimited text; when the data was a
    DataFrame, ``row``, the row's label as ``df.loc`` takes it (its index
    label: an int, a str, a tuple for a MultiIndex; 0, 1, 2, … for the
    default index), and ``position``, the row as ``df.iloc`` counts it (from
    0); ``path`` (``choice[3][17]``) in JSON or a dict. Fields that do not
    apply are None."""

    file: str
    code: str
    message: str
    line: Optional[int] = None
    column: Optional[str] = None
    row: Any = None
    path: Optional[str] = None
    position: Optional[int] = None


class Error(Exception):
    """The base class of rlc's errors."""

    def __init__(self, message: str, items: Optional[list] = None):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CompileError(Error):
    """The model does not compile. ``str(error)`` is the report ``rlc check``
    prints (without color), then the summary line; ``error.diagnostics`` is
    every error and warning as a :class:`Diagnostic`."""

    def __init__(self, message: str, items: Optional[list] = None):
        super().__init__(message)
        self.diagnostics = [Diagnostic._from_dict(d) for d in items or []]


class DataError(Error):
    """The data does not fit the model's declarations. ``str(error)`` lists
    every independent error, one a line, as the CLI does (for a DataFrame, by
    row and column name); ``error.errors`` holds them as
    :class:`DataErrorItem`."""

    def __init__(self, message: str, items: Optional[list] = None):
        super().__init__(message)
        self.errors = [DataErrorItem(**e) for e in items or []]


class SamplingError(Error):
    """Sampling could not start or finish (no chain found a finite log
    density, every chain failed), or the log density could not be evaluated
    at a point: :meth:`rlc.Model.logp` and :meth:`rlc.Model.grad` raise it
    when the log density or its gradient there is not finite, with ``rlc
    logp``'s explanation (the first term that is not finite, or the data
    value it came from)."""


class UsageError(Error, ValueError):
    """A bad argument: a setting no run can have, a point outside the
    parameters' support, a wrong number of coordinates."""


class ConvergenceWarning(UserWarning):
    """One of the warnings Stan prints after a run: divergences, maximum tree
    depth hits, low E-BFMI, high R-hat, low effective sample size; or rlc's
    for chains whose log density stays below another chain's (a minor mode)."""
