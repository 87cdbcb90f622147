"""Static inline SVG charts for the HTML and PDF briefing (no JavaScript, a few kB each).

A chart plan (:func:`btcmacro.report.charts.plan`) is drawn here as one ``<svg>`` element with a
``viewBox``, so it scales to any width without horizontal overflow. Axis ticks are round numbers
(1, 2, 2.5 or 5 times a power of ten); dates are ticked on month or year boundaries. Lines are
thinned to at most :data:`MAX_POINTS` points (the last point always kept), which keeps a chart
of two years of daily data near 10 kB.

Level labels (price chart) are placed by :func:`btcmacro.report.charts.spread_labels` on the
pixel scale with a gap of one line of text, so their boxes never overlap; event markers
(FOMC decisions, QT start and end, RMP start) are vertical rules whose labels are stacked in
rows so that they never overlap either.
"""

from __future__ import annotations

import math
from html import escape

W, H = 720, 360
#: the phone rendering (shown below 640 px by the page's CSS): fewer pixels, so its text is larger
NARROW = {"width": 440, "height": 340, "label_area": 150, "max_labels": 4}
MAX_POINTS = 320
FONT = 12
#: the page's font stack, spelled out (a PDF renderer does not inherit it into SVG): Traditional
#: Chinese glyphs come from a TC font, not a Japanese or Simplified one
FONT_FAMILY = ("system-ui, -apple-system, 'Segoe UI', 'Noto Sans TC', 'Noto Sans CJK TC', 'PingFang TC', "
               "'Microsoft JhengHei', sans-serif")
#: Traditional Chinese charts name a TC font first (a renderer's own fallback may pick a JP or SC one)
FONT_FAMILY_TC = ("'Noto Sans CJK TC', 'Noto Sans TC', 'PingFang TC', 'Microsoft JhengHei', system-ui, "
                  "'Segoe UI', sans-serif")
LABEL_GAP = 18  # px between level-label baselines: one line of 11 px text (CJK fonts are ~1.45 em tall)
LABEL_AREA = 200  # px right of the plot for the level labels


