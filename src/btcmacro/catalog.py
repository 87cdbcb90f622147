"""The series catalogue: every raw input series btcmacro stores, declared once.

A series id is ``<provider>/<name>`` (``fred/WALCL``, ``cm/CapMVRVCur``). The embedded snapshot and
the live connectors write the *same* ids, so a live update simply adds newer vintages to what the
snapshot holds. Units are the provider's own (FRED mixes millions and billions); indicator
functions reconcile them. ``release`` names a rule in :mod:`btcmacro.releases` that dates each
observation's publication for point-in-time reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import SeriesMeta


@dataclass(frozen=True)
class SeriesDef:
    id: str
    source: str  # display name of the provider, e.g. "FRED", "Coin Metrics"
    name: str
    unit: str
    frequency: str
    release: str
    licence: str = ""
    #: the agency revises published values (benchmarks, seasonal factors, later estimates): a value
    #: from one later vintage is not the first print (see :func:`btcmacro.releases.revised_by`)
    revises: bool = False

    def meta(self, provenance: str = "") -> SeriesMeta:
        return SeriesMeta(self.id, self.source, self.name, self.unit, self.frequency,
                          self.release, provenance, self.licence)

    @property
    def label(self) -> str:
        """How a figure's source is shown: ``FRED:WALCL``, ``Coin Metrics:CapMVRVCur``."""
        return f"{self.source}:{self.id.split('/', 1)[1]}"


_FRED = "FRED (public domain unless noted by the source agency)"
_CM = "CC BY-NC 4.0 (Coin Metrics community data)"


def _fred(code: str, name: str, unit: str, freq: str, release: str) -> SeriesDef:
    return SeriesDef(f"fred/{code}", "FRED", name, unit, freq, release, _FRED, code in _REVISING)


#: FRED series whose published values the source agency revises after the first print: payrolls
#: and JOLTS (monthly and annual benchmark revisions), CPI (seasonal factors), PCE and GDP (later
#: estimates and annual updates), M2, claims, NFCI (re-estimated every week) and the broad dollar
#: index (weight revisions). H.4.1 balance-sheet levels, market rates and yields are not revised.
_REVISING = frozenset({"PAYEMS", "UNRATE", "JTSJOL", "JTSQUR", "JTSHIR", "ICSA", "CPIAUCSL", "CPILFESL",
                       "PCEPILFE", "GDP", "M2SL", "NFCI", "DTWEXBGS"})


