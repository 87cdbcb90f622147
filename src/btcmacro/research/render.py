"""Rendering research results: one document model, three formats (Markdown, JSON, HTML).

Every result object builds a :class:`Doc` (title, paragraphs, tables, figures); every table
carries a caption that states its sample, frequency and method, so a table copied out of a report
still says what it is. The renderers only format: no numbers are computed here.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

FORMATS = ("md", "json", "html")


@dataclass
class Table:
    """A table with the caption that says sample, frequency and method."""

    name: str
    caption: str
    frame: pd.DataFrame
    floatfmt: str = "{:.4g}"


@dataclass
class Figure:
    """A line chart: one column per line, indexed by date."""

    name: str
    caption: str
    frame: pd.DataFrame
    ylabel: str = ""


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Doc:
    title: str
    summary: list[str]
    sections: list[Section]
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _plain(v):
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _cell(v, floatfmt: str) -> str:
    if v is None:
        return ""
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if math.isnan(float(v)):
            return "–"
        return floatfmt.format(float(v))
    return str(v)


def _rows(t: Table) -> tuple[list[str], list[list[str]]]:
    f = t.frame
    idx_name = f.index.name or ""
    show_index = not isinstance(f.index, pd.RangeIndex)
    cols = ([idx_name] if show_index else []) + [str(c) for c in f.columns]
    rows = []
    for i, r in f.iterrows():
        cells = [_cell(x, t.floatfmt) for x in r.tolist()]
        rows.append(([_cell(i, t.floatfmt)] if show_index else []) + cells)
    return cols, rows


# ----------------------------------------------------------------------------------------------
# formats
# ----------------------------------------------------------------------------------------------


def to_markdown(doc: Doc, figure_paths: dict[str, str] | None = None) -> str:
    """Markdown text; ``figure_paths`` maps figure names to image files (else a data note)."""
    out = [f"# {doc.title}", ""]
    out += [p + "\n" for p in doc.summary]
    for s in doc.sections:
        out += [f"## {s.heading}", ""]
        out += [p + "\n" for p in s.paragraphs]
        for t in s.tables:
            cols, rows = _rows(t)
            out.append(f"*{t.caption}*")
            out.append("")
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "|".join("---" for _ in cols) + "|")
            out += ["| " + " | ".join(r) + " |" for r in rows]
            out.append("")
        for fig in s.figures:
            path = (figure_paths or {}).get(fig.name)
            if path:
                out.append(f"![{fig.caption}]({path})")
                out.append("")
            out.append(f"*{fig.caption}*")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def to_json(doc: Doc) -> dict:
    """A JSON-ready dict: tables as lists of records with their captions."""

    def records(f: pd.DataFrame) -> list[dict]:
        g = f if isinstance(f.index, pd.RangeIndex) else f.reset_index()
        return [{str(k): _plain(v) for k, v in r.items()} for r in g.to_dict(orient="records")]

    return {
        "title": doc.title,
        "summary": doc.summary,
        "meta": _plain(doc.meta),
        "sections": [
            {"heading": s.heading, "paragraphs": s.paragraphs,
             "tables": [{"name": t.name, "caption": t.caption, "rows": records(t.frame)} for t in s.tables],
             "figures": [{"name": f.name, "caption": f.caption, "rows": records(f.frame)} for f in s.figures]}
            for s in doc.sections
        ],
    }


def to_html(doc: Doc) -> str:
    """One self-contained HTML page (Plotly JS embedded, so it opens offline)."""
    parts = [f"<h1>{html.escape(doc.title)}</h1>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in doc.summary]
    first_fig = True
    for s in doc.sections:
        parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            cols, rows = _rows(t)
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
            parts.append(f"<table><caption>{html.escape(t.caption)}</caption><thead><tr>{head}</tr></thead>"
                         f"<tbody>{body}</tbody></table>")
        for fig in s.figures:
            parts.append(_plotly_div(fig, include_js=first_fig))
            first_fig = False
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "caption{caption-side:top;text-align:left;font-style:italic;padding:4px 0}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(doc.title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")


def _plotly_div(fig: Figure, include_js: bool) -> str:
    import plotly.graph_objects as go

    g = go.Figure()
    for c in fig.frame.columns:
        s = fig.frame[c].dropna()
        x = [d.date().isoformat() for d in s.index] if isinstance(s.index, pd.DatetimeIndex) else s.index.to_list()
        g.add_trace(go.Scatter(x=x, y=s.to_list(), mode="lines", name=str(c)))
    g.update_layout(title=fig.caption, yaxis_title=fig.ylabel, height=420, margin=dict(l=50, r=20, t=60, b=40))
    return g.to_html(full_html=False, include_plotlyjs=True if include_js else False)


def save_png(fig: Figure, path) -> None:
    """A static PNG of a figure (for Markdown reports)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f, ax = plt.subplots(figsize=(9, 4))
    for c in fig.frame.columns:
        s = fig.frame[c].dropna()
        ax.plot(s.index, s.to_numpy(), label=str(c), lw=1.2)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel(fig.ylabel)
    ax.set_title(fig.caption, fontsize=8, wrap=True)
    ax.legend(fontsize=8)
    f.tight_layout()
    f.savefig(path, dpi=110)
    plt.close(f)


def render(doc: Doc, fmt: str, figure_paths: dict[str, str] | None = None) -> str:
    """Text of ``doc`` in ``fmt`` (md | json | html)."""
    if fmt == "md":
        return to_markdown(doc, figure_paths)
    if fmt == "json":
        return json.dumps(to_json(doc), ensure_ascii=False, indent=1)
    if fmt == "html":
        return to_html(doc)
    from ..errors import UsageError

    raise UsageError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})", where="--format")
