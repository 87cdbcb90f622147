"""Briefing charts: one declaration per chart, drawn as Plotly (HTML) or matplotlib PNG (Markdown).

A chart is a list of traces, each a registry metric whose series the briefing carries in
``briefing.charts`` (computed by :func:`btcmacro.api.briefing`; nothing is computed here beyond
scaling to display units). A trace on ``y2`` uses a second axis on the right. The BTC price chart
also draws the briefing's level zones as horizontal bands.

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


@dataclass(frozen=True)
class Trace:
    metric: str
    axis: str = "y"  # "y" (left) or "y2" (right)
    style: str = "line"  # line | area | bar | stack (stacked areas, in trace order)
    dash: str = "solid"


@dataclass(frozen=True)
class ChartSpec:
    id: str
    traces: tuple[Trace, ...]
    levels: bool = False
    log_y: bool = False
    hodl: bool = False  # the HODL-wave chart: traces come from briefing.hodl_history


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("fed_balance_sheet", (Trace("fed_total_assets"), Trace("qt_runoff_since_peak", style="area"))),
    ChartSpec("reserves_spread", (Trace("reserves"), Trace("sofr_iorb_spread_bp", axis="y2"))),
    ChartSpec("net_liquidity_btc", (Trace("net_liquidity"), Trace("btc_price", axis="y2"))),
    ChartSpec("m2", (Trace("m2"), Trace("m2_yoy", axis="y2", dash="dot"))),
    ChartSpec("payrolls", (Trace("payrolls_change", style="bar"),)),
    ChartSpec("btc_levels", (Trace("btc_price"), Trace("btc_ma_50d", dash="dot"), Trace("btc_ma_200d", dash="dash"),
                             Trace("btc_ma_200w", dash="dashdot")), levels=True),
    ChartSpec("mvrv_realized", (Trace("btc_price"), Trace("realized_price"), Trace("sth_cost_basis", dash="dot"),
                                Trace("mvrv", axis="y2"))),
    ChartSpec("hashrate_difficulty", (Trace("hashrate"), Trace("difficulty", axis="y2"))),
    ChartSpec("gold_btc", (Trace("gold_price"), Trace("btc_price", axis="y2"))),
    ChartSpec("hodl_waves", (), hodl=True),
)

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
    mv = ctx.mv(metric)
    unit = mv.unit if mv is not None else s.attrs.get("unit", "")
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


def plan(ctx: Ctx, chart_id: str) -> dict:
    """What to draw for a chart: title, scaled traces, bands, and notes about missing data.

    Returns ``{"id", "title", "traces": [Scaled...], "bands": [...], "note": str, "fallback": str}``;
    ``fallback`` is non-empty when nothing can be drawn.
    """
    spec = BY_ID[chart_id]
    if spec.hodl:
        return _plan_hodl(ctx, chart_id)
    c = ctx.cat
    title = c.t(f"chart.title.{chart_id}")
    traces, missing = [], []
    from ..registry import REGISTRY

    for tr in spec.traces:
        name = metric_name(tr.metric, ctx.lang)
        s = (ctx.b.charts or {}).get(tr.metric)
        if s is not None and len(s.dropna()):
            ys, label = _scale(ctx, tr.metric, s)
            if len(ys):
                traces.append(Scaled(tr, name, pd.DatetimeIndex(ys.index), [float(v) for v in ys.to_numpy()], label))
                continue
        if tr.metric not in REGISTRY and tr.metric not in ctx.b.metrics:
            missing.append(c.t("chart.not_registered", name=name))
        elif not ctx.available(tr.metric):
            mv = ctx.mv(tr.metric)
            missing.append(c.t("chart.missing_metric", name=name, reason=c.reason(mv.reason if mv else None)))
        else:
            missing.append(c.t("chart.no_series", name=name))
    bands = []
    if spec.levels and traces:
        for lv in ctx.b.levels or []:
            lo, hi = lv.get("low"), lv.get("high")
            if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
                continue
            names = lv.get("names") or {}
            name = names.get(ctx.lang) or lv.get("name") or ""
            price = f"{lo:,.0f}" if abs(hi - lo) < 0.5 else f"{lo:,.0f}–{hi:,.0f}"
            bands.append({"low": float(lo), "high": float(hi), "kind": lv.get("kind") or "",
                          "name": name, "label": f"{name} {price}"})
    reasons = c.t("fmt.list_sep").join(missing)
    if not traces:
        return {"id": chart_id, "title": title, "traces": [], "bands": [], "note": "",
                "fallback": c.t("chart.unavailable", title=title, reasons=reasons)}
    note = c.t("chart.partial", title=title, reasons=reasons) if missing else ""
    return {"id": chart_id, "title": title, "traces": traces, "bands": bands, "note": note, "fallback": ""}


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
        return {"id": chart_id, "title": title, "traces": [], "bands": [], "note": "",
                "fallback": c.t("chart.unavailable", title=title, reasons=why)}
    from .builder import hodl_source

    x = pd.DatetimeIndex(hist.index)
    axis = c.t("chart.axis.percent_of_supply")
    traces = [Scaled(Trace(f"hodl_{k}", style="stack"), c.t(f"chart.hodl.{k}"), x,
                     [float(v) for v in hist[k].to_numpy()], axis) for k in hist.columns]
    extra = [c.t("fmt.stale", reason=c.reason(hw.get("reason")))] if hw.get("status") == "stale" else []
    note = c.t("chart.hodl_note", cite=c.t("fmt.cite", date=c.date(hw.get("date")), source=hodl_source(ctx, hw),
                                           extra=extra))
    return {"id": chart_id, "title": title, "traces": traces, "bands": [], "note": note, "fallback": ""}


# ----------------------------------------------------------------------------------------------
# Plotly (HTML)
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


def plotly_div(p: dict) -> str:
    """The chart as an HTML fragment (a div and its script; plotly.js itself is embedded once).

    The figure is built as a plain dict (validated shapes only) for speed.
    """
    import plotly.io as pio

    data, shapes, notes = [], [], []
    left = [t for t in p["traces"] if t.trace.axis == "y"]
    right = [t for t in p["traces"] if t.trace.axis == "y2"]
    for i, t in enumerate(p["traces"]):
        color = COLORS[i % len(COLORS)]
        tr = {"x": [d.date().isoformat() for d in t.x], "y": t.y, "name": t.name,
              "yaxis": "y2" if t.trace.axis == "y2" else "y"}
        if t.trace.style == "bar":
            tr.update(type="bar", marker={"color": ["#c0504d" if v < 0 else color for v in t.y]})
        elif t.trace.style == "stack":
            color = HODL_COLORS[i % len(HODL_COLORS)]
            tr.update(type="scatter", mode="lines", stackgroup="bands", fillcolor=color,
                      line={"color": color, "width": 0.5}, hovertemplate="%{y:.2f}%")
        else:
            tr.update(type="scatter", mode="lines", line={"color": color, "width": 1.8, "dash": t.trace.dash})
            if t.trace.style == "area":
                tr["fill"] = "tozeroy"
        data.append(tr)
    for b in p["bands"]:
        lo, hi = b["low"], b["high"]
        if hi <= lo:
            lo, hi = lo * 0.998, lo * 1.002
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": lo, "y1": hi,
                       "fillcolor": BAND_COLORS.get(b["kind"], "rgba(128,128,128,0.15)"), "line": {"width": 0},
                       "layer": "below"})
        notes.append({"xref": "paper", "x": 1.0, "xanchor": "left", "yref": "y", "y": (lo + hi) / 2,
                      "text": b.get("label") or b["name"], "showarrow": False, "font": {"size": 9}})
    if notes:
        ys = [y for t in p["traces"] if t.trace.axis == "y" for y in t.y if y is not None and y == y]
        ys += [n["y"] for n in notes]
        span = (max(ys) - min(ys)) or 1.0
        for n, y in zip(notes, spread_labels([n["y"] for n in notes], 0.045 * span)):
            n["y"] = y
    layout = {"title": {"text": p["title"], "font": {"size": 15}}, "height": 380,
              "margin": {"l": 60, "r": 190 if notes else (60 if right else 20), "t": 50, "b": 40},
              "legend": {"orientation": "h", "y": -0.15}, "hovermode": "x unified",
              "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
              "xaxis": {"showgrid": True, "gridcolor": "#e5e8ee"},
              "yaxis": {"title": {"text": left[0].axis_label if left else ""}, "gridcolor": "#e5e8ee"},
              "shapes": shapes, "annotations": notes}
    if right:
        layout["yaxis2"] = {"title": {"text": right[0].axis_label}, "overlaying": "y", "side": "right",
                            "showgrid": False}
    if any(t.trace.style == "stack" for t in p["traces"]):  # shares of a whole: 0-100 %
        layout["yaxis"]["range"] = [0, 100]
        layout["height"] = 440
        layout["legend"]["traceorder"] = "normal"
    return pio.to_html({"data": data, "layout": layout}, validate=False, full_html=False,
                       include_plotlyjs=False, div_id=f"chart-{p['id']}",
                       config={"displaylogo": False, "responsive": True})


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (embedded inline: no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


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
