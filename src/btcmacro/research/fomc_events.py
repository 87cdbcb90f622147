"""FOMC event study: BTC, gold, the dollar and the 10-year yield around FOMC decisions.

Meetings come from the embedded calendar (:func:`btcmacro.rules.meetings`, with balance-sheet
announcements and their sources). The **decision type is derived from data**, not typed in: the
change in the upper bound of the federal funds target range (FRED ``DFEDTARU``, re-dated to the
decision day by :func:`btcmacro.rules.fomc.decision_dated`: FRED dates a new range on its
effective day, usually the day after the decision) from the day before the meeting starts to the
decision day, in basis points; ``cut`` < 0 < ``hike``, otherwise ``hold``. DFEDTARU starts on
2008-12-16, before any BTC price, so every meeting in the study is covered.

Method: constant-mean-return model (MacKinlay 1997). For each asset, daily returns on its own
trading days (log returns; for the 10-year yield, changes in basis points). Event day 0 is the
first trading day on or after the decision day (statements come out at 2 pm ET; the BTC daily close
is at 00:00 UTC, after it). The normal return is the mean over an estimation window of
``est_days`` trading days ending just before the event window; abnormal return = return − that
mean; the cumulative abnormal return (CAR) sums it over the event window. Group means get a
t-interval (statsmodels ``DescrStatsW``) and a percentile bootstrap interval (fixed seed); groups
are compared with Welch t tests (statsmodels ``ttest_ind``, unequal variances).

References
----------
MacKinlay, A. C. (1997), "Event studies in economics and finance", Journal of Economic
Literature 35(1), 13-39.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..store import Store
from . import _data
from .render import Doc, Figure, Section, Table

#: asset -> (series id, kind): "log" = log returns, "bp" = yield change in basis points
ASSETS = {"BTC": (None, "log"), "gold": ("yahoo/gold_close", "log"), "DXY": ("markets/dxy_close", "log"),
          "10y": ("fred/DGS10", "bp")}
BS_GROUPS = ("qt_plan", "qt_start", "qt_taper", "qt_end", "purchases", "taper")
SEED = 20251210
N_BOOT = 2000


#: the estimation window's bounds (trading days): a mean needs a few days; beyond ~3 years of
#: trading days the first meetings covered by the data drop out for nothing
MIN_EST_DAYS, MAX_EST_DAYS = 5, 750


def parse_window(text: str) -> tuple[int, int]:
    """``"-5,+10"`` -> ``(-5, 10)``; the window must contain day 0."""
    try:
        a, b = (int(x) for x in str(text).replace(" ", "").split(","))
    except ValueError:
        raise UsageError(f"bad window {text!r} (expected e.g. -5,+10)", where="--window") from None
    if not (a <= 0 <= b) or b - a > 60:
        raise UsageError(f"window {a},{b} must contain day 0 and span at most 60 days", where="--window")
    return a, b


def classify_decisions(meetings: list[dict], upper: pd.Series) -> pd.DataFrame:
    """One row per meeting with the rate decision derived from the target range's upper bound.

    Parameters
    ----------
    meetings : list of dict
        From :func:`btcmacro.rules.meetings` (``start``, ``end`` = decision day, ``scheduled``,
        ``balance_sheet``, ``balance_sheet_note``, ``source``).
    upper : pandas.Series
        DFEDTARU (percent), daily.

    Returns
    -------
    pandas.DataFrame indexed by decision date with ``rate_before``, ``rate_after``, ``change_bp``
    and ``decision`` (cut / hold / hike; missing when the range is not known on both sides).
    """
    from ..rules.fomc import EFFECTIVE_LAG_MAX_DAYS, decision_dated

    u = upper.dropna().sort_index()
    dd = decision_dated(u, meetings)  # each change moved to the decision day that set it
    rows = []
    for m in meetings:
        start, end = pd.Timestamp(m["start"]), pd.Timestamp(m["end"])
        before_d = start - pd.Timedelta(days=1)
        # the data must reach past the latest day the decision can take effect, or a change
        # announced on ``end`` would still be invisible
        known = len(u) and u.index[0] <= before_d and u.index[-1] >= end + pd.Timedelta(days=EFFECTIVE_LAG_MAX_DAYS)
        before = float(dd.loc[:before_d].iloc[-1]) if known else np.nan
        after = float(dd.loc[:end].iloc[-1]) if known else np.nan
        ch = round((after - before) * 100.0, 1) if known else np.nan
        dec = None if not known else ("cut" if ch < 0 else "hike" if ch > 0 else "hold")
        rows.append({"date": end, "start": start, "scheduled": bool(m["scheduled"]),
                     "balance_sheet": m.get("balance_sheet") or "none",
                     "balance_sheet_note": m.get("balance_sheet_note") or "",
                     "rate_before": before, "rate_after": after, "change_bp": ch, "decision": dec,
                     "source": m.get("source", "")})
    return pd.DataFrame(rows).set_index("date")


def event_car(series: pd.Series, kind: str, event: pd.Timestamp, window: tuple[int, int],
              est_days: int) -> tuple[float, np.ndarray] | None:
    """CAR of one asset around one event, and its abnormal-return path over the window.

    Returns ``None`` when the series does not cover the estimation and event windows.
    """
    s = series.dropna().sort_index()
    r = (np.log(s).diff() if kind == "log" else s.diff() * 100.0).iloc[1:]
    pos = int(r.index.searchsorted(event, side="left"))  # day 0: first trading day >= event
    a, b = window
    if pos + a - est_days < 0 or pos + b >= len(r) or pos >= len(r):
        return None
    if (r.index[pos] - event).days > 4:  # a gap in the data, not the next trading day
        return None
    est = r.iloc[pos + a - est_days: pos + a]
    ar = r.iloc[pos + a: pos + b + 1].to_numpy() - float(est.mean())
    return float(ar.sum()), ar


def group_stats(car: pd.Series, seed: int = SEED, n_boot: int = N_BOOT) -> dict:
    """n, mean, t-interval and bootstrap interval (95%) of a group's CARs."""
    from statsmodels.stats.weightstats import DescrStatsW

    x = car.dropna().to_numpy()
    out = {"n": len(x), "mean": np.nan, "t_ci_low": np.nan, "t_ci_high": np.nan, "boot_ci_low": np.nan,
           "boot_ci_high": np.nan, "median": np.nan, "share_positive": np.nan, "mean_abs": np.nan}
    if len(x) == 0:
        return out
    out.update(mean=float(x.mean()), median=float(np.median(x)), share_positive=float((x > 0).mean()),
               mean_abs=float(np.abs(x).mean()))
    if len(x) >= 2:
        lo, hi = DescrStatsW(x).tconfint_mean(alpha=0.05)
        rng = np.random.default_rng(seed)
        boots = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
        out.update(t_ci_low=float(lo), t_ci_high=float(hi),
                   boot_ci_low=float(np.quantile(boots, 0.025)), boot_ci_high=float(np.quantile(boots, 0.975)))
    return out


