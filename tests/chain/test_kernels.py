"""The compiled kernels (``btcmacro.chain.kernels``) against their pure-Python reference twins.

* ``script_keys`` against ``hashlib.sha256(...).digest()[:16]`` on every message length around
  SHA-256's padding boundaries (55/56/63/64/119/120 bytes) and on random slices (Hypothesis);
* ``decode_undo`` against ``undo.parse_block_undo_flat`` on undo records written here in Core's
  format (every script code 0–5, raw and oversized scripts, CompactSize counts ≥ 253,
  heights and amounts up to their limits) and on fuzzed bytes: the kernel must give the same
  coins or the same ``ChainError``;
* ``net_by_key`` against a dict, with keys repeated and sums cancelling to zero.
The real undo data of the mainnet fixture blocks is checked in ``test_undo.py``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from _chainhelp import _cs, compress_amount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btcmacro.chain import kernels, lifecycle, undo
from btcmacro.errors import ChainError

# secp256k1's generator: its x coordinate is a valid compressed key (y even: prefix 2, code 4)
GX = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
GY = bytes.fromhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")


def _sha16(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()[:16]


def test_script_keys_padding_boundaries():
    buf = bytes(range(256)) * 8  # 2,048 bytes
    lens = [0, 1, 20, 25, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 2048]
    starts = [0] * len(lens)
    out = kernels.script_keys(np.frombuffer(buf, np.uint8), np.array(starts), np.array(lens))
    assert [bytes(r) for r in out] == [_sha16(buf[:n]) for n in lens]
    # FIPS 180-2 example "abc": ba7816bf 8f01cfea 414140de 5dae2223 (first 16 bytes)
    abc = kernels.script_keys(np.frombuffer(b"abc", np.uint8), np.array([0]), np.array([3]))
    assert bytes(abc[0]).hex() == "ba7816bf8f01cfea414140de5dae2223"
    with pytest.raises(ValueError):
        kernels.script_keys(np.frombuffer(b"abc", np.uint8), np.array([1]), np.array([3]))


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=600), st.lists(st.tuples(st.integers(0, 600), st.integers(0, 300)), max_size=20))
def test_script_keys_equal_hashlib(buf, cuts):
    spans = [(s, n) for s, n in cuts if s + n <= len(buf)]
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    lens = np.array([n for _, n in spans], dtype=np.int64)
    out = kernels.script_keys(np.frombuffer(buf, np.uint8), starts, lens)
    assert [bytes(r) for r in out] == [_sha16(buf[s : s + n]) for s, n in spans]


# ---------------------------------------------------------------------------- undo records


def varint(n: int) -> bytes:
    """Core's VARINT (serialize.h WriteVarInt), written out from its definition."""
    out = [n & 0x7F]
    while n > 0x7F:
        n = (n >> 7) - 1
        out.append((n & 0x7F) | 0x80)
    return bytes(reversed(out))


def coin(height: int, cb: bool, value: int, code: int, payload: bytes) -> bytes:
    """One undo coin: VARINT(height*2+cb), a dummy VARINT if height > 0, amount, script."""
    return (varint(height * 2 + int(cb)) + (varint(0) if height > 0 else b"")
            + varint(compress_amount(value)) + varint(code) + payload)


def record(txs: list[list[bytes]]) -> bytes:
    return _cs(len(txs)) + b"".join(_cs(len(t)) + b"".join(t) for t in txs)


def _as_flat(c: kernels.UndoCoins):
    return [c.counts.tolist(), c.heights.tolist(), c.coinbase.tolist(), c.values.tolist(), c.script_list()]


def _kernel_only(monkeypatch, data: bytes, ref) -> None:
    """The compiled decoder itself (no fallback to the reference) decodes ``data`` to ``ref``."""
    with monkeypatch.context() as m:
        m.setattr(undo, "parse_block_undo_flat", lambda *a, **k: pytest.fail("the kernel declined"))
        assert _as_flat(kernels.decode_undo(data)) == [list(x) for x in ref]


