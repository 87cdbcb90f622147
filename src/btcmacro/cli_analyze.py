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
    """Print, or write ``out`` atomically (checked by :mod:`btcmacro.inputs`: regular files only);
    Markdown's figures go next to it as ``<stem>-<figure>.png``."""
    from .inputs import output_file, write_atomic, write_text_atomic
    from .research import render

    _check_fmt(fmt)
    figs = None
    to_file = out is not None and str(out) != "-"
    if to_file:
        out = output_file(out)
        if fmt == "md":
            figs = {}
            for s in doc.sections:
                for f in s.figures:
                    png = output_file(out.with_name(f"{out.stem}-{f.name}.png"))
                    figs[f.name] = png.name

            def draw(tmp: Path, f) -> None:
                with open(tmp, "wb") as fh:
                    render.save_png(f, fh)

            for s in doc.sections:
                for f in s.figures:
                    write_atomic(out.with_name(figs[f.name]), lambda tmp, f=f: draw(tmp, f))
    text = render.render(doc, fmt, figs)
    if not to_file:
        typer.echo(text)
    else:
        write_text_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` sub-app to the main CLI."""
    from .cli import StoreOpt, handled

    analyze = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
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

        from .inputs import parse_date, parse_range

        _check_fmt(fmt)
        start, end = parse_range(start, end)
        as_of = parse_date(as_of, "--as-of")
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

        from .inputs import parse_range

        _check_fmt(fmt)
        start, end = parse_range(start, end)
        if rules is not None and not rules.is_file():
            raise ConfigError("rules file not found" if not rules.exists() else "the rules file is not a file",
                              where=str(rules))
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
