"""FOMC event study: decisions derived from DFEDTARU, CARs and intervals checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from btcmacro.research import fomc_events as F


@pytest.fixture(scope="module")
def study(research_store):
    return F.fomc_event_study((-5, 10), store=research_store)


def test_decisions_derived_from_the_target_range(research_store):
    from btcmacro import rules

    upper = research_store.series("fred/DFEDTARU")
    dec = F.classify_decisions(rules.meetings(), upper)
    # fred/DFEDTARU.csv: 2015-12-15 0.25 -> 2015-12-17 0.50; 2020-03-02 1.75 -> 2020-03-04 1.25;
    # 2020-03-14 1.25 -> 2020-03-16 0.25; 2025-12-08 4.00 -> 2025-12-11 3.75
    assert dec.loc["2015-12-16", ["decision", "change_bp"]].tolist() == ["hike", 25.0]
    assert dec.loc["2020-03-03", ["decision", "change_bp"]].tolist() == ["cut", -50.0]
    assert dec.loc["2020-03-15", ["decision", "change_bp"]].tolist() == ["cut", -100.0]
    assert dec.loc["2025-12-10", ["decision", "change_bp"]].tolist() == ["cut", -25.0]
    assert dec.loc["2024-07-31", "decision"] == "hold"
    assert dec.loc["2022-06-15", "change_bp"] == 75.0
    # the embedded calendar's balance-sheet news comes along
    assert dec.loc["2022-05-04", "balance_sheet"] == "qt_start"
    assert dec.loc["2020-03-23", "balance_sheet"] == "purchases"


def test_counts_match_the_public_record(study):
    m = study.meetings
    # hikes 2015-2023: 2015 (1), 2016 (1), 2017 (3), 2018 (4), 2022 (7), 2023 (4) = 20
    assert int((m["decision"] == "hike").sum()) == 20
    # cuts: 2019 (3), 2020 (2, both unscheduled), 2024 (3), 2025 (3) = 11
    assert int((m["decision"] == "cut").sum()) == 11
    g = study.groups.set_index(["asset", "group"])
    assert g.loc[("BTC", "decision: hike"), "n"] == 20
    assert g.loc[("BTC", "all meetings"), "n"] == len(m)


def test_car_by_hand_on_real_closes(research_store):
    price = research_store.series("cmc/btc_close")
    car, ar = F.event_car(price, "log", pd.Timestamp("2025-12-10"), (0, 0), est_days=2)
    # btc_usd_daily_coinmarketcap.csv closes 2025-12-07 90405.6385108749, 12-08 90640.2055811025,
    # 12-09 92691.707470239, 12-10 92020.9457350057
    r0 = math.log(92020.9457350057 / 92691.707470239)
    normal = (math.log(92691.707470239 / 90640.2055811025) + math.log(90640.2055811025 / 90405.6385108749)) / 2
    assert car == pytest.approx(r0 - normal)
    assert ar.tolist() == pytest.approx([r0 - normal])


def test_car_synthetic_jump_and_bp_units():
    idx = pd.bdate_range("2024-01-01", periods=40)
    level = pd.Series(4.0 + 0.01 * np.arange(40), index=idx)  # +1 bp a day: the normal change
    level.iloc[25:] += 0.10  # a 10 bp jump on day 25
    car, ar = F.event_car(level, "bp", idx[25], (-2, 3), est_days=10)
    assert car == pytest.approx(10.0)  # abnormal = jump only
    assert len(ar) == 6
    # day 0 is the first trading day on or after a weekend event (idx[25] = Monday 2024-02-05)
    assert idx[25] == pd.Timestamp("2024-02-05")
    assert F.event_car(level, "bp", pd.Timestamp("2024-02-03"), (0, 0), 10)[0] == pytest.approx(10.0)
    assert F.event_car(level, "bp", idx[2], (-5, 3), 10) is None  # not enough history


def test_group_intervals():
    from scipy import stats

    x = pd.Series([0.10, -0.05, 0.02, 0.07, -0.01])
    g = F.group_stats(x)
    m, s, n = x.mean(), x.std(ddof=1), len(x)
    half = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
    assert (g["n"], g["mean"]) == (5, pytest.approx(m))
    assert g["t_ci_low"] == pytest.approx(m - half) and g["t_ci_high"] == pytest.approx(m + half)
    assert g["boot_ci_low"] < m < g["boot_ci_high"]
    assert F.group_stats(x) == g  # fixed seed: reproducible
    assert np.isnan(F.group_stats(pd.Series([0.1]))["t_ci_low"])


def test_windows_parse_and_reject():
    from btcmacro.errors import UsageError

    assert F.parse_window("-5,+10") == (-5, 10)
    for bad in ["3,4", "a,b", "-100,5"]:
        with pytest.raises(UsageError):
            F.parse_window(bad)


def test_report_tables_state_sample_and_method(study):
    doc = study.to_doc()
    assert any("Welch" in t.caption for s in doc.sections for t in s.tables)
    for s in doc.sections:
        for t in s.tables:
            assert "Sample" in t.caption and "daily" in t.caption and "Method" in t.caption
    assert study.summary[0].startswith(f"{len(study.meetings)} FOMC decisions")
