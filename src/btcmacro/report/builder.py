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
from dataclasses import dataclass
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


#: providers whose series ids are public codes a reader can look up (FRED ``WALCL``, Coin Metrics
#: ``CapMVRVCur``); other providers' ids are btcmacro's own keys (``btc_close``, ``mstr_inferred``)
#: and client text names only the provider
PUBLIC_CODES = frozenset({"FRED", "Coin Metrics"})


def client_source(text: str | None, detailed: bool = False) -> str:
    """A source label as a client reads it: ``"CoinMarketCap:btc_close, Coin Metrics:PriceUSD
    (provider series)"`` -> ``"CoinMarketCap, Coin Metrics:PriceUSD"`` (internal keys and the
    computation note left out; the appendix keeps the full label)."""
    import re

    from .i18n import compact_source

    text = re.sub(r" \([^():]+\)$", "", (text or "").strip())
    out: list[str] = []
    for part in text.split(", "):
        prov, sep, sid = part.rpartition(":")
        shown = part if (not sep or prov in PUBLIC_CODES) else prov
        if detailed and sep and prov not in PUBLIC_CODES:
            shown = f"{prov} {_series_name(prov, sid)}"
        if shown and shown not in out:
            out.append(shown)
    return compact_source(", ".join(out))


#: public tickers of market series, the same in every language (used to tell two sources of one
#: provider apart in client text)
TICKERS = {"yahoo/btc_close": "BTC-USD", "yahoo/gold_close": "GC=F", "yahoo/gld_close": "GLD",
           "cmc/btc_close": "BTC", "yahoo/dxy_close": "DX-Y.NYB"}


def _series_name(provider: str, sid: str) -> str:
    """A ticker (``"GLD"``) or the catalogue's name of a provider's series, else its id."""
    from .. import catalog

    for d in catalog.SERIES.values():
        if d.source == provider and d.id.split("/", 1)[-1] == sid and d.id in TICKERS:
            return TICKERS[d.id]
    for d in catalog.SERIES.values():
        if d.source == provider and d.id.split("/", 1)[-1] == sid:
            return d.name
    return sid


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
        shown = [alt for alt in mv.alternatives or [] if not _same_inputs(mv.source, alt.get("source"))]
        labels = [client_source(mv.source)] + [client_source(a.get("source")) for a in shown]
        detailed = len(set(labels)) < len(labels)  # two sources that read the same: name the series
        alts = [self.alternative(mv, alt, detailed) for alt in shown]
        if alts:
            extra.append(c.t("fmt.alternatives", items=c.t("fmt.alt_sep").join(alts)))
        return c.t("fmt.cite", date=c.date(mv.date), source=source or client_source(mv.source), extra=extra)

    def alternative(self, mv, alt: Mapping[str, Any], detailed: bool = False) -> str:
        """Another provider's figure, compared on the same date as the primary one (the registry
        aligns them on their latest common date), or said to have no common date."""
        c = self.cat
        val = c.value(*display_value(mv.id, alt.get("value"), mv.unit), signed=signed_metric(mv.id))
        src = client_source(alt.get("source"), detailed)
        if alt.get("no_common_date"):
            return c.t("fmt.alternative_no_common", source=src, value=val, date=c.date(alt.get("date")),
                       days=alt.get("tolerance_days") or "")
        diff = alt.get("diff_pct")
        diff_txt = c.percent(float(diff), signed=True) if diff is not None else ""
        if alt.get("date") != mv.date and alt.get("compared_with") is not None:
            primary = c.value(*display_value(mv.id, alt.get("compared_with"), mv.unit), signed=signed_metric(mv.id))
            return c.t("fmt.alternative_on", source=src, value=val, date=c.date(alt.get("date")),
                       primary=primary, diff=diff_txt)
        return c.t("fmt.alternative", source=src, value=val,
                   date=c.date(alt.get("date")) if alt.get("date") != mv.date else "", diff=diff_txt)

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


