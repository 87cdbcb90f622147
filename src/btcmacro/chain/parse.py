"""Block and transaction decoding (consensus wire format, SegWit aware).

One pass over the raw block bytes produces :class:`Block` with its :class:`Tx` list.
Each transaction keeps its byte span in the block, so the txid (double SHA-256 of the
serialization *without* witness data) is computed from at most three slices of the
original buffer, never by re-serialising.

Every failure to decode raises :class:`btcmacro.errors.BadBlock` (a ``ChainError``):
callers never see ``IndexError`` or ``struct.error``. ``serialize(parse_block(b)) == b``
holds for every block this module accepts.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from btcmacro.errors import BadBlock

__all__ = [
    "Tx",
    "Block",
    "Header",
    "parse_header",
    "parse_block",
    "serialize",
    "serialize_tx",
    "merkle_root",
    "block_weight",
    "sha256d",
    "hash_hex",
    "MAX_BLOCK_SIZE",
]

MAX_BLOCK_SIZE = 4_000_000  # serialized bytes, the largest a consensus-valid block can be

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_U16 = struct.Struct("<H")
_HEADER = struct.Struct("<i32s32sIII")
_OUT_VAL = struct.Struct("<q")
_sha256 = hashlib.sha256


def sha256d(data: bytes) -> bytes:
    """Double SHA-256, the hash Bitcoin uses for txids, block hashes and merkle nodes."""
    return _sha256(_sha256(data).digest()).digest()


def hash_hex(h: bytes) -> str:
    """Internal byte order → the usual byte-reversed display hex."""
    return h[::-1].hex()


@dataclass(frozen=True, slots=True)
class Header:
    """The 80-byte block header, decoded. Hashes are in internal (little-endian) order."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int
    hash: bytes

    @property
    def hash_hex(self) -> str:
        return hash_hex(self.hash)

    @property
    def prev_hash_hex(self) -> str:
        return hash_hex(self.prev_hash)


class Tx:
    """One decoded transaction.

    ``vin`` is a list of ``(prev_txid, prev_vout, script_sig, sequence)`` tuples and ``vout`` a
    list of ``(value_sat, script_pubkey)`` tuples. ``witness`` is ``None`` for a transaction
    serialized without the SegWit marker, otherwise one list of stack items per input.
    """

    __slots__ = ("version", "vin", "vout", "witness_raw", "_witness", "locktime", "txid", "size", "base_size")

    def __init__(self, version, vin, vout, witness_raw, locktime, txid, size, base_size):
        self.version = version
        self.vin = vin
        self.vout = vout
        self.witness_raw = witness_raw  # serialized witness section, or None (no SegWit marker)
        self._witness = None
        self.locktime = locktime
        self.txid = txid
        self.size = size
        self.base_size = base_size

    @property
    def txid_hex(self) -> str:
        return hash_hex(self.txid)

    @property
    def witness(self) -> list[list[bytes]] | None:
        """Witness stacks, one list of items per input (decoded on first access)."""
        if self.witness_raw is None:
            return None
        if self._witness is None:
            self._witness = _decode_witness(self.witness_raw, len(self.vin))
        return self._witness

    @property
    def is_coinbase(self) -> bool:
        return len(self.vin) == 1 and self.vin[0][1] == 0xFFFFFFFF and self.vin[0][0] == b"\0" * 32

    @property
    def weight(self) -> int:
        return self.base_size * 3 + self.size

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tx({self.txid_hex}, {len(self.vin)} in, {len(self.vout)} out)"


@dataclass(slots=True)
class Block:
    header: Header
    txs: list[Tx]
    size: int
    height: int | None = None
    _merkle: bytes | None = field(default=None, repr=False)

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def weight(self) -> int:
        return block_weight(self)

    def computed_merkle_root(self) -> bytes:
        if self._merkle is None:
            self._merkle = merkle_root([t.txid for t in self.txs])
        return self._merkle

    @property
    def merkle_ok(self) -> bool:
        return self.computed_merkle_root() == self.header.merkle_root

    def check_merkle(self) -> None:
        """Raise :class:`BadBlock` naming height and hash if the merkle root does not match."""
        if not self.merkle_ok:
            h = "?" if self.height is None else str(self.height)
            raise BadBlock(
                f"merkle root mismatch in block {self.header.hash_hex} at height {h}: header "
                f"{hash_hex(self.header.merkle_root)}, computed {hash_hex(self.computed_merkle_root())}",
                where=f"height {h} {self.header.hash_hex}",
            )


def parse_header(raw: bytes) -> Header:
    if len(raw) < 80:
        raise BadBlock(f"header needs 80 bytes, {len(raw)} present")
    version, prev, mroot, time, bits, nonce = _HEADER.unpack_from(raw, 0)
    return Header(version, prev, mroot, time, bits, nonce, sha256d(bytes(raw[:80])))


