"""Farside Investors: US spot bitcoin ETF daily net flows (the "All Data" HTML table).

The page holds one ``<table>``: header rows with fund tickers and a final "Total" column, then one
row per US trading day (first cell like ``11 Jan 2024``), then summary rows (Total, Average,
Maximum, Minimum). Figures are millions of USD; outflows are written in parentheses ``(95.1)``, a
fund with no flow shows ``-``. Parsed with the standard library's HTML parser (a real tokenizer,
not regular expressions). A day whose Total cell is still empty is not yet published and skipped.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

from ..errors import SourceError
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_float


class _Tables(HTMLParser):
    """Collect every table as a list of rows of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _day(text: str) -> dt.date | None:
    for fmt in ("%d %b %Y", "%d %B %Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            pass
    return None


class Farside(Source):
    id = "farside"
    name = "Farside Investors spot BTC ETF flows"
    website = "https://farside.co.uk/bitcoin-etf-flow-all-data/"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=6, spacing_s=5.0, max_retries=2, backoff_base=5.0, backoff_cap=60.0)
    licence = "Farside Investors (free to view; cite the source)"
    urls = {"FARSIDE": "https://farside.co.uk"}
    series_ids = ("farside/etf_netflow",)

    def plan(self, ctx: Context) -> list[Query]:
        return [Query("btc", self.series_ids, ctx.start_for(self.series_ids, 10))]

    def prepare(self, q: Query, ctx: Context) -> Request:
        return Request(self.base() + "/bitcoin-etf-flow-all-data/", (), 1, "farside [farside/etf_netflow]")

    def error_mapper(self, status, body, where):
        if status == 403:
            return SourceError("HTTP 403: the site refused the request (bot protection); "
                               "try later or set BTCMACRO_URL_FARSIDE to a mirror", where=where)
        return None

    def parse(self, raw, q: Query) -> Parsed:
        text = raw.body.decode("utf-8", "replace")
        p = _Tables()
        p.feed(text)
        p.close()
        for t in p.tables:
            hdr = next((i for i, r in enumerate(t) if r and r[-1].strip().lower() == "total"
                        and any(c.upper() == "IBIT" for c in r)), None)
            if hdr is not None:
                break
        else:
            raise self.bad(q, "expected a table whose header ends with 'Total' and lists IBIT",
                           "html")
        col = len(t[hdr]) - 1
        rows = {}
        for n, r in enumerate(t[hdr + 1:], start=hdr + 2):
            d = _day(r[0]) if r else None
            if d is None:
                continue
            if len(r) != len(t[hdr]):
                raise self.bad(q, f"expected {len(t[hdr])} cells, got {len(r)}", f"table row {n} ({r[0]})")
            cell = r[col].strip()
            if cell == "":
                continue
            if cell == "-":
                v = 0.0
            else:
                neg = cell.startswith("(") and cell.endswith(")")
                v = to_float(lambda m, pos: self.bad(q, m, pos), cell.strip("()"),
                             f"table row {n} ({r[0]}) column Total")
                v = -v if neg else v
            if q.start is None or d >= q.start:
                rows[d] = v
        return Parsed({"farside/etf_netflow": frame(sorted(rows.items()))})


SOURCE = Farside()
