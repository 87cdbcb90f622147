"""The real briefing for 2025-12-09 in every format and language (rendered once, see conftest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from btcmacro import report
from btcmacro.report.i18n import _PLACEHOLDER, load_catalog_dict

TAG_SRC = re.compile(r"<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", re.I)


def _text_of(html: str) -> str:
    body = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S | re.I)
    body = re.sub(r"<style\b.*?</style>", " ", body, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    import html as h

    return h.unescape(body)


def test_html_is_offline_and_self_contained(rendered):
    for lang in report.LANGS:
        html = rendered[("html", lang)].read_text("utf-8")
        assert not TAG_SRC.search(html), "a script/link/img loads from the network"
        assert "<link" not in html.lower()
        assert "Plotly.newPlot" in html and "chart-fed_balance_sheet" in html
        # plotly.js itself is inline (its bundle starts with the licence banner)
        assert re.search(r"plotly\.js v\d+\.\d+\.\d+", html)


def test_html_en_figures_with_date_and_source(rendered):
    text = _text_of(rendered[("html", "en")].read_text("utf-8"))
    # fred/WALCL.csv 2025-12-03 = 6,535,781 millions; cmc close 2025-12-09 = 92,691.71
    assert "$6.54T (2025-12-03, FRED:WALCL)" in text
    assert "$92,692 (2025-12-09, CoinMarketCap;" in text  # the provider, not its internal series key
    # fred/WDTGAL.csv 2025-12-03 = 908,523 millions
    assert "$908.5B (2025-12-03, FRED:WDTGAL)" in text
    assert "needs own-node chain data" in text  # unavailable node metrics say why
    for title in ("1. The liquidity turn", "2. The macro trap", "3. On-chain stress", "4. Mining",
                  "5. Derivatives, flows and sentiment", "6. Cross-asset", "7. Price levels",
                  "8. FOMC scenario map", "Data appendix", "Notes"):
        assert title in text


def test_html_zh_translated(rendered):
    html = rendered[("html", "zh-TW")].read_text("utf-8")
    assert 'lang="zh-Hant-TW"' in html
    text = _text_of(html)
    assert "6.54 兆美元（2025年12月3日，FRED:WALCL）" in text
    assert "92,692 美元（2025年12月9日，CoinMarketCap；" in text
    assert "需要自有節點的鏈上資料" in text
    # no English sentence from the catalogue survives in the Chinese page
    en, zh = load_catalog_dict("en"), load_catalog_dict("zh-TW")
    leaks = []
    for key, val in en.items():
        if not isinstance(val, str) or val == zh[key]:
            continue
        literal = re.sub(r"\{%.*?%\}", "\x00", _PLACEHOLDER.sub("\x00", val))
        for frag in literal.split("\x00"):
            frag = frag.strip(" .,:;()")
            if len(re.findall(r"[A-Za-z]{3,}", frag)) >= 2 and frag in text:
                leaks.append((key, frag))
    assert not leaks, leaks[:10]


def test_markdown_pngs_exist(rendered):
    for lang in report.LANGS:
        md_path = rendered[("md", lang)]
        md = md_path.read_text("utf-8")
        refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
        assert len(refs) >= 8
        for r in refs:
            assert not r.startswith(("/", "http")), r
            p = md_path.parent / r
            assert p.is_file() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", r
    assert "$6.54T (2025-12-03, FRED:WALCL)" in rendered[("md", "en")].read_text("utf-8")
    assert "6.54 兆美元（2025年12月3日，FRED:WALCL）" in rendered[("md", "zh-TW")].read_text("utf-8")


def test_json_round_trips(rendered, real_briefing):
    for lang in report.LANGS:
        doc = json.loads(rendered[("json", lang)].read_text("utf-8"))
        assert doc == json.loads(json.dumps(real_briefing.to_json()))
        assert doc["as_of"] == "2025-12-09"
        assert doc["metrics"]["fed_total_assets"]["value"] == 6_535_781e6
        assert isinstance(doc["metrics"]["fed_total_assets"]["value"], float)


def test_no_temp_files_left(rendered):
    folder = rendered[("html", "en")].parent
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not leftovers


def test_default_name_and_stdout(real_briefing, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    p = report.write(real_briefing, fmt="json", lang="zh-TW", out=None)
    assert p == tmp_path / "btcmacro-brief-2025-12-09-zh-TW.json" and p.is_file()
    assert report.write(real_briefing, fmt="json", lang="en", out=Path("-")) is None
    assert json.loads(capsys.readouterr().out)["as_of"] == "2025-12-09"


def test_stdout_markdown_skips_charts(real_briefing, capsys):
    assert report.write(real_briefing, fmt="md", lang="en", out=Path("-")) is None
    out = capsys.readouterr().out
    assert "Charts are not included when the briefing is written to standard output." in out
    assert "![" not in out


def test_failed_write_leaves_target_untouched(real_briefing, tmp_path, monkeypatch):
    target = tmp_path / "brief.json"
    target.write_text("old")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report.json, "dumps", boom)
    with pytest.raises(RuntimeError):
        report.write(real_briefing, fmt="json", lang="en", out=target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["brief.json"]


def test_render_sections_for_dashboard(real_briefing):
    secs = report.render_sections(real_briefing, "zh-TW")
    ids = [s["id"] for s in secs]
    assert ids[0] == "summary" and ids[-2:] == ["appendix", "notes"]
    liq = next(s for s in secs if s["id"] == "liquidity")
    assert liq["title"] == "1. 流動性轉折"
    assert any(p["id"] == "fed_balance_sheet" and p["traces"] for p in liq["chart_plans"])
