"""Bitcoin on-chain indicators: valuation (realized cap, MVRV, NUPL), holder cost bases, profit
taking (SOPR), supply in profit/loss, exchange balances and activity.

Where the figures come from
---------------------------
Each metric lists its variants in order of preference; the evaluator uses the first one with data
and reports the others as alternatives, so a reader sees how far providers differ:

1. the user's own node (``chain/...`` series, written by ``btcmacro chain sync``) whenever the
   catalogue has such a series — btcmacro's own computation from the UTXO set;
2. published provider series (Coin Metrics, Bitcoin Magazine Pro, checkonchain, BGeometrics,
   CryptoQuant), each named in the variant note and in the figure's source. A provider series is
   never relabelled as btcmacro's own computation, and nothing that needs the UTXO set is
   approximated from price data: realized profit/loss, coin-days destroyed and whale supply exist
   only from the own node and are otherwise *unavailable* with that reason.

Units: USD (not millions), BTC, plain ratios, and fractions for shares and growth (0.043 = 4.3%).
Ratios that combine a price with a provider level (price vs STH cost basis) are computed on the
dates both exist, so a figure never pairs today's price with a level nobody has published yet.
"""

from __future__ import annotations

import pandas as pd

from ..registry import Metric, Variant
from .common import change_over, pct_change_over, with_detail

PRICE = "cmc/btc_close"
CM_MVRV, CM_MCAP, CM_RCAP, CM_SUPPLY = "cm/CapMVRVCur", "cm/CapMrktCurUSD", "cm/CapRealUSD", "cm/SplyCur"
CM_ACTIVE = "cm/AdrActCnt"
CQ_MVRV, CQ_NUPL, CQ_RPRICE, CQ_NETFLOW = ("cryptoquant/mvrv", "cryptoquant/nupl",
                                          "cryptoquant/realized_price", "cryptoquant/exchange_netflow")
BMP_STH = "bmp/sth_realized_price"
CO_STH, CO_LTH = "checkonchain/sth_realized_price", "checkonchain/lth_realized_price"
CO_STH_SOPR, CO_LTH_SOPR = "checkonchain/sth_sopr", "checkonchain/lth_sopr"
BG_SOPR, BG_STH_SOPR, BG_LTH_SOPR = "bgeometrics/sopr", "bgeometrics/sth_sopr", "bgeometrics/lth_sopr"
BG_PROFIT, BG_LOSS = "bgeometrics/supply_in_profit", "bgeometrics/supply_in_loss"
BG_RESERVE, BG_NETFLOW = "bgeometrics/exchange_reserve", "bgeometrics/exchange_netflow"


def _chain(name: str) -> str:
    return f"chain/{name}"


NEEDS_NODE = "needs own-node chain data (btcmacro chain sync)"

# citations (the registry ``citation`` and the function docstrings name the same sources)
CITE_REALIZED_CAP = "Carter & Le Calvez, Coin Metrics (2018): realized capitalization"
CITE_MVRV = "Mahmudov & Puell (2018): Bitcoin market-value-to-realized-value (MVRV) ratio"
CITE_MVRV_Z = "Mahmudov & Puell (2018), MVRV Z-score as defined by Glassnode"
CITE_NUPL = "Adamant Research (2019): relative unrealized profit/loss (NUPL), Glassnode definition"
CITE_SOPR = "Shirakashi (2019): spent output profit ratio (SOPR)"
CITE_STH = "Glassnode (2020): short/long-term holder split at 155 days; realized price per cohort"
CITE_SUPPLY_PL = "Glassnode: supply in profit / in loss (UTXOs priced at creation vs current price)"
CITE_REALIZED_PL = "Glassnode: realized profit / loss (value of spent outputs at spend vs creation price)"
CITE_CDD = "ByteCoin (bitcointalk, 2011): coin days destroyed"
CITE_EXCHANGE = "CryptoQuant / BGeometrics: exchange reserve and netflow over labelled exchange addresses"
CITE_ACTIVE = "Coin Metrics: AdrActCnt (unique addresses active in a day as sender or receiver)"
CITE_HODL = "Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved"