def _check(data: bytes):
    """Kernel and reference agree: same coins, or both raise ChainError."""
    try:
        ref = undo.parse_block_undo_flat(data, where="rev00000.dat@0x0")
    except ChainError as e:
        with pytest.raises(ChainError) as got:
            kernels.decode_undo(data, where="rev00000.dat@0x0")
        assert got.value.message == e.message and got.value.where == "rev00000.dat@0x0"
        return None
    try:
        fast = kernels.decode_undo(data, where="rev00000.dat@0x0")
    except ChainError:  # a value beyond int64 (only a hand-made record): the reference has it
        assert any(v >= 2**63 for v in ref[3]) or any(h >= 2**63 for h in ref[1])
        return ref
    assert _as_flat(fast) == [list(x) for x in ref]
    return ref


def test_decode_undo_every_script_code(monkeypatch):
    h20, k32 = bytes(range(20)), bytes(range(100, 132))
    txs = [
        [coin(0, True, 50 * 10**8, 0, h20)],  # genesis-height coinbase coin (no dummy VARINT)
        [coin(1, False, 0, 1, h20), coin(700_000, True, 21 * 10**14, 2, k32), coin(5, False, 546, 3, k32)],
        [coin(9, True, 50 * 10**8, 4, GX), coin(10, False, 1, 5, GX)],  # uncompressed P2PK (rebuilt)
        [coin(2**20, False, 123_456_789, 6 + 3, b"\x51\x52\x53"), coin(3, False, 7, 6, b"")],
        [coin(4, False, 10**8, 6 + 200, bytes(200)), coin(4, False, 10**8, 6 + 10_001, bytes(10_001))],
    ]
    data = record(txs)
    ref = _check(data)
    _kernel_only(monkeypatch, data, ref)
    counts, heights, cbs, sats, scripts = ref
    assert counts == [1, 3, 2, 2, 2] and heights[:3] == [0, 1, 700_000] and cbs[:3] == [True, False, True]
    assert sats[:3] == [50 * 10**8, 0, 21 * 10**14]
    assert scripts[0] == b"\x76\xa9\x14" + h20 + b"\x88\xac" and scripts[1] == b"\xa9\x14" + h20 + b"\x87"
    assert scripts[2] == b"\x21\x02" + k32 + b"\xac"
    assert scripts[4] == b"\x41\x04" + GX + GY + b"\xac"  # G itself: y is even (code 4)
    assert scripts[5][:2] == b"\x41\x04" and scripts[5][-33:-1] != GY  # odd y: the other root
    assert scripts[6] == b"\x51\x52\x53" and scripts[7] == b"" and scripts[9] == b"\x6a"  # oversized stand-in


def test_decode_undo_big_counts_and_flows_agree(fixture_blocks, monkeypatch):
    rng = np.random.default_rng(5)
    txs = [[coin(int(rng.integers(0, 900_000)), bool(rng.integers(0, 2)), int(rng.integers(0, 10**12)),
                 int(rng.integers(0, 2)), rng.bytes(20)) for _ in range(300)] for _ in range(3)]
    data = record(txs)  # CompactSize 300 = fd 2c 01
    assert data[1:4] == b"\xfd\x2c\x01"
    ref = _check(data)
    _kernel_only(monkeypatch, data, ref)
    assert len(ref[1]) == 900
    # the compiled flows of a block spending these coins equal the Python twin's
    from btcmacro.chain.parse import parse_block

    blk = parse_block(fixture_blocks[170], height=170)
    coins = kernels.decode_undo(data)
    fast = lifecycle.block_flows(blk, 170, coins=coins)
    slow = lifecycle.block_flows_reference(blk, 170, scripts=ref[4], values=ref[3])
    assert fast.equals(slow) and fast.num_rows > 800


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.integers(0, 2**30), st.booleans(), st.integers(0, 21 * 10**14),
                                   st.sampled_from([0, 1, 2, 3, 6, 7, 40]), st.binary(min_size=34, max_size=34)),
                         max_size=6), max_size=5),
       st.integers(0, 10**9), st.integers(0, 255))
def test_decode_undo_fuzz(txs, cut, flip):
    """Valid records equal the reference; truncated or corrupted ones fail (or decode) alike."""
    data = record([[coin(h, cb, v, code, p[: {0: 20, 1: 20, 2: 32, 3: 32}.get(code, code - 6)])
                    for h, cb, v, code, p in t] for t in txs])
    _check(data)
    if data:
        _check(data[: cut % len(data)])  # truncated
        i = cut % len(data)
        _check(data[:i] + bytes([data[i] ^ flip]) + data[i + 1 :])  # one byte changed
    _check(data + b"\x00")  # trailing byte


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_decode_undo_random_bytes(data):
    _check(data)


