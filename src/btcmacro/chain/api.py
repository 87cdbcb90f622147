"""The chain engine's library API: ``sync``, ``status``, ``inspect``, ``daily_metrics``.

The CLI (``btcmacro chain sync|status|inspect``) is a thin wrapper over these functions.

Four input modes, one index format (see :mod:`btcmacro.chain.index`):

* ``sync(blocks_dir=DIR)`` reads plain ``blk*.dat`` files with this package's own framing and
  parser (XOR honoured), decides the best chain by the header walk, and resolves spends with a
  coin map kept in DuckDB tables (a SQL join, no Python dict). Meant for small directories such
  as the 256-block fixture, or any directory without undo data.
* ``sync(blocks_dir=DIR, undo_files=True)`` reads the same files plus Core's ``rev*.dat`` undo
  files with :mod:`btcmacro.chain.undo` (each spent coin's creation height, amount and script):
  no coin map, no kernel, so it works on a node's whole ``blocks/`` directory.
* ``sync(datadir=DIR)`` reads a Bitcoin Core datadir in place, never writing to it: its
  ``blocks/`` directory exactly as ``sync(blocks_dir=DIR/blocks, undo_files=True)`` (or without
  rev files, with the coin map). Core's own library (py-bitcoinkernel) is not used to read it:
  the kernel opens a datadir read-write (see :func:`_sync_datadir`).
* ``sync(rpc=RpcConfig(...))`` asks a running node (:mod:`btcmacro.chain.rpc`): the canonical
  hashes from ``getblockhash``, blocks and each input's prevout from ``getblock`` verbosity 3.
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from btcmacro.chain import blkfile
from btcmacro.chain.aggregate import Matrix, build_matrix
from btcmacro.chain.batch import Batch as _Batch
from btcmacro.chain.batch import Loc as _Loc
from btcmacro.chain.batch import read_block as _read_block
from btcmacro.chain.canonical import GENESIS, HeaderRef, best_chain
from btcmacro.chain.index import BlocksDirChanged, ChainIndex, Checkpoint
from btcmacro.chain.parse import BadBlock, hash_hex, parse_block, parse_header
from btcmacro.errors import ChainError, ReorgBeyondDepth, XorKeyChanged

log = logging.getLogger("btcmacro.chain")

__all__ = ["SyncResult", "sync", "status", "inspect", "load_matrix", "daily_metrics", "urpd",
           "default_store_path", "METRIC_KEYS"]

DEFAULT_MAX_REORG_DEPTH = 100
BATCH_BLOCKS = 2000
PROGRESS_EVERY = 50  # blocks between progress callbacks inside a batch
Progress = Callable[[int, int], None]


def default_store_path() -> Path:
    """``<btcmacro home>/chain.duckdb`` (a separate file from the series store)."""
    from btcmacro import config

    return config.home() / "chain.duckdb"


@dataclass
class SyncResult:
    height: int
    tip_hash: str
    blocks_added: int
    rolled_back_to: int | None = None
    reorg_depth: int = 0
    warnings: list[str] = field(default_factory=list)
    mode: str = ""
    timings: dict = field(default_factory=dict)  # seconds per phase of a parallel sync (jobs > 1)

    def as_dict(self) -> dict:
        return {"height": self.height, "tip_hash": self.tip_hash, "blocks_added": self.blocks_added,
                "rolled_back_to": self.rolled_back_to, "reorg_depth": self.reorg_depth,
                "warnings": list(self.warnings), "mode": self.mode}


def _dir_id(path: str | os.PathLike) -> str:
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]


_MODE_TEXT = {"coinmap": "blk files (--blocks-dir)", "revundo": "blk + rev files (--blocks-dir --undo-files)",
              "undo": "a Core datadir read by btcmacro 0.1 through py-bitcoinkernel",
              "rpc": "a running node (--rpc)"}


def _check_checkpoint(cp: Checkpoint | None, xor_fp: str, dir_id: str, mode: str, where: str) -> None:
    if cp is None:
        return
    # "undo": an index built by btcmacro 0.1's kernel reading of --datadir; the same rows as the
    # rev-file reading of that datadir's blocks/ (same directory id), which continues it
    if cp.mode != mode and {cp.mode, mode} != {"undo", "revundo"}:
        raise ChainError(
            f"the index was built from {_MODE_TEXT.get(cp.mode, cp.mode)}, this run reads "
            f"{_MODE_TEXT.get(mode, mode)}; run `btcmacro chain sync --rebuild` (or use another --index)",
            where=where,
        )
    if cp.xor_fp != xor_fp:
        raise XorKeyChanged(
            f"blocks/xor.dat changed since the index was built (fingerprint {cp.xor_fp} -> {xor_fp}); "
            "the stored offsets and hashes cannot be trusted: run `btcmacro chain sync --rebuild`",
            where=where,
        )
    if cp.blocks_dir_id != dir_id:
        raise BlocksDirChanged(
            "the index was built from another blocks directory; run `btcmacro chain sync --rebuild`",
            where=where,
        )


def _fork_point(index: ChainIndex, cp: Checkpoint, chain_hash_at: Callable[[int], bytes | None],
                max_depth: int, where: str) -> int:
    """Highest stored height still on the best chain; raises if deeper than ``max_depth``."""
    if chain_hash_at(cp.height) == cp.hash:
        return cp.height
    stored = index.hashes_from(max(0, cp.height - max_depth))
    for h in range(cp.height, max(-1, cp.height - max_depth - 1), -1):
        if h in stored and chain_hash_at(h) == stored[h]:
            return h
    raise ReorgBeyondDepth(
        f"the best chain no longer contains any of the last {max_depth} indexed blocks "
        f"(checkpoint {cp.height} {cp.hash_hex}); nothing was changed. Run `btcmacro chain sync --rebuild`",
        where=where,
    )


def _unknown_checkpoint(cp: Checkpoint, state: str, where: str) -> ReorgBeyondDepth:
    """The error for a stored tip the input no longer has (``state``: "is unknown to the node", …)."""
    return ReorgBeyondDepth(
        f"checkpoint block {cp.hash_hex} at height {cp.height} {state}; "
        "nothing was changed. Run `btcmacro chain sync --rebuild`",
        where=where,
    )


@contextmanager
def _transaction(index: ChainIndex) -> Iterator[None]:
    """``BEGIN`` … ``COMMIT``, or ``ROLLBACK`` and re-raise on any exception; either way the
    ``flows`` view and the part files are then brought in line with the (committed)
    ``flow_parts`` table."""
    index.con.execute("BEGIN")
    try:
        yield
        index.con.execute("COMMIT")
    except BaseException:
        index.con.execute("ROLLBACK")
        index.refresh_flows_view()
        index.reconcile_parts()
        raise
    index.refresh_flows_view()
    index.reconcile_parts()


def _wipe(index: ChainIndex) -> None:
    """Empty the index (``--rebuild``)."""
    with _transaction(index):
        index.wipe()


# fill(lo, hi) parses the best chain's blocks lo..hi into a batch and returns it with the error
# that stopped it early (the blocks before the bad one are kept), or None.
Fill = Callable[[int, int], tuple[_Batch, ChainError | None]]


def _index_batches(index: ChainIndex, cp: Checkpoint | None, fork: int | None, tip: int,
                   fill: Fill, fp: str, dir_id: str, mode: str,
                   progress: Progress | None, warnings: list[str]) -> SyncResult:
    """Roll back to ``fork`` and index heights ``fork + 1 .. tip`` in batches, one commit each.

    Every batch commits its blocks and the checkpoint together; a bad block first commits the
    blocks before it, then raises.
    """
    depth = (cp.height - fork) if cp is not None else 0
    rolled = fork if depth > 0 else None
    added = 0
    h = fork + 1 if cp is not None else 0
    first = True
    while h <= tip or (first and depth > 0):
        hi = min(tip, h + BATCH_BLOCKS - 1)
        batch, bad = fill(h, hi)
        last = batch.rows[-1].height if batch.rows else h - 1  # last height indexed
        with _transaction(index):
            if first and depth > 0:
                index.rollback_to(fork)
            batch.write(index, h, last)
            if last >= 0:
                last_hash = batch.last_hash if batch.rows else index.hash_at(last)
                index.set_checkpoint(Checkpoint(last, last_hash, fp, dir_id, mode))
        first = False
        added += len(batch.rows)
        if progress:
            progress(last, tip)
        if bad is not None:
            raise bad
        h = hi + 1
    final = index.checkpoint()
    return SyncResult(final.height, final.hash_hex, added, rolled, depth, warnings, mode)


def _start_checkpoint(index: ChainIndex, rebuild: bool, fp: str, dir_id: str, mode: str,
                      where: str) -> Checkpoint | None:
    """The stored checkpoint, checked against this run's input (not checked with ``rebuild``)."""
    cp = index.checkpoint()
    if not rebuild:
        _check_checkpoint(cp, fp, dir_id, mode, where)
    return cp


