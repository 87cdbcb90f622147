"""Helpers shared by the chain tests (importable because pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path

#: the real block fixtures, kept in the repository (provenance: tests/fixtures/data/blocks/README.md);
#: the same folder as ``_realdata.DATA / "blocks"``, located from this file so that the benchmarks,
#: which put only tests/chain on sys.path, find it too
BLOCKS = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "blocks"

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


def record(block: bytes, magic: bytes = MAINNET_MAGIC) -> bytes:
    """One blk-file record: magic, little-endian size, block."""
    return magic + len(block).to_bytes(4, "little") + block


def write_blk(dirpath: Path, raws: list[bytes], name: str = "blk00000.dat", tail: bytes = b"") -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_bytes(b"".join(record(b) for b in raws) + tail)
    return p


# ------------------------------------------------------------------ regtest block builder
import hashlib  # noqa: E402
import struct  # noqa: E402

REGTEST_BITS = 0x207FFFFF
OP_TRUE = b"\x51"


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _cs(n: int) -> bytes:
    return bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n)


def _height_push(h: int) -> bytes:
    """BIP34 height push as Core's CScript() << h (OP_1..OP_16 for 1..16, else minimal LE push)."""
    if 1 <= h <= 16:
        return bytes([0x50 + h])
    b = h.to_bytes((h.bit_length() + 8) // 8, "little")  # room for the sign bit
    b = b.rstrip(b"\0") or b"\0"
    if b[-1] & 0x80:
        b += b"\0"
    return bytes([len(b)]) + b


def coinbase_tx(height: int, value: int, tag: bytes = b"") -> bytes:
    script_sig = _height_push(height) + bytes([len(tag) + 1]) + b"\xaa" + tag
    return (struct.pack("<i", 2) + b"\x01" + b"\0" * 32 + b"\xff\xff\xff\xff" + _cs(len(script_sig)) + script_sig
            + b"\xff\xff\xff\xff" + b"\x01" + struct.pack("<q", value) + _cs(1) + OP_TRUE + b"\0\0\0\0")


def spend_tx(prev_txid: bytes, vout: int, values: list[int]) -> bytes:
    """Spend an OP_TRUE output (empty scriptSig) into OP_TRUE outputs."""
    outs = b"".join(struct.pack("<q", v) + _cs(1) + OP_TRUE for v in values)
    return (struct.pack("<i", 2) + b"\x01" + prev_txid + struct.pack("<I", vout) + b"\x00" + b"\xff\xff\xff\xff"
            + _cs(len(values)) + outs + b"\0\0\0\0")


def mine_block(prev_hash: bytes, height: int, time: int, txs: list[bytes]) -> bytes:
    """Assemble and grind a regtest block (target 0x207fffff: about two tries)."""
    txids = [_sha256d(t) for t in txs]
    level = txids
    while len(level) > 1:
        if len(level) % 2:
            level = level + [level[-1]]
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    target = (0x7FFFFF) << (8 * (0x20 - 3))
    for nonce in range(1 << 20):
        header = struct.pack("<i32s32sIII", 0x20000000, prev_hash, level[0], time, REGTEST_BITS, nonce)
        if int.from_bytes(_sha256d(header), "little") <= target:
            return header + _cs(len(txs)) + b"".join(txs)
    raise RuntimeError("no nonce found")


def txid(tx: bytes) -> bytes:
    return _sha256d(tx)


# ------------------------------------------------------------------ synthetic chains on mainnet genesis
GENESIS_TIME = 1231006505  # 2009-01-03 18:15:05 UTC
DAY0 = 1230940800  # 2009-01-03 00:00 UTC
OP_RETURN = b"\x6a"


def block_hash(blk: bytes) -> bytes:
    return _sha256d(blk[:80])


def coinbase_to(height: int, value: int, tag: bytes = b"") -> bytes:
    return coinbase_tx(height, value, tag)


def synthetic_chain(genesis: bytes, plan: list[tuple[int, int, list[tuple[str, int, list[int]]]]],
                    prev: bytes | None = None, start_height: int = 1, txs_by_name: dict | None = None,
                    tag: bytes = b"") -> tuple[list[bytes], dict]:
    """Blocks on top of ``genesis`` (or ``prev``): plan rows ``(day, coinbase sat, spends)``.

    ``day`` is days after 2009-01-03 (block stamped 19:00 UTC that day); each spend is
    ``(name of the spent tx, vout, output values)``; a block's coinbase is named ``cb<height>``
    and its k-th spend ``tx<height>.<k>``. Returns the raw blocks and the name → raw tx map.
    """
    txs_by_name = dict(txs_by_name or {})
    out = []
    prev = prev if prev is not None else block_hash(genesis)
    for i, (day, cb_value, spends) in enumerate(plan):
        h = start_height + i
        cb = coinbase_tx(h, cb_value, tag)
        txs_by_name[f"cb{h}"] = cb
        txs = [cb]
        for k, (name, vout, values) in enumerate(spends):
            t = spend_tx(txid(txs_by_name[name]), vout, values)
            txs_by_name[f"tx{h}.{k}"] = t
            txs.append(t)
        blk = mine_block(prev, h, DAY0 + day * 86400 + 19 * 3600, txs)
        out.append(blk)
        prev = block_hash(blk)
    return out, txs_by_name


# ------------------------------------------------------------------ splitting a Core blocks/ dir into small files
def split_blocks_dir(src: Path, dst: Path, per_file: int, *, network: str = "mainnet",
                     files: list[list[int]] | None = None) -> list[tuple[str, int, bytes]]:
    """Rewrite a node's ``blocks/`` dir (blk + rev + xor.dat) as files of ``per_file`` blocks each.

    Blocks keep their file order (or, with ``files``, file ``k`` holds the blocks numbered
    ``files[k]`` in the source's file order, in that order: blocks interleaved between files); each block's undo record (matched by its checksum, which is
    SHA256d(parent hash || data)) goes to the rev file with the same number as its new blk file,
    in the same order, as Core does. Both kinds of file are XOR-ed with the source's key by file
    offset. Returns ``(blk file name, record offset, block hash)`` for every block written.
    """
    from btcmacro.chain import blkfile, undo

    magic = blkfile.MAGIC[network]
    key = blkfile.read_xor_key(src)
    blocks = [r.data for f in blkfile.blk_files(src) for r in blkfile.scan_file(f, key=key, network=network).records]
    recs = [r for f in undo.rev_files(src) for r in undo.scan_rev_file(f, key=key, network=network)]
    dst.mkdir(parents=True, exist_ok=True)
    if (src / "xor.dat").exists():
        (dst / "xor.dat").write_bytes((src / "xor.dat").read_bytes())
    used: set[int] = set()
    where = []
    nxt = 0  # records are mostly in block order: search from the last match on, then wrap
    if files is None:
        files = [list(range(k, min(k + per_file, len(blocks)))) for k in range(0, len(blocks), per_file)]
    assert sorted(i for f in files for i in f) == list(range(len(blocks))), "every block once"
    for k, members in enumerate(files):
        name = f"{k:05d}.dat"
        blk, rev = bytearray(), bytearray()
        for raw in (blocks[i] for i in members):
            where.append(("blk" + name, len(blk), block_hash(raw)))
            blk += record(raw, magic)
            prev = raw[4:36]
            for i in [*range(nxt, len(recs)), *range(nxt)]:
                r = recs[i]
                if i not in used and undo.undo_checksum(prev, r.data) == r.checksum:
                    used.add(i)
                    nxt = i + 1
                    rev += magic + len(r.data).to_bytes(4, "little") + r.data + r.checksum
                    break
        (dst / ("blk" + name)).write_bytes(blkfile.apply_xor(bytes(blk), key))
        (dst / ("rev" + name)).write_bytes(blkfile.apply_xor(bytes(rev), key))
    assert len(used) == len(recs), "an undo record matched no block"
    return where


def compress_amount(n: int) -> int:
    """Core's CompressAmount, written out from its definition (compressor.cpp) for the round trip."""
    if n == 0:
        return 0
    e = 0
    while n % 10 == 0 and e < 9:
        n //= 10
        e += 1
    if e < 9:
        d = n % 10
        n //= 10
        return 1 + (n * 9 + d - 1) * 10 + e
    return 1 + (n - 1) * 10 + 9


def balances_by_day(raw_blocks: list[bytes]) -> dict:
    """Balance of every script at the end of each day with blocks: a plain loop over the outputs
    and spent coins of python-bitcoinlib's decoded blocks (height order)."""
    import datetime as dt
    from collections import defaultdict

    from bitcoin.core import CBlock

    from btcmacro.chain.lifecycle import spendable

    coins, bal, out = {}, defaultdict(int), {}
    for raw in raw_blocks:
        blk = CBlock.deserialize(raw)
        day = dt.datetime.fromtimestamp(blk.nTime, dt.UTC).date()
        for tx in blk.vtx:
            if not tx.is_coinbase():
                for i in tx.vin:
                    s, v = coins.pop((i.prevout.hash, i.prevout.n))
                    bal[s] -= v
            for n, o in enumerate(tx.vout):
                s = bytes(o.scriptPubKey)
                if spendable(s):
                    coins[(tx.GetTxid(), n)] = (s, o.nValue)
                    bal[s] += o.nValue
        out[day] = dict(bal)
    return out


# ------------------------------------------------------------------ worker-pool tasks (importable by spawn workers)
def pool_task(task: tuple) -> object:
    """A task for :class:`btcmacro.chain.parallel.WorkerPool` tests: ``(file name, action, n)``;
    ``ok`` returns ``n * 2`` after ``n`` ms, ``exit`` ends the process with code ``n``, ``kill``
    sends it SIGKILL, ``chain`` raises a BadBlock, ``bug`` a ValueError."""
    import signal
    import time

    name, action, n = task
    if action == "ok":
        time.sleep(n / 1000)
        return n * 2
    if action == "exit":
        os._exit(n)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    if action == "chain":
        from btcmacro.errors import BadBlock

        raise BadBlock("merkle root mismatch", where=f"{name}@0x10")
    raise ValueError(f"not a number: {n!r}")
