"""Shared test fixtures: every test runs with a private BTCMACRO_HOME / config dir."""

from __future__ import annotations

import pytest


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
