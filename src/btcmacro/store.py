"""The DuckDB warehouse: series metadata, observations with vintages, point-in-time reads.

Every observation row is ``(series_id, date, value, published_at, fetched_at, vintage)``.
``published_at`` is the day the value became public (from the provider's ``realtime_start`` or
from the series' release rule); a revised value is a *new row* with a later ``published_at`` and
the old row is kept, as in ALFRED. ``series(id, as_of=D)`` returns, for each observation date, the
latest value published on or before ``D``; with no ``as_of`` the latest vintage.

Writers: one transaction per series (``write_series``), so a crash leaves the store before or
after, never half. DuckDB allows one read-write process per file: a second writer fails at once
with :class:`StoreLocked` naming the holder; a damaged file gives :class:`StoreCorrupt`.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd

from .errors import StoreCorrupt, StoreError, StoreLocked, UsageError

SCHEMA_VERSION = "1"

_DDL = [
    """CREATE TABLE IF NOT EXISTS series (
        series_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        name VARCHAR,
        unit VARCHAR,
        frequency VARCHAR,
        release_rule VARCHAR,
        provenance VARCHAR,
        licence VARCHAR,
        updated_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS obs (
        series_id VARCHAR NOT NULL,
        date DATE NOT NULL,
        value DOUBLE,
        published_at DATE NOT NULL,
        fetched_at TIMESTAMP,
        vintage VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
]


@dataclass(frozen=True)
class SeriesMeta:
    """What the store knows about a series besides its values."""

    series_id: str
    source: str
    name: str = ""
    unit: str = ""
    frequency: str = ""
    release_rule: str = "same_day"
    provenance: str = ""
    licence: str = ""


@dataclass
class WriteResult:
    series_id: str
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    last_date: dt.date | None = None
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# what a file is, before anything writes to it
# ----------------------------------------------------------------------------------------------

#: tables that make a DuckDB file a btcmacro store / a btcmacro chain index (more may exist: a
#: later version can add tables; :mod:`btcmacro.chain.index` checks its list against this one)
STORE_TABLES = frozenset({"series", "obs", "meta"})
CHAIN_INDEX_TABLES = frozenset({"blocks", "created", "spends", "outputs", "inputs", "checkpoint",
                                "flow_rows", "flow_parts"})
#: tables a btcmacro file of either kind may hold (``flows``: the chain index of btcmacro 0.1)
_CHAIN_KNOWN = CHAIN_INDEX_TABLES | {"flows"}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file


@dataclass(frozen=True)
class FileKind:
    """What a path holds, found without writing to it (:func:`identify`).

    ``kind`` is one of

    ``new``          nothing there (a writer may create the file);
    ``empty``        a regular file of 0 bytes (nothing to lose: a writer may create the file);
    ``store``        a btcmacro store (``problem`` says what is wrong with it, if anything);
    ``chain_index``  a btcmacro chain index;
    ``partial``      a DuckDB file whose creation by btcmacro was interrupted: no tables, or only
                     some of one kind's (``family`` says which: "store", "chain index" or "");
    ``foreign``      a DuckDB database that is not btcmacro's (``tables`` lists what it holds);
    ``not_duckdb``   a file that is not a DuckDB database;
    ``unreadable``   a file with the DuckDB signature that DuckDB cannot open (damaged);
    ``not_a_file``   a directory, device, FIFO or socket (``detail`` says which);
    ``locked``       another process holds DuckDB's write lock (``holder`` says which);
    ``in_use``       this process already has it open (DuckDB refuses a second configuration).
    """

    kind: str
    path: Path
    tables: tuple[str, ...] = ()
    family: str = ""
    problem: str = ""
    detail: str = ""
    holder: str = ""
    schema: str | None = None


def describe_process(pid: int) -> str:
    """``"process 1234 (btcmacro chain sync)"``: who holds a lock, never with option values.

    Only the btcmacro sub-command words of the process's command line are shown (its options
    may carry a password), or the program's name for any other process.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return f"process {pid}"
    for i, a in enumerate(argv):
        name = Path(a).name
        if name == "btcmacro":
            words = []
            for w in argv[i + 1:]:
                if w.startswith("-") or len(words) == 2:
                    break
                words.append(w)
            return f"process {pid} ({' '.join(['btcmacro', *words])})"
    return f"process {pid} ({Path(argv[0]).name})" if argv else f"process {pid}"


def lock_holder_text(msg: str) -> str:
    """The lock holder named in a DuckDB lock error (``... (PID 1234)``), described."""
    m = re.search(r"PID (\d+)", msg)
    return describe_process(int(m.group(1))) if m else "another process"


def _is_lock_error(msg: str) -> bool:
    return ("lock" in msg.lower() and "conflicting" in msg.lower()) or "Could not set lock" in msg


def _tables(con) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database() ORDER BY table_name").fetchall())


def _kind_of_tables(path: Path, tables: tuple[str, ...], con) -> FileKind:
    names = set(tables)
    if STORE_TABLES <= names:
        problem, schema = _store_problem(con)
        return FileKind("store", path, tables, problem=problem, schema=schema)
    if CHAIN_INDEX_TABLES <= names or {"blocks", "checkpoint", "flows"} <= names:
        return FileKind("chain_index", path, tables)
    if not names:
        return FileKind("partial", path, tables)
    if names <= STORE_TABLES:
        return FileKind("partial", path, tables, family="store")
    if names <= _CHAIN_KNOWN:
        return FileKind("partial", path, tables, family="chain index")
    return FileKind("foreign", path, tables)


def identify(path: str | Path) -> FileKind:
    """Tell what ``path`` is before anything writes to it: the one check every writer makes.

    Nothing is written: the file's type and first bytes are read, and a DuckDB file is opened
    read-only to list its tables (a store's columns and schema version are checked too). Used
    by :class:`Store`, :func:`btcmacro.api.rebuild_store` and the chain index.
    """
    import stat as _stat

    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return FileKind("new", p)
    except OSError as e:
        return FileKind("not_a_file", p, detail=f"cannot be examined ({e.strerror or e})")
    if not _stat.S_ISREG(st.st_mode):
        what = ("a directory" if _stat.S_ISDIR(st.st_mode) else "a FIFO" if _stat.S_ISFIFO(st.st_mode)
                else "a socket" if _stat.S_ISSOCK(st.st_mode) else "a device")
        return FileKind("not_a_file", p, detail=what)
    if st.st_size == 0:
        return FileKind("empty", p)
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as e:
        return FileKind("not_a_file", p, detail=f"cannot be read ({e.strerror or e})")
    if head[8:12] != _DUCKDB_MAGIC:
        return FileKind("not_duckdb", p)
    try:
        con = duckdb.connect(str(p), read_only=True)
    except duckdb.Error as e:
        msg = str(e)
        if _is_lock_error(msg):
            return FileKind("locked", p, holder=lock_holder_text(msg))
        if "different configuration" in msg or "already" in msg.lower() and "attached" in msg.lower():
            return FileKind("in_use", p)
        return FileKind("unreadable", p, detail=msg.splitlines()[0][:160])
    try:
        return _kind_of_tables(p, _tables(con), con)
    except duckdb.Error as e:
        return FileKind("unreadable", p, detail=str(e).splitlines()[0][:160])
    finally:
        con.close()


_EXPECTED_COLUMNS: dict[str, list[tuple[str, str]]] | None = None


def _expected_columns() -> dict[str, list[tuple[str, str]]]:
    """Columns (name, type) of the store's tables, as this version creates them."""
    global _EXPECTED_COLUMNS
    if _EXPECTED_COLUMNS is None:
        con = duckdb.connect(":memory:")
        for stmt in _DDL:
            con.execute(stmt)
        _EXPECTED_COLUMNS = _columns(con)
        con.close()
    return _EXPECTED_COLUMNS


def _columns(con) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for t, c, ty in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND database_name = current_database() "
            "AND table_name IN ('series', 'obs', 'meta') ORDER BY table_name, column_index").fetchall():
        out.setdefault(t, []).append((c, ty))
    return out


def _store_problem(con, *, full: bool = False) -> tuple[str, str | None]:
    """``(problem, schema_version)`` of a file holding the store's tables; ``problem`` is ``""``
    for a sound store, else one phrase: changed columns, an unfinished creation
    (``"incomplete"``), a newer schema (``"newer:<n>"``) or unreadable rows. ``full`` reads
    every row (DuckDB checks each block's checksum), as ``rebuild`` does."""
    have = _columns(con)
    for table, cols in _expected_columns().items():
        got = have.get(table)
        if got is None:
            return "incomplete", None
        if got != cols:
            missing = [c for c, _ in cols if c not in dict(got)]
            extra = [c for c, _ in got if c not in dict(cols)]
            changed = [c for c, t in cols if c in dict(got) and dict(got)[c] != t]
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unexpected {', '.join(extra)}"] if extra else []) + (
                [f"retyped {', '.join(changed)}"] if changed else []) or ["reordered columns"]
            return f"its {table} table has changed columns ({'; '.join(parts)})", None
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        if full:
            con.execute("SELECT count(*), sum(hash(series_id, date, value, published_at, fetched_at, vintage)) "
                        "FROM obs").fetchall()
            con.execute("SELECT count(*), sum(hash(COLUMNS(*))) FROM series").fetchall()
            con.execute("SELECT count(*), sum(hash(key, value)) FROM meta").fetchall()
    except duckdb.Error as e:
        return f"its rows cannot be read ({str(e).splitlines()[0][:120]})", None
    if not row:
        return "incomplete", None
    schema = row[0][0]
    if not str(schema).isdigit():
        return f"its schema version {schema!r} is not a number", schema
    if int(schema) > int(SCHEMA_VERSION):
        return f"newer:{schema}", schema
    return "", schema


