"""FRED / ALFRED (St. Louis Fed).

With an API key (``FRED_API_KEY`` or ``BTCMACRO_FRED_API_KEY``, or ``fred_api_key`` in
``secrets.toml``) the official JSON API ``fred/series/observations`` is used with
``realtime_start``/``realtime_end``, so every print of an observation inside the revision window
arrives with the day it was published (ALFRED vintages) and a revision becomes a new vintage.
Without a key the keyless graph CSV (``/graph/fredgraph.csv?id=...``) is used and publication
dates come from each series' release rule. FRED marks a missing observation with ``"."`` (the CSV
may also leave it empty): it is stored as NaN, never dropped, never 0.
"""

from __future__ import annotations

import datetime as dt
import json

from .. import catalog, config
from ..errors import AuthError, NotFound
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

#: revision window by catalogue frequency (days re-fetched before the last stored date)
REVISION_DAYS = {"daily": 10, "weekly": 70, "monthly": 400, "quarterly": 800}
PAGE_LIMIT = 100000


class Fred(Source):
    id = "fred"
    name = "FRED / ALFRED (St. Louis Fed)"
    website = "https://fred.stlouisfed.org"
    credentials = ("FRED_API_KEY",)
    optional_credentials = True
    how_to_get_key = ("get a free FRED API key at https://fredaccount.stlouisfed.org/apikeys and set "
                      "FRED_API_KEY (or fred_api_key in secrets.toml, mode 0600)")
    # FRED documents 120 requests per minute per key
    policy = Policy(per_minute=120, spacing_s=0.5, max_retries=4, backoff_base=1.0, backoff_cap=30.0)
    licence = "FRED terms of use; most series public domain (see each series' notes)"
    urls = {"FRED": "https://api.stlouisfed.org", "FRED_CSV": "https://fred.stlouisfed.org"}

    @property
    def series_ids(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(s for s in catalog.SERIES if s.startswith("fred/"))

    def key(self) -> str | None:
        return config.secret("fred_api_key")

    def plan(self, ctx: Context) -> list[Query]:
        wanted = ctx.options.get("series") or self.series_ids
        keyed = self.key() is not None
        out = []
        for sid in wanted:
            if not sid.startswith("fred/"):
                sid = f"fred/{sid}"
            freq = catalog.SERIES[sid].frequency if sid in catalog.SERIES else "daily"
            start = ctx.start_for([sid], REVISION_DAYS.get(freq, 30))
            out.append(Query(sid.split("/", 1)[1], (sid,), start, None, ("json",) if keyed else ("csv",)))
        return out

    def prepare(self, q: Query, ctx: Context) -> Request:
        where = f"fred [{q.series[0]}]"
        if q.extra[0] == "json":
            params = [("series_id", q.key), ("api_key", self.key() or ""), ("file_type", "json"),
                      ("sort_order", "asc"), ("limit", str(PAGE_LIMIT)), ("offset", "0")]
            if q.start is not None:
                params += [("observation_start", q.start.isoformat()),
                           ("realtime_start", q.start.isoformat()),
                           ("realtime_end", "9999-12-31")]
            return Request(f"{self.base('FRED')}/fred/series/observations", tuple(params), 1, where)
        params = [("id", q.key)]
        if q.start is not None:
            params.append(("cosd", q.start.isoformat()))
        return Request(f"{self.base('FRED_CSV')}/graph/fredgraph.csv", tuple(params), 1, where)

    def error_mapper(self, status: int, body: bytes, where: str):
        try:
            msg = str(json.loads(body).get("error_message", ""))
        except (ValueError, AttributeError):
            msg = body[:200].decode("utf-8", "replace")
        low = msg.lower()
        if "api_key" in low or status in (401, 403):
            return AuthError(f"FRED refused the API key (HTTP {status}); {self.how_to_get_key}",
                             where=where)
        if "does not exist" in low or status == 404:
            return NotFound(f"FRED says this series does not exist (HTTP {status})", where=where)
        return None

    # -- parse (pure) --------------------------------------------------------------------------
    def parse(self, raw, q: Query) -> Parsed:
        if q.extra[0] == "json":
            return self._parse_json(raw, q)
        return self._parse_csv(raw, q)

    def _parse_json(self, raw, q: Query) -> Parsed:
        page = raw.page if raw.page > 1 else None
        doc = self.json_body(raw, q, page)
        if not isinstance(doc, dict) or "observations" not in doc:
            raise self.bad(q, "expected field 'observations' in the fred/series/observations reply",
                           "top level", page)
        obs = doc["observations"]
        if not isinstance(obs, list):
            raise self.bad(q, "'observations' is not a list", "top level", page)
        rows = []
        prev = None
        vint = q.start is not None
        for i, o in enumerate(obs):
            pos = f"observations[{i}]"
            if not isinstance(o, dict) or "date" not in o or "value" not in o:
                raise self.bad(q, "expected fields 'date' and 'value'", pos, page)
            d = to_date(lambda m, p: self.bad(q, m, p, page), o["date"], pos + ".date")
            if prev is not None and d < prev:
                raise self.bad(q, f"dates out of order ({d} after {prev})", pos, page)
            prev = d
            v = to_float(lambda m, p: self.bad(q, m, p, page), o["value"], pos + ".value",
                         missing=(".",))
            if vint:
                if "realtime_start" not in o:
                    raise self.bad(q, "expected field 'realtime_start'", pos, page)
                pub = to_date(lambda m, p: self.bad(q, m, p, page), o["realtime_start"],
                              pos + ".realtime_start")
                rows.append((d, v, pub))
            else:
                rows.append((d, v))
        nxt = None
        try:
            count, offset = int(doc.get("count", 0)), int(doc.get("offset", 0))
        except (TypeError, ValueError):
            raise self.bad(q, "'count'/'offset' are not integers", "top level", page) from None
        if offset + len(obs) < count and obs:
            req = raw.request
            params = tuple((k, str(offset + len(obs)) if k == "offset" else v) for k, v in req.params)
            nxt = Request(req.url, params, req.page + 1, req.where)
        return Parsed({q.series[0]: frame(rows, with_published=vint)}, nxt, vintages=vint)

    def _parse_csv(self, raw, q: Query) -> Parsed:
        text = raw.body.decode("utf-8-sig", "replace")
        if text.lstrip()[:1] == "<":
            raise self.bad(q, "expected CSV, got an HTML page", "byte 0")
        lines = [ln.strip("\r") for ln in text.split("\n") if ln.strip()]
        if not lines:
            raise self.bad(q, "empty CSV", "line 1")
        head = [h.strip() for h in lines[0].split(",")]
        if len(head) != 2 or head[0] not in ("observation_date", "DATE") or head[1] != q.key:
            raise self.bad(q, f"expected header 'observation_date,{q.key}', got {lines[0][:60]!r}",
                           "line 1")
        rows = []
        prev = None
        for n, ln in enumerate(lines[1:], start=2):
            parts = ln.split(",")
            if len(parts) != 2:
                raise self.bad(q, "expected 2 columns", f"line {n}")
            d = to_date(self.bad_at(q), parts[0], f"line {n}")
            if prev is not None and d <= prev:
                raise self.bad(q, f"dates out of order ({d} after {prev})", f"line {n}")
            prev = d
            v = to_float(self.bad_at(q), parts[1].strip(), f"line {n}", missing=(".", ""))
            rows.append((d, v))
        return Parsed({q.series[0]: frame(rows)})

    def bad_at(self, q: Query):
        return lambda m, p: self.bad(q, m, p)


SOURCE = Fred()