def merkle_root(txids: list[bytes]) -> bytes:
    """Merkle root of a list of txids (internal byte order), duplicating the last odd node."""
    if not txids:
        raise BadBlock("block has no transactions")
    level = txids
    while len(level) > 1:
        if len(level) & 1:
            level = level + [level[-1]]
        level = [
            _sha256(_sha256(level[i] + level[i + 1]).digest()).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]


def parse_block(raw: bytes, *, height: int | None = None, where: str | None = None) -> Block:
    """Decode one raw block (80-byte header, CompactSize tx count, transactions).

    Parameters
    ----------
    raw
        The block bytes, exactly one block (no magic, no size prefix).
    height
        Optional height, used only in error messages.
    where
        Optional location (``blk00000.dat@0x…``) used in error messages.

    Returns
    -------
    Block

    Raises
    ------
    BadBlock
        Truncated data, impossible counts, bad SegWit flag or trailing bytes.
    """
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        return _parse_block(raw, height)
    except BadBlock as e:
        if where and e.where is None:
            raise BadBlock(e.message, where=where) from None
        raise
    except (IndexError, struct.error, ValueError, OverflowError, MemoryError) as e:
        loc = where or (f"height {height}" if height is not None else None)
        raise BadBlock(f"cannot decode block: {type(e).__name__}: {e}", where=loc) from None


def _parse_block(b: bytes, height: int | None) -> Block:
    n = len(b)
    if n < 81:
        raise BadBlock(f"block of {n} bytes is shorter than a header and a tx count")
    if n > MAX_BLOCK_SIZE:
        raise BadBlock(f"block of {n} bytes exceeds {MAX_BLOCK_SIZE}")
    header = parse_header(b)
    u32 = _U32.unpack_from
    u64 = _U64.unpack_from
    u16 = _U16.unpack_from
    sval = _OUT_VAL.unpack_from
    sha = _sha256

    # CompactSize tx count
    p = 80
    c = b[p]
    if c < 0xFD:
        ntx = c
        p += 1
    elif c == 0xFD:
        ntx = u16(b, p + 1)[0]
        p += 3
    elif c == 0xFE:
        ntx = u32(b, p + 1)[0]
        p += 5
    else:
        ntx = u64(b, p + 1)[0]
        p += 9
    if ntx == 0 or ntx > (n - p) // 10:
        raise BadBlock(f"impossible transaction count {ntx} for {n} bytes")

    txs: list[Tx] = []
    append = txs.append
    for _ in range(ntx):
        start = p
        if p + 10 > n:
            raise BadBlock(f"transaction {len(txs)} truncated at byte {p}")
        version = _I32.unpack_from(b, p)[0]
        p += 4
        segwit = b[p] == 0
        if segwit:
            if b[p + 1] != 1:
                raise BadBlock(f"transaction {len(txs)}: bad SegWit flag {b[p + 1]}")
            p += 2
        body_start = p
        # inputs
        c = b[p]
        if c < 0xFD:
            nin = c
            p += 1
        elif c == 0xFD:
            nin = u16(b, p + 1)[0]
            p += 3
        elif c == 0xFE:
            nin = u32(b, p + 1)[0]
            p += 5
        else:
            nin = u64(b, p + 1)[0]
            p += 9
        if nin > (n - p) // 41:
            raise BadBlock(f"transaction {len(txs)}: impossible input count {nin}")
        vin = []
        vappend = vin.append
        for _ in range(nin):
            prev = b[p : p + 32]
            vout_idx = u32(b, p + 32)[0]
            p += 36
            c = b[p]
            if c < 0xFD:
                ls = c
                p += 1
            elif c == 0xFD:
                ls = u16(b, p + 1)[0]
                p += 3
            elif c == 0xFE:
                ls = u32(b, p + 1)[0]
                p += 5
            else:
                ls = u64(b, p + 1)[0]
                p += 9
            e = p + ls
            if e + 4 > n:
                raise BadBlock(f"transaction {len(txs)}: input script runs past the block end")
            vappend((prev, vout_idx, b[p:e], u32(b, e)[0]))
            p = e + 4
        # outputs
        c = b[p]
        if c < 0xFD:
            nout = c
            p += 1
        elif c == 0xFD:
            nout = u16(b, p + 1)[0]
            p += 3
        elif c == 0xFE:
            nout = u32(b, p + 1)[0]
            p += 5
        else:
            nout = u64(b, p + 1)[0]
            p += 9
        if nout > (n - p) // 9:
            raise BadBlock(f"transaction {len(txs)}: impossible output count {nout}")
        vout = []
        oappend = vout.append
        for _ in range(nout):
            val = sval(b, p)[0]
            p += 8
            c = b[p]
            if c < 0xFD:
                ls = c
                p += 1
            elif c == 0xFD:
                ls = u16(b, p + 1)[0]
                p += 3
            elif c == 0xFE:
                ls = u32(b, p + 1)[0]
                p += 5
            else:
                ls = u64(b, p + 1)[0]
                p += 9
            e = p + ls
            if e > n:
                raise BadBlock(f"transaction {len(txs)}: output script runs past the block end")
            oappend((val, b[p:e]))
            p = e
        body_end = p
        wraw = None
        if segwit:
            # walk the witness without materialising items; Tx.witness decodes lazily
            for _ in range(nin):
                c = b[p]
                if c < 0xFD:
                    ni = c
                    p += 1
                elif c == 0xFD:
                    ni = u16(b, p + 1)[0]
                    p += 3
                elif c == 0xFE:
                    ni = u32(b, p + 1)[0]
                    p += 5
                else:
                    ni = u64(b, p + 1)[0]
                    p += 9
                if ni > n - p:
                    raise BadBlock(f"transaction {len(txs)}: impossible witness item count {ni}")
                for _ in range(ni):
                    c = b[p]
                    if c < 0xFD:
                        p += 1 + c
                    elif c == 0xFD:
                        p += 3 + u16(b, p + 1)[0]
                    elif c == 0xFE:
                        p += 5 + u32(b, p + 1)[0]
                    else:
                        p += 9 + u64(b, p + 1)[0]
                    if p > n:
                        raise BadBlock(f"transaction {len(txs)}: witness item runs past the block end")
            wraw = b[body_end:p]
        if p + 4 > n:
            raise BadBlock(f"transaction {len(txs)}: locktime runs past the block end")
        locktime = u32(b, p)[0]
        p += 4
        if segwit:
            stripped = b[start : start + 4] + b[body_start:body_end] + b[p - 4 : p]
            base_size = len(stripped)
            txid = sha(sha(stripped).digest()).digest()
        else:
            base_size = p - start
            txid = sha(sha(b[start:p]).digest()).digest()
        append(Tx(version, vin, vout, wraw, locktime, txid, p - start, base_size))
    if p != n:
        raise BadBlock(f"{n - p} trailing bytes after the last transaction")
    return Block(header, txs, n, height)


