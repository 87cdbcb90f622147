"""alternative.me Crypto Fear & Greed index.

``/fng/?limit=N&format=json`` returns ``{"name": ..., "data": [{"value": "40",
"value_classification": "Fear", "timestamp": "<unix seconds>"}], "metadata": {"error": null}}``,
newest first; ``limit=0`` is the whole history.
"""

from __future__ import annotations

from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float


class FearGreed(Source):
    id = "feargreed"
    name = "alternative.me Fear & Greed"
    website = "https://alternative.me/crypto/fear-and-greed-index/"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=30, spacing_s=1.0, max_retries=3, backoff_base=2.0, backoff_cap=30.0)
    licence = "alternative.me (free, attribution requested)"
    urls = {"FEARGREED": "https://api.alternative.me"}
    series_ids = ("alternative/fear_greed",)

    def plan(self, ctx: Context) -> list[Query]:
        return [Query("fng", self.series_ids, ctx.start_for(self.series_ids, 2), ctx.today)]

    def prepare(self, q: Query, ctx: Context) -> Request:
        limit = 0 if q.start is None else max(1, (ctx.today - q.start).days + 1)
        return Request(self.base() + "/fng/", (("limit", str(limit)), ("format", "json")), 1,
                       "feargreed [alternative/fear_greed]")

    def parse(self, raw, q: Query) -> Parsed:
        doc = self.json_body(raw, q)
        bad = lambda m, p: self.bad(q, m, p)  # noqa: E731
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise self.bad(q, "expected a 'data' list", "top level")
        err = (doc.get("metadata") or {}).get("error") if isinstance(doc.get("metadata"), dict) else None
        if err:
            raise self.bad(q, f"provider reported an error: {str(err)[:100]}", "metadata.error")
        rows = {}
        for i, r in enumerate(doc["data"]):
            pos = f"data[{i}]"
            if not isinstance(r, dict) or "timestamp" not in r or "value" not in r:
                raise self.bad(q, "expected fields 'timestamp' and 'value'", pos)
            d = to_date(bad, r["timestamp"], pos + ".timestamp")
            if d in rows:
                raise self.bad(q, f"duplicate date {d}", pos)
            rows[d] = to_float(bad, r["value"], pos + ".value")
        return Parsed({"alternative/fear_greed": frame(sorted(rows.items()))})


SOURCE = FearGreed()
