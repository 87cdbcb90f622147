"""The same aggregation on DuckDB and on Spark (local mode), same input: times and rows per second.

    PYTHONPATH=src python benchmarks/chain_engines.py [--days 2000] [--blocks-per-day 24]
        [--spends 2000000] [--flows 2000000] [--scripts 300000] [--master local[2]] [--repeat 2]

Builds a chain index of that shape in a temporary folder (random but fixed-seed ``blocks``,
``created``, ``spends`` with ages from 0 to the whole history, and per-script ``flows``), writes
it as parquet parts (``btcmacro chain export-parts``), then times
``engines.aggregate_duckdb`` on the index and ``engines.spark.aggregate_spark`` on the parts
(the SparkSession is started once and timed apart; best of ``--repeat`` each). Rows per second
count the input rows both aggregations read (spends + flows). The two results are checked equal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def build_index(path: Path, days: int, per_day: int, spends: int, flows: int, scripts: int) -> None:
    from btcmacro.chain.index import ChainIndex, Checkpoint

    rng = np.random.default_rng(11)
    nb = days * per_day
    h = np.arange(nb, dtype=np.int32)
    day0 = np.datetime64("2012-01-01")
    blocks = pd.DataFrame({"height": h, "hash": [int(x).to_bytes(32, "little") for x in h],
                           "day": (day0 + (h // per_day).astype("timedelta64[D]")).astype("datetime64[s]")})
    created = pd.DataFrame({"height": h, "value": rng.integers(1, 5_000 * 10**8, nb), "n": rng.integers(1, 3000, nb)})
    sh = rng.integers(1, nb, spends)
    age = np.minimum(sh, (rng.pareto(1.2, spends) * per_day * 5).astype(np.int64))
    sp = pd.DataFrame({"spend_height": sh, "create_height": sh - age,
                       "value": rng.integers(1, 10**9, spends), "n": rng.integers(1, 4, spends)})
    fl = pd.DataFrame({"height": rng.integers(0, nb, flows), "key": rng.integers(0, scripts, flows),
                       "delta": rng.integers(-10**9, 2 * 10**9, flows)})
    with ChainIndex(path) as ix:
        c = ix.con
        for name, f in (("_b", blocks), ("_c", created), ("_s", sp), ("_f", fl)):
            c.register(name, f)
        c.execute("INSERT INTO blocks SELECT height, hash, hash, 0, day::DATE, 1, 1, 4, 0, 0 FROM _b")
        c.execute("INSERT INTO created SELECT height, value, n FROM _c")
        c.execute("INSERT INTO spends SELECT spend_height, create_height, value, n FROM _s")
        c.execute("INSERT INTO flow_rows SELECT height, (key * 2654435761)::UHUGEINT << 40, delta FROM _f")
        ix.set_checkpoint(Checkpoint(nb - 1, blocks["hash"].iloc[-1], "bench", "bench", "coinmap"))


def best(fn, n):
    out, ts = None, []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return out, min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=2000)
    ap.add_argument("--blocks-per-day", type=int, default=24)
    ap.add_argument("--spends", type=int, default=2_000_000)
    ap.add_argument("--flows", type=int, default=2_000_000)
    ap.add_argument("--scripts", type=int, default=300_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()

    from btcmacro.chain import engines
    from btcmacro.chain.engines.parts import export_parts
    from btcmacro.chain.engines.spark import aggregate_spark, session
    from btcmacro.chain.index import ChainIndex

    with tempfile.TemporaryDirectory(prefix="chain-engines-") as tmp:
        t = time.perf_counter()
        build_index(Path(tmp) / "c.duckdb", a.days, a.blocks_per_day, a.spends, a.flows, a.scripts)
        with ChainIndex(Path(tmp) / "c.duckdb", read_only=True) as ix:
            counts = export_parts(ix, Path(tmp) / "parts")
            print(f"input: {a.days:,} days, {counts['blocks']:,} blocks, {counts['spends']:,} spends rows, "
                  f"{counts['flows']:,} flows rows (built in {time.perf_counter() - t:.1f} s)")
            rows = counts["spends"] + counts["flows"]
            ref, td = best(lambda: engines.aggregate_duckdb(ix), a.repeat)
        print(f"DuckDB {__import__('duckdb').__version__}: {td:.2f} s, {rows / td:,.0f} rows/s "
              f"({ref.matrix.c.size:,} matrix cells)")
        t = time.perf_counter()
        spark = session(a.master)
        ts0 = time.perf_counter() - t
        got, tsp = best(lambda: aggregate_spark(str(Path(tmp) / "parts"), spark=spark), a.repeat)
        print(f"Spark {spark.version} {a.master}: {tsp:.2f} s, {rows / tsp:,.0f} rows/s "
              f"(session start {ts0:.1f} s, not counted)")
        spark.stop()
        same = (all(np.array_equal(getattr(ref.matrix, f), getattr(got.matrix, f))
                    for f in ("days", "c", "s", "value", "n", "created", "created_n"))
                and np.array_equal(ref.bands.supply, got.bands.supply)
                and np.array_equal(ref.bands.addresses, got.bands.addresses) and ref.closers == got.closers)
        print(f"results equal: {same}; measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
