"""Daily UTXO metrics as vectorised sums over the (creation day, spending day) matrix.

Notation (all per :class:`~btcmacro.chain.aggregate.Matrix`): ``M[c, s]`` satoshis created on
day ``c`` and spent on day ``s`` (sparse cells), ``C[d]`` satoshis created on day ``d``, ``P[d]``
the daily USD close, ``U[c, d] = C[c] - sum_{s <= d} M[c, s]`` what is still unspent at the end
of day ``d`` from coins created on day ``c``. Age of a cell is ``s - c`` days.

Conventions, stated once:

* Days are UTC dates of block timestamps. A spend is never dated before its creation day.
* Prices: forward-filled over missing days; days before the first quote are valued at 0 USD
  (2009–2010 coins enter realized cap at zero cost, as Coin Metrics does). A ratio whose
  denominator is 0 is NaN.
* Short-term holders (STH): coins younger than 155 days (``age < 155``); long-term (LTH): the
  rest. The day a coin is created counts as age 0.
* Supply in profit: unspent coins whose creation-day price is *strictly below* today's price;
  in loss: strictly above; coins at exactly today's price are in neither.
* SOPR is the unadjusted ratio (same-day spends included; with daily prices they contribute 1).
* BTC amounts are summed in integer satoshis (exact); USD amounts in float64.

Each function's slow per-cell twin lives in ``tests/chain/test_reference.py``.

References
----------
Glassnode Academy, "SOPR", "Realized Cap", "Supply in Profit", "Short- and Long-Term Holders"
(155-day threshold); Coin Metrics, "CapRealUSD"; "Coin Days Destroyed" (ByteCoin, 2011).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from btcmacro.chain.aggregate import Matrix

__all__ = [
    "STH_DAYS", "HODL_BANDS", "METRIC_KEYS", "align_prices", "supply", "realized_cap",
    "realized_price", "realized_pl", "sopr", "cdd", "holdings", "hodl_waves",
    "daily_metrics_from_matrix", "unspent_by_creation_day", "urpd",
    "hodl_key", "HODL_KEYS", "SHARE_KEYS", "supply_aged", "hodl_band_supply", "supply_shares",
    "hodl_on_day", "day_index",
]

SAT = 100_000_000
STH_DAYS = 155
#: HODL wave age bands in days: (label, lower inclusive, upper exclusive)
HODL_BANDS: list[tuple[str, int, int]] = [
    ("<1d", 0, 1), ("1d-1w", 1, 7), ("1w-1m", 7, 30), ("1m-3m", 30, 90), ("3m-6m", 90, 180),
    ("6m-12m", 180, 365), ("1y-2y", 365, 730), ("2y-3y", 730, 1095), ("3y-5y", 1095, 1825),
    ("5y-7y", 1825, 2555), ("7y-10y", 2555, 3650), (">10y", 3650, 1 << 30),
]
METRIC_KEYS = (
    "realized_cap", "realized_price", "realized_profit_usd", "realized_loss_usd",
    "net_realized_pl_usd", "sopr", "sth_sopr", "lth_sopr", "supply_in_profit", "supply_in_loss",
    "sth_supply", "lth_supply", "sth_cost_basis", "lth_cost_basis", "cdd",
)
UNITS = {
    "realized_cap": "USD", "realized_price": "USD", "realized_profit_usd": "USD",
    "realized_loss_usd": "USD", "net_realized_pl_usd": "USD", "sopr": "ratio", "sth_sopr": "ratio",
    "lth_sopr": "ratio", "supply_in_profit": "BTC", "supply_in_loss": "BTC", "sth_supply": "BTC",
    "lth_supply": "BTC", "sth_cost_basis": "USD", "lth_cost_basis": "USD", "cdd": "BTC-days",
}


def align_prices(m: Matrix, prices: pd.Series | np.ndarray) -> np.ndarray:
    """Daily close on ``m.days``: forward-filled, 0 before the first quote (float64)."""
    if isinstance(prices, np.ndarray):
        p = np.asarray(prices, dtype=np.float64)
        if p.size != m.ndays:
            raise ValueError(f"{p.size} prices for {m.ndays} days")
        return p
    s = pd.Series(prices).copy()
    s.index = pd.to_datetime(s.index).normalize()
    s = s[~s.index.duplicated(keep="last")].sort_index()
    idx = pd.DatetimeIndex(m.days.astype("datetime64[ns]"))
    out = s.reindex(s.index.union(idx)).ffill().reindex(idx).fillna(0.0)
    return out.to_numpy(dtype=np.float64)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)


def supply(m: Matrix) -> np.ndarray:
    """Unspent satoshis at the end of each day (int64)."""
    spent = _bincount_int(m.s, m.value, m.ndays)
    return np.cumsum(m.created) - np.cumsum(spent)


def _bincount_int(idx: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``w`` grouped by ``idx`` (``idx`` sorted ascending, as ``Matrix.s``)."""
    out = np.zeros(n, dtype=np.int64)
    if idx.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    out[idx[starts]] = np.add.reduceat(w.astype(np.int64), starts)
    return out


