"""A scorecard for every past FOMC scenario map: what the map said on the eve, what happened.

For each scheduled meeting from ``start`` on, the map is built **point in time** on the eve of the
decision (:func:`btcmacro.briefing` as of the day before the decision day, so only what was
published by then), exactly as the briefing would have shown it. Then, from the data after it:

* **which policy scenario happened**: the rate decision from the target range re-dated to the
  decision day (:func:`btcmacro.rules.fomc.decision_dated`), the balance-sheet announcement from the
  embedded FOMC calendar (``purchases`` = an expansion signal); matched to the map's scenarios by
  the sign of the rate change and the balance-sheet signal (a hike, or any outcome the map did not
  list, matches none); the first H.4.1 after the decision shows whether Treasury holdings grew;
* for every path of the realised scenario: whether and when its **trigger** and its
  **invalidation** fired within the horizon, using the map's own rule (a daily close strictly
  beyond the stated edge), counting closes from the decision day to the horizon's end; which
  **targets** were reached (a daily close at or beyond the target, after the trigger fired); and
  the best and worst close against the eve's close;
* **the call**: the path whose supporting regime states outnumber the other's on the eve (a tie
  is no call). A call is right when its trigger fires within the horizon before its
  invalidation. The **naive map** is the same map read without the liquidity regime (its states
  removed from the supporting lists), so the comparison shows what the liquidity regime adds.

Hit rates come with counts and Wilson 95% intervals (statsmodels ``proportion_confint``): with a
few dozen meetings, intervals are wide, and the report says so rather than ranking by point
estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..rules.scenarios import beyond
from ..store import Store
from .render import Doc, Section, Table

DEFAULT_START = "2017-01-01"
#: regimes left out of the naive map
NAIVE_DROP = ("liquidity",)


def wilson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (``(nan, nan)`` when ``n == 0``)."""
    if n == 0:
        return float("nan"), float("nan")
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    return float(lo), float(hi)


def realised_scenario(meeting: dict, rate_dd: pd.Series, scenarios: list[dict]) -> dict:
    """What the FOMC did at ``meeting`` and which of the map's scenarios that was.

    ``rate_dd`` is the upper bound of the target range re-dated to the decision day. Returns
    ``{"decision", "change_bp", "balance_sheet", "scenario"}`` (``scenario`` None when no listed
    scenario matches, e.g. a hike)."""
    start, end = pd.Timestamp(meeting["start"]), pd.Timestamp(meeting["end"])
    before = rate_dd.loc[:start - pd.Timedelta(days=1)]
    after = rate_dd.loc[:end]
    if before.empty or after.empty:
        return {"decision": None, "change_bp": None, "balance_sheet": None, "scenario": None}
    ch = round((float(after.iloc[-1]) - float(before.iloc[-1])) * 100.0, 1)
    decision = "cut" if ch < 0 else "hike" if ch > 0 else "hold"
    bs = "expansion" if (meeting.get("balance_sheet") or "") == "purchases" else "unchanged"
    match = None
    for s in scenarios:
        if s.get("policy_trigger", {}).get("decision") == decision and s["decision"]["balance_sheet"] == bs:
            match = s["id"]
            break
    return {"decision": decision, "change_bp": ch, "balance_sheet": bs, "scenario": match}


