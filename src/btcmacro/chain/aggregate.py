"""Per-day aggregation in plain SQL: the (creation day, spending day) value matrix.

Two queries, both plain SQL over the index tables so the same text can run on another engine
(Spark SQL, BigQuery) over the same three tables:

* :data:`MATRIX_SQL` — value and count of coins moved, grouped by (creation day, spending day);
  block timestamps are not monotonic, so a coin spent in a block stamped a day *earlier* than
  the block that created it is counted as spent on its creation day (``greatest``);
* :data:`CREATED_SQL` — value and count of spendable outputs created per day.

:class:`Matrix` holds the result as sparse COO arrays on a continuous day axis, the input of
every function in :mod:`btcmacro.chain.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from btcmacro.chain.index import ChainIndex
from btcmacro.chain.lifecycle import KEY_SQL

__all__ = ["Matrix", "MATRIX_SQL", "CREATED_SQL", "build_matrix"]

MATRIX_SQL = """
SELECT cb.day AS create_day, greatest(sb.day, cb.day) AS spend_day,
       sum(s.value) AS value, sum(s.n) AS n
FROM spends s
JOIN blocks cb ON cb.height = s.create_height
JOIN blocks sb ON sb.height = s.spend_height
GROUP BY 1, 2
ORDER BY 2, 1
"""

CREATED_SQL = """
SELECT b.day AS day, sum(c.value) AS value, sum(c.n) AS n
FROM created c JOIN blocks b ON b.height = c.height
GROUP BY 1
ORDER BY 1
"""


@dataclass
class Matrix:
    """Value moved by (creation day, spending day), plus daily creations, on one day axis.

    Attributes
    ----------
    days
        ``datetime64[D]`` array, continuous from the first to the last day.
    c, s
        Creation and spending day index (into ``days``) of each non-empty cell, sorted by ``s``.
    value
        Satoshis moved in each cell (int64).
    n
        Number of coins (outputs) spent in each cell.
    created
        Satoshis of spendable outputs created each day (int64, length ``len(days)``).
    created_n
        Count of spendable outputs created each day.
    tip_hash
        Hash (display hex) of the block the aggregation was computed for.
    """

    days: np.ndarray
    c: np.ndarray
    s: np.ndarray
    value: np.ndarray
    n: np.ndarray
    created: np.ndarray
    created_n: np.ndarray
    tip_hash: str | None = None
    tip_height: int | None = None

    def __post_init__(self) -> None:
        order = np.lexsort((self.c, self.s))
        if not np.all(order == np.arange(order.size)):
            self.c, self.s = self.c[order], self.s[order]
            self.value, self.n = self.value[order], self.n[order]

    @property
    def ndays(self) -> int:
        return int(self.days.size)


def build_matrix(index: ChainIndex) -> Matrix:
    """Aggregate the index into a :class:`Matrix` (two SQL queries)."""
    con = index.con
    cr = con.sql(CREATED_SQL).to_arrow_table()
    mx = con.sql(MATRIX_SQL).to_arrow_table()
    cp = index.checkpoint()
    if cr.num_rows == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Matrix(np.zeros(0, "datetime64[D]"), empty, empty, empty, empty, empty, empty)
    cdays = cr.column("day").to_numpy().astype("datetime64[D]")
    first, last = cdays.min(), cdays.max()
    if mx.num_rows:
        first = min(first, mx.column("create_day").to_numpy().astype("datetime64[D]").min())
        last = max(last, mx.column("spend_day").to_numpy().astype("datetime64[D]").max())
    days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
    created = np.zeros(days.size, dtype=np.int64)
    created_n = np.zeros(days.size, dtype=np.int64)
    ci = (cdays - first).astype(np.int64)
    created[ci] = cr.column("value").to_numpy().astype(np.int64)
    created_n[ci] = cr.column("n").to_numpy().astype(np.int64)
    if mx.num_rows:
        c = (mx.column("create_day").to_numpy().astype("datetime64[D]") - first).astype(np.int64)
        s = (mx.column("spend_day").to_numpy().astype("datetime64[D]") - first).astype(np.int64)
        value = mx.column("value").to_numpy().astype(np.int64)
        n = mx.column("n").to_numpy().astype(np.int64)
    else:
        c = s = value = n = np.zeros(0, dtype=np.int64)
    return Matrix(days, c, s, value, n, created, created_n,
                  cp.hash_hex if cp else None, cp.height if cp else None)


# ------------------------------------------------------------------ second aggregation: per-script balances

#: supply held by scripts whose balance lies in [lo, hi) satoshis, as per-day *changes*: each
#: script's running balance (window sum over its flows by day) contributes its balance while in
#: the band; the change of that contribution is summed per day (a cumulative sum gives the series)
BAND_SQL = """
WITH f AS (
    SELECT fl.script_key, b.day, sum(fl.delta) AS d
    FROM flows fl JOIN blocks b ON b.height = fl.height
    GROUP BY 1, 2),
