"""Market family: recomputed independently in plain Python from
tests/fixtures/data/btc/btc_usd_daily_coinmarketcap.csv, plus the price-level helpers."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from btcmacro.indicators import market

CMC_CSV = "btc/btc_usd_daily_coinmarketcap.csv"


@pytest.fixture(scope="module")
def closes(shared_csv) -> list[tuple[dt.date, float]]:
    """(date, close) from the CoinMarketCap CSV, in file order (ascending, daily)."""
    return [(dt.date.fromisoformat(r["date"]), float(r["close"])) for r in shared_csv(CMC_CSV)]


def _upto(closes, as_of: str):
    d = dt.date.fromisoformat(as_of)
    return [(x, c) for x, c in closes if x <= d]


def _ma_200w_by_hand(rows) -> float:
    """Mean of 200 weekly closes: the last close of each ISO week (Mon-Sun), the running week
    taking the latest close."""
    last_of_week: dict[tuple[int, int], float] = {}
    for d, c in rows:  # ascending, so the last assignment is the week's last close
        last_of_week[d.isocalendar()[:2]] = c
    weeks = list(last_of_week.values())
    return sum(weeks[-200:]) / 200


@pytest.mark.parametrize("as_of", ["2025-12-09", "2022-11-21"])
def test_price_and_moving_averages(evaluate, closes, as_of):
    rows = _upto(closes, as_of)
    px = [c for _, c in rows]
    ev = evaluate(as_of)
    v = ev.value("btc_price")
    assert v.date == as_of and v.value == pytest.approx(px[-1], rel=1e-12)
    assert v.source == "CoinMarketCap:btc_close"
    assert ev.value("btc_ma_50d").value == pytest.approx(sum(px[-50:]) / 50, rel=1e-12)
    assert ev.value("btc_ma_200d").value == pytest.approx(sum(px[-200:]) / 200, rel=1e-12)
    assert ev.value("btc_ma_200w").value == pytest.approx(_ma_200w_by_hand(rows), rel=1e-12)


def test_values_on_2025_12_09_by_hand(evaluate):
    ev = evaluate("2025-12-09")
    # CSV row 2025-12-09 close 92,691.707470239; highest close 124,752.5283520974 on 2025-10-06
    assert ev.value("btc_price").value == pytest.approx(92691.707470239)
    ath = ev.value("btc_ath")
    assert ath.value == pytest.approx(124752.5283520974)
    assert ath.detail["ath_date"] == pd.Timestamp("2025-10-06")
    dd = ev.value("btc_drawdown_from_ath")
    assert dd.value == pytest.approx(92691.707470239 / 124752.5283520974 - 1)  # -0.2570
    assert dd.value < 0
    alt = [a["source"] for a in ev.value("btc_price").alternatives]
    assert alt == ["Yahoo Finance:btc_close", "Coin Metrics:PriceUSD"]


@pytest.mark.parametrize("as_of", ["2025-12-09", "2024-03-14"])
def test_volatility_and_return_by_hand(evaluate, closes, as_of):
    rows = _upto(closes, as_of)
    px = [c for _, c in rows]
    rets = [math.log(px[i] / px[i - 1]) for i in range(len(px) - 30, len(px))]
    assert len(rets) == 30
    ev = evaluate(as_of)
    assert ev.value("btc_realized_vol_30d").value == pytest.approx(statistics.stdev(rets) * math.sqrt(365), rel=1e-9)
    base_day = rows[-1][0] - dt.timedelta(days=30)
    base = dict(rows)[base_day]
    assert ev.value("btc_return_30d").value == pytest.approx(px[-1] / base - 1, rel=1e-12)


def test_ath_is_point_in_time(evaluate, closes):
    rows = _upto(closes, "2025-10-05")
    best = max(rows, key=lambda r: r[1])
    v = evaluate("2025-10-05").value("btc_ath")
    assert v.value == pytest.approx(best[1])
    assert v.detail["ath_date"] == pd.Timestamp(best[0])
    assert v.value < 124752.5  # the 2025-10-06 record is not known yet
    assert evaluate("2025-10-06").value("btc_drawdown_from_ath").value == 0.0


# ---------------------------------------------------------------------------------------------
# price levels
# ---------------------------------------------------------------------------------------------


def test_swing_points_synthetic():
    idx = pd.date_range("2025-01-01", periods=11, freq="D")
    h = pd.Series([1, 2, 3, 2, 1, 2, 5, 2, 1, 4, 0], index=idx, dtype=float)
    sp = market.swing_points(h, window=2)
    highs = sp[sp.kind == "high"]
    lows = sp[sp.kind == "low"]
    assert list(highs.date) == [idx[2], idx[6]]  # 3 and 5; 4 at idx 9 has only one bar after
    assert list(highs.price) == [3.0, 5.0]
    assert list(highs.confirmed) == [idx[4], idx[8]]
    assert list(lows.date) == [idx[4]]  # idx 8 (1) has a lower bar (0) two bars later
    # a flat top counts once, at its first bar
    flat = pd.Series([0, 1, 3, 3, 1, 0, 0], index=idx[:7], dtype=float)
    sp = market.swing_points(flat, window=2)
    assert list(sp[sp.kind == "high"].date) == [idx[2]]


def test_swing_points_real_data_and_no_look_ahead(shared_csv):
    rows = shared_csv(CMC_CSV)
    df = pd.DataFrame({"high": [float(r["high"]) for r in rows], "low": [float(r["low"]) for r in rows]},
                      index=pd.to_datetime([r["date"] for r in rows]))
    df = df["2025-06-01":"2025-12-09"]
    sp = market.swing_points(df["high"], df["low"], window=7)
    top = sp[sp.kind == "high"].sort_values("price").iloc[-1]
    assert top.date == pd.Timestamp("2025-10-06")  # CSV high 126,198.0696034339
    assert top.price == pytest.approx(126198.0696034339)
    assert top.confirmed == pd.Timestamp("2025-10-13")
    low = sp[sp.kind == "low"].sort_values("price").iloc[0]
    assert low.date == pd.Timestamp("2025-11-21")  # CSV low 80,659.81
    # cut the data at 2025-11-25: the 2025-11-21 low needs 7 more days, so it is not known yet
    early = market.swing_points(df["high"][:"2025-11-25"], df["low"][:"2025-11-25"], window=7)
    assert pd.Timestamp("2025-11-21") not in set(early.date)


def test_price_profile_by_hand():
    idx = pd.date_range("2025-01-01", periods=3, freq="D")
    close = pd.Series([100.0, 101.0, 115.0], index=idx)
    prof = market.price_profile(close, bin_pct=0.10)
    assert list(prof.round(9)) == [2.0, 1.0]  # [100, 110) holds two closes, [110, 121) one
    assert prof.index[1] == pytest.approx(110.0)
    # one day ranging 100 .. 100 * 1.1**1.5 spends 2/3 of its log range in bin 0, 1/3 in bin 1
    c = pd.Series([104.0], index=idx[:1])
    prof = market.price_profile(c, high=pd.Series([100 * 1.1 ** 1.5], index=idx[:1]),
                                low=pd.Series([100.0], index=idx[:1]), bin_pct=0.10)
    assert prof.to_numpy() == pytest.approx([2 / 3, 1 / 3])
    # volume weighting
    vol = pd.Series([10.0, 30.0, 5.0], index=idx)
    prof = market.price_profile(close, volume=vol, bin_pct=0.10)
    assert prof.to_numpy() == pytest.approx([40.0, 5.0])


def test_cluster_zones_two_peaks():
    edges = 100 * 1.01 ** np.arange(12)
    w = [0, 1, 5, 9, 6, 1, 0, 2, 7, 8, 3, 0]
    zones = market.cluster_zones(pd.Series(w, index=edges, dtype=float), top=5, min_share=0.05)
    assert len(zones) == 2
    first, second = zones.iloc[0], zones.iloc[1]
    # peak 9 at bin 3 widened to bins 2..4 (5, 6 >= 4.5); peak 8 at bin 9 to bins 8..9 (7 >= 4)
    assert first.low == pytest.approx(edges[2]) and first.high == pytest.approx(edges[4] * 1.01)
    assert first.weight == pytest.approx(20.0) and first.share == pytest.approx(20 / 42)
    assert second.low == pytest.approx(edges[8]) and second.high == pytest.approx(edges[9] * 1.01)
    assert second.weight == pytest.approx(15.0)


def test_round_levels():
    lv = market.round_levels(92691.71)
    assert lv == {"above": [95000.0, 100000.0], "below": [90000.0, 85000.0], "step": 5000.0}
    lv = market.round_levels(90000.0, count=1)
    assert lv["above"] == [95000.0] and lv["below"] == [85000.0]  # strictly above / below
    assert market.round_levels(3.2, step=1.0)["below"] == [3.0, 2.0]
    with pytest.raises(ValueError):
        market.round_number_step(0)


def test_weekly_average_synthetic_and_gap():
    # five Monday-Sunday weeks from Mon 2025-01-06; each day's close = its week number (1..5)
    idx = pd.date_range("2025-01-06", periods=35, freq="D")
    s = pd.Series([float(i // 7 + 1) for i in range(35)], index=idx)
    out = market.moving_average_weeks(s, 3)
    assert out.loc["2025-02-09"] == pytest.approx((3 + 4 + 5) / 3)  # last Sunday: weeks 3, 4, 5
    assert out.loc["2025-02-05"] == pytest.approx((3 + 4 + 5) / 3)  # mid-week: running week 5
    assert np.isnan(out.loc["2025-01-19"])  # only two weeks of history
    # drop week 3 entirely: windows that include it are NaN, not a shorter average
    six = pd.Series([float(i // 7 + 1) for i in range(42)], index=pd.date_range("2025-01-06", periods=42, freq="D"))
    gap = six.drop(pd.date_range("2025-01-20", "2025-01-26"))
    out = market.moving_average_weeks(gap, 3)
    assert out.loc["2025-01-27":"2025-02-09"].isna().all()  # weeks 4 and 5 reach back to week 3
    assert out.loc["2025-02-16"] == pytest.approx((4 + 5 + 6) / 3)  # week 6: weeks 4, 5, 6
