"""The schema of the rules file: every key's type and range, and the orderings between keys.

:func:`validate` checks the merged rules (defaults + the user's file) and raises one
:class:`~btcmacro.errors.ConfigError` naming the file, the key, the value found and the value
expected, e.g. ``rules.toml: regimes.sentiment.fear_max = "forty-six": expected a number from 0
to 100``. The defaults satisfy the schema (tested), and every key of ``default_rules.toml`` has an
entry here (tested), so a new default cannot go unchecked. docs/rules.md lists the same table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError

__all__ = ["Key", "SCHEMA", "SCENARIO", "ORDERINGS", "REGIME_STATES", "validate", "expected"]

#: the states each regime can report (rules/regimes.py); ``bull_regimes``/``bear_regimes`` entries
#: name one of them as ``"<regime>:<state>"``
REGIME_STATES: dict[str, tuple[str, ...]] = {
    "liquidity": ("tightening", "turning", "neutral", "easing"),
    "funding_stress": ("stress", "elevated", "calm"),
    "macro_trap": ("trap", "labour weakening", "inflation constraint", "balanced"),
    "onchain": ("capitulation", "late-stage contraction", "contraction", "healthy consolidation", "expansion"),
    "miner_stress": ("stress", "watch", "normal"),
    "sentiment": ("extreme fear", "fear", "neutral", "greed", "extreme greed"),
    "crossasset_rotation": ("liquidity-driven rotation", "rotation into btc", "no rotation"),
}
#: units a metric level may have: it is drawn as a BTC price
LEVEL_UNITS = ("USD", "USD/BTC")
_DAYS = 3650  # ten years: the longest window any rule may look back over


@dataclass(frozen=True)
class Key:
    """One key's type and range.

    ``kind`` is ``int`` (a whole number), ``number`` (int or float, finite), ``bool``, ``text``
    (non-empty string), ``choices`` (a list of values from ``choices``), ``steps`` (``"auto"`` or a
    list of positive numbers), ``metrics`` (a list of registry metric ids that are prices) or
    ``regime_states`` (a list of ``"<regime>:<state>"``). ``lo``/``hi`` bound numbers (``lo_open``:
    strictly above ``lo``).
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    unit: str = ""


def _int(lo=None, hi=None, unit=""):
    return Key("int", lo, hi, unit=unit)


def _num(lo=None, hi=None, lo_open=False, unit=""):
    return Key("number", lo, hi, lo_open, unit=unit)


_BOOL = Key("bool")
_FRACTION = _num(0, 1)