@dataclass
class FomcResult:
    window: tuple[int, int]
    est_days: int
    meetings: pd.DataFrame  # one row per meeting: decision, balance sheet, CAR per asset
    groups: pd.DataFrame  # asset x group statistics
    tests: pd.DataFrame  # Welch tests between groups
    caar: pd.DataFrame  # BTC average cumulative abnormal return by event day, per group
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def to_doc(self) -> Doc:
        return _doc(self)


def fomc_event_study(window: tuple[int, int] | str = (-5, 10), *, est_days: int = 60,
                     store: Store | None = None, as_of=None) -> FomcResult:
    """Event study over every FOMC meeting in the embedded calendar covered by the data.

    Parameters
    ----------
    window : (int, int) or str
        Event window in trading days around day 0 (``"-5,+10"`` accepted).
    est_days : int
        Length of the estimation window (trading days) ending just before the event window,
        from 5 to 750 (else :class:`~btcmacro.errors.UsageError`).
    store : Store, optional
    as_of : date-like, optional
        Use only data published by this date (meetings after it are not yet known).
    """
    from .. import rules
    from ..api import _using

    if isinstance(window, str):
        window = parse_window(window)
    if isinstance(est_days, bool) or not isinstance(est_days, (int, np.integer)) \
            or not MIN_EST_DAYS <= est_days <= MAX_EST_DAYS:
        raise UsageError(f"the estimation window must be a whole number of trading days from {MIN_EST_DAYS} "
                         f"to {MAX_EST_DAYS} (got {est_days})", where="--est-days")
    price = _data.btc_price_id()
    ids = {"BTC": price, **{k: v[0] for k, v in ASSETS.items() if v[0]}}
    with _using(store) as st:
        data = _data.load(st, list(ids.values()) + ["fred/DFEDTARU"], as_of=as_of)
    meets = [m for m in rules.meetings(as_of)
             if as_of is None or pd.Timestamp(m["end"]) <= pd.Timestamp(as_of)]
    dec = classify_decisions(meets, data["fred/DFEDTARU"])
    paths: dict[str, dict] = {}
    for asset, sid in ids.items():
        kind = ASSETS[asset][1]
        cars, p = [], {}
        for d in dec.index:
            out = event_car(data[sid], kind, d, window, est_days)
            cars.append(np.nan if out is None else out[0])
            if out is not None:
                p[d] = out[1]
        dec[f"CAR {asset}"] = cars
        paths[asset] = p
    dec = dec[dec["CAR BTC"].notna()]
    if dec.empty:
        raise UsageError(f"no FOMC meeting has {est_days} trading days of BTC data before its event window "
                         "and the whole window after it; use a shorter --est-days or --window", where="--est-days")
    groups, tests = _groups(dec, list(ids))
    caar = _caar(dec, paths["BTC"], window)
    res = FomcResult(window, est_days, dec, groups, tests, caar)
    res.notes = [
        "Decision type is derived from FRED DFEDTARU re-dated to the decision day (FRED dates a new range "
        "on its effective day, usually the day after): upper bound of the target range the day before the "
        "meeting vs on the decision day. Balance-sheet news is the embedded calendar "
        "(data/fomc_meetings.csv) with its sources; 'none' = no balance-sheet announcement recorded.",
        f"CAR units: log return for BTC, gold (COMEX GC=F front month, Yahoo) and DXY (ICE, via vendor; ends "
        f"2026-01-02); basis points for the 10y yield (FRED DGS10). Estimation window: {est_days} trading days "
        f"before the event window (it may contain earlier meetings' windows). Bootstrap: {N_BOOT} resamples, "
        f"seed {SEED}.",
        "Gold futures settle at 1:30 pm ET, before the 2 pm statement, so gold's day-0 return does not contain "
        "the announcement; its day +1 return does.",
        "Groups of fewer than ~10 meetings (every balance-sheet category) are case studies, not evidence: "
        "their intervals are wide and one event moves the mean.",
    ]
    res.summary = _summary(res)
    return res