def qt_facts(briefing) -> dict | None:
    """QT as policy plus data: the liquidity regime's ``qt`` summary, or the same facts read from
    the ``qt_policy`` and ``qt_status`` metrics when the regime is disabled."""
    q = ((getattr(briefing, "regimes", None) or {}).get("liquidity") or {}).get("qt")
    if q:
        return dict(q)
    pol, dat = briefing.metrics.get("qt_policy"), briefing.metrics.get("qt_status")
    out: dict[str, Any] = {}
    if pol is not None and pol.status != "unavailable" and pol.value is not None:
        out.update(policy=str(pol.value), policy_effective=pol.date)
    if dat is not None and dat.status != "unavailable" and dat.value is not None:
        d = dat.detail or {}
        out.update(data_state=str(dat.value), data_date=dat.date, data_source=dat.source,
                   holdings_change_usd=d.get("change_total_usd"), treasuries_change_usd=d.get("change_treasuries_usd"),
                   window_days=d.get("window_days"))
    if not out:
        return None
    out["data_lags_policy"] = out.get("policy") in ("size_held", "purchases", "tapering") and \
        out.get("data_state") == "running"
    return out


def _x_qt_facts(c: Ctx) -> dict | None:
    """Template values for the one QT statement (policy in force, then what the holdings show)."""
    import datetime as _dt

    q = qt_facts(c.b)
    if not q:
        return None
    pol = q.get("policy") or ""
    ch = q.get("holdings_change_usd")
    win = q.get("window_days")
    since = c.cat.date(q.get("policy_effective")) if q.get("policy_effective") else ""
    vals = {"policy": pol, "policy_text": c.cat.get(f"qt.{pol}", c.cat.state(pol)) if pol else "",
            "policy_short": (c.cat.t(f"qt_short.{pol}", since=since) if c.cat.has(f"qt_short.{pol}")
                             else c.cat.state(pol)) if pol else "",
            "since": since, "tr_abs": "", "tr_fell": False,
            "decided": c.cat.date(q.get("decided")) if q.get("decided") else "",
            "scheduled": c.cat.state(q["scheduled"]) if q.get("scheduled") else "",
            "scheduled_from": c.cat.date(q.get("scheduled_from")) if q.get("scheduled") else "",
            "change": "", "fell": False, "weeks": "", "data_date": "", "treasuries": "", "source": "",
            "lag": bool(q.get("data_lags_policy")), "early": False}
    if not _is_missing(ch) and win:
        vals.update(change=c.usd(abs(float(ch))), fell=float(ch) < 0,
                    weeks=c.cat.num(float(win) / 7) if float(win) % 7 == 0 else "",
                    days=c.cat.num(float(win)), data_date=c.cat.date(q.get("data_date")),
                    treasuries=c.usd(q.get("treasuries_change_usd"), True) or "",
                    tr_abs=c.usd(abs(float(q["treasuries_change_usd"]))) if not _is_missing(q.get("treasuries_change_usd")) else "",
                    tr_fell=not _is_missing(q.get("treasuries_change_usd")) and float(q["treasuries_change_usd"]) < 0,
                    source=client_source(q.get("data_source")))
        if vals["lag"] and q.get("policy_effective") and q.get("data_date"):
            after = (_dt.date.fromisoformat(q["data_date"]) - _dt.date.fromisoformat(q["policy_effective"])).days
            vals["early"] = after < float(win) / 2
    else:
        vals["days"] = ""
    return vals


def _x_qt_section(c: Ctx) -> dict | None:
    """The QT statement in the running text only when the liquidity regime does not already make
    it (QT is stated once; :func:`build` counts its metrics as quoted either way)."""
    if ((c.b.regimes or {}).get("liquidity") or {}).get("qt"):
        return None
    return _x_qt_facts(c)


def _x_spread(c: Ctx) -> dict | None:
    return {"above": float(c.mv("sofr_iorb_spread_bp").value) > 0}


