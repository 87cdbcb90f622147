"""Block and transaction decoding (consensus wire format, SegWit aware).

One pass over the raw block bytes walks and bounds-checks every field of every transaction and
hashes each txid (double SHA-256 of the serialization *without* witness data) from at most three
``memoryview`` slices of the original buffer (no copies, no re-serialising). Nothing else is
materialised: :class:`Block` keeps the txids, per-transaction offsets and output offsets;
:attr:`Block.txs` gives :class:`Tx` views whose inputs/outputs/witnesses decode on first access,
and :meth:`Block.output_arrays` reads every output value with numpy. This lazy layout is what
makes the pure-Python scan fast (see ``benchmarks/chain_parse.py``).

Every failure to decode raises :class:`btcmacro.errors.BadBlock` (a ``ChainError``):
callers never see ``IndexError`` or ``struct.error``. ``serialize(parse_block(b)) == b``
holds for every block this module accepts.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

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
_EIGHT = np.arange(8, dtype=np.int64)


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
    """A view of one transaction inside its block's buffer; fields decode on first access.

    The block scan (:func:`parse_block`) has already walked and bounds-checked every field and
    hashed the txid, so a view only records offsets. ``vin`` is a list of ``(prev_txid,
    prev_vout, script_sig, sequence)`` tuples and ``vout`` a list of ``(value_sat,
    script_pubkey)`` tuples, built when first read. ``witness_raw`` is ``None`` for a
    transaction serialized without the SegWit marker, else the serialized witness section.
    """

    __slots__ = ("_b", "_start", "_body", "_ins", "_outs", "_body_end", "_end", "_nin", "_nout",
                 "_segwit", "txid", "_vin", "_vout", "_witness")

    def __init__(self, b: bytes, span: tuple, txid: bytes):
        (self._start, self._body, self._ins, self._outs, self._body_end, self._end, self._nin,
         self._nout, self._segwit) = span
        self._b = b
        self.txid = txid
        self._vin = self._vout = self._witness = None

    @property
    def version(self) -> int:
        return _I32.unpack_from(self._b, self._start)[0]

    @property
    def locktime(self) -> int:
        return _U32.unpack_from(self._b, self._end - 4)[0]

    @property
    def size(self) -> int:
        return self._end - self._start

    @property
    def base_size(self) -> int:
        """Size without the marker, flag and witness (what the txid hashes)."""
        return 8 + self._body_end - self._body

    @property
    def witness_raw(self) -> bytes | None:
        return self._b[self._body_end : self._end - 4] if self._segwit else None

    @property
    def vin(self) -> list[tuple[bytes, int, bytes, int]]:
        if self._vin is None:
            self._vin = _decode_inputs(self._b, self._ins, self._nin)[0]
        return self._vin

    @property
    def vout(self) -> list[tuple[int, bytes]]:
        if self._vout is None:
            self._vout = _decode_outputs(self._b, self._outs, self._nout)[0]
        return self._vout

    @property
    def txid_hex(self) -> str:
        return hash_hex(self.txid)

    @property
    def witness(self) -> list[list[bytes]] | None:
        """Witness stacks, one list of items per input (decoded on first access)."""
        if not self._segwit:
            return None
        if self._witness is None:
            self._witness = _decode_witness(self.witness_raw, self._nin)
        return self._witness

    @property
    def is_coinbase(self) -> bool:
        b, p = self._b, self._ins
        return (self._nin == 1 and b[p + 32 : p + 36] == b"\xff\xff\xff\xff"
                and b[p : p + 32] == b"\0" * 32)

    @property
    def weight(self) -> int:
        return self.base_size * 3 + self.size

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tx({self.txid_hex}, {self._nin} in, {self._nout} out)"


class Block:
    """A decoded block: header, txids, per-transaction offsets; :attr:`txs` views on demand.

    Attributes
    ----------
    header : Header
    txids : list[bytes]
        Every txid (internal byte order), in block order.
    size : int
        Serialized size in bytes.
    n_in, n_out : int
        Inputs (coinbase included) and outputs in the block.
    height : int or None
    """

    __slots__ = ("header", "txids", "size", "height", "n_in", "n_out", "_raw", "_spans", "_opos",
                 "_txs", "_merkle", "_witness_bytes", "_oarr")

    def __init__(self, header: Header, raw: bytes, txids: list, spans: list, opos: list,
                 n_in: int, n_out: int, witness_bytes: int, height: int | None = None):
        self.header = header
        self._raw = raw
        self.txids = txids
        self._spans = spans
        self._opos = opos
        self.size = len(raw)
        self.n_in = n_in
        self.n_out = n_out
        self._witness_bytes = witness_bytes  # marker + flag + witness sections, all txs
        self.height = height
        self._txs = None
        self._merkle = None
        self._oarr = None

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def txs(self) -> list[Tx]:
        if self._txs is None:
            raw = self._raw
            self._txs = [Tx(raw, sp, t) for sp, t in zip(self._spans, self.txids)]
        return self._txs

    @property
    def tx_input_counts(self) -> list[int]:
        """Number of inputs of each transaction, in block order."""
        return [sp[6] for sp in self._spans]

    @property
    def weight(self) -> int:
        """BIP141 weight: non-witness bytes × 4 + witness bytes × 1."""
        return (self.size - self._witness_bytes) * 4 + self._witness_bytes

    def output_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every output's value (int64 satoshis) and whether it is spendable, vectorised.

        Unspendable = script starting with ``OP_RETURN`` or longer than 10,000 bytes (as Core's
        UTXO set). Read straight from the buffer with numpy, no per-output Python objects, once
        per block (later calls return the same read-only arrays).
        """
        return self._output_fields()[:2]

    def output_script_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each output's scriptPubKey lies in :attr:`raw`: ``(starts, lengths)``, int64,
        in block order (computed with :meth:`output_arrays`, read-only)."""
        return self._output_fields()[2:]

    @property
    def raw(self) -> bytes:
        """The serialized block."""
        return self._raw

    def _output_fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._oarr is None:
            arrs = self._read_outputs()
            for a in arrs:
                a.flags.writeable = False
            self._oarr = arrs
        return self._oarr

    def _read_outputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        pos = np.asarray(self._opos, dtype=np.int64)
        if pos.size == 0:
            z = np.zeros(0, np.int64)
            return z, np.zeros(0, bool), z.copy(), z.copy()
        buf = np.frombuffer(self._raw, dtype=np.uint8)
        vals = buf[pos[:, None] + _EIGHT].copy().view("<i8").ravel()
        c = buf[pos + 8].astype(np.int64)
        slen, sstart = c.copy(), pos + 9
        for i in np.flatnonzero(c >= 0xFD):  # rare: scripts of 253 bytes or more
            ls, q = _read_cs(self._raw, int(pos[i]) + 8)
            slen[i], sstart[i] = ls, q
        first = buf[np.minimum(sstart, buf.size - 1)]
        unspendable = ((slen > 0) & (first == 0x6A)) | (slen > 10_000)
        return vals, ~unspendable, sstart, slen

    def output_scripts(self) -> list[bytes]:
        """Every output's scriptPubKey, in block order, sliced straight from the buffer (no
        :class:`Tx` views or ``(value, script)`` tuples; values come from :meth:`output_arrays`)."""
        b = self._raw
        out: list[bytes] = []
        append = out.append
        opos = self._opos.tolist() if isinstance(self._opos, np.ndarray) else self._opos
        for p in opos:
            c = b[p + 8]
            if c < 0xFD:
                append(b[p + 9 : p + 9 + c])
            else:
                ls, q = _cs_big(b, p + 8)
                append(b[q : q + ls])
        return out

    def computed_merkle_root(self) -> bytes:
        if self._merkle is None:
            self._merkle = merkle_root(self.txids)
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
    sha = _sha256
    while len(level) > 1:
        if len(level) & 1:
            level = level + [level[-1]]
        mv = memoryview(b"".join(level))
        level = [sha(sha(mv[i : i + 64]).digest()).digest() for i in range(0, len(mv), 64)]
    return level[0]


def parse_block(raw: bytes, *, height: int | None = None, where: str | None = None,
                full: bool = False) -> Block:
    """Decode one raw block (80-byte header, CompactSize tx count, transactions).

    One pass walks every field of every transaction (bounds-checked) and hashes the txids;
    inputs, outputs and witnesses are materialised only when a :class:`Tx` view is read.

    Parameters
    ----------
    raw
        The block bytes, exactly one block (no magic, no size prefix).
    height
        Optional height, used only in error messages.
    where
        Optional location (``blk00000.dat@0x…``) used in error messages.
    full
        Decode every input and output into the :class:`Tx` views during the same pass (for
        callers that read them all, e.g. the coin map); the default scan decodes them lazily.

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
        if not full:
            blk = _parse_block_fast(raw, height)
            if blk is not None:
                return blk
        return _parse_block(raw, height, full)
    except BadBlock as e:
        if where and e.where is None:
            raise BadBlock(e.message, where=where) from None
        raise
    except (IndexError, struct.error, ValueError, OverflowError, MemoryError) as e:
        loc = where or (f"height {height}" if height is not None else None)
        raise BadBlock(f"cannot decode block: {type(e).__name__}: {e}", where=loc) from None


