"""Coin Metrics community API v4: ``/timeseries/asset-metrics`` for btc, daily.

All ``cm/*`` catalogue metrics come in one query; the API pages with ``next_page_token`` (and a
ready-made ``next_page_url``). We follow the token against the configured base URL, so a mirror set
with ``BTCMACRO_URL_COINMETRICS`` is used for every page. Values arrive as decimal strings.
Community data is CC BY-NC 4.0. Community rate limit: 10 requests per 6 s per IP.
"""

from __future__ import annotations

import json

from .. import catalog, config
from ..errors import AuthError, NotFound
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

PAGE_SIZE = 10000


PRO_URL = "https://api.coinmetrics.io/v4"


class CoinMetrics(Source):
    id = "coinmetrics"
    name = "Coin Metrics community API v4"
    website = "https://docs.coinmetrics.io/api/v4"
    credentials = ("COINMETRICS_API_KEY",)
    optional_credentials = True
    how_to_get_key = ("the community API needs no key; a Pro key goes in COINMETRICS_API_KEY (or "
                      "coinmetrics_api_key in secrets.toml) and switches to the Pro API")
    policy = Policy(per_minute=100, spacing_s=0.6, max_retries=4, backoff_base=2.0, backoff_cap=60.0)
    licence = "CC BY-NC 4.0 (Coin Metrics community data)"
    urls = {"COINMETRICS": "https://community-api.coinmetrics.io/v4"}

    @property
    def series_ids(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(s for s in catalog.SERIES if s.startswith("cm/"))

    def plan(self, ctx: Context) -> list[Query]:
        ids = tuple(ctx.options.get("series") or self.series_ids)
        metrics = ",".join(s.split("/", 1)[1] for s in ids)
        return [Query(metrics, ids, ctx.start_for(ids, 3), None)]

    def prepare(self, q: Query, ctx: Context) -> Request:
        params = [("assets", "btc"), ("metrics", q.key), ("frequency", "1d"),
                  ("page_size", str(ctx.options.get("page_size", PAGE_SIZE))),
                  ("paging_from", "start")]
        if q.start is not None:
            params.append(("start_time", q.start.isoformat()))
        key = config.secret("coinmetrics_api_key")
        base = self.base()
        if key:
            params.append(("api_key", key))
            # a Pro key is for the Pro host; BTCMACRO_URL_COINMETRICS / [urls] still win
            base = config.base_url("COINMETRICS", PRO_URL)
        return Request(f"{base}/timeseries/asset-metrics", tuple(params), 1,
                       f"coinmetrics [{q.series[0]} +{len(q.series) - 1}]")

    def error_mapper(self, status: int, body: bytes, where: str):
        try:
            err = json.loads(body).get("error", {})
            msg, typ = str(err.get("message", "")), str(err.get("type", ""))
        except (ValueError, AttributeError):
            msg, typ = "", ""
        if status in (401, 403) or typ in ("unauthorized", "forbidden"):
            return AuthError(f"Coin Metrics refused access (HTTP {status}: {msg[:120]}); "
                             f"{self.how_to_get_key}", where=where)
        if status == 404 or "not supported" in msg or "not found" in msg.lower():
            return NotFound(f"Coin Metrics: {msg[:160] or 'not found'} (HTTP {status})", where=where)
        return None

    def parse(self, raw, q: Query) -> Parsed:
        page = raw.page
        doc = self.json_body(raw, q, page)
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise self.bad(q, "expected a 'data' list in the asset-metrics reply", "top level", page)
        metrics = q.key.split(",")
        known = {"asset", "time", *metrics}
        rows: dict[str, list] = {m: [] for m in metrics}
        prev = None
        for i, r in enumerate(doc["data"]):
            pos = f"data[{i}]"
            if not isinstance(r, dict) or "time" not in r:
                raise self.bad(q, "expected field 'time'", pos, page)
            extra = set(r) - known
            if extra:
                raise self.bad(q, f"unexpected field {sorted(extra)[0]!r} (expected {q.key})", pos, page)
            d = to_date(lambda m, p: self.bad(q, m, p, page), r["time"], pos + ".time")
            if prev is not None and d <= prev:
                raise self.bad(q, f"dates out of order ({d} after {prev})", pos, page)
            prev = d
            for m in metrics:
                if m in r:
                    rows[m].append((d, to_float(lambda msg, p: self.bad(q, msg, p, page), r[m],
                                                f"{pos}.{m}")))
        nxt = None
        token = doc.get("next_page_token")
        if token:
            req = raw.request
            params = tuple((k, v) for k, v in req.params if k != "next_page_token")
            nxt = Request(req.url, params + (("next_page_token", str(token)),), req.page + 1, req.where)
        return Parsed({f"cm/{m}": frame(rows[m]) for m in metrics}, nxt)


SOURCE = CoinMetrics()
