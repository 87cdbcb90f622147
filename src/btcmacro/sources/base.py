"""The common shape of every live source: ``prepare`` -> ``fetch`` (the only I/O) -> ``parse`` (pure).

A source is a class instance with declarative attributes (id, website, credentials, how to get a
key, HTTP :class:`~btcmacro.http.Policy`, licence, base-URL variables) and three steps:

* ``plan(ctx)`` lists the :class:`Query` objects one update runs (usually one per series, or one
  for a group of series the provider returns together);
* ``prepare(q, ctx)`` builds the first :class:`Request` of a query;
* ``fetch(req, ctx)`` performs it through the shared :class:`~btcmacro.http.Http`;
* ``parse(raw, q)`` turns the bytes into frames ``{series_id: DataFrame[date, value(, published_at)]}``
  and, for paginated APIs, the next :class:`Request`. It is pure: same bytes, same result;
* ``combine(q, pages)`` (pure) merges the parsed pages of one query into its frames; the default
  concatenates them (a date seen on two pages keeps the later page). A source whose daily value
  depends on several raw entries (funding: a day's fundings may straddle two pages) overrides it;
* ``derive(frames, ctx)`` returns series computed from everything the source fetched in this run
  (and, through ``ctx.store``, what the store already holds), written in the same transaction as
  the fetched series (the cross-venue funding and open-interest aggregates). Default: none.

``parse`` raises :class:`~btcmacro.errors.BadPayload` naming source, series and position for any
body that is not what the provider documents. Nothing is written until every page of a query has
been parsed, so a failure on page 2 writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, runtime_checkable

import pandas as pd

from .. import config
from ..errors import BadPayload
from ..http import Http, Policy, Response


@dataclass(frozen=True)
class Query:
    """One unit of work: the series it fills and the window it asks for."""

    key: str                       # provider-side name (FRED code, metric list, venue, ...)
    series: tuple[str, ...]        # btcmacro series ids it fills
    start: dt.date | None = None   # first observation date wanted (None = full history)
    end: dt.date | None = None
    extra: tuple = ()              # source-specific, hashable


@dataclass(frozen=True)
class Request:
    url: str
    params: tuple[tuple[str, str], ...] = ()
    page: int = 1
    where: str = ""                # what to name in errors: "series X page 2" etc.
    extra: tuple = ()

    def param(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.params:
            if k == name:
                return v
        return default


@dataclass
class Parsed:
    frames: dict[str, pd.DataFrame]
    next: Request | None = None
    vintages: bool = False         # frames carry several published_at per date (ALFRED)


@dataclass
class Context:
    """What a source needs to know about this run (set by :func:`btcmacro.update.run_update`)."""

    http: Http
    today: dt.date
    last_dates: Mapping[str, dt.date] = field(default_factory=dict)   # per series, from the store
    since: dt.date | None = None                                      # user's --since
    options: Mapping[str, Any] = field(default_factory=dict)          # [sources.<id>] config
    store: Any = None              # the open Store, set only while ``derive`` runs (read it; never write)

    def start_for(self, series_ids, window_days: int, default_years: int | None = None) -> dt.date | None:
        """First date to ask for: ``--since`` if given, else the earliest last-stored date of the
        series minus the revision window, else ``default_years`` back (None = full history)."""
        if self.since is not None:
            return self.since
        lasts = [self.last_dates[s] for s in series_ids if s in self.last_dates]
        if len(lasts) == len(list(series_ids)) and lasts:
            return min(lasts) - dt.timedelta(days=window_days)
        if default_years is None:
            return None
        return self.today - dt.timedelta(days=365 * default_years)


@runtime_checkable
class SourceProtocol(Protocol):
    id: str
    website: str
    credentials: tuple[str, ...]
    how_to_get_key: str
    policy: Policy
    licence: str

    def plan(self, ctx: Context) -> list[Query]: ...

    def prepare(self, q: Query, ctx: Context) -> Request: ...

    def fetch(self, req: Request, ctx: Context) -> Response: ...

    def parse(self, raw: Response, q: Query) -> Parsed: ...


class Source:
    """Base class with the shared ``fetch``; subclasses set the attributes and the pure steps."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    website: ClassVar[str] = ""
    credentials: ClassVar[tuple[str, ...]] = ()
    optional_credentials: ClassVar[bool] = True
    how_to_get_key: ClassVar[str] = ""
    policy: ClassVar[Policy] = Policy()
    licence: ClassVar[str] = ""
    #: free text shown after the policy by ``btcmacro sources`` (e.g. the provider's documented limit)
    rate_limit_note: ClassVar[str] = ""
    #: BTCMACRO_URL_<NAME> -> default base URL
    urls: ClassVar[dict[str, str]] = {}
    series_ids: ClassVar[tuple[str, ...]] = ()

    def base(self, name: str | None = None) -> str:
        name = name or next(iter(self.urls))
        return config.base_url(name, self.urls[name])

    def error_mapper(self, status: int, body: bytes, where: str):
        return None

    def combine(self, q: Query, pages: list[Parsed]) -> dict[str, pd.DataFrame]:
        """Merge the parsed pages of one query (pure). Default: concatenate per series, in page
        order, so that a date seen on two pages keeps the later page's value when deduplicated."""
        out: dict[str, list[pd.DataFrame]] = {}
        for parsed in pages:
            for sid, f in parsed.frames.items():
                out.setdefault(sid, []).append(f)
        return {sid: _concat(fs) for sid, fs in out.items()}

    def derive(self, frames: dict[str, pd.DataFrame], ctx: "Context") -> dict[str, pd.DataFrame]:
        """Series computed from this run's merged frames (one per series id, sorted, one row per
        date) and, via ``ctx.store``, the stored values. Default: none."""
        return {}

    def fetch(self, req: Request, ctx: Context) -> Response:
        where = f"{req.where} page {req.page}" if req.page > 1 else req.where
        resp = ctx.http.get(req.url, dict(req.params), policy=self.policy, where=where,
                            error_mapper=self.error_mapper, how_to_get_key=self.how_to_get_key)
        resp.request, resp.page = req, req.page
        return resp

    # helpers for parse ---------------------------------------------------------------------
    def bad(self, q: Query, msg: str, position: str = "", page: int | None = None) -> BadPayload:
        ser = ",".join(q.series) if len(q.series) <= 3 else f"{q.series[0]} (+{len(q.series) - 1})"
        pos = f" at {position}" if position else ""
        pg = f" page {page}" if page else ""
        return BadPayload(f"{msg}{pos}", where=f"{self.id} [{ser}]{pg}")

    def json_body(self, raw: Response, q: Query, page: int | None = None):
        body = raw.body
        head = body.lstrip()[:1]
        if head == b"<":
            raise self.bad(q, "expected JSON, got an HTML page (status %d)" % raw.status,
                           "byte 0", page)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            pos = getattr(e, "pos", None)
            raise self.bad(q, f"truncated or invalid JSON ({getattr(e, 'msg', 'not UTF-8')})",
                           f"byte {pos}" if pos is not None else "", page) from None


