"""Indicator families: pure functions over pandas Series, no I/O.

Each family module holds its functions and, at the bottom, ``METRICS``: the registry
declarations of the metrics it provides (see :mod:`btcmacro.registry`). A metric function takes
``(inputs, params)`` — ``inputs`` maps catalogue series ids to Series already cut to what was
published by the as-of date, ``params`` holds the rule-file parameters — and returns the metric's
time series. Shared helpers live in :mod:`btcmacro.indicators.common`.
"""

from . import crossasset, derivatives, liquidity, macro, market, mining, onchain, policy

FAMILIES = (liquidity, macro, market, onchain, mining, derivatives, crossasset, policy)
