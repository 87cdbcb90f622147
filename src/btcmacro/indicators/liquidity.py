"""Fed liquidity: balance sheet, QT, reserves, money markets, M2, reserve-management purchases.

Units are reconciled here: FRED publishes H.4.1 items in millions of USD, ON RRP in billions, M2
and GDP in billions; every metric below returns plain USD (or percent / bp / fraction as named).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import declare
from .common import BILLION, MILLION, asof_align, change_over, pct_change_over, with_detail

WALCL, WRESBAL, WDTGAL = "fred/WALCL", "fred/WRESBAL", "fred/WDTGAL"
RRP, TREAST, MBS = "fred/RRPONTSYD", "fred/TREAST", "fred/WSHOMCB"
SOFR, IORB, TOP, BOTTOM = "fred/SOFR", "fred/IORB", "fred/DFEDTARU", "fred/DFEDTARL"
M2, GDP = "fred/M2SL", "fred/GDP"
# live-only series (btcmacro update): NY Fed Markets API, Daily Treasury Statement
NY_SOFR, DTS_TGA, BILLS = "nyfed/sofr", "treasury/tga", "nyfed/bill_purchases"
STANCE = "fomc/balance_sheet_stance"
#: codes of fomc/balance_sheet_stance (see catalog)
STANCE_STATES = {0: "size_held", 1: "runoff", 2: "purchases", 3: "tapering"}

# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def usd_from_millions(s: pd.Series) -> pd.Series:
    return s.dropna() * MILLION


def usd_from_billions(s: pd.Series) -> pd.Series:
    return s.dropna() * BILLION


def running_peak(total_assets_usd: pd.Series) -> pd.Series:
    """Highest level reached up to each date, with the peak's date as detail.

    References
    ----------
    Federal Reserve H.4.1 (WALCL); QT is measured from the balance sheet's peak (2022-04-13).
    """
    s = total_assets_usd.dropna()
    peak = s.cummax()
    peak_date = s.index[int(np.argmax(s.to_numpy()))] if len(s) else None
    return with_detail(peak, peak_date=peak_date)


def runoff_since_peak(total_assets_usd: pd.Series) -> pd.Series:
    """Peak minus current level (positive = the balance sheet has shrunk by that much)."""
    s = total_assets_usd.dropna()
    out = s.cummax() - s
    peak_date = s.index[int(np.argmax(s.to_numpy()))] if len(s) else None
    return with_detail(out, peak_date=peak_date,
                       peak_usd=float(s.max()) if len(s) else None,
                       share_of_peak=float(out.iloc[-1] / s.max()) if len(s) else None)


def qt_status(treasuries: pd.Series, mbs: pd.Series, *, window_days: int = 56,
              runoff_threshold: float = 10e9, expansion_threshold: float = 20e9) -> pd.Series:
    """QT state each week, detected from SOMA holdings (USD): running / ended / expanding / none.

    * ``running``: total securities fell more than ``runoff_threshold`` over the window and
      Treasury holdings fell (redemptions above the caps are not reinvested);
    * ``expanding``: total securities rose more than ``expansion_threshold`` (purchases);
    * ``ended``: otherwise, after a ``running`` phase (runoff stopped: maturing Treasuries rolled
      over, MBS paydowns reinvested into bills);
    * ``none``: otherwise, with no QT phase before.

    References
    ----------
    FOMC Plans for Reducing the Size of the Federal Reserve's Balance Sheet (May 2022);
    FOMC statement of 2025-10-29 (runoff concluded 2025-12-01).
    """
    t = treasuries.dropna()
    total = t + asof_align(t, mbs)
    d_total = change_over(total, window_days)
    d_t = change_over(t, window_days)
    states = []
    seen_running = False
    for dt_, dtot in d_total.items():
        dtr = d_t.loc[dt_]
        if np.isnan(dtot):
            states.append(None)
            continue
        if dtot < -runoff_threshold and dtr < 0:
            st = "running"
            seen_running = True
        elif dtot > expansion_threshold:
            st = "expanding"
        elif seen_running:
            st = "ended"
        else:
            st = "none"
        states.append(st)
    out = pd.Series(states, index=total.index, dtype=object)
    return with_detail(out, change_total_usd=float(d_total.iloc[-1]) if len(d_total) else None,
                       change_treasuries_usd=float(d_t.iloc[-1]) if len(d_t) else None,
                       window_days=window_days)


def balance_sheet_policy(stance: pd.Series, as_of=None) -> pd.Series:
    """The FOMC's balance-sheet stance in force on each decision's effective date.

    ``stance`` holds one code per decision, dated when it takes effect (0 size held / reinvesting,
    1 runoff, 2 purchases, 3 purchases tapering). A decision announced by ``as_of`` but effective
    later is reported as detail (``scheduled``), so a briefing written between an announcement and
    its effective date says both what is in force and what comes next.

    References
    ----------
    FOMC statements and implementation notes (federalreserve.gov), transcribed with their dates in
    ``data/fomc_meetings.csv``.
    """
    s = stance.dropna().sort_index()
    cut = pd.Timestamp(as_of) if as_of is not None else None
    now = s[s.index <= cut] if cut is not None else s
    ahead = s[s.index > cut] if cut is not None else s.iloc[0:0]
    out = pd.Series([STANCE_STATES.get(int(v), "unknown") for v in now.to_numpy()], index=now.index, dtype=object)
    detail = {"effective": now.index[-1] if len(now) else None}
    if len(ahead):
        detail.update(scheduled=STANCE_STATES.get(int(ahead.iloc[0]), "unknown"), scheduled_from=ahead.index[0])
    return with_detail(out, **detail)


def net_liquidity(total_assets_musd: pd.Series, tga_musd: pd.Series, rrp_busd: pd.Series) -> pd.Series:
    """WALCL − TGA − ON RRP in USD, on the H.4.1 Wednesdays.

    The TGA is the Wednesday level (WDTGAL, millions); ON RRP is the take-up on or before that
    Wednesday (RRPONTSYD, billions).

    References
    ----------
    Common "Fed net liquidity" definition (e.g. Hayes 2022; MacroMicro "Fed net liquidity").
    """
    w = total_assets_musd.dropna() * MILLION
    tga = asof_align(w, tga_musd) * MILLION
    rrp = asof_align(w, rrp_busd) * BILLION
    return w - tga - rrp


def spread_bp(a: pd.Series, b: pd.Series) -> pd.Series:
    """(a − b) in basis points on a's dates, b taken as of each date."""
    a = a.dropna()
    return (a - asof_align(a, b)) * 100.0


