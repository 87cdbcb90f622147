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
    # btc_usd_daily_coinmarketcap.csv (high, low, close columns):
    # resistance: 2025-12-03 high 94,060.77 is the highest high of 11-28..12-08 (92,969 91,188 91,965
    # 90,398 92,317 | 94,038 92,703 90,267 91,741 92,267); its close 93,527.80 is within 3% of the high,
    # so the zone runs 93,527.80-94,060.77 (a zone, not the single close it used to be).
    # support: 2025-12-01 low 83,862.25 is the lowest low of 11-26..12-06 (86,317 90,090 90,257 90,260
    # 90,394 | 86,202 91,056 90,976 88,152 88,952); close 86,321.57 <= 83,862.25 x 1.03 -> zone
    # 83,862.25-86,321.57. The next swing low, 2025-11-21 low 80,659.81 (lows 11-16..11-26 all higher),
    # is 3.97% lower -> its own zone, its close 85,090.69 capped at 80,659.81 x 1.03 = 83,079.61.
    res = [lv for lv in dec9.levels if lv["method"] == "swing_high_zone"]
    sup = [lv for lv in dec9.levels if lv["method"] == "swing_low_zone"]
    nearest_res = min(res, key=lambda lv: lv["low"])
    sup = sorted(sup, key=lambda lv: -lv["high"])
    nearest_sup = sup[0]
    assert nearest_res["name"] == "Resistance zone (swing highs)"
    assert (nearest_res["low"], nearest_res["high"]) == pytest.approx((93527.8038002451, 94060.7728133688))
    assert nearest_sup["name"] == "Support zone (swing lows)"
    assert (nearest_sup["low"], nearest_sup["high"]) == pytest.approx((83862.2485209906, 86321.5699463014))
    assert (sup[1]["low"], sup[1]["high"]) == pytest.approx((80659.8124264662, 80659.8124264662 * 1.03))
    assert [m["date"] for m in nearest_sup["members"]] == ["2025-12-01"]
    assert nearest_res["members"] == [{"date": "2025-12-03", "price": pytest.approx(94060.7728133688),
                                       "close": pytest.approx(93527.8038002451)}]
    assert nearest_res["kind"] == "resistance" and nearest_sup["kind"] == "support"
    assert nearest_res["intraday"] and "CoinMarketCap:btc_high" in nearest_res["source"]
    assert "2025-12-03 high 94,061 (close 93,528)" in nearest_res["evidence"]


def _bars(store, as_of="2025-12-09"):
    closes = _closes(store, as_of)
    hi = store.series("cmc/btc_high", as_of=as_of).reindex(closes.index)
    lo = store.series("cmc/btc_low", as_of=as_of).reindex(closes.index)
    return closes, hi.fillna(closes), lo.fillna(closes)


def _expected_zones(store, lc, side, as_of="2025-12-09"):
    closes, hi, lo = _bars(store, as_of)
    price = closes.iloc[-1]
    keep = closes.index > closes.index[-1] - pd.Timedelta(days=lc["swing_lookback_days"])
    closes, hi, lo = closes[keep], hi[keep], lo[keep]
    tol = lc["cluster_tolerance"]
    if side > 0:
        pts = [(d, x) for d, x in _ref_swings(hi, lc["swing_window_days"], "high") if x > price]
        groups = _ref_clusters(pts, tol)
        return [(min(max(closes[d], x / (1 + tol)) for d, x in g), max(x for _, x in g))
                for g in groups[:lc["zones_per_side"]]]
    pts = [(d, x) for d, x in _ref_swings(lo, lc["swing_window_days"], "low") if x < price]
    groups = _ref_clusters(pts, tol)[::-1]
    return [(min(x for _, x in g), max(min(closes[d], x * (1 + tol)) for d, x in g))
            for g in groups[:lc["zones_per_side"]]]


def _got_zones(levels, side):
    method = "swing_high_zone" if side > 0 else "swing_low_zone"
    return sorted(((lv["low"], lv["high"]) for lv in _by_method(levels, method)), key=lambda t: t[0] * side)


