"""blkfile.py: framing, XOR and the faults T1, T2, T3, T6, T7."""

from __future__ import annotations

import logging

import pytest

from btcmacro.chain import blkfile
from btcmacro.chain.blkfile import MAGIC, apply_xor, scan_bytes, scan_file
from btcmacro.errors import NetworkMismatch

from _chainhelp import record


def _join(raws):
    return b"".join(record(b) for b in raws)


def test_clean_file(fixture_blocks):
    data = _join(fixture_blocks)
    res = scan_bytes(data)
    assert [r.data for r in res.records] == fixture_blocks
    assert res.records[1].offset == 8 + 285  # genesis record is 8 + 285 bytes
    assert res.end_offset == len(data) == 59024 and not res.warnings and not res.truncated


def test_truncated_last_record_T1(fixture_blocks, caplog):
    data = _join(fixture_blocks)
    last = len(data) - (8 + len(fixture_blocks[-1]))
    cut = data[: last + 8 + 100]
    with caplog.at_level(logging.WARNING, logger="btcmacro.chain"):
        res = scan_bytes(cut, name="blk00003.dat")
    assert len(res.records) == 255 and res.truncated and res.end_offset == last
    (w,) = res.warnings
    n = len(fixture_blocks[-1])
    assert str(w) == f"blk00003.dat@{last:#x}: record declares {n} bytes, 100 present"
    assert str(w) in caplog.text
    # resume from end_offset once the file has grown
    res2 = scan_bytes(data[res.end_offset:], name="blk00003.dat", base=res.end_offset)
    assert len(res2.records) == 1 and res2.records[0].offset == last


def test_zero_padding_T2(fixture_blocks):
    data = _join(fixture_blocks[:3])
    padded = data + b"\0" * (1 << 20)
    newest = scan_bytes(padded, newest=True)
    assert len(newest.records) == 3 and newest.warnings == []
    older = scan_bytes(padded, name="blk00000.dat", newest=False)
    (w,) = older.warnings
    assert w.kind == "padding" and w.where == f"blk00000.dat@{len(data):#x}"
    # zeros in the middle of a file: warned, and scanning continues after them
    mid = _join(fixture_blocks[:2]) + b"\0" * 4096 + _join(fixture_blocks[2:4])
    res = scan_bytes(mid, name="blk00000.dat", newest=True)
    assert len(res.records) == 4
    (w,) = res.warnings
    assert w.kind == "padding" and w.offset == len(_join(fixture_blocks[:2]))


def test_junk_between_records_T3(fixture_blocks):
    a, b = _join(fixture_blocks[:10]), _join(fixture_blocks[10:])
    junk = bytes((i * 37 + 11) % 251 + 1 for i in range(200))  # no zero, no magic
    res = scan_bytes(a + junk + b, name="blk00000.dat")
    assert [r.data for r in res.records] == fixture_blocks
    (w,) = res.warnings
    assert w.kind == "junk" and w.offset == len(a) and "200 junk bytes" in w.message


@pytest.mark.parametrize("size", [50, 79, 4_000_001, 0xFFFFFFFF])
def test_bad_size_field_T6(fixture_blocks, size):
    a, b = _join(fixture_blocks[:5]), _join(fixture_blocks[5:8])
    bad = MAGIC["mainnet"] + size.to_bytes(4, "little") + b"\x07" * 120
    res = scan_bytes(a + bad + b, name="blk00001.dat")
    assert [r.data for r in res.records] == fixture_blocks[:8]
    (w,) = res.warnings
    assert w.kind == "bad_size" and w.where == f"blk00001.dat@{len(a):#x}" and str(size) in w.message


@pytest.mark.parametrize("net", ["testnet3", "testnet4", "signet", "regtest"])
def test_wrong_network_T7(fixture_blocks, net):
    data = MAGIC[net] + _join(fixture_blocks[:2])[4:]
    with pytest.raises(NetworkMismatch) as ei:
        scan_bytes(data, name="blk00000.dat")
    assert ei.value.message == f"network mismatch: found {net} magic in blk00000.dat"
    assert ei.value.where == "blk00000.dat@0x0"


