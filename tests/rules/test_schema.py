"""The rules file is validated against one schema (rules/schema.py): types, ranges, orderings."""

from __future__ import annotations

import shutil
import tomllib

import pytest
from typer.testing import CliRunner

from btcmacro.cli import app
from btcmacro.errors import ConfigError, exit_code
from btcmacro.rules import load_rules
from btcmacro.rules.config import default_rules_text
from btcmacro.rules.schema import ORDERINGS, REGIME_STATES, SCHEMA, SCENARIO, _get, validate


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def test_every_default_key_has_a_schema_entry_and_the_defaults_pass():
    defaults = tomllib.loads(default_rules_text())
    keys = set(_flat(defaults))
    # scenario tables are checked against SCENARIO; [scenarios] settings (min_reward_risk) are in SCHEMA
    scen = {k for k in keys if k.startswith("scenarios.") and k.count(".") == 2}
    # [thesis.unit_scale] / [thesis.metric_scale] keys are units and metric ids: one entry for each table
    scales = {k for k in keys if k.startswith(("thesis.unit_scale.", "thesis.metric_scale."))}
    assert keys - scen - scales == set(SCHEMA), "schema and default_rules.toml disagree"
    for k in scen:
        assert k.rsplit(".", 1)[1] in SCENARIO, k
    validate(defaults, "defaults")  # no error
    for lo, hi, _, _ in ORDERINGS:
        assert lo in keys and hi in keys


def test_regime_states_are_what_the_regimes_report(dec9):
    """The "<regime>:<state>" vocabulary of the schema is the regimes' own list of states."""
    assert {rid: tuple(r["states"]) for rid, r in dec9.regimes.items()} == REGIME_STATES


def _write(tmp_path, text: str):
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


# (TOML, text that must be in the one-line error) -- every case of issue 13 plus the ranges
BAD = [
    ('[regimes.sentiment]\nfear_max = "forty-six"\n',
     'regimes.sentiment.fear_max = "forty-six": expected a number from 0 to 100'),
    ('[params]\ninflation_target = "two"\n', 'params.inflation_target = "two": expected a number from 0 to 0.2'),
    ('[params]\ninflation_target = 2\n', "params.inflation_target = 2: expected a number from 0 to 0.2 (a fraction"),
    ("[levels]\nswing_window_days = 0\n", "levels.swing_window_days = 0: expected a whole number from 1 to 365"),
    ("[levels]\nswing_window_days = 2.5\n", "levels.swing_window_days = 2.5: expected a whole number"),
    ('[levels]\nround_steps_usd = "banana"\n', 'levels.round_steps_usd = "banana": expected "auto" or a list'),
    ("[levels]\nround_steps_usd = [5000, -1]\n", "levels.round_steps_usd = [5000, -1]"),
    ("[regimes.sentiment]\nextreme_fear_max = 50\n",
     "regimes.sentiment.extreme_fear_max = 50 must be below regimes.sentiment.fear_max = 46"),
    ("[regimes.sentiment]\ngreed_max = 54\n", "regimes.sentiment.neutral_max = 54 must be below regimes.sentiment.greed_max = 54"),
    ('[regimes.liquidity]\nenabled = "yes"\n', 'regimes.liquidity.enabled = "yes": expected true or false'),
    ("[regimes]\naccept_stale = 1\n", "regimes.accept_stale = 1: expected true or false"),
    ("[params]\nqt_window_days = -56\n", "params.qt_window_days = -56: expected a whole number from 1 to 3650"),
    ("[params]\nqt_window_days = true\n", "params.qt_window_days = true: expected a whole number"),
    ("[params]\nqt_runoff_threshold_usd = 0\n", "params.qt_runoff_threshold_usd = 0: expected a number above 0"),
    ("[params]\nqt_runoff_threshold_usd = nan\n", "params.qt_runoff_threshold_usd = nan"),
    ("[scenarios.hold]\nbull_targets = -1\n", "scenarios.hold.bull_targets = -1: expected a whole number from 0 to 10"),
    ('[scenarios.hold]\nbalance_sheet = "taper"\n', 'scenarios.hold.balance_sheet = "taper": expected one of "expansion", "unchanged"'),
    ('[scenarios.hold]\nname = ""\n', 'scenarios.hold.name = "": expected a non-empty text'),
    ('[scenarios.hold]\nbull_regimes = ["sentiment:fearful"]\n', 'unknown regime state "sentiment:fearful"'),
    ('[levels]\nmetric_levels = ["btc_ma_50d", "nope"]\n', 'unknown metric "nope"'),
    ('[levels]\nmetric_levels = ["mvrv"]\n', "mvrv is not a price (unit ratio)"),
    ('[regimes.liquidity]\npolicy_turned_states = ["paused"]\n', 'policy_turned_states = ["paused"]: expected a list of "size_held"'),
    ("[regimes.onchain]\ncontraction_supply_in_loss_min = 0.6\n",
     "regimes.onchain.contraction_supply_in_loss_min = 0.6 must be at most regimes.onchain.capitulation_supply_in_loss_min = 0.5"),
    ("[regimes.macro_trap]\nnegative_payroll_months_min = 8\n",
     "regimes.macro_trap.negative_payroll_months_min = 8 must be at most params.payrolls_negative_window = 7"),
    ("[regimes.macro_trap]\nlabour_signals_min = 4\n", "labour_signals_min = 4: expected a whole number from 1 to 3"),
    ("[regimes.onchain]\naccumulation_signals_min = 0\n", "accumulation_signals_min = 0: expected a whole number from 1 to 3"),
    ("[regimes.sentiment]\nfear_max = { a = 1 }\n", "regimes.sentiment.fear_max = a table: expected a number"),
]