def realized_cap(m: Matrix, p: np.ndarray) -> np.ndarray:
    """USD: every unspent coin valued at the price of its creation day.

    ``RC[d] = sum_{t<=d} C[t] P[t] - sum_{s<=d} sum_c M[c, s] P[c]``.
    """
    created_usd = m.created / SAT * p
    spent_usd = np.bincount(m.s, weights=m.value / SAT * p[m.c], minlength=m.ndays)
    return np.cumsum(created_usd) - np.cumsum(spent_usd)


def realized_price(m: Matrix, p: np.ndarray) -> np.ndarray:
    """USD per BTC: realized cap / supply."""
    return _div(realized_cap(m, p), supply(m) / SAT)


def realized_pl(m: Matrix, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(realized profit, realized loss) per spending day in USD, both ≥ 0."""
    v = m.value / SAT
    diff = (p[m.s] - p[m.c]) * v
    profit = np.bincount(m.s, weights=np.where(diff > 0, diff, 0.0), minlength=m.ndays)
    loss = np.bincount(m.s, weights=np.where(diff < 0, -diff, 0.0), minlength=m.ndays)
    return profit, loss


def sopr(m: Matrix, p: np.ndarray, cohort: str = "all") -> np.ndarray:
    """Spent Output Profit Ratio: value at spend price / value at creation price, per day.

    ``cohort`` is ``"all"``, ``"sth"`` (age < 155 d) or ``"lth"`` (age ≥ 155 d).
    """
    age = m.s - m.c
    if cohort == "all":
        sel = np.ones(m.s.size, dtype=bool)
    elif cohort == "sth":
        sel = age < STH_DAYS
    elif cohort == "lth":
        sel = age >= STH_DAYS
    else:
        raise ValueError(f"unknown cohort {cohort!r}")
    v = m.value[sel] / SAT
    s, c = m.s[sel], m.c[sel]
    num = np.bincount(s, weights=v * p[s], minlength=m.ndays)
    den = np.bincount(s, weights=v * p[c], minlength=m.ndays)
    return _div(num, den)


def cdd(m: Matrix) -> np.ndarray:
    """Coin-days destroyed per spending day, in BTC-days (exact integer sat-days / 1e8)."""
    return _bincount_int(m.s, m.value * (m.s - m.c), m.ndays) / SAT


def holdings(m: Matrix, p: np.ndarray, *, bands: list[tuple[str, int, int]] | None = None) -> dict[str, np.ndarray]:
    """Metrics that need the unspent vector ``U[:, d]`` of every day, computed in one sweep.

    Returns satoshi (int64) arrays ``supply_in_profit``, ``supply_in_loss``, ``sth_supply``,
    ``lth_supply``, USD float arrays ``sth_cost_usd``, ``lth_cost_usd`` (unspent value at creation
    price) and, per HODL band label, the band's satoshis (``band:<label>``).
    """
    D = m.ndays
    bands = HODL_BANDS if bands is None else bands
    U = np.zeros(D, dtype=np.int64)
    out = {k: np.zeros(D, dtype=np.int64) for k in ("supply_in_profit", "supply_in_loss", "sth_supply", "lth_supply")}
    sth_usd = np.zeros(D)
    lth_usd = np.zeros(D)
    band_out = {lab: np.zeros(D, dtype=np.int64) for lab, _, _ in bands}
    # cells are sorted by s; slice boundaries for each spend day
    bounds = np.searchsorted(m.s, np.arange(D + 1))
    for d in range(D):
        U[d] += m.created[d]
        lo, hi = bounds[d], bounds[d + 1]
        if hi > lo:
            U[m.c[lo:hi]] -= m.value[lo:hi]  # c is unique within one spend day
        u = U[: d + 1]
        pd_ = p[: d + 1]
        pday = p[d]
        out["supply_in_profit"][d] = u[pd_ < pday].sum()
        out["supply_in_loss"][d] = u[pd_ > pday].sum()
        k = max(0, d - STH_DAYS + 1)  # creation days with age < 155
        out["sth_supply"][d] = u[k:].sum()
        out["lth_supply"][d] = u[:k].sum()
        sth_usd[d] = float(np.dot(u[k:], pd_[k:])) / SAT
        lth_usd[d] = float(np.dot(u[:k], pd_[:k])) / SAT
        # age a = d - c  ->  reversed cumulative sum gives supply by age
        cs = np.concatenate(([0], np.cumsum(u[::-1])))
        for lab, a0, a1 in bands:
            band_out[lab][d] = cs[min(a1, d + 1)] - cs[min(a0, d + 1)]
    res: dict[str, np.ndarray] = dict(out)
    res["sth_cost_usd"] = sth_usd
    res["lth_cost_usd"] = lth_usd
    for lab, arr in band_out.items():
        res[f"band:{lab}"] = arr
    return res


def hodl_waves(m: Matrix, p: np.ndarray | None = None) -> pd.DataFrame:
    """Share of supply per age band (columns = :data:`HODL_BANDS` labels), rows = days."""
    h = holdings(m, np.zeros(m.ndays) if p is None else p)
    tot = supply(m).astype(np.float64)
    data = {lab: _div(h[f"band:{lab}"].astype(np.float64), tot) for lab, _, _ in HODL_BANDS}
    return pd.DataFrame(data, index=pd.DatetimeIndex(m.days.astype("datetime64[ns]"), name="date"))


def daily_metrics_from_matrix(m: Matrix, prices: pd.Series | np.ndarray) -> dict[str, pd.DataFrame]:
    """All :data:`METRIC_KEYS` as ``{key: DataFrame(date, value)}`` (see :func:`api.daily_metrics`)."""
    p = align_prices(m, prices)
    rc = realized_cap(m, p)
    sup = supply(m)
    profit, loss = realized_pl(m, p)
    h = holdings(m, p)
    vals = {
        "realized_cap": rc,
        "realized_price": _div(rc, sup / SAT),
        "realized_profit_usd": profit,
        "realized_loss_usd": loss,
        "net_realized_pl_usd": profit - loss,
        "sopr": sopr(m, p, "all"),
        "sth_sopr": sopr(m, p, "sth"),
        "lth_sopr": sopr(m, p, "lth"),
        "supply_in_profit": h["supply_in_profit"] / SAT,
        "supply_in_loss": h["supply_in_loss"] / SAT,
        "sth_supply": h["sth_supply"] / SAT,
        "lth_supply": h["lth_supply"] / SAT,
        "sth_cost_basis": _div(h["sth_cost_usd"], h["sth_supply"] / SAT),
        "lth_cost_basis": _div(h["lth_cost_usd"], h["lth_supply"] / SAT),
        "cdd": cdd(m),
    }
    return _frames(m, vals, METRIC_KEYS)


def _frames(m: Matrix, vals: dict, keys) -> dict[str, pd.DataFrame]:
    """``{key: DataFrame(date, value)}`` over the matrix's days, tagged with its tip and unit."""
    dates = pd.to_datetime(m.days.astype("datetime64[ns]"))
    out = {}
    for k in keys:
        f = pd.DataFrame({"date": dates, "value": np.asarray(vals[k], dtype=np.float64)})
        f.attrs.update(tip_hash=m.tip_hash, height=m.tip_height, unit=UNITS[k], source="chain")
        out[k] = f
    return out


def unspent_by_creation_day(m: Matrix, d: int) -> np.ndarray:
    """``U[:, d]``: satoshis created on each day ``c <= d`` and still unspent at the end of day ``d``."""
    if not 0 <= d < m.ndays:
        raise ValueError(f"day index {d} outside 0..{m.ndays - 1}")
    u = m.created[: d + 1].copy()
    hi = np.searchsorted(m.s, d, side="right")  # cells are sorted by spend day
    np.subtract.at(u, m.c[:hi], m.value[:hi])
    return u


def urpd(m: Matrix, prices: pd.Series | np.ndarray, day, *, buckets: int | np.ndarray = 100) -> pd.DataFrame:
    """UTXO Realized Price Distribution: supply at the end of ``day`` by the price it last moved at.

    Each unspent coin is placed at the close of its creation day (forward-filled; coins from
    before the first quote at 0 USD) and the supply is summed per price bucket.

    Parameters
    ----------
    day
        A date (``"2024-06-24"``) or a day index into ``m.days``.
    buckets
        Number of equal-width buckets from 0 to the highest creation price among unspent coins,
        or explicit bucket edges in USD (ascending).

    Returns
    -------
    pandas.DataFrame
        ``price_low``, ``price_high`` (USD, bucket ``[low, high)``; the last bucket includes its
        top) and ``btc``; the BTC column sums to the day's supply.

    References
    ----------
    Glassnode Academy, "UTXO Realized Price Distribution (URPD)".
    """
    d = day if isinstance(day, (int, np.integer)) else int((np.datetime64(pd.Timestamp(day).date(), "D") - m.days[0])
                                                           .astype(np.int64))
    u = unspent_by_creation_day(m, d)
    p = align_prices(m, prices)[: d + 1]
    held = u > 0
    if isinstance(buckets, (int, np.integer)):
        top = float(p[held].max()) if held.any() else 1.0
        edges = np.linspace(0.0, top if top > 0 else 1.0, int(buckets) + 1)
    else:
        edges = np.asarray(buckets, dtype=np.float64)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, edges.size - 2)
    sat = np.bincount(idx[held], weights=u[held].astype(np.float64), minlength=edges.size - 1)
    return pd.DataFrame({"price_low": edges[:-1], "price_high": edges[1:], "btc": sat / SAT})