def days_at_or_above(rate: pd.Series, ceiling: pd.Series, window_days: int = 60) -> pd.Series:
    """Number of fixings in the trailing ``window_days`` calendar days with rate ≥ ceiling."""
    r = rate.dropna()
    flag = (r >= asof_align(r, ceiling) - 1e-9).astype(float)
    return flag.rolling(f"{window_days}D").sum()


def ratio_to_gdp(level_usd: pd.Series, gdp_busd: pd.Series) -> pd.Series:
    """Level divided by the latest published nominal GDP (SAAR, USD)."""
    s = level_usd.dropna()
    return s / (asof_align(s, gdp_busd) * BILLION)


def yoy(s: pd.Series) -> pd.Series:
    """Year-on-year fractional change of a monthly series (same month a year earlier)."""
    s = s.dropna()
    prior = s.reindex(s.index - pd.DateOffset(years=1)).to_numpy()
    return pd.Series(s.to_numpy() / prior - 1.0, index=s.index)


def record_high(s: pd.Series) -> pd.Series:
    """1.0 where the value is at or above every earlier value, else 0.0."""
    s = s.dropna()
    return (s >= s.cummax()).astype(float)


#: public announcements of a reserve-management purchase pace: (announced on, USD per month, source).
#: The projection cites one only when the assumed pace equals it and it was public by the as-of date.
RMP_ANNOUNCEMENTS = (
    ("2025-12-10", 40e9, "FOMC implementation note and New York Fed statement of 2025-12-10: reserve-management "
                         "purchases of Treasury bills begin 2025-12-12, about $40B in the first month"),
)


