"""Regime classification: named conditions over registry metrics, decided with their evidence.

Every regime is built the same way:

1. A few **conditions**, each one comparison of a metric value (or a quantity derived from a
   metric's series, such as a 13-week change) with a threshold from the ``[regimes.<id>]`` table
   of the rules file. A condition whose input is unavailable is *unknown*, not false.
2. A **decision function** from the conditions' truth values to a state.
3. The state is reported only if it is **the same for every possible truth value of the unknown
   conditions**. Otherwise the regime says ``"insufficient data"`` and names the missing metrics
   (with the registry's reason). A regime never guesses: if the one missing input could change
   the answer, there is no answer.

Each outcome is a dict::

    {"state": "tightening", "label": {"en": ..., "zh-TW": ...}, "name": {...},
     "rule": "one line: how the state was decided",
     "evidence": [{"condition", "metric", "value", "unit", "date", "source", "status",
                   "comparison", "threshold", "threshold_key", "result", "derived"}, ...],
     "missing": [{"metric", "reason"}], "context": [...]}

``comparison`` and ``threshold`` are exactly what was tested (``value comparison threshold``);
``threshold_key`` is the rules-file key that sets it, so a reader can change it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pandas as pd

from ..errors import ConfigError
from ..indicators.common import change_over, pct_change_over

INSUFFICIENT = "insufficient data"

#: every state a regime can report, with its labels (en, zh-TW)
LABELS: dict[str, dict[str, str]] = {
    INSUFFICIENT: {"en": "Insufficient data", "zh-TW": "資料不足"},
    # liquidity
    "tightening": {"en": "Tightening", "zh-TW": "緊縮"},
    "turning": {"en": "Turning: still tightening in the data, QT already ended by the FOMC",
                "zh-TW": "轉折：數據仍顯示緊縮，但 FOMC 已結束縮表"},
    "neutral": {"en": "Neutral", "zh-TW": "中性"},
    "easing": {"en": "Easing", "zh-TW": "寬鬆"},
    # funding stress
    "stress": {"en": "Stress", "zh-TW": "壓力"},
    "elevated": {"en": "Elevated", "zh-TW": "偏高"},
    "calm": {"en": "Calm", "zh-TW": "平穩"},
    # macro trap
    "trap": {"en": "Trap: labour weakening while inflation stays above target",
             "zh-TW": "陷阱：勞動市場轉弱而通膨仍高於目標"},
    "labour weakening": {"en": "Labour weakening, inflation near target", "zh-TW": "勞動市場轉弱，通膨接近目標"},
    "inflation constraint": {"en": "Inflation above target, labour holding", "zh-TW": "通膨高於目標，勞動市場穩健"},
    "balanced": {"en": "Balanced", "zh-TW": "平衡"},
    # on-chain
    "capitulation": {"en": "Capitulation", "zh-TW": "投降"},
    "late-stage contraction": {"en": "Late-stage contraction", "zh-TW": "收縮末段"},
    "contraction": {"en": "Contraction", "zh-TW": "收縮"},
    "healthy consolidation": {"en": "Healthy consolidation", "zh-TW": "健康整理"},
    "expansion": {"en": "Expansion", "zh-TW": "擴張"},
    # miners
    "watch": {"en": "Watch", "zh-TW": "觀察"},
    "normal": {"en": "Normal", "zh-TW": "正常"},
    # sentiment
    "extreme fear": {"en": "Extreme fear", "zh-TW": "極度恐懼"},
    "fear": {"en": "Fear", "zh-TW": "恐懼"},
    "greed": {"en": "Greed", "zh-TW": "貪婪"},
    "extreme greed": {"en": "Extreme greed", "zh-TW": "極度貪婪"},
    # cross-asset
    "liquidity-driven rotation": {"en": "Liquidity-driven rotation (gold up, BTC down)",
                                  "zh-TW": "流動性驅動的輪動（黃金漲、比特幣跌）"},
    "rotation into btc": {"en": "Rotation into BTC (BTC up, gold down)", "zh-TW": "資金輪動至比特幣（比特幣漲、黃金跌）"},
    "no rotation": {"en": "No rotation", "zh-TW": "無輪動"},
}

NAMES: dict[str, dict[str, str]] = {
    "liquidity": {"en": "Fed liquidity", "zh-TW": "聯準會流動性"},
    "funding_stress": {"en": "Funding stress", "zh-TW": "資金市場壓力"},
    "macro_trap": {"en": "Macro trap", "zh-TW": "總經陷阱"},
    "onchain": {"en": "On-chain cycle", "zh-TW": "鏈上週期"},
    "miner_stress": {"en": "Miner stress", "zh-TW": "礦工壓力"},
    "sentiment": {"en": "Sentiment", "zh-TW": "市場情緒"},
    "crossasset_rotation": {"en": "Gold–BTC rotation", "zh-TW": "黃金與比特幣輪動"},
}

#: what each condition's threshold marks, as a noun phrase (en, zh-TW): evidence reads as prose,
#: "net liquidity fell $297.5B over 91 days, below +$100.0B, the line for an expansion signal",
#: never as the rule expression (which the JSON keeps in ``comparison`` / ``threshold``)
MEANINGS: dict[str, dict[str, str]] = {
    "rmp_visible": {"en": "purchases showing in the data", "zh-TW": "購債反映於數據"},
    "netliq_up": {"en": "an expansion signal", "zh-TW": "擴張訊號"},
    "netliq_down": {"en": "a tightening signal", "zh-TW": "緊縮訊號"},
    "sofr_at_top": {"en": "funding stress", "zh-TW": "資金壓力"},
    "sofr_above_iorb": {"en": "scarce reserves", "zh-TW": "準備金稀缺"},
    "reserves_below_ample": {"en": "ample reserves", "zh-TW": "準備金充裕"},
    "payrolls_negative": {"en": "a weakening labour market", "zh-TW": "勞動市場轉弱"},
    "jolts_falling": {"en": "falling job openings", "zh-TW": "職缺減少"},
    "sahm": {"en": "a recession signal (Sahm rule)", "zh-TW": "薩姆規則衰退訊號"},
    "inflation_above_target": {"en": "inflation above target", "zh-TW": "通膨高於目標"},
    "below_realized_price": {"en": "capitulation (price below the realized price)", "zh-TW": "投降（價格跌破已實現價格）"},
    "supply_in_loss_extreme": {"en": "capitulation", "zh-TW": "投降"},
    "below_sth_cost_basis": {"en": "short-term holders under water", "zh-TW": "短期持有者虧損"},
    "sth_sopr_below": {"en": "short-term holders selling at a loss", "zh-TW": "短期持有者認賠賣出"},
    "supply_in_loss_high": {"en": "a contraction", "zh-TW": "收縮"},
    "realized_cap_stalling": {"en": "stalling inflows", "zh-TW": "資金流入停滯"},
    "realized_cap_growing": {"en": "an expansion", "zh-TW": "擴張"},
    "exchange_balance_falling": {"en": "coins leaving exchanges", "zh-TW": "比特幣流出交易所"},
    "stablecoin_inflow": {"en": "stablecoin inflows", "zh-TW": "穩定幣流入"},
    "open_interest_falling": {"en": "deleveraging", "zh-TW": "去槓桿"},
    "below_cost": {"en": "mining below cost", "zh-TW": "挖礦成本高於幣價"},
    "hash_ribbon_capitulation": {"en": "miner capitulation", "zh-TW": "礦工投降"},
    "large_difficulty_drop": {"en": "a large difficulty drop", "zh-TW": "難度大幅下調"},
    "extreme_fear_max": {"en": "extreme fear", "zh-TW": "極度恐懼"},
    "fear_max": {"en": "fear", "zh-TW": "恐懼"},
    "neutral_max": {"en": "neutral sentiment", "zh-TW": "中性"},
    "greed_max": {"en": "greed", "zh-TW": "貪婪"},
    "gold_outperforms": {"en": "a rotation into gold", "zh-TW": "資金轉向黃金"},
    "btc_outperforms": {"en": "a rotation into BTC", "zh-TW": "資金轉向比特幣"},
}

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
}


# ----------------------------------------------------------------------------------------------
# conditions and the decision
# ----------------------------------------------------------------------------------------------


@dataclass
class Condition:
    """One comparison ``value comparison threshold``; ``result`` is None when the input is missing."""

    name: str
    metric: str
    comparison: str
    threshold: Any
    threshold_key: str | None
    value: Any = None
    unit: str | None = None
    date: str | None = None
    source: str | None = None
    status: str | None = None
    derived: str | None = None
    result: bool | None = None
    missing_reason: str | None = None
    #: when the input was released and how many days before the as-of date
    published_at: str | None = None
    age_days: int | None = None
    #: why a stale input is stale (the registry's reason)
    stale_reason: str | None = None
    #: the dated event a condition rests on (e.g. the difficulty adjustment behind the largest
    #: drop of the year), its age at the as-of date, and whether it is older than the regime's limit
    event_date: str | None = None
    event_age_days: int | None = None
    event_max_age_days: int | None = None
    #: the figures a yes/no value is based on (e.g. both 30-day returns behind "opposite moves")
    basis: dict | None = None

    @property
    def old_event(self) -> bool:
        return (self.event_age_days is not None and self.event_max_age_days is not None
                and self.event_age_days > self.event_max_age_days)

    @property
    def stale(self) -> bool:
        return self.result is not None and self.status == "stale"

    def to_json(self) -> dict:
        d = {"condition": self.name, "metric": self.metric, "value": _plain(self.value), "unit": self.unit,
             "date": self.date, "source": self.source, "status": self.status,
             "comparison": self.comparison, "threshold": _plain(self.threshold),
             "threshold_key": self.threshold_key, "result": self.result}
        if self.derived:
            d["derived"] = self.derived
        if self.missing_reason:
            d["reason"] = self.missing_reason
        if self.published_at:
            d["published_at"] = self.published_at
        if self.age_days is not None:
            d["age_days"] = self.age_days
        if self.stale:
            d["stale"] = True
            d["stale_reason"] = self.stale_reason
        if self.event_date:
            d.update(event_date=self.event_date, event_age_days=self.event_age_days,
                     event_max_age_days=self.event_max_age_days, old_event=self.old_event)
        if self.basis:
            d["basis"] = {k: _plain(v) for k, v in self.basis.items()}
        m = MEANINGS.get(self.name)
        if m:
            d["meaning"] = dict(m)
        return d


def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def decide(conds: Mapping[str, Condition], fn: Callable[[Mapping[str, bool]], str]) -> str | None:
    """The state ``fn`` gives for the known conditions, if it is the same whatever the unknown
    ones are; ``None`` when the unknown conditions could change it.

    Parameters
    ----------
    conds : mapping of name to :class:`Condition`
    fn : callable
        Decision function from ``{name: bool}`` (every condition) to a state.
    """
    known = {k: c.result for k, c in conds.items() if c.result is not None}
    unknown = [k for k, c in conds.items() if c.result is None]
    states = set()
    for combo in itertools.product((False, True), repeat=len(unknown)):
        states.add(fn({**known, **dict(zip(unknown, combo))}))
        if len(states) > 1:
            return None
    return states.pop()


class _Ctx:
    """Reads metric values and series for the conditions of one regime."""

    def __init__(self, ev, values: Mapping[str, Any], table: Mapping[str, Any], accept_stale: bool):
        self.ev = ev
        self.values = values
        self.t = table
        self.accept_stale = accept_stale

    def param(self, key: str):
        if key not in self.t:
            raise ConfigError(f"missing threshold {key!r}", where="rules file [regimes]")
        return self.t[key]

    def mv(self, metric: str):
        """(MetricValue or None, reason when unusable)."""
        v = self.values.get(metric)
        if v is None:
            return None, "metric not in the registry"
        if v.status == "unavailable" or v.value is None or (isinstance(v.value, float) and math.isnan(v.value)):
            return None, v.reason or "unavailable"
        if v.status == "stale" and not self.accept_stale:
            return None, f"stale: {v.reason}"
        return v, None

    def cond(self, name: str, metric: str, op: str, key: str | None, *, threshold=None,
             value_fn: Callable | None = None, derived: str | None = None) -> Condition:
        """A condition on ``metric``'s latest value (or on ``value_fn(metric_value, ctx)``).

        ``value_fn`` returns ``(value, date)`` or ``None`` when it cannot be computed.
        """
        thr = self.param(key) if key is not None else threshold
        c = Condition(name, metric, op, thr, key, derived=derived)
        mv, why = self.mv(metric)
        if mv is None:
            c.missing_reason = why
            return c
        c.unit, c.source, c.status, c.date = mv.unit, mv.source, mv.status, mv.date
        c.published_at, c.age_days = getattr(mv, "published_at", None), getattr(mv, "age_days", None)
        if mv.status == "stale":
            c.stale_reason = mv.reason
        if value_fn is None:
            val = mv.value
        else:
            got = value_fn(mv)
            if got is None:
                c.missing_reason = f"not enough history to compute {derived}"
                return c
            val, c.date = got
        c.value = val
        c.result = bool(_OPS[op](val, thr))
        return c

    def series_change(self, metric: str, days: int, *, pct: bool = False):
        """A value_fn: change of the metric's series over ``days`` calendar days at its latest date."""

        def fn(mv):
            s = self.ev.series(metric)
            ch = (pct_change_over if pct else change_over)(s, days).dropna()
            if ch.empty:
                return None
            return float(ch.iloc[-1]), ch.index[-1].date().isoformat()

        return fn


