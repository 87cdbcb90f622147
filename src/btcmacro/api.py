"""The public library API: what the CLI, the dashboard and notebooks call.

>>> import btcmacro
>>> s = btcmacro.series("net_liquidity", as_of="2025-12-09")   # pandas Series, .attrs = unit, source...
>>> b = btcmacro.briefing("2025-12-09")                        # Briefing; b.to_json() is the JSON contract
>>> btcmacro.hodl_waves("2024-06-24")                          # one day's HODL waves from the own-node index
>>> btcmacro.urpd("2024-06-24", buckets=50)                    # one day's URPD, priced from the store

Every function opens the store (creating it from the embedded snapshot on first use) unless a
``store`` is passed in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from . import catalog, config
from .errors import StoreError, UsageError
from .releases import REVISED_LABEL, revised_by
from .registry import REGISTRY, Evaluator, get
from .store import Store

PRICE = "cmc/btc_close"
PRICE_SERIES = ("cmc/btc_close", "yahoo/btc_close", "cm/PriceUSD")

#: metrics drawn as charts in the briefing (id -> lookback days)
CHART_METRICS = {
    "fed_total_assets": 365 * 5, "qt_runoff_since_peak": 365 * 5, "reserves": 365 * 3,
    "sofr_iorb_spread_bp": 365 * 2, "net_liquidity": 365 * 3, "m2": 365 * 5, "m2_yoy": 365 * 5,
    "payrolls_change": 365 * 3, "btc_price": 365 * 2, "btc_ma_50d": 365 * 2, "btc_ma_200d": 365 * 2,
    "btc_ma_200w": 365 * 2, "mvrv": 365 * 4, "realized_price": 365 * 2, "hashrate": 365 * 2,
    "difficulty": 365 * 2, "gold_price": 365 * 2, "sth_cost_basis": 365 * 2,
    "reserves_to_gdp": 365 * 2, "sofr": 365 * 2, "policy_rate_upper": 365 * 3, "supply_in_loss_pct": 365 * 2,
    "sth_sopr": 365 * 2, "net_realized_pl_usd": 365 * 2, "etf_netflow_5d": 365 * 2, "funding_rate": 365 * 2,
    "open_interest": 365 * 2,
}
#: raw store series drawn in the briefing (chart key -> (series id, scale to the unit, days))
CHART_INPUTS = {"treasury_holdings": ("fred/TREAST", 1e6, 365 * 2)}
#: days of own-node HODL waves drawn in the briefing (up to the as-of date)
HODL_CHART_DAYS = 365 * 3


# ----------------------------------------------------------------------------------------------
# store
# ----------------------------------------------------------------------------------------------


def store_path(path: str | Path | None = None) -> Path:
    """The store file: ``path`` or the default; checked by :func:`btcmacro.inputs.store_file`."""
    from .inputs import store_file

    if path:
        return store_file(path, "--store")
    return store_file(config.default_store_path(), "--store", create_parent=True)


def open_store(path: str | Path | None = None, *, read_only: bool = True,
               on_install=None) -> Store:
    """Open the store, loading the embedded snapshot first if it is missing or outdated.

    With ``read_only`` (the default for readers) an up-to-date store is opened read-only, so a
    briefing never takes the write lock; a missing, outdated or unfinished store is (re)loaded
    read-write once, after calling ``on_install(path)`` if given (the CLI prints a progress line).
    Only a new path or a btcmacro store is ever written (:func:`btcmacro.store.identify`).
    """
    from . import data
    from .store import _Incomplete

    p = store_path(path)
    version = data.data_version()
    if p.exists() and read_only:
        try:
            s = Store(p, read_only=True)
        except _Incomplete:
            s = None
        if s is not None:
            if s.get_meta("snapshot_version") == version:
                return s
            s.close()
    s = Store(p, read_only=False)
    if s.get_meta("snapshot_version") != version:
        if on_install is not None:
            on_install(p)
        data.install_into(s)
    if read_only:
        s.close()
        return Store(p, read_only=True)
    return s


def check_store_target(path: str | Path | None = None) -> Path:
    """Raise the one-line error if ``path`` (default: the user's store) could not be written as
    the store -- a file that is not a btcmacro store, a chain index, a store of a newer btcmacro,
    a locked store -- without writing anything; returns the path. Commands that write the store
    only at their end (``chain sync``) call it first."""
    from .store import identify, store_refusal

    p = store_path(path)
    err = store_refusal(identify(p), writing=True)
    if err is not None:
        raise err
    return p


def rebuild_store(path: str | Path | None = None) -> Path | None:
    """Move a damaged store aside (renamed, never deleted) and load a fresh one from the snapshot.

    Rebuild is a writer like any other: it takes the store's write lock (DuckDB's), so it
    refuses while another process holds it, and it verifies the file under that lock before
    moving anything. Only a btcmacro store found damaged (changed columns, unreadable rows, an
    interrupted creation) or a DuckDB file too damaged to open is moved aside; a sound store,
    a store of a newer btcmacro, or a file that is not a store is left as it is, with one line
    saying why. A missing store is simply created.

    Returns
    -------
    Path or None
        Where the old file was kept (``<name>.corrupt-<time>``), or None if there was none.

    Raises
    ------
    StoreLocked
        Another process holds the store (named, with its command).
    UsageError
        The store is sound: there is nothing to rebuild.
    StoreError
        The path is not a btcmacro store, or was written by a newer btcmacro.
    """
    import duckdb

    from .errors import StoreLocked
    from .store import (FileKind, _kind_of_tables, _store_problem, _tables, identify, lock_holder_text,
                        posix_lock, store_refusal)

    p = store_path(path)
    info = identify(p)
    if info.kind in ("new", "empty"):
        _fresh_store(p)
        return None
    if info.kind == "locked":
        raise StoreLocked(f"the store is in use by {info.holder}: rebuild moves nothing while another process "
                          "has it open; try again when it ends", where=str(p))
    damaged_kinds = info.kind == "unreadable" or (info.kind == "partial" and info.family != "chain index") or (
        info.kind == "store")
    if not damaged_kinds:
        raise store_refusal(info, writing=True) or StoreError("this file cannot be rebuilt", where=str(p))
    if info.kind == "unreadable":
        with posix_lock(p):  # DuckDB cannot open it: take the same POSIX lock its writers take
            kept = _move_aside(p)
            _fresh_store(p)
        return kept
    try:
        con = duckdb.connect(str(p))  # the writer's lock, held until the new store is in place
    except duckdb.Error as e:
        msg = str(e)
        if "lock" in msg.lower():
            raise StoreLocked(f"the store is in use by {lock_holder_text(msg)}; try again when it ends",
                              where=str(p)) from None
        raise StoreError(f"cannot open the store to verify it ({msg.splitlines()[0][:160]})", where=str(p)) from None
    try:
        now = _kind_of_tables(p, _tables(con), con)  # again, under the lock
        if now.kind not in ("store", "partial") or now.family == "chain index":
            raise store_refusal(now, writing=True) or StoreError("this file cannot be rebuilt", where=str(p))
        problem = _store_problem(con, full=True)[0] if now.kind == "store" else "incomplete"
        if problem.startswith("newer:"):
            raise store_refusal(FileKind("store", p, problem=problem), writing=True)
        if not problem:
            raise UsageError("the store is sound (every table and row reads back): rebuild replaces only a "
                             "damaged store; `btcmacro update` refreshes its data", where=str(p))
        kept = _move_aside(p)  # the lock moves with the file: no writer can have opened it
    finally:
        con.close()
    _fresh_store(p)  # after the close: DuckDB would hand this path's old connection back
    return kept


def _move_aside(p: Path) -> Path:
    kept = p.with_name(f"{p.name}.corrupt-{dt.datetime.now().strftime('%Y%m%d%H%M%S')}")
    n = 1
    while kept.exists():
        kept = p.with_name(f"{p.name}.corrupt-{dt.datetime.now().strftime('%Y%m%d%H%M%S')}-{n}")
        n += 1
    p.rename(kept)
    wal = p.with_name(p.name + ".wal")
    if wal.exists():
        wal.rename(kept.with_name(kept.name + ".wal"))
    return kept


def _fresh_store(p: Path) -> None:
    from . import data

    with Store(p) as s:
        data.install_into(s)


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
    from .inputs import parse_date

    d = parse_date(as_of, "--as-of")
    first, last = data_range(store)
    if d is None:
        return last
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
    from .inputs import parse_date, parse_range

    start, end = parse_range(start, end)
    parse_date(as_of, "--as-of")  # checked before the store is opened
    with _using(store) as st:
        if as_of is not None:
            as_of = resolve_as_of(st, as_of)
        if id in REGISTRY:
            if params is None:
                from .rules import load_rules

                params = load_rules().params
            ev = Evaluator(st, as_of, params)
            s = ev.series(id).copy()
            chosen = ev._eval(id)[1]
            inputs = list(chosen.inputs) if chosen is not None else []
        elif id in catalog.SERIES:
            inputs = [id]
            d = catalog.SERIES[id]
            s = st.series(id, as_of=as_of)
            s.attrs.update(unit=d.unit, source=d.label, definition=d.name,
                           as_of=None if as_of is None else as_of.date().isoformat(), version=None)
        else:
            raise UsageError("unknown metric or series id (see `btcmacro metrics list`)", where=id)
        s.attrs["data_version"] = data_version(st)
        # the embedded macro series are one later vintage: say so rather than "as published by"
        revised = revised_by(st, inputs, None, as_of)
        if revised:
            s.attrs["vintage"] = REVISED_LABEL.format(date=revised)
        else:
            s.attrs["vintage"] = (f"as published by {as_of.date().isoformat()}" if as_of is not None
                                  else "latest vintage of every observation")
        if start is not None:
            s = s[s.index >= start]
        if end is not None:
            s = s[s.index <= end]
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
    #: the latest own-node HODL-wave day published by the as-of date (see :func:`published_hodl_waves`)
    hodl_waves: dict | None = None
    #: why ``hodl_waves`` is None (e.g. "needs own-node chain data (btcmacro chain sync)")
    hodl_waves_reason: str | None = None
    #: band shares in percent (date index, one column per band key) for the chart; not in the JSON
    hodl_history: pd.DataFrame | None = None
    #: the scored argument (rules/thesis.py): view, driver, ranked signals, counter-signal, flips
    thesis: dict | None = None
    #: one row per regime: state, direction since last week, conviction, supporting figure
    scorecard: list[dict] = field(default_factory=list)
    #: regimes and key figures that moved since earlier dates (rules/changes.py)
    changes: dict | None = None
    #: how recent the data are: last date in the store, snapshot only or live, each input's age
    freshness: dict | None = None
    #: the research the note quotes, point in time: the liquidity-vs-rate headline with its power
    #: (research/headline.py) and the scenario scorecard for this setup (research/scenarios.py)
    research: dict | None = None
    #: raw store series drawn in the report (``CHART_INPUTS``, e.g. Treasury holdings); not in the JSON
    chart_inputs: dict[str, pd.Series] = field(default_factory=dict)

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
            "hodl_waves": _jsonable(self.hodl_waves),
            "hodl_waves_reason": None if self.hodl_waves is not None else (
                self.hodl_waves_reason or _hodl_needs_node()),
            "thesis": _jsonable(self.thesis),
            "scorecard": _jsonable(self.scorecard),
            "changes": _jsonable(self.changes),
            "freshness": _jsonable(self.freshness),
            "research": _jsonable(self.research),
            "first_screen": self._first_screen(),
        }

    def _first_screen(self) -> dict:
        """The first screen's texts in every language (headline, thesis, scorecard, changes)."""
        from .report.i18n import LANGS
        from .report.narrative import first_screen

        return {lang: first_screen(self, lang) for lang in LANGS} if self.thesis else {}


