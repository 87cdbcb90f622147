"""The FOMC scenario map: for the next meeting, each policy outcome with a bullish and a bearish path.

Scenarios are declared in ``[scenarios.<id>]`` of the rules file: the policy the FOMC must announce
(rate change, balance-sheet signal), the market outcome that prices it (``odds``), which zone
and which edge of it triggers and invalidates each path, how many targets each path lists, the
horizon, and which regime states support each path. Every price is a level from
:func:`btcmacro.rules.levels.compute_levels`:

* zones are the swing zones of each side, nearest first, then the other levels beyond them;
* bullish -- trigger: a daily close (00:00 UTC) beyond the chosen edge of the ``bull_trigger_zone``-th
  resistance zone ("far" = its upper edge, "near" = its lower edge); targets: the levels wholly
  above the trigger price, nearest first; invalidation: a daily close beyond the ``bull_stop_edge``
  of the nearest support zone ("far" = its lower edge, "near" = its upper edge);
* bearish -- the mirror image;
* reward/risk: (objective − trigger) / (trigger − invalidation), in price, where the objective is
  the farthest listed target (each target also carries its own ratio); flagged poor below
  ``[scenarios] min_reward_risk``;
* horizon: ``horizon_days`` after the decision, or (0) until the next scheduled meeting.

The probability is the market's (Kalshi's Fed-decision markets, :mod:`btcmacro.indicators.policy`)
for the scenario's rate decision, taken only if it was traded for this meeting; otherwise each
scenario says why it has none. The market does not price the balance-sheet announcement, so the
two cut scenarios share the probability of a cut. The policy range after the decision is computed
from the current target range and the scenario's rate change.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from .levels import _usd

PROBABILITY_NOTE = ("no market-implied probability for this date: Kalshi's Fed-decision prices are not in "
                    "the data (they come with a live update)")

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


#: edge of a zone by side and rule: "far" is the edge a move must clear to leave the zone behind
_EDGE = {("resistance", "far"): "high", ("resistance", "near"): "low",
         ("support", "far"): "low", ("support", "near"): "high"}
_EDGE_RULE = {
    ("resistance", "far"): "a daily close (00:00 UTC) above the zone's upper edge",
    ("resistance", "near"): "a daily close (00:00 UTC) above the zone's lower edge",
    ("support", "far"): "a daily close (00:00 UTC) below the zone's lower edge",
    ("support", "near"): "a daily close (00:00 UTC) below the zone's upper edge",
}
_COND = {"resistance": "daily close above", "support": "daily close below"}
_POLICY_TEXT = {
    ("cut", "expansion"): "the FOMC cuts by {bp} bp and announces reserve-management purchases (balance-sheet growth)",
    ("cut", "unchanged"): "the FOMC cuts by {bp} bp without announcing balance-sheet purchases",
    ("hold", "unchanged"): "the FOMC leaves the target range unchanged, with no balance-sheet purchases",
    ("hold", "expansion"): "the FOMC leaves the target range unchanged but announces balance-sheet purchases",
    ("hike", "unchanged"): "the FOMC raises the target range by {bp} bp",
    ("hike", "expansion"): "the FOMC raises the target range by {bp} bp and announces balance-sheet purchases",
}


def beyond(close: float, price: float, above: bool) -> bool:
    """The map's edge rule: a daily close strictly beyond ``price`` (above it, or below it)."""
    return close > price if above else close < price


def zones(levels: list[dict], kind: str, method: str = "swing_high_zone") -> list[dict]:
    """Zones of one side, nearest first: the swing zones (``method``), then every other level of
    that side beyond the last swing zone, so a second or third zone always exists if any level does."""
    side = [lv for lv in levels if lv["kind"] == kind]
    key = (lambda lv: lv["low"]) if kind == "resistance" else (lambda lv: -lv["high"])
    swing = sorted((lv for lv in side if lv.get("method") == method), key=key)
    if not swing:
        return sorted(side, key=key)
    last = key(swing[-1])
    return swing + sorted((lv for lv in side if lv.get("method") != method and key(lv) > last), key=key)


def _edge_ref(zone: dict, kind: str, edge: str) -> dict:
    ref = _price_ref(zone, _EDGE[(kind, edge)])
    ref.update({"condition": _COND[kind], "edge": edge, "edge_rule": _EDGE_RULE[(kind, edge)],
                "text": f"{_COND[kind]} {zone['name']} ({_usd(ref['price'])})"})
    return ref


