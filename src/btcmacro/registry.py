"""The metric registry: every metric declared once, and the one evaluator every consumer uses.

A :class:`Metric` names its inputs (catalogue series ids) and a *pure* function from those input
series (already cut to what was published by the as-of date) to the metric's time series. A metric
may have several :class:`Variant` s in order of preference — e.g. the STH cost basis from the
user's own node (``chain/...``) first, then Bitcoin Magazine Pro, then checkonchain — and the
evaluator uses the first one with data, reporting the others alongside for comparison.

Families declare their metrics in ``indicators/<family>.py`` as ``METRICS``; this module collects
them into :data:`REGISTRY`. The report, JSON, CLI, dashboard and ``btcmacro.series`` all iterate
the registry, so adding a metric touches one module.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import UsageError

#: how old (days) the latest input may be before a figure is flagged stale, by frequency
MAX_AGE_DAYS = {"daily": 10, "weekly": 16, "monthly": 80, "quarterly": 200, "irregular": 120,
                "event": None}  # an event series (a decision) stays in force until the next one
#: a preferred variant is used unless it lags the freshest variant by more than this
FRESHNESS_TOLERANCE_DAYS = {"daily": 1, "weekly": 8, "monthly": 35, "quarterly": 100, "irregular": 45,
                            "event": 10**6}
#: another provider's figure is compared with the primary one on their latest common date, if that
#: date lies within this many days of the primary figure's date; otherwise the briefing says that
#: no same-day comparison exists
COMPARE_TOLERANCE_DAYS = {"daily": 7, "weekly": 14, "monthly": 62, "quarterly": 190, "irregular": 31, "event": 0}
#: days a scheduled release may slip (holidays, weekends, a late fetch) before the figure counts as
#: stale: staleness is measured against the release calendar, not the reference period
RELEASE_GRACE_DAYS = {"daily": 4, "weekly": 3, "monthly": 3, "quarterly": 7}

Fn = Callable[[Mapping[str, pd.Series], Mapping[str, Any]], pd.Series]


@dataclass(frozen=True)
class Variant:
    """One way to compute a metric: its inputs and the pure function over them."""

    inputs: tuple[str, ...]
    fn: Fn
    note: str = ""  # e.g. "provider series", "derived as market cap / MVRV"


@dataclass(frozen=True)
class Metric:
    id: str
    names: dict[str, str]  # {"en": ..., "zh-TW": ...}
    unit: str
    category: str  # liquidity, macro, market, onchain, mining, derivatives, flows, sentiment, crossasset
    definition: str  # one line, English; zh-TW in the report catalogue
    variants: tuple[Variant, ...]
    citation: str
    version: int = 1
    frequency: str = "daily"  # drives staleness
    kind: str = "number"  # number | bool | state
    unavailable_reason: str = ""  # used when no variant has data (e.g. "needs own-node chain data")
    params: tuple[str, ...] = ()  # rule parameters the function reads (documented in rules TOML)

    @property
    def inputs(self) -> tuple[str, ...]:
        seen: list[str] = []
        for v in self.variants:
            seen += [i for i in v.inputs if i not in seen]
        return tuple(seen)

    def name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names["en"]


def declare(category: str, id: str, en: str, zh: str, unit: str, definition: str, variants,
            citation: str, **kw) -> Metric:
    """A :class:`Metric` from ``(inputs, fn, note)`` variant triples, in order of preference.

    The indicator families declare their metrics through this (``kw``: frequency, kind, params,
    unavailable_reason, version).
    """
    if "params" in kw:
        kw["params"] = tuple(kw["params"])
    return Metric(id=id, names={"en": en, "zh-TW": zh}, unit=unit, category=category, definition=definition,
                  variants=tuple(Variant(tuple(i), fn, note) for i, fn, note in variants),
                  citation=citation, **kw)


@dataclass
class MetricValue:
    """A metric's figure for one as-of date, with everything needed to cite it."""

    id: str
    value: Any
    unit: str
    date: str | None
    source: str | None
    status: str  # ok | stale | unavailable
    reason: str | None = None
    published_at: str | None = None
    alternatives: list[dict] = field(default_factory=list)
    detail: dict | None = None
    #: days from the release (``published_at``) to the as-of date
    age_days: int | None = None
    #: when the next observation was due to be published (release calendar), and whether it is
    #: overdue at the as-of date (the reason a figure is stale)
    next_release_due: str | None = None
    frequency: str | None = None
    #: the figure rests on the embedded snapshot's later vintage of a revised series: the vintage
    #: date (values as revised by then; first prints may differ), else None
    revised_by: str | None = None

    def to_json(self) -> dict:
        v = self.value
        if isinstance(v, (np.floating, float)):
            v = None if math.isnan(v) else float(v)
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.bool_):
            v = bool(v)
        d = {"value": v, "unit": self.unit, "date": self.date, "source": self.source,
             "status": self.status, "reason": self.reason}
        if self.published_at:
            d["published_at"] = self.published_at
        if self.age_days is not None:
            d["age_days"] = self.age_days
        if self.next_release_due:
            d["next_release_due"] = self.next_release_due
        if self.alternatives:
            d["alternatives"] = self.alternatives
        if self.detail:
            d["detail"] = _jsonable(self.detail)
        if self.revised_by:
            d["revised_by"] = self.revised_by
        return d


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, pd.Timestamp):
        return x.date().isoformat()
    if isinstance(x, (np.floating, float)):
        return None if math.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _collect() -> dict[str, Metric]:
    from . import sources  # noqa: F401  (registers the live-only series in the catalogue)
    from .indicators import FAMILIES

    out: dict[str, Metric] = {}
    for fam in FAMILIES:
        for m in fam.METRICS:
            if m.id in out:
                raise RuntimeError(f"metric {m.id} declared twice")
            out[m.id] = m
    return out


