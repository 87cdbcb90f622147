"""The thesis: a transparent scoring of each regime's evidence, ranked into one argument.

Every number comes from the regime outcomes of :func:`btcmacro.rules.evaluate_regimes` and the
metric values they cite; every setting comes from the ``[thesis]`` table of the rules file.

**Condition strength.** A condition compares a value with a threshold. Its *distance* is
``|value − threshold| / scale``, where ``scale`` is ``[thesis.metric_scale].<metric>`` or else
``[thesis.unit_scale].<unit>`` (one scale unit is a move a desk would call meaningful: 10 bp, $100B,
5 points of a fraction, ...). *Strength* is ``min(distance, cap) / cap`` (0..1). A condition on a
state or a yes/no value has no distance: its strength is ``categorical_strength``.

**Agreement.** For a condition on a metric's own value, the share of the other providers' values
(the metric's ``alternatives``) that fall on the same side of the threshold; with no other provider,
``single_source_agreement``. A condition on a derived quantity (a 13-week change, ...) has no
independent source and gets ``single_source_agreement`` too.

**Freshness.** Counted from the day the input was *published* (``published_at``), not from the
period it describes: 1 up to ``fresh_days``, 0 from ``stale_days``, linear in between, and
multiplied by ``stale_status_factor`` when the registry flags the input stale.

**Which conditions decide a state.** Each known condition is flipped on its own and the regime's
decision is replayed (:func:`replay`); a condition whose flip changes the state is *pivotal*, and
the state it would flip to is recorded. The pivotal conditions are the regime's *support*; when no
single flip changes the state (redundant evidence), the support is the conditions that hold.

**Conviction** of a regime (0-100) is ``100 × (w_m·M + w_a·A + w_f·F) / (w_m + w_a + w_f)`` with
``M, A, F`` the means of strength, agreement and freshness over its support, and the weights
``weight_margin``, ``weight_agreement``, ``weight_freshness``. A regime with insufficient data scores 0.

**Ranking.** Each state has a *stance* for Bitcoin (``[thesis.stance]``: +1 supportive, −1 adverse,
0 neutral). A regime's *impact* is ``conviction × regime_weight × |stance|``. The view is the sign of
``Σ stance × conviction × regime_weight`` ("mixed" when its share of the total impact is below
``mixed_band``). The dominant driver is the regime of highest impact on the side of the view. The
signals behind it (never an input with freshness 0) are the driver's strongest support condition,
then the strongest of each other regime on that side (by ``score × regime_weight × |stance|``; a
condition with a figure before a state or yes/no one), then the driver's next ones. The
counter-signal is the strongest support condition of the regime of highest impact on the other
side. What would change the view is the pivotal conditions nearest their thresholds whose flip
moves a regime against the view (the nearest one per regime; a flip that would leave a regime
undecided is not one).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from ..errors import ConfigError
from .regimes import INSUFFICIENT, REGIMES, _OPS, Condition, _Ctx

VIEWS = ("bullish", "bearish", "mixed")


# ----------------------------------------------------------------------------------------------
# settings
# ----------------------------------------------------------------------------------------------


def settings(cfg) -> dict:
    """The ``[thesis]`` table of a :class:`~btcmacro.rules.config.RulesConfig` (checked); a
    config built without one (e.g. in code) gets the packaged defaults."""
    t = dict(getattr(cfg, "thesis", None) or _defaults())
    for k in ("weight_margin", "weight_agreement", "weight_freshness", "cap", "categorical_strength",
              "single_source_agreement", "fresh_days", "stale_days", "stale_status_factor", "mixed_band"):
        if k not in t:
            raise ConfigError(f"missing key {k!r}", where="rules file [thesis]")
        try:
            t[k] = float(t[k])
        except (TypeError, ValueError):
            raise ConfigError(f"{k!r} must be a number, got {t[k]!r}", where="rules file [thesis]") from None
        if t[k] < 0:
            raise ConfigError(f"{k!r} must not be negative, got {t[k]!r}", where="rules file [thesis]")
    if t["weight_margin"] + t["weight_agreement"] + t["weight_freshness"] <= 0:
        raise ConfigError("the three weights must not all be zero", where="rules file [thesis]")
    if t["cap"] <= 0 or t["stale_days"] <= t["fresh_days"]:
        raise ConfigError("cap must be positive and stale_days greater than fresh_days", where="rules file [thesis]")
    return t


def settings_defaults() -> dict:
    """The packaged ``[thesis]`` settings (checked)."""
    return settings(None)


def _defaults() -> dict:
    import tomllib

    from .config import default_rules_text

    return tomllib.loads(default_rules_text()).get("thesis", {})


def _scale(t: Mapping[str, Any], metric: str, unit: str | None) -> float | None:
    ms = t.get("metric_scale") or {}
    us = t.get("unit_scale") or {}
    v = ms.get(metric, us.get(unit or ""))
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def stance(t: Mapping[str, Any], rid: str, state: str | None) -> float:
    """The stance of ``rid`` in ``state`` for Bitcoin (0 when not listed or insufficient data)."""
    if state is None or state == INSUFFICIENT:
        return 0.0
    return float((t.get("stance") or {}).get(f"{rid}:{state}", 0.0))


# ----------------------------------------------------------------------------------------------
# replaying a regime's decision with one condition flipped
# ----------------------------------------------------------------------------------------------


class _Replay(_Ctx):
    """A regime context whose conditions take given truth values instead of reading data."""

    def __init__(self, table: Mapping[str, Any], results: Mapping[str, bool | None]):
        super().__init__(None, {}, table, True)
        self.results = results

    def mv(self, metric: str):
        return None, "replay"

    def cond(self, name, metric, op, key, *, threshold=None, value_fn=None, derived=None) -> Condition:
        thr = self.t.get(key) if key is not None else threshold
        c = Condition(name, metric, op, thr, key, derived=derived)
        c.result = self.results.get(name)
        if c.result is None:
            c.missing_reason = "unknown"
        return c

    def series_change(self, metric, days, *, pct=False):
        return lambda mv: None


def replay(rid: str, table: Mapping[str, Any], results: Mapping[str, bool | None]) -> str | None:
    """The state regime ``rid`` decides for the given condition truth values (None if it cannot
    be replayed, e.g. an unknown regime)."""
    fn = REGIMES.get(rid)
    if fn is None:
        return None
    try:
        return fn(_Replay(table, results))["state"]
    except Exception:  # a classifier reading something the replay does not provide
        return None


# ----------------------------------------------------------------------------------------------
# scoring
# ----------------------------------------------------------------------------------------------


def _num(x) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _get(values: Mapping[str, Any], metric: str):
    try:
        return values.get(metric)
    except Exception:
        return None


def freshness(t: Mapping[str, Any], as_of: pd.Timestamp, published: str | None, status: str | None) -> tuple[float, int | None]:
    """``(freshness 0..1, age in days since publication)``; age None when no date is known."""
    if not published:
        return 0.0, None
    try:
        age = int((as_of - pd.Timestamp(published[:10])).days)
    except (ValueError, TypeError):
        return 0.0, None
    age = max(age, 0)
    lo, hi = t["fresh_days"], t["stale_days"]
    f = 1.0 if age <= lo else 0.0 if age >= hi else 1.0 - (age - lo) / (hi - lo)
    if status == "stale":
        f *= t["stale_status_factor"]
    return f, age


def score_condition(t: Mapping[str, Any], rid: str, e: Mapping[str, Any], values: Mapping[str, Any],
                    as_of: pd.Timestamp) -> dict:
    """Strength, agreement and freshness of one evidence item (see the module docstring)."""
    metric = e.get("metric")
    value, thr, op = e.get("value"), e.get("threshold"), e.get("comparison")
    mv = _get(values, metric)
    v, th = _num(value), _num(thr)
    scale = _scale(t, metric, e.get("unit"))
    if v is not None and th is not None and scale is not None:
        distance = abs(v - th) / scale
        strength = min(distance, t["cap"]) / t["cap"]
    else:
        distance = None
        strength = t["categorical_strength"]
    agreement = t["single_source_agreement"]
    alts = getattr(mv, "alternatives", None) or [] if mv is not None else []
    if not e.get("derived") and th is not None and op in _OPS and e.get("result") is not None:
        sides = []
        for a in alts:
            av = _num(a.get("value")) if isinstance(a, Mapping) else None
            if av is not None:
                sides.append(bool(_OPS[op](av, th)) == bool(e["result"]))
        if sides:
            agreement = sum(sides) / len(sides)
    published = getattr(mv, "published_at", None) if mv is not None else None
    fr, age = freshness(t, as_of, published or e.get("date"), e.get("status"))
    W = t["weight_margin"] + t["weight_agreement"] + t["weight_freshness"]
    score = 100.0 * (t["weight_margin"] * strength + t["weight_agreement"] * agreement
                     + t["weight_freshness"] * fr) / W
    return {
        "id": f"{rid}.{e.get('condition')}", "regime": rid, "condition": e.get("condition"), "metric": metric,
        "value": value, "unit": e.get("unit"), "date": e.get("date"), "published_at": published,
        "age_days": age, "status": e.get("status"), "comparison": op, "threshold": thr,
        "result": e.get("result"), "derived": e.get("derived"),
        "distance": None if distance is None else round(distance, 4), "strength": round(strength, 4),
        "agreement": round(agreement, 4), "freshness": round(fr, 4), "score": round(score, 1),
    }


def score_regime(t: Mapping[str, Any], rid: str, outcome: Mapping[str, Any], table: Mapping[str, Any],
                 values: Mapping[str, Any], as_of: pd.Timestamp) -> dict:
    """Conviction, support and flips of one regime outcome."""
    state = outcome.get("state")
    evidence = [e for e in outcome.get("evidence") or [] if isinstance(e, Mapping) and e.get("condition")]
    results = {e["condition"]: e.get("result") for e in evidence}
    conds = []
    for e in evidence:
        if e.get("result") is None:
            continue
        c = score_condition(t, rid, e, values, as_of)
        flipped = replay(rid, table, {**results, e["condition"]: not e["result"]})
        c["pivotal"] = flipped is not None and flipped != state
        c["flip_to"] = flipped if c["pivotal"] else None
        conds.append(c)
    support = ([c for c in conds if c["pivotal"] and c["result"]] or [c for c in conds if c["result"]]
               or [c for c in conds if c["pivotal"]] or conds)
    st = stance(t, rid, state)
    w = float((t.get("regime_weight") or {}).get(rid, 1.0))
    if state == INSUFFICIENT or not support:
        conviction, parts = 0.0, {"margin": 0.0, "agreement": 0.0, "freshness": 0.0}
    else:
        parts = {k: sum(c[k] for c in support) / len(support) for k in ("strength", "agreement", "freshness")}
        parts["margin"] = parts.pop("strength")
        W = t["weight_margin"] + t["weight_agreement"] + t["weight_freshness"]
        conviction = 100.0 * (t["weight_margin"] * parts["margin"] + t["weight_agreement"] * parts["agreement"]
                              + t["weight_freshness"] * parts["freshness"]) / W
    ids = {c["id"] for c in support}
    for c in conds:
        c["support"] = c["id"] in ids
        c["rank_score"] = round(c["score"] * w * abs(st), 2)
    return {
        "regime": rid, "state": state, "stance": st, "weight": w, "conviction": round(conviction, 1),
        "components": {k: round(v, 4) for k, v in parts.items()},
        "impact": round(conviction * w * abs(st), 2),
        "support": sorted(ids), "conditions": conds,
    }


def score(regimes: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any], as_of, cfg) -> dict:
    """The thesis for one as-of date.

    Parameters
    ----------
    regimes : mapping
        ``{regime_id: outcome}`` from :func:`btcmacro.rules.evaluate_regimes`.
    values : mapping
        ``{metric_id: MetricValue}`` (for ``published_at`` and other providers' values).
    as_of : date-like
    cfg : RulesConfig
        Its ``thesis`` table sets the scoring; its ``regimes`` tables the thresholds replayed.

    Returns
    -------
    dict
        ``{"view", "net", "driver", "signals", "counter", "flips", "ranking", "regimes"}``:
        ``ranking`` lists regime ids by impact; ``regimes`` maps each id to its scores
        (:func:`score_regime`); ``signals``, ``counter`` and ``flips`` are condition records with
        their evidence id ``"<regime>.<condition>"``.
    """
    t = settings(cfg)
    d = pd.Timestamp(as_of).normalize()
    tables = cfg.regimes or {}
    scored = {rid: score_regime(t, rid, o, tables.get(rid) or {}, values, d)
              for rid, o in regimes.items() if isinstance(o, Mapping)}
    net = sum(r["stance"] * r["conviction"] * r["weight"] for r in scored.values())
    total = sum(abs(r["stance"]) * r["conviction"] * r["weight"] for r in scored.values())
    if total <= 0 or abs(net) / total < t["mixed_band"]:
        view = "mixed"
    else:
        view = "bullish" if net > 0 else "bearish"
    sign = {"bullish": 1, "bearish": -1, "mixed": 0}[view]
    ranking = sorted(scored, key=lambda r: (-scored[r]["impact"], list(scored).index(r)))
    active = [r for r in ranking if scored[r]["impact"] > 0]
    side = [r for r in active if sign == 0 or math.copysign(1, scored[r]["stance"]) == sign]
    driver = side[0] if side else None
    dsign = 0 if driver is None else int(math.copysign(1, scored[driver]["stance"]))

    def support_of(rids):
        # a figure (a distance from a threshold) before a state or yes/no condition; an input
        # too old to count (freshness 0) is never named as a signal
        out = [c for r in rids for c in scored[r]["conditions"] if c["support"] and c["freshness"] > 0]
        return sorted(out, key=lambda c: (c["distance"] is None, -c["rank_score"]))

    signals: list[dict] = []
    if driver is not None:
        # the driver's strongest signal, then the strongest of each other regime on its side, then
        # the driver's next ones
        same = [r for r in active if r != driver and math.copysign(1, scored[r]["stance"]) == dsign]
        own = support_of([driver])
        pool = own[:1] + sorted((support_of([r])[0] for r in same if support_of([r])),
                                key=lambda c: -c["rank_score"]) + own[1:]
        for c in pool:
            if c["metric"] in {s["metric"] for s in signals}:
                continue
            signals.append(c)
            if len(signals) >= int(t.get("max_signals", 3)):
                break
    counter = None
    if driver is not None:
        # the best signal of the regime of highest impact on the other side
        other = [r for r in active if math.copysign(1, scored[r]["stance"]) == -dsign]
        for r in other:
            opp = support_of([r])
            if opp:
                counter = opp[0]
                break

    # what would change the view: pivotal conditions nearest their thresholds whose flip moves a
    # regime against the view (for a mixed view: any flip that changes a stance)
    flips = []
    for rid, r in scored.items():
        for c in r["conditions"]:
            if not c["pivotal"] or c["flip_to"] == INSUFFICIENT:
                continue  # a flip that would leave the regime undecided says nothing about the view
            new = stance(t, rid, c["flip_to"])
            delta = new - r["stance"]
            if delta == 0 or (sign != 0 and delta * sign > 0):
                continue
            net_after = net + (new - r["stance"]) * r["conviction"] * r["weight"]
            total_after = total + (abs(new) - abs(r["stance"])) * r["conviction"] * r["weight"]
            if total_after <= 0 or abs(net_after) / total_after < t["mixed_band"]:
                after = "mixed"
            else:
                after = "bullish" if net_after > 0 else "bearish"
            flips.append({**c, "from_state": r["state"], "to_state": c["flip_to"], "view_after": after})
    flips.sort(key=lambda c: (c["distance"] is None, c["distance"] if c["distance"] is not None else 0.0,
                              -abs(stance(t, c["regime"], c["to_state"]) - stance(t, c["regime"], c["from_state"]))))
    nearest, seen_regimes = [], set()
    for f in flips:  # the nearest flip of each regime
        if f["regime"] not in seen_regimes:
            seen_regimes.add(f["regime"])
            nearest.append(f)
    flips = nearest[:int(t.get("max_flips", 2))]
    return {
        "view": view, "net": round(net, 2), "total": round(total, 2), "driver": driver,
        "signals": signals, "counter": counter, "flips": flips,
        "ranking": ranking, "regimes": scored,
    }


def best_figure(scored_regime: Mapping[str, Any]) -> dict | None:
    """The support condition of a scored regime that most supports it: the highest score among
    those with a figure (a distance from a threshold), else among all of them."""
    sup = [c for c in scored_regime.get("conditions", []) if c.get("support")]
    if not sup:
        return None
    return max(sup, key=lambda c: (c["distance"] is not None, c["score"], c["strength"]))


def direction(t: Mapping[str, Any], now: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
    """``"up"``, ``"down"`` or ``"flat"``: the regime's reading for Bitcoin since ``before``.

    A change of state compares the two stances (a move to a more supportive state is up). An
    unchanged state with a stance compares convictions: a conviction change of at least
    ``direction_min_points`` in a supportive state is up when it rises, in an adverse state down.
    """
    if before is None:
        return "flat"
    if now["state"] != before["state"]:
        d = now["stance"] - before["stance"]
        return "up" if d > 0 else "down" if d < 0 else "flat"
    step = float(t.get("direction_min_points", 10))
    dc = now["conviction"] - before["conviction"]
    if abs(dc) < step or now["stance"] == 0:
        return "flat"
    return "up" if dc * now["stance"] > 0 else "down"


def scorecard(cfg, thesis: Mapping[str, Any], before: Mapping[str, Any] | None,
              before_as_of=None) -> list[dict]:
    """One row per regime: state, direction since ``before`` (the thesis a week earlier),
    conviction and the figure that most supports it."""
    t = settings(cfg)
    rows = []
    for rid, r in thesis["regimes"].items():
        prev = (before or {}).get("regimes", {}).get(rid) if before else None
        rows.append({
            "regime": rid, "state": r["state"], "stance": r["stance"], "conviction": r["conviction"],
            "direction": direction(t, r, prev),
            "previous": None if prev is None else {"state": prev["state"], "conviction": prev["conviction"],
                                                   "as_of": None if before_as_of is None else
                                                   pd.Timestamp(before_as_of).date().isoformat()},
            "figure": best_figure(r),
        })
    return rows
