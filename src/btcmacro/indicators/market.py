"""Bitcoin market: price, moving averages, all-time high and drawdown, volatility, price levels.

The price comes from CoinMarketCap daily closes first (UTC day), then Yahoo Finance, then the Coin
Metrics reference rate; every price metric is declared with those three variants, so the report
shows which source a figure comes from and how far the others differ.

The second half of the module holds pure helpers for *price levels* used by the scenario rules:
swing highs and lows (pivots confirmed ``window`` bars later), a time- or volume-at-price profile
with its high-density zones, and round numbers around a price. They never look past the data they
are given, so a caller that passes data cut at the as-of date gets point-in-time levels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..registry import Metric, Variant
from .common import pct_change_over, with_detail

CMC, YAHOO, CM = "cmc/btc_close", "yahoo/btc_close", "cm/PriceUSD"
PRICE_SOURCES = (CMC, YAHOO, CM)

# ---------------------------------------------------------------------------------------------
# pure functions: trend, drawdown, volatility
# ---------------------------------------------------------------------------------------------


def daily_close(close: pd.Series) -> pd.Series:
    """Daily closes sorted by date, missing values dropped.

    References
    ----------
    CoinMarketCap historical data (daily close at 23:59:59 UTC); Yahoo Finance BTC-USD; Coin
    Metrics ``PriceUSD`` reference rate.
    """
    return close.dropna().sort_index()


def moving_average(close: pd.Series, days: int) -> pd.Series:
    """Simple moving average of the last ``days`` daily closes (calendar days, BTC trades daily).

    The average needs ``days`` closes inside the trailing ``days``-day window; a gap in the data
    leaves NaN instead of averaging fewer days.

    References
    ----------
    Murphy, J. J. (1999), *Technical Analysis of the Financial Markets*, ch. 9 (simple moving
    averages; the 50- and 200-day averages).
    """
    s = daily_close(close)
    r = s.rolling(f"{days}D")
    return r.mean().where(r.count() >= days)


def weekly_closes(close: pd.Series) -> pd.Series:
    """Last daily close of each completed calendar week (weeks end Sunday, UTC)."""
    s = daily_close(close)
    return s.resample("W-SUN").last().dropna()


def moving_average_weeks(close: pd.Series, weeks: int = 200) -> pd.Series:
    """Mean of the last ``weeks`` weekly closes, evaluated every day.

    A weekly close is the last daily close of a Monday-Sunday week (UTC). On each day the
    average takes that day's close as the close of the current, unfinished week together with the
    closes of the ``weeks - 1`` completed weeks before it (the convention of weekly charts, which
    update the running week's bar). On a Sunday it equals the mean of the last ``weeks``
    completed weekly closes.

    References
    ----------
    The 200-week moving average as Bitcoin's long-term floor: Bitcoin Magazine Pro, "200 Week
    Moving Average Heatmap"; weekly closes on Monday-Sunday UTC weeks.
    """
    s = daily_close(close)
    if s.empty:
        return s
    wk = s.resample("W-SUN").last()  # a week without any close stays NaN and breaks the count
    # sum of the (weeks - 1) completed weekly closes before each week
    prev_sum = wk.rolling(weeks - 1).sum().shift(1)
    prev_cnt = wk.rolling(weeks - 1).count().shift(1)
    week_end = s.index + pd.to_timedelta((6 - s.index.day_of_week) % 7, unit="D")
    ps = prev_sum.reindex(week_end).to_numpy()
    pc = prev_cnt.reindex(week_end).to_numpy()
    out = (ps + s.to_numpy()) / weeks
    out = np.where(pc == weeks - 1, out, np.nan)
    return pd.Series(out, index=s.index)


def all_time_high(close: pd.Series) -> pd.Series:
    """Highest daily close up to each date; the detail gives the date of the latest record.

    References
    ----------
    All-time high on daily closes (not intraday highs), CoinMarketCap daily OHLCV.
    """
    s = daily_close(close)
    if s.empty:
        return s
    ath = s.cummax()
    return with_detail(ath, ath_date=s.idxmax(), ath_usd=float(s.max()))


def drawdown_from_ath(close: pd.Series) -> pd.Series:
    """Close divided by the highest earlier-or-same-day close, minus one.

    Zero at a new high, negative below it (-0.25 = 25% under the all-time high); never positive.

    References
    ----------
    Magdon-Ismail, M. and Atiya, A. (2004), "Maximum drawdown", *Risk*, 17(10) (drawdown from the
    running peak).
    """
    s = daily_close(close)
    if s.empty:
        return s
    ath = s.cummax()
    out = s / ath - 1.0
    return with_detail(out, ath_date=s.idxmax(), ath_usd=float(s.max()))


def log_returns(close: pd.Series) -> pd.Series:
    """Daily log returns ln(P_t / P_{t-1}) of the closes."""
    s = daily_close(close)
    return np.log(s / s.shift(1)).dropna()


def realized_vol(close: pd.Series, days: int = 30, periods_per_year: int = 365) -> pd.Series:
    """Annualised realised volatility: sample standard deviation of the last ``days`` daily log
    returns times sqrt(``periods_per_year``) (365: Bitcoin trades every day).

    References
    ----------
    Hull, J. (2018), *Options, Futures, and Other Derivatives*, 10th ed., sec. 15.4 (estimating
    volatility from historical data).
    """
    r = log_returns(close)
    roll = r.rolling(f"{days}D")
    return (roll.std(ddof=1) * math.sqrt(periods_per_year)).where(roll.count() >= days)


def period_return(close: pd.Series, days: int = 30) -> pd.Series:
    """Fractional change of the close against the latest close at least ``days`` days earlier.

    References
    ----------
    Simple (arithmetic) holding-period return P_t / P_{t-days} - 1.
    """
    return pct_change_over(daily_close(close), days)


# ---------------------------------------------------------------------------------------------
# pure functions: price levels
# ---------------------------------------------------------------------------------------------


def swing_points(high: pd.Series, low: pd.Series | None = None, *, window: int = 5) -> pd.DataFrame:
    """Swing highs and lows: fractal pivots with ``window`` bars on each side.

    A bar is a swing high when its high is the highest of the ``2 * window + 1`` bars centred on
    it, and strictly higher than the ``window`` bars before it (so a flat top counts once, at its
    first bar). Swing lows mirror this on ``low``. A pivot is known only ``window`` bars after it
    happened, so the last ``window`` bars are never pivots and each row carries the date it was
    confirmed.

    Parameters
    ----------
    high : pandas.Series
        Daily highs (or closes) indexed by date.
    low : pandas.Series, optional
        Daily lows; ``high`` is used when omitted (close-only data).
    window : int
        Bars on each side (5 = a Williams fractal with a wider neighbourhood; 2 = Williams).

    Returns
    -------
    pandas.DataFrame
        Columns ``date``, ``price``, ``kind`` ("high" | "low"), ``confirmed`` (date of the bar
        ``window`` bars later), sorted by date.

    References
    ----------
    Williams, B. (1995), *Trading Chaos* (fractals: a high with lower highs on both sides).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    h = high.dropna().sort_index()
    lo = (low if low is not None else high).dropna().sort_index()
    rows = []
    for series, kind in ((h, "high"), (lo, "low")):
        v = series.to_numpy(dtype="float64")
        idx = series.index
        sign = 1.0 if kind == "high" else -1.0
        x = sign * v
        for i in range(window, len(x) - window):
            left, right = x[i - window:i], x[i + 1:i + window + 1]
            if x[i] > left.max() and x[i] >= right.max():
                rows.append((idx[i], v[i], kind, idx[i + window]))
    out = pd.DataFrame(rows, columns=["date", "price", "kind", "confirmed"])
    return out.sort_values(["date", "kind"]).reset_index(drop=True)


def price_profile(close: pd.Series, *, high: pd.Series | None = None, low: pd.Series | None = None,
                  volume: pd.Series | None = None, bin_pct: float = 0.01) -> pd.Series:
    """Time (or volume) at price: how much of the period was spent in each price bin.

    Bins are geometric, each ``bin_pct`` wide (bin k covers ``[b0 (1+bin_pct)^k, b0
    (1+bin_pct)^(k+1))`` with ``b0`` the lowest price). With ``high`` and ``low`` a day's weight
    is spread evenly, in log price, over the bins its range touches (a market-profile "time price
    opportunity" count); otherwise the whole weight goes to the close's bin. The weight is one
    per day, or that day's ``volume`` (volume at price).

    Returns
    -------
    pandas.Series
        Weight per bin, indexed by the bin's lower edge (USD), summing to the number of days (or
        total volume).

    References
    ----------
    Steidlmayer, J. P. and Koy, K. (1986), *Markets and Market Logic* (market profile,
    time-price opportunities); volume-at-price histograms.
    """
    c = close.dropna().sort_index()
    if c.empty:
        return pd.Series(dtype="float64")
    hi = (high.reindex(c.index).fillna(c) if high is not None else c).to_numpy(dtype="float64")
    lo = (low.reindex(c.index).fillna(c) if low is not None else c).to_numpy(dtype="float64")
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    w = (volume.reindex(c.index).fillna(0.0).to_numpy(dtype="float64") if volume is not None
         else np.ones(len(c)))
    step = math.log1p(bin_pct)
    base = float(lo.min())
    nb = int(math.floor(math.log(float(hi.max()) / base) / step)) + 1
    weights = np.zeros(nb)
    llo, lhi = np.log(lo / base) / step, np.log(hi / base) / step
    for a, b, wt in zip(llo, lhi, w):
        ka, kb = int(math.floor(a)), min(int(math.floor(b)), nb - 1)
        if kb == ka or b - a <= 0:
            weights[ka] += wt
            continue
        # share of the day's log range falling in each bin it touches
        edges = np.arange(ka, kb + 2, dtype="float64")
        seg = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)
        weights[ka:kb + 1] += wt * seg / seg.sum()
    edges_usd = base * np.exp(step * np.arange(nb))
    return pd.Series(weights, index=pd.Index(edges_usd, name="bin_low"))


