"""Kalshi: market-implied odds of each FOMC decision, from its public Fed-decision markets.

Kalshi (a CFTC-regulated exchange) lists one event per scheduled FOMC meeting in the series
``KXFEDDECISION``, with one binary market per outcome (hold, cut 25 bp, cut more than 25 bp, hike
25 bp, ...). Its public market-data API needs no key. Endpoints used (Trade API v2, documented
shapes; prices are fixed-point dollar strings, a YES contract pays $1):

* ``GET /markets?series_ticker=S&limit=1000&cursor=C`` -> ``{"markets": [Market], "cursor": str}``;
  an empty cursor ends the listing;
* ``GET /historical/markets?series_ticker=S&limit=1000&cursor=C``: the same for markets that
  settled before Kalshi's historical cutoff (they leave the live listing);
* ``GET /series/S/markets/{ticker}/candlesticks?start_ts&end_ts&period_interval=1440`` ->
  ``{"ticker", "candlesticks": [{"end_period_ts", "yes_bid": {"close_dollars"}, "yes_ask":
  {"close_dollars"}, "price": {"close_dollars"}, "volume_fp", "open_interest_fp"}]}``;
* ``GET /historical/markets/{ticker}/candlesticks?...``: the same for archived markets, whose
  distributions name their fields ``close`` instead of ``close_dollars``.

A market's outcome is read from its ``yes_sub_title`` (e.g. "Cut 25bps", "Hold", "Hike 25bps"),
else from the ticker's last part (``H0`` hold, ``C25`` cut 25 bp, ``C26`` cut more than 25 bp,
``H25``/``H26`` hikes); its meeting is the calendar meeting (:mod:`btcmacro.rules.fomc`) whose
decision day is within two days of the market's expected expiration (else its close time).

One daily price per market: the midpoint of the day's closing YES bid and ask when both are
quoted (0 < bid <= ask), else the day's last trade. A day's candle is dated by the UTC day its
period covers (``end_period_ts`` minus one second) and published that day. The implied
probabilities of one meeting are its markets' prices divided by their sum (the sum, above 1 by
the spread and fees, is kept as ``kalshi/fomc_price_sum``), on days when every market of the
meeting has a price. Series, each daily and about **the next meeting as of that day** (the first
scheduled meeting whose decision day is on or after it), so an as-of read on a meeting's eve
gives the odds traded for that meeting:

* ``kalshi/fomc_cut``, ``kalshi/fomc_hold``, ``kalshi/fomc_hike``: probabilities (0-1);
* ``kalshi/fomc_cut_large``: the part of ``fomc_cut`` on cuts of more than 25 bp;
* ``kalshi/fomc_price_sum``: the raw sum of the meeting's prices.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict

import pandas as pd

from .. import catalog
from ..errors import AuthError, NotFound
from ..http import Policy
from .base import Context, Parsed, Query, Request, Source, frame

SERIES_TICKER = "KXFEDDECISION"
PAGE = 1000
DAY_S = 86400
#: a market belongs to the calendar meeting whose decision day is at most this far from its expiry
MATCH_DAYS = 2

#: the catalogue series this source fills (declared in :mod:`btcmacro.catalog`)
OUTPUT = tuple(s for s in catalog.SERIES if s.startswith("kalshi/"))


def classify_outcome(ticker: str, sub_title: str | None) -> tuple[str, int] | None:
    """``(direction, size_bp)`` of a Fed-decision market: ``("cut", 25)``, ``("hold", 0)``,
    ``("cut", 26)`` for "more than 25 bp", ``None`` when neither text nor ticker says."""
    text = (sub_title or "").lower()
    bp = re.search(r"(\d+)\s*\+?\s*(?:bps?|basis)", text)
    size = int(bp.group(1)) if bp else None
    if ">" in text or "more than" in text or "+" in text:
        size = (size or 25) + 1
    if re.search(r"\bcut|\blower|\bdecrease", text):
        return "cut", size or 25
    if re.search(r"\bhike|\braise|\bincrease", text):
        return "hike", size or 25
    if re.search(r"\bhold|\bmaintain|\bno change|\bunchanged|\bpause", text):
        return "hold", 0
    m = re.search(r"-([CH])(\d+)$", ticker or "")
    if m:
        n = int(m.group(2))
        if m.group(1) == "H" and n == 0:
            return "hold", 0
        return ("cut" if m.group(1) == "C" else "hike"), n
    return None


def _ts(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return None


def meeting_for(expiry: dt.date, meeting_ends: list[dt.date]) -> dt.date | None:
    """The calendar decision day within :data:`MATCH_DAYS` of a market's expiry date."""
    near = [e for e in meeting_ends if abs((e - expiry).days) <= MATCH_DAYS]
    return min(near, key=lambda e: abs((e - expiry).days)) if near else None


def _scheduled_ends() -> list[dt.date]:
    from ..rules.fomc import meetings

    return sorted(dt.date.fromisoformat(m["end"]) for m in meetings() if m["scheduled"])