def _x_days(c: Ctx) -> dict | None:
    mv = c.mv("sofr_at_or_above_range_top_days_60")
    return {"n": c.cat.num(float(mv.value))}


def _x_m2(c: Ctx) -> dict | None:
    return {"record": bool(c.mv("m2_record_high").value)}


def _x_rmp(c: Ctx) -> dict | None:
    """The reserve-management projection as what it is: an assumption (with its public source when
    the Fed had announced the same pace by the as-of date), net purchases as the only growth, and
    the MBS-to-bills reinvestment as a change of composition."""
    d = c.detail("rmp_annual_growth_projection")
    mv = c.mv("rmp_annual_growth_projection")
    swap = d.get("mbs_to_bills_swap_annual_usd")
    has_swap = bool(d.get("reinvest_mbs")) and not _is_missing(swap) and float(swap or 0) > 0
    return {"monthly": c.usd(d.get("monthly_bill_purchases_usd")) or "",
            "growth": c.usd(d.get("net_growth_annual_usd", mv.value)) or "",
            "mbs": c.usd(d.get("mbs_runoff_monthly_usd")) if has_swap else "",
            "swap": c.usd(swap) if has_swap else "",
            "mbs_source": client_source(mv.source),
            "announced": c.cat.date(d.get("assumption_source_date")) if d.get("assumption_source_date") else ""}


def _x_neg(c: Ctx) -> dict | None:
    mv = c.mv("payrolls_negative_months_of_7")
    return {"n": c.cat.num(float(mv.value))}


def _x_sahm(c: Ctx) -> dict | None:
    """Whether the Sahm indicator is at its recession line: the macro regime's threshold (the
    rules file may move it), so the sentence and the regime never disagree."""
    ev = next((e for e in ((c.b.regimes or {}).get("macro_trap") or {}).get("evidence") or []
               if isinstance(e, Mapping) and e.get("condition") == "sahm"), None)
    thr = float(ev["threshold"]) if ev and isinstance(ev.get("threshold"), (int, float)) else 0.5
    return {"trigger": float(c.mv("sahm_rule").value) >= thr, "line": c.cat.num(thr, 2)}


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
    """The date of the adjustment behind the year's largest drop, its age at the as-of date, and
    whether it is older than the miner-stress regime's window for a current signal."""
    import datetime as _dt

    d = c.detail("difficulty_largest_drop_365d")
    when = d.get("drop_date")
    drop = float(c.mv("difficulty_largest_drop_365d").value)
    drop_abs = c.cat.percent(100 * abs(drop))
    if when is None or drop >= 0:
        return {"drop_date": "", "days": "", "old": False, "limit": "", "drop_abs": drop_abs}
    when = str(when)[:10]
    days = (_dt.date.fromisoformat(c.as_of_iso) - _dt.date.fromisoformat(when)).days
    ev = next((e for e in ((c.b.regimes or {}).get("miner_stress") or {}).get("evidence") or []
               if isinstance(e, Mapping) and e.get("event_date")), None)
    limit = ev.get("event_max_age_days") if ev else None
    return {"drop_date": c.cat.date(when), "days": c.cat.num(float(days)), "drop_abs": drop_abs,
            "old": bool(limit is not None and days > int(limit)), "limit": c.cat.num(float(limit)) if limit else ""}


def _x_cost(c: Ctx) -> dict | None:
    """The production cost's assumptions (rules parameters), named as assumptions."""
    d = c.detail("production_cost")
    eff, power, opex = d.get("fleet_efficiency_j_per_th"), d.get("power_price_usd_per_kwh"), d.get("opex_multiplier")
    if _is_missing(eff) or _is_missing(power):
        return {"eff": "", "power": "", "opex": ""}
    power_txt = f"{float(power):.4f}".rstrip("0")
    power_txt = power_txt + "0" * max(0, 2 - len(power_txt.split(".")[1]))
    return {"eff": c.cat.num(float(eff), 0 if float(eff).is_integer() else 1), "power": power_txt,
            "opex": c.cat.num(float(opex), 2) if not _is_missing(opex) and float(opex) != 1.0 else ""}