def _date_event(x: "_Ctx", c: Condition, detail_key: str, limit_key: str) -> None:
    """Attach the date of the event a condition rests on (from the metric's detail) and its age
    at the as-of date; the regime flags it when older than ``limit_key`` days."""
    mv, _ = x.mv(c.metric)
    d = (getattr(mv, "detail", None) or {}) if mv is not None else {}
    when = d.get(detail_key)
    if when is None or c.result is None:
        return
    when = pd.Timestamp(when)
    c.event_date = when.date().isoformat()
    as_of = getattr(x.ev, "as_of", None) if x.ev is not None else None
    ref = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(c.date)
    c.event_age_days = int((ref - when).days)
    c.event_max_age_days = int(x.param(limit_key)) if limit_key in x.t else None


def _outcome(rid: str, conds: Mapping[str, Condition], fn, rule: str, context: list | None = None,
             states: tuple[str, ...] = ()) -> dict:
    state = decide(conds, fn)
    missing = [{"metric": c.metric, "reason": c.missing_reason} for c in conds.values() if c.result is None]
    # one entry per metric
    seen, uniq = set(), []
    for m in missing:
        if m["metric"] not in seen:
            seen.add(m["metric"])
            uniq.append(m)
    out = {
        "state": state if state is not None else INSUFFICIENT,
        "name": NAMES.get(rid, {"en": rid, "zh-TW": rid}),
        "rule": rule,
        "evidence": [c.to_json() for c in conds.values()],
        "missing": uniq,
        "context": context or [],
        "states": list(states),
    }
    if state is None:
        out["note"] = "missing: " + ", ".join(f"{m['metric']} ({m['reason']})" for m in uniq)
    out["label"] = LABELS.get(out["state"], {"en": out["state"], "zh-TW": out["state"]})
    out["stale_inputs"], out["rests_on_stale"] = stale_inputs(conds, fn, state)
    if out["rests_on_stale"]:
        out["caveat"] = "the state rests on " + "; ".join(_caveat_part(x) for x in out["stale_inputs"] if x["decisive"])
    return out