def evaluate_path(path: dict, closes: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    """Whether and when a path's trigger, invalidation and targets fired on daily closes in
    ``[start, end]`` (the map's own edge rule: a close strictly beyond the price; a target counts
    once a close reaches it after the trigger)."""
    bull = path["direction"] == "bullish"
    w = closes.loc[start:end].dropna()
    trig = path.get("trigger") or {}
    inv = path.get("invalidation") or {}
    out: dict[str, Any] = {"trigger_date": None, "invalidation_date": None, "targets_hit": 0,
                           "targets": len(path.get("targets") or [])}
    if trig.get("price") is None or not path.get("targets"):
        out["status"] = "no setup"
        return out
    for d, c in w.items():
        if out["trigger_date"] is None and beyond(c, trig["price"], bull):
            out["trigger_date"] = d.date().isoformat()
        if out["invalidation_date"] is None and inv.get("price") is not None and beyond(c, inv["price"], not bull):
            out["invalidation_date"] = d.date().isoformat()
    if out["trigger_date"] is not None:
        after = w.loc[out["trigger_date"]:]
        hit = 0
        for t in path["targets"]:
            reached = (after >= t["price"]).any() if bull else (after <= t["price"]).any()
            if not reached:
                break
            hit += 1
        out["targets_hit"] = hit
    td, idt = out["trigger_date"], out["invalidation_date"]
    out["status"] = ("triggered" if td and (idt is None or td < idt) else
                     "invalidated first" if idt and (td is None or idt <= td) else "neither")
    return out


def _call(scenario: dict, drop: tuple[str, ...] = ()) -> str | None:
    """The path the map favours: more supporting regime states (``drop`` regimes not counted)."""
    n = {p["direction"]: sum(1 for m in p.get("supporting_regimes", []) if m["regime"] not in drop)
         for p in scenario.get("paths", [])}
    if not n or n.get("bullish", 0) == n.get("bearish", 0):
        return None
    return "bullish" if n.get("bullish", 0) > n.get("bearish", 0) else "bearish"


@dataclass
class ScorecardResult:
    rows: pd.DataFrame            # one row per meeting
    paths: pd.DataFrame           # one row per meeting x path of the realised scenario
    summary: pd.DataFrame         # hit rates with Wilson intervals
    start: pd.Timestamp
    end: pd.Timestamp
    verdict: list[str]
    maps: dict[str, list[dict]] = field(default_factory=dict)  # eve -> the scenario map

    def to_doc(self) -> Doc:
        return _doc(self)


def first_h41_change(treasuries: pd.Series | None, decision: pd.Timestamp) -> float:
    """Change in Fed Treasury holdings (USD) from the last H.4.1 Wednesday before the decision to
    the first one after it: what the first balance-sheet report showed (NaN without data)."""
    if treasuries is None or treasuries.empty:
        return np.nan
    before = treasuries.loc[:decision - pd.Timedelta(days=1)]
    after = treasuries.loc[decision + pd.Timedelta(days=1):]
    if before.empty or after.empty:
        return np.nan
    return float(after.iloc[0] - before.iloc[-1]) * 1e6


def score_meeting(meeting: dict, scenarios: list[dict], closes: pd.Series, rate_dd: pd.Series,
                  eve: pd.Timestamp, treasuries: pd.Series | None = None) -> tuple[dict, list[dict]]:
    """The scorecard row of one meeting and the rows of its realised scenario's paths."""
    real = realised_scenario(meeting, rate_dd, scenarios)
    end = pd.Timestamp(meeting["end"])
    eve_close = closes.loc[:eve].dropna()
    row = {"meeting": meeting["end"], "eve": eve.date().isoformat(), **real,
           "treasuries_first_h41_usd": first_h41_change(treasuries, end),
           "eve_close": float(eve_close.iloc[-1]) if len(eve_close) else np.nan}
    prow = []
    sc = next((s for s in scenarios if s["id"] == real["scenario"]), None)
    if sc is None or not sc.get("applicable", True):
        row.update({"horizon_end": None, "best": np.nan, "worst": np.nan, "call": None, "naive_call": None,
                    "call_right": None, "naive_right": None})
        return row, prow
    hz = pd.Timestamp(sc["horizon"]["end"])
    w = closes.loc[end:hz].dropna()
    row["horizon_end"] = hz.date().isoformat()
    row["complete"] = bool(len(w)) and closes.dropna().index.max() >= hz
    row["best"] = float(w.max() / row["eve_close"] - 1) if len(w) else np.nan
    row["worst"] = float(w.min() / row["eve_close"] - 1) if len(w) else np.nan
    res = {}
    for p in sc["paths"]:
        ev = evaluate_path(p, closes, end, hz)
        res[p["direction"]] = ev
        prow.append({"meeting": meeting["end"], "scenario": sc["id"], "path": p["direction"],
                     "trigger": (p.get("trigger") or {}).get("price"), "edge": (p.get("trigger") or {}).get("edge"),
                     "invalidation": (p.get("invalidation") or {}).get("price"), **ev,
                     "reward_risk": (p.get("reward_risk") or {}).get("ratio"),
                     "probability": sc.get("probability")})
    for key, drop in (("call", ()), ("naive_call", NAIVE_DROP)):
        c = _call(sc, drop)
        row[key] = c
        right_key = "call_right" if key == "call" else "naive_right"
        row[right_key] = None if c is None or not row["complete"] else res[c]["status"] == "triggered"
    return row, prow


def scorecard(start=None, end=None, *, rules_path=None, store: Store | None = None,
              progress: Callable[[int, int], None] | None = None) -> ScorecardResult:
    """Build the map on the eve of every scheduled meeting in ``[start, end]`` and score it."""
    from .. import api
    from ..rules import fomc
    from . import _data

    s = _data.parse_date(start, "--start") or pd.Timestamp(DEFAULT_START)
    e = _data.parse_date(end, "--end")
    with api._using(store) as st:
        closes = api.series("btc_price", store=st).dropna()
        upper = api.series("fred/DFEDTARU", store=st).dropna()
        treasuries = api.series("fred/TREAST", store=st).dropna()
        if closes.empty or upper.empty:
            raise UsageError("no BTC price or target range in the store", where="analyze scenarios")
        last = closes.index.max()
        e = min(e, last) if e is not None else last
        meets = [m for m in fomc.meetings() if m["scheduled"]
                 and s <= pd.Timestamp(m["end"]) <= e]
        if not meets:
            raise UsageError(f"no scheduled FOMC meeting between {s.date()} and {e.date()}", where="--start/--end")
        rate_dd = fomc.decision_dated(upper)
        rows, prows, maps = [], [], {}
        for i, m in enumerate(meets, 1):
            eve = pd.Timestamp(m["end"]) - pd.Timedelta(days=1)
            # one briefing per meeting eve: computed, not saved (the materialised table keeps the
            # latest few dates a person reads, not a backtest's hundred)
            b = api.briefing(eve.date(), store=st, rules_path=rules_path, with_charts=False,
                             with_changes=False, with_research=False, materialized=False)
            maps[eve.date().isoformat()] = b.scenarios
            row, pr = score_meeting(m, b.scenarios, closes, rate_dd, eve, treasuries)
            rows.append(row)
            prows.extend(pr)
            if progress:
                progress(i, len(meets))
    rows_df = pd.DataFrame(rows)
    paths_df = pd.DataFrame(prows)
    summary = _summary(rows_df, paths_df)
    res = ScorecardResult(rows_df, paths_df, summary, s, e, [], maps)
    res.verdict = _verdict(res)
    return res


def _rate(name: str, hits: pd.Series) -> dict:
    h = hits.dropna().astype(bool)
    k, n = int(h.sum()), int(len(h))
    lo, hi = wilson(k, n)
    return {"measure": name, "hits": k, "n": n, "rate": k / n if n else np.nan, "wilson_low": lo, "wilson_high": hi}


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    """Prices as whole dollars, moves and ratios rounded, for the report tables."""
    out = df.copy()
    for c in ("eve_close", "trigger", "invalidation"):
        if c in out:
            out[c] = [None if v is None or pd.isna(v) else f"{v:,.0f}" for v in out[c]]
    if "treasuries_first_h41_usd" in out:
        out["treasuries_first_h41_usd"] = [None if pd.isna(v) else f"{v / 1e9:+,.1f}B"
                                           for v in out["treasuries_first_h41_usd"]]
    for c in ("best", "worst"):
        if c in out:
            out[c] = [None if pd.isna(v) else f"{100 * v:+.1f}%" for v in out[c]]
    for c in ("reward_risk", "probability"):
        if c in out:
            out[c] = [None if v is None or pd.isna(v) else f"{v:.2f}" for v in out[c]]
    return out


def _summary(rows: pd.DataFrame, paths: pd.DataFrame) -> pd.DataFrame:
    out = []
    if len(rows):
        out.append(_rate("map with the liquidity regime: call right", rows.get("call_right", pd.Series(dtype=object))))
        out.append(_rate("naive map (no liquidity regime): call right", rows.get("naive_right", pd.Series(dtype=object))))
        out.append(_rate("realised policy was one of the map's scenarios", rows["scenario"].notna()))
    if len(paths):
        for d in ("bullish", "bearish"):
            p = paths[(paths["path"] == d) & (paths["status"] != "no setup")]
            out.append(_rate(f"{d} trigger fired within the horizon (realised scenario)", p["trigger_date"].notna()))
            out.append(_rate(f"{d} invalidated before or without its trigger",
                             p["status"] == "invalidated first"))
    return pd.DataFrame(out)


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.0f}%"