# own-node HODL-wave series (chain/hodl_<band>_pct, bands of btcmacro.chain.metrics.HODL_BANDS)
HODL_1Y_PLUS = ("1y_2y", "2y_3y", "3y_5y", "5y_7y", "7y_10y", "gt_10y")  # last moved >= 365 days ago
HODL_UNDER_1M = ("lt_1d", "1d_1w", "1w_1m")  # last moved < 30 days ago

# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def _matched(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The two series restricted to the dates where both have a value."""
    a, b = a.dropna(), b.dropna()
    idx = a.index.intersection(b.index)
    return a.loc[idx], b.loc[idx]


def level(s: pd.Series) -> pd.Series:
    """A published series as is (missing days dropped)."""
    return s.dropna()


def realized_cap_from_mvrv(market_cap_usd: pd.Series, mvrv: pd.Series) -> pd.Series:
    """Realized cap as market cap / MVRV (USD), on the dates both are published.

    Coin Metrics defines ``CapMVRVCur = CapMrktCurUSD / CapRealUSD``, so the quotient returns the
    realized cap exactly (up to the providers' rounding: within 1.3e-5 of the published
    ``CapRealUSD`` on every common day in the snapshot).

    References
    ----------
    Carter & Le Calvez, Coin Metrics (2018): realized capitalization.
    """
    mc, m = _matched(market_cap_usd, mvrv)
    m = m.where(m > 0)
    return (mc / m).dropna()


def splice_before(primary: pd.Series, earlier: pd.Series) -> pd.Series:
    """``primary`` where it is published, ``earlier`` only on dates before ``primary`` starts.

    Used for Coin Metrics realized cap: ``CapRealUSD`` is published directly from 2025-06-27 in
    the snapshot; before that the same quantity is market cap / MVRV. The later dates never mix
    sources, and the splice date is reported in the detail.

    References
    ----------
    Carter & Le Calvez, Coin Metrics (2018): realized capitalization.
    """
    p, e = primary.dropna(), earlier.dropna()
    if p.empty:
        return e
    return pd.concat([e[e.index < p.index[0]], p]).sort_index()


def per_coin(cap_usd: pd.Series, supply_btc: pd.Series) -> pd.Series:
    """Capitalisation divided by circulating supply (USD per BTC), on common dates.

    References
    ----------
    Carter & Le Calvez, Coin Metrics (2018): realized capitalization (realized price = realized
    cap / supply).
    """
    c, s = _matched(cap_usd, supply_btc)
    return (c / s.where(s > 0)).dropna()


def mvrv_from_prices(price: pd.Series, realized_price: pd.Series) -> pd.Series:
    """MVRV as price / realized price (market cap and realized cap share the same supply).

    References
    ----------
    Mahmudov & Puell (2018): Bitcoin market-value-to-realized-value (MVRV) ratio.
    """
    p, r = _matched(price, realized_price)
    return (p / r.where(r > 0)).dropna()


def nupl_from_mvrv(mvrv: pd.Series) -> pd.Series:
    """Net unrealized profit/loss = (market cap − realized cap) / market cap = 1 − 1/MVRV.

    References
    ----------
    Adamant Research (2019): relative unrealized profit/loss (NUPL), Glassnode definition.
    """
    m = mvrv.dropna()
    return (1.0 - 1.0 / m.where(m > 0)).dropna()


