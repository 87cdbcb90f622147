"""The dashboard in a real Chromium (Debian's /usr/bin/chromium driven by Playwright).

Every page is loaded with *all* requests to anything but 127.0.0.1 aborted (Playwright route), and
every test fails on a console error, an uncaught page error or an attempt to reach another host.

Hand-checked values (rows of the real-data collection's CSVs, the embedded snapshot's sources):
* net liquidity 2025-12-03 = WALCL 6535781e6 - WDTGAL 908523e6 - RRP 2.514e9 = 5.624744e12 USD
  ("$5.62T"); as of 2024-06-03 the latest H.4.1 week is 2024-05-29: 7284319e6 - 716020e6 -
  459.314e9 = 6.108985e12 USD ("$6.11T").
* CoinMarketCap close 2024-06-03 = 68804.7800851881, 2025-12-03 = 93527.8038002451,
  2025-01-02 = 96886.8782682304.
"""

from __future__ import annotations

import csv
import json
import os
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"browser tests need Debian's chromium at {CHROMIUM} "
                                       "(apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # CI installs playwright==1.65.2

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page plus what it tried and what went wrong."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.blocked: list[str] = []

    def goto(self, url: str):
        r = self.page.goto(url)
        assert r is not None and r.status == 200, (url, r and r.status)
        return r

    def wait_drawn(self, selector: str, timeout: float = 30_000):
        self.page.wait_for_selector(f"{selector}[data-state='drawn']", timeout=timeout)

    def check_clean(self):
        assert self.console_errors == []
        assert self.blocked == []


def watched_page(browser, base_url: str, **context_options):
    """Generator for a fixture: a :class:`Watched` page of a new context on ``base_url`` whose
    requests to anything but 127.0.0.1 are aborted and recorded, and whose console errors are
    recorded; the context is closed when resumed."""
    ctx = browser.new_context(base_url=base_url, **context_options)
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


@pytest.fixture()
def wpage(browser, live_server):
    yield from watched_page(browser, live_server, accept_downloads=True)


def _cell(page, metric_id):
    return page.inner_text(f"#m-{metric_id} td.num")


def test_briefing_renders_for_two_dates(wpage):
    p = wpage.page
    wpage.goto("/?as_of=2025-12-09")
    assert p.inner_text("#page-title") == "Briefing as of 2025-12-09"
    assert _cell(p, "net_liquidity") == "$5.62T"
    wpage.wait_drawn("#btc-chart")
    last = p.evaluate("() => { const d = document.getElementById('btc-chart').data[0]; return [d.x[d.x.length-1], d.y[d.y.length-1]]; }")
    assert last[0] == "2025-12-09"
    # the date picker: a second as-of date
    p.fill("#as_of", "2024-06-03")
    with p.expect_navigation():
        p.click("#asof-submit")
    assert "as_of=2024-06-03" in p.url
    assert p.inner_text("#page-title") == "Briefing as of 2024-06-03"
    assert _cell(p, "net_liquidity") == "$6.11T"
    wpage.wait_drawn("#btc-chart")
    last = p.evaluate("() => { const d = document.getElementById('btc-chart').data[0]; return [d.x[d.x.length-1], d.y[d.y.length-1]]; }")
    assert last[0] == "2024-06-03" and last[1] == pytest.approx(68804.7800851881, rel=1e-9)
    small = p.locator(".chart.small")
    assert small.count() >= 1
    for i in range(small.count()):
        div_id = small.nth(i).get_attribute("id")
        state = p.wait_for_selector(f"#{div_id}:not([data-state='pending'])").get_attribute("data-state")
        assert state in ("drawn", "empty"), div_id
    wpage.check_clean()


def test_metric_chart_draws_svg_with_data_points(wpage):
    p = wpage.page
    wpage.goto("/explore?metric=net_liquidity&metric=cmc/btc_close&twin=1&scale=log&start=2025-01-01&as_of=2025-12-09")
    wpage.wait_drawn("#explore-chart")
    lines = p.locator("#explore-chart svg .scatterlayer path.js-line")
    assert lines.count() == 2
    d = lines.nth(1).get_attribute("d")
    assert d.count("L") > 300  # ~343 daily BTC points from 2025-01-01 to 2025-12-09
    gd = p.evaluate("""() => { const g = document.getElementById('explore-chart');
        return {n: g.data.map(t => t.x.length), x0: g.data[1].x[1], y0: g.data[1].y[1],
                type: g.layout.yaxis.type, over: g.layout.yaxis2.overlaying, axis: g.data[1].yaxis}; }""")
    api_n = [json.loads(p.request.get(f"/api/series?metric={m}&start=2025-01-01&as_of=2025-12-09").text())["count"]
             for m in ("net_liquidity", "cmc/btc_close")]
    assert gd["n"] == api_n and api_n[1] == 343
    assert gd["x0"] == "2025-01-02" and gd["y0"] == pytest.approx(96886.8782682304, rel=1e-9)
    assert gd["type"] == "log" and gd["over"] == "y" and gd["axis"] == "y2"
    assert "Fed total assets − TGA − ON RRP" in p.inner_text("#def-1")
    assert p.inner_text("#def-2 dd.unit") == "USD"
    wpage.check_clean()


