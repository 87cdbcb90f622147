"""Start-up: help and argument errors load none of the heavy libraries (issue 14), and the first
briefing on a new store says that the snapshot is loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from btcmacro.cli import app

SRC = str(Path(__file__).resolve().parents[2] / "src")
HEAVY = ("pandas", "duckdb", "numpy", "numba", "fastapi", "statsmodels", "httpx", "pyarrow", "plotly",
         "matplotlib", "uvicorn", "ccxt", "rich.progress", "rich.markdown")

PROBE = """
import sys
sys.argv = ["btcmacro", *sys.argv[1:]]
from btcmacro.__main__ import *  # noqa -- runs the CLI like `python -m btcmacro`
"""
REPORT = """
import atexit, sys
HEAVY = {heavy!r}
atexit.register(lambda: sys.__stderr__.write("LOADED:" + ",".join(m for m in HEAVY if m in sys.modules) + "\\n"))
"""


@pytest.mark.parametrize("args,code", [
    (["--help"], 0),
    (["chain", "--help"], 0),
    (["brief", "--help"], 0),
    (["update", "--help"], 0),
    (["analyze", "--help"], 0),
    (["brief", "--format", "txt"], 2),
    (["brief", "--lang", "fr"], 2),
    (["brief", "--bogus"], 2),
    (["metrics", "list", "--format", "xml"], 2),
    (["metrics", "show", "mvrv", "--format", "xml"], 2),
    (["chain", "sync", "--bogus"], 2),
    (["serve", "--port", "http"], 2),
])
def test_help_and_argument_errors_stay_light(args, code, tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               BTCMACRO_HOME=str(tmp_path / "home"), BTCMACRO_CONFIG_DIR=str(tmp_path / "cfg"))
    r = subprocess.run([sys.executable, "-c", REPORT.format(heavy=HEAVY) + PROBE, *args], env=env,
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == code, r.stderr
    loaded = [line for line in r.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded == ["LOADED:"], (args, loaded)
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "home").exists()  # nothing created for help or a refused argument


def test_first_brief_says_the_snapshot_is_loading(tmp_path):
    runner = CliRunner()
    store = tmp_path / "new.duckdb"
    args = ["brief", "--as-of", "2024-06-24", "--format", "json", "--store", str(store)]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a.json")])
    assert first.exit_code == 0, first.output
    lines = first.stderr.strip().splitlines()
    assert lines[0] == (f"Loading the embedded data snapshot into {store} (first use; a few seconds, "
                        "once)...")
    assert lines[-1] == f"wrote {tmp_path / 'a.json'}"
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "b.json")])
    assert again.exit_code == 0 and again.stderr.strip().splitlines() == [f"wrote {tmp_path / 'b.json'}"]
