"""btcmacro watch: a baseline, then one line per regime flip or fired trigger; the log carries the state."""

from __future__ import annotations

import json
import shutil

import duckdb
from typer.testing import CliRunner

import btcmacro
from btcmacro.cli import app
from btcmacro.store import Store


def _truncated_copy(src, dst, last_date: str):
    """The snapshot store as if nothing after ``last_date`` had been observed yet."""
    shutil.copy(src, dst)
    con = duckdb.connect(str(dst))
    con.execute("DELETE FROM obs WHERE date > ? OR published_at > ?", [last_date, last_date])
    con.close()


def test_baseline_then_changes(snapshot_store_path, tmp_path):
    store = tmp_path / "store.duckdb"
    log = tmp_path / "watch.jsonl"
    _truncated_copy(snapshot_store_path, store, "2025-12-09")
    runner = CliRunner()
    r1 = runner.invoke(app, ["watch", "--once", "--no-update", "--store", str(store), "--log", str(log)])
    assert r1.exit_code == 0, r1.output
    assert r1.stdout == ""  # a baseline reports no change
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert [r["kind"] for r in recs] == ["state"] and recs[0]["state"]["as_of"] == "2025-12-09"

    # the data then moves on to 2026-08-22
    shutil.copy(snapshot_store_path, store)
    r2 = runner.invoke(app, ["watch", "--once", "--no-update", "--store", str(store), "--log", str(log)])
    assert r2.exit_code == 0, r2.output
    lines = r2.stdout.splitlines()
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    events = [r for r in recs if r["kind"] != "state"]
    assert [e["text"] for e in events] == lines  # one stdout line per logged event
    assert recs[-1]["kind"] == "state" and recs[-1]["state"]["as_of"] == "2026-08-22"
    # the regime flips are exactly the regimes whose state differs between the two dates
    with Store(snapshot_store_path, read_only=True) as st:
        a = btcmacro.briefing("2025-12-09", store=st, with_charts=False).regimes
        b = btcmacro.briefing("2026-08-22", store=st, with_charts=False).regimes
    flips = {rid for rid in b if a[rid]["state"] != b[rid]["state"]}
    assert {e["regime"] for e in events if e["kind"] == "regime_flip"} == flips
    for e in events:
        if e["kind"] == "regime_flip":
            assert e["from"] == a[e["regime"]]["state"] and e["to"] == b[e["regime"]]["state"]
            assert e["text"] == (f"2026-08-22 {b[e['regime']]['name']['en']}: {a[e['regime']]['label']['en']} -> "
                                 f"{b[e['regime']]['label']['en']}")
        else:
            assert e["kind"] in ("trigger_fired", "invalidation_fired")
            assert e["close_date"] == "2026-08-22"
    # a third run on the same data: nothing new
    r3 = runner.invoke(app, ["watch", "--once", "--no-update", "--store", str(store), "--log", str(log)])
    assert r3.exit_code == 0 and r3.stdout == ""


def test_a_log_that_is_not_a_watch_log_is_one_line(snapshot_store_path, tmp_path):
    log = tmp_path / "notes.txt"
    log.write_text("my notes\n")
    r = CliRunner().invoke(app, ["watch", "--once", "--no-update", "--store", str(snapshot_store_path),
                                 "--log", str(log)])
    assert r.exit_code == 2
    assert "line 1 is not JSON" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert log.read_text() == "my notes\n"  # untouched


def test_bad_schedule_is_one_line(tmp_path):
    r = CliRunner().invoke(app, ["watch", "--every", "0", "--no-update", "--store", str(tmp_path / "s.duckdb")])
    assert r.exit_code == 2 and "--every" in r.stderr
