"""Fixtures for the dashboard tests: one snapshot store, one app, one live uvicorn server.

The app (and its cache) is shared by the API tests and the browser tests so each briefing is
computed once per session. The live server runs uvicorn in a thread on a free 127.0.0.1 port.
"""

from __future__ import annotations

import shutil

import pytest
from _webhelp import free_port, serve_in_thread


@pytest.fixture(scope="session")
def web_store_path(snapshot_store_path, tmp_path_factory):
    """A copy of the suite-wide snapshot store of tests/conftest.py (read, never written).

    A copy, because the dashboard opens it with external access disabled, and DuckDB refuses a
    connection with another configuration to a file that other tests hold open in this process.
    """
    path = tmp_path_factory.mktemp("webstore") / "store.duckdb"
    shutil.copy(snapshot_store_path, path)
    return path


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def web_app(web_store_path, web_port):
    from btcmacro.web import create_app

    return create_app(web_store_path, port=web_port)


@pytest.fixture()
def client(web_app, web_port):
    from fastapi.testclient import TestClient

    with TestClient(web_app, base_url=f"http://127.0.0.1:{web_port}",
                    raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def store_copy(web_store_path, tmp_path):
    """A private copy of the snapshot store (for tests that lock or write it)."""
    p = tmp_path / "copy" / "store.duckdb"
    p.parent.mkdir()
    shutil.copy(web_store_path, p)
    return p


@pytest.fixture(scope="session")
def live_server(web_app, web_port):
    """uvicorn serving the shared app on 127.0.0.1:<free port>, in a thread."""
    yield from serve_in_thread(web_app, web_port)