def _verdict(r: ScorecardResult) -> list[str]:
    s = r.summary.set_index("measure") if len(r.summary) else pd.DataFrame()
    out = [f"{len(r.rows)} scheduled FOMC meetings from {r.start.date()} to {r.end.date()}; each map built on the "
           f"eve with only the data published by then."]
    if len(s):
        full = s.loc["map with the liquidity regime: call right"]
        naive = s.loc["naive map (no liquidity regime): call right"]
        out.append(f"The map's call (the path with more supporting regimes) was right in {int(full['hits'])} of "
                   f"{int(full['n'])} meetings with a call ({_pct(full['rate'])}, Wilson 95% {_pct(full['wilson_low'])}–"
                   f"{_pct(full['wilson_high'])}); the naive map without the liquidity regime in {int(naive['hits'])} "
                   f"of {int(naive['n'])} ({_pct(naive['rate'])}, {_pct(naive['wilson_low'])}–"
                   f"{_pct(naive['wilson_high'])}).")
        overlap = not (full["wilson_low"] > naive["wilson_high"] or naive["wilson_low"] > full["wilson_high"])
        out.append("The intervals overlap: this history cannot tell whether the liquidity regime improves the call."
                   if overlap else "The intervals do not overlap.")
    return out


def _doc(r: ScorecardResult) -> Doc:
    samp = f"Sample: scheduled FOMC meetings {r.start.date()}..{r.end.date()}, n={len(r.rows)}"
    rows = _shown(r.rows)
    paths = _shown(r.paths)
    sections = [
        Section("Hit rates", [
            "Counts, rates and Wilson 95% intervals. A call is right when its trigger fires (a daily close beyond "
            "the stated edge) within the horizon before its invalidation; meetings whose horizon has not ended "
            "are left out of the call rates.",
        ], [Table("summary", f"{samp}. Method: map built point in time on each eve; Wilson intervals "
                  "(statsmodels proportion_confint).", r.summary, "{:.2f}")]),
        Section("Meetings", [
            "decision and change_bp: the target range's upper bound, re-dated to the decision day; balance_sheet: "
            "the FOMC calendar's announcement (purchases = expansion); scenario: the map's scenario that matches; "
            "best/worst: highest and lowest daily close in the horizon against the eve's close; call / naive_call: "
            "the favoured path with and without the liquidity regime.",
        ], [Table("meetings", f"{samp}.", rows)]),
        Section("Paths of the realised scenario", [
            "trigger/invalidation: the map's prices on the eve (edge = which edge of the zone); dates when a daily "
            "close first went beyond them; targets_hit: targets reached by a close after the trigger, in order.",
        ], [Table("paths", f"{samp}.", paths)] if len(paths) else []),
    ]
    return Doc("FOMC scenario maps: a point-in-time scorecard", r.verdict, sections,
               meta={"start": r.start, "end": r.end, "meetings": len(r.rows)})


