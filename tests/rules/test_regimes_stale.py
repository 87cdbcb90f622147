"""Regimes say when they rest on stale inputs or on an old event (issue 11, item 3), on synthetic
MetricValues whose decisions are worked out by hand."""

from __future__ import annotations

from btcmacro.registry import MetricValue

from .test_regimes_synthetic import FakeEv, mv, run


def _miner(drop_date="2025-06-29", ribbon=-0.02, ribbon_status="ok", ratio=1.09):
    d = MetricValue("difficulty_largest_drop_365d", -0.0748, "fraction", "2025-12-08", "test", "ok",
                    detail={"drop_date": drop_date})
    return {"price_to_production_cost": mv("price_to_production_cost", ratio),
            "hash_ribbon": mv("hash_ribbon", ribbon, status=ribbon_status,
                              reason="published 2025-10-01, 69 days before 2025-12-09" if ribbon_status == "stale" else None),
            "difficulty_largest_drop_365d": d}


def test_old_difficulty_drop_is_dated_and_decisive():
    # ribbon below zero + drop of -7.48 %: two signals = stress; the drop of 2025-06-29 is
    # 163 days before 2025-12-09, beyond the default 90-day window; without it, one signal = watch
    r = run(_miner(), only="miner_stress", ev=FakeEv(as_of="2025-12-09"))
    e = next(x for x in r["evidence"] if x["condition"] == "large_difficulty_drop")
    assert (e["event_date"], e["event_age_days"], e["event_max_age_days"], e["old_event"]) == ("2025-06-29", 163, 90, True)
    assert r["state"] == "stress" and r["rests_on_stale"] is True
    assert r["stale_inputs"] == [{"metric": "difficulty_largest_drop_365d", "conditions": ["large_difficulty_drop"],
                                  "kind": "old_event", "date": "2025-12-08", "published_at": None, "age_days": None,
                                  "decisive": True, "event_date": "2025-06-29", "event_age_days": 163,
                                  "event_max_age_days": 90}]
    assert "2025-06-29, 163 days old (limit 90 days)" in r["caveat"]


def test_recent_drop_is_not_flagged():
    r = run(_miner(drop_date="2025-11-20"), only="miner_stress", ev=FakeEv(as_of="2025-12-09"))
    e = next(x for x in r["evidence"] if x["condition"] == "large_difficulty_drop")
    assert (e["event_age_days"], e["old_event"]) == (19, False)
    assert r["stale_inputs"] == [] and r["rests_on_stale"] is False and "caveat" not in r


def test_old_event_that_does_not_decide_is_listed_but_not_rested_on():
    # price below cost and ribbon below zero already make "stress": the old drop changes nothing
    r = run(_miner(ratio=0.9), only="miner_stress", ev=FakeEv(as_of="2025-12-09"))
    assert r["state"] == "stress"
    assert [x["metric"] for x in r["stale_inputs"]] == ["difficulty_largest_drop_365d"]
    assert r["stale_inputs"][0]["decisive"] is False and r["rests_on_stale"] is False


def test_stale_input_flagged_in_evidence_and_regime():
    r = run(_miner(drop_date="2025-11-20", ribbon_status="stale"), only="miner_stress", ev=FakeEv(as_of="2025-12-09"))
    e = next(x for x in r["evidence"] if x["condition"] == "hash_ribbon_capitulation")
    assert e["stale"] is True and e["stale_reason"].startswith("published 2025-10-01")
    # ribbon + drop = stress; without the stale ribbon only the (recent) drop is left: watch
    assert r["state"] == "stress" and r["rests_on_stale"] is True
    assert r["stale_inputs"][0]["kind"] == "stale" and r["stale_inputs"][0]["decisive"] is True


def test_jointly_decisive_inputs():
    # two stale signals plus a third: dropping either one still leaves two (stress); dropping both
    # leaves one (watch) -> together they decide, and both are named
    vals = _miner(drop_date="2025-11-20", ribbon_status="stale", ratio=0.9)
    vals["price_to_production_cost"] = mv("price_to_production_cost", 0.9, status="stale", reason="old")
    r = run(vals, only="miner_stress", ev=FakeEv(as_of="2025-12-09"))
    assert r["state"] == "stress" and r["rests_on_stale"] is True
    assert {x["metric"] for x in r["stale_inputs"]} == {"price_to_production_cost", "hash_ribbon"}
    assert all(x["decisive"] and x.get("jointly") for x in r["stale_inputs"])
