"""``btcmacro watch``: update, rebuild the briefing, and say what changed -- one line per change.

Each run (once, or every N minutes) refreshes the store from the live sources (unless told not
to), builds the briefing for the latest date, and compares it with the previous run's state:

* a **regime flip**: a regime whose state differs from the previous run's;
* a **price trigger fired**: a path of the current FOMC scenario map whose trigger condition (a
  daily close beyond the stated edge) holds on the latest close and did not on the previous run;
  the same for its invalidation.

Each change is one line on stdout and one JSON object in the log (JSON lines), so cron, a
systemd timer or a notifier can act on it. The run then appends its state (``"kind": "state"``)
to the log: the next run reads the last state record from there, so the log is the only file
``watch`` writes besides the store. The first run records a baseline and reports no change.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import UsageError


@dataclass
class WatchRun:
    as_of: str
    events: list[dict] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    update_errors: list[str] = field(default_factory=list)
    baseline: bool = False


def state_of(briefing) -> dict:
    """What a run remembers: regime states and, per scenario path, whether its trigger and its
    invalidation hold on the latest close."""
    from .rules.scenarios import beyond

    price = briefing.metrics.get("btc_price")
    close = None if price is None or price.value is None else float(price.value)
    fired: dict[str, dict] = {}
    for sc in briefing.scenarios:
        for p in sc.get("paths", []):
            key = f"{sc['fomc_date']}/{sc['id']}/{p['direction']}"
            bull = p["direction"] == "bullish"
            trig, inv = p.get("trigger") or {}, p.get("invalidation") or {}
            fired[key] = {
                "trigger": close is not None and trig.get("price") is not None and bool(p.get("targets"))
                and beyond(close, trig["price"], bull),
                "invalidation": close is not None and inv.get("price") is not None
                and beyond(close, inv["price"], not bull),
                "trigger_price": trig.get("price"), "invalidation_price": inv.get("price"),
                "edge_rule": trig.get("edge_rule"),
            }
    return {"as_of": briefing.as_of.date().isoformat(), "close": close,
            "close_date": None if price is None else price.date,
            "regimes": {rid: r.get("state") for rid, r in briefing.regimes.items()},
            "regime_names": {rid: (r.get("name") or {}).get("en", rid) for rid, r in briefing.regimes.items()},
            "regime_labels": {rid: (r.get("label") or {}).get("en", r.get("state")) for rid, r in briefing.regimes.items()},
            "paths": fired}


def changes(prev: dict | None, now: dict) -> list[dict]:
    """The events between two states (none against no previous state)."""
    if not prev:
        return []
    out = []
    for rid, st in now["regimes"].items():
        old = prev.get("regimes", {}).get(rid)
        if old is not None and old != st:
            out.append({"kind": "regime_flip", "regime": rid, "from": old, "to": st, "as_of": now["as_of"],
                        "name": now.get("regime_names", {}).get(rid, rid),
                        "from_label": prev.get("regime_labels", {}).get(rid, old),
                        "to_label": now.get("regime_labels", {}).get(rid, st)})
    for key, p in now["paths"].items():
        before = prev.get("paths", {}).get(key, {})
        for what in ("trigger", "invalidation"):
            if p[what] and not before.get(what, False):
                meeting, sid, direction = key.split("/")
                out.append({"kind": f"{what}_fired", "meeting": meeting, "scenario": sid, "path": direction,
                            "price": p[f"{what}_price"], "close": now["close"], "close_date": now["close_date"],
                            "as_of": now["as_of"]})
    return out


def describe(e: dict) -> str:
    """One line for a person (and a log grep)."""
    if e["kind"] == "regime_flip":
        return (f"{e['as_of']} {e.get('name', e['regime'])}: {e.get('from_label', e['from'])} -> "
                f"{e.get('to_label', e['to'])}")
    what = "trigger" if e["kind"] == "trigger_fired" else "invalidation"
    return (f"{e['as_of']} {e['path']} {what} fired for the {e['meeting']} {e['scenario']} map: close "
            f"{e['close']:,.0f} on {e['close_date']} beyond {e['price']:,.0f}")


def last_state(log: Path) -> dict | None:
    """The last ``"kind": "state"`` record of the log (None without a log or a state)."""
    if not log.exists():
        return None
    if not log.is_file():
        raise UsageError("the watch log must be a regular file", where=str(log))
    state = None
    with log.open("rb") as fh:
        for i, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise UsageError(f"line {i} is not JSON: not a btcmacro watch log", where=str(log)) from None
            if isinstance(rec, dict) and rec.get("kind") == "state":
                state = rec.get("state")
    return state


def append(log: Path, records: Iterable[dict]) -> None:
    """Append records to the log in one write, flushed to disk."""
    text = "".join(json.dumps(r, default=str, sort_keys=True) + "\n" for r in records)
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def run_once(store_path: Path, log: Path, *, sources: list[str] | None = None, update: bool = True,
             rules_path: Path | None = None, today: dt.date | None = None) -> WatchRun:
    """One watch cycle: update (optional), brief the latest date, diff with the log's last state,
    append the events and the new state to the log."""
    from . import api

    prev = last_state(log)
    errors: list[str] = []
    if update:
        from .update import run_update

        rep = run_update(store_path, sources or None, today=today)
        for s in rep.sources:
            errors.extend(s.errors)
    with api.open_store(store_path) as st:
        b = api.briefing(None, store=st, rules_path=rules_path, with_charts=False, with_changes=False,
                         with_research=False)
    now = state_of(b)
    events = changes(prev, now)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    append(log, [{**e, "at": stamp, "text": describe(e)} for e in events]
           + [{"kind": "state", "at": stamp, "state": now, "update_errors": errors[:20]}])
    return WatchRun(now["as_of"], events, now, errors, baseline=prev is None)
