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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd

from .errors import StoreCorrupt, StoreError, StoreLocked, UsageError

SCHEMA_VERSION = "1"

#: SQL: true for a row loaded from the embedded snapshot (one later vintage whose publication days
#: come from release rules). Reads rank every other row (a live fetch, an ALFRED vintage with its
#: real ``realtime_start``) above it for the same date, so a first print the store holds is what an
#: as-of read shows, not the snapshot's revised value.
_SNAPSHOT_ROW = "coalesce(vintage LIKE 'snapshot-%', false)"

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


def _classify_open_error(path: Path, exc: Exception) -> StoreError:
    msg = str(exc)
    if "lock" in msg.lower():
        m = re.search(r"PID (\d+)", msg)
        holder = f"process {m.group(1)}" if m else "another process"
        return StoreLocked(
            f"store is locked by {holder} (an update is probably running); try again when it ends",
            where=str(path),
        )
    return StoreCorrupt(
        f"store file is damaged or not a btcmacro store ({msg.splitlines()[0][:160]}); "
        f"move it away or run `btcmacro rebuild --store {path}`",
        where=str(path),
    )


class Store:
    """A btcmacro warehouse in one DuckDB file (or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 config: dict | None = None):
        self.path = Path(path) if str(path) != ":memory:" else None
        self.read_only = read_only
        if self.path is not None and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path is not None and read_only and not self.path.exists():
            raise StoreError("no store at this path", where=str(self.path))
        try:
            self.con = duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.Error as e:
            raise _classify_open_error(Path(str(path)), e) from None
        try:
            if not read_only:
                for stmt in _DDL:
                    self.con.execute(stmt)
                if self.get_meta("schema_version") is None:
                    self.set_meta("schema_version", SCHEMA_VERSION)
            else:
                self.con.execute("SELECT count(*) FROM obs").fetchone()
        except duckdb.Error as e:
            self.con.close()
            raise _classify_open_error(Path(str(path)), e) from None

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
        """Classify and insert one prepared frame; the caller owns the transaction.

        A frame is compared with the latest row of its own kind: a snapshot load with the
        snapshot's previous rows, anything else with the rows that outrank the snapshot (so a
        reloaded snapshot does not restate itself over live rows, which reads rank above it)."""
        con = self.con
        vint = f["vintage"].iloc[0] if len(f) else None
        rank = f"{_SNAPSHOT_ROW} DESC" if isinstance(vint, str) and vint.startswith("snapshot-") else _SNAPSHOT_ROW
        con.register("_incoming", f)
        row = con.execute(
            """
            WITH latest AS (
                SELECT date, value FROM obs WHERE series_id = ?
                QUALIFY row_number() OVER (PARTITION BY date ORDER BY {snap}, published_at DESC) = 1
            )
            SELECT
                count(*) FILTER (WHERE l.date IS NULL),
                count(*) FILTER (WHERE l.date IS NOT NULL AND i.value IS DISTINCT FROM l.value),
                count(*) FILTER (WHERE l.date IS NOT NULL AND i.value IS NOT DISTINCT FROM l.value)
            FROM _incoming i LEFT JOIN latest l USING (date)
            """.format(snap=rank),
            [meta.series_id],
        ).fetchone()
        con.execute(
            """
            INSERT INTO obs
            WITH latest AS (
                SELECT date, value, published_at FROM obs WHERE series_id = ?
                QUALIFY row_number() OVER (PARTITION BY date ORDER BY {snap}, published_at DESC) = 1
            )
            SELECT i.series_id, i.date, i.value,
                   -- a revision never predates the vintage it revises
                   CASE WHEN l.date IS NOT NULL AND i.published_at <= l.published_at
                        THEN l.published_at + 1 ELSE i.published_at END,
                   i.fetched_at, i.vintage
            FROM _incoming i LEFT JOIN latest l USING (date)
            WHERE l.date IS NULL OR i.value IS DISTINCT FROM l.value
            """.format(snap=rank),
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
            f"SELECT date, value, published_at, {_SNAPSHOT_ROW} FROM obs "
            "WHERE series_id = ? AND date >= ? AND date <= ?",
            [meta.series_id, f["date"].min(), f["date"].max()],
        ).df()
        hist: dict = {}
        snap: dict = {}  # the embedded snapshot's rows: one later vintage, dated by release rules
        for d, v, p, s in old.itertuples(index=False):
            (snap if s else hist).setdefault(pd.Timestamp(d).date(), []).append((pd.Timestamp(p).date(), v))
        out = []
        for d, v, p in f.itertuples(index=False):
            rows = sorted(hist.get(d, []), key=lambda t: t[0])
            # a real vintage (ALFRED's realtime_start) outranks the snapshot's stand-in for its date
            visible = ([val for pub, val in rows if pub <= p]
                       or [val for pub, val in sorted(snap.get(d, []), key=lambda t: t[0]) if pub <= p])
            same = bool(visible) and (
                (np.isnan(visible[-1]) and np.isnan(v)) if (isinstance(v, float) and np.isnan(v))
                else (not np.isnan(visible[-1]) and visible[-1] == v))
            if same:
                res.unchanged += 1
                continue
            pub = p
            if any(q == p for q, _ in rows):  # a restated vintage: never rewrite, add after
                pub = max(q for q, _ in rows) + dt.timedelta(days=1)
            if rows or snap.get(d):
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

    def redate_snapshot(self, series_id: str, frame: pd.DataFrame) -> int:
        """Give the embedded snapshot's rows of one series new publication days (``frame``:
        ``date``, ``published_at``), e.g. after the release calendar was extended.

        A snapshot row's publication day is computed from the release calendar and rules, not
        observed, so it is the one thing a newer package may correct. Only the first snapshot row
        of each date moves, and only when no other row of that date (a live fetch, an ALFRED
        vintage, a later snapshot revision) would then come before it; every value and every
        other row is left as it is. Returns the number of rows re-dated (one transaction: all or
        nothing).
        """
        if self.read_only:
            raise StoreError("store opened read-only", where=str(self.path))
        f = pd.DataFrame({"date": pd.to_datetime(frame["date"]).dt.date,
                          "published_at": pd.to_datetime(frame["published_at"]).dt.date})
        con = self.con
        con.execute("BEGIN TRANSACTION")
        con.register("_redate", f)
        try:
            n = con.execute(
                f"""
                WITH firsts AS (
                    SELECT date, min(published_at) AS p0 FROM obs
                    WHERE series_id = ? AND {_SNAPSHOT_ROW} GROUP BY date),
                others AS (
                    SELECT o.date, min(o.published_at) AS p1 FROM obs o JOIN firsts f USING (date)
                    WHERE o.series_id = ? AND NOT (o.published_at = f.p0 AND {_SNAPSHOT_ROW})
                    GROUP BY o.date),
                moves AS (
                    SELECT i.date, f.p0, i.published_at AS p FROM _redate i JOIN firsts f USING (date)
                    LEFT JOIN others x USING (date)
                    WHERE i.published_at <> f.p0 AND (x.p1 IS NULL OR i.published_at < x.p1))
                UPDATE obs SET published_at = moves.p FROM moves
                WHERE obs.series_id = ? AND obs.date = moves.date AND obs.published_at = moves.p0
                  AND coalesce(obs.vintage LIKE 'snapshot-%', false)
                """,
                [series_id, series_id, series_id]).fetchall()
            con.execute("COMMIT")
        except BaseException as e:
            con.execute("ROLLBACK")
            if isinstance(e, duckdb.Error):
                raise StoreError(f"re-dating failed, nothing changed ({str(e).splitlines()[0]})",
                                 where=f"{self.path or ':memory:'} [{series_id}]") from None
            raise
        finally:
            con.unregister("_redate")
        return int(n[0][0]) if n else 0

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
            QUALIFY row_number() OVER (PARTITION BY series_id, date ORDER BY {_SNAPSHOT_ROW}, published_at DESC) = 1
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