def rmp_projection(mbs_musd: pd.Series, *, monthly_bill_purchases_usd: float,
                   reinvest_mbs: bool = True, runoff_window_days: int = 182, as_of=None) -> pd.Series:
    """Implied annual balance-sheet growth from reserve-management purchases (USD per year).

    Only net purchases grow the balance sheet: ``12 x monthly_bill_purchases_usd``. The purchase
    pace is an **assumption** (a rules parameter), not data; the detail says so and cites a public
    announcement of the same pace when one was made by ``as_of``. Reinvesting MBS paydowns into
    bills swaps one asset for another: it is a change of composition, reported separately
    (``mbs_to_bills_swap_annual_usd``, measured from the MBS runoff of the last
    ``runoff_window_days``) and never counted as growth.

    References
    ----------
    FOMC Implementation Note, 2025-10-29 (MBS principal reinvested into Treasury bills from
    2025-12-01); FOMC Implementation Note, 2025-12-10 (reserve-management purchases of bills).
    """
    m = mbs_musd.dropna() * MILLION
    monthly_runoff = -change_over(m, runoff_window_days) / (runoff_window_days / 30.4375)
    growth = pd.Series(12.0 * monthly_bill_purchases_usd, index=m.index)
    last_runoff = float(monthly_runoff.iloc[-1]) if len(monthly_runoff) else float("nan")
    swap = 12.0 * last_runoff if reinvest_mbs else 0.0
    bills = 12.0 * monthly_bill_purchases_usd + swap
    cut = pd.Timestamp(as_of) if as_of is not None else None
    public = [(day, src) for day, pace, src in RMP_ANNOUNCEMENTS
              if (cut is None or pd.Timestamp(day) <= cut) and abs(pace - monthly_bill_purchases_usd) < 0.5e9]
    return with_detail(growth, monthly_bill_purchases_usd=monthly_bill_purchases_usd,
                       mbs_runoff_monthly_usd=last_runoff, bill_holdings_growth_annual_usd=bills,
                       reinvest_mbs=reinvest_mbs, assumption=True,
                       assumption_key="rmp_monthly_bill_purchases_usd",
                       assumption_source=public[-1][1] if public else None,
                       assumption_source_date=public[-1][0] if public else None,
                       net_growth_annual_usd=12.0 * monthly_bill_purchases_usd,
                       mbs_to_bills_swap_annual_usd=swap, mbs_runoff_window_days=runoff_window_days)


def rolling_sum_days(s: pd.Series, days: int = 30) -> pd.Series:
    """Sum of the observations in the trailing ``days`` calendar days (e.g. bill purchases)."""
    return s.dropna().rolling(f"{days}D").sum()


def treasury_growth_annualized(treasuries_musd: pd.Series, window_days: int = 91) -> pd.Series:
    """Actual change in Treasury holdings over the window, annualised (USD per year)."""
    t = treasuries_musd.dropna() * MILLION
    return change_over(t, window_days) * (365.25 / window_days)


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------
_H41 = "Federal Reserve H.4.1 via FRED"


def _m(id, en, zh, unit, definition, inputs, fn, citation, frequency="weekly", kind="number", params=(), note="",
       more=(), unavailable_reason=""):
    """One liquidity metric; ``more`` holds further (inputs, fn, note) variants in preference order."""
    return declare("liquidity", id, en, zh, unit, definition, [(inputs, fn, note), *more], citation,
                   frequency=frequency, kind=kind, params=params, unavailable_reason=unavailable_reason)


