"""The local dashboard: a read-only FastAPI app over the store, the registry and the briefing.

Pages (server-rendered with Jinja2, charts drawn client-side by the Plotly JS bundled in the
``plotly`` Python package and served from ``/static/vendor/plotly.min.js``; nothing is loaded
from another origin, so the dashboard works with no network):

* ``/``          the briefing for an as-of date (``?as_of=YYYY-MM-DD&lang=en|zh-TW``)
* ``/explore``   the metric explorer (``?metric=ID&metric=ID2&start=&end=&as_of=&scale=log&twin=1``)
* ``/status``    data version, last update per source, whether an update is running, the URPD
  of the last indexed day when an own-node chain index exists
* ``/api/docs``  the JSON API, described from the OpenAPI schema at ``/api/openapi.json``

Every piece of page state lives in the URL query, so every view is a permalink.

Security, in order of the request's path through :class:`Guard`:

* the ``Host`` header must be ``localhost``, ``127.0.0.1`` or ``[::1]`` (plus any host allowed
  explicitly) with the server's own port, else 400 -- a DNS-rebinding page cannot read the API;
* only ``GET`` and ``HEAD`` are served (anything else 405); no route writes the store;
* metric ids must be registry metrics or catalogue series, dates must be ``YYYY-MM-DD`` inside
  the data, unknown query parameters are refused (422), so no request text reaches SQL or a path;
* errors are one clean JSON object (``/api/...``) or a small page, never a stack trace;
* while ``btcmacro update`` holds the store's write lock, the last result computed for the same
  request is served with an "update in progress" notice, else 503 "update in progress".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import api, catalog
from ..errors import ChainError, StoreError, StoreLocked, UsageError
from ..registry import REGISTRY
from . import format as fmt
from .data import UpdateInProgress, WebData, write_lock_holder
from .i18n import LANGS, labels

log = logging.getLogger("btcmacro.web")

HERE = Path(__file__).parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_CSV_METRICS = 12  # the twelve HODL-wave bands fit in one export
#: bounds of ``buckets`` in /api/chain/urpd, and its default (as ``btcmacro chain urpd``)
MAX_URPD_BUCKETS, DEFAULT_URPD_BUCKETS = 1000, 100
#: metrics drawn with the BTC price on the briefing chart, when the registry has them
PRICE_OVERLAYS = ("btc_ma_50d", "btc_ma_200d", "btc_ma_200w", "realized_price", "sth_cost_basis")
PRICE_WINDOW_DAYS = 730

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped inside the installed ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------


class WebError(Exception):
    """A clean 4xx/5xx answer: ``code`` is machine-readable, ``message`` is for people."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _short(text: str, n: int = 40) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= n else text[: n - 1] + "…"


# ----------------------------------------------------------------------------------------------
# the guard: Host allowlist, GET only, security headers
# ----------------------------------------------------------------------------------------------


def _split_host(host: str) -> tuple[str, int | None] | None:
    host = host.strip().lower()
    m = re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9.\-]+)(?::(\d{1,5}))?", host)
    if not m:
        return None
    return m.group(1), (int(m.group(2)) if m.group(2) else None)


class Guard:
    """ASGI middleware: DNS-rebinding guard (Host allowlist), GET/HEAD only, security headers.

    Parameters
    ----------
    app : ASGI app
    allowed_hosts : iterable of str
        Host names accepted in the ``Host`` header (without port).
    port : int or None
        The port the server listens on; a ``Host`` naming another port is refused. ``None``
        accepts any port (unit tests with an in-process client).
    """

    def __init__(self, app, allowed_hosts: Iterable[str], port: int | None):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}
        self.port = port

    def host_ok(self, raw: str) -> bool:
        parts = _split_host(raw)
        if parts is None:
            return False
        name, port = parts
        if name not in self.allowed:
            return False
        if self.port is None:
            return True
        return port == self.port or (port is None and self.port == 80)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(hosts) != 1 or not self.host_ok(hosts[0]):
            await _plain_error(send, 400, "bad_host",
                               "Host header not allowed: the dashboard answers only to "
                               "localhost / 127.0.0.1 on its own port (DNS-rebinding guard)")
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _plain_error(send, 405, "method_not_allowed",
                               "the dashboard is read-only: only GET and HEAD are accepted",
                               extra=[(b"allow", b"GET, HEAD")])
            return
        head = scope["method"] == "HEAD"
        if head:  # answered as the GET would be, same status and headers, without the body
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hdrs}
                for k, v in _SECURITY_HEADERS:
                    if k not in names:
                        hdrs.append((k, v))
                message = {**message, "headers": hdrs}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def _plain_error(send, status: int, code: str, message: str, extra=()) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra, *_SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ----------------------------------------------------------------------------------------------
# request validation
# ----------------------------------------------------------------------------------------------


def check_params(request: Request, allowed: Iterable[str], multi: Iterable[str] = ()) -> None:
    """Refuse unknown or repeated query parameters (422) -- nothing unexpected gets through."""
    allowed, multi = set(allowed), set(multi)
    seen: dict[str, int] = {}
    for k, _ in request.query_params.multi_items():
        if k not in allowed:
            raise WebError(422, "unknown_parameter", f"unknown query parameter {_short(k)!r}")
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1 and k not in multi:
            raise WebError(422, "repeated_parameter", f"query parameter {k!r} given more than once")