def mvrv_zscore(market_cap_usd: pd.Series, mvrv: pd.Series) -> pd.Series:
    """(market cap − realized cap) / standard deviation of market cap over all history to date.

    The standard deviation is *expanding* (every market-cap observation up to and including the
    date, sample ddof=1), so each value uses only data known on its date. The figure depends on
    where the history starts: the embedded Coin Metrics pull starts 2013-01-01, and a provider
    with a different start (or a fixed window) publishes a somewhat different z (e.g. 1.26 vs
    1.20 here on 2025-12-09). The detail gives the start and the standard deviation used.

    References
    ----------
    Mahmudov & Puell (2018), MVRV Z-score as defined by Glassnode.
    """
    mc, m = _matched(market_cap_usd, mvrv)
    rc = mc / m.where(m > 0)
    sd = mc.expanding(min_periods=365).std()
    out = ((mc - rc) / sd).dropna()
    return with_detail(out, history_start=mc.index[0] if len(mc) else None,
                       market_cap_std_usd=float(sd.iloc[-1]) if len(sd) else None)


def growth_over(s: pd.Series, days: int = 30) -> pd.Series:
    """Fractional change versus the latest value at least ``days`` calendar days earlier.

    References
    ----------
    Carter & Le Calvez, Coin Metrics (2018): realized capitalization (30-day growth of realized
    cap measures net capital flowing into the network at cost).
    """
    return pct_change_over(s, days).dropna()


def share_of_supply(part_btc: pd.Series, supply_btc: pd.Series) -> pd.Series:
    """``part`` / circulating supply (fraction), on the dates both are published.

    References
    ----------
    Glassnode: supply in profit / in loss (UTXOs priced at creation vs current price).
    """
    p, s = _matched(part_btc, supply_btc)
    return (p / s.where(s > 0)).dropna()


def share_of_own_total(loss_btc: pd.Series, profit_btc: pd.Series) -> pd.Series:
    """Own-node supply in loss / (in profit + in loss): the node's own total, no other source.

    References
    ----------
    Glassnode: supply in profit / in loss (UTXOs priced at creation vs current price).
    """
    lo, pr = _matched(loss_btc, profit_btc)
    tot = (lo + pr).where(lambda x: x > 0)
    return (lo / tot).dropna()


def share_from_pct(pct: pd.Series) -> pd.Series:
    """A published percent-of-supply series as a fraction (the module's unit for shares).

    References
    ----------
    Glassnode: supply in profit / in loss (UTXOs priced at creation vs current price).
    """
    return (pct.dropna() / 100.0).dropna()


