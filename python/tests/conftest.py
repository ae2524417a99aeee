"""Shared fixtures: the repository's paths, the `rlc` binary the package is
compared with, and CmdStan CSV files read back as arrays."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
DATA = MODELS / "data"


def _find_rlc() -> Path:
    """`RLC_BIN`, else a binary built in the repository's target folder (or
    CARGO_TARGET_DIR), else `rlc` on PATH; built with cargo when none is
    found. The bit-for-bit tests need one built from the same sources."""
    if os.environ.get("RLC_BIN"):
        return Path(os.environ["RLC_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        candidate = target / profile / "rlc"
        if candidate.exists():
            return candidate
    on_path = shutil.which("rlc")
    if on_path:
        return Path(on_path)
    subprocess.run(["cargo", "build", "-p", "rlc"], cwd=ROOT, check=True)
    return target / "debug" / "rlc"


@pytest.fixture(scope="session")
def rlc_bin() -> Path:
    return _find_rlc()


@pytest.fixture(scope="session")
def run_cli(rlc_bin, tmp_path_factory):
    """Runs `rlc ARGS…` in the repository's root; returns the completed
    process (stdout, stderr, returncode)."""

    def run(*args, check=True):
        result = subprocess.run([str(rlc_bin), *map(str, args)], cwd=ROOT, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"rlc {' '.join(map(str, args))} failed:\n{result.stderr}")
        return result

    return run


def read_cmdstan(folder: Path, model: str) -> list[pd.DataFrame]:
    """The CSV files `rlc run` wrote for `model`, one DataFrame per chain,
    every number parsed exactly (the files hold shortest round-trip text)."""
    files = sorted(glob.glob(str(folder / f"{model}_*.csv")), key=lambda f: int(f.rsplit("_", 1)[1][:-4]))
    # Python's float() rounds correctly, whatever pandas' own parser does.
    return [pd.read_csv(f, comment="#", dtype=str).apply(lambda column: column.map(float)) for f in files]


def column_name(variable: str, index: tuple) -> str:
    """CmdStan's column of element `index` (0-based) of `variable`: `A.3`, `w.2.1`."""
    return ".".join([variable, *(str(i + 1) for i in index)])


def cmdstan_array(chains: list[pd.DataFrame], variable: str, shape: tuple) -> np.ndarray:
    """Rebuilds a (chain, draw, *shape) array from CmdStan's column-major,
    1-based columns."""
    draws = len(chains[0])
    out = np.empty((len(chains), draws, *shape))
    for index in np.ndindex(*shape):
        for c, frame in enumerate(chains):
            out[(c, slice(None), *index)] = frame[column_name(variable, index)].to_numpy()
    return out


STATS = {
    "lp": "lp__",
    "acceptance_rate": "accept_stat__",
    "step_size": "stepsize__",
    "tree_depth": "treedepth__",
    "n_steps": "n_leapfrog__",
    "diverging": "divergent__",
    "energy": "energy__",
}
