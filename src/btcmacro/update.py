"""``btcmacro update``: refresh the store from the live sources.

For each selected source: ``plan`` the queries, ``prepare`` / ``fetch`` / ``parse`` every page
through the shared HTTP layer (per-host limiter, retries, Retry-After, one wall-clock deadline),
then write all of that source's series **and** its checkpoint row in ONE store transaction
(:meth:`btcmacro.store.Store.write_many`). A failed query (404, bad payload, retries exhausted)
is reported with source, series and position and writes nothing for its series; the other
queries and sources go on. A crash or kill leaves each source's data exactly before or after.

The store's write lock is taken only for those commits: readers (``brief``, ``serve``) work
while pages download, and a second update of the same store is refused by an advisory lock.
A host that refuses or cannot be resolved on first contact is not retried and gets no further
request in this run, so an update with no network ends in seconds with one line per source.

Incremental: each query asks only for what is missing plus a revision window (per source, e.g.
FRED monthly series 400 days) unless ``since`` is given. Observations without an explicit
publication date get one from the series' release rule (:func:`btcmacro.releases.published_dates`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from . import catalog, config
from .errors import BtcmacroError, SourceError, StoreError, StoreLocked, UsageError
from .http import Clock, Http, HostUnreachable, redact
from .sources import SOURCES
from .sources.base import Context, Source
from .store import Store, WriteResult

log = logging.getLogger("btcmacro.update")

MAX_PAGES = 500
#: how long a commit waits for readers (dashboard pages, ``brief``) to release the store
COMMIT_PATIENCE_S = 30.0
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
    offline: bool = False  # no host answered: every source failed to connect
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why

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

    The store's write lock is held only while a source's fetched data is committed (and once at
    the end to record the status of sources that fetched nothing): while pages are downloaded,
    ``brief``, ``serve`` and every other reader use the store as usual. Two updates of one store
    still exclude each other (:class:`_UpdateGuard`). A host that cannot be connected to is
    probed once (:class:`btcmacro.http.HostUnreachable`), so an offline update ends in seconds.

    Parameters
    ----------
    store_path : the DuckDB store (created if missing).
    sources : source ids (``btcmacro.sources.SOURCES`` keys); None = all.
    since : re-fetch from this date instead of the incremental window.
    progress : ``progress(event, source, **kw)`` with events ``start`` (total), ``advance``,
        ``done`` (ok, report: the :class:`SourceReport`) -- the CLI draws bars and prints one
        line per source from it.
    deadline_s : wall-clock bound for the whole update.
    clock, options, today : injection points (tests, config ``[sources.<id>]`` tables).

    Returns
    -------
    UpdateReport
        Per source: WriteResults (new / revised / unchanged / last date), errors, request count;
        ``offline`` when no source could be reached at all.

    Raises
    ------
    UsageError for an unknown source; StoreLocked (another update, or a writer holding the
    store) / StoreCorrupt when the store cannot be opened -- before any request is sent.
    """
    t0 = time.monotonic()
    chosen = _select(sources)
    since_d = pd.Timestamp(since).date() if since is not None else None
    today = today or dt.datetime.now(dt.UTC).date()
    opts = dict(config.user_config().get("sources", {}) if options is None else options)
    report = UpdateReport(str(store_path))
    progress = progress or (lambda *a, **k: None)
    last = _check_store(store_path)
    with _UpdateGuard(store_path):
        http = Http(clock=clock, deadline_s=deadline_s, probe_once=True)
        pending: dict[str, str] = {}  # status rows of sources with nothing to commit
        try:
            for src in chosen:
                before = http.stats.total
                s0 = time.monotonic()
                srep = SourceReport(src.id)
                report.sources.append(srep)
                ctx = Context(http, today, last, since_d, opts.get(src.id, {}), None)
                fetched = _fetch_source(src, ctx, srep, progress)
                if fetched is not None and (fetched.frames or fetched.derives):
                    _commit_source(store_path, src, ctx, srep, fetched)
                else:
                    pending[f"source_status/{src.id}"] = _status(srep, 0)
                srep.requests = http.stats.total - before
                srep.seconds = time.monotonic() - s0
                progress("done", src.id, ok=srep.ok, report=srep)
            report.unreachable = dict(http.down)
            report.offline = bool(chosen) and not http.reached and all(
                s.failures and all(isinstance(f, HostUnreachable) for f in s.failures)
                for s in report.sources)
            if pending:
                _record_status(store_path, pending)
        finally:
            report.requests = http.stats.total
            report.waited_s = http.stats.waited_s
            http.close()
            report.seconds = time.monotonic() - t0
    return report


@dataclass
class _Fetched:
    frames: dict[str, pd.DataFrame]
    vintage_ids: set[str]
    derives: bool = True  # the source may derive series from the store even with no new frames


