"""``sync(blocks_dir=…, undo_files=True, jobs=2)``: worker processes per blk/rev file, merged by height.

The reference is the serial path (``jobs=1``) on the same directory; both must give the same
tables, matrix, metrics and checkpoint. Datadirs are genuine: py-bitcoinkernel (Core's own
library) writes the blk + rev files, which :func:`_chainhelp.split_blocks_dir` rewrites as
several small files (undo records follow their blocks, XOR by file offset kept).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import shutil
import signal
import time

import numpy as np
import pandas as pd
import pytest
from _chainhelp import pool_task, split_blocks_dir
from _kernelref import kernel_index
from test_reorg import T, _process, chains, mine_hash  # noqa: F401 - `chains` is a fixture

from btcmacro.chain import api, parallel
from btcmacro.chain.index import ChainIndex
from btcmacro.errors import BadBlock, ChainError

pbk = pytest.importorskip("pbk")

TABLES = ("blocks", "created", "spends", "flows", "checkpoint")
#: no test here may wait for a worker longer than this (minutes on a loaded 2-core machine: the
#: bound catches a hang, it is not a speed target)
BOUND_S = 300


@contextlib.contextmanager
def _within(seconds: int):
    """Fail with TimeoutError (instead of hanging the suite) if the block runs longer than this:
    SIGALRM interrupts the main thread even in a lock wait."""

    def alarm(signum, frame):
        raise TimeoutError(f"still waiting after {seconds} s: the parallel sync hangs")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def core_blocks(tmp_path_factory, fixture_blocks):
    """A genuine Core 28+ ``blocks/`` dir (XOR + rev files) holding the 256 real blocks."""
    d = tmp_path_factory.mktemp("core256")
    cm = pbk.load_chainman(d, pbk.ChainType.MAINNET)
    for raw in fixture_blocks[1:]:
        cm.process_block(pbk.Block(raw))
    assert cm.get_active_chain().height == 255
    del cm
    gc.collect()
    return d / "blocks"


def _tables(store) -> dict:
    with ChainIndex(store, read_only=True) as ix:
        return {t: ix.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def _metrics(store) -> dict:
    m = api.load_matrix(store)
    days = pd.date_range(m.days[0], m.days[-1], freq="D")
    prices = pd.Series(np.linspace(1.0, 10.0, len(days)), index=days)  # any price path: same on both sides
    return m, api.daily_metrics(prices, matrix=m)


def _same_metrics(a, b) -> None:
    (ma, fa), (mb, fb) = _metrics(a), _metrics(b)
    for f in ("days", "c", "s", "value", "created"):
        assert getattr(ma, f).tolist() == getattr(mb, f).tolist(), f
    assert fa.keys() == fb.keys()
    for k in fa:
        pd.testing.assert_frame_equal(fa[k], fb[k], check_exact=True)


def test_jobs2_equals_jobs1_on_split_datadir(core_blocks, tmp_path):
    blocks = tmp_path / "blocks"
    where = split_blocks_dir(core_blocks, blocks, 60)  # 256 blocks -> blk00000..blk00004 (+ rev)
    assert sorted(p.name for p in blocks.glob("*.dat")) == [f"{k}{i:05d}.dat" for k in ("blk", "rev")
                                                          for i in range(5)] + ["xor.dat"]
    assert where[60][:2] == ("blk00001.dat", 0)
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    r1 = api.sync(blocks_dir=blocks, store_path=one, undo_files=True)
    seen = []
    r2 = api.sync(blocks_dir=blocks, store_path=two, undo_files=True, jobs=2,
                  progress=lambda h, t: seen.append((h, t)))
    assert r2.as_dict() == r1.as_dict()
    assert (r2.height, r2.blocks_added, r2.mode) == (255, 256, "revundo")
    assert seen[-1] == (255, 255)
    assert _tables(two) == _tables(one)  # same rows (the merge inserts in parallel: no storage order)
    with ChainIndex(two, read_only=True) as ix:  # flows rows live in the adopted parquet parts
        assert ix.con.execute("SELECT count(*) FROM flow_rows").fetchall() == [(0,)]
        assert ix.con.execute("SELECT count(*) FROM flow_parts").fetchall()[0][0] >= 2
    _same_metrics(one, two)
    st = api.status(two)
    assert (st["tx_count"], st["utxo_count"], st["utxo_value_btc"]) == (263, 261, 12800.0)  # blocks README
    assert st == api.status(one)
    assert not list(tmp_path.glob(".chain-parts-*"))  # the parts directory is removed
    # nothing new: no work, same checkpoint
    r3 = api.sync(blocks_dir=blocks, store_path=two, undo_files=True, jobs=2)
    assert (r3.blocks_added, r3.height) == (0, 255) and _tables(two) == _tables(one)


def test_jobs2_incremental_and_coinmap(core_blocks, tmp_path):
    full = tmp_path / "full"
    split_blocks_dir(core_blocks, full, 50)  # 6 files
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(full / "xor.dat", blocks)
    for i in range(3):  # the node has written three files so far
        for k in ("blk", "rev"):
            shutil.copy(full / f"{k}{i:05d}.dat", blocks)
    store = tmp_path / "inc.duckdb"
    r = api.sync(blocks_dir=blocks, store_path=store, undo_files=True, jobs=2)
    assert (r.height, r.blocks_added) == (149, 150)
    for i in range(3, 6):
        for k in ("blk", "rev"):
            shutil.copy(full / f"{k}{i:05d}.dat", blocks)
    r = api.sync(blocks_dir=blocks, store_path=store, undo_files=True, jobs=2)
    assert (r.height, r.blocks_added) == (255, 106)
    ref = tmp_path / "ref.duckdb"
    api.sync(blocks_dir=blocks, store_path=ref, undo_files=True)
    assert _tables(store) == _tables(ref)
    # the coin-map mode (no undo files) splits the same way; spends are joined at the merge
    cm1, cm2 = tmp_path / "cm1.duckdb", tmp_path / "cm2.duckdb"
    api.sync(blocks_dir=blocks, store_path=cm1)
    api.sync(blocks_dir=blocks, store_path=cm2, jobs=2)
    a, b = _tables(cm1), _tables(cm2)
    assert a == b and a["checkpoint"][0][-1] == "coinmap"
    assert {t: v for t, v in a.items() if t != "checkpoint"} == \
        {t: v for t, v in _tables(ref).items() if t != "checkpoint"}


# Core stores blocks as they arrive, so neighbouring blk files overlap at their edges. Here
# blk00000 holds 0..102 without 95 and 97 (and stores 100 before 98), blk00001 holds 95, 97,
# 101, 103..199 without 196, blk00002 holds 196 and 200..255.
_INTERLEAVED = [
    [*range(0, 95), 96, 100, 98, 99, 102],
    [95, 97, 101, *range(103, 196), 197, 198, 199],
    [196, *range(200, 256)],
]


def test_merge_chunks_cover_every_height_once_in_order():
    hs = {f"blk{k:05d}": sorted(f) for k, f in enumerate(_INTERLEAVED)}
    chunks = parallel.merge_chunks(hs)
    # long runs go in unsorted, the interleaved edges as small sorted chunks
    assert chunks == [(["blk00000"], 0, 94, False), (["blk00000", "blk00001"], 95, 102, False),
                      (["blk00001"], 103, 195, False), (["blk00001", "blk00002"], 196, 255, False)]
    # an independent reading: concatenating each chunk's heights (per file, filtered, sorted if
    # several files) gives 0..255 exactly once, in order
    got = []
    for stems, a, b, _ in chunks:
        got += sorted(h for st in stems for h in hs[st] if a <= h <= b)
    assert got == list(range(256))
    # disjoint files: one unfiltered chunk per file, no sort anywhere
    plain = {"blk00000": list(range(0, 100)), "blk00001": list(range(100, 256))}
    assert parallel.merge_chunks(plain) == [(["blk00000"], 0, 99, True), (["blk00001"], 100, 255, True)]


def test_jobs2_equals_jobs1_with_blocks_interleaved_between_files(core_blocks, tmp_path):
    blocks = tmp_path / "blocks"
    where = split_blocks_dir(core_blocks, blocks, 0, files=_INTERLEAVED)
    assert [w[0] for w in where].count("blk00001.dat") == len(_INTERLEAVED[1])
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    api.sync(blocks_dir=blocks, store_path=one, undo_files=True)
    r2 = api.sync(blocks_dir=blocks, store_path=two, undo_files=True, jobs=2)
    assert (r2.height, r2.blocks_added) == (255, 256)
    assert _tables(two) == _tables(one)
    with ChainIndex(two, read_only=True) as ix:
        assert [h for (h,) in ix.con.execute("SELECT height FROM blocks ORDER BY height").fetchall()] == list(range(256))
    assert api.status(two)["utxo_value_btc"] == 12800.0  # blocks README


def _first_file_indexed(core_blocks, tmp_path):
    """blk00000 (heights 0..59) indexed serially, then blk00001..blk00004 added to the directory:
    ``(blocks dir, index, tables before, where)``."""
    full = tmp_path / "full"
    where = split_blocks_dir(core_blocks, full, 60)
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    shutil.copy(full / "xor.dat", blocks)
    for k in ("blk", "rev"):
        shutil.copy(full / f"{k}00000.dat", blocks)
    store = tmp_path / "s.duckdb"
    assert api.sync(blocks_dir=blocks, store_path=store, undo_files=True).height == 59
    before = _tables(store)
    for i in range(1, 5):
        for k in ("blk", "rev"):
            shutil.copy(full / f"{k}{i:05d}.dat", blocks)
    return blocks, store, before, where


def test_failing_worker_merges_nothing(core_blocks, tmp_path):
    blocks, store, before, where = _first_file_indexed(core_blocks, tmp_path)
    # corrupt block 70 (the 11th record of blk00001.dat): flip the last byte of its last tx (the
    # lock time), so its txid and merkle root no longer agree; its header, hence the chain, is intact
    name, off, _ = where[70]
    assert name == "blk00001.dat"
    nxt = where[71][1]
    data = bytearray((blocks / name).read_bytes())
    data[nxt - 1] ^= 0x01  # XOR by offset commutes with a flip
    (blocks / name).write_bytes(bytes(data))
    with _within(BOUND_S), pytest.raises(BadBlock, match="merkle") as ei:
        api.sync(blocks_dir=blocks, store_path=store, undo_files=True, jobs=2)
    assert ei.value.where == f"blk00001.dat@{off:#x}"
    assert not mp.active_children()  # every worker stopped before the sync returned
    assert _tables(store) == before  # no partial merge: blocks 60..69 of the same run are not there
    assert not list(tmp_path.glob(".chain-parts-*"))
    # the serial path keeps every block before the bad one (its documented behaviour)
    ser = tmp_path / "ser.duckdb"
    with pytest.raises(BadBlock):
        api.sync(blocks_dir=blocks, store_path=ser, undo_files=True)
    assert api.status(ser)["height"] == 69


def test_killed_worker_is_an_error_not_a_hang(core_blocks, tmp_path):
    """A worker killed mid-sync (the out-of-memory killer's SIGKILL) is one ChainError naming the
    file; the index is unchanged. (multiprocessing.Pool replaced the dead worker and waited for
    its lost task forever: this test hung until BOUND_S.)"""
    blocks, store, before, _ = _first_file_indexed(core_blocks, tmp_path)
    killed = []

    def kill_the_workers(height, tip):  # after the first file's result: the others are at work
        if not killed:
            for p in mp.active_children():
                os.kill(p.pid, signal.SIGKILL)
                killed.append(p.pid)

    t0 = time.monotonic()
    with _within(BOUND_S), pytest.raises(ChainError) as ei:
        api.sync(blocks_dir=blocks, store_path=store, undo_files=True, jobs=2, progress=kill_the_workers)
    assert len(killed) == 2 and type(ei.value) is ChainError
    assert ei.value.where in {f"blk{i:05d}.dat" for i in range(1, 5)}
    assert ei.value.message == ("the worker process reading this file stopped without a result: it was killed "
                                "by SIGKILL, as the out-of-memory killer does. The index is unchanged; run the "
                                "sync again, with fewer --jobs if memory ran out")
    assert time.monotonic() - t0 < BOUND_S
    assert not mp.active_children()
    assert _tables(store) == before
    assert not list(tmp_path.glob(".chain-parts-*"))


def test_worker_pool_results_errors_and_deaths():
    """WorkerPool on its own: results in task order (imap) or as they come, a worker's ChainError
    rebuilt with its class and place, a bug re-raised, a death named with its file and cause; after
    an error every worker is stopped and the pool takes no more work."""
    with _within(BOUND_S):
        with parallel.make_pool(2) as pool:
            tasks = [(f"blk{i:05d}.dat", "ok", n) for i, n in enumerate([300, 1, 120, 5, 0])]
            assert list(pool.imap(pool_task, tasks)) == [600, 2, 240, 10, 0]
            assert sorted(pool.imap_unordered(pool_task, tasks)) == [0, 2, 10, 240, 600]
            with pytest.raises(BadBlock) as ei:
                list(pool.imap_unordered(pool_task, [("blk00001.dat", "ok", 400), ("blk00002.dat", "chain", 0)]))
            assert (ei.value.where, ei.value.message) == ("blk00002.dat@0x10", "merkle root mismatch")
            assert not mp.active_children()  # the other worker (still sleeping) was stopped
            with pytest.raises(ChainError, match="already stopped"):
                list(pool.imap(pool_task, tasks))
        for action, n, expected in [("exit", 3, "it exited with code 3"), ("kill", 0, "killed by SIGKILL")]:
            with parallel.make_pool(1) as pool, pytest.raises(ChainError, match=expected) as ei:
                list(pool.imap(pool_task, [("blk00000.dat", "ok", 1), ("blk00007.dat", action, n)]))
            assert ei.value.where == "blk00007.dat"
        with parallel.make_pool(1) as pool, pytest.raises(ValueError, match="not a number: 'x'"):
            list(pool.imap(pool_task, [("blk00000.dat", "bug", "x")]))
    assert not mp.active_children()


def test_stale_blocks_and_reorg_with_jobs(tmp_path, chains):  # noqa: F811
    """Core's files hold both branches; the header walk decides, stale blocks are never indexed."""
    a, b = chains
    dd = tmp_path / "node"
    _process(dd, a)
    blk = tmp_path / "blk"

    def split():
        if blk.exists():
            shutil.rmtree(blk)
        return split_blocks_dir(dd / "blocks", blk, 25, network="regtest")

    store = tmp_path / "s.duckdb"
    split()
    r = api.sync(blocks_dir=blk, store_path=store, network="regtest", undo_files=True, jobs=2)
    assert r.height == T
    _process(dd, b)
    where = split()
    stale = {mine_hash(x) for x in a[T - 3:]}  # A's 110..112, replaced by B's 110..113
    files = {w[0] for w in where if w[2] in stale}
    assert files == {"blk00004.dat"}  # the stale blocks sit in one worker's file (with canonical ones)
    assert any(w[0] == "blk00004.dat" and w[2] not in stale for w in where)
    r2 = api.sync(blocks_dir=blk, store_path=store, network="regtest", undo_files=True, jobs=2)
    assert (r2.rolled_back_to, r2.reorg_depth, r2.height, r2.blocks_added) == (T - 3, 3, T + 1, 4)
    fresh2 = tmp_path / "fresh2.duckdb"
    r3 = api.sync(blocks_dir=blk, store_path=fresh2, network="regtest", undo_files=True, jobs=2)
    assert r3.height == T + 1
    kernel = tmp_path / "kernel.duckdb"
    kernel_index(dd, kernel, "regtest")  # Core's own undo reading via the kernel
    serial = tmp_path / "serial.duckdb"
    api.sync(blocks_dir=blk, store_path=serial, network="regtest", undo_files=True)
    with ChainIndex(fresh2, read_only=True) as ix:
        hashes = {bytes(x) for (x,) in ix.con.execute("SELECT hash FROM blocks").fetchall()}
    assert not hashes & stale and len(hashes) == T + 2
    t_inc, t_fresh, t_k, t_s = _tables(store), _tables(fresh2), _tables(kernel), _tables(serial)
    assert t_inc == t_fresh == t_s
    for t in ("blocks", "created", "spends", "flows"):
        assert t_fresh[t] == t_k[t], t


def test_jobs_argument_checks(tmp_path):
    with pytest.raises(ChainError, match="jobs"):
        api.sync(rpc="http://127.0.0.1:1", store_path=tmp_path / "x.duckdb", jobs=2)
    with pytest.raises(ChainError, match="jobs"):
        api.sync(blocks_dir=tmp_path, store_path=tmp_path / "x.duckdb", jobs=0)
