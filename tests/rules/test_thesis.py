"""The thesis scoring (rules/thesis.py): values checked by hand on the real 2025-12-09 evidence.

Hand computation with the packaged [thesis] settings (weights 0.5 margin / 0.2 agreement /
0.3 freshness, cap 2, categorical strength 0.6, single-source agreement 0.75, fresh within 45 days):

* funding stress ("stress" = 2 or more of its 3 signals): all three hold, so no single flip
  changes the state (two would remain) and the support is the three conditions that hold:
  - SOFR at the top of the range on 16 of 60 days vs 5 (scale 5 days): distance 2.2 → strength 1.0
  - SOFR − IORB 5.0 bp vs 0 (scale 10 bp): distance 0.5 → strength 0.25
  - reserves/GDP 9.33% vs 10% (scale 1 pt): distance 0.668 → strength 0.334
  margin = (1 + 0.25 + 0.334) / 3 = 0.528; no other provider → agreement 0.75; published 0-5 days
  before → freshness 1; conviction = 100 × (0.5·0.528 + 0.2·0.75 + 0.3·1) = 71.4.
* liquidity ("turning"): the only pivotal condition that holds is the FOMC decision in force
  (qt_policy = size_held; without it the state is "tightening"): categorical 0.6, single source
  0.75, published 29 October (41 days ≤ 45) → 1: 100 × (0.3 + 0.15 + 0.3) = 75.0.
* sentiment ("extreme fear"): Fear & Greed 22 vs 25 (scale 10): distance 0.3 → strength 0.15:
  100 × (0.075 + 0.15 + 0.3) = 52.5.

* macro trap ("trap"): the three labour/inflation conditions that hold are pivotal: core PCE gap
  0.825 pp vs 0.5 (scale 0.5 pt) → 0.325; JOLTS 12-month change −2.83% vs 0 (scale 5%) → 0.283;
  negative payroll months 2 vs 2 → 0. All published within 45 days and none overdue (September
  payrolls came out 20 November, the next report was due 16 December): freshness 1.
  100 × (0.5 · (0.325 + 0.283 + 0) / 3 + 0.2 · 0.75 + 0.3 · 1) = 55.1.

Ranking by impact = conviction × regime weight × |stance|: funding stress 71.4 × 0.9 × 1 = 64.3
leads; the macro trap (55.1 × 0.8 = 44.1) is second, ahead of the gold-BTC rotation (69.4 × 0.6 =
41.6); sentiment (52.5 × 0.5 × 0.5 = 13.1) is last. Five regimes are adverse, two (liquidity turning, extreme fear) supportive: the view is
bearish, the driver funding stress, and the counter-signal comes from the highest-impact
supportive regime, liquidity (37.5 > 13.1): the FOMC's decision to end runoff.
"""

from __future__ import annotations

import pytest

from btcmacro.rules import thesis


@pytest.fixture(scope="module")
def th(dec9):
    return thesis.score(dec9.regimes, dec9.values, "2025-12-09", dec9.cfg)


def _cond(th, cid):
    rid = cid.split(".")[0]
    return next(c for c in th["regimes"][rid]["conditions"] if c["id"] == cid)


def test_funding_stress_conviction_by_hand(th):
    fs = th["regimes"]["funding_stress"]
    top = _cond(th, "funding_stress.sofr_at_top")
    spread = _cond(th, "funding_stress.sofr_above_iorb")
    res = _cond(th, "funding_stress.reserves_below_ample")
    assert top["value"] == 16 and top["distance"] == pytest.approx(2.2) and top["strength"] == 1.0
    assert spread["value"] == pytest.approx(5.0) and spread["strength"] == pytest.approx(0.25)
    assert res["value"] == pytest.approx(0.09332, abs=1e-5) and res["strength"] == pytest.approx(0.3342, abs=1e-4)
    assert {c["agreement"] for c in (top, spread, res)} == {0.75}
    assert {c["freshness"] for c in (top, spread, res)} == {1.0}
    assert sorted(fs["support"]) == sorted(c["id"] for c in (top, spread, res))
    assert fs["conviction"] == pytest.approx(100 * (0.5 * (1 + 0.25 + 0.3342) / 3 + 0.2 * 0.75 + 0.3), abs=0.05)
    assert fs["conviction"] == pytest.approx(71.4, abs=0.05)


def test_liquidity_and_sentiment_by_hand(th):
    liq = th["regimes"]["liquidity"]
    assert liq["state"] == "turning" and liq["support"] == ["liquidity.policy_turned"]
    pol = _cond(th, "liquidity.policy_turned")
    assert pol["pivotal"] and pol["flip_to"] == "tightening" and pol["age_days"] == 41
    assert liq["conviction"] == pytest.approx(75.0)
    sen = th["regimes"]["sentiment"]
    assert sen["support"] == ["sentiment.extreme_fear_max"]
    assert _cond(th, "sentiment.extreme_fear_max")["flip_to"] == "fear"
    assert sen["conviction"] == pytest.approx(52.5)
    assert sen["impact"] == pytest.approx(52.5 * 0.5 * 0.5, abs=0.01)