def sync(
    *,
    datadir: str | os.PathLike | None = None,
    blocks_dir: str | os.PathLike | None = None,
    rpc: "RpcConfig | RpcClient | None" = None,
    store_path: str | os.PathLike | None = None,
    network: str = "mainnet",
    rebuild: bool = False,
    max_reorg_depth: int = DEFAULT_MAX_REORG_DEPTH,
    progress: Progress | None = None,
    undo_files: bool = False,
    jobs: int = 1,
) -> SyncResult:
    """Index the best chain incrementally from a Core datadir or a blk-file directory.

    Parameters
    ----------
    datadir
        A Bitcoin Core datadir, read in place and never written: ``DIR/blocks`` as with
        ``blocks_dir`` and ``undo_files=True`` (rev files), or with the coin map when it has no
        rev files.
    blocks_dir
        A directory of ``blk*.dat`` files (own parser; spends resolved by a SQL coin map).
    rpc
        A running node's JSON-RPC (:class:`~btcmacro.chain.rpc.RpcConfig` or a client):
        canonical hashes from ``getblockhash``, blocks and prevouts from ``getblock`` verbosity 3.
    store_path
        The chain index DuckDB file (default :func:`default_store_path`).
    network
        Expected network; another network's magic raises ``NetworkMismatch``.
    rebuild
        Drop the index and start from genesis (needed after ``XorKeyChanged``).
    max_reorg_depth
        Deepest rollback accepted before ``ReorgBeyondDepth``.
    undo_files
        With ``blocks_dir``: read each spent coin from Core's ``rev*.dat`` undo files
        (:mod:`btcmacro.chain.undo`) instead of building a coin map; needs a node's complete
        ``blocks/`` directory (mode ``revundo``).
    progress
        Called as ``progress(height, tip_height)`` every ``PROGRESS_EVERY`` blocks and after each
        batch commit.
    jobs
        With ``blocks_dir`` or ``datadir``: worker processes. ``1`` (default) is the serial path, committing
        every ``BATCH_BLOCKS`` blocks; ``N > 1`` scans and indexes the blk/rev files in ``N``
        processes, one file per task, and merges their parts by height in one transaction
        (:mod:`btcmacro.chain.parallel`; a failing worker leaves the index unchanged).

    Returns
    -------
    SyncResult

    Raises
    ------
    XorKeyChanged, BlocksDirChanged
        The checkpoint was made with another XOR key / directory (use ``rebuild=True``).
    ReorgBeyondDepth
        The stored tip is unknown or the fork is deeper than ``max_reorg_depth``; index unchanged.
    BadBlock
        A best-chain block fails to decode or its merkle check; blocks before it stay indexed.
    """
    if sum(x is not None for x in (datadir, blocks_dir, rpc)) != 1:
        raise ChainError("give exactly one of datadir=, blocks_dir= or rpc=")
    if undo_files and blocks_dir is None:
        raise ChainError("undo_files=True reads rev*.dat next to the blk files: it needs blocks_dir=")
    if jobs < 1 or (jobs > 1 and blocks_dir is None and datadir is None):
        raise ChainError("jobs= is a positive number of processes, and more than 1 needs blocks_dir= or datadir= "
                         "(an RPC node is one source)")
    store_path = Path(store_path) if store_path is not None else default_store_path()
    if blocks_dir is not None:
        _check_input_dir(Path(blocks_dir), "blocks directory")
        if not blkfile.blk_files(Path(blocks_dir)):
            raise ChainError("no blk*.dat files", where=str(blocks_dir))
    if datadir is not None:
        _check_input_dir(Path(datadir), "datadir")
        if not (Path(datadir) / "blocks").is_dir():
            raise ChainError("not a Bitcoin Core datadir (no blocks/ directory)", where=str(datadir))
        if not blkfile.blk_files(Path(datadir) / "blocks"):
            raise ChainError("no blk*.dat block files in this datadir's blocks/ directory",
                             where=str(Path(datadir) / "blocks"))
    created = not store_path.exists()
    try:
        with ChainIndex(store_path) as index:
            if rpc is not None:
                from btcmacro.chain.rpc import RpcClient, RpcConfig

                if isinstance(rpc, RpcConfig):
                    with RpcClient(rpc) as client:
                        return _sync_rpc(index, client, network, rebuild, max_reorg_depth, progress)
                return _sync_rpc(index, rpc, network, rebuild, max_reorg_depth, progress)
            if datadir is not None:
                return _sync_datadir(index, Path(datadir), network, rebuild, max_reorg_depth, progress,
                                     jobs=jobs)
            return _sync_blocks_dir(index, Path(blocks_dir), network, rebuild, max_reorg_depth, progress,
                                    use_undo=undo_files, jobs=jobs)
    except BaseException:
        if created:
            _drop_if_unused(store_path)
        raise


