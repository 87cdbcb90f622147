"""The FOMC scenario map as of 2025-12-09 (next meeting 2025-12-09/10)."""

from __future__ import annotations

import json

import pytest

from btcmacro.rules import build_scenarios
from btcmacro.rules.fomc import next_meeting

from .conftest import _default_rules


def _level_names(dec9):
    return {lv["name"]: lv for lv in dec9.levels}


def test_next_meeting_and_scenarios(dec9):
    # fomc_meetings.csv: 2025-12-09,2025-12-10 is the next decision after 2025-12-09
    assert dec9.fomc["end"] == "2025-12-10" and dec9.fomc["days_ahead"] == 1
    assert [s["id"] for s in dec9.scenarios] == ["cut_with_expansion", "cut_without_expansion", "hold"]
    for s in dec9.scenarios:
        assert s["fomc_date"] == "2025-12-10"
        # no Kalshi prices in the embedded data: no probability, and the reason
        assert s["probability"] is None and "Kalshi" in s["probability_note"]
        assert [p["direction"] for p in s["paths"]] == ["bullish", "bearish"]
        assert s["names"]["zh-TW"]
    json.dumps(dec9.scenarios)


def test_policy_range_after_decision(dec9):
    # DFEDTARL/DFEDTARU 2025-12-09: 3.75 / 4.00
    rate = {s["id"]: s["decision"]["rate"] for s in dec9.scenarios}
    assert rate["cut_with_expansion"]["current"] == [3.75, 4.0]
    assert rate["cut_with_expansion"]["after"] == [3.5, 3.75]
    assert rate["cut_without_expansion"]["after"] == [3.5, 3.75]
    assert rate["hold"]["after"] == [3.75, 4.0]


def test_paths_use_computed_levels_and_each_scenario_its_own_edges(dec9):
    names = _level_names(dec9)
    res = names["Resistance zone (swing highs)"]  # 93,527.80 (12-03 close) - 94,060.77 (12-03 high)
    sup = names["Support zone (swing lows)"]      # 83,862.25 (12-01 low) - 86,322.34
    assert (res["low"], res["high"]) == (pytest.approx(93527.8038002451), pytest.approx(94060.7728133688))
    assert sup["low"] == pytest.approx(83862.2485209906)
    sc = {s["id"]: s for s in dec9.scenarios}
    cfg = dec9.cfg.scenarios
    # cut + expansion: bullish on a close above the zone's NEAR (lower) edge, stop below the far edge of support
    bull, bear = sc["cut_with_expansion"]["paths"]
    assert bull["trigger"]["price"] == res["low"] and bull["trigger"]["edge"] == "near"
    assert bull["trigger"]["edge_rule"] == "a daily close (00:00 UTC) above the zone's lower edge"
    assert bull["invalidation"]["price"] == sup["low"]
    assert bear["trigger"]["price"] == sup["low"] and bear["invalidation"]["price"] == res["low"]
    # cut without expansion: only a full break (far edge) counts
    bull2, bear2 = sc["cut_without_expansion"]["paths"]
    assert bull2["trigger"]["price"] == res["high"] and bull2["trigger"]["edge"] == "far"
    assert bear2["trigger"]["price"] == sup["low"] and bear2["invalidation"]["price"] == res["high"]
    # hold: the bullish path must clear the SECOND resistance zone; bearish fires at support's upper edge
    bull3, bear3 = sc["hold"]["paths"]
    second = [lv for lv in dec9.levels if lv["kind"] == "resistance" and lv.get("method") == "swing_high_zone"]
    second = sorted(second, key=lambda lv: lv["low"])[1]
    assert bull3["trigger"]["price"] == second["high"]
    assert bull3["invalidation"]["price"] == sup["high"]
    assert bear3["trigger"]["price"] == sup["high"] and bear3["trigger"]["edge"] == "near"
    # the three maps no longer share one trigger
    assert len({s["paths"][0]["trigger"]["price"] for s in dec9.scenarios}) == 3
    for s in dec9.scenarios:
        bull, bear = s["paths"]
        tp = bull["trigger"]["price"]
        above = sorted((lv for lv in dec9.levels if lv["low"] > tp), key=lambda lv: lv["low"])
        n = cfg[s["id"]]["bull_targets"]
        assert [t["name"] for t in bull["targets"]] == [lv["name"] for lv in above[:n]]
        bp = bear["trigger"]["price"]
        below = sorted((lv for lv in dec9.levels if lv["high"] < bp), key=lambda lv: -lv["high"])
        n = cfg[s["id"]]["bear_targets"]
        assert [t["name"] for t in bear["targets"]] == [lv["name"] for lv in below[:n]]
        for t in bull["targets"] + bear["targets"]:
            assert t["kind"] == "target"
            assert t["name"] in names  # every price is a computed level
            assert t["distance_pct"] == pytest.approx(t["price"] / s["price"] - 1)
    # hand check: 5k round number above 93,527.80 is the first bullish target of the first map
    assert sc["cut_with_expansion"]["paths"][0]["targets"][0]["price"] == 95000.0


