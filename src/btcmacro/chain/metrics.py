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
    dates = pd.to_datetime(m.days.astype("datetime64[ns]"))
    out = {}
    for k in METRIC_KEYS:
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
