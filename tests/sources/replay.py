"""Test helpers for live sources: an isolated config/home and a local replay server (127.0.0.1)
that serves recorded provider bodies. Imported by tests/sources/conftest.py and tests/test_update.py."""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from pathlib import Path

import pytest
from werkzeug.wrappers import Response as WResponse

FIXTURES = Path(__file__).parent.parent / "fixtures"

URL_VARS = ["FRED", "FRED_CSV", "COINMETRICS", "NYFED", "TREASURY", "MEMPOOL", "DEFILLAMA",
            "FEARGREED", "FARSIDE", "YAHOO", "BINANCE", "OKX", "BYBIT", "KALSHI"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No user config, no real keys, no shared limiter state between tests."""
    monkeypatch.setenv("BTCMACRO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BTCMACRO_HOME", str(tmp_path / "home"))
    for var in ("FRED_API_KEY", "BTCMACRO_FRED_API_KEY", "COINMETRICS_API_KEY",
                "BTCMACRO_COINMETRICS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    from btcmacro import http

    http.reset_limiters()
    yield
    http.reset_limiters()


class Replay:
    """Serve queued responses per path, in order; record every request (path, query args)."""

    def __init__(self, server):
        self.server = server
        self.queues: dict[str, deque] = defaultdict(deque)
        self.sticky: dict[str, dict] = {}
        self.log: list[tuple[str, dict]] = []
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def add(self, path: str, status: int = 200, body: str | bytes = "", headers: dict | None = None,
            repeat: bool = False, delay: float = 0.0) -> None:
        item = {"status": status, "body": body, "headers": headers or {}, "delay": delay}
        if repeat:
            self.sticky[path] = item
        else:
            self.queues[path].append(item)

    def add_fixture_http(self, entries: list[dict]) -> None:
        for e in entries:
            self.add(e["path"], e.get("status", 200), e.get("body", ""), e.get("headers"))

    def count(self, path_prefix: str = "") -> int:
        return sum(1 for p, _ in self.log if p.startswith(path_prefix))

    def _handle(self, request):
        path = request.path
        self.log.append((path, dict(request.args)))
        q = self.queues.get(path)
        item = q.popleft() if q else self.sticky.get(path)
        if item is None:
            return WResponse(json.dumps({"error": f"no replay queued for {path}"}), status=404,
                             content_type="application/json")
        if item["delay"]:
            import time

            time.sleep(item["delay"])
        return WResponse(item["body"], status=item["status"], headers=item["headers"])


@pytest.fixture
def replay(httpserver, monkeypatch):
    r = Replay(httpserver)
    for var in URL_VARS:
        monkeypatch.setenv(f"BTCMACRO_URL_{var}", r.url)
    return r


def load_fixture(path: Path) -> dict:
    return json.loads(path.read_text())
