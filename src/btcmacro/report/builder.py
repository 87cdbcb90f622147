"""From a :class:`btcmacro.api.Briefing` to translated, structured sections.

The builder computes nothing: every number comes from the briefing (registry values, regime
evidence, levels, scenarios) and every sentence from a catalogue template (:mod:`.i18n`). What
it decides is *which* sentences apply: a sentence is written when all the metrics it needs are
available; otherwise each unavailable metric gets its own "not available — reason" line, and
every registry metric of a section that no sentence quoted still gets a generic line. So a
metric added to the registry appears in the briefing (its section chosen by its category) without
touching this module, and a metric without data always says why.

The output of :func:`build` is a plain dict (see its docstring) consumed by the HTML and Markdown
templates and exposed to the dashboard through :func:`btcmacro.report.render_sections`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .i18n import Catalog, catalog

# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------

_SIGNED_WORDS = frozenset({"change", "growth", "netflow", "diff", "gap"})


def signed_metric(metric_id: str) -> bool:
    """Whether a metric's value is a change (shown with an explicit ``+``): one of the words of
    its id (split at ``_``) names a change (``exchange_reserve`` is a level, not a change)."""
    return any(w in _SIGNED_WORDS for w in metric_id.split("_"))


#: fractions that are differences of two rates: shown in percentage points (0.0083 -> +0.83 pp)
_PP_METRICS = frozenset({"inflation_gap_core_pce"})


def display_value(metric_id: str, value, unit: str):
    """``(value, unit)`` as shown: a rate difference stored as a fraction becomes pp."""
    if metric_id in _PP_METRICS and unit == "fraction" and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return 100.0 * float(value), "pp"
    return value, unit


def _inputs_of(source: str | None) -> set[str]:
    import re

    text = re.sub(r" \([^()]+\)$", "", source or "")
    return {x for x in text.split(", ") if x}


def _same_inputs(primary: str | None, alt: str | None) -> bool:
    """An alternative computed from inputs the primary figure already uses (another formula over
    the same provider's series) is no independent check; running text leaves it out."""
    a = _inputs_of(alt)
    return bool(a) and a <= _inputs_of(primary)


def metric_name(metric_id: str, lang: str) -> str:
    """The registry's display name in ``lang`` (the id itself for an unregistered metric)."""
    from ..registry import REGISTRY

    m = REGISTRY[metric_id] if metric_id in REGISTRY else None
    return m.name(lang) if m is not None else metric_id


def metric_category(metric_id: str) -> str:
    from ..registry import REGISTRY

    return REGISTRY[metric_id].category if metric_id in REGISTRY else "other"


@dataclass
class Fig:
    """One metric's figure, formatted for a language: ``str(fig)`` is value plus citation.

    Attributes usable in catalogue templates: ``v`` (formatted value), ``cite`` (date and source
    in brackets), ``date``, ``source``, ``name``, ``raw`` (the plain value), ``status``.
    """

    id: str
    name: str
    v: str
    cite: str
    date: str
    source: str
    raw: Any
    status: str
    text: str

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:  # never auto-escaped twice
        from markupsafe import escape

        return str(escape(self.text))


def _short_reason(reason: str | None) -> str | None:
    """A stale reason without its list of delayed releases (kept for the appendix)."""
    return reason.split("; delayed: ")[0] if reason else reason


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


class Ctx:
    """The briefing and the language, with helpers shared by every sentence."""

    def __init__(self, briefing, lang: str):
        self.b = briefing
        self.lang = lang
        self.cat: Catalog = catalog(lang)
        self.as_of_iso = briefing.as_of.date().isoformat()

    def mv(self, metric_id: str):
        return self.b.metrics.get(metric_id)

    def available(self, metric_id: str) -> bool:
        mv = self.mv(metric_id)
        return mv is not None and mv.status != "unavailable" and not _is_missing(mv.value)

    def fmt(self, metric_id: str, value, unit: str | None = None, *, signed: bool | None = None) -> str:
        mv = self.mv(metric_id)
        unit = unit or (mv.unit if mv is not None else "")
        s = signed_metric(metric_id) if signed is None else signed
        value, unit = display_value(metric_id, value, unit)
        return self.cat.value(value, unit, signed=s)

    def cite(self, mv, source: str | None = None) -> str:
        """``(date, source[; stale: reason][; alternatives])`` in the language's punctuation;
        ``source`` (already formatted) replaces the figure's own source label."""
        c = self.cat
        extra = []
        if mv.status == "stale":
            extra.append(c.t("fmt.stale", reason=c.reason(_short_reason(mv.reason))))
        alts = [self.alternative(mv, alt) for alt in mv.alternatives or [] if not _same_inputs(mv.source, alt.get("source"))]
        if alts:
            extra.append(c.t("fmt.alternatives", items=c.t("fmt.alt_sep").join(alts)))
        return c.t("fmt.cite", date=c.date(mv.date), source=source or c.source(mv.source, note=False), extra=extra)

    def alternative(self, mv, alt: Mapping[str, Any]) -> str:
        c = self.cat
        val = c.value(*display_value(mv.id, alt.get("value"), mv.unit), signed=signed_metric(mv.id))
        diff = alt.get("diff_pct")
        return c.t("fmt.alternative", source=c.source(alt.get("source"), note=False), value=val,
                   date=c.date(alt.get("date")) if alt.get("date") != mv.date else "",
                   diff=c.percent(float(diff), signed=True) if diff is not None else "")

    def fig(self, metric_id: str) -> Fig | None:
        if not self.available(metric_id):
            return None
        mv = self.mv(metric_id)
        v = self.fmt(metric_id, mv.value)
        cite = self.cite(mv)
        text = self.cat.t("fmt.figure", v=v, cite=cite)
        return Fig(metric_id, metric_name(metric_id, self.lang), v, cite, self.cat.date(mv.date),
                   self.cat.source(mv.source), mv.value, mv.status, text)

    def detail(self, metric_id: str) -> dict:
        mv = self.mv(metric_id)
        return dict(mv.detail or {}) if mv is not None else {}

    def usd(self, x, signed: bool = False) -> str | None:
        return None if _is_missing(x) else self.cat.usd(float(x), signed)

    def unavailable_line(self, metric_id: str) -> str:
        mv = self.mv(metric_id)
        return self.cat.t("s.unavailable", name=metric_name(metric_id, self.lang),
                          reason=self.cat.reason(mv.reason if mv is not None else None))


# ----------------------------------------------------------------------------------------------
# sentence specifications
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S:
    """A sentence: catalogue key ``s.<key>``, metrics it needs, optional ones, extra values.

    ``extra(ctx)`` returns additional template values (already formatted) or ``None`` to skip
    the sentence (e.g. a detail it needs is absent).
    """

    key: str
    needs: tuple[str, ...] = ()
    opt: tuple[str, ...] = ()
    extra: Callable[[Ctx], dict | None] | None = None


def _x_balance_sheet(c: Ctx) -> dict | None:
    d = c.detail("qt_runoff_since_peak") or c.detail("fed_total_assets_peak")
    share = d.get("share_of_peak")
    return {"peak_date": c.cat.date(d.get("peak_date")) if d.get("peak_date") else "",
            "share": c.cat.percent(100 * share) if not _is_missing(share) else ""}


def _x_qt(c: Ctx) -> dict | None:
    d = c.detail("qt_status")
    if _is_missing(d.get("change_total_usd")):
        return {"change_total": "", "change_treasuries": "", "window": ""}
    return {"change_total": c.usd(d.get("change_total_usd"), True),
            "change_treasuries": c.usd(d.get("change_treasuries_usd"), True) or "",
            "window": c.cat.num(float(d.get("window_days", 0)))}


def _x_qt_policy(c: Ctx) -> dict | None:
    d = c.detail("qt_policy")
    if not d.get("scheduled"):
        return {"scheduled": "", "scheduled_from": ""}
    return {"scheduled": c.cat.state(d["scheduled"]), "scheduled_from": c.cat.date(d.get("scheduled_from"))}


def _x_spread(c: Ctx) -> dict | None:
    return {"above": float(c.mv("sofr_iorb_spread_bp").value) > 0}


def _x_days(c: Ctx) -> dict | None:
    mv = c.mv("sofr_at_or_above_range_top_days_60")
    return {"n": c.cat.num(float(mv.value))}


def _x_m2(c: Ctx) -> dict | None:
    return {"record": bool(c.mv("m2_record_high").value)}


def _x_rmp(c: Ctx) -> dict | None:
    d = c.detail("rmp_annual_growth_projection")
    return {"monthly": c.usd(d.get("monthly_bill_purchases_usd")) or "",
            "mbs": c.usd(d.get("mbs_runoff_monthly_usd")) or "",
            "bills": c.usd(d.get("bill_holdings_growth_annual_usd")) if d.get("reinvest_mbs") else ""}


def _x_neg(c: Ctx) -> dict | None:
    mv = c.mv("payrolls_negative_months_of_7")
    return {"n": c.cat.num(float(mv.value))}


def _x_sahm(c: Ctx) -> dict | None:
    return {"trigger": float(c.mv("sahm_rule").value) >= 0.5}


def _x_sth(c: Ctx) -> dict | None:
    return {"below": float(c.mv("btc_price").value) < float(c.mv("sth_cost_basis").value)}


def hodl_source(ctx: Ctx, hw: Mapping[str, Any] | None) -> str:
    """The own-node source of the briefing's HODL waves: "own node, tip 00000000…1a2b3c4d, height
    927,000" (the tip abbreviated to its first and last 8 hex digits; the JSON has it in full)."""
    hw = hw or {}
    tip = hw.get("tip_hash") or ""
    short = f"{tip[:8]}…{tip[-8:]}" if len(tip) > 20 else tip
    h = hw.get("height")
    return ctx.cat.t("label.hodl_source", tip=short, height=ctx.cat.num(float(h)) if h is not None else "")


def _x_hodl(c: Ctx) -> dict | None:
    """The 1y+ and < 1m shares, each cited with the own-node tip of the published HODL waves
    (the day's tip applies to a share of the same day; another day keeps the registry source)."""
    hw = getattr(c.b, "hodl_waves", None)
    if not hw:
        return None
    src = hodl_source(c, hw)
    long_mv, hot_mv = c.mv("supply_1y_plus_share"), c.mv("supply_under_1m_share")
    long_cite = c.cite(long_mv, src if long_mv.date == hw.get("date") else None)
    hot_cite = c.cite(hot_mv, src if hot_mv.date == hw.get("date") else None)
    return {"long": c.fmt("supply_1y_plus_share", long_mv.value), "hot": c.fmt("supply_under_1m_share", hot_mv.value),
            "long_cite": "" if long_cite == hot_cite else long_cite, "hot_cite": hot_cite}


def hodl_reason(briefing) -> str:
    """Why a briefing has no HODL waves (English, as the library says it; translated on display)."""
    from ..indicators.onchain import NEEDS_NODE

    return getattr(briefing, "hodl_waves_reason", None) or NEEDS_NODE


#: registry metrics summed from the HODL-wave bands (one "not available" line covers them)
HODL_METRICS = ("supply_1y_plus_share", "supply_under_1m_share")


def _hodl_unavailable(ctx: Ctx) -> tuple[dict | None, list[str]]:
    """Without published HODL waves: one "HODL waves: not available — reason" line, standing also
    for the band-sum metrics that are unavailable for the same lack of data."""
    if getattr(ctx.b, "hodl_waves", None):
        return None, []
    reason = getattr(ctx.b, "hodl_waves_reason", None)
    covered = [m for m in HODL_METRICS if m in ctx.b.metrics and not ctx.available(m)]
    if not reason:
        mv = ctx.mv(covered[0]) if covered else None
        reason = (mv.reason if mv is not None else None) or hodl_reason(ctx.b)
    text = ctx.cat.t("s.unavailable", name=ctx.cat.t("label.hodl_waves"), reason=ctx.cat.reason(reason))
    return {"text": text, "metrics": covered, "kind": "unavailable"}, covered


def _x_drop(c: Ctx) -> dict | None:
    return {}


def _x_etf(c: Ctx) -> dict | None:
    """A net flow is written as an outflow or an inflow of a positive amount (淨流出1.6億美元,
    never 淨流入 −1.6億美元)."""
    v = float(c.mv("etf_netflow_5d").value)
    return {"outflow": v < 0, "flow": c.fmt("etf_netflow_5d", abs(v), signed=False)}


def _x_fear(c: Ctx) -> dict | None:
    return {"n": c.cat.num(float(c.mv("fear_greed").value))}


SENTENCES: dict[str, tuple[S, ...]] = {
    "liquidity": (
        S("balance_sheet", ("fed_total_assets", "fed_total_assets_peak", "qt_runoff_since_peak"),
          extra=_x_balance_sheet),
        S("qt_policy", ("qt_policy",), extra=_x_qt_policy),
        S("qt_status", ("qt_status",), extra=_x_qt),
        S("reserves", ("reserves", "reserves_to_gdp")),
        S("rrp_tga", ("on_rrp", "tga", "net_liquidity")),
        S("sofr_iorb", ("sofr", "iorb", "sofr_iorb_spread_bp"), extra=_x_spread),
        S("range_top", ("sofr_at_or_above_range_top_days_60", "policy_rate_lower", "policy_rate_upper"),
          extra=_x_days),
        S("m2", ("m2", "m2_yoy", "m2_record_high"), extra=_x_m2),
        S("rmp", ("rmp_annual_growth_projection",), extra=_x_rmp),
        S("rmp_actual", ("treasury_holdings_growth_annualized",)),
    ),
    "macro": (
        S("payrolls", ("payrolls_change", "payrolls_negative_months_of_7"), extra=_x_neg),
        S("unemployment", ("unemployment_rate", "sahm_rule"), extra=_x_sahm),
        S("jolts", ("jolts_openings", "quits_rate"), opt=("jolts_openings_trend",)),
        S("inflation", ("core_pce_yoy", "cpi_yoy")),
    ),
    "onchain": (
        S("mvrv", ("mvrv", "realized_price")),
        S("realized_cap", ("realized_cap",), opt=("realized_cap_growth_30d",)),
        S("sth", ("sth_cost_basis", "btc_price"), extra=_x_sth),
        S("hodl_waves", HODL_METRICS, extra=_x_hodl),
    ),
    "mining": (
        S("hashrate", ("hashrate", "difficulty")),
        S("difficulty_adj", ("difficulty_change_last_adjustment", "difficulty_largest_drop_365d"), extra=_x_drop),
        S("hashprice", ("hashprice", "production_cost")),
    ),
    "flows": (
        S("funding", ("funding_rate",), opt=("open_interest",)),
        S("etf", ("etf_netflow_5d",), opt=("etf_cost_basis",), extra=_x_etf),
        S("stablecoins", ("stablecoin_supply", "stablecoin_supply_change_30d")),
        S("fear_greed", ("fear_greed",), extra=_x_fear),
    ),
    "crossasset": (
        S("gold", ("gold_price", "gold_btc_corr_30d")),
    ),
    "levels": (
        S("price", ("btc_price", "btc_ath", "btc_drawdown_from_ath")),
        S("mas", ("btc_ma_50d", "btc_ma_200d", "btc_ma_200w")),
    ),
    "fomc": (),
}

#: report sections in order: id -> metric categories listed there
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("liquidity", ("liquidity",)),
    ("macro", ("macro",)),
    ("onchain", ("onchain",)),
    ("mining", ("mining",)),
    ("flows", ("derivatives", "flows", "sentiment")),
    ("crossasset", ("crossasset", "other")),
    ("levels", ("market",)),
    ("fomc", ()),
)

