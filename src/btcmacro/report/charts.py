"""Briefing charts: one declaration per chart, drawn as static SVG (HTML, PDF) or matplotlib PNG
(Markdown).

A chart is a list of traces, each a registry metric whose series the briefing carries in
``briefing.charts`` (computed by :func:`btcmacro.api.briefing`), or a raw input series of
``briefing.chart_inputs`` (Treasury holdings). Beyond scaling to display units, the plan only
derives what a chart shows by construction: a difference of two published series on the same
dates (SOFR minus the top of the range), the assumed RMP path (the briefing's own projection
drawn as a line) and a caption whose takeaway is read off the drawn data. A trace on ``y2`` uses
a second axis on the right. The BTC price chart draws the briefing's level zones as bands and
labels the nearest few; liquidity charts carry FOMC event markers from the embedded calendar.

A chart none of whose series has data is not drawn; :func:`plan` returns a sentence saying why
instead (the metric's own reason, translated). A chart with some series missing is drawn with a
note naming what is not shown.

The HODL-wave chart is the one chart not made of registry metrics: it stacks the twelve age
bands' shares of supply from ``briefing.hodl_history`` (own-node ``chain/hodl_<band>_pct``
series as published by the as-of date, see :func:`btcmacro.api.published_hodl_waves`), with
the source of ``briefing.hodl_waves`` in its note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .builder import Ctx, metric_name

#: the window of every chart (days up to the as-of date) unless its caption says otherwise
WINDOW_DAYS = 730


@dataclass(frozen=True)
class Trace:
    metric: str
    axis: str = "y"  # "y" (left) or "y2" (right)
    style: str = "line"  # line | area | bar | stack (stacked areas, in trace order)
    dash: str = "solid"
    minus: str = ""  # another metric subtracted on the same dates (e.g. SOFR minus the range top)


@dataclass(frozen=True)
class ChartSpec:
    id: str
    traces: tuple[Trace, ...]
    levels: bool = False
    log_y: bool = False
    hodl: bool = False  # the HODL-wave chart: traces come from briefing.hodl_history
    window_days: int = WINDOW_DAYS  # every chart shows the same window unless its caption says otherwise
    events: bool = False  # FOMC decisions, QT start/end and RMP start as vertical markers
    refs: tuple[str, ...] = ()  # horizontal reference lines (see _refs)
    rmp: bool = False  # the reserve-management projection against actual Treasury holdings
    costs: bool = False  # takeaway: the price against the realized price and the STH cost basis


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("fed_balance_sheet", (Trace("fed_total_assets"), Trace("qt_runoff_since_peak", style="area")),
              window_days=365 * 4, events=True),
    ChartSpec("reserves_gdp", (Trace("reserves_to_gdp"),), events=True, refs=("ample",)),
    ChartSpec("sofr_range_top", (Trace("sofr", minus="policy_rate_upper"),), events=True, refs=("zero_bp",)),
    ChartSpec("rmp_bills", (Trace("treasury_holdings"),), events=True, rmp=True),
    ChartSpec("reserves_spread", (Trace("reserves"), Trace("sofr_iorb_spread_bp", axis="y2"))),
    ChartSpec("net_liquidity_btc", (Trace("net_liquidity"), Trace("btc_price", axis="y2")), events=True),
    ChartSpec("m2", (Trace("m2"), Trace("m2_yoy", axis="y2", dash="dot"))),
    ChartSpec("payrolls", (Trace("payrolls_change", style="bar"),)),
    ChartSpec("btc_levels", (Trace("btc_price"), Trace("btc_ma_50d", dash="dot"), Trace("btc_ma_200d", dash="dash"),
                             Trace("btc_ma_200w", dash="dashdot")), levels=True, events=True),
    ChartSpec("mvrv_realized", (Trace("btc_price"), Trace("realized_price"), Trace("sth_cost_basis", dash="dot"),
                                Trace("mvrv", axis="y2")), costs=True),
    ChartSpec("supply_in_loss", (Trace("supply_in_loss_pct", style="area"),)),
    ChartSpec("sth_sopr", (Trace("sth_sopr"),), refs=("one",)),
    ChartSpec("realized_pl", (Trace("net_realized_pl_usd", style="bar"),)),
    ChartSpec("hashrate_difficulty", (Trace("hashrate"), Trace("difficulty", axis="y2"))),
    ChartSpec("etf_flows", (Trace("etf_netflow_5d", style="area"),), refs=("zero",)),
    ChartSpec("funding_oi", (Trace("funding_rate"), Trace("open_interest", axis="y2"))),
    ChartSpec("gold_btc", (Trace("gold_price"), Trace("btc_price", axis="y2"))),
    ChartSpec("hodl_waves", (), hodl=True),
)

#: the charts of the client note, in order (the rest are in the analyst appendix)
CLIENT_CHARTS = ("btc_levels", "fed_balance_sheet", "reserves_gdp", "sofr_range_top", "rmp_bills", "mvrv_realized")
#: level labels printed on the price chart (the nearest to the price); the others are in the levels table
MAX_LEVEL_LABELS = 6

BY_ID = {c.id: c for c in CHARTS}

COLORS = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#e08a00", "#2a9d8f")
BAND_COLORS = {"resistance": "rgba(192,80,77,0.15)", "support": "rgba(79,138,60,0.15)"}
BAND_MPL = {"resistance": ("#c0504d", 0.15), "support": ("#4f8a3c", 0.15)}
#: HODL-wave bands from the youngest (hot, red) to the oldest (cold, blue)
HODL_COLORS = ("#b2182b", "#d6452f", "#ef7442", "#f89d5a", "#fcc57d", "#fbe69d",
               "#dcefa3", "#a9d8a4", "#74bfa9", "#4a9bbf", "#3670b0", "#3b4a9a")


@dataclass
class Scaled:
    """A trace's data in display units, with its axis label."""

    trace: Trace
    name: str
    x: pd.DatetimeIndex
    y: list[float]
    axis_label: str


