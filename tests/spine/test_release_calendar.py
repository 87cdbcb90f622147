"""Issue 17: no look-ahead anywhere in history.

The real dates below are the agencies' own (BLS schedule pages, BEA release pages; the calendar
row for each cites its source). Each case is read end to end from the snapshot store: the day
before the release shows the previous period, the release day shows the new one.
"""

from __future__ import annotations

import pandas as pd
import pytest

from btcmacro import releases
from btcmacro.errors import DataError
from btcmacro.releases import calendar_rows, parse_calendar, published_dates, rule_dates

# (series, period, real release day, previous period)
CASES = [
    # Employment Situation on the second Friday (the old "first Friday" rule was a week early)
    ("fred/PAYEMS", "2023-11-01", "2023-12-08", "2023-10-01"),
    ("fred/PAYEMS", "2024-02-01", "2024-03-08", "2024-01-01"),
    ("fred/PAYEMS", "2022-06-01", "2022-07-08", "2022-05-01"),
    ("fred/UNRATE", "2021-09-01", "2021-10-08", "2021-08-01"),
    ("fred/UNRATE", "2019-12-01", "2020-01-10", "2019-11-01"),
    ("fred/PAYEMS", "2020-12-01", "2021-01-08", "2020-11-01"),
    # October 2013 shutdown
    ("fred/PAYEMS", "2013-09-01", "2013-10-22", "2013-08-01"),
    ("fred/PAYEMS", "2013-10-01", "2013-11-08", "2013-09-01"),
    # CPI later than "the 12th or next business day"
    ("fred/CPIAUCSL", "2024-01-01", "2024-02-13", "2023-12-01"),
    ("fred/CPIAUCSL", "2024-04-01", "2024-05-15", "2024-03-01"),
    ("fred/CPIAUCSL", "2024-07-01", "2024-08-14", "2024-06-01"),
    ("fred/CPILFESL", "2024-10-01", "2024-11-13", "2024-09-01"),
    ("fred/CPILFESL", "2024-12-01", "2025-01-15", "2024-11-01"),
    ("fred/CPIAUCSL", "2025-04-01", "2025-05-13", "2025-03-01"),
    ("fred/CPIAUCSL", "2025-06-01", "2025-07-15", "2025-05-01"),
    # JOLTS: the Wednesday after Labor Day, a later January release
    ("fred/JTSJOL", "2024-07-01", "2024-09-04", "2024-06-01"),
    ("fred/JTSJOL", "2025-01-01", "2025-03-11", "2024-12-01"),
    # GDP advance estimates on Fridays, and the 2018-19 shutdown
    ("fred/GDP", "2018-04-01", "2018-07-27", "2018-01-01"),
    ("fred/GDP", "2019-04-01", "2019-07-26", "2019-01-01"),
    ("fred/GDP", "2018-10-01", "2019-02-28", "2018-07-01"),
    # December 2018 PCE after the shutdown
    ("fred/PCEPILFE", "2018-12-01", "2019-03-01", "2018-11-01"),
]


@pytest.mark.parametrize("sid,period,release,previous", CASES)
def test_day_before_release_shows_previous_period(snapshot_store, sid, period, release, previous):
    day = pd.Timestamp(release)
    before = snapshot_store.series(sid, as_of=day - pd.Timedelta(days=1))
    on = snapshot_store.series(sid, as_of=day)
    assert before.index.max() == pd.Timestamp(previous), (sid, release)
    assert on.index.max() == pd.Timestamp(period), (sid, release)


@pytest.mark.parametrize("rule,period,release", [
    ("employment_situation", "2023-11-01", "2023-12-08"),
    ("employment_situation", "2020-12-01", "2021-01-08"),
    ("cpi", "2015-01-01", "2015-02-26"),
    ("pce", "2016-06-01", "2016-08-02"),
    ("pce", "2013-09-01", "2013-11-08"),
])
def test_calendar_dates_are_used(rule, period, release):
    assert published_dates(rule, [period]).iloc[0] == pd.Timestamp(release)


def test_rules_are_never_earlier_than_any_scheduled_release():
    """Where the rule is the fallback it is never early: for every scheduled date in the
    calendar, the rule alone gives that period a date on or after it."""
    rows = [r for r in calendar_rows() if r["kind"] == "scheduled"]
    assert len(rows) > 450
    early = []
    for r in rows:
        by_rule = rule_dates(r["release"], [r["period"]]).iloc[0]
        if by_rule < r["published"]:
            early.append((r["release"], r["period"].date(), r["published"].date(), by_rule.date()))
    assert early == []


