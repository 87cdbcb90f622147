"""Store: vintages, idempotence, as-of reads, atomic writes, locking, corruption."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from btcmacro.errors import StoreCorrupt, StoreError, StoreLocked
from btcmacro.store import SeriesMeta, Store

META = SeriesMeta("fred/PAYEMS", "FRED", "Nonfarm payrolls", "thousands", "monthly", "employment_situation")


def frame(rows):
    return pd.DataFrame(rows, columns=["date", "value", "published_at"])


def test_new_unchanged_revised_and_as_of():
    s = Store()
    first = frame([("2025-08-01", 159540.0, "2025-09-05"), ("2025-09-01", 159659.0, "2025-11-20")])
    r = s.write_series(META, first)
    assert (r.new, r.revised, r.unchanged) == (2, 0, 0)
    r = s.write_series(META, first)  # idempotent: nothing new
    assert (r.new, r.revised, r.unchanged) == (0, 0, 2)
    assert s.counts() == (1, 2)
    # the September value is revised in the December report
    rev = frame([("2025-09-01", 159551.0, "2025-12-16")])
    r = s.write_series(META, rev)
    assert (r.new, r.revised, r.unchanged) == (0, 1, 0)
    assert s.series("fred/PAYEMS", as_of="2025-12-15").loc["2025-09-01"] == 159659.0
    assert s.series("fred/PAYEMS", as_of="2025-12-16").loc["2025-09-01"] == 159551.0
    assert s.series("fred/PAYEMS").loc["2025-09-01"] == 159551.0
    # before the first print the month does not exist at all
    assert "2025-09-01" not in s.series("fred/PAYEMS", as_of="2025-11-19").index.strftime("%Y-%m-%d")
    v = s.vintages("fred/PAYEMS", "2025-09-01")
    assert list(v["value"]) == [159659.0, 159551.0]  # both kept


def test_missing_value_is_stored_as_missing_not_dropped():
    s = Store()
    s.write_series(META, frame([("2025-10-01", np.nan, "2025-12-16"), ("2025-11-01", 1.0, "2025-12-16")]))
    got = s.series("fred/PAYEMS")
    assert len(got) == 2 and np.isnan(got.loc["2025-10-01"])
    # writing the same NaN again is 'unchanged', not a new vintage
    r = s.write_series(META, frame([("2025-10-01", np.nan, "2025-12-17")]))
    assert (r.new, r.revised, r.unchanged) == (0, 0, 1)


def test_duplicate_dates_rejected_and_nothing_written():
    s = Store()
    with pytest.raises(StoreError, match="duplicate date 2025-01-01"):
        s.write_series(META, frame([("2025-01-01", 1.0, "2025-02-07"), ("2025-01-01", 2.0, "2025-02-07")]))
    assert s.counts() == (0, 0)


def test_failed_write_rolls_back(monkeypatch, tmp_path):
    s = Store(tmp_path / "s.duckdb")
    s.write_series(META, frame([("2025-01-01", 1.0, "2025-02-07")]))
    before = s.checksum()
    bad = frame([("2025-02-01", 2.0, "2025-03-07"), ("2025-03-01", 3.0, "2025-04-04")])
    orig = s.con.execute

    def failing(sql, *a, **k):
        if sql.strip().startswith("INSERT INTO series"):
            raise __import__("duckdb").IOException("No space left on device")
        return orig(sql, *a, **k)

    monkeypatch.setattr(s, "con", type("C", (), {"execute": staticmethod(failing),
                                                 "register": orig.__self__.register,
                                                 "unregister": orig.__self__.unregister})())
    with pytest.raises(StoreError) as e:
        s.write_series(META, bad)
    assert "s.duckdb" in str(e.value) and "fred/PAYEMS" in str(e.value)
    monkeypatch.undo()
    assert s.checksum() == before


def test_second_writer_fails_fast_naming_pid(tmp_path):
    path = tmp_path / "locked.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print('ready', flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLocked) as e:
            Store(path)
        assert f"process {holder.pid}" in str(e.value)
    finally:
        holder.kill()
        holder.wait()


def test_non_duckdb_file_is_refused_without_rebuild_advice(tmp_path):
    path = tmp_path / "bad.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 1000)
    with pytest.raises(StoreError) as e:
        Store(path)
    # not a store: rebuild (which renames the file) is not advised for someone else's file
    assert str(path) in str(e.value) and "not a btcmacro store" in str(e.value)
    assert "btcmacro rebuild" not in str(e.value)
    assert path.read_bytes().startswith(b"this is not")  # never replaced silently


def test_damaged_store_file_is_store_corrupt_with_rebuild_hint(tmp_path):
    path = tmp_path / "store.duckdb"
    Store(path).close()
    raw = bytearray(path.read_bytes())
    raw[4096:8192] = b"\xff" * 4096  # overwrite DuckDB's database headers, keep its signature
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreCorrupt) as e:
        Store(path)
    assert str(path) in str(e.value) and f"btcmacro rebuild --store {path}" in str(e.value)
    assert path.read_bytes() == bytes(raw)


def test_read_only_open_of_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        Store(tmp_path / "none.duckdb", read_only=True)
