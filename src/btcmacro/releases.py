"""Publication dates: when each observation became public, for point-in-time (as-of) reads.

A series names a *release rule* in the catalogue. The rule maps an observation date (a Wednesday
for H.4.1, the first of the month for monthly data, ...) to the day the value was first published.
Real schedules slip (holidays, the October-November 2025 federal shutdown, cancelled reports), so
the rule is overridden by the embedded calendar ``data/release_calendar.csv``, which lists actual
publication dates with their source. ``as_of=D`` then means: published on or before ``D``.

Rules (observation date -> publication date):

===================== ======================================================================
``same_day``          the date itself (market closes, policy rates, RRP results)
``next_day``          date + 1 (UTC daily on-chain and provider data, ETF flow tables)
``next_business_day`` next US business day (SOFR/EFFR are published the following morning)
``h41``               Wednesday level -> the next business day (Thursday, 4:30 pm ET)
``claims``            week ending Saturday -> the following Thursday
``nfci``              week ending Friday -> the following Wednesday
``h10``               daily dollar index -> the Monday after its week (H.10 is weekly)
``month_end_next``    monthly average -> first business day of the next month
``h6``                monthly M2 -> fourth Tuesday of the next month
``employment_situation`` month -> first Friday of the next month (third Friday after the week of
                      the 12th in practice; calendar overrides hold the real dates)
``jolts``             month -> first Tuesday of the second month after
``cpi``               month -> the 12th of the next month, moved to the next business day
``pce``               month -> last business day of the next month
``gdp``               quarter start -> last Thursday of the month after the quarter ends
===================== ======================================================================
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from .errors import UsageError

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
        return d + pd.Timedelta(days=5)
    if name == "h10":
        return d + pd.to_timedelta(7 - d.day_of_week, unit="D")
    if name == "month_end_next":
        return _roll_forward_bday(_month_start(d, 1))
    if name == "h6":
        return _nth_weekday(_month_start(d, 1), 1, 4)
    if name == "employment_situation":
        return _nth_weekday(_month_start(d, 1), 4, 1)
    if name == "jolts":
        return _nth_weekday(_month_start(d, 2), 1, 1)
    if name == "cpi":
        return _roll_forward_bday(_month_start(d, 1) + pd.Timedelta(days=11))
    if name == "pce":
        end = _month_start(d, 2) - pd.Timedelta(days=1)
        return _roll_back_bday(end)
    if name == "gdp":
        # last Thursday of the month after the quarter's last month
        nxt = _month_start(d, 4) - pd.Timedelta(days=1)
        back = (nxt.day_of_week - 3) % 7
        return nxt - pd.to_timedelta(back, unit="D")
    raise UsageError(f"unknown release rule {name!r}", where="releases")


RULES = ("same_day", "next_day", "next_business_day", "h41", "claims", "nfci", "h10",
         "month_end_next", "h6", "employment_situation", "jolts", "cpi", "pce", "gdp")


@lru_cache(maxsize=1)
def calendar() -> dict[tuple[str, pd.Timestamp], tuple[pd.Timestamp, str]]:
    """Actual publication dates that override the rules: (release, period) -> (date, note)."""
    out = {}
    text = resources.files("btcmacro.data").joinpath("release_calendar.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        when = pd.Timestamp(row["published"]) if row["published"] else None  # None = cancelled
        out[(row["release"], pd.Timestamp(row["period"]))] = (when, row["note"])
    return out


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
        if r == rule and period > a and (when is None or when > d) and period <= d:
            due = _rule(rule, pd.DatetimeIndex([period]))[0]
            if due <= d:
                out.append(f"{period.strftime('%Y-%m')}: {note}")
    return out
