"""The first screen (report/narrative.py): headline, thesis, scorecard, what changed, freshness.

Checked on the real 2025-12-09 briefing (the session fixture of conftest.py) in every format and
language, on the latest date of the embedded snapshot (2026-08-22), and through the CLI.
"""

from __future__ import annotations

import json
import re

import pytest

from btcmacro.report import narrative

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
ASCII_ID = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
CJK = r"\u3400-\u9fff"


def _texts(fs: dict) -> list[str]:
    """Every client text of a first screen."""
    out = [fs["title"], fs["headline"], fs["thesis"], fs["freshness"]["data"], fs["freshness"]["ages"],
           fs["scorecard"]["title"], *fs["scorecard"]["columns"], fs["changes"]["title"], *fs["changes"]["columns"]]
    for r in fs["scorecard"]["rows"]:
        out += [r["regime"], r["state"], r["conviction"], r["figure"], r["age"], r["direction_title"]]
    for p in fs["changes"]["periods"]:
        out += [p["title"], p["nothing"]]
        for r in p["rows"]:
            out += [r["what"], r["before"], r["now"], r["change"]]
    return [t for t in out if t]


def _zh_wording_problems(text: str) -> list[str]:
    bad = []
    if ISO.search(text):
        bad.append(f"ISO date: {ISO.search(text).group()}")
    if ASCII_ID.search(text):
        bad.append(f"internal id: {ASCII_ID.search(text).group()}")
    m = re.search(rf"([{CJK}]{{2,}})[：:，、\s]*\1", text)
    if m:
        bad.append(f"doubled words: {m.group()}")
    m = re.search(r"(淨流入|淨流出|增加|減少|上漲|下跌|上升|下降|高於|低於|領先|落後)\s*[-−+]", text)
    if m:
        bad.append(f"sign after a sign word: {m.group()}")
    m = re.search(rf"\d[ \u00a0]+[{CJK}]|[{CJK}][ \u00a0]+\d", text)
    if m:
        bad.append(f"stray space: {m.group()!r}")
    if "btcmacro" in text or "rules file" in text or "規則檔" in text:
        bad.append("command or file hint")
    return bad


@pytest.fixture(scope="module")
def screens(real_briefing):
    return {lang: narrative.first_screen(real_briefing, lang) for lang in ("en", "zh-TW")}


def test_en_first_screen_states_the_view(screens):
    fs = screens["en"]
    assert fs["headline"].startswith("Money-market funding stress keeps Bitcoin on the defensive")
    assert "the Fed's policy turn" in fs["headline"]
    t = fs["thesis"]
    assert t.startswith("On balance the evidence weighs against Bitcoin, with 5 of 7 regimes adverse and 2 supportive.")
    assert "The dominant driver is money-market funding stress (conviction 71 of 100)" in t
    assert "on 16 of the last 60 days (to 8 December)" in t
    assert "The main counter-signal is the Fed's policy turn: the FOMC decided on 29 October to end " \
           "balance-sheet runoff from 1 December." in t
    assert "The view would weaken if" in t
    assert 4 <= len(re.findall(r"[.!?](?:\s|$)", t)) <= 6
    assert not ISO.search(t) and not ASCII_ID.search(t)


def test_zh_thesis_reads_as_an_editor_would(screens):
    fs = screens["zh-TW"]
    assert fs["headline"].startswith("貨幣市場資金壓力使比特幣承壓")
    t = fs["thesis"]
    assert "主導因素是貨幣市場資金壓力（信心分數71分，滿分100）" in t
    assert "有16天" in t and "（截至12月8日）" in t
    # behind the driver: the macro trap's inflation gap, then the hash ribbon; a shortfall is 低於 with
    # a positive number
    assert "核心 PCE 通膨高於2%目標0.83個百分點（2025年9月資料，12月5日公布）" in t
    assert "算力30日均值低於60日均值1.8%" in t
    assert "FOMC 於10月29日決議自12月1日起停止縮表" in t
    for text in _texts(fs):
        assert _zh_wording_problems(text) == [], text


