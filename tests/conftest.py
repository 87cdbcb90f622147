"""Shared test fixtures: every test runs with a private BTCMACRO_HOME / config dir."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# shared test helpers are top-level modules: tests/_ownnode.py and tests/chain/_chainhelp.py
for _d in (Path(__file__).resolve().parent, Path(__file__).resolve().parent / "chain"):
    if str(_d) not in sys.path:
        sys.path.insert(0, str(_d))


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("BTCMACRO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BTCMACRO_CONFIG_DIR", str(tmp_path / "config"))
    yield


@pytest.fixture(scope="session")
def snapshot_store_path(tmp_path_factory):
    """A store file loaded once from the embedded snapshot (read it, don't write it)."""
    from btcmacro import data
    from btcmacro.store import Store

    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    with Store(path) as s:
        data.install_into(s)
    return path


@pytest.fixture()
def snapshot_store(snapshot_store_path):
    from btcmacro.store import Store

    s = Store(snapshot_store_path, read_only=True)
    yield s
    s.close()