#: regime id -> section it is discussed in (any other regime appears in the summary only)
REGIME_SECTION = {
    "liquidity": "liquidity", "funding_stress": "liquidity", "macro_trap": "macro",
    "onchain": "onchain", "onchain_capitulation": "onchain", "miner_stress": "mining",
    "sentiment": "flows", "crossasset_rotation": "crossasset",
}

#: charts drawn in each section (ids of :data:`btcmacro.report.charts.CHARTS`)
SECTION_CHARTS = {
    "liquidity": ("fed_balance_sheet", "reserves_gdp", "sofr_range_top", "rmp_bills", "reserves_spread",
                  "net_liquidity_btc", "m2"),
    "macro": ("payrolls",),
    "onchain": ("mvrv_realized", "supply_in_loss", "sth_sopr", "realized_pl", "hodl_waves"),
    "mining": ("hashrate_difficulty",),
    "flows": ("etf_flows", "funding_oi"),
    "crossasset": ("gold_btc",),
    "levels": ("btc_levels",),
}


def _chart_shown(briefing, chart_id: str) -> bool:
    """Whether a section lists the chart: the HODL-wave chart only with published own-node
    HODL waves (without them the section's one "not available" line already says why)."""
    return chart_id != "hodl_waves" or bool(getattr(briefing, "hodl_waves", None))


