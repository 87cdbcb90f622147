"""One aggregation, several engines: DuckDB (the index), Apache Spark (parquet parts), BigQuery
(the public ``crypto_bitcoin`` dataset).

The aggregation from created and spent coins to the (creation day × spending day) value matrix,
the daily creations and the per-script balance bands is written **once**, as the plain SQL of
:mod:`btcmacro.chain.aggregate` in DuckDB's dialect (:data:`~btcmacro.chain.aggregate.CREATED_SQL`,
:data:`~btcmacro.chain.aggregate.MATRIX_SQL`, :func:`~btcmacro.chain.aggregate.balance_bands_sql`,
:data:`CLOSERS_SQL`), over four logical tables:

* ``blocks(height, hash, day)``, ``created(height, value, n)``,
* ``spends(spend_height, create_height, value, n)``, ``flows(height, script_key, delta)``.

DuckDB runs that text as it is; :func:`query_text` transpiles it with SQLGlot to Spark SQL or
BigQuery Standard SQL. Each engine only says where the four tables come from (the index; the
parquet parts of a sync; views over ``crypto_bitcoin``) and returns the result rows, which
:func:`assemble` turns into the same :class:`Aggregates` (a
:class:`~btcmacro.chain.aggregate.Matrix`, the balance bands and each day's closing block). The
one publishing path, :func:`btcmacro.chain.publishing.publish`, writes ``chain/*`` from it
whichever engine computed it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from btcmacro.chain.aggregate import (BALANCE_BANDS, CREATED_SQL, MATRIX_SQL, BalanceBands, Matrix,
                                      balance_bands_sql, matrix_from_columns)

__all__ = ["ENGINES", "CLOSERS_SQL", "TIP_SQL", "Aggregates", "query_text", "queries", "tip_of", "assemble",
           "aggregate_duckdb", "BAND_EDGES"]

ENGINES = ("duckdb", "spark", "bigquery")
BAND_EDGES = [lo for _, lo in BALANCE_BANDS]

#: the last block of each day (the block every published value of that day depends on)
CLOSERS_SQL = """
SELECT day, height, hash FROM blocks
WHERE height IN (SELECT max(height) FROM blocks GROUP BY day)
ORDER BY day
"""

#: the tip the aggregation covers (also the highest of the day closers: the highest block is the
#: last of the day it is stamped with; engines that have the closers need no separate query)
TIP_SQL = "SELECT height, hash FROM blocks ORDER BY height DESC LIMIT 1"


def queries(edges: list[int] | None = None) -> dict[str, str]:
    """The aggregation, in DuckDB's dialect: ``{name: SQL}`` for ``created``, ``matrix``,
    ``bands`` and ``closers`` (the single definition every engine runs; the tip is the highest
    closer, see :func:`tip_of`)."""
    e = BAND_EDGES if edges is None else [int(x) for x in edges]
    return {"created": CREATED_SQL, "matrix": MATRIX_SQL, "bands": balance_bands_sql(e),
            "closers": CLOSERS_SQL}


def tip_of(closers: pd.DataFrame) -> tuple[int, object] | None:
    """``(height, hash)`` of the highest block, from the :data:`CLOSERS_SQL` rows."""
    if len(closers) == 0:
        return None
    i = int(np.argmax(closers["height"].to_numpy()))
    return int(closers["height"].iloc[i]), closers["hash"].iloc[i]


def query_text(sql: str, dialect: str) -> str:
    """``sql`` (DuckDB dialect) in ``dialect`` ("duckdb", "spark" or "bigquery"), through SQLGlot.

    DuckDB gets the text unchanged. Window ``ORDER BY`` clauses lose DuckDB's implicit ``NULLS
    LAST`` in BigQuery; the ordered columns (days) are never NULL, so nothing changes."""
    if dialect == "duckdb":
        return sql
    import sqlglot
    from sqlglot.errors import ErrorLevel

    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True,
                             unsupported_level=ErrorLevel.IGNORE)[0]


@dataclass
class Aggregates:
    """What one engine computed: all that :func:`~btcmacro.chain.publishing.publish` needs.

    Attributes
    ----------
    matrix
        The value matrix and daily creations (:class:`~btcmacro.chain.aggregate.Matrix`).
    bands
        Supply and script count per balance band (rows :data:`BAND_EDGES`) and day.
    closers
        ``{ISO day: (height, hash hex)}``: the last block stamped with each day.
    engine, dataset
        Who computed it and over what, e.g. ``("BigQuery", "crypto_bitcoin")``.
    rows
        Input rows the engine aggregated (spends plus flows), for throughput figures.
    """

    matrix: Matrix
    bands: BalanceBands
    closers: dict
    engine: str
    dataset: str
    rows: int | None = None

    @property
    def tip_height(self) -> int | None:
        return self.matrix.tip_height

    @property
    def tip_hash(self) -> str | None:
        return self.matrix.tip_hash

    @property
    def provenance(self) -> str:
        """The provenance written with every ``chain/*`` value, naming the engine and dataset."""
        if self.engine == "duckdb":  # the own-node index: the wording every earlier publish used
            return f"own node, tip {self.tip_hash} height {self.tip_height}"
        return (f"{self.engine} {self.dataset}, through block {self.tip_height} "
                f"({self.tip_hash})")


def _hash_hex(h) -> str:
    """A block hash as display hex: the index keeps raw bytes in internal order, BigQuery a
    display-order hex string."""
    if isinstance(h, str):
        return h
    return bytes(h)[::-1].hex()


def _days(col) -> np.ndarray:
    return np.asarray(pd.to_datetime(pd.Series(col)).values).astype("datetime64[D]")


def _ints(col) -> np.ndarray:
    return np.asarray(pd.Series(col).astype("int64").to_numpy(), dtype=np.int64)


def assemble(created: pd.DataFrame, matrix: pd.DataFrame, bands: pd.DataFrame, closers: pd.DataFrame,
             tip: tuple[int, object] | None, *, engine: str, dataset: str, edges: list[int] | None = None,
             rows: int | None = None) -> Aggregates:
    """Turn the result rows of :func:`queries` (as data frames, from any engine) into
    :class:`Aggregates`.

    Raises
    ------
    ValueError
        Balance-band rows on a day outside the matrix's day axis (inconsistent inputs).
    """
    e = BAND_EDGES if edges is None else list(edges)
    th, thash = (None, None) if tip is None else (int(tip[0]), _hash_hex(tip[1]))
    m = matrix_from_columns(_days(created["day"]), _ints(created["value"]), _ints(created["n"]),
                            _days(matrix["create_day"]), _days(matrix["spend_day"]), _ints(matrix["value"]),
                            _ints(matrix["n"]), thash, th)
    supply = np.zeros((len(e), m.ndays), dtype=np.int64)
    count = np.zeros((len(e), m.ndays), dtype=np.int64)
    if len(bands):
        if not m.ndays:
            raise ValueError("balance-band rows but no day axis")
        di = (_days(bands["day"]) - m.days[0]).astype(np.int64)
        if di.min() < 0 or di.max() >= m.ndays:
            raise ValueError(f"flows on days outside the day axis {m.days[0]}..{m.days[-1]}")
        bi = _ints(bands["band"])
        np.add.at(supply, (bi, di), _ints(bands["dv"]))
        np.add.at(count, (bi, di), _ints(bands["dn"]))
    cl = {pd.Timestamp(d).date().isoformat(): (int(h), _hash_hex(x))
          for d, h, x in zip(closers["day"], closers["height"], closers["hash"])}
    return Aggregates(m, BalanceBands(np.cumsum(supply, axis=1), np.cumsum(count, axis=1)), cl,
                      engine, dataset, rows)


def aggregate_duckdb(index, edges: list[int] | None = None) -> Aggregates:
    """The aggregation on the chain index itself (the default engine; same numbers as
    :func:`~btcmacro.chain.aggregate.build_matrix` and
    :func:`~btcmacro.chain.aggregate.balance_bands`)."""
    from btcmacro.chain.aggregate import balance_bands, build_matrix
    from btcmacro.chain.publishing import day_closers

    m = build_matrix(index)
    b = balance_bands(index, m.days, BAND_EDGES if edges is None else edges)
    rows = index.con.execute("SELECT (SELECT count(*) FROM spends) + (SELECT count(*) FROM flows)").fetchall()[0][0]
    return Aggregates(m, b, day_closers(index), "duckdb", "chain index", int(rows))