def nice_step(span: float, n: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about ``n`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / n
    k = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** k >= raw:
            return m * 10 ** k
    return 10 ** (k + 1)


def nice_ticks(lo: float, hi: float, n: int = 5) -> tuple[list[float], float, float]:
    """Round ticks covering ``[lo, hi]``: ``(ticks, axis_lo, axis_hi)``."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, n)
    a = math.floor(lo / step + 1e-9) * step
    b = math.ceil(hi / step - 1e-9) * step
    ticks, t = [], a
    while t <= b + step * 1e-6:
        ticks.append(round(t, 10))
        t += step
    return ticks, a, b


def tick_text(v: float, step: float) -> str:
    """A tick label with just the decimals its step needs (``2.5`` steps keep one)."""
    if step >= 1 and float(v).is_integer():
        return f"{v:,.0f}"
    dec = max(0, -math.floor(math.log10(step)) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6) == 2.5 else 0))
    return f"{v:,.{dec}f}"


def date_ticks(x0, x1, fmt_month, width: float = 600.0, size: float = FONT) -> list[tuple]:
    """Month-boundary ticks between two Timestamps: every 1, 3, 6, 12 or 24 months, the
    smallest step whose labels (``fmt_month``) fit side by side in ``width`` px."""
    import pandas as pd

    months = max(1, (x1.year - x0.year) * 12 + x1.month - x0.month)
    label_w = text_width(fmt_month(pd.Timestamp(year=2000, month=12, day=1)), size) + 12
    every = next((e for e in (1, 3, 6, 12, 24) if months / e * label_w <= width), 24)
    start = pd.Timestamp(year=x0.year, month=x0.month, day=1)
    if start < x0:
        start = start + pd.DateOffset(months=1)
    while (start.month - 1) % every:
        start = start + pd.DateOffset(months=1)
    out = []
    t = start
    while t <= x1:
        out.append((t, fmt_month(t)))
        t = t + pd.DateOffset(months=every)
    return out


def _thin(xs: list, ys: list) -> tuple[list, list]:
    n = len(xs)
    if n <= MAX_POINTS:
        return xs, ys
    k = math.ceil(n / MAX_POINTS)
    idx = list(range(0, n, k))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]


def text_width(text: str, size: float = 11) -> float:
    """Approximate rendered width in px: CJK and full-width characters count one em, others
    about 0.6 em (a conservative estimate for the sans-serif fonts the page asks for)."""
    import unicodedata

    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else 0.6 * size for ch in text)


def fit(text: str, max_px: float, size: float = 11) -> str:
    """``text`` cut with an ellipsis so that it fits ``max_px``."""
    if text_width(text, size) <= max_px:
        return text
    while text and text_width(text + "…", size) > max_px:
        text = text[:-1]
    return text.rstrip() + "…"


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def render(p: dict, fmt_month, *, colors, band_colors, hodl_colors, width: int = W, height: int = H,
           label_area: int = LABEL_AREA, max_labels: int | None = None, font_family: str = FONT_FAMILY) -> str:
    """The chart plan ``p`` as an inline ``<svg>`` string.

    ``p`` is a plan from :func:`btcmacro.report.charts.plan` (traces in display units, bands,
    ``refs`` — horizontal reference lines —, ``events`` — vertical markers — and ``labels`` — the
    level labels to print). ``fmt_month(Timestamp)`` formats an x tick in the briefing's language.
    """
    import pandas as pd

    traces = p["traces"]
    left = [t for t in traces if t.trace.axis == "y"]
    right = [t for t in traces if t.trace.axis == "y2"]
    labels = p.get("labels") or []
    if max_labels is not None and len(labels) > max_labels and traces and traces[0].y:
        last = traces[0].y[-1]
        labels = sorted(sorted(labels, key=lambda b: abs((b["low"] + b["high"]) / 2 - last))[:max_labels],
                        key=lambda b: b["low"])
    W, H = width, height
    x0 = min(t.x[0] for t in traces)
    x1 = max(t.x[-1] for t in traces)
    if p.get("x_range"):
        x0, x1 = (pd.Timestamp(v) for v in p["x_range"])
    if x1 <= x0:
        x1 = x0 + pd.Timedelta(days=1)
    ml, mr, mt, mb = 58, (60 if right else 14) + (label_area if labels else 0), 28, 30
    pw, ph = W - ml - mr, H - mt - mb

    def sx(d) -> float:
        return ml + pw * (pd.Timestamp(d) - x0) / (x1 - x0)

    def axis(ts, extra=()):
        vals = [v for t in ts for v in t.y if v is not None and math.isfinite(v)]
        vals += [v for v in extra if v is not None and math.isfinite(v)]
        if not vals:
            return [0.0, 1.0], 0.0, 1.0
        if any(t.trace.style in ("area", "bar") for t in ts):
            vals.append(0.0)
        return nice_ticks(min(vals), max(vals))

    stack = [t for t in left if t.trace.style == "stack"]
    if stack:
        lt, la, lb = [0, 25, 50, 75, 100], 0.0, 100.0
    else:
        extra = [r["y"] for r in p.get("refs") or [] if r.get("axis", "y") == "y"]
        extra += [b["low"] for b in labels] + [b["high"] for b in labels]
        lt, la, lb = axis(left, extra)
    rt, ra, rb = axis(right, [r["y"] for r in p.get("refs") or [] if r.get("axis") == "y2"]) if right else ([], 0, 1)

    def sy(v, a, b) -> float:
        return mt + ph * (1 - (v - a) / ((b - a) or 1))

    out = [f'<svg class="chart-svg" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(p["title"])}" '
           f'xmlns="http://www.w3.org/2000/svg" font-family="{font_family}" font-size="{FONT}">']
    # grid and y ticks
    step = (lt[1] - lt[0]) if len(lt) > 1 else 1
    for v in lt:
        y = sy(v, la, lb)
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{_f(y)}" y2="{_f(y)}" stroke="#e5e8ee"/>')
        out.append(f'<text x="{ml - 6}" y="{_f(y + 4)}" text-anchor="end" fill="#5b6575">{tick_text(v, step)}</text>')
    if right:
        rstep = (rt[1] - rt[0]) if len(rt) > 1 else 1
        for v in rt:
            y = sy(v, ra, rb)
            out.append(f'<text x="{ml + pw + 6}" y="{_f(y + 4)}" fill="#5b6575">{tick_text(v, rstep)}</text>')
    if left:
        out.append(f'<text x="4" y="{mt - 12}" fill="#5b6575">{escape(left[0].axis_label)}</text>')
    if right:
        out.append(f'<text x="{ml + pw + 56}" y="{mt - 12}" text-anchor="end" fill="#5b6575">'
                   f'{escape(right[0].axis_label)}</text>')
    for t, lab in date_ticks(x0, x1, fmt_month, pw):
        x = sx(t)
        out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#8a93a3"/>')
        out.append(f'<text x="{_f(x)}" y="{mt + ph + 17}" text-anchor="middle" fill="#5b6575">{escape(lab)}</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#8a93a3"/>')
    # level bands
    for b in p.get("bands") or []:
        lo, hi = b["low"], b["high"]
        if hi < la or lo > lb:
            continue
        y0, y1 = sy(min(hi, lb), la, lb), sy(max(lo, la), la, lb)
        if y1 - y0 < 1.5:
            y0, y1 = (y0 + y1) / 2 - 0.75, (y0 + y1) / 2 + 0.75
        out.append(f'<rect x="{ml}" y="{_f(y0)}" width="{pw}" height="{_f(y1 - y0)}" '
                   f'fill="{band_colors.get(b["kind"], "rgba(128,128,128,0.15)")}"/>')
    # reference lines
    for r in p.get("refs") or []:
        a, b = (ra, rb) if r.get("axis") == "y2" else (la, lb)
        y = sy(r["y"], a, b)
        out.append(f'<line class="ref" x1="{ml}" x2="{ml + pw}" y1="{_f(y)}" y2="{_f(y)}" stroke="#a33" '
                   f'stroke-dasharray="6 4" stroke-width="1.4"/>')
        out.append(f'<text class="ref-label" x="{ml + 4}" y="{_f(y - 4)}" fill="#a33">{escape(r["label"])}</text>')
    # event markers: labels stacked in rows so they never overlap
    rows: list[list[tuple[float, float]]] = []  # the [left, right] spans taken in each row
    for ev in p.get("events") or []:
        d = pd.Timestamp(ev["date"])
        if d < x0 or d > x1:
            continue
        x = sx(d)
        if ev.get("minor"):
            out.append(f'<line class="event minor" x1="{_f(x)}" x2="{_f(x)}" y1="{mt + ph - 6}" y2="{mt + ph}" '
                       f'stroke="#8064a2" stroke-width="1.2"><title>{escape(ev["label"])}</title></line>')
            continue
        width = text_width(ev["label"], 11)
        if x + 3 + width <= W - 2:  # to the right of its line
            left = x + 3
        elif x - 3 - width >= 2:  # to the left of its line
            left = x - 3 - width
        else:  # wider than either side: as far right as the chart allows
            left = max(2.0, W - 2 - width)
        span = (left - 4, left + width + 4)
        row = next((i for i, taken in enumerate(rows)
                    if all(span[1] <= a or span[0] >= b for a, b in taken)), None)
        if row is None:
            rows.append([])
            row = len(rows) - 1
        rows[row].append(span)
        y = mt + 12 + 17 * row
        out.append(f'<line class="event" x1="{_f(x)}" x2="{_f(x)}" y1="{mt}" y2="{mt + ph}" stroke="#8064a2" '
                   f'stroke-dasharray="3 3"/>')
        out.append(f'<text class="event-label" x="{_f(left)}" y="{_f(y)}" fill="#5a3f85" font-size="11">'
                   f'{escape(ev["label"])}</text>')
    # traces
    if stack:
        base = [0.0] * len(stack[0].y)
        for i, t in enumerate(stack):
            top = [b + (v or 0.0) for b, v in zip(base, t.y)]
            xs, tops = _thin(list(t.x), top)
            _, bases = _thin(list(t.x), base)
            pts = [f"{_f(sx(x))},{_f(sy(v, la, lb))}" for x, v in zip(xs, tops)]
            pts += [f"{_f(sx(x))},{_f(sy(v, la, lb))}" for x, v in reversed(list(zip(xs, bases)))]
            out.append(f'<polygon points="{" ".join(pts)}" fill="{hodl_colors[i % len(hodl_colors)]}"/>')
            base = top
    for i, t in enumerate(traces):
        if t.trace.style == "stack":
            continue
        color = colors[i % len(colors)]
        a, b = (ra, rb) if t.trace.axis == "y2" else (la, lb)
        if t.trace.style == "bar":
            n = max(len(t.x), 1)
            bw = max(1.0, 0.7 * pw / n)
            zero = sy(0.0, a, b)
            for x, v in zip(t.x, t.y):
                if v is None or not math.isfinite(v):
                    continue
                y = sy(v, a, b)
                out.append(f'<rect x="{_f(sx(x) - bw / 2)}" y="{_f(min(y, zero))}" width="{_f(bw)}" '
                           f'height="{_f(abs(zero - y))}" fill="{"#c0504d" if v < 0 else color}"/>')
            continue
        xs, ys = _thin(list(t.x), list(t.y))
        pts = " ".join(f"{_f(sx(x))},{_f(sy(v, a, b))}" for x, v in zip(xs, ys) if v is not None and math.isfinite(v))
        if t.trace.style == "area" and xs:
            zero = sy(max(a, min(0.0, b)), a, b)
            out.append(f'<polygon points="{_f(sx(xs[0]))},{_f(zero)} {pts} {_f(sx(xs[-1]))},{_f(zero)}" '
                       f'fill="{color}" fill-opacity="0.15"/>')
        dash = {"dot": ' stroke-dasharray="2 3"', "dash": ' stroke-dasharray="7 4"',
                "dashdot": ' stroke-dasharray="7 3 2 3"'}.get(t.trace.dash, "")
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>')
    # level labels at the right, spread so that their boxes never overlap
    if labels:
        from .charts import spread_labels

        ys = spread_labels([sy((b["low"] + b["high"]) / 2, la, lb) for b in labels], LABEL_GAP)
        for b, y in zip(labels, ys):
            ymid = sy((b["low"] + b["high"]) / 2, la, lb)
            color = "#a33" if b["kind"] == "resistance" else "#3a7a2a" if b["kind"] == "support" else "#5b6575"
            out.append(f'<line x1="{ml + pw}" x2="{ml + pw + 8}" y1="{_f(ymid)}" y2="{_f(y - 4)}" stroke="{color}"/>')
            out.append(f'<text class="level-label" x="{ml + pw + 10}" y="{_f(y)}" fill="{color}" font-size="11">'
                       f'<title>{escape(b["label"])}</title>{escape(fit(b["label"], label_area - 14))}</text>')
    out.append("</svg>")
    return "".join(out)
