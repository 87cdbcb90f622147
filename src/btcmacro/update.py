"""``btcmacro update``: refresh the store from the live sources.

For each selected source: ``plan`` the queries, ``prepare`` / ``fetch`` / ``parse`` every page
through the shared HTTP layer (per-host limiter, retries, Retry-After, one wall-clock deadline),
then write all of that source's series **and** its checkpoint row in ONE store transaction
(:meth:`btcmacro.store.Store.write_many`). A failed query (404, bad payload, retries exhausted)
is reported with source, series and position and writes nothing for its series; the other
queries and sources go on. A crash or kill leaves each source's data exactly before or after.

Incremental: each query asks only for what is missing plus a revision window (per source, e.g.
FRED monthly series 400 days) unless ``since`` is given. Observations without an explicit
publication date get one from the series' release rule (:func:`btcmacro.releases.published_dates`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from . import catalog, config
from .errors import BtcmacroError, SourceError, StoreError, UsageError
from .http import Clock, Http, redact
from .sources import SOURCES
from .sources.base import Context, Source
from .store import Store, WriteResult

log = logging.getLogger("btcmacro.update")

MAX_PAGES = 500
#: test hook: called with "after_fetch" once a source's pages are all fetched and parsed
STAGE_HOOK: Callable[[str], None] | None = None

Progress = Callable[..., None]


@dataclass
class SourceReport:
    source: str
    results: list[WriteResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[BtcmacroError] = field(default_factory=list)  # the exceptions behind errors
    requests: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class UpdateReport:
    store: str
    sources: list[SourceReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # update-wide (store locked, ...)
    requests: int = 0
    seconds: float = 0.0
    waited_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(s.ok for s in self.sources)

    def all_errors(self) -> list[str]:
        return self.errors + [e for s in self.sources for e in s.errors]

    def rows(self) -> list[dict]:
        out = []
        for s in self.sources:
            for r in s.results:
                out.append({"source": s.source, "series": r.series_id, "new": r.new,
                            "revised": r.revised, "unchanged": r.unchanged,
                            "last_date": r.last_date.isoformat() if r.last_date else ""})
        return out


def _published(rule: str, dates: pd.Series, today: dt.date) -> pd.Series:
    """Publication day of each observation from the series' release rule."""
    try:
        from .releases import published_dates
    except ImportError:  # releases.py not landed yet: conservative local fallback
        published_dates = None
    if published_dates is not None:
        try:
            out = pd.to_datetime(published_dates(rule, pd.to_datetime(dates))).reset_index(drop=True)
            # the rules are never-early bounds; a value fetched today was public by today
            return out.where(out <= pd.Timestamp(today), pd.Timestamp(today))
        except (KeyError, ValueError, UsageError):
            pass
    d = pd.to_datetime(dates).reset_index(drop=True)
    if rule == "same_day":
        return d
    if rule == "next_day":
        return d + pd.Timedelta(days=1)
    if rule == "next_business_day":
        return d + pd.offsets.BDay(1)
    # unknown lag: the day we learned it (never earlier than the truth)
    return pd.Series([pd.Timestamp(today)] * len(d)).where(d < pd.Timestamp(today), d)


def _select(names: Iterable[str] | None) -> list[Source]:
    if not names:
        return list(SOURCES.values())
    out = []
    for n in names:
        if n not in SOURCES:
            raise UsageError(f"unknown source (known: {', '.join(SOURCES)})", where=n)
        out.append(SOURCES[n])
    return out


def _last_dates(store: Store) -> dict[str, dt.date]:
    rows = store.con.execute("SELECT series_id, max(date) FROM obs GROUP BY series_id").fetchall()
    return {sid: d for sid, d in rows if d is not None}


def _say(err: BaseException) -> str:
    return redact(str(err))