def test_reward_risk_by_hand(dec9):
    bull = dec9.scenarios[0]["paths"][0]  # cut + expansion, bullish
    tp, stop = bull["trigger"]["price"], bull["invalidation"]["price"]
    objective = bull["targets"][-1]["price"]  # the STH cost basis, 102,766.64 (BMP, 2025-12-08)
    assert objective == pytest.approx(102766.64, abs=0.01)
    rr = bull["reward_risk"]
    # (102,766.64 - 93,527.80) / (93,527.80 - 83,862.25) = 9,238.84 / 9,665.56 = 0.956
    assert rr["ratio"] == pytest.approx((102766.64 - 93527.8038002451) / (93527.8038002451 - 83862.2485209906), rel=1e-6)
    assert rr["ratio"] == pytest.approx(0.956, abs=0.001)
    assert bull["reward_risk_poor"] is True  # below min_reward_risk = 1.5
    assert bull["targets"][0]["reward_risk"] == pytest.approx((95000 - tp) / (tp - stop))
    # the hold case's bearish path pays 1.49x: also (just) below 1.5
    hold_bear = dec9.scenarios[2]["paths"][1]
    assert hold_bear["reward_risk"]["ratio"] == pytest.approx(1.49, abs=0.01)
    cfg = _default_rules()
    cfg.scenarios["min_reward_risk"] = 1.4
    out = build_scenarios(dec9.ev, dec9.values, dec9.regimes, dec9.levels, dec9.fomc, cfg)
    assert out[2]["paths"][1]["reward_risk_poor"] is False


def test_policy_trigger_and_horizon(dec9):
    sc = {s["id"]: s for s in dec9.scenarios}
    assert sc["cut_with_expansion"]["policy_trigger"]["text"] == (
        "the FOMC cuts by 25 bp and announces reserve-management purchases (balance-sheet growth)")
    assert sc["hold"]["policy_trigger"]["decision"] == "hold"
    # fomc_meetings.csv: the meeting after 2025-12-10 decides on 2026-01-28, 49 days later
    for s in dec9.scenarios:
        assert s["horizon"] == {"days": 49, "end": "2026-01-28", "basis": "next meeting"}
    cfg = _default_rules()
    cfg.scenarios["hold"]["horizon_days"] = 30
    out = build_scenarios(dec9.ev, dec9.values, dec9.regimes, dec9.levels, dec9.fomc, cfg)
    assert out[2]["horizon"] == {"days": 30, "end": "2026-01-09", "basis": "rules"}


def test_market_odds_only_for_this_meeting(dec9):
    from btcmacro.registry import MetricValue

    def odds(date, cut, hold):
        return dict(dec9.values,
                    fomc_odds_cut=MetricValue("fomc_odds_cut", cut, "fraction", date, "Kalshi:fomc_cut", "ok", None),
                    fomc_odds_hold=MetricValue("fomc_odds_hold", hold, "fraction", date, "Kalshi:fomc_hold", "ok", None))

    out = {s["id"]: s for s in build_scenarios(dec9.ev, odds("2025-12-09", 0.9, 0.1), dec9.regimes, dec9.levels,
                                               dec9.fomc, dec9.cfg)}
    assert out["cut_with_expansion"]["probability"] == 0.9 == out["cut_without_expansion"]["probability"]
    assert "does not price the balance-sheet" in out["cut_with_expansion"]["probability_note"]
    assert out["hold"]["probability"] == 0.1
    assert out["hold"]["probability_detail"]["date"] == "2025-12-09"
    # a price from 2025-10-28 was about the 2025-10-29 meeting: never shown for 2025-12-10
    stale = {s["id"]: s for s in build_scenarios(dec9.ev, odds("2025-10-28", 0.9, 0.1), dec9.regimes,
                                                 dec9.levels, dec9.fomc, dec9.cfg)}
    assert stale["hold"]["probability"] is None
    assert "earlier meeting" in stale["hold"]["probability_note"]


