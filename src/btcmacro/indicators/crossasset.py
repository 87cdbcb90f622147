"""Cross-asset: gold against bitcoin, the dollar, equity volatility, credit spreads.

Gold trades on US business days and bitcoin every day, so every gold-BTC comparison is made on
*gold's trading days*: the BTC close of the same calendar date is paired with the gold close
(COMEX GC=F front month via Yahoo; the GLD ETF as the alternative for return-based metrics, since
its returns track gold's less fees). The two closes are a few hours apart (GC=F settles in the New
York afternoon, the BTC daily close is 00:00 UTC), which slightly lowers measured correlations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import Metric, Variant
from .common import pct_change_over, with_detail

GOLD, GLD = "yahoo/gold_close", "yahoo/gld_close"
CMC, YAHOO = "cmc/btc_close", "yahoo/btc_close"
DXY, VIX, HY = "markets/dxy_close", "fred/VIXCLS", "fred/BAMLH0A0HYM2"

# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def on_common_days(btc: pd.Series, gold: pd.Series) -> pd.DataFrame:
    """BTC and gold closes on gold's trading days that also have a BTC close.

    Returns
    -------
    pandas.DataFrame
        Columns ``btc``, ``gold``, indexed by date.
    """
    g = gold.dropna().sort_index()
    b = btc.dropna().sort_index()
    df = pd.DataFrame({"btc": b.reindex(g.index), "gold": g})
    return df.dropna()


def paired_log_returns(btc: pd.Series, gold: pd.Series) -> pd.DataFrame:
    """Daily log returns of BTC and gold between consecutive common trading days."""
    df = on_common_days(btc, gold)
    return np.log(df / df.shift(1)).dropna()


def rolling_corr(btc: pd.Series, gold: pd.Series, days: int = 30, min_obs: int = 15) -> pd.Series:
    """Correlation of daily log returns over the trailing ``days`` calendar days.

    Pearson correlation of BTC and gold log returns on common trading days whose end date lies in
    the window (about 21 returns for 30 days); NaN with fewer than ``min_obs`` returns. A
    return spanning a weekend or holiday covers the same dates for both assets.

    References
    ----------
    Baur, D. G. and Lucey, B. M. (2010), "Is gold a hedge or a safe haven?", *Financial Review*
    45(2) (return correlations of gold with other assets); Pearson correlation of log returns.
    """
    r = paired_log_returns(btc, gold)
    if r.empty:
        return pd.Series(dtype="float64")
    roll = r["btc"].rolling(f"{days}D")
    c = roll.corr(r["gold"]).where(roll.count() >= min_obs)
    return with_detail(c, returns=int(roll.count().iloc[-1]), window_days=days,
                       first_return=r.index[r.index > r.index[-1] - pd.Timedelta(days=days)][0])


def returns_over(btc: pd.Series, gold: pd.Series, days: int = 30) -> pd.DataFrame:
    """BTC and gold returns over the same window ending on each common trading day.

    The window starts on the latest common trading day at least ``days`` calendar days before
    the end, and both returns use that same start.

    Returns
    -------
    pandas.DataFrame
        Columns ``btc``, ``gold`` (fractions) and ``start`` (date), indexed by end date.
    """
    df = on_common_days(btc, gold)
    if df.empty:
        return pd.DataFrame(columns=["btc", "gold", "start"])
    idx = df.index
    pos = idx.searchsorted(idx - pd.Timedelta(days=days), side="right") - 1
    ok = pos >= 0
    start = np.where(ok, idx[np.clip(pos, 0, None)], np.datetime64("NaT"))
    base = df.to_numpy()[np.clip(pos, 0, None)]
    ret = df.to_numpy() / base - 1.0
    ret[~ok] = np.nan
    return pd.DataFrame({"btc": ret[:, 0], "gold": ret[:, 1], "start": start}, index=idx)


def relative_performance(btc: pd.Series, gold: pd.Series, days: int = 30) -> pd.Series:
    """BTC return minus gold return over the same ``days``-day window (fraction; 0.05 = BTC
    outperformed gold by 5 percentage points).

    References
    ----------
    Relative performance (return spread) over a common holding period; Bodie, Kane and Marcus,
    *Investments*, ch. 24 (performance evaluation).
    """
    r = returns_over(btc, gold, days).dropna(subset=["btc", "gold"])
    if r.empty:
        return pd.Series(dtype="float64")
    out = r["btc"] - r["gold"]
    last = r.iloc[-1]
    return with_detail(out, btc_return=float(last["btc"]), gold_return=float(last["gold"]),
                       start=last["start"], window_days=days)


def inverse_move(btc: pd.Series, gold: pd.Series, days: int = 30, min_move: float = 0.0) -> pd.Series:
    """1.0 when BTC and gold moved in opposite directions over the same ``days``-day window.

    Opposite means one return above ``+min_move`` and the other below ``-min_move`` (with the
    default 0 any opposite signs count); else 0.0.

    References
    ----------
    Baur, D. G. and Lucey, B. M. (2010), "Is gold a hedge or a safe haven?", *Financial Review*
    45(2) (opposite moves as the hedge property).
    """
    r = returns_over(btc, gold, days).dropna(subset=["btc", "gold"])
    if r.empty:
        return pd.Series(dtype="float64")
    up_down = (r["btc"] > min_move) & (r["gold"] < -min_move)
    down_up = (r["btc"] < -min_move) & (r["gold"] > min_move)
    out = (up_down | down_up).astype(float)
    last = r.iloc[-1]
    direction = ("btc up, gold down" if up_down.iloc[-1] else "btc down, gold up" if down_up.iloc[-1]
                 else "same direction")
    return with_detail(out, btc_return=float(last["btc"]), gold_return=float(last["gold"]),
                       start=last["start"], window_days=days, min_move=min_move, direction=direction)


def percent_to_bp(s: pd.Series) -> pd.Series:
    """A spread published in percent, in basis points (x 100).

    References
    ----------
    ICE BofA US High Yield Index option-adjusted spread, published by FRED in percent.
    """
    return s.dropna() * 100.0


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------
_GOLD = "COMEX gold futures GC=F front month via Yahoo Finance (GLD ETF as alternative)"
_BL = "Baur and Lucey (2010), 'Is gold a hedge or a safe haven?', Financial Review 45(2)"

#: (btc, gold, note) pairs in order of preference
_PAIRS = [(CMC, GOLD, ""), (YAHOO, GOLD, "Yahoo BTC close"), (CMC, GLD, "GLD ETF for gold")]


def _pair_variants(fn):
    return tuple(Variant((b, g), (lambda s, p, b=b, g=g: fn(s[b], s[g], p)), note) for b, g, note in _PAIRS)


def _m(id, en, zh, unit, definition, variants, citation, kind="number", params=()):
    return Metric(id=id, names={"en": en, "zh-TW": zh}, unit=unit, category="crossasset",
                  definition=definition, variants=tuple(variants), citation=citation,
                  frequency="daily", kind=kind, params=tuple(params))


def _days(p) -> int:
    return int(p.get("gold_btc_window_days", 30))


METRICS = [
    _m("gold_price", "Gold price", "黃金價格", "USD/oz", "COMEX gold front-month futures close (GC=F), USD per troy ounce.",
       [Variant((GOLD,), lambda s, p: s[GOLD].dropna(), "GC=F front month")], _GOLD),
    _m("gold_return_30d", "Gold 30-day return", "黃金30日報酬率", "fraction",
       "Gold close versus the close 30 days earlier (latest trading day on or before), minus one.",
       [Variant((GOLD,), lambda s, p: pct_change_over(s[GOLD], 30), "GC=F"),
        Variant((GLD,), lambda s, p: pct_change_over(s[GLD], 30), "GLD ETF")], _GOLD),
    _m("gold_btc_corr_30d", "Gold-BTC 30-day correlation", "黃金與比特幣30日相關係數", "correlation",
       "Pearson correlation of daily log returns of BTC and gold on common trading days over the last 30 days (about 21 returns).",
       _pair_variants(lambda b, g, p: rolling_corr(b, g, _days(p))), _BL,
       params=("gold_btc_window_days",)),
    _m("gold_btc_relative_30d", "BTC vs gold, 30-day relative return", "比特幣相對黃金30日報酬差", "fraction",
       "BTC 30-day return minus gold 30-day return over the same window (positive = BTC outperformed).",
       _pair_variants(lambda b, g, p: relative_performance(b, g, _days(p))),
       "Bodie, Kane and Marcus, Investments, ch. 24 (return spread over a common period)",
       params=("gold_btc_window_days",)),
    _m("gold_btc_inverse_move", "BTC and gold 30-day returns of opposite sign", "比特幣與黃金30日報酬正負相反", "bool",
       "Whether BTC and gold returns over the same 30-day window had opposite signs (beyond a minimum move).",
       _pair_variants(lambda b, g, p: inverse_move(b, g, _days(p), float(p.get("gold_btc_inverse_min_move", 0.0)))),
       _BL, kind="bool", params=("gold_btc_window_days", "gold_btc_inverse_min_move")),
    _m("dxy", "US Dollar Index (DXY)", "美元指數（DXY）", "index",
       "ICE US Dollar Index close (six-currency basket, 1973 = 100); for the Fed's broad index see dollar_index.",
       [Variant((DXY,), lambda s, p: s[DXY].dropna(), "")], "ICE US Dollar Index (DX-Y.NYB) via market-data vendor"),
    _m("vix", "VIX", "VIX波動率指數", "index", "CBOE Volatility Index close (30-day implied volatility of the S&P 500).",
       [Variant((VIX,), lambda s, p: s[VIX].dropna(), "")], "Cboe Volatility Index via FRED (VIXCLS)"),
    _m("hy_oas", "High-yield OAS", "高收益債選擇權調整利差", "bp",
       "ICE BofA US High Yield Index option-adjusted spread, in basis points (FRED publishes percent).",
       [Variant((HY,), lambda s, p: percent_to_bp(s[HY]), "")],
       "ICE BofA US High Yield Index OAS via FRED (BAMLH0A0HYM2)"),
]
