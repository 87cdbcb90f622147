"""Append-only chain tables keyed by height, plus one checkpoint row, in a DuckDB file.

Every row is keyed by the height of the block that produced it, so a reorg to fork height ``f``
is one ``DELETE … WHERE height > f`` per table inside the same transaction that writes the
replacement blocks. Tables:

``blocks(height, hash, prev_hash, time, day, tx_count, size, weight, n_in, n_out)``
    one row per best-chain block.
``created(height, value, n)``
    value (satoshis) and count of spendable outputs created by the block.
``spends(spend_height, create_height, value, n)``
    coins spent by the block, grouped by the height that created them (from undo data, or
    from the coin map below).
``outputs(height, txid, vout, value, script_key)`` / ``inputs(height, prev_txid, prev_vout)``
    the coin map, filled only when reading plain blk files without undo data; ``spends`` is
    then produced from them by a plain SQL join (no Python dict).
``flows(height, script_key, delta)``
    net satoshis each output script (``script_key`` = first 16 bytes of SHA-256 of the
    scriptPubKey, stored as the unsigned 128-bit integer they spell big-endian) gained (+) or
    lost (-) in the block: the input of the second aggregation, per-script balances
    (address-balance bands, user address lists). An index written by btcmacro 0.1 (keys as
    BLOB) is converted in place the first time it is opened for writing.
``checkpoint(id, height, hash, xor_fp, blocks_dir_id, mode)``
    the single checkpoint row.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from btcmacro.chain.lifecycle import KEY_SQL, storage_form
from btcmacro.errors import ChainError, StoreLocked
from btcmacro.store import _kind_of_tables, _tables, create_atomically, identify, lock_holder_text

__all__ = ["ChainIndex", "Checkpoint", "BlocksDirChanged"]


class BlocksDirChanged(ChainError):
    """The index was built from another blocks directory; rerun with ``--rebuild``."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY, hash BLOB NOT NULL, prev_hash BLOB NOT NULL, time BIGINT NOT NULL,
    day DATE NOT NULL, tx_count INTEGER NOT NULL, size INTEGER NOT NULL, weight INTEGER NOT NULL,
    n_in INTEGER NOT NULL, n_out INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS created (height INTEGER NOT NULL, value BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS spends (
    spend_height INTEGER NOT NULL, create_height INTEGER NOT NULL, value BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (height INTEGER NOT NULL, txid BLOB NOT NULL, vout INTEGER NOT NULL, value BIGINT NOT NULL,
    script_key UHUGEINT NOT NULL);
CREATE TABLE IF NOT EXISTS flow_rows (height INTEGER NOT NULL, script_key UHUGEINT NOT NULL, delta BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS flow_parts (
    name VARCHAR PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL, n BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (height INTEGER NOT NULL, prev_txid BLOB NOT NULL, prev_vout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY, height INTEGER NOT NULL, hash BLOB NOT NULL, xor_fp VARCHAR NOT NULL,
    blocks_dir_id VARCHAR NOT NULL, mode VARCHAR NOT NULL);
"""


def _schema_statements() -> list[str]:
    return [x.strip() for x in _SCHEMA.split(";") if x.strip()]


_UNFINISHED = ("the chain index was not completely created (the sync that created it was interrupted): "
               "run `btcmacro chain sync` again")


def index_refusal(info, *, writing: bool) -> ChainError | StoreLocked | None:
    """The one-line error for a path that cannot serve as the chain index, or None if it can
    (``info`` from :func:`btcmacro.store.identify`). A writer may complete an index whose
    creation was interrupted; a reader is told to run the sync again."""
    where = str(info.path)
    k = info.kind
    if k in ("new", "empty"):
        return None if writing else ChainError("no chain index yet: run `btcmacro chain sync` first", where=where)
    if k == "locked":
        return StoreLocked(f"the chain index is in use by {info.holder}; try again when it ends", where=where)
    if k == "not_a_file":
        return ChainError(f"{info.detail}, not a chain index file: give --index the path of a chain index "
                          "or of a new file", where=where)
    if k == "not_duckdb":
        return ChainError("not a btcmacro chain index (the file is not a DuckDB database); btcmacro leaves it "
                          "as it is: give --index another path", where=where)
    if k == "foreign":
        shown = ", ".join(info.tables[:5]) + (" …" if len(info.tables) > 5 else "")
        return ChainError(f"a DuckDB database that is not a btcmacro chain index (it holds tables {shown}); "
                          "btcmacro does not write into it: give --index another path", where=where)
    if k == "store" or (k == "partial" and info.family == "store"):
        return ChainError("this is the btcmacro store, not the chain index: pass it as --store, and give "
                          "--index the chain index file", where=where)
    if k == "partial":
        return None if writing else ChainError(_UNFINISHED, where=where)
    if k == "unreadable":
        return ChainError(f"cannot be read as a DuckDB database ({info.detail}); if it is your chain index, "
                          "move it away and run `btcmacro chain sync` to index again", where=where)
    return None  # chain_index, in_use


_TABLES_BY_HEIGHT = {
    "blocks": "height",
    "created": "height",
    "spends": "spend_height",
    "outputs": "height",
    "inputs": "height",
    "flows": "height",
}
# ``flows`` is a view (see ChainIndex.flows_query): its rows live in this table and in parquet parts
_PHYSICAL = {"flows": "flow_rows"}
_PART_RE = re.compile(r"^flows-\d+-\d+-[0-9a-f]{12}\.parquet$")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    height: int
    hash: bytes
    xor_fp: str
    blocks_dir_id: str
    mode: str  # "coinmap" (blk files), "revundo" (blk + rev files), "rpc"; "undo": btcmacro 0.1's kernel

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()


# Every BLOB in the index is a hash (block hash, txid, script key): random bytes that DuckDB's
# string compressions (dictionary, FSST, DICT_FSST) cannot shrink, but that it still analyses for
# every column segment it writes. Measured on the sync benchmark's 2.5 M flows rows: the INSERT
# takes 0.61 s with the analysis and 0.27 s without, and the file grows by ~5 % (57 -> 60 MB).
# Only the storage changes, never a value; integer columns keep their compression.
_STRING_CODECS_OFF = ("dict_fsst,fsst,dictionary", "fsst,dictionary")


def _no_string_compression(con) -> None:
    for methods in _STRING_CODECS_OFF:  # the first list for DuckDB >= 1.3 (DICT_FSST), else older
        try:
            con.execute(f"SET disabled_compression_methods = '{methods}'")
            return
        except duckdb.Error:
            continue


class ChainIndex:
    """The chain tables in one DuckDB file (or ``":memory:"``)."""

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            p = Path(self.path)
            info = identify(p)  # what is there decides, before anything is written
            err = index_refusal(info, writing=not read_only)
            if err is not None:
                raise err
            if not read_only and info.kind in ("new", "empty"):
                try:  # the schema appears whole or not at all: no half-created index
                    p.parent.mkdir(parents=True, exist_ok=True)
                    create_atomically(p, _schema_statements(), replace_empty=info.kind == "empty")
                except (OSError, duckdb.Error) as e:
                    raise ChainError(f"cannot create the chain index here "
                                     f"({getattr(e, 'strerror', None) or str(e).splitlines()[0]})",
                                     where=self.path) from None
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as e:
            msg = str(e)
            if "lock" in msg.lower():
                raise StoreLocked(f"the chain index is in use by {lock_holder_text(msg)}; try again when it ends",
                                  where=self.path) from None
            raise ChainError(f"cannot open the chain index ({msg.splitlines()[0][:160]})", where=self.path) from None
        if self.path != ":memory:":
            try:  # again on this connection (a writer now holds the lock)
                err = index_refusal(_kind_of_tables(Path(self.path), _tables(self.con), self.con),
                                    writing=not read_only)
            except duckdb.Error as e:
                err = ChainError(f"cannot read the chain index ({str(e).splitlines()[0][:160]})", where=self.path)
            if err is not None:
                self.con.close()
                raise err
        self.parts_dir = None if self.path == ":memory:" else Path(self.path + ".flows")
        # btcmacro 0.1 kept every flows row in a table named ``flows`` (now ``flow_rows``)
        legacy = bool(self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'flows' "
            "AND table_type = 'BASE TABLE'").fetchall()[0][0])
        if not read_only:
            if legacy:
                self.con.execute("ALTER TABLE flows RENAME TO flow_rows")
                legacy = False
            self.con.execute(_SCHEMA)
            _no_string_compression(self.con)
        self._legacy_flows = legacy
        cols = [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'outputs'").fetchall()]
        if cols and "script_key" not in cols:
            self.con.close()
            raise ChainError("the chain index was built by an older btcmacro (no per-script data); "
                             "run `btcmacro chain sync --rebuild`", where=self.path)
        blob_keys = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'script_key' "
            "AND data_type = 'BLOB' ORDER BY table_name").fetchall()]
        if blob_keys:
            if read_only:
                self.con.close()
                raise ChainError("the chain index stores script keys in an older format: run "
                                 "`btcmacro chain sync` once to convert it", where=self.path)
            self._convert_blob_keys(blob_keys)
        if not read_only:
            self.reconcile_parts()
        self.refresh_flows_view()

    def _convert_blob_keys(self, tables: list[str]) -> None:
        """btcmacro 0.1 stored ``script_key`` as a 16-byte BLOB; convert to UHUGEINT in place
        (same bytes read big-endian), all tables in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for t in tables:
                self.con.execute(f"ALTER TABLE {t} ALTER script_key SET DATA TYPE UHUGEINT "
                                 "USING ('0x' || hex(script_key))::UHUGEINT")
            self.con.execute("COMMIT")
        except duckdb.Error as e:
            self.con.execute("ROLLBACK")
            self.con.close()
            raise ChainError(f"cannot convert the index's script keys: {e}", where=self.path) from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "ChainIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- checkpoint
    def checkpoint(self) -> Checkpoint | None:
        try:
            row = self.con.execute(
                "SELECT height, hash, xor_fp, blocks_dir_id, mode FROM checkpoint WHERE id = 1"
            ).fetchall()  # fetchall: a half-read result would block the next query on this connection
        except duckdb.CatalogException:
            return None
        if not row:
            return None
        row = row[0]
        return Checkpoint(row[0], bytes(row[1]), row[2], row[3], row[4])

    def set_checkpoint(self, cp: Checkpoint) -> None:
        self.con.execute("DELETE FROM checkpoint WHERE id = 1")
        self.con.execute(
            "INSERT INTO checkpoint VALUES (1, ?, ?, ?, ?, ?)",
            [cp.height, cp.hash, cp.xor_fp, cp.blocks_dir_id, cp.mode],
        )

    def hash_at(self, height: int) -> bytes | None:
        rows = self.con.execute("SELECT hash FROM blocks WHERE height = ?", [height]).fetchall()
        return bytes(rows[0][0]) if rows else None

    def hashes_from(self, height: int) -> dict[int, bytes]:
        rows = self.con.execute(
            "SELECT height, hash FROM blocks WHERE height >= ? ORDER BY height", [height]
        ).fetchall()
        return {h: bytes(x) for h, x in rows}

    # -------------------------------------------------------------- flows: rows + parquet parts
    def _parts(self, alias: str = "") -> list[tuple[str, int, int]]:
        q = f"SELECT name, lo, hi FROM {alias + '.' if alias else ''}flow_parts ORDER BY lo, name"
        try:
            return [(n, lo, hi) for n, lo, hi in self.con.execute(q).fetchall()]
        except duckdb.CatalogException:  # an index written before flow parts existed
            return []

    def flows_query(self, alias: str = "", parts_dir: Path | None = None) -> str:
        """SQL for every ``flows(height, script_key, delta)`` row: the ``flow_rows`` table (serial
        and RPC syncs, coin-map mode) plus the parquet parts a parallel sync adopted
        (:meth:`add_flows_part`). ``alias`` names an ATTACHed index (with its ``parts_dir``)."""
        pdir = self.parts_dir if not alias else parts_dir
        q = f"SELECT height, script_key, delta FROM {alias + '.' if alias else ''}flow_rows"
        files = [str(pdir / n) for n, _, _ in self._parts(alias)] if pdir is not None else []
        if files:
            lits = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            q += f" UNION ALL SELECT height, {KEY_SQL} AS script_key, delta FROM read_parquet([{lits}])"
        return q

    def refresh_flows_view(self) -> None:
        """(Re)define this connection's ``flows`` view over the rows and the current parts."""
        if self._legacy_flows:  # read-only on a 0.1 index: its ``flows`` table is all of them
            return
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW flows AS {self.flows_query()}")

    def add_flows_part(self, path: str | os.PathLike, lo: int, hi: int) -> None:
        """Adopt a parquet part (``height, key_hi, key_lo, delta``; more columns are ignored) holding
        the flows rows of heights ``lo..hi``: it is moved into :attr:`parts_dir` and registered in
        ``flow_parts`` (the caller holds the transaction; if it rolls back, :meth:`reconcile_parts`
        deletes the file). Parts are never rewritten in place: a reorg writes a trimmed copy. The
        ``flows`` view covers the new part after :meth:`refresh_flows_view` (once per batch of
        parts, not per part: the view lists every part's path)."""
        import pyarrow.parquet as pq

        if self.parts_dir is None:
            raise ChainError("an in-memory chain index cannot hold parquet parts")
        name = f"flows-{lo:07d}-{hi:07d}-{uuid.uuid4().hex[:12]}.parquet"
        try:
            self.parts_dir.mkdir(exist_ok=True)
            n = pq.read_metadata(path).num_rows
            os.replace(path, self.parts_dir / name)
        except OSError as e:
            raise ChainError(f"cannot adopt the flows part: {e}", where=str(path)) from None
        except pa.ArrowInvalid as e:
            raise ChainError(f"the flows part is not a readable parquet file: {e}", where=str(path)) from None
        self.con.execute("INSERT INTO flow_parts VALUES (?, ?, ?, ?)", [name, lo, hi, n])

    def reconcile_parts(self) -> list[str]:
        """Delete part files that ``flow_parts`` does not list (left by a rolled-back or
        interrupted sync, or replaced by a reorg); returns their names. Run after every commit or
        rollback and when the index is opened for writing: the table is the truth."""
        if self.parts_dir is None or not self.parts_dir.is_dir():
            return []
        keep = {n for n, _, _ in self._parts()}
        gone = []
        for f in self.parts_dir.iterdir():
            if _PART_RE.match(f.name) and f.name not in keep:
                f.unlink(missing_ok=True)
                gone.append(f.name)
        return gone

    # -------------------------------------------------------------- writes
    def rollback_to(self, height: int) -> None:
        """Delete every row produced by blocks above ``height`` (caller holds the transaction).

        A flows part reaching above ``height`` is unregistered; if it starts at or below, a
        trimmed copy (its rows up to ``height``) is written and registered instead. The old file
        goes at the next :meth:`reconcile_parts`, after the commit."""
        for table, col in _TABLES_BY_HEIGHT.items():
            self.con.execute(f"DELETE FROM {_PHYSICAL.get(table, table)} WHERE {col} > ?", [height])
        for name, lo, hi in self._parts():
            if hi <= height:
                continue
            self.con.execute("DELETE FROM flow_parts WHERE name = ?", [name])
            if lo <= height:
                new = f"flows-{lo:07d}-{height:07d}-{uuid.uuid4().hex[:12]}.parquet"
                src = str(self.parts_dir / name).replace("'", "''")
                dst = str(self.parts_dir / new).replace("'", "''")
                self.con.execute(f"COPY (SELECT * FROM read_parquet('{src}') WHERE height <= {int(height)}) "
                                 f"TO '{dst}' (FORMAT parquet)")
                n = self.con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchall()[0][0]
                self.con.execute("INSERT INTO flow_parts VALUES (?, ?, ?, ?)", [new, lo, height, n])
        self.refresh_flows_view()

    def wipe(self) -> None:
        for table in (*_TABLES_BY_HEIGHT, "checkpoint", "flow_parts"):
            self.con.execute(f"DELETE FROM {_PHYSICAL.get(table, table)}")
        self.refresh_flows_view()

    def append(self, table: str, frame) -> None:
        """Append an Arrow table / pandas frame whose columns match ``table`` in order."""
        if table not in _TABLES_BY_HEIGHT:
            raise ChainError(f"unknown chain table {table}")
        if len(frame) == 0:
            return
        select = "*"
        if isinstance(frame, pa.Table) and "script_key" in frame.column_names:
            frame = storage_form(frame)  # 16-byte keys -> the UHUGEINT halves
            select = ", ".join(KEY_SQL if c == "key_hi" else c for c in frame.column_names if c != "key_lo")
        self.con.register("_batch", frame)
        try:
            self.con.execute(f"INSERT INTO {_PHYSICAL.get(table, table)} SELECT {select} FROM _batch")
        finally:
            self.con.unregister("_batch")

    def resolve_spends(self, lo: int, hi: int) -> None:
        """Coin-map mode: turn inputs of blocks ``lo..hi`` into ``spends`` rows by a SQL join."""
        self.con.execute(
            """
            INSERT INTO spends
            SELECT i.height, o.height, sum(o.value), count(*)
            FROM inputs i JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout
            WHERE i.height BETWEEN ? AND ?
            GROUP BY i.height, o.height
            """,
            [lo, hi],
        )
        # per-script net flows: outputs created in lo..hi (+) and the coins their inputs spend (-)
        self.con.execute(
            """
            INSERT INTO flow_rows
            SELECT height, script_key, sum(delta) FROM (
                SELECT height, script_key, value AS delta FROM outputs WHERE height BETWEEN ? AND ?
                UNION ALL
                SELECT i.height, o.script_key, -o.value
                FROM inputs i JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout
                WHERE i.height BETWEEN ? AND ?)
            GROUP BY 1, 2 HAVING sum(delta) <> 0
            """,
            [lo, hi, lo, hi],
        )
        unresolved = self.con.execute(
            """
            SELECT count(*) FROM inputs i ANTI JOIN outputs o
              ON o.txid = i.prev_txid AND o.vout = i.prev_vout
            WHERE i.height BETWEEN ? AND ?
            """,
            [lo, hi],
        ).fetchall()[0][0]
        if unresolved:
            raise ChainError(
                f"{unresolved} inputs in blocks {lo}..{hi} spend outputs not found in the index "
                "(blocks missing from the files?)",
                where=f"height {lo}..{hi}",
            )

    # -------------------------------------------------------------- reads
    def status(self) -> dict:
        cp = self.checkpoint()
        row = self.con.execute(
            """
            SELECT (SELECT coalesce(sum(tx_count), 0) FROM blocks),
                   (SELECT coalesce(sum(n), 0) FROM created) - (SELECT coalesce(sum(n), 0) FROM spends),
                   (SELECT coalesce(sum(value), 0) FROM created) - (SELECT coalesce(sum(value), 0) FROM spends)
            """
        ).fetchall()[0]
        return {
            "height": cp.height if cp else None,
            "tip_hash": cp.hash_hex if cp else None,
            "tx_count": int(row[0]),
            "utxo_count": int(row[1]),
            "utxo_value_btc": int(row[2]) / 1e8,
            "utxo_value_sat": int(row[2]),
            "mode": cp.mode if cp else None,
            "xor_fingerprint": cp.xor_fp if cp else None,
        }