def _rebuild_hint(path) -> str:
    return (f"`btcmacro rebuild --store {path}` moves it aside (kept as {Path(str(path)).name}.corrupt-<time>) "
            "and reloads the embedded snapshot")


def store_refusal(info: FileKind, *, writing: bool) -> StoreError | None:
    """The one-line error for a path that cannot serve as the store, or None if it can.

    ``writing``: the caller is about to write (a partial store may then be completed); a
    reader gets an error for it. Rebuild is advised only for a file verified to be a btcmacro
    store (or a DuckDB file too damaged to tell).
    """
    where = str(info.path)
    k = info.kind
    if k in ("new", "empty"):
        return None if writing else StoreError("no store at this path", where=where)
    if k == "locked":
        return StoreLocked(f"the store is in use by {info.holder}; try again when it ends", where=where)
    if k == "not_a_file":
        return StoreError(f"{info.detail}, not a store file: give --store the path of a store file "
                          "or of a new one", where=where)
    if k == "not_duckdb":
        return StoreError("not a btcmacro store (the file is not a DuckDB database); btcmacro leaves it "
                          "as it is: give --store the path of a store or of a new file", where=where)
    if k == "foreign":
        shown = ", ".join(info.tables[:5]) + (" …" if len(info.tables) > 5 else "")
        return StoreError(f"a DuckDB database that is not a btcmacro store (it holds tables {shown}); "
                          "btcmacro does not write into it: give --store another path", where=where)
    if k == "chain_index":
        return StoreError("this is the btcmacro chain index, not the store: pass it as --index, and give "
                          "--store the store file", where=where)
    if k == "partial":
        if info.family == "chain index":
            return StoreError("this is an unfinished btcmacro chain index, not the store: pass it as "
                              "--index, and give --store the store file", where=where)
        return None if writing else _Incomplete(
            "the store was not completely created (the run that created it was interrupted); "
            "run the command again", where=where)
    if k == "unreadable":
        return StoreCorrupt(f"cannot be read as a DuckDB database ({info.detail}); if this is your "
                            f"btcmacro store, {_rebuild_hint(info.path)}", where=where)
    if k == "store":
        if info.problem.startswith("newer:"):
            return StoreError(f"the store was written by a newer btcmacro (store schema "
                              f"{info.problem[6:]}; this version reads schema {SCHEMA_VERSION}): upgrade "
                              "btcmacro, or give --store another path", where=where)
        if info.problem == "incomplete":
            return None if writing else _Incomplete(
                "the store was not completely created (the run that created it was interrupted); "
                "run the command again", where=where)
        if info.problem:
            return StoreCorrupt(f"the store is damaged: {info.problem}; {_rebuild_hint(info.path)}",
                                where=where)
        return None
    return None  # in_use: this process has it open; the open below checks it again