def _check_input_dir(d: Path, what: str) -> None:
    """One line for an input directory that is missing or not a directory (before the index is
    opened, so a mistyped path leaves nothing behind)."""
    if not d.exists():
        raise ChainError(f"no such {what}", where=str(d))
    if not d.is_dir():
        raise ChainError(f"the {what} given is not a directory", where=str(d))


def _drop_if_unused(path: Path) -> None:
    """Remove a chain index this run created if nothing was committed into it (no checkpoint):
    a failed first sync leaves the directory as it found it."""
    try:
        with ChainIndex(path, read_only=True) as ix:
            if ix.checkpoint() is not None:
                return
    except Exception:  # noqa: BLE001 -- locked by another sync or unreadable: leave it alone
        return
    for f in (path, path.with_name(path.name + ".wal")):
        f.unlink(missing_ok=True)
    parts = Path(str(path) + ".flows")
    if parts.is_dir() and not any(parts.iterdir()):
        parts.rmdir()


# ------------------------------------------------------------------ plain blk files (coin map)


def scan_dir(blocks_dir: Path, network: str = "mainnet") -> tuple[list[blkfile.Record], list[str], bytes]:
    """Scan every blk file of ``blocks_dir``; returns records (with their bytes), warnings, XOR key.

    Keeps every block in memory: for small directories and tests. :func:`sync` uses
    :func:`scan_dir_headers`, which keeps only headers and locations.
    """
    key = blkfile.read_xor_key(blocks_dir)
    files = blkfile.blk_files(blocks_dir)
    if not files:
        raise ChainError("no blk*.dat files", where=str(blocks_dir))
    records: list[blkfile.Record] = []
    warnings: list[str] = []
    for i, f in enumerate(files):
        res = blkfile.scan_file(f, key=key, network=network, newest=(i == len(files) - 1))
        records += res.records
        warnings += [str(w) for w in res.warnings]
    return records, warnings, key


