"""btcmacro.inputs: the one date parser and the one output-path mechanism (library level)."""

from __future__ import annotations

import datetime as dt
import os
import stat

import numpy as np
import pandas as pd
import pytest

from btcmacro.errors import UsageError
from btcmacro.inputs import output_dir, output_file, parse_date, parse_range, store_file, write_text_atomic


# ------------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,day", [
    ("2025-12-09", "2025-12-09"), ("2024-02-29", "2024-02-29"), ("2009-01-03", "2009-01-03"),
    (dt.date(2025, 12, 9), "2025-12-09"), (dt.datetime(2025, 12, 9, 17, 30), "2025-12-09"),
    (pd.Timestamp("2025-12-09 23:59"), "2025-12-09"), (np.datetime64("2025-12-09"), "2025-12-09"),
])
def test_accepted_dates(value, day):
    d = parse_date(value, "--as-of")
    assert isinstance(d, pd.Timestamp) and d == pd.Timestamp(day) and d == d.normalize()


def test_none_stays_none():
    assert parse_date(None) is None
    assert parse_range(None, None) == (None, None)


@pytest.mark.parametrize("value,needle", [
    ("", "empty"), ("   ", "empty"), ("NaT", "not a date"), ("nat", "not a date"),
    ("20251209", "not a date"), ("2025", "not a date"), ("Dec 9 2025", "not a date"),
    ("2025-12-9", "not a date"), ("2025/12/09", "not a date"), (" 2025-12-09", "not a date"),
    ("2025-12-09\n", "not a date"), ("2025-12-09T00:00", "not a date"), ("2025-12-09+02:00", "not a date"),
    ("２０２５-１２-０９", "not a date"), ("bogus", "not a date"),
    ("2025-02-30", "not a day of the calendar"), ("2025-13-01", "not a day of the calendar"),
    ("2023-02-29", "not a day of the calendar"), ("0001-01-01", "outside the supported years"),
    ("9999-12-31", "outside the supported years"),
    (pd.NaT, "NaT"), (float("nan"), "NaT"), (np.datetime64("NaT"), "NaT"),
    (pd.Timestamp("2025-12-09", tz="UTC"), "time zone"),
    (dt.datetime(2025, 12, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))), "time zone"),
    (20251209, "not a date: a int"), (True, "not a date: a bool"),
])
def test_refused_dates(value, needle):
    with pytest.raises(UsageError) as e:
        parse_date(value, "--start")
    assert e.value.where == "--start" and needle in e.value.message
    assert "\n" not in str(e.value)


def test_start_after_end():
    assert parse_range("2025-01-01", "2025-01-01") == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01"))
    with pytest.raises(UsageError, match="2025-02-01 is after --end 2025-01-31"):
        parse_range("2025-02-01", "2025-01-31")


# ------------------------------------------------------------------------------------------------
# output paths
# ------------------------------------------------------------------------------------------------

def _refused(path, needle, fn=output_file):
    with pytest.raises(UsageError) as e:
        fn(path)
    assert needle in str(e.value) and str(e.value).startswith("--out ")
    return e.value


def test_regular_file_and_new_file(tmp_path):
    assert output_file(tmp_path / "new.html") == tmp_path / "new.html"
    (tmp_path / "old.html").write_text("x")
    assert output_file(tmp_path / "old.html") == tmp_path / "old.html"


def test_refuses_directory_device_fifo_socket(tmp_path):
    _refused(tmp_path, "is a directory")
    _refused("/dev/null", "is a character device")
    _refused("/dev/full", "is a character device")
    os.mkfifo(tmp_path / "fifo")
    _refused(tmp_path / "fifo", "is a FIFO")
    import socket

    sock_path = tmp_path / "s.sock"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        _refused(sock_path, "is a socket")
    finally:
        s.close()


def test_refuses_missing_or_file_parent(tmp_path):
    _refused(tmp_path / "missing" / "x.html", "does not exist")
    _refused("/proc/x/y.html", "the directory /proc/x does not exist")
    (tmp_path / "f").write_text("x")
    _refused(tmp_path / "f" / "x.html", "is a file, not a directory")
    assert not (tmp_path / "missing").exists()