# --------------------------------------------------------------------------------------------
# HODL waves and supply shares as daily series (published as chain/hodl_* and chain/*_pct)
# --------------------------------------------------------------------------------------------


def hodl_key(label: str) -> str:
    """Series key of a :data:`HODL_BANDS` label: ``"<1d"`` → ``lt_1d``, ``"1d-1w"`` → ``1d_1w``,
    ``">10y"`` → ``gt_10y`` (published as ``chain/hodl_<key>_pct`` and ``chain/hodl_<key>_btc``)."""
    return label.replace("<", "lt_").replace(">", "gt_").replace("-", "_")


#: keys added by :func:`supply_shares`, in order: supply in profit / loss as percent of supply,
#: then each HODL band as percent of supply and in BTC
SHARE_KEYS: tuple[str, ...] = (
    ("supply_in_profit_pct", "supply_in_loss_pct")
    + tuple(f"hodl_{hodl_key(lab)}_pct" for lab, _, _ in HODL_BANDS)
    + tuple(f"hodl_{hodl_key(lab)}_btc" for lab, _, _ in HODL_BANDS)
)
HODL_KEYS = SHARE_KEYS[2:]
UNITS.update({k: ("BTC" if k.endswith("_btc") else "percent") for k in SHARE_KEYS})


def supply_aged(m: Matrix, age: int) -> np.ndarray:
    """Unspent satoshis at the end of each day in coins at least ``age`` days old (int64).

    Vectorised over the cells, with no per-day loop: with ``CC`` the cumulative creations,

    ``A[d] = CC[d - age] - sum of M[c, s] over cells with s <= d and c <= d - age``,

    and a cell (c, s) enters that sum from day ``max(s, c + age)`` on, so the second term is a
    cumulative sum of the cells binned at that day. ``age = 0`` gives :func:`supply`.
    """
    D = m.ndays
    if age >= D:
        return np.zeros(D, dtype=np.int64)
    cc = np.cumsum(m.created)
    made = np.zeros(D, dtype=np.int64)
    made[age:] = cc[: D - age]
    enter = np.maximum(m.s, m.c + age)
    keep = enter < D
    # float64 bincount is exact here: every partial sum is an integer below 2**53 satoshis
    gone = np.bincount(enter[keep], weights=m.value[keep].astype(np.float64), minlength=D)
    return made - np.cumsum(np.rint(gone).astype(np.int64))


