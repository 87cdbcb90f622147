"""What a file is before anything writes to it: one check (``store.identify``) for every writer.

Each test states the defect of issue 13 it guards against; they fail on the code before the fix
(the store wrote its tables into any DuckDB file, rebuild moved a locked store aside, the
advice for any unreadable file was `btcmacro rebuild`, a newer or changed schema got through).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from btcmacro import api
from btcmacro.cli import app
from btcmacro.errors import StoreCorrupt, StoreError, StoreLocked, UsageError
from btcmacro.store import CHAIN_INDEX_TABLES, Store, identify

runner = CliRunner()


def _fingerprint(path: Path) -> tuple:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns


def _dir_listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def _one_line(res, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def _foreign(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE trades (id INTEGER, px DOUBLE)")
    con.execute("INSERT INTO trades VALUES (1, 2.5)")
    con.close()
    return path


def _holder(path: Path, code: str):
    """A subprocess holding ``path`` (DuckDB writer or a raw POSIX lock) until killed."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code).format(path=str(path))],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


DUCKDB_WRITER = """
    import duckdb, time
    con = duckdb.connect({path!r})
    print('ready', flush=True)
    time.sleep(60)
"""


# ------------------------------------------------------------------ identify


def test_identify_tells_every_kind_without_writing(tmp_path, snapshot_store_path):
    store = snapshot_store_path
    foreign = _foreign(tmp_path / "other.duckdb")
    text = tmp_path / "hostname"
    text.write_text("myhost\n")
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    partial = tmp_path / "partial.duckdb"
    duckdb.connect(str(partial)).execute("CREATE TABLE blocks (height INTEGER)").close()
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    index = tmp_path / "chain.duckdb"
    con = duckdb.connect(str(index))
    for t in sorted(CHAIN_INDEX_TABLES):
        con.execute(f"CREATE TABLE {t} (x INTEGER)")
    con.close()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    files = [store, foreign, text, empty, partial, bare, index]
    before = {p: _fingerprint(p) for p in files}

    assert identify(tmp_path / "nothing.duckdb").kind == "new"
    assert identify(empty).kind == "empty"
    assert identify(tmp_path).kind == "not_a_file" and identify(tmp_path).detail == "a directory"
    assert identify(fifo).detail == "a FIFO"  # never opened: reading a FIFO would block
    assert identify(text).kind == "not_duckdb"
    f = identify(foreign)
    assert (f.kind, f.tables) == ("foreign", ("trades",))
    s = identify(store)
    assert (s.kind, s.problem, s.schema) == ("store", "", "1")
    assert identify(index).kind == "chain_index"
    assert (identify(partial).kind, identify(partial).family) == ("partial", "chain index")
    assert (identify(bare).kind, identify(bare).family) == ("partial", "")
    assert {p: _fingerprint(p) for p in files} == before


