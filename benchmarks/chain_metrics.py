"""Time every daily chain metric from a matrix of realistic shape, and report peak RSS.

    PYTHONPATH=src python benchmarks/chain_metrics.py [--days 6200] [--spends 120000000] [--cells-per-day 4000]

The synthetic matrix (btcmacro.chain.synth.realistic_matrix) has one cell per (creation day,
spending day) pair actually used: up to --cells-per-day creation days per spending day, recent
ages dominant plus a uniform tail, and cell counts summing to --spends. The metrics never look at
individual spends, only at cells, so 100M+ spends cost the same as their cell count.
"""

from __future__ import annotations

import argparse
import resource
import time

from btcmacro.chain.metrics import METRIC_KEYS, daily_metrics_from_matrix
from btcmacro.chain.synth import realistic_matrix


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=6200)
    ap.add_argument("--spends", type=int, default=120_000_000)
    ap.add_argument("--cells-per-day", type=int, default=4000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    m, prices = realistic_matrix(a.days, a.spends, max_cells_per_day=a.cells_per_day)
    t_gen = time.perf_counter() - t0
    print(f"matrix: {m.ndays} days, {m.c.size:,} cells, {int(m.n.sum()):,} spends represented "
          f"(generated in {t_gen:.1f} s; RSS so far {rss_mb():.0f} MB)")
    t0 = time.perf_counter()
    out = daily_metrics_from_matrix(m, prices)
    t = time.perf_counter() - t0
    assert tuple(out) == METRIC_KEYS
    print(f"all {len(out)} daily metrics: {t:.2f} s  ({m.c.size / t / 1e6:.1f} M cells/s incl. the per-day sweep)")
    print(f"peak RSS: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
