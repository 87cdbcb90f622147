"""Wording and formatting problems found by reading real briefings (QA of issue 3).

Each test failed before its fix. Values are the real 2025-12-09 figures from the real-data collection
(crypto_fear_greed_index.csv 2025-12-09 = 22; the SOMA-based QT status "running" from
fred/TREAST + fred/WSHOMCB rows of 2025-12-03; bgeometrics exchange_reserve 2025-12-08 =
2,683,9xx BTC) or the first CoinMarketCap close (btc_usd_daily_coinmarketcap.csv 2010-07-13 close
0.05816341).
"""

from __future__ import annotations

import pandas as pd
import pytest

from btcmacro.api import Briefing
from btcmacro.registry import MetricValue
from btcmacro.report import builder, render
from btcmacro.report.i18n import catalog, compact_source

AS_OF = pd.Timestamp("2025-12-09")


def _ev(metric, value, comparison, threshold, result, unit, date="2025-12-09", source="alternative.me:fear_greed",
        **kw):
    return {"condition": kw.pop("condition", metric), "metric": metric, "value": value, "unit": unit, "date": date,
            "source": source, "status": "ok", "comparison": comparison, "threshold": threshold,
            "threshold_key": None, "result": result, **kw}


def _fg_bands(v):
    return [_ev("fear_greed", v, "<=", t, v <= t, "index") for t in (25, 46, 54, 75)]


def _briefing(regimes, metrics=None, scenarios=(), fomc=None):
    return Briefing(AS_OF, "2025-12-09T23:00:00+00:00", "test", dict(metrics or {}), regimes, [], list(scenarios),
                    fomc, [], {})


def _regime_lines(b, lang, rid):
    doc = builder.build(b, lang)
    for sec in doc["sections"]:
        for r in sec["regimes"]:
            if r["id"] == rid:
                return r["evidence"] + r["missing"]
    raise AssertionError(rid)


def test_separators_keep_their_spaces():
    # fmt.list_sep = "; " and fmt.alt_sep = ", " were stripped to ";" and ","
    assert catalog("en").t("fmt.list_sep") == "; "
    assert catalog("en").t("fmt.alt_sep") == ", "
    assert catalog("zh-TW").t("fmt.list_sep") == "；"


@pytest.mark.parametrize("value,kept", [(22, [25]), (50, [46, 54]), (80, [75]), (40, [25, 46])])
def test_sentiment_shows_only_the_deciding_band(value, kept):
    shown = builder.display_evidence(_fg_bands(value))
    assert [e["threshold"] for e in shown] == kept


def test_sentiment_band_line_in_both_languages():
    r = {"state": "extreme fear", "evidence": _fg_bands(22), "missing": []}
    b = _briefing({"sentiment": r})
    en = _regime_lines(b, "en", "sentiment")
    # issue 11: prose, not the rule expression "22 ≤ 25 — yes", and no internal series key
    assert en == ["Crypto Fear & Greed index: 22 (2025-12-09, alternative.me), below 25"]
    zh = _regime_lines(b, "zh-TW", "sentiment")
    assert len(zh) == 1 and "為22" in zh[0] and "低於門檻25" in zh[0] and "≤" not in zh[0]


def test_state_equality_reads_naturally():
    ev = [_ev("qt_status", "running", "==", "running", True, "state", date="2025-12-03",
              source="FRED:TREAST, FRED:WSHOMCB", condition="qt_running"),
          _ev("qt_status", "running", "==", "expanding", False, "state", date="2025-12-03",
              source="FRED:TREAST, FRED:WSHOMCB", condition="qt_expanding")]
    b = _briefing({"liquidity": {"state": "tightening", "evidence": ev, "missing": []}})
    en = _regime_lines(b, "en", "liquidity")
    # was: "QT status: running = running — yes" and "QT status: running = expanding (purchases) — no"
    assert en == ["QT status is running (2025-12-03, FRED:TREAST, WSHOMCB)"]
    zh = _regime_lines(b, "zh-TW", "liquidity")
    assert zh == ["縮表狀態為進行中（2025年12月3日，FRED:TREAST, WSHOMCB）"]


