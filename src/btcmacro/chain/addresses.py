"""User-supplied address lists (e.g. exchange wallets) → output scripts → balances.

A list is a CSV file with a header and one entry per row: column ``address`` (Base58Check
P2PKH/P2SH or Bech32/Bech32m SegWit, mainnet or test networks) or column ``script`` (a
scriptPubKey in hex, for pay-to-pubkey outputs that have no address), optional ``label``. Its
provenance is mandatory: a comment line ``# provenance: <where the list comes from>`` (or a
``provenance`` column). The list's sha256 and provenance are written with the series.

Balances are per *script*: a P2PK output and the P2PKH address of the same key are different
scripts (as every explorer's "address balance" treats them).

References
----------
BIP 13 (P2SH addresses), BIP 173 (Bech32), BIP 350 (Bech32m); Base58Check as in Bitcoin Core's
``base58.cpp``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from btcmacro.errors import DataError, UsageError

__all__ = ["AddressList", "load_address_list", "address_to_script"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_P2PKH = {0x00, 0x6F}  # mainnet, test networks
_P2SH = {0x05, 0xC4}
_HRPS = {"bc", "tb", "bcrt"}
_BECH32M_CONST = 0x2BC830A3


def _b58decode_check(s: str) -> bytes:
    n = 0
    for ch in s:
        i = _B58.find(ch)
        if i < 0:
            raise ValueError(f"invalid Base58 character {ch!r}")
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    raw = b"\0" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5:
        raise ValueError("too short")
    body, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check:
        raise ValueError("bad Base58Check checksum")
    return body


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _convert_bits(data: list[int], frm: int, to: int) -> bytes:
    acc = bits = 0
    out = []
    for v in data:
        acc = (acc << frm) | v
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & ((1 << to) - 1))
    if bits >= frm or (acc << (to - bits)) & ((1 << to) - 1):
        raise ValueError("non-zero padding")
    return bytes(out)


def _segwit_decode(addr: str) -> tuple[int, bytes]:
    if addr.lower() != addr and addr.upper() != addr:
        raise ValueError("mixed case")
    a = addr.lower()
    pos = a.rfind("1")
    hrp, data = a[:pos], a[pos + 1 :]
    if hrp not in _HRPS or len(data) < 6:
        raise ValueError("not a SegWit address")
    vals = [_B32.index(c) if c in _B32 else -1 for c in data]
    if -1 in vals:
        raise ValueError("invalid Bech32 character")
    const = _polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + vals)
    ver = vals[0]
    if const != (1 if ver == 0 else _BECH32M_CONST):
        raise ValueError("bad Bech32/Bech32m checksum")
    prog = _convert_bits(vals[1:-6], 5, 8)
    if not (2 <= len(prog) <= 40) or ver > 16 or (ver == 0 and len(prog) not in (20, 32)):
        raise ValueError("invalid witness program")
    return ver, prog


def address_to_script(addr: str) -> bytes:
    """The scriptPubKey an address pays to.

    Raises
    ------
    ValueError
        Not a valid P2PKH, P2SH or SegWit (v0..v16) address.
    """
    addr = addr.strip()
    if addr[:3].lower() in ("bc1", "tb1") or addr[:5].lower() == "bcrt1":
        ver, prog = _segwit_decode(addr)
        return bytes([0x50 + ver if ver else 0, len(prog)]) + prog
    body = _b58decode_check(addr)
    if len(body) != 21:
        raise ValueError("Base58 payload is not 21 bytes")
    if body[0] in _P2PKH:
        return b"\x76\xa9\x14" + body[1:] + b"\x88\xac"
    if body[0] in _P2SH:
        return b"\xa9\x14" + body[1:] + b"\x87"
    raise ValueError(f"unknown address version byte {body[0]}")


@dataclass(frozen=True)
class AddressList:
    name: str
    provenance: str
    sha256: str
    scripts: tuple[bytes, ...]
    labels: tuple[str, ...]
    path: str = ""  # absolute path it was read from

    def describe(self) -> str:
        return (f"address list {self.name} (sha256 {self.sha256[:12]}, {len(self.scripts)} scripts): "
                f"{self.provenance}")


def load_address_list(path: str | os.PathLike) -> AddressList:
    """Read an address-list CSV (see the module notes); every bad row is an error naming its line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read the address list ({e.strerror})", where=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"not a text file (byte {e.start} is not UTF-8); the address list is a CSV file",
                         where=str(p)) from None
    prov = ""
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            key, _, val = s[1:].partition(":")
            if key.strip().lower() in ("provenance", "source") and val.strip():
                prov = val.strip()
            continue
        if s:
            lines.append(line)
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    if not rows:
        raise DataError("the address list has no rows", where=str(p))
    scripts, labels = [], []
    for i, r in enumerate(rows, start=2):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
        prov = prov or r.get("provenance", "")
        try:
            if r.get("script"):
                scripts.append(bytes.fromhex(r["script"]))
            elif r.get("address"):
                scripts.append(address_to_script(r["address"]))
            else:
                raise ValueError("needs an address or a script column")
        except ValueError as e:
            raise DataError(f"row {i}: {e}", where=str(p)) from None
        labels.append(r.get("label", ""))
    if not prov:
        raise DataError("the address list needs its provenance: add a line '# provenance: <source>'",
                        where=str(p))
    return AddressList(p.name, prov, hashlib.sha256(raw).hexdigest(), tuple(scripts), tuple(labels),
                       str(p.resolve()))