def _pct(a: float, b: float | None) -> float | None:
    return None if b in (None, 0) else a / b - 1.0


def _setup(direction: str, d: Mapping[str, Any], res: list[dict], sup: list[dict], price: float | None,
           levels: list[dict], supporting: list[dict], min_rr: float) -> dict:
    """One path: trigger (zone rank + edge), invalidation (the nearest zone on the other side,
    with its edge), targets beyond the trigger, distances and reward/risk."""
    bull = direction == "bullish"
    kind, other, pool, opp = (("resistance", "support", res, sup) if bull else ("support", "resistance", sup, res))
    rank = max(1, int(d.get(f"{'bull' if bull else 'bear'}_trigger_zone", 1)))
    edge = str(d.get(f"{'bull' if bull else 'bear'}_trigger_edge", "far"))
    stop_edge = str(d.get(f"{'bull' if bull else 'bear'}_stop_edge", "far"))
    n = int(d["bull_targets" if bull else "bear_targets"])
    zone = pool[rank - 1] if len(pool) >= rank else None
    inv_zone = opp[0] if opp else None
    if zone is None:
        none_text = ("no level above the price in the data: price discovery" if bull
                     else "no level below the price in the data")
        return {"direction": direction, "trigger": {"condition": _COND[kind], "name": "latest close", "price": price,
                                                    "text": none_text},
                "targets": [], "invalidation": _edge_ref(inv_zone, other, stop_edge) if inv_zone else None,
                "supporting_regimes": supporting, "reward_risk": None, "reward_risk_poor": None}
    trig = _edge_ref(zone, kind, edge)
    tp = trig["price"]
    targets = _targets_above(levels, tp, n) if bull else _targets_below(levels, tp, n)
    for tg in targets:
        tg["distance_pct"] = _pct(tg["price"], price)
        tg["from_trigger_pct"] = _pct(tg["price"], tp)
    inv = _edge_ref(inv_zone, other, stop_edge) if inv_zone is not None else None
    trig["distance_pct"] = _pct(tp, price)
    rr = None
    risk = None if inv is None else ((tp - inv["price"]) if bull else (inv["price"] - tp))
    if risk is not None and risk > 0:
        for tg in targets:
            tg["reward_risk"] = ((tg["price"] - tp) if bull else (tp - tg["price"])) / risk
        if targets:  # the objective is the farthest listed target
            reward = (targets[-1]["price"] - tp) if bull else (tp - targets[-1]["price"])
            rr = {"reward_pct": reward / tp, "risk_pct": risk / tp, "ratio": reward / risk,
                  "target": targets[-1]["price"]}
    return {"direction": direction, "trigger": trig, "targets": targets, "invalidation": inv,
            "supporting_regimes": supporting, "reward_risk": rr,
            "reward_risk_poor": None if rr is None else rr["ratio"] < min_rr}


def _horizon(fomc: dict, d: Mapping[str, Any]) -> dict:
    """Days the map stays valid after the decision: ``horizon_days`` from the rules, else until
    the following scheduled meeting."""
    from .fomc import meetings

    end = pd.Timestamp(fomc["end"])
    days = int(d.get("horizon_days", 0) or 0)
    if days > 0:
        return {"days": days, "end": (end + pd.Timedelta(days=days)).date().isoformat(), "basis": "rules"}
    nxt = [pd.Timestamp(m["end"]) for m in meetings() if m["scheduled"] and pd.Timestamp(m["end"]) > end]
    if not nxt:
        return {"days": 42, "end": (end + pd.Timedelta(days=42)).date().isoformat(), "basis": "six weeks (no later meeting in the calendar)"}
    return {"days": int((nxt[0] - end).days), "end": nxt[0].date().isoformat(), "basis": "next meeting"}