def check_metric(mid: str | None) -> str:
    """A registry metric id or a catalogue series id, else 404 "unknown metric"."""
    if not mid or len(mid) > 80 or (mid not in REGISTRY and mid not in catalog.SERIES):
        raise WebError(404, "unknown_metric",
                       "unknown metric: not a registry metric or catalogue series id "
                       "(see /api/metrics)")
    return mid


def check_date(value: str | None, name: str) -> str | None:
    """``YYYY-MM-DD`` (a real calendar date) or ``None``, else 422."""
    if value is None or value == "":
        return None
    from ..inputs import parse_date

    try:
        parse_date(value, name)  # the one date parser of the CLI, the API and the dashboard
    except UsageError:
        if not DATE_RE.match(value):
            raise WebError(422, "bad_date", f"{name}: not a date (expected YYYY-MM-DD)") from None
        raise WebError(422, "bad_date", f"{name}: not a calendar date (expected YYYY-MM-DD)") from None
    return value


def check_lang(value: str | None) -> str:
    if value is None or value == "":
        return "en"
    if value not in LANGS:
        raise WebError(422, "bad_language", f"unknown language (expected one of: {', '.join(LANGS)})")
    return value


def check_buckets(value: str | None) -> int:
    """The URPD bucket count: a whole number from 1 to :data:`MAX_URPD_BUCKETS`, else 422."""
    if value is None or value == "":
        return DEFAULT_URPD_BUCKETS
    if not re.fullmatch(r"\d{1,5}", value) or not 1 <= int(value) <= MAX_URPD_BUCKETS:
        raise WebError(422, "bad_buckets", f"buckets: expected a whole number from 1 to {MAX_URPD_BUCKETS}")
    return int(value)