class _Registry(dict):
    """Lazily built ``id -> Metric`` mapping (indicator modules import pandas)."""

    _loaded = False

    def _load(self):
        if not self._loaded:
            self.update(_collect())
            self._loaded = True

    def __getitem__(self, k):
        self._load()
        return super().__getitem__(k)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self):
        self._load()
        return super().__len__()

    def __contains__(self, k):
        self._load()
        return super().__contains__(k)

    def values(self):
        self._load()
        return super().values()

    def items(self):
        self._load()
        return super().items()

    def keys(self):
        self._load()
        return super().keys()


REGISTRY: dict[str, Metric] = _Registry()


def get(metric_id: str) -> Metric:
    if metric_id not in REGISTRY:
        raise UsageError("unknown metric id (see `btcmacro metrics list`)", where=metric_id)
    return REGISTRY[metric_id]


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------


class Inputs(dict):
    """Input series for one evaluation, keyed by series id (missing ids give empty series)."""

    def __missing__(self, key):
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date"))


def _delays(inputs, date, as_of) -> list[str]:
    from . import catalog
    from .releases import delayed_releases

    out: list[str] = []
    for i in inputs:
        d = catalog.SERIES.get(i)
        if d is not None:
            out += [n for n in delayed_releases(d.release, date, as_of) if n not in out]
    return out


def series_label(series_id: str) -> str:
    from . import catalog

    d = catalog.SERIES.get(series_id)
    return d.label if d else series_id


def _engine_note(store, inputs) -> str | None:
    """For ``chain/*`` inputs that another engine computed (``btcmacro chain aggregate --engine
    bigquery|spark``), the note naming it in place of "own node": "BigQuery crypto_bitcoin,
    through block N" or "Spark, through block N", from the series' provenance."""
    for sid in inputs:
        if sid.startswith("chain/") and store is not None and store.has_series(sid):
            m = re.match(r"^(BigQuery \w+|Spark)\b.*?, through block (\d+)", store.meta(sid).provenance or "")
            if m:
                return f"{m.group(1)}, through block {m.group(2)}"
    return None


