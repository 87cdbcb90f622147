"""Typer commands ``update`` and ``sources`` (thin: parse options, call the library, render).

The lead wires them with ``cli_update.register(app)`` from ``cli.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import BtcmacroError, exit_code
from .http import redact


def _fail(err: BtcmacroError) -> None:
    Console(stderr=True).print(f"[red]error:[/red] {redact(str(err))}", markup=True, highlight=False,
                               soft_wrap=True)
    raise typer.Exit(exit_code(err))


def update_cmd(
    source: Optional[list[str]] = typer.Option(None, "--source", "-s", help="source id (repeatable); default all"),
    since: Optional[str] = typer.Option(None, "--since", help="re-fetch from this date (YYYY-MM-DD)"),
    store: Optional[Path] = typer.Option(None, "--store", help="store path (default: data dir)"),
    deadline: Optional[float] = typer.Option(None, "--deadline", help="wall-clock limit in seconds"),
) -> None:
    """Refresh the store from live sources (FRED, NY Fed, Treasury, Coin Metrics, ...)."""
    from .update import run_update

    out, err = Console(), Console(stderr=True)
    from .api import store_path
    from .inputs import parse_date

    try:
        path = store_path(store)
        since_d = None if since is None else parse_date(since, "--since").date()
    except BtcmacroError as e:
        _fail(e)
    bars = Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=err,
                    transient=False)
    tasks: dict[str, int] = {}

    def progress(event: str, src: str, **kw) -> None:
        if event == "start":
            tasks[src] = bars.add_task(src, total=kw.get("total", 1), note="")
        elif event == "advance":
            bars.advance(tasks[src])
            if kw.get("error"):
                bars.update(tasks[src], note="[red]error[/red]")
        elif event == "done":
            bars.update(tasks[src], note="ok" if kw.get("ok") else "[red]failed[/red]")

    try:
        with bars:
            report = run_update(path, source or None, since_d, progress, deadline)
    except BtcmacroError as e:
        _fail(e)
    table = Table(title=f"btcmacro update -> {path}")
    for col in ("series", "new", "revised", "unchanged", "last date"):
        table.add_column(col, justify="right" if col in ("new", "revised", "unchanged") else "left")
    for r in report.rows():
        table.add_row(r["series"], str(r["new"]), str(r["revised"]), str(r["unchanged"]), r["last_date"])
    out.print(table)
    out.print(f"{report.requests} requests in {report.seconds:.1f}s "
              f"({report.waited_s:.1f}s waiting on rate limits and backoff)", highlight=False)
    errors = report.all_errors()
    for e in errors:
        err.print(f"error: {redact(e)}", markup=False, highlight=False, soft_wrap=True)
    if errors:
        failed = sum(not s.ok for s in report.sources)
        err.print(f"{failed} of {len(report.sources)} sources failed", highlight=False)
        raise typer.Exit(1)


def sources_cmd(
    store: Optional[Path] = typer.Option(None, "--store", help="store path (default: data dir)"),
) -> None:
    """List live sources: credentials, rate limits, base-URL variables, last update, status."""
    from .update import list_sources

    from .api import store_path

    try:
        rows = list_sources(store_path(store))
    except BtcmacroError as e:
        _fail(e)
    t = Table(title="btcmacro sources")
    for col in ("id", "credentials", "rate limit", "URL variables", "last update", "status"):
        t.add_column(col)
    for r in rows:
        creds = ", ".join(f"{c['name']} ({'set' if c['set'] else 'not set'})" for c in r["credentials"]) or "none"
        t.add_row(r["id"], creds, r["rate_limit"], " ".join(r["url_vars"]), r["last_update"] or "-",
                  r["status"])
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Add ``update`` and ``sources`` to the main Typer app."""
    app.command("update")(update_cmd)
    app.command("sources")(sources_cmd)