#: the briefing's note on vintages and publication dates; the calendar spans it states are
#: checked against ``data/release_calendar.csv`` by tests/spine/test_release_calendar.py
VINTAGE_NOTE = (
    "Macro series in the embedded snapshot are one later vintage (mid-2026), so values may include "
    "revisions made after the as-of date; figures that rest on one say \"values as revised by\". "
    "Publication dates follow the agencies' release calendars for payrolls, unemployment and CPI "
    "(December 2012 to November 2026) and PCE (December 2012 to July 2026), including every shutdown "
    "delay since 2013; GDP, JOLTS, M2, jobless claims, the weekly Federal Reserve releases and "
    "anything earlier are dated by a rule that never places a value before its real release (it can "
    "be a few days late)."
)


def briefing(as_of=None, *, store: Store | None = None, rules_path: str | Path | None = None,
             with_charts: bool = True, now: dt.datetime | None = None, compare=None,
             with_changes: bool = True, with_research: bool = True,
             materialized: bool = True) -> Briefing:
    """Compute every registry metric, the regimes, levels and FOMC scenarios for ``as_of``.

    Also the thesis and scorecard (:mod:`btcmacro.rules.thesis`) and, with ``with_changes``, what
    changed since the previous week, the previous FOMC decision and 30 days earlier, or since
    ``compare`` alone (an earlier date), each earlier date evaluated point in time
    (:mod:`btcmacro.rules.changes`). With ``with_research``, the research results the note quotes
    (``research``: the liquidity-vs-rate headline with its power, the scenario scorecard's record).

    The metrics are read from the materialised table beside the store when it holds them for this
    store content, rules and as-of date, and saved there otherwise (see :mod:`btcmacro.materialize`);
    ``materialized=False`` recomputes everything and writes nothing.
    """
    from . import rules
    from .materialize import Table, disabled
    from .rules import changes as _changes
    from .rules import thesis as _thesis

    cfg = rules.load_rules(rules_path)
    with _using(store) as st:
        d = resolve_as_of(st, as_of)
        cmp = None
        if compare is not None:
            try:
                cmp = resolve_as_of(st, compare)
            except UsageError as e:
                raise UsageError(str(e).replace("--as-of", "--compare"), where="--compare") from None
            if cmp >= d:
                raise UsageError(f"{cmp.date()} is not before the as-of date {d.date()} "
                                 "(expected an earlier date)", where="--compare")
        ev = Evaluator(st, d, cfg.params)
        table = Table(st, cfg) if materialized else None
        if table is not None:
            table.load_into(ev)
        ev.prefetch([i for m in REGISTRY.values() for i in m.inputs])
        known = table.values() if table is not None else {}
        values = {mid: known[mid] if mid in known else ev.value(mid) for mid in REGISTRY}
        if table is not None:
            table.remember_values(values)
        regimes = rules.evaluate_regimes(ev, values, cfg)
        levels = rules.compute_levels(ev, values, cfg)
        fomc = rules.next_meeting(d)
        scenarios = rules.build_scenarios(ev, values, regimes, levels, fomc, cfg)
        charts, chart_inputs = {}, {}
        if with_charts:
            for mid, days in CHART_METRICS.items():
                if mid in REGISTRY:
                    s = ev.series(mid)
                    charts[mid] = s[s.index > d - pd.Timedelta(days=days)]
            for key, (sid, scale, days) in CHART_INPUTS.items():
                s = ev.input(sid) * scale
                chart_inputs[key] = s[s.index > d - pd.Timedelta(days=days)]
        hw = _published_hodl(st, d, HODL_CHART_DAYS if with_charts else 0)
        version = data_version(st)
        generated = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
        notes = [VINTAGE_NOTE]
        thesis = _thesis.score(regimes, values, d, cfg)
        first, last = data_range(st)
        changes, week = (None, None)
        if with_changes or cmp is not None:
            with (contextlib.nullcontext() if materialized else disabled()):
                changes, week = _changes.compute(st, d, cfg, {"regimes": regimes, "values": values, "thesis": thesis},
                                                 compare_to=cmp, first=first)
        scorecard = _thesis.scorecard(cfg, thesis, week, d - pd.Timedelta(days=7))
        freshness = _freshness(d, last, version, regimes, values)
        b = Briefing(d, generated, version, values, regimes, levels, scenarios, fomc, notes, charts,
                     hodl_waves=hw.latest, hodl_waves_reason=hw.reason,
                     hodl_history=hw.history if with_charts else None, chart_inputs=chart_inputs,
                     thesis=thesis, scorecard=scorecard, changes=changes, freshness=freshness,
                     research=_research(st, d, scenarios) if with_research else None)
        from .report.builder import add_evidence_text

        add_evidence_text(b)  # each evidence item also as prose (English), beside its rule fields
        if table is not None:
            table.save(ev)  # every metric this briefing evaluated (btcmacro.materialize)
        return b


