"""Translation catalogues and number / date formatting for the briefing.

One catalogue per language (``i18n/en.toml``, ``i18n/zh-TW.toml``), both with exactly the same
keys: section titles, labels, sentence templates (Jinja2 syntax), regime and state names, unit
texts, status texts and the texts of the reasons and notes the library produces in English.

Reasons and notes arrive from the library as English text. :meth:`Catalog.reason` and
:meth:`Catalog.note` translate them in one place: each English template of the ``reason`` and
``note`` tables is turned into a regular expression (placeholders become named groups), the text is
matched against them, and the same key of the target language is filled with the captured
values. A text that matches no pattern is returned unchanged, wrapped in the ``reason.other``
template.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

LANGS = ("en", "zh-TW")

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}|\{(\w+)\}")


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


@lru_cache(maxsize=None)
def load_catalog_dict(lang: str, prefix: str = "") -> dict[str, Any]:
    """The flattened catalogue ``i18n/<prefix><lang>.toml`` (``"section.liquidity"`` -> text);
    ``prefix="narrative."`` is the first screen's catalogue."""
    if lang not in LANGS:
        from ..errors import UsageError

        raise UsageError(f"unknown language {lang!r} (expected one of: {', '.join(LANGS)})", where="--lang")
    text = resources.files(__package__).joinpath("i18n", f"{prefix}{lang}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def _pattern(template: str) -> re.Pattern:
    """A regex matching the text an English template produces (``{x}`` -> named group)."""
    parts, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        parts.append(f"(?P<{m.group(1) or m.group(2)}>.+?)")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + "$", re.S)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Catalog:
    """A language's catalogue plus its formatters.

    Parameters
    ----------
    lang : str
        ``"en"`` or ``"zh-TW"``.
    """

    def __init__(self, lang: str):
        self.lang = lang
        self.d = load_catalog_dict(lang)
        self.en = load_catalog_dict("en")
        self._env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                                       keep_trailing_newline=False)
        self._compiled: dict[str, jinja2.Template] = {}
        self._patterns = {
            table: [(k, _pattern(v)) for k, v in self.en.items() if k.startswith(table + ".") and isinstance(v, str)]
            for table in ("reason", "note", "source_note", "derived", "fomc_note", "release_note")
        }

    # lookup -----------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.d

    def raw(self, key: str) -> Any:
        return self.d[key]

    def t(self, key: str, /, **kw) -> str:
        """Render the catalogue entry ``key`` (a Jinja2 template) with ``kw``.

        The result is stripped of surrounding whitespace, except for separators (keys ending in
        ``_sep``, e.g. ``fmt.list_sep = "; "``), whose spaces are part of the value.
        """
        tpl = self._compiled.get(key)
        if tpl is None:
            tpl = self._compiled[key] = self._env.from_string(self.d[key])
        out = tpl.render(**kw)
        return out if key.endswith("_sep") else out.strip()

    def get(self, key: str, default: str) -> str:
        return self.t(key) if key in self.d else default

    # reasons and notes ------------------------------------------------------------------
    def _match(self, table: str, text: str) -> tuple[str, dict] | None:
        for key, pat in self._patterns[table]:
            m = pat.match(text.strip())
            if m:
                return key, m.groupdict()
        return None

    def _fill(self, key: str, groups: dict) -> str:
        vals = {}
        for k, v in groups.items():
            if k == "reason":
                vals[k] = self.reason(v)
            elif k == "delays":
                vals[k] = self.t("fmt.delay_sep").join(self._delay(x) for x in v.split(" | "))
            elif _ISO.match(v):
                vals[k] = self.date(v)
            else:
                vals[k] = v
        return self.t(key, **vals)

    def _delay(self, text: str) -> str:
        """``"2025-10: BLS: ..."`` (a late release from the calendar) in the language."""
        m = re.match(r"^(\d{4})-(\d{2}): (.*)$", text.strip(), re.S)
        if not m:
            return self.t("fallback.note_other", text=text)
        hit = self._match("release_note", m.group(3))
        note = self._fill(*hit) if hit else self.t("fallback.note_other", text=m.group(3))
        y, mo = int(m.group(1)), int(m.group(2))
        return self.t("fmt.delay", period=self.t("fmt.month", y=y, m=mo, mm=f"{mo:02d}"), note=note)

    def reason(self, text: str | None) -> str:
        """Translate a reason produced in English by the library (one place, by pattern)."""
        if not text:
            return ""
        hit = self._match("reason", text)
        if hit is None:
            return self.t("fallback.reason_other", text=text)
        return self._fill(*hit)

    def note(self, text: str) -> str:
        """Translate a briefing note (e.g. the vintage caveat) by matching the English text."""
        hit = self._match("note", text)
        if hit is None:
            return self.t("fallback.note_other", text=text)
        return self._fill(*hit)

    def derived(self, text: str | None) -> str:
        """A regime condition's derived quantity (e.g. "change over 91 days")."""
        if not text:
            return ""
        hit = self._match("derived", text)
        return self._fill(*hit) if hit else self.t("fallback.note_other", text=text)

    def fomc_note(self, text: str | None, code: str | None = None) -> str:
        """An FOMC balance-sheet announcement: the calendar's note if known, else its code."""
        hit = self._match("fomc_note", text) if text else None
        if hit:
            return self._fill(*hit)
        if code and f"bs.{code}" in self.d:
            return self.t(f"bs.{code}")
        return self.t("fallback.note_other", text=text or code or "")

    def source(self, text: str | None, note: bool = True) -> str:
        """A source label: inputs of one provider grouped (``Coin Metrics:CapRealUSD, CapMVRVCur``),
        the trailing ``(note)`` on how the variant was computed translated when known, or left
        out with ``note=False`` (running text cites the inputs; the appendix keeps the note)."""
        if not text:
            return ""
        m = re.match(r"^(.*) \(([^()]+)\)$", text)
        if not m:
            return compact_source(text)
        if not note:
            return compact_source(m.group(1))
        hit = self._match("source_note", m.group(2))
        if hit is None:
            return compact_source(m.group(1)) + f" ({m.group(2)})"
        return self.t("fmt.source_with_note", source=compact_source(m.group(1)), note=self._fill(*hit))

    # dates ------------------------------------------------------------------------------
    def date(self, d) -> str:
        """A date (ISO string, date or Timestamp) in the language's format."""
        if d is None or d == "":
            return ""
        if isinstance(d, str):
            try:
                d = dt.date.fromisoformat(d[:10])
            except ValueError:
                return d
        elif hasattr(d, "date") and callable(d.date):
            d = d.date()
        return self.t("fmt.date", y=d.year, m=d.month, d=d.day, mm=f"{d.month:02d}", dd=f"{d.day:02d}")

    # numbers ----------------------------------------------------------------------------
    def num(self, x: float, decimals: int = 0) -> str:
        """Grouped number (``12,345.6``); no locale dependency."""
        s = f"{abs(x):,.{decimals}f}"
        return ("-" if x < 0 and float(s.replace(",", "")) != 0 else "") + s

    def _scaled(self, x: float, scales_key: str) -> str:
        """Scale ``x`` by the largest fitting unit of the language's scale table.

        ``scales_key`` names a catalogue list of ``[threshold, divisor, decimals, template]``
        (largest first); the template gets ``{{ x }}`` (the scaled, grouped number).
        """
        ax = abs(x)
        for threshold, divisor, decimals, tpl in self.d[scales_key]:
            if ax >= float(threshold):
                key = f"_scale::{tpl}"
                if key not in self._compiled:
                    self._compiled[key] = self._env.from_string(tpl)
                return self._compiled[key].render(x=self.num(x / float(divisor), int(decimals)))
        return self.num(x)

    def usd(self, x: float, signed: bool = False) -> str:
        """Money in the language's style: ``$6.54T`` / ``6.54 兆美元``; sign kept, ``+`` if signed."""
        body = self._scaled(abs(x), "scale.usd")
        return self._signed(body, x, signed)

    def _signed(self, body: str, x: float, signed: bool) -> str:
        if x < 0 and self._nonzero(body):
            return "-" + body
        if signed and x > 0 and self._nonzero(body):
            return "+" + body
        return body

    @staticmethod
    def _nonzero(body: str) -> bool:
        return any(c in "123456789" for c in body)

    def count(self, x: float, signed: bool = False) -> str:
        body = self._scaled(abs(x), "scale.count")
        return self._signed(body, x, signed)

    def percent(self, pct: float, signed: bool = False, decimals: int | None = None) -> str:
        if decimals is None:
            decimals = 1 if abs(pct) >= 10 else 2
        body = f"{abs(pct):.{decimals}f}"
        return self._signed(self.t("unit.percent", x=body), pct, signed)

    def value(self, value, unit: str, *, signed: bool = False) -> str:
        """A metric value in its unit, formatted for the language (``None`` -> "n/a")."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.t("label.na")
        if unit == "state":
            return self.state(str(value))
        if unit == "bool" or isinstance(value, bool):
            return self.t("label.yes") if bool(value) else self.t("label.no")
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if unit == "USD":
            return self.usd(x, signed)
        if unit.startswith("USD/") or unit.startswith("USD per "):
            rest = unit.split("/", 1)[1] if "/" in unit else unit[len("USD per "):]
            body = self.usd(x, signed) if abs(x) >= 1e4 else self._signed(
                self.t("unit.usd_small", x=self.num(abs(x), 2)), x, signed)
            return self.t("unit.per", x=body, per=self.unit_name(rest))
        if unit == "fraction":
            return self.percent(100.0 * x, signed)
        if unit in ("annualised percent", "annualized percent"):
            return self._signed(self.t("unit.annualised_percent", x=f"{abs(x):.2f}"), x, signed)
        if unit.startswith("index"):
            unit = "index"
        if unit == "percent":
            return self._signed(self.t("unit.percent", x=f"{abs(x):.2f}"), x, signed)
        if unit == "bp":
            return self._signed(self.t("unit.bp", x=f"{abs(x):.1f}"), x, True)
        if unit == "pp":
            return self._signed(self.t("unit.pp", x=f"{abs(x):.2f}"), x, signed)
        if unit in ("days", "months", "weeks"):
            n = self.num(x, 0 if float(x).is_integer() else 1)
            return self.t(f"unit.{unit}", x=n)
        if unit in ("persons", "count", "jobs"):
            return self.t("unit.persons" if unit != "count" else "unit.count", x=self.count(x, signed))
        if unit == "BTC":
            return self.t("unit.btc", x=self._signed(self._scaled(abs(x), "scale.count"), x, signed))
        if unit in ("TH/s", "EH/s", "H/s", "PH/s"):
            eh = x / {"H/s": 1e18, "TH/s": 1e6, "PH/s": 1e3, "EH/s": 1.0}[unit]
            return self.t("unit.ehs", x=self.num(eh, 0 if eh >= 100 else 1))
        if unit in ("ratio", "index", "correlation", "z"):
            dec = 0 if unit == "index" else (3 if abs(x) < 1 and unit == "ratio" else 2)
            return self._signed(self.num(abs(x), dec), x, signed)
        if unit in ("difficulty", "hashes"):
            return self._scaled(x, "scale.big")
        if unit.startswith("fraction"):
            return self.percent(100.0 * x, signed)
        # unknown unit: a readable number followed by the unit as declared
        body = self._scaled(abs(x), "scale.big") if abs(x) >= 1e6 else self.num(abs(x), 2 if abs(x) < 100 else 0)
        return self._signed(body, x, signed) + f" {self.unit_name(unit)}"

    def unit_name(self, unit: str) -> str:
        key = "unitname." + re.sub(r"[^a-z0-9]+", "_", unit.lower()).strip("_")
        return self.t(key) if key in self.d else unit

    # names ------------------------------------------------------------------------------
    def state(self, state: str) -> str:
        key = "state." + _slug(state)
        return self.t(key) if key in self.d else _humanize(state)

    def regime(self, rid: str) -> str:
        key = "regime." + _slug(rid)
        return self.t(key) if key in self.d else _humanize(rid)

    def category(self, cat: str) -> str:
        key = "category." + _slug(cat)
        return self.t(key) if key in self.d else _humanize(cat)


def compact_source(text: str) -> str:
    """``"Coin Metrics:A, Coin Metrics:B, FRED:C"`` -> ``"Coin Metrics:A, B, FRED:C"``: the
    provider is named once for consecutive inputs of the same provider."""
    out, prev = [], None
    for part in text.split(", "):
        prov, sep, sid = part.rpartition(":")
        if sep and prov == prev:
            out.append(sid)
        else:
            out.append(part)
        prev = prov if sep else None
    return ", ".join(out)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(s).lower()).strip("_")


def _humanize(s: str) -> str:
    return str(s).replace("_", " ")


@lru_cache(maxsize=None)
def catalog(lang: str) -> Catalog:
    """The (cached) :class:`Catalog` of ``lang``."""
    return Catalog(lang)
