"""parse.py against the known answers of tests/fixtures/data/blocks/README.md, plus T9 and T10."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from btcmacro.chain.parse import Block, parse_block, serialize, serialize_tx
from btcmacro.errors import BadBlock, ChainError

# file, height, hash, bytes, weight, txs, inputs, outputs, segwit txs, P2TR outputs (README table)
KNOWN = [
    ("0.bin", 0, "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 285, 1140, 1, 1, 1, 0, 0),
    ("9.bin", 9, "000000008d9dc510f23c2657fc4f67bea30078cc05a90eb89e84cc475c080805", 215, 860, 1, 1, 1, 0, 0),
    ("170.bin", 170, "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee", 490, 1960, 2, 2, 3, 0, 0),
    ("277647.bin", 277647, "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8", 149164, 596656, 213, 733, 769, 0, 0),
    ("413567.bin", 413567, "0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069", 999887, 3999548, 1557, 4887, 3581, 0, 0),
    ("702861.bin", 702861, "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae", 1381836, 3993054, 2500, 6518, 6015, 2065, 0),
    ("849236.bin", 849236, "0000000000000000000237152a8a45b8285ea4ce2f2d5358e909bfe8d400220f", 1588722, 3993339, 2410, 8453, 5640, 2363, 1053),
    ("849250.bin", 849250, "000000000000000000013805b86c3d36697de1ca1fdab24edce264298fb7fcf3", 1752601, 3992923, 5131, 9604, 10816, 5083, 1250),
    ("905646.bin", 905646, "00000000000000000000b93d1e8747bd45af2401d6b90ab3519857352727c4b0", 1641645, 3993729, 3491, 7617, 9298, 3300, 2909),
]


@pytest.fixture(scope="module")
def raw(blocks_path):
    return {k[0]: (blocks_path / k[0]).read_bytes() for k in KNOWN}


@pytest.mark.parametrize("row", KNOWN, ids=[k[0] for k in KNOWN])
def test_known_answers(raw, row):
    name, height, h, size, weight, ntx, nin, nout, nseg, np2tr = row
    b = parse_block(raw[name], height=height)
    assert b.header.hash_hex == h
    assert b.size == size and b.weight == weight and len(b.txs) == ntx
    assert sum(len(t.vin) for t in b.txs) == nin
    assert sum(len(t.vout) for t in b.txs) == nout
    assert sum(t.witness is not None for t in b.txs) == nseg
    assert sum(len(s) == 34 and s[:2] == b"\x51\x20" for t in b.txs for _, s in t.vout) == np2tr
    assert b.merkle_ok  # the txids rebuild the header's merkle root
    assert b.txs[0].is_coinbase and not any(t.is_coinbase for t in b.txs[1:])
    b.check_merkle()


def test_known_merkle_roots_and_txids(raw):
    g = parse_block(raw["0.bin"])
    # genesis merkle root == its only txid (widely published value)
    assert g.txs[0].txid_hex == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    assert g.computed_merkle_root() == g.header.merkle_root
    b9 = parse_block(raw["9.bin"])
    assert b9.txs[0].txid_hex.startswith("0437cd7f8525ceed")  # README spend table
    b170 = parse_block(raw["170.bin"])
    assert b170.txs[1].txid_hex.startswith("f4184fc596403b9d")
    assert b170.txs[1].vin[0][0][::-1].hex().startswith("0437cd7f8525ceed") and b170.txs[1].vin[0][1] == 0
    assert [v for v, _ in b170.txs[1].vout] == [10 * 10**8, 40 * 10**8]
    assert b170.header.prev_hash_hex == "000000002a22cfee1f2c846adbd12b3e183d4f97683f85dad08a79780a84bd55"


def test_segwit_txid_excludes_witness(raw):
    b = parse_block(raw["702861.bin"])
    t = next(t for t in b.txs if t.witness is not None)
    from btcmacro.chain.parse import sha256d

    assert t.txid == sha256d(serialize_tx(t, witness=False))
    assert t.txid != sha256d(serialize_tx(t, witness=True))


@pytest.mark.parametrize("name", [k[0] for k in KNOWN])
def test_round_trip_T10(raw, name):
    assert serialize(parse_block(raw[name])) == raw[name]


def _value_offset(raw: bytes, block: Block) -> int:
    tx = block.txs[1]
    val, script = tx.vout[0]
    needle = struct.pack("<q", val) + bytes([len(script)]) + script
    off = raw.find(needle)
    assert off > 0 and raw.find(needle, off + 1) < 0
    return off


def test_corrupted_output_value_T9(raw):
    r = raw["413567.bin"]
    off = _value_offset(r, parse_block(r))
    bad = bytearray(r)
    bad[off] ^= 0x01  # still parses: only an amount changed
    b = parse_block(bytes(bad), height=413567)
    assert not b.merkle_ok
    with pytest.raises(BadBlock) as ei:
        b.check_merkle()
    msg = str(ei.value)
    assert "merkle root mismatch" in msg and "413567" in msg
    assert "0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069" in msg


def test_trailing_and_truncated(raw):
    r = raw["170.bin"]
    with pytest.raises(BadBlock, match="trailing"):
        parse_block(r + b"\0")
    with pytest.raises(BadBlock):
        parse_block(r[:-1])
    with pytest.raises(BadBlock):
        parse_block(r[:80])


# --------------------------------------------------------------------------- T10 fuzzing
SMALL = None


def _small(blocks_path):
    global SMALL
    if SMALL is None:
        SMALL = [(blocks_path / n).read_bytes() for n in ("0.bin", "170.bin", "9.bin")]
    return SMALL


def _only_chain_errors(data: bytes) -> None:
    for full in (False, True):  # both scan variants (lazy views, full decode)
        try:
            b = parse_block(data, full=full)
        except ChainError:
            continue
        # accepted: must be a coherent object that round-trips exactly
        assert serialize(b) == data


FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@seed(20240624)
@FUZZ
@given(data=st.data())
def test_fuzz_truncations_and_bitflips(blocks_path, data):
    blocks = _small(blocks_path)
    r = bytearray(data.draw(st.sampled_from(blocks)))
    action = data.draw(st.sampled_from(["truncate", "flip", "both"]))
    if action in ("flip", "both"):
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(r) - 1))
            r[i] ^= 1 << data.draw(st.integers(0, 7))
    if action in ("truncate", "both"):
        r = r[: data.draw(st.integers(0, len(r)))]
    _only_chain_errors(bytes(r))


@seed(7)
@FUZZ
@given(st.binary(min_size=0, max_size=600))
def test_fuzz_random_bytes(blob):
    _only_chain_errors(blob)


@seed(11)
@FUZZ
@given(st.binary(min_size=0, max_size=300), st.sampled_from([b"\x00\x01", b"\x00\x02", b""]))
def test_fuzz_after_valid_header(blob, marker):
    # valid-looking header + tx count 1 + version + optional segwit marker + random tail
    _only_chain_errors(b"\x01" + b"\0" * 79 + b"\x01" + b"\x01\0\0\0" + marker + blob)


def test_huge_counts_fail_fast():
    hdr = b"\0" * 80
    for tail in (b"\xff" + b"\xff" * 8, b"\x01" + b"\x01\0\0\0" + b"\xfe\xff\xff\xff\x7f"):
        with pytest.raises(ChainError):
            parse_block(hdr + tail + b"\0" * 20)