def _research(st: Store, as_of: pd.Timestamp, scenarios: list[dict]) -> dict:
    """What the research says about this note's claims, as of ``as_of``: the liquidity-vs-rate
    headline (re-estimated on the data published by then) and the scenario scorecard's record
    of the maps whose horizon had ended by then (shipped with the package)."""
    from .research import headline
    from .research.scenarios import record_for

    return {"sensitivity": headline.headline(st, as_of), "scorecard": record_for(as_of, scenarios)}


def _freshness(as_of: pd.Timestamp, last: pd.Timestamp, version: str, regimes: dict, values: dict) -> dict:
    """How recent the data behind a briefing are.

    ``data_through`` is the last publication day of the store's BTC prices; ``snapshot_only``
    says no live update has run (the data are the embedded snapshot); ``refresh_command`` is the
    command that refreshes them (for the analyst appendix, never for client text); ``inputs`` lists each
    metric a regime reads once, with its observation date, publication date and the days from
    publication to the as-of date (None when unknown).
    """
    inputs, seen = [], set()
    for r in regimes.values():
        for e in r.get("evidence") or []:
            mid = e.get("metric")
            if not mid or mid in seen or mid not in values:
                continue
            seen.add(mid)
            mv = values[mid]
            pub = mv.published_at or mv.date
            age = None if not pub else max(int((as_of - pd.Timestamp(pub[:10])).days), 0)
            inputs.append({"metric": mid, "unit": mv.unit, "date": mv.date, "published_at": mv.published_at,
                           "age_days": age, "status": mv.status})
    return {"as_of": as_of.date().isoformat(), "data_through": last.date().isoformat(),
            "snapshot_only": "+live-" not in version, "refresh_command": "btcmacro update",
            "inputs": inputs}


