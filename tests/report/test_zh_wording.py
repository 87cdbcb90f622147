"""The Traditional Chinese briefing reads as an editor wrote it (issue 11, "zh-TW reads as template
output"), checked over the whole rendered page — client note, analyst appendix, chart labels —
for four as-of dates of the real snapshot.

Each rule is checked text node by text node (two neighbouring elements are not one phrase):

* sign words carry the sign: never 淨流入/淨流出/增加/減少/上升/下降 followed by a signed number
  (淨流入 −1.6億美元 must read 淨流出1.6億美元);
* no doubled words ("總經陷阱：陷阱：", "資金市場壓力：壓力") and no "轉為轉折";
* no space between a number and its unit or counter (655萬枚, 9,085億美元, 16天);
* no internal tokens: template syntax, None/nan/True/False, registry metric ids, catalogue keys;
* no ISO dates or timestamps (dates read 2025年12月9日).
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

DATES = ("2025-12-09", "2024-06-03", "2026-03-18", "2023-03-15")

SIGN_WORDS = re.compile(r"(淨流入|淨流出|流入|流出|增加|減少|上升|下降|增長)\s*[-−+]\s?\d")
DOUBLED = re.compile(r"([\u4e00-\u9fff]{2,4})[：:、，\s]?\1")
STRAY_SPACE = re.compile(r"\d\s+(萬|億|兆|枚|美元|天|個月|個基點|個百分點|週|人)|(萬|億|兆)\s+(枚|美元|人)")
TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\bNone\b|\bnan\b|\bNaN\b|\bTrue\b|\bFalse\b|\bundefined\b")
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{2}:\d{2}:\d{2}\b|T\d{2}:\d{2}")


class _Texts(HTMLParser):
    """Visible text nodes (style content skipped; SVG text and titles kept)."""

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.nodes.append(data.strip())


def text_nodes(html: str) -> list[str]:
    p = _Texts()
    p.feed(html)
    return p.nodes


def problems(nodes: list[str]) -> dict[str, list[str]]:
    from btcmacro.registry import REGISTRY

    ids = re.compile(r"(?<![\w:/.])(" + "|".join(sorted(map(re.escape, REGISTRY), key=len, reverse=True)) + r")(?![\w])")
    keys = re.compile(r"\b(s|label|chart|regime|state|fmt|scenario|level|ui)\.[a-z_]+\b")
    out: dict[str, list[str]] = {}
    for n in nodes:
        for name, rx in (("sign word", SIGN_WORDS), ("doubled word", DOUBLED), ("stray space", STRAY_SPACE),
                         ("template token", TEMPLATE), ("metric id", ids), ("catalogue key", keys), ("ISO date", ISO)):
            m = rx.search(n)
            if m:
                out.setdefault(name, []).append(f"{m.group(0)!r} in {n[:120]!r}")
        if "轉為轉折" in n:
            out.setdefault("nonsense", []).append(n[:120])
    return out


@pytest.fixture(scope="module")
def zh_pages(snapshot_store_path):
    from btcmacro import api, report
    from btcmacro.store import Store

    pages = {}
    with Store(snapshot_store_path, read_only=True) as st:
        for d in DATES:
            b = api.briefing(d, store=st, now=dt.datetime(2026, 8, 23, 6, 30, tzinfo=dt.UTC))
            pages[d] = (report.render(b, "html", "zh-TW"), report.render(b, "md", "zh-TW"))
    return pages


@pytest.mark.parametrize("as_of", DATES)
def test_zh_html_reads_as_edited_text(zh_pages, as_of):
    html, _ = zh_pages[as_of]
    nodes = text_nodes(html)
    assert len(nodes) > 200  # the whole page was read, not an empty shell
    assert problems(nodes) == {}


@pytest.mark.parametrize("as_of", DATES)
def test_zh_markdown_reads_as_edited_text(zh_pages, as_of):
    _, md = zh_pages[as_of]
    lines = [ln for ln in md.splitlines() if ln.strip() and not ln.startswith("![")]
    # a table row holds several phrases: check cell by cell
    nodes = [c.strip() for ln in lines for c in ln.strip("|").split(" | ")]
    assert problems(nodes) == {}


def test_the_issue_examples_are_caught():
    """The checks find each wording fault the issue lists (so a pass above means something)."""
    found = problems(["總經陷阱：陷阱：勞動市場轉弱", "此情境下轉為轉折：數據仍顯示緊縮", "淨流入 −1.6 億美元",
                      "655 萬 枚比特幣", "產生時間 2026-12-08T03:14:59+00:00", "資金市場壓力：壓力",
                      "{{ name }}", "sth_cost_basis 為 102,767美元"])
    assert set(found) == {"doubled word", "nonsense", "sign word", "stray space", "ISO date", "template token",
                          "metric id"}
    assert len(found["doubled word"]) == 2
    assert problems(["淨流出1.6億美元（2025年12月9日）", "655萬枚比特幣", "產生時間 2026年12月8日 03:14 UTC",
                     "資金市場：壓力升高"]) == {}


def test_etf_outflow_is_written_as_an_outflow():
    """A negative five-day ETF flow reads 淨流出 with a positive amount (and "net outflows" in English)."""
    from btcmacro import report
    from btcmacro.api import Briefing
    from btcmacro.registry import MetricValue

    mv = MetricValue("etf_netflow_5d", -1.6e8, "USD", "2025-12-08", "Farside Investors:etf_flows", "ok")
    b = Briefing(pd_ts("2025-12-09"), "2025-12-09T23:00:00+00:00", "test", {"etf_netflow_5d": mv}, {}, [], [],
                 None, [], {})
    zh = report.render(b, "md", "zh-TW")
    assert "過去五個交易日淨流出1.6億美元（2025年12月8日" in zh
    assert "淨流入" not in zh
    en = report.render(b, "md", "en")
    assert "Spot bitcoin ETFs saw net outflows of $160.0M (2025-12-08" in en


def pd_ts(s: str):
    import pandas as pd

    return pd.Timestamp(s)
