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


@pytest.mark.parametrize("metric", ["btc_price", "net_liquidity", "fed_total_assets", "sofr_iorb_spread_bp"])
def test_earlier_values_are_point_in_time(computed, dec9, metric):
    """The "before" figure equals the series as published by the earlier date."""
    out, _ = computed
    for p in out["periods"]:
        row = next((m for m in p["metrics"] if m["metric"] == metric), None)
        assert row is not None, (p["id"], metric)
        s = btcmacro.series(metric, as_of=p["as_of"], store=dec9.store).dropna()
        assert row["from"]["value"] == pytest.approx(float(s.iloc[-1]))
        assert row["from"]["date"] == s.index[-1].date().isoformat()
        assert row["change"] == pytest.approx(row["to"]["value"] - row["from"]["value"])


def test_week_change_values_by_hand(computed):
    out, week = computed
    wk = out["periods"][0]
    # Fed total assets (H.4.1): $6,552,419M on 26 Nov (published 28 Nov) → $6,535,781M on 3 Dec
    fta = next(m for m in wk["metrics"] if m["metric"] == "fed_total_assets")
    assert (fta["from"]["date"], fta["to"]["date"]) == ("2025-11-26", "2025-12-03")
    assert fta["from"]["published_at"] == "2025-11-28"
    assert fta["change"] == pytest.approx(-16_638e6)
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
