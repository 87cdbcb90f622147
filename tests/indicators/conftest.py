"""Shared fixtures for the indicator-family tests.

One store is built from the embedded snapshot per test session (in a temporary BTCMACRO_HOME),
and the raw CSVs of ``../shared/data`` are available for hand checks and independent
recomputation. Engineers owning other families add fixtures here; do not change existing ones.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve()
SHARED = Path(os.environ.get("BTCMACRO_SHARED_DATA", _HERE.parents[3] / "shared" / "data"))
if not SHARED.exists():  # the repo may be checked out elsewhere than /work/main
    SHARED = Path("/work/shared/data")


@pytest.fixture(scope="session")
def snapshot_store(tmp_path_factory):
    """A read-write DuckDB store loaded once from the embedded snapshot."""
    from btcmacro import data
    from btcmacro.store import Store

    home = tmp_path_factory.mktemp("btcmacro_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("BTCMACRO_HOME", str(home))
    store = Store(home / "store.duckdb")
    data.install_into(store)
    yield store
    store.close()
    mp.undo()


@pytest.fixture(scope="session")
def evaluate(snapshot_store):
    """``evaluate(as_of)`` -> a cached :class:`btcmacro.registry.Evaluator` for that date."""
    from btcmacro.registry import Evaluator

    cache: dict = {}

    def _ev(as_of, params=None):
        key = (str(as_of), tuple(sorted((params or {}).items())))
        if key not in cache:
            cache[key] = Evaluator(snapshot_store, as_of, params)
        return cache[key]

    return _ev


@pytest.fixture(scope="session")
def shared_csv():
    """``shared_csv("fred/PAYEMS.csv")`` -> list of row dicts (strings), read with the csv module."""

    def _read(rel: str) -> list[dict]:
        path = SHARED / rel
        if not path.exists():
            pytest.skip(f"shared data not found: {path}")
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    return _read
