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

The parent merges in one transaction that is open while the workers run: as soon as every file
a stretch of heights needs is finished, its rows are inserted (so the merge overlaps the workers
instead of following them). Chunks go in in height order without a global sort: a long run of
consecutive heights stored in one file is inserted as the worker wrote it (``INSERT … SELECT …
FROM read_parquet(…)``), and only where neighbouring files interleave (Core stores blocks as
they arrive) is a small chunk sorted by ``(height, seq)`` (:func:`merge_chunks`). Within a chunk
DuckDB inserts in parallel, without keeping the physical row order (no reader depends on it;
the tables hold the same rows as a serial sync's). Then: resolve
the coin map by SQL if that mode is on, set the checkpoint to the tip, commit. A reorg is rolled
back to the fork point at the start of the same transaction. If any worker fails (a corrupt
block, an undo record that does not fit) the transaction is rolled back: the error names the file
and offset and the index stays as it was. (The serial path, ``jobs=1``, commits every
2,000-block batch before a bad block instead.)

The pool (:class:`WorkerPool`) never waits for a result that cannot come. ``multiprocessing.Pool``
silently replaces a worker that dies (killed by the out-of-memory killer or a signal, crashed in
native code) and then waits forever for the task it lost: a sync would hang with no message. Here
each worker takes one task at a time over its own pipe and the parent waits on the pipes and the
processes together, so a death is an immediate :class:`~btcmacro.errors.ChainError` naming the
file and how the process ended; and on any error every worker is stopped before the parts folder
is removed and the transaction rolled back.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import signal
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import wait as _wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btcmacro import errors
from btcmacro.chain import blkfile
from btcmacro.chain.canonical import HeaderRef
from btcmacro.chain.lifecycle import KEY_SQL, storage_form
from btcmacro.errors import ChainError

__all__ = ["Item", "scan_headers", "index_files", "make_pool", "WorkerPool", "merge_chunks", "insert_chunk",
           "adopt_flows", "file_items", "MERGE_MEMORY_LIMIT"]

# column lists of the parts, in the index tables' column order; "seq" is the worker's row number;
# script keys travel as two uint64 halves (lifecycle.storage_form) and are rebuilt by KEY_SQL
_COLUMNS = {
    "blocks": ("height", "height, hash, prev_hash, time, day, tx_count, size, weight, n_in, n_out"),
    "created": ("height", "height, value, n"),
    "spends": ("spend_height", "spend_height, create_height, value, n"),
    "flows": ("height", f"height, {KEY_SQL}, delta"),
    "outputs": ("height", f"height, txid, vout, value, {KEY_SQL}"),
    "inputs": ("height", "height, prev_txid, prev_vout"),
}


def make_pool(jobs: int) -> "WorkerPool":
    """A ``spawn`` process pool of ``jobs`` workers (no DuckDB connection or thread is forked)."""
    return WorkerPool(jobs)


def _worker_main(conn) -> None:
    """A worker's loop: run ``fn(arg)`` for each ``(fn, arg)`` received, send back the outcome."""
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent handles it
            return
        if msg is None:
            return
        fn, arg = msg
        try:
            out = ("ok", fn(arg))
        except KeyboardInterrupt:
            return
        except errors.BtcmacroError as e:  # rebuilt in the parent with its class and ``where``
            out = ("err", type(e).__name__, e.message, e.where)
        except Exception as e:  # noqa: BLE001 - a bug: the parent re-raises it
            out = ("exc", e)
        try:
            conn.send(out)
        except Exception as e:  # noqa: BLE001 - an outcome that does not pickle
            conn.send(("exc", RuntimeError(f"{type(e).__name__}: {e}")))


def _ended(exitcode: int | None) -> str:
    """How a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = ", as the out-of-memory killer does" if name == "SIGKILL" else ""
        return f"it was killed by {name}{why}"
    return f"it exited with code {exitcode}"


class WorkerPool:
    """``jobs`` ``spawn`` worker processes running one task at a time each, for :func:`scan_headers`
    and :func:`index_files`; the same ``imap`` / ``imap_unordered`` / ``terminate`` / context
    manager surface as ``multiprocessing.Pool``, without its silent hang when a worker dies.

    Tasks are tuples whose first item is the blk file's path; a worker that ends without a result
    raises :class:`~btcmacro.errors.ChainError` whose ``where`` is that file's name and whose
    message says how the process ended (killed by a signal, or its exit code). Any error, or a caller that stops iterating early, stops every
    worker first (:meth:`terminate`), so none keeps writing after the caller cleans up. The pool
    then refuses new work.
    """

    def __init__(self, jobs: int):
        ctx = mp.get_context("spawn")
        self._procs: list = []
        self._conns: list = []
        self._closed = False
        try:
            for _ in range(jobs):
                mine, theirs = ctx.Pipe()
                p = ctx.Process(target=_worker_main, args=(theirs,), daemon=True, name="btcmacro-sync-worker")
                p.start()
                theirs.close()
                self._procs.append(p)
                self._conns.append(mine)
        except BaseException:
            self.terminate()
            raise

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.terminate()

    def imap(self, fn: Callable, tasks: Iterable) -> Iterator:
        """``fn(task)`` for every task, results in task order."""
        return self._run(fn, list(tasks), ordered=True)

    def imap_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """``fn(task)`` for every task, results as they finish."""
        return self._run(fn, list(tasks), ordered=False)

    def terminate(self) -> None:
        """Stop every worker now (idempotent); a busy one loses its task."""
        self._closed = True
        for p in self._procs:
            if p.exitcode is None:
                p.terminate()
        for p in self._procs:
            p.join(5)
            if p.exitcode is None:  # pragma: no cover - SIGTERM ignored: SIGKILL cannot be
                p.kill()
                p.join()
        for c in self._conns:
            c.close()
        self._procs, self._conns = [], []

    def _run(self, fn: Callable, tasks: list, ordered: bool) -> Iterator:
        if self._closed:
            raise ChainError("internal error: the sync's worker pool was already stopped")
        idle = list(range(len(self._procs)))[::-1]
        busy: dict[int, int] = {}  # worker -> task number
        results: dict[int, object] = {}
        sent = emitted = 0
        try:
            while emitted < len(tasks):
                while idle and sent < len(tasks):
                    w = idle.pop()
                    busy[w] = sent
                    sent += 1
                    try:
                        self._conns[w].send((fn, tasks[busy[w]]))
                    except OSError:  # it died while idle: reported below, from its sentinel
                        pass
                if busy:
                    ready = set(_wait([self._conns[w] for w in busy] + [self._procs[w].sentinel for w in busy]))
                    for w in sorted(busy):
                        conn, proc = self._conns[w], self._procs[w]
                        if conn not in ready and proc.sentinel not in ready:
                            continue
                        try:  # a result sent just before the process ended is still in the pipe
                            out = conn.recv() if conn.poll() else None
                        except (EOFError, OSError):
                            out = None
                        if out is None:
                            proc.join(1)
                            task = tasks[busy[w]]
                            named = isinstance(task, tuple) and task and isinstance(task[0], str)
                            raise ChainError(
                                f"the worker process reading this file stopped without a result: "
                                f"{_ended(proc.exitcode)}. The index is unchanged; run the sync again, "
                                "with fewer --jobs if memory ran out", where=Path(task[0]).name if named else None)
                        if out[0] == "err":
                            _raise(*out[1:])
                        if out[0] == "exc":
                            raise out[1]
                        results[busy.pop(w)] = out[1]
                        idle.append(w)
                if ordered:
                    while emitted in results:
                        yield results.pop(emitted)
                        emitted += 1
                else:
                    for k in sorted(results):
                        yield results.pop(k)
                        emitted += 1
        except GeneratorExit:  # the caller stopped iterating (its own error): stop what still runs
            if busy:
                self.terminate()
            raise
        except BaseException:  # a dead worker, a worker's error, Ctrl-C: no worker may keep running
            self.terminate()
            raise


# ------------------------------------------------------------------ pass 1: headers


def _scan_one(args: tuple[str, bytes, str, bool]) -> tuple[list[HeaderRef], list[tuple[bytes, int, int]], list[str]]:
    import btcmacro.chain.batch  # noqa: F401 - load the index pass's imports once, here
    from btcmacro.chain import kernels

    kernels.warm()  # and its compiled kernels (a pool's start-up cost, not the first block's)
    from btcmacro.chain.parse import parse_header

    path, key, network, newest = args
    res = blkfile.scan_file_headers(Path(path), key=key, network=network, newest=newest)
    headers, locs = [], []
    for r in res.records:
        h = parse_header(r.data)
        headers.append(HeaderRef(h.hash, h.prev_hash, h.bits, h.time, r.file, r.offset))
        locs.append((h.hash, r.offset, r.size))
    return headers, locs, [str(w) for w in res.warnings]


def scan_headers(pool, blocks_dir: Path, network: str):
    """The parallel twin of :func:`btcmacro.chain.api.scan_dir_headers` (same result, same order)."""
    from btcmacro.chain.batch import Loc as _Loc

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
    from btcmacro.chain.batch import Batch as _Batch
    from btcmacro.chain.batch import Loc as _Loc
    from btcmacro.chain.batch import read_block as _read_block
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
                coins = undo_index.spent_coins(
                    loc.file, blk.header.prev_hash, blk.tx_input_counts, where=loc.where,
                    siblings=it.siblings)
                batch.add(blk, it.height, coins=coins)
        from btcmacro.chain import lifecycle

        tables: dict[str, pa.Table] = {"blocks": lifecycle.blocks_table(batch.rows)}
        if batch.coinmap is not None:
            tables.update(outputs=batch.coinmap.outputs(), inputs=batch.coinmap.inputs(),
                          created=batch.coinmap.created())
        else:
            h, v, n = zip(*batch.created) if batch.created else ((), (), ())
            tables["created"] = pa.table({"height": pa.array(h, pa.int32()), "value": pa.array(v, pa.int64()),
                                          "n": pa.array(n, pa.int64())})
            if batch.spends:
                tables["spends"] = pa.concat_tables(batch.spends)
            if batch.flows:
                tables["flows"] = pa.concat_tables(batch.flows)
        parts = {}
        for name, t in tables.items():
            if len(t):
                p = Path(out_dir) / f"{name}-{path.stem}.parquet"
                # flows parts are adopted whole, never sorted: no "seq"; no dictionary pages (every
                # column here is a hash, a height or an amount: 3x faster to write)
                t = storage_form(t) if name == "flows" else _with_seq(storage_form(t))
                pq.write_table(t, p, compression="none", row_group_size=1 << 16, use_dictionary=False)
                parts[name] = str(p)
        return ("ok", path.name, len(batch.rows), parts)
    except (ChainError, BadBlock) as e:
        return ("err", type(e).__name__, e.message, e.where)
    except OSError as e:  # a blk/rev file vanished, the parts folder is full or not writable, ...
        return ("err", "ChainError", f"cannot read the blocks or write the sync's parts: {e}",
                e.filename and str(e.filename) or str(path))


MIN_RUN = 64  # consecutive heights from one file inserted without sorting
MERGE_MEMORY_LIMIT = "1GB"  # DuckDB's buffer pool while the parallel merge runs


def merge_chunks(heights: dict[str, list[int]],
                 min_run: int = MIN_RUN) -> list[tuple[list[str], int, int, bool]]:
    """How the merge inserts the parts in height order without sorting the whole chain.

    Parameters
    ----------
    heights
        For each blk file (stem, e.g. ``"blk00003"``), the heights it indexes, ascending (its parts
        hold their rows in that order). Every height belongs to one file.
    min_run
        A run of at least this many consecutive heights from one file is inserted as it is stored.

    Returns
    -------
    list of (stems, lo, hi, whole)
        In height order: insert the rows with key ``lo..hi`` of these files' parts; one file means
        a run stored in height order (no sort); several files mean heights interleaved between
        files (Core stores blocks as they arrive, so neighbouring files overlap at their edges),
        sorted by ``(height, seq)`` within the chunk only. ``whole`` is true when the chunk is
        all of a single file's rows (no filter needed).
    """
    owner: dict[int, str] = {}
    for stem, hs in heights.items():
        for h in hs:
            owner[h] = stem
    runs: list[list] = []  # [stem, lo, hi]
    for h in sorted(owner):
        st = owner[h]
        if runs and runs[-1][0] == st and runs[-1][2] == h - 1:
            runs[-1][2] = h
        else:
            runs.append([st, h, h])
    chunks: list[tuple[list[str], int, int, bool]] = []
    mixed: list = []  # short runs waiting to form one sorted chunk

    def flush():
        if mixed:
            stems = sorted({r[0] for r in mixed})
            chunks.append((stems, mixed[0][1], mixed[-1][2], False))
            mixed.clear()

    for r in runs:
        st, a, b = r
        if b - a + 1 >= min_run:
            flush()
            hs = heights[st]
            chunks.append(([st], a, b, hs[0] == a and hs[-1] == b))
        else:
            mixed.append(r)
    flush()
    return chunks


def file_items(chain: list[HeaderRef], by_hash: dict, children: dict[bytes, int], lo: int = 0
               ) -> dict[Path, list[Item]]:
    """The canonical heights ``lo..`` of ``chain`` grouped by the blk file storing them (each
    file's items in height order): one worker task per file."""
    per_file: dict[Path, list[Item]] = {}
    for h in range(lo, len(chain)):
        hdr = chain[h]
        loc = by_hash[hdr.hash]
        per_file.setdefault(loc.path, []).append(
            Item(h, loc.offset, loc.size, children.get(hdr.prev_hash, 0) > 1))
    return per_file


def adopt_flows(index, part: str, heights: list[int]) -> None:
    """Register a finished file's ``flows`` part (its rows for ``heights``) with the index as it
    is (:meth:`~btcmacro.chain.index.ChainIndex.add_flows_part`): the largest table is never
    re-encoded into DuckDB, and its rows need no height order."""
    index.add_flows_part(part, min(heights), max(heights))


def insert_chunk(index, chunk: tuple[list[str], int, int, bool], parts: dict[str, dict[str, str]]) -> None:
    """Insert one :func:`merge_chunks` chunk from the finished files' parquet parts
    (``parts[stem][table]``) into the index tables (the caller holds the transaction)."""
    stems, a, b, whole = chunk
    for table, (key_col, cols) in _COLUMNS.items():
        fs = [parts[st][table] for st in stems if table in parts[st]]
        if not fs:
            continue
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in fs)
        q = f"INSERT INTO {table} SELECT {cols} FROM read_parquet([{files}])"
        if not whole:
            q += f" WHERE {key_col} BETWEEN {a} AND {b}"
        if len(fs) > 1:
            q += f" ORDER BY {key_col}, seq"
        index.con.execute(q)


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
        If given, receives wall seconds: ``"workers"`` (until the last worker finished: parsing,
        undo, parts, and the inserts done meanwhile), ``"insert"`` (all merge INSERTs, most of
        them during the workers) and ``"merge"`` (after the last worker: the remaining inserts,
        coin-map join, checkpoint and COMMIT).

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
    per_file = file_items(chain, by_hash, children, lo)
    out = Path(tempfile.mkdtemp(prefix=".chain-parts-", dir=Path(index.path).parent))
    try:
        tasks = [(str(p), key, network, use_undo, items, str(out)) for p, items in per_file.items()]
        heights = {p.stem: [it.height for it in items] for p, items in per_file.items()}
        chunks = merge_chunks(heights)
        parts: dict[str, dict[str, str]] = {}  # file stem -> {table: part path}, finished files
        # how many chunks still need each finished file: its parts are deleted after the last one
        uses: dict[str, int] = {}
        for stems, *_ in chunks:
            for st in stems:
                uses[st] = uses.get(st, 0) + 1
        nxt, done, t_insert = 0, 0, 0.0

        def insert_ready() -> None:
            """Insert, in height order, every chunk whose files are all finished."""
            nonlocal nxt, t_insert
            while nxt < len(chunks) and all(st in parts for st in chunks[nxt][0]):
                stems = chunks[nxt][0]
                ti = time.perf_counter()
                insert_chunk(index, chunks[nxt], parts)
                t_insert += time.perf_counter() - ti
                for st in stems:
                    uses[st] -= 1
                    if not uses[st]:
                        for p in parts[st].values():
                            Path(p).unlink(missing_ok=True)
                nxt += 1

        # One transaction from the first insert to the checkpoint: the parts of finished files are
        # inserted while the other workers run; a failing worker rolls everything back. DuckDB may
        # insert a part with all its threads when it need not keep the rows' physical order (1.7x
        # faster on 2 cores): nothing reads these tables in storage order (every query groups,
        # aggregates or sorts by height), and rows still land clustered by height.
        index.con.execute("SET preserve_insertion_order = false")
        # DuckDB's default limit is 80% of RAM; the merge needs a bounded buffer pool (its
        # inserts are written out optimistically), which leaves the RAM to the workers
        index.con.execute(f"SET memory_limit = '{MERGE_MEMORY_LIMIT}'")
        with _transaction(index):
            if rollback_to is not None:
                index.rollback_to(rollback_to)
            for res in pool.imap_unordered(_index_one, tasks):
                if res[0] == "err":
                    # stop the other workers before the rollback and before their parts folder is
                    # removed (else one could still be writing into it); the index is unchanged
                    pool.terminate()
                    _raise(*res[1:])
                _, name, n, ps = res
                stem = Path(name).stem
                if "flows" in ps:  # adopted whole as a parquet part: no INSERT (see adopt_flows)
                    ti = time.perf_counter()
                    adopt_flows(index, ps.pop("flows"), heights[stem])
                    t_insert += time.perf_counter() - ti
                parts[stem] = ps
                done += n
                if progress:
                    progress(lo + done - 1, tip)
                insert_ready()
            t1 = time.perf_counter()
            timings["workers"] = t1 - t0
            insert_ready()
            if nxt != len(chunks):  # pragma: no cover - every file was indexed
                raise ChainError("internal error: a merge chunk was left out", where=str(blocks_dir))
            if not use_undo and tip >= lo:
                index.resolve_spends(lo, tip)
            index.set_checkpoint(checkpoint(tip, chain[tip].hash))
        timings["merge"] = time.perf_counter() - t1
        timings["insert"] = t_insert
        return done
    finally:
        index.con.execute("RESET preserve_insertion_order")
        index.con.execute("RESET memory_limit")
        shutil.rmtree(out, ignore_errors=True)