def scan_dir_headers(blocks_dir: Path, network: str = "mainnet"
                     ) -> tuple[list[HeaderRef], dict[bytes, _Loc], list[str], bytes]:
    """Scan the blk files one at a time keeping only each block's header and location.

    Only each record's frame and header are read (:func:`~btcmacro.chain.blkfile.scan_file_headers`;
    a file with padding, junk or a cut record is read whole once), so memory is one small object
    per block; blocks are read again by :func:`_read_block` when indexed.
    """
    key = blkfile.read_xor_key(blocks_dir)
    files = blkfile.blk_files(blocks_dir)
    if not files:
        raise ChainError("no blk*.dat files", where=str(blocks_dir))
    headers: list[HeaderRef] = []
    locs: dict[bytes, _Loc] = {}
    warnings: list[str] = []
    for i, f in enumerate(files):
        res = blkfile.scan_file_headers(f, key=key, network=network, newest=(i == len(files) - 1))
        warnings += [str(w) for w in res.warnings]
        for r in res.records:
            h = parse_header(r.data)
            headers.append(HeaderRef(h.hash, h.prev_hash, h.bits, h.time, r.file, r.offset))
            locs.setdefault(h.hash, _Loc(f, r.offset, r.size))
        del res
    return headers, locs, warnings, key


