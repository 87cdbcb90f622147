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
