"""The scenario scorecard, reproduced by hand on three meetings, and free of look-ahead."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from btcmacro.research import scenarios as SC


@pytest.fixture(scope="module")
def autumn_2025(research_store):
    """The maps of 2025-09-17, 2025-10-29 and 2025-12-10, built on each eve."""
    return SC.scorecard("2025-09-01", "2025-12-31", store=research_store)


def _path(r, meeting, direction):
    p = r.paths
    return p[(p["meeting"] == meeting) & (p["path"] == direction)].iloc[0]


def test_december_2025_by_hand(autumn_2025):
    """2025-12-10: the FOMC cut 25 bp (DFEDTARU 4.00 -> 3.75, effective 12-11) and announced
    reserve-management purchases: the "cut + expansion" map. Its bullish trigger is a daily close
    above the NEAR (lower) edge of the resistance zone, 93,527.80 (the 2025-12-03 close). CoinMarketCap
    closes: 92,020.95 on 12-10, never above 93,527.80 until 2026-01-04 (91,413.49) and 2026-01-05
    (93,882.55): the trigger fired on 2026-01-05, inside the horizon (to the 2026-01-28 meeting).
    Under the far-edge rule (94,060.77) it would not have fired that day. The invalidation, a close
    below 83,862.25, never came (lowest close 85,462.51 on 12-18)."""
    row = autumn_2025.rows.set_index("meeting").loc["2025-12-10"]
    assert (row["decision"], row["change_bp"], row["balance_sheet"], row["scenario"]) == (
        "cut", -25.0, "expansion", "cut_with_expansion")
    assert row["horizon_end"] == "2026-01-28"
    bull = _path(autumn_2025, "2025-12-10", "bullish")
    assert bull["edge"] == "near" and bull["trigger"] == pytest.approx(93527.8038002451)
    assert bull["trigger_date"] == "2026-01-05" and pd.isna(bull["invalidation_date"])
    assert bull["status"] == "triggered"
    assert bull["targets_hit"] >= 1  # 95,000 reached: the max close to 01-28 is 96,929.33
    bear = _path(autumn_2025, "2025-12-10", "bearish")
    assert pd.isna(bear["trigger_date"]) and bear["invalidation_date"] == "2026-01-05"
    # eve close 2025-12-09 = 92,691.71; best close 96,929.33, worst 85,462.51 in the horizon
    assert row["eve_close"] == pytest.approx(92691.7, abs=0.1)
    assert row["best"] == pytest.approx(96929.3308783032 / row["eve_close"] - 1)
    assert row["worst"] == pytest.approx(85462.5063805352 / row["eve_close"] - 1)
    # the first H.4.1 after the decision (12-17 vs 12-10) shows Treasury holdings growing
    assert row["treasuries_first_h41_usd"] > 0


def test_september_2025_by_hand(autumn_2025):
    """2025-09-17: a 25 bp cut without a balance-sheet announcement. The bearish trigger (a close
    below the support zone's lower edge) fired on 2025-09-25: close 109,049.29 after 112,014.50
    on 09-23 and 113,328.63 on 09-24."""
    row = autumn_2025.rows.set_index("meeting").loc["2025-09-17"]
    assert (row["decision"], row["scenario"]) == ("cut", "cut_without_expansion")
    bear = _path(autumn_2025, "2025-09-17", "bearish")
    assert bear["edge"] == "far"
    assert 109049.29 < bear["trigger"] < 112014.50
    assert bear["trigger_date"] == "2025-09-25" and bear["status"] == "triggered"


def test_hold_january_2025_by_hand(research_store):
    """2025-01-29: hold. The hold map's bearish path fires at the support zone's NEAR (upper)
    edge; its invalidation is a close above the resistance zone's upper edge, about 103.9k. The
    close of 2025-01-30 (104,735.30) was above it: invalidated first."""
    r = SC.scorecard("2025-01-20", "2025-02-05", store=research_store)
    row = r.rows.iloc[0]
    assert (row["meeting"], row["decision"], row["scenario"]) == ("2025-01-29", "hold", "hold")
    bear = _path(r, "2025-01-29", "bearish")
    assert bear["edge"] == "near"
    assert 103703.21 < bear["invalidation"] < 104735.30  # above the 01-29 close, below the 01-30 close
    assert bear["invalidation_date"] == "2025-01-30" and bear["status"] == "invalidated first"


def test_wilson_interval_by_hand():
    # Wilson 95% for 9/12: centre (9 + 1.96^2/2)/(12 + 1.96^2) = 0.6897, half-width 0.2217
    lo, hi = SC.wilson(9, 12)
    assert lo == pytest.approx(0.4677, abs=1e-4) and hi == pytest.approx(0.9111, abs=1e-4)


def test_summary_counts_only_finished_horizons(autumn_2025):
    s = autumn_2025.summary.set_index("measure")
    rows = autumn_2025.rows
    full = s.loc["map with the liquidity regime: call right"]
    assert full["n"] == rows["call_right"].notna().sum()
    assert full["hits"] == (rows["call_right"] == True).sum()  # noqa: E712


def test_future_prices_do_not_change_a_past_map(research_store_path, tmp_path):
    """Append a crash after the eve: the map built on 2025-12-09 is the same."""
    import btcmacro
    from btcmacro.store import Store

    path = tmp_path / "store.duckdb"
    shutil.copy(research_store_path, path)
    with Store(path, read_only=True) as st:
        before = btcmacro.briefing("2025-12-09", store=st, with_charts=False).scenarios
    with Store(path) as st:
        meta = st.meta("cmc/btc_close")
        days = pd.date_range("2025-12-10", "2026-01-31", freq="D")
        f = pd.DataFrame({"date": days, "value": 10_000.0, "published_at": days})
        st.write_series(meta, f)
    with Store(path, read_only=True) as st:
        after = btcmacro.briefing("2025-12-09", store=st, with_charts=False).scenarios
        assert st.series("cmc/btc_close", as_of="2026-01-31").loc["2026-01-05"] == 10_000.0
    assert after == before
