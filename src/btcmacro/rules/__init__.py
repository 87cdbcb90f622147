"""Rules: regimes, price levels and FOMC scenarios, driven by a user-editable TOML file.

``default_rules.toml`` (next to this module) documents every threshold and parameter; a user file
passed with ``--rules`` (or ``rules.toml`` in the config dir) overrides any subset of it. Each
rule outcome carries the evidence — values, dates, thresholds — that decided it.

Entry points used by :func:`btcmacro.api.briefing`:

* :func:`load_rules` -> :class:`RulesConfig`
* :func:`evaluate_regimes` (``regimes.py``), :func:`compute_levels` (``levels.py``),
  :func:`build_scenarios` (``scenarios.py``)
* :func:`next_meeting`, :func:`meetings` (``fomc.py``; embedded calendar with sources)
"""

from __future__ import annotations

from .config import RulesConfig, load_rules
from .fomc import meetings, next_meeting
from .levels import compute_levels
from .regimes import evaluate_regimes
from .scenarios import build_scenarios

__all__ = ["RulesConfig", "load_rules", "evaluate_regimes", "compute_levels", "build_scenarios",
           "next_meeting", "meetings"]
