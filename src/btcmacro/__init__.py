"""btcmacro: where Bitcoin stands in the Fed liquidity cycle and its own on-chain cycle.

The public API lives in :mod:`btcmacro.api`; the names below are imported lazily so that
``import btcmacro`` stays fast (pandas and DuckDB load on first use).
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("series", "briefing", "metrics_list", "open_store", "Briefing", "hodl_waves", "urpd")

__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'btcmacro' has no attribute {name!r}")
