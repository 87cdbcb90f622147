"""Price levels computed from data: swing-high/low zones, round numbers, averages and cost bases.

No price is ever typed in: every level is a function of a series as of the briefing date, and
carries the evidence of how it was computed (method, metric, dates, source).

The pure level helpers live in :mod:`btcmacro.indicators.market` (``swing_points``,
``price_profile`` / ``cluster_zones``, ``round_levels``); this module adds
:func:`cluster_prices` (grouping swing points into zones) and :func:`compute_levels`, which
applies them with the ``[levels]`` parameters of the rules file.

A level is a dict::

    {"name": "Resistance zone", "names": {"en", "zh-TW"}, "low": 93000.0, "high": 94500.0,
     "kind": "resistance" | "support",
     "method": "swing_high_zone" | "swing_low_zone" | "price_cluster" | "round_number" | "metric",
     "metric": "btc_price" | "sth_cost_basis" | ..., "evidence": "how it was computed",
     "source": "CoinMarketCap:btc_close", "date": "2025-12-09", "distance_pct": 1.2}

``kind`` is relative to the latest price: a level above it is resistance, below it support.
Scenarios (``scenarios.py``) pick targets from these levels.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..indicators.market import cluster_zones, price_profile, round_levels, round_number_step, swing_points

# ----------------------------------------------------------------------------------------------
# pure helpers
# ----------------------------------------------------------------------------------------------


def cluster_prices(points: pd.Series, tolerance: float) -> list[pd.Series]:
    """Group prices into clusters: sorted by price, a new cluster starts where the gap to the
    previous price exceeds ``tolerance`` (a fraction of the previous price).

    Returns
    -------
    list of pd.Series
        Each cluster's members (date -> price), clusters ascending by price.
    """
    p = points.dropna().sort_values()
    out: list[list] = []
    prev = None
    for d, x in p.items():
        if prev is None or x > prev * (1.0 + tolerance):
            out.append([])
        out[-1].append((d, x))
        prev = x
    return [pd.Series([x for _, x in c], index=pd.DatetimeIndex([d for d, _ in c])) for c in out]


def _usd(x: float) -> str:
    """A price for evidence text: whole dollars from 1,000 up, cents below, 4 digits under 1."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4g}"


def round_steps(price: float, steps) -> list[float]:
    """The round-number spacings to use: ``steps`` as given, or with ``"auto"`` half the price's
    power of ten and the power of ten itself (92,000 -> 5,000 and 10,000; 7,400 -> 500 and 1,000)."""
    if isinstance(steps, str):
        if steps != "auto":
            raise ValueError(f"round_steps_usd must be a list of numbers or 'auto', not {steps!r}")
        half = round_number_step(price)
        return [half, 2.0 * half]
    return [float(s) for s in steps]


def _kind(low: float, high: float, price: float) -> str:
    """Resistance above the price, support at or below it (by the level's middle)."""
    return "resistance" if (low + high) / 2.0 > price else "support"


# ----------------------------------------------------------------------------------------------
# the level set for one as-of date
# ----------------------------------------------------------------------------------------------

_ZONE_NAMES = {
    "resistance": ({"en": "Resistance zone (swing highs)", "zh-TW": "壓力區（波段高點）"},
                   {"en": "Higher swing-high zone", "zh-TW": "更高波段高點區"}),
    "support": ({"en": "Support range (swing lows)", "zh-TW": "支撐區（波段低點）"},
                {"en": "Lower swing-low zone", "zh-TW": "更低波段低點區"}),
}