def stale_inputs(conds: Mapping[str, Condition], fn, state: str | None) -> tuple[list[dict], bool]:
    """The regime's inputs that are stale (their next release is overdue) or that rest on a dated
    event older than the regime's limit, and whether the state depends on them.

    An input is *decisive* when treating it as unknown would change the state (or leave it
    undecided): the regime then "rests on" it and says so.
    """
    flagged = [k for k, c in conds.items() if c.stale or c.old_event]
    if not flagged:
        return [], False
    items: dict[str, dict] = {}
    for k in flagged:
        c = conds[k]
        alt = dict(conds)
        alt[k] = dataclasses.replace(c, result=None)
        decisive = state is not None and decide(alt, fn) != state
        it = items.get(c.metric)
        if it is None:
            it = {"metric": c.metric, "conditions": [], "kind": "old_event" if c.old_event else "stale",
                  "date": c.date, "published_at": c.published_at, "age_days": c.age_days, "decisive": False}
            if c.stale:
                it["reason"] = c.stale_reason
            if c.old_event:
                it.update(event_date=c.event_date, event_age_days=c.event_age_days,
                          event_max_age_days=c.event_max_age_days)
            items[c.metric] = it
        it["conditions"].append(k)
        it["decisive"] = it["decisive"] or decisive
    together = {k: dataclasses.replace(conds[k], result=None) for k in flagged}
    rests = state is not None and decide({**conds, **together}, fn) != state
    if rests and not any(i["decisive"] for i in items.values()):
        for i in items.values():  # none decides alone, but together they do
            i["decisive"] = True
            i["jointly"] = True
    return list(items.values()), bool(rests or any(i["decisive"] for i in items.values()))


