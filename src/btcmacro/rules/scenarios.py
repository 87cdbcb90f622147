"""The FOMC scenario map: for the next meeting, each decision with a bullish and a bearish path.

Scenarios are declared in ``[scenarios.<id>]`` of the rules file (name, rate change, balance-sheet
signal, how many targets each path lists, and which regime states support each path). Every
price in a path is a level from :func:`btcmacro.rules.levels.compute_levels`:

* bullish — trigger: a daily close above the nearest resistance (the swing-high zone's top when
  there is one); targets: the levels above it, nearest first; invalidation: a daily close below
  the nearest support (the swing-low zone's bottom when there is one);
* bearish — the mirror image.

The market-implied probability of each decision (fed funds futures) is **not in the data**; each
scenario says so instead of showing a number. The policy range after the decision is computed
from the current target range and the scenario's rate change.
"""

from __future__ import annotations

from typing import Any, Mapping

from .levels import _usd

PROBABILITY_NOTE = ("market-implied probability not available: fed funds futures / OIS pricing is not "
                    "in btcmacro's data")

ZLB_NOTE = ("the target range is {lo:.2f}%–{hi:.2f}%, at the zero lower bound: a cut would take it below "
            "zero, which the FOMC has never done")

_NAMES_ZH = {
    "cut_with_expansion": "降息＋擴表訊號（準備金管理購債）",
    "cut_without_expansion": "降息但無擴表訊號",
    "hold": "按兵不動",
}


def _price_ref(lv: dict, edge: str) -> dict:
    return {"name": lv["name"], "names": lv.get("names"), "price": float(lv[edge]), "low": float(lv["low"]),
            "high": float(lv["high"]), "method": lv.get("method"), "metric": lv.get("metric"),
            "date": lv.get("date")}


def _nearest(levels: list[dict], kind: str, method: str) -> dict | None:
    """The zone of ``method`` nearest the price, else the nearest level of that kind."""
    side = [lv for lv in levels if lv["kind"] == kind]
    if not side:
        return None
    zones = [lv for lv in side if lv.get("method") == method]
    pool = zones or side
    return min(pool, key=lambda lv: lv["low"]) if kind == "resistance" else max(pool, key=lambda lv: lv["high"])


def _targets_above(levels: list[dict], above: float, n: int) -> list[dict]:
    """The ``n`` levels wholly above ``above``, nearest first; a target's price is its low edge."""
    up = sorted((lv for lv in levels if lv["low"] > above), key=lambda lv: lv["low"])
    return [{**_price_ref(lv, "low"), "kind": "target"} for lv in up[:n]]


def _targets_below(levels: list[dict], below: float, n: int) -> list[dict]:
    """The ``n`` levels wholly below ``below``, nearest first; a target's price is its high edge."""
    down = sorted((lv for lv in levels if lv["high"] < below), key=lambda lv: -lv["high"])
    return [{**_price_ref(lv, "high"), "kind": "target"} for lv in down[:n]]


def _regime_matches(regimes: Mapping[str, dict], wanted: list[str]) -> list[dict]:
    """Which ``"regime_id:state"`` entries hold now, with the regime's label."""
    out = []
    for item in wanted:
        rid, _, state = item.partition(":")
        r = regimes.get(rid)
        if r is not None and r.get("state") == state:
            out.append({"regime": rid, "state": state, "label": r.get("label")})
    return out


def _policy_after(values: Mapping[str, Any], change_bp: float) -> dict:
    lo, hi = values.get("policy_rate_lower"), values.get("policy_rate_upper")
    if lo is None or hi is None or lo.value is None or hi.value is None:
        return {"current": None, "after": None, "change_bp": change_bp,
                "note": "policy target range unavailable"}
    d = change_bp / 100.0
    if float(lo.value) + d < -1e-9:
        return {"current": [float(lo.value), float(hi.value)], "after": None, "change_bp": change_bp,
                "date": hi.date, "source": hi.source, "feasible": False,
                "note": ZLB_NOTE.format(lo=float(lo.value), hi=float(hi.value))}
    return {"current": [float(lo.value), float(hi.value)],
            "after": [round(float(lo.value) + d, 4), round(float(hi.value) + d, 4)],
            "change_bp": change_bp, "date": hi.date, "source": hi.source}


def _liquidity_if(regimes: Mapping[str, dict], values: Mapping[str, Any], balance_sheet: str) -> dict | None:
    """The liquidity regime the scenario's balance-sheet decision would lead to, once visible in
    the data: with an expansion signal, purchases are assumed to show in Treasury holdings (the
    regime's ``rmp_visible`` condition true); otherwise the current conditions stand."""
    from .regimes import LABELS, Condition, decide, liquidity_decision

    r = regimes.get("liquidity")
    if not r:
        return None
    conds = {e["condition"]: Condition(e["condition"], e["metric"], e["comparison"], e["threshold"],
                                       e.get("threshold_key"), result=e["result"]) for e in r["evidence"]}
    out: dict[str, Any] = {"now": r["state"]}
    if balance_sheet == "expansion" and "rmp_visible" in conds:
        conds["rmp_visible"].result = True
        out["assumes"] = ("reserve-management purchases show in Fed Treasury holdings at or above the "
                          "regime's rmp_active_growth_usd a year")
        proj = values.get("rmp_annual_growth_projection")
        if proj is not None and proj.value is not None:
            out["implied_growth_usd_per_year"] = float(proj.value)
            out["implied_growth_source"] = proj.source
    else:
        out["assumes"] = "no change to the balance-sheet conditions measured now"
    state = decide(conds, liquidity_decision)
    out["after"] = state if state is not None else "insufficient data"
    out["label"] = LABELS.get(out["after"])
    return out


