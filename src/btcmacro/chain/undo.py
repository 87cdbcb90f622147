"""Bitcoin Core undo files (``blocks/rev*.dat``): each spent coin's creation height, amount, script.

Read without py-bitcoinkernel, so many processes can read a datadir's files by range (the
kernel locks the datadir). Format, as Core writes it (``undo.h``, ``compressor.h``,
``serialize.h``, ``node/blockstorage.cpp``):

* a rev file is a sequence of records ``magic(4) | size(u32 LE) | CBlockUndo(size) |
  checksum(32)``, XOR-obfuscated like the blk files (``blocks/xor.dat``, by file offset);
  ``checksum = SHA256d(hash of the block's *parent* || CBlockUndo)``, which is how a record is
  tied to its block (Core writes undo data for blocks of ``blkNNNNN.dat`` into ``revNNNNN.dat``);
* ``CBlockUndo`` = CompactSize count of ``CTxUndo`` (one per non-coinbase tx) and each
  ``CTxUndo`` = CompactSize count of coins (one per input, in input order);
* a coin = ``VARINT(height * 2 + coinbase)``, a ``VARINT`` dummy when height > 0 (an old
  version field), ``VARINT(CompressAmount(value))`` and a compressed script: ``VARINT(n)`` then
  ``n`` = 0 P2PKH (20 bytes), 1 P2SH (20 bytes), 2/3 compressed-key P2PK (32 bytes), 4/5
  uncompressed-key P2PK (32 bytes; the key is decompressed on secp256k1), otherwise ``n - 6``
  raw script bytes. ``VARINT`` is Core's MSB-first base-128 with the ``+1`` carry, not LEB128.

Every decoding failure raises :class:`~btcmacro.errors.ChainError` naming file and offset.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from btcmacro.chain import blkfile
from btcmacro.errors import ChainError

__all__ = ["UndoRecord", "scan_rev_file", "rev_files", "parse_block_undo", "parse_block_undo_flat",
           "decompress_amount", "read_varint", "undo_checksum", "UndoIndex"]

_REV_RE = re.compile(r"^rev(\d{5})\.dat$")
_P = 2**256 - 2**32 - 977  # secp256k1 field prime
MAX_SCRIPT_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class UndoRecord:
    file: str
    offset: int
    data: bytes
    checksum: bytes

    @property
    def where(self) -> str:
        return f"{self.file}@{self.offset:#x}"


def rev_files(blocks_dir: str | os.PathLike) -> list[Path]:
    d = Path(blocks_dir)
    return sorted((p for p in d.iterdir() if _REV_RE.match(p.name)),
                  key=lambda p: int(_REV_RE.match(p.name).group(1)))


def scan_rev_file(path: str | os.PathLike, *, key: bytes = b"\0" * 8, network: str = "mainnet") -> list[UndoRecord]:
    """Split one rev file into records (trailing zero padding and a cut last record are skipped)."""
    p = Path(path)
    raw = p.read_bytes()
    data = blkfile.apply_xor(raw, key)
    magic = blkfile.MAGIC[network]
    out, pos, n = [], 0, len(data)
    while pos + 8 <= n:
        if data[pos : pos + 4] != magic:
            if raw[pos] == 0 and not raw[pos:].strip(b"\0"):
                break  # pre-allocated zeros at the end
            nxt = data.find(magic, pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + size + 32
        if end > n:
            break  # the newest record is still being written
        out.append(UndoRecord(p.name, pos, data[pos + 8 : pos + 8 + size], data[end - 32 : end]))
        pos = end
    return out


def undo_checksum(prev_hash: bytes, data: bytes) -> bytes:
    """Core's record checksum: SHA256d(parent block hash (internal order) || undo data)."""
    h = hashlib.sha256(prev_hash)
    h.update(data)
    return hashlib.sha256(h.digest()).digest()


def read_varint(b: bytes, p: int) -> tuple[int, int]:
    """Core's ``VARINT`` (MSB base-128, each continuation adds one): (value, next position)."""
    n = 0
    while True:
        ch = b[p]
        p += 1
        n = (n << 7) | (ch & 0x7F)
        if ch & 0x80:
            n += 1
        else:
            return n, p


