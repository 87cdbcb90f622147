"""``btcmacro watch``: update -> brief on a schedule (or once), one line per regime flip or fired trigger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    from .cli import StoreOpt, handled

    @app.command("watch")
    @handled
    def watch(
        once: bool = typer.Option(False, "--once", help="run one cycle and exit"),
        every: float = typer.Option(60.0, "--every", help="minutes between cycles (default 60)"),
        runs: Optional[int] = typer.Option(None, "--runs", help="stop after this many cycles (default: until interrupted)"),
        log: Optional[Path] = typer.Option(None, "--log", help="JSON-lines log (default: watch.jsonl beside the store)"),
        source: Optional[list[str]] = typer.Option(None, "--source", "-s", help="sources to update (repeatable); default all"),
        no_update: bool = typer.Option(False, "--no-update", help="do not fetch: watch the store as it is"),
        rules: Optional[Path] = typer.Option(None, "--rules", help="rules TOML overriding the defaults"),
        store: Optional[Path] = StoreOpt,
    ):
        """Update, rebuild the briefing and print one line per regime flip or fired price trigger.

        Each change also goes to the JSON-lines log with the run's state, so the next run (or
        cron, a systemd timer, a notifier) knows what changed. Exit 0 unless a cycle fails."""
        from . import config
        from .errors import UsageError
        from .watch import describe, run_once

        if every <= 0:
            raise UsageError(f"--every must be above 0 minutes, got {every}", where="--every")
        if runs is not None and runs < 1:
            raise UsageError(f"--runs must be at least 1, got {runs}", where="--runs")
        path = Path(store) if store else config.default_store_path()
        log_path = log or path.with_name("watch.jsonl")
        total = 1 if once else runs
        n = 0
        while True:
            n += 1
            r = run_once(path, log_path, sources=source, update=not no_update, rules_path=rules)
            for err in r.update_errors:
                typer.echo(f"update: {err}", err=True)
            for e in r.events:
                typer.echo(describe(e))
            if r.baseline:
                typer.echo(f"watch: baseline recorded for {r.as_of} in {log_path}", err=True)
            elif not r.events:
                typer.echo(f"watch: no change as of {r.as_of}", err=True)
            if total is not None and n >= total:
                break
            time.sleep(every * 60.0)