#: per direction: which edge of the trigger zone, the trigger wording, the invalidation's
_DIRECTION = {
    "bullish": ("high", "daily close above", "no level above the price in the data: price discovery",
                "low", "daily close below"),
    "bearish": ("low", "daily close below", "no level below the price in the data",
                "high", "daily close above"),
}


def _path(direction: str, trigger_zone: dict | None, invalidation_zone: dict | None, price: float,
          targets: list, supporting: list) -> dict:
    """One path of a scenario: a daily close beyond the trigger zone (or price discovery when
    there is no level on that side), its targets, and the invalidation on the other side."""
    edge, cond, none_text, inv_edge, inv_cond = _DIRECTION[direction]
    if trigger_zone is not None:
        trig = _price_ref(trigger_zone, edge)
        trigger = {"condition": cond, **trig, "text": f"{cond} {trigger_zone['name']} ({_usd(trig['price'])})"}
    else:
        trigger = {"condition": cond, "name": "latest close", "price": price, "text": none_text}
    invalidation = ({"condition": inv_cond, **_price_ref(invalidation_zone, inv_edge),
                     "text": f"{inv_cond} {invalidation_zone['name']} ({_usd(invalidation_zone[inv_edge])})"}
                    if invalidation_zone is not None else None)
    return {"direction": direction, "trigger": trigger, "targets": targets if trigger_zone is not None else [],
            "invalidation": invalidation, "supporting_regimes": supporting}


def build_scenarios(ev, values: Mapping[str, Any], regimes: Mapping[str, dict], levels: list[dict],
                    fomc: dict | None, cfg) -> list[dict]:
    """Scenario map for the next FOMC meeting after the as-of date.

    Parameters
    ----------
    ev : btcmacro.registry.Evaluator
        Unused today (kept for scenario rules that need a series).
    values : mapping
        ``{metric_id: MetricValue}``: the policy range and the latest price.
    regimes : mapping
        Output of :func:`btcmacro.rules.regimes.evaluate_regimes`.
    levels : list of dict
        Output of :func:`btcmacro.rules.levels.compute_levels`.
    fomc : dict or None
        :func:`btcmacro.rules.fomc.next_meeting` for the as-of date.
    cfg : btcmacro.rules.config.RulesConfig
        ``cfg.scenarios`` holds the declarations.

    Returns
    -------
    list of dict
        ``{"id", "name", "names", "fomc_date", "decision", "probability", "probability_note",
        "paths": [bullish, bearish], "applicable"}``; empty when no meeting is known after the
        as-of date. A cut that would take the target range below zero is ``"applicable": False``
        with a ``"note"`` and no paths.
    """
    if fomc is None:
        return []
    sc = cfg.scenarios
    pv = values.get("btc_price")
    price = None if pv is None or pv.value is None else float(pv.value)
    res = _nearest(levels, "resistance", "swing_high_zone")
    sup = _nearest(levels, "support", "swing_low_zone")
    out = []
    for sid, d in sc.items():
        if not isinstance(d, dict) or not d.get("enabled", True):
            continue
        n_bull, n_bear = int(d["bull_targets"]), int(d["bear_targets"])
        paths = [
            _path("bullish", res, sup, price, _targets_above(levels, res["high"], n_bull) if res is not None else [],
                  _regime_matches(regimes, list(d.get("bull_regimes", [])))),
            _path("bearish", sup, res, price, _targets_below(levels, sup["low"], n_bear) if sup is not None else [],
                  _regime_matches(regimes, list(d.get("bear_regimes", [])))),
        ]

        change = float(d["rate_change_bp"])
        rate = _policy_after(values, change)
        if rate.get("feasible") is False:
            # a cut at the zero lower bound: listed, with the reason, but no paths
            out.append({
                "id": sid, "name": d["name"], "names": {"en": d["name"], "zh-TW": _NAMES_ZH.get(sid, d["name"])},
                "fomc_date": fomc["end"], "fomc_start": fomc["start"], "days_ahead": fomc.get("days_ahead"),
                "decision": {"rate": rate, "balance_sheet": d["balance_sheet"]},
                "applicable": False, "note": rate["note"],
                "probability": None, "probability_note": PROBABILITY_NOTE,
                "price": price, "price_date": None if pv is None else pv.date, "paths": [],
            })
            continue
        out.append({
            "id": sid, "name": d["name"], "names": {"en": d["name"], "zh-TW": _NAMES_ZH.get(sid, d["name"])},
            "fomc_date": fomc["end"], "fomc_start": fomc["start"], "days_ahead": fomc.get("days_ahead"),
            "decision": {"rate": rate, "balance_sheet": d["balance_sheet"]}, "applicable": True,
            "liquidity_regime": _liquidity_if(regimes, values, d["balance_sheet"]),
            "probability": None, "probability_note": PROBABILITY_NOTE,
            "price": price, "price_date": None if pv is None else pv.date,
            "paths": paths,
        })
    return out
