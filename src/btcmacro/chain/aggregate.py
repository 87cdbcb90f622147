"""Per-day aggregation in plain SQL: the (creation day, spending day) value matrix.

Two queries, both plain SQL over the index tables so the same text can run on another engine
(Spark SQL, BigQuery) over the same three tables:

* :data:`MATRIX_SQL` — value and count of coins moved, grouped by (creation day, spending day);
  block timestamps are not monotonic, so a coin spent in a block stamped a day *earlier* than
  the block that created it is counted as spent on its creation day (``greatest``);
* :data:`CREATED_SQL` — value and count of spendable outputs created per day.

:class:`Matrix` holds the result as sparse COO arrays on a continuous day axis, the input of
every function in :mod:`btcmacro.chain.metrics`.

The second aggregation reads the per-script ``flows`` instead: :data:`BAND_SQL` (supply held by
scripts whose balance lies in one band) and :func:`balance_bands_sql` (supply and number of
scripts in every band of :data:`BALANCE_BANDS` at once, one window pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from btcmacro.chain.index import ChainIndex
from btcmacro.chain.lifecycle import KEY_SQL

__all__ = ["Matrix", "MATRIX_SQL", "CREATED_SQL", "build_matrix", "matrix_from_columns", "BAND_SQL", "band_supply",
           "BALANCE_BANDS", "BalanceBands", "balance_band_key", "balance_bands_sql", "balance_bands",
           "scripts_balance", "has_flows"]

SAT = 100_000_000

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

    def days(t, col):
        return t.column(col).to_numpy().astype("datetime64[D]")

    def ints(t, col):
        return t.column(col).to_numpy().astype(np.int64)

    return matrix_from_columns(days(cr, "day"), ints(cr, "value"), ints(cr, "n"),
                               days(mx, "create_day"), days(mx, "spend_day"), ints(mx, "value"), ints(mx, "n"),
                               cp.hash_hex if cp else None, cp.height if cp else None)


def matrix_from_columns(cdays: np.ndarray, cvalue: np.ndarray, cn: np.ndarray, mcreate: np.ndarray,
                        mspend: np.ndarray, mvalue: np.ndarray, mn: np.ndarray, tip_hash: str | None = None,
                        tip_height: int | None = None) -> Matrix:
    """A :class:`Matrix` from the result columns of :data:`CREATED_SQL` (``day``, ``value``,
    ``n``) and :data:`MATRIX_SQL` (``create_day``, ``spend_day``, ``value``, ``n``), whichever
    engine ran them (days as ``datetime64[D]``, the rest int64)."""
    if cdays.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Matrix(np.zeros(0, "datetime64[D]"), empty, empty, empty, empty, empty, empty)
    first, last = cdays.min(), cdays.max()
    if mcreate.size:
        first = min(first, mcreate.min())
        last = max(last, mspend.max())
    days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
    created = np.zeros(days.size, dtype=np.int64)
    created_n = np.zeros(days.size, dtype=np.int64)
    ci = (cdays - first).astype(np.int64)
    created[ci] = cvalue
    created_n[ci] = cn
    if mcreate.size:
        c = (mcreate - first).astype(np.int64)
        s = (mspend - first).astype(np.int64)
        value, n = np.asarray(mvalue, dtype=np.int64), np.asarray(mn, dtype=np.int64)
    else:
        c = s = value = n = np.zeros(0, dtype=np.int64)
    return Matrix(days, c, s, value, n, created, created_n, tip_hash, tip_height)


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


#: address-balance cohorts, ``(label, lower edge in satoshis)``: a band runs from its edge
#: (inclusive) to the next band's (exclusive), the last one is open. These are the decade cohorts
#: of Glassnode's BTC "Supply by Wallet Size" breakdown (studio.glassnode.com, metric
#: ``breakdowns.SupplyByWalletSize``: <0.001, 0.001-0.01, ..., 10k-100k, >100k BTC); there a
#: balance is an address's, here a script's (see :func:`balance_bands`).
BALANCE_BANDS: list[tuple[str, int]] = [
    ("<0.001", 0), ("0.001-0.01", SAT // 1000), ("0.01-0.1", SAT // 100), ("0.1-1", SAT // 10),
    ("1-10", SAT), ("10-100", 10 * SAT), ("100-1k", 100 * SAT), ("1k-10k", 1_000 * SAT),
    ("10k-100k", 10_000 * SAT), (">100k", 100_000 * SAT),
]


def balance_band_key(label: str) -> str:
    """Series key of a :data:`BALANCE_BANDS` label: ``"<0.001"`` → ``lt_0p001``, ``"0.1-1"`` →
    ``0p1_1``, ``">100k"`` → ``gt_100k`` (published as ``chain/supply_band_<key>`` and
    ``chain/addresses_band_<key>``)."""
    return label.replace("<", "lt_").replace(">", "gt_").replace("-", "_").replace(".", "p")


def _band_case(expr: str, edges: list[int]) -> str:
    """``CASE`` giving the index of the band ``expr`` falls in (-1 below the first edge)."""
    whens = " ".join(f"WHEN {expr} >= {e} THEN {i}" for i, e in reversed(list(enumerate(edges))))
    return f"CASE {whens} ELSE -1 END"


def balance_bands_sql(edges: list[int]) -> str:
    """SQL giving, per (day, band), the change of the supply and of the number of scripts held in
    each balance band, for every band at once.

    Band ``i`` holds the scripts whose balance at the end of the day lies in ``[edges[i],
    edges[i + 1])`` satoshis (the last band is open). One window pass: per script and day with a
    non-zero net flow ``d``, the running balance ``bal`` (window sum over the script's days) and
    the balance before that day, ``bal - d``, give the new band ``nb`` and the previous band
    ``pb`` (a script first seen had 0, in band 0 when ``edges[0] == 0``). A script that stays in
    its band changes it by ``d``; one that moves leaves ``pb`` with ``-(bal - d)`` and enters
    ``nb`` with ``+bal``. The count changes the same way for scripts with a positive balance.
    The result rows ``(day, band, dv, dn)`` sum these changes; a cumulative sum over days (numpy,
    :func:`balance_bands`) gives the levels.

    Parameters
    ----------
    edges
        Increasing lower edges of the bands, in satoshis (non-negative integers).

    Returns
    -------
    str
        Plain SQL over ``flows`` and ``blocks`` (no dialect-specific functions).
    """
    e = [int(x) for x in edges]
    if not e or any(x < 0 for x in e) or any(b <= a for a, b in zip(e, e[1:])):
        raise ValueError(f"band edges must be increasing non-negative integers: {edges!r}")
    return f"""
WITH f AS (
    SELECT fl.script_key, b.day, CAST(sum(fl.delta) AS BIGINT) AS d
    FROM flows fl JOIN blocks b ON b.height = fl.height
    GROUP BY 1, 2 HAVING sum(fl.delta) <> 0),
r AS (
    SELECT day, d,
           CAST(sum(d) OVER (PARTITION BY script_key ORDER BY day ROWS UNBOUNDED PRECEDING) AS BIGINT) AS bal
    FROM f),
t AS (
    SELECT day, d, bal, bal - d AS prev, {_band_case("bal", e)} AS nb, {_band_case("bal - d", e)} AS pb
    FROM r),
x AS (
    SELECT t.day,
           CASE WHEN s.side = 0 THEN t.nb ELSE t.pb END AS band,
           CASE WHEN s.side = 1 THEN -t.prev WHEN t.nb = t.pb THEN t.d ELSE t.bal END AS dv,
           CASE WHEN s.side = 1 THEN -(CASE WHEN t.prev > 0 THEN 1 ELSE 0 END)
                ELSE (CASE WHEN t.bal > 0 THEN 1 ELSE 0 END)
                     - (CASE WHEN t.nb = t.pb AND t.prev > 0 THEN 1 ELSE 0 END) END AS dn
    FROM t CROSS JOIN (VALUES (0), (1)) AS s(side)
    WHERE s.side = 0 OR t.nb <> t.pb)
SELECT day, band, CAST(sum(dv) AS BIGINT) AS dv, CAST(sum(dn) AS BIGINT) AS dn
FROM x WHERE band >= 0
GROUP BY 1, 2 HAVING sum(dv) <> 0 OR sum(dn) <> 0
ORDER BY 1, 2
"""


class BalanceBands(NamedTuple):
    """Daily supply and number of scripts per balance band (rows = bands, columns = days).

    Attributes
    ----------
    supply
        Satoshis held at the end of each day by the scripts in each band (int64).
    addresses
        Number of scripts with a positive balance in each band at the end of each day (int64).
    """

    supply: np.ndarray
    addresses: np.ndarray


def balance_bands(index: ChainIndex, days: np.ndarray, edges: list[int] | None = None) -> BalanceBands:
    """Supply and script count of every address-balance band, each day, in one SQL pass.

    Parameters
    ----------
    index
        An open chain index (its connection's ``flows`` view covers rows and parquet parts).
    days
        The day axis (``Matrix.days``); every day with blocks must lie on it.
    edges
        Increasing lower band edges in satoshis; default the edges of :data:`BALANCE_BANDS`.
        Band ``i`` is ``[edges[i], edges[i + 1])``, the last is open; balances below
        ``edges[0]`` are in no band.

    Returns
    -------
    BalanceBands
        ``supply`` and ``addresses``, each ``int64`` of shape ``(len(edges), len(days))``.
        With ``edges[0] == 0`` the supply bands add up to the supply held by all scripts.

    Raises
    ------
    ValueError
        Edges not increasing non-negative integers, or a day with flows outside ``days``.

    Notes
    -----
    A "script" is one scriptPubKey (what explorers show as an address balance): P2PK outputs
    and the P2PKH address of the same key are different scripts, and one owner's many
    addresses are counted separately. ``band_supply(index, days, lo, hi)`` computes one band
    with its own window pass; this computes all of them with one (see
    :func:`balance_bands_sql`).

    References
    ----------
    Glassnode Studio, "Supply by Wallet Size" (``breakdowns.SupplyByWalletSize``), BTC cohorts
    <0.001 to >100k BTC.
    """
    e = [lo for _, lo in BALANCE_BANDS] if edges is None else [int(x) for x in edges]
    sql = balance_bands_sql(e)
    supply = np.zeros((len(e), days.size), dtype=np.int64)
    count = np.zeros((len(e), days.size), dtype=np.int64)
    t = index.con.execute(sql).fetchnumpy()
    if t["day"].size:
        if not days.size:
            raise ValueError("flows on days outside the day axis (empty axis)")
        di = (np.asarray(t["day"]).astype("datetime64[D]") - days[0]).astype(np.int64)
        if di.min() < 0 or di.max() >= days.size:
            raise ValueError(f"flows on days outside the day axis {days[0]}..{days[-1]}")
        bi = np.asarray(t["band"], dtype=np.int64)
        np.add.at(supply, (bi, di), np.asarray(t["dv"], dtype=np.int64))
        np.add.at(count, (bi, di), np.asarray(t["dn"], dtype=np.int64))
    return BalanceBands(np.cumsum(supply, axis=1), np.cumsum(count, axis=1))


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