def run_update(
    store_path: str | Path,
    sources: Iterable[str] | None = None,
    since: dt.date | str | None = None,
    progress: Progress | None = None,
    deadline_s: float | None = None,
    *,
    clock: Clock | None = None,
    options: dict | None = None,
    today: dt.date | None = None,
) -> UpdateReport:
    """Refresh ``store_path`` from the live sources; never raises for a source failure.

    Parameters
    ----------
    store_path : the DuckDB store (created if missing).
    sources : source ids (``btcmacro.sources.SOURCES`` keys); None = all.
    since : re-fetch from this date instead of the incremental window.
    progress : ``progress(event, source, **kw)`` with events ``start`` (total), ``advance``,
        ``done`` (ok) -- the CLI draws Rich bars from it.
    deadline_s : wall-clock bound for the whole update.
    clock, options, today : injection points (tests, config ``[sources.<id>]`` tables).

    Returns
    -------
    UpdateReport
        Per source: WriteResults (new / revised / unchanged / last date), errors, request count.

    Raises
    ------
    UsageError for an unknown source; StoreLocked / StoreCorrupt when the store cannot be opened.
    """
    t0 = time.monotonic()
    chosen = _select(sources)
    since_d = pd.Timestamp(since).date() if since is not None else None
    today = today or dt.datetime.now(dt.UTC).date()
    opts = dict(config.user_config().get("sources", {}) if options is None else options)
    report = UpdateReport(str(store_path))
    progress = progress or (lambda *a, **k: None)
    store = _open_for_update(store_path)
    http = Http(clock=clock, deadline_s=deadline_s)
    try:
        last = _last_dates(store)
        for src in chosen:
            before = http.stats.total
            s0 = time.monotonic()
            srep = SourceReport(src.id)
            report.sources.append(srep)
            ctx = Context(http, today, last, since_d, opts.get(src.id, {}), store)
            _update_source(src, ctx, store, srep, progress)
            srep.requests = http.stats.total - before
            srep.seconds = time.monotonic() - s0
            progress("done", src.id, ok=srep.ok)
    finally:
        report.requests = http.stats.total
        report.waited_s = http.stats.waited_s
        http.close()
        store.close()
        report.seconds = time.monotonic() - t0
    return report


def _update_source(src: Source, ctx: Context, store: Store, srep: SourceReport,
                   progress: Progress) -> None:
    try:
        queries = src.plan(ctx)
    except BtcmacroError as e:
        srep.errors.append(_say(e))
        srep.failures.append(e)
        progress("start", src.id, total=1)
        _record_failure(store, src.id, srep)
        return
    progress("start", src.id, total=len(queries))
    collected: dict[str, list[pd.DataFrame]] = {}
    vintage_ids: set[str] = set()
    for q in queries:
        try:
            req = src.prepare(q, ctx)
            pages: list = []
            for _ in range(MAX_PAGES):
                raw = src.fetch(req, ctx)
                parsed = src.parse(raw, q)
                pages.append(parsed)
                if parsed.next is None:
                    break
                req = parsed.next
            else:
                raise SourceError(f"more than {MAX_PAGES} pages; stopping", where=req.where)
            # only now, with every page parsed, does the query's data count
            merged = src.combine(q, pages)
        except BtcmacroError as e:
            srep.errors.append(_say(e))
            srep.failures.append(e)
            progress("advance", src.id, error=_say(e))
            continue
        except Exception as e:  # a bug in a parser must not take the other sources down
            log.debug("unexpected failure in %s", src.id, exc_info=True)
            msg = redact(f"{src.id} [{','.join(q.series[:2])}]: internal error ({type(e).__name__})")
            srep.errors.append(msg)
            progress("advance", src.id, error=msg)
            continue
        for sid, f in merged.items():
            collected.setdefault(sid, []).append(f)
            if any(p.vintages for p in pages):
                vintage_ids.add(sid)
        progress("advance", src.id)
    if STAGE_HOOK:
        STAGE_HOOK("after_fetch")
    frames: dict[str, pd.DataFrame] = {}
    for sid, fs in collected.items():
        f = pd.concat([x for x in fs if len(x)], ignore_index=True) if any(len(x) for x in fs) \
            else pd.DataFrame(columns=["date", "value"])
        if f.empty:
            continue
        if sid not in vintage_ids:
            f = f.drop_duplicates("date", keep="last").sort_values("date").reset_index(drop=True)
        frames[sid] = f
    # series computed from what was fetched (cross-venue aggregates): same transaction
    try:
        derived = src.derive({k: v for k, v in frames.items() if k not in vintage_ids}, ctx)
    except BtcmacroError as e:
        derived = {}
        srep.errors.append(_say(e))
        srep.failures.append(e)
    frames.update({k: v for k, v in derived.items() if len(v)})
    items = []
    plain = [sid for sid, f in frames.items() if sid not in vintage_ids and "published_at" not in f.columns]
    stored = _stored_latest(store, plain, frames)
    for sid, f in frames.items():
        defn = catalog.get(sid)
        vint = sid in vintage_ids
        if not vint and "published_at" not in f.columns:
            f = f.copy()
            f["published_at"] = _published(defn.release, f["date"], ctx.today).values
            f = _revisions_dated_today(stored.get(sid), f, ctx.today)
        items.append((defn.meta(provenance=f"live:{src.id}"), f[["date", "value", "published_at"]], vint))
    status = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "ok": srep.ok,
              "errors": srep.errors[:5], "series": len(items)}
    try:
        srep.results = store.write_many(items, meta_updates={f"source_status/{src.id}": json.dumps(status)})
    except StoreError as e:
        srep.results = []
        srep.errors.append(_say(e))
        srep.failures.append(e)


