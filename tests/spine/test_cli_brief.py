"""CLI wiring: exit codes, one-line errors, store left unchanged."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from btcmacro.cli import app

runner = CliRunner()


@pytest.fixture()
def store_opt(snapshot_store_path, tmp_path):
    import shutil

    p = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, p)
    return ["--store", str(p)]


def _one_line_error(res, code, *needles):
    assert res.exit_code == code, (res.exit_code, res.output)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    for n in needles:
        assert n in err[0]


def test_metrics_list_json():
    res = runner.invoke(app, ["metrics", "list", "--format", "json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    ids = {r["id"] for r in rows}
    assert {"net_liquidity", "qt_status", "m2_yoy"} <= ids
    r = next(r for r in rows if r["id"] == "net_liquidity")
    assert r["unit"] == "USD" and "FRED:WALCL" in r["source"] and r["name_zh_tw"]


def test_metrics_show_csv_as_of(store_opt):
    res = runner.invoke(app, ["metrics", "show", "fed_total_assets", "--as-of", "2025-12-09",
                              "--start", "2025-11-20", *store_opt])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("# fed_total_assets | unit: USD | source: FRED:WALCL | as_of: 2025-12-09")
    assert lines[1] == "date,value"
    assert lines[-1] == "2025-12-03,6535781000000"  # the 2025-12-10 level is published 12-11


def test_unknown_metric(store_opt):
    _one_line_error(runner.invoke(app, ["metrics", "show", "nope", *store_opt]), 2, "nope", "unknown")


@pytest.mark.parametrize("as_of,needle", [("2001-01-01", "before the data"), ("2030-01-01", "after the data"),
                                          ("yesterday", "not a date")])
def test_bad_dates(as_of, needle, store_opt):
    from btcmacro.store import Store

    path = store_opt[1]
    with Store(path, read_only=True) as s:
        before = s.checksum()
    _one_line_error(runner.invoke(app, ["brief", "--as-of", as_of, "--format", "json", "--out", "-", *store_opt]), 2, needle)
    with Store(path, read_only=True) as s:
        assert s.checksum() == before


def test_unknown_language_and_format(store_opt):
    _one_line_error(runner.invoke(app, ["brief", "--lang", "fr", *store_opt]), 2, "fr")
    _one_line_error(runner.invoke(app, ["brief", "--format", "pdfx", *store_opt]), 2, "pdfx")


def test_damaged_store(tmp_path):
    p = tmp_path / "bad.duckdb"
    p.write_bytes(b"\x00garbage" * 5000)
    res = runner.invoke(app, ["brief", "--format", "json", "--store", str(p)])
    _one_line_error(res, 6, str(p), "not a btcmacro store")
    assert "btcmacro rebuild" not in res.stderr  # rebuild renames files: advised only for a btcmacro store
    assert p.read_bytes().startswith(b"\x00garbage")


def test_brief_json_to_stdout(store_opt):
    res = runner.invoke(app, ["brief", "--as-of", "2025-12-09", "--format", "json", "--out", "-", *store_opt])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["as_of"] == "2025-12-09"
    m = doc["metrics"]["net_liquidity"]
    assert m["unit"] == "USD" and m["date"] == "2025-12-03" and m["status"] == "ok"
    assert set(doc) >= {"as_of", "generated_at", "data_version", "metrics", "regimes", "levels", "scenarios"}
