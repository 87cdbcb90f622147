"""Where a person waits: every row of issue 14's table, each against the floor measured in the same run.

Usage::

    python benchmarks/cli.py [--repeat 3] [--as-of 2025-12-09] [--metric mvrv] [--suite]

The floor is ``python -c "import pandas, duckdb, numpy"``: nothing that shows data can start
faster unless it avoids those imports. Each command is a separate process timed end to end
(interpreter start included); a row's figure is the *best* of ``--repeat`` runs, because the
machine may be shared and a slow run measures the neighbours, not btcmacro. Next to the wall time
each row shows the CPU time the process used (user + system, best run): on a busy machine the wall
time grows with the load while the CPU time does not, so the two ratios bracket what an idle
machine would show. The store lives in a
temporary BTCMACRO_HOME created for the run (and removed after it).

``--suite`` also times ``python -m pytest -q`` once (several minutes; target 300 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict, *, ok=(0,)) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env["_CWD"])
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in ok:
        raise SystemExit(f"benchmark command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(cmd: list[str], env: dict, n: int, **kw) -> tuple[float, float]:
    runs = [timed(cmd, env, **kw) for _ in range(n)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per row; the best is shown (default 3)")
    ap.add_argument("--as-of", default="2025-12-09")
    ap.add_argument("--metric", default="mvrv", help="metric for `metrics show` (default mvrv)")
    ap.add_argument("--suite", action="store_true", help="also time the test suite once")
    a = ap.parse_args()
    py, n = sys.executable, max(1, a.repeat)
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, BTCMACRO_HOME=home, BTCMACRO_CONFIG_DIR=os.path.join(home, "cfg"), _CWD=home)
        src = str(ROOT / "src")
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        bm = [py, "-m", "btcmacro"]
        store = os.path.join(home, "store.duckdb")
        brief = bm + ["brief", "--as-of", a.as_of, "--store", store]
        rows: list[tuple[str, tuple[float, float], str, float]] = []  # what, (wall, cpu), target, ratio

        floor = best([py, "-c", "import pandas, duckdb, numpy"], env, n)
        start = best([py, "-c", "pass"], env, n)

        # first brief on a new store: a fresh store file each run
        firsts = []
        for i in range(n):
            firsts.append(timed(bm + ["brief", "--as-of", a.as_of, "--store", os.path.join(home, f"new{i}.duckdb"),
                                      "--format", "json", "--out", os.path.join(home, f"new{i}.json")], env))
        first = (min(w for w, _ in firsts), min(c for _, c in firsts))
        # the store used by every other row, loaded (and its briefing materialised) once
        timed(brief + ["--format", "json", "--out", os.path.join(home, "b.json")], env)
        timed(brief + ["--format", "html", "--out", os.path.join(home, "b.html")], env)

        def row(what, cmd, target, limit, **kw):
            rows.append((what, best(cmd, env, n, **kw), target, limit))

        sec = None  # an absolute target (seconds), not a ratio
        row("btcmacro --help", bm + ["--help"], "<= 0.3 s", sec)
        row("btcmacro chain --help", bm + ["chain", "--help"], "<= 0.3 s", sec)
        row("argument error (brief --format txt)", bm + ["brief", "--format", "txt"], "<= 0.3 s", sec, ok=(2,))
        row("argument error (chain sync --bogus)", bm + ["chain", "sync", "--bogus"], "<= 0.3 s", sec, ok=(2,))
        row(f"metrics show {a.metric}", bm + ["metrics", "show", a.metric, "--store", store], "<= 1.2 x floor", 1.2)
        row("metrics list", bm + ["metrics", "list", "--format", "csv"], "<= 1.2 x floor", 1.2)
        row("sources", bm + ["sources", "--store", store], "<= 1.2 x floor", 1.2)
        row("brief --format json, warm", brief + ["--format", "json", "--out", os.path.join(home, "b.json")],
            "<= 1.5 x floor", 1.5)
        row("brief (HTML), warm", brief + ["--format", "html", "--out", os.path.join(home, "b.html")],
            "<= 2 x floor", 2.0)
        row("brief --format md, warm", brief + ["--format", "md", "--out", os.path.join(home, "b.md")],
            "<= 3 x floor", 3.0)
        rows.append(("first brief on a new store (json)", first, "<= 4 x floor", 4.0))
        if a.suite:
            rows.append(("test suite (python -m pytest, once)",
                         timed([py, "-m", "pytest", "-q", "-p", "no:cacheprovider"], dict(env, _CWD=str(ROOT)),
                               ok=(0, 1)), "<= 300 s", None))

    fw, fc = floor
    print(f"floor: python -c 'import pandas, duckdb, numpy' = {fw:.2f} s wall, {fc:.2f} s CPU "
          f"(python -c pass: {start[0]:.2f} s wall, {start[1]:.2f} s CPU); best of {n} runs each")
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'wall s':>6}  {'x floor':>7}  {'CPU s':>6}  {'x floor':>7}  target")
    for what, (wall, cpu), target, ratio in rows:
        if ratio is None:
            limit = 300.0 if target.startswith("<= 300") else 0.3
            verdict = "ok" if wall <= limit else ("ok on CPU" if cpu <= limit else "missed")
        else:
            verdict = "ok" if wall <= ratio * fw else ("ok on CPU" if cpu <= ratio * fc else "missed")
        print(f"{what:<{w}}  {wall:6.2f}  {wall / fw:7.2f}  {cpu:6.2f}  {cpu / fc:7.2f}  {target}  {verdict}")


if __name__ == "__main__":
    main()