# ----------------------------------------------------------------------------------------------
# the record a briefing quotes
# ----------------------------------------------------------------------------------------------

#: the per-meeting scorecard of the default rules on the embedded data, written by
#: scripts/research_report.py next to docs/research/scenarios.md
RECORD_FILE = "scenario_scorecard.csv"
RECORD_COLUMNS = ["meeting", "horizon_end", "scenario", "call", "call_right", "naive_call", "naive_right"]


def record_rows(result: ScorecardResult) -> pd.DataFrame:
    """The columns of the shipped record, from a scorecard run."""
    df = result.rows.reindex(columns=RECORD_COLUMNS)
    return df[df["horizon_end"].notna()]


def _load_record() -> pd.DataFrame | None:
    from importlib import resources

    try:
        text = resources.files("btcmacro.data").joinpath(RECORD_FILE).read_text("utf-8")
    except FileNotFoundError:
        return None
    import io

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def record_for(as_of, scenarios: list[dict]) -> dict:
    """How past maps fared, counting only maps whose horizon had ended by ``as_of``: the share of
    calls that were right overall and for the call the current map makes, with Wilson intervals.

    The record is the scorecard of the default rules on the embedded data (shipped with the
    package); a briefing built with other rules or later data quotes it as such."""
    rec = _load_record()
    if rec is None or rec.empty:
        return {"reason": "no scenario scorecard shipped with this installation"}
    d = pd.Timestamp(as_of).date().isoformat()
    done = rec[(rec["horizon_end"] != "") & (rec["horizon_end"] <= d) & (rec["call_right"].isin(["True", "False"]))]
    out: dict[str, Any] = {"source": "scenario scorecard, default rules, embedded data (docs/research/scenarios.md)",
                           "maps_through": done["meeting"].max() if len(done) else None}

    def rate(rows: pd.DataFrame) -> dict:
        k, n = int((rows["call_right"] == "True").sum()), int(len(rows))
        lo, hi = wilson(k, n)
        return {"hits": k, "n": n, "rate": k / n if n else None, "wilson_low": lo if n else None,
                "wilson_high": hi if n else None}

    out["overall"] = rate(done)
    calls = {s["id"]: _call(s) for s in scenarios if s.get("paths")}
    out["current_calls"] = calls
    out["by_call"] = {c: rate(done[done["call"] == c]) for c in sorted({c for c in calls.values() if c})}
    return out
