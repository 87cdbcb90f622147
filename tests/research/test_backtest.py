"""Backtest: point-in-time regimes (no look-ahead), the in-memory as-of cache, forward returns."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from btcmacro.research import backtest as B
from btcmacro.store import SeriesMeta, Store

D = pd.Timestamp("2025-12-04")  # a Thursday: H.4.1 for Wednesday 2025-12-03 published that day


def _outcomes_json(store, dates):
    """Full regime outcomes (states and evidence) for each date, as canonical JSON text."""
    from btcmacro import rules

    cfg = rules.load_rules()
    cache = B.AsOfCache(store)
    return {d: json.dumps(B.regimes_as_of(cache, d, cfg), sort_keys=True, default=str) for d in dates}


@pytest.fixture(scope="module")
def split_store(research_store, tmp_path_factory):
    """A store holding only what was published by D, and every later row kept aside."""
    ids = [r[0] for r in research_store.con.execute("SELECT DISTINCT series_id FROM obs ORDER BY 1").fetchall()]
    full = research_store.frame(ids)
    path = tmp_path_factory.mktemp("pit") / "store.duckdb"
    st = Store(path)
    metas = {sid: research_store.meta(sid) for sid in ids}
    early = full[full["published_at"] <= D]
    st.write_many([(metas[sid], part[["date", "value", "published_at"]], False)
                   for sid, part in early.groupby("series_id")])
    later = full[full["published_at"] > D]
    yield st, later, metas
    st.close()


def test_regimes_as_of_d_do_not_change_when_later_data_arrives(split_store):
    st, later, metas = split_store
    dates = [D - pd.Timedelta(days=7), D]
    probe = D + pd.Timedelta(days=42)
    before = _outcomes_json(st, dates + [probe])
    assert json.loads(before[D]), "the rules produced no regimes"
    # append every observation published after D: new dates ...
    st.write_many([(metas[sid], part[["date", "value", "published_at"]], False)
                   for sid, part in later.groupby("series_id")])
    # ... and revisions of values D already knew, published after D (new vintages)
    for sid, date, factor in [("fred/WALCL", "2025-11-26", 1.05), ("fred/PAYEMS", "2025-09-01", 0.98),
                              ("fred/M2SL", "2025-09-01", 1.03), ("cmc/btc_close", "2025-12-01", 0.9)]:
        old = st.series(sid, as_of=D).loc[pd.Timestamp(date)]
        st.write_series(metas[sid], pd.DataFrame({"date": [date], "value": [old * factor],
                                                  "published_at": [D + pd.Timedelta(days=20)]}))
        assert st.series(sid).loc[pd.Timestamp(date)] == pytest.approx(old * factor)  # the revision is stored
    after = _outcomes_json(st, dates + [probe])
    for d in dates:
        assert after[d] == before[d], f"regimes as of {d.date()} changed when later data was appended"
    # the appended data is not inert: a date after D sees it
    assert after[probe] != before[probe]


def test_backtest_states_equal_the_briefing_regimes(research_store):
    from btcmacro import api

    r = B.backtest(start="2025-11-28", end="2025-12-04", step="W", store=research_store, keep_outcomes=True)
    assert list(r.dates) == [D]
    assert r.outcomes[D].keys() == set(r.states.columns)
    b = api.briefing(D, store=research_store, with_charts=False)
    assert {k: v["state"] for k, v in b.regimes.items()} == r.states.loc[D].to_dict()
    assert len(r.states.columns) >= 1


def test_asof_cache_answers_like_the_store(tmp_path):
    st = Store(tmp_path / "s.duckdb")
    meta = SeriesMeta("fred/WALCL", "FRED")
    st.write_series(meta, pd.DataFrame({"date": ["2024-01-03", "2024-01-10"], "value": [1.0, 2.0],
                                        "published_at": ["2024-01-04", "2024-01-11"]}))
    st.write_series(meta, pd.DataFrame({"date": ["2024-01-03"], "value": [1.5], "published_at": ["2024-02-01"]}))
    cache = B.AsOfCache(st)
    for as_of in [None, "2024-01-04", "2024-01-10", "2024-01-11", "2024-01-31", "2024-02-01"]:
        a = st.frame(["fred/WALCL"], as_of=as_of).reset_index(drop=True)
        b = cache.frame(["fred/WALCL"], as_of=as_of).reset_index(drop=True)
        pd.testing.assert_frame_equal(a[["series_id", "date", "value", "published_at"]],
                                      b[["series_id", "date", "value", "published_at"]], check_dtype=False)
    assert cache.series("fred/WALCL", as_of="2024-01-31").tolist() == [1.0, 2.0]
    assert cache.series("fred/WALCL", as_of="2024-02-01").tolist() == [1.5, 2.0]
    st.close()


def test_forward_returns_by_hand(research_store):
    price = research_store.series("cmc/btc_close")
    dates = pd.DatetimeIndex(["2024-01-04", "2026-08-01"])
    f = B.forward_returns(price, dates, (30, 90))
    # btc_usd_daily_coinmarketcap.csv closes: 2024-01-04 44179.9217008268, 2024-02-03 42992.2496292216,
    # 2024-04-03 65980.8086503925
    assert f.loc["2024-01-04", "fwd_30d"] == pytest.approx(math.log(42992.2496292216 / 44179.9217008268))
    assert f.loc["2024-01-04", "fwd_90d"] == pytest.approx(math.log(65980.8086503925 / 44179.9217008268))
    assert np.isnan(f.loc["2026-08-01", "fwd_30d"])  # runs past the data (ends 2026-08-22)


def test_episodes_and_summary_counts():
    idx = pd.date_range("2020-01-02", periods=8, freq="W-THU")
    states = pd.DataFrame({"r": ["a", "a", "b", "b", "a", "c", "c", "a"]}, index=idx)
    assert B.episodes(states["r"]).to_dict() == {"a": 3, "b": 1, "c": 1}
    fwd = pd.DataFrame({"fwd_30d": [0.1, 0.2, -0.1, -0.3, 0.0, 0.05, 0.15, np.nan]}, index=idx)
    t = B.summarize(states, fwd, "W").set_index(["regime", "state"])
    assert t.loc[("r", "a"), "n_dates"] == 3 and t.loc[("r", "a"), "episodes"] == 3  # last a has no return
    assert t.loc[("r", "a"), "mean"] == pytest.approx(0.1)
    assert t.loc[("r", "b"), "hit_rate"] == 0.0
    assert t.loc[("(all dates)", ""), "n_dates"] == 7
    assert t.loc[("r", "c"), "vs_all"] == pytest.approx(0.1 - fwd["fwd_30d"].mean())


def test_bad_step_is_a_usage_error(research_store):
    from btcmacro.errors import UsageError

    with pytest.raises(UsageError):
        B.backtest(step="Y", store=research_store)