def _caveat_part(x: Mapping[str, Any]) -> str:
    if x["kind"] == "old_event":
        return (f"{x['metric']}: an event of {x['event_date']}, {x['event_age_days']} days old "
                f"(limit {x['event_max_age_days']} days)")
    return f"{x['metric']}: stale ({x.get('reason')})"


# ----------------------------------------------------------------------------------------------
# the regimes
# ----------------------------------------------------------------------------------------------


def liquidity_decision(b: Mapping[str, bool]) -> str:
    """The liquidity regime's decision over its conditions (see :func:`liquidity`)."""
    if b["qt_expanding"] or b["rmp_visible"] or (b["netliq_up"] and not b["qt_running"]):
        return "easing"
    if b["qt_running"] or b["netliq_down"]:
        # the data still tighten, but the FOMC has already stopped runoff (or started purchases):
        # the liquidity turn the reference note describes
        return "turning" if b.get("policy_turned") else "tightening"
    return "neutral"


def liquidity(x: _Ctx) -> dict:
    """Fed liquidity: tightening / turning / neutral / easing.

    * easing — the balance sheet is expanding (``qt_status == "expanding"``), or Treasury
      holdings grow faster than ``rmp_active_growth_usd`` a year (reserve-management purchases
      visible in the data), or net liquidity rose by more than ``net_liquidity_change_usd`` over
      ``net_liquidity_window_days`` while QT is not running;
    * tightening — otherwise, if QT is running or net liquidity fell by more than that amount;
      *turning* instead when the FOMC's balance-sheet policy in force (``qt_policy``) no longer
      shrinks the balance sheet (``policy_turned_states``): the data lag the decision;
    * neutral — otherwise.
    """
    w = int(x.param("net_liquidity_window_days"))
    c = {
        "qt_running": x.cond("qt_running", "qt_status", "==", None, threshold="running"),
        "qt_expanding": x.cond("qt_expanding", "qt_status", "==", None, threshold="expanding"),
        "rmp_visible": x.cond("rmp_visible", "treasury_holdings_growth_annualized", ">=", "rmp_active_growth_usd"),
        "netliq_up": x.cond("netliq_up", "net_liquidity", ">=", "net_liquidity_change_usd",
                            value_fn=x.series_change("net_liquidity", w), derived=f"change over {w} days"),
    }
    thr = float(x.param("net_liquidity_change_usd"))
    c["netliq_down"] = x.cond("netliq_down", "net_liquidity", "<=", None, threshold=-thr,
                              value_fn=x.series_change("net_liquidity", w), derived=f"change over {w} days")
    c["netliq_down"].threshold_key = "net_liquidity_change_usd (negated)"
    c["policy_turned"] = x.cond("policy_turned", "qt_policy", "in", "policy_turned_states")
    if c["policy_turned"].missing_reason:
        # no FOMC balance-sheet decision in force in the embedded calendar (it starts with the
        # 2017 runoff): nothing has turned, so this never blocks the decision
        c["policy_turned"].missing_reason = None
        c["policy_turned"].result = False
        c["policy_turned"].derived = "no FOMC balance-sheet decision in force in the embedded calendar"

    fn = liquidity_decision
    ctx = []
    ann = _last_balance_sheet_announcement(x.ev)
    if ann:
        ctx.append(ann)
    proj, _ = x.mv("rmp_annual_growth_projection")
    if proj is not None:
        ctx.append({"metric": "rmp_annual_growth_projection", "value": _plain(proj.value), "unit": proj.unit,
                    "date": proj.date, "source": proj.source, "assumption": True,
                    "assumption_key": "rmp_monthly_bill_purchases_usd",
                    "assumption_source": (proj.detail or {}).get("assumption_source"),
                    "mbs_to_bills_swap_annual_usd": _plain((proj.detail or {}).get("mbs_to_bills_swap_annual_usd")),
                    "text": "balance-sheet growth a year implied by the assumed pace of reserve-management "
                            "purchases (an assumption, not data; MBS paydowns reinvested into bills change the "
                            "mix, not the size); compare with treasury_holdings_growth_annualized"})
    out = _outcome("liquidity", c, fn,
                   "easing if the balance sheet expands, purchases are visible in Treasury holdings, or net "
                   "liquidity rises without QT; else tightening if QT runs or net liquidity falls (turning if "
                   "the FOMC has already ended runoff); else neutral",
                   ctx, ("tightening", "turning", "neutral", "easing"))
    qt = qt_summary(x, ann)
    if qt:
        out["qt"] = qt
    return out