def metric_definition(id: str) -> dict:
    m = get(id)
    return {"id": m.id, "names": m.names, "unit": m.unit, "definition": m.definition,
            "citation": m.citation, "inputs": list(m.inputs), "version": m.version}


# ----------------------------------------------------------------------------------------------
# own-node HODL waves and URPD
# ----------------------------------------------------------------------------------------------

#: a published own-node figure older than this many days at the as-of date is flagged stale
#: (the registry's limit for daily series)
_HODL_STALE_DAYS = 10
_TIP = re.compile(r"\btip ([0-9a-f]{16,64}) height (\d+)\b")


@dataclass
class PublishedHodl:
    """Own-node HODL waves as published in the store by one as-of date.

    Attributes
    ----------
    latest : dict or None
        The latest day on which all twelve band shares are published (see
        :func:`published_hodl_waves`), or None.
    reason : str or None
        Why ``latest`` is None (English; the report translates it).
    history : pandas.DataFrame
        Band shares in percent of supply, one column per band key (``lt_1d`` … ``gt_10y``) in
        age order, indexed by date; only days published by the as-of date and inside the
        requested window. Empty when there is nothing to draw.
    """

    latest: dict | None
    reason: str | None
    history: pd.DataFrame


def hodl_bands() -> list[dict]:
    """The twelve HODL-wave age bands in age order.

    Returns
    -------
    list of dict
        ``{"key", "band", "age_from_days", "age_to_days"}`` per band: ``key`` is the series key
        (``chain/hodl_<key>_pct``), ``band`` the label of
        :data:`btcmacro.chain.metrics.HODL_BANDS`, ages in whole days (lower bound inclusive,
        upper exclusive; ``None`` for the open-ended oldest band).
    """
    from .chain.metrics import HODL_BANDS, hodl_key

    return [{"key": hodl_key(lab), "band": lab, "age_from_days": int(a0),
             "age_to_days": None if a1 >= 1 << 30 else int(a1)} for lab, a0, a1 in HODL_BANDS]