def test_old_rules_would_fail_the_never_early_check():
    # the check can fail: the pre-issue-17 "first Friday" rule was early for Feb 2024
    first_friday = pd.Timestamp("2024-03-01")
    row = next(r for r in calendar_rows()
               if r["release"] == "employment_situation" and r["period"] == pd.Timestamp("2024-02-01"))
    assert first_friday < row["published"] <= rule_dates("employment_situation", ["2024-02-01"]).iloc[0]


@pytest.mark.parametrize("release,first,last,missing", [
    ("employment_situation", "2012-12-01", "2026-11-01", []),
    ("cpi", "2012-12-01", "2026-11-01", []),
    ("pce", "2012-12-01", "2026-07-01", []),
])
def test_calendar_covers_every_month_with_a_source(release, first, last, missing):
    got = {r["period"]: r for r in calendar_rows() if r["release"] == release}
    months = pd.date_range(first, last, freq="MS")
    assert [m for m in months if m not in got] == missing
    assert all(got[m]["source"].strip() for m in months)
    assert releases.calendar_span(release) == (pd.Timestamp(first), pd.Timestamp(last))


def test_cancelled_release_never_appears():
    # October 2025 CPI was never published: the rule does not invent a date for it
    rows = [r for r in calendar_rows() if r["kind"] == "cancelled"]
    assert [(r["release"], r["period"].date().isoformat()) for r in rows] == [("cpi", "2025-10-01")]


def test_weekly_rules_move_past_holidays():
    # NFCI for the week ending Fri 2019-12-20 is due Wed 12-25 (Christmas) -> Thursday
    assert rule_dates("nfci", ["2019-12-20"]).iloc[0] == pd.Timestamp("2019-12-26")
    # H.10 for the week of 2025-01-13 is due Mon 01-20 (Martin Luther King Jr. Day) -> Tuesday
    assert rule_dates("h10", ["2025-01-15"]).iloc[0] == pd.Timestamp("2025-01-21")
    # M2 for November 2018: fourth Tuesday of December 2018 is Christmas -> Wednesday
    assert rule_dates("h6", ["2018-11-01"]).iloc[0] == pd.Timestamp("2018-12-26")
    # GDP: last business day of the month after the quarter (Q1 2018 -> Mon 2018-04-30)
    assert rule_dates("gdp", ["2018-01-01"]).iloc[0] == pd.Timestamp("2018-04-30")
    # PCE: second business day of the second month after (June 2016 -> Tue 2016-08-02)
    assert rule_dates("pce", ["2016-06-01"]).iloc[0] == pd.Timestamp("2016-08-02")


HEAD = "release,period,published,kind,source,note\n"


@pytest.mark.parametrize("body,needle", [
    ("cpi,2024-01-01,2024-02-13,scheduled,,\n", "line 2: every date needs its source"),
    ("cpi,2024-01-01,2024-02-13,slipped,BLS,\n", "line 2: kind 'slipped'"),
    ("cpi,2024-01-01,13/02/2024,scheduled,BLS,\n", "line 2: period and published must be YYYY-MM-DD"),
    ("cpi,2024-01-01,2024-02-13,scheduled,BLS,\ncpi,2024-01-01,2024-02-14,scheduled,BLS,\n",
     "line 3: second row for cpi 2024-01-01"),
    ("cpi,2024-01-01,,scheduled,BLS,\n", "line 2: a cancelled release has no date"),
    ("gpd,2024-01-01,2024-02-13,scheduled,BLS,\n", "line 2: unknown release 'gpd'"),
])
def test_bad_calendar_rows_are_named(body, needle):
    with pytest.raises(DataError) as e:
        parse_calendar(HEAD + body)
    assert needle in str(e.value)
    assert "release_calendar.csv" in str(e.value)


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
def test_every_calendar_note_is_translated(lang):
    from btcmacro.report.i18n import catalog

    c = catalog(lang)
    notes = {r["note"] for r in calendar_rows() if r["note"]}
    assert notes
    for n in notes:
        assert c._match("release_note", n), n
        text = c._delay(f"2013-10: {n}")
        assert (n in text) == (lang == "en"), text


def test_briefing_during_the_2013_shutdown(snapshot_store):
    import btcmacro

    held = btcmacro.briefing("2013-10-21", store=snapshot_store, with_charts=False).metrics["payrolls_change"]
    out = btcmacro.briefing("2013-10-22", store=snapshot_store, with_charts=False).metrics["payrolls_change"]
    assert held.date == "2013-08-01" and out.date == "2013-09-01"
    assert held.status == "stale" and "October 2013 federal shutdown" in held.reason
