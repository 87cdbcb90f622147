"""Derivatives, flows, sentiment and corporate treasuries.

Units are reconciled here:

* Funding: the venue file publishes an *annualised percent*; the Binance daily file publishes the
  *mean 8-hour rate as a fraction*. The metric is annualised percent for both: an 8-hour rate r
  is ``r * 3 * 365 * 100`` percent a year (three fundings a day, simple, not compounded).
* Spot-ETF flows: Farside publishes US$ millions; the metrics are USD.
* Open interest is USD. The Binance series is the BTCUSDT perpetual only, not all exchanges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import declare
from .common import MILLION, asof_align, pct_change_over, with_detail

FUNDING_VENUES, FUNDING_BINANCE = "venues/funding_mean", "binance/funding_rate"
OI_VENUES, OI_BINANCE = "venues/open_interest", "binance/open_interest"
ETF, STABLE, FNG = "farside/etf_netflow", "defillama/stablecoin_supply", "alternative/fear_greed"
CMC, YAHOO = "cmc/btc_close", "yahoo/btc_close"
MSTR_BTC, MSTR_COST = "sec/mstr_btc_acquired", "sec/mstr_total_cost"
MSTR_PRICE, MSTR_HOLD = "sec/mstr_avg_price", "sec/mstr_holdings"
MSTR_INFERRED = "sec/mstr_inferred"

FUNDINGS_PER_DAY = 3
DAYS_PER_YEAR = 365

# ---------------------------------------------------------------------------------------------
# pure functions: funding and open interest
# ---------------------------------------------------------------------------------------------


def annualise_8h_rate(rate_8h: pd.Series) -> pd.Series:
    """Mean 8-hour funding rate (fraction) to annualised percent: r x 3 x 365 x 100.

    References
    ----------
    Binance, "Introduction to Binance Futures Funding Rates" (funding every 8 hours);
    annualisation without compounding as in exchange funding dashboards.
    """
    return rate_8h.dropna() * FUNDINGS_PER_DAY * DAYS_PER_YEAR * 100.0


def rolling_mean_days(s: pd.Series, days: int = 30, min_share: float = 0.8) -> pd.Series:
    """Mean of the observations in the trailing ``days`` calendar days (at least
    ``min_share * days`` of them, else NaN)."""
    s = s.dropna()
    r = s.rolling(f"{days}D")
    return r.mean().where(r.count() >= min_share * days)


def oi_change(oi_usd: pd.Series, days: int = 30) -> pd.Series:
    """Fractional change of open interest against the latest value at least ``days`` days earlier.

    References
    ----------
    Open interest as reported by the exchange (Binance futures ``openInterestHist``).
    """
    return pct_change_over(oi_usd.dropna(), days)


# ---------------------------------------------------------------------------------------------
# pure functions: spot-ETF flows
# ---------------------------------------------------------------------------------------------


def flows_usd(flows_musd: pd.Series) -> pd.Series:
    """Farside daily totals (US$ millions) in USD.

    References
    ----------
    Farside Investors, "Bitcoin ETF Flow (US$m)", Total column.
    """
    return flows_musd.dropna() * MILLION


def flow_sum_days(flows_musd: pd.Series, n: int) -> pd.Series:
    """Sum of the last ``n`` published daily net flows (US trading days), in USD.

    The detail lists the ``n`` days summed, so a reader can re-add them.

    References
    ----------
    Farside Investors, "Bitcoin ETF Flow (US$m)", Total column.
    """
    f = flows_usd(flows_musd)
    out = f.rolling(n, min_periods=n).sum()
    last = f.iloc[-n:]
    return with_detail(out, days=[{"date": d, "flow_usd": float(v)} for d, v in last.items()])


def cumulative_flow(flows_musd: pd.Series) -> pd.Series:
    """Cumulative net flow into US spot bitcoin ETFs since the first row (launch 2024-01-11), USD."""
    f = flows_usd(flows_musd)
    return with_detail(f.cumsum(), since=f.index[0] if len(f) else None)


def etf_cost_basis(flows_musd: pd.Series, close: pd.Series) -> pd.Series:
    """Estimated break-even price of the money that flowed into US spot ETFs since launch.

    ``basis_t = sum(F_s) / sum(F_s / P_s)`` over flow days ``s <= t``: cumulative net dollars
    divided by the cumulative net BTC those dollars bought or redeemed. It is the price at which
    the coins bought with net new money are worth exactly the net money put in.

    Assumptions, stated because there are no per-fund holdings here:

    * each day's net flow ``F_s`` trades at that day's BTC close ``P_s`` (Farside dates, the
      price source's daily close), so it adds or removes ``F_s / P_s`` BTC; outflows leave at
      that day's price;
    * only flows since launch count: Grayscale GBTC's coins from before its conversion, and their
      cost, are outside this estimate.

    This is dollars per coin, a dollar-weighted *harmonic* mean of prices; the arithmetic form
    ``sum(F P) / sum(F)`` would overstate it. The detail also gives an average-cost variant
    (outflows redeem coins at the running average cost, so only inflows move the basis; about 9%
    higher in late 2025) and the implied BTC held.

    Parameters
    ----------
    flows_musd : pandas.Series
        Daily total net flow in US$ millions.
    close : pandas.Series
        Daily BTC close in USD (taken as of each flow date).

    Returns
    -------
    pandas.Series
        USD per BTC on each flow date (NaN while cumulative net BTC is not positive).

    References
    ----------
    Farside Investors ETF flow table; flows converted to BTC at the day's close (estimate). The
    average-cost variant follows the weighted-average cost formula of IAS 2 para. 27.
    """
    f = flows_usd(flows_musd)
    if f.empty:
        return f
    px = asof_align(f, close)
    ok = px > 0
    f, px = f[ok], px[ok]
    coins = f / px
    net_usd, net_btc = f.cumsum(), coins.cumsum()
    out = (net_usd / net_btc).where(net_btc > 0)
    usd = btc = 0.0
    for flow, p in zip(f.to_numpy(), px.to_numpy()):
        if flow >= 0:
            usd += flow
            btc += flow / p
        elif btc > 0:
            avg = usd / btc
            btc = max(btc + flow / p, 0.0)
            usd = avg * btc
    return with_detail(out, btc_held_estimate=float(net_btc.iloc[-1]), net_flow_usd=float(net_usd.iloc[-1]),
                       average_cost_basis_usd=usd / btc if btc > 0 else None,
                       method="cumulative net USD / cumulative net BTC at each day's close; flows since 2024-01-11")


# ---------------------------------------------------------------------------------------------
# pure functions: stablecoins, sentiment
# ---------------------------------------------------------------------------------------------


def identity(s: pd.Series) -> pd.Series:
    """A provider series as published (missing values dropped), for metrics that are the series.

    References
    ----------
    The provider named in the metric's citation (DefiLlama, venue APIs).
    """
    return s.dropna()


def fear_greed_band(value: float) -> str:
    """alternative.me's label for an index value (0-25 extreme fear ... 76-100 extreme greed)."""
    v = round(value)
    return ("extreme fear" if v <= 25 else "fear" if v <= 46 else "neutral" if v <= 54
            else "greed" if v <= 75 else "extreme greed")


def fear_greed_index(s: pd.Series) -> pd.Series:
    """Crypto Fear & Greed index (0 extreme fear - 100 extreme greed) with its band as detail.

    References
    ----------
    alternative.me, "Crypto Fear & Greed Index". Bands as in alternative.me's own labels (read
    off its published classifications 2018-2026): 0-25 extreme fear, 26-46 fear, 47-54 neutral,
    55-75 greed, 76-100 extreme greed.
    """
    s = s.dropna()
    if s.empty:
        return s
    band = fear_greed_band(float(s.iloc[-1]))
    return with_detail(s, band=band, average_30d=float(s.iloc[-30:].mean()))


# ---------------------------------------------------------------------------------------------
# pure functions: Strategy (MicroStrategy) treasury from 8-K filings
# ---------------------------------------------------------------------------------------------


def strategy_purchases(btc: pd.Series, cost: pd.Series, avg_price: pd.Series | None = None,
                       inferred: pd.Series | None = None, *, tolerance: float = 0.5) -> pd.DataFrame:
    """Clean table of Strategy's 8-K purchases: one row per filing that bought bitcoin.

    * Filings with 0 BTC acquired are not purchases (the transcription carries unrelated figures
      in them, e.g. "holdings" of 202) and are dropped.
    * Where the stated total cost disagrees with BTC x average price by more than a factor
      ``1 + tolerance`` (a transcription slip such as 2,460,000 for US$2.46 billion on
      2025-08-04), the cost is recomputed as BTC x average price and the row is flagged.

    Returns
    -------
    pandas.DataFrame
        Indexed by filing date: ``btc``, ``cost``, ``avg_price``, ``corrected`` (bool),
        ``inferred`` (bool, False when the flag is not supplied).
    """
    df = pd.DataFrame({"btc": btc}).join(pd.DataFrame({"cost": cost}), how="left")
    df["avg_price"] = avg_price.reindex(df.index) if avg_price is not None else np.nan
    df = df[df["btc"] > 0].copy()
    implied = df["btc"] * df["avg_price"]
    ratio = df["cost"] / implied
    bad = implied.notna() & ((ratio > 1 + tolerance) | (ratio < 1 / (1 + tolerance)) | df["cost"].isna())
    df["corrected"] = bad
    df.loc[bad, "cost"] = implied[bad]
    df["inferred"] = (inferred.reindex(df.index).fillna(0) > 0) if inferred is not None else False
    return df.sort_index()


def strategy_average_cost(btc: pd.Series, cost: pd.Series, avg_price: pd.Series | None = None,
                          inferred: pd.Series | None = None) -> pd.Series:
    """Strategy's average cost per BTC: cumulative purchase cost / cumulative BTC bought.

    Summed over the 8-K purchase rows (see :func:`strategy_purchases` for the cleaning). Bitcoin
    acquired outside these filings (about 2,100 BTC by late 2025: the gap between the reported
    holdings and the summed purchases) is not in the sum, so this approximates, and does not
    reproduce, the aggregate average cost Strategy reports.

    References
    ----------
    Strategy Inc. (MicroStrategy) Form 8-K filings, SEC EDGAR (BTC acquired and aggregate
    purchase price per filing); transcription in Sashamine/dat-tracker-next.
    """
    df = strategy_purchases(btc, cost, avg_price, inferred)
    if df.empty:
        return pd.Series(dtype="float64")
    out = df["cost"].cumsum() / df["btc"].cumsum()
    return with_detail(out, btc_bought=float(df["btc"].sum()), cost_usd=float(df["cost"].sum()),
                       filings=int(len(df)),
                       corrected_rows=[d.date().isoformat() for d in df.index[df["corrected"]]],
                       inferred_rows=[d.date().isoformat() for d in df.index[df["inferred"]]])


def strategy_holdings(holdings: pd.Series, btc: pd.Series) -> pd.Series:
    """Strategy's reported BTC holdings after each purchase filing.

    Only filings that bought bitcoin are kept (the 0-BTC filings in the transcription carry a
    meaningless "holdings" figure). The detail compares the holdings with the BTC summed from
    the purchase filings.

    References
    ----------
    Strategy Inc. Form 8-K filings, SEC EDGAR (aggregate bitcoin holdings).
    """
    h = holdings.dropna()
    b = btc.reindex(h.index)
    h = h[b > 0]
    if h.empty:
        return h
    summed = float(btc[(btc > 0) & (btc.index <= h.index[-1])].sum())
    return with_detail(h, summed_purchases_btc=summed, not_in_purchase_filings_btc=float(h.iloc[-1]) - summed)


def strategy_last_purchase(btc: pd.Series, cost: pd.Series, avg_price: pd.Series | None = None) -> pd.Series:
    """BTC bought in each purchase filing; the detail describes the latest one.

    References
    ----------
    Strategy Inc. Form 8-K filings, SEC EDGAR.
    """
    df = strategy_purchases(btc, cost, avg_price)
    if df.empty:
        return pd.Series(dtype="float64")
    d = df.index[-1]
    return with_detail(df["btc"].astype(float), filing_date=d, cost_usd=float(df["cost"].iloc[-1]),
                       avg_price_usd=None if pd.isna(df["avg_price"].iloc[-1]) else float(df["avg_price"].iloc[-1]))


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------


def _m(id, en, zh, unit, category, definition, variants, citation, frequency="daily", kind="number",
       params=()):
    return declare(category, id, en, zh, unit, definition, variants, citation,
                   frequency=frequency, kind=kind, params=params)


_FUND = ("Bybit/OKX/Deribit/Hyperliquid funding (annualised %); Binance 8h funding x 3 x 365 x 100; "
         "Binance, 'Introduction to Binance Futures Funding Rates'")
_FARSIDE = "Farside Investors, Bitcoin ETF Flow (US$m), Total column"
_SEC = "Strategy Inc. Form 8-K filings (SEC EDGAR), transcribed in Sashamine/dat-tracker-next"

_fund_variants = [
    ([FUNDING_VENUES], lambda s, p: identity(s[FUNDING_VENUES]), "mean over the venues reporting that day, annualised %"),
    ([FUNDING_BINANCE], lambda s, p: annualise_8h_rate(s[FUNDING_BINANCE]), "Binance only, 8h mean x 3 x 365"),
]
_oi_variants = [
    ([OI_VENUES], lambda s, p: identity(s[OI_VENUES]), "total over the configured venues (days where all reported)"),
    ([OI_BINANCE], lambda s, p: identity(s[OI_BINANCE]), "Binance BTCUSDT perpetual only, not all exchanges"),
]


def _avg_cost_variants():
    # the transcription's 0/1 "inferred" column flags rows whose date and cost were estimated
    return [
        ([MSTR_BTC, MSTR_COST, MSTR_PRICE, MSTR_INFERRED],
         lambda s, p: strategy_average_cost(s[MSTR_BTC], s[MSTR_COST], s[MSTR_PRICE],
                                            inferred=s[MSTR_INFERRED]), ""),
    ]


METRICS = [
    # --- derivatives
    _m("funding_rate", "BTC perpetual funding rate", "比特幣永續合約資金費率", "annualised percent", "derivatives",
       "Daily mean perpetual-swap funding rate, annualised in percent (8h rate x 3 x 365 x 100).",
       _fund_variants, _FUND),
    _m("funding_rate_30d_avg", "BTC funding rate, 30-day average", "比特幣資金費率30日平均", "annualised percent",
       "derivatives", "Mean of the daily annualised funding rates over the last 30 days.",
       [(i, (lambda s, p, fn=fn: rolling_mean_days(fn(s, p), 30)), n) for i, fn, n in _fund_variants], _FUND),
    _m("open_interest", "BTC perpetual open interest", "比特幣永續合約未平倉量", "USD", "derivatives",
       "Open interest of BTC perpetual swaps in USD: venue total, else Binance BTCUSDT only (not all exchanges).",
       _oi_variants, "Bybit/OKX/Deribit/Hyperliquid APIs; Binance futures openInterestHist (BTCUSDT)"),
    _m("open_interest_change_30d", "BTC open interest, 30-day change", "比特幣未平倉量30日變動率", "fraction",
       "derivatives", "Open interest versus the value 30 days earlier, minus one (same venue set).",
       [(i, (lambda s, p, fn=fn: oi_change(fn(s, p), 30)), n) for i, fn, n in _oi_variants],
       "Bybit/OKX/Deribit/Hyperliquid APIs; Binance futures openInterestHist (BTCUSDT)"),
    # --- flows
    _m("etf_netflow_5d", "Spot BTC ETF net flow, 5 days", "比特幣現貨ETF 5日淨流量", "USD", "flows",
       "Sum of the last 5 daily net flows into US spot bitcoin ETFs (trading days).",
       [([ETF], lambda s, p: flow_sum_days(s[ETF], 5), "")], _FARSIDE),
    _m("etf_netflow_20d", "Spot BTC ETF net flow, 20 days", "比特幣現貨ETF 20日淨流量", "USD", "flows",
       "Sum of the last 20 daily net flows into US spot bitcoin ETFs (trading days).",
       [([ETF], lambda s, p: flow_sum_days(s[ETF], 20), "")], _FARSIDE),
    _m("etf_cumulative_flow", "Spot BTC ETF cumulative net flow", "比特幣現貨ETF累計淨流量", "USD", "flows",
       "Cumulative net flow into US spot bitcoin ETFs since launch (2024-01-11).",
       [([ETF], lambda s, p: cumulative_flow(s[ETF]), "")], _FARSIDE),
    _m("etf_cost_basis", "Spot BTC ETF flow-weighted cost basis (estimate)", "比特幣現貨ETF資金加權成本（估算）",
       "USD", "flows",
       "Cumulative ETF net flow / cumulative BTC it bought, each day's flow at that day's close; an estimate without per-fund holdings.",
       [([ETF, CMC], lambda s, p: etf_cost_basis(s[ETF], s[CMC]), "flows at CoinMarketCap close"),
        ([ETF, YAHOO], lambda s, p: etf_cost_basis(s[ETF], s[YAHOO]), "flows at Yahoo close")],
       _FARSIDE + "; flows priced at the day's close (estimate)"),
    _m("stablecoin_supply", "Stablecoin supply", "穩定幣總供給", "USD", "flows",
       "Total circulating supply of USD stablecoins.",
       [([STABLE], lambda s, p: identity(s[STABLE]), "")], "DefiLlama stablecoins dashboard (total circulating)"),
    _m("stablecoin_supply_change_30d", "Stablecoin supply, 30-day change", "穩定幣供給30日變動率", "fraction",
       "flows", "Stablecoin supply versus 30 days earlier, minus one.",
       [([STABLE], lambda s, p: pct_change_over(identity(s[STABLE]), 30), "")],
       "DefiLlama stablecoins dashboard (total circulating)"),
    # --- sentiment
    _m("fear_greed", "Crypto Fear & Greed index", "加密貨幣恐懼與貪婪指數", "index 0-100", "sentiment",
       "alternative.me Crypto Fear & Greed index: 0 = extreme fear, 100 = extreme greed.",
       [([FNG], lambda s, p: fear_greed_index(s[FNG]), "")], "alternative.me Crypto Fear & Greed Index"),
    # --- corporate treasury
    _m("strategy_holdings_btc", "Strategy BTC holdings", "Strategy（微策略）比特幣持有量", "BTC", "flows",
       "Bitcoin held by Strategy (MicroStrategy) as reported in its latest purchase 8-K.",
       [([MSTR_HOLD, MSTR_BTC], lambda s, p: strategy_holdings(s[MSTR_HOLD], s[MSTR_BTC]), "")],
       _SEC, frequency="irregular"),
    _m("strategy_avg_cost", "Strategy average cost per BTC", "Strategy比特幣平均持有成本", "USD", "flows",
       "Cumulative purchase cost / cumulative BTC bought over Strategy's 8-K purchase filings (transcription slips corrected).",
       _avg_cost_variants(), _SEC, frequency="irregular"),
    _m("strategy_last_purchase_btc", "Strategy latest purchase", "Strategy最近一次購入比特幣數量", "BTC", "flows",
       "BTC bought in Strategy's latest 8-K purchase filing; detail gives date, cost and price.",
       [([MSTR_BTC, MSTR_COST, MSTR_PRICE],
         lambda s, p: strategy_last_purchase(s[MSTR_BTC], s[MSTR_COST], s[MSTR_PRICE]), "")],
       _SEC, frequency="irregular"),
]