METRICS = [
    _m("fed_total_assets", "Fed total assets", "聯準會總資產", "USD",
       "Federal Reserve total assets, Wednesday level.", [WALCL],
       lambda s, p: usd_from_millions(s[WALCL]), _H41),
    _m("fed_total_assets_peak", "Fed balance sheet peak", "聯準會資產負債表峰值", "USD",
       "Highest Fed total assets reached so far (the QT starting point).", [WALCL],
       lambda s, p: running_peak(usd_from_millions(s[WALCL])), _H41),
    _m("qt_runoff_since_peak", "QT runoff since peak", "自峰值以來縮表規模", "USD",
       "Peak Fed total assets minus the current level.", [WALCL],
       lambda s, p: runoff_since_peak(usd_from_millions(s[WALCL])), _H41),
    _m("qt_status", "QT status", "縮表狀態", "state",
       "Quantitative tightening detected from SOMA holdings over 8 weeks: running / ended / expanding.",
       [TREAST, MBS],
       lambda s, p: qt_status(usd_from_millions(s[TREAST]), usd_from_millions(s[MBS]),
                              window_days=int(p.get("qt_window_days", 56)),
                              runoff_threshold=float(p.get("qt_runoff_threshold_usd", 10e9)),
                              expansion_threshold=float(p.get("qt_expansion_threshold_usd", 20e9))),
       _H41 + "; thresholds in the rules file", kind="state",
       params=("qt_window_days", "qt_runoff_threshold_usd", "qt_expansion_threshold_usd")),
    _m("qt_policy", "Fed balance-sheet policy (FOMC)", "聯準會資產負債表政策（FOMC）", "state",
       "Balance-sheet stance decided by the FOMC and in force on the as-of date (runoff / size held / purchases / tapering), with any announced change not yet in effect.",
       [STANCE], lambda s, p: balance_sheet_policy(s[STANCE], p.get("as_of")),
       "FOMC statements and implementation notes (federalreserve.gov)", frequency="event", kind="state"),
    _m("reserves", "Bank reserves", "銀行準備金", "USD",
       "Reserve balances with Federal Reserve Banks, week average.", [WRESBAL],
       lambda s, p: usd_from_millions(s[WRESBAL]), _H41),
    _m("reserves_to_gdp", "Reserves / GDP", "準備金占GDP比率", "fraction",
       "Reserve balances divided by the latest published nominal GDP (SAAR).", [WRESBAL, GDP],
       lambda s, p: ratio_to_gdp(usd_from_millions(s[WRESBAL]), s[GDP]),
       "H.4.1 and BEA GDP via FRED; 'ample reserves' discussed near 10-11% of GDP (Waller 2025)"),
    _m("on_rrp", "ON RRP take-up", "隔夜逆回購餘額", "USD",
       "Overnight reverse repo take-up at the New York Fed.", [RRP],
       lambda s, p: usd_from_billions(s[RRP]), "New York Fed via FRED (RRPONTSYD)", frequency="daily"),
    _m("tga", "Treasury General Account", "財政部一般帳戶", "USD",
       "Treasury General Account at the Fed, Wednesday level.", [WDTGAL],
       lambda s, p: usd_from_millions(s[WDTGAL]), _H41 + " (WDTGAL); daily: Daily Treasury Statement",
       more=[([DTS_TGA], lambda s, p: usd_from_millions(s[DTS_TGA]), "Daily Treasury Statement, closing balance")]),
    _m("net_liquidity", "Net liquidity", "淨流動性", "USD",
       "Fed total assets − TGA − ON RRP, units reconciled to USD.", [WALCL, WDTGAL, RRP],
       lambda s, p: net_liquidity(s[WALCL], s[WDTGAL], s[RRP]),
       "WALCL − WDTGAL − RRPONTSYD (millions/billions reconciled)"),
    _m("sofr", "SOFR", "有擔保隔夜融資利率", "percent",
       "Secured Overnight Financing Rate.", [SOFR], lambda s, p: s[SOFR].dropna(),
       "New York Fed via FRED", frequency="daily",
       more=[([NY_SOFR], lambda s, p: s[NY_SOFR].dropna(), "NY Fed Markets API")]),
    _m("iorb", "IORB", "準備金利率", "percent",
       "Interest rate on reserve balances.", [IORB], lambda s, p: s[IORB].dropna(),
       "Federal Reserve via FRED", frequency="daily"),
    _m("sofr_iorb_spread_bp", "SOFR − IORB", "SOFR與IORB利差", "bp",
       "SOFR minus IORB in basis points; above zero signals reserve scarcity.", [SOFR, IORB],
       lambda s, p: spread_bp(s[SOFR], s[IORB]), "New York Fed / Federal Reserve via FRED",
       frequency="daily", more=[([NY_SOFR, IORB], lambda s, p: spread_bp(s[NY_SOFR], s[IORB]), "NY Fed Markets API")]),
    _m("sofr_at_or_above_range_top_days_60", "SOFR at/above range top (60 days)",
       "SOFR觸及或高於區間上限天數（60天）", "days",
       "Number of SOFR fixings in the last 60 calendar days at or above the top of the fed funds target range.",
       [SOFR, TOP], lambda s, p: days_at_or_above(s[SOFR], s[TOP], int(p.get("sofr_window_days", 60))),
       "New York Fed SOFR and FOMC target range via FRED", frequency="daily", params=("sofr_window_days",),
       more=[([NY_SOFR, TOP], lambda s, p: days_at_or_above(s[NY_SOFR], s[TOP], int(p.get("sofr_window_days", 60))),
              "NY Fed Markets API")]),
    _m("policy_rate_upper", "Fed funds target, upper", "聯邦基金利率目標上限", "percent",
       "Upper limit of the FOMC's federal funds target range.", [TOP], lambda s, p: s[TOP].dropna(),
       "FOMC via FRED (DFEDTARU)", frequency="daily"),
    _m("policy_rate_lower", "Fed funds target, lower", "聯邦基金利率目標下限", "percent",
       "Lower limit of the FOMC's federal funds target range.", [BOTTOM], lambda s, p: s[BOTTOM].dropna(),
       "FOMC via FRED (DFEDTARL)", frequency="daily"),
    _m("m2", "M2 money stock", "M2貨幣供給", "USD", "M2 money stock, seasonally adjusted.", [M2],
       lambda s, p: usd_from_billions(s[M2]), "Federal Reserve H.6 via FRED", frequency="monthly"),
    _m("m2_yoy", "M2 year on year", "M2年增率", "fraction", "M2 change versus the same month a year earlier.",
       [M2], lambda s, p: yoy(s[M2]), "Federal Reserve H.6 via FRED", frequency="monthly"),
    _m("m2_record_high", "M2 at record high", "M2創歷史新高", "bool",
       "Whether the latest M2 is at or above every earlier value.", [M2],
       lambda s, p: record_high(s[M2]), "Federal Reserve H.6 via FRED", frequency="monthly", kind="bool"),
    _m("rmp_annual_growth_projection", "Reserve-management purchases: implied growth",
       "準備金管理購債：隱含年增規模", "USD",
       "Annual balance-sheet growth implied by an assumed monthly pace of T-bill purchases (a rules parameter, not data); MBS paydowns reinvested into bills change the mix, not the size, and are reported apart.",
       [MBS], lambda s, p: rmp_projection(s[MBS],
                                          monthly_bill_purchases_usd=float(p.get("rmp_monthly_bill_purchases_usd", 40e9)),
                                          reinvest_mbs=bool(p.get("rmp_reinvest_mbs", True)),
                                          as_of=p.get("as_of")),
       "FOMC implementation note 2025-10-29; purchase pace is a rules-file assumption",
       params=("rmp_monthly_bill_purchases_usd", "rmp_reinvest_mbs"), note="assumption"),
    _m("treasury_holdings_growth_annualized", "Fed Treasury holdings growth (annualised, 13 weeks)",
       "聯準會公債持有年化增幅（13週）", "USD",
       "Change in Fed Treasury holdings over 13 weeks, annualised; compare with the RMP projection once purchases run.",
       [TREAST], lambda s, p: treasury_growth_annualized(s[TREAST]), _H41 + " (TREAST)"),
    _m("rmp_bill_purchases_30d", "Fed T-bill purchases (30 days)", "聯準會國庫券購買額（30天）", "USD",
       "Accepted par of the New York Fed's outright Treasury bill purchase operations over the last 30 days.",
       [BILLS], lambda s, p: rolling_sum_days(s[BILLS], 30),
       "New York Fed Markets API, Treasury securities operations (outright bill purchases)", frequency="daily",
       unavailable_reason="needs live NY Fed operations data (btcmacro update --source nyfed)"),
]
