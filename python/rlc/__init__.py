"""rlc from Python: compile models of behaviour written in the ``.rlm``
language, sample their posterior with NUTS, and get the run as an
``xarray.DataTree`` that ArviZ reads.

>>> import rlc, pandas as pd
>>> model = rlc.Model.from_file("models/rl_single.rlm")
>>> tree = model.sample(data=pd.read_csv("models/data/rl_single.csv"), seed=1)

Many fits at once (models × data sets, recovery studies, model comparison)
run on Dask: :func:`fit_many`, :func:`recover`, :func:`compare_models`
(``pip install rlc[batch]``).

The reference is docs/python.md in the repository; batches: docs/batch.md.
"""

from ._errors import (
    CompileError,
    ConvergenceWarning,
    DataError,
    DataErrorItem,
    Diagnostic,
    Error,
    Label,
    SamplingError,
    UsageError,
)
from ._model import Model, Simulation
from ._rlc import __version__
from ._summary import summary
from ._tree import to_inference_data
from . import batch
from .batch import compare_models, fit_many, recover

__all__ = [
    "Model",
    "Simulation",
    "to_inference_data",
    "summary",
    "fit_many",
    "recover",
    "compare_models",
    "batch",
    "Error",
    "CompileError",
    "DataError",
    "SamplingError",
    "UsageError",
    "ConvergenceWarning",
    "Diagnostic",
    "Label",
    "DataErrorItem",
    "__version__",
]