def _section_of_category(cat: str) -> str:
    for sid, cats in SECTIONS:
        if cat in cats:
            return sid
    return "crossasset"


def _render_sentence(ctx: Ctx, s: S) -> tuple[str | None, list[str]]:
    """(text or None, metric ids quoted)."""
    if any(m not in ctx.b.metrics for m in s.needs):
        return None, []
    if not all(ctx.available(m) for m in s.needs):
        return None, []
    vals: dict[str, Any] = {m: ctx.fig(m) for m in s.needs}
    vals.update({m: ctx.fig(m) for m in s.opt})
    if s.extra is not None:
        extra = s.extra(ctx)
        if extra is None:
            return None, []
        vals.update(extra)
    vals["as_of"] = ctx.cat.date(ctx.as_of_iso)
    text = ctx.cat.t(f"s.{s.key}", **vals)
    quoted = list(s.needs) + [m for m in s.opt if vals.get(m) is not None]
    return text, quoted


# ----------------------------------------------------------------------------------------------
# regimes, levels, FOMC
# ----------------------------------------------------------------------------------------------


def _tr(d, lang: str, fallback: str = "") -> str:
    """A ``{"en": ..., "zh-TW": ...}`` dict (or a plain string) in ``lang``."""
    if isinstance(d, dict):
        return d.get(lang) or d.get("en") or fallback
    return d if isinstance(d, str) and d else fallback


