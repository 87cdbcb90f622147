"""Benchmark the main job: cold and warm `btcmacro brief`, and `import btcmacro`.

Usage::

    python benchmarks/brief.py [--as-of 2025-12-09] [--format html] [--repeat 3]

Cold = a fresh BTCMACRO_HOME (the store is created from the embedded snapshot); warm = the same
home again. Each run is a separate process, timed end to end (interpreter start included).
Targets (issue 3): warm < 3 s, cold < 15 s, import < 0.5 s. The size of the file written is
printed too; for HTML (the default) issue 11 sets at most 1.5 MB, light enough to e-mail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--as-of", default="2025-12-09")
    ap.add_argument("--format", default="html")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, BTCMACRO_HOME=home, BTCMACRO_CONFIG_DIR=os.path.join(home, "cfg"))
        out = os.path.join(home, f"brief.{a.format}")
        cmd = [py, "-m", "btcmacro.cli", "brief", "--as-of", a.as_of, "--format", a.format, "--out", out]
        imports = [timed([py, "-c", "import btcmacro"], env) for _ in range(a.repeat)]
        base = [timed([py, "-c", "pass"], env) for _ in range(a.repeat)]
        cold = []
        for i in range(a.repeat):
            store = os.path.join(home, f"cold{i}.duckdb")
            cold.append(timed(cmd + ["--store", store], env))
        warm = [timed(cmd + ["--store", os.path.join(home, "cold0.duckdb")], env) for _ in range(a.repeat)]
        size = os.path.getsize(out)
    med = statistics.median
    print(f"python -c pass        : {med(base):6.3f} s (interpreter start, median of {a.repeat})")
    print(f"import btcmacro       : {med(imports):6.3f} s (median; target < 0.5 s)")
    print(f"brief cold ({a.format:4})     : {med(cold):6.3f} s (median; fresh store; target < 15 s)")
    print(f"brief warm ({a.format:4})     : {med(warm):6.3f} s (median; target < 3 s)")
    target = " (target <= 1.5 MB)" if a.format == "html" else ""
    print(f"{a.format.upper() + ' size':<22}: {size / 1e6:6.2f} MB ({size:,} bytes){target}")


if __name__ == "__main__":
    main()