def to_float(q_bad: Callable[[str, str], BadPayload], value, position: str,
             missing: tuple = ()) -> float:
    """A provider number (string or number) as float; ``missing`` markers become NaN; anything
    else non-numeric is BadPayload at ``position``."""
    if value in missing:
        return math.nan
    if isinstance(value, bool):
        raise q_bad(f"expected a number, got {value!r}", position)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            x = float(value.replace(",", ""))
        except ValueError:
            raise q_bad(f"expected a number, got {value[:20]!r}", position) from None
        if math.isnan(x) or math.isinf(x):
            raise q_bad(f"expected a finite number, got {value[:20]!r}", position)
        return x
    raise q_bad(f"expected a number, got {type(value).__name__}", position)


def to_date(q_bad: Callable[[str, str], BadPayload], value, position: str) -> dt.date:
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            ts = int(value)
            if ts > 10**11:  # milliseconds
                ts //= 1000
            return dt.datetime.fromtimestamp(ts, dt.UTC).date()
        return dt.date.fromisoformat(str(value)[:10])
    except (ValueError, OverflowError, OSError):
        raise q_bad(f"expected a date, got {str(value)[:30]!r}", position) from None


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    nonempty = [f for f in frames if len(f)]
    if not nonempty:
        return frames[0] if frames else pd.DataFrame(columns=["date", "value"])
    return pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 else nonempty[0]


def frame(rows: list[tuple], with_published: bool = False) -> pd.DataFrame:
    cols = ["date", "value", "published_at"] if with_published else ["date", "value"]
    f = pd.DataFrame(rows, columns=cols)
    if not f.empty:
        f["date"] = pd.to_datetime(f["date"])
    return f
