"""Publication dates: when each observation became public, for point-in-time (as-of) reads.

A series names a *release rule* in the catalogue. The rule maps an observation date (a Wednesday
for H.4.1, the first of the month for monthly data, ...) to a day on which the value was surely
public. The embedded calendar ``data/release_calendar.csv`` overrides the rule with the real
publication date, with its source, wherever one is known. ``as_of=D`` then means: published on or
before ``D``.

**The calendar** holds the agencies' own dates for the Employment Situation (payrolls and the
unemployment rate) and CPI from the December 2012 reports on, and for Personal Income and Outlays
(PCE) from December 2012 on, every shutdown slip (October 2013, December 2018 - January 2019,
October - November 2025, the January 2026 funding lapse), and the GDP and JOLTS releases whose
dates are confirmed. Each row has a ``kind``: ``scheduled`` (the agency's regular calendar),
``delayed`` (a slip: shutdown, catch-up schedule, or a not-earlier-than bound where the exact day
is not verified) or ``cancelled`` (never published).

**The rules are never early.** Where the calendar has no row (GDP, JOLTS, the weekly Federal
Reserve and Labor Department releases, daily market data, and anything before 2013), the rule
gives the *latest* day the agency's practice allows, so an as-of read may show a value a few days
after it really came out but never before. ``tests/spine/test_release_calendar.py`` checks that for
every scheduled date in the calendar the rule's date for that period is not earlier.

Rules (observation date -> publication date, never before the real release):

======================== ====================================================================
``same_day``             the date itself (market closes, policy rates, RRP results)
``next_day``             date + 1 (UTC daily on-chain and provider data, ETF flow tables)
``next_business_day``    next US business day (SOFR/EFFR are published the following morning)
``h41``                  Wednesday level -> the next business day (Thursday, 4:30 pm ET)
``claims``               week ending Saturday -> the following Thursday (holiday weeks: earlier)
``nfci``                 week ending Friday -> the following Wednesday, or the next business day
``h10``                  daily dollar index -> the Monday after its week, or the next business day
``month_end_next``       monthly average -> first business day of the next month
``h6``                   monthly M2 -> fourth Tuesday of the next month, or the next business day
``employment_situation`` month -> second Friday of the next month (BLS releases on the first
                         or second Friday; none since 2013 came later)
``jolts``                month -> the 20th of the second month after, or the next business day
``cpi``                  month -> the 26th of the next month, or the next business day (BLS
                         released as late as the 26th in 2015; the 10th-18th since 2017)
``pce``                  month -> second business day of the second month after (BEA releases
                         at the end of the next month, sometimes on the first days after it)
``gdp``                  quarter start -> last business day of the month after the quarter
                         (BEA's advance estimate comes out within that month)
======================== ====================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from .errors import DataError, UsageError

_HOLIDAYS = USFederalHolidayCalendar().holidays(start="1930-01-01", end="2035-12-31").to_numpy(
    dtype="datetime64[D]")


def _days(d: pd.DatetimeIndex) -> np.ndarray:
    return d.to_numpy(dtype="datetime64[D]")


def _next_bday(d: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The first US business day strictly after each date."""
    return pd.DatetimeIndex(np.busday_offset(_days(d), 1, roll="backward", holidays=_HOLIDAYS))