def _hodl_needs_node() -> str:
    from .indicators.onchain import NEEDS_NODE

    return NEEDS_NODE


def _hodl_tip(st: Store, series_ids: list[str], day: pd.Timestamp, as_of: pd.Timestamp) -> tuple[str | None, int | None]:
    """The chain tip that ``day``'s HODL figures visible at ``as_of`` reflect: ``(hash, height)``.

    A day's figures depend only on the blocks stamped up to that day. When no row of that day
    was written after ``as_of``, the visible figures are those of the current best chain, so the
    tip is the last block stamped on or before ``day`` (the publish's ``chain_days`` record),
    information that existed on ``day`` itself. Otherwise (the day was still filling up, or a
    reorg rewrote it later) the tip is the vintage of the newest visible row, i.e. the chain tip
    the visible value was computed at, with its height when the series' provenance names it.
    """
    import json

    from .chain.publishing import DAYS_KEY

    rows = st.con.execute(
        "SELECT vintage, published_at FROM obs WHERE series_id IN (SELECT unnest(?)) AND date = ? "
        "ORDER BY published_at, fetched_at", [series_ids, day.date()]).fetchall()
    visible = [v for v, pub in rows if pd.Timestamp(pub) <= as_of]
    if not any(pd.Timestamp(pub) > as_of for _, pub in rows):
        try:
            closers = json.loads(st.get_meta(DAYS_KEY) or "{}")
        except ValueError:
            closers = {}
        past = [d for d in closers if d <= day.date().isoformat()]
        if past:
            height, tip = closers[max(past)]
            return str(tip), int(height)
    tip = visible[-1] if visible and visible[-1] else None
    height = None
    if tip:
        m = _TIP.search(st.meta(series_ids[0]).provenance or "")
        if m and m.group(1) == tip:
            height = int(m.group(2))
    return tip, height