def check_choice(value: str | None, name: str, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if value not in choices:
        raise WebError(422, f"bad_{name}", f"{name}: expected one of {', '.join(choices)}")
    return value


# ----------------------------------------------------------------------------------------------
# data helpers (pure functions over the store; every one is cached by WebData)
# ----------------------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else v
    return v


def describe(mid: str) -> dict:
    """Name (both languages), unit, definition, source and citation of a metric or raw series."""
    if mid in REGISTRY:
        m = REGISTRY[mid]
        return {"id": mid, "type": "metric", "names": {"en": m.names["en"], "zh-TW": m.name("zh-TW")},
                "unit": m.unit, "category": m.category, "definition": m.definition,
                "citation": m.citation, "version": m.version, "frequency": m.frequency,
                "kind": m.kind, "inputs": [api.registry_label(i) for i in m.inputs],
                "variants": [{"inputs": [api.registry_label(i) for i in v.inputs], "note": v.note}
                             for v in m.variants]}
    d = catalog.SERIES[mid]
    return {"id": mid, "type": "series", "names": {"en": d.name, "zh-TW": d.name}, "unit": d.unit,
            "category": "input", "definition": d.name, "citation": d.label, "version": None,
            "frequency": d.frequency, "kind": "number", "inputs": [d.label], "variants": [],
            "licence": d.licence}


def _series_payload(st, mid: str, as_of: str | None) -> dict:
    s = api.series(mid, as_of=as_of, store=st)
    attrs = {k: _plain(v) if not isinstance(v, (dict, list)) else v for k, v in s.attrs.items()
             if k != "detail"}
    return {"id": mid, **attrs, "dates": [d.date().isoformat() for d in s.index],
            "values": [_plain(v) for v in s.to_numpy()]}


def _window(p: dict, start: str | None, end: str | None) -> dict:
    dates, values = p["dates"], p["values"]
    lo = 0 if start is None else _bisect(dates, start)
    hi = len(dates) if end is None else _bisect(dates, end, right=True)
    return {**p, "dates": dates[lo:hi], "values": values[lo:hi]}


def _bisect(dates: list[str], key: str, right: bool = False) -> int:
    import bisect

    return (bisect.bisect_right if right else bisect.bisect_left)(dates, key)


def _series_to_xy(s: pd.Series) -> dict:
    return {"x": [d.date().isoformat() for d in s.index], "y": [_plain(v) for v in s.to_numpy()]}


def _briefing_payload(st, as_of: str | None) -> dict:
    b = api.briefing(as_of, store=st, with_charts=True)
    d = b.as_of
    charts = {}
    for mid, s in b.charts.items():
        if len(s) and pd.api.types.is_numeric_dtype(s.dtype):
            charts[mid] = {"unit": REGISTRY[mid].unit, "names": describe(mid)["names"], **_series_to_xy(s)}
    # the price panel: the registry's btc_price if present, else the raw close (same point in time)
    start = d - pd.Timedelta(days=PRICE_WINDOW_DAYS)
    price_id = "btc_price" if "btc_price" in REGISTRY else api.PRICE
    price = charts.get(price_id) or {
        "unit": "USD", "names": describe(price_id)["names"],
        **_series_to_xy(api.series(price_id, start=start, as_of=d, store=st))}
    overlays = {}
    for mid in PRICE_OVERLAYS:
        if mid in charts:
            overlays[mid] = charts[mid]
        elif mid in REGISTRY:
            s = api.series(mid, start=start, as_of=d, store=st)
            if len(s):
                overlays[mid] = {"unit": REGISTRY[mid].unit, "names": describe(mid)["names"],
                                 **_series_to_xy(s)}
    return {"json": b.to_json(), "charts": charts, "sections": _sections(b), "hodl": _hodl_chart(b),
            "price": {"id": price_id, "start": start.date().isoformat(), **price},
            "overlays": overlays, "range": [x.date().isoformat() for x in api.data_range(st)]}


def _hodl_chart(b) -> dict | None:
    """The briefing's HODL-wave chart as the report draws it, in both languages, or ``None``.

    The report's own chart plan (:func:`btcmacro.report.charts.plan` for ``"hodl_waves"``, fed
    by ``briefing.hodl_history`` as published by the as-of date) gives the bands, their
    translated names, the axis label, the title and the note; the dashboard adds nothing but
    the JSON shape, and draws it with the report's band colours.

    Parameters
    ----------
    b : Briefing
        The briefing of the requested as-of date.

    Returns
    -------
    dict or None
        ``{"id", "date", "x", "bands": [{"key", "color", "y", "names": {lang: name}}],
        "title", "note", "axis_label"}`` (the last three per language); ``None`` when the
        briefing has no own-node HODL waves, the report has no chart for them, or the report
        layer is missing.
    """
    if not getattr(b, "hodl_waves", None):
        return None
    try:
        from ..report import builder, charts
    except ImportError:
        return None
    plans = {}
    for lang in LANGS:
        try:
            p = charts.plan(builder.Ctx(b, lang), "hodl_waves")
        except Exception:  # noqa: BLE001 -- a report bug must not take the dashboard down
            log.exception("the report's HODL-wave chart failed for %s (%s)", b.as_of.date(), lang)
            return None
        if p["fallback"] or not p["traces"]:
            return None
        plans[lang] = p
    first = plans[LANGS[0]]
    x = [d.date().isoformat() for d in first["traces"][0].x]
    bands = []
    for i, t in enumerate(first["traces"]):
        bands.append({"key": t.trace.metric.removeprefix("hodl_"),
                      "color": charts.HODL_COLORS[i % len(charts.HODL_COLORS)],
                      "y": [_plain(v) for v in t.y],
                      "names": {lang: plans[lang]["traces"][i].name for lang in LANGS}})
    return {"id": "hodl_waves", "date": b.hodl_waves.get("date"), "x": x, "bands": bands,
            "title": {lang: plans[lang]["title"] for lang in LANGS},
            "note": {lang: plans[lang]["note"] for lang in LANGS},
            "axis_label": {lang: plans[lang]["traces"][0].axis_label for lang in LANGS}}


# ----------------------------------------------------------------------------------------------
# own-node chain views (one day, from the chain index)
# ----------------------------------------------------------------------------------------------


def _chain_source(tip: str | None, height: int | None) -> str:
    return "own node" + (f", tip {tip}" if tip else "") + (f" height {height}" if height is not None else "")


def _chain_head(df: pd.DataFrame) -> dict:
    """Date, supply and provenance of a one-day chain result: the figures depend only on the last
    block stamped on or before the day (``day_tip_hash``/``day_height``, cited in ``source``, as
    the briefing does); ``tip_hash``/``height`` are the index's tip when they were computed."""
    a = df.attrs
    height = None if a.get("height") is None else int(a["height"])
    day_h = None if a.get("day_height") is None else int(a["day_height"])
    src = (_chain_source(a.get("day_tip_hash"), day_h) + f" (last block of {a['date']}; index tip height {height})"
           if day_h is not None else _chain_source(a.get("tip_hash"), height))
    return {"date": a["date"], "tip_hash": a.get("tip_hash"), "height": height,
            "day_tip_hash": a.get("day_tip_hash"), "day_height": day_h,
            "supply_btc": _plain(a.get("supply_btc")), "source": src}


def chain_hodl_payload(index: Path, day: str | None) -> dict:
    """The twelve HODL-wave bands of one day, from the own-node chain index.

    Parameters
    ----------
    index : Path
        The chain index (``btcmacro chain sync``).
    day : str or None
        ``YYYY-MM-DD``; ``None`` for the last indexed day.

    Returns
    -------
    dict
        ``date``, ``tip_hash`` and ``height`` (the index tip the figures were computed at),
        ``supply_btc``, ``source``, ``provenance`` and ``bands``: one ``{key, band,
        age_from_days, age_to_days, btc, pct}`` per band, as :func:`btcmacro.api.hodl_waves`
        returns them.

    Raises
    ------
    ChainError
        No chain index, or an empty one.
    UsageError
        ``day`` lies outside the indexed days.
    """
    df = api.hodl_waves(day, index=index)
    head = _chain_head(df)
    bands = [{"key": r["key"], "band": r["band"], "age_from_days": _plain(r["age_from_days"]),
              "age_to_days": _plain(r["age_to_days"]), "btc": _plain(r["btc"]), "pct": _plain(r["pct"])}
             for r in df.to_dict("records")]
    return {**head, "provenance": (
        f"{head['source']}: coins unspent at the end of {head['date']}, by the time since they last "
        "moved (btcmacro.api.hodl_waves over the chain index; only blocks stamped up to that day count)"),
        "bands": bands}


def chain_urpd_payload(st, index: Path, day: str | None, buckets: int) -> dict:
    """The URPD of one day: supply by the BTC close of the day its coins last moved.

    Parameters
    ----------
    st : Store
        The main store (``cmc/btc_close`` prices, as the publish step uses them).
    index : Path
        The chain index.
    day : str or None
        ``YYYY-MM-DD``; ``None`` for the last indexed day.
    buckets : int
        Number of equal-width price buckets from 0 USD to the highest creation price held.

    Returns
    -------
    dict
        ``date``, ``tip_hash``, ``height``, ``supply_btc`` (the buckets' ``btc`` sum to it),
        ``source``, ``prices``, ``provenance``, ``bucket_count`` and ``buckets``: one
        ``{price_low, price_high, btc}`` per bucket (USD, ``[low, high)``, the last one closed).

    Raises
    ------
    ChainError
        No chain index, or an empty one.
    UsageError
        ``day`` lies outside the indexed days.
    """
    df = api.urpd(day, buckets=buckets, store=st, index=index)
    head = _chain_head(df)
    rows = [{"price_low": _plain(r["price_low"]), "price_high": _plain(r["price_high"]), "btc": _plain(r["btc"])}
            for r in df.to_dict("records")]
    return {**head, "prices": "cmc/btc_close", "provenance": (
        f"{head['source']}: coins unspent at the end of {head['date']}, each at the cmc/btc_close of "
        "the day it was created (forward-filled; 0 USD before the first quote), in equal-width "
        "buckets (btcmacro.api.urpd)"), "bucket_count": len(rows), "buckets": rows}


def _sections(b) -> dict[str, list | None]:
    """The report layer's translated sections per language (``None`` where it is unavailable).

    :func:`btcmacro.report.render_sections` turns the briefing into translated, formatted
    sentences (regimes with evidence, levels, the FOMC scenario map, the data appendix); the
    dashboard shows them as they are, so the page and the report say the same thing. When the
    report layer is missing or fails, the page falls back to its own view of ``to_json()``.
    """
    try:
        from .. import report
    except ImportError:
        return {lang: None for lang in LANGS}
    out: dict[str, list | None] = {}
    for lang in LANGS:
        try:
            out[lang] = report.render_sections(b, lang)
        except Exception:  # noqa: BLE001 -- a report bug must not take the dashboard down
            log.exception("report.render_sections failed for %s (%s); using the plain view",
                          b.as_of.date(), lang)
            out[lang] = None
    return out


def _status_payload(st) -> dict:
    from .. import data

    rows = st.con.execute(
        """SELECT s.source, count(*) AS n, max(s.updated_at) AS updated_at, max(o.last) AS last_obs
           FROM series s LEFT JOIN (SELECT series_id, max(date) AS last FROM obs GROUP BY 1) o
           USING (series_id) GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    sources = [{"source": r[0], "series": int(r[1]),
                "updated_at": r[2].replace(microsecond=0).isoformat() if r[2] else None,
                "last_observation": r[3].isoformat() if r[3] else None} for r in rows]
    snap = st.get_meta("snapshot_version")
    upd = st.get_meta("last_update")
    first, last = api.data_range(st)
    return {"data_version": f"{snap}+update-{upd}" if upd else snap,
            "snapshot_version_store": snap, "snapshot_version_package": data.data_version(),
            "last_update": upd, "data_range": [first.date().isoformat(), last.date().isoformat()],
            "sources": sources}


# ----------------------------------------------------------------------------------------------
# the app
# ----------------------------------------------------------------------------------------------


def create_app(store_path: str | Path | None = None, *, index_path: str | Path | None = None,
               port: int | None = None, allowed_hosts: Iterable[str] = ()) -> FastAPI:
    """Build the dashboard app.

    Parameters
    ----------
    store_path : path, optional
        The store file (default: ``$BTCMACRO_HOME/store.duckdb``). It must exist; ``btcmacro
        serve`` creates it from the embedded snapshot before starting. The app only reads it.
    index_path : path, optional
        The own-node chain index read by ``/api/chain/*`` (default:
        ``$BTCMACRO_HOME/chain.duckdb``, as ``btcmacro chain``). It may be missing: those
        endpoints then answer 404 ``no_chain_index``. The app only reads it.
    port : int, optional
        The port the server listens on, checked against the ``Host`` header.
    allowed_hosts : iterable of str
        Extra host names accepted in the ``Host`` header (for an explicit non-local bind).

    Returns
    -------
    FastAPI
        The ASGI app, wrapped by the :class:`Guard` middleware.
    """
    wd = WebData(api.store_path(store_path))
    if index_path is None:
        from ..chain.api import default_store_path as default_index_path

        index_path = default_index_path()
    index = Path(index_path).expanduser()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    env = Environment(loader=PackageLoader("btcmacro.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt.value

    app = FastAPI(
        title="btcmacro dashboard API", version=_version(),
        description="Read-only JSON API of the local btcmacro dashboard: the metric registry, "
                    "point-in-time series and the briefing. Only GET; bound to 127.0.0.1.",
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.web = wd
    app.add_middleware(Guard, allowed_hosts=[*LOCAL_HOSTS, *allowed_hosts], port=port)

    # -- error handling --------------------------------------------------------------------
    def error_response(request: Request, status: int, code: str, message: str,
                       headers: dict | None = None) -> Response:
        if request.url.path.startswith("/api/") or request.url.path.startswith("/static/"):
            return JSONResponse({"error": code, "message": message}, status_code=status,
                                headers=headers)
        lang = request.query_params.get("lang")
        lang = lang if lang in LANGS else "en"
        L = labels(lang)
        title = L["update_in_progress"] if code == "update_in_progress" else L["error_title"]
        body = L["in_progress_body"] if code == "update_in_progress" else message
        html = env.get_template("error.html").render(
            L=L, lang=lang, title=title, status=status, code=code, message=body,
            switch={lg: "?lang=" + lg for lg in LANGS}, nav=_nav(lang), page="error")
        return HTMLResponse(html, status_code=status, headers=headers)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, e: WebError):
        return error_response(request, e.status, e.code, e.message, e.headers)

    @app.exception_handler(UsageError)
    async def _usage_error(request: Request, e: UsageError):
        return error_response(request, 422, "bad_request", e.message)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, e: StoreError):
        if isinstance(e, (UpdateInProgress, StoreLocked)):
            return error_response(request, 503, "update_in_progress",
                                  "an update is writing the store; try again in a few seconds",
                                  {"Retry-After": "5"})
        return error_response(request, 503, "store_unavailable", str(e))

    @app.exception_handler(ChainError)
    async def _chain_error(request: Request, e: ChainError):
        return error_response(request, 409, "chain_index_unavailable", e.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError):
        errs = e.errors()
        where = ".".join(str(x) for x in errs[0].get("loc", ())) if errs else "request"
        return error_response(request, 422, "invalid_request", f"invalid parameter {_short(where)}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        msg = {404: "no such page or endpoint", 405: "method not allowed"}.get(e.status_code, str(e.detail))
        return error_response(request, e.status_code, code, msg, getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, e: Exception):
        log.exception("internal error on %s", request.url.path)
        return error_response(request, 500, "internal_error",
                              "internal error (details are in the server log)")

    # -- cached computations ---------------------------------------------------------------
    def series_data(mid: str, as_of: str | None):
        return wd.get(("series", mid, as_of), lambda st: _series_payload(st, mid, as_of))

    def briefing_data(as_of: str | None):
        return wd.get(("briefing", as_of), lambda st: _briefing_payload(st, as_of))

    def data_range():
        return wd.get(("range",), lambda st: [x.date().isoformat() for x in api.data_range(st)])

    def stale_headers(res) -> dict:
        return {"X-Btcmacro-Data": "stale; update-in-progress"} if res.stale else {}

    def page(request: Request, template: str, lang: str, stale_at: float | None = None, **ctx) -> HTMLResponse:
        L = labels(lang)
        notice = None
        if stale_at is not None:
            when = dt.datetime.fromtimestamp(stale_at, dt.UTC).replace(microsecond=0).isoformat()
            notice = L["stale_notice"].format(when=when)
        switch = {}
        for lg in LANGS:
            q = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lg)]
            switch[lg] = request.url.path + "?" + _urlencode(q)
        html = env.get_template(template).render(L=L, lang=lang, notice=notice, switch=switch,
                                                 nav=_nav(lang), **ctx)
        return HTMLResponse(html, headers={"X-Btcmacro-Data": "stale; update-in-progress"} if notice else None)

    # -- static assets (all local) ---------------------------------------------------------
    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(plotly_js_path(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # -- pages -----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def briefing_page(request: Request, as_of: str | None = None, lang: str | None = None):
        check_params(request, ("as_of", "lang"))
        lang, as_of = check_lang(lang), check_date(as_of, "as_of")
        res = briefing_data(as_of)
        b = res.value
        j = b["json"]
        by_cat: dict[str, list] = {}
        for mid, mv in j["metrics"].items():
            m = REGISTRY.get(mid) if mid in REGISTRY else None
            cat = m.category if m else "other"
            by_cat.setdefault(cat, []).append({"id": mid, "name": m.name(lang) if m else mid, **mv})
        page_data = {"page": "briefing", "as_of": j["as_of"], "lang": lang,
                     "levels": j["levels"], "labels": _js_labels(lang),
                     "overlay_ids": list(b["overlays"])}
        secs = (b.get("sections") or {}).get(lang)
        return page(request, "briefing.html", lang, res.computed_at if res.stale else None,
                    b=j, by_cat=by_cat, sections=secs, registry=REGISTRY, chart_ids=list(b["charts"]), charts=b["charts"],
                    range=b["range"], page_data=page_data, report=_report_available(),
                    names={mid: c["names"][lang] for mid, c in b["charts"].items()},
                    price=b["price"], page="briefing", hodl=b.get("hodl"),
                    hodl_csv=_hodl_csv_url(b.get("hodl"), j["as_of"]))

    @app.get("/explore", response_class=HTMLResponse, include_in_schema=False)
    def explore_page(request: Request, metric: list[str] = Query(default=[]), start: str | None = None,
                     end: str | None = None, as_of: str | None = None, scale: str | None = None,
                     twin: str | None = None, lang: str | None = None):
        check_params(request, ("metric", "start", "end", "as_of", "scale", "twin", "lang"), multi=("metric",))
        lang = check_lang(lang)
        metric = [m for m in metric if m]
        if len(metric) > 2:
            raise WebError(422, "too_many_metrics", "the explorer overlays at most two metrics")
        metric = [check_metric(m) for m in metric] or ["net_liquidity" if "net_liquidity" in REGISTRY else api.PRICE]
        start, end = check_date(start, "start"), check_date(end, "end")
        if start and end and start > end:
            raise WebError(422, "bad_date", "start is after end")
        as_of = check_date(as_of, "as_of")
        scale = check_choice(scale, "scale", ("linear", "log"), "linear")
        twin_on = check_choice(twin, "twin", ("0", "1"), "0") == "1"
        rng = data_range()
        if as_of is not None and not (rng.value[0] <= as_of <= rng.value[1]):
            raise WebError(422, "bad_date", f"as_of must lie within the data ({rng.value[0]} to {rng.value[1]})")
        options = _metric_options(lang)
        info = [describe(m) for m in metric]
        qs = [("metric", m) for m in metric] + [(k, v) for k, v in
              (("start", start), ("end", end), ("as_of", as_of)) if v]
        page_data = {"page": "explore", "metrics": metric, "start": start, "end": end, "as_of": as_of,
                     "scale": scale, "twin": twin_on, "lang": lang, "labels": _js_labels(lang),
                     "names": {m["id"]: m["names"][lang] for m in info},
                     "units": {m["id"]: m["unit"] for m in info}}
        return page(request, "explore.html", lang, rng.computed_at if rng.stale else None,
                    options=options, info=info, sel=metric, start=start, end=end, as_of=as_of,
                    scale=scale, twin=twin_on, range=rng.value, page_data=page_data,
                    csv_url="/api/series.csv?" + _urlencode(qs), page="explore",
                    json_urls={m: "/api/series?" + _urlencode([("metric", m)] + qs[len(metric):])
                               for m in metric})

    @app.get("/status", response_class=HTMLResponse, include_in_schema=False)
    def status_page(request: Request, lang: str | None = None):
        check_params(request, ("lang",))
        lang = check_lang(lang)
        st = status()
        page_data = {"page": "status", "lang": lang, "chain": st["chain"]["index_exists"],
                     "labels": {**_js_labels(lang), **{k: labels(lang)[k] for k in (
                         "urpd_x", "urpd_y", "supply", "height")}}}
        return page(request, "status.html", lang, None, s=st, page="status", page_data=page_data)

    @app.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request, lang: str | None = None):
        check_params(request, ("lang",))
        lang = check_lang(lang)
        spec = app.openapi()
        rows = []
        for path, ops in spec["paths"].items():
            op = ops.get("get", {})
            rows.append({"path": path, "summary": op.get("summary", ""),
                         "description": op.get("description", ""),
                         "params": [(p["name"], p.get("description", ""), p.get("required", False))
                                    for p in op.get("parameters", [])]})
        return page(request, "apidocs.html", lang, None, rows=rows, page="api")

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def full_report(request: Request, as_of: str | None = None, lang: str | None = None):
        """The report layer's own HTML briefing, when that layer is installed."""
        check_params(request, ("as_of", "lang"))
        lang, as_of = check_lang(lang), check_date(as_of, "as_of")
        if not _report_available():
            raise WebError(404, "not_found", "the report layer (btcmacro.report.render) is not installed")
        from .. import report

        def build(st):
            return report.render(api.briefing(as_of, store=st), "html", lang)

        res = wd.get(("report", as_of, lang), build)
        # the report is one self-contained file with inline scripts; it may run them, but it
        # still may not fetch anything from anywhere
        return HTMLResponse(res.value, headers={
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'none'"})

    # -- JSON API --------------------------------------------------------------------------
    @app.get("/api/metrics", summary="List metrics and raw series",
             description="Every registry metric (type `metric`) and every catalogue input series "
                         "(type `series`): id, names (en, zh-TW), unit, category, definition, "
                         "source inputs and citation.")
    def api_metrics(request: Request):
        check_params(request, ())
        return {"metrics": [describe(m) for m in REGISTRY] + [describe(s) for s in catalog.SERIES]}

    @app.get("/api/metrics/{metric_id:path}", summary="Describe one metric",
             description="Definition, unit, source and citation of one registry metric or catalogue series.")
    def api_metric(request: Request, metric_id: str):
        check_params(request, ())
        return describe(check_metric(metric_id))

    @app.get("/api/series", summary="A metric's time series",
             description="The series of a registry metric or catalogue input. With `as_of`, only "
                         "what was published by that date (point in time). `data` is a list of "
                         "`[date, value]` pairs; values are in `unit`.")
    def api_series(request: Request,
                   metric: str | None = Query(None, description="registry metric or catalogue series id"),
                   as_of: str | None = Query(None, description="YYYY-MM-DD: only data published by then"),
                   start: str | None = Query(None, description="YYYY-MM-DD, first date returned"),
                   end: str | None = Query(None, description="YYYY-MM-DD, last date returned")):
        check_params(request, ("metric", "as_of", "start", "end"))
        mid = check_metric(metric)
        as_of, start, end = check_date(as_of, "as_of"), check_date(start, "start"), check_date(end, "end")
        if start and end and start > end:
            raise WebError(422, "bad_date", "start is after end")
        res = series_data(mid, as_of)
        p = _window(res.value, start, end)
        body = {k: v for k, v in p.items() if k not in ("dates", "values")}
        body.update(start=start, end=end, count=len(p["dates"]), update_in_progress=res.stale,
                    data=[[d, v] for d, v in zip(p["dates"], p["values"])])
        return JSONResponse(body, headers=stale_headers(res))

    @app.get("/api/series.csv", summary="Series as CSV (one or several metrics)",
             description="CSV with header `date,<id>[,<id2>...]`, one row per date (outer join). "
                         "Streamed as a download under a server-generated file name; nothing is "
                         "written on the server.")
    def api_series_csv(request: Request,
                       metric: list[str] = Query(default=[], description="one to eight metric ids"),
                       as_of: str | None = Query(None, description="YYYY-MM-DD"),
                       start: str | None = Query(None, description="YYYY-MM-DD"),
                       end: str | None = Query(None, description="YYYY-MM-DD")):
        check_params(request, ("metric", "as_of", "start", "end"), multi=("metric",))
        if not metric:
            raise WebError(422, "unknown_metric", "unknown metric: give at least one metric id")
        if len(metric) > MAX_CSV_METRICS:
            raise WebError(422, "too_many_metrics", f"at most {MAX_CSV_METRICS} metrics per export")
        ids = [check_metric(m) for m in metric]
        if len(set(ids)) != len(ids):
            raise WebError(422, "repeated_metric", "a metric is named twice")
        as_of, start, end = check_date(as_of, "as_of"), check_date(start, "start"), check_date(end, "end")
        if start and end and start > end:
            raise WebError(422, "bad_date", "start is after end")
        results = [series_data(m, as_of) for m in ids]
        cols = [_window(r.value, start, end) for r in results]
        table: dict[str, list] = {}
        for i, c in enumerate(cols):
            for d, v in zip(c["dates"], c["values"]):
                table.setdefault(d, [None] * len(cols))[i] = v
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["date", *ids])
        for d in sorted(table):
            w.writerow([d, *("" if v is None else v for v in table[d])])
        name = export_name(ids, as_of)
        headers = {"Content-Disposition": f'attachment; filename="{name}"', **stale_headers(
            next((r for r in results if r.stale), results[0]))}
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    @app.get("/api/briefing", summary="The briefing (JSON contract)",
             description="`Briefing.to_json()` for an as-of date (default: the latest date in the "
                         "data): metrics with value, unit, date, source and status; regimes with "
                         "evidence; levels; FOMC scenarios.")
    def api_briefing(request: Request,
                     as_of: str | None = Query(None, description="YYYY-MM-DD (default: latest)")):
        check_params(request, ("as_of",))
        res = briefing_data(check_date(as_of, "as_of"))
        return JSONResponse(res.value["json"], headers=stale_headers(res))

    @app.get("/api/briefing/charts", summary="The briefing's chart series",
             description="The series drawn on the briefing page for an as-of date: `charts` "
                         "(metric id -> x, y, unit, names), `price` (the BTC price panel) and "
                         "`overlays` (moving averages and cost bases), plus `levels`, and `hodl`: "
                         "the report's HODL-wave chart (own-node band shares as published by the "
                         "as-of date; `null` without own-node data).")
    def api_briefing_charts(request: Request,
                            as_of: str | None = Query(None, description="YYYY-MM-DD (default: latest)")):
        check_params(request, ("as_of",))
        res = briefing_data(check_date(as_of, "as_of"))
        b = res.value
        return JSONResponse({"as_of": b["json"]["as_of"], "charts": b["charts"], "price": b["price"],
                             "overlays": b["overlays"], "levels": b["json"]["levels"], "hodl": b.get("hodl"),
                             "update_in_progress": res.stale}, headers=stale_headers(res))

    # -- own-node chain (one day from the chain index) --------------------------------------
    def chain_result(key: tuple, fn):
        """``fn(store)`` cached on the store and the chain index; library errors become 4xx."""
        if not index.exists():
            raise WebError(404, "no_chain_index",
                           "no own-node chain index: run `btcmacro chain sync` first "
                           "(the dashboard reads the index of `btcmacro chain`)")
        try:
            return wd.get(key, fn, also=(index,))
        except UsageError as e:  # a day outside the indexed days
            raise WebError(422, "bad_date" if e.where == "--date" else "bad_request", e.message) from None
        except ChainError as e:
            if write_lock_holder(index) is not None:  # the sync took the lock in between
                raise UpdateInProgress("`btcmacro chain sync` is writing the chain index",
                                       where=str(index)) from None
            raise WebError(409, "chain_index_unavailable", e.message) from None

    @app.get("/api/chain/hodl", summary="HODL waves of one day (own node)",
             description="The twelve age bands of the supply at the end of `date`, computed from "
                         "the own-node chain index (`btcmacro chain sync`) by "
                         "`btcmacro.api.hodl_waves`: `bands` of `{key, band, age_from_days, "
                         "age_to_days, btc, pct}`, with `supply_btc`, the index tip (`tip_hash`, "
                         "`height`), `source` and `provenance`. 404 `no_chain_index` without an "
                         "index; 422 `bad_date` for a day outside the indexed days.")
    def api_chain_hodl(request: Request,
                       date: str | None = Query(None, description="YYYY-MM-DD (default: the last indexed day)")):
        check_params(request, ("date",))
        day = check_date(date, "date")
        res = chain_result(("chain_hodl", day), lambda st: chain_hodl_payload(index, day))
        return JSONResponse({**res.value, "update_in_progress": res.stale}, headers=stale_headers(res))

    @app.get("/api/chain/urpd", summary="URPD of one day (own node)",
             description="UTXO realized price distribution at the end of `date`: the supply by the "
                         "BTC close (`cmc/btc_close`) of the day each unspent coin was created, in "
                         "`buckets` equal-width buckets from 0 USD to the highest such price "
                         "(`btcmacro.api.urpd`). `buckets[].btc` sums to `supply_btc`. With the "
                         "index tip (`tip_hash`, `height`), `source` and `provenance`. 404 "
                         "`no_chain_index` without an index; 422 for a day outside the indexed "
                         "days or `buckets` outside 1-1000.")
    def api_chain_urpd(request: Request,
                       date: str | None = Query(None, description="YYYY-MM-DD (default: the last indexed day)"),
                       buckets: str | None = Query(None, description=f"number of price buckets, 1 to "
                                                   f"{MAX_URPD_BUCKETS} (default {DEFAULT_URPD_BUCKETS})")):
        check_params(request, ("date", "buckets"))
        day, n = check_date(date, "date"), check_buckets(buckets)
        res = chain_result(("chain_urpd", day, n), lambda st: chain_urpd_payload(st, index, day, n))
        return JSONResponse({**res.value, "update_in_progress": res.stale}, headers=stale_headers(res))

    def status() -> dict:
        lock = wd.locked_by()
        out = {"store": str(wd.store_path), "update_running": lock is not None, "lock": lock,
               "server_started": started, "cache": wd.stats(), "version": _version(),
               "chain": {"index": str(index), "index_exists": index.exists(),
                         "sync_running": write_lock_holder(index) is not None}}
        try:
            res = wd.get(("status",), _status_payload)
            out.update(res.value, stale=res.stale)
        except UpdateInProgress:
            out.update(data_version=None, sources=[], stale=True)
        return out

    @app.get("/api/status", summary="Data version, sources, update state",
             description="Data version, last update per source (from the store's `series.updated_at`), "
                         "and whether an update holds the store's write lock.")
    def api_status(request: Request):
        check_params(request, ())
        return status()

    return app


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------


def export_name(ids: list[str], as_of: str | None) -> str:
    """A server-generated download name: ``btcmacro_<ids>_<as_of|latest>.csv`` (safe chars only)."""
    stem = "_".join(re.sub(r"[^A-Za-z0-9_-]", "-", i) for i in ids)[:120]
    return f"btcmacro_{stem}_{as_of or 'latest'}.csv"


def _hodl_csv_url(hodl: dict | None, as_of: str) -> str | None:
    """The CSV export of the HODL-wave chart: the twelve published ``chain/hodl_<band>_pct``
    series, as published by ``as_of``, over the chart's window."""
    if not hodl or not hodl["x"]:
        return None
    ids = [f"chain/hodl_{band['key']}_pct" for band in hodl["bands"]]
    if len(ids) > MAX_CSV_METRICS or any(i not in catalog.SERIES for i in ids):
        return None
    return "/api/series.csv?" + _urlencode([("metric", i) for i in ids] + [
        ("as_of", as_of), ("start", hodl["x"][0]), ("end", as_of)])


def _urlencode(pairs) -> str:
    from urllib.parse import urlencode

    return urlencode(list(pairs))


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("btcmacro")
    except Exception:  # noqa: BLE001 -- not installed (PYTHONPATH=src)
        return "dev"


def _report_available() -> bool:
    try:
        from .. import report
    except ImportError:
        return False
    return callable(getattr(report, "render", None))


def _nav(lang: str) -> list[tuple[str, str, str]]:
    L = labels(lang)
    q = f"?lang={lang}"
    return [("briefing", "/" + q, L["nav_briefing"]), ("explore", "/explore" + q, L["nav_explore"]),
            ("status", "/status" + q, L["nav_status"]), ("api", "/api/docs" + q, L["nav_api"])]


def _js_labels(lang: str) -> dict:
    L = labels(lang)
    return {k: L[k] for k in ("loading", "no_data", "low", "high", "export_png", "level")}


def _metric_options(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped ``<select>`` options: registry metrics by category, then raw input series."""
    groups: dict[str, list] = {}
    for m in REGISTRY.values():
        groups.setdefault(m.category, []).append((m.id, f"{m.name(lang)} ({m.id})"))
    L = labels(lang)
    out = [(f"{L['registry_metrics']}: {cat}", sorted(items, key=lambda t: t[1])) for cat, items in groups.items()]
    out.append((L["raw_series"], [(s.id, f"{s.name} ({s.id})") for s in catalog.SERIES.values()]))
    return out
