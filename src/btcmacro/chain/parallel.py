"""Parallel ``--blocks-dir`` sync: one worker process per blk/rev file, one merge by height.

``sync(blocks_dir=DIR, jobs=N)`` with ``N > 1`` runs in two parallel passes over a pool of ``N``
processes (``spawn`` start method, so no DuckDB or kernel state is inherited):

1. **header scan** — each worker scans one ``blkNNNNN.dat`` (framing, XOR, warnings) and returns
   only its headers and block locations; the parent concatenates them in file order, exactly as
   the serial :func:`~btcmacro.chain.api.scan_dir_headers`, and the header walk
   (:func:`~btcmacro.chain.canonical.best_chain`) decides the canonical chain and its heights.
2. **index** — each worker gets the canonical blocks stored in *its* file that are to be indexed
   (height, offset, size, whether the parent has several children); blocks of that file not on
   the best chain (stale blocks) are never handed to it, so they cannot be indexed. It reads one
   block at a time, parses and merkle-checks it, reads its spent coins from ``revNNNNN.dat``
   (``undo_files``) or collects its outputs and inputs (coin map), and writes its rows as parquet
   parts (``blocks``, ``created``, ``spends``, ``flows`` — or ``outputs``/``inputs``/``created``
   for the coin map) into a temporary directory next to the index. Memory per worker: one file's
   undo records plus the rows of that file's blocks.

Then the parent merges every part in one transaction, in height order (rows of a height keep
the order the worker produced them, i.e. the serial order): roll back to the fork point on a
reorg, ``INSERT … SELECT … FROM read_parquet(…) ORDER BY height``, resolve the coin map by SQL if
that mode is on, set the checkpoint to the tip. If any worker fails (a corrupt block, an undo
record that does not fit) nothing is merged: the error names the file and offset and the index
stays as it was. (The serial path, ``jobs=1``, commits every 2,000-block batch before a bad
block instead.)
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btcmacro import errors
from btcmacro.chain import blkfile
from btcmacro.chain.canonical import HeaderRef
from btcmacro.errors import ChainError

__all__ = ["Item", "scan_headers", "index_files", "make_pool"]

# column lists of the parts, in the index tables' column order; "seq" is the worker's row number
_COLUMNS = {
    "blocks": ("height", "height, hash, prev_hash, time, day, tx_count, size, weight, n_in, n_out"),
    "created": ("height", "height, value, n"),
    "spends": ("spend_height", "spend_height, create_height, value, n"),
    "flows": ("height", "height, script_key, delta"),
    "outputs": ("height", "height, txid, vout, value, script_key"),
    "inputs": ("height", "height, prev_txid, prev_vout"),
}


def make_pool(jobs: int):
    """A ``spawn`` process pool of ``jobs`` workers (no DuckDB connection or thread is forked)."""
    return mp.get_context("spawn").Pool(jobs)


# ------------------------------------------------------------------ pass 1: headers


def _scan_one(args: tuple[str, bytes, str, bool]) -> tuple[list[HeaderRef], list[tuple[bytes, int, int]], list[str]]:
    from btcmacro.chain.parse import parse_header

    path, key, network, newest = args
    res = blkfile.scan_file(Path(path), key=key, network=network, newest=newest)
    headers, locs = [], []
    for r in res.records:
        h = parse_header(r.data)
        headers.append(HeaderRef(h.hash, h.prev_hash, h.bits, h.time, r.file, r.offset))
        locs.append((h.hash, r.offset, r.size))
    return headers, locs, [str(w) for w in res.warnings]


def scan_headers(pool, blocks_dir: Path, network: str):
    """The parallel twin of :func:`btcmacro.chain.api.scan_dir_headers` (same result, same order)."""
    from btcmacro.chain.api import _Loc

    key = blkfile.read_xor_key(blocks_dir)
    files = blkfile.blk_files(blocks_dir)
    if not files:
        raise ChainError("no blk*.dat files", where=str(blocks_dir))
    tasks = [(str(f), key, network, i == len(files) - 1) for i, f in enumerate(files)]
    headers: list[HeaderRef] = []
    locs: dict[bytes, _Loc] = {}
    warnings: list[str] = []
    for f, (hs, ls, ws) in zip(files, pool.imap(_scan_one, tasks)):  # file order, as the serial scan
        headers += hs
        warnings += ws
        for h, off, size in ls:
            locs.setdefault(h, _Loc(f, off, size))
    return headers, locs, warnings, key


# ------------------------------------------------------------------ pass 2: index one file


@dataclass(frozen=True, slots=True)
class Item:
    """One canonical block to index: its height, record offset and size in the file, and whether
    its parent has more than one child in the files (a stale sibling exists)."""

    height: int
    offset: int
    size: int
    siblings: bool


def _with_seq(t: pa.Table) -> pa.Table:
    return t.append_column("seq", pa.array(np.arange(len(t), dtype=np.int64)))


def _index_one(args) -> tuple:
    """Worker: index ``items`` of one blk file into parquet parts; never raises a ChainError.

    Returns ``("ok", file name, blocks, {table: part path})`` or ``("err", class name, message,
    where)`` (the parent re-raises; exception objects with keyword arguments do not always
    survive pickling).
    """
    import pandas as pd

    from btcmacro.chain.api import _Batch, _Loc, _read_block
    from btcmacro.chain.parse import BadBlock, parse_block

    path, key, network, use_undo, items, out_dir = args
    path = Path(path)
    try:
        undo_index = None
        if use_undo:
            from btcmacro.chain.undo import UndoIndex

            undo_index = UndoIndex(path.parent, key=key, network=network)
        batch = _Batch(coinmap=not use_undo)
        for it in items:  # height order
            loc = _Loc(path, it.offset, it.size)
            blk = parse_block(_read_block(loc, key), height=it.height, where=loc.where, full=not use_undo)
            try:
                blk.check_merkle()
            except BadBlock as e:  # name the file and offset, the message keeps height and hash
                return ("err", "BadBlock", e.message, loc.where)
            if not use_undo or it.height == 0:
                batch.add(blk, it.height)
            else:
                coins = undo_index.spent(loc.file, blk.header.prev_hash, blk.tx_input_counts,
                                         where=loc.where, siblings=it.siblings)
                flat = [c for tx in coins for c in tx]
                batch.add(blk, it.height, [c[0] for c in flat], [c[2] for c in flat],
                          [(c[3], c[2]) for c in flat])
        from btcmacro.chain import lifecycle

        tables: dict[str, pa.Table] = {"blocks": lifecycle.blocks_table(batch.rows)}
        if batch.coinmap is not None:
            tables.update(outputs=batch.coinmap.outputs(), inputs=batch.coinmap.inputs(),
                          created=batch.coinmap.created())
        else:
            tables["created"] = pa.Table.from_pandas(
                pd.DataFrame(batch.created, columns=["height", "value", "n"]).astype(
                    {"height": "int32", "value": "int64", "n": "int64"}), preserve_index=False)
            if batch.spends:
                tables["spends"] = pa.concat_tables(batch.spends)
            if batch.flows:
                tables["flows"] = pa.concat_tables(batch.flows)
        parts = {}
        for name, t in tables.items():
            if len(t):
                p = Path(out_dir) / f"{name}-{path.stem}.parquet"
                pq.write_table(_with_seq(t), p, compression="none")
                parts[name] = str(p)
        return ("ok", path.name, len(batch.rows), parts)
    except (ChainError, BadBlock) as e:
        return ("err", type(e).__name__, e.message, e.where)


def _raise(cls_name: str, message: str, where: str | None):
    from btcmacro.chain.index import BlocksDirChanged

    cls = getattr(errors, cls_name, None) or {"BlocksDirChanged": BlocksDirChanged}.get(cls_name, ChainError)
    if not (isinstance(cls, type) and issubclass(cls, ChainError)):
        cls = ChainError
    raise cls(message, where=where)


def index_files(pool, index, blocks_dir: Path, key: bytes, network: str, use_undo: bool,
                chain: list[HeaderRef], by_hash: dict, children: dict[bytes, int], lo: int,
                rollback_to: int | None, checkpoint, progress: Callable[[int, int], None] | None,
                timings: dict | None = None) -> int:
    """Index canonical heights ``lo .. len(chain) - 1`` through the pool and merge in one transaction.

    Parameters
    ----------
    chain, by_hash, children
        The best chain (index = height), block locations by hash, child count per parent hash.
    rollback_to
        Fork height to roll back to inside the merge transaction (a reorg), or None.
    checkpoint
        Called as ``checkpoint(tip_height, tip_hash)`` to build the Checkpoint written at the end.
    timings
        If given, receives the wall seconds of ``"workers"`` (parsing + undo + parts) and
        ``"merge"`` (the one transaction).

    Returns
    -------
    int
        Blocks indexed.
    """
    import time

    from btcmacro.chain.api import _transaction

    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    tip = len(chain) - 1
    per_file: dict[Path, list[Item]] = {}
    for h in range(lo, tip + 1):
        hdr = chain[h]
        loc = by_hash[hdr.hash]
        per_file.setdefault(loc.path, []).append(
            Item(h, loc.offset, loc.size, children.get(hdr.prev_hash, 0) > 1))
    out = Path(tempfile.mkdtemp(prefix=".chain-parts-", dir=Path(index.path).parent))
    try:
        tasks = [(str(p), key, network, use_undo, items, str(out)) for p, items in per_file.items()]
        parts: dict[str, list[str]] = {}
        done = 0
        for res in pool.imap_unordered(_index_one, tasks):
            if res[0] == "err":
                _raise(*res[1:])  # nothing merged yet: the index is unchanged
            _, _, n, ps = res
            for name, p in ps.items():
                parts.setdefault(name, []).append(p)
            done += n
            if progress:
                progress(lo + done - 1, tip)
        t1 = time.perf_counter()
        timings["workers"] = t1 - t0
        with _transaction(index):
            if rollback_to is not None:
                index.rollback_to(rollback_to)
            for table, (key_col, cols) in _COLUMNS.items():
                if table not in parts:
                    continue
                files = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(parts[table]))
                index.con.execute(f"INSERT INTO {table} SELECT {cols} FROM read_parquet([{files}]) "
                                  f"ORDER BY {key_col}, seq")
            if not use_undo and tip >= lo:
                index.resolve_spends(lo, tip)
            index.set_checkpoint(checkpoint(tip, chain[tip].hash))
        timings["merge"] = time.perf_counter() - t1
        return done
    finally:
        shutil.rmtree(out, ignore_errors=True)

