"""T11/T12 on genuine regtest chains built by py-bitcoinkernel from blocks mined in the test.

Blocks pay to OP_TRUE, so coinbases can be spent without keys after 100 confirmations.
Branch A: heights 1..T (T = 112), with spends at 105, 110 and 111. Branch B forks at T-2: its first
block is at height 110 on top of A's block 109 (so the rollback target is T-3 = 109), spends a
different coin, and is longer (111..113), so Core switches to it.
"""

from __future__ import annotations

import gc
import shutil

import pytest
from _chainhelp import coinbase_tx, mine_block, spend_tx, txid

from btcmacro.chain import api
from btcmacro.chain.index import ChainIndex
from btcmacro.errors import ReorgBeyondDepth

pbk = pytest.importorskip("pbk")

SUBSIDY = 50 * 10**8
T = 112
T0 = 1_600_000_000
DAY = 86_400
GENESIS = bytes.fromhex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")[::-1]


def _branch(start_prev: bytes, start_height: int, end_height: int, coinbases: dict, spends: dict, tag: bytes):
    """Mine blocks start_height..end_height; 4 blocks a day so spends cross days."""
    out, prev = [], start_prev
    for h in range(start_height, end_height + 1):
        cb = coinbase_tx(h, SUBSIDY, tag)
        txs = [cb]
        for src_h, values in spends.get(h, []):
            txs.append(spend_tx(txid(coinbases[src_h]), 0, values))
        coinbases[h] = cb
        blk = mine_block(prev, h, T0 + h * DAY // 4, txs)
        out.append(blk)
        prev = mine_hash(blk)
    return out


def mine_hash(blk: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(hashlib.sha256(blk[:80]).digest()).digest()


def _process(datadir, blocks):
    cm = pbk.load_chainman(datadir, pbk.ChainType.REGTEST)
    for b in blocks:
        cm.process_block(pbk.Block(b))
    tip = cm.get_active_chain().height
    tip_hash = bytes(cm.get_active_chain().block_tree_entries[tip].block_hash)
    del cm
    gc.collect()
    return tip, tip_hash


@pytest.fixture(scope="session")
def chains():
    cbs: dict[int, bytes] = {}
    a = _branch(GENESIS, 1, T, cbs, {105: [(1, [SUBSIDY])], 110: [(2, [20 * 10**8, 30 * 10**8])],
                                     111: [(3, [SUBSIDY])]}, b"A")
    cbs_b = {h: cbs[h] for h in range(1, T - 2)}
    b = _branch(mine_hash(a[T - 4]), T - 2, T + 1, cbs_b, {111: [(4, [SUBSIDY])], 113: [(5, [SUBSIDY])]}, b"B")
    return a, b


def _matrix(store):
    m = api.load_matrix(store)
    return (m.days.tolist(), m.c.tolist(), m.s.tolist(), m.value.tolist(), m.created.tolist())


def _tables(store):
    with ChainIndex(store, read_only=True) as ix:
        return {t: ix.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("blocks", "created", "spends", "flows", "checkpoint")}


def test_regtest_reorg_T11(tmp_path, chains):
    a, b = chains
    dd = tmp_path / "node"
    assert _process(dd, a) == (T, mine_hash(a[-1]))
    store = tmp_path / "chain.duckdb"
    r = api.sync(datadir=dd, store_path=store, network="regtest")
    assert r.height == T and r.blocks_added == T + 1
    st = api.status(store)
    assert st["tx_count"] == (T + 1) + 3  # T + 1 coinbases (genesis included) + 3 spends
    assert st["utxo_value_btc"] == 50 * (T + 1)  # genesis counted; OP_TRUE spends move value only

    tip, tip_hash = _process(dd, b)
    assert tip == T + 1 and tip_hash == mine_hash(b[-1])  # Core switched to branch B
    r2 = api.sync(datadir=dd, store_path=store, network="regtest")
    assert r2.rolled_back_to == T - 3 and r2.reorg_depth == 3
    assert r2.height == T + 1 and r2.blocks_added == 4

    fresh = tmp_path / "fresh.duckdb"
    api.sync(datadir=dd, store_path=fresh, network="regtest")
    assert _matrix(store) == _matrix(fresh)
    assert api.status(store) == api.status(fresh)
    t1, t2 = _tables(store), _tables(fresh)
    assert t1["blocks"] == t2["blocks"] and t1["spends"] == t2["spends"] and t1["created"] == t2["created"]
    assert t1["flows"] == t2["flows"] and t1["flows"]  # per-script flows rolled back and redone too

    # the same node's blk files through the own parser (regtest magic, XOR) give the same aggregates
    blk = tmp_path / "blkonly"
    shutil.copytree(dd / "blocks", blk, ignore=shutil.ignore_patterns("index"))
    own = tmp_path / "own.duckdb"
    api.sync(blocks_dir=blk, store_path=own, network="regtest")
    assert _matrix(own) == _matrix(fresh)
    assert _tables(own)["flows"] == t2["flows"]  # undo-data scripts (Core) == coin-map scripts (own parser)
    own_st = api.status(own)
    assert {k: own_st[k] for k in ("height", "tip_hash", "tx_count", "utxo_count", "utxo_value_btc")} == \
        {k: st2 for k, st2 in api.status(fresh).items() if k in ("height", "tip_hash", "tx_count", "utxo_count", "utxo_value_btc")}


def test_reorg_too_deep_T12(tmp_path, chains):
    a, b = chains
    dd = tmp_path / "node"
    _process(dd, a)
    store = tmp_path / "chain.duckdb"
    api.sync(datadir=dd, store_path=store, network="regtest")
    before = _tables(store)
    _process(dd, b)
    with pytest.raises(ReorgBeyondDepth, match="--rebuild"):
        api.sync(datadir=dd, store_path=store, network="regtest", max_reorg_depth=2)
    assert _tables(store) == before  # store unchanged
    r = api.sync(datadir=dd, store_path=store, network="regtest", rebuild=True)
    assert r.height == T + 1


def test_checkpoint_unknown_to_node_T12(tmp_path, chains):
    a, _ = chains
    dd = tmp_path / "node"
    _process(dd, a[:50])
    store = tmp_path / "chain.duckdb"
    api.sync(datadir=dd, store_path=store, network="regtest")
    before = _tables(store)
    other = tmp_path / "node2"  # a node that never saw blocks 41..50, same XOR key, same path later
    (other / "blocks").mkdir(parents=True)
    shutil.copy(dd / "blocks" / "xor.dat", other / "blocks" / "xor.dat")
    _process(other, a[:40])
    shutil.rmtree(dd)
    shutil.copytree(other, dd)
    with pytest.raises(ReorgBeyondDepth, match="is not in the block files"):
        api.sync(datadir=dd, store_path=store, network="regtest")
    assert _tables(store) == before