def cluster_zones(profile: pd.Series, *, top: int = 5, min_share: float = 0.03,
                  bin_pct: float | None = None) -> pd.DataFrame:
    """High-density zones of a price profile: local peaks widened to half their height.

    Each local maximum of the profile is grown bin by bin to both sides while the neighbour
    keeps at least half the peak's weight and is not higher than the bin before it (so two
    peaks never share a zone). Zones holding less than ``min_share`` of the total weight are
    dropped; the ``top`` heaviest remain.

    Parameters
    ----------
    profile : pandas.Series
        Output of :func:`price_profile` (index = bin lower edges, geometric).
    top : int
        How many zones to return.
    min_share : float
        Smallest share of the total weight a zone must hold.
    bin_pct : float, optional
        Bin width; inferred from the index when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``low``, ``high`` (USD), ``peak`` (lower edge of the densest bin), ``weight``,
        ``share``, sorted by weight, heaviest first.

    References
    ----------
    Steidlmayer, J. P. and Koy, K. (1986), *Markets and Market Logic* (high-volume and
    high-time nodes of a market profile act as support and resistance).
    """
    cols = ["low", "high", "peak", "weight", "share"]
    p = profile.dropna()
    if p.empty or p.sum() <= 0:
        return pd.DataFrame(columns=cols)
    edges = p.index.to_numpy(dtype="float64")
    ratio = (1.0 + bin_pct) if bin_pct is not None else (edges[1] / edges[0] if len(edges) > 1 else 1.01)
    w = p.to_numpy(dtype="float64")
    total = w.sum()
    n = len(w)
    used = np.zeros(n, dtype=bool)
    zones = []
    peaks = [i for i in range(n) if w[i] > 0 and (i == 0 or w[i] >= w[i - 1]) and (i == n - 1 or w[i] > w[i + 1])]
    for i in sorted(peaks, key=lambda k: -w[k]):
        if used[i]:
            continue
        half = w[i] / 2.0
        a = i
        while a - 1 >= 0 and not used[a - 1] and w[a - 1] >= half and w[a - 1] <= w[a]:
            a -= 1
        b = i
        while b + 1 < n and not used[b + 1] and w[b + 1] >= half and w[b + 1] <= w[b]:
            b += 1
        used[a:b + 1] = True
        wt = float(w[a:b + 1].sum())
        zones.append((float(edges[a]), float(edges[b] * ratio), float(edges[i]), wt, wt / total))
    out = pd.DataFrame(zones, columns=cols)
    out = out[out["share"] >= min_share].sort_values("weight", ascending=False).head(top)
    return out.reset_index(drop=True)


