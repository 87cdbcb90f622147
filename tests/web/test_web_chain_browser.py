"""Own-node HODL waves and URPD in a real Chromium (Debian's /usr/bin/chromium via Playwright).

The dashboard serves the snapshot store with a small synthetic chain synced and published
(the ``node`` fixture of ``test_web_chain.py``). Every request to anything but 127.0.0.1 is
aborted, and a console error or a blocked request fails the test.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlparse

import pytest
from test_web_browser import Watched  # same folder: the page wrapper that records errors
from test_web_browser import browser  # noqa: F401 -- the module's Chromium fixture
from test_web_browser import pytestmark  # noqa: F401 -- skip without /usr/bin/chromium
from test_web_chain import KEYS, node  # noqa: F401 -- the synced and published synthetic chain


@pytest.fixture(scope="module")
def node_server(node):
    """uvicorn serving a dashboard over the node's store and chain index, on a free port."""
    import uvicorn

    from btcmacro.web import create_app

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(node["store"], index_path=node["index"], port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not th.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    th.join(timeout=10)


@pytest.fixture()
def npage(browser, node_server):  # noqa: F811 -- the imported fixture
    ctx = browser.new_context(base_url=node_server)
    w = Watched(ctx.new_page())

    def route(r):
        if urlparse(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            w.blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    w.page.on("console", lambda m: w.console_errors.append(m.text) if m.type == "error" else None)
    w.page.on("pageerror", lambda e: w.console_errors.append(f"pageerror: {e}"))
    yield w
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_hodl_chart_is_drawn_from_the_published_bands(npage, lang):
    npage.goto(f"/?as_of=2025-12-09&lang={lang}")
    npage.wait_drawn("#chart-hodl_waves")
    fig = npage.page.evaluate("""() => { const d = document.getElementById('chart-hodl_waves');
        return d.data.map(t => ({name: t.name, n: t.x.length, last: t.x[t.x.length - 1], y: t.y[t.y.length - 1],
                                 stack: t.stackgroup})); }""")
    charts = npage.page.evaluate("() => fetch('/api/briefing/charts?as_of=2025-12-09').then(r => r.json())")
    h = charts["hodl"]
    assert [t["name"] for t in fig] == [b["names"][lang] for b in h["bands"]] and len(fig) == len(KEYS)
    assert all(t["stack"] == "bands" and t["n"] == len(h["x"]) and t["last"] == "2025-12-09" for t in fig)
    assert [t["y"] for t in fig] == [b["y"][-1] for b in h["bands"]]
    points = int(npage.page.get_attribute("#chart-hodl_waves", "data-points"))
    assert points == len(KEYS) * len(h["x"])
    npage.check_clean()


def test_status_page_draws_the_urpd(npage):
    npage.goto("/status")
    npage.wait_drawn("#urpd-chart")
    bars = npage.page.evaluate("() => document.getElementById('urpd-chart').data[0].y")
    assert len(bars) == 50 and abs(sum(bars) - 75) < 1e-9  # the last indexed day: 75 BTC
    assert "2025-12-15" in npage.page.inner_text("#urpd-meta")
    npage.check_clean()
