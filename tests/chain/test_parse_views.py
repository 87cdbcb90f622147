"""The lazy parser against an independent decoder (python-bitcoinlib) on all nine real blocks.

The fast scan only records offsets; these tests prove the views it hands out decode to exactly
what another implementation reads from the same bytes, and that the vectorised output reader
(`Block.output_arrays`) equals the per-output Python rule (`lifecycle.spendable`).
"""

from __future__ import annotations

import numpy as np
import pytest
from bitcoin.core import CBlock

from btcmacro.chain.lifecycle import created_row, spendable
from btcmacro.chain.parse import parse_block

NAMES = ["0.bin", "9.bin", "170.bin", "277647.bin", "413567.bin", "702861.bin", "849236.bin", "849250.bin",
         "905646.bin"]


# one block per era (the nine blocks' counts are checked against the README in test_parse.py)
@pytest.mark.parametrize("name", ["0.bin", "170.bin", "277647.bin", "413567.bin", "702861.bin", "905646.bin"])
def test_views_match_python_bitcoinlib(blocks_path, name):
    raw = (blocks_path / name).read_bytes()
    ref = CBlock.deserialize(raw)
    want = [(r.GetTxid(), r.nVersion, r.nLockTime,
             [(i.prevout.hash, i.prevout.n, bytes(i.scriptSig), i.nSequence) for i in r.vin],
             [(o.nValue, bytes(o.scriptPubKey)) for o in r.vout],
             [list(w.scriptWitness.stack) for w in r.wit.vtxinwit] if r.has_witness() else None)
            for r in ref.vtx]
    for full in (False, True):  # lazy views and the one-pass full decode
        ours = parse_block(raw, full=full)
        got = [(t.txid, t.version, t.locktime, t.vin, t.vout, t.witness) for t in ours.txs]
        assert got == want, full
        assert ours.n_in == sum(len(w[3]) for w in want) and ours.n_out == sum(len(w[4]) for w in want)


@pytest.mark.parametrize("name", NAMES)
def test_output_arrays_equal_per_output_rule(blocks_path, name):
    b = parse_block((blocks_path / name).read_bytes())
    vals, ok = b.output_arrays()
    want = [(v, spendable(s)) for t in b.txs for v, s in t.vout]
    assert vals.tolist() == [v for v, _ in want] and ok.tolist() == [k for _, k in want]
    v, n = created_row(b)
    assert (v, n) == (sum(x for x, k in want if k), sum(k for _, k in want))


def test_output_arrays_long_and_empty_scripts():
    """Scripts of 0, 253+ (CompactSize 0xFD) and >10,000 bytes, and OP_RETURN, in one block."""
    from _chainhelp import coinbase_tx, mine_block

    import struct

    scripts = [b"", b"\x51" * 300, b"\x6a" + b"\x00" * 40, b"\x51" * 10_001, b"\x51"]
    outs = b"".join(struct.pack("<q", 1000 + i) + (bytes([len(s)]) if len(s) < 0xFD else b"\xfd" + struct.pack("<H", len(s))) + s
                    for i, s in enumerate(scripts))
    cb = coinbase_tx(1, 5)
    tx = (struct.pack("<i", 2) + b"\x01" + b"\x11" * 32 + b"\0\0\0\0" + b"\x00" + b"\xff\xff\xff\xff"
          + bytes([len(scripts)]) + outs + b"\0\0\0\0")
    blk = parse_block(mine_block(b"\0" * 32, 1, 1_600_000_000, [cb, tx]))
    vals, ok = blk.output_arrays()
    assert vals.tolist() == [5, 1000, 1001, 1002, 1003, 1004]
    assert ok.tolist() == [True, True, True, False, False, True]
    assert np.array_equal(ok, [spendable(s) for t in blk.txs for _, s in t.vout])


def test_full_and_lazy_agree_on_errors(blocks_path):
    """Every truncation of a real block fails (or not) identically in both scan variants."""
    from btcmacro.errors import ChainError

    raw = (blocks_path / "170.bin").read_bytes()
    for cut in range(0, len(raw) + 1):
        res = []
        for full in (False, True):
            try:
                b = parse_block(raw[:cut], full=full)
                res.append(("ok", b.txids))
            except ChainError:
                res.append(("err", None))
        assert res[0] == res[1], cut
