"""Point-in-time backtest of the regime rules: regimes as of each past date, BTC forward returns.

For every date on a step (weekly by default), the regimes are computed **as of that date** by the
same code the briefing uses (:func:`btcmacro.rules.evaluate_regimes` over a registry
:class:`~btcmacro.registry.Evaluator` bound to the date), so publication lags, release calendars
and vintages are respected: an observation enters only once it was published. The metrics are
evaluated lazily -- only those the rules read -- and the store's rows are read once into memory
(:class:`AsOfCache`, which answers the same point-in-time query as :meth:`Store.frame`), which
makes a decade of weekly dates take a minute or two instead of a full briefing per date.

Then BTC forward log returns over each horizon (calendar days, from the as-of date's close) are
grouped by regime state. Overlapping horizons make consecutive dates' returns dependent, so the
mean's confidence interval uses Newey–West (HAC) standard errors with ``ceil(h / step)`` lags, and
the number of **independent episodes** (runs of the same state) is stated next to the number of
dates: 200 weekly dates in 3 episodes are 3 observations of the regime, not 200.

Works with any regime ids and states the rules produce (nothing here names a regime).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..store import _SNAPSHOT_ROW, Store
from . import _data
from .render import Doc, Section, Table

STEPS = {"D": "D", "W": "W-THU", "2W": "2W-THU", "M": "ME"}
STEP_DAYS = {"D": 1, "W": 7, "2W": 14, "M": 30}
DEFAULT_START = "2015-01-01"


class AsOfCache:
    """A read-through copy of a store's observations answering point-in-time queries in memory.

    ``frame(ids, start, end, as_of)`` returns exactly what :meth:`btcmacro.store.Store.frame`
    returns (for each series and date, the latest value published on or before ``as_of``), but
    reads each series' rows (every vintage) from DuckDB only once. Other attributes are delegated
    to the wrapped store.
    """

    def __init__(self, store: Store):
        self.store = store
        self._rows: dict[str, pd.DataFrame] = {}
        self._multi: dict[str, bool] = {}

    def __getattr__(self, name):
        return getattr(self.store, name)

    def _load(self, ids: list[str]) -> None:
        need = [i for i in ids if i not in self._rows]
        if not need:
            return
        df = self.store.con.execute(
            "SELECT series_id, date, value, published_at FROM obs WHERE series_id IN (SELECT unnest(?)) "
            # a real vintage outranks the snapshot's stand-in for its date, as in Store.frame
            f"ORDER BY series_id, date, {_SNAPSHOT_ROW} DESC, published_at", [need]).df()
        df["date"] = pd.to_datetime(df["date"])
        df["published_at"] = pd.to_datetime(df["published_at"])
        for sid in need:
            part = df[df["series_id"] == sid].reset_index(drop=True)
            self._rows[sid] = part
            self._multi[sid] = bool(part["date"].duplicated().any())

    def frame(self, series_ids, *, start=None, end=None, as_of=None) -> pd.DataFrame:
        ids = list(series_ids)
        self._load(ids)
        parts = []
        for sid in ids:
            p = self._rows[sid]
            if as_of is not None:
                p = p[p["published_at"] <= pd.Timestamp(as_of)]
            if start is not None:
                p = p[p["date"] >= pd.Timestamp(start)]
            if end is not None:
                p = p[p["date"] <= pd.Timestamp(end)]
            if self._multi[sid]:
                p = p.drop_duplicates("date", keep="last")  # rows sorted by rank within a date
            parts.append(p)
        if not parts:
            return pd.DataFrame(columns=["series_id", "date", "value", "published_at"])
        return pd.concat(parts, ignore_index=True)

    def series(self, series_id, start=None, end=None, as_of=None) -> pd.Series:
        df = self.frame([series_id], start=start, end=end, as_of=as_of)
        s = pd.Series(df["value"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(df["date"], name="date"),
                      name=series_id)
        return s


class LazyValues(Mapping):
    """``{metric_id: MetricValue}`` computed on first access (only the metrics the rules read)."""

    def __init__(self, ev):
        from ..registry import REGISTRY

        self.ev = ev
        self._ids = list(REGISTRY.keys())
        self._cache: dict[str, Any] = {}

    def __getitem__(self, k):
        if k not in self._cache:
            if k not in self._ids:
                raise KeyError(k)
            self._cache[k] = self.ev.value(k, alternatives=False)
        return self._cache[k]

    def __iter__(self):
        return iter(self._ids)

    def __len__(self):
        return len(self._ids)


def regimes_as_of(store, date, cfg, regime_fn: Callable | None = None) -> dict[str, dict]:
    """The regime outcomes as of ``date`` (the briefing's regime code on an as-of evaluator)."""
    from .. import rules
    from ..registry import Evaluator

    fn = regime_fn or rules.evaluate_regimes
    ev = Evaluator(store, date, cfg.params)
    return fn(ev, LazyValues(ev), cfg)


def state_of(outcome) -> str:
    if isinstance(outcome, Mapping):
        s = outcome.get("state")
        return "none" if s is None else str(s)
    return str(outcome)


def episodes(states: pd.Series) -> pd.Series:
    """Number of runs (consecutive dates in the same state) per state."""
    s = states.dropna()
    run = (s != s.shift()).cumsum()
    return pd.DataFrame({"state": s, "run": run}).groupby("state")["run"].nunique()


def forward_returns(price: pd.Series, dates: pd.DatetimeIndex, horizons) -> pd.DataFrame:
    """Log return from each date's close to the close ``h`` calendar days later (NaN past the data)."""
    p = price.dropna().sort_index()
    last = p.index.max()
    out = pd.DataFrame(index=dates)
    now = _data.asof(p, dates).to_numpy()
    for h in horizons:
        later = dates + pd.Timedelta(days=int(h))
        fut = _data.asof(p, later).to_numpy()
        r = np.log(fut / now)
        r[later > last] = np.nan
        out[f"fwd_{h}d"] = r
    return out


def mean_ci_hac(x: pd.Series, lags: int) -> tuple[float, float, float]:
    """Mean and 95% CI with Newey–West standard errors (OLS on a constant, statsmodels)."""
    import statsmodels.api as sm

    y = x.dropna().to_numpy()
    if len(y) < 3:
        return (float(np.mean(y)) if len(y) else np.nan), np.nan, np.nan
    res = sm.OLS(y, np.ones((len(y), 1))).fit(cov_type="HAC", cov_kwds={"maxlags": min(lags, len(y) - 2)})
    lo, hi = res.conf_int()[0]
    return float(res.params[0]), float(lo), float(hi)


@dataclass
class BacktestResult:
    dates: pd.DatetimeIndex
    step: str
    horizons: tuple[int, ...]
    rules_source: str
    states: pd.DataFrame  # date x regime id
    forward: pd.DataFrame  # date x fwd_<h>d
    table: pd.DataFrame  # regime, state, horizon: n, episodes, mean, CI, median, hit rate
    outcomes: dict[pd.Timestamp, dict] = field(default_factory=dict)  # full regime outcomes per date
    notes: list[str] = field(default_factory=list)

    def to_doc(self) -> Doc:
        return _doc(self)


def summarize(states: pd.DataFrame, fwd: pd.DataFrame, step: str) -> pd.DataFrame:
    """Forward-return statistics by regime state, with dates and independent episodes counted."""
    rows = []
    sd = STEP_DAYS.get(step, 7)
    for col in fwd.columns:
        h = int(col.removeprefix("fwd_").removesuffix("d"))
        lags = max(1, math.ceil(h / sd))
        base = fwd[col].dropna()
        rows.append({"regime": "(all dates)", "state": "", "horizon_days": h, "n_dates": len(base),
                     "episodes": 1 if len(base) else 0, **_stats(base, lags), "vs_all": 0.0})
        for rid in states.columns:
            s = states[rid]
            eps = episodes(s)
            for st in sorted(s.dropna().unique()):
                x = fwd.loc[s == st, col].dropna()
                row = {"regime": rid, "state": st, "horizon_days": h, "n_dates": len(x),
                       "episodes": int(eps.get(st, 0)), **_stats(x, lags)}
                row["vs_all"] = row["mean"] - float(base.mean()) if len(x) and len(base) else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


def _stats(x: pd.Series, lags: int) -> dict:
    m, lo, hi = mean_ci_hac(x, lags)
    return {"mean": m, "ci_low": lo, "ci_high": hi, "median": float(x.median()) if len(x) else np.nan,
            "hit_rate": float((x > 0).mean()) if len(x) else np.nan}


def backtest(rules_path: str | Path | None = None, start=None, end=None, step: str = "W",
             horizons=(30, 90), *, store: Store | None = None, regime_fn: Callable | None = None,
             keep_outcomes: bool = False, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Regimes as of each date on ``step`` between ``start`` and ``end``, and BTC forward returns.

    Parameters
    ----------
    rules_path : path, optional
        Rules TOML overriding the defaults (as ``btcmacro brief --rules``).
    start, end : date-like, optional
        Default 2015-01-01 to the last BTC price date.
    step : {"D", "W", "2W", "M"}
        Weekly steps fall on Thursdays (the H.4.1 release day).
    horizons : tuple of int
        Forward-return horizons in calendar days.
    regime_fn : callable, optional
        ``(evaluator, values, cfg) -> {regime_id: outcome}``; default the briefing's
        :func:`btcmacro.rules.evaluate_regimes`.
    keep_outcomes : bool
        Keep every date's full outcomes (evidence included) in ``result.outcomes``.
    """
    from .. import rules
    from ..api import _using, data_range

    if step not in STEPS:
        raise UsageError(f"unknown step {step!r} (expected one of: {', '.join(STEPS)})", where="--step")
    try:
        hs = tuple(sorted({int(h) for h in horizons}))
    except (TypeError, ValueError):
        raise UsageError(f"bad horizons {horizons!r} (expected days, e.g. 30,90)", where="--horizons") from None
    if not hs or min(hs) <= 0:
        raise UsageError("horizons must be positive numbers of days", where="--horizons")
    cfg = rules.load_rules(rules_path)
    with _using(store) as st:
        first, last = data_range(st)
        a = _data.parse_date(start, "--start") or max(pd.Timestamp(DEFAULT_START), first)
        b = min(_data.parse_date(end, "--end") or last, last)
        dates = pd.date_range(max(a, first), b, freq=STEPS[step])
        if len(dates) == 0:
            raise UsageError(f"no {step} dates between {a.date()} and {b.date()}", where="--start/--end")
        cache = AsOfCache(st)
        rows, outcomes = {}, {}
        for i, d in enumerate(dates):
            out = regimes_as_of(cache, d, cfg, regime_fn)
            rows[d] = {rid: state_of(o) for rid, o in out.items()}
            if keep_outcomes:
                outcomes[d] = out
            if progress:
                progress(i + 1, len(dates))
        pid = _data.btc_price_id()
        price = _data.load(st, [pid])[pid]
    states = pd.DataFrame.from_dict(rows, orient="index").reindex(dates)
    states.index.name = "date"
    fwd = forward_returns(price, dates, hs)
    table = summarize(states, fwd, step)
    res = BacktestResult(dates, step, hs, cfg.source, states, fwd, table, outcomes)
    res.notes = [
        "Regimes are computed as of each date from data published by that date (store vintages and release "
        "rules; the embedded macro series are one mid-2026 vintage, so revised values replace first prints "
        "where a series was revised, while publication dates follow the real calendar).",
        f"Forward returns: BTC log return from the as-of date's close ({pid}) to the close h calendar "
        "days later; dates whose horizon runs past the data are left out of that horizon.",
        "CI: 95% interval of the mean with Newey–West (HAC) standard errors, lags = horizon / step (overlapping "
        "windows). 'episodes' counts runs of consecutive dates in the state: the number of independent "
        "observations is closer to it than to n_dates.",
    ]
    return res


def _doc(r: BacktestResult) -> Doc:
    samp = (f"Sample: {len(r.dates)} {r.step} as-of dates {r.dates.min().date()}..{r.dates.max().date()}; "
            f"rules: {r.rules_source}")
    method = "Method: regimes computed point-in-time per date; BTC forward log returns; mean with HAC 95% CI"
    summary = [f"{samp}. Horizons: {', '.join(f'{h} days' for h in r.horizons)}."]
    t = r.table
    for h in r.horizons:
        base = t[(t["horizon_days"] == h) & (t["regime"] == "(all dates)")]
        if len(base):
            b = base.iloc[0]
            summary.append(f"{h}-day horizon, all dates: mean {100 * b['mean']:+.1f}% (95% CI {100 * b['ci_low']:+.1f}% "
                           f"to {100 * b['ci_high']:+.1f}%, n={b['n_dates']}).")
        if "liquidity" in set(t["regime"]):
            liq = t[(t["horizon_days"] == h) & (t["regime"] == "liquidity")]
            parts = [f"{x['state']} {100 * x['mean']:+.1f}% [{100 * x['ci_low']:+.1f}%, {100 * x['ci_high']:+.1f}%] "
                     f"({x['n_dates']} dates, {x['episodes']} episodes)" for _, x in liq.iterrows()]
            summary.append(f"{h}-day horizon by liquidity regime: " + "; ".join(parts) + ".")
        sub = t[(t["horizon_days"] == h) & (t["regime"] != "(all dates)") & (t["episodes"] >= 3)]
        if sub.empty:
            continue
        best = sub.loc[sub["mean"].idxmax()]
        worst = sub.loc[sub["mean"].idxmin()]
        summary.append(
            f"{h}-day horizon, among states seen in at least 3 episodes: highest mean in {best['regime']} = "
            f"{best['state']} ({100 * best['mean']:+.1f}%, 95% CI {100 * best['ci_low']:+.1f}% to "
            f"{100 * best['ci_high']:+.1f}%, {best['n_dates']} dates in {best['episodes']} episodes); lowest in "
            f"{worst['regime']} = {worst['state']} ({100 * worst['mean']:+.1f}%, 95% CI {100 * worst['ci_low']:+.1f}% "
            f"to {100 * worst['ci_high']:+.1f}%, {worst['n_dates']} dates in {worst['episodes']} episodes).")
    summary.append("Picking the best of many states is itself a search: treat a state with few episodes or a CI "
                   "that overlaps the all-dates mean as no evidence.")
    ep_rows = []
    for rid in r.states.columns:
        s = r.states[rid].dropna()
        eps = episodes(s)
        for st in sorted(s.unique()):
            d = s.index[s == st]
            ep_rows.append({"regime": rid, "state": st, "n_dates": len(d), "episodes": int(eps.get(st, 0)),
                            "first": d.min(), "last": d.max()})
    counts = pd.DataFrame(ep_rows)
    return Doc(
        "Point-in-time backtest of the regime rules: BTC forward returns by regime state",
        summary,
        [
            Section("Forward returns by regime state", [
                "mean, median and hit rate (share of positive returns) of BTC forward log returns; vs_all = mean minus "
                "the all-dates mean at that horizon.",
            ], [Table("by_state", f"{samp}. {method}.", t)]),
            Section("Dates and episodes per state", [], [
                Table("episodes", f"{samp}. Count of as-of dates and of runs of consecutive dates (episodes) per "
                      "regime state; first and last date in the state.", counts)]),
            Section("Notes", r.notes),
        ],
        meta={"start": r.dates.min(), "end": r.dates.max(), "step": r.step, "horizons": list(r.horizons),
              "rules": r.rules_source},
    )