def round_number_step(price: float) -> float:
    """Spacing of "round" levels for a price: half its power of ten (92,000 -> 5,000)."""
    if not price > 0:
        raise ValueError("price must be positive")
    return 10.0 ** math.floor(math.log10(price)) / 2.0


def round_levels(price: float, *, step: float | None = None, count: int = 2) -> dict[str, list[float]]:
    """The ``count`` round numbers strictly above and strictly below ``price``.

    Parameters
    ----------
    price : float
    step : float, optional
        Spacing of the round numbers; :func:`round_number_step` when omitted.
    count : int
        Levels on each side.

    Returns
    -------
    dict
        ``{"above": [nearest, ...], "below": [nearest, ...], "step": step}``.

    References
    ----------
    Osler, C. L. (2003), "Currency orders and exchange rate dynamics: an explanation for the
    predictive success of technical analysis", *Journal of Finance* 58(5) (orders cluster at
    round numbers).
    """
    step = step or round_number_step(price)
    k = math.floor(price / step)
    below_start = k if k * step < price else k - 1
    above = [(k + i) * step for i in range(1, count + 1)]
    below = [(below_start - i) * step for i in range(count) if (below_start - i) * step > 0]
    return {"above": above, "below": below, "step": step}


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------
_NOTES = {CMC: "", YAHOO: "", CM: "Coin Metrics reference rate"}


