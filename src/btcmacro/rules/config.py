"""Loading the rules file: defaults merged with the user's overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .. import config as _config
from ..errors import ConfigError
from .schema import validate


@dataclass
class RulesConfig:
    params: dict[str, Any] = field(default_factory=dict)  # metric function parameters
    regimes: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, Any] = field(default_factory=dict)
    source: str = "default"
    thesis: dict[str, Any] = field(default_factory=dict)  # scoring of the first screen (rules/thesis.py)


def _merge(base: dict, over: dict, where: str) -> dict:
    out = dict(base)
    for k, v in over.items():
        if k not in base:
            raise ConfigError(f"unknown key {k!r} (not in the default rules)", where=where)
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"{k!r} must be a table", where=where)
            out[k] = _merge(base[k], v, f"{where}.{k}")
        else:
            out[k] = v
    return out


def default_rules_text() -> str:
    return resources.files(__package__).joinpath("default_rules.toml").read_text("utf-8")


def load_rules(path: str | Path | None = None) -> RulesConfig:
    """Defaults, overridden by ``path`` or by ``rules.toml`` in the user config dir.

    The result is checked against :mod:`btcmacro.rules.schema`; a key of the wrong type, out of
    range or out of order with another is one :class:`ConfigError` naming the file, the key, the
    value and what is expected.
    """
    import tomllib

    base = tomllib.loads(default_rules_text())
    src = "default"
    user = None
    if path is not None:
        user = Path(path)
    else:
        cand = _config.config_dir() / "rules.toml"
        if cand.exists():
            user = cand
    if user is not None:
        from ..inputs import printable

        src = printable(user)  # named in errors, on one line whatever the file name holds
        base = _merge(base, _config.load_toml(user), src)
    validate(base, src)  # types, ranges and orderings (rules/schema.py); the defaults pass it
    return RulesConfig(params=base.get("params", {}), regimes=base.get("regimes", {}),
                       levels=base.get("levels", {}), scenarios=base.get("scenarios", {}), source=src,
                       thesis=base.get("thesis", {}))
