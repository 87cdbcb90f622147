"""Bitcoin mining indicators: hash rate, difficulty adjustments, hash ribbons, hashprice and an
estimated production cost per BTC.

Units: hash rate in EH/s (Coin Metrics publishes TH/s; 1 EH/s = 1e6 TH/s), difficulty as the
protocol's dimensionless number, revenue in USD per day, hashprice in USD per PH/s per day,
production cost in USD per BTC, adjustments as fractions (−0.0639 = −6.39%).

Difficulty adjustments from a daily *mean*
------------------------------------------
Coin Metrics ``DiffMean`` is the mean difficulty of the blocks mined that day. Inside a
2016-block epoch (about two weeks) it is constant, apart from a last-digit wobble (±1 in 1e14);
on the day of an adjustment it mixes the old and the new difficulty, a value in between that
belongs to neither. :func:`difficulty_adjustments` therefore does not take day-on-day changes:

* days are grouped into runs of equal value (relative tolerance 1e-9);
* a run of at least two days is an *epoch* at that difficulty; a one-day run between two epochs
  is the transition day (in the whole 2009-2026 history no two one-day runs are adjacent);
* an adjustment is the step from one epoch to the next: ``change = new / old − 1``, dated on the
  first day after the old epoch's last day (the transition day when there is one);
* it counts as *known* on the second day of the new epoch — before that, one day of a new value
  cannot be told from a transition day — so a series computed on the full history equals the one
  computed on data cut at any date (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import declare
from .common import with_detail

HASHRATE, DIFFICULTY = "cm/HashRate", "cm/DiffMean"
# live-only (btcmacro update --source mempool / coinmetrics): block rewards and the CM reference rate
REWARDS, CM_PRICE = "mempool/block_rewards", "cm/PriceUSD"
REVENUE, PRICE = "blockchaincom/miner_revenue", "cmc/btc_close"

TH_PER_EH = 1e6
TH_PER_PH = 1e3
BLOCKS_PER_DAY = 144

#: halvings: (UTC date of the block, height, subsidy from that date). The subsidy on and after a
#: date is the one of the latest row on or before it; the halving day itself counts at the new
#: subsidy. The next halving (height 1,050,000) is expected in 2028: add its row when it happens.
HALVINGS = (
    ("2009-01-03", 0, 50.0),
    ("2012-11-28", 210_000, 25.0),
    ("2016-07-09", 420_000, 12.5),
    ("2020-05-11", 630_000, 6.25),
    ("2024-04-20", 840_000, 3.125),
)

#: defaults of the production-cost parameters (the rules file's ``[params]`` overrides them)
DEFAULT_FLEET_EFFICIENCY_J_PER_TH = 25.0
DEFAULT_POWER_PRICE_USD_PER_KWH = 0.06
DEFAULT_OPEX_MULTIPLIER = 1.0
DEFAULT_HASH_RIBBON_RECOVERY_DAYS = 30

CITE_HASHRATE = "Coin Metrics HashRate (network hash rate estimated from difficulty and block count)"
CITE_DIFFICULTY = "Bitcoin protocol difficulty retarget every 2016 blocks; Coin Metrics DiffMean"
CITE_RIBBON = "Edwards, C. (2019), Hash Ribbons (Capriole Investments): 30-day vs 60-day hash-rate SMA"
CITE_REVENUE = "Blockchain.com miners-revenue chart (block subsidy + fees, USD per day)"
CITE_HASHPRICE = "Luxor Technologies, Hashrate Index: hashprice = miner revenue per unit of hash rate per day"
CITE_COST = ("Hayes, A. S. (2017), Cryptocurrency value formation: a cost of production model for "
             "valuing bitcoin, Telematics and Informatics 34(7)")

# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------


def _positive(s: pd.Series) -> pd.Series:
    s = s.dropna()
    return s[s > 0]


def eh_per_s(hashrate_th: pd.Series) -> pd.Series:
    """Hash rate in EH/s from TH/s (days with no block, reported as 0, are dropped).

    References
    ----------
    Coin Metrics HashRate (network hash rate estimated from difficulty and block count).
    """
    return _positive(hashrate_th) / TH_PER_EH


def difficulty_adjustments(diff_mean: pd.Series, rel_tol: float = 1e-9) -> pd.DataFrame:
    """Every difficulty adjustment visible in a daily-mean difficulty series.

    See the module docstring for the method. Zero days (no block, early 2009) are ignored.

    Returns
    -------
    DataFrame
        One row per adjustment, columns ``date`` (first day at or after the switch),
        ``known`` (second day of the new epoch), ``before``, ``after``, ``change``
        (``after / before − 1``) and ``transition_days`` (one-day runs between the epochs).

    References
    ----------
    Bitcoin protocol difficulty retarget every 2016 blocks; Coin Metrics DiffMean.
    """
    cols = ["date", "known", "before", "after", "change", "transition_days"]
    s = _positive(diff_mean).sort_index()
    if len(s) < 2:
        return pd.DataFrame(columns=cols)
    v = s.to_numpy(dtype="float64")
    idx = s.index
    starts = np.r_[0, np.flatnonzero(np.abs(v[1:] / v[:-1] - 1.0) > rel_tol) + 1]
    ends = np.r_[starts[1:], len(v)]  # exclusive
    lengths = ends - starts
    epochs = np.flatnonzero(lengths >= 2)
    rows = []
    for a, b in zip(epochs[:-1], epochs[1:]):
        old, new = v[starts[a]], v[starts[b]]
        rows.append((idx[ends[a]], idx[starts[b] + 1], old, new, new / old - 1.0, int(b - a - 1)))
    return pd.DataFrame(rows, columns=cols)


def last_adjustment_change(diff_mean: pd.Series) -> pd.Series:
    """Size of the latest known difficulty adjustment on each day (fraction).

    The detail names the adjustment's date, the day it became known and both difficulties.

    References
    ----------
    Bitcoin protocol difficulty retarget every 2016 blocks; Coin Metrics DiffMean.
    """
    s = _positive(diff_mean).sort_index()
    adj = difficulty_adjustments(s)
    if adj.empty:
        return pd.Series(dtype="float64")
    pos = adj["known"].searchsorted(s.index, side="right") - 1
    ok = pos >= 0
    out = pd.Series(adj["change"].to_numpy()[pos[ok]], index=s.index[ok])
    last = adj.iloc[pos[-1]] if ok[-1] else None
    if last is None:
        return out
    return with_detail(out, adjustment_date=last["date"], known_from=last["known"],
                       difficulty_before=float(last["before"]), difficulty_after=float(last["after"]))


def largest_drop(diff_mean: pd.Series, window_days: int = 365) -> pd.Series:
    """Most negative difficulty adjustment dated within the trailing window, on each day.

    An adjustment counts from the day it is known; its own date must fall in
    (day − ``window_days``, day]. The value is 0.0 when no adjustment in the window was a drop.
    The detail gives the drop's date and how many adjustments the window holds.

    References
    ----------
    Bitcoin protocol difficulty retarget every 2016 blocks; Coin Metrics DiffMean.
    """
    s = _positive(diff_mean).sort_index()
    adj = difficulty_adjustments(s)
    days = s.index.to_numpy(dtype="datetime64[D]")
    if adj.empty:
        return pd.Series(0.0, index=s.index)
    a_date = adj["date"].to_numpy(dtype="datetime64[D]")
    a_known = adj["known"].to_numpy(dtype="datetime64[D]")
    change = adj["change"].to_numpy()
    window = np.timedelta64(window_days, "D")
    inside = (a_known[None, :] <= days[:, None]) & (a_date[None, :] > days[:, None] - window)
    masked = np.where(inside & (change[None, :] < 0), change[None, :], 0.0)
    out = pd.Series(masked.min(axis=1), index=s.index)
    last = inside[-1]
    j = int(np.argmin(np.where(last, change, np.inf))) if last.any() else None
    drop_date = adj["date"].iloc[j] if j is not None and change[j] < 0 else None
    return with_detail(out, drop_date=drop_date, adjustments_in_window=int(last.sum()),
                       window_days=window_days)


def sma(s: pd.Series, days: int) -> pd.Series:
    """Mean over the trailing ``days`` calendar days, where at least 80% of them have data
    (the Coin Metrics pull lacks 2025-11-13..15)."""
    s = s.dropna()
    return s.rolling(f"{days}D", min_periods=int(np.ceil(0.8 * days))).mean().dropna()


def hash_ribbon(hashrate_th: pd.Series, short: int = 30, long: int = 60,
                recovery_days: int = DEFAULT_HASH_RIBBON_RECOVERY_DAYS) -> tuple[pd.Series, pd.Series]:
    """Hash ribbons: the 30-day hash-rate SMA relative to the 60-day SMA, and the ribbon state.

    Returns ``(spread, state)``: ``spread = SMA30 / SMA60 − 1`` (fraction; below 0 the short
    average is under the long one) and the state on each day:

    * ``capitulation`` — SMA30 < SMA60 (miners switching off);
    * ``recovery`` — SMA30 ≥ SMA60 again, within ``recovery_days`` of the last capitulation day
      (Edwards' buy signal is the cross back up);
    * ``normal`` — otherwise.

    The detail gives both averages in EH/s, the state and the day the state began.

    References
    ----------
    Edwards, C. (2019), Hash Ribbons (Capriole Investments): 30-day vs 60-day hash-rate SMA.
    """
    h = eh_per_s(hashrate_th)
    a, b = sma(h, short), sma(h, long)
    a, b = a.loc[a.index.intersection(b.index)], b.loc[a.index.intersection(b.index)]
    spread = a / b - 1.0
    cap = (a < b).to_numpy()
    days = a.index.to_numpy(dtype="datetime64[D]")
    last_cap = pd.Series(np.where(cap, days, np.datetime64("NaT")), index=a.index).ffill().to_numpy(
        dtype="datetime64[D]")
    recent = ~np.isnat(last_cap) & (days - last_cap <= np.timedelta64(recovery_days, "D"))
    state = pd.Series(np.where(cap, "capitulation", np.where(recent, "recovery", "normal")),
                      index=a.index, dtype=object)
    if len(state):
        cur = state.iloc[-1]
        changed = state.ne(state.shift())
        since = state.index[changed.to_numpy()][-1]
        detail = dict(state=cur, since=since, sma_short_ehs=float(a.iloc[-1]), sma_long_ehs=float(b.iloc[-1]),
                      short_days=short, long_days=long, recovery_days=recovery_days)
        spread = with_detail(spread, **detail)
        state = with_detail(state, **detail)
    return spread, state


def hashprice(revenue_usd: pd.Series, hashrate_th: pd.Series) -> pd.Series:
    """USD earned per PH/s of hash rate per day: miner revenue per day / hash rate in PH/s.

    Revenue (subsidy + fees, USD per day) and hash rate are taken on the same day; both follow
    that day's block count, so block luck cancels in the ratio.

    References
    ----------
    Luxor Technologies, Hashrate Index: hashprice = miner revenue per unit of hash rate per day.
    """
    r = revenue_usd.dropna()
    h = _positive(hashrate_th) / TH_PER_PH
    idx = r.index.intersection(h.index)
    return (r.loc[idx] / h.loc[idx]).dropna()


def revenue_from_block_rewards(avg_reward_sats: pd.Series, price_usd: pd.Series,
                               blocks_per_day: float = 144.0) -> pd.Series:
    """Miner revenue per day (USD) from the average reward per block (subsidy + fees, sats).

    ``avg reward × 144 blocks / 1e8 × price`` on the days both exist. The nominal 144 blocks a
    day stands in for the day's real block count (block luck moves it by about ±10 % a day), so
    this is an estimate, used only when no provider publishes daily revenue.

    References
    ----------
    mempool.space API ``/v1/mining/blocks/rewards/{period}`` (avgRewards, sats per block).
    """
    r = avg_reward_sats.dropna()
    p = price_usd.dropna()
    idx = r.index.intersection(p.index)
    return (r.loc[idx] * blocks_per_day / 1e8 * p.loc[idx]).dropna()


def block_subsidy(dates: pd.DatetimeIndex) -> np.ndarray:
    """Block subsidy (BTC) in force on each date, from :data:`HALVINGS`.

    References
    ----------
    Bitcoin protocol: the subsidy halves every 210,000 blocks.
    """
    starts = pd.DatetimeIndex([pd.Timestamp(d) for d, _, _ in HALVINGS])
    sub = np.array([x for _, _, x in HALVINGS])
    pos = starts.searchsorted(pd.DatetimeIndex(dates), side="right") - 1
    return np.where(pos >= 0, sub[np.clip(pos, 0, None)], np.nan)


def production_cost(hashrate_th: pd.Series, *,
                    fleet_efficiency_j_per_th: float = DEFAULT_FLEET_EFFICIENCY_J_PER_TH,
                    power_price_usd_per_kwh: float = DEFAULT_POWER_PRICE_USD_PER_KWH,
                    opex_multiplier: float = DEFAULT_OPEX_MULTIPLIER,
                    smooth_days: int = 7) -> pd.Series:
    """Estimated electricity cost of mining one BTC (USD per BTC).

    ``cost = H × e × 24 h × p × m / (144 × subsidy)`` with ``H`` the network hash rate (TH/s,
    mean of the trailing ``smooth_days`` days so that one lucky or unlucky day of blocks does not
    move the cost by 10%), ``e`` the fleet efficiency (J/TH, so ``H × e`` is watts), ``p`` the
    power price (USD/kWh, hence ÷ 1000 from Wh), ``m`` an optional all-in multiplier for other
    operating costs (1.0 = electricity only) and 144 blocks a day at the subsidy in force that day
    (fees excluded: the cost of new issuance). The detail lists every assumption used.

    The efficiency and power price are *present-day* assumptions applied to every date, so the
    history of this series shows how the cost moves with hash rate and halvings at today's
    fleet, not what miners actually paid in earlier years (the fleet was less efficient then).

    References
    ----------
    Hayes, A. S. (2017), Cryptocurrency value formation: a cost of production model for valuing
    bitcoin, Telematics and Informatics 34(7).
    """
    h = sma(_positive(hashrate_th), smooth_days) if smooth_days > 1 else _positive(hashrate_th)
    usd_per_day = h * fleet_efficiency_j_per_th * 24.0 / 1000.0 * power_price_usd_per_kwh * opex_multiplier
    btc_per_day = BLOCKS_PER_DAY * block_subsidy(h.index)
    out = (usd_per_day / btc_per_day).dropna()
    if len(out):
        d = out.index[-1]
        out = with_detail(out, hashrate_ehs=float(h.loc[d] / TH_PER_EH), hashrate_mean_days=smooth_days,
                          fleet_efficiency_j_per_th=fleet_efficiency_j_per_th,
                          power_price_usd_per_kwh=power_price_usd_per_kwh, opex_multiplier=opex_multiplier,
                          subsidy_btc=float(block_subsidy(pd.DatetimeIndex([d]))[0]),
                          btc_per_day=float(BLOCKS_PER_DAY * block_subsidy(pd.DatetimeIndex([d]))[0]))
    return out


def price_to(price: pd.Series, level_usd: pd.Series) -> pd.Series:
    """price / level on the dates both exist (ratio; below 1 the price is under the level).

    References
    ----------
    Hayes, A. S. (2017), Cryptocurrency value formation: a cost of production model for valuing
    bitcoin, Telematics and Informatics 34(7).
    """
    p, lv = price.dropna(), level_usd.dropna()
    idx = p.index.intersection(lv.index)
    out = (p.loc[idx] / lv.loc[idx].where(lv.loc[idx] > 0)).dropna()
    if len(out):
        d = out.index[-1]
        out = with_detail(out, price_usd=float(p.loc[d]), level_usd=float(lv.loc[d]))
    return out


# ---------------------------------------------------------------------------------------------
# registry declarations
# ---------------------------------------------------------------------------------------------
COST_PARAMS = ("fleet_efficiency_j_per_th", "power_price_usd_per_kwh", "opex_multiplier")


def _cost(s, p):
    return production_cost(
        s[HASHRATE],
        fleet_efficiency_j_per_th=float(p.get("fleet_efficiency_j_per_th", DEFAULT_FLEET_EFFICIENCY_J_PER_TH)),
        power_price_usd_per_kwh=float(p.get("power_price_usd_per_kwh", DEFAULT_POWER_PRICE_USD_PER_KWH)),
        opex_multiplier=float(p.get("opex_multiplier", DEFAULT_OPEX_MULTIPLIER)))


def _ribbon(s, p):
    return hash_ribbon(s[HASHRATE], recovery_days=int(p.get("hash_ribbon_recovery_days",
                                                            DEFAULT_HASH_RIBBON_RECOVERY_DAYS)))


def _m(id, en, zh, unit, definition, inputs, fn, citation, *, kind="number", params=(), note="", more=()):
    """One mining metric; ``more`` holds further (inputs, fn, note) variants in preference order."""
    return declare("mining", id, en, zh, unit, definition, [(inputs, fn, note), *more], citation,
                   frequency="daily", kind=kind, params=params)


_MEMPOOL_REVENUE_NOTE = "mempool.space average block reward x 144 blocks x Coin Metrics price (estimate)"


METRICS = [
    _m("hashrate", "Hash rate", "算力", "EH/s",
       "Network hash rate estimated from the day's blocks and difficulty.", [HASHRATE],
       lambda s, p: eh_per_s(s[HASHRATE]), CITE_HASHRATE),
    _m("difficulty", "Mining difficulty", "挖礦難度", "difficulty",
       "Mean difficulty of the blocks mined that day.", [DIFFICULTY],
       lambda s, p: _positive(s[DIFFICULTY]), CITE_DIFFICULTY),
    _m("difficulty_change_last_adjustment", "Last difficulty adjustment", "最近一次難度調整幅度", "fraction",
       "Size of the latest difficulty adjustment (new / old − 1), epochs detected from the daily mean.",
       [DIFFICULTY], lambda s, p: last_adjustment_change(s[DIFFICULTY]), CITE_DIFFICULTY),
    _m("difficulty_largest_drop_365d", "Largest difficulty drop (365 days)", "近365日最大難度下調幅度", "fraction",
       "Most negative difficulty adjustment in the last 365 days (0 when none fell).",
       [DIFFICULTY], lambda s, p: largest_drop(s[DIFFICULTY], 365), CITE_DIFFICULTY),
    _m("hash_ribbon", "Hash ribbon (30d vs 60d hash rate)", "算力緞帶（30日對60日均線）", "fraction",
       "30-day hash-rate average / 60-day average − 1; below 0 = miner capitulation.",
       [HASHRATE], lambda s, p: _ribbon(s, p)[0], CITE_RIBBON, params=("hash_ribbon_recovery_days",)),
    _m("hash_ribbon_state", "Hash ribbon state", "算力緞帶狀態", "state",
       "capitulation while the 30-day hash-rate average is below the 60-day one; recovery for a "
       "while after it crosses back; otherwise normal.",
       [HASHRATE], lambda s, p: _ribbon(s, p)[1], CITE_RIBBON, kind="state",
       params=("hash_ribbon_recovery_days",)),
    _m("miner_revenue", "Miner revenue", "礦工收入", "USD",
       "Block subsidy plus transaction fees paid to miners per day, in USD.", [REVENUE],
       lambda s, p: s[REVENUE].dropna(), CITE_REVENUE, note="provider series",
       more=[([REWARDS, CM_PRICE], lambda s, p: revenue_from_block_rewards(s[REWARDS], s[CM_PRICE]),
              _MEMPOOL_REVENUE_NOTE)]),
    _m("hashprice", "Hashprice", "算力價格（Hashprice）", "USD/PH/s/day",
       "Miner revenue per day divided by hash rate in PH/s: what 1 PH/s earned that day.",
       [REVENUE, HASHRATE], lambda s, p: hashprice(s[REVENUE], s[HASHRATE]), CITE_HASHPRICE,
       note="Blockchain.com revenue / Coin Metrics hash rate",
       more=[([REWARDS, CM_PRICE, HASHRATE],
              lambda s, p: hashprice(revenue_from_block_rewards(s[REWARDS], s[CM_PRICE]), s[HASHRATE]),
              _MEMPOOL_REVENUE_NOTE + " / Coin Metrics hash rate")]),
    _m("production_cost", "Estimated production cost", "估計挖礦生產成本", "USD/BTC",
       "Electricity cost per newly mined BTC: 7-day hash rate × fleet J/TH × 24 h × USD/kWh "
       "(× opex multiplier) / (144 × block subsidy).",
       [HASHRATE], _cost, CITE_COST, params=COST_PARAMS, note="estimate; assumptions in the rules file"),
    _m("price_to_production_cost", "Price / production cost", "價格與生產成本比", "ratio",
       "BTC close divided by the estimated production cost, on the same day.",
       [PRICE, HASHRATE], lambda s, p: price_to(s[PRICE], _cost(s, p)), CITE_COST, params=COST_PARAMS,
       note="estimate; assumptions in the rules file"),
]
