"""The command line: thin wrappers over :mod:`btcmacro.api` (parse options, call, render).

Errors are one line on stderr and a non-zero exit code (see :data:`btcmacro.errors.EXIT_CODES`);
no tracebacks for expected failures.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import BtcmacroError, exit_code

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="btcmacro: Bitcoin in the Fed liquidity cycle and its own on-chain cycle, from data.")
metrics_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="The metric registry and its series.")
app.add_typer(metrics_app, name="metrics")

StoreOpt = typer.Option(None, "--store", help="store file (default: $BTCMACRO_HOME/store.duckdb)")
LANGS = ("en", "zh-TW")


def _fail(msg: str, code: int) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def handled(fn):
    """Turn library errors into one stderr line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except BtcmacroError as e:
            _fail(str(e), exit_code(e))
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


@app.command()
@handled
def brief(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: latest date in the data)"),
    lang: str = typer.Option("en", "--lang", help="en | zh-TW"),
    fmt: str = typer.Option("html", "--format", help="html | md | json | pdf"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (default: ./btcmacro-brief-<date>[-lang].<ext>; '-' = stdout for md/json); "
                                                                      "a regular file in an existing directory, symbolic links followed"),
    rules: Optional[Path] = typer.Option(None, "--rules", help="rules TOML overriding the defaults"),
    store: Optional[Path] = StoreOpt,
    compare: Optional[str] = typer.Option(None, "--compare", help="YYYY-MM-DD: show what changed since this earlier date (instead of last week, the last FOMC meeting and 30 days)"),
):
    """Write the briefing for an as-of date (HTML, Markdown, JSON or A4 PDF; English or Traditional Chinese)."""
    from . import report  # light: formats and languages; api (pandas, DuckDB) loads after the checks
    from .errors import UsageError

    if lang not in LANGS:
        raise UsageError(f"unknown language {lang!r} (expected one of: {', '.join(LANGS)})", where="--lang")
    if fmt not in report.FORMATS:
        raise UsageError(f"unknown format {fmt!r} (expected one of: {', '.join(report.FORMATS)})", where="--format")
    if out is not None and str(out) != "-":
        from .inputs import output_file

        output_file(out)  # refused before the briefing is computed; report.write checks it again
    from .inputs import parse_date
    from .rules import load_rules

    parse_date(as_of, "--as-of")  # bad input is refused before the store is opened (or created)
    load_rules(rules)
    from . import api

    with api.open_store(store, on_install=_loading_snapshot) as st:
        b = api.briefing(as_of, store=st, rules_path=rules, with_charts=fmt != "json", compare=compare)
    path = report.write(b, fmt=fmt, lang=lang, out=out)
    if path is not None:
        typer.echo(f"wrote {path}", err=True)


@metrics_app.command("list")
@handled
def metrics_list(fmt: str = typer.Option("table", "--format", help="table | json | csv")):
    """List every metric: id, names, unit, source, definition."""
    import json

    from .errors import UsageError

    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"unknown format {fmt!r} (expected table, json or csv)", where="--format")
    from . import api

    rows = api.metrics_list()
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        import csv

        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(show_lines=False)
        for c in ("id", "name", "zh-TW", "unit", "source", "definition"):
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(r["id"], r["name"], r["name_zh_tw"], r["unit"], r["source"], r["definition"])
        Console().print(t)


@metrics_app.command("show")
@handled
def metrics_show(
    metric_id: str = typer.Argument(..., help="a metric id (see `btcmacro metrics list`)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="only what was published by this date"),
    start: Optional[str] = typer.Option(None, "--start"),
    end: Optional[str] = typer.Option(None, "--end"),
    fmt: str = typer.Option("csv", "--format", help="csv | json"),
    store: Optional[Path] = StoreOpt,
):
    """Print a metric's series (CSV or JSON) with its unit and source."""
    import json

    from .errors import UsageError

    if fmt not in ("csv", "json"):
        raise UsageError(f"unknown format {fmt!r} (expected csv or json)", where="--format")
    from .inputs import parse_date, parse_range

    start, end = parse_range(start, end)  # refused before the store is opened (or created)
    parse_date(as_of, "--as-of")
    from . import api

    with api.open_store(store) as st:
        s = api.series(metric_id, start=start, end=end, as_of=as_of, store=st)
    if fmt == "json":
        doc = {"id": metric_id, **{k: v for k, v in s.attrs.items() if k != "detail"},
               "data": [[d.date().isoformat(), _plain(v)] for d, v in s.items()]}
        typer.echo(json.dumps(doc, ensure_ascii=False))
    else:
        typer.echo(f"# {metric_id} | unit: {s.attrs.get('unit')} | source: {s.attrs.get('source')}"
                   f" | as_of: {s.attrs.get('as_of') or 'latest'} | {s.attrs.get('vintage')}")
        typer.echo("date,value")
        for d, v in s.items():
            typer.echo(f"{d.date().isoformat()},{_plain(v)}")


@app.command()
@handled
def rebuild(store: Optional[Path] = StoreOpt,
            yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation")):
    """Move a damaged store aside (kept as <name>.corrupt-<time>) and rebuild it from the snapshot.

    It refuses while another process holds the store (and names it), and verifies the file
    first: a sound store, or a file that is not a btcmacro store, is left as it is.

    Live updates made since are not in the snapshot: run `btcmacro update` afterwards.
    """
    from . import api

    path = api.store_path(store)
    if not yes and (sys.stdin is None or not sys.stdin.isatty()):
        from .errors import UsageError

        raise UsageError("nothing done: rebuild asks for confirmation and there is no terminal to "
                         "answer; pass --yes to rebuild without asking", where=str(path))
    if not yes:
        typer.confirm(f"Move {path} aside and rebuild it from the embedded snapshot?", abort=True)
    kept = api.rebuild_store(path)
    if kept:
        typer.echo(f"kept the old file as {kept}", err=True)
    typer.echo(f"rebuilt {path}", err=True)


def _loading_snapshot(path) -> None:
    typer.echo(f"Loading the embedded data snapshot into {path} (first use; a few seconds, once)...",
               err=True)


def _plain(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _register_optional() -> None:
    """Sub-commands from other layers (live update, chain engine, dashboard, research)."""
    import importlib

    for mod in ("cli_update", "cli_chain", "cli_serve", "cli_analyze", "cli_watch"):
        try:
            m = importlib.import_module(f"btcmacro.{mod}")
        except ModuleNotFoundError as e:
            if e.name == f"btcmacro.{mod}":
                continue
            raise
        m.register(app)


_register_optional()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
