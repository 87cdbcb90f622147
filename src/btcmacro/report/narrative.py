"""The first screen of the briefing, in words: headline, thesis, scorecard, what changed, freshness.

Everything here is generated from :attr:`Briefing.thesis`, :attr:`Briefing.scorecard`,
:attr:`Briefing.changes` and :attr:`Briefing.freshness` (computed in :mod:`btcmacro.rules.thesis`
and :mod:`btcmacro.rules.changes`); the words come from ``i18n/narrative.<lang>.toml``. No date,
figure or name is typed into a sentence: each comes from the data it describes.

:func:`first_screen` returns the dict the ``_first_screen`` template partials render (set as
``doc["first_screen"]`` by :func:`btcmacro.report.builder.build`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

import jinja2

from ..rules.thesis import _num  # one number reader for the scoring and its text
from .i18n import catalog, load_catalog_dict

_CJK = "\u3400-\u9fff\uff01-\uff5e\u3000-\u303f"
_SPACE_DIGIT_CJK = re.compile(rf"(?<=[\d%])[ \u00a0]+(?=[{_CJK}])|(?<=[{_CJK}])[ \u00a0]+(?=[\d{_CJK}])")

#: an input published more than this many days before the as-of date has its age shown on the
#: first screen
AGE_SHOWN_DAYS = 7


def load(lang: str) -> dict[str, Any]:
    """The flattened narrative catalogue of ``lang`` (``"head.bearish"`` -> template)."""
    return load_catalog_dict(lang, "narrative.")


_ENV = jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)




class Narrator:
    """Words for one briefing in one language."""

    def __init__(self, briefing, lang: str):
        self.b = briefing
        self.lang = lang
        self.d = load(lang)
        self.cat = catalog(lang)
        self.as_of = briefing.as_of.date()
        self._tpl: dict[str, jinja2.Template] = {}

    # templates ----------------------------------------------------------------------------
    def t(self, key: str, /, **kw) -> str:
        tpl = self._tpl.get(key)
        if tpl is None:
            tpl = self._tpl[key] = _ENV.from_string(self.d[key])
        return self.tidy(tpl.render(**kw))

    def has(self, key: str) -> bool:
        return key in self.d

    def tidy(self, text: str) -> str:
        """zh-TW: no space between a number and a unit or between two Chinese characters."""
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
        if self.lang == "zh-TW":
            text = _SPACE_DIGIT_CJK.sub("", text)
        return text

    def cap(self, text: str) -> str:
        return text[:1].upper() + text[1:] if self.lang == "en" and text else text

    # dates --------------------------------------------------------------------------------
    def _d(self, iso) -> dt.date | None:
        if not iso:
            return None
        try:
            return dt.date.fromisoformat(str(iso)[:10])
        except ValueError:
            return None

    def date(self, iso, *, year: bool | None = None) -> str:
        """``9 December`` / ``12月9日``; with the year when it differs from the as-of year."""
        d = self._d(iso)
        if d is None:
            return ""
        if year is None:
            year = d.year != self.as_of.year
        return self.t("date.day_year" if year else "date.day", d=d.day, m=d.month, y=d.year,
                      month_name=self.d["date.months"][d.month - 1])

    def month(self, iso) -> str:
        d = self._d(iso)
        if d is None:
            return ""
        return self.t("date.month", m=d.month, y=d.year, month_name=self.d["date.months"][d.month - 1])

    # figures ------------------------------------------------------------------------------
    def fmt(self, metric: str, value, unit: str | None, *, signed: bool = False, precise: bool = False) -> str:
        """A figure in its unit; unsigned unless ``signed`` (then a leading minus when negative);
        ``precise`` adds a decimal (to tell a figure from a nearby threshold)."""
        x = _num(value)
        if x is None:
            return "" if value is None else str(value)
        ax = abs(x)
        unit = unit or ""
        if metric == "inflation_gap_core_pce" and unit == "fraction":
            body = self.t("unit.pp", x=f"{100 * ax:.2f}")
        elif unit == "USD":
            body = self.cat.usd(ax)
        elif unit == "BTC":
            body = self.t("unit.btc", x=self.cat.count(ax))
        elif unit == "fraction" or unit.startswith("fraction"):
            pct = 100 * ax
            body = self.t("unit.percent", x=f"{pct:.{(2 if pct < 1 else 1) + precise}f}")
        elif unit == "bp":
            body = self.t("unit.bp", x=f"{ax:.{1 + precise}f}")
        elif unit == "pp":
            body = self.t("unit.pp", x=f"{ax:.2f}")
        elif unit == "ratio":
            body = f"{ax:.{(3 if ax < 1.1 else 2) + precise}f}"
        elif unit in ("days", "months", "weeks") or unit.startswith("index"):
            body = f"{ax:,.0f}"
        else:
            body = self.cat.value(ax, unit)
        body = self.tidy(body)
        return ("−" + body) if signed and x < 0 and any(c in "123456789" for c in body) else body

    def _mv(self, metric: str):
        return (self.b.metrics or {}).get(metric)

    def _window(self, sig: Mapping[str, Any]) -> str:
        m = re.search(r"(\d+)", str(sig.get("derived") or ""))
        return m.group(1) if m else ""

    def metric_name(self, metric: str) -> str:
        from .builder import metric_name

        return metric_name(metric, self.lang)

    def fact(self, sig: Mapping[str, Any]) -> str:
        """What one evidence record says, as a clause with its figure and date."""
        metric = sig.get("metric") or ""
        value = sig.get("value")
        unit = sig.get("unit")
        x = _num(value)
        mv = self._mv(metric)
        detail = (getattr(mv, "detail", None) or {}) if mv is not None else {}
        kw: dict[str, Any] = {
            "value": value, "v": self.fmt(metric, value, unit), "up": bool(x is not None and x > 0),
            "date": self.date(sig.get("date")), "month": self.month(sig.get("date")),
            "published": self.date(sig.get("published_at") or (getattr(mv, "published_at", None) if mv else None)),
            "n": "" if x is None else f"{x:,.0f}", "window": self._window(sig),
            "name": self.metric_name(metric),
        }
        if metric == "qt_status":
            ch = _num(detail.get("change_total_usd"))
            if ch is not None:
                kw["change"] = self.fmt("", ch, "USD")
                kw["weeks"] = f"{(_num(detail.get('window_days')) or 0) / 7:.0f}"
        elif metric == "qt_policy":
            kw["date"] = self.date(detail.get("effective") or sig.get("date"))
        elif metric == "price_to_production_cost" and x is not None:
            kw["rel"] = self.fmt("", x - 1.0, "fraction")
            kw["rel_up"] = x > 1.0
        elif metric == "hash_ribbon":
            if detail.get("state") == "capitulation":
                kw["since"] = self.date(detail.get("since"))
            kw["short"], kw["long"] = detail.get("short_days", 30), detail.get("long_days", 60)
        elif metric == "payrolls_negative_months_of_7":
            kw["of"] = detail.get("window", 7)
        elif metric == "difficulty_largest_drop_365d":
            kw["drop_date"] = self.date(detail.get("drop_date"))
        elif metric == "gold_btc_inverse_move":
            g, bt = self._mv("gold_return_30d"), self._mv("btc_return_30d")
            gv, bv = (_num(getattr(g, "value", None)), _num(getattr(bt, "value", None)))
            if gv is not None and bv is not None:
                kw.update(gold=self.fmt("", gv, "fraction"), gold_up=gv > 0,
                          btc=self.fmt("", bv, "fraction"), btc_up=bv > 0)
        elif metric == "gold_btc_relative_30d" and x is not None:
            kw["pts"] = f"{100 * abs(x):.1f}"
        key = f"fact.{metric}"
        return self.t(key if self.has(key) else "fact.generic", **kw)

    def noun(self, sig: Mapping[str, Any]) -> str:
        key = f"noun.{sig.get('metric')}"
        if self.has(key):
            return self.t(key, window=self._window(sig))
        return self.metric_name(sig.get("metric") or "")

    def flip(self, f: Mapping[str, Any]) -> str:
        """``"<what> falls below <threshold> (now <value>)"``, with the state it would lead to."""
        metric, unit, op = f.get("metric") or "", f.get("unit"), f.get("comparison")
        v, thr = _num(f.get("value")), _num(f.get("threshold"))
        noun = self.noun(f)
        if v is None or thr is None or op not in ("<", "<=", ">", ">="):
            text = self.t("flip.state", noun=noun)
        else:
            holds = bool(f.get("result"))
            # the move that flips the condition, and whether reaching the threshold itself does
            up = (op in ("<", "<=")) == holds
            reach = (holds and op in (">", "<")) or (not holds and op in (">=", "<="))
            signed = True
            if v < 0 and thr < 0 and self.has(f"noun_neg.{metric}"):
                # both negative: speak of the size of the fall, in positive numbers
                noun, up, signed = self.t(f"noun_neg.{metric}", window=self._window(f)), not up, False
            key = ("flip.reach_above" if up else "flip.reach_below") if reach else (
                "flip.above" if up else "flip.below")
            thr_t, now_t = self.fmt(metric, thr, unit, signed=signed), self.fmt(metric, v, unit, signed=signed)
            if thr_t == now_t and v != thr:
                thr_t = self.fmt(metric, thr, unit, signed=signed, precise=True)
                now_t = self.fmt(metric, v, unit, signed=signed, precise=True)
            text = self.t(key, noun=noun, thr=thr_t, now=now_t)
        return self.t("thesis.flip_to", flip=text, phrase=self.phrase(f.get("regime"), f.get("to_state")))

    # names --------------------------------------------------------------------------------
    def regime(self, rid) -> str:
        key = f"regime.{rid}"
        return self.t(key) if self.has(key) else str(rid)

    def state(self, rid, state) -> str:
        key = f"state.{rid}:{state}"
        return self.t(key) if self.has(key) else self.t("state.insufficient")

    def phrase(self, rid, state) -> str:
        key = f"phrase.{rid}:{state}"
        return self.t(key) if self.has(key) else self.regime(rid)

    # the parts of the first screen ------------------------------------------------------
    def headline(self, th: Mapping[str, Any]) -> str:
        drv = th.get("driver")
        if drv is None:
            return self.t("head.none")
        regs = th["regimes"]
        driver = self.phrase(drv, regs[drv]["state"])
        c = th.get("counter")
        counter = self.phrase(c["regime"], regs[c["regime"]]["state"]) if c else ""
        return self.cap(self.t(f"head.{th['view']}", driver=driver, counter=counter))

    def thesis(self, th: Mapping[str, Any]) -> str:
        regs = th["regimes"]
        sentences = []
        known = [r for r in regs.values() if r["state"] != "insufficient data"]
        adverse = sum(1 for r in known if r["stance"] < 0)
        supportive = sum(1 for r in known if r["stance"] > 0)
        sentences.append(self.t("thesis.balance", view=self.t(f"thesis.view_{th['view']}"),
                                adverse=adverse, supportive=supportive, total=len(known)))
        drv = th.get("driver")
        if drv is not None:
            sig = th.get("signals") or []
            if sig:
                sentences.append(self.t("thesis.driver", driver=self.phrase(drv, regs[drv]["state"]),
                                        score=f"{regs[drv]['conviction']:.0f}", fact=self.fact(sig[0])))
            rest = [self.fact(s) for s in sig[1:3]]
            if len(rest) == 1:
                sentences.append(self.t("thesis.behind_one", a=rest[0]))
            elif len(rest) >= 2:
                sentences.append(self.t("thesis.behind_two", a=rest[0], b=rest[1]))
            c = th.get("counter")
            if c:
                sentences.append(self.t("thesis.counter", counter=self.phrase(c["regime"], regs[c["regime"]]["state"]),
                                        fact=self.fact(c)))
            else:
                sentences.append(self.t("thesis.no_counter"))
        flips = th.get("flips") or []
        if flips:
            text = self.d["thesis.flips_sep"].join(self.flip(f) for f in flips)
            turning = [f for f in flips if f.get("view_after") != th["view"]]
            if turning:
                sentences.append(self.t("thesis.turn", flips=text,
                                        view=self.t(f"thesis.turn_{turning[0]['view_after']}")))
            else:
                sentences.append(self.t("thesis.weaken", flips=text))
        sep = " " if self.lang == "en" else ""
        return sep.join(self.cap(s) for s in sentences)

    def scorecard(self, rows: list[Mapping[str, Any]]) -> dict:
        out = []
        for r in rows:
            fig = r.get("figure")
            figure = self.cap(self.fact(fig)) if fig else ""
            age = fig.get("age_days") if fig and fig.get("unit") != "state" else None
            out.append({
                "regime": self.regime(r["regime"]), "state": self.state(r["regime"], r["state"]),
                "arrow": self.t(f"scorecard.{r['direction']}"), "direction": r["direction"],
                "direction_title": self.t(f"scorecard.{r['direction']}_title"),
                "conviction": self.t("scorecard.score", score=f"{r['conviction']:.0f}"),
                "figure": figure,
                "age": self.t("scorecard.published", age=age) if age is not None and age > AGE_SHOWN_DAYS else "",
                "stance": r.get("stance", 0),
            })
        return {"title": self.t("scorecard.title"),
                "columns": [self.t(f"scorecard.{k}") for k in ("regime", "state", "direction", "conviction", "figure")],
                "rows": out}

    def _fig(self, metric: str, unit: str, f: Mapping[str, Any], frequency: str | None) -> str:
        x = _num(f.get("value"))
        # a negative change (a fall) in words; a negative level such as a spread keeps its sign
        if x is not None and x < 0 and any(w in metric.split("_") for w in ("change", "growth", "netflow")):
            v = self.t("changes.neg_value", v=self.fmt(metric, x, unit))
        else:
            v = self.fmt(metric, f.get("value"), unit, signed=True)
        when = self.month(f.get("date")) if frequency in ("monthly", "quarterly") else self.date(f.get("date"))
        return self.t("changes.figure", v=v, date=when)

    def changes(self, ch: Mapping[str, Any] | None) -> dict:
        periods = []
        for p in (ch or {}).get("periods") or []:
            date = self.date(p.get("meeting") or p["as_of"], year=None)
            rows = []
            for r in p.get("regimes") or []:
                rows.append({"kind": "regime", "what": self.regime(r["regime"]),
                             "before": self.state(r["regime"], r["from"]), "now": self.state(r["regime"], r["to"]),
                             "change": ""})
            for m in p.get("metrics") or []:
                unit = m.get("unit") or ""
                change = ""
                c = _num(m.get("change"))
                if c is not None and c != 0:
                    if unit == "fraction":  # a change of a rate is in percentage points
                        body = self.t("unit.pp", x=f"{100 * abs(c):.2f}")
                    else:
                        body = self.fmt(m["metric"], c, unit)
                    change = self.t("changes.up" if c > 0 else "changes.down", v=body)
                    pct = _num(m.get("change_pct"))
                    if pct is not None:
                        change = self.t("changes.with_pct", change=change,
                                        pct=self.t("unit.percent", x=f"{'+' if pct > 0 else '−'}{100 * abs(pct):.1f}"),
                                        apct=self.t("unit.percent", x=f"{100 * abs(pct):.1f}"))
                rows.append({"kind": "metric", "what": self.metric_name(m["metric"]),
                             "before": self._fig(m["metric"], unit, m["from"], m.get("frequency")),
                             "now": self._fig(m["metric"], unit, m["to"], m.get("frequency")), "change": change})
            periods.append({"id": p["id"], "title": self.t(f"changes.{p['id']}", date=date), "rows": rows,
                            "nothing": "" if rows else self.t("changes.nothing")})
        return {"title": self.t("changes.title"),
                "columns": [self.t(f"changes.{k}") for k in ("what", "before", "now", "change")],
                "periods": periods}

    def freshness(self, fr: Mapping[str, Any] | None) -> dict:
        if not fr:
            return {"data": "", "ages": ""}
        data = self.t("fresh.snapshot" if fr.get("snapshot_only") else "fresh.live",
                      date=self.date(fr.get("data_through"), year=True))
        # a policy in force (a state) is not a figure that ages
        old = [i for i in fr.get("inputs") or [] if i.get("age_days") is not None
               and i["age_days"] > AGE_SHOWN_DAYS and i.get("unit") != "state"]
        ages = ""
        if old:
            items = self.d["unit.sep"].join(self.t("fresh.age_item", name=self.metric_name(i["metric"]), age=i["age_days"])
                                            for i in old)
            ages = self.t("fresh.ages", days=AGE_SHOWN_DAYS, as_of=self.date(fr.get("as_of"), year=True), items=items)
        return {"data": data, "ages": ages}


def first_screen(briefing, lang: str) -> dict:
    """The first screen in ``lang``.

    Returns
    -------
    dict
        ``{"title", "headline", "thesis", "scorecard": {"title", "columns", "rows"},
        "changes": {"title", "columns", "periods": [{"id", "title", "rows", "nothing"}]},
        "freshness": {"data", "ages"}}``; every text final. Empty dict when the briefing has no
        thesis (built without one).
    """
    th = getattr(briefing, "thesis", None)
    if not th:
        return {}
    n = Narrator(briefing, lang)
    return {
        "title": n.t("head.section"),
        "headline": n.headline(th),
        "thesis": n.thesis(th),
        "scorecard": n.scorecard(getattr(briefing, "scorecard", None) or []),
        "changes": n.changes(getattr(briefing, "changes", None)),
        "freshness": n.freshness(getattr(briefing, "freshness", None)),
    }
