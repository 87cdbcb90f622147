"""Regime edge cases on synthetic MetricValues: missing inputs, decisions that do not depend on
the missing input, stale inputs, band boundaries, and the three-valued decision itself."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from btcmacro.registry import MetricValue
from btcmacro.rules import evaluate_regimes
from btcmacro.rules.regimes import INSUFFICIENT, Condition, decide

from .conftest import _default_rules


class FakeEv:
    """Just what the regimes read from an Evaluator: as_of and metric series."""

    def __init__(self, series=None, as_of="2025-12-09"):
        self._s = series or {}
        self.as_of = pd.Timestamp(as_of)

    def series(self, mid):
        return self._s.get(mid, pd.Series(dtype="float64"))


def mv(mid, value, unit="", date="2025-12-08", status="ok", reason=None):
    return MetricValue(mid, value, unit, date, "test", status, reason)


def na(mid, reason="no data published by 2025-12-09"):
    return MetricValue(mid, None, "", None, None, "unavailable", reason)


def run(values, cfg=None, ev=None, only=None):
    cfg = cfg or _default_rules()
    if only:
        cfg = copy.deepcopy(cfg)
        for rid in list(cfg.regimes):
            if isinstance(cfg.regimes[rid], dict) and rid != only:
                cfg.regimes[rid]["enabled"] = False
    out = evaluate_regimes(ev or FakeEv(), values, cfg)
    return out[only] if only else out


# ----------------------------------------------------------------------------------------------
# decide(): three-valued logic
# ----------------------------------------------------------------------------------------------


def _c(name, result):
    return Condition(name, name, "==", True, None, result=result)


def test_decide_known_unknown():
    fn = lambda b: "x" if (b["a"] or b["b"]) else "y"  # noqa: E731
    assert decide({"a": _c("a", True), "b": _c("b", None)}, fn) == "x"  # b cannot change it
    assert decide({"a": _c("a", False), "b": _c("b", None)}, fn) is None  # b decides
    assert decide({"a": _c("a", False), "b": _c("b", False)}, fn) == "y"


# ----------------------------------------------------------------------------------------------
# funding stress
# ----------------------------------------------------------------------------------------------

FUNDING = {
    "sofr_at_or_above_range_top_days_60": mv("sofr_at_or_above_range_top_days_60", 16.0, "days"),
    "sofr_iorb_spread_bp": mv("sofr_iorb_spread_bp", -3.0, "bp"),
    "reserves_to_gdp": mv("reserves_to_gdp", 0.093, "fraction", "2025-12-03"),
}


def test_funding_missing_input_that_decides_gives_insufficient_data_with_names():
    vals = dict(FUNDING, reserves_to_gdp=na("reserves_to_gdp", "no data published by 2025-12-09"))
    r = run(vals, only="funding_stress")
    # one signal on (range top), one off (spread), reserves unknown: elevated or stress -> no answer
    assert r["state"] == INSUFFICIENT
    assert r["missing"] == [{"metric": "reserves_to_gdp", "reason": "no data published by 2025-12-09"}]
    assert "reserves_to_gdp" in r["note"]
    assert r["label"] == {"en": "Insufficient data", "zh-TW": "資料不足"}
    [e] = [e for e in r["evidence"] if e["metric"] == "reserves_to_gdp"]
    assert e["result"] is None and e["value"] is None


def test_funding_missing_input_that_cannot_change_the_answer_is_not_needed():
    vals = dict(FUNDING, sofr_iorb_spread_bp=mv("sofr_iorb_spread_bp", 5.0, "bp"),
                reserves_to_gdp=na("reserves_to_gdp"))
    r = run(vals, only="funding_stress")
    assert r["state"] == "stress"  # two signals on: stress whatever reserves say
    assert [m["metric"] for m in r["missing"]] == ["reserves_to_gdp"]  # still reported


def test_funding_counts():
    assert run(FUNDING, only="funding_stress")["state"] == "stress"  # range top + reserves
    calm = dict(FUNDING, sofr_at_or_above_range_top_days_60=mv("x", 0.0), reserves_to_gdp=mv("y", 0.12))
    assert run(calm, only="funding_stress")["state"] == "calm"
    one = dict(calm, reserves_to_gdp=mv("y", 0.0999))
    assert run(one, only="funding_stress")["state"] == "elevated"


def test_metric_not_in_registry_is_named():
    r = run({}, only="funding_stress")
    assert r["state"] == INSUFFICIENT
    assert {m["metric"] for m in r["missing"]} == set(FUNDING)
    assert all(m["reason"] == "metric not in the registry" for m in r["missing"])


def test_stale_inputs_used_and_marked_unless_refused():
    vals = dict(FUNDING, reserves_to_gdp=mv("reserves_to_gdp", 0.093, date="2025-06-01", status="stale",
                                            reason="latest value is for 2025-06-01"))
    r = run(vals, only="funding_stress")
    assert r["state"] == "stress"
    [e] = [e for e in r["evidence"] if e["metric"] == "reserves_to_gdp"]
    assert e["status"] == "stale"
    cfg = _default_rules()
    cfg.regimes["accept_stale"] = False
    r = run(vals, cfg, only="funding_stress")
    assert r["state"] == INSUFFICIENT
    assert r["missing"][0]["reason"].startswith("stale")


# ----------------------------------------------------------------------------------------------
# liquidity (series-derived condition)
# ----------------------------------------------------------------------------------------------


def _netliq(change_usd):
    idx = pd.date_range("2025-06-04", "2025-12-03", freq="7D")
    s = pd.Series(5.9e12, index=idx)
    s.iloc[-1] = 5.9e12 + change_usd
    return s


def _liq_values(qt, treasury_growth=-4e10, netliq=5.6e12):
    return {"qt_status": mv("qt_status", qt, "state", "2025-12-03"),
            "treasury_holdings_growth_annualized": mv("treasury_holdings_growth_annualized", treasury_growth, "USD"),
            "net_liquidity": mv("net_liquidity", netliq, "USD", "2025-12-03")}


@pytest.mark.parametrize("qt,growth,change,state", [
    ("running", -4e10, -3e11, "tightening"),
    ("running", -4e10, +3e11, "tightening"),   # net liquidity up (TGA drawdown) while QT runs
    ("ended", 0.0, 0.0, "neutral"),
    ("ended", 0.0, -2e11, "tightening"),
    ("ended", 0.0, +2e11, "easing"),
    ("ended", 3e11, 0.0, "easing"),           # purchases visible in Treasury holdings
    ("expanding", 0.0, 0.0, "easing"),
])
def test_liquidity_states(qt, growth, change, state):
    ev = FakeEv({"net_liquidity": _netliq(change)})
    r = run(_liq_values(qt, growth), ev=ev, only="liquidity")
    assert r["state"] == state
    [e] = [e for e in r["evidence"] if e["condition"] == "netliq_up"]
    assert e["value"] == pytest.approx(change) and e["derived"] == "change over 91 days"


def test_liquidity_short_history_is_missing_not_zero():
    ev = FakeEv({"net_liquidity": pd.Series([5.6e12], index=pd.DatetimeIndex(["2025-12-03"]))})
    r = run(_liq_values("ended", 0.0), ev=ev, only="liquidity")
    assert r["state"] == INSUFFICIENT  # trend unknown and it decides between neutral/easing/tightening
    assert r["missing"][0]["metric"] == "net_liquidity"
    assert "not enough history" in r["missing"][0]["reason"]


# ----------------------------------------------------------------------------------------------
# on-chain
# ----------------------------------------------------------------------------------------------

ONCHAIN = {
    "mvrv": mv("mvrv", 1.6), "supply_in_loss_pct": mv("supply_in_loss_pct", 0.33),
    "price_vs_sth_cost_basis": mv("price_vs_sth_cost_basis", -0.12), "sth_sopr_7d": mv("sth_sopr_7d", 0.99),
    "realized_cap_growth_30d": mv("realized_cap_growth_30d", 0.004),
    "exchange_reserve_change_30d": mv("exchange_reserve_change_30d", -9666.0),
    "stablecoin_supply_change_30d": mv("stablecoin_supply_change_30d", 0.0105),
    "open_interest_change_30d": mv("open_interest_change_30d", -0.12),
}


def test_onchain_late_stage_without_open_interest():
    vals = dict(ONCHAIN, open_interest_change_30d=na("open_interest_change_30d"))
    r = run(vals, only="onchain")
    assert r["state"] == "late-stage contraction"  # 2 of 3 accumulation signs hold anyway


def test_onchain_missing_open_interest_that_decides():
    vals = dict(ONCHAIN, open_interest_change_30d=na("open_interest_change_30d", "Binance OI starts 2025-11-08"),
                stablecoin_supply_change_30d=mv("stablecoin_supply_change_30d", -0.01))
    r = run(vals, only="onchain")
    assert r["state"] == INSUFFICIENT
    assert r["missing"] == [{"metric": "open_interest_change_30d", "reason": "Binance OI starts 2025-11-08"}]


@pytest.mark.parametrize("over,state", [
    ({}, "late-stage contraction"),
    ({"stablecoin_supply_change_30d": -0.01, "open_interest_change_30d": 0.05}, "contraction"),
    ({"mvrv": 0.95}, "capitulation"),
    ({"supply_in_loss_pct": 0.55}, "capitulation"),
    ({"price_vs_sth_cost_basis": 0.05, "sth_sopr_7d": 1.01, "realized_cap_growth_30d": 0.03}, "expansion"),
    ({"price_vs_sth_cost_basis": 0.05, "sth_sopr_7d": 1.01, "realized_cap_growth_30d": 0.004},
     "healthy consolidation"),
    ({"supply_in_loss_pct": 0.15}, "healthy consolidation"),  # below STH basis but little supply in loss
])
def test_onchain_states(over, state):
    vals = dict(ONCHAIN, **{k: mv(k, v) for k, v in over.items()})
    assert run(vals, only="onchain")["state"] == state


def test_capitulation_decided_even_when_everything_else_is_missing():
    vals = {"mvrv": mv("mvrv", 0.9)}
    r = run(vals, only="onchain")
    assert r["state"] == "capitulation"
    assert len(r["missing"]) == 7  # still listed


# ----------------------------------------------------------------------------------------------
# macro trap, miners, sentiment, cross-asset
# ----------------------------------------------------------------------------------------------

MACRO = {
    "payrolls_negative_months_of_7": mv("payrolls_negative_months_of_7", 2.0, date="2025-09-01"),
    "jolts_openings_trend": mv("jolts_openings_trend", -0.028, date="2025-10-01"),
    "sahm_rule": mv("sahm_rule", 0.23, date="2025-09-01"),
    "inflation_gap_core_pce": mv("inflation_gap_core_pce", 0.00825, date="2025-09-01"),
}


@pytest.mark.parametrize("over,state", [
    ({}, "trap"),
    ({"inflation_gap_core_pce": 0.002}, "labour weakening"),
    ({"payrolls_negative_months_of_7": 0.0}, "inflation constraint"),
    ({"payrolls_negative_months_of_7": 0.0, "inflation_gap_core_pce": 0.0}, "balanced"),
    ({"payrolls_negative_months_of_7": 0.0, "sahm_rule": 0.5}, "trap"),
])
def test_macro_trap_states(over, state):
    vals = dict(MACRO, **{k: mv(k, v) for k, v in over.items()})
    assert run(vals, only="macro_trap")["state"] == state


def test_macro_trap_missing_inflation():
    vals = dict(MACRO, inflation_gap_core_pce=na("inflation_gap_core_pce"))
    r = run(vals, only="macro_trap")
    assert r["state"] == INSUFFICIENT and r["missing"][0]["metric"] == "inflation_gap_core_pce"


@pytest.mark.parametrize("ratio,ribbon,drop,state", [
    (0.9, -0.01, -0.07, "stress"), (0.9, 0.02, -0.02, "watch"), (1.2, 0.02, -0.02, "normal"),
    (1.2, -0.01, -0.05, "stress"),
])
def test_miner_stress(ratio, ribbon, drop, state):
    vals = {"price_to_production_cost": mv("price_to_production_cost", ratio),
            "hash_ribbon": mv("hash_ribbon", ribbon), "difficulty_largest_drop_365d": mv("d", drop)}
    assert run(vals, only="miner_stress")["state"] == state


# bands from crypto_fear_greed_index.csv's own classification column: Extreme Fear max 25,
# Fear 26-46, Neutral 47-54, Greed 55-75, Extreme Greed from 76
@pytest.mark.parametrize("value,state", [
    (5, "extreme fear"), (25, "extreme fear"), (26, "fear"), (46, "fear"), (47, "neutral"),
    (54, "neutral"), (55, "greed"), (75, "greed"), (76, "extreme greed"), (95, "extreme greed"),
])
def test_sentiment_bands(value, state):
    assert run({"fear_greed": mv("fear_greed", float(value))}, only="sentiment")["state"] == state


def test_sentiment_missing():
    r = run({"fear_greed": na("fear_greed")}, only="sentiment")
    assert r["state"] == INSUFFICIENT and r["missing"] == [{"metric": "fear_greed",
                                                           "reason": "no data published by 2025-12-09"}]


# gold_btc_relative_30d = BTC 30-day return - gold's (positive: BTC ahead)
@pytest.mark.parametrize("inverse,rel,state", [
    (True, -0.15, "liquidity-driven rotation"), (True, 0.15, "rotation into btc"),
    (False, -0.15, "no rotation"), (True, -0.05, "no rotation"),
])
def test_crossasset_rotation(inverse, rel, state):
    vals = {"gold_btc_relative_30d": mv("gold_btc_relative_30d", rel),
            "gold_btc_inverse_move": mv("gold_btc_inverse_move", inverse, "bool")}
    assert run(vals, only="crossasset_rotation")["state"] == state


def test_crossasset_without_inverse_flag():
    vals = {"gold_btc_relative_30d": mv("gold_btc_relative_30d", -0.15), "gold_btc_inverse_move": na("x")}
    assert run(vals, only="crossasset_rotation")["state"] == INSUFFICIENT
    vals["gold_btc_relative_30d"] = mv("gold_btc_relative_30d", 0.02)  # too small either way
    assert run(vals, only="crossasset_rotation")["state"] == "no rotation"


def test_disabled_regime_is_left_out():
    cfg = _default_rules()
    cfg.regimes["sentiment"]["enabled"] = False
    assert "sentiment" not in run({}, cfg)


def test_missing_threshold_is_a_config_error():
    from btcmacro.errors import ConfigError

    cfg = _default_rules()
    del cfg.regimes["funding_stress"]["range_top_days_min"]
    with pytest.raises(ConfigError, match="range_top_days_min"):
        run(FUNDING, cfg, only="funding_stress")