def test_flag_condition_reads_naturally():
    ev = [_ev("gold_btc_inverse_move", True, "==", True, True, "bool",
              source="CoinMarketCap:btc_close, Yahoo Finance:gold_close")]
    b = _briefing({"crossasset_rotation": {"state": "no rotation", "evidence": ev, "missing": []}})
    (line,) = _regime_lines(b, "en", "crossasset_rotation")
    # was: "BTC and gold moving in opposite directions: yes = yes — yes"
    assert line == ("BTC and gold 30-day returns of opposite sign: yes "
                    "(2025-12-09, CoinMarketCap, Yahoo Finance)")


def test_missing_input_reported_once():
    why = "no data published by 2010-08-01"
    ev = [dict(_ev("fear_greed", None, "<=", t, None, None), reason=why) for t in (25, 46, 54, 75)]
    r = {"state": "insufficient data", "evidence": ev, "missing": [{"metric": "fear_greed", "reason": why}]}
    lines = _regime_lines(_briefing({"sentiment": r}), "en", "sentiment")
    # was: four "unknown" lines and a fifth "not available" line
    assert lines == ["Crypto Fear & Greed index: unknown — no data published by 2010-08-01"]


def test_exchange_reserve_is_a_level_not_a_change():
    # "exchange_reserve" contains "change_" and was printed "+2.68M BTC"
    assert not builder.signed_metric("exchange_reserve")
    assert builder.signed_metric("exchange_reserve_change_30d")
    assert builder.signed_metric("etf_netflow_5d") and builder.signed_metric("realized_cap_growth_30d")
    c = catalog("en")
    assert c.value(2_683_900.0, "BTC", signed=builder.signed_metric("exchange_reserve")) == "2.68M BTC"


def test_inflation_gap_in_percentage_points():
    # core PCE YoY 2.83% - 2% target = 0.0083 (fraction) is a rate difference: +0.83 pp, not "0.83%"
    ev = [_ev("inflation_gap_core_pce", 0.0083, ">=", 0.005, True, "fraction", date="2025-09-01",
              source="FRED:PCEPILFE")]
    b = _briefing({"macro_trap": {"state": "trap", "evidence": ev, "missing": []}},
                  {"inflation_gap_core_pce": MetricValue("inflation_gap_core_pce", 0.0083, "fraction", "2025-09-01",
                                                         "FRED:PCEPILFE", "ok")})
    (line,) = _regime_lines(b, "en", "macro_trap")
    assert line == "Core PCE gap to 2% target: +0.83 pp (2025-09-01, FRED:PCEPILFE), above +0.50 pp"
    assert builder.Ctx(b, "en").fmt("inflation_gap_core_pce", 0.0083) == "+0.83 pp"


@pytest.mark.parametrize("lang,x,expected", [
    ("en", 0.05816341, "$0.0582"), ("zh-TW", 0.05816341, "0.0582 美元"),
    ("en", 0.000012345, "$0.000012"), ("en", 5.4321, "$5.43"), ("en", 0.0, "$0.00"),
])
def test_small_prices_keep_their_digits(lang, x, expected):
    # the first BTC prices (2010) and early production costs were printed "$0.00"
    assert catalog(lang).usd(x) == expected


