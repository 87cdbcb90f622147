"""New York Fed Markets API: SOFR and EFFR with percentiles and volume, and Treasury bill purchases.

``/api/rates/secured/sofr/search.json`` and ``/api/rates/unsecured/effr/search.json`` return
``{"refRates": [{"effectiveDate", "percentRate", "percentPercentile1", ..., "volumeInBillions"}]}``.
``/api/tsy/purchases/results/summary/search.json`` returns ``{"treasury": {"auctions": [...]}}``;
outright *bill* purchases (reserve-management purchases) are summed per operation date from
``totalParAmtAccepted`` (USD par), so the briefing can compare actual purchases with a projection.
"""

from __future__ import annotations

import datetime as dt

from .. import catalog
from ..catalog import SeriesDef
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

_RATE_FIELDS = [("percentRate", "", "percent"), ("percentPercentile1", "_p1", "percent"),
                ("percentPercentile25", "_p25", "percent"), ("percentPercentile75", "_p75", "percent"),
                ("percentPercentile99", "_p99", "percent"), ("volumeInBillions", "_volume", "billions USD")]
_LIC = "Federal Reserve Bank of New York terms of use"

for _rate, _label, _first in (("sofr", "SOFR", dt.date(2018, 4, 2)), ("effr", "EFFR", dt.date(2016, 3, 1))):
    for _f, _suffix, _unit in _RATE_FIELDS:
        what = {"": "rate", "_volume": "volume"}.get(_suffix, f"{_suffix[2:]}th percentile")
        catalog.register(SeriesDef(f"nyfed/{_rate}{_suffix}", "NY Fed", f"{_label} {what}", _unit,
                                   "daily", "next_business_day", _LIC))
catalog.register(SeriesDef("nyfed/bill_purchases", "NY Fed", "Outright Treasury bill purchases (accepted par)",
                           "USD", "daily", "same_day", _LIC))

FIRST = {"sofr": dt.date(2018, 4, 2), "effr": dt.date(2016, 3, 1), "tsy": dt.date(2024, 1, 1)}


class NYFed(Source):
    id = "nyfed"
    name = "New York Fed Markets API"
    website = "https://markets.newyorkfed.org/static/docs/markets-api.html"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=30, spacing_s=1.0, max_retries=3, backoff_base=2.0, backoff_cap=30.0)
    licence = _LIC
    urls = {"NYFED": "https://markets.newyorkfed.org"}
    series_ids = tuple([f"nyfed/{r}{s}" for r in ("sofr", "effr") for _, s, _ in _RATE_FIELDS]
                       + ["nyfed/bill_purchases"])

    def plan(self, ctx: Context) -> list[Query]:
        out = []
        for rate in ("sofr", "effr"):
            ids = tuple(f"nyfed/{rate}{s}" for _, s, _ in _RATE_FIELDS)
            out.append(Query(rate, ids, ctx.start_for(ids, 7) or FIRST[rate], ctx.today))
        ids = ("nyfed/bill_purchases",)
        out.append(Query("tsy", ids, ctx.start_for(ids, 14) or FIRST["tsy"], ctx.today))
        return out

    def prepare(self, q: Query, ctx: Context) -> Request:
        path = {"sofr": "/api/rates/secured/sofr/search.json",
                "effr": "/api/rates/unsecured/effr/search.json",
                "tsy": "/api/tsy/purchases/results/summary/search.json"}[q.key]
        params = (("startDate", q.start.isoformat()), ("endDate", q.end.isoformat()))
        return Request(self.base() + path, params, 1, f"nyfed [{q.series[0]}]")

    def parse(self, raw, q: Query) -> Parsed:
        doc = self.json_body(raw, q)
        bad = lambda m, p: self.bad(q, m, p)  # noqa: E731
        if q.key == "tsy":
            ops = doc.get("treasury", {}).get("auctions") if isinstance(doc, dict) else None
            if not isinstance(ops, list):
                raise self.bad(q, "expected 'treasury.auctions' list", "top level")
            by_day: dict[dt.date, float] = {}
            for i, op in enumerate(ops):
                pos = f"treasury.auctions[{i}]"
                if not isinstance(op, dict) or "operationDate" not in op or "operationType" not in op:
                    raise self.bad(q, "expected fields 'operationDate' and 'operationType'", pos)
                if "bill" not in str(op["operationType"]).lower():
                    continue
                if op.get("auctionStatus", "Results") != "Results":
                    continue
                if "totalParAmtAccepted" not in op:
                    raise self.bad(q, "expected field 'totalParAmtAccepted'", pos)
                d = to_date(bad, op["operationDate"], pos + ".operationDate")
                v = to_float(bad, op["totalParAmtAccepted"], pos + ".totalParAmtAccepted")
                by_day[d] = by_day.get(d, 0.0) + v
            return Parsed({"nyfed/bill_purchases": frame(sorted(by_day.items()))})
        refs = doc.get("refRates") if isinstance(doc, dict) else None
        if not isinstance(refs, list):
            raise self.bad(q, "expected 'refRates' list", "top level")
        cols: dict[str, list] = {s: [] for s in q.series}
        seen = set()
        for i, r in enumerate(refs):
            pos = f"refRates[{i}]"
            if not isinstance(r, dict) or "effectiveDate" not in r or "percentRate" not in r:
                raise self.bad(q, "expected fields 'effectiveDate' and 'percentRate'", pos)
            d = to_date(bad, r["effectiveDate"], pos + ".effectiveDate")
            if d in seen:
                raise self.bad(q, f"duplicate date {d}", pos)
            seen.add(d)
            for f, suffix, _ in _RATE_FIELDS:
                if f in r and r[f] not in (None, ""):
                    cols[f"nyfed/{q.key}{suffix}"].append((d, to_float(bad, r[f], f"{pos}.{f}")))
        return Parsed({s: frame(sorted(rows)) for s, rows in cols.items()})


SOURCE = NYFed()
