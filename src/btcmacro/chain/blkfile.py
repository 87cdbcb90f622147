"""Bitcoin Core ``blk*.dat`` framing: XOR, magic scan, record offsets.

A blk file is a sequence of records ``magic(4) | size(u32 LE) | block(size)``. Since Core 28
the whole file is XOR-ed with the 8-byte key in ``blocks/xor.dat``; the key is applied by file
offset (byte ``i`` of the file is XOR-ed with ``key[i % 8]``). Reality adds noise, and the scan
handles each case without ever trusting file order:

* zero bytes (Core pre-allocates files in 16 MiB chunks): skipped silently at the end of the
  newest file, reported with file and offset anywhere else;
* junk between records (Core's "historical bugs" case): skipped by resyncing on the next magic,
  reported with the junk offset;
* a size field below 80 or above 4,000,000: reported, and the scan resumes at the next magic;
* a truncated last record (the newest file being written): every record before it is kept, and
  ``blkNNNNN.dat@0x…: record declares N bytes, M present`` is reported; ``end_offset`` says where
  a later rerun can resume once the file has grown;
* another network's magic where a record should start: :class:`NetworkMismatch`.

Warnings are returned in :attr:`ScanResult.warnings` *and* logged on the ``btcmacro.chain``
logger, so tests can assert them and users see them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from btcmacro.errors import ChainError, NetworkMismatch

log = logging.getLogger("btcmacro.chain")

__all__ = [
    "MAGIC",
    "Record",
    "ScanWarning",
    "ScanResult",
    "read_xor_key",
    "xor_fingerprint",
    "apply_xor",
    "scan_bytes",
    "scan_file",
    "scan_file_headers",
    "blk_files",
    "MIN_BLOCK",
    "MAX_BLOCK",
]

MAGIC = {
    "mainnet": bytes.fromhex("f9beb4d9"),
    "testnet3": bytes.fromhex("0b110907"),
    "testnet4": bytes.fromhex("1c163f28"),
    "signet": bytes.fromhex("0a03cf40"),
    "regtest": bytes.fromhex("fabfb5da"),
}
_NET_BY_MAGIC = {v: k for k, v in MAGIC.items()}
MIN_BLOCK = 80
MAX_BLOCK = 4_000_000
_BLK_RE = re.compile(r"^blk(\d{5})\.dat$")


@dataclass(frozen=True, slots=True)
class Record:
    """One framed block: where it is and its (de-obfuscated) bytes."""

    file: str
    offset: int  # offset of the magic in the file
    size: int
    data: bytes

    @property
    def where(self) -> str:
        return f"{self.file}@{self.offset:#x}"


@dataclass(frozen=True, slots=True)
class ScanWarning:
    kind: str  # "padding" | "junk" | "bad_size" | "truncated"
    file: str
    offset: int
    message: str

    @property
    def where(self) -> str:
        return f"{self.file}@{self.offset:#x}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class ScanResult:
    file: str
    records: list[Record] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)
    end_offset: int = 0  # first byte after the last complete record (resume point)
    truncated: bool = False


def read_xor_key(blocks_dir: str | os.PathLike) -> bytes:
    """The 8-byte obfuscation key from ``blocks/xor.dat``; all zeros if the file is absent."""
    p = Path(blocks_dir) / "xor.dat"
    if not p.exists():
        return b"\0" * 8
    key = p.read_bytes()
    if len(key) != 8:
        raise ChainError(f"xor.dat holds {len(key)} bytes, expected 8", where=str(p))
    return key


def xor_fingerprint(key: bytes) -> str:
    """A short, non-reversible fingerprint of the XOR key for the checkpoint row."""
    return hashlib.sha256(b"btcmacro-xor:" + key).hexdigest()[:16]


def apply_xor(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """XOR ``data`` (which starts at file offset ``offset``) with the 8-byte ``key``."""
    if not any(key):
        return bytes(data)
    k8 = np.frombuffer(key * 2, dtype=np.uint8)[offset % 8 : offset % 8 + 8]
    n = len(data)
    main = n - n % 8
    buf = np.frombuffer(data, dtype=np.uint8)  # no copy; one output buffer, no padding copies
    out = np.empty(n, dtype=np.uint8)
    np.bitwise_xor(buf[:main].view(np.uint64), k8.view(np.uint64)[0], out=out[:main].view(np.uint64))
    out[main:] = buf[main:] ^ k8[: n - main]
    return out.tobytes()


def blk_files(blocks_dir: str | os.PathLike) -> list[Path]:
    """``blkNNNNN.dat`` files in numeric order (the last is the newest)."""
    d = Path(blocks_dir)
    files = [p for p in d.iterdir() if _BLK_RE.match(p.name)]
    return sorted(files, key=lambda p: int(_BLK_RE.match(p.name).group(1)))


def scan_file(
    path: str | os.PathLike,
    *,
    key: bytes = b"\0" * 8,
    network: str = "mainnet",
    newest: bool = True,
    start: int = 0,
    name: str | None = None,
) -> ScanResult:
    """Read and scan one blk file (see :func:`scan_bytes`)."""
    p = Path(path)
    with open(p, "rb") as fh:
        fh.seek(start)
        raw = fh.read()
    data = apply_xor(raw, key, start)
    return scan_bytes(data, name=name or p.name, network=network, newest=newest, base=start, raw=raw)


def scan_file_headers(
    path: str | os.PathLike,
    *,
    key: bytes = b"\0" * 8,
    network: str = "mainnet",
    newest: bool = True,
) -> ScanResult:
    """:func:`scan_file` reading only each record's frame and 80-byte header.

    Records carry only the block header as ``data`` (``size`` is still the whole block's). The
    common case, a file that is an unbroken sequence of well-framed records up to its last byte,
    costs one 88-byte read per block instead of reading, de-obfuscating and copying every block.
    At the first thing that is not the next record (zero padding, junk, a bad size field, another
    network's magic, a truncated record) the file is scanned again with :func:`scan_file`, so
    records, warnings, errors, ``end_offset`` and ``truncated`` are exactly the full scan's (the
    full scan's records are then cut to their headers).
    """
    if network not in MAGIC:
        raise ChainError(f"unknown network {network!r}")
    p = Path(path)
    name = p.name
    magic = MAGIC[network]
    res = ScanResult(name)
    xor = any(key)
    if xor:  # the key stream of one 88-byte read starting at each offset modulo 8, as integers
        ks = [int.from_bytes((key * 13)[i : i + 88], "little") for i in range(8)]
    with open(p, "rb", buffering=0) as fh:
        n = os.fstat(fh.fileno()).st_size
        pos = 0
        recs = res.records
        while pos < n:
            fh.seek(pos)
            head = fh.read(88)
            if xor:
                head = (int.from_bytes(head, "little") ^ (ks[pos % 8] & ((1 << (8 * len(head))) - 1))
                        ).to_bytes(len(head), "little")
            if len(head) < 88 or head[:4] != magic:
                break
            size = int.from_bytes(head[4:8], "little")
            end = pos + 8 + size
            if size < MIN_BLOCK or size > MAX_BLOCK or end > n:
                break
            recs.append(Record(name, pos, size, head[8:]))
            pos = end
        else:
            res.end_offset = pos
            return res
    full = scan_file(p, key=key, network=network, newest=newest)
    full.records = [Record(r.file, r.offset, r.size, r.data[:80]) for r in full.records]
    return full


def _warn(res: ScanResult, kind: str, offset: int, message: str) -> None:
    w = ScanWarning(kind, res.file, offset, message)
    res.warnings.append(w)
    log.warning("%s", w)


def scan_bytes(
    data: bytes,
    *,
    name: str = "blk00000.dat",
    network: str = "mainnet",
    newest: bool = True,
    base: int = 0,
    raw: bytes | None = None,
) -> ScanResult:
    """Split de-obfuscated blk-file bytes into records.

    Parameters
    ----------
    data
        File contents after XOR, starting at file offset ``base``.
    name
        File name used in warnings and errors (``blk00000.dat``).
    network
        Expected network (a key of :data:`MAGIC`).
    newest
        True for the newest file: trailing zeros are then the normal pre-allocation and are
        skipped silently, and a truncated last record is expected (still reported).
    base
        File offset of ``data[0]`` (for resumed scans).
    raw
        The on-disk bytes before XOR, if a key was applied. Core's pre-allocated space is zero
        *on disk* (it is never XOR-ed), so padding is recognised on these bytes.

    Returns
    -------
    ScanResult

    Raises
    ------
    NetworkMismatch
        Another network's magic appears where a record starts.
    """
    if network not in MAGIC:
        raise ChainError(f"unknown network {network!r}")
    magic = MAGIC[network]
    zeros = data if raw is None else raw
    res = ScanResult(name)
    n = len(data)
    pos = 0
    res.end_offset = base
    while pos < n:
        head = data[pos : pos + 4]
        if head == magic:
            if pos + 8 > n:
                res.truncated = True
                _warn(res, "truncated", base + pos,
                      f"record declares ? bytes, {n - pos - 4} present (size field cut)")
                break
            size = int.from_bytes(data[pos + 4 : pos + 8], "little")
            if size < MIN_BLOCK or size > MAX_BLOCK:
                _warn(res, "bad_size", base + pos,
                      f"record size field {size} outside [{MIN_BLOCK}, {MAX_BLOCK}]; resyncing on next magic")
                nxt = data.find(magic, pos + 1)
                if nxt < 0:
                    pos = n
                    break
                pos = nxt
                continue
            end = pos + 8 + size
            if end > n:
                res.truncated = True
                _warn(res, "truncated", base + pos, f"record declares {size} bytes, {n - pos - 8} present")
                break
            res.records.append(Record(name, base + pos, size, data[pos + 8 : end]))
            pos = end
            res.end_offset = base + end
            continue
        if head in _NET_BY_MAGIC:
            raise NetworkMismatch(
                f"network mismatch: found {_NET_BY_MAGIC[head]} magic in {name}",
                where=f"{name}@{base + pos:#x}",
            )
        if zeros[pos] == 0:
            # zero run on disk: pre-allocation padding
            nz = _next_nonzero(zeros, pos)
            if nz >= n:
                if not newest:
                    _warn(res, "padding", base + pos,
                          f"{n - pos} zero bytes of padding at the end of an older file")
                pos = n
                break
            _warn(res, "padding", base + pos, f"{nz - pos} zero bytes in the middle of the file")
            pos = nz
            continue
        nxt = data.find(magic, pos + 1)
        if nxt < 0:
            _warn(res, "junk", base + pos, f"{n - pos} junk bytes to the end of the file, no further magic")
            pos = n
            break
        _warn(res, "junk", base + pos, f"{nxt - pos} junk bytes skipped, resynced on magic at {base + nxt:#x}")
        pos = nxt
    return res


def _next_nonzero(data: bytes, pos: int) -> int:
    """Index of the first non-zero byte at or after ``pos`` (``len(data)`` if none)."""
    stripped = data[pos:].lstrip(b"\0")
    return len(data) - len(stripped)
