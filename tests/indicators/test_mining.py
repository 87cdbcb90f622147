"""Mining indicators against hand-read rows of tests/fixtures/data/onchain and a plain-Python reference.

Coin Metrics and Blockchain.com rows are published the day after their date (``next_day``), so
the 2025-12-09 rows are the latest a briefing as of 2025-12-10 sees.
"""

from __future__ import annotations

import csv
import datetime as dt
import re

import pandas as pd
import pytest
from _realdata import DATA

from btcmacro import catalog
from btcmacro.indicators import mining as M
from btcmacro.registry import Evaluator

CJK = re.compile(r"[\u4e00-\u9fff]")


def csv_rows(rel: str, col: str = "value") -> list[tuple[dt.date, float]]:
    with open(DATA / rel, encoding="utf-8") as fh:
        return [(dt.date.fromisoformat(r["date"]), float(r[col])) for r in csv.DictReader(fh) if r[col] != ""]


def csv_series(rel: str, col: str = "value") -> pd.Series:
    rows = csv_rows(rel, col)
    return pd.Series([v for _, v in rows], index=pd.DatetimeIndex([d for d, _ in rows]))


@pytest.fixture()
def ev10(snapshot_store):
    return Evaluator(snapshot_store, "2025-12-10", {})


def test_hashrate_and_difficulty_units(ev10):
    # btc_hashrate_daily.csv 2025-12-09: 957412613.352836 TH/s -> 957.41 EH/s
    h = ev10.value("hashrate")
    assert (h.unit, h.date, h.published_at) == ("EH/s", "2025-12-09", "2025-12-10")
    assert h.value == pytest.approx(957.412613352836)
    # btc_difficulty_daily.csv 2025-12-09: 149301205959700
    assert ev10.value("difficulty").value == 149_301_205_959_700


def test_difficulty_adjustment_detected_across_the_mixed_day(snapshot_store):
    # btc_difficulty_daily.csv: 2025-12-10 149301205959700 (old epoch), 2025-12-11 148347367796635
    # (daily mean mixing the two), 2025-12-12 and 12-13 148195306640204 (new epoch)
    old, mixed, new = 149_301_205_959_700, 148_347_367_796_635, 148_195_306_640_204
    assert new < mixed < old  # the adjustment day is a mixture, not a difficulty of its own
    adj = M.difficulty_adjustments(csv_series("onchain/btc_difficulty_daily.csv"))
    row = adj[adj["date"] == "2025-12-11"].iloc[0]
    assert (row["before"], row["after"], row["transition_days"]) == (old, new, 1)
    assert row["change"] == pytest.approx(new / old - 1)  # -0.74%
    assert row["known"] == pd.Timestamp("2025-12-13")

    # as of 2025-12-13 the data end 2025-12-12: one day at the new value is not yet an epoch, so the
    # latest known adjustment is still 2025-11-27: 152271405447596 -> 149301205959700 (11-27 mixed)
    v = Evaluator(snapshot_store, "2025-12-13").value("difficulty_change_last_adjustment")
    assert v.value == pytest.approx(149_301_205_959_700 / 152_271_405_447_596 - 1)  # -1.95%
    assert v.detail["adjustment_date"] == pd.Timestamp("2025-11-27")
    v = Evaluator(snapshot_store, "2025-12-14").value("difficulty_change_last_adjustment")
    assert v.value == pytest.approx(new / old - 1)
    assert v.detail["adjustment_date"] == pd.Timestamp("2025-12-11")


def test_adjustment_over_missing_days_and_history_count():
    # the CSV lacks 2025-11-13..15: 2025-11-12 155027936004972 (mixed), 2025-11-16 152271405447596;
    # the old epoch 155973032196072 ran to 2025-11-11
    adj = M.difficulty_adjustments(csv_series("onchain/btc_difficulty_daily.csv"))
    row = adj[adj["date"] == "2025-11-12"].iloc[0]
    assert row["change"] == pytest.approx(152_271_405_447_596 / 155_973_032_196_072 - 1)
    assert row["known"] == pd.Timestamp("2025-11-17")
    # no two transition days in a row anywhere in 2009-2026, and the known large drops are there
    assert adj["transition_days"].max() == 1
    biggest = adj.nsmallest(1, "change").iloc[0]
    assert biggest["date"] == pd.Timestamp("2021-07-03") and biggest["change"] == pytest.approx(-0.2794, abs=1e-4)