#: display names for metric levels (the registry name is used for any other metric)
METRIC_LEVEL_NAMES = {
    "sth_cost_basis": {"en": "Short-term holder cost basis", "zh-TW": "短期持有者成本"},
    "lth_cost_basis": {"en": "Long-term holder cost basis", "zh-TW": "長期持有者成本"},
    "btc_ma_50d": {"en": "50-day moving average", "zh-TW": "50日均線"},
    "btc_ma_200d": {"en": "200-day moving average", "zh-TW": "200日均線"},
    "btc_ma_200w": {"en": "200-week moving average", "zh-TW": "200週均線"},
    "realized_price": {"en": "Realized price", "zh-TW": "已實現價格"},
    "etf_cost_basis": {"en": "Spot-ETF cost basis", "zh-TW": "現貨ETF成本"},
    "production_cost": {"en": "Miners' production cost", "zh-TW": "礦工生產成本"},
    "strategy_avg_cost": {"en": "Strategy average cost (corporate-treasury threshold)",
                          "zh-TW": "Strategy平均成本（企業財庫門檻）"},
    "btc_ath": {"en": "All-time high", "zh-TW": "歷史新高"},
}


def _zones(close: pd.Series, price: float, as_of_txt: str, src: str | None, cfg: Mapping[str, Any],
           side: str) -> list[dict]:
    lookback = int(cfg["swing_lookback_days"])
    window = int(cfg["swing_window_days"])
    tol = float(cfg["cluster_tolerance"])
    n_zones = int(cfg["zones_per_side"])
    end = close.index[-1]
    recent = close[close.index > end - pd.Timedelta(days=lookback)]
    piv = swing_points(recent, window=window)
    piv = piv[piv["kind"] == ("high" if side == "resistance" else "low")]
    pts = pd.Series(piv["price"].to_numpy(dtype=float), index=pd.DatetimeIndex(piv["date"]))
    pts = pts[pts > price] if side == "resistance" else pts[pts < price]
    clusters = cluster_prices(pts, tol)
    if side == "support":
        clusters = clusters[::-1]  # nearest (highest) first
    out = []
    for i, c in enumerate(clusters[:n_zones]):
        lo, hi = float(c.min()), float(c.max())
        names = _ZONE_NAMES[side][0 if i == 0 else 1]
        members = "; ".join(f"{d.date().isoformat()} {_usd(x)}" for d, x in c.sort_index().items())
        what = "highest" if side == "resistance" else "lowest"
        out.append({
            "name": names["en"] if i == 0 else f"{names['en']} {i + 1}",
            "names": names if i == 0 else {k: f"{v} {i + 1}" for k, v in names.items()},
            "low": lo, "high": hi, "kind": side, "method": f"swing_{'high' if side == 'resistance' else 'low'}_zone",
            "metric": "btc_price",
            "evidence": (f"daily closes that are the {what} within ±{window} days, over the {lookback} days to "
                         f"{as_of_txt}, {'above' if side == 'resistance' else 'below'} the latest close "
                         f"{_usd(price)}, sorted by price and split where the gap between neighbours exceeds {tol:.0%}: "
                         f"{members}"),
            "source": src, "date": c.index.max().date().isoformat(),
            "members": [{"date": d.date().isoformat(), "price": float(x)} for d, x in c.sort_index().items()],
        })
    return out


def _congestion(close: pd.Series, price: float, as_of_txt: str, src: str | None,
                cfg: Mapping[str, Any]) -> list[dict]:
    """Time-at-price zones (price clustering) of the last ``profile_lookback_days`` closes that lie
    wholly above or below the price; a zone containing the price is left out (it is neither)."""
    lookback = int(cfg["profile_lookback_days"])
    bin_pct = float(cfg["profile_bin_pct"])
    end = close.index[-1]
    recent = close[close.index > end - pd.Timedelta(days=lookback)]
    zones = cluster_zones(price_profile(recent, bin_pct=bin_pct), top=int(cfg["profile_zones"]),
                          min_share=float(cfg["profile_min_share"]), bin_pct=bin_pct)
    out = []
    for _, z in zones.iterrows():
        lo, hi = float(z["low"]), float(z["high"])
        if lo <= price <= hi:
            continue
        kind = _kind(lo, hi, price)
        names = ({"en": "Congestion zone above (price clustering)", "zh-TW": "上方密集成交區（價格聚集）"}
                 if kind == "resistance" else
                 {"en": "Congestion zone below (price clustering)", "zh-TW": "下方密集成交區（價格聚集）"})
        tag = f" {_usd(lo)}–{_usd(hi)}"
        out.append({
            "name": names["en"] + tag, "names": {k: v + tag for k, v in names.items()},
            "low": lo, "high": hi, "kind": kind, "method": "price_cluster", "metric": "btc_price",
            "evidence": (f"{z['share']:.0%} of the {len(recent)} daily closes in the {lookback} days to {as_of_txt} "
                         f"fell in {_usd(lo)}–{_usd(hi)} (time-at-price profile, {bin_pct:.0%} bins, zone = "
                         f"peak bin widened while neighbours hold half its count)"),
            "source": src, "date": as_of_txt, "share": float(z["share"]),
        })
    return out