def _x_gold(c: Ctx) -> dict | None:
    """Gold and BTC over the same window: the two returns the "opposite directions" label is
    defined by, shown with it, and the daily-return correlation read for what it measures."""
    d = c.detail("gold_btc_inverse_move")
    corr = float(c.mv("gold_btc_corr_30d").value)
    if d.get("btc_return") is None or not c.available("gold_btc_inverse_move"):
        return {"window": False, "corr_pos": corr > 0}
    inverse = bool(c.mv("gold_btc_inverse_move").value)
    return {"window": True, "start": c.cat.date(str(d.get("start"))[:10]), "end": c.cat.date(c.mv("gold_btc_inverse_move").date),
            "gold_ret": c.cat.percent(100 * float(d["gold_return"]), signed=True),
            "btc_ret": c.cat.percent(100 * float(d["btc_return"]), signed=True),
            "inverse": inverse, "corr_pos": corr > 0, "mixed": inverse and corr > 0}


def _x_exchange(c: Ctx) -> dict | None:
    """Exchange balances and exchange flows in one place: the 30-day balance change, the summed
    daily net flows of each provider over the same 30 days, and the gap between them explained."""
    res, nf = c.mv("exchange_reserve_change_30d"), c.mv("exchange_netflow_30d")
    r, f = float(res.value), float(nf.value)
    others = [a for a in nf.alternatives or [] if a.get("value") is not None and not a.get("no_common_date")
              and a.get("date") == nf.date]
    fmt = lambda x: c.cat.value(x, "BTC", signed=True)  # noqa: E731
    flows = [f] + [float(a["value"]) for a in others]
    gap = max(abs(x - r) for x in flows)
    scale = max(abs(r), *(abs(x) for x in flows), 1.0)
    absv = lambda x: c.cat.value(abs(x), "BTC")  # noqa: E731
    return {"res": fmt(r), "res_abs": absv(r), "res_down": r < 0, "nf_abs": absv(f), "nf_out": f < 0,
            "outflow": r < 0, "res_src": client_source(res.source), "res_date": c.cat.date(res.date),
            "nf": fmt(f), "nf_src": client_source(nf.source), "same_date": res.date == nf.date,
            "nf_date": c.cat.date(nf.date),
            "others": c.cat.t("fmt.alt_sep").join(
                c.cat.t("s.exchange_other", value=fmt(float(a["value"])), value_abs=absv(float(a["value"])),
                        out=float(a["value"]) < 0, source=client_source(a.get("source"))) for a in others),
            "gap": c.cat.value(gap, "BTC"), "agree": gap <= 0.1 * scale,
            "same_sign": all((x < 0) == (r < 0) for x in flows)}


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
        S("qt", ("qt_status",), opt=("qt_policy",), extra=_x_qt_section),
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
        S("exchange_flows", ("exchange_reserve_change_30d", "exchange_netflow_30d"), extra=_x_exchange),
    ),
    "mining": (
        S("hashrate", ("hashrate", "difficulty")),
        S("difficulty_adj", ("difficulty_change_last_adjustment", "difficulty_largest_drop_365d"), extra=_x_drop),
        S("hashprice", ("hashprice", "production_cost"), extra=_x_cost),
    ),
    "flows": (
        S("funding", ("funding_rate",), opt=("open_interest",)),
        S("etf", ("etf_netflow_5d",), opt=("etf_cost_basis",), extra=_x_etf),
        S("stablecoins", ("stablecoin_supply", "stablecoin_supply_change_30d")),
        S("fear_greed", ("fear_greed",), extra=_x_fear),
    ),
    "crossasset": (
        S("gold", ("gold_price", "gold_btc_corr_30d"), opt=("gold_btc_inverse_move", "gold_btc_relative_30d"),
          extra=_x_gold),
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
    ("fomc", ("fomc",)),
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
    """One evidence item as prose: the figure with its date and source, where it stands against
    the line that matters ("below +$100.0B, the line for an expansion signal"), and any staleness
    or old event it rests on. The rule itself (comparison, threshold key) stays in the JSON."""
    c = ctx.cat
    mid = e.get("metric") or ""
    unit = e.get("unit") or (ctx.mv(mid).unit if ctx.mv(mid) is not None else "")
    derived = e.get("derived")
    if derived and unit not in ("fraction",) and "pct" not in derived and "percent" not in derived:
        signed = True
    else:
        signed = signed_metric(mid)
    src = client_source(e.get("source"))
    if e.get("result") is None:
        return c.t("regime.evidence_missing", name=metric_name(mid, ctx.lang),
                   derived=c.derived(derived) if derived else "",
                   reason=c.reason(e.get("reason")))
    val = e.get("value")
    flags = _evidence_flags(ctx, e)
    basis = e.get("basis") or {}
    if basis.get("btc_return") is not None:
        return c.t("regime.evidence_returns", btc=c.percent(100 * float(basis["btc_return"]), signed=True),
                   gold=c.percent(100 * float(basis["gold_return"]), signed=True), start=c.date(basis.get("start")),
                   date=c.date(e.get("date")), source=src, inverse=bool(val), flags=flags)
    if e.get("comparison") == "==" and (isinstance(val, bool) or unit == "bool"):
        return c.t("regime.evidence_flag", name=metric_name(mid, ctx.lang), value=bool(val),
                   date=c.date(e.get("date")), source=src) + flags
    if e.get("comparison") in ("==", "in") and isinstance(val, str):
        # a state test reads as a statement of the state; whether it matched the rule's states is
        # what decided the regime, shown by the regime itself
        return c.t("regime.evidence_eq", name=metric_name(mid, ctx.lang), value=c.state(val),
                   date=c.date(e.get("date")), source=src) + flags
    thr = e.get("threshold")
    thr_unit = unit
    if isinstance(thr, (int, float)) and not isinstance(thr, bool):
        thr, thr_unit = display_value(mid, thr, unit)
    val_txt = c.state(val) if isinstance(val, str) else c.value(*display_value(mid, val, unit), signed=signed)
    rel, thr_txt = "", ""
    if isinstance(thr, (int, float)) and not isinstance(thr, bool) and isinstance(val, (int, float)) \
            and not isinstance(val, bool):
        v = display_value(mid, val, unit)[0]
        rel = c.t("regime.rel_above") if v > thr else c.t("regime.rel_below") if v < thr else c.t("regime.rel_at")
        thr_txt = c.value(thr, thr_unit, signed=signed)
    from ..rules.regimes import MEANINGS

    meaning = _tr(e.get("meaning") or MEANINGS.get(e.get("condition") or ""), ctx.lang, "")
    key = "regime.evidence_prose"
    if signed and isinstance(val, (int, float)) and not isinstance(val, bool) and c.has("regime.evidence_change"):
        # a language that carries the sign in a word (zh-TW: 減少/增加 with a positive number)
        v = display_value(mid, val, unit)
        key, val_txt = "regime.evidence_change", c.t("regime.change_fall" if v[0] < 0 else "regime.change_rise",
                                                      value=c.value(abs(v[0]), v[1], signed=False))
    return c.t(key, name=metric_name(mid, ctx.lang),
               derived=c.derived(derived) if derived else "", value=val_txt, rel=rel, threshold=thr_txt,
               meaning=meaning, date=c.date(e.get("date")), source=src) + flags


def add_evidence_text(briefing) -> None:
    """Give every regime evidence item a ``text``: the English prose a reader sees, next to the
    raw rule fields (``comparison``, ``threshold``, ``threshold_key``) kept for the analyst."""
    ctx = Ctx(briefing, "en")
    for r in (briefing.regimes or {}).values():
        for e in r.get("evidence") or []:
            if isinstance(e, dict):
                e["text"] = _evidence_item(ctx, e)


def _evidence_flags(ctx: Ctx, e: Mapping[str, Any]) -> str:
    """What a reader must know about an input's age: stale (its next release is overdue), or a
    dated event older than the regime's window."""
    c = ctx.cat
    out = ""
    if e.get("event_date"):
        out += c.t("regime.event", date=c.date(e["event_date"]), days=e.get("event_age_days"),
                   old=bool(e.get("old_event")), limit=e.get("event_max_age_days") or "")
    if e.get("stale"):
        out += c.t("regime.stale", reason=c.reason(_short_reason(e.get("stale_reason"))))
    return out


def _dedupe_evidence(evidence: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One line per figure: when several conditions test the same value of one metric (a rise and
    a fall of net liquidity, two supply-in-loss bands), keep the one that holds, else the first."""
    groups: dict[tuple, list[int]] = {}
    for i, e in enumerate(evidence):
        if e.get("result") is None or e.get("comparison") not in ("<", "<=", ">", ">="):
            continue
        groups.setdefault((e.get("metric"), e.get("derived"), repr(e.get("value"))), []).append(i)
    drop: set[int] = set()
    for idx in groups.values():
        if len(idx) > 1:
            keep = next((i for i in idx if evidence[i].get("result")), idx[0])
            drop.update(i for i in idx if i != keep)
    return [e for i, e in enumerate(evidence) if i not in drop]


_OP_KEYS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne", "in": "in", "not in": "not_in"}


def _regime(ctx: Ctx, rid: str, r: Mapping[str, Any]) -> dict:
    c = ctx.cat
    name = c.regime(rid) if c.has("regime." + rid) else _tr(r.get("name"), ctx.lang, c.regime(rid))
    state = r.get("state", "")
    label = c.state(state) if c.has("state." + _slug(state)) else _tr(r.get("label"), ctx.lang, c.state(state))
    shown = _dedupe_evidence(display_evidence([e for e in r.get("evidence") or [] if isinstance(e, Mapping)]))
    qt = r.get("qt") if rid == "liquidity" else None
    if qt:
        # QT is stated once, as policy plus what the data show, instead of the two state tests
        shown = [e for e in shown if e.get("metric") not in ("qt_status", "qt_policy")]
    evidence = [_evidence_item(ctx, e) for e in shown]
    if qt:
        vals = _x_qt_facts(ctx)
        if vals:
            evidence.insert(0, c.t("s.qt", **vals))
    in_evidence = {e.get("metric") for e in shown}
    missing = [c.t("s.unavailable", name=metric_name(m.get("metric", ""), ctx.lang), reason=c.reason(m.get("reason")))
               for m in r.get("missing") or [] if isinstance(m, Mapping) and m.get("metric") not in in_evidence]
    ctx_items = [x for x in r.get("context") or []
                 if not (qt and isinstance(x, Mapping) and x.get("fomc_decision"))]
    if any((e.get("basis") or {}).get("btc_return") is not None for e in shown):
        # the returns behind "opposite directions" are in the evidence line, on its window
        ctx_items = [x for x in ctx_items if not (isinstance(x, Mapping)
                                                  and x.get("metric") in ("gold_return_30d", "btc_return_30d"))]
    context = [t for t in (_context_item(ctx, x) for x in ctx_items) if t]
    caveat = _caveat(ctx, r)
    line = c.t("regime.line", name=name, label=label)
    if caveat:
        line = c.t("regime.line_caveat", line=line, old=any(x.get("kind") == "old_event" for x in _decisive(r)),
                   stale=any(x.get("kind") == "stale" for x in _decisive(r)))
    return {"id": rid, "name": name, "state": state, "label": label,
            "line": line, "caveat": caveat,
            "evidence": evidence, "missing": missing, "context": context}


def _decisive(r: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [x for x in r.get("stale_inputs") or [] if isinstance(x, Mapping) and x.get("decisive")]


def _caveat(ctx: Ctx, r: Mapping[str, Any]) -> str:
    """"This reading rests on …": the stale inputs or old events the state depends on."""
    if not r.get("rests_on_stale"):
        return ""
    c = ctx.cat
    parts = []
    for x in _decisive(r):
        name = metric_name(x.get("metric") or "", ctx.lang)
        if x.get("kind") == "old_event":
            parts.append(c.t("regime.caveat_event", name=name, date=c.date(x.get("event_date")),
                             days=x.get("event_age_days"), limit=x.get("event_max_age_days") or ""))
        else:
            parts.append(c.t("regime.caveat_stale", name=name, date=c.date(x.get("date")),
                             published=c.date(x.get("published_at")) if x.get("published_at") else "",
                             days=x.get("age_days") if x.get("age_days") is not None else ""))
    return c.t("regime.caveat", items=c.t("fmt.list_sep").join(parts)) if parts else ""


def _context_item(ctx: Ctx, x) -> str | None:
    c = ctx.cat
    if not isinstance(x, Mapping):
        return None
    if x.get("fomc_decision"):
        return c.t("s.fomc_balance_sheet", date=c.date(x["fomc_decision"]),
                   text=c.fomc_note(x.get("text"), x.get("balance_sheet")), source=x.get("source") or "")
    mid = x.get("metric")
    if mid == "rmp_annual_growth_projection" and ctx.available(mid):
        vals = _x_rmp(ctx)
        return c.t("s.rmp_assumption", **vals)
    if mid == "gold_btc_corr_30d" and ctx.available(mid):
        f = ctx.fig(mid)
        return c.t("s.gold_corr_context", fig=f, pos=float(f.raw) > 0)
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
        "cite": c.t("fmt.cite", date=c.date(lv.get("date")), source=client_source(lv.get("source")), extra=[]),
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


#: which edge of a zone "far"/"near" is, by the side of the price the zone is on
_EDGE_WORD = {("daily close above", "far"): "upper", ("daily close above", "near"): "lower",
              ("daily close below", "far"): "lower", ("daily close below", "near"): "upper"}


def _cond_level(ctx: Ctx, t: Mapping[str, Any]) -> str:
    """A trigger or invalidation with the edge that fires it: "daily close above the lower edge
    of <zone>, <price>" (or "daily close above <level> (<zone>)" for a level without an edge)."""
    c = ctx.cat
    row = _level_row(ctx, t)
    cond = t.get("condition") or ""
    word = _EDGE_WORD.get((cond, t.get("edge")))
    if word and t.get("price") is not None and c.has("scenario.trigger_edge"):
        return c.t("scenario.trigger_edge", condition=c.get("scenario.condition." + _slug(cond), cond),
                   edge=c.t("scenario.edge." + word), level=row["name"], price=c.value(float(t["price"]), "USD"))
    return c.t("scenario.trigger", condition=c.get("scenario.condition." + _slug(cond), cond),
               level=row["name"], zone=row["zone"])


def _probability_line(ctx: Ctx, sc: Mapping[str, Any]) -> str:
    c = ctx.cat
    p, det = sc.get("probability"), sc.get("probability_detail") or {}
    if p is not None and not _is_missing(p):
        return c.t("scenario.probability_market", p=c.percent(100 * float(p)), date=c.date(det.get("date")),
                   cut=det.get("outcome") == "cut")
    if det.get("earlier_date"):
        return c.t("scenario.probability_earlier", date=c.date(det["earlier_date"]))
    return c.t("scenario.probability_none")


def research_lines(ctx: Ctx) -> list[str]:
    """The research the note quotes (``briefing.research``): the liquidity-vs-rate result with its
    power, and the record of past scenario maps, one sentence each."""
    c = ctx.cat
    r = getattr(ctx.b, "research", None) or {}
    out = []
    s = r.get("sensitivity")
    if isinstance(s, Mapping) and s.get("reason"):
        out.append(c.t("scenario.research_sensitivity_none", reason=c.reason(s["reason"])))
    elif isinstance(s, Mapping) and s.get("n"):
        out.append(c.t("scenario.research_sensitivity", n=s["n"], end=c.date(s["end"]),
                       b_liq=c.percent(100 * s["beta_liquidity"], signed=True, decimals=2),
                       b_rate=c.percent(100 * s["beta_rate"], signed=True, decimals=2),
                       p=f"{s['p_diff']:.2f}", mdd=f"{100 * s['mdd']:.1f}"))
    sc = r.get("scorecard")
    ov = (sc or {}).get("overall") or {}
    if ov.get("n"):
        calls = {v for v in ((sc.get("current_calls") or {}).values()) if v}
        call = next(iter(calls)) if len(calls) == 1 else None
        by = (sc.get("by_call") or {}).get(call) or {} if call else {}
        out.append(c.t("scenario.research_scorecard", n=ov["n"], date=c.date(ctx.as_of_iso), k=ov["hits"],
                       rate=c.percent(100 * ov["rate"]), lo=c.percent(100 * ov["wilson_low"]),
                       hi=c.percent(100 * ov["wilson_high"]),
                       call=c.t("scenario.lean." + call) if call and by.get("n") else "",
                       k2=by.get("hits"), n2=by.get("n")))
    return out


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
    hz = sc.get("horizon") or {}
    if hz.get("days"):
        lines.append(c.t("scenario.horizon", end=c.date(hz.get("end")), days=hz["days"],
                         next=hz.get("basis") == "next meeting"))
    lines.append(_probability_line(ctx, sc))
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
            "rr": (c.t("scenario.rr", ratio=f"{pth['reward_risk']['ratio']:.2f}",
                       target=c.value(float(pth['reward_risk']['target']), "USD"), poor=bool(pth.get("reward_risk_poor")))
                   if isinstance(pth.get("reward_risk"), Mapping) else ""),
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
    if ((briefing.regimes or {}).get("liquidity") or {}).get("qt"):
        quoted.update(("qt_status", "qt_policy"))  # stated once, in the liquidity regime

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
            sec["research"] = research_lines(ctx)
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
            "appendix": appendix, "notes": notes, "first_screen": _first_screen(briefing, lang),
            "unavailable": unavailable,
            "labels": {k.split(".", 1)[1]: c.t(k) for k, v in c.d.items() if k.startswith("ui.") and "{{" not in v}}


def _first_screen(briefing, lang: str) -> dict:
    from .narrative import first_screen

    return first_screen(briefing, lang)


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
    S("summary_liquidity", ("fed_total_assets", "qt_status", "net_liquidity"), extra=_x_qt_facts),
)


def _appendix_row(ctx: Ctx, mid: str) -> dict:
    c = ctx.cat
    mv = ctx.mv(mid)
    note = []
    if mv.status != "ok" and mv.reason:
        note.append(c.reason(mv.reason))
    for alt in mv.alternatives or []:
        note.append(ctx.alternative(mv, alt))
    if getattr(mv, "revised_by", None):  # one later vintage of a revised series (issue 17)
        note.append(c.t("fmt.revised_by", date=c.date(mv.revised_by)))
    avail = ctx.available(mid)
    return {"id": mid, "name": metric_name(mid, ctx.lang),
            "value": ctx.fmt(mid, mv.value) if avail else "—",
            "date": c.date(mv.date) if mv.date else "—",
            "source": c.source(mv.source) if mv.source else "—",
            "status": mv.status, "status_label": c.get(f"status.{mv.status}", mv.status),
            "note": c.t("fmt.note_sep").join(note)}
