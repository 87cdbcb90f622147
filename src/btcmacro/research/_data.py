"""Loading research inputs through the library API (registry metrics and catalogue series)."""

from __future__ import annotations

import pandas as pd

from ..store import Store


def btc_price_id() -> str:
    """``btc_price`` once the market family declares it, else the raw CoinMarketCap close."""
    from ..registry import REGISTRY

    return "btc_price" if "btc_price" in REGISTRY else "cmc/btc_close"


def load(store: Store, ids, as_of=None) -> dict[str, pd.Series]:
    """Each id (metric or catalogue series) via :func:`btcmacro.api.series`, as of ``as_of``."""
    from .. import api

    out = {}
    for i in ids:
        s = api.series(i, as_of=as_of, store=store).dropna()
        out[i] = s[~s.index.duplicated(keep="last")].sort_index()
    return out


def asof(s: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """``s``'s latest value on or before each date (NaN before its first observation)."""
    from ..indicators.common import asof_align

    return asof_align(pd.Series(index=dates, dtype="float64"), s)


def parse_date(x, what: str):
    """:func:`btcmacro.inputs.parse_date`: the one strict ``YYYY-MM-DD`` parser."""
    from ..inputs import parse_date as _parse

    return _parse(x, what)