def test_xor_by_offset(tmp_path, fixture_blocks):
    key = bytes.fromhex("9305da8884a062b5")
    plain = _join(fixture_blocks)
    enc = apply_xor(plain, key)
    assert enc != plain and apply_xor(enc, key) == plain
    # applying from an unaligned offset gives the same bytes as the whole-file XOR
    assert apply_xor(enc[13:], key, 13) == plain[13:]
    (tmp_path / "xor.dat").write_bytes(key)
    (tmp_path / "blk00000.dat").write_bytes(enc)
    assert blkfile.read_xor_key(tmp_path) == key
    res = scan_file(tmp_path / "blk00000.dat", key=key)
    assert [r.data for r in res.records] == fixture_blocks
    res_mid = scan_file(tmp_path / "blk00000.dat", key=key, start=res.records[7].offset)
    assert [r.data for r in res_mid.records] == fixture_blocks[7:]


def test_blk_files_numeric_order(tmp_path):
    for n in (10, 2, 0):
        (tmp_path / f"blk{n:05d}.dat").write_bytes(b"")
    (tmp_path / "rev00000.dat").write_bytes(b"")
    assert [p.name for p in blkfile.blk_files(tmp_path)] == ["blk00000.dat", "blk00002.dat", "blk00010.dat"]


def _faulty_files(blocks):
    """(name, plain bytes, newest) of clean and faulty files: the cases of the tests above."""
    j = _join
    last = len(j(blocks)) - (8 + len(blocks[-1]))
    junk = bytes((i * 37 + 11) % 251 + 1 for i in range(200))
    bad = MAGIC["mainnet"] + (79).to_bytes(4, "little") + b"\x07" * 120
    return [
        ("clean", j(blocks), True),
        ("clean-older", j(blocks), False),
        ("truncated", j(blocks)[: last + 8 + 100], True),
        ("cut-in-size-field", j(blocks[:4]) + MAGIC["mainnet"] + b"\x01\x02", True),
        ("padding-newest", j(blocks[:3]) + b"\0" * 5000, True),
        ("padding-older", j(blocks[:3]) + b"\0" * 5000, False),
        ("padding-middle", j(blocks[:2]) + b"\0" * 4096 + j(blocks[2:4]), True),
        ("junk", j(blocks[:10]) + junk + j(blocks[10:]), True),
        ("bad-size", j(blocks[:5]) + bad + j(blocks[5:8]), True),
        ("empty", b"", True),
    ]


@pytest.mark.parametrize("key", [b"\0" * 8, bytes.fromhex("9305da8884a062b5")])
def test_header_scan_equals_full_scan(tmp_path, fixture_blocks, key):
    # the header-only scan reads 88 bytes per record and falls back to the full scan on any
    # fault: for every case above it must give the full scan's records (cut to their headers),
    # warnings, end offset and truncation flag; a wrong network raises the same error
    for name, plain, newest in _faulty_files(fixture_blocks):
        p = tmp_path / f"{name}.dat"
        p.write_bytes(apply_xor(plain, key))
        full = scan_file(p, key=key, newest=newest)
        fast = blkfile.scan_file_headers(p, key=key, newest=newest)
        assert [(r.file, r.offset, r.size, r.data[:80]) for r in full.records] == \
            [(r.file, r.offset, r.size, r.data) for r in fast.records], name
        assert all(len(r.data) == 80 for r in fast.records)
        assert [str(w) for w in fast.warnings] == [str(w) for w in full.warnings], name
        assert (fast.end_offset, fast.truncated) == (full.end_offset, full.truncated), name
    assert len(full.records) == 0
    p = tmp_path / "blk00000.dat"
    p.write_bytes(apply_xor(MAGIC["regtest"] + _join(fixture_blocks[:2])[4:], key))
    with pytest.raises(NetworkMismatch) as ei:
        blkfile.scan_file_headers(p, key=key)
    assert ei.value.where == "blk00000.dat@0x0"
