"""Parse + txid throughput of btcmacro.chain.parse vs python-bitcoinlib, same run, same blocks.

Three measurements on the six large real blocks (7.5 MB), best of N, one core:

* ``engine``: what the chain engine does per block — walk and bounds-check every field of every
  transaction, compute every txid, check the merkle root, and read every output value and its
  spendability (``Block.output_arrays``); inputs/witnesses are walked but not materialised
  (the undo / RPC paths never need them). The walk is the compiled kernel
  (``kernels.walk_block``; its one-time load falls outside the best of N); txids and merkle
  nodes are ``hashlib``;
* ``full``: ``parse_block(full=True)``, the pure-Python walk (the kernel's reference twin) plus
  every input and output materialised as Python tuples in the same pass, and every ``tx.witness_raw`` sliced — the same work
  python-bitcoinlib does (the coin-map path);
* ``python-bitcoinlib``: ``CBlock.deserialize`` + ``GetTxid()`` for every tx (no merkle check).

    PYTHONPATH=src python benchmarks/chain_parse.py [--blocks DIR] [--reps N]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from btcmacro.chain.parse import parse_block

NAMES = ["277647.bin", "413567.bin", "702861.bin", "849236.bin", "849250.bin", "905646.bin"]


def engine(raws):
    for r in raws:
        b = parse_block(r)
        if not b.merkle_ok:
            raise SystemExit("merkle mismatch")
        b.output_arrays()


def full(raws):
    for r in raws:
        b = parse_block(r, full=True)
        if not b.merkle_ok:
            raise SystemExit("merkle mismatch")
        for t in b.txs:
            t.vin, t.vout, t.witness_raw  # noqa: B018 - materialise every field


def bitcoinlib(raws):
    from bitcoin.core import CBlock

    for r in raws:
        blk = CBlock.deserialize(r)
        [tx.GetTxid() for tx in blk.vtx]


def rate(fn, raws, reps):
    total = sum(map(len, raws))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(raws)
        best = min(best, time.perf_counter() - t0)
    return total / best / 1e6, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", default=str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "data" / "blocks"))
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    d = Path(a.blocks)
    raws = [(d / n).read_bytes() for n in NAMES]
    mb = sum(map(len, raws)) / 1e6
    ntx = sum(len(parse_block(r).txids) for r in raws)
    print(f"python {platform.python_version()} on {platform.machine()}; {len(raws)} real blocks, "
          f"{mb:.2f} MB, {ntx} txs; best of {a.reps}, one core")
    r1, t1 = rate(engine, raws, a.reps)
    r2, t2 = rate(full, raws, a.reps)
    r3, t3 = rate(bitcoinlib, raws, max(1, a.reps // 2))
    print(f"btcmacro engine path (txids+merkle+outputs) : {r1:7.1f} MB/s  ({t1 * 1000:.0f} ms)")
    print(f"btcmacro full decode (every field as objects): {r2:7.1f} MB/s  ({t2 * 1000:.0f} ms)")
    print(f"python-bitcoinlib deserialize + txids       : {r3:7.1f} MB/s  ({t3 * 1000:.0f} ms)")
    print(f"ratio engine / bitcoinlib                    : {r1 / r3:7.1f}x")
    print(f"ratio full decode / bitcoinlib               : {r2 / r3:7.1f}x")


if __name__ == "__main__":
    main()