def _groups(dec: pd.DataFrame, assets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from statsmodels.stats.weightstats import ttest_ind

    masks = {"all meetings": pd.Series(True, index=dec.index)}
    for d in ("cut", "hold", "hike"):
        masks[f"decision: {d}"] = dec["decision"] == d
    masks["balance-sheet news: any"] = dec["balance_sheet"] != "none"
    masks["balance-sheet news: none"] = dec["balance_sheet"] == "none"
    for g in BS_GROUPS:
        masks[f"balance-sheet news: {g}"] = dec["balance_sheet"] == g
    rows = []
    for asset in assets:
        col = dec[f"CAR {asset}"]
        for name, m in masks.items():
            st = group_stats(col[m])
            rows.append({"asset": asset, "group": name, **st})
    groups = pd.DataFrame(rows)
    trows = []
    comparisons = [("balance-sheet news: any", "balance-sheet news: none"),
                   ("decision: cut", "decision: hold"), ("decision: hike", "decision: hold")]
    for asset in assets:
        col = dec[f"CAR {asset}"]
        for a, b in comparisons:
            xa, xb = col[masks[a]].dropna(), col[masks[b]].dropna()
            if len(xa) < 2 or len(xb) < 2:
                continue
            for what, fa, fb in [("mean CAR", xa, xb), ("mean |CAR|", xa.abs(), xb.abs())]:
                t, p, _ = ttest_ind(fa.to_numpy(), fb.to_numpy(), usevar="unequal")
                trows.append({"asset": asset, "statistic": what, "group A": a, "group B": b, "n A": len(xa),
                              "n B": len(xb), "A": float(fa.mean()), "B": float(fb.mean()),
                              "A − B": float(fa.mean() - fb.mean()), "t": float(t), "p": float(p)})
    return groups, pd.DataFrame(trows)


def _caar(dec: pd.DataFrame, paths: dict, window: tuple[int, int]) -> pd.DataFrame:
    days = list(range(window[0], window[1] + 1))
    out = {}
    sel = {"all meetings": dec.index, "balance-sheet news": dec.index[dec["balance_sheet"] != "none"],
           "cut": dec.index[dec["decision"] == "cut"], "hike": dec.index[dec["decision"] == "hike"],
           "hold": dec.index[dec["decision"] == "hold"]}
    for name, idx in sel.items():
        arr = [np.cumsum(paths[d]) for d in idx if d in paths]
        if arr:
            out[f"{name} (n={len(arr)})"] = np.mean(np.vstack(arr), axis=0)
    f = pd.DataFrame(out, index=pd.Index(days, name="event day"))
    return f


def _summary(r: FomcResult) -> list[str]:
    g = r.groups[r.groups["asset"] == "BTC"].set_index("group")
    dec = r.meetings
    a, b = r.window
    out = [f"{len(dec)} FOMC decisions from {dec.index.min().date()} to {dec.index.max().date()} with BTC data; "
           f"window [{a:+d}, {b:+d}] trading days around the decision, constant-mean abnormal returns "
           f"({r.est_days}-day estimation window)."]
    for name in ["all meetings", "decision: cut", "decision: hold", "decision: hike", "balance-sheet news: any",
                 "balance-sheet news: none"]:
        if name in g.index and g.loc[name, "n"] >= 2:
            x = g.loc[name]
            out.append(f"BTC CAR, {name}: mean {100 * x['mean']:+.2f}% (95% t-CI {100 * x['t_ci_low']:+.2f}% to "
                       f"{100 * x['t_ci_high']:+.2f}%; bootstrap {100 * x['boot_ci_low']:+.2f}% to "
                       f"{100 * x['boot_ci_high']:+.2f}%), n={int(x['n'])}, mean |CAR| {100 * x['mean_abs']:.2f}%.")
    t = r.tests
    row = t[(t["asset"] == "BTC") & (t["statistic"] == "mean |CAR|") & (t["group A"] == "balance-sheet news: any")]
    if len(row):
        x = row.iloc[0]
        sig = x["p"] < 0.05
        out.append(f"Do balance-sheet meetings move BTC more than the others? Mean |CAR| {100 * x['A']:.2f}% "
                   f"(n={x['n A']}) vs {100 * x['B']:.2f}% (n={x['n B']}), Welch p = {x['p']:.3f}: "
                   + ("a significant difference at 5%." if sig else
                      "not a significant difference at 5%; with this few balance-sheet events the study cannot "
                      "establish that they matter more."))
    return out


def _doc(r: FomcResult) -> Doc:
    a, b = r.window
    samp = (f"Sample: {len(r.meetings)} FOMC decisions {r.meetings.index.min().date()}..{r.meetings.index.max().date()}, "
            f"daily data, window [{a:+d},{b:+d}] trading days")
    method = f"Method: constant-mean-return abnormal returns ({r.est_days}-day estimation window), CAR summed over the window"
    m = r.meetings.drop(columns=["source", "balance_sheet_note", "start"]).copy()
    m.index = [d.date().isoformat() for d in m.index]
    m.index.name = "decision day"
    groups = r.groups.copy()
    return Doc(
        f"FOMC event study: BTC, gold, DXY and the 10y yield around decisions (window {a:+d},{b:+d})",
        r.summary,
        [
            Section("Group statistics", [
                "CAR units: log return (BTC, gold, DXY) or basis points (10y). t-CI: 95% t interval of the mean "
                "(statsmodels DescrStatsW); boot-CI: 95% percentile bootstrap of the mean.",
            ], [Table("groups", f"{samp}. {method}; one row per asset and group.", groups)]),
            Section("Group comparisons", [], [
                Table("tests", f"{samp}. {method}; Welch two-sample t tests (statsmodels ttest_ind, unequal variances).",
                      r.tests)]),
            Section("BTC average cumulative abnormal return by event day", [], [
                Table("caar", f"{samp}. {method}; average of cumulative abnormal log returns by event day.",
                      r.caar, "{:+.4f}")],
                [Figure("caar", f"BTC cumulative average abnormal return around FOMC decisions ({samp})", r.caar,
                        "cumulative abnormal log return")]),
            Section("Every meeting", [], [
                Table("meetings", f"{samp}. {method}; decision derived from DFEDTARU; change in bp.", m)]),
            Section("Notes", r.notes),
        ],
        meta={"window": list(r.window), "est_days": r.est_days, "n_meetings": len(r.meetings)},
    )
