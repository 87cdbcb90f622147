"""Kalshi odds in the scenario map: point in time, outcome parsing, incremental windows."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from btcmacro.http import FakeClock
from btcmacro.sources.kalshi import classify_outcome, meeting_for
from btcmacro.update import run_update

from .replay import FIXTURES, load_fixture


@pytest.mark.parametrize("ticker,sub,expected", [
    ("KXFEDDECISION-25DEC-H0", "Hold", ("hold", 0)),
    ("KXFEDDECISION-25DEC-C25", "Cut 25bps", ("cut", 25)),
    ("KXFEDDECISION-25DEC-C26", "Cut >25bps", ("cut", 26)),
    ("KXFEDDECISION-25DEC-H25", "Hike 25bps", ("hike", 25)),
    ("KXFEDDECISION-26JAN-C25", None, ("cut", 25)),      # no subtitle: the ticker says
    ("KXFEDDECISION-26JAN-H0", "", ("hold", 0)),
    ("KXFEDDECISION-26JAN-Q7", "Emergency", None),
])
def test_outcome_from_subtitle_or_ticker(ticker, sub, expected):
    assert classify_outcome(ticker, sub) == expected


def test_meeting_match_window():
    ends = [dt.date(2025, 10, 29), dt.date(2025, 12, 10)]
    assert meeting_for(dt.date(2025, 12, 10), ends) == dt.date(2025, 12, 10)
    assert meeting_for(dt.date(2025, 12, 12), ends) == dt.date(2025, 12, 10)
    assert meeting_for(dt.date(2025, 12, 13), ends) is None


@pytest.fixture()
def kalshi_store(replay, tmp_path, snapshot_store_path):
    """The embedded snapshot plus the replayed Kalshi update (prices for the 2025-10-29 and
    2025-12-10 meetings)."""
    path = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, path)
    replay.add_fixture_http(load_fixture(FIXTURES / "kalshi" / "fed_decision.json")["http"])
    rep = run_update(path, ["kalshi"], clock=FakeClock(), today=dt.date(2025, 12, 12))
    assert rep.sources[0].ok, rep.sources[0].errors
    return path


def test_scenario_odds_are_those_traded_by_the_eve(kalshi_store):
    import btcmacro
    from btcmacro.store import Store

    with Store(kalshi_store, read_only=True) as st:
        eve = btcmacro.briefing("2025-12-09", store=st, with_charts=False)
        before = btcmacro.briefing("2025-12-08", store=st, with_charts=False)
        after = btcmacro.briefing("2025-12-11", store=st, with_charts=False)
    sc = {s["id"]: s for s in eve.scenarios}
    # 2025-12-09: hold .09, cut 25 .89, cut >25 .02, hike .01 (sum 1.01)
    assert sc["hold"]["probability"] == pytest.approx(0.09 / 1.01)
    assert sc["cut_with_expansion"]["probability"] == pytest.approx(0.91 / 1.01)
    assert sc["cut_with_expansion"]["probability_detail"]["date"] == "2025-12-09"
    # the day before, the day before's prices: 12-08 hold .11 of 1.02
    sc8 = {s["id"]: s for s in before.scenarios}
    assert sc8["hold"]["probability"] == pytest.approx(0.11 / 1.02)
    assert sc8["hold"]["probability_detail"]["date"] == "2025-12-08"
    # after the decision the next meeting (2026-01-28) has no prices in the data: none shown
    assert after.fomc["end"] == "2026-01-28"
    for s in after.scenarios:
        assert s["probability"] is None and "earlier meeting" in s["probability_note"]


def test_incremental_update_asks_only_for_recent_candles(replay, tmp_path):
    """With --since, markets that closed before it are not fetched again and candles start there."""
    fx = load_fixture(FIXTURES / "kalshi" / "fed_decision.json")
    replay.add_fixture_http(fx["http"][:2])  # the live listing: the December markets
    replay.add("/historical/markets", body='{"markets": [], "cursor": ""}')
    for e in fx["http"][3:]:
        if "25DEC" in e["path"] and e.get("status", 200) == 200:
            replay.add(e["path"], e.get("status", 200), e["body"], e.get("headers"))
    run_update(tmp_path / "s.duckdb", ["kalshi"], since="2025-12-09", clock=FakeClock(),
               today=dt.date(2025, 12, 12))
    candle_reqs = [(p, a) for p, a in replay.log if p.endswith("/candlesticks")]
    assert len(candle_reqs) == 4
    start = int(dt.datetime(2025, 12, 9, tzinfo=dt.UTC).timestamp())
    assert all(int(a["start_ts"]) == start for _, a in candle_reqs)
    assert all(a["period_interval"] == "1440" for _, a in candle_reqs)
