"""Write the research results on the embedded data to docs/research/, with the commands behind them.

Usage::

    PYTHONPATH=src BTCMACRO_HOME="$(mktemp -d)" python scripts/research_report.py [--out docs/research]
        [--backtest-step W] [--skip-backtest]

Each page starts with the ``btcmacro analyze ...`` command that reproduces it and the data version
it was computed on. Nothing here computes: it calls :mod:`btcmacro.research` and renders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _page(doc, name: str, out: Path, command: str, version: str) -> str:
    from btcmacro.research import render

    figs = {}
    for s in doc.sections:
        for f in s.figures:
            png = out / f"{name}-{f.name}.png"
            render.save_png(f, png)
            figs[f.name] = png.name
    head = (f"> Reproduce: `{command}`  \n> Data: embedded snapshot `{version}`; generated "
            f"{dt.date.today().isoformat()} by `scripts/research_report.py`.\n\n")
    text = render.to_markdown(doc, figs)
    title, rest = text.split("\n", 1)
    (out / f"{name}.md").write_text(f"{title}\n\n{head}{rest.lstrip()}", encoding="utf-8")
    return f"{name}.md"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "research")
    ap.add_argument("--backtest-step", default="W")
    ap.add_argument("--skip-backtest", action="store_true")
    a = ap.parse_args(argv)

    from btcmacro import api
    from btcmacro.research import backtest as B
    from btcmacro.research import fomc_events as F
    from btcmacro.research import sensitivity as S

    a.out.mkdir(parents=True, exist_ok=True)
    pages = []
    with api.open_store() as st:
        version = st.get_meta("snapshot_version") or "unknown"
        for freq, name in [("W", "sensitivity-weekly"), ("M", "sensitivity-monthly")]:
            r = S.sensitivity(freq=freq, store=st)
            pages.append((_page(r.to_doc(), name, a.out, f"btcmacro analyze sensitivity --freq {freq} --format md",
                                version), r.verdict[-1]))
        f = F.fomc_event_study((-5, 10), store=st)
        pages.append((_page(f.to_doc(), "fomc", a.out, "btcmacro analyze fomc --window -5,+10 --format md", version),
                      f.summary[-1]))
        if not a.skip_backtest:
            t0 = time.time()
            b = B.backtest(step=a.backtest_step, store=st,
                           progress=lambda i, n: print(f"\rbacktest {i}/{n}", end="", file=sys.stderr))
            print(f"\nbacktest: {len(b.dates)} dates in {time.time() - t0:.0f} s", file=sys.stderr)
            doc = b.to_doc()
            pages.append((_page(doc, "backtest", a.out,
                                f"btcmacro analyze backtest --step {a.backtest_step} --format md", version),
                          doc.summary[-1]))
    index = ["# Research results on the embedded data", "",
             "Each page was produced by the command at its top on the embedded snapshot; rerun "
             "`python scripts/research_report.py` to regenerate all of them.", ""]
    for page, line in pages:
        index += [f"- [{page}]({page}): {line}"]
    (a.out / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"wrote {len(pages)} pages to {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
