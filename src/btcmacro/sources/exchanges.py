"""Exchanges through ccxt: daily BTC OHLCV, perpetual funding history and open-interest history.

Venues are configurable (``[sources.exchanges] venues = ["binance", "okx", "bybit"]`` in
config.toml, or ``update(options=...)``). ccxt's own limiter is switched off: requests go through
:meth:`btcmacro.http.Http.call`, so the venue's :class:`~btcmacro.http.Policy`, the per-host
limiter and the update deadline apply as for every other source. ccxt exceptions map onto ours:
``RateLimitExceeded``/``DDoSProtection`` -> RateLimited and ``RequestTimeout``/``NetworkError`` ->
Unavailable (retried); ``BadSymbol`` -> NotFound and ``AuthenticationError``/``PermissionDenied``
-> AuthError (never retried). Markets are declared here (BTC/USDT spot and the USDT-margined
perpetual), so no ``load_markets`` round trip is needed. ``BTCMACRO_URL_<VENUE>`` (e.g.
``BTCMACRO_URL_BINANCE``) replaces the scheme and host of every API URL of that venue.

``fetch`` returns ccxt's unified structures serialised as JSON bytes; ``parse`` (pure) turns them
into daily series. Series per venue: ``ccxt/<venue>/btc_close``, ``.../btc_volume`` (BTC),
``.../funding_rate`` (daily mean of the per-interval rates, fraction) and ``.../open_interest``
(USD). Binance also fills the catalogue ids ``binance/funding_rate`` and ``binance/open_interest``.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from .. import catalog, config
from ..catalog import SeriesDef
from ..errors import AuthError, BadPayload, NotFound, RateLimited, SourceError, Unavailable
from ..http import Policy, Response
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

DEFAULT_VENUES = ("binance", "okx", "bybit")
DAY_MS = 86_400_000

#: venue -> (spot market id, swap market id)
MARKET_IDS = {
    "binance": ("BTCUSDT", "BTCUSDT"),
    "okx": ("BTC-USDT", "BTC-USDT-SWAP"),
    "bybit": ("BTCUSDT", "BTCUSDT"),
}
POLICIES = {  # documented public limits are far higher; stay polite
    "binance": Policy(per_minute=60, spacing_s=0.2, max_retries=3, backoff_base=1.0, backoff_cap=30.0),
    "okx": Policy(per_minute=60, spacing_s=0.2, max_retries=3, backoff_base=1.0, backoff_cap=30.0),
    "bybit": Policy(per_minute=60, spacing_s=0.2, max_retries=3, backoff_base=1.0, backoff_cap=30.0),
}
KINDS = ("ohlcv", "funding", "oi")
LIMIT = {"ohlcv": 1000, "funding": 1000, "oi": 500}


def series_of(venue: str, kind: str) -> tuple[str, ...]:
    base = f"ccxt/{venue}"
    ids = {"ohlcv": (f"{base}/btc_close", f"{base}/btc_volume"),
           "funding": (f"{base}/funding_rate",), "oi": (f"{base}/open_interest",)}[kind]
    if venue == "binance" and kind == "funding":
        ids += ("binance/funding_rate",)
    if venue == "binance" and kind == "oi":
        ids += ("binance/open_interest",)
    return ids


def register_venue(venue: str) -> None:
    lic = f"{venue} public market data (exchange terms)"
    for sid, name, unit, rule in [
        (f"ccxt/{venue}/btc_close", f"BTC/USDT daily close ({venue})", "USDT", "next_day"),
        (f"ccxt/{venue}/btc_volume", f"BTC/USDT daily volume ({venue})", "BTC", "next_day"),
        (f"ccxt/{venue}/funding_rate", f"BTC perp funding, daily mean rate ({venue})", "fraction per funding interval", "next_day"),
        (f"ccxt/{venue}/open_interest", f"BTC perp open interest ({venue})", "USD", "next_day"),
    ]:
        if sid not in catalog.SERIES:
            catalog.register(SeriesDef(sid, venue, name, unit, "daily", rule, lic))


for _v in DEFAULT_VENUES:
    register_venue(_v)


def _market(venue: str, typ: str) -> dict:
    spot_id, swap_id = MARKET_IDS[venue]
    swap = typ == "swap"
    return dict(
        id=swap_id if swap else spot_id, symbol="BTC/USDT:USDT" if swap else "BTC/USDT",
        base="BTC", quote="USDT", settle="USDT" if swap else None, baseId="BTC", quoteId="USDT",
        settleId="USDT" if swap else None, type=typ, spot=not swap, swap=swap, future=False,
        option=False, margin=False, contract=swap, linear=True if swap else None,
        inverse=False if swap else None, contractSize=(0.01 if venue == "okx" else 1.0) if swap else None,
        subType="linear" if swap else None, active=True, precision={}, limits={}, info={},
    )


def classify_ccxt(exc: BaseException, where: str) -> SourceError:
    """Map a ccxt exception to our tree (retry or stop)."""
    import ccxt

    name = type(exc).__name__
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return RateLimited(f"exchange rate limit ({name})", where=where)
    if isinstance(exc, ccxt.RequestTimeout):
        e = Unavailable(f"request timed out ({name})", where=where)
        e.kind = "timeout"
        return e
    if isinstance(exc, (ccxt.ExchangeNotAvailable, ccxt.NetworkError)):
        e = Unavailable(f"exchange unavailable ({name})", where=where)
        e.kind = "connect" if not isinstance(exc, ccxt.ExchangeNotAvailable) else None
        if e.kind is None:
            e.status = 503
        return e
    if isinstance(exc, ccxt.BadSymbol):
        return NotFound(f"the exchange does not list this market ({name})", where=where)
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountNotEnabled)):
        return AuthError(f"the exchange refused the request ({name}); public market data needs no "
                         "key -- check the venue and any proxy in BTCMACRO_URL_<VENUE>", where=where)
    if isinstance(exc, ccxt.BaseError):
        return SourceError(f"exchange error, not retried ({name})", where=where)
    return BadPayload(f"unexpected failure in the exchange client ({name})", where=where)


class Exchanges(Source):
    id = "exchanges"
    name = "Exchanges via ccxt (OHLCV, funding, open interest)"
    website = "https://github.com/ccxt/ccxt"
    credentials = ()
    how_to_get_key = "public market data needs no key"
    policy = POLICIES["binance"]
    licence = "exchange public market data (each venue's terms)"
    urls = {v.upper(): "" for v in DEFAULT_VENUES}

    def __init__(self):
        self._clients: dict[str, object] = {}
        #: tests may inject a factory ``venue -> ccxt exchange``
        self.factory = None

    @property
    def series_ids(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(s for v in DEFAULT_VENUES for k in KINDS for s in series_of(v, k))

    def venues(self, ctx: Context) -> tuple[str, ...]:
        v = ctx.options.get("venues") or config.user_config().get("sources", {}).get(
            "exchanges", {}).get("venues") or DEFAULT_VENUES
        return tuple(v)

    def plan(self, ctx: Context) -> list[Query]:
        out = []
        for venue in self.venues(ctx):
            if venue not in MARKET_IDS:
                raise NotFound(f"venue not supported (known: {', '.join(MARKET_IDS)})",
                               where=f"exchanges [{venue}]")
            register_venue(venue)
            for kind in KINDS:
                ids = series_of(venue, kind)
                back = {"ohlcv": 730, "funding": 365, "oi": 28}[kind]
                start = ctx.start_for(ids[:1], 3) or ctx.today - dt.timedelta(days=back)
                if kind == "oi":
                    start = max(start, ctx.today - dt.timedelta(days=28))
                out.append(Query(kind, ids, start, ctx.today, (venue,)))
        return out

    def prepare(self, q: Query, ctx: Context) -> Request:
        venue = q.extra[0]
        since = int(dt.datetime.combine(q.start, dt.time(), dt.UTC).timestamp() * 1000)
        return Request(f"ccxt:{venue}:{q.key}", (("since", str(since)), ("limit", str(LIMIT[q.key]))),
                       1, f"exchanges [{q.series[0]}]", (venue, q.key))

    def client(self, venue: str):
        if venue in self._clients:
            return self._clients[venue]
        if self.factory is not None:
            ex = self.factory(venue)
        else:
            import ccxt

            ex = getattr(ccxt, venue)({"enableRateLimit": False, "timeout": 30000})
        ex.enableRateLimit = False
        base = config.base_url(venue.upper(), "") if venue.upper() else ""
        if base:
            ex.urls["api"] = _rebase(ex.urls["api"], base)
        ex.set_markets([_market(venue, "spot"), _market(venue, "swap")])
        self._clients[venue] = ex
        return ex

    def fetch(self, req: Request, ctx: Context) -> Response:
        venue, kind = req.extra
        ex = self.client(venue)
        since, limit = int(req.param("since")), int(req.param("limit"))
        where = req.where + (f" page {req.page}" if req.page > 1 else "")

        def once() -> Response:
            if kind == "ohlcv":
                data = ex.fetch_ohlcv("BTC/USDT", "1d", since=since, limit=limit)
            elif kind == "funding":
                data = ex.fetch_funding_rate_history("BTC/USDT:USDT", since=since, limit=limit)
                data = [{"timestamp": d.get("timestamp"), "fundingRate": d.get("fundingRate")} for d in data]
            else:
                data = ex.fetch_open_interest_history("BTC/USDT:USDT", "1d", since=since, limit=limit)
                data = [{"timestamp": d.get("timestamp"), "openInterestValue": d.get("openInterestValue"),
                         "openInterestAmount": d.get("openInterestAmount")} for d in data]
            return Response(200, {}, json.dumps(data).encode(), where)

        host = venue
        resp = ctx.http.call(once, host=host, policy=POLICIES.get(venue, self.policy), where=where,
                             classify=lambda e: classify_ccxt(e, where))
        resp.request, resp.page = req, req.page
        return resp

    def parse(self, raw, q: Query) -> Parsed:
        page = raw.page
        doc = self.json_body(raw, q, page)
        bad = lambda m, p: self.bad(q, m, p, page)  # noqa: E731
        if not isinstance(doc, list):
            raise self.bad(q, "expected a list from ccxt", "top level", page)
        venue = q.extra[0]
        last_ts = None
        frames: dict[str, list] = {s: [] for s in q.series}
        if q.key == "ohlcv":
            for i, c in enumerate(doc):
                if not isinstance(c, list) or len(c) < 6:
                    raise bad("expected [timestamp, open, high, low, close, volume]", f"[{i}]")
                d = to_date(bad, c[0], f"[{i}][0]")
                last_ts = c[0]
                frames[f"ccxt/{venue}/btc_close"].append((d, to_float(bad, c[4], f"[{i}][4]")))
                frames[f"ccxt/{venue}/btc_volume"].append((d, to_float(bad, c[5], f"[{i}][5]")))
        elif q.key == "funding":
            per_day: dict[dt.date, list[float]] = {}
            for i, r in enumerate(doc):
                if not isinstance(r, dict) or r.get("timestamp") is None or "fundingRate" not in r:
                    raise bad("expected fields 'timestamp' and 'fundingRate'", f"[{i}]")
                d = to_date(bad, r["timestamp"], f"[{i}].timestamp")
                last_ts = r["timestamp"]
                per_day.setdefault(d, []).append(to_float(bad, r["fundingRate"], f"[{i}].fundingRate"))
            rows = [(d, sum(v) / len(v)) for d, v in sorted(per_day.items())]
            for s in q.series:
                frames[s] = rows
        else:
            for i, r in enumerate(doc):
                if not isinstance(r, dict) or r.get("timestamp") is None or "openInterestValue" not in r:
                    raise bad("expected fields 'timestamp' and 'openInterestValue'", f"[{i}]")
                d = to_date(bad, r["timestamp"], f"[{i}].timestamp")
                last_ts = r["timestamp"]
                v = to_float(bad, r["openInterestValue"], f"[{i}].openInterestValue")
                for s in q.series:
                    frames[s].append((d, v))
        out = {}
        for s, rows in frames.items():
            dedup = dict(rows)  # a day seen twice keeps the latest figure
            out[s] = frame(sorted(dedup.items()))
        nxt = None
        req = raw.request
        limit = int(req.param("limit")) if req is not None else 0
        if req is not None and len(doc) >= limit and last_ts is not None and q.end is not None:
            last_day = dt.datetime.fromtimestamp(int(last_ts) / 1000, dt.UTC).date()
            if last_day < q.end:
                params = tuple((k, str(int(last_ts) + 1) if k == "since" else v) for k, v in req.params)
                nxt = Request(req.url, params, req.page + 1, req.where, req.extra)
        return Parsed(out, nxt)


def _rebase(api, base: str):
    if isinstance(api, dict):
        return {k: _rebase(v, base) for k, v in api.items()}
    if isinstance(api, str):
        return re.sub(r"^https?://[^/]+", base.rstrip("/"), api)
    return api


SOURCE = Exchanges()