def _scale(ctx: Ctx, metric: str, s: pd.Series) -> tuple[pd.Series, str]:
    c = ctx.cat
    unit = _unit(ctx, metric, s)
    s = pd.to_numeric(s, errors="coerce").dropna()
    top = float(s.abs().max()) if len(s) else 0.0
    if unit == "USD":
        if top >= 1e12:
            return s / 1e12, c.t("chart.axis.usd_t")
        if top >= 1e9:
            return s / 1e9, c.t("chart.axis.usd_b")
        return s, c.t("chart.axis.usd")
    if unit == "USD/oz":
        return s, c.t("chart.axis.usd_oz")
    if unit == "fraction":
        return s * 100.0, c.t("chart.axis.percent")
    if unit == "percent":
        return s, c.t("chart.axis.percent")
    if unit == "bp":
        return s, c.t("chart.axis.bp")
    if unit in ("TH/s", "EH/s"):
        return (s / 1e6 if unit == "TH/s" else s), c.t("chart.axis.ehs")
    if unit == "difficulty":
        return s / 1e12, c.t("chart.axis.difficulty_t")
    if unit == "persons":
        return s / 1e3, c.t("chart.axis.persons_k")
    if unit == "ratio":
        return s, c.t("chart.axis.ratio")
    return s, c.unit_name(unit)


#: series in ``briefing.charts`` that are raw inputs rather than registry metrics: (unit, catalogue name key)
CHART_INPUTS = {"treasury_holdings": ("USD", "chart.trace.treasury_holdings")}


def _trace_name(ctx: Ctx, tr: Trace) -> str:
    if tr.minus:
        return ctx.cat.t(f"chart.trace.{tr.metric}_minus_{tr.minus}")
    if tr.metric in CHART_INPUTS:
        return ctx.cat.t(CHART_INPUTS[tr.metric][1])
    return metric_name(tr.metric, ctx.lang)


def _unit(ctx: Ctx, metric: str, s: pd.Series | None = None) -> str:
    mv = ctx.mv(metric)
    if mv is not None:
        return mv.unit
    if metric in CHART_INPUTS:
        return CHART_INPUTS[metric][0]
    return (s.attrs.get("unit", "") if s is not None else "")


def _window(ctx: Ctx, spec: ChartSpec) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = pd.Timestamp(ctx.as_of_iso)
    return end - pd.Timedelta(days=spec.window_days), end


def _raw_series(ctx: Ctx, spec: ChartSpec, tr: Trace) -> pd.Series | None:
    """The trace's series in its stored unit, clipped to the chart window (``None``: no data).

    A ``minus`` trace is the difference of two series on the first one's dates (the second
    carried forward: a policy rate holds until it changes), in basis points for percent rates.
    """
    start, end = _window(ctx, spec)
    s = (getattr(ctx.b, "chart_inputs", None) or {}).get(tr.metric) if tr.metric in CHART_INPUTS \
        else (ctx.b.charts or {}).get(tr.metric)
    if s is None:
        return None
    s = pd.to_numeric(s, errors="coerce").dropna()
    if tr.minus:
        o = (ctx.b.charts or {}).get(tr.minus)
        if o is None:
            return None
        o = pd.to_numeric(o, errors="coerce").dropna().sort_index()
        s = (s - o.reindex(s.index.union(o.index)).ffill().reindex(s.index)).dropna()
        if _unit(ctx, tr.metric) == "percent":
            s = s * 100.0
    s = s[(s.index > start) & (s.index <= end)]
    return s if len(s) else None


