"""Every level is derived from data: each value is re-computed here independently (plain loops
over the raw CoinMarketCap closes in the store) or checked by hand against the CSV rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from btcmacro.rules.levels import cluster_prices, compute_levels

from .conftest import _default_rules

PRICE_1209 = 92691.707470239  # btc_usd_daily_coinmarketcap.csv 2025-12-09 close


def _closes(store, as_of="2025-12-09"):
    s = store.series("cmc/btc_close", as_of=as_of)
    return s[s.index <= pd.Timestamp(as_of)]


def _ref_swings(closes: pd.Series, window: int, kind: str):
    """Naive reference: a close strictly beyond all `window` closes before, at least as far as
    the `window` after; needs both sides complete."""
    out = []
    vals = list(closes.items())
    for i in range(window, len(vals) - window):
        d, x = vals[i]
        before = [v for _, v in vals[i - window:i]]
        after = [v for _, v in vals[i + 1:i + 1 + window]]
        if kind == "high" and all(x > v for v in before) and all(x >= v for v in after):
            out.append((d, x))
        if kind == "low" and all(x < v for v in before) and all(x <= v for v in after):
            out.append((d, x))
    return out


def _ref_clusters(points, tol):
    pts = sorted(points, key=lambda t: t[1])
    groups = []
    for d, x in pts:
        if groups and x <= groups[-1][-1][1] * (1 + tol):
            groups[-1].append((d, x))
        else:
            groups.append([(d, x)])
    return groups


def _by_method(levels, method):
    return [lv for lv in levels if lv["method"] == method]


def test_swing_zones_hand_checked(dec9):
    # btc_usd_daily_coinmarketcap.csv closes: 2025-12-03 93,527.80 is the highest of 11-28..12-08
    # (90,919 90,852 90,394 86,322 91,350 | 92,142 89,388 89,272 90,406 90,640) -> nearest swing high
    # above 92,691.71; swing lows 2025-11-22 84,648.36 and 2025-12-01 86,321.57 are 1.98% apart.
    res = [lv for lv in dec9.levels if lv["method"] == "swing_high_zone"]
    sup = [lv for lv in dec9.levels if lv["method"] == "swing_low_zone"]
    nearest_res = min(res, key=lambda lv: lv["low"])
    nearest_sup = max(sup, key=lambda lv: lv["high"])
    assert nearest_res["name"] == "Resistance zone (swing highs)"
    assert (nearest_res["low"], nearest_res["high"]) == pytest.approx((93527.8038002451, 93527.8038002451))
    assert nearest_sup["name"] == "Support range (swing lows)"
    assert (nearest_sup["low"], nearest_sup["high"]) == pytest.approx((84648.356729, 86321.569946))
    assert [m["date"] for m in nearest_sup["members"]] == ["2025-11-22", "2025-12-01"]
    assert nearest_res["kind"] == "resistance" and nearest_sup["kind"] == "support"
    assert "2025-12-03 93,528" in nearest_res["evidence"]


def _expected_zones(store, lc, side):
    closes = _closes(store)
    recent = closes[closes.index > closes.index[-1] - pd.Timedelta(days=lc["swing_lookback_days"])]
    kind = "high" if side > 0 else "low"
    pts = [(d, x) for d, x in _ref_swings(recent, lc["swing_window_days"], kind) if (x - PRICE_1209) * side > 0]
    groups = _ref_clusters(pts, lc["cluster_tolerance"])
    groups = groups if side > 0 else groups[::-1]
    return [(min(x for _, x in g), max(x for _, x in g)) for g in groups[:lc["zones_per_side"]]]


def _got_zones(levels, side):
    method = "swing_high_zone" if side > 0 else "swing_low_zone"
    return sorted(((lv["low"], lv["high"]) for lv in _by_method(levels, method)), key=lambda t: t[0] * side)


def test_swing_zones_equal_reference(dec9, rules_store):
    lc = dec9.cfg.levels
    for side in (1, -1):
        expect = _expected_zones(rules_store, lc, side)
        assert 1 <= len(expect) <= lc["zones_per_side"]
        assert _got_zones(dec9.levels, side) == pytest.approx(expect)
    # point in time: every member was confirmed (window days after it) by the as-of date
    for lv in _by_method(dec9.levels, "swing_high_zone") + _by_method(dec9.levels, "swing_low_zone"):
        for m in lv["members"]:
            assert pd.Timestamp(m["date"]) + pd.Timedelta(days=lc["swing_window_days"]) <= pd.Timestamp("2025-12-09")


def test_round_numbers(dec9):
    got = sorted(lv["low"] for lv in _by_method(dec9.levels, "round_number"))
    # 92,691.71: 5k multiples 90,000 / 95,000; 10k multiples 90,000 (same) / 100,000
    assert got == [90000.0, 95000.0, 100000.0]
    kinds = {lv["low"]: lv["kind"] for lv in _by_method(dec9.levels, "round_number")}
    assert kinds == {90000.0: "support", 95000.0: "resistance", 100000.0: "resistance"}


def test_metric_levels_are_the_metric_values(dec9, rules_store):
    got = {lv["metric"]: lv for lv in _by_method(dec9.levels, "metric")}
    for mid in dec9.cfg.levels["metric_levels"]:
        v = dec9.values.get(mid)
        if v is None or v.status == "unavailable":
            assert mid not in got
            continue
        assert got[mid]["low"] == got[mid]["high"] == pytest.approx(float(v.value)), mid
        assert got[mid]["date"] == v.date and got[mid]["source"] == v.source
        assert got[mid]["kind"] == ("resistance" if v.value > PRICE_1209 else "support")
    # independent: 200-day MA = mean of the last 200 CMC closes to 2025-12-09
    closes = _closes(rules_store)
    assert got["btc_ma_200d"]["low"] == pytest.approx(closes.iloc[-200:].mean())
    assert got["btc_ma_200d"]["low"] == pytest.approx(109019.8789, rel=1e-8)
    # bmp sth realized price 2025-12-08 102,766.64 (12-09's row is published the next day)
    assert got["sth_cost_basis"]["low"] == pytest.approx(102766.64041204235)
    # ATH close 2025-10-06 124,752.53
    assert got["btc_ath"]["low"] == pytest.approx(closes.max()) == pytest.approx(124752.5283520974)


def test_price_clusters_hold_their_share_of_days(dec9, rules_store):
    lc = dec9.cfg.levels
    closes = _closes(rules_store)
    recent = closes[closes.index > closes.index[-1] - pd.Timedelta(days=lc["profile_lookback_days"])]
    zones = _by_method(dec9.levels, "price_cluster")
    assert zones
    for z in zones:
        n_in = int(((recent >= z["low"] * (1 - 1e-12)) & (recent < z["high"] * (1 - 1e-12))).sum())
        assert n_in / len(recent) == pytest.approx(z["share"]), z["name"]
        assert z["share"] >= lc["profile_min_share"]
        assert not (z["low"] <= PRICE_1209 <= z["high"])


def test_every_level_has_evidence_and_sorted(dec9):
    assert dec9.levels
    highs = [lv["high"] for lv in dec9.levels]
    assert highs == sorted(highs, reverse=True)
    for lv in dec9.levels:
        assert lv["low"] <= lv["high"]
        assert lv["kind"] in ("resistance", "support")
        assert (lv["kind"] == "resistance") == ((lv["low"] + lv["high"]) / 2 > PRICE_1209)
        assert lv["evidence"] and lv["source"] and lv["date"] <= "2025-12-09"
        assert lv["names"]["zh-TW"]
        assert math.isfinite(lv["distance_pct"])


def test_cluster_prices_pure():
    idx = pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04"])
    s = pd.Series([100.0, 102.9, 106.1, 200.0], index=idx)
    groups = cluster_prices(s, 0.03)
    assert [list(g) for g in groups] == [[100.0, 102.9], [106.1], [200.0]]
    assert cluster_prices(pd.Series(dtype=float), 0.03) == []


def test_override_changes_levels(dec9, rules_store):
    cfg = _default_rules()
    cfg.levels["round_steps_usd"] = [2500]
    cfg.levels["swing_window_days"] = 3
    lv = compute_levels(dec9.ev, dec9.values, cfg)
    # 92,691.71 between the 2,500 multiples 92,500 and 95,000
    assert sorted(x["low"] for x in _by_method(lv, "round_number")) == [92500.0, 95000.0]
    for side in (1, -1):
        expect = _expected_zones(rules_store, cfg.levels, side)
        assert _got_zones(lv, side) == pytest.approx(expect)
    assert _got_zones(lv, -1) != _got_zones(dec9.levels, -1)  # the override changed the outcome


def test_no_price_no_levels(dec9):
    from btcmacro.registry import MetricValue

    vals = dict(dec9.values, btc_price=MetricValue("btc_price", None, "USD", None, None, "unavailable", "x"))
    assert compute_levels(dec9.ev, vals, dec9.cfg) == []


@pytest.mark.parametrize("price,steps", [(92691.7, [5000.0, 10000.0]), (7400.0, [500.0, 1000.0]),
                                         (0.06, [0.005, 0.01])])
def test_auto_round_steps(price, steps):
    from btcmacro.rules.levels import round_steps

    assert round_steps(price, "auto") == pytest.approx(steps)
    assert round_steps(price, [2500]) == [2500.0]
    with pytest.raises(ValueError):
        round_steps(price, "five")
