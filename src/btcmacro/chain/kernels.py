"""Compiled kernels of the sync's hot path (numba), each with a pure-Python reference twin.

The per-coin work of an undo-file sync — decoding every spent coin of ``rev*.dat``, hashing every
output and spent script into its 16-byte key, netting those per script and block — is a loop of
a few hundred nanoseconds per coin in Python and runs ~6 × 10⁹ times over the full chain. These
kernels do the same loops compiled (``numba.njit``, cached on disk), on numpy arrays, with no
Python object per coin:

=======================  ==========================================================  ====================================
kernel                   computes                                                    reference twin (tests assert equal)
=======================  ==========================================================  ====================================
:func:`script_keys`      SHA-256 of each slice of a byte buffer, first 16 bytes      :func:`btcmacro.chain.lifecycle.script_key` (hashlib)
:func:`decode_undo`      one ``CBlockUndo`` → flat coin arrays + rebuilt scripts     :func:`btcmacro.chain.undo.parse_block_undo_flat`
:func:`net_by_key`       sum of deltas per key, keys in first-appearance order       the dict loop of :func:`btcmacro.chain.lifecycle.block_flows`
:func:`walk_block`       a block's tx layout: spans, output offsets, bounds checks   :func:`btcmacro.chain.parse._parse_block`
=======================  ==========================================================  ====================================

Each kernel handles the well-formed, common case and *declines* the rest (a status code, never
an exception inside compiled code): the caller then runs the reference twin, which either
decodes the unusual record exactly as before or raises the usual :class:`ChainError` naming file
and offset. Uncompressed-key P2PK coins in undo data (script codes 4/5, whose key must be
decompressed on secp256k1 with big integers) are returned as positions for the caller to fill in
Python; they are rare after 2012.

The first call of each kernel compiles it (a few seconds, once per machine: numba caches the
machine code next to this module, or under ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, uint32

__all__ = ["script_keys", "decode_undo", "net_by_key", "pack_scripts", "walk_block", "warm", "UndoCoins",
           "MAX_MONEY"]

MAX_MONEY = 21_000_000 * 100_000_000

# SHA-256 round constants and initial state (FIPS 180-4, 4.2.2 and 5.3.3)
_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
], dtype=np.uint32)
_H0 = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19], dtype=np.uint32)


@njit(inline="always")
def _rotr(x, n):
    return uint32((x >> uint32(n)) | (x << uint32(32 - n)))


@njit(cache=True)
def _compress(st, w, k):
    """One SHA-256 compression of the 16 words in ``w[:16]`` into the state ``st`` (uint32;
    every sum is cast back to uint32, i.e. taken mod 2³²)."""
    for t in range(16, 64):
        x = w[t - 15]
        y = w[t - 2]
        s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ uint32(x >> uint32(3))
        s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ uint32(y >> uint32(10))
        w[t] = uint32(w[t - 16] + s0 + w[t - 7] + s1)
    a, b, c, d, e, f, g, h = st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]
    for t in range(64):
        s1 = uint32(_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25))
        ch = uint32((e & f) ^ (~e & g))
        t1 = uint32(h + s1 + ch + k[t] + w[t])
        s0 = uint32(_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22))
        mj = uint32((a & b) ^ (a & c) ^ (b & c))
        t2 = uint32(s0 + mj)
        h = g
        g = f
        f = e
        e = uint32(d + t1)
        d = c
        c = b
        b = a
        a = uint32(t1 + t2)
    st[0] = uint32(st[0] + a)
    st[1] = uint32(st[1] + b)
    st[2] = uint32(st[2] + c)
    st[3] = uint32(st[3] + d)
    st[4] = uint32(st[4] + e)
    st[5] = uint32(st[5] + f)
    st[6] = uint32(st[6] + g)
    st[7] = uint32(st[7] + h)


@njit(cache=True)
def _script_keys(buf, starts, lens, out, k, h0):
    st = np.empty(8, np.uint32)
    w = np.empty(64, np.uint32)
    blk = np.empty(64, np.uint8)
    for i in range(starts.size):
        s = starts[i]
        n = lens[i]
        st[:] = h0
        nb = (n + 9 + 63) // 64  # message + 0x80 + 64-bit length, padded to 64-byte blocks
        for j in range(nb):
            base = j * 64
            # the block's 64 bytes: message bytes, then 0x80, zeros, and the bit length last
            blk[:] = 0
            m = min(64, n - base)
            if m > 0:
                blk[:m] = buf[s + base : s + base + m]
            if 0 <= n - base < 64:
                blk[n - base] = 0x80
            if j == nb - 1:
                bits = n * 8
                for r in range(8):
                    blk[63 - r] = (bits >> (8 * r)) & 0xFF
            for q in range(16):
                w[q] = ((uint32(blk[4 * q]) << uint32(24)) | (uint32(blk[4 * q + 1]) << uint32(16))
                        | (uint32(blk[4 * q + 2]) << uint32(8)) | uint32(blk[4 * q + 3]))
            _compress(st, w, k)
        for q in range(4):
            v = st[q]
            out[i, 4 * q] = (v >> 24) & 0xFF
            out[i, 4 * q + 1] = (v >> 16) & 0xFF
            out[i, 4 * q + 2] = (v >> 8) & 0xFF
            out[i, 4 * q + 3] = v & 0xFF


def script_keys(buf: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``SHA-256(buf[s : s + n])[:16]`` for every ``(s, n)`` in ``zip(starts, lens)``.

    Parameters
    ----------
    buf
        uint8 buffer (a block, or the scripts rebuilt by :func:`decode_undo`).
    starts, lens
        int64 arrays: where each script starts in ``buf`` and its length (bounds are the
        caller's: every slice must lie inside ``buf``).

    Returns
    -------
    numpy.ndarray
        ``(len(starts), 16)`` uint8, row ``i`` the key of slice ``i`` (as
        :func:`btcmacro.chain.lifecycle.script_key`).
    """
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    lens = np.ascontiguousarray(lens, dtype=np.int64)
    out = np.empty((starts.size, 16), np.uint8)
    if starts.size:
        if int((starts + lens).max()) > buf.size or int(starts.min()) < 0 or int(lens.min()) < 0:
            raise ValueError("a script slice lies outside the buffer")
        _script_keys(buf, starts, lens, out, _K, _H0)
    return out


