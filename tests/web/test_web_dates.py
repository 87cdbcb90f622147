"""The dashboard parses dates with btcmacro.inputs.parse_date, the parser of the CLI and the API."""

from __future__ import annotations

import pytest

from btcmacro.errors import UsageError
from btcmacro.inputs import parse_date
from btcmacro.web.app import WebError, check_date

CASES = ["2025-12-09", "2024-02-29", "2025-02-30", "20251209", "2025", "Dec 9 2025", "NaT", "2025-12-09\n",
         "2025-12-09T00:00+02:00", "２０２５-１２-０９", "0001-01-01", "2025-1-9", " 2025-12-09"]


@pytest.mark.parametrize("value", CASES)
def test_dashboard_and_cli_agree(value):
    try:
        parse_date(value, "as_of")
        cli_ok = True
    except UsageError:
        cli_ok = False
    try:
        assert check_date(value, "as_of") == value
        web_ok = True
    except WebError as e:
        assert e.status == 422
        web_ok = False
    assert web_ok == cli_ok
    assert cli_ok == (value in ("2025-12-09", "2024-02-29"))


def test_csv_export_refuses_start_after_end(client):
    r = client.get("/api/series.csv", params={"metric": "sofr", "start": "2025-12-09", "end": "2025-12-01"})
    assert r.status_code == 422 and "start is after end" in r.text
    r = client.get("/api/series.csv", params={"metric": "sofr", "start": "2025-12-01", "end": "2025-12-09"})
    assert r.status_code == 200 and r.text.startswith("date,sofr\n2025-12-01,")
