"""Display formatting of metric values for the dashboard (by unit and language)."""

from __future__ import annotations

import math
from typing import Any


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _sig(x: float, digits: int = 4) -> str:
    if x == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(x))))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


def usd(x: float, lang: str = "en") -> str:
    """``6.54T USD`` style in English, ``6.54 兆美元`` style in Traditional Chinese."""
    a, sign = abs(x), "-" if x < 0 else ""
    if lang == "zh-TW":
        for div, word in ((1e12, "兆"), (1e8, "億"), (1e4, "萬")):
            if a >= div:
                return f"{sign}{a / div:,.2f} {word}美元"
        return f"{sign}{a:,.2f} 美元"
    for div, word in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if a >= div:
            return f"{sign}${a / div:,.2f}{word}"
    return f"{sign}${a:,.2f}" if a < 1000 else f"{sign}${a:,.0f}"


def value(v: Any, unit: str, lang: str = "en") -> str:
    """A metric value as shown in the briefing table.

    Parameters
    ----------
    v : Any
        The value from ``MetricValue.to_json()`` (number, bool, state string or ``None``).
    unit : str
        The registry unit (``USD``, ``fraction``, ``percent``, ``bp``, ``bool``, ``state``...).
    lang : str
        ``en`` or ``zh-TW``.

    Returns
    -------
    str
        ``"—"`` for a missing value.
    """
    if v is None:
        return "—"
    if unit == "bool" or isinstance(v, bool):
        yes = {"en": ("yes", "no"), "zh-TW": ("是", "否")}[lang]
        return yes[0] if bool(v) else yes[1]
    x = _num(v)
    if x is None:
        return str(v)
    if unit == "USD":
        return usd(x, lang)
    if unit == "fraction":
        return f"{100 * x:.2f}%"
    if unit == "percent":
        return f"{x:.2f}%"
    if unit == "bp":
        return f"{x:.1f} bp"
    if unit in ("days", "count") or (x.is_integer() and abs(x) < 1e6):
        return f"{x:,.0f}"
    return _sig(x)