def _sync_blocks_dir(index: ChainIndex, blocks_dir: Path, network: str, rebuild: bool,
                     max_depth: int, progress: Progress | None, use_undo: bool = False,
                     jobs: int = 1) -> SyncResult:
    if jobs > 1:
        from btcmacro.chain.parallel import make_pool

        with make_pool(jobs) as pool:
            return _sync_blocks_dir_with(index, blocks_dir, network, rebuild, max_depth, progress,
                                         use_undo, pool)
    return _sync_blocks_dir_with(index, blocks_dir, network, rebuild, max_depth, progress, use_undo, None)


def _sync_blocks_dir_with(index: ChainIndex, blocks_dir: Path, network: str, rebuild: bool,
                          max_depth: int, progress: Progress | None, use_undo: bool, pool) -> SyncResult:
    """The blocks-dir sync; ``pool`` (a process pool) runs the parallel passes of
    :mod:`btcmacro.chain.parallel`, ``None`` the serial path."""
    where = str(blocks_dir)
    key = blkfile.read_xor_key(blocks_dir)
    fp, dir_id = blkfile.xor_fingerprint(key), _dir_id(blocks_dir)
    mode = "revundo" if use_undo else "coinmap"
    cp = _start_checkpoint(index, rebuild, fp, dir_id, mode, where)  # before reading anything
    if use_undo:
        from btcmacro.chain.undo import UndoIndex, rev_files

        if not rev_files(blocks_dir):
            raise ChainError("no rev*.dat undo files in this directory (sync without --undo-files)", where=where)
        undo_index = UndoIndex(blocks_dir, key=key, network=network)
    if pool is not None:
        import time

        from btcmacro.chain.parallel import scan_headers

        t_scan = time.perf_counter()
        headers, by_hash, warnings, key = scan_headers(pool, blocks_dir, network)
        t_scan = time.perf_counter() - t_scan
    else:
        headers, by_hash, warnings, key = scan_dir_headers(blocks_dir, network)
    if rebuild and cp is not None:
        cp = None
        _wipe(index)

    chain = best_chain(headers, GENESIS[network])
    if not chain:
        raise ChainError("the genesis block is not in the files", where=where)
    tip = len(chain) - 1
    children: dict[bytes, int] = {}
    for hh in {x.hash: x for x in headers}.values():  # distinct blocks per parent (stale siblings)
        children[hh.prev_hash] = children.get(hh.prev_hash, 0) + 1

    def chain_hash_at(h: int) -> bytes | None:
        return chain[h].hash if 0 <= h <= tip else None

    fork = None
    if cp is not None:
        if cp.hash not in by_hash:
            raise _unknown_checkpoint(cp, "is not in the block files", where)
        fork = _fork_point(index, cp, chain_hash_at, max_depth, where)

    if pool is not None:
        res = _index_parallel(index, pool, blocks_dir, key, network, use_undo, chain, by_hash, children,
                              cp, fork, fp, dir_id, mode, progress, warnings)
        res.timings["scan"] = t_scan
        return res

    def fill(lo: int, hi: int) -> tuple[_Batch, ChainError | None]:
        batch = _Batch(coinmap=not use_undo)
        for height in range(lo, hi + 1):
            rec = by_hash[chain[height].hash]
            try:
                blk = parse_block(_read_block(rec, key), height=height, where=rec.where, full=not use_undo)
                blk.check_merkle()
            except BadBlock as e:
                return batch, e
            if not use_undo or height == 0:
                batch.add(blk, height)
            else:
                try:
                    coins = undo_index.spent_coins(
                        rec.file, blk.header.prev_hash, blk.tx_input_counts, where=rec.where,
                        siblings=children[blk.header.prev_hash] > 1)
                except ChainError as e:  # keep every block before this one, then stop
                    return batch, e
                batch.add(blk, height, coins=coins)
            if progress and height % PROGRESS_EVERY == 0:
                progress(height, tip)  # parsed, committed with the batch
        return batch, None

    result = _index_batches(index, cp, fork, tip, fill, fp, dir_id, mode, progress, warnings)
    for w in warnings:
        log.debug("%s", w)
    return result