def _published_hodl(st: Store, as_of: pd.Timestamp, days: int) -> PublishedHodl:
    bands = hodl_bands()
    keys = [b["key"] for b in bands]
    pct_ids = [f"chain/hodl_{k}_pct" for k in keys]
    btc_ids = [f"chain/hodl_{k}_btc" for k in keys]
    empty = pd.DataFrame({k: pd.Series(dtype="float64") for k in keys},
                         index=pd.DatetimeIndex([], name="date"))
    if not all(st.has_series(i) for i in pct_ids):
        return PublishedHodl(None, _hodl_needs_node(), empty)
    # what was published by the as-of date, for days up to it (point in time)
    df = st.frame(pct_ids + btc_ids, end=as_of, as_of=as_of)
    wide = df.pivot(index="date", columns="series_id", values="value") if len(df) else pd.DataFrame()
    pct = wide.reindex(columns=pct_ids).set_axis(keys, axis=1)
    btc = wide.reindex(columns=btc_ids).set_axis(keys, axis=1)
    pct.index.name = btc.index.name = "date"
    complete = pct.dropna()  # a day with zero supply has no shares (NaN), never 0
    if complete.empty:
        return PublishedHodl(None, f"no data published by {as_of.date().isoformat()}", empty)
    day = complete.index[-1]
    tip, height = _hodl_tip(st, pct_ids + btc_ids, day, as_of)
    source = "own node" + (f", tip {tip}" if tip else "") + (f" height {height}" if height is not None else "")
    age = (as_of - day).days
    stale = age > _HODL_STALE_DAYS
    row_btc = btc.loc[day] if day in btc.index else pd.Series(index=keys, dtype="float64")
    latest = {
        "date": day.date().isoformat(),
        "status": "stale" if stale else "ok",
        "reason": (f"latest value is for {day.date().isoformat()}, {age} days before {as_of.date().isoformat()}"
                   if stale else None),
        "source": source, "tip_hash": tip, "height": height,
        "supply_btc": float(row_btc.sum()) if row_btc.notna().all() else None,
        "bands": [{**b, "pct": float(complete.loc[day, b["key"]]),
                   "btc": None if pd.isna(row_btc[b["key"]]) else float(row_btc[b["key"]])} for b in bands],
    }
    hist = complete[complete.index > as_of - pd.Timedelta(days=days)] if days > 0 else empty
    return PublishedHodl(latest, None, hist)


