"""mempool.space mining API: hash rate, difficulty adjustments, average block rewards and fees.

* ``/api/v1/mining/hashrate/{period}``: ``{"hashrates": [{"timestamp", "avgHashrate"}], ...}``
  (H/s, daily average);
* ``/api/v1/mining/difficulty-adjustments/{period}``: ``[[time, height, difficulty, adjustment]]``,
  newest first; ``adjustment`` is the ratio to the previous difficulty;
* ``/api/v1/mining/blocks/rewards/{period}`` and ``/blocks/fees/{period}``: ``[{"timestamp",
  "avgHeight", "avgRewards" | "avgFees"}]`` in sats per block (subsidy + fees, and fees) -- the
  inputs of hashprice.

``period`` is the smallest of 1m/3m/6m/1y/2y/3y/all that covers the window.
"""

from __future__ import annotations

import datetime as dt

from .. import catalog
from ..catalog import SeriesDef
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

_LIC = "mempool.space public API (AGPL software; data from the Bitcoin blockchain)"
for _id, _name, _unit in [
    ("mempool/hashrate", "Network hash rate (daily average)", "H/s"),
    ("mempool/difficulty", "Difficulty at each adjustment", "difficulty"),
    ("mempool/difficulty_adjustment", "Difficulty adjustment (ratio to previous)", "ratio"),
    ("mempool/block_rewards", "Average block reward, subsidy + fees", "sats per block"),
    ("mempool/block_fees", "Average block fees", "sats per block"),
]:
    catalog.register(SeriesDef(_id, "mempool.space", _name, _unit, "daily", "same_day", _LIC))

PERIODS = [(30, "1m"), (90, "3m"), (180, "6m"), (365, "1y"), (730, "2y"), (1095, "3y")]

KINDS = {  # query key -> (path, series)
    "hashrate": ("/v1/mining/hashrate/{p}", ("mempool/hashrate",)),
    "difficulty": ("/v1/mining/difficulty-adjustments/{p}",
                   ("mempool/difficulty", "mempool/difficulty_adjustment")),
    "rewards": ("/v1/mining/blocks/rewards/{p}", ("mempool/block_rewards",)),
    "fees": ("/v1/mining/blocks/fees/{p}", ("mempool/block_fees",)),
}


def period_for(start: dt.date | None, today: dt.date) -> str:
    if start is None:
        return "all"
    days = (today - start).days
    for n, name in PERIODS:
        if days <= n:
            return name
    return "all"


class Mempool(Source):
    id = "mempool"
    name = "mempool.space mining API"
    website = "https://mempool.space/docs/api/rest"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=30, spacing_s=1.0, max_retries=3, backoff_base=2.0, backoff_cap=60.0)
    licence = _LIC
    urls = {"MEMPOOL": "https://mempool.space/api"}
    series_ids = tuple(s for _, ids in KINDS.values() for s in ids)

    def plan(self, ctx: Context) -> list[Query]:
        out = []
        for key, (_, ids) in KINDS.items():
            window = 30 if key == "difficulty" else 3
            start = ctx.start_for(ids[:1], window)
            out.append(Query(key, ids, start, None, (period_for(start, ctx.today),)))
        return out

    def prepare(self, q: Query, ctx: Context) -> Request:
        path = KINDS[q.key][0].format(p=q.extra[0])
        return Request(self.base() + path, (), 1, f"mempool [{q.series[0]}]")

    def parse(self, raw, q: Query) -> Parsed:
        doc = self.json_body(raw, q)
        bad = lambda m, p: self.bad(q, m, p)  # noqa: E731
        keep = (lambda d: True) if q.start is None else (lambda d: d >= q.start)
        if q.key == "hashrate":
            items = doc.get("hashrates") if isinstance(doc, dict) else None
            if not isinstance(items, list):
                raise self.bad(q, "expected a 'hashrates' list", "top level")
            rows = {}
            for i, h in enumerate(items):
                pos = f"hashrates[{i}]"
                if not isinstance(h, dict) or "timestamp" not in h or "avgHashrate" not in h:
                    raise self.bad(q, "expected fields 'timestamp' and 'avgHashrate'", pos)
                d = to_date(bad, h["timestamp"], pos + ".timestamp")
                if keep(d):
                    rows[d] = to_float(bad, h["avgHashrate"], pos + ".avgHashrate")
            return Parsed({"mempool/hashrate": frame(sorted(rows.items()))})
        if not isinstance(doc, list):
            raise self.bad(q, "expected a JSON list", "top level")
        if q.key == "difficulty":
            diff, adj = {}, {}
            for i, e in enumerate(doc):
                pos = f"[{i}]"
                if not isinstance(e, list) or len(e) < 4:
                    raise self.bad(q, "expected [time, height, difficulty, adjustment]", pos)
                d = to_date(bad, e[0], pos + "[0]")
                if keep(d):
                    diff[d] = to_float(bad, e[2], pos + "[2]")
                    adj[d] = to_float(bad, e[3], pos + "[3]")
            return Parsed({"mempool/difficulty": frame(sorted(diff.items())),
                           "mempool/difficulty_adjustment": frame(sorted(adj.items()))})
        field = "avgRewards" if q.key == "rewards" else "avgFees"
        rows = {}
        for i, e in enumerate(doc):
            pos = f"[{i}]"
            if not isinstance(e, dict) or "timestamp" not in e or field not in e:
                raise self.bad(q, f"expected fields 'timestamp' and {field!r}", pos)
            d = to_date(bad, e["timestamp"], pos + ".timestamp")
            if keep(d):
                rows[d] = to_float(bad, e[field], f"{pos}.{field}")
        return Parsed({q.series[0]: frame(sorted(rows.items()))})


SOURCE = Mempool()
