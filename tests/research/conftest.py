"""Fixtures for the research tests: one store built once from the embedded snapshot."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Never touch the user's data or config directories."""
    monkeypatch.setenv("BTCMACRO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BTCMACRO_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def research_store_path(tmp_path_factory):
    """A store file loaded once from the embedded snapshot (tests read it, never write it)."""
    from btcmacro import data
    from btcmacro.store import Store

    path = tmp_path_factory.mktemp("research_store") / "store.duckdb"
    with Store(path) as s:
        data.install_into(s)
    return path


@pytest.fixture(scope="session")
def research_store(research_store_path):
    from btcmacro.store import Store

    s = Store(research_store_path, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="session")
def weekly_result(research_store):
    from btcmacro.research import sensitivity as S

    return S.sensitivity(freq="W", store=research_store)
