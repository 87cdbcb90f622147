"""The public library API: what the CLI, the dashboard and notebooks call.

>>> import btcmacro
>>> s = btcmacro.series("net_liquidity", as_of="2025-12-09")   # pandas Series, .attrs = unit, source...
>>> b = btcmacro.briefing("2025-12-09")                        # Briefing; b.to_json() is the JSON contract

Every function opens the store (creating it from the embedded snapshot on first use) unless a
``store`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from . import catalog, config
from .errors import StoreError, UsageError
from .registry import REGISTRY, Evaluator, get
from .store import Store

PRICE = "cmc/btc_close"
PRICE_SERIES = ("cmc/btc_close", "yahoo/btc_close", "cm/PriceUSD")

#: metrics drawn as charts in the briefing (id -> lookback days)
CHART_METRICS = {
    "fed_total_assets": 365 * 5, "qt_runoff_since_peak": 365 * 5, "reserves": 365 * 3,
    "sofr_iorb_spread_bp": 365, "net_liquidity": 365 * 3, "m2": 365 * 5, "m2_yoy": 365 * 5,
    "payrolls_change": 365 * 3, "btc_price": 365 * 2, "btc_ma_50d": 365 * 2, "btc_ma_200d": 365 * 2,
    "btc_ma_200w": 365 * 2, "mvrv": 365 * 4, "realized_price": 365 * 2, "hashrate": 365 * 2,
    "difficulty": 365 * 2, "gold_price": 365, "sth_cost_basis": 365 * 2,
}


# ----------------------------------------------------------------------------------------------
# store
# ----------------------------------------------------------------------------------------------


def store_path(path: str | Path | None = None) -> Path:
    return Path(path).expanduser() if path else config.default_store_path()


def open_store(path: str | Path | None = None, *, read_only: bool = True) -> Store:
    """Open the store, loading the embedded snapshot first if it is missing or outdated.

    With ``read_only`` (the default for readers) an up-to-date store is opened read-only, so a
    briefing never takes the write lock; a missing or outdated store is (re)loaded read-write
    once.
    """
    from . import data

    p = store_path(path)
    version = data.data_version()
    if p.exists() and read_only:
        s = Store(p, read_only=True)
        if s.get_meta("snapshot_version") == version:
            return s
        s.close()
    s = Store(p, read_only=False)
    if s.get_meta("snapshot_version") != version:
        data.install_into(s)
    if read_only:
        s.close()
        return Store(p, read_only=True)
    return s


def rebuild_store(path: str | Path | None = None) -> Path | None:
    """Rename the store file aside (never delete it) and load a fresh one from the snapshot."""
    from . import data

    p = store_path(path)
    kept = None
    if p.exists():
        kept = p.with_name(f"{p.name}.corrupt-{dt.datetime.now().strftime('%Y%m%d%H%M%S')}")
        p.rename(kept)
        wal = p.with_name(p.name + ".wal")
        if wal.exists():
            wal.rename(kept.with_name(kept.name + ".wal"))
    with Store(p) as s:
        data.install_into(s)
    return kept


@contextmanager
def _using(store: Store | None, path=None) -> Iterator[Store]:
    if store is not None:
        yield store
        return
    s = open_store(path)
    try:
        yield s
    finally:
        s.close()


# ----------------------------------------------------------------------------------------------
# dates
# ----------------------------------------------------------------------------------------------


def data_version(store: Store) -> str:
    """The snapshot version, plus the time of the latest live update if any (``+live-<time>``)."""
    import json

    from . import data

    version = store.get_meta("snapshot_version") or data.data_version()
    rows = store.con.execute("SELECT value FROM meta WHERE key LIKE 'source_status/%'").fetchall()
    times = []
    for (v,) in rows:
        try:
            st = json.loads(v)
        except (TypeError, ValueError):
            continue
        if isinstance(st, dict) and st.get("at"):
            times.append(str(st["at"]))
    return f"{version}+live-{max(times)}" if times else version


def data_range(store: Store) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date of any BTC price series: the range a briefing can be built for.

    The embedded CoinMarketCap closes, Yahoo, Coin Metrics' reference rate (refreshed by
    ``btcmacro update``) and exchange closes all count, so a live update extends the range.
    """
    # the last date is the last *publication* day, so that the default as-of sees the newest close
    row = store.con.execute(
        "SELECT min(date), max(published_at) FROM obs WHERE series_id IN (SELECT unnest(?)) "
        "OR series_id LIKE 'ccxt/%/btc_close'", [list(PRICE_SERIES)]
    ).fetchone()
    if row[0] is None:
        raise StoreError("store holds no BTC price series", where=str(store.path))
    return pd.Timestamp(row[0]), pd.Timestamp(row[1])


def resolve_as_of(store: Store, as_of: str | dt.date | None) -> pd.Timestamp:
    """Validate an as-of date against the data (default: the latest date in the store)."""
    first, last = data_range(store)
    if as_of is None:
        return last
    try:
        d = pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError):
        raise UsageError(f"not a date: {as_of!r} (expected YYYY-MM-DD)", where="--as-of") from None
    if d < first:
        raise UsageError(f"{d.date()} is before the data (BTC prices start {first.date()})", where="--as-of")
    if d > last:
        raise UsageError(
            f"{d.date()} is after the data (latest {last.date()}); run `btcmacro update` for newer data",
            where="--as-of",
        )
    return d


