"""Staleness from the release calendar, not the reference period (issue 11, item 3)."""

from __future__ import annotations

import pandas as pd

from btcmacro.registry import next_release_due


def test_next_release_follows_the_calendar():
    # September 2025 payrolls -> the October report, folded into the November one on 2025-12-16
    assert next_release_due("fred/PAYEMS", "2025-09-01") == ("monthly", pd.Timestamp("2025-12-16"))
    # September 2025 CPI -> October CPI was never published: the next release is November's, 2025-12-18
    assert next_release_due("fred/CPIAUCSL", "2025-09-01") == ("monthly", pd.Timestamp("2025-12-18"))
    # an H.4.1 Wednesday -> next Wednesday's level, published the Thursday after it
    assert next_release_due("fred/WALCL", "2025-12-03") == ("weekly", pd.Timestamp("2025-12-11"))
    # a Friday market close -> Saturday's close under the same-day rule
    assert next_release_due("cmc/btc_close", "2025-12-05") == ("daily", pd.Timestamp("2025-12-06"))


def test_irregular_series_have_no_schedule():
    assert next_release_due("sec/mstr_holdings", "2025-12-08") is None
    assert next_release_due("no/such_series", "2025-12-08") is None