def test_largest_drop_365d(snapshot_store):
    # 2025-06-28 126411437451912 -> 2025-06-29 mixed 118468742710105 -> 2025-06-30 116958512019762
    v = Evaluator(snapshot_store, "2025-12-10").value("difficulty_largest_drop_365d")
    assert v.value == pytest.approx(116_958_512_019_762 / 126_411_437_451_912 - 1)  # -7.48%
    assert v.detail["drop_date"] == pd.Timestamp("2025-06-29")
    # 2026-02-06 141668107417558 -> 02-07 mixed 135289579351472 -> 02-08 125864590119494 (-11.16%)
    v = Evaluator(snapshot_store, "2026-02-13").value("difficulty_largest_drop_365d")
    assert v.value == pytest.approx(125_864_590_119_494 / 141_668_107_417_558 - 1)
    assert v.detail["drop_date"] == pd.Timestamp("2026-02-07")


def test_largest_drop_is_zero_without_a_drop():
    s = pd.Series([1.0, 1.0, 1.5, 2.0, 2.0, 2.0], index=pd.date_range("2020-01-01", periods=6))
    out = M.largest_drop(s)
    assert out.iloc[-1] == 0.0 and out.attrs["detail"]["drop_date"] is None
    assert M.difficulty_adjustments(s)["change"].tolist() == [1.0]  # 1.0 -> 2.0 over one mixed day


def _ref_mean(rows, end: dt.date, days: int) -> float:
    vals = [v for d, v in rows if end - dt.timedelta(days=days) < d <= end and v > 0]
    assert len(vals) >= 0.8 * days
    return sum(vals) / len(vals) / 1e6


def test_hash_ribbon_against_plain_reference(snapshot_store):
    rows = csv_rows("onchain/btc_hashrate_daily.csv")
    end = dt.date(2025, 12, 8)  # latest row visible as of 2025-12-09
    a, b = _ref_mean(rows, end, 30), _ref_mean(rows, end, 60)
    ev = Evaluator(snapshot_store, "2025-12-09")
    v = ev.value("hash_ribbon")
    assert v.value == pytest.approx(a / b - 1)
    assert v.detail["sma_short_ehs"] == pytest.approx(a) and v.detail["sma_long_ehs"] == pytest.approx(b)
    # state and the day it began, from the same reference day by day
    day, since = end, None
    while _ref_mean(rows, day, 30) < _ref_mean(rows, day, 60):
        since, day = day, day - dt.timedelta(days=1)
    assert a < b and since is not None
    s = ev.value("hash_ribbon_state")
    assert s.value == "capitulation" and s.detail["since"] == pd.Timestamp(since)


def test_hash_ribbon_recovery_after_cross_back():
    # synthetic: a hash-rate dip makes the 30d average fall under the 60d one, then recover
    idx = pd.date_range("2024-01-01", periods=200)
    h = pd.Series(100.0, index=idx)
    h.iloc[90:110] = 60.0
    spread, state = M.hash_ribbon(h * 1e6, recovery_days=30)
    cap = state[state == "capitulation"]
    first_after = state[state.index > cap.index[-1]]
    assert first_after.iloc[0] == "recovery"
    assert (first_after.loc[:cap.index[-1] + pd.Timedelta(days=30)] == "recovery").all()
    assert first_after.iloc[-1] == "normal"
    assert (spread[state == "capitulation"] < 0).all()


def test_miner_revenue_and_hashprice(ev10):
    # btc_miner_revenue_usd_blockchaincom.csv 2025-12-09: 38202403.79200807 USD;
    # hash rate 957412613.352836 TH/s = 957412.613352836 PH/s -> about 39.90 USD/PH/s/day
    assert ev10.value("miner_revenue").value == pytest.approx(38_202_403.79200807)
    v = ev10.value("hashprice")
    assert v.unit == "USD/PH/s/day"
    assert v.value == pytest.approx(38_202_403.79200807 / 957_412.613352836)