def test_swing_zones_equal_reference(dec9, snapshot_store):
    lc = dec9.cfg.levels
    for side in (1, -1):
        expect = _expected_zones(snapshot_store, lc, side)
        assert 1 <= len(expect) <= lc["zones_per_side"]
        assert _got_zones(dec9.levels, side) == pytest.approx(expect)
    # point in time: every member was confirmed (window days after it) by the as-of date
    for lv in _by_method(dec9.levels, "swing_high_zone") + _by_method(dec9.levels, "swing_low_zone"):
        for m in lv["members"]:
            assert pd.Timestamp(m["date"]) + pd.Timedelta(days=lc["swing_window_days"]) <= pd.Timestamp("2025-12-09")


def test_swing_zones_after_intraday_data_ends(snapshot_store):
    """cmc/btc_high and btc_low end on 2026-04-13: later days count their close, and the evidence
    says so; the zones still equal the reference built the same way."""
    from btcmacro.registry import REGISTRY, Evaluator

    cfg = _default_rules()
    ev = Evaluator(snapshot_store, "2026-08-22", cfg.params)
    values = {m: ev.value(m, alternatives=False) for m in REGISTRY if m.startswith("btc_") or m in cfg.levels["metric_levels"]}
    lv = compute_levels(ev, values, cfg)
    zones = _by_method(lv, "swing_high_zone") + _by_method(lv, "swing_low_zone")
    assert zones
    for z in zones:
        assert "no intraday data after 2026-04-13" in z["evidence"]
    for side in (1, -1):
        assert _got_zones(lv, side) == pytest.approx(_expected_zones(snapshot_store, cfg.levels, side, "2026-08-22"))


def test_round_numbers(dec9):
    got = sorted(lv["low"] for lv in _by_method(dec9.levels, "round_number"))
    # 92,691.71: 5k multiples 90,000 / 95,000; 10k multiples 90,000 (same) / 100,000
    assert got == [90000.0, 95000.0, 100000.0]
    kinds = {lv["low"]: lv["kind"] for lv in _by_method(dec9.levels, "round_number")}
    assert kinds == {90000.0: "support", 95000.0: "resistance", 100000.0: "resistance"}


def test_metric_levels_are_the_metric_values(dec9, snapshot_store):
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
    closes = _closes(snapshot_store)
    assert got["btc_ma_200d"]["low"] == pytest.approx(closes.iloc[-200:].mean())
    assert got["btc_ma_200d"]["low"] == pytest.approx(109019.8789, rel=1e-8)
    # bmp sth realized price 2025-12-08 102,766.64 (12-09's row is published the next day)
    assert got["sth_cost_basis"]["low"] == pytest.approx(102766.64041204235)
    # ATH close 2025-10-06 124,752.53
    assert got["btc_ath"]["low"] == pytest.approx(closes.max()) == pytest.approx(124752.5283520974)


def test_price_clusters_hold_their_share_of_days(dec9, snapshot_store):
    lc = dec9.cfg.levels
    closes = _closes(snapshot_store)
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
        if lv["method"] in ("swing_high_zone", "swing_low_zone"):
            # a swing zone's side is its pivots' side: highs above the price, lows below it
            assert (lv["kind"] == "resistance") == all(m["price"] > PRICE_1209 for m in lv["members"])
        else:
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


def test_override_changes_levels(dec9, snapshot_store):
    cfg = _default_rules()
    cfg.levels["round_steps_usd"] = [2500]
    cfg.levels["swing_window_days"] = 3
    cfg.levels["cluster_tolerance"] = 0.05  # the 11-21 and 12-01 swing lows (3.97% apart) merge
    lv = compute_levels(dec9.ev, dec9.values, cfg)
    # 92,691.71 between the 2,500 multiples 92,500 and 95,000
    assert sorted(x["low"] for x in _by_method(lv, "round_number")) == [92500.0, 95000.0]
    for side in (1, -1):
        expect = _expected_zones(snapshot_store, cfg.levels, side)
        assert _got_zones(lv, side) == pytest.approx(expect)
    assert _got_zones(lv, -1) != _got_zones(dec9.levels, -1)  # the override changed the outcome
    assert _got_zones(lv, -1)[0] == pytest.approx((80659.8124264662, 86321.5699463014))


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