def test_supporting_regimes_are_the_current_states(dec9):
    for s in dec9.scenarios:
        for p in s["paths"]:
            wanted = dec9.cfg.scenarios[s["id"]]["bull_regimes" if p["direction"] == "bullish" else "bear_regimes"]
            expect = [w for w in wanted if dec9.regimes.get(w.split(":")[0], {}).get("state") == w.split(":", 1)[1]]
            assert [f"{m['regime']}:{m['state']}" for m in p["supporting_regimes"]] == expect
    hold_bear = dec9.scenarios[2]["paths"][1]["supporting_regimes"]
    assert {"regime": "funding_stress", "state": "stress"} in [
        {k: m[k] for k in ("regime", "state")} for m in hold_bear]


def test_liquidity_regime_after_expansion_signal(dec9):
    lr = {s["id"]: s["liquidity_regime"] for s in dec9.scenarios}
    assert lr["cut_with_expansion"]["now"] == "turning"  # QT ended by the FOMC, data still tight
    assert lr["cut_with_expansion"]["after"] == "easing"  # purchases visible -> easing
    assert lr["cut_with_expansion"]["implied_growth_usd_per_year"] == pytest.approx(12 * 40e9)
    assert lr["hold"]["after"] == "turning"


def test_no_meeting_no_scenarios(dec9):
    assert build_scenarios(dec9.ev, dec9.values, dec9.regimes, dec9.levels, None, dec9.cfg) == []
    # the embedded calendar ends with 2026-12-09
    assert next_meeting("2026-12-09") is None


def test_price_discovery_without_levels_above(dec9):
    """At a new high there is no level above: the bullish path says so instead of inventing one."""
    levels = [lv for lv in dec9.levels if lv["kind"] == "support"]
    out = build_scenarios(dec9.ev, dec9.values, dec9.regimes, levels, dec9.fomc, dec9.cfg)
    bull, bear = out[0]["paths"]
    assert bull["targets"] == [] and "price discovery" in bull["trigger"]["text"]
    assert bear["invalidation"] is None
    assert bear["targets"]


def test_disabled_scenario(dec9):
    cfg = _default_rules()
    cfg.scenarios["hold"]["enabled"] = False
    cfg.scenarios["cut_with_expansion"]["bull_targets"] = 1
    out = build_scenarios(dec9.ev, dec9.values, dec9.regimes, dec9.levels, dec9.fomc, cfg)
    assert [s["id"] for s in out] == ["cut_with_expansion", "cut_without_expansion"]
    assert len(out[0]["paths"][0]["targets"]) == 1


def test_no_scenarios_before_the_calendar():
    """fomc_meetings.csv starts with 2015-01-27/28: before it the next meeting is unknown (it was
    wrongly reported as 2015-01-28 for 2010 and 2014 dates)."""
    from btcmacro.rules.fomc import calendar_start

    assert calendar_start() == "2015-01-27"
    assert next_meeting("2010-08-01") is None
    assert next_meeting("2014-01-15") is None
    assert next_meeting("2015-01-27")["end"] == "2015-01-28"


def test_cut_at_the_zero_lower_bound_is_not_applicable(dec9):
    """DFEDTARL/DFEDTARU were 0.00/0.25 from 2020-03-16: a 25 bp cut would give -0.25%-0.00%,
    which used to be shown; now the cut scenarios say why they do not apply, hold keeps its paths."""
    from btcmacro.registry import MetricValue

    vals = dict(dec9.values,
                policy_rate_lower=MetricValue("policy_rate_lower", 0.0, "percent", "2020-03-16", "FRED:DFEDTARL", "ok", None),
                policy_rate_upper=MetricValue("policy_rate_upper", 0.25, "percent", "2020-03-16", "FRED:DFEDTARU", "ok", None))
    out = {s["id"]: s for s in build_scenarios(dec9.ev, vals, dec9.regimes, dec9.levels, dec9.fomc, dec9.cfg)}
    for sid in ("cut_with_expansion", "cut_without_expansion"):
        assert out[sid]["applicable"] is False and out[sid]["paths"] == []
        assert out[sid]["decision"]["rate"]["after"] is None
        assert "zero lower bound" in out[sid]["note"]
    assert out["hold"]["applicable"] is True and len(out["hold"]["paths"]) == 2
    assert out["hold"]["decision"]["rate"]["after"] == [0.0, 0.25]
    json.dumps(list(out.values()))
