"""Per-core rates of each chain-sync stage, measured here, and the full-chain projection they imply.

Stages, each timed on this machine, one core:

1. **parse** — ``parse_block`` + merkle check + ``output_arrays`` on the six large real blocks
   (the engine path of ``benchmarks/chain_parse.py``);
2. **lifecycle** — per block: ``block_row``, ``created_row``, ``block_flows`` (every output script
   hashed and netted per script; the spent coins' scripts are stand-ins of the same count as the
   block's inputs) and ``undo_spends`` (grouping spent coins by creation height);
3. **store** — appending those Arrow tables to a DuckDB chain index (one transaction per batch);
4. **undo read** — reading spent coins (height, amount, scriptPubKey) from a genuine regtest
   datadir built here (a block spending 2,000 coins), through py-bitcoinkernel and through
   btcmacro's own ``rev*.dat`` reader (:mod:`btcmacro.chain.undo`).

The projection divides the full chain (``--chain-gb`` of blocks, ``--inputs`` spent coins) by
these rates over ``--cores`` cores, assuming block ranges are processed independently (every
row is keyed by height; spends carry their creation height from undo data).

    PYTHONPATH=src python benchmarks/chain_projection.py [--cores 16] [--chain-gb 800] [--inputs 3.1e9]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from btcmacro.chain import lifecycle
from btcmacro.chain.index import ChainIndex
from btcmacro.chain.parse import parse_block

NAMES = ["277647.bin", "413567.bin", "702861.bin", "849236.bin", "849250.bin", "905646.bin"]


def best(fn, reps=5):
    b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def stage_rates(raws):
    total = sum(map(len, raws))
    blocks = [parse_block(r) for r in raws]
    rng = np.random.default_rng(1)
    spent = []
    for b in blocks:  # stand-ins for the spent coins' scripts: the block's own outputs, cycled to n_in
        outs = [(s, v) for t in b.txs for v, s in t.vout]
        spent.append([outs[i % len(outs)] for i in range(b.n_in)])

    def parse():
        for r in raws:
            b = parse_block(r)
            b.check_merkle()
            b.output_arrays()

    tables = []

    def life():
        tables.clear()
        for h, (b, sp) in enumerate(zip(blocks, spent)):
            row = lifecycle.block_row(b, h + 1)
            cr = lifecycle.created_row(b)
            fl = lifecycle.block_flows(b, h + 1, sp)
            us = lifecycle.undo_spends(h + 1, rng.integers(0, h + 1, b.n_in), rng.integers(1, 10**8, b.n_in))
            tables.append((row, cr, fl, us))

    t_parse = best(parse)
    t_life = best(life)
    with tempfile.TemporaryDirectory() as d:
        ix = ChainIndex(Path(d) / "bench.duckdb")

        def store():
            ix.con.execute("BEGIN")
            ix.append("blocks", lifecycle.blocks_table([t[0] for t in tables]))
            for _, _, fl, us in tables:
                ix.append("flows", fl)
                ix.append("spends", us)
            ix.con.execute("ROLLBACK")

        t_store = best(store)
        ix.close()
    return total, t_parse, t_life, t_store


def undo_rate(n_coins=2000):
    """Seconds per spent coin read through py-bitcoinkernel (None if it is not installed)."""
    try:
        import pbk
    except ImportError:
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "chain"))
    import struct

    from _chainhelp import OP_TRUE, _cs, coinbase_tx, mine_block, txid

    genesis = bytes.fromhex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")[::-1]
    value = 50 * 10**8 // n_coins
    cb1 = coinbase_tx(1, 0)
    outs = b"".join(struct.pack("<q", value) + _cs(1) + OP_TRUE for _ in range(n_coins))
    cb1 = cb1[:-4 - 1 - 8 - 2] + _cs(n_coins) + outs + b"\0\0\0\0"  # replace the single output
    t0 = 1_600_000_000
    blocks, prev = [], genesis
    for h in range(1, 102):
        txs = [cb1] if h == 1 else [coinbase_tx(h, 0)]
        if h == 101:
            ins = b"".join(txid(cb1) + struct.pack("<I", i) + b"\x00" + b"\xff\xff\xff\xff" for i in range(n_coins))
            spend = struct.pack("<i", 2) + _cs(n_coins) + ins + b"\x01" + struct.pack("<q", value * n_coins - 10**5) \
                + _cs(1) + OP_TRUE + b"\0\0\0\0"
            txs.append(spend)
        blk = mine_block(prev, h, t0 + h * 600, txs)
        blocks.append(blk)
        import hashlib

        prev = hashlib.sha256(hashlib.sha256(blk[:80]).digest()).digest()
    with tempfile.TemporaryDirectory() as d:
        cm = pbk.load_chainman(Path(d), pbk.ChainType.REGTEST)
        for b in blocks:
            cm.process_block(pbk.Block(b))
        chain = cm.get_active_chain()
        if chain.height != 101:
            return None
        entry = chain.block_tree_entries[101]

        def read():
            n = 0
            for txs in cm.block_spent_outputs[entry].transactions:
                for coin in txs.coins:
                    out = coin.output
                    coin.confirmation_height, out.amount, bytes(out.script_pubkey)
                    n += 1
            assert n == n_coins

        t = best(read, 3)
        del cm, chain, entry
        gc.collect()
        # the same coins through btcmacro's own rev*.dat reader (file scan + checksum + compiled decode)
        from btcmacro.chain.blkfile import read_xor_key
        from btcmacro.chain.undo import UndoIndex

        key = read_xor_key(Path(d) / "blocks")
        spend_block = parse_block(blocks[-1])

        def own():
            ui = UndoIndex(Path(d) / "blocks", key=key, network="regtest")
            coins = ui.spent_coins("blk00000.dat", spend_block.header.prev_hash, spend_block.tx_input_counts,
                                   where="bench")  # what the sync uses (compiled decoder)
            assert len(coins.values) == n_coins

        t_own = best(own, 3)
    return t / n_coins, t_own / n_coins


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", default=str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "data" / "blocks"))
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--chain-gb", type=float, default=800.0, help="size of all blk files (GB)")
    ap.add_argument("--inputs", type=float, default=3.1e9, help="spent coins in the whole chain (assumption)")
    a = ap.parse_args()
    raws = [(Path(a.blocks) / n).read_bytes() for n in NAMES]
    total, tp, tl, ts = stage_rates(raws)
    mb = total / 1e6
    r_parse, r_life, r_store = mb / tp, mb / tl, mb / ts
    r_all = mb / (tp + tl + ts)
    print(f"{len(raws)} real blocks, {mb:.2f} MB; one core")
    print(f"  parse+merkle+outputs : {r_parse:7.1f} MB/s")
    print(f"  lifecycle (+flows)   : {r_life:7.1f} MB/s")
    print(f"  DuckDB append        : {r_store:7.1f} MB/s")
    print(f"  all three            : {r_all:7.1f} MB/s")
    rates = undo_rate()
    chain_mb = a.chain_gb * 1e3
    t_blocks = chain_mb / r_all / a.cores
    print(f"projection for {a.chain_gb:.0f} GB of blocks on {a.cores} cores:")
    print(f"  blocks (parse, lifecycle, store): {t_blocks / 60:6.1f} min")
    if rates is not None:
        k, own = rates
        t_k, t_own = a.inputs * k, a.inputs * own
        print(f"  undo via py-bitcoinkernel : {k * 1e6:5.1f} us/coin -> {t_k / 3600:5.1f} h on one core "
              "(the kernel locks the datadir: one process)")
        print(f"  undo via own rev reader   : {own * 1e6:5.1f} us/coin -> {t_own / 3600:5.1f} h on one core, "
              f"{t_own / a.cores / 60:5.1f} min on {a.cores} (files split by number)")
        print(f"  total, own rev reader     : {(t_blocks + t_own / a.cores) / 60:6.1f} min on {a.cores} cores")
        print(f"  total, kernel undo read   : {(t_blocks + t_k) / 60:6.1f} min")
    else:
        print("  undo read: py-bitcoinkernel not available, not measured")


if __name__ == "__main__":
    main()
