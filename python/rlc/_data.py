"""Data as the CLI's loader reads it: every kind of ``data=`` becomes the
bytes of a data file, so that the Python package and ``rlc run`` load, group
and check data with the same code and give the same numbers.

* a pandas DataFrame becomes CSV text (long format, grouped as the model's
  ``size N by COL`` says), every float written with full precision, and its
  index labels are kept to name the rows in errors as ``df.loc`` does;
* a dict of arrays, lists and scalars becomes Stan JSON (NaN and None are
  ``null``, a missing cell);
* a path (str or ``os.PathLike``) is read as it is.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Iterable, Mapping, NamedTuple, Optional

import numpy as np
import pandas as pd

from ._errors import DataError, UsageError


class DataBytes(NamedTuple):
    """Data as the native module's loader takes it."""

    name: str  # how errors name the data: a path, "DataFrame", "dict"
    content: bytes
    frame: bool  # CSV written from a DataFrame: errors name its rows
    rows: Optional[list] = None  # the DataFrame's index labels (see frame_rows)


def data_bytes(data: Any, declared: Optional[set] = None, grouping: Iterable[str] = ()) -> DataBytes:
    """The data's display name and bytes, and for a DataFrame the labels of
    its rows. ``None`` is no data at all, for a model that declares none.
    ``declared`` (the model's data and size names): a dict's other keys are
    left out, as the loader ignores them, whatever their values are.
    ``grouping``: the columns of the model's ``size N by COL``, whose values a
    DataFrame must tell apart as its text does (:func:`check_group_ids`)."""
    if data is None:
        return DataBytes("data=None", b"{}", False)
    if isinstance(data, pd.DataFrame):
        if data.shape[1] == 0 and data.shape[0] > 0:
            # Rows without columns: a design of that many trials whose every
            # variable is drawn. A column no declaration reads gives the rows.
            data = pd.DataFrame({"_row": np.arange(len(data))}, index=data.index)
        return DataBytes("DataFrame", frame_csv(data, grouping), True, frame_rows(data))
    if isinstance(data, Mapping):
        if declared is not None:
            data = {key: value for key, value in data.items() if key in declared}
        return DataBytes("dict", dict_json(data), False)
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        with open(path, "rb") as f:
            return DataBytes(str(path), f.read(), False)
    raise TypeError(
        "data must be a pandas DataFrame, a dict of arrays, or the path of a data file, "
        f"not {type(data).__name__}"
    )


def frame_csv(frame: pd.DataFrame, grouping: Iterable[str] = ()) -> bytes:
    """CSV text of a long-format DataFrame. Named index levels (a ``subjID``
    set as the index) become columns again; the rest of the index is dropped.
    Missing cells (NaN, None, pd.NA) are written ``NA``, which the loader
    reads as missing (not empty: the loader skips a line of empty fields,
    and a trial whose every cell is missing is still a trial). Python writes
    each float as the shortest text that reads back as the same number, so
    no precision is lost."""
    labels = frame.index  # how errors name the rows (frame_rows), before any reset
    if any(name is not None for name in frame.index.names):
        # A level also kept as a column (`set_index("subjID", drop=False)`)
        # is that column already.
        kept = [name for name in frame.index.names if name is not None and name in frame.columns]
        if kept:
            frame = frame.reset_index(level=kept, drop=True)
        if any(name is not None for name in frame.index.names):
            frame = frame.reset_index()
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        written = _column_as_written(column)
        if written is not column:
            frame.isetitem(position, written)
        if frame.columns[position] in grouping:
            check_group_ids(column, written, labels)
    text = frame.to_csv(index=False, lineterminator="\n", na_rep="NA")
    return text.encode("utf-8")


# Integers up to this magnitude are exact in a float64.
_MAX_EXACT_INT = 2.0**53