def test_zh_sign_words_in_what_changed(screens):
    rows = {r["what"]: r for p in screens["zh-TW"]["changes"]["periods"][:1] for r in p["rows"]}
    # bank reserves fell $38.3B in the week: 減少383億美元, with the percentage unsigned
    assert rows["銀行準備金"]["change"] == "減少383億美元（1.3%）"
    assert rows["比特幣價格"]["change"].startswith("增加1,342美元")
    en = {r["what"]: r for p in screens["en"]["changes"]["periods"][:1] for r in p["rows"]}
    assert en["Bank reserves"]["change"] == "−$38.3B (−1.3%)"
    assert en["Bank reserves"]["before"] == "$2.90T (26 November)"


def test_the_wording_checker_catches_each_problem():
    assert _zh_wording_problems("淨流入 −1.6億美元")
    assert _zh_wording_problems("總經陷阱：陷阱：陷阱")
    assert _zh_wording_problems("655 萬枚")
    assert _zh_wording_problems("資料截至 2025-12-09")
    assert _zh_wording_problems("btc_close 為 9 萬")
    assert _zh_wording_problems("淨流出1.6億美元") == []


def test_scorecard_rows(screens, real_briefing):
    rows = screens["en"]["scorecard"]["rows"]
    assert [r["regime"] for r in rows] == ["Fed liquidity", "Funding stress", "Macro trap", "On-chain cycle",
                                           "Miner stress", "Sentiment", "Gold–BTC rotation"]
    fs = next(r for r in rows if r["regime"] == "Funding stress")
    # 82.9 a week earlier → 71.4: less adverse, shown ↑
    assert (fs["state"], fs["arrow"], fs["conviction"]) == ("Stress", "↑", "71/100")
    assert fs["figure"].startswith("The secured overnight rate (SOFR) fixed at or above")
    js = {r["regime"]: r for r in real_briefing.to_json()["scorecard"]}
    assert js["funding_stress"]["previous"] == {"state": "stress", "conviction": pytest.approx(82.9, abs=0.05),
                                                "as_of": "2025-12-02"}
    assert js["onchain"]["direction"] == "up"  # contraction (−1) → late-stage contraction (−0.5)


def test_freshness_on_the_first_screen(screens, real_briefing):
    en = screens["en"]["freshness"]
    assert en["data"] == ("Data through 22 August 2026, from the snapshot shipped with the software; "
                          "refresh with a live update for later figures.")
    assert "Sahm rule indicator (19 days)" in en["ages"]
    assert screens["zh-TW"]["freshness"]["data"].startswith("軟體內建資料快照的數據截至2026年8月22日")
    # a live update changes the line (and never shows a command)
    import copy

    live = copy.copy(real_briefing)
    live.freshness = {**real_briefing.freshness, "snapshot_only": False}
    assert narrative.first_screen(live, "en")["freshness"]["data"] == "Data through 22 August 2026."


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_first_screen_in_html_and_markdown(rendered, screens, lang):
    from markupsafe import escape

    fs = screens[lang]
    html = rendered[("html", lang)].read_text(encoding="utf-8")
    md = rendered[("md", lang)].read_text(encoding="utf-8")
    assert 'class="first-screen"' in html and str(escape(fs["headline"])) in html
    assert str(escape(fs["thesis"])) in html
    assert html.index('class="first-screen"') < html.index('id="summary"')
    assert f"**{fs['headline']}**" in md and fs["thesis"] in md
    assert md.index(fs["headline"]) < md.index(fs["scorecard"]["title"]) < md.index(fs["changes"]["title"])
    for r in fs["scorecard"]["rows"]:
        assert f"| {r['regime']} | {r['state']} | {r['arrow']} | {r['conviction']} |" in md


