"""Parse + txid throughput of btcmacro.chain.parse vs python-bitcoinlib, same run, same blocks.

Work per block for both: decode every transaction (inputs, outputs, witnesses) and compute every
txid (double SHA-256 of the non-witness serialization); ours also checks the merkle root.

    PYTHONPATH=src python benchmarks/chain_parse.py [--blocks DIR] [--reps N]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from btcmacro.chain.parse import parse_block

NAMES = ["277647.bin", "413567.bin", "702861.bin", "849236.bin", "849250.bin", "905646.bin"]


def ours(raws):
    for r in raws:
        b = parse_block(r)
        if not b.merkle_ok:
            raise SystemExit("merkle mismatch")


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
    ap.add_argument("--blocks", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "blocks"))
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    d = Path(a.blocks)
    if not d.exists():
        d = Path("/work/shared/data/blocks")
    raws = [(d / n).read_bytes() for n in NAMES]
    mb = sum(map(len, raws)) / 1e6
    print(f"python {platform.python_version()} on {platform.machine()}; {len(raws)} real blocks, {mb:.2f} MB")
    r1, t1 = rate(ours, raws, a.reps)
    print(f"btcmacro.chain.parse : {r1:8.1f} MB/s  ({t1 * 1000:.0f} ms, best of {a.reps}, one core)")
    r2, t2 = rate(bitcoinlib, raws, max(1, a.reps // 2))
    print(f"python-bitcoinlib    : {r2:8.1f} MB/s  ({t2 * 1000:.0f} ms)")
    print(f"ratio                : {r1 / r2:8.1f}x")


if __name__ == "__main__":
    main()