def _price_variants(fn) -> tuple[Variant, ...]:
    return tuple(Variant((sid,), (lambda s, p, sid=sid: fn(s[sid], p)), _NOTES[sid]) for sid in PRICE_SOURCES)


def _m(id, en, zh, unit, definition, fn, citation, frequency="daily", kind="number", params=()):
    return Metric(id=id, names={"en": en, "zh-TW": zh}, unit=unit, category="market",
                  definition=definition, variants=_price_variants(fn), citation=citation,
                  frequency=frequency, kind=kind, params=tuple(params))


_PRICE = "CoinMarketCap daily close (UTC); Yahoo Finance and Coin Metrics as alternatives"
_MURPHY = "Murphy (1999), Technical Analysis of the Financial Markets, ch. 9"

METRICS = [
    _m("btc_price", "Bitcoin price", "比特幣價格", "USD", "BTC-USD daily close.",
       lambda s, p: daily_close(s), _PRICE),
    _m("btc_ma_50d", "BTC 50-day moving average", "比特幣50日均線", "USD",
       "Mean of the last 50 daily closes.", lambda s, p: moving_average(s, 50), _MURPHY),
    _m("btc_ma_200d", "BTC 200-day moving average", "比特幣200日均線", "USD",
       "Mean of the last 200 daily closes.", lambda s, p: moving_average(s, 200), _MURPHY),
    _m("btc_ma_200w", "BTC 200-week moving average", "比特幣200週均線", "USD",
       "Mean of the last 200 weekly closes (Mon-Sun UTC weeks; the running week counts with the latest close).",
       lambda s, p: moving_average_weeks(s, 200),
       "Bitcoin Magazine Pro, 200 Week Moving Average Heatmap (weekly closes)"),
    _m("btc_ath", "BTC all-time high (close)", "比特幣歷史新高（收盤價）", "USD",
       "Highest daily close so far; detail gives its date.", lambda s, p: all_time_high(s),
       "All-time high on daily closes, " + _PRICE),
    _m("btc_drawdown_from_ath", "BTC drawdown from all-time high", "比特幣自歷史高點回撤幅度", "fraction",
       "Close / highest close so far - 1: zero at a new high, negative below it (-0.25 = 25% under).",
       lambda s, p: drawdown_from_ath(s), "Magdon-Ismail and Atiya (2004), 'Maximum drawdown', Risk 17(10)"),
    _m("btc_realized_vol_30d", "BTC 30-day realized volatility", "比特幣30日已實現波動率", "fraction",
       "Sample standard deviation of the last 30 daily log returns x sqrt(365), annualised (0.45 = 45%).",
       lambda s, p: realized_vol(s, 30), "Hull (2018), Options, Futures, and Other Derivatives, sec. 15.4"),
    _m("btc_return_30d", "BTC 30-day return", "比特幣30日報酬率", "fraction",
       "Close versus the close 30 days earlier, minus one.", lambda s, p: period_return(s, 30), _PRICE),
]
