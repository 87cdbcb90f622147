"""Read-only access to the store for the dashboard, with a cache of the last published results.

The dashboard never holds a connection between requests: a DuckDB file admits either one
read-write process or any number of read-only ones, so a connection kept open by the server would
make ``btcmacro update`` fail with ``StoreLocked`` for as long as the dashboard runs. Instead every
cache miss opens the file read-only (with ``enable_external_access=false``, so no SQL reachable
from this connection could read or write any other file), computes, and closes it again.

Results are cached per request key together with a *fingerprint* of the store file (size and
modification time of the file and its write-ahead log). While the fingerprint is unchanged a
cached result is served without opening the store; a write by ``btcmacro update`` changes the
fingerprint, so the next request recomputes. When the store cannot be opened because an update
holds the write lock, the last result computed for the same key is served and marked stale
(:attr:`Result.stale`); with nothing cached, :class:`UpdateInProgress` is raised and the web layer
answers 503 with an explicit "update in progress" notice -- never a 500.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable

import duckdb

from ..errors import StoreError, StoreLocked
from ..locks import write_lock_holder  # noqa: F401  (re-exported for the app)
from ..store import Store, _classify_open_error


class UpdateInProgress(StoreError):
    """The store is locked by a writer and nothing for this request was computed before."""


class WebStore(Store):
    """A :class:`~btcmacro.store.Store` opened read-only with external file access disabled.

    Parameters
    ----------
    path : Path
        The store file; it must exist (the dashboard never creates or loads a store).

    Raises
    ------
    StoreLocked
        Another process holds the write lock (an update is running).
    StoreError
        No store at ``path``, or the file is damaged (:class:`~btcmacro.errors.StoreCorrupt`).
    """

    def __init__(self, path: str | Path):  # noqa: D107 -- documented on the class
        if not Path(path).exists():
            raise StoreError("no store at this path; run `btcmacro brief` once to create it",
                             where=str(path))
        super().__init__(path, read_only=True, config={"enable_external_access": False})


@dataclass
class Result:
    """A cached or freshly computed value and how fresh it is."""

    value: Any
    stale: bool = False  # served from the cache because an update holds the lock
    computed_at: float = 0.0
    cached: bool = False


def _stat(p: Path) -> tuple[int, int]:
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


class WebData:
    """Store access for one dashboard: fingerprinted LRU cache plus lock-aware reads.

    Parameters
    ----------
    store_path : Path
        The store file.
    max_entries : int
        Bound on cached results (least recently used are dropped first).
    """

    def __init__(self, store_path: str | Path, *, max_entries: int = 256):
        self.store_path = Path(store_path)
        self.max_entries = max_entries
        self._cache: OrderedDict[Hashable, tuple[tuple, Result]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0
        self.stale_served = 0

    # -- fingerprint ---------------------------------------------------------------------
    def fingerprint(self, also: tuple[Path, ...] = ()) -> tuple:
        """Size and mtime of the store file and its WAL: changes whenever a writer commits.

        Parameters
        ----------
        also : tuple of Path
            Further DuckDB files the cached value depends on (the chain index); their size and
            mtime, and those of their WAL, join the fingerprint.
        """
        return tuple((_stat(p), _stat(p.with_name(p.name + ".wal"))) for p in (self.store_path, *also))

    def open(self) -> WebStore:
        """Open the store read-only (raises :class:`StoreLocked` while an update runs)."""
        return WebStore(self.store_path)

    # -- cached reads --------------------------------------------------------------------
    def get(self, key: Hashable, fn: Callable[[Store], Any], *, also: tuple[Path, ...] = ()) -> Result:
        """The value of ``fn(store)`` for ``key``, from the cache while the store is unchanged.

        Parameters
        ----------
        key : hashable
            The cache key (the request's validated parameters).
        fn : callable
            Computes the value from the store, opened read-only.
        also : tuple of Path
            Other files ``fn`` reads (the own-node chain index). They join the fingerprint, so a
            ``btcmacro chain sync`` invalidates the entry; while a writer holds one of them, the
            last value is served stale, or :class:`UpdateInProgress` is raised.

        Raises
        ------
        UpdateInProgress
            The store (or a file of ``also``) is locked by a writer and nothing was cached for
            ``key``.
        StoreError
            The store is missing or damaged.
        """
        fp = self.fingerprint(also)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == fp:
                self._cache.move_to_end(key)
                if any(write_lock_holder(p) is not None for p in (self.store_path, *also)):
                    self.stale_served += 1  # an update is running: say the data may be replaced
                    return Result(hit[1].value, True, hit[1].computed_at, True)
                self.hits += 1
                return Result(hit[1].value, False, hit[1].computed_at, True)
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:  # one computation per key at a time (no stampede on a cold briefing)
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and hit[0] == self.fingerprint(also):
                    self.hits += 1
                    return Result(hit[1].value, False, hit[1].computed_at, True)
            if any(write_lock_holder(p) is not None for p in also):
                return self._stale(key)  # e.g. `btcmacro chain sync` is writing the index
            try:
                st = self.open()
            except StoreLocked:
                return self._stale(key)
            try:
                fp = self.fingerprint(also)
                value = fn(st)
            except BaseException:
                with self._lock:
                    if key not in self._cache:
                        self._key_locks.pop(key, None)
                raise
            finally:
                st.close()
            res = Result(value, False, time.time())
            with self._lock:
                self.misses += 1
                self._cache[key] = (fp, res)
                self._cache.move_to_end(key)
                while len(self._cache) > self.max_entries:
                    old, _ = self._cache.popitem(last=False)
                    self._key_locks.pop(old, None)
            return res

    def _stale(self, key: Hashable) -> Result:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                raise UpdateInProgress(
                    "an update is writing the store and this view was not computed before; "
                    "try again when the update ends", where=str(self.store_path))
            self.stale_served += 1
            return Result(hit[1].value, True, hit[1].computed_at, True)

    def locked_by(self) -> str | None:
        """``None`` when no update holds the store's write lock, else a message naming it."""
        pid = write_lock_holder(self.store_path)
        if pid is not None:
            return f"store is locked by process {pid} (an update is running)"
        try:
            st = self.open()
        except StoreLocked as e:
            return e.message
        st.close()
        return None

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._cache), "hits": self.hits, "misses": self.misses,
                    "stale_served": self.stale_served}
