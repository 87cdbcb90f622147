"""Shared fixtures for the indicator-family tests.

A copy of the suite-wide snapshot store (tests/conftest.py) is opened read-only once per session, and the raw CSVs in ``tests/fixtures/data`` are available for hand checks and independent
recomputation. Engineers owning other families add fixtures here; do not change existing ones.
"""

from __future__ import annotations

import csv

import pytest
from _realdata import DATA


@pytest.fixture(scope="session")
def snapshot_store(snapshot_store_path, tmp_path_factory):
    """A copy of the suite-wide snapshot store (tests/conftest.py), opened read-only once per
    session. A copy, because DuckDB refuses a second connection to the same file with another
    configuration in one process (the dashboard tests open it without external access)."""
    import shutil

    from btcmacro.store import Store

    path = tmp_path_factory.mktemp("indicators") / "store.duckdb"
    shutil.copy(snapshot_store_path, path)
    store = Store(path, read_only=True)
    yield store
    store.close()


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
    """``shared_csv("fred/PAYEMS.csv")`` -> list of row dicts (strings), read with the csv module
    from the copy of the collection's file in tests/fixtures/data."""

    def _read(rel: str) -> list[dict]:
        with open(DATA / rel, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    return _read