def test_sources_compact_and_note_only_in_the_appendix():
    src = ("Coin Metrics:CapRealUSD, Coin Metrics:CapMrktCurUSD, Coin Metrics:CapMVRVCur "
           "(Coin Metrics CapRealUSD; before its first day, market cap / MVRV)")
    assert compact_source("Coin Metrics:CapRealUSD, Coin Metrics:CapMrktCurUSD, FRED:GDP") == \
        "Coin Metrics:CapRealUSD, CapMrktCurUSD, FRED:GDP"
    assert compact_source("SEC 8-K (Strategy):mstr_holdings, SEC 8-K (Strategy):mstr_btc_acquired") == \
        "SEC 8-K (Strategy):mstr_holdings, mstr_btc_acquired"
    c = catalog("en")
    assert c.source(src, note=False) == "Coin Metrics:CapRealUSD, CapMrktCurUSD, CapMVRVCur"
    assert c.source(src).startswith("Coin Metrics:CapRealUSD, CapMrktCurUSD, CapMVRVCur (")
    mv = MetricValue("realized_cap", 1.12e12, "USD", "2025-12-08", src, "ok", alternatives=[
        {"source": "Coin Metrics:CapMrktCurUSD, Coin Metrics:CapMVRVCur (market cap / MVRV)", "value": 1.12e12,
         "diff_pct": 0.0}])
    b = _briefing({}, {"realized_cap": mv})
    ctx = builder.Ctx(b, "en")
    # the running text cites the inputs once and leaves out the same-provider fallback formula
    assert ctx.cite(mv) == "(2025-12-08, Coin Metrics:CapRealUSD, CapMrktCurUSD, CapMVRVCur)"
    text = render(b, "md", "en")
    assert "before its first day, market cap / MVRV" in text  # the appendix keeps the note


def _scenario(applicable=True):
    lv = {"name": "Resistance zone (swing highs)", "names": {"en": "Resistance zone (swing highs)", "zh-TW": "壓力區（波段高點）"},
          "price": 94060.77, "low": 93527.80, "high": 94060.77, "method": "swing_high_zone", "kind": "target"}
    t1 = {"name": "Round number", "names": {"en": "Round number", "zh-TW": "整數關卡"}, "price": 95000.0,
          "low": 95000.0, "high": 95000.0, "method": "round_number", "kind": "target"}
    t2 = dict(t1, price=100000.0, low=100000.0, high=100000.0)
    return {"id": "hold", "name": "Hold", "names": {"en": "Hold", "zh-TW": "按兵不動"}, "fomc_date": "2025-12-10",
            "decision": {"rate": {"current": [3.75, 4.0], "after": [3.75, 4.0], "change_bp": 0}, "balance_sheet": "unchanged"},
            "applicable": applicable, "probability": None,
            "paths": [{"direction": "bullish", "trigger": {"condition": "daily close above", **lv},
                       "targets": [t1, t2], "invalidation": {"condition": "daily close below", **lv},
                       "supporting_regimes": []}]}


def test_markdown_targets_and_invalidation_on_separate_lines():
    b = _briefing({}, scenarios=[_scenario()], fomc={"start": "2025-12-09", "end": "2025-12-10", "days_ahead": 1})
    text = render(b, "md", "en")
    # was: "- Targets: Round number 95,000 $95,000;...$100,000- Invalidation: ..."
    assert "- Targets: Round number $95,000; Round number $100,000\n- Invalidation: Daily close below" in text
    zh = render(b, "md", "zh-TW")
    assert "- 目標價位：整數關卡 95,000 美元；整數關卡 100,000 美元\n- 失效條件：" in zh


def test_zero_lower_bound_scenario_in_both_languages():
    sc = _scenario(applicable=False)
    sc["decision"]["rate"] = {"current": [0.0, 0.25], "after": None, "change_bp": -25, "feasible": False}
    sc["paths"] = []
    b = _briefing({}, scenarios=[sc], fomc={"start": "2020-04-28", "end": "2020-04-29", "days_ahead": 44})
    en = render(b, "md", "en")
    assert "Not applicable: the target range is 0.00% – 0.25%, at the zero lower bound" in en
    assert "-0.25%" not in en
    assert "零利率下限" in render(b, "md", "zh-TW")


def test_before_the_fomc_calendar():
    b = Briefing(pd.Timestamp("2010-08-01"), "x", "test", {}, {}, [], [], None, [], {})
    en = render(b, "md", "en")
    # was: "The next FOMC decision is due on 2015-01-28, 1641 days ahead"
    assert "The embedded FOMC calendar starts with the meeting of 2015-01-27" in en
    assert "2015-01-28" not in en
    assert "內建的 FOMC 行事曆始於 2015年1月27日" in render(b, "md", "zh-TW")
