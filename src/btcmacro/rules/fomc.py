"""The embedded FOMC calendar (meeting dates, balance-sheet announcements, with sources).

Meeting *dates* are published a year ahead, so the next meeting is known at any as-of date;
a meeting's balance-sheet announcement is only visible from its decision day on.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import pandas as pd


@lru_cache(maxsize=1)
def _rows() -> tuple[dict, ...]:
    text = resources.files("btcmacro.data").joinpath("fomc_meetings.csv").read_text("utf-8")
    return tuple(csv.DictReader(text.splitlines()))


def meetings(as_of=None) -> list[dict]:
    """All meetings (start, end = decision day), with balance-sheet news visible by ``as_of``."""
    d = None if as_of is None else pd.Timestamp(as_of).normalize()
    out = []
    for r in _rows():
        end = pd.Timestamp(r["end"])
        known = d is None or end <= d
        out.append({
            "start": r["start"], "end": r["end"], "scheduled": r["scheduled"] == "1",
            "balance_sheet": (r["balance_sheet"] or None) if known else None,
            "balance_sheet_note": (r["balance_sheet_note"] or None) if known else None,
            "source": r["source"],
        })
    return out


def calendar_start() -> str:
    """The first day of the first meeting in the embedded calendar (ISO date)."""
    return min(r["start"] for r in _rows())


def next_meeting(as_of) -> dict | None:
    """The first scheduled meeting whose decision day is after ``as_of`` (a meeting in progress
    on ``as_of`` counts as next); ``None`` after the calendar's last meeting, and before its first
    meeting (the calendar does not know the meetings before it, so "next" would be wrong)."""
    d = pd.Timestamp(as_of).normalize()
    if d < pd.Timestamp(calendar_start()):
        return None
    for m in meetings(as_of):
        if m["scheduled"] and pd.Timestamp(m["end"]) > d:
            m = dict(m)
            m["days_ahead"] = (pd.Timestamp(m["end"]) - d).days
            return m
    return None


def last_meeting(as_of) -> dict | None:
    d = pd.Timestamp(as_of).normalize()
    past = [m for m in meetings(as_of) if pd.Timestamp(m["end"]) <= d]
    return past[-1] if past else None


#: a new target range takes effect at most this many days after the decision (the next business
#: day: a Wednesday decision is effective Thursday, the Sunday 2020-03-15 decision on Monday)
EFFECTIVE_LAG_MAX_DAYS = 4


def decision_dated(upper: pd.Series, meeting_rows: list[dict] | None = None) -> pd.Series:
    """The target range re-dated to the FOMC decision day that set it.

    FRED's ``DFEDTARU``/``DFEDTARL`` change on the *effective* day, usually the day after the
    decision; a market reacts on the decision day. Each change is moved back to the decision day
    of the latest meeting (scheduled or not) that ended at most :data:`EFFECTIVE_LAG_MAX_DAYS`
    before it; a change with no such meeting keeps its date and is listed in
    ``attrs["undated_changes"]``. The result is daily (calendar days), forward-filled between
    observations, and keeps the input's other ``attrs``.
    """
    s = upper.dropna().sort_index()
    if s.empty:
        return s
    daily = s.reindex(pd.date_range(s.index[0], s.index[-1], freq="D")).ffill()
    ends = sorted(pd.Timestamp(m["end"]) for m in (meeting_rows if meeting_rows is not None else meetings()))
    out = daily.copy()
    moved, undated = [], []
    changes = daily[daily.diff().fillna(0) != 0]
    for eff, value in changes.items():
        prior = [e for e in ends if e <= eff and (eff - e).days <= EFFECTIVE_LAG_MAX_DAYS]
        if not prior:
            undated.append(eff.date().isoformat())
            continue
        dec = max(prior[-1], daily.index[0])
        out.loc[dec:eff - pd.Timedelta(days=1)] = value
        moved.append((dec.date().isoformat(), eff.date().isoformat()))
    out.attrs = dict(upper.attrs)
    out.attrs["decision_dated"] = moved
    out.attrs["undated_changes"] = undated
    out.name = upper.name
    return out
