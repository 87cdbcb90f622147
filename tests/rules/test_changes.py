"""What changed (rules/changes.py): earlier dates evaluated point in time, only what moved."""

from __future__ import annotations

import pandas as pd
import pytest

import btcmacro
from btcmacro.rules import changes, thesis


@pytest.fixture(scope="module")
def computed(dec9):
    from btcmacro.api import data_range

    th = thesis.score(dec9.regimes, dec9.values, "2025-12-09", dec9.cfg)
    now = {"regimes": dec9.regimes, "values": dec9.values, "thesis": th}
    first, _ = data_range(dec9.store)
    return changes.compute(dec9.store, "2025-12-09", dec9.cfg, now, first=first)


def test_periods_and_previous_meeting():
    ps = changes.periods("2025-12-09")
    assert [p["id"] for p in ps] == ["week", "fomc", "30d"]
    assert ps[0]["as_of"] == pd.Timestamp("2025-12-02")
    # the FOMC decided on 29 October 2025; 10 December is after the as-of date
    assert ps[1]["as_of"] == pd.Timestamp("2025-10-29") and ps[1]["meeting"] == "2025-10-29"
    assert ps[2]["as_of"] == pd.Timestamp("2025-11-09")
    # on a decision day the previous meeting is the one before
    assert changes.previous_meeting("2025-12-10")["end"] == "2025-10-29"
    assert changes.previous_meeting("2025-12-11")["end"] == "2025-12-10"
    assert [p["id"] for p in changes.periods("2025-12-09", compare="2025-06-30")] == ["compare"]
    assert changes.periods("2025-12-09", first="2025-11-30") == [
        {"id": "week", "as_of": pd.Timestamp("2025-12-02")}]


def test_earlier_values_are_point_in_time(computed, dec9):
    """Every "before" figure equals the series as published by the earlier date."""
    out, _ = computed
    checked = set()
    for p in out["periods"]:
        for row in p["metrics"]:
            s = btcmacro.series(row["metric"], as_of=p["as_of"], store=dec9.store).dropna()
            assert row["from"]["value"] == pytest.approx(float(s.iloc[-1])), (p["id"], row["metric"])
            assert row["from"]["date"] == s.index[-1].date().isoformat()
            assert row["change"] == pytest.approx(row["to"]["value"] - row["from"]["value"])
            checked.add(row["metric"])
    assert {"btc_price", "mvrv", "reserves", "sofr_iorb_spread_bp"} <= checked


def test_week_change_values_by_hand(computed):
    out, week = computed
    wk = out["periods"][0]
    rows = {m["metric"]: m for m in wk["metrics"]}
    # bank reserves (H.4.1): $2,896,586M on 26 Nov (published 28 Nov) → $2,858,284M on 3 Dec, −1.3%
    res = rows["reserves"]
    assert (res["from"]["date"], res["to"]["date"]) == ("2025-11-26", "2025-12-03")
    assert res["from"]["published_at"] == "2025-11-28"
    assert res["change"] == pytest.approx(-38_302e6)
    assert res["change_pct"] == pytest.approx(-38_302 / 2_896_586)
    # Fed total assets fell $16.6B (−0.25%), under the 1% materiality floor; Fear & Greed fell
    # 1 point (23 → 22), under 1/4 of its 10-point scale: neither is listed
    assert "fed_total_assets" not in rows and "fear_greed" not in rows
    # SOFR − IORB fell 17 bp (22 → 5), well over 2.5 bp
    assert rows["sofr_iorb_spread_bp"]["change"] == pytest.approx(-17.0)
    # the on-chain regime moved from contraction to late-stage contraction during the week
    assert {"regime": "onchain", "from": "contraction", "to": "late-stage contraction"}.items() <= \
        next(r for r in wk["regimes"] if r["regime"] == "onchain").items()
    assert week is not None and week["regimes"]["onchain"]["state"] == "contraction"


def test_regime_flip_since_the_fomc(computed):
    out, _ = computed
    fomc = next(p for p in out["periods"] if p["id"] == "fomc")
    liq = next(r for r in fomc["regimes"] if r["regime"] == "liquidity")
    # on 29 October the runoff decision was just taken but not yet in force (from 1 December)
    assert (liq["from"], liq["to"]) == ("tightening", "turning")


def test_only_what_moved(dec9):
    snap = {"regimes": dec9.regimes, "values": dec9.values}
    assert changes.compare(snap, snap, ["btc_price", "reserves"]) == {"regimes": [], "metrics": []}


def test_lazy_values_compute_only_what_is_read(dec9):
    from btcmacro.registry import Evaluator

    lv = changes.LazyValues(Evaluator(dec9.store, "2025-12-02", dec9.cfg.params))
    assert lv.computed() == {}
    assert lv.get("btc_price").date == "2025-12-02"
    assert list(lv.computed()) == ["btc_price"]
    assert lv.get("no_such_metric") is None
