"""Fixtures for the research tests: one store built once from the embedded snapshot."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def research_store_path(snapshot_store_path):
    """The suite-wide snapshot store (tests/conftest.py; tests read it, never write it)."""
    return snapshot_store_path


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
