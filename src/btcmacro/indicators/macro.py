"""US macro: labour market, inflation, claims, yields and the dollar.

Monthly series are handled on a *calendar* month grid: a month that was never published (the
October 2025 CPI and household survey, lost to the federal shutdown) is a missing month, NaN, not
a row that is silently skipped. Year-on-year changes therefore compare a month with the same month
a year earlier, never with "12 rows back", and month-on-month changes need the previous calendar
month. Units: FRED publishes payrolls and JOLTS openings in thousands; the metrics below return
persons. Inflation rates are fractions (0.028), published rates stay in percent.

Not declared: the JOLTS hires rate (JTSHIR). No reachable copy of it exists in the embedded data
and the catalogue has no ``fred/JTSHIR`` series yet; once it does, a ``jolts_hires_rate`` metric
is one declaration over :func:`month_grid`.
"""

from __future__ import annotations

import pandas as pd

from ..registry import declare
from .common import with_detail

PAYEMS, UNRATE, JTSJOL, JTSQUR = "fred/PAYEMS", "fred/UNRATE", "fred/JTSJOL", "fred/JTSQUR"
ICSA, CPI, CORE_CPI, CORE_PCE = "fred/ICSA", "fred/CPIAUCSL", "fred/CPILFESL", "fred/PCEPILFE"
DGS10, DFII10, DTWEXBGS = "fred/DGS10", "fred/DFII10", "fred/DTWEXBGS"

THOUSAND = 1e3

# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def month_grid(s: pd.Series) -> pd.Series:
    """A monthly series on the full calendar-month grid (month starts), NaN for missing months.

    Parameters
    ----------
    s : pandas.Series
        Monthly observations dated on the first of the month.

    Returns
    -------
    pandas.Series
        Indexed by every month start from the first to the last observation.

    References
    ----------
    FRED monthly observations are dated on the first day of the month they describe.
    """
    s = s.dropna()
    if s.empty:
        return s.astype("float64")
    idx = s.index.to_period("M").to_timestamp()
    s = pd.Series(s.to_numpy(dtype="float64"), index=idx).groupby(level=0).last()
    full = pd.date_range(s.index[0], s.index[-1], freq="MS", name="date")
    return s.reindex(full)