def _index_parallel(index: ChainIndex, pool, blocks_dir: Path, key: bytes, network: str, use_undo: bool,
                    chain: list[HeaderRef], by_hash: dict, children: dict, cp: Checkpoint | None,
                    fork: int | None, fp: str, dir_id: str, mode: str, progress: Progress | None,
                    warnings: list[str]) -> SyncResult:
    """Heights ``fork + 1 .. tip`` through the worker pool, merged in one transaction (all or nothing)."""
    from btcmacro.chain.parallel import index_files

    tip = len(chain) - 1
    depth = (cp.height - fork) if cp is not None else 0
    lo = fork + 1 if cp is not None else 0
    added, timings = 0, {}
    if lo <= tip or depth > 0:
        added = index_files(pool, index, blocks_dir, key, network, use_undo, chain, by_hash, children, lo,
                            fork if depth > 0 else None,
                            lambda h, hh: Checkpoint(h, hh, fp, dir_id, mode), progress, timings)
    if progress:
        progress(tip, tip)
    for w in warnings:
        log.debug("%s", w)
    final = index.checkpoint()
    return SyncResult(final.height, final.hash_hex, added, fork if depth > 0 else None, depth, warnings, mode,
                      timings)


# ------------------------------------------------------------------ Core datadir (read in place)


def _sync_datadir(index: ChainIndex, datadir: Path, network: str, rebuild: bool,
                  max_depth: int, progress: Progress | None, jobs: int = 1) -> SyncResult:
    """A Bitcoin Core datadir, read in place and never written: its ``blocks/`` directory through
    this package's own readers (blk framing and XOR, rev undo files, the header walk for the
    best chain, the parallel path with ``jobs > 1``), exactly as ``blocks_dir=DIR/blocks,
    undo_files=True``. Without rev files (a directory of blk files only) the coin map resolves
    the spends, as ``blocks_dir=DIR/blocks``.

    Core's own library (py-bitcoinkernel) is not used here: it opens a datadir read-write (it
    rewrites the LevelDB files of ``blocks/index`` and ``chainstate`` on every load, and on a
    directory without a block index it creates one, extends ``blk00000.dat`` and writes
    ``rev``/``xor`` files), and a node's datadir is far too large to copy first.
    """
    from btcmacro.chain.undo import rev_files

    blocks = datadir / "blocks"
    if not blocks.is_dir():
        raise ChainError("not a Bitcoin Core datadir (no blocks/ directory)", where=str(datadir))
    if not blkfile.blk_files(blocks):
        raise ChainError("no blk*.dat block files in this datadir's blocks/ directory", where=str(blocks))
    return _sync_blocks_dir(index, blocks, network, rebuild, max_depth, progress,
                            use_undo=bool(rev_files(blocks)), jobs=jobs)