# ---------------------------------------------------------------------------- undo records

# status codes of _decode_undo (0 = decoded); anything else sends the record to the reference
_OK, _DECLINED = 0, 1


@njit(cache=True)
def _cs(b, p, n):
    """CompactSize at p: (value, next p), or (-1, p) if it runs past n."""
    if p >= n:
        return -1, p
    c = b[p]
    if c < 0xFD:
        return np.int64(c), p + 1
    w = 2 if c == 0xFD else (4 if c == 0xFE else 8)
    if p + 1 + w > n:
        return -1, p
    v = np.int64(0)
    for i in range(w - 1, -1, -1):
        v = (v << 8) | np.int64(b[p + 1 + i])
    if v < 0:
        return -1, p
    return v, p + 1 + w


@njit(cache=True)
def _varint(b, p, n):
    """Core's VARINT at p: (value, next p), or (-1, p) past n or beyond 2^56."""
    v = np.int64(0)
    while True:
        if p >= n or v > (np.int64(1) << 56):
            return -1, p
        ch = b[p]
        p += 1
        v = (v << 7) | np.int64(ch & 0x7F)
        if ch & 0x80:
            v += 1
        else:
            return v, p


@njit(cache=True)
def _decode_undo(data, counts, heights, cbs, sats, sstart, slen, sbuf, special):
    """Decode one CBlockUndo into preallocated arrays; returns (status, ntx, ncoins, nbuf, nspecial)."""
    n = data.size
    ntx, p = _cs(data, 0, n)
    if ntx < 0 or ntx > n or ntx > counts.size:
        return _DECLINED, 0, 0, 0, 0
    nc = 0
    nb = 0
    ns = 0
    p10 = np.int64(10)
    for t in range(ntx):
        ncoin, p = _cs(data, p, n)
        if ncoin < 0 or ncoin > n - p:
            return _DECLINED, 0, 0, 0, 0
        counts[t] = ncoin
        for _ in range(ncoin):
            if nc >= heights.size:
                return _DECLINED, 0, 0, 0, 0
            code, p = _varint(data, p, n)
            if code < 0:
                return _DECLINED, 0, 0, 0, 0
            height = code >> 1
            if height > 0:  # a dummy VARINT (old version field)
                dummy, p = _varint(data, p, n)
                if dummy < 0:
                    return _DECLINED, 0, 0, 0, 0
            amt, p = _varint(data, p, n)
            if amt < 0:
                return _DECLINED, 0, 0, 0, 0
            if amt:  # DecompressAmount
                amt -= 1
                e = amt % 10
                amt //= 10
                if e < 9:
                    amt = amt // 9 * 10 + amt % 9 + 1
                else:
                    amt = amt + 1
                if amt > MAX_MONEY:
                    return _DECLINED, 0, 0, 0, 0
                for _ in range(e):
                    amt *= p10
                    if amt > MAX_MONEY:
                        return _DECLINED, 0, 0, 0, 0
            sc, p = _varint(data, p, n)
            if sc < 0:
                return _DECLINED, 0, 0, 0, 0
            if nb + 100 > sbuf.size:
                return _DECLINED, 0, 0, 0, 0
            sstart[nc] = nb
            if sc == 0:  # P2PKH: OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
                if p + 20 > n:
                    return _DECLINED, 0, 0, 0, 0
                sbuf[nb] = 0x76
                sbuf[nb + 1] = 0xA9
                sbuf[nb + 2] = 0x14
                sbuf[nb + 3 : nb + 23] = data[p : p + 20]
                sbuf[nb + 23] = 0x88
                sbuf[nb + 24] = 0xAC
                slen[nc] = 25
                p += 20
            elif sc == 1:  # P2SH: OP_HASH160 <20> OP_EQUAL
                if p + 20 > n:
                    return _DECLINED, 0, 0, 0, 0
                sbuf[nb] = 0xA9
                sbuf[nb + 1] = 0x14
                sbuf[nb + 2 : nb + 22] = data[p : p + 20]
                sbuf[nb + 22] = 0x87
                slen[nc] = 23
                p += 20
            elif sc == 2 or sc == 3:  # P2PK, compressed key
                if p + 32 > n:
                    return _DECLINED, 0, 0, 0, 0
                sbuf[nb] = 0x21
                sbuf[nb + 1] = sc
                sbuf[nb + 2 : nb + 34] = data[p : p + 32]
                sbuf[nb + 34] = 0xAC
                slen[nc] = 35
                p += 32
            elif sc == 4 or sc == 5:  # P2PK, uncompressed key: rebuilt by the caller
                if p + 32 > n or ns >= special.size:
                    return _DECLINED, 0, 0, 0, 0
                special[ns] = nc
                special[ns + 1] = p
                ns += 2
                slen[nc] = 0
                p += 32
            else:
                size = sc - 6
                if size > 10_000:  # Core keeps a one-byte OP_RETURN stand-in
                    if p + size > n:
                        return _DECLINED, 0, 0, 0, 0
                    sbuf[nb] = 0x6A
                    slen[nc] = 1
                else:
                    if p + size > n or nb + size > sbuf.size:
                        return _DECLINED, 0, 0, 0, 0
                    sbuf[nb : nb + size] = data[p : p + size]
                    slen[nc] = size
                p += size
            nb += slen[nc]
            heights[nc] = height
            cbs[nc] = code & 1
            sats[nc] = amt
            nc += 1
    if p != n:
        return _DECLINED, 0, 0, 0, 0
    return _OK, ntx, nc, nb, ns