#: every key of default_rules.toml except the scenario tables (see :data:`SCENARIO`)
SCHEMA: dict[str, Key] = {
    # [params]
    "params.qt_window_days": _int(1, _DAYS, "days"),
    "params.qt_runoff_threshold_usd": _num(0, lo_open=True, unit="USD"),
    "params.qt_expansion_threshold_usd": _num(0, lo_open=True, unit="USD"),
    "params.sofr_window_days": _int(1, _DAYS, "days"),
    "params.rmp_monthly_bill_purchases_usd": _num(0, unit="USD"),
    "params.rmp_reinvest_mbs": _BOOL,
    "params.fleet_efficiency_j_per_th": _num(0, lo_open=True, unit="J/TH"),
    "params.power_price_usd_per_kwh": _num(0, lo_open=True, unit="USD per kWh"),
    "params.opex_multiplier": _num(0, lo_open=True),
    "params.hash_ribbon_recovery_days": _int(1, _DAYS, "days"),
    "params.payrolls_negative_window": _int(1, 120, "months"),
    "params.inflation_target": _num(0, 0.2, unit="a fraction: 0.02 = 2%"),
    "params.gold_btc_window_days": _int(2, _DAYS, "days"),
    "params.gold_btc_inverse_min_move": _FRACTION,
    # [regimes]
    "regimes.accept_stale": _BOOL,
    "regimes.liquidity.enabled": _BOOL,
    "regimes.liquidity.net_liquidity_window_days": _int(1, _DAYS, "days"),
    "regimes.liquidity.net_liquidity_change_usd": _num(0, unit="USD"),
    "regimes.liquidity.rmp_active_growth_usd": _num(0, unit="USD"),
    "regimes.liquidity.policy_turned_states": Key("choices", choices=("size_held", "runoff", "purchases", "tapering")),
    "regimes.funding_stress.enabled": _BOOL,
    "regimes.funding_stress.range_top_days_min": _int(0, _DAYS, "days"),
    "regimes.funding_stress.spread_bp_min": _num(-500, 500, unit="bp"),
    "regimes.funding_stress.reserves_to_gdp_ample": _FRACTION,
    "regimes.macro_trap.enabled": _BOOL,
    "regimes.macro_trap.negative_payroll_months_min": _int(0, 120, "months"),
    "regimes.macro_trap.jolts_trend_max": _num(-1, 1, unit="a fraction"),
    "regimes.macro_trap.sahm_min": _num(0, 10, unit="pp"),
    "regimes.macro_trap.labour_signals_min": _int(1, 3),
    "regimes.macro_trap.inflation_gap_min": _num(-0.2, 0.2, unit="a fraction: 0.005 = 0.5 pp"),
    "regimes.onchain.enabled": _BOOL,
    "regimes.onchain.capitulation_mvrv_max": _num(0, 100, lo_open=True),
    "regimes.onchain.capitulation_supply_in_loss_min": _FRACTION,
    "regimes.onchain.price_vs_sth_cost_basis_max": _num(-1, 10, unit="a fraction"),
    "regimes.onchain.sth_sopr_max": _num(0, 100, lo_open=True),
    "regimes.onchain.contraction_supply_in_loss_min": _FRACTION,
    "regimes.onchain.realized_cap_growth_max": _num(-1, 10, unit="a fraction"),
    "regimes.onchain.realized_cap_growth_expansion_min": _num(-1, 10, unit="a fraction"),
    "regimes.onchain.stablecoin_inflow_min": _num(-1, 10, unit="a fraction"),
    "regimes.onchain.accumulation_signals_min": _int(1, 3),
    "regimes.miner_stress.enabled": _BOOL,
    "regimes.miner_stress.price_to_cost_max": _num(0, 100, lo_open=True),
    "regimes.miner_stress.hash_ribbon_max": _num(-1, 1, unit="a fraction"),
    "regimes.miner_stress.difficulty_drop_min": _FRACTION,
    "regimes.miner_stress.difficulty_drop_max_age_days": _int(1, 365, "days"),
    "regimes.sentiment.enabled": _BOOL,
    "regimes.sentiment.extreme_fear_max": _num(0, 100),
    "regimes.sentiment.fear_max": _num(0, 100),
    "regimes.sentiment.neutral_max": _num(0, 100),
    "regimes.sentiment.greed_max": _num(0, 100),
    "regimes.crossasset_rotation.enabled": _BOOL,
    "regimes.crossasset_rotation.relative_min": _num(0, 10, unit="a fraction"),
    # [levels]
    "levels.swing_lookback_days": _int(3, _DAYS, "days"),
    "levels.swing_window_days": _int(1, 365, "days"),
    "levels.cluster_tolerance": _FRACTION,
    "levels.zones_per_side": _int(0, 20),
    "levels.round_steps_usd": Key("steps"),
    "levels.profile_lookback_days": _int(2, _DAYS, "days"),
    "levels.profile_bin_pct": _num(0, 0.5, lo_open=True, unit="a fraction: 0.01 = 1%"),
    "levels.profile_zones": _int(0, 20),
    "levels.profile_min_share": _FRACTION,
    "levels.accept_stale": _BOOL,
    "levels.metric_levels": Key("metrics"),
    "scenarios.min_reward_risk": _num(0, lo_open=True, unit="reward per unit of risk"),
    # [thesis] (rules/thesis.py)
    "thesis.weight_margin": _num(0, 1),
    "thesis.weight_agreement": _num(0, 1),
    "thesis.weight_freshness": _num(0, 1),
    "thesis.cap": _num(0, 100, lo_open=True, unit="scale units"),
    "thesis.categorical_strength": _FRACTION,
    "thesis.single_source_agreement": _FRACTION,
    "thesis.fresh_days": _int(0, _DAYS, "days"),
    "thesis.stale_days": _int(1, _DAYS, "days"),
    "thesis.stale_status_factor": _FRACTION,
    "thesis.mixed_band": _FRACTION,
    "thesis.max_signals": _int(1, 7),
    "thesis.max_flips": _int(0, 7),
    "thesis.direction_min_points": _num(0, 100, unit="points"),
    "thesis.min_move_pct": _num(0, 1, unit="a fraction: 0.01 = 1%"),
    "thesis.min_move_scale": _num(0, 10, unit="scale units"),
    "thesis.key_metrics": Key("metric_ids"),
    **{f"thesis.regime_weight.{rid}": _num(0, 10) for rid in REGIME_STATES},
    **{f"thesis.stance.{rid}:{st}": _num(-1, 1) for rid, states in REGIME_STATES.items() for st in states},
}