class _Incomplete(StoreCorrupt):
    """A store whose creation was interrupted: readers stop, writers complete it."""


def _classify_open_error(path: Path, exc: Exception) -> StoreError:
    """The error for a failed DuckDB open of ``path`` (kept for the dashboard's reads)."""
    msg = str(exc)
    if _is_lock_error(msg) or "lock" in msg.lower():
        return StoreLocked(f"the store is in use by {lock_holder_text(msg)}; try again when it ends",
                           where=str(path))
    return store_refusal(identify(path), writing=False) or StoreCorrupt(
        f"the store cannot be opened ({msg.splitlines()[0][:160]})", where=str(path))


@contextmanager
def posix_lock(path: Path):
    """Hold the POSIX write lock DuckDB's writers take on the whole file (for a file DuckDB
    cannot open); :class:`StoreLocked` naming the holder if another process has it."""
    import fcntl
    import os
    import struct

    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = "another process"
            try:  # struct flock: l_type, l_whence, l_start, l_len, l_pid
                req = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0) + b"\0" * 8
                got = fcntl.fcntl(fd, fcntl.F_GETLK, req)
                pid = struct.unpack("hhqqi", got[:struct.calcsize("hhqqi")])[4]
                if pid > 0:
                    holder = describe_process(pid)
            except OSError:
                pass
            raise StoreLocked(f"the store is in use by {holder}; try again when it ends", where=str(path)) from None
        yield
    finally:
        os.close(fd)