class UndoCoins(NamedTuple):
    """Every coin one block spends, flat, in input order (from :func:`decode_undo`).

    ``counts[i]`` coins belong to the block's ``i``-th non-coinbase transaction. ``scripts`` is
    one buffer of the coins' (decompressed) scriptPubKeys, coin ``j`` at
    ``scripts[starts[j] : starts[j] + lens[j]]``.
    """

    counts: np.ndarray  # int64, per non-coinbase tx
    heights: np.ndarray  # int64, creation height
    coinbase: np.ndarray  # bool
    values: np.ndarray  # int64 satoshis
    scripts: np.ndarray  # uint8 buffer
    starts: np.ndarray  # int64
    lens: np.ndarray  # int64

    def script_list(self) -> list[bytes]:
        """The scripts as bytes objects (for the reference paths and tests)."""
        b = self.scripts.tobytes()
        return [b[s : s + n] for s, n in zip(self.starts.tolist(), self.lens.tolist())]


def decode_undo(data: bytes, *, where: str = "") -> UndoCoins:
    """Decode one ``CBlockUndo`` (the payload of a ``rev*.dat`` record) into :class:`UndoCoins`.

    Same result as :func:`btcmacro.chain.undo.parse_block_undo_flat` (its reference twin, which
    also decodes whatever this kernel declines and raises its errors).

    Raises
    ------
    ChainError
        The record cannot be decoded (from the reference twin: names ``where``).
    """
    from btcmacro.chain import undo

    arr = np.frombuffer(data, dtype=np.uint8)
    n = arr.size
    cap = n // 3 + 1  # a coin takes at least 3 bytes (height, amount and script code)
    counts = np.empty(n + 1, np.int64)
    heights = np.empty(cap, np.int64)
    cbs = np.empty(cap, np.uint8)
    sats = np.empty(cap, np.int64)
    sstart = np.empty(cap, np.int64)
    slen = np.empty(cap, np.int64)
    sbuf = np.empty(2 * n + 128, np.uint8)  # a template script is < 2x its compressed form
    special = np.empty(2 * cap, np.int64)
    status, ntx, nc, nb, ns = _decode_undo(arr, counts, heights, cbs, sats, sstart, slen, sbuf, special)
    if status != _OK:
        return _from_reference(undo.parse_block_undo_flat(data, where=where))
    coins = UndoCoins(counts[:ntx].copy(), heights[:nc].copy(), cbs[:nc].astype(bool), sats[:nc].copy(),
                      sbuf[:nb], sstart[:nc].copy(), slen[:nc].copy())
    if ns:
        coins = _fill_uncompressed(coins, data, special[:ns].reshape(-1, 2), where)
    return coins