def plan(ctx: Ctx, chart_id: str) -> dict:
    """What to draw for a chart: title, scaled traces, bands, markers, caption and notes.

    Returns ``{"id", "title", "traces": [Scaled...], "bands": [...], "labels": [...], "refs": [...],
    "events": [...], "x_range": (start, end), "caption": {"takeaway", "source", "window"},
    "note": str, "fallback": str}``; ``fallback`` is non-empty when nothing can be drawn.
    ``labels`` are the level bands nearest to the price (at most :data:`MAX_LEVEL_LABELS`),
    printed on the chart; the levels table lists all of them.
    """
    spec = BY_ID[chart_id]
    if spec.hodl:
        return _plan_hodl(ctx, chart_id)
    c = ctx.cat
    title = c.t(f"chart.title.{chart_id}")
    traces, missing, raws = [], [], {}
    unavailable_only = True  # every series missing is an unavailable metric (listed with its reason)
    from ..registry import REGISTRY

    for tr in spec.traces:
        name = _trace_name(ctx, tr)
        s = _raw_series(ctx, spec, tr)
        if s is not None:
            if tr.minus:
                ys, label = s, c.t("chart.axis.bp")
            else:
                ys, label = _scale(ctx, tr.metric, s)
            if len(ys):
                raws[tr.metric] = s
                traces.append(Scaled(tr, name, pd.DatetimeIndex(ys.index), [float(v) for v in ys.to_numpy()], label))
                continue
        if tr.metric in CHART_INPUTS:
            missing.append(c.t("chart.no_series", name=name))
            unavailable_only = False
        elif tr.metric not in REGISTRY and tr.metric not in ctx.b.metrics:
            missing.append(c.t("chart.not_registered", name=name))
            unavailable_only = False
        elif not ctx.available(tr.metric):
            mv = ctx.mv(tr.metric)
            missing.append(c.t("chart.missing_metric", name=name, reason=c.reason(mv.reason if mv else None)))
        else:
            missing.append(c.t("chart.no_series", name=name))
            unavailable_only = False
    bands = _bands(ctx) if spec.levels and traces else []
    reasons = c.t("fmt.list_sep").join(missing)
    if not traces:
        return {"id": chart_id, "title": title, "traces": [], "bands": [], "labels": [], "refs": [], "events": [],
                "x_range": None, "caption": None, "note": "", "unavailable_only": unavailable_only,
                "fallback": c.t("chart.unavailable", title=title, reasons=reasons)}
    start, end = _window(ctx, spec)
    x_range = (start, end)
    if spec.rmp:
        proj = _rmp_projection(ctx, traces[0], raws.get(traces[0].trace.metric))
        if proj is not None:
            traces.append(proj)
            x_range = (start, max(end, proj.x[-1]))
    price = _last(raws.get("btc_price"))
    labels = _nearest_labels(bands, price[1] if price else None)
    note = c.t("chart.partial", title=title, reasons=reasons) if missing else ""
    p = {"id": chart_id, "title": title, "traces": traces, "bands": bands, "labels": labels,
         "refs": _refs(ctx, spec), "events": _events(ctx, start, end) if spec.events else [],
         "x_range": x_range, "note": note, "fallback": ""}
    p["caption"] = _caption(ctx, spec, p, raws)
    return p


def _bands(ctx: Ctx) -> list[dict]:
    bands = []
    for lv in ctx.b.levels or []:
        lo, hi = lv.get("low"), lv.get("high")
        if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
            continue
        names = lv.get("names") or {}
        name = names.get(ctx.lang) or lv.get("name") or ""
        price = f"{lo:,.0f}" if abs(hi - lo) < 0.5 else f"{lo:,.0f}–{hi:,.0f}"
        bands.append({"low": float(lo), "high": float(hi), "kind": lv.get("kind") or "",
                      "name": name, "label": f"{price} {name}"})
    return bands


