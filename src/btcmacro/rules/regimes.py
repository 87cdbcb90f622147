"""Regime classification (filled in by the rules work)."""

from __future__ import annotations


def evaluate_regimes(ev, values, cfg) -> dict:
    return {}