def test_chain_index_tables_match_the_index_schema(tmp_path):
    from btcmacro.chain.index import ChainIndex

    with ChainIndex(tmp_path / "c.duckdb") as ix:
        tables = {r[0] for r in ix.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
    assert tables == set(CHAIN_INDEX_TABLES)


# ------------------------------------------------------------------ item 4: never write a foreign file


def test_store_never_writes_into_a_foreign_duckdb_file(tmp_path):
    foreign = _foreign(tmp_path / "other.duckdb")
    before = _fingerprint(foreign)
    with pytest.raises(StoreError) as e:
        Store(foreign)
    assert "not a btcmacro store" in str(e.value) and "trades" in str(e.value)
    assert "btcmacro rebuild" not in str(e.value)
    assert _fingerprint(foreign) == before
    con = duckdb.connect(str(foreign), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()] == ["trades"]
    con.close()


def test_update_refuses_a_foreign_store_before_writing(tmp_path):
    foreign = _foreign(tmp_path / "other.duckdb")
    before = _fingerprint(foreign)
    listing = _dir_listing(tmp_path)
    line = _one_line(runner.invoke(app, ["update", "--source", "fred", "--store", str(foreign)]), 6)
    assert str(foreign) in line and "not a btcmacro store" in line
    assert _fingerprint(foreign) == before and _dir_listing(tmp_path) == listing


# ------------------------------------------------------------------ item 6: advice


@pytest.mark.parametrize("make", ["text", "foreign"])
def test_no_rebuild_advice_and_no_rename_for_a_file_that_is_not_a_store(tmp_path, make):
    if make == "text":
        target = tmp_path / "hostname"
        target.write_text("myhost\n")
    else:
        target = _foreign(tmp_path / "other.duckdb")
    listing = _dir_listing(tmp_path)
    line = _one_line(runner.invoke(app, ["brief", "--format", "json", "--out", "-", "--store", str(target)]), 6)
    assert "btcmacro rebuild" not in line and str(target) in line
    line = _one_line(runner.invoke(app, ["rebuild", "--yes", "--store", str(target)]), 6)
    assert "btcmacro rebuild" not in line
    assert _dir_listing(tmp_path) == listing  # nothing renamed, nothing created


# ------------------------------------------------------------------ unknown schemas


def _store_copy(src: Path, tmp_path: Path) -> Path:
    import shutil

    p = tmp_path / "store.duckdb"
    shutil.copy(src, p)
    return p


def test_newer_schema_version_is_refused(snapshot_store_path, tmp_path):
    p = _store_copy(snapshot_store_path, tmp_path)
    con = duckdb.connect(str(p))
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    before = _fingerprint(p)
    for args in (["brief", "--format", "json", "--out", "-"], ["metrics", "show", "btc_price"]):
        line = _one_line(runner.invoke(app, [*args, "--store", str(p)]), 6)
        assert "newer btcmacro" in line and "schema 2" in line and "btcmacro rebuild" not in line
    assert _one_line(runner.invoke(app, ["rebuild", "--yes", "--store", str(p)]), 6)
    assert _fingerprint(p) == before


def test_changed_column_is_store_corrupt_not_a_binder_error(snapshot_store_path, tmp_path):
    p = _store_copy(snapshot_store_path, tmp_path)
    con = duckdb.connect(str(p))
    con.execute("ALTER TABLE obs RENAME COLUMN published_at TO released")
    con.close()
    line = _one_line(runner.invoke(app, ["brief", "--format", "json", "--out", "-", "--store", str(p)]), 6)
    assert "obs table has changed columns" in line and "published_at" in line
    assert f"btcmacro rebuild --store {p}" in line  # a btcmacro store: rebuild is the remedy
    with pytest.raises(StoreCorrupt):
        Store(p, read_only=True)


# ------------------------------------------------------------------ item 1: rebuild


def test_rebuild_refuses_while_a_writer_holds_the_store(snapshot_store_path, tmp_path):
    p = _store_copy(snapshot_store_path, tmp_path)
    con = duckdb.connect(str(p))
    con.execute("INSERT INTO obs VALUES ('chain/mvrv', DATE '2024-01-01', 1.5, DATE '2024-01-02', NULL, 'tip')")
    con.close()
    listing = _dir_listing(tmp_path)
    holder = _holder(p, DUCKDB_WRITER)
    try:
        line = _one_line(runner.invoke(app, ["rebuild", "--yes", "--store", str(p)]), 5)
        assert f"process {holder.pid}" in line
        assert _dir_listing(tmp_path) == listing  # the locked store was not moved aside
    finally:
        holder.kill()
        holder.wait()
    with Store(p, read_only=True) as s:  # own-node rows still in the active store
        assert s.series("chain/mvrv").iloc[0] == 1.5


def test_rebuild_refuses_a_locked_unreadable_file(tmp_path):
    p = tmp_path / "store.duckdb"
    Store(p).close()
    raw = bytearray(p.read_bytes())
    raw[4096:8192] = b"\xff" * 4096
    p.write_bytes(bytes(raw))
    holder = _holder(p, """
        import fcntl, os, time
        fd = os.open({path!r}, os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        print('ready', flush=True)
        time.sleep(60)
    """)
    try:
        with pytest.raises(StoreLocked, match=f"process {holder.pid}"):
            api.rebuild_store(p)
        assert p.read_bytes() == bytes(raw) and _dir_listing(tmp_path) == ["store.duckdb"]
    finally:
        holder.kill()
        holder.wait()
    kept = api.rebuild_store(p)  # unlocked and verified damaged: moved aside, kept
    assert kept.read_bytes() == bytes(raw)
    assert identify(p).kind == "store" and identify(p).problem == ""


def test_rebuild_moves_aside_only_a_verified_damaged_store(snapshot_store_path, tmp_path):
    p = _store_copy(snapshot_store_path, tmp_path)
    before = _fingerprint(p)
    with pytest.raises(UsageError, match="sound"):
        api.rebuild_store(p)
    assert _fingerprint(p) == before and _dir_listing(tmp_path) == ["store.duckdb"]
    assert "sound" in _one_line(runner.invoke(app, ["rebuild", "--yes", "--store", str(p)]), 2)
    con = duckdb.connect(str(p))
    con.execute("ALTER TABLE series DROP COLUMN licence")
    con.close()
    damaged = _fingerprint(p)[0]
    res = runner.invoke(app, ["rebuild", "--yes", "--store", str(p)])
    assert res.exit_code == 0, res.output
    kept = [x for x in tmp_path.iterdir() if x.name.startswith("store.duckdb.corrupt-")]
    assert len(kept) == 1 and hashlib.sha256(kept[0].read_bytes()).hexdigest() == damaged
    with Store(p, read_only=True) as s:
        assert s.counts()[1] > 100_000 and identify(p).problem == ""


def test_new_store_is_created_in_one_step(tmp_path, monkeypatch):
    """A crash while the schema is written leaves no file at the store path."""
    import btcmacro.store as store_mod

    p = tmp_path / "s.duckdb"
    calls = []
    real = duckdb.connect

    def failing_connect(path, *a, **kw):
        con = real(path, *a, **kw)
        calls.append(path)
        if ".creating-" in str(path):
            con.close()
            raise duckdb.IOException("disk full (injected)")
        return con

    monkeypatch.setattr(store_mod.duckdb, "connect", failing_connect)
    with pytest.raises(StoreError, match="cannot create the store"):
        Store(p)
    assert any(".creating-" in str(c) for c in calls)
    assert _dir_listing(tmp_path) == []  # no half-created store, no temporary left


# ------------------------------------------------------------------ property: any file given as --store

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_MAGIC_HEAD = st.builds(lambda a, b: a[:8].ljust(8, b"\0") + b"DUCK" + b, st.binary(max_size=8),
                        st.binary(min_size=0, max_size=4096))


@seed(13)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(min_size=1, max_size=4096), _MAGIC_HEAD,
                         st.text(min_size=1, max_size=200).map(str.encode)))
