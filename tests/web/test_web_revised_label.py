"""Issue 17: the dashboard's series API carries the revised-value label of a revised series."""

from __future__ import annotations


def test_series_api_labels_revised_values(client):
    body = client.get("/api/series", params={"metric": "fred/UNRATE", "as_of": "2025-12-09",
                                             "start": "2025-06-01"}).json()
    assert body["vintage"] == "values as revised by 2026-08-07; first prints may differ"
    walcl = client.get("/api/series", params={"metric": "fred/WALCL", "as_of": "2025-12-09",
                                              "start": "2025-11-01"}).json()
    assert walcl["vintage"] == "as published by 2025-12-09"
