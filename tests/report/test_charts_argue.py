"""Charts that argue (issue 11, item 5), on the real snapshot.

Hand-checked inputs (rows of the shared data):
* fred/SOFR 2025-12-08 = 3.95 and fred/DFEDTARU = 4.00 since 2025-10-30: SOFR minus the top of the
  range = -5.0 bp on 2025-12-08.
* fred/WRESBAL / GDP on 2025-12-03 = 9.33% (test_format.py), below the 10% "ample" threshold of
  default_rules.toml ([funding_stress] reserves_to_gdp_ample = 0.10).
* CoinMarketCap close 2025-12-09 = 92,691.71 ("$92,692").
* The FOMC calendar (src/btcmacro/data/fomc_meetings.csv): QT start decided 2022-05-04, effective
  2022-06-01; QT end decided 2025-10-29, effective 2025-12-01; reserve-management bill purchases
  decided 2025-12-10, effective 2025-12-12.
* The RMP assumption: $40B of bills a month (default rules) = $480B over a year.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from btcmacro.report import builder, charts, svg


@pytest.fixture(scope="module")
def later_briefing(snapshot_store_path):
    """As of 2026-03-18: the RMP start (decided 2025-12-10) is known."""
    from btcmacro import api
    from btcmacro.store import Store

    with Store(snapshot_store_path, read_only=True) as st:
        return api.briefing("2026-03-18", store=st, now=dt.datetime(2026, 3, 18, 23, tzinfo=dt.UTC))


def test_round_ticks():
    assert svg.nice_ticks(0.2, 9.7) == ([0, 2, 4, 6, 8, 10], 0, 10)
    ticks, lo, hi = svg.nice_ticks(83_000, 126_000)
    assert ticks == [80_000, 90_000, 100_000, 110_000, 120_000, 130_000] and (lo, hi) == (80_000, 130_000)
    assert svg.nice_step(12.5) == 2.5 and svg.nice_step(0.9) == 0.2
    assert svg.tick_text(7.5, 2.5) == "7.5" and svg.tick_text(100_000, 10_000) == "100,000"
    # date ticks land on month boundaries, every 3 months over two years at desktop width
    ts = svg.date_ticks(pd.Timestamp("2023-12-10"), pd.Timestamp("2025-12-09"), lambda t: f"{t:%b %y}", 600)
    assert [t.strftime("%Y-%m-%d") for t, _ in ts][:3] == ["2024-01-01", "2024-04-01", "2024-07-01"]
    assert all(t.day == 1 for t, _ in ts)


def test_events_come_from_the_calendar_point_in_time():
    ev = charts.events("2025-12-09")
    kinds = {(e["kind"], e["date"].date().isoformat()) for e in ev}
    assert ("qt_start", "2022-06-01") in kinds and ("qt_end", "2025-12-01") in kinds
    assert ("decision", "2025-10-29") in kinds
    assert ("rmp_start", "2019-10-15") in kinds  # 2019 bill purchases "to keep reserves ample", from 10-15
    assert not any(k == "rmp_start" and d >= "2025" for k, d in kinds)  # decided 2025-12-10: not known yet
    assert ("decision", "2025-12-10") not in kinds
    later = {(e["kind"], e["date"].date().isoformat()) for e in charts.events("2025-12-10")}
    assert ("rmp_start", "2025-12-12") in later and ("decision", "2025-12-10") in later


def test_level_charts_say_how_much_they_moved(real_briefing):
    """WALCL 2021-12-15 = 8,756,666 millions, 2025-12-03 = 6,535,781: down 2,220,885 millions = $2.22T,
    25.36% of the start."""
    p = charts.plan(builder.Ctx(real_briefing, "en"), "fed_balance_sheet")
    assert p["caption"]["takeaway"] == "Fed total assets fell $2.22T (25.4%) between 2021-12-15 and 2025-12-03."
    zh = charts.plan(builder.Ctx(real_briefing, "zh-TW"), "fed_balance_sheet")
    assert zh["caption"]["takeaway"] == "聯準會總資產自2021年12月15日至2025年12月3日減少2.22兆美元（25.4%）。"


def test_client_charts_share_one_window_and_say_so(real_briefing):
    ctx = builder.Ctx(real_briefing, "en")
    start = pd.Timestamp("2025-12-09") - pd.Timedelta(days=730)
    for cid in charts.CLIENT_CHARTS:
        p = charts.plan(ctx, cid)
        assert not p["fallback"], cid
        cap = p["caption"]
        assert cap["takeaway"] and cap["source"] and cap["date"], cid
        assert ":" not in cap["source"] and "_" not in cap["source"], cap["source"]  # providers, not keys
        first = min(t.x[0] for t in p["traces"])
        if cid == "fed_balance_sheet":  # four years, so that the start of QT is in view
            assert cap["window"] == "window: 4 years to 2025-12-09" and first < pd.Timestamp("2022-06-01")
        elif cid == "rmp_bills":  # the assumed path runs a year past the data, and says so
            assert cap["window"] == "window: 2 years to 2025-12-09, then the assumed path for a year"
            assert first > start and p["x_range"][1] == pd.Timestamp("2026-12-03")
        else:
            assert cap["window"] == "window: 2 years to 2025-12-09" and first > start, cid


def test_reserves_against_the_ample_line(real_briefing):
    p = charts.plan(builder.Ctx(real_briefing, "en"), "reserves_gdp")
    assert p["refs"][0]["y"] == pytest.approx(10.0) and p["refs"][0]["label"] == "“ample” line at 10.0%"
    t = p["traces"][0]
    assert t.x[-1] == pd.Timestamp("2025-12-03") and t.y[-1] == pytest.approx(9.33, abs=0.005)
    # "since": the day after the last observation at or above the line, recomputed here
    s = pd.Series(t.y, index=t.x)
    since = s[s.index > s[s >= 10.0].index[-1]].index[0]
    assert p["caption"]["takeaway"] == (f"Reserves / GDP stood at 9.33% on 2025-12-03, below the “ample” line "
                                        f"at 10.0% since {since.date().isoformat()}.")


def test_sofr_minus_the_range_top(real_briefing):
    p = charts.plan(builder.Ctx(real_briefing, "en"), "sofr_range_top")
    t = p["traces"][0]
    assert t.x[-1] == pd.Timestamp("2025-12-08") and t.y[-1] == pytest.approx(-5.0, abs=1e-6)
    assert t.axis_label == "basis points"
    assert p["caption"]["takeaway"].startswith("SOFR minus the range top stood at -5.0 bp on 2025-12-08, below the "
                                               "top of the target range")
    assert [e["kind"] for e in p["events"] if not e["minor"]] == ["qt_end"]


def test_rmp_path_against_actual_holdings(real_briefing, later_briefing):
    p = charts.plan(builder.Ctx(real_briefing, "en"), "rmp_bills")
    actual, path = p["traces"]
    assert path.trace.dash == "dash" and "(assumption)" in path.name and "$40.0B a month" in path.name
    # not started by 2025-12-09: the path starts at the last published week
    assert path.x[0] == actual.x[-1] == pd.Timestamp("2025-12-03") and path.y[0] == pytest.approx(actual.y[-1])
    assert path.y[-1] - path.y[0] == pytest.approx(0.48, abs=1e-9)  # $480B in trillions, over 365 days
    assert "at the assumed $40.0B a month they would grow by $480.0B in a year" in p["caption"]["takeaway"]

    q = charts.plan(builder.Ctx(later_briefing, "en"), "rmp_bills")
    actual, path = q["traces"]
    assert path.x[0] == pd.Timestamp("2025-12-12")  # from the RMP start, known by 2026-03-18
    base = [y for x, y in zip(actual.x, actual.y) if x <= pd.Timestamp("2025-12-12")][-1]
    assert path.y[0] == pytest.approx(base)
    assert q["caption"]["takeaway"].startswith("Since purchases began on 2025-12-12, Treasury holdings changed by")
    assert "RMP starts 2025-12-12" in charts.svg(builder.Ctx(later_briefing, "en"), q)
    assert "RMP starts" not in charts.svg(builder.Ctx(real_briefing, "en"), p)


def test_price_chart_labels_the_nearest_levels_apart(real_briefing):
    ctx = builder.Ctx(real_briefing, "en")
    p = charts.plan(ctx, "btc_levels")
    price = p["traces"][0].y[-1]
    assert price == pytest.approx(92_691.71, abs=0.01)
    assert len(p["labels"]) == charts.MAX_LEVEL_LABELS < len(p["bands"])
    mid = lambda b: abs((b["low"] + b["high"]) / 2 - price)  # noqa: E731
    assert max(map(mid, p["labels"])) <= min(mid(b) for b in p["bands"] if b not in p["labels"])
    # the nearest levels on each side, with their distance from the close (the price itself is
    # quoted once, in the text): 90,000 / 92,691.71 - 1 = -2.90%, 93,528 / 92,691.71 - 1 = +0.90%
    assert p["caption"]["takeaway"] == ("From the close of 2025-12-09, the nearest support is Round number at "
                                        "$90,000 (-2.90%) and the nearest resistance Resistance zone (swing highs) "
                                        "at $93,528 – $94,061 (+0.90%).")
    for narrow, n in ((False, 6), (True, 4)):
        drawn = charts.svg(ctx, p, narrow=narrow)
        ys = sorted(float(y) for y in re.findall(r'<text class="level-label" x="[\d.]+" y="([\d.]+)"', drawn))
        assert len(ys) == n
        assert all(b - a >= svg.LABEL_GAP - 0.11 for a, b in zip(ys, ys[1:]))  # coordinates rounded to 0.1


def test_providers_name_no_field_keys():
    assert charts.providers("BGeometrics:supply_in_loss, Coin Metrics:SplyCur") == ["BGeometrics", "Coin Metrics"]
    assert charts.providers("FRED:WALCL, WDTGAL, RRPONTSYD (net liquidity)") == ["FRED"]
    assert charts.providers(None) == []


def test_cost_basis_takeaway_compares_one_day(real_briefing):
    """Price, realized price and STH cost basis on the same day (the last day all three have:
    2025-12-08, as the on-chain providers lag the close by a day): 90,640 / 56,332 - 1 = +60.9%,
    90,640 / 102,767 - 1 = -11.8% (the same -11.8% as the briefing's price_vs_sth metric)."""
    p = charts.plan(builder.Ctx(real_briefing, "en"), "mvrv_realized")
    assert p["caption"]["takeaway"] == ("On 2025-12-08 bitcoin, at $90,640, was 60.9% above the realized price "
                                        "($56,332) and 11.8% below the short-term holders' cost basis ($102,767); "
                                        "MVRV 1.61.")
    mv = real_briefing.metrics["price_vs_sth_cost_basis"]
    assert mv.date == "2025-12-08" and round(100 * mv.value, 1) == -11.8