@pytest.mark.parametrize("text,needle", BAD)
def test_bad_rules_are_one_config_error(text, needle, tmp_path):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    assert e.value.where == str(p) and needle in e.value.message, e.value.message
    assert "\n" not in str(e.value) and exit_code(e.value) == 3


def test_good_overrides_still_load(tmp_path):
    cfg = load_rules(_write(tmp_path, "[regimes.sentiment]\nextreme_fear_max = 20\nfear_max = 40.5\n"
                                      "[levels]\nround_steps_usd = [1000, 2500.5]\nmetric_levels = [\"btc_ath\"]\n"
                                      "[scenarios.hold]\nenabled = false\nbull_regimes = []\n"))
    assert cfg.regimes["sentiment"]["fear_max"] == 40.5 and cfg.levels["round_steps_usd"] == [1000, 2500.5]
    assert cfg.scenarios["hold"]["enabled"] is False


@pytest.mark.parametrize("kind", ["binary", "directory", "latin1"])
def test_unreadable_rules_files(kind, tmp_path):
    if kind == "binary":
        p = tmp_path / "rules.toml"
        p.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
        needle = "not a text file (byte 136 is not UTF-8)"  # 8 + the 128 ASCII bytes
    elif kind == "latin1":
        p = tmp_path / "rules.toml"
        p.write_bytes('[scenarios.hold]\nname = "caf\xe9"\n'.encode("latin-1"))
        needle = "not a text file (byte 28 is not UTF-8)"  # the é after 28 ASCII bytes
    else:
        p = tmp_path / "rules.d"
        p.mkdir()
        needle = "is a directory, not a TOML file"
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    assert e.value.where == str(p) and needle in e.value.message


def test_cli_exit_3_one_line_store_unchanged(snapshot_store_path, tmp_path):
    from btcmacro.store import Store

    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    with Store(store, read_only=True) as s:
        before = s.checksum()
    runner = CliRunner()
    for text, needle in (BAD[0], BAD[7], BAD[9]):
        p = _write(tmp_path, text)
        res = runner.invoke(app, ["brief", "--as-of", "2025-12-09", "--rules", str(p), "--format", "json",
                                  "--out", str(tmp_path / "b.json"), "--store", str(store)])
        assert res.exit_code == 3, res.output
        err = res.stderr.strip().splitlines()
        assert len(err) == 1 and err[0] == f"error: {p}: " + err[0].split(": ", 2)[2] and needle in err[0]
    res = runner.invoke(app, ["analyze", "backtest", "--rules", str(tmp_path), "--store", str(store)])
    assert res.exit_code == 3 and "is not a file" in res.stderr
    assert not (tmp_path / "b.json").exists()
    with Store(store, read_only=True) as s:
        assert s.checksum() == before


def test_schema_get_helper():
    doc = {"a": {"b": 1}}
    assert _get(doc, "a.b") == 1 and _get(doc, "a.c") is not None and _get(doc, "x.y") is _get(doc, "a.c")


def test_docs_list_the_schema():
    """docs/rules.md shows every key with the expected value the error message gives."""
    from pathlib import Path

    from btcmacro.rules.schema import expected

    doc = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text("utf-8")
    for k, spec in SCHEMA.items():
        assert f"| `{k}` | {expected(spec)} |" in doc, k
    for k, spec in SCENARIO.items():
        assert f"| `scenarios.<id>.{k}` | {expected(spec)} |" in doc, k
    for lo, hi, strict, _ in ORDERINGS:
        assert f"`{lo}` {'<' if strict else '≤'} `{hi}`" in doc
