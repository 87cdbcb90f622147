"""Issue 13: bad dates, output paths and option values give one stderr line and an exit code,
and leave the store, the index and the user's files as they were (CLI wiring)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from btcmacro.cli import app
from btcmacro.store import Store

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(res, code: int, *needles: str) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


@pytest.fixture()
def store(snapshot_store_path, tmp_path):
    p = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, p)
    with Store(p, read_only=True) as s:
        before = s.checksum()
    yield p
    with Store(p, read_only=True) as s:
        assert s.checksum() == before, "the store changed"


# ------------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of,needle", [
    ("", "the date is empty"), ("NaT", "not a date: 'NaT'"), ("2025-12-09T00:00+08:00", "not a date"),
    ("20251209", "not a date: '20251209'"), ("2025", "not a date: '2025'"), ("Dec 9 2025", "not a date"),
    ("2025-02-30", "2025-02-30 is not a day of the calendar"),
])
def test_brief_as_of(as_of, needle, store, tmp_path):
    one_line(run("brief", "--as-of", as_of, "--format", "json", "--out", tmp_path / "b.json", "--store", store),
             2, "--as-of", needle, "YYYY-MM-DD")
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("args,needle", [
    (("--start", "bogus"), "--start: not a date: 'bogus'"),
    (("--start", "2025-02-30"), "--start: 2025-02-30 is not a day of the calendar"),
    (("--end", "2025-12-09T00:00:00+01:00"), "--end: not a date"),
    (("--as-of", "NaT"), "--as-of: not a date"),
    (("--start", ""), "--start: the date is empty"),
    (("--start", "2025-12-09", "--end", "2025-12-01"), "--start: 2025-12-09 is after --end 2025-12-01"),
])
def test_metrics_show_dates(args, needle, store):
    one_line(run("metrics", "show", "fed_total_assets", *args, "--store", store), 2, needle)


def test_analyze_and_update_dates(store):
    one_line(run("analyze", "sensitivity", "--start", "20130101", "--store", store), 2, "--start", "not a date")
    one_line(run("analyze", "backtest", "--start", "2020-01-01", "--end", "2019-01-01", "--store", store),
             2, "is after --end")
    one_line(run("update", "--since", "Dec 9 2025", "--store", store), 2, "--since", "not a date")


# ------------------------------------------------------------------------------------------------
# output paths (brief --out and the Markdown chart folder, analyze --out, --store)
# ------------------------------------------------------------------------------------------------

def brief_to(out, store, fmt="json"):
    return run("brief", "--as-of", "2025-12-09", "--format", fmt, "--out", out, "--store", store)


def char_device(tmp_path) -> Path:
    """A character device to aim at: a private copy of /dev/full (1,7) when the tests run as root,
    so that a regression can never replace the system's node; else /dev/full itself (a user
    cannot replace it)."""
    p = tmp_path / "full"
    try:
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        return p
    except (PermissionError, OSError):
        return Path("/dev/full")


def test_out_device_is_refused_and_not_replaced(store, tmp_path):
    dev = char_device(tmp_path)
    one_line(brief_to(dev, store), 2, f"--out {dev}", "character device")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def test_out_fifo_and_directory_refused(store, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    one_line(brief_to(fifo, store), 2, "FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    one_line(brief_to(tmp_path, store), 2, "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "store.duckdb"]


@pytest.mark.parametrize("out,needle", [("/proc/x/y.html", "the directory /proc/x does not exist"),
                                        ("/etc/hostname/x.html", "not a directory")])
def test_impossible_out(out, needle, store):
    one_line(brief_to(out, store, "html"), 2, out, needle)


def test_out_symlink_followed(store, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "brief.json"
    link.symlink_to(real.name)
    res = brief_to(link, store)
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_text().startswith('{\n "as_of": "2025-12-09"')
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("nowhere.json")
    one_line(brief_to(dangling, store), 2, "symbolic link to a file that does not exist")
    assert not (tmp_path / "nowhere.json").exists()


def test_markdown_chart_folder_must_be_a_folder(store, tmp_path):
    (tmp_path / "b_files").write_text("mine")
    one_line(brief_to(tmp_path / "b.md", store, "md"), 2, "b_files", "a folder for the charts is needed")
    assert (tmp_path / "b_files").read_text() == "mine" and not (tmp_path / "b.md").exists()


def test_analyze_out_refused(store, tmp_path):
    one_line(run("analyze", "fomc", "--out", tmp_path, "--store", store), 2, "is a directory")
    dev = char_device(tmp_path)
    one_line(run("analyze", "fomc", "--out", dev, "--store", store), 2, "character device")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


@pytest.mark.parametrize("path,needle", [("/proc/x/s.duckdb", "the directory /proc/x does not exist"),
                                         ("/etc/hostname/s.duckdb", "not a directory"),
                                         ("DEVICE", "character device, not a database file")])
def test_impossible_store(path, needle, tmp_path):
    if path == "DEVICE":
        path = char_device(tmp_path)
    one_line(run("metrics", "show", "fed_total_assets", "--store", path), 2, "--store", needle)
    one_line(run("update", "--store", path), 2, "--store", needle)


# ------------------------------------------------------------------------------------------------
# option values
# ------------------------------------------------------------------------------------------------

def test_metrics_list_unknown_format():
    one_line(run("metrics", "list", "--format", "xml"), 2, "--format", "'xml'", "table, json or csv")
    assert run("metrics", "list", "--format", "csv").stdout.startswith("id,name,")


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_fomc_est_days(days, store):
    one_line(run("analyze", "fomc", "--est-days", days, "--store", store), 2, "--est-days", "from 5 to 750")


def test_urpd_buckets_capped(store, tmp_path):
    index = tmp_path / "chain.duckdb"
    for n in ("1000000000000", "1001", "0"):
        one_line(run("chain", "urpd", "--buckets", n, "--store", store, "--index", index), 2,
                 "--buckets", "from 1 to 1000")
    assert not index.exists()


@pytest.fixture(scope="module")
def blocks_dir(tmp_path_factory):
    from _chainhelp import BLOCKS, write_blk

    from btcmacro.chain.blkfile import scan_file

    raws = [r.data for r in scan_file(BLOCKS / "blk_0_to_255.dat").records]
    d = tmp_path_factory.mktemp("blocks")
    write_blk(d, raws)
    return d


def test_exchange_addresses_binary_file(blocks_dir, tmp_path):
    binf = tmp_path / "list.csv"
    binf.write_bytes(b"address\n\x89PNG\r\n\x1a\n\xff\xfe")
    index = tmp_path / "chain.duckdb"
    one_line(run("chain", "sync", "--blocks-dir", blocks_dir, "--index", index, "--no-publish",
                 "--exchange-addresses", binf), 2, str(binf), "not a text file", "byte 8 ")
    assert not index.exists()


def test_jobs_capped_at_cores(blocks_dir, tmp_path, monkeypatch):
    import btcmacro.cli_chain as cc

    monkeypatch.setattr(cc, "_cores", lambda: 1)
    index = tmp_path / "chain.duckdb"
    res = run("chain", "sync", "--blocks-dir", blocks_dir, "--index", index, "--no-publish", "--jobs", "100000")
    assert res.exit_code == 0, res.output
    assert "warning: --jobs 100000 is more than the 1 CPU cores available here; using 1" in res.stderr
    assert "indexed 256 blocks; tip 255" in res.stderr
    # the day parser of chain hodl/urpd is the strict one too (Python's fromisoformat takes 20090109)
    one_line(run("chain", "hodl", "--date", "20090109", "--index", index), 2, "--date", "not a date")
    ok = run("chain", "hodl", "--date", "2009-01-09", "--index", index, "--format", "json")
    assert ok.exit_code == 0, ok.output


def test_index_must_be_a_file(tmp_path):
    for cmd in (["chain", "status"], ["chain", "hodl"], ["chain", "urpd"]):
        one_line(run(*cmd, "--index", tmp_path), 2, f"--index {tmp_path}", "is a directory, not a database file")


def test_api_day_refuses_time_zones():
    from btcmacro import api
    from btcmacro.errors import UsageError

    with pytest.raises(UsageError, match="time zone"):
        api.hodl_waves(__import__("pandas").Timestamp("2009-01-09", tz="UTC"))


def test_cores_is_the_affinity_mask():
    from btcmacro.cli_chain import _cores

    assert _cores() == len(os.sched_getaffinity(0))


def test_dates_are_checked_before_the_store_is_created(tmp_path):
    """A bad date never creates the default store (nothing is written for a refused command)."""
    one_line(run("metrics", "show", "fed_total_assets", "--start", "2025"), 2, "--start")
    assert not Path(os.environ["BTCMACRO_HOME"], "store.duckdb").exists()
