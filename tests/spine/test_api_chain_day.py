"""``btcmacro.hodl_waves`` and ``btcmacro.urpd``: the one-day own-node functions in the library API.

A small synthetic chain on the real mainnet genesis (blocks stamped in 2025) is synced from a
blk file; the expected bands are derived by hand from the plan, and URPD prices come from the
embedded snapshot's CoinMarketCap closes (read here straight from the store).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from _ownnode import synced_index

import btcmacro
from btcmacro import api
from btcmacro.chain import publishing
from btcmacro.errors import ChainError, UsageError

SAT = 10**8
D = (dt.date(2025, 12, 9) - dt.date(2009, 1, 3)).days
# (day index, coinbase satoshis, spends): A 10 on D-100, split into 6 + 4 on D-20 (coinbase C 1); B 3 on D
PLAN = [
    (D - 100, 10 * SAT, []),
    (D - 20, 1 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])]),
    (D, 3 * SAT, []),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return synced_index(tmp_path_factory.mktemp("api_chain_day"), PLAN)[0]


def test_exported_at_top_level():
    assert {"hodl_waves", "urpd"} <= set(btcmacro.__all__)
    assert btcmacro.hodl_waves is api.hodl_waves and btcmacro.urpd is api.urpd
    for f in (api.hodl_waves, api.urpd):
        assert "Parameters\n    ----------" in f.__doc__ and "Raises\n    ------" in f.__doc__


def test_hodl_waves_one_day_by_hand(index):
    h = btcmacro.hodl_waves("2025-12-09", index=index)
    # end of 2025-12-09: genesis 50 (>10y), A1 6 + A2 4 + C 1 (20 days old: 1w-1m), B 3 (<1d)
    btc = dict(zip(h["key"], h["btc"]))
    assert btc == {**{k: 0.0 for k in btc}, "gt_10y": 50.0, "1w_1m": 11.0, "lt_1d": 3.0}
    assert h.set_index("key")["pct"]["1w_1m"] == pytest.approx(100 * 11 / 64, rel=1e-14)
    assert (h.attrs["date"], h.attrs["supply_btc"], h.attrs["height"]) == ("2025-12-09", 64, 3)
    # the wrapper adds nothing: same frame as the chain library call; a Timestamp is a day too
    pd.testing.assert_frame_equal(h, publishing.hodl_for_day("2025-12-09", index))
    pd.testing.assert_frame_equal(btcmacro.hodl_waves(pd.Timestamp("2025-12-09"), index=index), h)
    pd.testing.assert_frame_equal(btcmacro.hodl_waves(dt.date(2025, 12, 9), index=index), h)
    # the day before the split: A is still one coin of 10 BTC, 79 days old (1m-3m); B not mined yet
    prev = btcmacro.hodl_waves("2025-11-18", index=index).set_index("key")["btc"]
    assert prev["3m_6m"] == 0 and prev["1m_3m"] == 10 and prev.sum() == 60


def test_urpd_one_day_priced_from_the_store(index, snapshot_store):
    close = snapshot_store.series("cmc/btc_close")
    held = {close[pd.Timestamp(dt.date(2009, 1, 3) + dt.timedelta(days=d))]: v
            for d, v in ((D - 20, 11.0), (D, 3.0))}  # A1 + A2 + C at the close of D-20, B at D's
    top = max(held)
    u = btcmacro.urpd("2025-12-09", buckets=1, store=snapshot_store, index=index)
    # genesis has no market price (0 USD before the first quote): one bucket from 0 to the top
    assert u["price_low"].tolist() == [0.0] and u["price_high"].tolist() == [pytest.approx(top, rel=1e-15)]
    assert u["btc"].tolist() == [64.0] and u.attrs["supply_btc"] == 64
    u8 = btcmacro.urpd(pd.Timestamp("2025-12-09"), buckets=8, store=snapshot_store, index=index)
    assert u8["btc"].sum() == pytest.approx(64, rel=1e-15) and len(u8) == 8
    assert u8["btc"].iloc[0] == 50.0  # genesis alone in the lowest bucket (both closes are far above)
    pd.testing.assert_frame_equal(u8, publishing.urpd_for_day(snapshot_store, "2025-12-09", index, buckets=8))


def test_errors_pass_through(index, snapshot_store, tmp_path):
    with pytest.raises(UsageError, match="outside the indexed days 2009-01-03..2025-12-09"):
        btcmacro.hodl_waves("2025-12-10", index=index)
    with pytest.raises(UsageError, match="buckets"):
        btcmacro.urpd(buckets=0, store=snapshot_store, index=index)
    with pytest.raises(UsageError, match="not a date"):
        btcmacro.urpd("09/12/2025", store=snapshot_store, index=index)
    with pytest.raises(ChainError, match="chain sync"):
        btcmacro.hodl_waves(index=tmp_path / "none.duckdb")