def test_first_screen_in_json(rendered, real_briefing):
    doc = json.loads(rendered[("json", "en")].read_text(encoding="utf-8"))
    assert doc["thesis"]["driver"] == "funding_stress" and doc["thesis"]["view"] == "bearish"
    sig = doc["thesis"]["signals"][0]
    assert sig["id"] == "funding_stress.sofr_at_top" and sig["score"] == pytest.approx(95.0)
    assert len(doc["scorecard"]) == 7
    assert [p["id"] for p in doc["changes"]["periods"]] == ["week", "fomc", "30d"]
    for lang in ("en", "zh-TW"):
        assert doc["first_screen"][lang]["headline"] == narrative.first_screen(real_briefing, lang)["headline"]
    assert doc["freshness"]["data_through"] == "2026-08-22" and doc["freshness"]["snapshot_only"] is True


@pytest.mark.parametrize("as_of", ["2026-08-22", "2022-11-15"])
def test_other_dates_show_input_ages_and_words_hold(snapshot_store, as_of):
    """On the last date of the snapshot, monthly inputs are weeks old: each one's age is shown."""
    from btcmacro import api

    b = api.briefing(as_of, store=snapshot_store, with_charts=False)
    fr = b.freshness
    old = [i for i in fr["inputs"] if i["unit"] != "state" and (i["age_days"] or 0) > narrative.AGE_SHOWN_DAYS]
    assert old or as_of != "2026-08-22"
    if as_of == "2026-08-22":
        # a negative spread is a level with its sign; a negative monthly change is a fall in words
        rows = {r["what"]: r for p in narrative.first_screen(b, "zh-TW")["changes"]["periods"] for r in p["rows"]}
        assert rows["SOFR與IORB利差"]["now"] == "−3.0個基點（8月19日）"
        assert rows["非農就業人數月變動"]["now"] == "減少2.3萬人（2026年7月）"
    assert b.thesis["view"] in ("bullish", "bearish", "mixed") and len(b.scorecard) == len(b.regimes)
    fs = {lang: narrative.first_screen(b, lang) for lang in ("en", "zh-TW")}
    for i in old:
        assert f"({i['age_days']} days)" in fs["en"]["freshness"]["ages"]
        assert f"（{i['age_days']}天）" in fs["zh-TW"]["freshness"]["ages"]
    for text in _texts(fs["zh-TW"]):
        assert _zh_wording_problems(text) == [], text
    for text in _texts(fs["en"]):
        assert not ISO.search(text) and not ASCII_ID.search(text) and "btcmacro" not in text, text


def test_cli_compare(snapshot_store_path, tmp_path):
    from typer.testing import CliRunner

    from btcmacro.cli import app

    out = tmp_path / "b.json"
    r = CliRunner().invoke(app, ["brief", "--as-of", "2025-12-09", "--compare", "2025-11-01", "--format", "json",
                                 "--out", str(out), "--store", str(snapshot_store_path)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    (p,) = doc["changes"]["periods"]
    assert (p["id"], p["as_of"]) == ("compare", "2025-11-01")
    price = next(m for m in p["metrics"] if m["metric"] == "btc_price")
    assert price["from"]["date"] == "2025-11-01"
    # the scorecard still compares with the previous week
    assert {r["previous"]["as_of"] for r in doc["scorecard"]} == {"2025-12-02"}
    zh = doc["first_screen"]["zh-TW"]["changes"]["periods"][0]["title"]
    assert zh == "自11月1日以來"

    bad = CliRunner().invoke(app, ["brief", "--as-of", "2025-12-09", "--compare", "2025-12-10", "--format", "json",
                                   "--out", str(tmp_path / "x.json"), "--store", str(snapshot_store_path)])
    assert bad.exit_code == 2
    assert "--compare" in bad.output and "not before" in bad.output
    assert not (tmp_path / "x.json").exists()


def test_narrative_catalogues_have_the_same_keys_and_cover_every_state():
    from btcmacro.rules import thesis

    en, zh = narrative.load("en"), narrative.load("zh-TW")
    assert set(en) == set(zh)
    for key in thesis.settings_defaults()["stance"]:
        for lang in (en, zh):
            assert f"phrase.{key}" in lang and f"state.{key}" in lang, key
    assert len(en["date.months"]) == len(zh["date.months"]) == 12
