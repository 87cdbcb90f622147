"""Exchanges through ccxt: daily BTC OHLCV, perpetual funding and open interest, per venue and
aggregated across venues.

Venues are configurable (``[sources.exchanges] venues = ["binance", "okx", "bybit"]`` in
config.toml, or ``update(options=...)``); each is declared once in :data:`VENUES` (market ids,
documented page sizes, paging direction, HTTP policy). ccxt's own limiter is switched off: every
request goes through :meth:`btcmacro.http.Http.call`, so the venue's
:class:`~btcmacro.http.Policy`, the per-host limiter and the update deadline apply as for every
other source. ccxt exceptions map onto ours (:func:`classify_ccxt`). Markets are declared here
(BTC/USDT spot and the USDT-margined perpetual), so no ``load_markets`` round trip is needed.
``BTCMACRO_URL_<VENUE>`` (``BTCMACRO_URL_BINANCE``, ``_OKX``, ``_BYBIT``) replaces the scheme and
host of every API URL of that venue.

Endpoints (what ccxt calls): Binance ``/api/v3/klines``, ``/fapi/v1/fundingRate``,
``/futures/data/openInterestHist``; OKX ``/api/v5/market/history-candles`` (``1Dutc`` bars),
``/api/v5/public/funding-rate-history`` (paged backwards with ``after``),
``/api/v5/rubik/stat/contracts/open-interest-history`` (``1Dutc``, through ccxt's implicit API
because the unified method accepts only the UTC+8 ``1D`` bar); Bybit ``/v5/market/kline``,
``/v5/market/funding/history``, ``/v5/market/open-interest`` (``intervalTime=1d``).

Series per venue ``v``:

* ``ccxt/v/btc_close`` (USDT), ``ccxt/v/btc_volume`` (BTC): the spot daily candle;
* ``ccxt/v/funding_rate``: the day's funding, time-weighted and expressed per 8 hours (fraction):
  ``sum(rates) / sum(interval hours) * 8`` over the fundings stamped that UTC day. Each funding's
  interval is read from the payload's timestamps (gap to the previous funding), so a venue that
  funds every 4 h or 1 h is not mis-annualised; with 8-hour fundings this is the plain mean;
* ``ccxt/v/open_interest`` (USD) and ``ccxt/v/open_interest_btc`` (BTC): the snapshot at 00:00 UTC
  of the day. Bybit reports linear open interest in BTC only; its USD value is BTC times the
  previous day's Bybit spot close (the last price before the 00:00 UTC snapshot).

Binance also fills the catalogue ids ``binance/funding_rate`` and ``binance/open_interest``.
Cross-venue aggregates, computed after fetching and written in the same transaction:

* ``venues/funding_mean``: annualised percent, the mean over the configured venues that have a
  funding value that day of ``rate_8h * 3 * 365 * 100``; ``venues/funding_venues`` how many;
* ``venues/open_interest``: USD, the sum over the configured venues, only on days where every
  configured venue has a value (a partial sum would look like a collapse in open interest).

A venue missing from this run (failed, or not asked) contributes what the store already holds.
The current UTC day is incomplete (its candle is still open, fundings are still to come), so its
candle and funding are not stored; they are fetched again on the next run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from .. import catalog, config
from ..catalog import SeriesDef
from ..errors import AuthError, BadPayload, NotFound, RateLimited, SourceError, Unavailable
from ..http import Policy, Response
from .base import Context, Parsed, Query, Request, Source, frame, to_date, to_float

DEFAULT_VENUES = ("binance", "okx", "bybit")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
#: an 8-hour rate r is r x 3 x 365 x 100 percent a year (simple, not compounded)
ANNUALISE_8H = 3 * 365 * 100
#: funding intervals venues use for perpetuals (hours); a gap of anything else is a missing entry
FUNDING_INTERVALS_H = (1, 2, 4, 8)
KINDS = ("ohlcv", "funding", "oi")
FUNDING_MEAN, FUNDING_VENUES, OI_TOTAL = "venues/funding_mean", "venues/funding_venues", "venues/open_interest"


def _polite(per_minute: float = 60) -> Policy:
    return Policy(per_minute=per_minute, spacing_s=0.2, max_retries=3, backoff_base=1.0, backoff_cap=30.0)


@dataclass(frozen=True)
class Venue:
    """One exchange as data: market ids, documented page sizes, paging, policy, documented limits."""

    id: str
    spot_id: str
    swap_id: str
    contract_size: float
    limits: Mapping[str, int]          # rows per request, per kind, as documented
    backward_funding: bool = False     # funding history pages backwards from the newest
    oi_in_usd: bool = True             # the venue reports the USD value of open interest
    oi_back_days: int = 365            # first-run history of open interest
    policy: Policy = field(default_factory=_polite)
    documented_limit: str = ""


VENUES: dict[str, Venue] = {
    "binance": Venue(
        "binance", "BTCUSDT", "BTCUSDT", 1.0, {"ohlcv": 1000, "funding": 1000, "oi": 500},
        oi_back_days=28,  # openInterestHist keeps the last 30 days only
        documented_limit="spot 6000 weight/min per IP (klines weight 2); fundingRate 500 per 5 min; "
                         "openInterestHist 1000 per 5 min"),
    "okx": Venue(
        "okx", "BTC-USDT", "BTC-USDT-SWAP", 0.01, {"ohlcv": 100, "funding": 100, "oi": 100},
        backward_funding=True,
        documented_limit="history-candles 20 per 2 s; funding-rate-history 10 per 2 s; "
                         "rubik open-interest-history 10 per 2 s"),
    "bybit": Venue(
        "bybit", "BTCUSDT", "BTCUSDT", 1.0, {"ohlcv": 1000, "funding": 200, "oi": 200},
        oi_in_usd=False,
        documented_limit="600 requests per 5 s per IP"),
}
#: kept for callers of the earlier layout
MARKET_IDS = {v.id: (v.spot_id, v.swap_id) for v in VENUES.values()}
POLICIES = {v.id: v.policy for v in VENUES.values()}


def series_of(venue: str, kind: str) -> tuple[str, ...]:
    base = f"ccxt/{venue}"
    ids = {"ohlcv": (f"{base}/btc_close", f"{base}/btc_volume"),
           "funding": (f"{base}/funding_rate",),
           "oi": (f"{base}/open_interest", f"{base}/open_interest_btc")}[kind]
    if venue == "binance" and kind == "funding":
        ids += ("binance/funding_rate",)
    if venue == "binance" and kind == "oi":
        ids += ("binance/open_interest",)
    return ids


def register_venue(venue: str) -> None:
    lic = f"{venue} public market data (exchange terms)"
    for sid, name, unit in [
        (f"ccxt/{venue}/btc_close", f"BTC/USDT daily close ({venue})", "USDT"),
        (f"ccxt/{venue}/btc_volume", f"BTC/USDT daily volume ({venue})", "BTC"),
        (f"ccxt/{venue}/funding_rate", f"BTC perp funding, day's rate per 8h, time-weighted ({venue})",
         "fraction per 8h"),
        (f"ccxt/{venue}/open_interest", f"BTC perp open interest at 00:00 UTC ({venue})", "USD"),
        (f"ccxt/{venue}/open_interest_btc", f"BTC perp open interest at 00:00 UTC ({venue})", "BTC"),
    ]:
        if sid not in catalog.SERIES:
            catalog.register(SeriesDef(sid, venue, name, unit, "daily", "next_day", lic))


for _v in DEFAULT_VENUES:
    register_venue(_v)
if FUNDING_VENUES not in catalog.SERIES:
    catalog.register(SeriesDef(FUNDING_VENUES, "ccxt venues", "Venues in the BTC perp funding mean",
                               "count", "daily", "next_day", "exchange public market data"))


# -- pure helpers -----------------------------------------------------------------------------
def _clean_interval(gap_h: float) -> float | None:
    r = round(gap_h)
    return float(r) if r in FUNDING_INTERVALS_H and abs(gap_h - r) < 0.1 else None


def daily_funding(ts_ms: Sequence[int], rates: Sequence[float], fallback_h: float = 8.0) -> pd.DataFrame:
    """Per UTC day: the time-weighted funding rate per 8 hours, from individual fundings.

    Each funding's interval is the gap to the previous funding (the first one: to the next),
    when that gap is one of :data:`FUNDING_INTERVALS_H`; a longer gap (a missing entry) uses the
    most common clean gap of the series; a single funding uses ``fallback_h``. The day's value is
    ``sum(rate) / sum(interval_h) * 8``; with 8-hour fundings that is the plain mean.

    Parameters
    ----------
    ts_ms : funding times (ms since the epoch, UTC), any order, duplicates allowed (same funding).
    rates : the rate of each funding (fraction per its own interval).
    fallback_h : interval assumed when there is only one funding.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime64, the UTC day of the funding time), ``rate_8h``, ``hours``
        (sum of intervals), ``n`` (fundings that day), sorted by date.

    Raises
    ------
    ValueError
        If there are several fundings but no two consecutive ones are a known interval apart.
    """
    by_ts: dict[int, float] = {}
    for t, r in zip(ts_ms, rates):
        by_ts[int(t)] = float(r)
    ts = sorted(by_ts)
    cols = ["date", "rate_8h", "hours", "n"]
    if not ts:
        return pd.DataFrame(columns=cols)
    gaps = [(b - a) / HOUR_MS for a, b in zip(ts, ts[1:])]
    clean = [_clean_interval(g) for g in gaps]
    known = [c for c in clean if c is not None]
    if gaps and not known:
        raise ValueError(f"fundings {gaps[0]:g} h apart; expected one of {FUNDING_INTERVALS_H} h")
    typical = Counter(known).most_common(1)[0][0] if known else fallback_h
    hours = []
    for i in range(len(ts)):
        g = clean[i - 1] if i > 0 else (clean[0] if clean else None)
        hours.append(g if g is not None else typical)
    days: dict[dt.date, list[float]] = {}
    for t, h in zip(ts, hours):
        d = dt.datetime.fromtimestamp(t / 1000, dt.UTC).date()
        acc = days.setdefault(d, [0.0, 0.0, 0])
        acc[0] += by_ts[t]
        acc[1] += h
        acc[2] += 1
    rows = [(pd.Timestamp(d), s / h * 8.0, h, n) for d, (s, h, n) in sorted(days.items())]
    return pd.DataFrame(rows, columns=cols)


def annualised_percent(rate_8h: pd.Series) -> pd.Series:
    """An 8-hour funding rate as annualised percent: ``r * 3 * 365 * 100`` (not compounded)."""
    return rate_8h * ANNUALISE_8H


def cross_venue(table: pd.DataFrame, how: str) -> pd.DataFrame:
    """Aggregate a (date x venue) table: ``how="mean"`` over the venues present that day (with
    their count), ``how="sum_all"`` the sum only where every venue is present.

    Returns a frame ``date, value`` (and ``n`` for the mean), dates without a value dropped."""
    if table.empty:
        return pd.DataFrame(columns=["date", "value", "n"])
    if how == "mean":
        out = pd.DataFrame({"value": table.mean(axis=1, skipna=True), "n": table.count(axis=1)})
        out = out[out["n"] > 0]
    elif how == "sum_all":
        full = table.notna().all(axis=1)
        out = pd.DataFrame({"value": table[full].sum(axis=1), "n": table[full].count(axis=1)})
    else:  # pragma: no cover - programming error
        raise ValueError(how)
    out.index.name = "date"
    return out.reset_index()


def _market(venue: str, typ: str) -> dict:
    v = VENUES[venue]
    swap = typ == "swap"
    return dict(
        id=v.swap_id if swap else v.spot_id, symbol="BTC/USDT:USDT" if swap else "BTC/USDT",
        base="BTC", quote="USDT", settle="USDT" if swap else None, baseId="BTC", quoteId="USDT",
        settleId="USDT" if swap else None, type=typ, spot=not swap, swap=swap, future=False,
        option=False, margin=False, contract=swap, linear=True if swap else None,
        inverse=False if swap else None, contractSize=v.contract_size if swap else None,
        subType="linear" if swap else None, active=True, precision={}, limits={},
        info={"instFamily": "BTC-USDT"} if venue == "okx" else {},
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
    name = "Exchanges via ccxt (OHLCV, funding, open interest, cross-venue aggregates)"
    website = "https://github.com/ccxt/ccxt"
    credentials = ()
    how_to_get_key = "public market data needs no key"
    policy = VENUES["binance"].policy
    licence = "exchange public market data (each venue's terms)"
    #: BTCMACRO_URL_<VENUE> replaces the scheme and host of every API URL of the venue
    #: (Binance uses api., fapi. and others: a proxy there must route by path)
    urls = {"BINANCE": "https://api.binance.com", "OKX": "https://www.okx.com", "BYBIT": "https://api.bybit.com"}
    rate_limit_note = "per venue; documented: " + " | ".join(
        f"{v.id}: {v.documented_limit}" for v in VENUES.values())

    def __init__(self):
        self._clients: dict[str, object] = {}
        #: tests may inject a factory ``venue -> ccxt exchange``
        self.factory = None

    @property
    def series_ids(self) -> tuple[str, ...]:  # type: ignore[override]
        per_venue = tuple(s for v in DEFAULT_VENUES for k in KINDS for s in series_of(v, k))
        return per_venue + (FUNDING_MEAN, FUNDING_VENUES, OI_TOTAL)

    def venues(self, ctx: Context) -> tuple[str, ...]:
        v = ctx.options.get("venues") or config.user_config().get("sources", {}).get(
            "exchanges", {}).get("venues") or DEFAULT_VENUES
        return tuple(v)

    # -- plan / prepare / fetch ----------------------------------------------------------------
    def plan(self, ctx: Context) -> list[Query]:
        out = []
        for venue in self.venues(ctx):
            if venue not in VENUES:
                raise NotFound(f"venue not supported (known: {', '.join(VENUES)})",
                               where=f"exchanges [{venue}]")
            register_venue(venue)
            v = VENUES[venue]
            starts = {}
            for kind in KINDS:
                ids = series_of(venue, kind)
                back = {"ohlcv": 730, "funding": 365, "oi": v.oi_back_days}[kind]
                start = ctx.start_for(ids[:1], 3) or ctx.today - dt.timedelta(days=back)
                if kind == "oi" and venue == "binance":
                    start = max(start, ctx.today - dt.timedelta(days=28))
                starts[kind] = start
            if not v.oi_in_usd:  # USD open interest needs the previous day's close
                starts["ohlcv"] = min(starts["ohlcv"], starts["oi"] - dt.timedelta(days=1))
            for kind in KINDS:
                out.append(Query(kind, series_of(venue, kind), starts[kind], ctx.today, (venue,)))
        return out

    def prepare(self, q: Query, ctx: Context) -> Request:
        venue = q.extra[0]
        since = int(dt.datetime.combine(q.start, dt.time(), dt.UTC).timestamp() * 1000)
        limit = int(ctx.options.get("page_size") or VENUES[venue].limits[q.key])
        return Request(f"ccxt:{venue}:{q.key}",
                       (("since", str(since)), ("limit", str(limit)), ("cursor", "")),
                       1, f"exchanges [{','.join(q.series[:2])}]", (venue, q.key))

    def client(self, venue: str):
        if venue in self._clients:
            return self._clients[venue]
        if self.factory is not None:
            ex = self.factory(venue)
        else:
            import ccxt

            ex = getattr(ccxt, venue)({"enableRateLimit": False, "timeout": 30000})
        ex.enableRateLimit = False
        base = config.base_url(venue.upper(), "")
        if base:
            ex.urls["api"] = _rebase(ex.urls["api"], base)
        ex.set_markets([_market(venue, "spot"), _market(venue, "swap")])
        self._clients[venue] = ex
        return ex

    def fetch(self, req: Request, ctx: Context) -> Response:
        venue, kind = req.extra
        ex = self.client(venue)
        since, limit = int(req.param("since")), int(req.param("limit"))
        cursor = req.param("cursor") or ""
        where = req.where + (f" page {req.page}" if req.page > 1 else "")
        swap = "BTC/USDT:USDT"

        def once() -> Response:
            if kind == "ohlcv":
                params = {"until": since + limit * DAY_MS - 1}
                if venue == "okx":
                    params["type"] = "HistoryCandles"  # all history, same format as /market/candles
                data = ex.fetch_ohlcv("BTC/USDT", "1d", since=since, limit=limit, params=params)
            elif kind == "funding":
                if VENUES[venue].backward_funding:
                    data = ex.fetch_funding_rate_history(swap, None, limit,
                                                         {"after": cursor} if cursor else {})
                else:
                    data = ex.fetch_funding_rate_history(swap, since=since, limit=limit)
                data = [{"timestamp": d.get("timestamp"), "fundingRate": d.get("fundingRate")} for d in data]
            else:
                if venue == "okx":  # UTC-aligned daily bars (the unified method only takes UTC+8 "1D")
                    market = ex.market(swap)
                    request, _ = ex.handle_trading_statistics_window(
                        {"instId": market["id"], "period": "1Dutc"}, "1Dutc", since, limit, {})
                    resp = ex.publicGetRubikStatContractsOpenInterestHistory(request)
                    data = ex.parse_open_interests_history(ex.safe_list(resp, "data", []), market,
                                                           since, limit)
                    btc_key = "baseVolume"  # oiCcy; openInterestAmount is in contracts
                else:
                    data = ex.fetch_open_interest_history(swap, "1d", since=since, limit=limit)
                    btc_key = "openInterestAmount"
                data = [{"timestamp": d.get("timestamp"), "openInterestValue": d.get("openInterestValue"),
                         "openInterestBtc": d.get(btc_key)} for d in data]
            return Response(200, {}, json.dumps(data).encode(), where)

        resp = ctx.http.call(once, host=venue, policy=VENUES[venue].policy, where=where,
                             classify=lambda e: classify_ccxt(e, where))
        resp.request, resp.page = req, req.page
        return resp

    # -- parse (pure) ----------------------------------------------------------------------------
    def parse(self, raw, q: Query) -> Parsed:
        page = raw.page
        doc = self.json_body(raw, q, page)
        bad = lambda m, p: self.bad(q, m, p, page)  # noqa: E731
        if not isinstance(doc, list):
            raise self.bad(q, "expected a list from ccxt", "top level", page)
        venue = q.extra[0]
        stamps: list[int] = []
        frames: dict[str, list] = {}
        if q.key == "ohlcv":
            close, vol = f"ccxt/{venue}/btc_close", f"ccxt/{venue}/btc_volume"
            frames = {close: [], vol: []}
            for i, c in enumerate(doc):
                if not isinstance(c, list) or len(c) < 6:
                    raise bad("expected [timestamp, open, high, low, close, volume]", f"[{i}]")
                d = to_date(bad, c[0], f"[{i}][0]")
                stamps.append(int(c[0]))
                frames[close].append((d, to_float(bad, c[4], f"[{i}][4]")))
                frames[vol].append((d, to_float(bad, c[5], f"[{i}][5]")))
        elif q.key == "funding":
            frames = {"_raw": []}
            for i, r in enumerate(doc):
                if not isinstance(r, dict) or r.get("timestamp") is None or r.get("fundingRate") is None:
                    raise bad("expected fields 'timestamp' and 'fundingRate'", f"[{i}]")
                to_date(bad, r["timestamp"], f"[{i}].timestamp")
                stamps.append(int(r["timestamp"]))
                frames["_raw"].append((int(r["timestamp"]), to_float(bad, r["fundingRate"], f"[{i}].fundingRate")))
        else:
            usd, btc = f"ccxt/{venue}/open_interest", f"ccxt/{venue}/open_interest_btc"
            frames = {usd: [], btc: []}
            need = "openInterestValue" if VENUES[venue].oi_in_usd else "openInterestBtc"
            for i, r in enumerate(doc):
                if not isinstance(r, dict) or r.get("timestamp") is None or r.get(need) is None:
                    raise bad(f"expected fields 'timestamp' and '{need}'", f"[{i}]")
                d = to_date(bad, r["timestamp"], f"[{i}].timestamp")
                stamps.append(int(r["timestamp"]))
                if r.get("openInterestValue") is not None:
                    frames[usd].append((d, to_float(bad, r["openInterestValue"], f"[{i}].openInterestValue")))
                if r.get("openInterestBtc") is not None:
                    frames[btc].append((d, to_float(bad, r["openInterestBtc"], f"[{i}].openInterestBtc")))
        out = {s: (pd.DataFrame(rows, columns=["ts", "value"]) if s == "_raw" else frame(rows))
               for s, rows in frames.items()}
        return Parsed(out, self._next(raw.request, q, stamps, len(doc)))

    def _next(self, req: Request | None, q: Query, stamps: list[int], n: int) -> Request | None:
        """The next page: only after a full page that has not yet reached ``q.end`` (forward)
        or ``q.start`` (backward)."""
        if req is None or not stamps or n < int(req.param("limit")):
            return None
        venue, kind = req.extra
        since = int(req.param("since"))
        if kind == "funding" and VENUES[venue].backward_funding:
            oldest = min(stamps)
            if oldest <= since:
                return None
            params = tuple((k, str(oldest) if k == "cursor" else v) for k, v in req.params)
        else:
            last = max(stamps)
            if dt.datetime.fromtimestamp(last / 1000, dt.UTC).date() >= q.end or last < since:
                return None
            params = tuple((k, str(last + 1) if k == "since" else v) for k, v in req.params)
        return Request(req.url, params, req.page + 1, req.where, req.extra)

    # -- combine (pure): pages -> daily series ----------------------------------------------------
    def combine(self, q: Query, pages: list[Parsed]) -> dict[str, pd.DataFrame]:
        merged = super().combine(q, pages)
        venue = q.extra[0]
        start, end = pd.Timestamp(q.start), pd.Timestamp(q.end)
        if q.key == "funding":
            raw = merged.get("_raw", pd.DataFrame(columns=["ts", "value"]))
            since = int(start.tz_localize("UTC").timestamp() * 1000)
            raw = raw[raw["ts"] >= since]
            try:
                days = daily_funding(raw["ts"].tolist(), raw["value"].tolist())
            except ValueError as e:
                raise self.bad(q, str(e), "funding timestamps") from None
            days = days[days["date"] < end]  # today's fundings are not all paid yet
            f = pd.DataFrame({"date": pd.to_datetime(days["date"]), "value": days["rate_8h"].astype(float)})
            return {sid: f for sid in q.series}
        out = {}
        for sid, f in merged.items():
            if len(f):
                f = f[(f["date"] >= start) & ((f["date"] < end) if q.key == "ohlcv" else (f["date"] <= end))]
            out[sid] = f.drop_duplicates("date", keep="last").reset_index(drop=True)
        if q.key == "oi" and venue == "binance":
            out["binance/open_interest"] = out[f"ccxt/{venue}/open_interest"]
        return out

    # -- derive: USD open interest where a venue reports BTC, and the cross-venue aggregates -------
    def derive(self, frames: dict[str, pd.DataFrame], ctx: Context) -> dict[str, pd.DataFrame]:
        venues = self.venues(ctx)
        out: dict[str, pd.DataFrame] = {}
        for venue in venues:
            if VENUES[venue].oi_in_usd:
                continue
            btc = frames.get(f"ccxt/{venue}/open_interest_btc")
            if btc is None or btc.empty:
                continue
            dates = pd.DatetimeIndex(btc["date"])
            prev = dates - pd.Timedelta(days=1)
            close = _values(frames, ctx, f"ccxt/{venue}/btc_close", prev.min(), prev.max())
            price = close.reindex(prev).to_numpy()
            usd = pd.DataFrame({"date": dates, "value": btc["value"].to_numpy() * price}).dropna()
            out[f"ccxt/{venue}/open_interest"] = usd.reset_index(drop=True)
        have = {**frames, **out}

        def table(suffix: str) -> pd.DataFrame:
            days = sorted({d for v in venues for d in have.get(f"ccxt/{v}/{suffix}", _EMPTY)["date"]})
            if not days:
                return pd.DataFrame()
            idx = pd.DatetimeIndex(days)
            cols = {v: _values(have, ctx, f"ccxt/{v}/{suffix}", idx.min(), idx.max()).reindex(idx)
                    for v in venues}
            return pd.DataFrame(cols, index=idx)

        fund = cross_venue(table("funding_rate"), "mean")
        if len(fund):
            out[FUNDING_MEAN] = pd.DataFrame({"date": fund["date"], "value": annualised_percent(fund["value"])})
            out[FUNDING_VENUES] = pd.DataFrame({"date": fund["date"], "value": fund["n"].astype(float)})
        oi = cross_venue(table("open_interest"), "sum_all")
        if len(oi):
            out[OI_TOTAL] = oi[["date", "value"]].reset_index(drop=True)
        return out


_EMPTY = pd.DataFrame({"date": pd.to_datetime([]), "value": []})


def _values(frames: dict[str, pd.DataFrame], ctx: Context, sid: str, start, end) -> pd.Series:
    """``sid`` between two dates: this run's values, and the store's where this run has none."""
    stored = pd.Series(dtype=float)
    if ctx.store is not None:
        stored = ctx.store.series(sid, start=start, end=end).dropna()
    f = frames.get(sid)
    new = pd.Series(f["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(f["date"])) if f is not None \
        else pd.Series(dtype=float)
    both = pd.concat([stored[~stored.index.isin(new.index)], new]).sort_index()
    both.index = pd.DatetimeIndex(both.index)
    return both[~both.index.duplicated(keep="last")]


def _rebase(api, base: str):
    if isinstance(api, dict):
        return {k: _rebase(v, base) for k, v in api.items()}
    if isinstance(api, str):
        return re.sub(r"^https?://[^/]+", base.rstrip("/"), api)
    return api


SOURCE = Exchanges()