def _empty_series() -> pd.Series:
    """An empty metric series that still has a DatetimeIndex (callers slice it by date)."""
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date"))


class Evaluator:
    """Computes metrics for one as-of date from one store, caching inputs and results."""

    def __init__(self, store, as_of: dt.date | str | None = None, params: Mapping[str, Any] | None = None):
        self.store = store
        self.as_of = pd.Timestamp(as_of).normalize() if as_of is not None else None
        self.params = dict(params or {})
        self._inputs: dict[str, pd.Series] = {}
        self._pub: dict[str, pd.Series] = {}
        self._results: dict[str, tuple[pd.Series, Variant | None]] = {}
        self._vcache: dict[int, pd.Series] = {}
        self._revised: dict[tuple, str | None] = {}

    # inputs ------------------------------------------------------------------------------
    def prefetch(self, series_ids) -> None:
        need = [s for s in series_ids if s not in self._inputs]
        if not need:
            return
        df = self.store.frame(need, as_of=self.as_of)
        groups = dict(tuple(df.groupby("series_id", sort=False))) if len(df) else {}
        empty = df.iloc[0:0]
        for sid in need:
            part = groups.get(sid, empty)
            s = pd.Series(part["value"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(part["date"], name="date"), name=sid)
            self._inputs[sid] = s
            self._pub[sid] = pd.Series(part["published_at"].to_numpy(), index=s.index)

    def input(self, series_id: str) -> pd.Series:
        self.prefetch([series_id])
        return self._inputs[series_id]

    # metrics -----------------------------------------------------------------------------
    def _variant_series(self, v: Variant) -> pd.Series:
        key = id(v)
        if key not in self._vcache:
            self._vcache[key] = self._compute_variant(v)
        return self._vcache[key]

    def _compute_variant(self, v: Variant) -> pd.Series:
        self.prefetch(v.inputs)
        ins = Inputs({i: self._inputs[i] for i in v.inputs})
        if any(ins[i].dropna().empty for i in v.inputs):
            return _empty_series()
        # the as-of date is an argument like any parameter (event series need it to tell what
        # is announced from what is in force); functions stay pure
        out = v.fn(ins, {**self.params, "as_of": self.as_of})
        if not isinstance(out, pd.Series):
            raise TypeError(f"metric function {v.fn.__name__} returned {type(out).__name__}, expected Series")
        detail = out.attrs.get("detail")
        if self.as_of is not None and len(out):
            out = out[out.index <= self.as_of]
        out = out.dropna()
        out.attrs = {"detail": detail} if detail else {}
        return out

    def series(self, metric_id: str) -> pd.Series:
        """The metric's time series computed from what was published by the as-of date."""
        return self._eval(metric_id)[0]

    def _eval(self, metric_id: str) -> tuple[pd.Series, Variant | None]:
        if metric_id in self._results:
            return self._results[metric_id]
        m = get(metric_id)
        chosen: tuple[pd.Series, Variant | None] = (_empty_series(), None)
        # preference order, unless a preferred variant lags the freshest one by more than the
        # frequency's tolerance (e.g. a provider whose history ends while another goes on)
        candidates = [(v, self._variant_series(v)) for v in m.variants]
        candidates = [(v, s) for v, s in candidates if len(s)]
        if candidates:
            newest = max(s.index[-1] for _, s in candidates)
            tol = pd.Timedelta(days=FRESHNESS_TOLERANCE_DAYS.get(m.frequency, 2))
            for v, s in candidates:
                if s.index[-1] >= newest - tol:
                    chosen = (s, v)
                    break
        s, v = chosen
        s.name = metric_id
        s.attrs.update(detail=s.attrs.get("detail"), unit=m.unit, definition=m.definition, name=m.names["en"],
                       source=", ".join(series_label(i) for i in v.inputs) if v else None,
                       as_of=None if self.as_of is None else self.as_of.date().isoformat(),
                       version=m.version)
        self._results[metric_id] = chosen
        return chosen

    def value(self, metric_id: str, *, alternatives: bool = True) -> MetricValue:
        """The metric's figure at the as-of date; ``alternatives=False`` skips computing the
        other providers' values and the revision label (faster, e.g. for backtests)."""
        m = get(metric_id)
        s, v = self._eval(metric_id)
        as_of_txt = self.as_of.date().isoformat() if self.as_of is not None else "now"
        if v is None or s.empty:
            reason = m.unavailable_reason or f"no data published by {as_of_txt}"
            return MetricValue(m.id, None, m.unit, None, None, "unavailable", reason)
        date = s.index[-1]
        val = s.iloc[-1]
        if m.kind == "bool":
            val = bool(val)
        status, reason = "ok", None
        pub = None
        lastpub = [self._pub[i].loc[:date].iloc[-1] for i in v.inputs if len(self._pub.get(i, [])) and len(self._pub[i].loc[:date])]
        if lastpub:
            pub = max(lastpub).date().isoformat()
        age_days, due_txt = None, None
        if self.as_of is not None:
            if pub is not None:
                age_days = (self.as_of - pd.Timestamp(pub)).days
            overdue, due = self._overdue(v, date)
            due_txt = None if due is None else due.date().isoformat()
            if m.frequency == "event":
                pass  # a decision stays in force until the next one
            elif due is not None:
                if overdue:
                    status = "stale"
                    late = (f"the next release, due {due_txt}, is not in the data" if due < self.as_of else
                            f"the next release is delayed to {due_txt}")
                    reason = (f"published {pub}, {age_days} days before {as_of_txt}; {late}" if pub is not None
                              else f"latest value is for {date.date().isoformat()}; {late}")
            else:
                # no release calendar for the inputs (irregular filings): the age of the release
                limit = MAX_AGE_DAYS.get(m.frequency, 10)
                age = age_days if age_days is not None else (self.as_of - date).days
                if limit is not None and age > limit:
                    status = "stale"
                    reason = (f"published {pub}, {age} days before {as_of_txt}" if pub is not None else
                              f"latest value is for {date.date().isoformat()}, {age} days before {as_of_txt}")
            if status == "stale":
                delays = _delays(v.inputs, date, self.as_of)
                if delays:
                    reason += "; delayed: " + " | ".join(delays)
        alts = [self._compare(m, s, o_v) for o_v in (m.variants if alternatives else ()) if o_v is not v]
        alts = [a for a in alts if a is not None]
        src = ", ".join(series_label(i) for i in v.inputs)
        if v.note:
            src = f"{src} ({_engine_note(self.store, v.inputs) or v.note})"
        revised = None
        if alternatives:
            from .releases import revised_by

            key = (tuple(v.inputs), date)
            if key not in self._revised:
                self._revised[key] = revised_by(self.store, v.inputs, date, self.as_of)
            revised = self._revised[key]
        return MetricValue(m.id, val, m.unit, date.date().isoformat(), src, status, reason, pub, alts,
                           s.attrs.get("detail"), age_days, due_txt, m.frequency,
                           revised_by=revised)

    def _compare(self, m: Metric, s: pd.Series, other: Variant) -> dict | None:
        """Another provider's figure compared on the same date as the primary one.

        The comparison uses the latest date both series have, if it lies within
        :data:`COMPARE_TOLERANCE_DAYS` of the primary figure's date: ``value`` and ``date`` are
        the other provider's value on that day, ``compared_with`` the primary's value on the same
        day and ``diff_pct`` their difference. With no common date in that tolerance the other
        provider's latest value is given with ``no_common_date: True`` and no difference.
        """
        o = self._variant_series(other)
        if not len(o):
            return None
        label = ", ".join(series_label(i) for i in other.inputs)
        latest = o.iloc[-1]
        alt = {"source": label, "value": None if pd.isna(latest) else _num(latest),
               "date": o.index[-1].date().isoformat()}
        common = s.index.intersection(o.index)
        tol = pd.Timedelta(days=COMPARE_TOLERANCE_DAYS.get(m.frequency, 7))
        if len(common) and common[-1] >= s.index[-1] - tol:
            day = common[-1]
            ov, pv = o.loc[day], s.loc[day]
            alt.update(value=None if pd.isna(ov) else _num(ov), date=day.date().isoformat())
            if isinstance(pv, (int, float, np.floating, np.integer, bool, np.bool_)) and not pd.isna(pv):
                alt["compared_with"] = _num(pv)
                if not pd.isna(ov) and float(pv) and not isinstance(pv, (bool, np.bool_)):
                    alt["diff_pct"] = round(100.0 * (float(ov) - float(pv)) / abs(float(pv)), 2)
                elif not pd.isna(ov):
                    alt["diff_pct"] = 0.0 if float(ov) == float(pv) else None
            if day != s.index[-1] or day != o.index[-1]:
                alt.update(latest_value=None if pd.isna(latest) else _num(latest),
                           latest_date=o.index[-1].date().isoformat())
        else:
            alt["no_common_date"] = True
            alt["tolerance_days"] = tol.days
        return alt

    def _overdue(self, v: Variant, date: pd.Timestamp) -> tuple[bool, pd.Timestamp | None]:
        """Whether an input's next scheduled release is overdue at the as-of date (beyond the
        frequency's grace), and the earliest due date of the inputs' next releases (``None``
        when no input follows a release calendar).

        Only the inputs that reach the figure's date count: an input carried forward to it (a
        quarterly GDP under a weekly ratio, a facility with no operations for weeks) is used as
        published and does not make the figure stale."""
        overdue, dues = False, []
        for i in v.inputs:
            s = self._inputs.get(i)
            if s is None or not len(s.dropna()) or s.dropna().index[-1] < date:
                continue
            nd = next_release_due(i, s.dropna().index[-1])
            if nd is None:
                continue
            freq, due, normal = nd
            dues.append(due)
            # a release delayed past its normal schedule (a shutdown) is overdue from then on
            if self.as_of > normal + pd.Timedelta(days=RELEASE_GRACE_DAYS.get(freq, 3)):
                overdue = True
        if not dues:
            return False, None
        return overdue, min(dues)


def _num(x):
    return bool(x) if isinstance(x, (bool, np.bool_)) else float(x)


_STEPS = {"daily": pd.DateOffset(days=1), "weekly": pd.DateOffset(days=7), "monthly": pd.DateOffset(months=1),
          "quarterly": pd.DateOffset(months=3)}


def next_release_due(series_id: str, last_date) -> tuple[str, pd.Timestamp, pd.Timestamp] | None:
    """``(frequency, due date, normal due date)`` of the release of the observation after
    ``last_date`` under the series' release rule and the embedded release calendar; a period whose
    release was cancelled (e.g. the October 2025 CPI) is skipped. The normal due date differs from
    the due date for a release the calendar marks *delayed* (a shutdown): it is the latest day the
    agency's usual practice allows (the never-early rule), so a figure counts as overdue once the
    release is late against its normal schedule. ``None`` for a series with no regular schedule."""
    from . import catalog
    from .releases import calendar, calendar_rows, published_dates, rule_dates

    d = catalog.SERIES.get(series_id)
    if d is None or d.frequency not in _STEPS:
        return None
    period = pd.Timestamp(last_date)
    cal = calendar()
    for _ in range(12):
        period = period + _STEPS[d.frequency]
        hit = cal.get((d.release, period))
        if hit is not None and hit[0] is None:
            continue
        due = pd.Timestamp(published_dates(d.release, [period]).iloc[0])
        delayed = hit is not None and any(r["release"] == d.release and r["period"] == period
                                          and r["kind"] == "delayed" for r in calendar_rows())
        normal = min(due, pd.Timestamp(rule_dates(d.release, [period]).iloc[0])) if delayed else due
        return d.frequency, due, normal
    return None