def _fetch_source(src: Source, ctx: Context, srep: SourceReport, progress: Progress) -> _Fetched | None:
    """Every query of one source, fetched and parsed; nothing touches the store. None when
    planning failed."""
    try:
        queries = src.plan(ctx)
    except BtcmacroError as e:
        srep.errors.append(_say(e))
        srep.failures.append(e)
        progress("start", src.id, total=1)
        return None
    progress("start", src.id, total=len(queries))
    collected: dict[str, list[pd.DataFrame]] = {}
    vintage_ids: set[str] = set()
    unsent: dict[str, int] = {}  # unreachable host -> queries not sent to it
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
        except HostUnreachable as e:
            # one line per unreachable host, however many queries it would have served
            unsent[e.host] = unsent.get(e.host, 0) + 1
            progress("advance", src.id, error=_say(e))
            continue
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
    for host, n in unsent.items():
        if n < len(queries):
            what = f"tried once, {n} of its {len(queries)} queries not fetched"
        else:
            what = "tried once, nothing fetched" if n == 1 else f"tried once, none of its {n} queries fetched"
        e = HostUnreachable(f"cannot reach {redact(host)} ({ctx.http.down.get(host, 'no answer')}); "
                            f"{what}", where=src.id, host=host)
        srep.errors.append(_say(e))
        srep.failures.append(e)
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
    derives = type(src).derive is not Source.derive and bool(collected)
    return _Fetched(frames, vintage_ids, derives)


def _commit_source(store_path, src: Source, ctx: Context, srep: SourceReport, got: _Fetched) -> None:
    """Write one source's series, derived series and status in ONE transaction; the store's write
    lock is held only for this."""
    try:
        store = _open_for_update(store_path, patience_s=COMMIT_PATIENCE_S)
    except StoreError as e:
        srep.errors.append(_say(e))
        srep.failures.append(e)
        return
    try:
        ctx.store = store
        frames, vintage_ids = dict(got.frames), got.vintage_ids
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
        try:
            srep.results = store.write_many(
                items, meta_updates={f"source_status/{src.id}": _status(srep, len(items))})
        except StoreError as e:
            srep.results = []
            srep.errors.append(_say(e))
            srep.failures.append(e)
    finally:
        ctx.store = None
        store.close()


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


def _status(srep: SourceReport, series: int) -> str:
    return json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "ok": srep.ok,
                       "errors": srep.errors[:5], "series": series})


def _record_status(store_path, statuses: dict[str, str]) -> None:
    """The status rows of sources that fetched nothing, in one short transaction (best effort:
    a busy or unwritable store only loses the status, which ``sources`` then shows as before)."""
    try:
        with _open_for_update(store_path, patience_s=COMMIT_PATIENCE_S) as store:
            store.write_many([], meta_updates=statuses)
    except StoreError as e:
        log.info("source status not recorded: %s", _say(e))


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
            present, where = config.secret_state(name)
            creds.append({"name": c, "set": present, "required": not src.optional_credentials,
                          "from": where if present else "", "problem": "" if present else where})
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


def _check_store(store_path) -> dict[str, dt.date]:
    """Before any request: the store opens (a new path is created empty), it is not held by a
    writer, and the last stored date of each series is known. The connection is closed again."""
    path = Path(store_path)
    if not path.exists():
        _open_for_update(path).close()
        return {}
    deadline = time.monotonic() + 0.9
    while True:
        try:
            with Store(path, read_only=True) as st:
                return _last_dates(st)
        except StoreLocked:
            if time.monotonic() + 0.1 > deadline:
                raise
            time.sleep(0.1)


class _UpdateGuard:
    """One update per store at a time, without holding DuckDB's lock (readers stay free).

    An advisory ``flock`` on the store file itself: independent of DuckDB's own ``fcntl`` locks
    on Linux, released by the kernel if the process dies, and no extra file is written. Where
    ``flock`` does not exist (Windows) the guard is a no-op and DuckDB's lock at commit time is
    the only one.
    """

    def __init__(self, store_path):
        self.path = Path(store_path)
        self.fd: int | None = None

    def __enter__(self) -> "_UpdateGuard":
        try:
            import fcntl
        except ImportError:
            return self
        try:
            self.fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return self  # unreadable: opening the store will say why
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            from .locks import write_lock_holder

            pid = write_lock_holder(self.path, kind="FLOCK")
            who = f" (process {pid})" if pid else ""
            raise StoreLocked(f"another update of this store is running{who}; try again when it ends",
                              where=str(self.path)) from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None


def _open_for_update(store_path, *, patience_s: float = 0.9, step_s: float = 0.1) -> Store:
    """Open the store read-write, retrying briefly while a dashboard read holds the file.

    A reader (``btcmacro serve`` computing a page) holds DuckDB's file lock for milliseconds to
    about a second; a real second writer keeps it, and then :class:`StoreLocked` is raised within
    ``patience_s`` (under a second, as the reliability requirements ask).
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return Store(store_path)
        except StoreLocked:
            if time.monotonic() + step_s > deadline:
                raise
            time.sleep(step_s)