def _decode_witness(w: bytes, nin: int) -> list[list[bytes]]:
    p, out = 0, []
    for _ in range(nin):
        ni, p = _read_cs(w, p)
        items = []
        for _ in range(ni):
            ls, p = _read_cs(w, p)
            items.append(w[p : p + ls])
            p += ls
        out.append(items)
    return out


def _read_cs(b: bytes, p: int) -> tuple[int, int]:
    c = b[p]
    if c < 0xFD:
        return c, p + 1
    if c == 0xFD:
        return _U16.unpack_from(b, p + 1)[0], p + 3
    if c == 0xFE:
        return _U32.unpack_from(b, p + 1)[0], p + 5
    return _U64.unpack_from(b, p + 1)[0], p + 9


# ---------------------------------------------------------------------------- serialisation


def _cs(n: int) -> bytes:
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + _U16.pack(n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + _U32.pack(n)
    return b"\xff" + _U64.pack(n)


def serialize_tx(tx: Tx, *, witness: bool = True) -> bytes:
    """Wire serialisation of one transaction (with its witness unless ``witness=False``)."""
    parts = [_I32.pack(tx.version)]
    use_w = witness and tx.witness_raw is not None
    if use_w:
        parts.append(b"\x00\x01")
    parts.append(_cs(len(tx.vin)))
    for prev, idx, script, seq in tx.vin:
        parts += (prev, _U32.pack(idx), _cs(len(script)), script, _U32.pack(seq))
    parts.append(_cs(len(tx.vout)))
    for val, script in tx.vout:
        parts += (_OUT_VAL.pack(val), _cs(len(script)), script)
    if use_w:
        parts.append(tx.witness_raw)
    parts.append(_U32.pack(tx.locktime))
    return b"".join(parts)


def serialize(block: Block) -> bytes:
    """Wire serialisation of a block; the inverse of :func:`parse_block`."""
    h = block.header
    head = _HEADER.pack(h.version, h.prev_hash, h.merkle_root, h.time, h.bits, h.nonce)
    return b"".join([head, _cs(len(block.txs))] + [serialize_tx(t) for t in block.txs])


def block_weight(block: Block) -> int:
    """BIP141 weight: base size × 3 + total size (header and tx-count bytes count as base)."""
    overhead = block.size - sum(t.size for t in block.txs)
    return overhead * 4 + sum(t.base_size * 3 + t.size for t in block.txs)