#: FOMC balance-sheet stances (``qt_policy``) under which the balance sheet is no longer shrinking
_NOT_SHRINKING = ("size_held", "purchases", "tapering")


def qt_summary(x: "_Ctx", announcement: Mapping[str, Any] | None) -> dict | None:
    """QT stated once: the FOMC's policy in force and what the holdings data show.

    ``{"policy", "policy_effective", "decided", "scheduled", "scheduled_from", "data_state",
    "holdings_change_usd", "treasuries_change_usd", "window_days", "data_date", "data_source",
    "data_lags_policy", "text"}``. ``data_lags_policy`` is true when the FOMC has stopped runoff
    but the weekly holdings still fell over the window (maturities settling after the decision).
    """
    pol, _ = x.mv("qt_policy")
    dat, _ = x.mv("qt_status")
    if pol is None and dat is None:
        return None
    out: dict[str, Any] = {}
    if pol is not None:
        d = pol.detail or {}
        out.update(policy=str(pol.value), policy_effective=pol.date, policy_source=pol.source)
        if d.get("scheduled"):
            out.update(scheduled=d["scheduled"], scheduled_from=pd.Timestamp(d["scheduled_from"]).date().isoformat())
    if announcement:
        out["decided"] = announcement.get("fomc_decision")
    if dat is not None:
        d = dat.detail or {}
        out.update(data_state=str(dat.value), data_date=dat.date, data_source=dat.source,
                   holdings_change_usd=_plain(d.get("change_total_usd")),
                   treasuries_change_usd=_plain(d.get("change_treasuries_usd")),
                   window_days=_plain(d.get("window_days")))
    out["data_lags_policy"] = bool(out.get("policy") in _NOT_SHRINKING and out.get("data_state") == "running")
    parts = []
    if "policy" in out:
        verb = {"runoff": "QT running by FOMC decision", "size_held": "QT ended by the FOMC",
                "purchases": "QT ended by the FOMC; purchases under way",
                "tapering": "QT ended by the FOMC; purchases tapering"}.get(out["policy"], out["policy"])
        parts.append(f"{verb} (in force since {out['policy_effective']}"
                     + (f", decided {out['decided']}" if out.get("decided") else "") + ")")
    ch = out.get("holdings_change_usd")
    if ch is not None and out.get("window_days"):
        move = "fell" if ch < 0 else "rose"
        parts.append(f"the Fed's securities holdings {move} ${abs(ch) / 1e9:,.1f}B over {out['window_days']} days "
                     f"to {out['data_date']}")
    out["text"] = "; ".join(parts)
    return out