bal AS (
    SELECT script_key, day,
           sum(d) OVER (PARTITION BY script_key ORDER BY day ROWS UNBOUNDED PRECEDING) AS bal
    FROM f),
band AS (
    SELECT script_key, day, CASE WHEN bal >= $lo AND bal < $hi THEN bal ELSE 0 END AS inband
    FROM bal),
chg AS (
    SELECT day, inband - coalesce(lag(inband) OVER (PARTITION BY script_key ORDER BY day), 0) AS dc
    FROM band)
SELECT day, CAST(sum(dc) AS BIGINT) AS delta FROM chg GROUP BY day HAVING sum(dc) <> 0 ORDER BY day
"""

#: net daily flow into a set of scripts (registered as ``_key_halves(key_hi, key_lo)``)
KEYS_FLOW_SQL = """
SELECT b.day, CAST(sum(fl.delta) AS BIGINT) AS delta
FROM flows fl JOIN blocks b ON b.height = fl.height
WHERE fl.script_key IN (SELECT {KEY_SQL} FROM _key_halves)
GROUP BY 1 ORDER BY 1
""".format(KEY_SQL=KEY_SQL)


def _daily_cumsum(rows, days: np.ndarray) -> np.ndarray:
    out = np.zeros(days.size, dtype=np.int64)
    if rows and days.size:
        d = np.array([np.datetime64(r[0], "D") for r in rows])
        v = np.array([int(r[1]) for r in rows], dtype=np.int64)
        idx = (d - days[0]).astype(np.int64)
        np.add.at(out, idx, v)
    return np.cumsum(out)


def band_supply(index: ChainIndex, days: np.ndarray, lo_sat: int, hi_sat: int | None = None) -> np.ndarray:
    """Satoshis held at the end of each day by scripts whose balance is in ``[lo_sat, hi_sat)``.

    Parameters
    ----------
    days
        The day axis (``Matrix.days``).
    """
    hi = (1 << 62) if hi_sat is None else hi_sat
    rows = index.con.execute(BAND_SQL, {"lo": lo_sat, "hi": hi}).fetchall()
    return _daily_cumsum(rows, days)


def scripts_balance(index: ChainIndex, days: np.ndarray, keys: list[bytes]) -> np.ndarray:
    """Satoshis held at the end of each day by the given script keys (``lifecycle.script_key``)."""
    import pyarrow as pa

    from btcmacro.chain.lifecycle import key_halves

    hi, lo = key_halves(np.frombuffer(b"".join(keys), dtype=np.uint8))
    index.con.register("_key_halves", pa.table({"key_hi": hi, "key_lo": lo}))
    try:
        rows = index.con.execute(KEYS_FLOW_SQL).fetchall()
    finally:
        index.con.unregister("_key_halves")
    return _daily_cumsum(rows, days)


def has_flows(index: ChainIndex) -> bool:
    """True when every indexed block has its per-script flows (an index built by this version)."""
    return bool(index.con.execute("SELECT count(*) > 0 FROM flows").fetchall()[0][0])