def _cs_big(b: bytes, p: int) -> tuple[int, int]:
    """A CompactSize whose first byte is 0xFD..0xFF: (value, position after it)."""
    c = b[p]
    if c == 0xFD:
        return _U16.unpack_from(b, p + 1)[0], p + 3
    if c == 0xFE:
        return _U32.unpack_from(b, p + 1)[0], p + 5
    return _U64.unpack_from(b, p + 1)[0], p + 9


def _tx_count(b: bytes) -> tuple[int, int]:
    """The CompactSize transaction count after the 80-byte header: (count, position after it)."""
    c = b[80]
    return (c, 81) if c < 0xFD else _cs_big(b, 80)


def _parse_block_fast(b: bytes, height: int | None) -> Block | None:
    """:func:`_parse_block` (lazy mode) with the walk over every field compiled
    (:func:`btcmacro.chain.kernels.walk_block`); txids are still ``hashlib`` double SHA-256 over
    ``memoryview`` slices. Returns None for anything the kernel declines (the reference walk
    then decodes the block or raises the exact :class:`BadBlock`)."""
    from btcmacro.chain import kernels

    n = len(b)
    if n < 81 or n > MAX_BLOCK_SIZE:
        return None
    ntx, p = _tx_count(b)
    if ntx == 0 or ntx > (n - p) // 10:
        return None
    walked = kernels.walk_block(b, p, ntx)
    if walked is None:
        return None
    spans_arr, opos, tin, tout, wbytes = walked
    header = parse_header(b)
    spans = spans_arr.tolist()
    sha = _sha256
    mv = memoryview(b)
    txids: list[bytes] = []
    append = txids.append
    for sp in spans:
        start, body, _, _, body_end, end, _, _, segwit = sp
        if segwit:
            h = sha(mv[start : start + 4])
            h.update(mv[body:body_end])
            h.update(mv[end - 4 : end])
            append(sha(h.digest()).digest())
        else:
            append(sha(sha(mv[start:end]).digest()).digest())
        sp[8] = segwit == 1
    return Block(header, b, txids, spans, opos, tin, tout, wbytes, height)


