"""Small shared helpers for indicator functions (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MILLION = 1e6
BILLION = 1e9


def asof_align(left: pd.Series, right: pd.Series) -> pd.Series:
    """``right``'s latest value on or before each date of ``left`` (index of ``left``)."""
    r = right.dropna().sort_index()
    if r.empty:
        return pd.Series(np.nan, index=left.index)
    pos = r.index.searchsorted(left.index, side="right") - 1
    vals = np.where(pos >= 0, r.to_numpy()[np.clip(pos, 0, None)], np.nan)
    return pd.Series(vals, index=left.index)


def pct_change_over(s: pd.Series, days: int) -> pd.Series:
    """Fractional change versus the latest value at least ``days`` calendar days earlier."""
    s = s.dropna()
    prior = asof_align(pd.Series(index=s.index - pd.Timedelta(days=days), dtype=float), s)
    prior.index = s.index
    return s / prior - 1.0


def change_over(s: pd.Series, days: int) -> pd.Series:
    """Absolute change versus the latest value at least ``days`` calendar days earlier."""
    s = s.dropna()
    prior = asof_align(pd.Series(index=s.index - pd.Timedelta(days=days), dtype=float), s)
    prior.index = s.index
    return s - prior


def with_detail(s: pd.Series, **detail) -> pd.Series:
    """Attach facts about the latest point (e.g. a peak's date) for the report and JSON."""
    s.attrs["detail"] = detail
    return s
