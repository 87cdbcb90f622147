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
