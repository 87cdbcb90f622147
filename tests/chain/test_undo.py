"""Our rev*.dat reader against Core's own library (py-bitcoinkernel) on genuine datadirs it wrote."""

from __future__ import annotations

import gc
import shutil

import numpy as np
import pytest
from _chainhelp import compress_amount as _compress_amount
from _kernelref import kernel_index
from test_reorg import GENESIS, T, _process, chains, mine_hash  # noqa: F401 - `chains` is a fixture

from btcmacro.chain import api
from btcmacro.chain.blkfile import read_xor_key
from btcmacro.chain.index import ChainIndex
from btcmacro.chain.parse import parse_block
from btcmacro.chain.undo import UndoIndex, decompress_amount, parse_block_undo, read_varint, scan_rev_file
from btcmacro.errors import ChainError

pbk = pytest.importorskip("pbk")


def test_amount_and_varint():
    assert decompress_amount(0) == 0 and decompress_amount(1) == 1 and decompress_amount(50) == 50 * 10**8
    rng = np.random.default_rng(3)
    for v in [1, 9, 10, 546, 10**8, 21 * 10**14, 123456789, *rng.integers(0, 21 * 10**14, 500).tolist()]:
        assert decompress_amount(_compress_amount(int(v))) == v
    # Core's VARINT: 0x00 -> 0, 0x7f -> 127, 0x80 0x00 -> 128, 0x80 0x7f -> 255, 0xff 0x7f -> 16511
    for raw, val in [(b"\x00", 0), (b"\x7f", 127), (b"\x80\x00", 128), (b"\x80\x7f", 255), (b"\xff\x7f", 16511)]:
        assert read_varint(raw, 0) == (val, len(raw))


@pytest.fixture(scope="module")
def datadir(tmp_path_factory, fixture_blocks):
    d = tmp_path_factory.mktemp("core")
    cm = pbk.load_chainman(d, pbk.ChainType.MAINNET)
    for raw in fixture_blocks[1:]:
        cm.process_block(pbk.Block(raw))
    chain = cm.get_active_chain()
    ref = {}
    for h in range(1, 256):
        so = cm.block_spent_outputs[chain.block_tree_entries[h]]
        ref[h] = [[(c.confirmation_height, c.is_coinbase, c.output.amount, bytes(c.output.script_pubkey))
                   for c in t.coins] for t in so.transactions]
    del cm, chain
    gc.collect()
    return d, ref


def test_rev_reader_equals_kernel(datadir, fixture_blocks):
    d, ref = datadir
    key = read_xor_key(d / "blocks")
    assert any(key)  # Core 28+ obfuscates rev files too
    ui = UndoIndex(d / "blocks", key=key)
    for h in range(1, 256):
        blk = parse_block(fixture_blocks[h])
        assert ui.spent("blk00000.dat", blk.header.prev_hash, blk.tx_input_counts, where=f"height {h}") == ref[h], h
    ui = UndoIndex(d / "blocks", key=key)  # the compiled decoder, same coins (incl. block 170's P2PK)
    for h in range(1, 256):
        blk = parse_block(fixture_blocks[h])
        c = ui.spent_coins("blk00000.dat", blk.header.prev_hash, blk.tx_input_counts, where=f"height {h}")
        coins = list(zip(c.heights.tolist(), c.coinbase.tolist(), c.values.tolist(), c.script_list()))
        assert c.counts.tolist() == [len(t) for t in ref[h]]
        assert coins == [x for t in ref[h] for x in t], h
    # README: block 170 spends block 9's 50 BTC coinbase (an uncompressed-key P2PK, decompressed on secp256k1)
    assert [[c[:3] for c in t] for t in ref[170]] == [[(9, True, 50 * 10**8)]]
    assert len(ref[170][0][0][3]) == 67


def test_sync_with_undo_files_equals_coin_map(datadir, fixture_blocks, tmp_path):
    d, _ = datadir
    blocks = tmp_path / "blocks"
    shutil.copytree(d / "blocks", blocks, ignore=shutil.ignore_patterns("index"))
    a, b = tmp_path / "rev.duckdb", tmp_path / "map.duckdb"
    r = api.sync(blocks_dir=blocks, store_path=a, undo_files=True)
    assert r.mode == "revundo" and r.height == 255 and r.blocks_added == 256
    api.sync(blocks_dir=blocks, store_path=b)
    sa, sb = api.status(a), api.status(b)
    assert (sa["tx_count"], sa["utxo_count"], sa["utxo_value_btc"]) == (263, 261, 12800.0)  # README totals
    ma, mb = api.load_matrix(a), api.load_matrix(b)
    assert (ma.c.tolist(), ma.s.tolist(), ma.value.tolist(), ma.created.tolist()) == \
        (mb.c.tolist(), mb.s.tolist(), mb.value.tolist(), mb.created.tolist())
    with ChainIndex(a, read_only=True) as x, ChainIndex(b, read_only=True) as y:
        q = "SELECT * FROM flows ORDER BY ALL"
        assert x.con.execute(q).fetchall() == y.con.execute(q).fetchall()
    # switching input mode on the same index asks for --rebuild
    with pytest.raises(ChainError, match="--rebuild"):
        api.sync(blocks_dir=blocks, store_path=b, undo_files=True)