# ------------------------------------------------------------------ running node (JSON-RPC)


def _sync_rpc(index: ChainIndex, client, network: str, rebuild: bool, max_depth: int,
              progress: Progress | None) -> SyncResult:
    """Index from a running node: hashes from ``getblockhash``, blocks + prevouts from ``getblock 3``."""
    from btcmacro.chain.rpc import BLOCK_NOT_FOUND, RpcError, block_from_json
    from btcmacro.errors import NetworkMismatch

    where = client.where
    fp, dir_id = "rpc", f"rpc:{network}"
    cp = _start_checkpoint(index, rebuild, fp, dir_id, "rpc", where)
    genesis = client.call("getblockhash", 0)
    if genesis != hash_hex(GENESIS[network]):
        raise NetworkMismatch(f"network mismatch: the node's genesis block is {genesis}, not {network}'s",
                              where=where)
    tip = int(client.call("getblockcount"))
    if rebuild and cp is not None:
        cp = None
        _wipe(index)

    fork = None
    if cp is not None:
        try:
            header = client.call("getblockheader", cp.hash_hex)
        except RpcError as e:
            if e.code != BLOCK_NOT_FOUND:
                raise
            raise _unknown_checkpoint(cp, "is unknown to the node", where) from None
        if header.get("confirmations", -1) >= 1 and cp.height <= tip:
            fork = cp.height
        else:  # a stale block: find the fork among the last max_depth heights
            lo, hi = max(0, cp.height - max_depth), min(cp.height, tip)
            node = dict(zip(range(lo, hi + 1), client.block_hashes(lo, hi))) if hi >= lo else {}

            def chain_hash_at(h: int) -> bytes | None:
                x = node.get(h)
                return bytes.fromhex(x)[::-1] if x else None

            fork = _fork_point(index, cp, chain_hash_at, max_depth, where)
    prev_hash = index.hash_at(fork) if fork is not None else None
    step = max(1, client.cfg.batch_blocks)

    def fill(lo: int, hi: int) -> tuple[_Batch, ChainError | None]:
        nonlocal prev_hash
        batch = _Batch()
        hashes = client.block_hashes(lo, hi) if lo <= hi else []
        for a in range(0, len(hashes), step):
            docs = client.blocks(hashes[a : a + step])
            for j, doc in enumerate(docs):
                height = lo + a + j
                want = hashes[a + j]
                loc = f"height {height} {want}"
                raw, ch, vals, scripts = block_from_json(doc, where=loc)
                try:
                    blk = parse_block(raw, height=height, where=loc)
                    if blk.header.hash_hex != want or int(doc.get("height", height)) != height:
                        raise BadBlock(f"the node sent block {blk.header.hash_hex} for height {height}, "
                                       f"expected {want}", where=loc)
                    blk.check_merkle()
                except BadBlock as e:
                    return batch, e
                if height > 0 and blk.header.prev_hash != prev_hash:
                    raise ChainError(
                        f"block {want} at height {height} does not extend the indexed chain: the node's "
                        "best chain changed during the sync; run again", where=loc)
                prev_hash = blk.header.hash
                batch.add(blk, height, ch, vals, zip(scripts, vals))
                if progress and height % PROGRESS_EVERY == 0:
                    progress(height, tip)  # parsed, committed with the batch
        return batch, None

    return _index_batches(index, cp, fork, tip, fill, fp, dir_id, "rpc", progress, [])