def _supply_aged_many(m: Matrix, ages) -> dict[int, np.ndarray]:
    """:func:`supply_aged` for several ages in one pass over the cells.

    Cells are binned once by (age bucket between consecutive ``ages``, day): a cell older than
    ``a`` at its spend enters at ``s``, a younger one at ``c + a``, and binning the younger
    cells at ``c`` and shifting the histogram by ``a`` gives the latter for every ``a``.
    """
    D = m.ndays
    edges = np.array(sorted({int(a) for a in ages if 0 <= a < D}), dtype=np.int64)
    out: dict[int, np.ndarray] = {int(a): np.zeros(D, dtype=np.int64) for a in ages if a >= D}
    if edges.size == 0:
        return out
    cc = np.cumsum(m.created)
    nb = edges.size
    bucket = np.searchsorted(edges, m.s - m.c, side="right") - 1  # -1: younger than the first edge
    w = m.value.astype(np.float64)
    # float64 bincounts are exact here: every partial sum is an integer below 2**53 satoshis
    hs = np.bincount((bucket + 1) * D + m.s, weights=w, minlength=(nb + 1) * D).reshape(nb + 1, D)
    hc = np.bincount((bucket + 1) * D + m.c, weights=w, minlength=(nb + 1) * D).reshape(nb + 1, D)
    young_s = np.cumsum(hs, axis=0)  # row j: cells younger than edges[j]
    young_c = np.cumsum(hc, axis=0)
    all_s = young_s[-1]
    for j, a in enumerate(edges):
        gone = all_s - young_s[j]
        gone[a:] += young_c[j][: D - a]
        made = np.zeros(D, dtype=np.int64)
        made[a:] = cc[: D - a]
        out[int(a)] = made - np.cumsum(np.rint(gone).astype(np.int64))
    return out