# hash rate rows 2025-12-03..09 (TH/s), btc_hashrate_daily.csv
WEEK = [979678022.965693, 979678022.965693, 883194581.309981, 1209753922.29855, 1187488512.68569,
        1098426874.23426, 957412613.352836]


def test_production_cost_defaults(ev10):
    h = sum(WEEK) / 7  # TH/s
    watts = h * 25.0  # J/TH x TH/s
    usd_day = watts * 24 / 1000 * 0.06
    expect = usd_day / (144 * 3.125)
    v = ev10.value("production_cost")
    assert v.value == pytest.approx(expect)
    assert v.detail["subsidy_btc"] == 3.125 and v.detail["fleet_efficiency_j_per_th"] == 25.0
    # price / cost with the CMC close of the same day (2025-12-09: 92691.707470239)
    r = ev10.value("price_to_production_cost")
    assert r.date == "2025-12-09" and r.value == pytest.approx(92_691.707470239 / expect)


def test_production_cost_reads_params(snapshot_store):
    p = {"fleet_efficiency_j_per_th": 18.0, "power_price_usd_per_kwh": 0.045, "opex_multiplier": 1.3}
    v = Evaluator(snapshot_store, "2025-12-10", p).value("production_cost")
    expect = sum(WEEK) / 7 * 18.0 * 24 / 1000 * 0.045 * 1.3 / (144 * 3.125)
    assert v.value == pytest.approx(expect)


def test_subsidy_by_date():
    d = pd.DatetimeIndex(["2012-11-27", "2012-11-28", "2020-05-10", "2020-05-11", "2024-04-19", "2024-04-20"])
    assert M.block_subsidy(d).tolist() == [50.0, 25.0, 12.5, 6.25, 6.25, 3.125]


@pytest.mark.parametrize("name, src, fn", [
    ("last_adjustment", "btc_difficulty_daily.csv", M.last_adjustment_change),
    ("largest_drop", "btc_difficulty_daily.csv", M.largest_drop),
    ("ribbon_state", "btc_hashrate_daily.csv", lambda s: M.hash_ribbon(s)[1]),
    ("production_cost", "btc_hashrate_daily.csv", lambda s: M.production_cost(s)),
])
def test_no_look_ahead(name, src, fn):
    """The series on the full history, cut at D, equals the series computed from data up to D."""
    s = csv_series(f"onchain/{src}")
    s = s[s.index >= "2023-01-01"]
    full = fn(s)
    for d in pd.date_range("2025-10-10", "2026-02-12", freq="4D"):
        part = fn(s[s.index <= d])
        pd.testing.assert_series_equal(full[full.index <= d], part, check_names=False, check_freq=False)


def test_every_mining_metric_is_fully_declared():
    for m in M.METRICS:
        assert m.category == "mining", m.id
        assert m.unit and m.definition and m.citation, m.id
        assert m.names["en"] and CJK.search(m.names["zh-TW"]), m.id
        for i in m.inputs:
            assert i in catalog.SERIES, (m.id, i)
    ids = {m.id for m in M.METRICS}
    assert {"hashrate", "difficulty", "difficulty_change_last_adjustment", "difficulty_largest_drop_365d",
            "hashprice", "production_cost"} <= ids


def test_revenue_from_block_rewards_by_hand():
    from btcmacro.indicators.mining import hashprice, revenue_from_block_rewards

    idx = pd.DatetimeIndex(["2026-08-24", "2026-08-25"])
    rewards = pd.Series([318_000_000.0, 320_500_000.0], index=idx)  # sats per block (3.125 BTC + fees)
    price = pd.Series([110_000.0], index=idx[1:])                   # only the 25th has a price
    rev = revenue_from_block_rewards(rewards, price)
    assert list(rev.index) == [idx[1]]
    assert rev.iloc[0] == pytest.approx(320_500_000 * 144 / 1e8 * 110_000)   # 50,767,200 USD
    hp = hashprice(rev, pd.Series([1_000_000_000.0], index=idx[1:]))        # 1,000 EH/s in TH/s
    assert hp.iloc[0] == pytest.approx(50_767_200 / 1_000_000)               # USD per PH/s per day