class Kalshi(Source):
    id = "kalshi"
    name = "Kalshi Fed-decision markets"
    website = "https://docs.kalshi.com"
    credentials = ()
    how_to_get_key = "no key needed (public market data)"
    # Kalshi's basic tier allows 20 reads per second; a daily update asks for a few dozen pages
    policy = Policy(per_minute=120, spacing_s=0.25, max_retries=4, backoff_base=2.0, backoff_cap=60.0)
    rate_limit_note = "Kalshi basic tier: 20 reads/s"
    licence = "Kalshi market data (public API; see kalshi.com terms)"
    urls = {"KALSHI": "https://api.elections.kalshi.com/trade-api/v2"}
    series_ids = tuple(OUTPUT)

    def plan(self, ctx: Context) -> list[Query]:
        series = str(ctx.options.get("series_ticker", SERIES_TICKER))
        return [Query(series, self.series_ids, ctx.start_for(self.series_ids, 7), ctx.today)]

    # -- the request chain: live listing -> historical listing -> one candle request per market
    def _listing(self, q: Query, historical: bool, cursor: str | None, markets: tuple, page: int) -> Request:
        path = "/historical/markets" if historical else "/markets"
        params = [("series_ticker", q.key), ("limit", str(PAGE))]
        if cursor:
            params.append(("cursor", cursor))
        what = "historical markets" if historical else "markets"
        return Request(self.base() + path, tuple(params), page, f"kalshi [{q.key} {what}]",
                       extra=("list", historical, markets))

    def prepare(self, q: Query, ctx: Context) -> Request:
        return self._listing(q, False, None, (), 1)

    def _candles(self, q: Query, market: tuple, rest: tuple, page: int) -> Request:
        ticker, historical, _outcome, _size, _meeting, start_ts, end_ts = market
        path = (f"/historical/markets/{ticker}/candlesticks" if historical
                else f"/series/{q.key}/markets/{ticker}/candlesticks")
        params = (("start_ts", str(start_ts)), ("end_ts", str(end_ts)), ("period_interval", "1440"))
        return Request(self.base() + path, params, page, f"kalshi [{ticker} candlesticks]",
                       extra=("candles", market, rest))

    def error_mapper(self, status: int, body: bytes, where: str):
        if status in (401, 403):
            return AuthError(f"Kalshi refused public market data (HTTP {status})", where=where)
        if status == 404:
            return NotFound(f"Kalshi has no such series or market (HTTP {status})", where=where)
        return None

    def parse(self, raw, q: Query) -> Parsed:
        req = raw.request
        kind = req.extra[0]
        doc = self.json_body(raw, q, raw.page)
        if not isinstance(doc, dict):
            raise self.bad(q, "expected a JSON object", "top level", raw.page)
        if kind == "list":
            return self._parse_listing(doc, q, req, raw.page)
        return self._parse_candles(doc, q, req, raw.page)

    def _parse_listing(self, doc: dict, q: Query, req: Request, page: int) -> Parsed:
        historical, known = req.extra[1], req.extra[2]
        if not isinstance(doc.get("markets"), list):
            raise self.bad(q, "expected a 'markets' list", "top level", page)
        ends = _scheduled_ends()
        start = q.start
        today_end = int(dt.datetime.combine(q.end or dt.date.today(), dt.time(), dt.UTC).timestamp()) + DAY_S
        found = list(known)
        for i, m in enumerate(doc["markets"]):
            pos = f"markets[{i}]"
            if not isinstance(m, dict) or not isinstance(m.get("ticker"), str):
                raise self.bad(q, "expected a market object with a 'ticker'", pos, page)
            outcome = classify_outcome(m["ticker"], m.get("yes_sub_title"))
            if outcome is None:
                raise self.bad(q, f"cannot tell the decision that market {m['ticker']} pays on "
                               f"(yes_sub_title {str(m.get('yes_sub_title'))[:40]!r})", pos, page)
            opened, closes = _ts(m.get("open_time")), _ts(m.get("close_time"))
            expiry = _ts(m.get("expected_expiration_time")) or closes
            if opened is None or closes is None or expiry is None:
                raise self.bad(q, f"market {m['ticker']}: expected ISO times in 'open_time' and 'close_time'",
                               pos, page)
            meeting = meeting_for(expiry.date(), ends)
            if meeting is None:
                continue  # not a scheduled meeting of the calendar
            if start is not None and closes.date() < start:
                continue  # nothing new to fetch for it
            first = int(opened.timestamp())
            if start is not None:
                first = max(first, int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp()))
            last = min(int(closes.timestamp()) + DAY_S, today_end)
            if last <= first:
                continue
            found.append((m["ticker"], bool(historical), outcome[0], outcome[1], meeting.isoformat(), first, last))
        cursor = doc.get("cursor")
        if cursor:
            return Parsed({}, self._listing(q, historical, str(cursor), tuple(found), page + 1))
        if not historical:
            return Parsed({}, self._listing(q, True, None, tuple(found), page + 1))
        # every market listed, live ones first: one candle request each (a market listed in both
        # places -- archived during the run -- is read once, from the live listing)
        seen, queue = set(), []
        for mk in found:
            if mk[0] not in seen:
                seen.add(mk[0])
                queue.append(mk)
        if not queue:
            return Parsed({})
        return Parsed({}, self._candles(q, queue[0], tuple(queue[1:]), page + 1))

    def _parse_candles(self, doc: dict, q: Query, req: Request, page: int) -> Parsed:
        market, rest = req.extra[1], req.extra[2]
        ticker, historical, outcome, size, meeting = market[:5]
        if not isinstance(doc.get("candlesticks"), list):
            raise self.bad(q, f"expected a 'candlesticks' list for {ticker}", "top level", page)
        suffix = "" if historical else "_dollars"
        rows = []
        for i, c in enumerate(doc["candlesticks"]):
            pos = f"{ticker} candlesticks[{i}]"
            if not isinstance(c, dict) or not isinstance(c.get("end_period_ts"), (int, float)):
                raise self.bad(q, "expected 'end_period_ts' (Unix seconds)", pos, page)
            bid = self._price(q, c.get("yes_bid"), "close" + suffix, pos + ".yes_bid", page)
            ask = self._price(q, c.get("yes_ask"), "close" + suffix, pos + ".yes_ask", page)
            last = self._price(q, c.get("price"), "close" + suffix, pos + ".price", page)
            if bid is not None and ask is not None and 0 < bid <= ask:
                value = (bid + ask) / 2.0
            elif last is not None:
                value = last
            else:
                continue
            day = dt.datetime.fromtimestamp(int(c["end_period_ts"]) - 1, dt.UTC).date()
            rows.append((day, value))
        key = f"_market/{meeting}/{outcome}/{size}/{ticker}"
        nxt = self._candles(q, rest[0], rest[1:], page + 1) if rest else None
        return Parsed({key: frame(rows)}, nxt)

    def _price(self, q: Query, dist, field: str, pos: str, page: int) -> float | None:
        if dist is None:
            return None
        if not isinstance(dist, dict):
            raise self.bad(q, "expected a price distribution object", pos, page)
        v = dist.get(field)
        if v is None:
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise self.bad(q, f"expected a dollar price, got {str(v)[:20]!r}", f"{pos}.{field}", page) from None
        if not (0.0 <= x <= 1.0) or math.isnan(x):
            raise self.bad(q, f"a YES price is between $0 and $1, got {x}", f"{pos}.{field}", page)
        return x

    def combine(self, q: Query, pages: list[Parsed]) -> dict[str, pd.DataFrame]:
        """Per-market prices -> the next meeting's implied probabilities (pure)."""
        per_meeting: dict[str, list[tuple[str, int, pd.Series]]] = defaultdict(list)
        for p in pages:
            for key, f in p.frames.items():
                if not key.startswith("_market/"):
                    continue
                _, meeting, outcome, size, _ticker = key.split("/", 4)
                s = pd.Series(f["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(f["date"])) \
                    if len(f) else pd.Series(dtype=float)
                per_meeting[meeting].append((outcome, int(size), s))
        ends = sorted(dt.date.fromisoformat(m) for m in per_meeting)
        calendar = _scheduled_ends()
        out: dict[str, list] = {sid: [] for sid in OUTPUT}
        for meeting in ends:
            mk = per_meeting[meeting.isoformat()]
            prev = [e for e in calendar if e < meeting]
            lo = pd.Timestamp(prev[-1]) if prev else pd.Timestamp.min
            prices = pd.concat([s for _, _, s in mk], axis=1)
            prices = prices[(prices.index > lo) & (prices.index <= pd.Timestamp(meeting))].dropna()
            if prices.empty:
                continue
            total = prices.sum(axis=1)
            prob = prices.div(total, axis=0)
            direction = [o for o, _, _ in mk]
            large = [o == "cut" and sz > 25 for o, sz, _ in mk]
            for day, row in prob.iterrows():
                vals = row.to_numpy()
                cut = float(sum(v for v, d in zip(vals, direction) if d == "cut"))
                out["kalshi/fomc_cut"].append((day, cut))
                out["kalshi/fomc_cut_large"].append((day, float(sum(v for v, g in zip(vals, large) if g))))
                out["kalshi/fomc_hold"].append((day, float(sum(v for v, d in zip(vals, direction) if d == "hold"))))
                out["kalshi/fomc_hike"].append((day, float(sum(v for v, d in zip(vals, direction) if d == "hike"))))
                out["kalshi/fomc_price_sum"].append((day, float(total.loc[day])))
        return {sid: frame(sorted(rows)) for sid, rows in out.items() if rows}


SOURCE = Kalshi()