def _column_as_written(column: pd.Series) -> pd.Series:
    """A column as numpy and pandas users mean it, in text the loader reads:
    booleans as 1 and 0 (numpy's values of True and False, so that an ``int``
    or ``real`` declaration takes them as a ``bool`` one does), and floats
    that are all whole numbers as integers (a subject column of 1.0, 2.0 —
    pandas makes any integer column with a missing cell float — names its
    subjects 1, 2 as the file it came from did). Narrower floats (float32)
    are written as the float64 they are, the value a dict of the same array
    gives, not as their shortest float32 text. Other columns are returned
    as they are."""
    kind = column.dtype.kind
    if kind == "b" or str(column.dtype) == "boolean":
        return column.astype("Int64")
    if kind == "f":
        values = column.to_numpy(dtype=float, na_value=np.nan)
        present = values[~np.isnan(values)]
        # (An infinity is above the limit.)
        if present.size > 0 and np.all(np.abs(present) <= _MAX_EXACT_INT) and np.all(present == np.round(present)):
            return column.astype("Int64")
        if column.dtype != np.float64:
            return pd.Series(values, index=column.index, name=column.name)
        return column
    if kind == "O":
        values = column.tolist()
        if any(isinstance(v, (bool, np.bool_)) for v in values):
            return pd.Series(
                [int(v) if isinstance(v, (bool, np.bool_)) else v for v in values],
                index=column.index,
                name=column.name,
                dtype=object,
            )
    return column


def check_group_ids(column: pd.Series, written: pd.Series, index: pd.Index) -> None:
    """A grouping column's values must split the rows into the same groups
    in pandas as in the text the loader reads (trimmed): ``"s1"`` and
    ``"s1 "`` (a spreadsheet merge), or ``1`` and ``"1"`` in an object
    column, are two subjects to pandas and one in the file; ``1`` and
    ``1.0`` are one to pandas and two in the file. Either would fit a
    different set of subjects than the frame holds, so it is an error
    (D0030) naming the two rows."""
    present = ~column.isna().to_numpy()
    if not present.any():
        return
    values = column[present]
    texts = written[present].map(lambda v: str(v).strip())
    by_value = pd.factorize(values)[0]
    by_text = pd.factorize(texts)[0]
    # Same partition: each value code maps to one text code and back.
    pairs = pd.DataFrame({"value": by_value, "text": by_text})
    if (pairs.groupby("value")["text"].nunique() == 1).all() and (pairs.groupby("text")["value"].nunique() == 1).all():
        return
    rows = np.flatnonzero(present)
    # The first row whose id conflicts with an earlier one's: the same text for
    # another value (`merged`), or another text for the same value.
    first_of_text, first_of_value = {}, {}
    for i, (v, t) in enumerate(zip(by_value, by_text)):
        earlier = first_of_text.setdefault(t, i)
        merged = by_value[earlier] != v
        if merged:
            break
        earlier = first_of_value.setdefault(v, i)
        if by_text[earlier] != t:
            break
    name = str(column.name)
    a, b = values.iloc[earlier], values.iloc[i]
    at = rows[earlier], rows[i]
    labels = [index[p] for p in at]
    names = [f"row {p}" if positional(index) else f"row df.loc[{label!r}] (df.iloc[{p}])" for p, label in zip(at, labels)]
    where = " and ".join(names)
    if merged:
        how = f"two subjects in the DataFrame but one, {texts.iloc[i]!r}, in the text rlc reads (ids are compared as trimmed text)"
        fix = f"if they are one subject, df[{name!r}] = df[{name!r}].astype(str).str.strip(); if not, rename one"
    else:
        how = f"one subject in the DataFrame (the values are equal) but two, {texts.iloc[earlier]!r} and {texts.iloc[i]!r}, in the text rlc reads"
        fix = f"give the column one type, e.g. df[{name!r}] = df[{name!r}].astype(int)"
    message = f"the ids {a!r} and {b!r} of the grouping column {name!r} ({where}) are {how}: {fix}"
    item = {
        "file": "DataFrame", "code": "D0030", "message": message, "column": name,
        "row": labels[1] if not positional(index) else int(at[1]), "position": int(at[1]),
    }
    raise DataError(
        f"DataFrame, {names[1]}, column \"{name}\": {message}\nerror: the DataFrame does not fit the model (1 error)", [item]
    )