def test_any_non_store_file_is_one_line_and_left_as_it_is(tmp_path_factory, content):
    d = tmp_path_factory.mktemp("prop")
    f = d / "target.duckdb"
    f.write_bytes(content)
    before = _fingerprint(f)
    for args in (["brief", "--format", "json", "--out", "-"], ["metrics", "show", "btc_price"],
                 ["update", "--source", "fred"]):
        line = _one_line(runner.invoke(app, [*args, "--store", str(f)]), 6)
        assert str(f) in line
        # rebuild is advised only where the DuckDB signature is there (a store too damaged to read)
        assert ("btcmacro rebuild" in line) == (content[8:12] == b"DUCK")
        assert _fingerprint(f) == before and _dir_listing(d) == ["target.duckdb"]
    res = runner.invoke(app, ["rebuild", "--yes", "--store", str(f)])
    if content[8:12] == b"DUCK":  # verified unreadable: moved aside (kept, bytes intact), store rebuilt
        assert res.exit_code == 0, res.output
        kept = [x for x in d.iterdir() if x.name.startswith("target.duckdb.corrupt-")]
        assert len(kept) == 1 and kept[0].read_bytes() == content
    else:  # someone else's file: refused, not renamed
        _one_line(res, 6)
        assert _fingerprint(f) == before and _dir_listing(d) == ["target.duckdb"]
