"""Full replayed update against a local server: time, request count, ratio to the rate-limit bound.

Every source runs against 127.0.0.1 (pytest-httpserver) serving the recorded fixtures of
tests/fixtures; FRED is asked for every catalogue series, and 10 % of FRED requests get a 429 with
``Retry-After: 1``. Exchanges run Binance, OKX and Bybit (each on its own server, as each is its
own host with its own limiter) and write the cross-venue aggregates. Time is a FakeClock: waits imposed by the providers' limits are added up
instead of slept, so the run shows btcmacro's own cost separately from the providers' floor.

    PYTHONPATH=src python benchmarks/update.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402
import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

FIX = ROOT / "tests" / "fixtures"
CASES = {"fred": "json_ok", "coinmetrics": "three_pages", "nyfed": "rates_and_bills",
         "treasury": "two_pages", "mempool": "mining", "defillama": "stablecoincharts_all",
         "feargreed": "fng", "farside": "all_data", "yahoo": "gold", "exchanges": "three_venues"}


def main() -> None:
    routes: dict[str, list[dict]] = {}
    for src, case in CASES.items():
        for e in json.loads((FIX / src / f"{case}.json").read_text())["http"]:
            routes.setdefault(e["path"], []).append(e)
    # Coin Metrics: serve the last page (no token) so every run is one request
    routes["/timeseries/asset-metrics"] = routes["/timeseries/asset-metrics"][-1:]
    routes["/v1/accounting/dts/operating_cash_balance"] = routes["/v1/accounting/dts/operating_cash_balance"][-1:]
    hits: Counter = Counter()
    fred_n = [0]
    per_server: Counter = Counter()

    def handler(request):
        path = request.path
        hits[path] += 1
        per_server[request.host] += 1
        if path == "/fred/series/observations":
            fred_n[0] += 1
            if fred_n[0] % 10 == 0:
                return Response("Too Many Requests", status=429, headers={"Retry-After": "1"})
        e = routes.get(path, [None])[0]
        if e is None:
            return Response("{}", status=404)
        return Response(e["body"], status=e["status"], headers=e.get("headers", {}))

    # one server (one host:port) per source, as in real life: each host has its own limiter
    var_of = {"fred": ["FRED", "FRED_CSV"], "coinmetrics": ["COINMETRICS"], "nyfed": ["NYFED"],
              "treasury": ["TREASURY"], "mempool": ["MEMPOOL"], "defillama": ["DEFILLAMA"],
              "feargreed": ["FEARGREED"], "farside": ["FARSIDE"], "yahoo": ["YAHOO"],
              "binance": ["BINANCE"], "okx": ["OKX"], "bybit": ["BYBIT"]}
    servers = []
    host_of = {}
    for src, names in var_of.items():
        srv = HTTPServer(host="127.0.0.1", port=0)
        srv.expect_request(re.compile(".*")).respond_with_handler(handler)
        srv.start()
        servers.append(srv)
        host_of[src] = f"127.0.0.1:{srv.port}"
        for var in names:
            os.environ[f"BTCMACRO_URL_{var}"] = srv.url_for("").rstrip("/")
    tmp = Path(tempfile.mkdtemp())
    try:
        os.environ["BTCMACRO_CONFIG_DIR"] = str(tmp / "cfg")
        os.environ["FRED_API_KEY"] = "benchmarkkey0000000000000000000a"
        from btcmacro.http import FakeClock
        from btcmacro.sources import SOURCES
        from btcmacro.sources.exchanges import VENUES
        from btcmacro.update import run_update

        clock = FakeClock()
        t0 = time.perf_counter()
        # the recorded exchange bodies are from December 2025, the others from January 2024:
        # two runs into one store, each with its own "today" (a refresh runs them in one go)
        others = [s for s in SOURCES if s != "exchanges"]
        rep = run_update(tmp / "bench.duckdb", others, since="2024-01-01", clock=clock,
                         today=dt.date(2024, 1, 20))
        rep_ex = run_update(tmp / "bench.duckdb", ["exchanges"], since="2025-12-01", clock=clock,
                            today=dt.date(2025, 12, 3),
                            options={"exchanges": {"venues": ["binance", "okx", "bybit"]}})
        wall = time.perf_counter() - t0
        rep.sources += rep_ex.sources
        rep.requests += rep_ex.requests
        if os.environ.get("BENCH_DEBUG"):
            print(sorted(Counter(round(s, 2) for s in clock.sleeps).items()))
        # the providers' floor: per host, (n-1) requests x the policy's sustained interval
        per_host = {}
        for name, host in host_of.items():
            pol = VENUES[name].policy if name in VENUES else SOURCES[name].policy
            reqs = per_server[host]
            n = max(0, reqs - 1)  # minimal schedule: spacing, and at most per_minute per 60 s
            per_host[name] = (reqs, max(n * pol.spacing_s, (n // int(pol.per_minute)) * 60.0))
        bound = sum(b for _, b in per_host.values())
        print(f"sources: {len(rep.sources)}  series written: {len(rep.rows())}  ok: {rep.ok}")
        agg = {r["series"]: r for r in rep.rows() if r["series"].startswith("venues/")}
        print("cross-venue aggregates: " + ", ".join(f"{k} ({v['new']} rows)" for k, v in sorted(agg.items())))
        for e in rep.all_errors():
            print("  error:", e)
        print(f"requests: {rep.requests}  (429s injected: {fred_n[0] // 10})")
        for sid, (n, b) in per_host.items():
            print(f"  {sid:<12} {n:>4} requests   rate-limit floor {b:7.1f} s")
        print(f"btcmacro wall time (no sleeping): {wall:.2f} s")
        print(f"waiting imposed by limits/backoff/Retry-After (fake clock): {clock.now - 1000.0:.1f} s")
        ra = fred_n[0] // 10 * 1.0  # each injected 429 imposes Retry-After: 1 s
        bound += ra
        print(f"providers' bound (sequential sum of limits + {ra:.0f} s of Retry-After): {bound:.1f} s")
        total = wall + (clock.now - 1000.0)
        print(f"projected real time: {total:.1f} s  = {total / bound:.2f} x the bound "
              f"(btcmacro's own share {wall / total:.1%})")
    finally:
        for srv in servers:
            srv.stop()


if __name__ == "__main__":
    main()