#: the keys of each ``[scenarios.<name>]`` table
SCENARIO: dict[str, Key] = {
    "enabled": _BOOL,
    "name": Key("text"),
    "rate_change_bp": _int(-300, 300, "bp"),
    "balance_sheet": Key("choice", choices=("expansion", "unchanged")),
    "odds": Key("choice", choices=("cut", "hold", "hike")),
    "horizon_days": _int(0, 365, "days; 0 = until the next scheduled meeting"),
    "bull_trigger_zone": _int(1, 5),
    "bull_trigger_edge": Key("choice", choices=("far", "near")),
    "bull_stop_edge": Key("choice", choices=("far", "near")),
    "bear_trigger_zone": _int(1, 5),
    "bear_trigger_edge": Key("choice", choices=("far", "near")),
    "bear_stop_edge": Key("choice", choices=("far", "near")),
    "bull_targets": _int(0, 10),
    "bear_targets": _int(0, 10),
    "bull_regimes": Key("regime_states"),
    "bear_regimes": Key("regime_states"),
}

#: ``(lower key, higher key, strict, why)``: the lower key's value must be below (``strict``) or
#: at most the higher key's
ORDERINGS: tuple[tuple[str, str, bool, str], ...] = (
    ("regimes.sentiment.extreme_fear_max", "regimes.sentiment.fear_max", True,
     "the extreme-fear band lies below the fear band"),
    ("regimes.sentiment.fear_max", "regimes.sentiment.neutral_max", True, "the fear band lies below the neutral band"),
    ("regimes.sentiment.neutral_max", "regimes.sentiment.greed_max", True, "the neutral band lies below the greed band"),
    ("regimes.onchain.contraction_supply_in_loss_min", "regimes.onchain.capitulation_supply_in_loss_min", False,
     "capitulation needs at least as much supply in loss as a contraction"),
    ("regimes.onchain.realized_cap_growth_max", "regimes.onchain.realized_cap_growth_expansion_min", True,
     "stalling realized-cap growth lies below expansion growth"),
    ("regimes.macro_trap.negative_payroll_months_min", "params.payrolls_negative_window", False,
     "the negative months are counted within the payroll window"),
    ("regimes.funding_stress.range_top_days_min", "params.sofr_window_days", False,
     "the days at the range top are counted within the SOFR window"),
    ("levels.swing_window_days", "levels.swing_lookback_days", True,
     "a swing point needs its window inside the lookback"),
    ("thesis.fresh_days", "thesis.stale_days", True, "an input turns stale after it stops being fresh"),
)


def expected(k: Key) -> str:
    """What a key accepts, in words (used in the error and in docs/rules.md)."""
    unit = f" ({k.unit})" if k.unit else ""
    if k.kind in ("int", "number"):
        what = "a whole number" if k.kind == "int" else "a number"
        if k.lo is not None and k.hi is not None and not k.lo_open:
            return f"{what} from {_n(k.lo)} to {_n(k.hi)}{unit}"
        parts = []
        if k.lo is not None:
            parts.append(f"above {_n(k.lo)}" if k.lo_open else f"at least {_n(k.lo)}")
        if k.hi is not None:
            parts.append(f"at most {_n(k.hi)}")
        return f"{what} {' and '.join(parts)}{unit}" if parts else f"{what}{unit}"
    if k.kind == "bool":
        return "true or false (without quotes)"
    if k.kind == "text":
        return "a non-empty text in quotes"
    if k.kind == "choice":
        return "one of " + ", ".join(f'"{c}"' for c in k.choices)
    if k.kind == "choices":
        return "a list of " + ", ".join(f'"{c}"' for c in k.choices)
    if k.kind == "steps":
        return '"auto" or a list of positive numbers, e.g. [5000, 10000]'
    if k.kind == "metrics":
        return "a list of metric ids that are BTC prices (see btcmacro metrics list)"
    if k.kind == "metric_ids":
        return "a list of metric ids (see btcmacro metrics list)"
    if k.kind == "regime_states":
        return 'a list of "<regime>:<state>" entries, e.g. "sentiment:fear"'
    raise AssertionError(k.kind)


