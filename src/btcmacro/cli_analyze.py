"""``btcmacro analyze ...``: the research commands (thin: parse, call :mod:`btcmacro.research`, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

FMT_HELP = "md | json | html"


def _check_fmt(fmt: str) -> None:
    from .errors import UsageError
    from .research import render

    if fmt not in render.FORMATS:
        raise UsageError(f"unknown format {fmt!r} (expected one of: {', '.join(render.FORMATS)})", where="--format")


def _write(doc, fmt: str, out: Optional[Path]) -> None:
    from .research import render

    _check_fmt(fmt)
    figs = None
    if out is not None and str(out) != "-" and fmt == "md":
        figs = {}
        for s in doc.sections:
            for f in s.figures:
                png = out.with_name(f"{out.stem}-{f.name}.png")
                render.save_png(f, png)
                figs[f.name] = png.name
    text = render.render(doc, fmt, figs)
    if out is None or str(out) == "-":
        typer.echo(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` sub-app to the main CLI."""
    from .cli import StoreOpt, handled

    analyze = typer.Typer(no_args_is_help=True,
                          help="Research: liquidity vs rates, FOMC event study, point-in-time regime backtest.")
    app.add_typer(analyze, name="analyze")

    @analyze.command("sensitivity")
    @handled
    def sensitivity(
        start: Optional[str] = typer.Option(None, "--start", help="YYYY-MM-DD (default 2013-01-01)"),
        end: Optional[str] = typer.Option(None, "--end", help="YYYY-MM-DD (default: last date every input has data)"),
        freq: str = typer.Option("W", "--freq", help="W (H.4.1 Wednesdays) | M (month ends)"),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="use only data published by this date"),
        fmt: str = typer.Option("md", "--format", help=FMT_HELP),
        out: Optional[Path] = typer.Option(None, "--out", help="output file (default stdout)"),
        store: Optional[Path] = StoreOpt,
    ):
        """BTC returns on liquidity and rate changes: HAC betas, rolling betas, lead-lag, Granger, verdict."""
        from . import api
        from .research import sensitivity as S

        _check_fmt(fmt)
        with api.open_store(store) as st:
            r = S.sensitivity(start, end, freq.upper(), as_of=as_of, store=st)
        _write(r.to_doc(), fmt, out)

    @analyze.command("fomc")
    @handled
    def fomc(
        window: str = typer.Option("-5,+10", "--window", help="event window in trading days, e.g. -5,+10"),
        est_days: int = typer.Option(60, "--est-days", help="estimation window (trading days)"),
        fmt: str = typer.Option("md", "--format", help=FMT_HELP),
        out: Optional[Path] = typer.Option(None, "--out", help="output file (default stdout)"),
        store: Optional[Path] = StoreOpt,
    ):
        """Event study of BTC, gold, DXY and the 10y yield around FOMC decisions."""
        from . import api
        from .research import fomc_events as F

        _check_fmt(fmt)
        w = F.parse_window(window)
        with api.open_store(store) as st:
            r = F.fomc_event_study(w, est_days=est_days, store=st)
        _write(r.to_doc(), fmt, out)

    @analyze.command("backtest")
    @handled
    def backtest(
        rules: Optional[Path] = typer.Option(None, "--rules", help="rules TOML (default: the built-in rules)"),
        start: Optional[str] = typer.Option(None, "--start", help="YYYY-MM-DD (default 2015-01-01)"),
        end: Optional[str] = typer.Option(None, "--end", help="YYYY-MM-DD (default: latest data)"),
        step: str = typer.Option("W", "--step", help="D | W | 2W | M"),
        horizons: str = typer.Option("30,90", "--horizons", help="forward-return horizons in days"),
        fmt: str = typer.Option("md", "--format", help=FMT_HELP),
        out: Optional[Path] = typer.Option(None, "--out", help="output file (default stdout)"),
        store: Optional[Path] = StoreOpt,
    ):
        """Regimes computed as of each past date (no look-ahead) and BTC forward returns by regime."""
        from . import api
        from .errors import ConfigError, UsageError
        from .research import backtest as B

        _check_fmt(fmt)
        if rules is not None and not rules.is_file():
            raise ConfigError("rules file not found", where=str(rules))
        try:
            hs = tuple(int(x) for x in horizons.split(","))
        except ValueError:
            raise UsageError(f"bad horizons {horizons!r} (expected e.g. 30,90)", where="--horizons") from None

        def progress(i, n):
            if i == n or i % 25 == 0:
                typer.echo(f"\r{i}/{n} dates", err=True, nl=i == n)

        with api.open_store(store) as st:
            r = B.backtest(rules, start, end, step.upper(), hs, store=st, progress=progress)
        _write(r.to_doc(), fmt, out)

    @analyze.command("scenarios")
    @handled
    def scenarios(
        start: Optional[str] = typer.Option(None, "--start", help="YYYY-MM-DD (default 2017-01-01)"),
        end: Optional[str] = typer.Option(None, "--end", help="YYYY-MM-DD (default: latest price)"),
        rules: Optional[Path] = typer.Option(None, "--rules", help="rules TOML (default: the built-in rules)"),
        fmt: str = typer.Option("md", "--format", help=FMT_HELP),
        out: Optional[Path] = typer.Option(None, "--out", help="output file (default stdout)"),
        store: Optional[Path] = StoreOpt,
    ):
        """Score every past FOMC scenario map: built on each eve, checked against what happened."""
        from . import api
        from .errors import ConfigError
        from .research import scenarios as SC

        _check_fmt(fmt)
        if rules is not None and not rules.is_file():
            raise ConfigError("rules file not found", where=str(rules))

        def progress(i, n):
            if i == n or i % 10 == 0:
                typer.echo(f"\r{i}/{n} meetings", err=True, nl=i == n)

        with api.open_store(store) as st:
            r = SC.scorecard(start, end, rules_path=rules, store=st, progress=progress)
        _write(r.to_doc(), fmt, out)