def compute_levels(ev, values: Mapping[str, Any], cfg) -> list[dict]:
    """Every price level for the as-of date, nearest first on each side.

    Parameters
    ----------
    ev : btcmacro.registry.Evaluator
        Bound to the as-of date; ``ev.series("btc_price")`` supplies the daily closes.
    values : mapping
        ``{metric_id: MetricValue}``; metric levels use the latest available value.
    cfg : btcmacro.rules.config.RulesConfig
        ``cfg.levels`` holds the parameters (see ``default_rules.toml``).

    Returns
    -------
    list of dict
        Levels (see the module docstring), sorted by price descending; empty when there is no
        BTC price for the date.
    """
    lc = cfg.levels
    pv = values.get("btc_price")
    if pv is None or pv.status == "unavailable" or pv.value is None:
        return []
    close = ev.series("btc_price")
    if close.empty:
        return []
    price = float(pv.value)
    as_of_txt = pv.date
    src = pv.source
    levels: list[dict] = []
    levels += _zones(close, price, as_of_txt, src, lc, "resistance")
    levels += _zones(close, price, as_of_txt, src, lc, "support")

    levels += _congestion(close, price, as_of_txt, src, lc)

    seen: set[float] = set()
    for step in round_steps(price, lc["round_steps_usd"]):
        r = round_levels(price, step=step, count=1)
        for side, lv in [("below", x) for x in r["below"]] + [("above", x) for x in r["above"]]:
            if lv in seen:
                continue
            seen.add(lv)
            levels.append({
                "name": f"Round number {_usd(lv)}",
                "names": {"en": f"Round number {_usd(lv)}", "zh-TW": f"整數關卡 {_usd(lv)}"},
                "low": lv, "high": lv, "kind": _kind(lv, lv, price), "method": "round_number",
                "metric": "btc_price",
                "evidence": f"nearest multiple of {_usd(r['step'])} {side} the close {_usd(price)} of {as_of_txt}",
                "source": src, "date": as_of_txt,
            })

    for mid in lc["metric_levels"]:
        mv = values.get(mid)
        if mv is None or mv.status == "unavailable" or mv.value is None:
            continue
        if mv.status == "stale" and not lc.get("accept_stale", True):
            continue
        x = float(mv.value)
        if not np.isfinite(x) or x <= 0:
            continue
        names = METRIC_LEVEL_NAMES.get(mid)
        if names is None:
            from ..registry import REGISTRY

            names = dict(REGISTRY[mid].names) if mid in REGISTRY else {"en": mid, "zh-TW": mid}
        stale = f" (stale: {mv.reason})" if mv.status == "stale" else ""
        levels.append({
            "name": names["en"], "names": names, "low": x, "high": x, "kind": _kind(x, x, price),
            "method": "metric", "metric": mid,
            "evidence": f"{mid} = {_usd(x)} USD on {mv.date} ({mv.source}){stale}",
            "source": mv.source, "date": mv.date,
        })

    for lv in levels:
        mid = (lv["low"] + lv["high"]) / 2.0
        lv["distance_pct"] = round(100.0 * (mid - price) / price, 2)
    levels.sort(key=lambda lv: (-lv["high"], -lv["low"]))
    return levels
