"""Liquidity indicators against hand-read rows of tests/fixtures/data/fred (snapshot values)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from _realdata import DATA

from btcmacro.indicators import liquidity as L
from btcmacro.registry import Evaluator

FRED = DATA / "fred"
PARAMS = {}


@pytest.fixture()
def ev(snapshot_store):
    return Evaluator(snapshot_store, "2025-12-09", PARAMS)


def test_balance_sheet_and_qt(ev):
    # WALCL.csv: 2025-12-03,6535781 (millions); max row 2022-04-13,8965487
    v = ev.value("fed_total_assets")
    assert (v.value, v.date, v.published_at, v.source) == (6_535_781e6, "2025-12-03", "2025-12-04", "FRED:WALCL")
    peak = ev.value("fed_total_assets_peak")
    assert peak.value == 8_965_487e6 and peak.detail["peak_date"] == pd.Timestamp("2022-04-13")
    assert ev.value("qt_runoff_since_peak").value == (8_965_487 - 6_535_781) * 1e6


def test_qt_status_detected_from_holdings(snapshot_store):
    # TREAST+WSHOMCB 2025-10-08: 4196659+2085983; 2025-12-03: 4188739+2053665 -> -40.238bn over 56 days
    v = Evaluator(snapshot_store, "2025-12-09").value("qt_status")
    assert v.value == "running"
    assert v.detail["change_total_usd"] == pytest.approx(((4188739 + 2053665) - (4196659 + 2085983)) * 1e6)
    # 2025-12-31: TREAST 4227801 vs 2025-11-05 4192743 (+35.1bn), total +4.1bn -> runoff stopped
    assert Evaluator(snapshot_store, "2026-01-02").value("qt_status").value == "ended"
    # 2026-02-25: total 4321596+2010418 vs 2025-12-31 4227801+2039024 = +65.2bn -> purchases
    assert Evaluator(snapshot_store, "2026-03-01").value("qt_status").value == "expanding"


def test_net_liquidity_units_reconciled(ev):
    # WALCL 6,535,781 M; WDTGAL 2025-12-03 908,523 M; RRPONTSYD 2025-12-03 2.514 B
    v = ev.value("net_liquidity")
    assert v.date == "2025-12-03"
    assert v.value == pytest.approx((6_535_781 - 908_523) * 1e6 - 2.514e9)


def test_reserves_to_gdp_uses_gdp_published_by_as_of(ev):
    # Q3 2025 GDP (31,180.493) was first published 2025-12-23, so on 2025-12-09 Q2 (30,630.174) applies
    v = ev.value("reserves_to_gdp")
    assert v.value == pytest.approx(2_858_284e6 / 30_630.174e9)


def test_money_market_spreads(ev):
    # SOFR 2025-12-08 3.95 (published 12-09); IORB 3.90
    v = ev.value("sofr_iorb_spread_bp")
    assert v.date == "2025-12-08" and v.value == pytest.approx(5.0)
    # reference count: plain loop over the CSV rows in (2025-10-09, 2025-12-08]
    sofr = {r["date"]: float(r["value"]) for r in csv.DictReader(open(FRED / "SOFR.csv"))}
    top = {r["date"]: float(r["value"]) for r in csv.DictReader(open(FRED / "DFEDTARU.csv"))}
    n = sum(1 for d, x in sofr.items() if "2025-10-09" < d <= "2025-12-08" and x >= top[d])
    assert n == 16
    assert ev.value("sofr_at_or_above_range_top_days_60").value == n


def test_m2(ev):
    # M2SL 2025-10-01 22,249.8 (published 2025-11-25); 2024-10-01 21,336.7
    assert ev.value("m2").value == pytest.approx(22_249.8e9)
    assert ev.value("m2_yoy").value == pytest.approx(22_249.8 / 21_336.7 - 1)
    assert ev.value("m2_record_high").value is True


def test_rmp_projection_pure():
    idx = pd.date_range("2025-01-01", periods=30, freq="7D")
    mbs = pd.Series([2_000_000 - 3_500 * i for i in range(30)], index=idx, dtype=float)  # millions
    s = L.rmp_projection(mbs, monthly_bill_purchases_usd=40e9, runoff_window_days=182)
    assert s.iloc[-1] == 480e9
    weekly = 3_500e6
    assert s.attrs["detail"]["mbs_runoff_monthly_usd"] == pytest.approx(weekly * 26 / (182 / 30.4375))


def test_yoy_compares_same_month_not_rows():
    idx = pd.DatetimeIndex(["2024-09-01", "2024-10-01", "2024-11-01", "2025-09-01", "2025-11-01"])
    s = pd.Series([100.0, 101.0, 102.0, 110.0, 112.2], index=idx)  # 2025-10 missing (shutdown)
    y = L.yoy(s)
    assert y.loc["2025-11-01"] == pytest.approx(112.2 / 102.0 - 1)
    assert y.loc["2025-09-01"] == pytest.approx(0.10)


def test_qt_policy_from_fomc_decisions(snapshot_store):
    # fomc_meetings.csv: 2025-10-29 qt_end effective 2025-12-01; 2025-12-10 purchases effective 2025-12-12
    before = Evaluator(snapshot_store, "2025-11-15").value("qt_policy")
    assert before.value == "runoff" and before.date == "2025-04-01"  # the April 2025 taper is in force
    assert before.detail["scheduled"] == "size_held"
    assert before.detail["scheduled_from"] == pd.Timestamp("2025-12-01")
    on = Evaluator(snapshot_store, "2025-12-09").value("qt_policy")
    assert (on.value, on.date, on.published_at, on.status) == ("size_held", "2025-12-01", "2025-10-29", "ok")
    assert "scheduled" not in (on.detail or {})  # the 2025-12-10 decision is not known on 12-09
    after = Evaluator(snapshot_store, "2025-12-10").value("qt_policy")
    assert after.value == "size_held" and after.detail["scheduled"] == "purchases"
    # an old decision stays in force: never 'stale'
    assert Evaluator(snapshot_store, "2023-06-01").value("qt_policy").status == "ok"