def _last_balance_sheet_announcement(ev) -> dict | None:
    """The latest FOMC balance-sheet decision known by the as-of date (context, not a condition)."""
    if ev is None or getattr(ev, "as_of", None) is None:
        return None
    from .fomc import meetings

    known = [m for m in meetings(ev.as_of) if m["balance_sheet"] and pd.Timestamp(m["end"]) <= ev.as_of]
    if not known:
        return None
    m = known[-1]
    return {"fomc_decision": m["end"], "balance_sheet": m["balance_sheet"], "text": m["balance_sheet_note"],
            "source": m["source"]}


def funding_stress(x: _Ctx) -> dict:
    """Money-market funding stress: stress / elevated / calm.

    Three signals: SOFR at or above the top of the target range on at least
    ``range_top_days_min`` of the last 60 days; SOFR − IORB at least ``spread_bp_min``; reserves
    below ``reserves_to_gdp_ample`` of GDP. Two or more: stress; one: elevated; none: calm.
    """
    c = {
        "sofr_at_top": x.cond("sofr_at_top", "sofr_at_or_above_range_top_days_60", ">=", "range_top_days_min"),
        "sofr_above_iorb": x.cond("sofr_above_iorb", "sofr_iorb_spread_bp", ">=", "spread_bp_min"),
        "reserves_below_ample": x.cond("reserves_below_ample", "reserves_to_gdp", "<", "reserves_to_gdp_ample"),
    }

    def fn(b):
        n = sum(b.values())
        return "stress" if n >= 2 else "elevated" if n == 1 else "calm"

    return _outcome("funding_stress", c, fn,
                    "count of signals (SOFR at/above range top often, SOFR above IORB, reserves below ample): "
                    "2-3 stress, 1 elevated, 0 calm", None, ("stress", "elevated", "calm"))


def macro_trap(x: _Ctx) -> dict:
    """The Fed's room narrows when labour weakens while inflation stays above target.

    Labour is weakening when at least ``labour_signals_min`` of: negative payroll months among
    the last 7 at least ``negative_payroll_months_min``; JOLTS openings' 12-month change below
    ``jolts_trend_max``; Sahm-rule indicator at least ``sahm_min``. Inflation is above target
    when core PCE year on year minus the 2 % target is at least ``inflation_gap_min`` (a
    fraction: 0.005 = 0.5 percentage point).
    """
    c = {
        "payrolls_negative": x.cond("payrolls_negative", "payrolls_negative_months_of_7", ">=",
                                    "negative_payroll_months_min"),
        "jolts_falling": x.cond("jolts_falling", "jolts_openings_trend", "<", "jolts_trend_max"),
        "sahm": x.cond("sahm", "sahm_rule", ">=", "sahm_min"),
        "inflation_above_target": x.cond("inflation_above_target", "inflation_gap_core_pce", ">=",
                                         "inflation_gap_min"),
    }
    need = int(x.param("labour_signals_min"))

    def fn(b):
        weak = (b["payrolls_negative"] + b["jolts_falling"] + b["sahm"]) >= need
        hot = b["inflation_above_target"]
        return "trap" if weak and hot else "labour weakening" if weak else "inflation constraint" if hot else "balanced"

    return _outcome("macro_trap", c, fn,
                    f"labour weakening = at least {need} of (negative payroll months, falling JOLTS openings, "
                    "Sahm rule); trap = labour weakening and core PCE above target",
                    None, ("trap", "labour weakening", "inflation constraint", "balanced"))


