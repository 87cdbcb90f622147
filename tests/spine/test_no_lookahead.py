"""No look-ahead: a briefing as of D equals the one computed from data truncated at D's cut-off."""

from __future__ import annotations

import pytest

import btcmacro
from btcmacro import data
from btcmacro.store import Store


def _strip(doc: dict) -> dict:
    doc = dict(doc)
    doc.pop("generated_at")
    doc.pop("data_version")
    # where the store's data end (a fact about the store, like data_version) and the first-screen
    # line that reports it; everything else, thesis and changes included, must be equal
    doc["freshness"] = {k: v for k, v in doc["freshness"].items() if k != "data_through"}
    doc["first_screen"] = {lang: {k: v for k, v in fs.items() if k != "freshness"}
                           for lang, fs in doc["first_screen"].items()}
    return doc


@pytest.mark.parametrize("as_of", ["2025-09-04", "2025-12-09", "2025-12-15", "2026-01-08"])
def test_briefing_equals_truncated_store(as_of, snapshot_store, tmp_path):
    full = btcmacro.briefing(as_of, store=snapshot_store, with_charts=False).to_json()
    with Store(tmp_path / "cut.duckdb") as cut:
        data.install_into(cut, published_by=as_of)
        truncated = btcmacro.briefing(as_of, store=cut, with_charts=False).to_json()
    assert _strip(full) == _strip(truncated)
    for mid, m in full["metrics"].items():
        if m.get("published_at"):
            assert m["published_at"] <= as_of, mid


def test_payrolls_not_visible_the_thursday_before_release(snapshot_store):
    # August 2025 payrolls were released Friday 2025-09-05
    thu = btcmacro.briefing("2025-09-04", store=snapshot_store, with_charts=False).metrics["payrolls_change"]
    fri = btcmacro.briefing("2025-09-05", store=snapshot_store, with_charts=False).metrics["payrolls_change"]
    assert thu.date == "2025-07-01" and fri.date == "2025-08-01"
    # the shutdown: September 2025 payrolls only appeared on 2025-11-20
    nov19 = btcmacro.briefing("2025-11-19", store=snapshot_store, with_charts=False).metrics["payrolls_change"]
    assert nov19.date == "2025-08-01" and nov19.status in ("ok", "stale")


@pytest.mark.parametrize("as_of", ["2012-06-01", "2025-12-09", "2026-08-22"])
def test_every_figure_has_date_and_source_or_a_reason(as_of, snapshot_store):
    doc = btcmacro.briefing(as_of, store=snapshot_store, with_charts=False).to_json()
    assert doc["metrics"]
    for mid, m in doc["metrics"].items():
        if m["status"] in ("ok", "stale"):
            assert m["date"] and m["source"] and m["date"] <= as_of, mid
            assert m["value"] is not None, mid
        else:
            assert m["status"] == "unavailable" and m["reason"], mid
        if m["status"] == "stale":
            # counted from the release (published_at), or from the period when no release date is known
            assert m["reason"].startswith(("published ", "latest value is for")), mid