def _roll_forward_bday(d: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Move a date that is not a business day to the next business day."""
    return pd.DatetimeIndex(np.busday_offset(_days(d), 0, roll="forward", holidays=_HOLIDAYS))


def _roll_back_bday(d: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.busday_offset(_days(d), 0, roll="backward", holidays=_HOLIDAYS))


def _bday_of_month(month_start: pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    """The n-th US business day of the month starting at each date."""
    return pd.DatetimeIndex(np.busday_offset(_days(month_start), n - 1, roll="forward",
                                             holidays=_HOLIDAYS))


def _nth_weekday(month_start: pd.DatetimeIndex, weekday: int, n: int) -> pd.DatetimeIndex:
    """The n-th given weekday (0=Mon) of the month starting at each date."""
    offset = (weekday - month_start.day_of_week) % 7
    return month_start + pd.to_timedelta(offset + 7 * (n - 1), unit="D")


def _month_start(d: pd.DatetimeIndex, months_ahead: int) -> pd.DatetimeIndex:
    p = d.to_period("M") + months_ahead
    return p.to_timestamp()


def _rule(name: str, d: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if name == "same_day":
        return d
    if name == "next_day":
        return d + pd.Timedelta(days=1)
    if name in ("next_business_day", "h41"):
        return _next_bday(d)
    if name == "claims":
        return d + pd.Timedelta(days=5)
    if name == "nfci":
        return _roll_forward_bday(d + pd.Timedelta(days=5))
    if name == "h10":
        return _roll_forward_bday(d + pd.to_timedelta(7 - d.day_of_week, unit="D"))
    if name == "month_end_next":
        return _roll_forward_bday(_month_start(d, 1))
    if name == "h6":
        return _roll_forward_bday(_nth_weekday(_month_start(d, 1), 1, 4))
    if name == "employment_situation":
        return _nth_weekday(_month_start(d, 1), 4, 2)
    if name == "jolts":
        return _roll_forward_bday(_month_start(d, 2) + pd.Timedelta(days=19))
    if name == "cpi":
        return _roll_forward_bday(_month_start(d, 1) + pd.Timedelta(days=25))
    if name == "pce":
        return _bday_of_month(_month_start(d, 2), 2)
    if name == "gdp":
        # last business day of the month after the quarter's last month
        return _roll_back_bday(_month_start(d, 4) - pd.Timedelta(days=1))
    raise UsageError(f"unknown release rule {name!r}", where="releases")


#: bump when a rule changes: it is part of the snapshot's data version, so stores re-date
#: their snapshot rows (:meth:`btcmacro.store.Store.redate_snapshot`)
RULES_VERSION = "2"

RULES = ("same_day", "next_day", "next_business_day", "h41", "claims", "nfci", "h10",
         "month_end_next", "h6", "employment_situation", "jolts", "cpi", "pce", "gdp")


KINDS = ("scheduled", "delayed", "cancelled")
_COLUMNS = ("release", "period", "published", "kind", "source", "note")
_FILE = "btcmacro/data/release_calendar.csv"


@lru_cache(maxsize=1)
def calendar_rows() -> tuple[dict, ...]:
    """Every row of the embedded release calendar, checked: release, period and published as
    Timestamps (published is None for a cancelled release), kind, source and note as text."""
    text = resources.files("btcmacro.data").joinpath("release_calendar.csv").read_text("utf-8")
    return parse_calendar(text)


def parse_calendar(text: str) -> tuple[dict, ...]:
    """Parse and check release-calendar CSV text (see :func:`calendar_rows`)."""
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise DataError(f"header {reader.fieldnames}, expected {list(_COLUMNS)}", where=_FILE)
    out, seen = [], set()
    for line, row in enumerate(reader, start=2):
        where = f"{_FILE} line {line}"
        if row["release"] not in RULES:
            raise DataError(f"unknown release {row['release']!r}", where=where)
        if row["kind"] not in KINDS:
            raise DataError(f"kind {row['kind']!r}, expected one of {', '.join(KINDS)}", where=where)
        if not row["source"].strip():
            raise DataError("every date needs its source", where=where)
        try:
            period = pd.Timestamp(dt.date.fromisoformat(row["period"]))
            when = pd.Timestamp(dt.date.fromisoformat(row["published"])) if row["published"] else None
        except ValueError:
            raise DataError("period and published must be YYYY-MM-DD dates", where=where) from None
        if (when is None) != (row["kind"] == "cancelled"):
            raise DataError("a cancelled release has no date and only a cancelled one", where=where)
        if when is not None and when <= period:
            raise DataError(f"published {row['published']} is not after the period {row['period']}",
                            where=where)
        key = (row["release"], period)
        if key in seen:
            raise DataError(f"second row for {row['release']} {row['period']}", where=where)
        seen.add(key)
        out.append({"release": row["release"], "period": period, "published": when,
                    "kind": row["kind"], "source": row["source"], "note": row["note"]})
    return tuple(out)


@lru_cache(maxsize=1)
def calendar() -> dict[tuple[str, pd.Timestamp], tuple[pd.Timestamp, str]]:
    """Actual publication dates that override the rules: (release, period) -> (date, note)."""
    return {(r["release"], r["period"]): (r["published"], r["note"]) for r in calendar_rows()}


def calendar_span(rule: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last period the calendar dates for ``rule`` (None when it has no row)."""
    periods = [r["period"] for r in calendar_rows() if r["release"] == rule]
    return (min(periods), max(periods)) if periods else None


def rule_dates(rule: str, dates) -> pd.Series:
    """Publication dates under the rule alone (no calendar): the never-early fallback."""
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates).to_numpy()))
    return pd.Series(np.array(_rule(rule, d), dtype="datetime64[ns]"))