def test_language_switch_changes_labels(wpage):
    p = wpage.page
    wpage.goto("/?as_of=2025-12-09")
    assert p.inner_text("#nav-briefing") == "Briefing"
    with p.expect_navigation():
        p.click("#lang-zh-TW")
    assert "lang=zh-TW" in p.url and "as_of=2025-12-09" in p.url
    assert p.get_attribute("html", "lang") == "zh-TW"
    assert p.inner_text("#nav-briefing") == "簡報"
    assert p.inner_text("#page-title") == "截至 2025-12-09 的簡報"
    assert p.inner_text("#m-net_liquidity td a") == "淨流動性"
    assert _cell(p, "net_liquidity") == "5.62 兆美元"
    wpage.wait_drawn("#btc-chart")
    with p.expect_navigation():
        p.click("#lang-en")
    assert p.inner_text("#nav-briefing") == "Briefing"
    wpage.check_clean()


def test_csv_export_downloads_with_expected_header(wpage, tmp_path):
    p = wpage.page
    wpage.goto("/explore?metric=net_liquidity&metric=cmc/btc_close&twin=1&as_of=2025-12-09&start=2025-12-01")
    wpage.wait_drawn("#explore-chart")
    with p.expect_download() as info:
        p.click("#export-csv")
    dl = info.value
    assert dl.suggested_filename == "btcmacro_net_liquidity_cmc-btc_close_2025-12-09.csv"
    target = tmp_path / dl.suggested_filename
    dl.save_as(target)
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["date", "net_liquidity", "cmc/btc_close"]
    by_date = {r[0]: r for r in rows[1:]}
    assert float(by_date["2025-12-03"][1]) == pytest.approx(5_624_744e6, rel=1e-12)
    assert float(by_date["2025-12-03"][2]) == pytest.approx(93527.8038002451, rel=1e-12)
    assert max(by_date) == "2025-12-09"
    wpage.check_clean()


def test_png_export(wpage):
    p = wpage.page
    wpage.goto("/explore?metric=cmc/btc_close&start=2025-06-01&end=2025-12-09")
    wpage.wait_drawn("#explore-chart")
    url = p.evaluate("() => Plotly.toImage(document.getElementById('explore-chart'), {format: 'png', width: 500, height: 300})")
    assert url.startswith("data:image/png;base64,") and len(url) > 5000
    with p.expect_download() as info:
        p.click("#export-png")
    assert info.value.suggested_filename.endswith(".png")
    wpage.check_clean()


def test_levels_are_drawn_as_bands_on_the_price_chart(wpage):
    p = wpage.page
    wpage.goto("/?as_of=2025-12-09")
    wpage.wait_drawn("#btc-chart")
    real = json.loads(p.request.get("/api/briefing/charts?as_of=2025-12-09").text())["levels"]
    numeric = [lv for lv in real if isinstance(lv.get("low"), (int, float)) and isinstance(lv.get("high"), (int, float))]
    assert p.evaluate("() => (document.getElementById('btc-chart').layout.shapes || []).length") == len(numeric)
    # independently of what the rules produce today: two known levels become two bands
    levels = [{"name": "test resistance", "low": 105000.0, "high": 100000.0, "kind": "resistance"},
              {"name": "test support", "low": 80000.0, "high": 82000.0, "kind": "support"}]

    def patch(route):
        resp = route.fetch()
        body = resp.json()
        body["levels"] = levels
        route.fulfill(response=resp, body=json.dumps(body))

    p.route("**/api/briefing/charts*", patch)
    wpage.goto("/?as_of=2025-12-09")
    wpage.wait_drawn("#btc-chart")
    shapes = p.evaluate("() => document.getElementById('btc-chart').layout.shapes.map(s => [s.y0, s.y1, s.xref, s.fillcolor])")
    assert [(s[0], s[1], s[2]) for s in shapes] == [(100000, 105000, "paper"), (80000, 82000, "paper")]
    assert "214,39,40" in shapes[0][3] and "44,160,44" in shapes[1][3]
    wpage.check_clean()


def test_works_with_every_other_host_blocked(wpage):
    p = wpage.page
    wpage.goto("/?as_of=2025-12-09")
    wpage.wait_drawn("#btc-chart")
    wpage.goto("/explore")
    wpage.wait_drawn("#explore-chart")
    assert p.evaluate("() => typeof Plotly.newPlot") == "function"  # the local bundle
    for url in ("/status", "/api/docs"):
        wpage.goto(url)
    wpage.check_clean()
    # the block is real: a request to another host never leaves the browser
    from playwright.sync_api import Error

    with pytest.raises(Error, match="ERR_FAILED"):
        p.goto("http://example.com/")
    assert wpage.blocked == ["http://example.com/"]
    # and the page's own CSP would refuse it too (connect-src 'self')
    p2 = p.context.new_page()
    assert p2.goto("/status").status == 200
    ok = p2.evaluate("() => fetch('http://example.com/').then(() => 'reached', () => 'refused')")
    assert ok == "refused" and wpage.blocked == ["http://example.com/"]


def test_status_page(wpage):
    p = wpage.page
    wpage.goto("/status")
    assert p.get_attribute("#update-running", "data-running") == "no"
    assert p.inner_text("#status-version").startswith("snapshot-")
    assert "FRED" in p.inner_text("#sources")
    wpage.check_clean()