# ------------------------------------------------------------------ reads


def status(store_path: str | os.PathLike | None = None) -> dict:
    """``{"height", "tip_hash", "tx_count", "utxo_count", "utxo_value_btc", …}`` of the index."""
    p = Path(store_path) if store_path is not None else default_store_path()
    if not p.exists():
        return {"height": None, "tip_hash": None, "tx_count": 0, "utxo_count": 0,
                "utxo_value_btc": 0.0, "utxo_value_sat": 0, "mode": None, "xor_fingerprint": None}
    with ChainIndex(p, read_only=True) as index:
        return index.status()


def inspect(file: str | os.PathLike, *, network: str = "mainnet") -> dict | list[dict]:
    """Describe a raw block file (``.bin``: one block) or a blk file (one dict per record).

    Returns ``{"hash", "prev_hash", "merkle_root", "merkle_ok", "tx_count", "size", "weight",
    "time"}``; ``time`` is ISO-8601 UTC. A blk-format file (starting with a network magic)
    returns a list of such dicts with ``"where"`` added.
    """
    p = Path(file)
    raw = p.read_bytes()
    if raw[:4] in blkfile._NET_BY_MAGIC.keys() or (p.parent / "xor.dat").exists():
        key = blkfile.read_xor_key(p.parent)
        res = blkfile.scan_bytes(blkfile.apply_xor(raw, key), name=p.name, network=network, raw=raw)
        out = []
        for r in res.records:
            d = _describe(r.data, r.where)
            d["where"] = r.where
            out.append(d)
        return out
    return _describe(raw, p.name)


def _describe(raw: bytes, where: str) -> dict:
    import datetime as dt

    b = parse_block(raw, where=where)
    h = b.header
    return {
        "hash": h.hash_hex,
        "prev_hash": h.prev_hash_hex,
        "merkle_root": hash_hex(h.merkle_root),
        "merkle_ok": b.merkle_ok,
        "tx_count": len(b.txs),
        "size": b.size,
        "weight": b.weight,
        "time": dt.datetime.fromtimestamp(h.time, dt.timezone.utc).isoformat().replace("+00:00", "Z"),
    }


def load_matrix(store_path: str | os.PathLike | None = None) -> Matrix:
    """The (creation day, spending day) matrix and daily creations of the index."""
    p = Path(store_path) if store_path is not None else default_store_path()
    with ChainIndex(p, read_only=True) as index:
        return build_matrix(index)


from btcmacro.chain.metrics import METRIC_KEYS, daily_metrics_from_matrix  # noqa: E402


def daily_metrics(prices: pd.Series, store_path: str | os.PathLike | None = None,
                  *, matrix: Matrix | None = None) -> dict[str, pd.DataFrame]:
    """Every daily chain metric as ``{key: DataFrame(date, value)}``.

    Parameters
    ----------
    prices
        Daily BTC close in USD indexed by date (missing days are forward-filled; days before
        the first price give NaN for USD metrics).
    store_path
        The chain index (ignored when ``matrix`` is given).

    Returns
    -------
    dict[str, pandas.DataFrame]
        Keys :data:`METRIC_KEYS`. Each frame has ``attrs["tip_hash"]`` and ``attrs["height"]``,
        the block the aggregation was computed for (write it with the series).
    """
    m = matrix if matrix is not None else load_matrix(store_path)
    return daily_metrics_from_matrix(m, prices)


def urpd(day, prices: pd.Series, store_path: str | os.PathLike | None = None, *,
         buckets=100, matrix: Matrix | None = None) -> pd.DataFrame:
    """Supply on ``day`` by realized-price bucket (see :func:`btcmacro.chain.metrics.urpd`)."""
    from btcmacro.chain.metrics import urpd as _urpd

    m = matrix if matrix is not None else load_matrix(store_path)
    return _urpd(m, prices, day, buckets=buckets)