def _pack(scripts: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list of scripts as one uint8 buffer with each script's start and length."""
    lens = np.fromiter(map(len, scripts), dtype=np.int64, count=len(scripts))
    starts = np.zeros(len(scripts), np.int64)
    if len(scripts):
        np.cumsum(lens[:-1], out=starts[1:])
    return np.frombuffer(b"".join(scripts), dtype=np.uint8), starts, lens


def _from_reference(flat) -> UndoCoins:
    counts, heights, cbs, sats, scripts = flat
    try:
        values = np.asarray(sats, dtype=np.int64)
        hs = np.asarray(heights, dtype=np.int64)
    except OverflowError:
        from btcmacro.errors import ChainError

        raise ChainError("cannot decode undo record: an amount or height out of range") from None
    return UndoCoins(np.asarray(counts, dtype=np.int64), hs, np.asarray(cbs, dtype=bool), values, *_pack(scripts))


def _fill_uncompressed(coins: UndoCoins, data: bytes, special: np.ndarray, where: str) -> UndoCoins:
    """Rebuild the uncompressed-key P2PK scripts (codes 4/5) the kernel left empty."""
    from btcmacro.chain import undo

    scripts = coins.script_list()
    for j, p in special.tolist():
        try:
            s, _ = undo._script(data, p - 1)  # the code byte precedes the 32 key bytes
        except ValueError as e:
            from btcmacro.errors import ChainError

            raise ChainError(f"cannot decode undo record: {e}", where=where or None) from None
        scripts[j] = s
    buf, starts, lens = _pack(scripts)
    return coins._replace(scripts=buf, starts=starts, lens=lens)


# ---------------------------------------------------------------------------- netting per key


@njit(cache=True)
def _net_by_key(k0, k1, d, table, rep, sums):
    cap = table.size
    mask = cap - 1
    ng = 0
    for i in range(k0.size):
        h = np.int64(k0[i] & np.uint64(mask))
        while True:
            j = table[h]
            if j < 0:
                table[h] = ng
                rep[ng] = i
                sums[ng] = d[i]
                ng += 1
                break
            r = rep[j]
            if k0[r] == k0[i] and k1[r] == k1[i]:
                sums[j] += d[i]
                break
            h = (h + 1) & mask
    return ng


def net_by_key(keys: np.ndarray, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``deltas`` per 16-byte key; keep keys whose sum is not zero, in first-appearance order.

    Parameters
    ----------
    keys
        ``(n, 16)`` uint8 (from :func:`script_keys`).
    deltas
        int64, one per key row.

    Returns
    -------
    (keys, sums)
        ``(m, 16)`` uint8 and int64: each distinct key once, ordered by its first row.
    """
    n = keys.shape[0]
    if n == 0:
        return keys.reshape(0, 16), np.zeros(0, np.int64)
    k = np.ascontiguousarray(keys).view(np.uint64).reshape(n, 2)
    cap = 1 << int(2 * n).bit_length()
    table = np.full(cap, -1, np.int64)
    rep = np.empty(n, np.int64)
    sums = np.empty(n, np.int64)
    ng = _net_by_key(np.ascontiguousarray(k[:, 0]), np.ascontiguousarray(k[:, 1]),
                     np.ascontiguousarray(deltas, dtype=np.int64), table, rep, sums)
    rep, sums = rep[:ng], sums[:ng]
    nz = sums != 0
    return keys[rep[nz]], sums[nz]


def pack_scripts(scripts: list[bytes], values) -> UndoCoins:
    """Coins given as a list of scripts and their values (kernel undo data, RPC prevouts), packed
    as :class:`UndoCoins` for :func:`btcmacro.chain.lifecycle.block_flows` (heights unknown: 0)."""
    n = len(scripts)
    return UndoCoins(np.zeros(0, np.int64), np.zeros(n, np.int64), np.zeros(n, bool),
                     np.fromiter(values, dtype=np.int64, count=n), *_pack(scripts))


def warm() -> None:
    """Load (or compile, on a machine's first run) every kernel now, e.g. in a pool worker at
    start, so the first block does not pay for it."""
    one = np.zeros(1, np.int64)
    script_keys(np.zeros(1, np.uint8), one, one)
    decode_undo(b"\x00")
    net_by_key(np.zeros((1, 16), np.uint8), one)
    walk_block(bytes(90), 81, 1)


# ---------------------------------------------------------------------------- block walk


@njit(cache=True)
def _walk_block(b, p, ntx, spans, opos):
    """Walk ``ntx`` transactions from ``p`` (after the tx count), bounds-checking every field as
    :func:`btcmacro.chain.parse._parse_block` does; fill ``spans`` (start, body, ins, outs,
    body_end, end, nin, nout, segwit per tx) and ``opos`` (each output's offset).
    Returns (status, outputs, inputs, witness bytes)."""
    n = b.size
    no = 0
    tin = 0
    wbytes = 0
    for k in range(ntx):
        start = p
        if p + 10 > n:
            return _DECLINED, 0, 0, 0
        segwit = b[p + 4] == 0
        if segwit:
            if b[p + 5] != 1:
                return _DECLINED, 0, 0, 0
            p += 6
        else:
            p += 4
        body = p
        nin, p = _cs(b, p, n)
        if nin < 0 or nin > (n - p) // 41:
            return _DECLINED, 0, 0, 0
        ins = p
        for _ in range(nin):
            if p + 36 >= n:
                return _DECLINED, 0, 0, 0
            c = b[p + 36]
            if c < 0xFD:
                p += 41 + c
            else:
                ls, q = _cs(b, p + 36, n)
                if ls < 0:
                    return _DECLINED, 0, 0, 0
                p = q + ls + 4
        if p >= n:
            return _DECLINED, 0, 0, 0
        nout, p = _cs(b, p, n)
        if nout < 0 or nout > (n - p) // 9:
            return _DECLINED, 0, 0, 0
        outs = p
        for _ in range(nout):
            if no >= opos.size or p + 8 >= n:
                return _DECLINED, 0, 0, 0
            opos[no] = p
            no += 1
            c = b[p + 8]
            if c < 0xFD:
                p += 9 + c
            else:
                ls, q = _cs(b, p + 8, n)
                if ls < 0:
                    return _DECLINED, 0, 0, 0
                p = q + ls
        body_end = p
        if segwit:
            for _ in range(nin):
                ni, p = _cs(b, p, n)
                if ni < 0 or ni > n - p:
                    return _DECLINED, 0, 0, 0
                for _ in range(ni):
                    ls, p = _cs(b, p, n)
                    if ls < 0:
                        return _DECLINED, 0, 0, 0
                    p += ls
                    if p > n:
                        return _DECLINED, 0, 0, 0
            wbytes += p - body_end + 2
        p += 4
        if p > n:
            return _DECLINED, 0, 0, 0
        spans[k, 0] = start
        spans[k, 1] = body
        spans[k, 2] = ins
        spans[k, 3] = outs
        spans[k, 4] = body_end
        spans[k, 5] = p
        spans[k, 6] = nin
        spans[k, 7] = nout
        spans[k, 8] = 1 if segwit else 0
        tin += nin
    if p != n:
        return _DECLINED, 0, 0, 0
    return _OK, no, tin, wbytes


def walk_block(raw: bytes, p: int, ntx: int):
    """The transaction layout of one block (see :func:`_walk_block`), or None if the kernel
    declines (a malformed block: the reference parser then raises the exact error).

    Returns
    -------
    (spans, opos, n_in, n_out, witness_bytes) or None
        ``spans`` an ``(ntx, 9)`` int64 array, ``opos`` int64 output offsets.
    """
    b = np.frombuffer(raw, dtype=np.uint8)
    spans = np.empty((ntx, 9), np.int64)
    opos = np.empty(max((len(raw) - p) // 9, 0), np.int64)
    status, no, tin, wbytes = _walk_block(b, p, ntx, spans, opos)
    if status != _OK:
        return None
    return spans, opos[:no], tin, no, wbytes