def _month(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m")


def missing_months(s: pd.Series, lookback: int = 24) -> list[str]:
    """Months (``YYYY-MM``) inside the last ``lookback`` months of ``s`` that have no value."""
    g = month_grid(s)
    tail = g.iloc[-lookback:]
    return [_month(d) for d in tail.index[tail.isna()]]


def monthly_change(s: pd.Series, scale: float = 1.0) -> pd.Series:
    """Change from the previous calendar month, times ``scale``; NaN if either month is missing.

    Parameters
    ----------
    s : pandas.Series
        Monthly level (e.g. PAYEMS in thousands of persons).
    scale : float
        Unit conversion applied to the change (1000 turns thousands into persons).

    Returns
    -------
    pandas.Series
        On the calendar-month grid; a month after a gap is NaN, not a two-month change.

    References
    ----------
    BLS Current Employment Statistics: the monthly change in total nonfarm payroll employment.
    """
    g = month_grid(s)
    return (g - g.shift(1)) * scale


def negative_count(changes: pd.Series, n: int = 7) -> pd.Series:
    """How many of the last ``n`` monthly changes were negative, with those changes as detail.

    A month whose change is missing counts as not negative and is listed with ``None`` in the
    detail; at least ``n // 2 + 1`` known changes are required.

    References
    ----------
    BLS Current Employment Statistics (PAYEMS); the count of payroll declines is a labour-market
    breadth gauge, not a published statistic.
    """
    c = changes.copy()
    if c.empty:
        return c
    counts = (c < 0).astype(float).where(c.notna()).rolling(n, min_periods=n // 2 + 1).sum()
    last = c.iloc[-n:]
    return with_detail(counts, window=n, changes=[
        {"month": _month(d), "change": None if pd.isna(v) else float(v)} for d, v in last.items()])


def yoy_same_month(s: pd.Series) -> pd.Series:
    """Year-on-year fractional change against the *same calendar month* a year earlier.

    Computed on the calendar-month grid, so a missing month (never published) gives NaN for
    itself and for the month a year later, instead of comparing with 11 or 13 months back.
    The latest point's detail names the two months compared and the missing months of the last
    two years.

    References
    ----------
    BLS CPI and BEA PCE price-index conventions: 12-month percent change of the index.
    """
    g = month_grid(s)
    out = g / g.shift(12) - 1.0
    valid = out.dropna()
    if valid.empty:
        return out
    d = valid.index[-1]
    prev = d - pd.DateOffset(years=1)
    return with_detail(out, month=_month(d), compared_with=_month(prev), index=float(g.loc[d]),
                       index_year_earlier=float(g.loc[prev]), missing_months=missing_months(s))


def change_same_month(s: pd.Series) -> pd.Series:
    """Change against the same calendar month a year earlier (same unit as ``s``)."""
    g = month_grid(s)
    return g - g.shift(12)


def sahm_rule(unrate: pd.Series, *, min_months: int = 2) -> pd.Series:
    """Sahm recession indicator in percentage points.

    The three-month average of the unemployment rate minus the lowest three-month average of the
    previous twelve months. The three-month average is taken over the months *published* in the
    window, with at least ``min_months`` of the three (the October 2025 household survey was
    never collected; with ``min_months=2`` the November and December 2025 averages use two
    months, which reproduces FRED's SAHMCURRENT). Values are given only for months with a
    published unemployment rate. The detail names the months averaged and the month of the
    12-month low.

    Parameters
    ----------
    unrate : pandas.Series
        Monthly unemployment rate (percent), dated on the first of the month.
    min_months : int
        Published months needed in the three-month window.

    Returns
    -------
    pandas.Series
        Percentage points; 0.50 or more is Sahm's recession signal.

    References
    ----------
    Sahm, C. (2019), "Direct Stimulus Payments to Individuals", in *Recession Ready*, The Hamilton
    Project / Brookings; FRED series SAHMCURRENT (Federal Reserve Bank of St. Louis).
    """
    g = month_grid(unrate)
    ma3 = g.rolling(3, min_periods=min_months).mean()
    low = ma3.shift(1).rolling(12, min_periods=1).min()
    out = (ma3 - low).where(g.notna())
    valid = out.dropna()
    if valid.empty:
        return out
    d = valid.index[-1]
    window = g.loc[d - pd.DateOffset(months=2):d]
    prev = ma3.loc[d - pd.DateOffset(months=12):d - pd.DateOffset(months=1)]
    return with_detail(out, month=_month(d), three_month_average=float(ma3.loc[d]),
                       months_averaged=[_month(x) for x in window.index[window.notna()]],
                       months_missing=[_month(x) for x in window.index[window.isna()]],
                       low_12m=float(prev.min()), low_12m_month=_month(prev.idxmin()),
                       threshold_pp=0.5)


def ratio_change_months(s: pd.Series, months: int) -> pd.Series:
    """Fractional change against the same calendar month ``months`` earlier (NaN across gaps)."""
    g = month_grid(s)
    return g / g.shift(months) - 1.0


def openings_trend(openings_thousands: pd.Series) -> pd.Series:
    """JOLTS openings: 12-month fractional change, with the 6-month change and levels as detail.

    References
    ----------
    BLS Job Openings and Labor Turnover Survey (JTSJOL), seasonally adjusted.
    """
    g = month_grid(openings_thousands)
    y = ratio_change_months(openings_thousands, 12)
    valid = y.dropna()
    if valid.empty:
        return y
    d = valid.index[-1]
    six = ratio_change_months(openings_thousands, 6)
    return with_detail(y, month=_month(d), openings=float(g.loc[d]) * THOUSAND,
                       openings_year_earlier=float(g.loc[d - pd.DateOffset(years=1)]) * THOUSAND,
                       change_6m=None if pd.isna(six.loc[d]) else float(six.loc[d]),
                       peak=float(g.max()) * THOUSAND, peak_month=_month(g.idxmax()))


def gap_to_target(yoy: pd.Series, target: float = 0.02) -> pd.Series:
    """Inflation rate minus the target (fractions: 0.008 = 0.8 percentage point above).

    References
    ----------
    FOMC Statement on Longer-Run Goals and Monetary Policy Strategy: 2 percent PCE inflation.
    """
    out = yoy - target
    if "detail" in yoy.attrs:
        out.attrs["detail"] = dict(yoy.attrs["detail"], target=target)
    return out


def persons_from_thousands(s: pd.Series) -> pd.Series:
    """A count published in thousands (PAYEMS, JTSJOL), in persons.

    References
    ----------
    BLS publishes CES employment and JOLTS levels in thousands.
    """
    return s.dropna() * THOUSAND


def weekly_claims(icsa: pd.Series) -> pd.Series:
    """Initial claims (persons, week ending Saturday) with the 4-week average as detail.

    References
    ----------
    US Department of Labor, Unemployment Insurance Weekly Claims (ICSA, seasonally adjusted).
    """
    s = icsa.dropna()
    if s.empty:
        return s
    return with_detail(s, four_week_average=float(s.iloc[-4:].mean()),
                       year_earlier=float(s.asof(s.index[-1] - pd.Timedelta(days=364))) if len(s) > 52 else None)


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------
_BLS_CES = "BLS Current Employment Statistics via FRED (PAYEMS)"
_BLS_CPS = "BLS Current Population Survey via FRED (UNRATE)"
_JOLTS = "BLS Job Openings and Labor Turnover Survey via FRED"
_CPI = "BLS Consumer Price Index via FRED"
_PCE = "BEA Personal Income and Outlays via FRED (PCEPILFE)"
_SAHM = ("Sahm, C. (2019), 'Direct Stimulus Payments to Individuals', Recession Ready, "
         "The Hamilton Project / Brookings; FRED SAHMCURRENT")
_TARGET = "FOMC Statement on Longer-Run Goals and Monetary Policy Strategy (2% PCE inflation)"


def _m(id, en, zh, unit, definition, inputs, fn, citation, frequency="monthly", kind="number",
       params=(), note=""):
    return declare("macro", id, en, zh, unit, definition, [(inputs, fn, note)], citation,
                   frequency=frequency, kind=kind, params=params)


def _target(p) -> float:
    return float(p.get("inflation_target", 0.02))


METRICS = [
    _m("payrolls_change", "Nonfarm payrolls, monthly change", "非農就業人數月變動", "persons",
       "Change in total nonfarm payroll employment from the previous month (PAYEMS thousands x 1000).",
       [PAYEMS], lambda s, p: monthly_change(s[PAYEMS], THOUSAND), _BLS_CES),
    _m("payrolls_negative_months_of_7", "Negative payroll months (of last 7)", "近7個月非農就業負成長月數",
       "months", "How many of the last 7 monthly payroll changes were negative; detail lists the 7 changes.",
       [PAYEMS], lambda s, p: negative_count(monthly_change(s[PAYEMS], THOUSAND),
                                             int(p.get("payrolls_negative_window", 7))),
       _BLS_CES, params=("payrolls_negative_window",)),
    _m("unemployment_rate", "Unemployment rate", "失業率", "percent",
       "Civilian unemployment rate (U-3), seasonally adjusted.", [UNRATE],
       lambda s, p: month_grid(s[UNRATE]), _BLS_CPS),
    _m("sahm_rule", "Sahm rule indicator", "薩姆規則指標", "pp",
       "3-month average unemployment rate minus the lowest 3-month average of the previous 12 months; >= 0.50 signals recession.",
       [UNRATE], lambda s, p: sahm_rule(s[UNRATE]), _SAHM),
    _m("jolts_openings", "JOLTS job openings", "JOLTS職位空缺", "persons",
       "Job openings on the last business day of the month, seasonally adjusted (JTSJOL thousands x 1000).",
       [JTSJOL], lambda s, p: persons_from_thousands(s[JTSJOL]), _JOLTS + " (JTSJOL)"),
    _m("jolts_openings_trend", "JOLTS openings, 12-month change", "JOLTS職位空缺年變動率", "fraction",
       "Job openings versus the same month a year earlier (fraction); detail gives the 6-month change.",
       [JTSJOL], lambda s, p: openings_trend(s[JTSJOL]), _JOLTS + " (JTSJOL)"),
    _m("quits_rate", "JOLTS quits rate", "JOLTS離職率", "percent",
       "Quits as a percent of total employment, seasonally adjusted.", [JTSQUR],
       lambda s, p: month_grid(s[JTSQUR]), _JOLTS + " (JTSQUR)"),
    _m("quits_rate_change_12m", "Quits rate, 12-month change", "離職率年變動", "pp",
       "Quits rate minus its value in the same month a year earlier (percentage points).", [JTSQUR],
       lambda s, p: change_same_month(s[JTSQUR]), _JOLTS + " (JTSQUR)"),
    _m("cpi_yoy", "CPI inflation, year on year", "CPI年增率", "fraction",
       "All-items CPI versus the same month a year earlier (a month never published is missing, not skipped).",
       [CPI], lambda s, p: yoy_same_month(s[CPI]), _CPI + " (CPIAUCSL)"),
    _m("core_cpi_yoy", "Core CPI inflation, year on year", "核心CPI年增率", "fraction",
       "CPI less food and energy versus the same month a year earlier.",
       [CORE_CPI], lambda s, p: yoy_same_month(s[CORE_CPI]), _CPI + " (CPILFESL)"),
    _m("core_pce_yoy", "Core PCE inflation, year on year", "核心PCE年增率", "fraction",
       "PCE price index less food and energy versus the same month a year earlier.",
       [CORE_PCE], lambda s, p: yoy_same_month(s[CORE_PCE]), _PCE),
    _m("inflation_gap_core_pce", "Core PCE gap to 2% target", "核心PCE與2%目標差距", "fraction",
       "Core PCE year-on-year inflation minus the Fed's 2% target (fraction; 0.008 = 0.8 pp above).",
       [CORE_PCE], lambda s, p: gap_to_target(yoy_same_month(s[CORE_PCE]), _target(p)),
       _PCE + "; " + _TARGET, params=("inflation_target",)),
    _m("initial_claims", "Initial jobless claims", "初領失業救濟金人數", "persons",
       "Initial unemployment-insurance claims, week ending Saturday, seasonally adjusted.",
       [ICSA], lambda s, p: weekly_claims(s[ICSA]), "US Department of Labor via FRED (ICSA)",
       frequency="weekly"),
    _m("us10y", "10-year Treasury yield", "美國10年期公債殖利率", "percent",
       "10-year Treasury constant-maturity yield.", [DGS10], lambda s, p: s[DGS10].dropna(),
       "Federal Reserve H.15 via FRED (DGS10)", frequency="daily"),
    _m("real_yield_10y", "10-year real yield (TIPS)", "美國10年期實質殖利率（TIPS）", "percent",
       "10-year Treasury inflation-indexed constant-maturity yield.", [DFII10],
       lambda s, p: s[DFII10].dropna(), "Federal Reserve H.15 via FRED (DFII10)", frequency="daily"),
    _m("dollar_index", "Broad dollar index (Fed)", "美元廣義貿易加權指數（聯準會）", "index",
       "Nominal broad trade-weighted US dollar index (Jan 2006 = 100); for ICE DXY see metric dxy.",
       [DTWEXBGS], lambda s, p: s[DTWEXBGS].dropna(), "Federal Reserve H.10 via FRED (DTWEXBGS)",
       frequency="daily"),
]
