"""The briefing HTML in a real Chromium (Debian's /usr/bin/chromium driven by Playwright), at a
phone width (390 px) and a desktop width (1400 px), in both languages (issue 11, "Done when"):

* no horizontal overflow: the page is never wider than the window;
* the level labels on the price chart never overlap (their bounding boxes, as laid out);
* the event-marker labels never overlap either;
* every chart has a caption with a takeaway and a source line;
* the page loads nothing from the network (every request other than the file itself is aborted
  and recorded) and logs no error.

A second test writes docs/img/first-screen-en.png and first-screen-zh-TW.png (the first screen
at a phone width, shown in docs/report.md), so the documentation pictures are made by the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path, width: int, height: int = 900):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    seen = {"blocked": [], "errors": []}
    target = path.resolve().as_uri()

    def route(r):
        if r.request.url == target:
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(target)
    return ctx, page, seen


_BOXES = """(sel) => Array.from(document.querySelectorAll(sel))
  .filter(e => e.getClientRects().length && getComputedStyle(e.closest('svg')).display !== 'none'
               && e.closest('svg').getBoundingClientRect().width > 0)
  .map(e => { const r = e.getBoundingClientRect();
              return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, svg: e.closest('figure').id,
                      text: e.textContent}; })"""


def _overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["svg"] != b["svg"]:
                continue
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            if w > 0.5 and h > 0.5:
                out.append((a["text"], b["text"]))
    return out


@pytest.mark.parametrize("width", [390, 1400])
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_layout_at_phone_and_desktop_width(browser, rendered, lang, width):
    ctx, page, seen = _open(browser, rendered[("html", lang)], width)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.body.scrollWidth") <= width
        # nothing is drawn beyond the right edge (an element wider than the window would be clipped)
        right = page.evaluate("""() => Math.max(...Array.from(document.querySelectorAll('main *'))
            .filter(e => e.getClientRects().length && !e.closest('svg')).map(e => e.getBoundingClientRect().right))""")
        assert right <= width + 0.5

        labels = page.evaluate(_BOXES, "#figure-btc_levels text.level-label")
        assert 3 <= len(labels) <= 6  # the nearest few levels; the table has the rest
        assert _overlaps(labels) == []
        events = page.evaluate(_BOXES, "svg text.event-label")
        assert events and _overlaps(events) == []

        figures = page.locator("figure.chart")
        n = figures.count()
        assert n >= 6
        for i in range(n):
            f = figures.nth(i)
            fid = f.get_attribute("id")
            assert f.locator("svg.chart-svg").count() >= 1, fid
            assert f.locator("figcaption .takeaway").inner_text().strip(), fid
            src = f.locator("figcaption .chart-source").inner_text()
            assert ("Source:" in src) if lang == "en" else ("資料來源：" in src), fid
        # the client note comes first: its charts sit above the analyst appendix
        client_bottom = page.evaluate("document.getElementById('client-charts').getBoundingClientRect().bottom")
        analyst_top = page.evaluate("document.getElementById('analyst').getBoundingClientRect().top")
        assert client_bottom <= analyst_top
        assert seen == {"blocked": [], "errors": []}
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def later_pages(snapshot_store_path, tmp_path_factory):
    """As of 2026-03-18: QT's end and the RMP start sit eleven days apart on every liquidity chart."""
    import datetime as dt

    from btcmacro import api, report
    from btcmacro.store import Store

    with Store(snapshot_store_path, read_only=True) as st:
        b = api.briefing("2026-03-18", store=st, now=dt.datetime(2026, 3, 18, 23, tzinfo=dt.UTC))
    out = tmp_path_factory.mktemp("later")
    return {lang: report.write(b, fmt="html", lang=lang, out=out / f"later-{lang}.html") for lang in ("en", "zh-TW")}


@pytest.mark.parametrize("width", [390, 1400])
@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_close_events_keep_their_labels_apart(browser, later_pages, lang, width):
    ctx, page, seen = _open(browser, later_pages[lang], width)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        events = page.evaluate(_BOXES, "svg text.event-label")
        texts = " ".join(e["text"] for e in events)
        assert ("RMP starts" in texts) if lang == "en" else ("準備金管理購債開始" in texts)
        assert _overlaps(events) == []
        # every label stays inside its chart
        inside = page.evaluate("""() => Array.from(document.querySelectorAll('svg text.event-label'))
            .filter(e => e.getClientRects().length).every(e => { const r = e.getBoundingClientRect(),
                     s = e.closest('svg').getBoundingClientRect(); return r.left >= s.left - 0.5 && r.right <= s.right + 0.5; })""")
        assert inside
        assert _overlaps(page.evaluate(_BOXES, "#figure-btc_levels text.level-label")) == []
        assert seen == {"blocked": [], "errors": []}
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_first_screen_png_for_the_docs(browser, rendered, lang):
    """docs/img/first-screen-<lang>.png: the first screen at phone size, as a reader sees it."""
    ctx, page, seen = _open(browser, rendered[("html", lang)], 390, 844)
    try:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        out = DOCS_IMG / f"first-screen-{lang}.png"
        tmp = out.with_suffix(".tmp.png")
        page.screenshot(path=str(tmp), full_page=False)
        os.replace(tmp, out)
        data = out.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) < 400_000  # small enough for the repository
        title = page.inner_text("h1")
        assert ("Bitcoin macro briefing" in title) if lang == "en" else ("比特幣總經簡報" in title)
        assert seen == {"blocked": [], "errors": []}
    finally:
        ctx.close()
