"""Daily chain metrics written into the MAIN store as chain/<key> series (sync → publish → api).

Three cases:

* the 256 real blocks into a copy of the snapshot store: BTC metrics checked by hand from the
  blocks README spend table (2009 has no price, so USD metrics are 0 / NaN there);
* a synthetic chain on the real mainnet genesis with synthetic prices, every USD figure derived
  by hand below;
* a reorg across days: the days at or after the fork day are rewritten, earlier days untouched.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from _chainhelp import block_hash, synthetic_chain, write_blk

import btcmacro
import btcmacro.api
from btcmacro import catalog
from btcmacro.chain import api as chain_api
from btcmacro.chain import publishing as P
from btcmacro.store import Store

SAT = 10**8
TIP = "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"


def _obs(store: Store, prefix: str = "chain/") -> list:
    return store.con.execute(
        "SELECT series_id, date, value, published_at, vintage FROM obs WHERE series_id LIKE ? ORDER BY ALL",
        [prefix + "%"]).fetchall()


# ----------------------------------------------------------------------------- real blocks


def test_fixture_into_main_store(tmp_path, monkeypatch, fixture_blocks, snapshot_store_path):
    monkeypatch.setenv("BTCMACRO_HOME", str(tmp_path))
    shutil.copy(snapshot_store_path, tmp_path / "store.duckdb")
    write_blk(tmp_path / "blocks", fixture_blocks)
    chain_api.sync(blocks_dir=tmp_path / "blocks")  # default index: $BTCMACRO_HOME/chain.duckdb
    with btcmacro.api.open_store(read_only=False) as st:
        before = st.checksum()
        r = P.publish(st)
        assert r.full and r.tip_hash == TIP and r.height == 255
        assert str(r.first_day) == "2009-01-03" and str(r.last_day) == "2009-01-12"
        tip = json.loads(st.get_meta("chain_tip"))
        assert tip["hash"] == TIP and tip["height"] == 255
        days = json.loads(st.get_meta("chain_days"))
        assert days["2009-01-12"] == [255, TIP] and days["2009-01-03"][0] == 0
        assert st.meta("chain/cdd").provenance == f"own node, tip {TIP} height 255"
        assert set(v for *_, v in _obs(st)) == {TIP}  # vintage = tip hash on every row
        other = st.checksum()
        assert other != before
        # a second publish of the same tip writes nothing
        r2 = P.publish(st)
        assert not r2.full and sum(w.new + w.revised for w in r2.written.values()) == 0
        assert st.checksum() == other

    cdd = btcmacro.api.series("chain/cdd")  # through the public API and BTCMACRO_HOME
    assert cdd.attrs["source"] == "own node:cdd"
    # README spend table: every spend is in blocks 170..248, all stamped 2009-01-12; only block 170's
    # spend of block 9's coinbase (2009-01-09) has age > 0: 50 BTC × 3 days
    assert cdd[pd.Timestamp("2009-01-12")] == 150.0
    assert cdd.drop(pd.Timestamp("2009-01-12")).eq(0).all() and len(cdd) == 10
    sth, lth = btcmacro.api.series("chain/sth_supply"), btcmacro.api.series("chain/lth_supply")
    assert (sth + lth)[pd.Timestamp("2009-01-12")] == 12800.0  # README: 12,800 BTC unspent
    assert lth.eq(0).all()  # nothing is 155 days old yet
    # no price before 2010-07-13 in the snapshot: coins enter realized cap at 0 USD, SOPR undefined
    assert btcmacro.api.series("chain/realized_cap").eq(0).all()
    assert math.isnan(btcmacro.api.series("chain/sopr")[pd.Timestamp("2009-01-12")])


# ----------------------------------------------------------------------------- synthetic chain, hand values

#: prices per day index (days after 2009-01-03): 100 before day 10, 200 on days 10..159, 50 from 160
def _prices(ndays: int) -> pd.Series:
    d = np.arange(ndays)
    v = np.where(d < 10, 100.0, np.where(d < 160, 200.0, 50.0))
    return pd.Series(v, index=pd.date_range("2009-01-03", periods=ndays, freq="D"))


# (day, coinbase satoshis, spends [(spent tx, vout, output values)])
PLAN_A = [
    (0, 10 * SAT, []),                                   # h1: A 10 BTC
    (0, 4 * SAT, []),                                    # h2: B 4 BTC
    (10, 3 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])]),      # h3: C 3 BTC; A → A1 6 + A2 4
    (160, 1 * SAT, [("cb2", 0, [4 * SAT]), ("tx3.0", 0, [6 * SAT])]),  # h4: D 1; B → B1 4; A1 → A1' 6
    (170, 2 * SAT, []),                                  # h5: E 2 BTC
]


def _write_prices(st: Store, ndays: int = 200) -> None:
    p = _prices(ndays)
    st.write_series(catalog.get("cmc/btc_close").meta("synthetic test prices"),
                    pd.DataFrame({"date": p.index, "value": p.values, "published_at": p.index}))


def test_synthetic_usd_metrics_by_hand(tmp_path, blocks_path):
    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = synthetic_chain(genesis, PLAN_A)
    write_blk(tmp_path / "blocks", [genesis] + blocks)
    index = tmp_path / "chain.duckdb"
    chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=index)
    with Store(tmp_path / "store.duckdb") as st:
        _write_prices(st)
        P.publish(st, index)
        s = {k: btcmacro.api.series(f"chain/{k}", store=st) for k in P.METRIC_KEYS}
    d = lambda i: pd.Timestamp("2009-01-03") + pd.Timedelta(days=i)  # noqa: E731
    # day 10: A (10 BTC from day 0 @100) spent @200: profit 10×100; SOPR 2000/1000; CDD 10×10
    assert s["realized_profit_usd"][d(10)] == 1000 and s["realized_loss_usd"][d(10)] == 0
    assert s["sopr"][d(10)] == 2.0 and s["sth_sopr"][d(10)] == 2.0 and math.isnan(s["lth_sopr"][d(10)])
    assert s["cdd"][d(10)] == 100
    # day 160 @50: B (4, day 0 @100, age 160 = LTH) and A1 (6, day 10 @200, age 150 = STH) spent
    assert s["realized_loss_usd"][d(160)] == 4 * 50 + 6 * 150 == 1100
    assert s["net_realized_pl_usd"][d(160)] == -1100
    assert s["sopr"][d(160)] == (4 * 50 + 6 * 50) / (4 * 100 + 6 * 200) == 0.3125
    assert s["sth_sopr"][d(160)] == 0.25 and s["lth_sopr"][d(160)] == 0.5
    assert s["cdd"][d(160)] == 4 * 160 + 6 * 150
    # end of day 160, unspent: genesis 50@100 (day 0), A2 4@200, C 3@200 (day 10), D 1, B1 4, A1' 6 @50 (day 160)
    assert s["realized_cap"][d(160)] == 50 * 100 + 7 * 200 + 11 * 50 == 6950
    assert s["realized_price"][d(160)] == pytest.approx(6950 / 68, rel=1e-15)
    assert s["supply_in_loss"][d(160)] == 57 and s["supply_in_profit"][d(160)] == 0  # 11 BTC at exactly 50
    assert s["sth_supply"][d(160)] == 18 and s["lth_supply"][d(160)] == 50
    assert s["sth_cost_basis"][d(160)] == pytest.approx(1950 / 18, rel=1e-15)
    assert s["lth_cost_basis"][d(160)] == 100
    # day 170: E 2@50 added; A2 and C turn 160 days old (LTH)
    assert s["realized_cap"][d(170)] == 7050 and s["sth_supply"][d(170)] == 13
    assert s["sth_cost_basis"][d(170)] == 50
    assert s["lth_cost_basis"][d(170)] == pytest.approx(6400 / 57, rel=1e-15)
    # day 10 @200: genesis 50 + B 4 were created @100 (A, also @100, was spent that day)
    assert s["supply_in_profit"][d(9)] == 0 and s["supply_in_profit"][d(10)] == 54


def test_briefing_uses_own_node_series(tmp_path, blocks_path):
    """The registry's own-node variant wins once chain/* exists (the briefing picks it up)."""
    from btcmacro.registry import Evaluator

    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = synthetic_chain(genesis, PLAN_A)
    write_blk(tmp_path / "blocks", [genesis] + blocks)
    chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=tmp_path / "chain.duckdb")
    with Store(tmp_path / "store.duckdb") as st:
        _write_prices(st)
        P.publish(st, tmp_path / "chain.duckdb")
        v = Evaluator(st, "2009-06-16", {}).value("sth_cost_basis")  # day 164: A2, C still 154 days old
    assert v.status in ("ok", "stale") and v.value == pytest.approx(1950 / 18) and "own node" in v.source