def onchain(x: _Ctx) -> dict:
    """Bitcoin on-chain cycle: capitulation / late-stage contraction / contraction /
    healthy consolidation / expansion.

    * capitulation — price below the realized price (MVRV < ``capitulation_mvrv_max``) or supply
      in loss at least ``capitulation_supply_in_loss_min`` of supply;
    * contraction — price below the short-term-holder cost basis (``price_vs_sth_cost_basis``,
      price / cost basis − 1, below ``price_vs_sth_cost_basis_max``), STH-SOPR (7-day) below
      ``sth_sopr_max``, supply in loss at least ``contraction_supply_in_loss_min`` and realized-cap
      growth (30 days) at most ``realized_cap_growth_max``;
    * late-stage contraction — contraction while at least ``accumulation_signals_min`` of:
      exchange balance falling (30-day change below zero), stablecoin supply growing (30-day
      change at least ``stablecoin_inflow_min``), open interest falling (30-day change below zero);
    * expansion — price above the STH cost basis, STH-SOPR at least 1 and realized-cap growth at
      least ``realized_cap_growth_expansion_min``;
    * healthy consolidation — none of these.
    """
    c = {
        "below_realized_price": x.cond("below_realized_price", "mvrv", "<", "capitulation_mvrv_max"),
        "supply_in_loss_extreme": x.cond("supply_in_loss_extreme", "supply_in_loss_pct", ">=",
                                         "capitulation_supply_in_loss_min"),
        "below_sth_cost_basis": x.cond("below_sth_cost_basis", "price_vs_sth_cost_basis", "<",
                                       "price_vs_sth_cost_basis_max"),
        "sth_sopr_below": x.cond("sth_sopr_below", "sth_sopr_7d", "<", "sth_sopr_max"),
        "supply_in_loss_high": x.cond("supply_in_loss_high", "supply_in_loss_pct", ">=",
                                      "contraction_supply_in_loss_min"),
        "realized_cap_stalling": x.cond("realized_cap_stalling", "realized_cap_growth_30d", "<=",
                                        "realized_cap_growth_max"),
        "realized_cap_growing": x.cond("realized_cap_growing", "realized_cap_growth_30d", ">=",
                                       "realized_cap_growth_expansion_min"),
        "exchange_balance_falling": x.cond("exchange_balance_falling", "exchange_reserve_change_30d", "<",
                                           None, threshold=0.0),
        "stablecoin_inflow": x.cond("stablecoin_inflow", "stablecoin_supply_change_30d", ">=",
                                    "stablecoin_inflow_min"),
        "open_interest_falling": x.cond("open_interest_falling", "open_interest_change_30d", "<",
                                        None, threshold=0.0),
    }
    need = int(x.param("accumulation_signals_min"))

    def fn(b):
        if b["below_realized_price"] or b["supply_in_loss_extreme"]:
            return "capitulation"
        contraction = (b["below_sth_cost_basis"] and b["sth_sopr_below"] and b["supply_in_loss_high"]
                       and b["realized_cap_stalling"])
        if contraction:
            acc = b["exchange_balance_falling"] + b["stablecoin_inflow"] + b["open_interest_falling"]
            return "late-stage contraction" if acc >= need else "contraction"
        if not b["below_sth_cost_basis"] and not b["sth_sopr_below"] and b["realized_cap_growing"]:
            return "expansion"
        return "healthy consolidation"

    return _outcome("onchain", c, fn,
                    "capitulation if below realized price or supply in loss extreme; contraction if below STH "
                    f"cost basis, STH-SOPR < 1, supply in loss high and realized cap stalling — late-stage when at "
                    f"least {need} accumulation signs (exchange balance falling, stablecoin inflow, open interest "
                    "falling); expansion if above STH cost basis with STH-SOPR ≥ 1 and realized cap growing; "
                    "otherwise healthy consolidation", None,
                    ("capitulation", "late-stage contraction", "contraction", "healthy consolidation", "expansion"))


def miner_stress(x: _Ctx) -> dict:
    """Miner stress: stress / watch / normal.

    Signals: price below ``price_to_cost_max`` times the estimated production cost; the hash
    ribbon in capitulation (``hash_ribbon`` at most ``hash_ribbon_max``: the 30-day hash-rate
    average below the 60-day one); a difficulty drop of at least ``difficulty_drop_min`` in the
    last 365 days. Two or more: stress; one: watch; none: normal.
    """
    c = {
        "below_cost": x.cond("below_cost", "price_to_production_cost", "<", "price_to_cost_max"),
        "hash_ribbon_capitulation": x.cond("hash_ribbon_capitulation", "hash_ribbon", "<=", "hash_ribbon_max"),
        "large_difficulty_drop": x.cond("large_difficulty_drop", "difficulty_largest_drop_365d", "<=",
                                        None, threshold=-abs(float(x.param("difficulty_drop_min")))),
    }
    c["large_difficulty_drop"].threshold_key = "difficulty_drop_min (negated)"
    _date_event(x, c["large_difficulty_drop"], "drop_date", "difficulty_drop_max_age_days")

    def fn(b):
        n = sum(b.values())
        return "stress" if n >= 2 else "watch" if n == 1 else "normal"

    return _outcome("miner_stress", c, fn,
                    "count of signals (price below production cost, hash-ribbon capitulation, large difficulty "
                    "drop): 2-3 stress, 1 watch, 0 normal", None, ("stress", "watch", "normal"))


