"""Own-node HODL waves and URPD in a real Chromium (Debian's /usr/bin/chromium via Playwright).

The dashboard serves the snapshot store with a small synthetic chain synced and published
(the ``node`` fixture of ``test_web_chain.py``). Every request to anything but 127.0.0.1 is
aborted, and a console error or a blocked request fails the test.
"""

from __future__ import annotations

import pytest
from _webhelp import free_port, serve_in_thread
from test_web_browser import watched_page  # same folder: a page that records errors and off-host requests
from test_web_browser import browser  # noqa: F401 -- the module's Chromium fixture
from test_web_browser import pytestmark  # noqa: F401 -- skip without /usr/bin/chromium
from test_web_chain import KEYS, node  # noqa: F401 -- the synced and published synthetic chain


@pytest.fixture(scope="module")
def node_server(node):
    """uvicorn serving a dashboard over the node's store and chain index, on a free port."""
    from btcmacro.web import create_app

    port = free_port()
    yield from serve_in_thread(create_app(node["store"], index_path=node["index"], port=port), port)


@pytest.fixture()
def npage(browser, node_server):  # noqa: F811 -- the imported fixture
    yield from watched_page(browser, node_server)


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