def _drop_stale_temporaries(path: Path) -> None:
    """Remove the temporaries of :func:`create_atomically` left by a killed process (its PID is
    gone): only files named ``.<name>.creating-<pid>-<hex>`` beside ``path``."""
    import os

    pat = re.compile(rf"^\.{re.escape(path.name)}\.creating-(\d+)-[0-9a-f]{{8}}(\.wal)?$")
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return
    for f in entries:
        m = pat.match(f.name)
        if m and not Path(f"/proc/{m.group(1)}").exists() and Path("/proc/self").exists():
            f.unlink(missing_ok=True)


def create_atomically(path: Path, statements: Iterable[str], *, replace_empty: bool = False) -> bool:
    """Create a DuckDB file with its schema in one step: built under a temporary name in the
    same directory, then linked into place, so a crash never leaves a half-created file at
    ``path``. Returns False if another process created ``path`` first (nothing is replaced);
    ``replace_empty`` lets the new file take the place of a 0-byte one."""
    import os
    import uuid

    _drop_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        con = duckdb.connect(str(tmp))
        try:
            for stmt in statements:
                con.execute(stmt)
        finally:
            con.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            if replace_empty and path.is_file() and path.stat().st_size == 0:
                os.replace(tmp, path)
                return True
            os.link(tmp, path)  # fails if anything appeared at path meanwhile: never clobbers
            return True
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if path.exists():
                return False
            os.replace(tmp, path)
            return True
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass


class Store:
    """A btcmacro warehouse in one DuckDB file (or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 config: dict | None = None):
        self.path = Path(path) if str(path) != ":memory:" else None
        self.read_only = read_only
        if self.path is None:
            self.con = duckdb.connect(":memory:", config=config or {})
            for stmt in _DDL:
                self.con.execute(stmt)
            self.set_meta("schema_version", SCHEMA_VERSION)
            return
        p = self.path
        if not read_only:
            # what is there decides, before anything is written: a new path gets a complete
            # empty store in one step; only a btcmacro store (or an unfinished one) is opened
            info = identify(p)
            err = store_refusal(info, writing=True)
            if err is not None:
                raise err
            if info.kind in ("new", "empty"):
                try:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    create_atomically(p, [*_DDL, f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}')"],
                                      replace_empty=info.kind == "empty")
                except (OSError, duckdb.Error) as e:
                    raise StoreError(f"cannot create the store here ({getattr(e, 'strerror', None) or str(e).splitlines()[0]})",
                                     where=str(p)) from None
        elif not p.exists():
            raise StoreError("no store at this path", where=str(p))
        try:
            self.con = duckdb.connect(str(p), read_only=read_only, config=config or {})
        except duckdb.Error as e:
            raise _classify_open_error(p, e) from None
        try:
            # checked again on this connection: under the writer's lock, nothing changed since
            info = _kind_of_tables(p, _tables(self.con), self.con)
            err = store_refusal(info, writing=not read_only)
            if err is not None:
                raise err
            if not read_only:
                for stmt in _DDL:  # completes a store whose creation was interrupted
                    self.con.execute(stmt)
                if self.get_meta("schema_version") is None:
                    self.set_meta("schema_version", SCHEMA_VERSION)
        except duckdb.Error as e:
            self.con.close()
            raise _classify_open_error(p, e) from None
        except BaseException:
            self.con.close()
            raise

    # -- context manager -------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- writes ----------------------------------------------------------------------------
    def write_series(
        self,
        meta: SeriesMeta,
        frame: pd.DataFrame,
        *,
        fetched_at: dt.datetime | None = None,
        vintage: str | None = None,
    ) -> WriteResult:
        """Write one series in one transaction.

        ``frame`` has columns ``date``, ``value`` (NaN = published as missing, e.g. FRED ".") and
        ``published_at`` (the day each value became public). A value equal to the latest one
        already stored for its date is *unchanged* (no row); a date never seen is *new*; a
        different value is *revised* and becomes a new vintage row. Writing the same frame twice
        changes nothing.
        """
        if self.read_only:
            raise StoreError("store opened read-only", where=str(self.path))
        fetched_at = fetched_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        f = self._prepare_frame(meta, frame, fetched_at, vintage)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            row = self._insert_frame(meta, f, fetched_at)
            con.execute("COMMIT")
        except BaseException as e:
            con.execute("ROLLBACK")
            if isinstance(e, duckdb.Error):
                raise StoreError(
                    f"write failed, nothing written for this series ({str(e).splitlines()[0]})",
                    where=f"{self.path or ':memory:'} [{meta.series_id}]",
                ) from None
            raise
        last = f["date"].max() if len(f) else None
        return WriteResult(meta.series_id, new=row[0], revised=row[1], unchanged=row[2], last_date=last)

    #: test hook: called with a stage name ("mid_insert", "before_commit") inside write_many
    _hook = None

    def _prepare_frame(self, meta: SeriesMeta, frame: pd.DataFrame, fetched_at, vintage) -> pd.DataFrame:
        missing = {"date", "value", "published_at"} - set(frame.columns)
        if missing:
            raise StoreError(f"frame lacks columns {sorted(missing)}", where=meta.series_id)
        f = pd.DataFrame(
            {
                "date": pd.to_datetime(frame["date"]).dt.date,
                "value": pd.to_numeric(frame["value"], errors="raise").astype("float64"),
                "published_at": pd.to_datetime(frame["published_at"]).dt.date,
            }
        )
        if f["date"].duplicated().any():
            dup = f.loc[f["date"].duplicated(), "date"].iloc[0]
            raise StoreError(f"duplicate date {dup} in one write", where=meta.series_id)
        f["series_id"] = meta.series_id
        f["fetched_at"] = fetched_at
        f["vintage"] = vintage
        return f

    def _insert_frame(self, meta: SeriesMeta, f: pd.DataFrame, fetched_at) -> tuple:
        """Classify and insert one prepared frame; the caller owns the transaction."""
        con = self.con
        con.register("_incoming", f)
        row = con.execute(
            """
            WITH latest AS (
                SELECT date, value FROM obs WHERE series_id = ?
                QUALIFY row_number() OVER (PARTITION BY date ORDER BY published_at DESC) = 1
            )
            SELECT
                count(*) FILTER (WHERE l.date IS NULL),
                count(*) FILTER (WHERE l.date IS NOT NULL AND i.value IS DISTINCT FROM l.value),
                count(*) FILTER (WHERE l.date IS NOT NULL AND i.value IS NOT DISTINCT FROM l.value)
            FROM _incoming i LEFT JOIN latest l USING (date)
            """,
            [meta.series_id],
        ).fetchone()
        con.execute(
            """
            INSERT INTO obs
            WITH latest AS (
                SELECT date, value, published_at FROM obs WHERE series_id = ?
                QUALIFY row_number() OVER (PARTITION BY date ORDER BY published_at DESC) = 1
            )
            SELECT i.series_id, i.date, i.value,
                   -- a revision never predates the vintage it revises
                   CASE WHEN l.date IS NOT NULL AND i.published_at <= l.published_at
                        THEN l.published_at + 1 ELSE i.published_at END,
                   i.fetched_at, i.vintage
            FROM _incoming i LEFT JOIN latest l USING (date)
            WHERE l.date IS NULL OR i.value IS DISTINCT FROM l.value
            """,
            [meta.series_id],
        )
        m = asdict(meta)
        con.execute(
            """INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (series_id) DO UPDATE SET source = excluded.source,
               name = excluded.name, unit = excluded.unit, frequency = excluded.frequency,
               release_rule = excluded.release_rule, provenance = excluded.provenance,
               licence = excluded.licence, updated_at = excluded.updated_at""",
            [m["series_id"], m["source"], m["name"], m["unit"], m["frequency"],
             m["release_rule"], m["provenance"], m["licence"], fetched_at],
        )
        con.unregister("_incoming")
        return row


    def write_many(
        self,
        items: list[tuple[SeriesMeta, pd.DataFrame, bool]],
        *,
        meta_updates: dict[str, str] | None = None,
        fetched_at: dt.datetime | None = None,
    ) -> list[WriteResult]:
        """Write several series -- and a checkpoint -- in ONE transaction (all or nothing).

        Each item is ``(meta, frame, vintages)``. With ``vintages=False`` the frame is one vintage
        and is classified exactly as :meth:`write_series` does. With ``vintages=True`` the frame
        may hold several rows per date, each with its own ``published_at`` (ALFRED
        ``realtime_start``): a row is *unchanged* when the value the store shows for that date
        as of its ``published_at`` is the same, otherwise it is inserted at its own
        ``published_at`` (never rewriting a row), so re-fetching the same vintages is a no-op and
        ``series(as_of=D)`` sees each print from its real publication day. ``meta_updates`` are
        key/value rows of the ``meta`` table (e.g. the update checkpoint) committed with the data.
        A failure anywhere rolls everything back and names the store path and the series.
        """
        if self.read_only:
            raise StoreError("store opened read-only", where=str(self.path))
        fetched_at = fetched_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        prepared = []
        for meta, frame, vint in items:
            if vint:
                f = frame.copy()
                f["date"] = pd.to_datetime(f["date"]).dt.date
                f["published_at"] = pd.to_datetime(f["published_at"]).dt.date
                f["value"] = pd.to_numeric(f["value"], errors="raise").astype("float64")
                f = f.sort_values(["date", "published_at"]).drop_duplicates(["date", "published_at"], keep="last")
                prepared.append((meta, f[["date", "value", "published_at"]].reset_index(drop=True), True))
            else:
                prepared.append((meta, self._prepare_frame(meta, frame, fetched_at, None), False))
        con = self.con
        results: list[WriteResult] = []
        current = ""
        con.execute("BEGIN TRANSACTION")
        try:
            for meta, f, vint in prepared:
                current = meta.series_id
                if vint:
                    res = self._insert_vintages(meta, f, fetched_at)
                else:
                    row = self._insert_frame(meta, f, fetched_at)
                    res = WriteResult(meta.series_id, new=row[0], revised=row[1], unchanged=row[2],
                                      last_date=f["date"].max() if len(f) else None)
                results.append(res)
                if Store._hook:
                    Store._hook("mid_insert")
            ids = [m.series_id for m, _, _ in prepared]
            current = ", ".join(ids[:3]) + (f" +{len(ids) - 3} more" if len(ids) > 3 else "") or "checkpoint"
            for k, v in (meta_updates or {}).items():
                self.set_meta(k, v)
                if Store._hook:
                    Store._hook("checkpoint")
            if Store._hook:
                Store._hook("before_commit")
            con.execute("COMMIT")
        except BaseException as e:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            if isinstance(e, (duckdb.Error, OSError)):
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise StoreError(
                    f"write failed, rolled back: nothing written for this update ({first[:200]})",
                    where=f"{self.path or ':memory:'} [{current}]",
                ) from None
            raise
        return results

    def _insert_vintages(self, meta: SeriesMeta, f: pd.DataFrame, fetched_at) -> WriteResult:
        con = self.con
        res = WriteResult(meta.series_id, last_date=f["date"].max() if len(f) else None)
        if f.empty:
            return res
        old = con.execute(
            "SELECT date, value, published_at FROM obs WHERE series_id = ? AND date >= ? AND date <= ?",
            [meta.series_id, f["date"].min(), f["date"].max()],
        ).df()
        hist: dict = {}
        for d, v, p in old.itertuples(index=False):
            hist.setdefault(pd.Timestamp(d).date(), []).append((pd.Timestamp(p).date(), v))
        out = []
        for d, v, p in f.itertuples(index=False):
            rows = sorted(hist.get(d, []), key=lambda t: t[0])
            visible = [val for pub, val in rows if pub <= p]
            same = bool(visible) and (
                (np.isnan(visible[-1]) and np.isnan(v)) if (isinstance(v, float) and np.isnan(v))
                else (not np.isnan(visible[-1]) and visible[-1] == v))
            if same:
                res.unchanged += 1
                continue
            pub = p
            if any(q == p for q, _ in rows):  # a restated vintage: never rewrite, add after
                pub = max(q for q, _ in rows) + dt.timedelta(days=1)
            if rows:
                res.revised += 1
            else:
                res.new += 1
            hist.setdefault(d, []).append((pub, v))
            out.append((meta.series_id, d, v, pub, fetched_at, None))
        if out:
            ins = pd.DataFrame(out, columns=["series_id", "date", "value", "published_at",
                                             "fetched_at", "vintage"])
            con.register("_vint", ins)
            con.execute("INSERT INTO obs SELECT * FROM _vint")
            con.unregister("_vint")
        m = asdict(meta)
        con.execute(
            """INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (series_id) DO UPDATE SET updated_at = excluded.updated_at""",
            [m["series_id"], m["source"], m["name"], m["unit"], m["frequency"],
             m["release_rule"], m["provenance"], m["licence"], fetched_at],
        )
        return res

    def coverage(self, series_id: str) -> dict:
        """Coverage of a series' latest vintage: first/last date, rows, and dates published as
        missing (NaN, e.g. FRED ".") -- so a gap is visible rather than silently dropped."""
        s = self.series(series_id)
        miss = s[s.isna()]
        return {
            "series_id": series_id,
            "first_date": s.index.min().date() if len(s) else None,
            "last_date": s.index.max().date() if len(s) else None,
            "rows": int(len(s)),
            "missing": int(len(miss)),
            "missing_dates": [d.date() for d in miss.index],
        }

    # -- reads -----------------------------------------------------------------------------
    def has_series(self, series_id: str) -> bool:
        return self.con.execute(
            "SELECT 1 FROM series WHERE series_id = ?", [series_id]
        ).fetchone() is not None

    def meta(self, series_id: str) -> SeriesMeta:
        row = self.con.execute(
            """SELECT series_id, source, name, unit, frequency, release_rule, provenance, licence
               FROM series WHERE series_id = ?""",
            [series_id],
        ).fetchone()
        if row is None:
            raise UsageError("unknown series", where=series_id)
        return SeriesMeta(*row)

    def list_series(self) -> pd.DataFrame:
        return self.con.execute(
            """SELECT s.*, o.first_date, o.last_date, o.rows, o.vintages
               FROM series s LEFT JOIN (
                 SELECT series_id, min(date) first_date, max(date) last_date,
                        count(DISTINCT date) rows, count(*) vintages
                 FROM obs GROUP BY series_id) o USING (series_id)
               ORDER BY series_id"""
        ).df()

    def frame(
        self,
        series_ids: Iterable[str],
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        as_of: dt.date | str | None = None,
    ) -> pd.DataFrame:
        """Long frame (series_id, date, value, published_at) of the vintage visible at ``as_of``."""
        ids = list(series_ids)
        if not ids:
            return pd.DataFrame(columns=["series_id", "date", "value", "published_at"])
        where = ["series_id IN (SELECT unnest(?))"]
        params: list = [ids]
        if as_of is not None:
            where.append("published_at <= ?")
            params.append(pd.Timestamp(as_of).date())
        if start is not None:
            where.append("date >= ?")
            params.append(pd.Timestamp(start).date())
        if end is not None:
            where.append("date <= ?")
            params.append(pd.Timestamp(end).date())
        sql = f"""
            SELECT series_id, date, value, published_at FROM obs
            WHERE {' AND '.join(where)}
            QUALIFY row_number() OVER (PARTITION BY series_id, date ORDER BY published_at DESC) = 1
            ORDER BY series_id, date"""
        df = self.con.execute(sql, params).df()
        df["date"] = pd.to_datetime(df["date"])
        df["published_at"] = pd.to_datetime(df["published_at"])
        return df

    def series(
        self,
        series_id: str,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        as_of: dt.date | str | None = None,
    ) -> pd.Series:
        """One series as a float Series indexed by date (NaN where published as missing)."""
        df = self.frame([series_id], start=start, end=end, as_of=as_of)
        s = pd.Series(df["value"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(df["date"]),
                      name=series_id)
        s.index.name = "date"
        return s

    def vintages(self, series_id: str, date: dt.date | str) -> pd.DataFrame:
        """Every stored vintage of one observation, oldest first."""
        return self.con.execute(
            """SELECT date, value, published_at, fetched_at, vintage FROM obs
               WHERE series_id = ? AND date = ? ORDER BY published_at""",
            [series_id, pd.Timestamp(date).date()],
        ).df()

    def counts(self) -> tuple[int, int]:
        return self.con.execute("SELECT count(DISTINCT series_id), count(*) FROM obs").fetchone()

    def checksum(self) -> str:
        """A digest of every observation row, for 'store unchanged' checks."""
        row = self.con.execute(
            """SELECT count(*), coalesce(sum(hash(series_id, date, value, published_at)), 0)
               FROM obs"""
        ).fetchone()
        return f"{row[0]}:{row[1]}"

