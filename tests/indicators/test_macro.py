"""Macro family: values checked by hand against the rows of the real-data collection's fred/*.csv.

The files are one mid-2026 vintage (revised values), so the figures below are the revised ones,
e.g. PAYEMS 2025-11 = 158,449 thousand (README: an end-2025 copy had 159,552).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from btcmacro.indicators import macro

# fred/PAYEMS.csv rows 2025-02-01 .. 2025-12-01 (thousands of persons)
PAYEMS = {"2025-02": 158310, "2025-03": 158377, "2025-04": 158485, "2025-05": 158498,
          "2025-06": 158478, "2025-07": 158542, "2025-08": 158472, "2025-09": 158548,
          "2025-10": 158408, "2025-11": 158449, "2025-12": 158432}
# fred/UNRATE.csv rows 2024-06-01 .. 2026-01-01; there is no 2025-10-01 row (shutdown)
UNRATE = {"2024-06": 4.1, "2024-07": 4.2, "2024-08": 4.2, "2024-09": 4.1, "2024-10": 4.1,
          "2024-11": 4.2, "2024-12": 4.1, "2025-01": 4.0, "2025-02": 4.2, "2025-03": 4.2,
          "2025-04": 4.2, "2025-05": 4.3, "2025-06": 4.1, "2025-07": 4.3, "2025-08": 4.3,
          "2025-09": 4.4, "2025-11": 4.5, "2025-12": 4.4, "2026-01": 4.3}


def _change(m_now: str, m_before: str) -> float:
    return (PAYEMS[m_now] - PAYEMS[m_before]) * 1000.0


def _sahm_by_hand(month: str) -> float:
    """Plain-Python Sahm rule over UNRATE: averages over the published months of each 3-month
    window (at least 2), minus the lowest such average of the previous 12 months."""
    def months_back(m: str, k: int) -> str:
        p = pd.Period(m, "M") - k
        return f"{p.year:04d}-{p.month:02d}"

    def ma3(m: str):
        vals = [UNRATE[x] for x in (months_back(m, 2), months_back(m, 1), m) if x in UNRATE]
        return sum(vals) / len(vals) if len(vals) >= 2 else None

    prev = [ma3(months_back(month, k)) for k in range(1, 13)]
    return ma3(month) - min(v for v in prev if v is not None)


# ---------------------------------------------------------------------------------------------
# payrolls
# ---------------------------------------------------------------------------------------------


def test_payrolls_as_of_2025_12_09_is_september(evaluate):
    # September's report came out 2025-11-20 (delayed); Oct+Nov only on 2025-12-16
    v = evaluate("2025-12-09").value("payrolls_change")
    assert v.date == "2025-09-01"
    assert v.value == pytest.approx(_change("2025-09", "2025-08"))  # 158548 - 158472 = +76k
    assert v.value == pytest.approx(76_000)
    assert v.published_at == "2025-11-20"


def test_november_payrolls_not_visible_before_2025_12_16(evaluate):
    before = evaluate("2025-12-15").value("payrolls_change")
    assert before.date == "2025-09-01"  # still September
    after = evaluate("2025-12-16").value("payrolls_change")
    assert after.date == "2025-11-01"
    assert after.value == pytest.approx(_change("2025-11", "2025-10"))  # 158449 - 158408 = +41k
    s = evaluate("2025-12-16").series("payrolls_change")
    assert s.loc["2025-10-01"] == pytest.approx(_change("2025-10", "2025-09"))  # -140k


def test_payrolls_negative_months_of_7(evaluate):
    # as of 2025-12-09: Mar..Sep 2025 changes +67, +108, +13, -20, +64, -70, +76 -> 2 negative
    v = evaluate("2025-12-09").value("payrolls_negative_months_of_7")
    assert v.value == 2
    months = [c["month"] for c in v.detail["changes"]]
    assert months == ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09"]
    assert [c["change"] for c in v.detail["changes"]] == pytest.approx(
        [_change(m, f"2025-{int(m[5:]) - 1:02d}") for m in months])
    # as of 2026-01-09 (December report): Jun..Dec = -20, +64, -70, +76, -140, +41, -17 -> 4
    v = evaluate("2026-01-09").value("payrolls_negative_months_of_7")
    assert v.date == "2025-12-01" and v.value == 4


# ---------------------------------------------------------------------------------------------
# unemployment and the Sahm rule
# ---------------------------------------------------------------------------------------------


def test_sahm_rule_by_hand(evaluate):
    # as of 2025-12-09 the latest UNRATE is September 2025: (4.3 + 4.3 + 4.4) / 3 - 4.1
    v = evaluate("2025-12-09").value("sahm_rule")
    assert v.date == "2025-09-01"
    assert v.value == pytest.approx(_sahm_by_hand("2025-09"))
    assert v.value == pytest.approx((4.3 + 4.3 + 4.4) / 3 - 4.1)
    # as of 2025-12-16 November is out; October was never collected, so Sep and Nov are averaged
    v = evaluate("2025-12-16").value("sahm_rule")
    assert v.date == "2025-11-01"
    assert v.value == pytest.approx((4.4 + 4.5) / 2 - 4.1)
    assert v.value == pytest.approx(_sahm_by_hand("2025-11"))
    assert v.detail["months_averaged"] == ["2025-09", "2025-11"]
    assert v.detail["months_missing"] == ["2025-10"]
    assert evaluate("2025-12-16").value("unemployment_rate").value == 4.5


def test_sahm_rule_matches_fred_sahmcurrent(evaluate):
    # Reference: FRED SAHMCURRENT (St. Louis Fed), 2 decimals, as listed in the Hugging Face
    # dataset FinzData/macro-recession (fetched 2026): Nov 2025 .. Jul 2026. Independent of our
    # code; FRED handles the missing October 2025 the same way (average of published months).
    fred = {"2025-11-01": 0.35, "2025-12-01": 0.35, "2026-01-01": 0.30, "2026-02-01": 0.27,
            "2026-03-01": 0.20, "2026-04-01": 0.13, "2026-05-01": 0.10, "2026-06-01": 0.07,
            "2026-07-01": -0.03}
    s = evaluate("2026-08-20").series("sahm_rule")
    for d, ref in fred.items():
        assert round(s.loc[d], 2) == pytest.approx(ref), d
    assert pd.Timestamp("2025-10-01") not in s.index  # no unemployment rate, no indicator


# ---------------------------------------------------------------------------------------------
# inflation: same month a year earlier, across the shutdown gap
# ---------------------------------------------------------------------------------------------


def test_cpi_yoy_across_the_october_2025_gap(evaluate):
    # CPIAUCSL 2025-11-01 = 325.063, 2024-11-01 = 316.528, 2024-10-01 = 315.631; no 2025-10 row.
    v = evaluate("2025-12-18").value("cpi_yoy")  # November CPI published 2025-12-18
    assert v.date == "2025-11-01"
    assert v.value == pytest.approx(325.063 / 316.528 - 1)
    assert not math.isclose(v.value, 325.063 / 315.631 - 1, rel_tol=1e-6)  # "12 rows back" is wrong
    assert v.detail["compared_with"] == "2024-11"
    assert "2025-10" in v.detail["missing_months"]
    # the day before, the latest CPI is September's
    assert evaluate("2025-12-17").value("cpi_yoy").date == "2025-09-01"
    core = evaluate("2025-12-18").value("core_cpi_yoy")
    assert core.value == pytest.approx(331.043 / 322.657 - 1)  # CPILFESL Nov 2025 / Nov 2024


def test_yoy_same_month_leaves_gaps_as_nan():
    idx = pd.date_range("2023-01-01", "2025-03-01", freq="MS")
    s = pd.Series(np.arange(len(idx), dtype=float) + 100.0, index=idx).drop(pd.Timestamp("2023-10-01"))
    out = macro.yoy_same_month(s)
    assert np.isnan(out.loc["2023-10-01"])  # the missing month itself
    assert np.isnan(out.loc["2024-10-01"])  # a year later: no base month
    # November 2024 still compares with November 2023 (value 110 -> 122)
    assert out.loc["2024-11-01"] == pytest.approx(122.0 / 110.0 - 1)


def test_core_pce_and_gap(evaluate):
    # PCEPILFE 2025-09-01 = 126.954 (published 2025-12-05), 2024-09-01 = 123.466
    v = evaluate("2025-12-09").value("core_pce_yoy")
    assert v.date == "2025-09-01" and v.published_at == "2025-12-05"
    assert v.value == pytest.approx(126.954 / 123.466 - 1)
    gap = evaluate("2025-12-09").value("inflation_gap_core_pce")
    assert gap.value == pytest.approx(126.954 / 123.466 - 1 - 0.02)
    # before 2025-12-05 the latest is August: 126.714 / 123.128
    v = evaluate("2025-12-04").value("core_pce_yoy")
    assert v.date == "2025-08-01"
    assert v.value == pytest.approx(126.714 / 123.128 - 1)


# ---------------------------------------------------------------------------------------------
# JOLTS, claims, yields, dollar
# ---------------------------------------------------------------------------------------------


def test_jolts(evaluate):
    ev = evaluate("2025-12-09")  # Sep and Oct JOLTS published together on 2025-12-09
    v = ev.value("jolts_openings")
    assert v.date == "2025-10-01" and v.value == pytest.approx(7_170_000)  # JTSJOL 7170
    t = ev.value("jolts_openings_trend")
    assert t.value == pytest.approx(7170 / 7379 - 1)  # Oct 2024 = 7379
    assert t.detail["change_6m"] == pytest.approx(7170 / 7098 - 1)  # Apr 2025 = 7098
    assert ev.value("quits_rate").value == pytest.approx(1.9)  # JTSQUR 2025-10
    assert ev.value("quits_rate_change_12m").value == pytest.approx(1.9 - 2.0)  # 2024-10 = 2.0
    # the day before, August was the latest (6919, published 2025-09-30)
    v = evaluate("2025-12-08").value("jolts_openings")
    assert v.date == "2025-08-01" and v.value == pytest.approx(6_919_000)


def test_hires_rate_not_declared():
    # JTSHIR is not in the data and not in the catalogue: no metric pretends to have it
    assert "jolts_hires_rate" not in {m.id for m in macro.METRICS}


def test_claims_yields_dollar(evaluate):
    ev = evaluate("2025-12-09")
    c = ev.value("initial_claims")  # ICSA week ending 2025-11-29 = 216,000, out Thu 2025-12-04
    assert c.date == "2025-11-29" and c.value == 216_000
    assert c.detail["four_week_average"] == pytest.approx((228000 + 222000 + 218000 + 216000) / 4)
    assert evaluate("2025-12-11").value("initial_claims").value == 235_000  # week to 2025-12-06
    y = ev.value("us10y")  # DGS10 2025-12-08 = 4.17 (published the next business day)
    assert y.date == "2025-12-08" and y.value == pytest.approx(4.17)
    assert ev.value("real_yield_10y").value == pytest.approx(1.91)  # DFII10 2025-12-08
    d = ev.value("dollar_index")  # DTWEXBGS week to Fri 2025-12-05 published Mon 2025-12-08
    assert d.date == "2025-12-05" and d.value == pytest.approx(120.6863)


def test_month_change_needs_previous_month():
    s = pd.Series([1.0, 2.0, 5.0], index=pd.to_datetime(["2025-08-01", "2025-09-01", "2025-11-01"]))
    out = macro.monthly_change(s, 1000)
    assert out.loc["2025-09-01"] == 1000
    assert np.isnan(out.loc["2025-11-01"])  # October missing: no two-month change
