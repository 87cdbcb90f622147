"""UTXO lifecycle rows: what each best-chain block creates and what it spends.

Two sources for "what it spends", both ending in the same ``spends(spend_height,
create_height, value, n)`` rows:

* **undo data** (a Core datadir read through ``py-bitcoinkernel``): each spent coin already
  carries its creation height and amount, so no coin map is needed at all;
* **coin map** (plain blk files, no undo): each block's outputs and inputs are appended to
  the ``outputs`` / ``inputs`` tables and joined in SQL (:meth:`ChainIndex.resolve_spends`).

Spendability rule (as Core's UTXO set, except for genesis): outputs whose script starts with
``OP_RETURN`` or is longer than 10,000 bytes can never be spent and are not counted as created.
The genesis output *is* counted (it exists, it just can never move), which is what gives the
blocks README's 261 unspent outputs / 12,800 BTC after block 255.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from btcmacro.chain.parse import Block

__all__ = ["spendable", "block_row", "coinmap_rows", "undo_spends", "created_row", "utc_day", "script_key",
           "block_flows", "block_flows_reference", "flows_table", "storage_form", "key_halves", "script_key_int",
           "KEY_SQL"]

MAX_SCRIPT_SIZE = 10_000
_EPOCH = dt.date(1970, 1, 1)


def spendable(script: bytes) -> bool:
    """False for provably unspendable outputs (OP_RETURN, or script over 10,000 bytes)."""
    return not (script[:1] == b"\x6a" or len(script) > MAX_SCRIPT_SIZE)


def script_key(script: bytes) -> bytes:
    """The key of an output script in the ``flows`` table: SHA-256(scriptPubKey)[:16]."""
    return hashlib.sha256(script).digest()[:16]


def block_flows(block: Block, height: int, spent=(), *, scripts: list[bytes] | None = None,
                values: list[int] | None = None, coins=None) -> pa.Table:
    """Net satoshis per output script in one block: spendable outputs (+), spent coins (-).

    Rows come in the order each script first appears (outputs in block order, then spent coins
    in input order); scripts whose net change is zero are left out.

    Parameters
    ----------
    spent
        ``(scriptPubKey, value)`` of every coin the block spends (from the kernel's undo data or
        RPC prevouts).
    scripts, values
        The same coins as two parallel lists (instead of ``spent``).
    coins
        The same coins as :class:`~btcmacro.chain.kernels.UndoCoins` (what the undo-file path
        decodes; no Python object per coin).

    Notes
    -----
    Compiled kernels (:mod:`btcmacro.chain.kernels`) hash every script straight from the block
    buffer and the undo scripts buffer (:func:`script_key`, SHA-256[:16]) and net the values by
    key. Netting by key instead of by script bytes differs only if two scripts share a 16-byte
    key (never seen; 2⁻¹²⁸ per pair), and a table keyed by ``script_key`` must merge those
    anyway. :func:`block_flows_reference` is the pure-Python twin.
    """
    from btcmacro.chain import kernels

    if coins is None:
        if scripts is None:
            scripts, values = [s for s, _ in spent], [v for _, v in spent]
        coins = kernels.pack_scripts(scripts, values)
    vals, ok = block.output_arrays()
    starts, lens = block.output_script_spans()
    if not ok.all():
        vals, starts, lens = vals[ok], starts[ok], lens[ok]
    k_out = kernels.script_keys(np.frombuffer(block.raw, dtype=np.uint8), starts, lens)
    k_in = kernels.script_keys(coins.scripts, coins.starts, coins.lens)
    keys, deltas = kernels.net_by_key(np.concatenate([k_out, k_in]),
                                      np.concatenate([vals, -np.asarray(coins.values, dtype=np.int64)]))
    return flows_table(height, keys, deltas)


def _key_array(keys: np.ndarray) -> pa.Array:
    k = np.ascontiguousarray(keys, dtype=np.uint8).reshape(-1, 16)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(k), [None, pa.py_buffer(k.tobytes())])


def flows_table(height: int, keys: np.ndarray, deltas: np.ndarray) -> pa.Table:
    """``flows`` rows of one block from ``(m, 16)`` uint8 keys and int64 deltas (``script_key``
    as 16-byte binary; :func:`storage_form` turns it into the index's 128-bit integer halves)."""
    m = len(deltas)
    return pa.table({"height": pa.array(np.full(m, height, dtype=np.int32)),
                     "script_key": _key_array(keys),
                     "delta": pa.array(np.asarray(deltas, dtype=np.int64))})


def key_halves(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(m, 16)`` uint8 script keys as their big-endian uint64 halves ``(hi, lo)``: the index
    stores ``script_key`` as the unsigned 128-bit integer ``hi · 2⁶⁴ + lo`` (UHUGEINT), i.e. the
    16 key bytes read big-endian."""
    k = np.ascontiguousarray(keys, dtype=np.uint8).reshape(-1, 16)
    return (k[:, :8].copy().view(">u8").ravel().astype(np.uint64),
            k[:, 8:].copy().view(">u8").ravel().astype(np.uint64))


def script_key_int(script: bytes) -> int:
    """:func:`script_key` as the integer the index stores (big-endian, 0 … 2¹²⁸ − 1)."""
    return int.from_bytes(script_key(script), "big")


def storage_form(t: pa.Table) -> pa.Table:
    """Replace a 16-byte ``script_key`` column by ``key_hi``/``key_lo`` (uint64) at its place:
    the form rows are inserted in (``INSERT … SELECT … KEY_SQL``), 3x faster than a BLOB key."""
    if "script_key" not in t.column_names:
        return t
    i = t.column_names.index("script_key")
    col = t.column("script_key").combine_chunks()
    if not pa.types.is_fixed_size_binary(col.type):
        col = pa.array(col.to_pylist(), pa.binary(16))
    n = len(col)
    buf = np.frombuffer(col.buffers()[1], dtype=np.uint8, count=n * 16, offset=col.offset * 16) if n else np.zeros(0, np.uint8)
    hi, lo = key_halves(buf)
    t = t.remove_column(i)
    return t.add_column(i, "key_lo", pa.array(lo)).add_column(i, "key_hi", pa.array(hi))


#: the SQL expression that rebuilds ``script_key`` from :func:`storage_form`'s halves
KEY_SQL = "((key_hi::UHUGEINT << 64) | key_lo::UHUGEINT)"


def block_flows_reference(block: Block, height: int, spent=(), *, scripts: list[bytes] | None = None,
                          values: list[int] | None = None) -> pa.Table:
    """Net satoshis per output script in one block (pure Python; the reference twin of
    :func:`block_flows`, which must give the same rows in the same order).

    Rows come in the order each script first appears (outputs in block order, then spent coins
    in input order); scripts whose net change is zero are left out.

    Parameters
    ----------
    spent
        ``(scriptPubKey, value)`` of every coin the block spends (from undo data or RPC prevouts).
    scripts, values
        The same coins as two parallel lists (instead of ``spent``; what the undo path has).

    Notes
    -----
    A plain loop: every spendable output (+) and spent coin (−) is added under its
    :func:`script_key`. Two different scripts sharing a 16-byte key (never seen; 2⁻¹²⁸ per pair)
    are merged, as a table keyed by ``script_key`` must.
    """
    vals, ok = block.output_arrays()
    if scripts is None:
        scripts, values = [s for s, _ in spent], [v for _, v in spent]
    acc: dict[bytes, int] = {}
    for s, v, k in zip(block.output_scripts(), vals.tolist(), ok.tolist()):
        if k:
            key = script_key(s)
            acc[key] = acc.get(key, 0) + v
    for s, v in zip(scripts, values):
        key = script_key(s)
        acc[key] = acc.get(key, 0) - v
    keys = [k for k, v in acc.items() if v != 0]
    karr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16)
    return flows_table(height, karr, np.array([acc[k] for k in keys], dtype=np.int64))


def utc_day(ts: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=ts // 86400)


@dataclass(frozen=True, slots=True)
class BlockRow:
    height: int
    hash: bytes
    prev_hash: bytes
    time: int
    day: dt.date
    tx_count: int
    size: int
    weight: int
    n_in: int
    n_out: int


def block_row(block: Block, height: int) -> BlockRow:
    h = block.header
    return BlockRow(height, h.hash, h.prev_hash, h.time, utc_day(h.time), len(block.txids),
                    block.size, block.weight, block.n_in, block.n_out)


def blocks_table(rows: list[BlockRow]) -> pa.Table:
    return pa.table({
        "height": pa.array([r.height for r in rows], pa.int32()),
        "hash": pa.array([r.hash for r in rows], pa.binary()),
        "prev_hash": pa.array([r.prev_hash for r in rows], pa.binary()),
        "time": pa.array([r.time for r in rows], pa.int64()),
        "day": pa.array([r.day for r in rows], pa.date32()),
        "tx_count": pa.array([r.tx_count for r in rows], pa.int32()),
        "size": pa.array([r.size for r in rows], pa.int32()),
        "weight": pa.array([r.weight for r in rows], pa.int32()),
        "n_in": pa.array([r.n_in for r in rows], pa.int32()),
        "n_out": pa.array([r.n_out for r in rows], pa.int32()),
    })


def created_row(block: Block) -> tuple[int, int]:
    """(value in satoshis, count) of the block's spendable outputs (vectorised, see
    :meth:`~btcmacro.chain.parse.Block.output_arrays`; same rule as :func:`spendable`)."""
    vals, ok = block.output_arrays()
    return int(vals[ok].sum()), int(ok.sum())


class CoinMapBatch:
    """Accumulates coin-map rows (outputs, inputs, created) for a batch of blocks."""

    def __init__(self) -> None:
        self.o_h: list[int] = []
        self.o_txid: list[bytes] = []
        self.o_vout: list[int] = []
        self.o_val: list[int] = []
        self.o_key: list[bytes] = []
        self.i_h: list[int] = []
        self.i_txid: list[bytes] = []
        self.i_vout: list[int] = []
        self.c_h: list[int] = []
        self.c_val: list[int] = []
        self.c_n: list[int] = []

    def add(self, block: Block, height: int) -> None:
        cv = cn = 0
        for t in block.txs:
            txid = t.txid
            for i, (val, script) in enumerate(t.vout):
                if spendable(script):
                    self.o_h.append(height)
                    self.o_txid.append(txid)
                    self.o_vout.append(i)
                    self.o_val.append(val)
                    self.o_key.append(script_key(script))
                    cv += val
                    cn += 1
            if not t.is_coinbase:
                for prev, idx, _s, _q in t.vin:
                    self.i_h.append(height)
                    self.i_txid.append(prev)
                    self.i_vout.append(idx)
        self.c_h.append(height)
        self.c_val.append(cv)
        self.c_n.append(cn)

    def outputs(self) -> pa.Table:
        return pa.table({
            "height": pa.array(self.o_h, pa.int32()), "txid": pa.array(self.o_txid, pa.binary()),
            "vout": pa.array(self.o_vout, pa.int32()), "value": pa.array(self.o_val, pa.int64()),
            "script_key": pa.array(self.o_key, pa.binary(16)),
        })

    def inputs(self) -> pa.Table:
        return pa.table({
            "height": pa.array(self.i_h, pa.int32()), "prev_txid": pa.array(self.i_txid, pa.binary()),
            "prev_vout": pa.array(self.i_vout, pa.int32()),
        })

    def created(self) -> pa.Table:
        return pa.table({
            "height": pa.array(self.c_h, pa.int32()), "value": pa.array(self.c_val, pa.int64()),
            "n": pa.array(self.c_n, pa.int64()),
        })


def coinmap_rows(block: Block, height: int) -> CoinMapBatch:
    b = CoinMapBatch()
    b.add(block, height)
    return b


def undo_spends(spend_height: int, create_heights, values) -> pa.Table:
    """Group one block's spent coins (from undo data) by creation height.

    Parameters
    ----------
    spend_height
        Height of the spending block.
    create_heights, values
        One entry per spent coin: its creation height and amount in satoshis.
    """
    ch = np.asarray(create_heights, dtype=np.int64)
    vals = np.asarray(values, dtype=np.int64)
    if ch.size == 0:
        return pa.table({"spend_height": pa.array([], pa.int32()), "create_height": pa.array([], pa.int32()),
                         "value": pa.array([], pa.int64()), "n": pa.array([], pa.int64())})
    uniq, inv = np.unique(ch, return_inverse=True)
    v = np.zeros(uniq.size, dtype=np.int64)
    np.add.at(v, inv, vals)
    n = np.bincount(inv, minlength=uniq.size).astype(np.int64)
    return pa.table({
        "spend_height": pa.array(np.full(uniq.size, spend_height, dtype=np.int32)),
        "create_height": pa.array(uniq.astype(np.int32)),
        "value": pa.array(v), "n": pa.array(n),
    })