def test_refuses_unwritable_directory(tmp_path, monkeypatch):
    d = tmp_path / "ro"
    d.mkdir()
    import btcmacro.inputs as inputs

    # the tests may run as root, for whom every directory is writable: ask os.access about d as a user would
    real = os.access
    monkeypatch.setattr(inputs.os, "access", lambda p, mode: False if os.fspath(p) == str(d) else real(p, mode))
    _refused(d / "x.html", f"no permission to write in {d}")
    assert os.listdir(d) == []


def test_symlinks_are_followed_and_kept(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.html"
    link.symlink_to("real.html")
    assert output_file(link) == real
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == "real.html"
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o640
    (tmp_path / "dangling").symlink_to("nowhere.html")
    _refused(tmp_path / "dangling", "symbolic link to a file that does not exist")
    (tmp_path / "devlink").symlink_to("/dev/full")
    _refused(tmp_path / "devlink", "is a character device")
    (tmp_path / "dirlink").symlink_to(tmp_path)
    _refused(tmp_path / "dirlink", "is a directory")


def test_atomic_write_leaves_no_temp_and_keeps_old_on_failure(tmp_path):
    target = tmp_path / "b.json"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["b.json"]
    from btcmacro.inputs import write_atomic

    def boom(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UsageError, match="No space left on device"):
        write_atomic(target, boom)
    assert target.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["b.json"]


def test_longest_file_name(tmp_path):
    target = tmp_path / ("b" * 250 + ".json")  # 255 bytes, the usual limit
    assert write_text_atomic(target, "x") == target and target.read_text() == "x"


def test_output_dir(tmp_path):
    d = output_dir(tmp_path / "b_files")
    assert d.is_dir()
    assert output_dir(tmp_path / "b_files") == d  # an existing folder is reused
    (tmp_path / "c_files").write_text("x")
    _refused(tmp_path / "c_files", "a folder for the charts is needed", fn=output_dir)


def test_store_file(tmp_path):
    assert store_file(tmp_path / "s.duckdb") == tmp_path / "s.duckdb"
    with pytest.raises(UsageError, match="--store /proc/x/s.duckdb: the directory /proc/x does not exist"):
        store_file("/proc/x/s.duckdb")
    with pytest.raises(UsageError, match="is a directory, not a database file"):
        store_file(tmp_path, "--index")
    with pytest.raises(UsageError, match="is a character device"):
        store_file("/dev/null")
    deep = tmp_path / "a" / "b" / "s.duckdb"
    with pytest.raises(UsageError, match="does not exist"):
        store_file(deep)
    assert store_file(deep, create_parent=True) == deep and deep.parent.is_dir()


def test_api_dates_use_the_one_parser(snapshot_store):
    """btcmacro.series / briefing: the loose forms pandas would accept are refused."""
    from btcmacro import api

    for bad in ("20251209", "Dec 9 2025", "", "NaT"):
        with pytest.raises(UsageError):
            api.series("fed_total_assets", start=bad, store=snapshot_store)
        with pytest.raises(UsageError):
            api.briefing(bad, store=snapshot_store)
    with pytest.raises(UsageError, match="time zone"):
        api.series("fed_total_assets", as_of=pd.Timestamp("2025-12-09", tz="UTC"), store=snapshot_store)
    with pytest.raises(UsageError, match="is after"):
        api.series("fed_total_assets", start="2025-12-09", end="2025-12-01", store=snapshot_store)
    s = api.series("fed_total_assets", start=dt.date(2025, 11, 20), end="2025-12-03", as_of="2025-12-09",
                   store=snapshot_store)
    assert s.index[0] >= pd.Timestamp("2025-11-20") and s.index[-1] == pd.Timestamp("2025-12-03")
    assert s.iloc[-1] == 6535781000000  # WALCL for 2025-12-03 (published 2025-12-04)