def _is_band(e: Mapping[str, Any]) -> bool:
    thr = e.get("threshold")
    return (e.get("comparison") in ("<", "<=") and not e.get("derived") and isinstance(thr, (int, float))
            and not isinstance(thr, bool))


def display_evidence(evidence: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The evidence items worth a line each, in order (the JSON keeps them all).

    * An equality test on a state or flag (``qt_status == "running"``, ``== "expanding"``) states
      the value once: only the first test of a metric is kept.
    * Bands — three or more ``value <= upper`` tests of one metric with rising bounds, such as the
      Fear & Greed classification — keep only the deciding band: the first bound that holds and
      the one just below it (which does not); if none holds, the highest bound.
    * An input that is unavailable is reported once, however many conditions use it.
    """
    by_metric: dict[str, list[int]] = {}
    for i, e in enumerate(evidence):
        if e.get("result") is not None and _is_band(e):
            by_metric.setdefault(e.get("metric") or "", []).append(i)
    drop: set[int] = set()
    for idx in by_metric.values():
        thr = [float(evidence[i]["threshold"]) for i in idx]
        if len(idx) < 3 or thr != sorted(thr):
            continue
        first_true = next((k for k, i in enumerate(idx) if evidence[i].get("result")), None)
        keep = {idx[-1]} if first_true is None else {idx[first_true]} | ({idx[first_true - 1]} if first_true else set())
        drop.update(i for i in idx if i not in keep)
    out, eq_seen, missing_seen = [], set(), set()
    for i, e in enumerate(evidence):
        mid = e.get("metric") or ""
        if i in drop:
            continue
        if e.get("result") is None:
            if mid in missing_seen:
                continue
            missing_seen.add(mid)
        elif e.get("comparison") == "==":
            if mid in eq_seen:
                continue
            eq_seen.add(mid)
        out.append(e)
    return out


def _evidence_item(ctx: Ctx, e: Mapping[str, Any]) -> str:
    c = ctx.cat
    mid = e.get("metric") or ""
    unit = e.get("unit") or (ctx.mv(mid).unit if ctx.mv(mid) is not None else "")
    derived = e.get("derived")
    if derived and unit not in ("fraction",) and "pct" not in derived and "percent" not in derived:
        signed = True
    else:
        signed = signed_metric(mid)
    thr = e.get("threshold")
    thr_unit = unit
    if isinstance(thr, (int, float)) and not isinstance(thr, bool):
        thr, thr_unit = display_value(mid, thr, unit)
    if isinstance(thr, str):
        thr_txt = c.state(thr)
    elif isinstance(thr, (list, tuple)):
        thr_txt = ", ".join(c.state(str(t)) if isinstance(t, str) else c.value(t, unit) for t in thr)
    elif thr is None:
        thr_txt = ""
    else:
        thr_txt = c.value(thr, thr_unit, signed=signed)
    if e.get("result") is None:
        return c.t("regime.evidence_missing", name=metric_name(mid, ctx.lang),
                   derived=c.derived(derived) if derived else "",
                   reason=c.reason(e.get("reason")))
    val = e.get("value")
    if e.get("comparison") == "==" and (isinstance(val, bool) or unit == "bool"):
        return c.t("regime.evidence_flag", name=metric_name(mid, ctx.lang), value=bool(val),
                   date=c.date(e.get("date")), source=c.source(e.get("source"), note=False))
    if e.get("comparison") in ("==", "in") and isinstance(val, str):
        # a state test reads as a statement of the state ("QT status is running"); whether it
        # matched the rule's states is what decided the regime, shown by the regime itself
        return c.t("regime.evidence_eq", name=metric_name(mid, ctx.lang), value=c.state(val),
                   date=c.date(e.get("date")), source=c.source(e.get("source"), note=False))
    val_txt = c.state(val) if isinstance(val, str) else c.value(*display_value(mid, val, unit), signed=signed)
    return c.t("regime.evidence", name=metric_name(mid, ctx.lang),
               derived=c.derived(derived) if derived else "", value=val_txt,
               op=c.t("op." + _OP_KEYS.get(e.get("comparison"), "eq")) if e.get("comparison") else "",
               threshold=thr_txt, result=bool(e.get("result")),
               date=c.date(e.get("date")), source=c.source(e.get("source"), note=False))


_OP_KEYS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne", "in": "in", "not in": "not_in"}


def _regime(ctx: Ctx, rid: str, r: Mapping[str, Any]) -> dict:
    c = ctx.cat
    name = c.regime(rid) if c.has("regime." + rid) else _tr(r.get("name"), ctx.lang, c.regime(rid))
    state = r.get("state", "")
    label = c.state(state) if c.has("state." + _slug(state)) else _tr(r.get("label"), ctx.lang, c.state(state))
    shown = display_evidence([e for e in r.get("evidence") or [] if isinstance(e, Mapping)])
    evidence = [_evidence_item(ctx, e) for e in shown]
    in_evidence = {e.get("metric") for e in shown}
    missing = [c.t("s.unavailable", name=metric_name(m.get("metric", ""), ctx.lang), reason=c.reason(m.get("reason")))
               for m in r.get("missing") or [] if isinstance(m, Mapping) and m.get("metric") not in in_evidence]
    context = [t for t in (_context_item(ctx, x) for x in r.get("context") or []) if t]
    return {"id": rid, "name": name, "state": state, "label": label,
            "line": c.t("regime.line", name=name, label=label),
            "evidence": evidence, "missing": missing, "context": context}


def _context_item(ctx: Ctx, x) -> str | None:
    c = ctx.cat
    if not isinstance(x, Mapping):
        return None
    if x.get("fomc_decision"):
        return c.t("s.fomc_balance_sheet", date=c.date(x["fomc_decision"]),
                   text=c.fomc_note(x.get("text"), x.get("balance_sheet")), source=x.get("source") or "")
    mid = x.get("metric")
    if mid and ctx.available(mid):
        f = ctx.fig(mid)
        return c.t("s.generic", name=f.name, fig=f)
    return None


def _slug(s: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", str(s).lower()).strip("_")


def _level_row(ctx: Ctx, lv: Mapping[str, Any]) -> dict:
    c = ctx.cat
    low, high = lv.get("low"), lv.get("high")
    if _is_missing(low) or _is_missing(high):
        zone = c.t("label.na")
    elif abs(float(high) - float(low)) < 0.5:
        zone = c.usd(float(low))
    else:
        zone = c.t("level.zone", low=c.usd(float(low)), high=c.usd(float(high)))
    method = lv.get("method") or ""
    mid = lv.get("metric") or ""
    members = lv.get("members") or []
    if method.startswith("swing_"):
        basis = c.t(f"level.method.{method}" if c.has(f"level.method.{method}") else "level.method.other",
                    members=c.t("fmt.list_sep").join(
                        c.t("level.swing_member", date=c.date(m.get("date")), price=c.usd(float(m.get("price"))),
                            close=c.usd(float(m["close"])) if not _is_missing(m.get("close")) else "")
                        for m in members if isinstance(m, Mapping)),
                    n=len(members), intraday=bool(lv.get("intraday")))
    elif method == "round_number":
        basis = c.t("level.method.round_number")
    elif method == "price_cluster":
        share = lv.get("share")
        basis = c.t("level.method.price_cluster",
                    share=c.percent(100 * float(share)) if not _is_missing(share) else "")
    elif method and method != "metric":
        basis = c.t("level.method.other", n=len(members), members=c.t("fmt.list_sep").join(
            c.t("level.member", date=c.date(m.get("date")), price=c.usd(float(m.get("price"))))
            for m in members if isinstance(m, Mapping)))
    else:
        basis = c.t("level.method.metric", name=metric_name(mid, ctx.lang))
    dist = lv.get("distance_pct")
    return {
        "name": _tr(lv.get("names"), ctx.lang, lv.get("name") or ""),
        "kind": lv.get("kind") or "",
        "kind_label": c.get("level.kind." + (lv.get("kind") or ""), lv.get("kind") or ""),
        "zone": zone, "low": low, "high": high,
        "distance": c.percent(float(dist), signed=True) if not _is_missing(dist) else "",
        "basis": basis,
        "cite": c.t("fmt.cite", date=c.date(lv.get("date")), source=c.source(lv.get("source"), note=False), extra=[]),
    }


def _fomc(ctx: Ctx) -> list[str]:
    c = ctx.cat
    f = ctx.b.fomc
    if not f:
        from ..rules.fomc import calendar_start

        first = calendar_start()
        if ctx.as_of_iso < first:
            return [c.t("s.fomc_before_calendar", as_of=c.date(ctx.as_of_iso), first=c.date(first))]
        return [c.t("s.fomc_none", as_of=c.date(ctx.as_of_iso))]
    out = [c.t("s.fomc_next", start=c.date(f.get("start")), end=c.date(f.get("end")),
               days=f.get("days_ahead"), scheduled=bool(f.get("scheduled", True)),
               source=c.get("source_name.fomc_calendar", f.get("source") or ""))]
    if f.get("balance_sheet"):
        out.append(c.t("s.fomc_balance_sheet", date=c.date(f.get("end")),
                       text=c.fomc_note(f.get("balance_sheet_note"), f.get("balance_sheet")),
                       source=f.get("source") or ""))
    return out


def _cond_level(ctx: Ctx, t: Mapping[str, Any]) -> str:
    """A trigger or invalidation: "daily close above <level> (<price>)"."""
    c = ctx.cat
    row = _level_row(ctx, t)
    cond = t.get("condition") or ""
    return c.t("scenario.trigger", condition=c.get("scenario.condition." + _slug(cond), cond),
               level=row["name"], zone=row["zone"])


def _range(c: Catalog, r) -> str:
    if isinstance(r, (list, tuple)) and len(r) == 2 and not any(_is_missing(x) for x in r):
        return c.t("level.zone", low=c.value(r[0], "percent"), high=c.value(r[1], "percent"))
    return c.t("label.na")


def _scenario(ctx: Ctx, sc: Mapping[str, Any]) -> dict:
    """A scenario of the FOMC map (see :mod:`btcmacro.rules.scenarios`), translated."""
    c = ctx.cat
    name = _tr(sc.get("names"), ctx.lang, sc.get("name") or "")
    lines = []
    dec = sc.get("decision") or {}
    rate = dec.get("rate") or {}
    if rate:
        ch = rate.get("change_bp")
        if rate.get("feasible") is False:
            rtxt = ""
        elif ch is None or _is_missing(ch) or float(ch) == 0:
            rtxt = c.t("scenario.rate_unchanged", before=_range(c, rate.get("current")))
        else:
            rtxt = c.t("scenario.rate_change", before=_range(c, rate.get("current")),
                       after=_range(c, rate.get("after")), change=c.value(float(ch), "bp"))
        bs = dec.get("balance_sheet")
        lines.append(c.t("scenario.decision", rate=rtxt,
                         balance_sheet=c.get("scenario.bs." + _slug(bs), str(bs)) if bs else ""))
    if sc.get("applicable") is False:
        cur = rate.get("current") or [None, None]
        lines.append(c.t("scenario.zero_lower_bound", range=_range(c, cur)))
        return {"id": sc.get("id") or "", "name": name,
                "fomc_date": c.date(sc.get("fomc_date")) if sc.get("fomc_date") else "",
                "lines": lines[-1:], "paths": []}
    lr = sc.get("liquidity_regime") or {}
    if lr.get("now"):
        after = c.state(lr["after"]) if c.has("state." + _slug(lr.get("after") or "")) else _tr(lr.get("label"), ctx.lang, str(lr.get("after")))
        lines.append(c.t("scenario.liquidity", now=c.state(lr["now"]), after=after))
    p = sc.get("probability")
    lines.append(c.t("scenario.probability_none") if p is None or _is_missing(p)
                 else c.t("scenario.probability", p=c.percent(100 * float(p))))
    paths = []
    for pth in sc.get("paths") or []:
        if not isinstance(pth, Mapping):
            continue
        direction = pth.get("direction") or ""
        sup = [c.t("regime.line", name=c.regime(r.get("regime", "")),
                   label=c.state(r.get("state", "")) if c.has("state." + _slug(r.get("state", ""))) else _tr(r.get("label"), ctx.lang, ""))
               for r in pth.get("supporting_regimes") or [] if isinstance(r, Mapping)]
        paths.append({
            "direction": direction,
            "label": c.get("scenario.direction." + _slug(direction), str(direction)),
            "trigger": _cond_level(ctx, pth["trigger"]) if isinstance(pth.get("trigger"), Mapping) else "",
            "targets": [_level_row(ctx, t) for t in pth.get("targets") or [] if isinstance(t, Mapping)],
            "invalidation": _cond_level(ctx, pth["invalidation"]) if isinstance(pth.get("invalidation"), Mapping) else "",
            "supporting": c.t("fmt.list_sep").join(sup),
        })
    return {"id": sc.get("id") or "", "name": name,
            "fomc_date": c.date(sc.get("fomc_date")) if sc.get("fomc_date") else "",
            "lines": lines, "paths": paths}


# ----------------------------------------------------------------------------------------------
# the document
# ----------------------------------------------------------------------------------------------


def build(briefing, lang: str) -> dict:
    """Structured, translated content of the briefing.

    Returns
    -------
    dict
        ``{"lang", "title", "as_of", "meta": [...], "labels": {...},
        "summary": {"title", "lines", "regimes"}, "sections": [{"id", "title", "regimes",
        "sentences", "charts", "levels", "scenarios"}...], "appendix": {"title", "columns",
        "groups": [{"title", "rows"}]}, "notes": {"title", "items"}}``. Every text is final
        (translated, numbers formatted); ``sentences`` items are ``{"text", "metrics", "kind"}``
        with kind ``sentence`` | ``generic`` | ``unavailable``.
    """
    ctx = Ctx(briefing, lang)
    c = ctx.cat
    from ..registry import REGISTRY

    ordered = [m for m in REGISTRY if m in briefing.metrics] + [m for m in briefing.metrics if m not in REGISTRY]

    # pass 1: specific sentences; remember what they quote
    quoted: set[str] = set()
    specific: dict[str, list[dict]] = {}
    for sid, _ in SECTIONS:
        items = []
        for s in SENTENCES.get(sid, ()):
            text, q = _render_sentence(ctx, s)
            if text:
                items.append({"text": text, "metrics": q, "kind": "sentence"})
                quoted.update(q)
        if sid == "onchain":
            line, covered = _hodl_unavailable(ctx)
            if line is not None:
                items.append(line)
                quoted.update(covered)
        specific[sid] = items

    # pass 2: every other metric of the section's categories, registry order
    regimes = {rid: _regime(ctx, rid, r) for rid, r in (briefing.regimes or {}).items() if isinstance(r, Mapping)}
    sections = []
    for n, (sid, cats) in enumerate(SECTIONS, start=1):
        items = list(specific[sid])
        for mid in ordered:
            if mid in quoted or _section_of_category(metric_category(mid)) != sid:
                continue
            if ctx.available(mid):
                f = ctx.fig(mid)
                items.append({"text": c.t("s.generic", name=f.name, fig=f), "metrics": [mid], "kind": "generic"})
            else:
                items.append({"text": ctx.unavailable_line(mid), "metrics": [mid], "kind": "unavailable"})
        if sid == "fomc":
            items = [{"text": t, "metrics": [], "kind": "sentence"} for t in _fomc(ctx)] + items
        sec = {"id": sid, "number": n, "title": c.t(f"section.{sid}", n=n),
               "regimes": [r for rid, r in regimes.items() if REGIME_SECTION.get(rid) == sid],
               "sentences": items, "charts": [cid for cid in SECTION_CHARTS.get(sid, ()) if _chart_shown(briefing, cid)],
               "levels": [], "scenarios": []}
        if sid == "levels":
            sec["levels"] = [_level_row(ctx, lv) for lv in briefing.levels or [] if isinstance(lv, Mapping)]
            if not sec["levels"]:
                sec["sentences"].append({"text": c.t("s.levels_none", as_of=c.date(ctx.as_of_iso)),
                                         "metrics": [], "kind": "unavailable"})
        if sid == "fomc":
            sec["scenarios"] = [_scenario(ctx, sc) for sc in briefing.scenarios or [] if isinstance(sc, Mapping)]
            if not sec["scenarios"]:
                sec["sentences"].append({"text": c.t("s.scenarios_none"), "metrics": [], "kind": "unavailable"})
        sections.append(sec)

    # summary: regimes one line each, then the headline figures
    lines = []
    for s in SENTENCES_SUMMARY:
        text, _ = _render_sentence(ctx, s)
        if text:
            lines.append(text)
    if briefing.fomc:
        lines.append(c.t("summary.fomc", end=c.date(briefing.fomc.get("end")), days=briefing.fomc.get("days_ahead")))
    summary = {"title": c.t("section.summary"), "regimes": list(regimes.values()), "lines": lines,
               "no_regimes": "" if regimes else c.t("summary.no_regimes")}

    # appendix: every metric, grouped by section
    groups = []
    for sid, _ in SECTIONS:
        rows = []
        for mid in ordered:
            if _section_of_category(metric_category(mid)) != sid:
                continue
            rows.append(_appendix_row(ctx, mid))
        if rows:
            groups.append({"title": c.t(f"section_short.{sid}"), "rows": rows})
    appendix = {"title": c.t("section.appendix"),
                "columns": [c.t(f"label.col_{k}") for k in ("metric", "value", "date", "source", "status", "note")],
                "groups": groups}

    notes = {"title": c.t("section.notes"), "entries": [c.note(t) for t in briefing.notes or []]}
    # every unavailable figure once, with its reason (the analyst appendix lists them together)
    unavailable = [{"text": it["text"], "metrics": it["metrics"]} for sec in sections for it in sec["sentences"]
                   if it["kind"] == "unavailable" and it["metrics"]]
    meta = [c.t("label.as_of", date=c.date(ctx.as_of_iso)),
            c.t("label.generated", when=_when(c, briefing.generated_at)),
            _data_version(c, briefing.data_version)]
    return {"lang": lang, "html_lang": c.t("meta.html_lang"), "title": c.t("meta.title", as_of=c.date(ctx.as_of_iso)),
            "as_of": ctx.as_of_iso, "meta": meta, "summary": summary, "sections": sections,
            "appendix": appendix, "notes": notes, "unavailable": unavailable,
            "labels": {k.split(".", 1)[1]: c.t(k) for k, v in c.d.items() if k.startswith("ui.") and "{{" not in v}}


def _data_version(c: Catalog, version) -> str:
    """The data version for the header: an embedded snapshot's ISO date is written as the
    language writes dates (the full version string stays in the JSON)."""
    import re

    m = re.fullmatch(r"snapshot-(\d{4}-\d{2}-\d{2})-([0-9a-f]+)", str(version or ""))
    if m:
        return c.t("label.data_version_snapshot", date=c.date(m.group(1)), digest=m.group(2))
    return c.t("label.data_version", version=version)


def _when(c: Catalog, stamp) -> str:
    """A generation time stamp as the language writes it (date plus ``HH:MM UTC``), never ISO."""
    import datetime as _dt

    try:
        t = _dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if t.tzinfo is not None:
        t = t.astimezone(_dt.UTC)
    return f"{c.date(t.date())} {t:%H:%M} UTC"


SENTENCES_SUMMARY = (
    S("summary_price", ("btc_price",), opt=("btc_drawdown_from_ath",)),
    S("summary_liquidity", ("fed_total_assets", "qt_status", "net_liquidity")),
)


def _appendix_row(ctx: Ctx, mid: str) -> dict:
    c = ctx.cat
    mv = ctx.mv(mid)
    note = []
    if mv.status != "ok" and mv.reason:
        note.append(c.reason(mv.reason))
    for alt in mv.alternatives or []:
        note.append(ctx.alternative(mv, alt))
    avail = ctx.available(mid)
    return {"id": mid, "name": metric_name(mid, ctx.lang),
            "value": ctx.fmt(mid, mv.value) if avail else "—",
            "date": c.date(mv.date) if mv.date else "—",
            "source": c.source(mv.source) if mv.source else "—",
            "status": mv.status, "status_label": c.get(f"status.{mv.status}", mv.status),
            "note": c.t("fmt.note_sep").join(note)}