def _parse_block(b: bytes, height: int | None, full: bool = False) -> Block:
    """The single pass behind :func:`parse_block` (``full``: also build every input/output tuple).

    The lazy walk of inputs and outputs stays written out inline in the ``else`` branches: it is
    the engine's hot loop, and a call per transaction there costs measurable throughput.
    """
    n = len(b)
    if n < 81:
        raise BadBlock(f"block of {n} bytes is shorter than a header and a tx count")
    if n > MAX_BLOCK_SIZE:
        raise BadBlock(f"block of {n} bytes exceeds {MAX_BLOCK_SIZE}")
    header = parse_header(b)
    sha = _sha256
    big = _cs_big
    mv = memoryview(b)

    ntx, p = _tx_count(b)
    if ntx == 0 or ntx > (n - p) // 10:
        raise BadBlock(f"impossible transaction count {ntx} for {n} bytes")

    txids: list[bytes] = []
    spans: list[tuple] = []
    opos: list[int] = []
    txs: list[Tx] | None = [] if full else None
    t_append, s_append, o_append = txids.append, spans.append, opos.append
    tin = tout = wbytes = 0
    for k in range(ntx):
        start = p
        if p + 10 > n:
            raise BadBlock(f"transaction {k} truncated at byte {p}")
        segwit = b[p + 4] == 0
        if segwit:
            if b[p + 5] != 1:
                raise BadBlock(f"transaction {k}: bad SegWit flag {b[p + 5]}")
            p += 6
        else:
            p += 4
        body = p
        # inputs: outpoint(36) | script length | script | sequence(4)
        c = b[p]
        if c < 0xFD:
            nin, p = c, p + 1
        else:
            nin, p = big(b, p)
        if nin > (n - p) // 41:
            raise BadBlock(f"transaction {k}: impossible input count {nin}")
        ins = p
        if full:
            vin, p = _decode_inputs(b, p, nin)
        else:
            for _ in range(nin):
                c = b[p + 36]
                if c < 0xFD:
                    p += 41 + c
                else:
                    ls, q = big(b, p + 36)
                    p = q + ls + 4
        # outputs: value(8) | script length | script. (Same shape as the inputs above, but a
        # shared "read a count" / "walk a list" helper is a call per transaction in the hot loop.)
        c = b[p]
        if c < 0xFD:
            nout, p = c, p + 1
        else:
            nout, p = big(b, p)
        if nout > (n - p) // 9:
            raise BadBlock(f"transaction {k}: impossible output count {nout}")
        outs = p
        if full:
            vout, p = _decode_outputs(b, p, nout, opos)
        else:
            for _ in range(nout):
                o_append(p)
                c = b[p + 8]
                if c < 0xFD:
                    p += 9 + c
                else:
                    ls, q = big(b, p + 8)
                    p = q + ls
        body_end = p
        if segwit:
            for _ in range(nin):
                c = b[p]
                if c < 0xFD:
                    ni, p = c, p + 1
                else:
                    ni, p = big(b, p)
                if ni > n - p:
                    raise BadBlock(f"transaction {k}: impossible witness item count {ni}")
                for _ in range(ni):
                    c = b[p]
                    if c < 0xFD:
                        p += 1 + c
                    else:
                        ls, q = big(b, p)
                        p = q + ls
            wbytes += p - body_end + 2
        p += 4
        if p > n:
            raise BadBlock(f"transaction {k}: runs past the block end")
        if segwit:
            h = sha(mv[start : start + 4])
            h.update(mv[body:body_end])
            h.update(mv[p - 4 : p])
            txid = sha(h.digest()).digest()
        else:
            txid = sha(sha(mv[start:p]).digest()).digest()
        span = (start, body, ins, outs, body_end, p, nin, nout, segwit)
        t_append(txid)
        s_append(span)
        if full:
            t = Tx(b, span, txid)
            t._vin, t._vout = vin, vout
            txs.append(t)
        tin += nin
        tout += nout
    if p != n:
        raise BadBlock(f"{n - p} trailing bytes after the last transaction")
    blk = Block(header, b, txids, spans, opos, tin, tout, wbytes, height)
    blk._txs = txs
    return blk


