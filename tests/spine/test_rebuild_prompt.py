"""``btcmacro rebuild`` without a terminal (cron, CI, a pipe): it cannot ask, so it says to pass
``--yes`` (it used to print a bare "Aborted.") and touches nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_rebuild_without_a_terminal_says_pass_yes_and_changes_nothing(tmp_path):
    store = tmp_path / "store.duckdb"
    store.write_bytes(b"not a duckdb file, but the user's bytes")  # whatever is there stays
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    env = {**os.environ, "PYTHONPATH": str(SRC), "BTCMACRO_HOME": str(tmp_path / "home")}
    p = subprocess.run([sys.executable, "-m", "btcmacro", "rebuild", "--store", str(store)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines() == [
        f"error: {store}: nothing done: rebuild asks for confirmation and there is no terminal to "
        "answer; pass --yes to rebuild without asking"]
    assert p.stdout == ""
    assert sorted(x.name for x in tmp_path.iterdir()) == ["store.duckdb"]  # nothing moved aside
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