def test_ranking_view_driver_counter(th):
    assert th["view"] == "bearish"
    assert th["driver"] == "funding_stress"
    assert th["ranking"][:3] == ["funding_stress", "macro_trap", "crossasset_rotation"]
    assert th["regimes"]["macro_trap"]["conviction"] == pytest.approx(
        100 * (0.5 * (0.3251 + 0.2832 + 0.0) / 3 + 0.2 * 0.75 + 0.3 * 1.0), abs=0.05)
    assert th["ranking"][-1] == "sentiment"
    assert th["regimes"]["funding_stress"]["impact"] == pytest.approx(71.4 * 0.9, abs=0.1)
    assert th["signals"][0]["id"] == "funding_stress.sofr_at_top"
    assert 2 <= len(th["signals"]) <= 3
    assert len({s["metric"] for s in th["signals"]}) == len(th["signals"])
    # every signal is on the driver's side: its regime is adverse
    assert all(th["regimes"][s["regime"]]["stance"] < 0 for s in th["signals"])
    assert th["counter"]["id"] == "liquidity.policy_turned"


def test_flips_are_nearest_thresholds_against_the_view(th):
    flips = th["flips"]
    assert 1 <= len(flips) <= 2
    assert len({f["regime"] for f in flips}) == len(flips)  # the nearest flip of each regime
    assert all(f["to_state"] != "insufficient data" for f in flips)
    dists = [f["distance"] for f in flips]
    assert dists == sorted(dists)
    for f in flips:
        # flipping moves its regime to a more supportive stance (against the bearish view)
        assert thesis.stance(thesis.settings_defaults(), f["regime"], f["to_state"]) > \
            thesis.stance(thesis.settings_defaults(), f["regime"], f["from_state"])
    # nothing nearer was left out
    cands = [c for r in th["regimes"].values() for c in r["conditions"] if c["pivotal"]
             and c["distance"] is not None
             and thesis.stance(thesis.settings_defaults(), c["regime"], c["flip_to"])
             > th["regimes"][c["regime"]]["stance"]]
    assert min(c["distance"] for c in cands) == dists[0]


def test_freshness_counts_from_publication(th):
    # payrolls for September 2025, published 20 November 2025: 19 days before 9 December, and not
    # overdue (the next report was due 16 December) → freshness 1; counted from the reference month
    # it would have been 99 days old
    c = _cond(th, "macro_trap.payrolls_negative")
    assert c["published_at"] == "2025-11-20" and c["age_days"] == 19
    assert c["freshness"] == pytest.approx(1.0)
    t = thesis.settings_defaults()
    import pandas as pd

    assert thesis.freshness(t, pd.Timestamp("2025-12-09"), "2025-09-01", "ok")[0] == pytest.approx(
        1 - (99 - 45) / 90)


def test_weights_override_changes_the_ranking(dec9, tmp_path):
    from btcmacro.rules import load_rules

    p = tmp_path / "rules.toml"
    p.write_text("[thesis.regime_weight]\nfunding_stress = 0.3\n", encoding="utf-8")
    cfg = load_rules(p)
    cfg.regimes = dec9.cfg.regimes
    th2 = thesis.score(dec9.regimes, dec9.values, "2025-12-09", cfg)
    # 71.4 × 0.3 = 21.4 now trails the macro trap (44.1) and the rotation (41.6)
    assert th2["driver"] == "macro_trap"
    assert th2["ranking"].index("funding_stress") > th2["ranking"].index("crossasset_rotation")
    # weights of the three components
    p.write_text("[thesis]\nweight_margin = 1.0\nweight_agreement = 0.0\nweight_freshness = 0.0\n", encoding="utf-8")
    th3 = thesis.score(dec9.regimes, dec9.values, "2025-12-09", load_rules(p))
    assert th3["regimes"]["funding_stress"]["conviction"] == pytest.approx(100 * (1 + 0.25 + 0.3342) / 3, abs=0.05)
    assert th3["regimes"]["sentiment"]["conviction"] == pytest.approx(15.0)


def test_bad_thesis_settings_are_refused(tmp_path):
    from btcmacro.errors import ConfigError
    from btcmacro.rules import load_rules

    p = tmp_path / "rules.toml"
    p.write_text("[thesis]\nno_such_key = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no_such_key"):
        load_rules(p)
    p.write_text("[thesis]\ncap = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cap"):
        thesis.settings(load_rules(p))


def test_replay_finds_pivotal_conditions():
    table = {"price_to_cost_max": 1.0, "hash_ribbon_max": 0.0, "difficulty_drop_min": 0.05}
    two = {"below_cost": False, "hash_ribbon_capitulation": True, "large_difficulty_drop": True}
    assert thesis.replay("miner_stress", table, two) == "stress"
    assert thesis.replay("miner_stress", table, {**two, "large_difficulty_drop": False}) == "watch"
    assert thesis.replay("miner_stress", table, {**two, "below_cost": None}) == "stress"
    assert thesis.replay("no_such_regime", table, two) is None


def test_scorecard_direction():
    t = thesis.settings_defaults()
    now = {"state": "stress", "stance": -1.0, "conviction": 71.4}
    assert thesis.direction(t, now, {"state": "stress", "stance": -1.0, "conviction": 82.9}) == "up"
    assert thesis.direction(t, now, {"state": "stress", "stance": -1.0, "conviction": 66.0}) == "flat"
    assert thesis.direction(t, now, {"state": "calm", "stance": 0.0, "conviction": 80}) == "down"
    assert thesis.direction(t, now, None) == "flat"