def frame_rows(frame: pd.DataFrame) -> Optional[list]:
    """The label of each row as ``df.loc`` takes it (an int, a str, a tuple
    for a MultiIndex), in order; None for the default index 0, 1, 2, …,
    whose labels are the positions. A filtered, sorted or per-subject frame
    keeps its original labels, which errors name."""
    if positional(frame.index):
        return None
    return frame.index.tolist()


def positional(index: pd.Index) -> bool:
    """The index 0, 1, 2, …: labels that are positions."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _json_value(value: Any) -> Any:
    """A value as plain JSON: nested lists, NaN and None as null, infinities as
    the strings Stan JSON uses."""
    if isinstance(value, (pd.Series, pd.Index)) or type(value).__name__ == "DataArray":
        # (An xarray DataArray, e.g. a previous run's observed_data, by its values.)
        value = value.to_numpy()
    if isinstance(value, pd.api.extensions.ExtensionArray):
        # pandas' nullable arrays (Int64, boolean, Float64): missing cells NaN.
        if value.dtype.kind in "iub" and not np.asarray(value.isna()).any():
            value = value.to_numpy(dtype=value.dtype.numpy_dtype)
        elif value.dtype.kind in "iufb":
            value = value.to_numpy(dtype=float, na_value=np.nan)
        else:
            value = value.to_numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return [_json_value(v) for v in value.tolist()]
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool):
        # numpy's value of a boolean: an int or real declaration takes it
        # as a bool one does.
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        return value
    if isinstance(value, int):
        return value
    raise TypeError(f"cannot use a {type(value).__name__} as data: {value!r}")


def _check_series_aligned(data: Mapping) -> None:
    """A dict's Series are read by position, as arrays: Series with different
    indexes (one reordered or filtered) would pair the wrong rows without a word."""
    series = [(key, value) for key, value in data.items() if isinstance(value, pd.Series)]
    for key, value in series[1:]:
        first_key, first = series[0]
        if len(value) == len(first) and not value.index.equals(first.index):
            raise UsageError(
                f"data[{first_key!r}] and data[{key!r}] are Series with different indexes, and a dict's "
                "values are read by position: pass pd.DataFrame(data) to align them by index, or "
                "their .to_numpy() to pair them as they are"
            )


def dict_json(data: Mapping) -> bytes:
    """Stan JSON text of a dict of data: one key per data variable (or size),
    arrays nested outermost dimension first."""
    _check_series_aligned(data)
    out = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"data keys must be names (str), not {key!r}")
        try:
            out[key] = _json_value(value)
        except TypeError as e:
            raise TypeError(f"data[{key!r}]: {e}") from None
    # allow_nan=False: every NaN was turned into null above.
    return json.dumps(out, allow_nan=False).encode("utf-8")


def set_values(values: Optional[Mapping]) -> Optional[list]:
    """``set=``'s values as the loader takes them, ``NAME=VALUE`` with a JSON
    value each (``rlc run --set``): ``{"RTbound": 0.2, "mu0": [0.3, 1]}``
    becomes ``["RTbound=0.2", "mu0=[0.3, 1]"]``. ``None``: nothing set."""
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise TypeError(f"set must be a dict of values by name, as {{'RTbound': 0.2}}, not {type(values).__name__}")
    texts = []
    for name, value in values.items():
        if not isinstance(name, str):
            raise TypeError(f"set's keys must be names (str), not {name!r}")
        try:
            texts.append(f"{name}={json.dumps(_json_value(value), allow_nan=False)}")
        except TypeError as e:
            raise TypeError(f"set[{name!r}]: {e}") from None
    return texts