def published_hodl_waves(as_of=None, *, store: Store | None = None, days: int = HODL_CHART_DAYS) -> PublishedHodl:
    """Own-node HODL waves as published in the store by ``as_of`` (what the briefing shows).

    Reads the ``chain/hodl_<band>_pct`` and ``chain/hodl_<band>_btc`` series written by
    ``btcmacro chain sync`` (:func:`btcmacro.chain.publishing.publish`), keeping only rows
    published by ``as_of`` for days up to it.

    Parameters
    ----------
    as_of : str, date or None
        The as-of date (default: the latest date in the store).
    store : Store, optional
        An open store (default: the user's store).
    days : int
        Length of the history window ending at ``as_of`` (0: no history).

    Returns
    -------
    PublishedHodl
        ``latest`` is ``{"date", "status", "reason", "source", "tip_hash", "height",
        "supply_btc", "bands"}`` for the last day with all twelve shares: ``status`` is
        ``"stale"`` (with ``reason``) when that day is more than 10 days before ``as_of``;
        ``source`` is ``"own node, tip <hash> height <h>"``, the tip being the last block
        stamped on or before that day (what the day's figures depend on; a figure rewritten
        after ``as_of`` cites the tip it was computed at instead, see :func:`_hodl_tip`);
        ``bands`` lists :func:`hodl_bands` with ``pct`` (percent of supply) and ``btc``.
        Without own-node HODL series, ``latest`` is None and ``reason`` says
        "needs own-node chain data (btcmacro chain sync)".

    Raises
    ------
    UsageError
        ``as_of`` is not a date or lies outside the store's data.
    """
    with _using(store) as st:
        d = resolve_as_of(st, as_of)
        return _published_hodl(st, d, int(days))


def _as_day(day):
    """A date-like argument as accepted by the chain functions (a Timestamp becomes a date)."""
    from .inputs import parse_date

    d = parse_date(day, "--date")  # the one strict parser: no time zones, no loose strings
    return None if d is None else d.date()


def hodl_waves(day=None, *, index: str | Path | None = None) -> pd.DataFrame:
    """HODL waves of one day, computed from the own-node chain index.

    A thin wrapper over :func:`btcmacro.chain.publishing.hodl_for_day` (the library call behind
    ``btcmacro chain hodl``): the day's unspent coins binned by the age at which they last
    moved. It equals the published ``chain/hodl_*`` values of that day.

    Parameters
    ----------
    day : str, date or None
        ``"YYYY-MM-DD"``, a date or a Timestamp; default the last indexed day.
    index : str or Path, optional
        The chain index (default ``$BTCMACRO_HOME/chain.duckdb``).

    Returns
    -------
    pandas.DataFrame
        One row per band: ``band``, ``key``, ``age_from_days``, ``age_to_days``, ``btc``,
        ``pct``; ``attrs`` hold ``date``, ``tip_hash``, ``height`` and ``supply_btc``.

    Raises
    ------
    ChainError
        No chain index yet, or an empty one (run ``btcmacro chain sync`` first).
    UsageError
        ``day`` is not a date or lies outside the indexed days.

    References
    ----------
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    from .chain.publishing import hodl_for_day

    return hodl_for_day(_as_day(day), index)


def urpd(day=None, buckets: int = 100, *, store: Store | None = None,
         index: str | Path | None = None) -> pd.DataFrame:
    """URPD of one day: the supply by the price at which its coins last moved.

    A thin wrapper over :func:`btcmacro.chain.publishing.urpd_for_day` (the library call behind
    ``btcmacro chain urpd``): each coin unspent at the end of ``day`` is valued at the BTC close
    of its creation day, taken from the main store's ``cmc/btc_close`` as the publish step does.

    Parameters
    ----------
    day : str, date or None
        ``"YYYY-MM-DD"``, a date or a Timestamp; default the last indexed day.
    buckets : int
        Number of equal-width price buckets from 0 USD to the highest creation price held.
    store : Store, optional
        The main store to read prices from (default: the user's store).
    index : str or Path, optional
        The chain index (default ``$BTCMACRO_HOME/chain.duckdb``).

    Returns
    -------
    pandas.DataFrame
        ``price_low``, ``price_high``, ``btc``; ``attrs`` hold ``date``, ``tip_hash``,
        ``height`` and ``supply_btc`` (``btc`` sums to it).

    Raises
    ------
    ChainError
        No chain index yet, or an empty one (run ``btcmacro chain sync`` first).
    UsageError
        ``day`` is not a date or lies outside the indexed days, or ``buckets`` < 1.

    References
    ----------
    Glassnode Academy, "UTXO Realized Price Distribution (URPD)".
    """
    from .chain.publishing import urpd_for_day

    with _using(store) as st:
        return urpd_for_day(st, _as_day(day), index, buckets=buckets)