# ----------------------------------------------------------------------------- reorg across days


def test_reorg_rewrites_days_from_fork(tmp_path, blocks_path):
    genesis = (blocks_path / "0.bin").read_bytes()
    a, txs = synthetic_chain(genesis, PLAN_A)
    # branch B forks after h3 (day 10): three blocks on days 160, 161, 162 (more work than A's two)
    b, _ = synthetic_chain(genesis, [(160, 5 * SAT, [("cb2", 0, [4 * SAT])]), (161, 1 * SAT, []),
                                     (162, 1 * SAT, [])],
                           prev=block_hash(a[2]), start_height=4, txs_by_name=txs, tag=b"B")
    index = tmp_path / "chain.duckdb"
    write_blk(tmp_path / "blocks", [genesis] + a)
    chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=index)
    st = Store(tmp_path / "store.duckdb")
    _write_prices(st)
    P.publish(st, index)
    before = _obs(st)
    day = lambda i: (pd.Timestamp("2009-01-03") + pd.Timedelta(days=i)).date()  # noqa: E731

    write_blk(tmp_path / "blocks", [genesis] + a + b)  # the node switched to B; A's tail is stale
    r = chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=index)
    assert r.rolled_back_to == 3 and r.reorg_depth == 2
    res = P.publish(st, index)
    after = _obs(st)
    assert res.fork_day == day(160) and res.first_day == day(160)
    assert res.removed_days == [day(i) for i in range(163, 171)]
    # days before the fork day: exactly the same rows (no new vintage)
    assert [o for o in after if o[1] < day(160)] == [o for o in before if o[1] < day(160)]
    # days from the fork day: equal to a from-scratch publish of branch B
    fresh_ix, fresh_blocks = tmp_path / "fresh.duckdb", tmp_path / "bonly"
    write_blk(fresh_blocks, [genesis] + a[:3] + b)
    chain_api.sync(blocks_dir=fresh_blocks, store_path=fresh_ix)
    with Store(tmp_path / "fresh_store.duckdb") as fresh:
        _write_prices(fresh)
        P.publish(fresh, fresh_ix)
        for k in P.METRIC_KEYS:
            got = st.series(f"chain/{k}")
            want = fresh.series(f"chain/{k}")
            pd.testing.assert_series_equal(got[got.index <= "2009-06-14"], want, check_names=False)
            # A's days 163..170 are gone from the best chain: published as missing
            assert got[got.index > "2009-06-14"].isna().all() and len(got) == 171
    tipb = block_hash(b[-1])[::-1].hex()
    assert json.loads(st.get_meta("chain_tip"))["hash"] == tipb
    days = json.loads(st.get_meta("chain_days"))
    assert days[str(day(162))] == [6, tipb] and str(day(170)) not in days
    # the revised rows of day 160 carry B's tip as vintage; the old vintage row is kept
    v = st.vintages("chain/realized_cap", day(160))
    assert len(v) == 2 and v["vintage"].iloc[-1] == tipb
    st.close()
