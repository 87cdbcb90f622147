"""A user rules file changes thresholds and thereby outcomes; the briefing runs end to end."""

from __future__ import annotations

import json

import pytest

from btcmacro import api
from btcmacro.errors import ConfigError
from btcmacro.rules import evaluate_regimes, load_rules


def _write(tmp_path, text):
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_user_threshold_changes_funding_stress(dec9, tmp_path):
    assert dec9.regimes["funding_stress"]["state"] == "stress"
    # 16 days at/above the range top and +5 bp: raise both bars above the data
    cfg = load_rules(_write(tmp_path, "[regimes.funding_stress]\nrange_top_days_min = 20\nspread_bp_min = 10.0\n"))
    assert cfg.regimes["funding_stress"]["reserves_to_gdp_ample"] == 0.10  # untouched keys keep defaults
    r = evaluate_regimes(dec9.ev, dec9.values, cfg)["funding_stress"]
    assert r["state"] == "elevated"  # only reserves/GDP 9.3% < 10% remains
    e = {x["condition"]: x for x in r["evidence"]}
    assert e["sofr_at_top"]["threshold"] == 20 and e["sofr_at_top"]["result"] is False


def test_user_threshold_changes_sentiment_and_onchain(dec9, tmp_path):
    cfg = load_rules(_write(tmp_path, "[regimes.sentiment]\nextreme_fear_max = 20\n"
                                      "[regimes.onchain]\nstablecoin_inflow_min = 0.02\n"
                                      "accumulation_signals_min = 3\n"))
    out = evaluate_regimes(dec9.ev, dec9.values, cfg)
    assert out["sentiment"]["state"] == "fear"  # F&G 22 > 20
    # stablecoins +1.05% < 2%: exchange balance and OI falling = 2 signs < 3
    assert out["onchain"]["state"] == "contraction"


def test_user_config_dir_rules_file_is_used(dec9, tmp_path, monkeypatch):
    cdir = tmp_path / "cfg"
    cdir.mkdir()
    (cdir / "rules.toml").write_text("[regimes.liquidity]\nnet_liquidity_change_usd = 400e9\n", encoding="utf-8")
    monkeypatch.setenv("BTCMACRO_CONFIG_DIR", str(cdir))
    cfg = load_rules()
    r = evaluate_regimes(dec9.ev, dec9.values, cfg)["liquidity"]
    # -297bn no longer counts as falling, but QT still runs in the data: tightening, decided by
    # qt_running alone -- shown as "turning" because the FOMC ended runoff on 2025-12-01
    e = {x["condition"]: x for x in r["evidence"]}
    assert e["netliq_down"]["result"] is False and e["qt_running"]["result"] is True
    assert r["state"] == "turning"


def test_unknown_key_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'range_top_days'"):
        load_rules(_write(tmp_path, "[regimes.funding_stress]\nrange_top_days = 3\n"))


def test_briefing_end_to_end(snapshot_store, tmp_path):
    b = api.briefing("2025-12-09", store=snapshot_store, with_charts=False)
    j = json.loads(json.dumps(b.to_json()))
    assert j["regimes"]["funding_stress"]["state"] == "stress"
    assert j["regimes"]["liquidity"]["state"] == "turning"
    assert j["levels"] and all({"name", "low", "high", "kind", "evidence"} <= set(lv) for lv in j["levels"])
    assert [s["fomc_date"] for s in j["scenarios"]] == ["2025-12-10"] * 3
    # with a user rules file
    p = _write(tmp_path, "[regimes.funding_stress]\nrange_top_days_min = 20\nspread_bp_min = 10.0\n"
                         "[levels]\nround_steps_usd = [2500]\n")
    b2 = api.briefing("2025-12-09", store=snapshot_store, rules_path=p, with_charts=False)
    assert b2.regimes["funding_stress"]["state"] == "elevated"
    assert sorted(lv["low"] for lv in b2.levels if lv["method"] == "round_number") == [92500.0, 95000.0]