def hodl_share(bands_pct: list[pd.Series]) -> pd.Series:
    """Sum of HODL-wave bands (each in percent of supply) as a fraction, on the dates all exist.

    The detail names the share of each band at the latest date.

    References
    ----------
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    if not bands_pct:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date"))
    df = pd.concat([b.rename(b.name or str(i)) for i, b in enumerate(bands_pct)], axis=1).dropna()
    out = df.sum(axis=1) / 100.0
    if len(out):
        last = df.iloc[-1] / 100.0
        out = with_detail(out, bands={str(k).removeprefix("chain/"): float(v) for k, v in last.items()})
    return out


def with_mean_detail(s: pd.Series, days: int = 7) -> pd.Series:
    """The series, with its trailing ``days``-day mean at the latest point as detail.

    Provider supply-in-loss moves by up to a million BTC from one day to the next (the shared data
    notes: 5.87M-7.45M within Dec 2025), so the report can quote a smoothed level next to the day.
    """
    s = s.dropna()
    m = rolling_mean(s, days, min_obs=max(1, days - 2))
    return with_detail(s, **{f"mean_{days}d": float(m.iloc[-1]) if len(m.dropna()) else None})


def relative_to(price: pd.Series, level_usd: pd.Series) -> pd.Series:
    """price / level − 1 (fraction), on the dates both are published.

    References
    ----------
    Glassnode (2020): short/long-term holder split at 155 days; realized price per cohort.
    """
    p, lv = _matched(price, level_usd)
    out = (p / lv.where(lv > 0) - 1.0).dropna()
    if len(out):
        d = out.index[-1]
        out = with_detail(out, price_usd=float(p.loc[d]), cost_basis_usd=float(lv.loc[d]))
    return out


def rolling_mean(s: pd.Series, days: int, min_obs: int) -> pd.Series:
    """Mean of the observations in the trailing ``days`` calendar days (date−days+1 .. date),
    where at least ``min_obs`` exist (provider series skip a day now and then)."""
    s = s.dropna()
    return s.rolling(f"{days}D", min_periods=min_obs).mean().dropna()


def rolling_sum(s: pd.Series, days: int) -> pd.Series:
    """Sum over the trailing ``days`` calendar days, only where every one of those days has a value
    (a sum with missing days would understate the flow)."""
    s = s.dropna()
    return s.rolling(f"{days}D", min_periods=days).sum().dropna()


def sopr_mean(sopr: pd.Series, days: int = 7) -> pd.Series:
    """Trailing ``days``-day mean SOPR (at least ``days`` − 2 daily values in the window).

    Below 1: coins of that cohort are, on average, being sold below their cost basis.

    References
    ----------
    Shirakashi (2019): spent output profit ratio (SOPR).
    """
    out = rolling_mean(sopr, days, min_obs=max(1, days - 2))
    if len(out):
        out = with_detail(out, below_one=bool(out.iloc[-1] < 1.0), days=days)
    return out


def netflow_from_balance(balance_btc: pd.Series) -> pd.Series:
    """Daily netflow as the day-on-day change of an exchange balance (consecutive days only).

    References
    ----------
    CryptoQuant / BGeometrics: exchange reserve and netflow over labelled exchange addresses.
    """
    b = balance_btc.dropna()
    d = b.diff()
    gap = b.index.to_series().diff().dt.days
    return d[gap == 1].dropna()


def netflow_sum(netflow_btc: pd.Series, days: int = 30) -> pd.Series:
    """Sum of daily exchange netflow (inflow − outflow, BTC) over the trailing ``days`` days.

    References
    ----------
    CryptoQuant / BGeometrics: exchange reserve and netflow over labelled exchange addresses.
    """
    return rolling_sum(netflow_btc, days)


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------


def _m(id, en, zh, unit, definition, variants, citation, *, kind="number", reason="", params=()):
    return Metric(id=id, names={"en": en, "zh-TW": zh}, unit=unit, category="onchain",
                  definition=definition, variants=tuple(variants), citation=citation,
                  frequency="daily", kind=kind, unavailable_reason=reason, params=tuple(params))


def _own(name, fn=None, note="own node"):
    sid = _chain(name)
    return Variant((sid,), fn or (lambda s, p, _i=sid: level(s[_i])), note)


def _provider(sid, note="provider series"):
    return Variant((sid,), lambda s, p, _i=sid: level(s[_i]), note)


def _rcap_cm(s):
    return splice_before(s[CM_RCAP], realized_cap_from_mvrv(s[CM_MCAP], s[CM_MVRV]))


def _rcap_cm_reported(s):
    out = _rcap_cm(s)
    first = s[CM_RCAP].dropna().index
    return with_detail(out, published_from=first[0] if len(first) else None)


def _rcap_derived(s):
    return realized_cap_from_mvrv(s[CM_MCAP], s[CM_MVRV])


_RCAP_CM_NOTE = "Coin Metrics CapRealUSD; before its first day, market cap / MVRV"
_RCAP_DERIVED_NOTE = "Coin Metrics, derived as market cap / MVRV"


def _sth_basis_variants(sid_note):
    return [Variant((sid, PRICE), lambda s, p, _i=sid: relative_to(s[PRICE], s[_i]), note)
            for sid, note in sid_note]


def _hodl_metric(id, bands, en, zh, definition):
    sids = tuple(_chain(f"hodl_{b}_pct") for b in bands)
    return _m(id, en, zh, "fraction", definition,
              [Variant(sids, lambda s, p, _i=sids: hodl_share([s[i] for i in _i]), "own node, HODL-wave bands")],
              CITE_HODL, reason=NEEDS_NODE)


_STH_SOURCES = [(_chain("sth_cost_basis"), "own node"), (BMP_STH, "Bitcoin Magazine Pro STH realized price"),
                (CO_STH, "checkonchain STH realised price")]
_STH_SOPR_SOURCES = [(_chain("sth_sopr"), "own node"), (BG_STH_SOPR, "provider series"),
                     (CO_STH_SOPR, "provider series; checkonchain chart, raw or smoothed not stated")]

METRICS = [
    # --- valuation -------------------------------------------------------------------------
    _m("realized_cap", "Realized cap", "已實現市值", "USD",
       "Sum of every coin valued at the price when it last moved.",
       [_own("realized_cap"),
        Variant((CM_RCAP, CM_MCAP, CM_MVRV), lambda s, p: _rcap_cm_reported(s), _RCAP_CM_NOTE),
        Variant((CM_MCAP, CM_MVRV), lambda s, p: _rcap_derived(s), _RCAP_DERIVED_NOTE)],
       CITE_REALIZED_CAP),
    _m("realized_price", "Realized price", "已實現價格", "USD",
       "Realized cap divided by circulating supply: the average on-chain cost basis of a coin.",
       [_own("realized_price"),
        Variant((CM_RCAP, CM_MCAP, CM_MVRV, CM_SUPPLY), lambda s, p: per_coin(_rcap_cm(s), s[CM_SUPPLY]),
                "Coin Metrics realized cap / SplyCur"),
        Variant((CM_MCAP, CM_MVRV, CM_SUPPLY), lambda s, p: per_coin(_rcap_derived(s), s[CM_SUPPLY]),
                "Coin Metrics, (market cap / MVRV) / SplyCur"),
        _provider(CQ_RPRICE)],
       CITE_REALIZED_CAP),
    _m("mvrv", "MVRV ratio", "市值與已實現市值比（MVRV）", "ratio",
       "Market cap divided by realized cap; below 1 the average coin is held at a loss.",
       [Variant((_chain("realized_price"), PRICE),
                lambda s, p: mvrv_from_prices(s[PRICE], s[_chain("realized_price")]),
                "CoinMarketCap close / own-node realized price"),
        _provider(CM_MVRV), _provider(CQ_MVRV)],
       CITE_MVRV),
    _m("mvrv_zscore", "MVRV Z-score", "MVRV Z分數", "ratio",
       "(Market cap − realized cap) / standard deviation of market cap over all history to date "
       "(Coin Metrics history from 2013).",
       [Variant((CM_MCAP, CM_MVRV), lambda s, p: mvrv_zscore(s[CM_MCAP], s[CM_MVRV]),
                "Coin Metrics market cap and MVRV, std over history since 2013-01-01")],
       CITE_MVRV_Z),
    _m("nupl", "Net unrealized profit/loss (NUPL)", "未實現淨損益（NUPL）", "ratio",
       "(Market cap − realized cap) / market cap = 1 − 1/MVRV.",
       [Variant((_chain("realized_price"), PRICE),
                lambda s, p: nupl_from_mvrv(mvrv_from_prices(s[PRICE], s[_chain("realized_price")])),
                "1 − own-node realized price / CoinMarketCap close"),
        Variant((CM_MVRV,), lambda s, p: nupl_from_mvrv(s[CM_MVRV]), "1 − 1/MVRV from Coin Metrics"),
        _provider(CQ_NUPL)],
       CITE_NUPL),
    _m("realized_cap_growth_30d", "Realized cap growth (30 days)", "已實現市值30日成長率", "fraction",
       "Change in realized cap over 30 days: net capital entering at cost.",
       [Variant((_chain("realized_cap"),), lambda s, p: growth_over(s[_chain("realized_cap")], 30), "own node"),
        Variant((CM_RCAP, CM_MCAP, CM_MVRV), lambda s, p: growth_over(_rcap_cm(s), 30), _RCAP_CM_NOTE),
        Variant((CM_MCAP, CM_MVRV), lambda s, p: growth_over(_rcap_derived(s), 30), _RCAP_DERIVED_NOTE)],
       CITE_REALIZED_CAP),
    # --- supply in profit / loss -----------------------------------------------------------
    _m("supply_in_loss", "Supply in loss", "處於虧損的供給量", "BTC",
       "Coins whose price when they last moved is above the current price.",
       [_own("supply_in_loss", lambda s, p: with_mean_detail(s[_chain("supply_in_loss")])),
        Variant((BG_LOSS,), lambda s, p: with_mean_detail(s[BG_LOSS]), "provider series")],
       CITE_SUPPLY_PL),
    _m("supply_in_loss_pct", "Supply in loss, share of supply", "處於虧損的供給占比", "fraction",
       "Supply in loss divided by circulating supply.",
       [Variant((_chain("supply_in_loss_pct"),), lambda s, p: share_from_pct(s[_chain("supply_in_loss_pct")]),
                "own node, of own-node supply"),
        Variant((_chain("supply_in_loss"), _chain("supply_in_profit")),
                lambda s, p: share_of_own_total(s[_chain("supply_in_loss")], s[_chain("supply_in_profit")]),
                "own node, of own-node supply in profit + in loss"),
        Variant((BG_LOSS, CM_SUPPLY), lambda s, p: share_of_supply(s[BG_LOSS], s[CM_SUPPLY]),
                "BGeometrics supply in loss / Coin Metrics SplyCur")],
       CITE_SUPPLY_PL),
    _m("supply_in_profit", "Supply in profit", "處於獲利的供給量", "BTC",
       "Coins whose price when they last moved is below the current price.",
       [_own("supply_in_profit"), _provider(BG_PROFIT)], CITE_SUPPLY_PL),
    # --- realized profit / loss (own node only) --------------------------------------------
    _m("realized_profit_usd", "Realized profit", "已實現獲利", "USD",
       "USD gain of coins spent above the price when they last moved, per day.",
       [_own("realized_profit_usd")], CITE_REALIZED_PL, reason=NEEDS_NODE),
    _m("realized_loss_usd", "Realized loss", "已實現虧損", "USD",
       "USD loss of coins spent below the price when they last moved, per day.",
       [_own("realized_loss_usd")], CITE_REALIZED_PL, reason=NEEDS_NODE),
    _m("net_realized_pl_usd", "Net realized profit/loss", "已實現淨損益", "USD",
       "Realized profit minus realized loss, per day.",
       [_own("net_realized_pl_usd")], CITE_REALIZED_PL, reason=NEEDS_NODE),
    # --- holder cost bases -----------------------------------------------------------------
    _m("sth_cost_basis", "Short-term holder cost basis", "短期持有者成本基礎", "USD",
       "Realized price of coins last moved within 155 days.",
       [_own("sth_cost_basis"), _provider(BMP_STH),
        _provider(CO_STH)], CITE_STH),
    _m("lth_cost_basis", "Long-term holder cost basis", "長期持有者成本基礎", "USD",
       "Realized price of coins unmoved for at least 155 days.",
       [_own("lth_cost_basis"), _provider(CO_LTH)], CITE_STH),
    _m("price_vs_sth_cost_basis", "Price vs short-term holder cost basis", "價格相對短期持有者成本基礎", "fraction",
       "BTC close / STH cost basis − 1, on the latest date both are published.",
       _sth_basis_variants(_STH_SOURCES), CITE_STH),
    # --- SOPR --------------------------------------------------------------------------------
    _m("sopr", "SOPR", "已花費輸出獲利比（SOPR）", "ratio",
       "Value of coins spent that day at the spend price / at the price when they last moved.",
       [_own("sopr"), _provider(BG_SOPR)], CITE_SOPR),
    _m("sth_sopr", "Short-term holder SOPR", "短期持有者SOPR", "ratio",
       "SOPR of coins spent within 155 days of last moving.",
       [_own("sth_sopr")] + [_provider(sid, note) for sid, note in _STH_SOPR_SOURCES[1:]],
       CITE_SOPR + "; " + CITE_STH),
    _m("lth_sopr", "Long-term holder SOPR", "長期持有者SOPR", "ratio",
       "SOPR of coins spent at least 155 days after last moving.",
       [_own("lth_sopr"), _provider(BG_LTH_SOPR),
        _provider(CO_LTH_SOPR, "provider series; checkonchain chart, raw or smoothed not stated")],
       CITE_SOPR + "; " + CITE_STH),
    _m("sth_sopr_7d", "Short-term holder SOPR, 7-day mean", "短期持有者SOPR（7日平均）", "ratio",
       "7-day mean STH-SOPR; below 1 means short-term holders are selling below their cost basis.",
       [Variant((sid,), lambda s, p, _i=sid: sopr_mean(s[_i], 7), note) for sid, note in _STH_SOPR_SOURCES],
       CITE_SOPR + "; " + CITE_STH),
    # --- exchanges -----------------------------------------------------------------------------
    _m("exchange_reserve", "Exchange reserve", "交易所存量", "BTC",
       "BTC held on addresses labelled as exchanges (set of exchanges depends on the source).",
       [_own("exchange_balance"), _provider(BG_RESERVE)], CITE_EXCHANGE),
    _m("exchange_reserve_change_30d", "Exchange reserve change (30 days)", "交易所存量30日變化", "BTC",
       "Exchange reserve now minus 30 days earlier; negative = coins leaving exchanges.",
       [Variant((_chain("exchange_balance"),), lambda s, p: change_over(s[_chain("exchange_balance")], 30).dropna(),
                "own node"),
        Variant((BG_RESERVE,), lambda s, p: change_over(s[BG_RESERVE], 30).dropna(), "provider series")],
       CITE_EXCHANGE),
    _m("exchange_netflow_30d", "Exchange netflow (30 days)", "交易所淨流量（30日）", "BTC",
       "Sum of daily exchange inflow minus outflow over the last 30 days (every day present).",
       [Variant((_chain("exchange_balance"),),
                lambda s, p: netflow_sum(netflow_from_balance(s[_chain("exchange_balance")]), 30),
                "own node, daily change of exchange balance"),
        Variant((BG_NETFLOW,), lambda s, p: netflow_sum(s[BG_NETFLOW], 30), "provider series"),
        Variant((CQ_NETFLOW,), lambda s, p: netflow_sum(s[CQ_NETFLOW], 30), "provider series, all exchanges")],
       CITE_EXCHANGE),
    # --- cohorts and activity ----------------------------------------------------------------
    _m("whale_supply_1k", "Whale supply (≥1,000 BTC addresses)", "巨鯨持有量（≥1,000 BTC地址）", "BTC",
       "BTC held by addresses with at least 1,000 BTC.",
       [_own("supply_whales_1k")], "Glassnode address-balance cohorts (≥1k BTC)", reason=NEEDS_NODE),
    _m("active_addresses", "Active addresses", "活躍地址數", "count",
       "Unique addresses active (sending or receiving) in the day.",
       [_provider(CM_ACTIVE)], CITE_ACTIVE),
    _m("cdd", "Coin days destroyed", "幣天銷毀量", "coin-days",
       "Sum over coins spent that day of amount × days since they last moved.",
       [_own("cdd")], CITE_CDD, reason=NEEDS_NODE),
    # --- HODL waves (own node only: no provider series is embedded) ---------------------------
    _hodl_metric("supply_1y_plus_share", HODL_1Y_PLUS, "Supply unmoved for 1 year or more, share",
                 "一年以上未移動的供給占比",
                 "Share of supply whose coins last moved at least 365 days ago (HODL-wave bands from 1y up)."),
    _hodl_metric("supply_under_1m_share", HODL_UNDER_1M, "Supply moved within 1 month, share",
                 "一個月內移動過的供給占比",
                 "Share of supply whose coins last moved less than 30 days ago (HODL-wave bands below 1m): "
                 "recent buyers' and traders' coins."),
]
