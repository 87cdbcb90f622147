"""Price levels computed from data (filled in by the rules work)."""

from __future__ import annotations


def compute_levels(ev, values, cfg) -> list:
    return []