def decompress_amount(x: int) -> int:
    """Inverse of Core's ``CompressAmount`` (satoshis)."""
    if x == 0:
        return 0
    x -= 1
    e = x % 10
    x //= 10
    if e < 9:
        d = x % 9 + 1
        x //= 9
        n = x * 10 + d
    else:
        n = x + 1
    return n * 10**e


def _decompress_pubkey(prefix: int, x: bytes) -> bytes:
    xi = int.from_bytes(x, "big")
    y2 = (pow(xi, 3, _P) + 7) % _P
    y = pow(y2, (_P + 1) // 4, _P)
    if (y * y) % _P != y2:
        raise ValueError("not a point on secp256k1")
    if (y & 1) != (prefix & 1):
        y = _P - y
    return b"\x04" + x + y.to_bytes(32, "big")


def _script(b: bytes, p: int) -> tuple[bytes, int]:
    n, p = read_varint(b, p)
    if n == 0:
        return b"\x76\xa9\x14" + b[p : p + 20] + b"\x88\xac", p + 20
    if n == 1:
        return b"\xa9\x14" + b[p : p + 20] + b"\x87", p + 20
    if n in (2, 3):
        return b"\x21" + bytes([n]) + b[p : p + 32] + b"\xac", p + 32
    if n in (4, 5):
        return b"\x41" + _decompress_pubkey(n - 2, b[p : p + 32]) + b"\xac", p + 32
    size = n - 6
    if size > MAX_SCRIPT_SIZE:  # Core keeps an unspendable stand-in for oversized scripts
        return b"\x6a", p + size
    return b[p : p + size], p + size


def _cs(b: bytes, p: int) -> tuple[int, int]:
    c = b[p]
    if c < 0xFD:
        return c, p + 1
    w = {0xFD: 2, 0xFE: 4, 0xFF: 8}[c]
    return int.from_bytes(b[p + 1 : p + 1 + w], "little"), p + 1 + w


def parse_block_undo_flat(data: bytes, *, where: str = "") -> tuple[list[int], list[int], list[bool],
                                                                   list[int], list[bytes]]:
    """Decode one ``CBlockUndo`` into flat lists, one entry per spent coin in input order.

    Returns ``(counts, heights, coinbase, sats, scripts)``: ``counts`` holds the number of coins
    of each non-coinbase transaction, the other four lists the coins themselves. Written plainly
    from the format (:func:`read_varint`, :func:`decompress_amount`, the compressed-script
    rules): the reference twin of the compiled :func:`btcmacro.chain.kernels.decode_undo`, which
    also hands it every record it declines, so its errors are the ones users see.
    """
    counts: list[int] = []
    heights: list[int] = []
    cbs: list[bool] = []
    sats: list[int] = []
    scripts: list[bytes] = []
    n_data = len(data)
    try:
        ntx, p = _cs(data, 0)
        if ntx > n_data:
            raise ValueError(f"impossible tx count {ntx}")
        for _ in range(ntx):
            ncoin, p = _cs(data, p)
            if ncoin > n_data - p:
                raise ValueError(f"impossible coin count {ncoin}")
            counts.append(ncoin)
            for _ in range(ncoin):
                code, p = read_varint(data, p)  # height * 2 + coinbase
                if code >> 1 > 0:
                    _, p = read_varint(data, p)  # a dummy (old version field)
                amount, p = read_varint(data, p)
                script, p = _script(data, p)
                if p > n_data:
                    raise ValueError("coin runs past the record end")
                heights.append(code >> 1)
                cbs.append(code & 1 == 1)
                sats.append(decompress_amount(amount))
                scripts.append(script)
        if p != n_data:
            raise ValueError(f"{n_data - p} trailing bytes")
        return counts, heights, cbs, sats, scripts
    except (IndexError, KeyError, ValueError) as e:
        raise ChainError(f"cannot decode undo record: {e}", where=where or None) from None


def _regroup(flat) -> list[list[tuple[int, bool, int, bytes]]]:
    counts, heights, cbs, sats, scripts = flat
    coins = list(zip(heights, cbs, sats, scripts))
    out, i = [], 0
    for c in counts:
        out.append(coins[i : i + c])
        i += c
    return out


def parse_block_undo(data: bytes, *, where: str = "") -> list[list[tuple[int, bool, int, bytes]]]:
    """Decode one ``CBlockUndo``: per non-coinbase tx, per input, ``(height, coinbase, sat, script)``."""
    return _regroup(parse_block_undo_flat(data, where=where))


class UndoIndex:
    """Finds the undo record of a best-chain block by its checksum (parent hash + data).

    Records are looked up in ``rev<N>.dat`` for a block stored in ``blk<N>.dat``, trying the
    records in file order from where the last match was (blocks are usually connected in the
    order they are stored), so each lookup normally hashes one record.
    """

    def __init__(self, blocks_dir: str | os.PathLike, *, key: bytes, network: str = "mainnet"):
        self.dir = Path(blocks_dir)
        self.key = key
        self.network = network
        self._files: dict[str, list[UndoRecord]] = {}
        self._next: dict[str, int] = {}

    def _records(self, blk_name: str) -> list[UndoRecord]:
        rev = "rev" + blk_name[3:]
        if rev not in self._files:
            p = self.dir / rev
            self._files[rev] = scan_rev_file(p, key=self.key, network=self.network) if p.exists() else []
            self._next[rev] = 0
        return self._files[rev]

    def spent(self, blk_name: str, prev_hash: bytes, input_counts: list[int], *, where: str,
              siblings: bool = False) -> list[list[tuple[int, bool, int, bytes]]]:
        """The decoded undo data of the block stored in ``blk_name`` whose parent is ``prev_hash``.

        The checksum ties a record to the block's *parent*, so a stale sibling (another block on
        the same parent, also connected once) has a record that passes it too. A record is
        accepted only if it also has one coin per input of each non-coinbase transaction
        (``input_counts``, coinbase first). With ``siblings`` every record is checked and two
        different candidates raise :class:`ChainError` instead of guessing.
        """
        return _regroup(self.spent_flat(blk_name, prev_hash, input_counts, where=where, siblings=siblings))

    def spent_flat(self, blk_name: str, prev_hash: bytes, input_counts: list[int], *, where: str,
                   siblings: bool = False) -> tuple[list[int], list[int], list[bool], list[int], list[bytes]]:
        """:meth:`spent` as the flat lists of :func:`parse_block_undo_flat` (same record, same checks).

        The reference twin of :meth:`spent_coins` (pure Python)."""
        return self._find(blk_name, prev_hash, input_counts, where, siblings,
                          lambda r: parse_block_undo_flat(r.data, where=r.where),
                          lambda flat: flat[0], lambda a, b: a == b)

    def spent_coins(self, blk_name: str, prev_hash: bytes, input_counts: list[int], *, where: str,
                    siblings: bool = False):
        """:meth:`spent_flat` decoded by the compiled kernel (:func:`btcmacro.chain.kernels.decode_undo`):
        the same coins as numpy arrays plus one buffer of their scripts (:class:`~btcmacro.chain.kernels.UndoCoins`)."""
        from btcmacro.chain import kernels

        def same(a, b) -> bool:
            return all(np.array_equal(x, y) for x, y in zip(a, b))

        return self._find(blk_name, prev_hash, input_counts, where, siblings,
                          lambda r: kernels.decode_undo(r.data, where=r.where),
                          lambda c: c.counts.tolist(), same)

    def _find(self, blk_name, prev_hash, input_counts, where, siblings, decode, shape_of, same):
        recs = self._records(blk_name)
        rev = "rev" + blk_name[3:]
        start = self._next[rev]
        order = list(range(start, len(recs))) + list(range(0, start))
        shape = list(input_counts[1:])
        found: list[tuple[int, object]] = []
        for i in order:
            r = recs[i]
            if undo_checksum(prev_hash, r.data) != r.checksum:
                continue
            dec = decode(r)
            if shape_of(dec) != shape:
                continue
            found.append((i, dec))
            if not siblings:
                break
        if not found:
            raise ChainError("no undo record in the rev file matches this block (undo data missing or "
                             "pruned); sync without undo files or from the node (--rpc)", where=where)
        if any(not same(c, found[0][1]) for _, c in found[1:]):
            raise ChainError("two undo records fit this block (a stale sibling with the same shape); "
                             "sync with --rpc (the running node knows which one it connected)", where=where)
        self._next[rev] = found[0][0] + 1
        return found[0][1]
