"""docs/python.md cannot rot: its ```python blocks run, in order, in one
namespace, from the repository's root, as a reader would run them in a
notebook."""

from __future__ import annotations

import os
import re
import warnings

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "python.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line, code) of every block fenced as ```python."""
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def test_docs_python_blocks_run(monkeypatch):
    pytest.importorskip("arviz")
    os.environ.setdefault("MPLBACKEND", "Agg")
    monkeypatch.chdir(ROOT)
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line, code in blocks:
            try:
                exec(compile(code, f"{DOC}:{line}", "exec"), namespace)
            except Exception as e:  # noqa: BLE001 - re-raised with the block's place
                raise AssertionError(f"the block at docs/python.md line {line} failed: {e!r}") from e
