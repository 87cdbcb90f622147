"""Benchmark the dashboard: latency of the series and briefing endpoints, and throughput.

Usage::

    python benchmarks/serve.py [--store PATH] [--requests 200] [--concurrency 8]

Starts uvicorn in a thread on a free 127.0.0.1 port (loopback only) over a store built from the
embedded snapshot in a temporary BTCMACRO_HOME (or ``--store``), then measures over real HTTP:

* cold: the first request for a key (the store is read and the briefing computed);
* warm: p50 / p95 of repeated requests (served from the in-process cache, which the store's
  fingerprint keeps honest) for ``/api/series`` (several metrics) and ``/api/briefing``;
* throughput: ``--requests`` GETs spread over ``--concurrency`` client threads on a mix of
  series, briefing, CSV and page requests; requests per second and p95.

Target (issue 6): p95 < 200 ms warm on the embedded data.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SERIES = ["net_liquidity", "cmc/btc_close", "fred/WALCL", "mvrv", "sofr_iorb_spread_bp"]
AS_OF = ["2025-12-09", "2024-06-03"]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1)))))
    return xs[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(store: Path, port: int):
    import uvicorn

    from btcmacro.web import create_app

    srv = uvicorn.Server(uvicorn.Config(create_app(store, port=port), host="127.0.0.1", port=port,
                                        log_level="warning", access_log=False, lifespan="off"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    while not srv.started:
        time.sleep(0.02)
    return srv, th


def timed(client: httpx.Client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    dt = time.perf_counter() - t
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code} {r.text[:200]}")
    return dt * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--requests", type=int, default=200, help="requests in the load phase (bounded)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=30, help="warm repetitions per endpoint")
    a = ap.parse_args()
    a.requests = min(a.requests, 5000)

    tmp = tempfile.TemporaryDirectory()
    os.environ.setdefault("BTCMACRO_HOME", tmp.name)
    os.environ.setdefault("BTCMACRO_CONFIG_DIR", os.path.join(tmp.name, "cfg"))
    from btcmacro import api

    store = a.store or Path(tmp.name) / "store.duckdb"
    t = time.perf_counter()
    api.open_store(store).close()
    print(f"store ready ({store}) in {time.perf_counter() - t:.1f} s")

    port = free_port()
    srv, th = start(store, port)
    base = f"http://127.0.0.1:{port}"
    rows = []
    with httpx.Client(base_url=base, timeout=60) as c:
        # cold: first request of each key
        for d in AS_OF:
            rows.append(("cold", f"/api/briefing?as_of={d}", [timed(c, f"/api/briefing?as_of={d}")]))
        for m in SERIES:
            u = f"/api/series?metric={m}&as_of={AS_OF[0]}"
            rows.append(("cold", u, [timed(c, u)]))
        # warm
        warm_series, warm_brief = [], []
        for _ in range(a.repeat):
            for m in SERIES:
                warm_series.append(timed(c, f"/api/series?metric={m}&as_of={AS_OF[0]}"))
            for d in AS_OF:
                warm_brief.append(timed(c, f"/api/briefing?as_of={d}"))
        page = [timed(c, f"/?as_of={AS_OF[0]}") for _ in range(a.repeat)]

    print(f"\n{'phase':6} {'endpoint':52} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}")
    for phase, u, xs in rows:
        print(f"{phase:6} {u:52} {len(xs):4d} {statistics.median(xs):8.1f} {pct(xs, 95):8.1f}")
    for name, xs in (("/api/series (5 metrics)", warm_series), ("/api/briefing (2 dates)", warm_brief),
                     ("/ briefing page (HTML)", page)):
        print(f"{'warm':6} {name:52} {len(xs):4d} {statistics.median(xs):8.1f} {pct(xs, 95):8.1f}")

    mix = ([f"/api/series?metric={m}&as_of={AS_OF[0]}" for m in SERIES]
           + [f"/api/briefing?as_of={d}" for d in AS_OF]
           + [f"/api/series.csv?metric=net_liquidity&metric=cmc/btc_close&as_of={AS_OF[0]}",
              f"/?as_of={AS_OF[0]}", "/api/metrics", "/api/status"])
    urls = [mix[i % len(mix)] for i in range(a.requests)]
    lat: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def one(u: str) -> None:
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=base, timeout=60)
        ms = timed(local.c, u)
        with lock:
            lat.append(ms)

    t = time.perf_counter()
    with ThreadPoolExecutor(a.concurrency) as ex:
        list(ex.map(one, urls))
    wall = time.perf_counter() - t
    print(f"\nload: {a.requests} requests, {a.concurrency} concurrent clients, loopback: "
          f"{a.requests / wall:.0f} req/s, p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms")
    warm_p95 = max(pct(warm_series, 95), pct(warm_brief, 95))
    print(f"target p95 < 200 ms warm: {'met' if warm_p95 < 200 else 'MISSED'} ({warm_p95:.1f} ms)")
    srv.should_exit = True
    th.join(timeout=10)
    tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
