"""Research: test the liquidity-vs-rates claims with data, whichever way they come out.

Three studies, each returning a result dataclass holding pandas / statsmodels objects and a
``to_doc()`` report (Markdown, JSON or HTML through :mod:`btcmacro.research.render`):

* :func:`analyze_sensitivity` (``sensitivity.py``): BTC returns regressed on liquidity and rate
  changes with HAC standard errors, standardised betas, rolling betas, lead–lag and Granger tests.
* :func:`fomc_event_study` (``fomc_events.py``): abnormal returns of BTC, gold, DXY and the 10y
  yield around FOMC decisions, by decision type (derived from data) and balance-sheet news.
* :func:`backtest_regimes` (``backtest.py``): the regime rules evaluated point-in-time on past
  dates, BTC forward returns by regime state with independent episodes counted.

>>> from btcmacro.research import analyze_sensitivity
>>> r = analyze_sensitivity(freq="M")          # r.models[("net_liquidity", "policy_rate", True)].summary()
"""

from __future__ import annotations

from .backtest import BacktestResult
from .backtest import backtest as backtest_regimes
from .fomc_events import FomcResult, fomc_event_study
from .sensitivity import SensitivityResult
from .sensitivity import sensitivity as analyze_sensitivity

__all__ = ["analyze_sensitivity", "SensitivityResult", "fomc_event_study", "FomcResult",
           "backtest_regimes", "BacktestResult"]
