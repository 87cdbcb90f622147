"""Price levels computed from data: swing-high/low zones, round numbers, averages and cost bases.

No price is ever typed in: every level is a function of a series as of the briefing date, and
carries the evidence of how it was computed (method, metric, dates, source).

The pure level helpers live in :mod:`btcmacro.indicators.market` (``swing_points``,
``price_profile`` / ``cluster_zones``, ``round_levels``); this module adds
:func:`cluster_prices` (grouping swing points into zones) and :func:`compute_levels`, which
applies them with the ``[levels]`` parameters of the rules file.

A level is a dict::

    {"name": "Resistance zone (swing highs)", "names": {"en", "zh-TW"}, "low": 93527.8, "high": 94060.8,
     "kind": "resistance" | "support",
     "method": "swing_high_zone" | "swing_low_zone" | "price_cluster" | "round_number" | "metric",
     "metric": "btc_price" | "sth_cost_basis" | ..., "evidence": "how it was computed",
     "source": "CoinMarketCap:btc_close", "date": "2025-12-09", "distance_pct": 1.2}

``kind`` is relative to the latest price: a level above it is resistance, below it support. A
swing zone takes its side from its pivots (highs above the price: resistance), so a zone whose
close edge lies beyond the price (the price is testing it) keeps its side.
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
    "support": ({"en": "Support zone (swing lows)", "zh-TW": "支撐區（波段低點）"},
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

#: intraday extremes of the same provider as the closes (used where they exist)
INTRADAY = {"CoinMarketCap": ("cmc/btc_high", "cmc/btc_low")}


def daily_bars(ev, close: pd.Series, source: str | None) -> tuple[pd.Series, pd.Series, bool]:
    """Daily highs and lows aligned on ``close``: the price provider's intraday extremes where
    published by the as-of date, the close on days without them (and never inside the close:
    high >= close >= low). The flag says whether any intraday value was used."""
    provider = (source or "").split(":", 1)[0]
    ids = INTRADAY.get(provider)
    high, low = close.copy(), close.copy()
    used = False
    if ids is not None and ev is not None:
        h = ev.input(ids[0]).reindex(close.index)
        lo = ev.input(ids[1]).reindex(close.index)
        used = bool(h.notna().any() or lo.notna().any())
        if used:
            high.attrs["intraday_end"] = h.dropna().index.max().date().isoformat()
        end = high.attrs.get("intraday_end")
        high = pd.concat([h, close], axis=1).max(axis=1)
        low = pd.concat([lo, close], axis=1).min(axis=1)
        if end:
            high.attrs["intraday_end"] = end
    return high, low, used


def swing_zones(close: pd.Series, high: pd.Series, low: pd.Series, price: float, *, side: str,
                lookback: int, window: int, tolerance: float) -> list[dict]:
    """Zones of swing highs above (``side="resistance"``) or swing lows below the price.

    Pivots are taken on the daily highs (lows): a high that is the highest of ±``window`` days
    (:func:`btcmacro.indicators.market.swing_points`) over the last ``lookback`` days; only
    pivots beyond ``price`` count. They are grouped with :func:`cluster_prices` (a new zone where
    the gap between neighbouring extremes exceeds ``tolerance``). A zone runs from its members'
    outermost extreme (the highest high) to their closes on the pivot days (the lowest of them),
    each close taken no further than ``tolerance`` from its own extreme, so a zone is the area
    where sellers (buyers) turned the price, wick to close.

    Returns
    -------
    list of dict
        ``{"low", "high", "members": [{"date", "price" (the extreme), "close"}]}``, nearest the
        price first.
    """
    end = close.index[-1]
    keep = close.index > end - pd.Timedelta(days=lookback)
    h, lo, c = high[keep], low[keep], close[keep]
    kind = "high" if side == "resistance" else "low"
    piv = swing_points(h, lo, window=window)
    piv = piv[piv["kind"] == kind]
    pts = pd.Series(piv["price"].to_numpy(dtype=float), index=pd.DatetimeIndex(piv["date"]))
    pts = pts[pts > price] if side == "resistance" else pts[pts < price]
    clusters = cluster_prices(pts, tolerance)
    if side == "support":
        clusters = clusters[::-1]  # nearest (highest) first
    out = []
    for cl in clusters:
        members = []
        for d, x in cl.sort_index().items():
            cx = float(c.loc[d])
            inner = max(cx, x / (1.0 + tolerance)) if side == "resistance" else min(cx, x * (1.0 + tolerance))
            members.append({"date": d.date().isoformat(), "price": float(x), "close": cx, "inner": inner})
        if side == "resistance":
            hi_, lo_ = max(m["price"] for m in members), min(m["inner"] for m in members)
        else:
            lo_, hi_ = min(m["price"] for m in members), max(m["inner"] for m in members)
        for m in members:
            del m["inner"]
        out.append({"low": float(lo_), "high": float(hi_), "members": members, "last": cl.index.max()})
    return out


def _zones(ev, close: pd.Series, price: float, as_of_txt: str, src: str | None, cfg: Mapping[str, Any],
           side: str) -> list[dict]:
    lookback = int(cfg["swing_lookback_days"])
    window = int(cfg["swing_window_days"])
    tol = float(cfg["cluster_tolerance"])
    n_zones = int(cfg["zones_per_side"])
    high, low, intraday = daily_bars(ev, close, src)
    zones = swing_zones(close, high, low, price, side=side, lookback=lookback, window=window, tolerance=tol)
    res = side == "resistance"
    ext = "high" if res else "low"
    end = high.attrs.get("intraday_end")
    gap = (f" (no intraday data after {end}: later days count their close)"
           if intraday and end and end < close.index[-1].date().isoformat() else "")
    if intraday:
        provider = (src or "").split(":", 1)[0]
        ids = INTRADAY[provider]
        from ..registry import series_label

        src = f"{src}, {series_label(ids[0] if res else ids[1])}"
    out = []
    for i, z in enumerate(zones[:n_zones]):
        names = _ZONE_NAMES[side][0 if i == 0 else 1]
        members = "; ".join(f"{m['date']} {ext} {_usd(m['price'])} (close {_usd(m['close'])})" for m in z["members"])
        what = "highest" if res else "lowest"
        out.append({
            "name": names["en"] if i == 0 else f"{names['en']} {i + 1}",
            "names": names if i == 0 else {k: f"{v} {i + 1}" for k, v in names.items()},
            "low": z["low"], "high": z["high"], "kind": side, "method": f"swing_{ext}_zone",
            "metric": "btc_price",
            "evidence": (f"daily {ext}s{gap if intraday else ' (closes: no intraday data)'} that are the {what} "
                         f"within ±{window} days, over the {lookback} days to {as_of_txt}, "
                         f"{'above' if res else 'below'} the latest close {_usd(price)}, grouped where neighbours "
                         f"are within {tol:.0%}; the zone runs from the {'highest high' if res else 'lowest low'} "
                         f"to the closes of those days (each at most {tol:.0%} from its {ext}): {members}"),
            "source": src, "date": z["last"].date().isoformat(), "intraday": intraday,
            "members": z["members"],
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
        out.append({
            "name": names["en"], "names": dict(names),
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
    levels += _zones(ev, close, price, as_of_txt, src, lc, "resistance")
    levels += _zones(ev, close, price, as_of_txt, src, lc, "support")

    levels += _congestion(close, price, as_of_txt, src, lc)

    seen: set[float] = set()
    for step in round_steps(price, lc["round_steps_usd"]):
        r = round_levels(price, step=step, count=1)
        for side, lv in [("below", x) for x in r["below"]] + [("above", x) for x in r["above"]]:
            if lv in seen:
                continue
            seen.add(lv)
            levels.append({
                "name": "Round number",
                "names": {"en": "Round number", "zh-TW": "整數關卡"},
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
