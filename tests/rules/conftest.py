"""Fixtures for the rules tests: one evaluation of the real snapshot as of 2025-12-09, shared.

``rules_store_path`` is the suite-wide snapshot store of ``tests/conftest.py`` (which also gives
every test a private BTCMACRO_HOME and config dir); ``dec9`` evaluates every registry metric once
for 2025-12-09 with the packaged default rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

AS_OF = "2025-12-09"


@dataclass
class Evaluated:
    store: object
    ev: object
    values: dict
    cfg: object
    regimes: dict
    levels: list
    fomc: dict | None
    scenarios: list


@pytest.fixture(scope="session")
def rules_store_path(snapshot_store_path):
    """The suite-wide snapshot store (tests/conftest.py); the tests only read it."""
    return snapshot_store_path


@pytest.fixture(scope="session")
def dec9(rules_store_path):
    from btcmacro.registry import REGISTRY, Evaluator
    from btcmacro.rules import build_scenarios, compute_levels, evaluate_regimes, next_meeting
    from btcmacro.store import Store

    store = Store(rules_store_path, read_only=True)
    cfg = _default_rules()
    ev = Evaluator(store, AS_OF, cfg.params)
    ev.prefetch([i for m in REGISTRY.values() for i in m.inputs])
    values = {mid: ev.value(mid) for mid in REGISTRY}
    regimes = evaluate_regimes(ev, values, cfg)
    levels = compute_levels(ev, values, cfg)
    fomc = next_meeting(AS_OF)
    scenarios = build_scenarios(ev, values, regimes, levels, fomc, cfg)
    yield Evaluated(store, ev, values, cfg, regimes, levels, fomc, scenarios)
    store.close()


def _default_rules():
    """The packaged defaults only (never a rules.toml from the user's config dir)."""
    import tomllib

    from btcmacro.rules.config import RulesConfig, default_rules_text

    d = tomllib.loads(default_rules_text())
    return RulesConfig(params=d["params"], regimes=d["regimes"], levels=d["levels"], scenarios=d["scenarios"])
