"""market indicators (pure functions) and their registry declarations."""

from __future__ import annotations

METRICS: list = []