def hodl_band_supply(m: Matrix, bands: list[tuple[str, int, int]] | None = None) -> dict[str, np.ndarray]:
    """Satoshis per HODL band per day, ``{label: int64 array}``: ``supply_aged(a0) - supply_aged(a1)``.

    The same figures as the ``band:<label>`` arrays of :func:`holdings`, computed without its
    per-day sweep, in one pass over the cells (``tests/chain/test_hodl_urpd_publish.py`` checks
    it against :func:`holdings`, :func:`supply_aged` and a per-coin loop).

    References
    ----------
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    bands = HODL_BANDS if bands is None else bands
    aged = _supply_aged_many(m, [a for _, a0, a1 in bands for a in (a0, a1)])
    return {lab: aged[a0] - aged[a1] for lab, a0, a1 in bands}


def supply_shares(m: Matrix, daily: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The :data:`SHARE_KEYS` series as ``{key: DataFrame(date, value)}``.

    Parameters
    ----------
    m
        The matrix the ``daily`` frames were computed from.
    daily
        :func:`daily_metrics_from_matrix` output (its ``supply_in_profit`` / ``supply_in_loss``
        are reused, so the per-day sweep of :func:`holdings` runs once).

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``supply_in_profit_pct`` and ``supply_in_loss_pct``: percent of the day's supply (coins
        at exactly today's price are in neither, so the two need not add up to 100);
        ``hodl_<band>_pct``: percent of the day's supply per :data:`HODL_BANDS` band (the bands
        add up to 100); ``hodl_<band>_btc``: the band in BTC. NaN where the supply is 0.

    References
    ----------
    Glassnode: supply in profit / in loss (UTXOs priced at creation vs current price).
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    sup = supply(m)
    vals: dict[str, np.ndarray] = {}
    for k in ("supply_in_profit", "supply_in_loss"):
        part = np.rint(daily[k]["value"].to_numpy(dtype=np.float64) * SAT)  # exact satoshis back
        vals[f"{k}_pct"] = 100.0 * _div(part, sup.astype(np.float64))
    bands = hodl_band_supply(m)
    for lab, _, _ in HODL_BANDS:
        vals[f"hodl_{hodl_key(lab)}_pct"] = 100.0 * _div(bands[lab].astype(np.float64), sup.astype(np.float64))
    for lab, _, _ in HODL_BANDS:
        vals[f"hodl_{hodl_key(lab)}_btc"] = bands[lab] / SAT
    return _frames(m, vals, SHARE_KEYS)


def day_index(m: Matrix, day) -> int:
    """Index into ``m.days`` of a date (``"2024-06-24"``, a date or Timestamp) or a day index.

    Raises
    ------
    ValueError
        The day is outside ``m.days``.
    """
    if isinstance(day, (int, np.integer)):
        d = int(day)
    else:
        d = int((np.datetime64(pd.Timestamp(day).date(), "D") - m.days[0]).astype(np.int64)) if m.ndays else -1
    if not 0 <= d < m.ndays:
        raise ValueError(f"day {day} outside the indexed days")
    return d


def hodl_on_day(m: Matrix, day) -> pd.DataFrame:
    """HODL waves of one day: supply at the end of ``day`` per :data:`HODL_BANDS` band.

    Computed from that day's unspent vector alone (:func:`unspent_by_creation_day`), a path
    independent of :func:`hodl_band_supply`.

    Returns
    -------
    pandas.DataFrame
        ``band`` (label), ``key`` (:func:`hodl_key`), ``age_from_days`` (inclusive),
        ``age_to_days`` (exclusive; None for the open top band), ``btc``, ``pct`` (percent of
        the day's supply, NaN if it is 0).

    References
    ----------
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    d = day_index(m, day)
    u = unspent_by_creation_day(m, d)
    age = d - np.arange(d + 1)
    tot = int(u.sum())
    rows = []
    for lab, a0, a1 in HODL_BANDS:
        sat = int(u[(age >= a0) & (age < a1)].sum())
        rows.append({"band": lab, "key": hodl_key(lab), "age_from_days": a0,
                     "age_to_days": None if a1 >= 1 << 30 else a1, "btc": sat / SAT,
                     "pct": 100.0 * sat / tot if tot else float("nan")})
    out = pd.DataFrame(rows)
    out["age_to_days"] = pd.Series([r["age_to_days"] for r in rows], dtype=object)  # ints and None
    return out