def _decode_inputs(b: bytes, p: int, nin: int,
                   u32=_U32.unpack_from, big=_cs_big) -> tuple[list, int]:
    """``nin`` inputs from ``p`` as ``(prev_txid, prev_vout, script_sig, sequence)`` tuples.

    Returns the list and the position after the last input. No bounds check per script, as in
    the lazy walk: a script running past the end makes the sequence read (``struct.error``) or
    the scan's end-of-transaction check fail, both reported as :class:`BadBlock`. ``u32`` and
    ``big`` are bound once as defaults (local lookups: this runs once per transaction).
    """
    out: list = []
    append = out.append
    for _ in range(nin):
        c = b[p + 36]
        if c < 0xFD:
            q = p + 37
            e = q + c
        else:
            ls, q = big(b, p + 36)
            e = q + ls
        append((b[p : p + 32], u32(b, p + 32)[0], b[q:e], u32(b, e)[0]))
        p = e + 4
    return out, p


def _decode_outputs(b: bytes, p: int, nout: int, opos: list[int] | None = None,
                    val=_OUT_VAL.unpack_from, big=_cs_big) -> tuple[list, int]:
    """``nout`` outputs from ``p`` as ``(value_sat, script_pubkey)`` tuples.

    Each output's offset is appended to ``opos`` if given; returns the list and the position
    after the last output (bounds and defaults as in :func:`_decode_inputs`).
    """
    mark = opos.append if opos is not None else None
    out: list = []
    append = out.append
    for _ in range(nout):
        if mark:
            mark(p)
        c = b[p + 8]
        if c < 0xFD:
            q = p + 9
            e = q + c
        else:
            ls, q = big(b, p + 8)
            e = q + ls
        append((val(b, p)[0], b[q:e]))
        p = e
    return out, p


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
    """A CompactSize at ``p``: (value, position after it)."""
    c = b[p]
    if c < 0xFD:
        return c, p + 1
    return _cs_big(b, p)


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
    return block.weight