# ---------------------------------------------------------------------------- net_by_key


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-5, 5)), max_size=60))
def test_net_by_key_equals_dict(rows):
    keys = np.array([[k] * 16 for k, _ in rows], dtype=np.uint8).reshape(-1, 16)
    keys[:, 15] ^= 0x80  # keys differing only in their last byte stay distinct
    deltas = np.array([d for _, d in rows], dtype=np.int64)
    acc: dict[bytes, int] = {}
    for k, d in zip(keys, deltas.tolist()):
        acc[bytes(k)] = acc.get(bytes(k), 0) + d
    want = [(k, v) for k, v in acc.items() if v != 0]
    k, s = kernels.net_by_key(keys, deltas)
    assert [(bytes(a), int(b)) for a, b in zip(k, s)] == want


def test_net_by_key_distinct_high_halves():
    """Keys equal in their first 8 bytes (the hash table's slot) but not the last 8."""
    keys = np.zeros((4, 16), np.uint8)
    keys[:, 8] = [1, 2, 1, 3]
    k, s = kernels.net_by_key(keys, np.array([5, 6, -5, 7]))
    assert k[:, 8].tolist() == [2, 3] and s.tolist() == [6, 7]


# ---------------------------------------------------------------------------- block walk


def _same_block(a, r) -> None:
    assert a.txids == r.txids and a.header == r.header
    assert [tuple(x) for x in a._spans] == [tuple(x) for x in r._spans]
    assert list(a._opos) == list(r._opos)
    assert (a.n_in, a.n_out, a.weight, a.size) == (r.n_in, r.n_out, r.weight, r.size)
    va, oka = a.output_arrays()
    vr, okr = r.output_arrays()
    assert va.tolist() == vr.tolist() and oka.tolist() == okr.tolist()
    assert a.output_scripts() == r.output_scripts()


def test_walk_block_equals_reference_on_real_blocks(blocks_path, fixture_blocks, monkeypatch):
    """Every real block (the 256 of blk_0_to_255.dat and the SegWit/Taproot-era .bin blocks)
    walked by the kernel alone equals the pure-Python walk."""
    from btcmacro.chain import parse

    raws = list(fixture_blocks) + [p.read_bytes() for p in sorted(blocks_path.glob("*.bin"))]
    with monkeypatch.context() as m:  # the compiled walk itself: no fallback allowed
        m.setattr(parse, "_parse_block", lambda *a, **k: pytest.fail("the kernel declined"))
        fast = [parse.parse_block(r) for r in raws]
    for raw, a in zip(raws, fast):
        _same_block(a, parse._parse_block(raw, None))
    assert sum(b.n_in for b in fast) > 10_000 and any(any(sp[8] for sp in b._spans) for b in fast)


def _reference_parse(data: bytes):
    """``parse_block`` with the compiled walk switched off: the pure-Python reference, with the
    same error conversion (IndexError, struct.error, … become BadBlock)."""
    from unittest import mock

    from btcmacro.chain import parse

    with mock.patch.object(parse, "_parse_block_fast", lambda *a, **k: None):
        return parse.parse_block(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.integers(1, 255), st.sampled_from([0, 1, 2]), st.integers(0, 10**9))
def test_walk_block_fuzz_same_result_or_same_error(i, flip, which, cut):
    """Corrupted or truncated real blocks: the fast parse and the reference give the same block or
    the same BadBlock message."""
    from btcmacro.chain import parse
    from btcmacro.errors import BadBlock

    raw = _FUZZ_BLOCKS[which]
    j = 80 + i % (len(raw) - 80)
    bad = raw[:j] + bytes([raw[j] ^ flip]) + raw[j + 1 :]
    for data in (bad, raw[: 81 + cut % (len(raw) - 81)]):
        try:
            r = _reference_parse(data)
        except BadBlock as e:
            with pytest.raises(BadBlock) as got:
                parse.parse_block(data)
            assert got.value.message == e.message
            continue
        _same_block(parse.parse_block(data), r)


def _load_fuzz_blocks():
    from pathlib import Path

    from _chainhelp import BLOCKS

    names = ["170.bin", "702861.bin", "905646.bin"]  # P2PK era, SegWit era, recent
    return [(Path(BLOCKS) / n).read_bytes() for n in names]


_FUZZ_BLOCKS = _load_fuzz_blocks()