def sentiment(x: _Ctx) -> dict:
    """Crypto Fear & Greed bands (alternative.me's own classification boundaries by default)."""
    keys = ("extreme_fear_max", "fear_max", "neutral_max", "greed_max")
    c = {k: x.cond(k, "fear_greed", "<=", k) for k in keys}

    def fn(b):
        if b["extreme_fear_max"]:
            return "extreme fear"
        if b["fear_max"]:
            return "fear"
        if b["neutral_max"]:
            return "neutral"
        if b["greed_max"]:
            return "greed"
        return "extreme greed"

    return _outcome("sentiment", c, fn,
                    "Fear & Greed index at or below each band's upper bound, lowest band first", None,
                    ("extreme fear", "fear", "neutral", "greed", "extreme greed"))


def crossasset_rotation(x: _Ctx) -> dict:
    """Gold versus BTC: a liquidity-driven rotation when they move in opposite directions.

    ``gold_btc_relative_30d`` is BTC's 30-day return minus gold's. A "liquidity-driven rotation"
    (out of BTC, into gold) is an inverse move (``gold_btc_inverse_move``: the two 30-day returns
    have opposite signs) with gold ahead by at least ``relative_min``; the mirror image is a
    rotation into BTC; anything else is no rotation. The 30-day return correlation is shown as
    context.
    """
    rel = float(x.param("relative_min"))
    c = {
        "inverse_move": x.cond("inverse_move", "gold_btc_inverse_move", "==", None, threshold=True),
        "gold_outperforms": x.cond("gold_outperforms", "gold_btc_relative_30d", "<=", None, threshold=-rel),
        "btc_outperforms": x.cond("btc_outperforms", "gold_btc_relative_30d", ">=", "relative_min"),
    }
    c["gold_outperforms"].threshold_key = "relative_min (negated)"

    def fn(b):
        if b["inverse_move"] and b["gold_outperforms"]:
            return "liquidity-driven rotation"
        if b["inverse_move"] and b["btc_outperforms"]:
            return "rotation into btc"
        return "no rotation"

    mv_inv, _ = x.mv("gold_btc_inverse_move")
    det = (mv_inv.detail or {}) if mv_inv is not None else {}
    if det.get("btc_return") is not None and c["inverse_move"].result is not None:
        # the yes/no is defined by the signs of these two returns: they are shown with it
        c["inverse_move"].basis = {"btc_return": det["btc_return"], "gold_return": det["gold_return"],
                                   "start": pd.Timestamp(det["start"]).date().isoformat(),
                                   "window_days": det.get("window_days")}
    ctx = []
    for mid in ("gold_btc_corr_30d", "gold_return_30d", "btc_return_30d"):
        v, _ = x.mv(mid)
        if v is not None:
            ctx.append({"metric": mid, "value": _plain(v.value), "unit": v.unit, "date": v.date, "source": v.source})
    return _outcome("crossasset_rotation", c, fn,
                    "BTC and gold 30-day returns of opposite sign with gold ahead by the threshold: "
                    "liquidity-driven rotation (BTC ahead: rotation into BTC); otherwise no rotation", ctx,
                    ("liquidity-driven rotation", "rotation into btc", "no rotation"))


#: regime id -> classifier, in report order
REGIMES: dict[str, Callable[[_Ctx], dict]] = {
    "liquidity": liquidity, "funding_stress": funding_stress, "macro_trap": macro_trap, "onchain": onchain,
    "miner_stress": miner_stress, "sentiment": sentiment, "crossasset_rotation": crossasset_rotation,
}


def evaluate_regimes(ev, values: Mapping[str, Any], cfg) -> dict[str, dict]:
    """Classify every enabled regime for the evaluator's as-of date.

    Parameters
    ----------
    ev : btcmacro.registry.Evaluator
        Bound to the as-of date; used for series-derived conditions (e.g. 13-week changes).
    values : mapping
        ``{metric_id: MetricValue}`` for the registry metrics.
    cfg : btcmacro.rules.config.RulesConfig
        Thresholds come from ``cfg.regimes[<id>]``.

    Returns
    -------
    dict
        ``{regime_id: outcome}``; see the module docstring for an outcome's keys.
    """
    table = cfg.regimes or {}
    accept_stale = bool(table.get("accept_stale", True))
    out = {}
    for rid, fn in REGIMES.items():
        sub = table.get(rid)
        if not isinstance(sub, dict) or not sub.get("enabled", True):
            continue
        out[rid] = fn(_Ctx(ev, values, sub, accept_stale))
    return out
