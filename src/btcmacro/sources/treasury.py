"""US Treasury Fiscal Data: daily TGA balance from the Daily Treasury Statement (DTS).

``/v1/accounting/dts/operating_cash_balance`` pages with ``page[number]`` / ``meta.total-pages``.
Since 2022-04-18 the closing balance is its own row, account type "Treasury General Account (TGA)
Closing Balance", and the API carries its value in ``open_today_bal`` (``close_today_bal`` is
"null"); earlier rows ("Federal Reserve Account", "Treasury General Account (TGA)") carry it in
``close_today_bal``. Millions of USD. The DTS is published at 4 pm the next business day.
"""

from __future__ import annotations

from .. import catalog
from ..catalog import SeriesDef
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

NEW = "Treasury General Account (TGA) Closing Balance"
OLD = ("Federal Reserve Account", "Treasury General Account (TGA)")

catalog.register(SeriesDef("treasury/tga", "US Treasury (DTS)", "Treasury General Account, daily closing balance",
                           "millions USD", "daily", "next_business_day", "US government work (public domain)"))


class Treasury(Source):
    id = "treasury"
    name = "US Treasury Fiscal Data (Daily Treasury Statement)"
    website = "https://fiscaldata.treasury.gov/datasets/daily-treasury-statement/"
    credentials = ()
    how_to_get_key = "no key needed"
    policy = Policy(per_minute=60, spacing_s=0.5, max_retries=3, backoff_base=2.0, backoff_cap=30.0)
    licence = "US government work (public domain)"
    urls = {"TREASURY": "https://api.fiscaldata.treasury.gov/services/api/fiscal_service"}
    series_ids = ("treasury/tga",)

    def plan(self, ctx: Context) -> list[Query]:
        return [Query("tga", self.series_ids, ctx.start_for(self.series_ids, 7, default_years=5))]

    def prepare(self, q: Query, ctx: Context) -> Request:
        flt = f"account_type:in:({NEW},{','.join(OLD)})"
        if q.start is not None:
            flt = f"record_date:gte:{q.start.isoformat()}," + flt
        params = (("fields", "record_date,account_type,open_today_bal,close_today_bal"),
                  ("filter", flt), ("sort", "record_date"),
                  ("page[size]", str(ctx.options.get("page_size", 1000))), ("page[number]", "1"))
        return Request(self.base() + "/v1/accounting/dts/operating_cash_balance", params, 1,
                       "treasury [treasury/tga]")

    def parse(self, raw, q: Query) -> Parsed:
        page = raw.page
        doc = self.json_body(raw, q, page)
        bad = lambda m, p: self.bad(q, m, p, page)  # noqa: E731
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise self.bad(q, "expected a 'data' list", "top level", page)
        rows = {}
        for i, r in enumerate(doc["data"]):
            pos = f"data[{i}]"
            if not isinstance(r, dict) or "record_date" not in r or "account_type" not in r:
                raise self.bad(q, "expected fields 'record_date' and 'account_type'", pos, page)
            acct = r["account_type"]
            if acct == NEW:
                field = "open_today_bal" if r.get("open_today_bal") not in (None, "null") else "close_today_bal"
            elif acct in OLD:
                field = "close_today_bal"
            else:
                continue
            if field not in r:
                raise self.bad(q, f"expected field {field!r}", pos, page)
            if r[field] in (None, "null"):
                continue
            d = to_date(bad, r["record_date"], pos + ".record_date")
            rows[d] = to_float(bad, r[field], f"{pos}.{field}")
        nxt = None
        meta = doc.get("meta", {}) if isinstance(doc.get("meta"), dict) else {}
        total = meta.get("total-pages")
        if isinstance(total, int) and page < total:
            req = raw.request
            params = tuple((k, str(page + 1) if k == "page[number]" else v) for k, v in req.params)
            nxt = Request(req.url, params, page + 1, req.where)
        return Parsed({"treasury/tga": frame(sorted(rows.items()))}, nxt)


SOURCE = Treasury()
