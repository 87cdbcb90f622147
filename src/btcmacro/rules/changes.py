"""What changed: regimes and key figures at earlier as-of dates, point in time.

An earlier date is evaluated as a briefing built on that date would be (an
:class:`~btcmacro.registry.Evaluator` bound to it, so only what was published by then counts),
but only for what the comparison needs: the regimes, the metrics their conditions read, and the
``[thesis] key_metrics``. Metric values are computed lazily (:class:`LazyValues`), so an earlier
date costs the inputs of those metrics and nothing else; the store is shared.

Comparison dates (:func:`periods`): the previous week (as-of − 7 days), the previous FOMC
decision (the last scheduled meeting whose decision day is before the as-of date, from the
embedded calendar), 30 days, or one date given with ``brief --compare``. A row appears only when
something moved: a regime whose state differs, a key figure whose value or observation date
differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

import pandas as pd

from ..registry import REGISTRY, Evaluator
from .fomc import meetings
from .regimes import _plain, evaluate_regimes


class LazyValues(Mapping):
    """``{metric_id: MetricValue}`` for every registry metric, each computed on first access."""

    def __init__(self, ev: Evaluator):
        self.ev = ev
        self._cache: dict[str, Any] = {}

    def __getitem__(self, key: str):
        if key not in REGISTRY:
            raise KeyError(key)
        if key not in self._cache:
            self._cache[key] = self.ev.value(key)
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)

    def computed(self) -> dict[str, Any]:
        return dict(self._cache)


def needed_metrics(regimes: Mapping[str, Any], key_metrics) -> list[str]:
    """The metrics an earlier evaluation reads: those of the regimes' evidence and context, and
    the key figures."""
    out = set(m for m in key_metrics if m in REGISTRY)
    for o in regimes.values():
        for e in list(o.get("evidence") or []) + list(o.get("context") or []):
            if isinstance(e, Mapping) and e.get("metric") in REGISTRY:
                out.add(e["metric"])
    return sorted(out)


def snapshot(store, as_of, cfg, metrics=None) -> dict:
    """Regimes, thesis scores and key figures as a briefing on ``as_of`` would have shown them.

    ``metrics`` (optional) are the metrics the evaluation will read: their inputs are read from
    the store in one query up front (any other input is still read when needed).

    Returns
    -------
    dict
        ``{"as_of": Timestamp, "regimes", "values": LazyValues, "thesis", "save"}``; ``save()``
        writes the metrics evaluated so far to the materialised table.
    """
    from . import thesis

    from ..materialize import Table

    d = pd.Timestamp(as_of).normalize()
    ev = Evaluator(store, d, cfg.params)
    table = Table(store, cfg)  # the materialised metrics of that date, when a briefing saved them
    table.load_into(ev)
    if metrics:
        ev.prefetch(sorted({i for m in metrics if m in REGISTRY for i in REGISTRY[m].inputs}))
    values = LazyValues(ev)
    values._cache.update(table.values())  # figures read back, if any
    regimes = evaluate_regimes(ev, values, cfg)
    th = thesis.score(regimes, values, d, cfg)

    def save():  # writes the evaluated metrics once the comparison has read them (see compute)
        table.remember_values(values.computed())
        table.save(ev)

    return {"as_of": d, "regimes": regimes, "values": values, "thesis": th, "save": save}


def previous_meeting(as_of) -> dict | None:
    """The last scheduled FOMC meeting whose decision day is before ``as_of``."""
    d = pd.Timestamp(as_of).normalize()
    past = [m for m in meetings(as_of) if m["scheduled"] and pd.Timestamp(m["end"]) < d]
    return past[-1] if past else None


def periods(as_of, compare=None, first=None) -> list[dict]:
    """The comparison dates for ``as_of``: ``[{"id", "as_of", "meeting"?}]``.

    With ``compare`` only that date (id ``"compare"``); otherwise ``"week"`` (7 days earlier),
    ``"fomc"`` (the previous FOMC decision day) and ``"30d"``. Dates before ``first`` (the start
    of the data) are left out.
    """
    d = pd.Timestamp(as_of).normalize()
    if compare is not None:
        out = [{"id": "compare", "as_of": pd.Timestamp(compare).normalize()}]
    else:
        out = [{"id": "week", "as_of": d - pd.Timedelta(days=7)}]
        m = previous_meeting(d)
        if m is not None:
            out.append({"id": "fomc", "as_of": pd.Timestamp(m["end"]), "meeting": m["end"]})
        out.append({"id": "30d", "as_of": d - pd.Timedelta(days=30)})
    if first is not None:
        out = [p for p in out if p["as_of"] >= pd.Timestamp(first)]
    return out


def _usable(mv) -> bool:
    return mv is not None and mv.status != "unavailable" and _plain(mv.value) is not None


def _fig(mv) -> dict:
    return {"value": _plain(mv.value), "date": mv.date, "published_at": mv.published_at, "status": mv.status}


def _is_change(metric: str) -> bool:
    """A metric that is itself a change or a difference: a percent change of it means nothing."""
    return any(w in metric.split("_") for w in ("change", "growth", "netflow", "diff", "gap", "spread", "yoy",
                                                "return", "trend"))


def _material(t: Mapping[str, Any], metric: str, unit: str, row: Mapping[str, Any]) -> bool:
    from .thesis import _scale

    if row["change_pct"] is not None:
        return abs(row["change_pct"]) >= float(t.get("min_move_pct", 0.0))
    scale = _scale(t, metric, unit)
    if scale is None:
        return True
    return abs(row["change"]) / scale >= float(t.get("min_move_scale", 0.0))


def compare(now: Mapping[str, Any], before: Mapping[str, Any], key_metrics, t: Mapping[str, Any] | None = None) -> dict:
    """The rows that moved between two snapshots (``before`` earlier than ``now``).

    With ``t`` (the ``[thesis]`` settings) a figure counts as moved only when the move is
    material: at least ``min_move_pct`` of its level, or, for a rate, an index or a change (no
    percent change), at least ``min_move_scale`` of its scale unit (``metric_scale`` /
    ``unit_scale``). Without ``t`` any difference counts.

    Returns
    -------
    dict
        ``{"regimes": [{"regime", "from", "to", "from_conviction", "to_conviction"}],
        "metrics": [{"metric", "unit", "from": {"value", "date", "published_at", "status"},
        "to": {...}, "change", "change_pct"}]}``; ``change_pct`` is None when the old value is 0
        or the unit is already a rate or a state.
    """
    regs = []
    th_now, th_before = now.get("thesis") or {}, before.get("thesis") or {}
    for rid, o in now["regimes"].items():
        b = before["regimes"].get(rid)
        if b is None or b.get("state") == o.get("state"):
            continue
        regs.append({"regime": rid, "from": b.get("state"), "to": o.get("state"),
                     "from_conviction": th_before.get("regimes", {}).get(rid, {}).get("conviction"),
                     "to_conviction": th_now.get("regimes", {}).get(rid, {}).get("conviction")})
    mets = []
    for mid in key_metrics:
        if mid not in REGISTRY:
            continue
        a, b = before["values"].get(mid), now["values"].get(mid)
        if not (_usable(a) and _usable(b)):
            continue
        va, vb = _plain(a.value), _plain(b.value)
        if va == vb:
            continue  # only what moved
        row = {"metric": mid, "unit": b.unit, "frequency": REGISTRY[mid].frequency, "from": _fig(a), "to": _fig(b), "change": None, "change_pct": None}
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
            row["change"] = float(vb) - float(va)
            if va != 0 and b.unit not in ("fraction", "bp", "pp", "percent", "state", "bool") \
                    and not b.unit.startswith("index") and not _is_change(mid):
                row["change_pct"] = (float(vb) - float(va)) / abs(float(va))
        if t is not None and row["change"] is not None and not _material(t, mid, b.unit, row):
            continue
        mets.append(row)
    return {"regimes": regs, "metrics": mets}


def compute(store, as_of, cfg, now: Mapping[str, Any], *, compare_to=None, first=None) -> tuple[dict, dict | None]:
    """Changes for every comparison period, and the week-earlier snapshot's thesis.

    Parameters
    ----------
    now : mapping
        ``{"regimes", "values", "thesis"}`` of the briefing's own date.
    compare_to : date-like, optional
        One earlier date (``brief --compare``) instead of the three standard periods.
    first : date-like, optional
        The first date of the data; earlier periods are skipped.

    Returns
    -------
    (dict, dict or None)
        ``{"periods": [{"id", "as_of", "meeting"?, "regimes", "metrics"}]}`` (JSON-ready, dates ISO)
        and the thesis a week earlier (None when that week is not among the periods).
    """
    from .thesis import settings

    keys = list(settings(cfg).get("key_metrics") or [])
    need = needed_metrics(now["regimes"], keys)
    out, week, seen = [], None, {}
    for p in periods(as_of, compare_to, first):
        snap = seen.get(p["as_of"])
        if snap is None:
            snap = seen[p["as_of"]] = snapshot(store, p["as_of"], cfg, need)
        rows = compare(now, snap, keys, settings(cfg))
        item = {"id": p["id"], "as_of": p["as_of"].date().isoformat(), **rows}
        if "meeting" in p:
            item["meeting"] = p["meeting"]
        out.append(item)
        if p["id"] == "week":
            week = snap["thesis"]
    if week is None:
        # the scorecard's direction is always measured against the previous week
        d = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=7)
        if first is None or d >= pd.Timestamp(first):
            week = (seen.get(d) or snapshot(store, d, cfg, need))["thesis"]
    for snap in seen.values():
        snap["save"]()  # materialise each earlier date's metrics (btcmacro.materialize)
    return {"periods": out}, week