def _stored_latest(store: Store, sids: list[str], frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The latest stored (date, value) of each series over the dates this run fetched (one query)."""
    if not sids:
        return {}
    lo = min(frames[s]["date"].min() for s in sids)
    hi = max(frames[s]["date"].max() for s in sids)
    old = store.frame(sids, start=lo, end=hi)
    return {sid: g[["date", "value"]] for sid, g in old.groupby("series_id")}


def _revisions_dated_today(old: pd.DataFrame | None, f: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """A value that differs from the one stored for its date was learned today, not on the day
    the release rule gives for a first print: date it ``max(rule date, today)`` so that an
    ``as_of`` read before today never sees it."""
    if old is None or old.empty:
        return f
    m = f[["date", "value"]].merge(old, on="date", how="left", suffixes=("", "_old"), indicator=True)
    seen = (m["_merge"] == "both").to_numpy()
    same = ((m["value"] == m["value_old"]) | (m["value"].isna() & m["value_old"].isna())).to_numpy()
    revised = seen & ~same
    if revised.any():
        pub = pd.to_datetime(f["published_at"]).to_numpy().copy()
        t = pd.Timestamp(today).to_datetime64()
        pub[revised] = [max(p, t) for p in pub[revised]]
        f = f.assign(published_at=pub)
    return f


def _record_failure(store: Store, source: str, srep: SourceReport) -> None:
    status = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "ok": False,
              "errors": srep.errors[:5], "series": 0}
    try:
        store.write_many([], meta_updates={f"source_status/{source}": json.dumps(status)})
    except StoreError:
        pass


def list_sources(store_path: str | Path | None = None) -> list[dict]:
    """Every source: id, name, website, credentials (and whether set -- never the value), rate
    limit, base-URL variables, licence, and from the store its last update and status."""
    status: dict[str, dict] = {}
    if store_path is not None and Path(store_path).exists():
        try:
            with Store(store_path, read_only=True) as st:
                rows = st.con.execute(
                    "SELECT key, value FROM meta WHERE key LIKE 'source_status/%'").fetchall()
                status = {k.split("/", 1)[1]: json.loads(v) for k, v in rows}
        except StoreError as e:
            status = {"*": {"error": _say(e)}}
    out = []
    for sid, src in SOURCES.items():
        st = status.get(sid, {})
        creds = []
        for c in src.credentials:
            name = c.lower().replace("btcmacro_", "")
            try:
                present = config.secret(name) is not None
            except BtcmacroError:
                present = False
            creds.append({"name": c, "set": present, "required": not src.optional_credentials})
        p = src.policy
        out.append({
            "id": sid, "name": src.name, "website": src.website, "credentials": creds,
            "how_to_get_key": src.how_to_get_key,
            "rate_limit": f"{p.per_minute:g}/min, >= {p.spacing_s:g}s apart, {p.max_retries} retries"
                          + (f" ({src.rate_limit_note})" if getattr(src, "rate_limit_note", "") else ""),
            "url_vars": [f"BTCMACRO_URL_{k}" for k in src.urls],
            "licence": src.licence,
            "series": len(src.series_ids),
            "last_update": st.get("at", ""),
            "status": ("ok" if st.get("ok") else "failed") if st else (status.get("*", {}).get("error") or "never"),
        })
    return out


def _open_for_update(store_path, *, patience_s: float = 0.9, step_s: float = 0.1) -> Store:
    """Open the store read-write, retrying briefly while a dashboard read holds the file.

    A reader (``btcmacro serve`` computing a page) holds DuckDB's file lock for milliseconds to
    about a second; a real second writer keeps it, and then :class:`StoreLocked` is raised within
    ``patience_s`` (under a second, as the reliability requirements ask).
    """
    from .errors import StoreLocked

    deadline = time.monotonic() + patience_s
    while True:
        try:
            return Store(store_path)
        except StoreLocked:
            if time.monotonic() + step_s > deadline:
                raise
            time.sleep(step_s)