def _n(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:.0e}"


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        from ..inputs import printable

        s = v if len(v) <= 40 else v[:37] + "..."
        return '"' + printable(s).replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v[:5]) + (", ..." if len(v) > 5 else "") + "]"
    return repr(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _problem(k: Key, v: Any) -> str | None:
    """Why ``v`` does not fit ``k`` (None when it fits)."""
    if k.kind in ("int", "number"):
        if k.kind == "int" and not (isinstance(v, int) and not isinstance(v, bool)):
            return "type"
        if not _is_number(v) or not math.isfinite(v):
            return "type"
        if k.lo is not None and (v <= k.lo if k.lo_open else v < k.lo):
            return "range"
        if k.hi is not None and v > k.hi:
            return "range"
        return None
    if k.kind == "bool":
        return None if isinstance(v, bool) else "type"
    if k.kind == "text":
        return None if isinstance(v, str) and v.strip() else "type"
    if k.kind == "choice":
        return None if isinstance(v, str) and v in k.choices else "type"
    if not isinstance(v, list) and not (k.kind == "steps" and v == "auto"):
        return "type"
    if k.kind == "choices":
        return None if all(isinstance(x, str) and x in k.choices for x in v) else "type"
    if k.kind == "steps":
        if v == "auto":
            return None
        return None if all(_is_number(x) and math.isfinite(x) and x > 0 for x in v) else "type"
    if k.kind == "metrics":
        from ..registry import REGISTRY

        for x in v:
            if not isinstance(x, str) or x not in REGISTRY:
                return f"unknown metric {_show(x)}"
            if REGISTRY[x].unit not in LEVEL_UNITS:
                return f"{x} is not a price (unit {REGISTRY[x].unit})"
        return None
    if k.kind == "metric_ids":
        from ..registry import REGISTRY

        for x in v:
            if not isinstance(x, str) or x not in REGISTRY:
                return f"unknown metric {_show(x)}"
        return None
    if k.kind == "regime_states":
        for x in v:
            rid, _, state = x.partition(":") if isinstance(x, str) else ("", "", "")
            if state not in REGIME_STATES.get(rid, ()):
                return f"unknown regime state {_show(x)}"
        return None
    raise AssertionError(k.kind)


def _get(doc: Mapping, dotted: str):
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


_MISSING = object()


#: [thesis.unit_scale] and [thesis.metric_scale] hold one positive scale per unit or metric
SCALE_TABLES = ("thesis.unit_scale", "thesis.metric_scale")
_SCALE = _num(0, lo_open=True, unit="the value of one scale unit")


def keys_of(doc: Mapping) -> dict[str, Key]:
    """The schema entry of every key in ``doc`` (scenario and scale tables expanded)."""
    out = dict(SCHEMA)
    for table in SCALE_TABLES:
        cur = _get(doc, table)
        if isinstance(cur, Mapping):
            for k in cur:
                out[f"{table}.{k}"] = _SCALE
    for name, table in (doc.get("scenarios") or {}).items():
        if not isinstance(table, Mapping):
            continue  # a [scenarios] setting such as min_reward_risk, in SCHEMA
        for k, spec in SCENARIO.items():
            out[f"scenarios.{name}.{k}"] = spec
    return out


def validate(doc: Mapping, where: str) -> None:
    """Check the merged rules ``doc`` against the schema; one ConfigError on the first problem.

    ``where`` is the file the user's values came from (named in the error).
    """
    for dotted, k in keys_of(doc).items():
        v = _get(doc, dotted)
        if v is _MISSING:
            continue  # _merge only lets default keys in, and the defaults have them all
        why = _problem(k, v)
        if why is None:
            continue
        detail = "" if why in ("type", "range") else f" ({why})"
        raise ConfigError(f"{dotted} = {_show(v)}{detail}: expected {expected(k)}", where=where)
    for lo, hi, strict, why in ORDERINGS:
        a, b = _get(doc, lo), _get(doc, hi)
        if a is _MISSING or b is _MISSING:
            continue
        if (a >= b) if strict else (a > b):
            rel = "below" if strict else "at most"
            raise ConfigError(f"{lo} = {_show(a)} must be {rel} {hi} = {_show(b)} ({why})", where=where)