def published_dates(rule: str, dates) -> pd.Series:
    """Publication date of each observation date under ``rule`` (calendar overrides applied).

    Parameters
    ----------
    rule : str
        A rule name from :data:`RULES`.
    dates : array-like of dates

    Returns
    -------
    pandas.Series of Timestamps aligned with ``dates``.
    """
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates).to_numpy()))
    if len(d) == 0:
        return pd.Series([], dtype="datetime64[ns]")
    out = np.array(_rule(rule, d), dtype="datetime64[ns]")
    cal = calendar()
    if any(k[0] == rule for k in cal):
        for i, x in enumerate(d):
            hit = cal.get((rule, x))
            if hit is not None and hit[0] is not None:
                out[i] = np.datetime64(hit[0], "ns")
    return pd.Series(out)


def override_note(rule: str, date) -> str | None:
    """The calendar note for an observation whose release slipped, if any."""
    hit = calendar().get((rule, pd.Timestamp(date)))
    return hit[1] if hit else None


def delayed_releases(rule: str, after, as_of) -> list[str]:
    """Calendar notes for periods after ``after`` whose release was not out by ``as_of``.

    Explains a stale figure: e.g. as of 2025-11-19 the September payrolls were still held back by
    the shutdown.
    """
    a, d = pd.Timestamp(after), pd.Timestamp(as_of)
    out = []
    for (r, period), (when, note) in sorted(calendar().items(), key=lambda kv: kv[0][1]):
        if r == rule and note and period > a and (when is None or when > d) and period <= d:
            due = _rule(rule, pd.DatetimeIndex([period]))[0]
            if due <= d:
                out.append(f"{period.strftime('%Y-%m')}: {note}")
    return out


# ----------------------------------------------------------------------------------------------
# revised values: the embedded snapshot is one later vintage
# ----------------------------------------------------------------------------------------------

#: the label of a value read from one later vintage of a revising series
REVISED_LABEL = "values as revised by {date}; first prints may differ"


@lru_cache(maxsize=None)
def snapshot_vintage_date(series_id: str) -> pd.Timestamp | None:
    """The vintage date of the embedded snapshot's copy of a series: the publication day of the
    newest observation the copy holds (calendar or rule), i.e. the copy includes every revision
    published up to that day. None when the snapshot does not hold the series."""
    from . import catalog, data

    row = data.manifest().get(series_id)
    defn = catalog.SERIES.get(series_id)
    if row is None or defn is None:
        return None
    return published_dates(defn.release, [row["last_date"]]).iloc[0]


def revised_by(store, series_ids, date=None, as_of=None) -> str | None:
    """``YYYY-MM-DD`` when a value computed from ``series_ids`` at ``date`` (as of ``as_of``) rests
    on the embedded snapshot's later vintage of a series the agency revises, else None.

    The date is the earliest snapshot vintage date among those inputs. An observation the store
    holds as a real vintage (``btcmacro update`` with a FRED key keeps ALFRED's first prints and
    each revision with its publication day) outranks the snapshot's copy and needs no label.
    """
    from . import catalog
    from .store import _SNAPSHOT_ROW

    ids = [i for i in series_ids if getattr(catalog.SERIES.get(i), "revises", False)]
    if not ids:
        return None
    where, params = ["series_id IN (SELECT unnest(?))"], [ids]
    if date is not None:
        where.append("date <= ?")
        params.append(pd.Timestamp(date).date())
    if as_of is not None:
        where.append("published_at <= ?")
        params.append(pd.Timestamp(as_of).date())
    rows = store.con.execute(
        f"""SELECT series_id, {_SNAPSHOT_ROW} FROM obs WHERE {' AND '.join(where)}
            QUALIFY row_number() OVER (PARTITION BY series_id
                                       ORDER BY date DESC, {_SNAPSHOT_ROW}, published_at DESC) = 1""",
        params).fetchall()
    dates = [snapshot_vintage_date(sid) for sid, snap in rows if snap]
    dates = [d for d in dates if d is not None]
    return min(dates).date().isoformat() if dates else None
