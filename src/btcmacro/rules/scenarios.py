"""FOMC scenario map (filled in by the rules work)."""

from __future__ import annotations


def build_scenarios(ev, values, regimes, levels, fomc, cfg) -> list:
    return []
