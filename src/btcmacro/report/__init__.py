"""The briefing as HTML, Markdown, JSON and PDF, in English and Traditional Chinese.

>>> from btcmacro import api, report
>>> b = api.briefing("2025-12-09")
>>> report.write(b, fmt="html", lang="zh-TW", out=None)   # ./btcmacro-brief-2025-12-09-zh-TW.html

* :func:`render` returns the text of one format (HTML: the client note then the analyst
  appendix, with static inline SVG charts and no script; Markdown without charts; JSON =
  ``briefing.to_json()``); :func:`render_pdf` the A4 PDF (that HTML printed by WeasyPrint).
* :func:`write` writes a file atomically (temp file in the same directory + ``os.replace``);
  Markdown gets its PNG charts in ``<stem>_files/`` next to it.
* :func:`render_sections` gives the translated, structured sections (for the dashboard).

Every sentence comes from a catalogue template (``i18n/<lang>.toml``) fed by the briefing's
values; the report computes nothing itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

FORMATS = ("html", "md", "json", "pdf")
LANGS = ("en", "zh-TW")
EXTENSIONS = {"html": "html", "md": "md", "json": "json", "pdf": "pdf"}

__all__ = ["FORMATS", "LANGS", "render", "render_pdf", "render_sections", "write", "default_filename", "to_json_text"]


def _check(fmt: str, lang: str) -> None:
    from ..errors import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})", where="--format")
    if lang not in LANGS:
        raise UsageError(f"unknown language {lang!r} (expected one of: {', '.join(LANGS)})", where="--lang")


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("btcmacro.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def render_sections(briefing, lang: str = "en") -> list[dict]:
    """The briefing's sections, translated and formatted (summary first, appendix and notes last).

    Each item is a dict with ``id`` and ``title`` plus the section's content (see
    :func:`btcmacro.report.builder.build`); chart entries are chart ids described in
    ``"chart_plans"``.
    """
    from . import builder, charts
    from .i18n import catalog

    _check("json", lang)
    doc = builder.build(briefing, lang)
    ctx = builder.Ctx(briefing, lang)
    plans = {cid: charts.describe(charts.plan(ctx, cid)) for cid in charts.chart_ids()}
    out = [{"id": "summary", **doc["summary"]}]
    for sec in doc["sections"]:
        out.append({**sec, "chart_plans": [plans[c] for c in sec["charts"]]})
    out.append({"id": "appendix", **doc["appendix"]})
    out.append({"id": "notes", **doc["notes"]})
    del catalog
    return out


def to_json_text(briefing) -> str:
    """``briefing.to_json()`` as JSON text (plain numbers; NaN is never written)."""
    return json.dumps(briefing.to_json(), ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def _labels(lang: str) -> dict:
    from .i18n import catalog

    c = catalog(lang)
    return {k.split(".", 1)[1]: c.t(k) for k, v in c.d.items()
            if (k.startswith("label.") or k.startswith("ui.")) and "{{" not in v}


def _chart_entry(ctx, p: dict, *, drawn: str = "") -> dict:
    """A chart plan as the templates use it: title, caption, source line, legend, drawing."""
    from . import charts

    c = ctx.cat
    cap = p.get("caption") or {}
    source_line = c.t("chart.source_line", source=cap.get("source", ""), date=cap.get("date", ""),
                      window=cap.get("window", "")) if cap else ""
    legend = [(t.name, charts.HODL_COLORS[i % len(charts.HODL_COLORS)] if t.trace.style == "stack"
               else charts.COLORS[i % len(charts.COLORS)]) for i, t in enumerate(p["traces"])]
    return {"title": p["title"], "fallback": p["fallback"], "note": p["note"], "caption": cap,
            "source_line": source_line, "legend": legend, "svg": drawn, "png": "",
            "more_levels": len(p.get("bands") or []) > len(p.get("labels") or []),
            # a chart whose only missing series are unavailable metrics says nothing more: the
            # appendix lists each unavailable figure once, with its reason
            "fallback_shown": p["fallback"] if p["fallback"] and not p.get("unavailable_only") else ""}


def _client_charts(chart_out: dict) -> list[str]:
    from . import charts

    return [cid for cid in charts.CLIENT_CHARTS if cid in chart_out and not chart_out[cid]["fallback"]]


def _render_html(briefing, lang: str) -> str:
    """One self-contained page: the client note, then the analyst appendix; static SVG charts."""
    from markupsafe import Markup

    from . import builder, charts

    doc = builder.build(briefing, lang)
    doc.setdefault("first_screen", None)  # the thesis screen (issue 11), when the builder provides it
    ctx = builder.Ctx(briefing, lang)
    chart_out = {}
    for cid in charts.chart_ids():
        p = charts.plan(ctx, cid)
        chart_out[cid] = _chart_entry(ctx, p, drawn=Markup(charts.svg(ctx, p)) if not p["fallback"] else "")
        chart_out[cid]["svg_narrow"] = Markup(charts.svg(ctx, p, narrow=True)) if not p["fallback"] else ""
    tpl = _env().get_template("briefing.html.j2")
    return tpl.render(doc=doc, charts=chart_out, client_charts=_client_charts(chart_out), lbl=_labels(lang),
                      sep=ctx.cat.t("fmt.list_sep"), colon=ctx.cat.t("fmt.colon_sep"))


def _render_pdf(briefing, lang: str) -> bytes:
    """The HTML page printed to A4 by WeasyPrint (static SVG charts, fonts embedded as subsets)."""
    import logging

    from ..errors import UsageError

    try:
        import weasyprint
    except (ImportError, OSError) as e:  # OSError: the Pango library is missing
        raise UsageError(f"PDF output needs WeasyPrint and Pango ({e}); install them or choose --format html",
                         where="--format") from None
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = _render_html(briefing, lang)
    return weasyprint.HTML(string=html).write_pdf()


def _render_md(briefing, lang: str, chart_dir: Path | None = None, rel: str = "") -> str:
    """Markdown; with ``chart_dir`` the PNGs are written there and referenced as ``rel/<id>.png``."""
    from . import builder, charts

    doc = builder.build(briefing, lang)
    doc.setdefault("first_screen", None)
    ctx = builder.Ctx(briefing, lang)
    chart_out = {}
    note = "" if chart_dir is not None else ctx.cat.t("label.charts_skipped_stdout")
    jobs = []
    for cid in charts.chart_ids():
        p = charts.plan(ctx, cid)
        entry = _chart_entry(ctx, p)
        if chart_dir is not None and not p["fallback"]:
            jobs.append((chart_dir / f"{cid}.png", p))
            entry["png"] = f"{rel}/{cid}.png" if rel else f"{cid}.png"
        chart_out[cid] = entry
    _write_pngs(jobs, lang)
    if chart_dir is not None and jobs:
        note = ctx.cat.t("ui.chart_folder", folder=rel or chart_dir.name)
    tpl = _env().get_template("briefing.md.j2")
    text = tpl.render(doc=doc, charts=chart_out, client_charts=_client_charts(chart_out), lbl=_labels(lang),
                      sep=ctx.cat.t("fmt.list_sep"), colon=ctx.cat.t("fmt.colon_sep"), charts_note=note)
    return _tidy_md(text)


def _tidy_md(text: str) -> str:
    """Collapse runs of blank lines left by template control blocks."""
    out, blank = [], 0
    for line in text.splitlines():
        if line.strip() == "":
            blank += 1
            if blank > 1:
                continue
        else:
            blank = 0
        out.append(line.rstrip())
    return "\n".join(out).strip() + "\n"


def render(briefing, fmt: str, lang: str = "en") -> str:
    """The briefing as text in ``fmt`` (``html`` | ``md`` | ``json``) and ``lang``.

    HTML is one self-contained page (inline CSS, plotly.js embedded, no network). Markdown
    rendered this way has no charts (it says so in one line); :func:`write` adds PNGs.
    """
    from ..errors import UsageError

    _check(fmt, lang)
    if fmt == "json":
        return to_json_text(briefing)
    if fmt == "html":
        return _render_html(briefing, lang)
    if fmt == "pdf":
        raise UsageError("PDF is binary: use report.render_pdf() or report.write()", where="--format")
    return _render_md(briefing, lang)


def render_pdf(briefing, lang: str = "en") -> bytes:
    """The briefing as an A4 PDF (the HTML page printed by WeasyPrint; CJK fonts embedded)."""
    _check("pdf", lang)
    return _render_pdf(briefing, lang)


def default_filename(briefing, fmt: str, lang: str) -> str:
    """``btcmacro-brief-<as_of>[-zh-TW].<ext>``."""
    suffix = "" if lang == "en" else f"-{lang}"
    return f"btcmacro-brief-{briefing.as_of.date().isoformat()}{suffix}.{EXTENSIONS[fmt]}"


def _png_job(args) -> None:
    from . import charts

    p, tmp, lang = args
    charts.png(p, Path(tmp), lang)


def _write_pngs(jobs: list, lang: str) -> None:
    """Render the PNG charts, in parallel processes where there are cores to spare.

    Each chart is drawn into a temp file next to its target and moved into place only when every
    chart succeeded (matplotlib's drawing dominates a Markdown briefing: ~0.27 s per chart).
    """
    from . import charts

    if not jobs:
        return
    temps = []
    try:
        for target, _ in jobs:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            temps.append(tmp)
        work = [(p, tmp, lang) for (_, p), tmp in zip(jobs, temps)]
        workers = min(len(work), os.cpu_count() or 1)
        done = False
        if workers > 1 and len(work) > 2:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            try:
                ctx = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                    list(pool.map(_png_job, work))
                done = True
            except (OSError, ValueError, RuntimeError, ImportError):
                done = False  # no fork or no processes here: draw them one by one
            except Exception:  # noqa: BLE001 -- e.g. BrokenProcessPool: same fallback
                done = False
        if not done:
            for item in work:
                _png_job(item)
        umask = os.umask(0)
        os.umask(umask)
        for (target, _), tmp in zip(jobs, temps):
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, target)
        temps = []
    finally:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _atomic_write_via(target: Path, produce) -> None:
    """Let ``produce(tmp_path)`` write a temp file next to ``target``, then ``os.replace`` it
    (:func:`btcmacro.inputs.write_atomic`: the target is checked first)."""
    from ..inputs import write_atomic

    write_atomic(target, produce)


def _atomic_write_text(target: Path, text: str) -> None:
    from ..inputs import write_text_atomic

    write_text_atomic(target, text)


def _write_pdf(briefing, lang: str, target: Path) -> Path:
    """Render the PDF, then write it atomically to ``target``."""
    data = _render_pdf(briefing, lang)

    def produce(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    _atomic_write_via(target, produce)
    return target


def write(briefing, *, fmt: str, lang: str = "en", out: Path | None = None) -> Path | None:
    """Write the briefing; return the path written (None when written to stdout).

    Parameters
    ----------
    briefing : btcmacro.api.Briefing
    fmt : {"html", "md", "json", "pdf"}
    lang : {"en", "zh-TW"}
    out : Path or None
        ``None``: ``./btcmacro-brief-<as_of>[-zh-TW].<ext>``; ``Path("-")``: standard output
        (md and json only; Markdown then has no charts). Checked by
        :func:`btcmacro.inputs.output_file`: only a regular file (or a new one in an existing
        directory) is written; a symbolic link is followed and the file it points to replaced.

    Raises
    ------
    btcmacro.errors.UsageError
        Unknown format or language, HTML requested on standard output, or an output path that
        is a directory, a device, a FIFO, a dangling link or in a missing or unwritable directory.
    """
    from ..errors import UsageError

    _check(fmt, lang)
    if out is not None and str(out) == "-":
        if fmt in ("html", "pdf"):
            raise UsageError(f"{fmt.upper()} cannot be written to standard output; give a file name", where="--out")
        sys.stdout.write(render(briefing, fmt, lang))
        sys.stdout.flush()
        return None
    from ..inputs import output_dir, output_file, write_text_atomic

    # checked before anything is rendered or written (btcmacro.inputs: regular files only, links followed)
    target = output_file(out if out is not None else Path.cwd() / default_filename(briefing, fmt, lang))
    if fmt == "md":
        files = output_dir(target.parent / f"{target.stem}_files")
        for cid in _chart_ids():
            output_file(files / f"{cid}.png")
        text = _render_md(briefing, lang, chart_dir=files, rel=f"{target.stem}_files")
    elif fmt == "pdf":
        return _write_pdf(briefing, lang, target)
    else:
        text = render(briefing, fmt, lang)
    return write_text_atomic(target, text)


def _chart_ids() -> list[str]:
    from . import charts

    return list(charts.chart_ids())