def _nearest_labels(bands: list[dict], price: float | None) -> list[dict]:
    """The :data:`MAX_LEVEL_LABELS` bands nearest to the price (by their middle), in price order."""
    if not bands:
        return []
    ref = price if price is not None else sorted((b["low"] + b["high"]) / 2 for b in bands)[len(bands) // 2]
    near = sorted(bands, key=lambda b: abs((b["low"] + b["high"]) / 2 - ref))[:MAX_LEVEL_LABELS]
    return sorted(near, key=lambda b: b["low"])


def _last(s: pd.Series | None):
    if s is None or not len(s):
        return None
    return s.index[-1], float(s.iloc[-1])


def _refs(ctx: Ctx, spec: ChartSpec) -> list[dict]:
    """Horizontal reference lines in display units, with their labels."""
    c = ctx.cat
    out = []
    for r in spec.refs:
        if r == "ample":
            thr = ample_threshold(ctx)
            if thr is not None:
                out.append({"y": 100.0 * thr, "raw": thr, "label": c.t("chart.ref.ample", value=c.percent(100.0 * thr))})
        elif r == "zero_bp":
            out.append({"y": 0.0, "raw": 0.0, "label": c.t("chart.ref.range_top")})
        elif r == "one":
            out.append({"y": 1.0, "raw": 1.0, "label": c.t("chart.ref.sopr_one")})
        elif r == "zero":
            out.append({"y": 0.0, "raw": 0.0, "label": c.t("chart.ref.zero")})
    return out


def ample_threshold(ctx: Ctx) -> float | None:
    """The reserves/GDP "ample" threshold the briefing's funding-stress regime used (its rule
    evidence), else the rules' default."""
    for e in (ctx.b.regimes or {}).get("funding_stress", {}).get("evidence") or []:
        if isinstance(e, dict) and e.get("metric") == "reserves_to_gdp" and isinstance(e.get("threshold"), (int, float)):
            return float(e["threshold"])
    from ..rules import load_rules

    v = load_rules(None).regimes.get("funding_stress", {}).get("reserves_to_gdp_ample")
    return float(v) if isinstance(v, (int, float)) else None


#: FOMC balance-sheet decisions drawn as labelled markers (calendar ``balance_sheet`` values)
EVENT_KINDS = ("qt_start", "qt_end", "purchases")


def events(as_of, start=None, end=None) -> list[dict]:
    """Balance-sheet events and FOMC decisions known by ``as_of`` (the embedded FOMC calendar).

    Each is ``{"date", "kind", "decided"}``: ``kind`` is ``qt_start``, ``qt_end``, ``rmp_start``
    (purchases of Treasury bills to keep reserves ample), ``purchases`` or ``decision`` (a
    scheduled meeting's decision day); ``date`` is the day the change took effect when the
    calendar gives one, else the decision day. A decision after ``as_of`` is never listed.
    """
    from ..rules.fomc import _rows

    d = pd.Timestamp(as_of).normalize()
    out = []
    for r in _rows():
        end_day = pd.Timestamp(r["end"])
        if end_day > d:
            continue
        bs = r.get("balance_sheet") or ""
        if bs in EVENT_KINDS:
            kind = "rmp_start" if bs == "purchases" and "bill" in (r.get("balance_sheet_note") or "").lower() else bs
            day = pd.Timestamp(r.get("effective") or r["end"])
            out.append({"date": day, "kind": kind, "decided": end_day})
        if r.get("scheduled") == "1":
            out.append({"date": end_day, "kind": "decision", "decided": end_day})
    if start is not None:
        out = [e for e in out if e["date"] >= start]
    if end is not None:
        out = [e for e in out if e["date"] <= end]
    return sorted(out, key=lambda e: (e["date"], e["kind"] == "decision"))


def _events(ctx: Ctx, start, end) -> list[dict]:
    c = ctx.cat
    return [{"date": e["date"], "kind": e["kind"], "minor": e["kind"] == "decision",
             "label": c.t(f"chart.event.{e['kind']}", date=c.date(e["date"]))}
            for e in events(ctx.as_of_iso, start, end)]


def _rmp_projection(ctx: Ctx, actual: Scaled, raw: pd.Series | None) -> Scaled | None:
    """The reserve-management purchases assumption as a path: from the RMP start (if announced
    by the as-of date and inside the window, else the last actual week) holdings grow by the
    assumed monthly purchases for twelve months. Display only; the pace is the briefing's
    ``rmp_annual_growth_projection`` detail."""
    d = ctx.detail("rmp_annual_growth_projection")
    monthly = d.get("monthly_bill_purchases_usd")
    if raw is None or not len(raw) or not isinstance(monthly, (int, float)) or monthly <= 0:
        return None
    starts = [e["date"] for e in events(ctx.as_of_iso) if e["kind"] == "rmp_start"]
    t0 = starts[-1] if starts and starts[-1] >= raw.index[0] else raw.index[-1]
    base = raw[raw.index <= t0]
    v0 = float(base.iloc[-1]) if len(base) else float(raw.iloc[0])
    days = list(range(0, 365, 7)) + [365]  # weekly points, ending one year after the start
    xs = pd.DatetimeIndex([t0 + pd.Timedelta(days=k) for k in days])
    vals = pd.Series([v0 + monthly * 12 * k / 365.0 for k in days], index=xs)
    scaled, label = _scale(ctx, actual.trace.metric, pd.concat([raw, vals]))
    ys = [float(v) for v in scaled.iloc[len(raw):].to_numpy()]
    return Scaled(Trace("rmp_projection", dash="dash"), ctx.cat.t("chart.trace.rmp_projection", monthly=ctx.usd(monthly)),
                  xs, ys, label)


def providers(source: str | None) -> list[str]:
    """The providers named in a source label ("BGeometrics:supply_in_loss, Coin Metrics:SplyCur"
    -> ["BGeometrics", "Coin Metrics"]): client captions name providers, not field keys."""
    import re

    text = re.sub(r" \([^()]+\)$", "", source or "")
    out = []
    for part in text.split(", "):
        if ":" in part:
            name = part.split(":", 1)[0].strip()
            if name and name not in out:
                out.append(name)
    return out


def _caption(ctx: Ctx, spec: ChartSpec, p: dict, raws: dict) -> dict:
    """Source, latest date, window and a one-line takeaway computed from the drawn data."""
    c = ctx.cat
    srcs: list[str] = []
    last_dates = []
    for t in p["traces"]:
        m = t.trace.metric
        if m in CHART_INPUTS:
            names = ["FRED"]
        elif m == "rmp_projection":
            names = []
        else:
            mv = ctx.mv(m)
            names = providers(mv.source if mv is not None else None)
        if t.trace.minus:
            names += [n for n in providers(getattr(ctx.mv(t.trace.minus), "source", None)) if n not in names]
        srcs += [n for n in names if n not in srcs]
        if m in raws:
            last_dates.append(raws[m].index[-1])
    start, end = p["x_range"]
    years = round(spec.window_days / 365)
    ahead = p["x_range"][1] > pd.Timestamp(ctx.as_of_iso)
    window = c.t("chart.window_ahead" if ahead else "chart.window", years=years, end=c.date(ctx.as_of_iso))
    return {"takeaway": _takeaway(ctx, spec, p, raws), "source": c.t("fmt.alt_sep").join(srcs), "date": c.date(max(last_dates)) if last_dates else "", "window": window}


def _zone(c, b: dict) -> str:
    if abs(b["high"] - b["low"]) < 0.5:
        return c.usd(b["low"])
    return c.t("level.zone", low=c.usd(b["low"]), high=c.usd(b["high"]))


def _fmt_raw(ctx: Ctx, metric: str, v: float, *, signed: bool = False, minus: bool = False) -> str:
    if minus:
        return ctx.cat.value(v, "bp", signed=True)
    from .builder import display_value

    unit = _unit(ctx, metric)
    return ctx.cat.value(*display_value(metric, v, unit), signed=signed)


def _takeaway(ctx: Ctx, spec: ChartSpec, p: dict, raws: dict) -> str:
    c = ctx.cat
    first = p["traces"][0]
    m = first.trace.metric
    s = raws.get(m)
    if s is None or not len(s):
        return ""
    d1, v1 = s.index[-1], float(s.iloc[-1])
    d0, v0 = s.index[0], float(s.iloc[0])
    fmt = lambda v, signed=False: _fmt_raw(ctx, m, v, signed=signed, minus=bool(first.trace.minus))  # noqa: E731
    if spec.levels:
        sup = [b for b in p["bands"] if b["high"] < v1]
        res = [b for b in p["bands"] if b["low"] > v1]
        ns = max(sup, key=lambda b: b["high"]) if sup else None
        nr = min(res, key=lambda b: b["low"]) if res else None
        return c.t("chart.takeaway.levels", date=c.date(d1),
                   support=ns["name"] if ns else "", support_zone=_zone(c, ns) if ns else "",
                   support_pct=c.percent(100 * (ns["high"] / v1 - 1), signed=True) if ns else "",
                   resistance=nr["name"] if nr else "", resistance_zone=_zone(c, nr) if nr else "",
                   resistance_pct=c.percent(100 * (nr["low"] / v1 - 1), signed=True) if nr else "")
    if spec.rmp and len(p["traces"]) > 1:
        proj = p["traces"][1]
        t0 = proj.x[0]
        base = s[s.index <= t0]
        change = v1 - float(base.iloc[-1]) if len(base) else 0.0
        monthly = ctx.detail("rmp_annual_growth_projection").get("monthly_bill_purchases_usd")
        if t0 < d1:
            assumed = float(monthly) * 12 * (d1 - t0).days / 365.0
            return c.t("chart.takeaway.rmp_since", since=c.date(t0), actual=c.usd(change, True), assumed=c.usd(assumed, True),
                       date=c.date(d1))
        return c.t("chart.takeaway.rmp_ahead", last=c.usd(v1), date=c.date(d1), monthly=c.usd(float(monthly)),
                   year=c.usd(float(monthly) * 12))
    if spec.costs and all(raws.get(k) is not None for k in ("btc_price", "realized_price", "sth_cost_basis")):
        # one date for the three: the last day all of them have (a comparison never mixes days)
        day = min(raws[k].index[-1] for k in ("btc_price", "realized_price", "sth_cost_basis"))
        at = {k: float(raws[k][raws[k].index <= day].iloc[-1]) for k in ("btc_price", "realized_price", "sth_cost_basis")}
        price, realized, sth = at["btc_price"], at["realized_price"], at["sth_cost_basis"]
        mv = raws.get("mvrv")
        mv = mv[mv.index <= day] if mv is not None else None
        return c.t("chart.takeaway.costs", price=c.usd(price), date=c.date(day), realized=c.usd(realized),
                   r_above=price >= realized, r_pct=c.percent(abs(100 * (price / realized - 1))),
                   sth=c.usd(sth), s_above=price >= sth, s_pct=c.percent(abs(100 * (price / sth - 1))),
                   mvrv=c.num(float(mv.iloc[-1]), 2) if mv is not None and len(mv) else "")
    refs = p.get("refs") or []
    if refs:
        r = refs[0]["raw"]
        above = v1 >= r
        side = (s >= r) if above else (s < r)
        flips = side[~side]
        since = flips.index[-1] if len(flips) else None
        after = s[s.index > since] if since is not None else s
        return c.t("chart.takeaway.ref", name=first.name, last=fmt(v1), d1=c.date(d1), above=above,
                   ref=refs[0]["label"], since=c.date(after.index[0]) if since is not None else "",
                   start=c.date(d0))
    unit = _unit(ctx, m)
    if unit in ("USD", "USD/oz", "BTC", "TH/s", "EH/s", "difficulty") and v0 > 0 and v1 > 0:
        # a level: say how much it moved (the level itself is quoted once, in the text)
        return c.t("chart.takeaway.moved", name=first.name, up=v1 >= v0, change=fmt(abs(v1 - v0)),
                   pct=c.percent(abs(100 * (v1 / v0 - 1))), d0=c.date(d0), d1=c.date(d1))
    if unit == "fraction":
        return c.t("chart.takeaway.moved", name=first.name, up=v1 >= v0, change=c.value(abs(100 * (v1 - v0)), "pp"),
                   pct="", d0=c.date(d0), d1=c.date(d1))
    return c.t("chart.takeaway.change", name=first.name, first=fmt(v0), d0=c.date(d0), last=fmt(v1), d1=c.date(d1), pct="")


def _plan_hodl(ctx: Ctx, chart_id: str) -> dict:
    """The HODL-wave chart: one stacked trace per age band (percent of supply), youngest first."""
    c = ctx.cat
    title = c.t(f"chart.title.{chart_id}")
    hw = getattr(ctx.b, "hodl_waves", None)
    hist = getattr(ctx.b, "hodl_history", None)
    name = c.t("label.hodl_waves")
    if not hw:
        from .builder import hodl_reason

        why = c.t("chart.missing_metric", name=name, reason=c.reason(hodl_reason(ctx.b)))
    elif hist is None or hist.empty:
        why = (c.t("chart.missing_metric", name=name, reason=c.reason(hw.get("reason")))
               if hw.get("status") == "stale" else c.t("chart.no_series", name=name))
    else:
        why = ""
    if why:
        return {"id": chart_id, "title": title, "traces": [], "bands": [], "labels": [], "refs": [], "events": [],
                "x_range": None, "caption": None, "note": "",
                "fallback": c.t("chart.unavailable", title=title, reasons=why)}
    from .builder import hodl_source

    x = pd.DatetimeIndex(hist.index)
    axis = c.t("chart.axis.percent_of_supply")
    traces = [Scaled(Trace(f"hodl_{k}", style="stack"), c.t(f"chart.hodl.{k}"), x,
                     [float(v) for v in hist[k].to_numpy()], axis) for k in hist.columns]
    extra = [c.t("fmt.stale", reason=c.reason(hw.get("reason")))] if hw.get("status") == "stale" else []
    note = c.t("chart.hodl_note", cite=c.t("fmt.cite", date=c.date(hw.get("date")), source=hodl_source(ctx, hw),
                                           extra=extra))
    last = hist.iloc[-1]
    from ..indicators.onchain import HODL_UNDER_1M

    young = [k for k in HODL_UNDER_1M if k in hist.columns]  # coins that moved in the last month
    takeaway = c.t("chart.takeaway.hodl", share=c.percent(float(sum(last[k] for k in young))),
                   date=c.date(x[-1]))
    caption = {"takeaway": takeaway, "source": hodl_source(ctx, hw), "date": c.date(x[-1]),
               "window": c.t("chart.window", years=round((x[-1] - x[0]).days / 365) or 1, end=c.date(ctx.as_of_iso))}
    return {"id": chart_id, "title": title, "traces": traces, "bands": [], "labels": [], "refs": [], "events": [],
            "x_range": (x[0], x[-1]), "caption": caption, "note": note, "fallback": ""}


# ----------------------------------------------------------------------------------------------
# static SVG (HTML and PDF)
# ----------------------------------------------------------------------------------------------


def spread_labels(ys: list[float], gap: float) -> list[float]:
    """Label positions at least ``gap`` apart, each as close to its own ``y`` as possible.

    Labels that would overlap are grouped, and each group is spaced ``gap`` apart around the mean
    of its members' own positions; a label far from the others stays exactly at its level.
    Returns the positions in the input order.
    """
    if not ys:
        return []
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    groups: list[list] = []  # [members' y values, start position]
    for i in order:
        groups.append([[ys[i]], ys[i]])
        while len(groups) > 1:
            prev, last = groups[-2], groups[-1]
            if last[1] >= prev[1] + len(prev[0]) * gap:
                break
            members = prev[0] + last[0]
            groups[-2:] = [[members, sum(members) / len(members) - (len(members) - 1) * gap / 2]]
    pos = [g[1] + k * gap for g in groups for k in range(len(g[0]))]
    out = [0.0] * len(ys)
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out


def svg(ctx: Ctx, p: dict, *, narrow: bool = False) -> str:
    """The chart as a static inline ``<svg>`` (HTML and PDF; see :mod:`btcmacro.report.svg`);
    ``narrow``: the phone rendering (a smaller view box, so the same text reads larger)."""
    from . import svg as svgmod

    c = ctx.cat
    if ctx.lang == "en":
        fmt_month = lambda t: c.t("chart.tick_month", mon=_MONTHS_EN[t.month - 1], y=t.year, yy=f"{t.year % 100:02d}", m=t.month)  # noqa: E731
    else:
        fmt_month = lambda t: c.t("chart.tick_month", mon="", y=t.year, yy=f"{t.year % 100:02d}", m=t.month)  # noqa: E731
    return svgmod.render(p, fmt_month, colors=COLORS, band_colors=BAND_COLORS, hodl_colors=HODL_COLORS,
                         font_family=svgmod.FONT_FAMILY if ctx.lang == "en" else svgmod.FONT_FAMILY_TC,
                         **(svgmod.NARROW if narrow else {}))


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ----------------------------------------------------------------------------------------------
# matplotlib (PNG)
# ----------------------------------------------------------------------------------------------

_CJK_HINTS = ("Noto Sans CJK TC", "Noto Sans TC", "Noto Sans CJK JP", "Noto Sans CJK SC", "Source Han Sans TW",
              "Source Han Sans TC", "Microsoft JhengHei", "PingFang TC", "Heiti TC", "WenQuanYi Micro Hei",
              "WenQuanYi Zen Hei", "AR PL UMing TW", "AR PL UKai TW", "Noto Serif CJK TC")


def cjk_font() -> str | None:
    """A font family with Traditional Chinese glyphs known to matplotlib, or None."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    for n in _CJK_HINTS:
        if n in names:
            return n
    # fonts installed after matplotlib built its cache: register likely files once
    for path in fm.findSystemFonts():
        low = Path(path).name.lower()
        if any(k in low for k in ("cjk", "wqy", "uming", "ukai", "notosanstc", "jhenghei", "pingfang", "sourcehan")):
            try:
                fm.fontManager.addfont(path)
            except Exception:  # noqa: BLE001 - an unreadable font file is just skipped
                continue
    names = {f.name for f in fm.fontManager.ttflist}
    for n in _CJK_HINTS:
        if n in names:
            return n
    return None


def _mpl_dash(d: str) -> str:
    return {"solid": "-", "dot": ":", "dash": "--", "dashdot": "-."}.get(d, "-")


def png(p: dict, path: Path, lang: str) -> bool:
    """Write the chart as a PNG at ``path``; return False if the language needs a font that is missing.

    With ``lang="zh-TW"`` and no CJK font installed, the PNG is still written (labels would show
    as empty boxes otherwise, so titles are left to the Markdown caption) and False is returned.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    font = cjk_font() if lang != "en" else None
    has_font = lang == "en" or font is not None
    rc = {"font.size": 9, "axes.unicode_minus": False}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
        ax2 = None
        handles = []
        stack = [t for t in p["traces"] if t.trace.style == "stack"]
        if stack:  # stacked shares (HODL waves), youngest band at the bottom
            colors = [HODL_COLORS[i % len(HODL_COLORS)] for i in range(len(stack))]
            handles += ax.stackplot(stack[0].x, *[t.y for t in stack], colors=colors, linewidth=0,
                                    labels=[t.name if has_font else t.trace.metric for t in stack])
            ax.set_ylim(0, 100)
            ax.set_xlim(stack[0].x[0], stack[0].x[-1])
            ax.set_ylabel(stack[0].axis_label if has_font else "")
        for i, t in enumerate(p["traces"]):
            if t.trace.style == "stack":
                continue
            color = COLORS[i % len(COLORS)]
            target = ax
            if t.trace.axis == "y2":
                if ax2 is None:
                    ax2 = ax.twinx()
                target = ax2
            label = t.name if has_font else t.trace.metric
            if t.trace.style == "bar":
                h = target.bar(t.x, t.y, width=20, color=["#c0504d" if v < 0 else color for v in t.y], label=label)
            else:
                (h,) = target.plot(t.x, t.y, color=color, linewidth=1.4, linestyle=_mpl_dash(t.trace.dash), label=label)
                if t.trace.style == "area":
                    target.fill_between(t.x, t.y, color=color, alpha=0.15)
            handles.append(h)
            target.set_ylabel(t.axis_label if has_font else "")
        for b in p["bands"]:
            color, alpha = BAND_MPL.get(b["kind"], ("#808080", 0.15))
            lo, hi = b["low"], b["high"]
            if hi <= lo:
                lo, hi = lo * 0.998, lo * 1.002
            ax.axhspan(lo, hi, color=color, alpha=alpha, linewidth=0)
        for r in p.get("refs") or []:
            ax.axhline(r["y"], color="#a33", linestyle="--", linewidth=1.0)
            if has_font:
                ax.annotate(r["label"], (0.01, r["y"]), xycoords=("axes fraction", "data"), fontsize=7, color="#a33",
                            va="bottom")
        for ev in p.get("events") or []:
            if ev.get("minor"):
                ax.axvline(ev["date"], ymax=0.04, color="#8064a2", linewidth=1.0)
            else:
                ax.axvline(ev["date"], color="#8064a2", linestyle=":", linewidth=1.0)
        if p.get("x_range") and not stack:
            ax.set_xlim(*p["x_range"])
        if has_font:
            ax.set_title(p["title"], fontsize=11)
        ax.grid(True, alpha=0.3)
        loc = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(loc)
        if lang == "en":
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        else:  # numeric months: no English month names in a Chinese chart
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
                loc, formats=["%Y", "%m", "%d", "%H:%M", "%H:%M", "%S"],
                zero_formats=["", "%Y", "%m", "%m-%d", "%H:%M", "%H:%M"]))
        if stack:  # twelve bands: the legend goes below the plot, in two rows
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=6,
                      fontsize=7, frameon=False)
            fig.subplots_adjust(left=0.08, right=0.97, top=0.9, bottom=0.22)
        else:
            ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
            fig.subplots_adjust(left=0.08, right=0.91 if ax2 is not None else 0.97, top=0.9, bottom=0.1)
        fig.savefig(path, format="png")
        plt.close(fig)
    return has_font


def chart_ids() -> list[str]:
    return [c.id for c in CHARTS]


def describe(p: dict) -> dict[str, Any]:
    """A JSON-able summary of a chart plan (for the dashboard)."""
    return {"id": p["id"], "title": p["title"], "note": p["note"], "fallback": p["fallback"],
            "traces": [{"metric": t.trace.metric, "name": t.name, "axis": t.trace.axis, "points": len(t.y),
                        "axis_label": t.axis_label} for t in p["traces"]]}