SERIES: dict[str, SeriesDef] = {
    s.id: s
    for s in [
        # --- Fed balance sheet (H.4.1) and money markets
        _fred("WALCL", "Fed total assets (Wednesday level)", "millions USD", "weekly", "h41"),
        _fred("WRESBAL", "Reserve balances (week average)", "millions USD", "weekly", "h41"),
        _fred("WDTGAL", "Treasury General Account (Wednesday level)", "millions USD", "weekly", "h41"),
        _fred("WTREGEN", "Treasury General Account (week average)", "millions USD", "weekly", "h41"),
        _fred("TREAST", "Fed Treasury securities held outright", "millions USD", "weekly", "h41"),
        _fred("WSHOMCB", "Fed MBS held outright", "millions USD", "weekly", "h41"),
        _fred("RRPONTSYD", "Overnight reverse repo take-up", "billions USD", "daily", "same_day"),
        _fred("SOFR", "Secured Overnight Financing Rate", "percent", "daily", "next_business_day"),
        _fred("SOFR30DAYAVG", "30-day average SOFR", "percent", "daily", "next_business_day"),
        _fred("EFFR", "Effective federal funds rate", "percent", "daily", "next_business_day"),
        _fred("IORB", "Interest on reserve balances", "percent", "daily", "same_day"),
        _fred("DFEDTARU", "Fed funds target range, upper", "percent", "daily", "same_day"),
        _fred("DFEDTARL", "Fed funds target range, lower", "percent", "daily", "same_day"),
        _fred("FEDFUNDS", "Effective fed funds rate, monthly", "percent", "monthly", "month_end_next"),
        _fred("M2SL", "M2 money stock", "billions USD", "monthly", "h6"),
        _fred("GDP", "Nominal GDP (SAAR)", "billions USD", "quarterly", "gdp"),
        # --- labour and prices
        _fred("PAYEMS", "Nonfarm payrolls", "thousands", "monthly", "employment_situation"),
        _fred("UNRATE", "Unemployment rate", "percent", "monthly", "employment_situation"),
        _fred("JTSJOL", "JOLTS job openings", "thousands", "monthly", "jolts"),
        _fred("JTSQUR", "JOLTS quits rate", "percent", "monthly", "jolts"),
        _fred("JTSHIR", "JOLTS hires rate", "percent", "monthly", "jolts"),
        _fred("ICSA", "Initial jobless claims", "number", "weekly", "claims"),
        _fred("CPIAUCSL", "CPI, all items", "index 1982-84=100", "monthly", "cpi"),
        _fred("CPILFESL", "Core CPI", "index 1982-84=100", "monthly", "cpi"),
        _fred("PCEPILFE", "Core PCE price index", "index 2017=100", "monthly", "pce"),
        # --- rates, dollar, conditions
        _fred("DGS10", "10-year Treasury yield", "percent", "daily", "next_business_day"),
        _fred("DFII10", "10-year real yield (TIPS)", "percent", "daily", "next_business_day"),
        _fred("T10Y2Y", "10y-2y Treasury spread", "percent", "daily", "next_business_day"),
        _fred("T10YIE", "10-year breakeven inflation", "percent", "daily", "next_business_day"),
        _fred("DTWEXBGS", "Broad dollar index", "index Jan 2006=100", "daily", "h10"),
        _fred("VIXCLS", "VIX", "index", "daily", "next_business_day"),
        _fred("NFCI", "Chicago Fed financial conditions", "index", "weekly", "nfci"),
        _fred("BAMLH0A0HYM2", "High-yield OAS", "percent", "daily", "next_business_day"),
        # --- FOMC balance-sheet decisions (embedded calendar): stance from the effective date,
        # published on the decision day. 0 = no runoff, size held; 1 = runoff (QT);
        # 2 = asset purchases; 3 = purchases tapering
        SeriesDef("fomc/balance_sheet_stance", "FOMC statements", "Fed balance-sheet stance (FOMC decisions)",
                  "code", "event", "same_day", "Federal Reserve public statements"),
        # --- Bitcoin price
        SeriesDef("cmc/btc_close", "CoinMarketCap", "BTC close", "USD", "daily", "same_day"),
        SeriesDef("cmc/btc_high", "CoinMarketCap", "BTC high", "USD", "daily", "same_day"),
        SeriesDef("cmc/btc_low", "CoinMarketCap", "BTC low", "USD", "daily", "same_day"),
        SeriesDef("cmc/btc_volume", "CoinMarketCap", "BTC volume", "USD", "daily", "same_day"),
        SeriesDef("yahoo/btc_close", "Yahoo Finance", "BTC-USD close", "USD", "daily", "same_day"),
        # --- Coin Metrics community
        SeriesDef("cm/PriceUSD", "Coin Metrics", "BTC reference rate", "USD", "daily", "next_day", _CM),
        SeriesDef("cm/CapMVRVCur", "Coin Metrics", "MVRV", "ratio", "daily", "next_day", _CM),
        SeriesDef("cm/CapMrktCurUSD", "Coin Metrics", "Market cap", "USD", "daily", "next_day", _CM),
        SeriesDef("cm/CapRealUSD", "Coin Metrics", "Realized cap", "USD", "daily", "next_day", _CM),
        SeriesDef("cm/SplyCur", "Coin Metrics", "Current supply", "BTC", "daily", "next_day", _CM),
        SeriesDef("cm/HashRate", "Coin Metrics", "Hash rate", "TH/s", "daily", "next_day", _CM),
        SeriesDef("cm/DiffMean", "Coin Metrics", "Mean difficulty", "difficulty", "daily", "next_day", _CM),
        SeriesDef("cm/AdrActCnt", "Coin Metrics", "Active addresses", "count", "daily", "next_day", _CM),
        SeriesDef("cm/FeeTotNtv", "Coin Metrics", "Total fees", "BTC", "daily", "next_day", _CM),
        SeriesDef("cm/TxCnt", "Coin Metrics", "Transactions", "count", "daily", "next_day", _CM),
        # --- published provider on-chain series
        SeriesDef("cryptoquant/mvrv", "CryptoQuant", "MVRV", "ratio", "daily", "next_day"),
        SeriesDef("cryptoquant/nupl", "CryptoQuant", "NUPL", "ratio", "daily", "next_day"),
        SeriesDef("cryptoquant/realized_price", "CryptoQuant", "Realized price", "USD", "daily", "next_day"),
        SeriesDef("cryptoquant/exchange_netflow", "CryptoQuant", "Exchange netflow", "BTC", "daily", "next_day"),
        SeriesDef("bmp/sth_realized_price", "Bitcoin Magazine Pro", "STH realized price", "USD", "daily", "next_day"),
        SeriesDef("checkonchain/sth_realized_price", "checkonchain", "STH realised price", "USD", "daily", "next_day"),
        SeriesDef("checkonchain/lth_realized_price", "checkonchain", "LTH realised price", "USD", "daily", "next_day"),
        SeriesDef("checkonchain/sth_sopr", "checkonchain", "STH-SOPR", "ratio", "daily", "next_day"),
        SeriesDef("checkonchain/lth_sopr", "checkonchain", "LTH-SOPR", "ratio", "daily", "next_day"),
        SeriesDef("bgeometrics/sopr", "BGeometrics", "SOPR", "ratio", "daily", "next_day"),
        SeriesDef("bgeometrics/sth_sopr", "BGeometrics", "STH-SOPR", "ratio", "daily", "next_day"),
        SeriesDef("bgeometrics/lth_sopr", "BGeometrics", "LTH-SOPR", "ratio", "daily", "next_day"),
        SeriesDef("bgeometrics/supply_in_profit", "BGeometrics", "Supply in profit", "BTC", "daily", "next_day"),
        SeriesDef("bgeometrics/supply_in_loss", "BGeometrics", "Supply in loss", "BTC", "daily", "next_day"),
        SeriesDef("bgeometrics/exchange_reserve", "BGeometrics", "Exchange reserve", "BTC", "daily", "next_day"),
        SeriesDef("bgeometrics/exchange_netflow", "BGeometrics", "Exchange netflow", "BTC", "daily", "next_day"),
        SeriesDef("blockchaincom/miner_revenue", "Blockchain.com", "Miner revenue (subsidy + fees)", "USD", "daily", "next_day"),
        # --- flows, derivatives, sentiment
        SeriesDef("defillama/stablecoin_supply", "DefiLlama", "Stablecoin supply", "USD", "daily", "next_day"),
        SeriesDef("farside/etf_netflow", "Farside Investors", "US spot BTC ETF net flow", "millions USD", "daily", "next_day"),
        SeriesDef("alternative/fear_greed", "alternative.me", "Crypto Fear & Greed", "index 0-100", "daily", "same_day"),
        SeriesDef("binance/funding_rate", "Binance", "BTC perp funding, mean 8h rate", "fraction per 8h", "daily", "next_day"),
        SeriesDef("binance/open_interest", "Binance", "BTCUSDT perp open interest", "USD", "daily", "next_day"),
        SeriesDef("venues/funding_mean", "Exchange venues (snapshot: Bybit/OKX/Deribit/Hyperliquid; live: configured ccxt venues)", "BTC perp funding, venue mean", "annualised percent", "daily", "next_day"),
        SeriesDef("venues/open_interest", "Exchange venues (snapshot: Bybit/OKX/Deribit/Hyperliquid; live: configured ccxt venues)", "BTC perp open interest, venue total", "USD", "daily", "next_day"),
        # --- cross-asset
        SeriesDef("yahoo/gold_close", "Yahoo Finance", "Gold (COMEX GC=F front month)", "USD/oz", "daily", "same_day"),
        SeriesDef("yahoo/gld_close", "Yahoo Finance", "GLD ETF close", "USD", "daily", "same_day"),
        SeriesDef("markets/dxy_close", "ICE (via vendor)", "US Dollar Index (DXY)", "index", "daily", "same_day"),
        # --- corporate treasuries
        SeriesDef("sec/mstr_btc_acquired", "SEC 8-K (Strategy)", "Strategy BTC bought per filing", "BTC", "irregular", "same_day"),
        SeriesDef("sec/mstr_avg_price", "SEC 8-K (Strategy)", "Strategy purchase average price", "USD", "irregular", "same_day"),
        SeriesDef("sec/mstr_holdings", "SEC 8-K (Strategy)", "Strategy BTC holdings", "BTC", "irregular", "same_day"),
        SeriesDef("sec/mstr_inferred", "SEC 8-K (Strategy)", "Row inferred by the transcriber (0/1)", "flag", "irregular", "same_day"),
        SeriesDef("sec/mstr_total_cost", "SEC 8-K (Strategy)", "Strategy purchase cost", "USD", "irregular", "same_day"),
        # --- the user's own node (btcmacro chain sync); preferred over provider series
        *[SeriesDef(f"chain/{n}", "own node", n.replace("_", " "), u, "daily", "same_day")
          for n, u in [("realized_cap", "USD"), ("realized_price", "USD"),
                       ("realized_profit_usd", "USD"), ("realized_loss_usd", "USD"),
                       ("net_realized_pl_usd", "USD"), ("sopr", "ratio"), ("sth_sopr", "ratio"),
                       ("lth_sopr", "ratio"), ("supply_in_profit", "BTC"), ("supply_in_loss", "BTC"),
                       ("sth_supply", "BTC"), ("lth_supply", "BTC"), ("sth_cost_basis", "USD"),
                       ("lth_cost_basis", "USD"), ("cdd", "coin-days"),
                       ("exchange_balance", "BTC"), ("supply_whales_1k", "BTC")]],
        *[SeriesDef(f"chain/supply_in_{k}_pct", "own node", f"supply in {k}, percent of supply", "percent",
                    "daily", "same_day") for k in ("profit", "loss")],
        # HODL waves: one series per age band of btcmacro.chain.metrics.HODL_BANDS, id from the
        # band label ("<1d" -> lt_1d, "1d-1w" -> 1d_1w, ">10y" -> gt_10y); share and BTC amount
        *[SeriesDef(f"chain/hodl_{k}_{u}", "own node",
                    f"HODL wave {lab} (last moved {lab} ago), " + ("percent of supply" if u == "pct" else "BTC"),
                    "percent" if u == "pct" else "BTC", "daily", "same_day")
          for u in ("pct", "btc")
          for k, lab in [("lt_1d", "<1d"), ("1d_1w", "1d-1w"), ("1w_1m", "1w-1m"), ("1m_3m", "1m-3m"),
                         ("3m_6m", "3m-6m"), ("6m_12m", "6m-12m"), ("1y_2y", "1y-2y"), ("2y_3y", "2y-3y"),
                         ("3y_5y", "3y-5y"), ("5y_7y", "5y-7y"), ("7y_10y", "7y-10y"), ("gt_10y", ">10y")]],
        # address-balance cohorts: one series per band of btcmacro.chain.aggregate.BALANCE_BANDS
        # (a script's balance, lower edge inclusive), id from the label (balance_band_key:
        # "<0.001" -> lt_0p001, "1k-10k" -> 1k_10k, ">100k" -> gt_100k); BTC held and script count
        *[SeriesDef(f"chain/{kind}_band_{k}", "own node",
                    (f"supply held by scripts with a balance of {lab} BTC" if kind == "supply"
                     else f"number of scripts with a balance of {lab} BTC (above 0)"),
                    "BTC" if kind == "supply" else "count", "daily", "same_day")
          for kind in ("supply", "addresses")
          for k, lab in [("lt_0p001", "<0.001"), ("0p001_0p01", "0.001-0.01"), ("0p01_0p1", "0.01-0.1"),
                         ("0p1_1", "0.1-1"), ("1_10", "1-10"), ("10_100", "10-100"), ("100_1k", "100-1k"),
                         ("1k_10k", "1k-10k"), ("10k_100k", "10k-100k"), ("gt_100k", ">100k")]],
        # --- Kalshi Fed-decision markets (btcmacro.sources.kalshi): odds of the next scheduled
        # FOMC meeting as traded each day, published with the day's candle
        *[SeriesDef(f"kalshi/fomc_{k}", "Kalshi", name, "fraction", "daily", "same_day",
                    "Kalshi market data (public API; see kalshi.com terms)")
          for k, name in [("cut", "implied probability of a cut at the next FOMC meeting"),
                          ("cut_large", "implied probability of a cut of more than 25 bp at the next FOMC meeting"),
                          ("hold", "implied probability of a hold at the next FOMC meeting"),
                          ("hike", "implied probability of a hike at the next FOMC meeting"),
                          ("price_sum", "sum of the next meeting's outcome prices (1 + spread and fees)")]],
    ]
}


def get(series_id: str) -> SeriesDef:
    try:
        return SERIES[series_id]
    except KeyError:
        from .errors import UsageError

        raise UsageError("unknown series id", where=series_id) from None


def register(defn: SeriesDef) -> SeriesDef:
    """Add a series declared elsewhere (a live connector, the chain engine)."""
    SERIES[defn.id] = defn
    return defn