def market_odds(values: Mapping[str, Any], outcome: str | None, fomc: dict) -> dict:
    """The market-implied probability of ``outcome`` for this meeting, or why there is none.

    The odds series are about the next scheduled meeting as of each day; an observation made
    before the previous meeting's decision is about that earlier meeting and is not used."""
    from .fomc import meetings

    if not outcome:
        return {"value": None, "note": "no market prices this scenario"}
    mv = values.get(f"fomc_odds_{outcome}")
    if mv is None or mv.value is None or mv.status == "unavailable":
        return {"value": None, "note": PROBABILITY_NOTE}
    obs = pd.Timestamp(mv.date)
    ahead = [pd.Timestamp(m["end"]) for m in meetings() if m["scheduled"] and pd.Timestamp(m["end"]) >= obs]
    if not ahead or ahead[0] != pd.Timestamp(fomc["end"]):
        return {"value": None, "earlier_date": mv.date,
                "note": (f"no market odds for the {fomc['end']} meeting: the latest Kalshi price "
                         f"({mv.date}) is about an earlier meeting")}
    return {"value": float(mv.value), "date": mv.date, "source": mv.source, "outcome": outcome,
            "note": "Kalshi-implied probability of the rate decision; the market does not price the "
                    "balance-sheet announcement" if outcome == "cut" else "Kalshi-implied probability"}


def build_scenarios(ev, values: Mapping[str, Any], regimes: Mapping[str, dict], levels: list[dict],
                    fomc: dict | None, cfg) -> list[dict]:
    """Scenario map for the next FOMC meeting after the as-of date.

    Parameters
    ----------
    ev : btcmacro.registry.Evaluator
        Unused today (kept for scenario rules that need a series).
    values : mapping
        ``{metric_id: MetricValue}``: the policy range, the latest price, the market odds.
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
        ``{"id", "name", "names", "fomc_date", "decision", "policy_trigger", "horizon",
        "probability", "probability_detail", "probability_note", "paths": [bullish, bearish],
        "applicable"}``; empty when no meeting is known after the as-of date. Each path has its
        trigger and invalidation (with the zone edge and the rule that fires them), targets with
        their distance, and ``reward_risk`` (farthest target vs invalidation, from the trigger price)
        flagged ``reward_risk_poor`` below ``[scenarios] min_reward_risk``. A cut that would take
        the target range below zero is ``"applicable": False`` with a ``"note"`` and no paths.
    """
    if fomc is None:
        return []
    sc = cfg.scenarios
    min_rr = float(sc.get("min_reward_risk", 1.5))
    pv = values.get("btc_price")
    price = None if pv is None or pv.value is None else float(pv.value)
    res = zones(levels, "resistance", "swing_high_zone")
    sup = zones(levels, "support", "swing_low_zone")
    out = []
    for sid, d in sc.items():
        if not isinstance(d, dict) or not d.get("enabled", True):
            continue
        change = float(d["rate_change_bp"])
        decision = "cut" if change < 0 else "hike" if change > 0 else "hold"
        policy = {"rate_change_bp": change, "decision": decision, "balance_sheet": d["balance_sheet"],
                  "text": _POLICY_TEXT.get((decision, d["balance_sheet"]), "{bp} bp").format(bp=abs(int(change)))}
        odds = market_odds(values, d.get("odds", decision), fomc)
        base = {
            "id": sid, "name": d["name"], "names": {"en": d["name"], "zh-TW": _NAMES_ZH.get(sid, d["name"])},
            "fomc_date": fomc["end"], "fomc_start": fomc["start"], "days_ahead": fomc.get("days_ahead"),
            "policy_trigger": policy, "horizon": _horizon(fomc, d),
            "probability": odds["value"], "probability_detail": odds, "probability_note": odds["note"],
            "price": price, "price_date": None if pv is None else pv.date,
        }
        rate = _policy_after(values, change)
        if rate.get("feasible") is False:
            # a cut at the zero lower bound: listed, with the reason, but no paths
            out.append({**base, "decision": {"rate": rate, "balance_sheet": d["balance_sheet"]},
                        "applicable": False, "note": rate["note"], "paths": []})
            continue
        paths = [_setup("bullish", d, res, sup, price, levels,
                        _regime_matches(regimes, list(d.get("bull_regimes", []))), min_rr),
                 _setup("bearish", d, res, sup, price, levels,
                        _regime_matches(regimes, list(d.get("bear_regimes", []))), min_rr)]
        out.append({**base, "decision": {"rate": rate, "balance_sheet": d["balance_sheet"]}, "applicable": True,
                    "liquidity_regime": _liquidity_if(regimes, values, d["balance_sheet"]), "paths": paths})
    return out
