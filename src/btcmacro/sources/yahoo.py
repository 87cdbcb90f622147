"""Yahoo Finance chart API: daily gold (COMEX GC=F front month) and GLD closes.

``/v8/finance/chart/{symbol}?period1=&period2=&interval=1d`` returns ``{"chart": {"result": [{"meta":
{"gmtoffset": ...}, "timestamp": [...], "indicators": {"quote": [{"close": [...]}]}}], "error":
null}}``. A ``null`` close (no trade) is skipped; dates are the exchange's local trading day.
"""

from __future__ import annotations

import datetime as dt

from ..errors import NotFound
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_float

SYMBOLS = {"GC=F": "yahoo/gold_close", "GLD": "yahoo/gld_close"}


class Yahoo(Source):
    id = "yahoo"
    name = "Yahoo Finance chart API (gold)"
    website = "https://finance.yahoo.com"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=30, spacing_s=1.0, max_retries=3, backoff_base=2.0, backoff_cap=60.0)
    licence = "Yahoo Finance terms (personal use)"
    urls = {"YAHOO": "https://query1.finance.yahoo.com"}
    series_ids = tuple(SYMBOLS.values())

    def plan(self, ctx: Context) -> list[Query]:
        return [Query(sym, (sid,), ctx.start_for([sid], 5, default_years=10), ctx.today)
                for sym, sid in SYMBOLS.items()]

    def prepare(self, q: Query, ctx: Context) -> Request:
        p1 = int(dt.datetime.combine(q.start, dt.time(), dt.UTC).timestamp())
        p2 = int(dt.datetime.combine(q.end + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
        return Request(f"{self.base()}/v8/finance/chart/{q.key}",
                       (("period1", str(p1)), ("period2", str(p2)), ("interval", "1d")), 1,
                       f"yahoo [{q.series[0]}]")

    def error_mapper(self, status, body, where):
        if status == 404:
            return NotFound("Yahoo has no such symbol (HTTP 404)", where=where)
        return None

    def parse(self, raw, q: Query) -> Parsed:
        doc = self.json_body(raw, q)
        bad = lambda m, p: self.bad(q, m, p)  # noqa: E731
        try:
            res = doc["chart"]["result"][0]
            ts = res["timestamp"]
            closes = res["indicators"]["quote"][0]["close"]
            off = int(res.get("meta", {}).get("gmtoffset", 0))
        except (KeyError, IndexError, TypeError, ValueError):
            raise self.bad(q, "expected chart.result[0] with timestamp and indicators.quote[0].close",
                           "top level") from None
        if len(ts) != len(closes):
            raise self.bad(q, f"{len(ts)} timestamps but {len(closes)} closes", "chart.result[0]")
        rows = {}
        for i, (t, c) in enumerate(zip(ts, closes)):
            if c is None:
                continue
            d = dt.datetime.fromtimestamp(int(t) + off, dt.UTC).date()
            rows[d] = to_float(bad, c, f"chart.result[0].indicators.quote[0].close[{i}]")
        return Parsed({q.series[0]: frame(sorted(rows.items()))})


SOURCE = Yahoo()
