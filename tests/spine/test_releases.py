"""Publication dates: rules and the real (slipped) calendar."""

from __future__ import annotations

import pandas as pd

from btcmacro.releases import published_dates, override_note


def days(rule, dates):
    return [d.date().isoformat() for d in published_dates(rule, dates)]


def test_h41_thursday_and_holiday_shift():
    # Wednesday levels are published Thursday; Thanksgiving 2025-11-27 and Christmas 2025-12-25
    # move the release to Friday.
    assert days("h41", ["2025-12-03", "2025-11-26", "2025-12-24"]) == ["2025-12-04", "2025-11-28", "2025-12-26"]


def test_shutdown_delayed_employment_reports():
    got = days("employment_situation", ["2025-08-01", "2025-09-01", "2025-10-01", "2025-11-01"])
    assert got == ["2025-09-05", "2025-11-20", "2025-12-16", "2025-12-16"]
    assert "shutdown" in override_note("employment_situation", "2025-09-01")


def test_rule_fallback_first_friday():
    # no calendar entry for May 2024 -> first Friday of June 2024 (the real date was 2024-06-07)
    assert days("employment_situation", ["2024-05-01"]) == ["2024-06-07"]


def test_other_rules():
    assert days("next_business_day", ["2025-12-05", "2025-12-06", "2025-12-08"]) == ["2025-12-08", "2025-12-08", "2025-12-09"]
    assert days("h6", ["2025-10-01", "2025-11-01"]) == ["2025-11-25", "2025-12-23"]  # real H.6 dates
    assert days("jolts", ["2025-09-01", "2025-10-01"]) == ["2025-12-09", "2025-12-09"]
    assert days("cpi", ["2025-09-01"]) == ["2025-10-24"]
    assert days("pce", ["2025-09-01", "2025-10-01"]) == ["2025-12-05", "2026-01-22"]
    assert days("gdp", ["2024-07-01", "2025-07-01"]) == ["2024-10-31", "2025-12-23"]
    assert days("next_day", ["2025-12-31"]) == ["2026-01-01"]
    assert published_dates("same_day", []).empty
