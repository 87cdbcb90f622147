"""Issue 17: the embedded macro data is one later vintage, so figures from a revised series say
"values as revised by D; first prints may differ" (metrics show, CSV header, API attrs, briefing
JSON and appendix); the briefing note states where publication dates are real and where a rule."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import btcmacro
from btcmacro import api, report
from btcmacro.api import VINTAGE_NOTE
from btcmacro.cli import app
from btcmacro.releases import calendar_span, revised_by
from btcmacro.store import SeriesMeta, Store

runner = CliRunner()


def test_metrics_show_json_and_csv_label_revised_series(snapshot_store_path):
    args = ["--as-of", "2025-12-09", "--start", "2025-06-01", "--store", str(snapshot_store_path)]
    res = runner.invoke(app, ["metrics", "show", "payrolls_change", "--format", "json", *args])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # PAYEMS in the snapshot runs to July 2026, released 2026-08-07 (BLS schedule)
    assert doc["vintage"] == "values as revised by 2026-08-07; first prints may differ"
    assert "as published by" not in res.stdout
    res = runner.invoke(app, ["metrics", "show", "fred/CPIAUCSL", *args])
    head = res.stdout.splitlines()[0]
    assert head.endswith("| values as revised by 2026-08-12; first prints may differ"), head
    # H.4.1 levels are not revised: the as-of wording stays
    res = runner.invoke(app, ["metrics", "show", "fed_total_assets", "--format", "json", *args])
    assert json.loads(res.stdout)["vintage"] == "as published by 2025-12-09"


def test_api_series_attrs(snapshot_store):
    s = api.series("fred/GDP", as_of="2025-12-09", store=snapshot_store)
    # GDP's copy ends with Q2 2026: BEA's advance estimate is due by 2026-07-31 (never-early rule)
    assert s.attrs["vintage"] == "values as revised by 2026-07-31; first prints may differ"


def test_briefing_json_and_appendix(snapshot_store):
    b = btcmacro.briefing("2025-12-09", store=snapshot_store, with_charts=False)
    doc = b.to_json()
    assert doc["metrics"]["unemployment_rate"]["revised_by"] == "2026-08-07"
    assert doc["metrics"]["core_pce_yoy"]["revised_by"] == "2026-07-30"  # BEA, July 2026 PCE
    assert "revised_by" not in doc["metrics"]["fed_total_assets"]
    assert "revised_by" not in doc["metrics"]["btc_price"]
    en = report.render(b, "md", "en")
    zh = report.render(b, "md", "zh-TW")
    row = next(line for line in en.splitlines() if line.startswith("| Unemployment rate"))
    assert "values as revised by 2026-08-07; first prints may differ" in row
    assert "數值為截至2026年8月7日的修正值，可能與首次公布值不同" in zh
    assert "first prints" not in zh


def test_first_prints_need_no_label():
    s = Store()
    meta = SeriesMeta("fred/PAYEMS", "FRED", "Nonfarm payrolls", "thousands", "monthly", "employment_situation")
    f = pd.DataFrame([("2024-05-01", 158300.0, "2024-06-07")], columns=["date", "value", "published_at"])
    s.write_series(meta, f, vintage="snapshot-2026-08-22-abc")
    assert revised_by(s, ["fred/PAYEMS"], "2024-05-01", "2024-06-30") == "2026-08-07"
    alfred = pd.DataFrame([("2024-05-01", 158000.0, "2024-06-07")], columns=["date", "value", "published_at"])
    s.write_many([(meta, alfred, True)])
    assert revised_by(s, ["fred/PAYEMS"], "2024-05-01", "2024-06-30") is None
    assert revised_by(s, ["fred/WALCL"], "2024-05-01", None) is None  # not a revised series


def test_note_states_the_calendar_spans_it_covers():
    def month(ts):
        return ts.strftime("%B %Y")

    for rel, label in (("employment_situation", "payrolls, unemployment and CPI"), ("cpi", "payrolls, unemployment and CPI"),
                       ("pce", "PCE")):
        first, last = calendar_span(rel)
        assert f"{label} ({month(first)} to {month(last)})" in VINTAGE_NOTE, rel
    assert "follow the real release calendar." not in VINTAGE_NOTE
