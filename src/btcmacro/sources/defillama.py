"""DefiLlama stablecoins: total circulating stablecoin supply in USD.

``/stablecoincharts/all`` returns ``[{"date": "<unix seconds>", "totalCirculatingUSD": {"peggedUSD":
..., "peggedEUR": ...}, ...}]``; the value stored in ``defillama/stablecoin_supply`` is the sum of
``totalCirculatingUSD`` over all pegs (USD). The endpoint always returns the full history; rows
before the update window are ignored.
"""

from __future__ import annotations

from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float


class DefiLlama(Source):
    id = "defillama"
    name = "DefiLlama stablecoins"
    website = "https://defillama.com/docs/api"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=30, spacing_s=1.0, max_retries=3, backoff_base=2.0, backoff_cap=30.0)
    licence = "DefiLlama open data"
    urls = {"DEFILLAMA": "https://stablecoins.llama.fi"}
    series_ids = ("defillama/stablecoin_supply",)

    def plan(self, ctx: Context) -> list[Query]:
        return [Query("all", self.series_ids, ctx.start_for(self.series_ids, 3))]

    def prepare(self, q: Query, ctx: Context) -> Request:
        return Request(self.base() + "/stablecoincharts/all", (), 1,
                       "defillama [defillama/stablecoin_supply]")

    def parse(self, raw, q: Query) -> Parsed:
        doc = self.json_body(raw, q)
        bad = lambda m, p: self.bad(q, m, p)  # noqa: E731
        if not isinstance(doc, list):
            raise self.bad(q, "expected a JSON list", "top level")
        rows = {}
        for i, r in enumerate(doc):
            pos = f"[{i}]"
            if not isinstance(r, dict) or "date" not in r or not isinstance(r.get("totalCirculatingUSD"), dict):
                raise self.bad(q, "expected fields 'date' and 'totalCirculatingUSD'", pos)
            d = to_date(bad, r["date"], pos + ".date")
            if q.start is not None and d < q.start:
                continue
            rows[d] = sum(to_float(bad, v, f"{pos}.totalCirculatingUSD.{k}")
                          for k, v in r["totalCirculatingUSD"].items())
        return Parsed({"defillama/stablecoin_supply": frame(sorted(rows.items()))})


SOURCE = DefiLlama()
