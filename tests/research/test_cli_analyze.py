"""`btcmacro analyze ...`: wiring, formats, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from btcmacro.cli import app

runner = CliRunner()


def test_fomc_json(research_store_path):
    r = runner.invoke(app, ["analyze", "fomc", "--window", "-1,+1", "--format", "json",
                            "--store", str(research_store_path)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["meta"]["window"] == [-1, 1]
    assert doc["sections"][0]["tables"][0]["rows"][0]["asset"] == "BTC"


def test_sensitivity_markdown_to_file_with_chart(research_store_path, tmp_path):
    out = tmp_path / "sens.md"
    r = runner.invoke(app, ["analyze", "sensitivity", "--freq", "M", "--format", "md", "--out", str(out),
                            "--store", str(research_store_path)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("# BTC sensitivity") and "Verdict" in text
    assert (tmp_path / "sens-rolling.png").exists()


@pytest.mark.parametrize("args,code,msg", [
    (["analyze", "fomc", "--window", "2,4"], 2, "--window"),
    (["analyze", "sensitivity", "--freq", "Q"], 2, "--freq"),
    (["analyze", "sensitivity", "--format", "pdf"], 2, "--format"),
    (["analyze", "sensitivity", "--start", "not-a-date"], 2, "--start"),
    (["analyze", "backtest", "--rules", "/nonexistent/rules.toml"], 3, "rules file not found"),
    (["analyze", "backtest", "--horizons", "x"], 2, "--horizons"),
])
def test_errors_are_one_line(research_store_path, args, code, msg):
    r = runner.invoke(app, args + ["--store", str(research_store_path)])
    assert r.exit_code == code
    err = r.stderr.strip()
    assert err.startswith("error:") and msg in err and len(err.splitlines()) == 1
    assert "Traceback" not in r.output
