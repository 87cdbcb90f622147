"""Live data sources. ``SOURCES`` maps a source id to its instance, built once; nothing else
dispatches on names. Each module declares its series, HTTP policy, credentials and base URLs
(see :mod:`btcmacro.sources.base` for the common ``prepare``/``fetch``/``parse`` shape)."""

from __future__ import annotations

from . import coinmetrics, defillama, exchanges, farside, feargreed, fred, kalshi, mempool, nyfed, treasury, yahoo
from .base import Context, Parsed, Query, Request, Source, SourceProtocol

SOURCES: dict[str, Source] = {
    s.id: s
    for s in (
        fred.SOURCE,
        nyfed.SOURCE,
        treasury.SOURCE,
        coinmetrics.SOURCE,
        mempool.SOURCE,
        defillama.SOURCE,
        feargreed.SOURCE,
        farside.SOURCE,
        yahoo.SOURCE,
        exchanges.SOURCE,
        kalshi.SOURCE,
    )
}

__all__ = ["SOURCES", "Context", "Parsed", "Query", "Request", "Source", "SourceProtocol"]
