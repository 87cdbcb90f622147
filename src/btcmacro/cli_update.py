"""Typer commands ``update`` and ``sources`` (thin: parse options, call the library, render).

The lead wires them with ``cli_update.register(app)`` from ``cli.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .errors import BtcmacroError, SourceError, exit_code

# rich's console and progress bars and the HTTP layer (httpx) load only when a command runs, so
# that `--help` and argument errors stay fast.


def redact(text, extra=()) -> str:
    from .http import redact as _redact

    return _redact(text, extra)


def _fail(err: BtcmacroError) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/red] {escape(redact(str(err)))}", markup=True, highlight=False,
                               soft_wrap=True)
    raise typer.Exit(exit_code(err))


def update_cmd(
    source: Optional[list[str]] = typer.Option(None, "--source", "-s", help="source id (repeatable); default all"),
    since: Optional[str] = typer.Option(None, "--since", help="re-fetch from this date (YYYY-MM-DD)"),
    store: Optional[Path] = typer.Option(None, "--store", help="store path (default: data dir)"),
    deadline: Optional[float] = typer.Option(None, "--deadline", help="wall-clock limit in seconds"),
) -> None:
    """Refresh the store from live sources (FRED, NY Fed, Treasury, Coin Metrics, ...)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

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
    live = err.is_terminal  # bars only on a terminal; the per-source lines always

    def progress(event: str, src: str, **kw) -> None:
        if event == "start" and live:
            tasks[src] = bars.add_task(src, total=kw.get("total", 1), note="")
        elif event == "advance" and live:
            bars.advance(tasks[src])
            if kw.get("error"):
                bars.update(tasks[src], note="[red]error[/red]")
        elif event == "done":
            if live:
                bars.update(tasks[src], note="ok" if kw.get("ok") else "[red]failed[/red]")
            rep = kw.get("report")
            if rep is not None:
                for line in source_lines(rep):
                    (bars.console if live else err).print(line, markup=False, highlight=False,
                                                          soft_wrap=True)

    try:
        if live:
            with bars:
                report = run_update(path, source or None, since_d, progress, deadline)
        else:
            report = run_update(path, source or None, since_d, progress, deadline)
    except BtcmacroError as e:
        _fail(e)
    if report.rows():
        table = Table(title=f"btcmacro update -> {path}")
        for col in ("series", "new", "revised", "unchanged", "last date"):
            table.add_column(col, justify="right" if col in ("new", "revised", "unchanged") else "left")
        for r in report.rows():
            table.add_row(r["series"], str(r["new"]), str(r["revised"]), str(r["unchanged"]), r["last_date"])
        out.print(table)
    out.print(f"{report.requests} requests in {report.seconds:.1f}s "
              f"({report.waited_s:.1f}s waiting on rate limits and backoff)", highlight=False)
    for e in report.errors:
        err.print(f"error: {redact(e)}", markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        failed = sum(not s.ok for s in report.sources)
        if report.offline:
            n = len(report.unreachable)
            tried = "1 host tried" if n == 1 else f"{n} hosts tried, once each"
            err.print(f"error: no source could be reached ({tried}); check the network connection, "
                      "a proxy, or the BTCMACRO_URL_* settings. No data was written.",
                      highlight=False, soft_wrap=True)
        else:
            err.print(f"{failed} of {len(report.sources)} sources failed; what the others fetched "
                      "is saved", highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code(SourceError("update incomplete")))


def source_lines(rep) -> list[str]:
    """What ``update`` prints for one source as soon as it ends: a line saying what was saved,
    then one ``error:`` line per failure (a source that failed once gets that line alone)."""
    if not rep.ok and not rep.results and len(rep.errors) == 1:
        return [f"error: {redact(rep.errors[0])}"]
    new = sum(r.new for r in rep.results)
    revised = sum(r.revised for r in rep.results)
    if rep.results:
        head = (f"{rep.source}: {len(rep.results)} series saved, {new} new "
                f"value{'s' if new != 1 else ''}, {revised} revised ({rep.seconds:.1f}s)")
    elif rep.ok:
        head = f"{rep.source}: nothing new ({rep.seconds:.1f}s)"
    else:
        head = f"{rep.source}: not updated"
    if not rep.ok:
        head += f"; {len(rep.errors)} error{'s' if len(rep.errors) != 1 else ''}:"
    return [head] + [f"error: {redact(e)}" for e in rep.errors]


def sources_cmd(
    store: Optional[Path] = typer.Option(None, "--store", help="store path (default: data dir)"),
) -> None:
    """List live sources: credentials, rate limits, base-URL variables, last update, status."""
    from rich.console import Console
    from rich.table import Table

    from .update import list_sources

    from .api import store_path

    try:
        rows = list_sources(store_path(store))
    except BtcmacroError as e:
        _fail(e)
    t = Table(title="btcmacro sources")
    for col in ("id", "credentials", "rate limit", "URL variables", "last update", "status"):
        t.add_column(col)
    problems: dict[str, list[str]] = {}  # reason -> credentials it hides
    for r in rows:
        creds = ", ".join(_cred_cell(c) for c in r["credentials"]) or "none"
        for c in r["credentials"]:
            if c.get("problem") and c["name"] not in problems.setdefault(c["problem"], []):
                problems[c["problem"]].append(c["name"])
        t.add_row(r["id"], creds, r["rate_limit"], " ".join(r["url_vars"]), r["last_update"] or "-",
                  r["status"])
    Console().print(t)
    for why, names in problems.items():  # why a key that may be on disk is not used
        Console(stderr=True).print(f"warning: {' and '.join(names)} not set: {redact(why)}",
                                   markup=False, highlight=False, soft_wrap=True)


def _cred_cell(c: dict) -> str:
    if c["set"]:
        return f"{c['name']} (set)"
    return f"{c['name']} (not set: see below)" if c.get("problem") else f"{c['name']} (not set)"


def register(app: typer.Typer) -> None:
    """Add ``update`` and ``sources`` to the main Typer app."""
    app.command("update")(update_cmd)
    app.command("sources")(sources_cmd)
