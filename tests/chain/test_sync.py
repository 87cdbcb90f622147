"""End-to-end sync on the 256 real blocks: totals, spend table, T1-T5, T8, T9, T12, checkpoint."""

from __future__ import annotations

import gc
import shutil

import numpy as np
import pytest
from _chainhelp import record, write_blk

from btcmacro.chain import api
from btcmacro.chain.blkfile import apply_xor
from btcmacro.chain.index import ChainIndex
from btcmacro.errors import BadBlock, NetworkMismatch, ReorgBeyondDepth, XorKeyChanged

SAT = 10**8
# README "spend table": (spend height, created at height, BTC)
SPENDS = {(170, 9, 50), (181, 170, 40), (182, 181, 30), (183, 182, 29), (187, 183, 1), (221, 182, 1), (248, 183, 28)}
TIP = "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"


def _spends(store) -> set:
    with ChainIndex(store, read_only=True) as ix:
        rows = ix.con.execute("SELECT spend_height, create_height, value, n FROM spends").fetchall()
    assert all(n == 1 for *_, n in rows)
    return {(s, c, v // SAT) for s, c, v, _ in rows}


def _assert_fixture_totals(store):
    st = api.status(store)
    assert st["height"] == 255 and st["tip_hash"] == TIP
    assert st["tx_count"] == 263 and st["utxo_count"] == 261 and st["utxo_value_btc"] == 12800.0
    assert _spends(store) == SPENDS


def _matrix_tuple(store):
    m = api.load_matrix(store)
    return (m.days.tolist(), m.c.tolist(), m.s.tolist(), m.value.tolist(), m.n.tolist(),
            m.created.tolist(), m.created_n.tolist())


@pytest.fixture(scope="module")
def plain_store(tmp_path_factory, fixture_blocks):
    d = tmp_path_factory.mktemp("plain")
    write_blk(d / "blocks", fixture_blocks)
    store = d / "chain.duckdb"
    r = api.sync(blocks_dir=d / "blocks", store_path=store)
    assert r.blocks_added == 256 and r.mode == "coinmap"
    return store


def test_known_totals(plain_store):
    _assert_fixture_totals(plain_store)
    m = api.load_matrix(plain_store)
    assert str(m.days[0]) == "2009-01-03" and str(m.days[-1]) == "2009-01-12"
    assert int(m.created.sum()) == 12979 * SAT  # 268 outputs: 256 coinbases × 50 + 179 BTC of spends' outputs
    assert int(m.value.sum()) == 179 * SAT and int(m.n.sum()) == 7


def test_incremental_rerun_is_noop(plain_store, tmp_path):
    before = _matrix_tuple(plain_store)
    # same directory again: nothing to add
    d = plain_store.parent / "blocks"
    r = api.sync(blocks_dir=d, store_path=plain_store)
    assert r.blocks_added == 0 and r.height == 255
    assert _matrix_tuple(plain_store) == before


def test_out_of_order_T4(tmp_path, fixture_blocks, plain_store):
    raws = list(fixture_blocks)
    raws[1], raws[2] = raws[2], raws[1]
    write_blk(tmp_path / "blocks", raws)
    api.sync(blocks_dir=tmp_path / "blocks", store_path=tmp_path / "s.duckdb")
    _assert_fixture_totals(tmp_path / "s.duckdb")
    assert _matrix_tuple(tmp_path / "s.duckdb") == _matrix_tuple(plain_store)


def test_orphan_block_T5(tmp_path, fixture_blocks, blocks_path, plain_store):
    orphan = (blocks_path / "277647.bin").read_bytes()
    raws = fixture_blocks[:100] + [orphan] + fixture_blocks[100:]
    write_blk(tmp_path / "blocks", raws)
    api.sync(blocks_dir=tmp_path / "blocks", store_path=tmp_path / "s.duckdb")
    _assert_fixture_totals(tmp_path / "s.duckdb")
    with ChainIndex(tmp_path / "s.duckdb", read_only=True) as ix:
        n = ix.con.execute("SELECT count(*) FROM blocks WHERE hash = ?",
                           [bytes.fromhex("0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8")[::-1]]).fetchone()[0]
    assert n == 0
    assert _matrix_tuple(tmp_path / "s.duckdb") == _matrix_tuple(plain_store)


def test_truncated_newest_file_then_grows_T1(tmp_path, fixture_blocks):
    blocks = tmp_path / "blocks"
    full = b"".join(record(b) for b in fixture_blocks)
    cut = len(full) - len(fixture_blocks[-1]) // 2
    blocks.mkdir()
    (blocks / "blk00000.dat").write_bytes(full[:cut])
    store = tmp_path / "s.duckdb"
    r = api.sync(blocks_dir=blocks, store_path=store)
    assert r.height == 254 and r.blocks_added == 255
    n = len(fixture_blocks[-1])
    start = len(full) - n - 8
    assert r.warnings == [f"blk00000.dat@{start:#x}: record declares {n} bytes, {n - n // 2} present"]
    (blocks / "blk00000.dat").write_bytes(full)  # the node finished writing the record
    r2 = api.sync(blocks_dir=blocks, store_path=store)
    assert r2.blocks_added == 1 and r2.height == 255
    _assert_fixture_totals(store)


def test_multi_file_padding_junk_T2_T3(tmp_path, fixture_blocks, plain_store):
    blocks = tmp_path / "blocks"
    junk = bytes(range(1, 201))
    write_blk(blocks, fixture_blocks[:100], "blk00000.dat", tail=b"\0" * 5000)  # older file: warned
    (blocks / "blk00001.dat").write_bytes(
        b"".join(record(b) for b in fixture_blocks[100:150]) + junk
        + b"".join(record(b) for b in fixture_blocks[150:]) + b"\0" * 70000)  # newest: silent zeros
    r = api.sync(blocks_dir=blocks, store_path=tmp_path / "s.duckdb")
    kinds = sorted(w.split(": ")[0] for w in r.warnings)
    off0 = sum(8 + len(b) for b in fixture_blocks[:100])
    off1 = sum(8 + len(b) for b in fixture_blocks[100:150])
    assert kinds == [f"blk00000.dat@{off0:#x}", f"blk00001.dat@{off1:#x}"]
    _assert_fixture_totals(tmp_path / "s.duckdb")
    assert _matrix_tuple(tmp_path / "s.duckdb") == _matrix_tuple(plain_store)


def test_wrong_network_stops_T7(tmp_path, fixture_blocks):
    blocks = tmp_path / "blocks"
    blocks.mkdir()
    (blocks / "blk00000.dat").write_bytes(record(fixture_blocks[0], bytes.fromhex("fabfb5da")))
    with pytest.raises(NetworkMismatch, match="network mismatch: found regtest magic in blk00000.dat"):
        api.sync(blocks_dir=blocks, store_path=tmp_path / "s.duckdb")


def _flip_output_value(raw: bytes) -> bytes:
    """Flip the low bit of the first output value of the first transaction (coinbase)."""
    from btcmacro.chain.parse import parse_block

    b = parse_block(raw)
    val, script = b.txs[0].vout[0]
    needle = val.to_bytes(8, "little") + bytes([len(script)]) + script
    off = raw.find(needle)
    bad = bytearray(raw)
    bad[off] ^= 1
    return bytes(bad)


def test_corrupted_block_keeps_earlier_T9(tmp_path, fixture_blocks):
    raws = list(fixture_blocks)
    raws[200] = _flip_output_value(raws[200])
    write_blk(tmp_path / "blocks", raws)
    store = tmp_path / "s.duckdb"
    with pytest.raises(BadBlock) as ei:
        api.sync(blocks_dir=tmp_path / "blocks", store_path=store)
    from btcmacro.chain.parse import parse_header

    h200 = parse_header(fixture_blocks[200]).hash_hex
    assert "merkle root mismatch" in str(ei.value) and "height 200" in str(ei.value) and h200 in str(ei.value)
    st = api.status(store)
    assert st["height"] == 199 and st["tx_count"] == 200 + 5  # 200 coinbases + spends at 170,181,182,183,187


def test_checkpoint_unknown_hash_T12(tmp_path, fixture_blocks):
    blocks = tmp_path / "blocks"
    write_blk(blocks, fixture_blocks)
    store = tmp_path / "s.duckdb"
    api.sync(blocks_dir=blocks, store_path=store)
    before = (_matrix_tuple(store), api.status(store))
    write_blk(blocks, fixture_blocks[:200])  # the stored tip is no longer in the files
    with pytest.raises(ReorgBeyondDepth, match="--rebuild"):
        api.sync(blocks_dir=blocks, store_path=store)
    assert (_matrix_tuple(store), api.status(store)) == before
    r = api.sync(blocks_dir=blocks, store_path=store, rebuild=True)
    assert r.height == 199


# ------------------------------------------------------------------ T8: a genuine Core datadir


@pytest.fixture(scope="module")
def core_datadir(tmp_path_factory, fixture_blocks):
    pbk = pytest.importorskip("pbk")
    d = tmp_path_factory.mktemp("core")

    def build():
        cm = pbk.load_chainman(d, pbk.ChainType.MAINNET)
        for raw in fixture_blocks[1:]:
            cm.process_block(pbk.Block(raw))
        assert cm.get_active_chain().height == 255

    build()
    gc.collect()  # release the kernel's datadir lock
    return d


def test_core_datadir_xor_blocks_identical_T8(core_datadir, fixture_blocks):
    key = (core_datadir / "blocks" / "xor.dat").read_bytes()
    assert len(key) == 8 and any(key)
    raw = (core_datadir / "blocks" / "blk00000.dat").read_bytes()
    assert b"\xf9\xbe\xb4\xd9" not in raw[:4]  # really obfuscated
    from btcmacro.chain.blkfile import scan_file

    res = scan_file(core_datadir / "blocks" / "blk00000.dat", key=key, newest=True)
    assert len(raw) == 16 * 2**20
    assert not res.warnings  # Core's 16 MiB pre-allocation (zeros on disk, not XOR-ed) skipped silently
    # Core wrote genesis itself, then blocks 1-255: byte-identical to the fixture
    assert [r.data for r in res.records] == fixture_blocks


def test_core_datadir_blocks_dir_mode_T8(core_datadir, plain_store, tmp_path):
    store = tmp_path / "s.duckdb"
    # copy so the XOR-change test below does not touch the shared datadir
    blocks = tmp_path / "blocks"
    shutil.copytree(core_datadir / "blocks", blocks, ignore=shutil.ignore_patterns("index"))
    api.sync(blocks_dir=blocks, store_path=store)
    _assert_fixture_totals(store)
    assert _matrix_tuple(store) == _matrix_tuple(plain_store)
    # XorKeyChanged: a new xor.dat after indexing refuses, names --rebuild, changes nothing
    before = api.status(store)
    (blocks / "xor.dat").write_bytes(bytes.fromhex("0102030405060708"))
    with pytest.raises(XorKeyChanged, match="--rebuild"):
        api.sync(blocks_dir=blocks, store_path=store)
    assert api.status(store) == before


def test_core_datadir_undo_mode_T8(core_datadir, plain_store, tmp_path):
    store = tmp_path / "u.duckdb"
    r = api.sync(datadir=core_datadir, store_path=store)  # blocks/ read in place, rev files included
    assert r.mode == "revundo" and r.height == 255 and r.blocks_added == 256
    _assert_fixture_totals(store)
    assert _matrix_tuple(store) == _matrix_tuple(plain_store)
    m1, m2 = api.load_matrix(store), api.load_matrix(plain_store)
    prices = np.arange(1.0, m1.ndays + 1.0)
    a, b = api.daily_metrics(prices, matrix=m1), api.daily_metrics(prices, matrix=m2)
    for k in api.METRIC_KEYS:
        assert a[k].equals(b[k]), k
    # per-script flows: scripts from Core's undo files == scripts from the own coin map
    flows = []
    for p in (store, plain_store):
        with ChainIndex(p, read_only=True) as ix:
            flows.append(ix.con.execute("SELECT * FROM flows ORDER BY ALL").fetchall())
    assert flows[0] == flows[1] and len(flows[0]) > 256
    # rerun: incremental no-op
    assert api.sync(datadir=core_datadir, store_path=store).blocks_added == 0