def test_missing_and_corrupt_undo(datadir, tmp_path):
    d, _ = datadir
    blocks = tmp_path / "blocks"
    shutil.copytree(d / "blocks", blocks, ignore=shutil.ignore_patterns("index"))
    key = read_xor_key(blocks)
    recs = scan_rev_file(blocks / "rev00000.dat", key=key)
    big = max(recs, key=lambda r: len(r.data))
    for i in range(len(big.data)):  # every single-byte corruption: ChainError or a decoded record, never a crash
        bad = bytearray(big.data)
        bad[i] ^= 0x55
        try:
            parse_block_undo(bytes(bad), where="x")
        except ChainError:
            pass
    with pytest.raises(ChainError, match="trailing"):
        parse_block_undo(big.data + b"\0", where="x")
    (blocks / "rev00000.dat").write_bytes(b"")  # undo data gone (pruned)
    with pytest.raises(ChainError, match="no undo record"):
        api.sync(blocks_dir=blocks, store_path=tmp_path / "s.duckdb", undo_files=True)
    assert api.status(tmp_path / "s.duckdb")["height"] == 0  # genesis has no undo; earlier work kept


def test_reorg_with_undo_files_T11(tmp_path, chains):  # noqa: F811
    """Core writes undo data for both branches into rev00000.dat; checksums pick the right records."""
    a, b = chains
    dd = tmp_path / "node"
    _process(dd, a)
    store = tmp_path / "s.duckdb"

    def copy():
        if (tmp_path / "blk").exists():
            shutil.rmtree(tmp_path / "blk")
        shutil.copytree(dd / "blocks", tmp_path / "blk", ignore=shutil.ignore_patterns("index"))
        return tmp_path / "blk"

    r = api.sync(blocks_dir=copy(), store_path=store, network="regtest", undo_files=True)
    assert r.height == T
    _process(dd, b)
    r2 = api.sync(blocks_dir=copy(), store_path=store, network="regtest", undo_files=True)
    assert (r2.rolled_back_to, r2.reorg_depth, r2.height) == (T - 3, 3, T + 1)
    fresh = tmp_path / "fresh.duckdb"
    kernel_index(dd, fresh, "regtest")  # Core's own undo reading via the kernel
    with ChainIndex(store, read_only=True) as x, ChainIndex(fresh, read_only=True) as y:
        for t in ("blocks", "created", "spends", "flows"):
            q = f"SELECT * FROM {t} ORDER BY ALL"
            assert x.con.execute(q).fetchall() == y.con.execute(q).fetchall(), t


def test_same_shape_stale_sibling_is_refused(tmp_path):
    """A stale sibling whose undo record has the same shape but other coins: refuse, never guess."""
    from test_reorg import SUBSIDY, _branch

    cbs: dict = {}
    a = _branch(GENESIS, 1, 110, cbs, {110: [(2, [SUBSIDY])]}, b"A")
    b = _branch(mine_hash(a[108]), 110, 111, {h: cbs[h] for h in range(1, 110)}, {110: [(4, [SUBSIDY])]}, b"B")
    dd = tmp_path / "node"
    _process(dd, a)
    _process(dd, b)  # Core connected A's 110, then reorged to B's 110 + 111: both undo records exist
    blk = tmp_path / "blk"
    shutil.copytree(dd / "blocks", blk, ignore=shutil.ignore_patterns("index"))
    store = tmp_path / "s.duckdb"
    with pytest.raises(ChainError, match="stale sibling") as ei:
        api.sync(blocks_dir=blk, store_path=store, network="regtest", undo_files=True)
    assert "--rpc" in str(ei.value)
    assert api.status(store)["height"] == 109  # every block before the ambiguous one is kept
    # the kernel knows which record it connected
    assert kernel_index(dd, tmp_path / "k.duckdb", "regtest") == 111


def test_cli_undo_files(datadir, tmp_path):
    import json

    from typer.testing import CliRunner

    from btcmacro.cli import app

    d, _ = datadir
    blocks = tmp_path / "blocks"
    shutil.copytree(d / "blocks", blocks, ignore=shutil.ignore_patterns("index"))
    run = CliRunner().invoke
    r = run(app, ["chain", "sync", "--blocks-dir", str(blocks), "--undo-files", "--no-publish", "--index",
                  str(tmp_path / "i.duckdb")])
    assert r.exit_code == 0, r.output
    st = json.loads(run(app, ["chain", "status", "--format", "json", "--index", str(tmp_path / "i.duckdb")]).stdout)
    assert st["mode"] == "revundo" and st["utxo_value_btc"] == 12800.0
    (blocks / "rev00000.dat").unlink()
    r = run(app, ["chain", "sync", "--blocks-dir", str(blocks), "--undo-files", "--no-publish", "--index",
                  str(tmp_path / "j.duckdb")])
    assert r.exit_code == 8 and "no rev*.dat undo files" in r.stderr