# ----------------------------------------------------------------------------------------------
# metrics and series
# ----------------------------------------------------------------------------------------------


def metrics_list() -> list[dict]:
    """One dict per registry metric: id, names, unit, category, source(s), definition, citation."""
    out = []
    for m in REGISTRY.values():
        out.append({
            "id": m.id, "name": m.names["en"], "name_zh_tw": m.names.get("zh-TW", ""), "unit": m.unit,
            "category": m.category,
            "source": " | ".join(", ".join(registry_label(i) for i in v.inputs) for v in m.variants),
            "definition": m.definition, "citation": m.citation, "version": m.version,
        })
    return out


def registry_label(series_id: str) -> str:
    d = catalog.SERIES.get(series_id)
    return d.label if d else series_id


def series(id: str, start=None, end=None, as_of=None, *, store: Store | None = None,
           params: dict | None = None) -> pd.Series:
    """A metric (registry id) or raw input series (catalogue id) as a pandas Series.

    ``as_of`` restricts to what was published by that date; ``.attrs`` carry unit, source,
    definition, as-of and version.
    """
    with _using(store) as st:
        if as_of is not None:
            as_of = resolve_as_of(st, as_of)
        if id in REGISTRY:
            if params is None:
                from .rules import load_rules

                params = load_rules().params
            s = Evaluator(st, as_of, params).series(id).copy()
        elif id in catalog.SERIES:
            d = catalog.SERIES[id]
            s = st.series(id, as_of=as_of)
            s.attrs.update(unit=d.unit, source=d.label, definition=d.name,
                           as_of=None if as_of is None else as_of.date().isoformat(), version=None)
        else:
            raise UsageError("unknown metric or series id (see `btcmacro metrics list`)", where=id)
        s.attrs["data_version"] = data_version(st)
        s.attrs["vintage"] = (f"as published by {as_of.date().isoformat()}" if as_of is not None
                              else "latest vintage of every observation")
        if start is not None:
            s = s[s.index >= pd.Timestamp(start)]
        if end is not None:
            s = s[s.index <= pd.Timestamp(end)]
        return s


# ----------------------------------------------------------------------------------------------
# the briefing
# ----------------------------------------------------------------------------------------------


@dataclass
class Briefing:
    """The structured result behind every briefing format."""

    as_of: pd.Timestamp
    generated_at: str
    data_version: str
    metrics: dict[str, Any]  # id -> MetricValue
    regimes: dict[str, dict]
    levels: list[dict]
    scenarios: list[dict]
    fomc: dict | None
    notes: list[str] = field(default_factory=list)
    charts: dict[str, pd.Series] = field(default_factory=dict)  # not part of the JSON

    def to_json(self) -> dict:
        from .registry import _jsonable

        return {
            "as_of": self.as_of.date().isoformat(),
            "generated_at": self.generated_at,
            "data_version": self.data_version,
            "metrics": {k: v.to_json() for k, v in self.metrics.items()},
            "regimes": _jsonable(self.regimes),
            "levels": _jsonable(self.levels),
            "scenarios": _jsonable(self.scenarios),
            "fomc": _jsonable(self.fomc),
            "notes": self.notes,
        }


def briefing(as_of=None, *, store: Store | None = None, rules_path: str | Path | None = None,
             with_charts: bool = True, now: dt.datetime | None = None) -> Briefing:
    """Compute every registry metric, the regimes, levels and FOMC scenarios for ``as_of``."""
    from . import data, rules

    cfg = rules.load_rules(rules_path)
    with _using(store) as st:
        d = resolve_as_of(st, as_of)
        ev = Evaluator(st, d, cfg.params)
        ev.prefetch([i for m in REGISTRY.values() for i in m.inputs])
        values = {mid: ev.value(mid) for mid in REGISTRY}
        regimes = rules.evaluate_regimes(ev, values, cfg)
        levels = rules.compute_levels(ev, values, cfg)
        fomc = rules.next_meeting(d)
        scenarios = rules.build_scenarios(ev, values, regimes, levels, fomc, cfg)
        charts = {}
        if with_charts:
            for mid, days in CHART_METRICS.items():
                if mid in REGISTRY:
                    s = ev.series(mid)
                    charts[mid] = s[s.index > d - pd.Timedelta(days=days)]
        version = data_version(st)
        generated = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
        notes = [
            "Macro series in the embedded snapshot are one later vintage (mid-2026): values for "
            "periods published by the as-of date may include later revisions; publication dates "
            "follow the real release calendar.",
        ]
        return Briefing(d, generated, version, values, regimes, levels, scenarios, fomc, notes, charts)


def metric_definition(id: str) -> dict:
    m = get(id)
    return {"id": m.id, "names": m.names, "unit": m.unit, "definition": m.definition,
            "citation": m.citation, "inputs": list(m.inputs), "version": m.version}
