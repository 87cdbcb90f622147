"""HODL waves and supply in profit / loss as published store series, URPD and HODL of one day
(library and ``btcmacro chain urpd|hodl``), and the registry metrics built on the bands.

Two kinds of check:

* matrix level: the vectorised band sums (:func:`metrics.hodl_band_supply`, one pass over the
  cells) against the per-day sweep of :func:`metrics.holdings`, the single-age
  :func:`metrics.supply_aged`, and a per-coin loop written here (random coins, fixed seeds);
  the percent series against the same loop;
* end to end: a synthetic chain on the real mainnet genesis, synced from blk files, published
  into a copy of the snapshot store with synthetic 2009–2010 prices (the snapshot's BTC close
  starts 2010-07-13, after the last synthetic day), every expected figure derived by hand below.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from _chainhelp import synthetic_chain, write_blk
from typer.testing import CliRunner

from btcmacro import catalog
from btcmacro.chain import api as chain_api
from btcmacro.chain import metrics as M
from btcmacro.chain import publishing as P
from btcmacro.chain.synth import matrix_from_coins, random_coins
from btcmacro.cli import app
from btcmacro.errors import ChainError, UsageError
from btcmacro.indicators import onchain as O
from btcmacro.registry import Evaluator
from btcmacro.store import Store

SAT = 10**8
runner = CliRunner()
KEYS = [M.hodl_key(lab) for lab, _, _ in M.HODL_BANDS]


def _alive(coins, d):
    return [k for k in coins if k.created <= d and (k.spent is None or k.spent > d)]


# ----------------------------------------------------------------------------- ids


def test_band_ids_follow_the_labels_and_are_catalogued():
    assert KEYS == ["lt_1d", "1d_1w", "1w_1m", "1m_3m", "3m_6m", "6m_12m", "1y_2y", "2y_3y", "3y_5y",
                    "5y_7y", "7y_10y", "gt_10y"]
    for k in M.SHARE_KEYS:  # publish() skips a key without a catalogue id: none may be missing
        d = catalog.SERIES[f"chain/{k}"]
        assert d.unit == ("BTC" if k.endswith("_btc") else "percent") and d.source == "own node", k
    # the registry's band groups are the bands from 1 year up and below 1 month
    ranges = {M.hodl_key(lab): (a0, a1) for lab, a0, a1 in M.HODL_BANDS}
    assert set(O.HODL_1Y_PLUS) == {k for k, (a0, _) in ranges.items() if a0 >= 365}
    assert set(O.HODL_UNDER_1M) == {k for k, (_, a1) in ranges.items() if a1 <= 30}


# ----------------------------------------------------------------------------- matrix level


@pytest.mark.parametrize("seed,ndays", [(11, 1200), (12, 400)])
def test_band_supply_three_ways_and_per_coin(seed, ndays):
    coins, prices = random_coins(seed, ndays=ndays, ncoins=1500)
    m = matrix_from_coins(coins, ndays)
    fast = M.hodl_band_supply(m)
    sweep = M.holdings(m, prices)
    for lab, a0, a1 in M.HODL_BANDS:
        assert fast[lab].dtype == np.int64
        assert np.array_equal(fast[lab], sweep[f"band:{lab}"]), lab
        assert np.array_equal(fast[lab], M.supply_aged(m, a0) - M.supply_aged(m, a1)), lab
    assert np.array_equal(sum(fast.values()), M.supply(m))
    for d in (0, 6, 7, 29, 30, 364, 365, ndays - 1):
        if d >= ndays:
            continue
        alive = _alive(coins, d)
        for lab, a0, a1 in M.HODL_BANDS:
            ref = sum(k.value for k in alive if a0 <= d - k.created < a1)
            assert fast[lab][d] == ref, (d, lab)
    if ndays == 1200:  # the long history really reaches the older bands
        assert fast["1y-2y"][-1] > 0 and fast["2y-3y"][-1] > 0 and fast["6m-12m"][-1] > 0


def test_share_series_against_per_coin_loop():
    coins, prices = random_coins(13, ndays=500, ncoins=1200)
    m = matrix_from_coins(coins, 500)
    shares = M.supply_shares(m, M.daily_metrics_from_matrix(m, prices))
    assert tuple(shares) == M.SHARE_KEYS
    for d in (0, 1, 50, 200, 499):
        alive = _alive(coins, d)
        sup = sum(k.value for k in alive)
        prof = sum(k.value for k in alive if prices[k.created] < prices[d])
        loss = sum(k.value for k in alive if prices[k.created] > prices[d])
        assert shares["supply_in_profit_pct"]["value"][d] == pytest.approx(100 * prof / sup, rel=1e-12)
        assert shares["supply_in_loss_pct"]["value"][d] == pytest.approx(100 * loss / sup, rel=1e-12)
        for lab, a0, a1 in M.HODL_BANDS:
            k = M.hodl_key(lab)
            band = sum(c.value for c in alive if a0 <= d - c.created < a1)
            assert shares[f"hodl_{k}_btc"]["value"][d] == band / SAT
            assert shares[f"hodl_{k}_pct"]["value"][d] == pytest.approx(100 * band / sup, rel=1e-12, abs=1e-12)
    tot = sum(shares[f"hodl_{k}_pct"]["value"] for k in KEYS)
    assert np.allclose(tot, 100.0, rtol=0, atol=1e-9)
    # one day's table from that day's unspent vector agrees with the daily series
    one = M.hodl_on_day(m, 200)
    assert list(one["key"]) == KEYS
    assert one["btc"].tolist() == [shares[f"hodl_{k}_btc"]["value"][200] for k in KEYS]


def test_empty_supply_days_are_nan_not_zero_division():
    from btcmacro.chain.synth import Coin

    m = matrix_from_coins([Coin(0, 0, 5 * SAT), Coin(2, None, SAT)], 3)  # day 0 and 1: no supply
    sh = M.supply_shares(m, M.daily_metrics_from_matrix(m, np.array([1.0, 2.0, 3.0])))
    v = sh["hodl_lt_1d_pct"]["value"]
    assert np.isnan(v[0]) and np.isnan(v[1]) and v[2] == 100.0
    assert sh["hodl_lt_1d_btc"]["value"].tolist() == [0.0, 0.0, 1.0]


# ----------------------------------------------------------------------------- synthetic chain, by hand

#: days after 2009-01-03: 100 USD before day 10, 200 on 10..299, 50 on 300..499, 150 from 500
def _prices(ndays: int) -> pd.Series:
    d = np.arange(ndays)
    v = np.select([d < 10, d < 300, d < 500], [100.0, 200.0, 50.0], 150.0)
    return pd.Series(v, index=pd.date_range("2009-01-03", periods=ndays, freq="D"))


# (day, coinbase satoshis, spends); genesis (50 BTC, day 0) is counted as created
PLAN = [
    (0, 10 * SAT, []),                                       # h1: A 10
    (0, 4 * SAT, []),                                        # h2: B 4
    (10, 3 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])]),          # h3: C 3; A -> A1 6 + A2 4
    (300, 1 * SAT, [("cb2", 0, [4 * SAT]), ("tx3.0", 0, [6 * SAT])]),  # h4: D 1; B -> B1 4; A1 -> A1' 6
    (400, 5 * SAT, []),                                      # h5: F 5
    (540, 2 * SAT, []),                                      # h6: E 2 (2010-06-27)
]
NDAYS = 541


def _day(i: int) -> pd.Timestamp:
    return pd.Timestamp("2009-01-03") + pd.Timedelta(days=i)


@pytest.fixture()
def synced(tmp_path, blocks_path, snapshot_store_path):
    """(index path, store path) after sync + publish of PLAN."""
    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = synthetic_chain(genesis, PLAN)
    write_blk(tmp_path / "blocks", [genesis] + blocks)
    index = tmp_path / "chain.duckdb"
    chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=index)
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    with Store(store) as st:
        assert st.series("cmc/btc_close").index[0] > _day(NDAYS - 1)  # no overlap with the snapshot
        p = _prices(NDAYS)
        st.write_series(catalog.get("cmc/btc_close").meta("synthetic test prices"),
                        pd.DataFrame({"date": p.index, "value": p.values, "published_at": p.index}))
        res = P.publish(st, index)
        assert res.full and str(res.last_day) == "2010-06-27"
    return index, store


def test_published_hodl_and_profit_loss_pct_by_hand(synced):
    index, store = synced
    with Store(store, read_only=True) as st:
        pct = {k: st.series(f"chain/hodl_{k}_pct") for k in KEYS}
        btc = {k: st.series(f"chain/hodl_{k}_btc") for k in KEYS}
        prof, loss = st.series("chain/supply_in_profit_pct"), st.series("chain/supply_in_loss_pct")
        sth, lth = st.series("chain/sth_supply"), st.series("chain/lth_supply")
        tip = P.published_tip(st)
        assert st.meta("chain/hodl_1y_2y_pct").provenance == f"own node, tip {tip['hash']} height 6"
        assert set(st.vintages("chain/hodl_1y_2y_pct", _day(540).date())["vintage"]) == {tip["hash"]}
        assert tip["version"] == P.METRICS_VERSION >= 2  # 2 added these series (3: balance bands)
    for k in KEYS:
        assert len(pct[k]) == NDAYS and len(btc[k]) == NDAYS
    total = sum(pct.values())
    assert np.allclose(total, 100.0, rtol=0, atol=1e-9)
    assert np.array_equal(sum(btc.values()), sth + lth)  # bands add up to the supply, exactly
    at = lambda s, i: s[_day(i)]  # noqa: E731
    # day 0: genesis 50 + A 10 + B 4, all created that day
    assert at(btc["lt_1d"], 0) == 64 and at(pct["lt_1d"], 0) == 100
    # day 9: the same 64 BTC are 9 days old (1w-1m)
    assert at(btc["1w_1m"], 9) == 64 and at(pct["1d_1w"], 9) == 0
    # day 10: genesis + B (age 10) 54 BTC in 1w-1m; A1 6 + A2 4 + C 3 = 13 BTC created that day
    assert at(btc["1w_1m"], 10) == 54 and at(btc["lt_1d"], 10) == 13
    assert at(pct["1w_1m"], 10) == pytest.approx(100 * 54 / 67, rel=1e-14)
    # day 300 @50: genesis (age 300) and A2 + C (age 290) = 57 in 6m-12m; D, B1, A1' = 11 new
    assert at(btc["6m_12m"], 300) == 57 and at(btc["lt_1d"], 300) == 11
    assert at(loss, 300) == pytest.approx(100 * 57 / 68, rel=1e-14) and at(prof, 300) == 0
    # day 365: genesis turns one year old (1y-2y); A2 + C are 355 days old, still 6m-12m
    assert at(btc["1y_2y"], 365) == 50 and at(btc["6m_12m"], 365) == 7 and at(btc["1m_3m"], 365) == 11
    assert at(btc["1y_2y"], 364) == 0
    # day 540 @150: genesis 50 + A2 4 + C 3 (1y-2y) 57; D, B1, A1' (age 240) 11; F (age 140) 5; E 2
    expect = {"1y_2y": 57, "6m_12m": 11, "3m_6m": 5, "lt_1d": 2}
    for k in KEYS:
        assert at(btc[k], 540) == expect.get(k, 0), k
        assert at(pct[k], 540) == pytest.approx(100 * expect.get(k, 0) / 75, rel=1e-14, abs=0), k
    # profit: bought @100 (50) and @50 (16) = 66 of 75; loss: @200 (7); E @150 is in neither
    assert at(prof, 540) == pytest.approx(88.0, rel=1e-14) and at(loss, 540) == pytest.approx(700 / 75, rel=1e-14)
    assert at(prof, 10) == pytest.approx(100 * 54 / 67, rel=1e-14) and at(loss, 10) == 0


def test_library_urpd_and_hodl_for_day(synced):
    index, store = synced
    with Store(store, read_only=True) as st:
        u = P.urpd_for_day(st, "2010-06-27", index, buckets=4)
    # creation prices held on day 540: 50 (16 BTC), 100 (50), 150 (2), 200 (7); edges 0/50/100/150/200
    assert u["price_low"].tolist() == [0, 50, 100, 150] and u["price_high"].tolist() == [50, 100, 150, 200]
    assert u["btc"].tolist() == [0, 16, 50, 9]
    assert u.attrs["supply_btc"] == 75 and u.attrs["date"] == "2010-06-27" and u.attrs["height"] == 6
    h = P.hodl_for_day("2009-01-13", index)  # day 10
    assert h.set_index("key").loc[["1w_1m", "lt_1d"], "btc"].tolist() == [54, 13] and h.attrs["supply_btc"] == 67
    assert P.hodl_for_day(None, index).attrs["date"] == "2010-06-27"  # default: the last indexed day
    with pytest.raises(UsageError, match=r"2010-06-28 is outside the indexed days 2009-01-03\.\.2010-06-27"):
        P.hodl_for_day("2010-06-28", index)
    with pytest.raises(UsageError, match="not a date"):
        P.hodl_for_day("27/06/2010", index)


def _cli(*args):
    return runner.invoke(app, list(map(str, args)))


def test_cli_urpd_sums_to_supply(synced):
    index, store = synced
    with Store(store, read_only=True) as st:
        sup = st.series("chain/sth_supply") + st.series("chain/lth_supply")
    for day in (10, 300, 365, 540):
        date = _day(day).date().isoformat()
        r = _cli("chain", "urpd", "--date", date, "--buckets", 7, "--format", "json", "--index", index,
                 "--store", store)
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        assert d["date"] == date and len(d["buckets"]) == 7 and d["prices"] == "cmc/btc_close"
        assert sum(b["btc"] for b in d["buckets"]) == pytest.approx(sup[_day(day)], rel=1e-15)
        assert d["supply_btc"] == sup[_day(day)]
    r = _cli("chain", "urpd", "--date", "2010-06-27", "--buckets", 4, "--format", "csv", "--index", index,
             "--store", store)
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.stdout))
    assert list(df.columns) == ["price_low", "price_high", "btc"] and df["btc"].tolist() == [0, 16, 50, 9]
    r = _cli("chain", "urpd", "--date", "2010-06-27", "--buckets", 4, "--index", index, "--store", store)
    assert r.exit_code == 0 and "URPD 2010-06-27" in r.stdout and "50" in r.stdout


def test_cli_hodl_matches_published_series(synced):
    index, store = synced
    r = _cli("chain", "hodl", "--date", "2010-01-03", "--format", "json", "--index", index)  # day 365
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    with Store(store, read_only=True) as st:
        for b in d["bands"]:
            assert b["btc"] == st.series(f"chain/hodl_{b['key']}_btc")[_day(365)], b
            assert b["pct"] == pytest.approx(st.series(f"chain/hodl_{b['key']}_pct")[_day(365)], rel=1e-14)
    assert d["bands"][-1]["age_to_days"] is None and d["bands"][0]["age_from_days"] == 0
    r = _cli("chain", "hodl", "--index", index)
    assert r.exit_code == 0 and "HODL waves 2010-06-27" in r.stdout and "1y-2y" in r.stdout


def test_cli_errors_one_line(synced, tmp_path):
    index, store = synced

    def one_line_error(r, code):
        assert r.exit_code == code, r.output
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
        assert "Traceback" not in r.output
        return r.stderr

    e = one_line_error(_cli("chain", "urpd", "--date", "2024-06-24", "--index", index, "--store", store), 2)
    assert "2024-06-24 is outside the indexed days 2009-01-03..2010-06-27" in e
    e = one_line_error(_cli("chain", "urpd", "--date", "2009-01-02", "--index", index, "--store", store), 2)
    assert "outside the indexed days" in e
    one_line_error(_cli("chain", "urpd", "--date", "yesterday", "--index", index, "--store", store), 2)
    one_line_error(_cli("chain", "urpd", "--buckets", 0, "--index", index, "--store", store), 2)
    one_line_error(_cli("chain", "urpd", "--format", "xml", "--index", index, "--store", store), 2)
    one_line_error(_cli("chain", "hodl", "--date", "2030-01-01", "--index", index), 2)
    # no index / an empty index: a chain error (exit 8) that says to sync first
    e = one_line_error(_cli("chain", "urpd", "--index", tmp_path / "none.duckdb", "--store", store), 8)
    assert "chain sync" in e
    from btcmacro.chain.index import ChainIndex

    with ChainIndex(tmp_path / "empty.duckdb"):
        pass
    e = one_line_error(_cli("chain", "hodl", "--index", tmp_path / "empty.duckdb"), 8)
    assert "empty" in e
    with pytest.raises(ChainError):
        P.hodl_for_day(None, tmp_path / "empty.duckdb")


# ----------------------------------------------------------------------------- registry / briefing


def test_registry_hodl_metrics_from_own_node(synced):
    index, store = synced
    with Store(store, read_only=True) as st:
        ev = Evaluator(st, "2010-06-27", {})
        old = ev.value("supply_1y_plus_share")
        young = ev.value("supply_under_1m_share")
        loss = ev.value("supply_in_loss_pct")
        ev300 = Evaluator(st, "2009-10-30", {})  # day 300
        young300 = ev300.value("supply_under_1m_share")
    assert (old.status, old.date, old.unit) == ("ok", "2010-06-27", "fraction")
    assert old.value == pytest.approx(57 / 75, rel=1e-14) and "own node" in old.source
    assert old.detail["bands"]["hodl_1y_2y_pct"] == pytest.approx(0.76, rel=1e-14)
    assert young.value == pytest.approx(2 / 75, rel=1e-14)
    assert young300.value == pytest.approx(11 / 68, rel=1e-14)
    # supply in loss as a share of ALL supply (E, at exactly today's price, stays in the denominator)
    assert loss.value == pytest.approx(7 / 75, rel=1e-14) and loss.source.startswith("own node")
    # the older own-node variant (of supply in profit + in loss) is shown as the alternative
    assert loss.alternatives[0]["value"] == pytest.approx(7 / 73, rel=1e-14)


def test_registry_hodl_metrics_unavailable_without_node(snapshot_store):
    ev = Evaluator(snapshot_store, "2025-12-09", {})
    for mid in ("supply_1y_plus_share", "supply_under_1m_share"):
        v = ev.value(mid)
        assert v.status == "unavailable" and v.value is None
        assert v.reason == "needs own-node chain data (btcmacro chain sync)"


# ----------------------------------------------------------------------------- upgrade path


def test_version_bump_backfills_new_series_on_an_old_publish(synced):
    """A store published before the HODL series existed gets their whole history on the next sync."""
    index, store = synced
    with Store(store) as st:
        before = {k: st.series(f"chain/{k}") for k in ("realized_cap", "hodl_2y_3y_pct")}
        n_rc = st.con.execute("SELECT count(*) FROM obs WHERE series_id = 'chain/realized_cap'").fetchone()[0]
        st.con.execute("DELETE FROM obs WHERE series_id LIKE 'chain/hodl_%' OR series_id LIKE 'chain/%_pct'")
        tip = P.published_tip(st)
        tip["version"] = 1
        st.set_meta(P.TIP_KEY, json.dumps(tip, sort_keys=True))
        res = P.publish(st, index)
        assert res.full
        assert len(st.series("chain/hodl_2y_3y_pct")) == NDAYS
        pd.testing.assert_series_equal(st.series("chain/hodl_2y_3y_pct"), before["hodl_2y_3y_pct"])
        # the old series are unchanged and gained no rows
        pd.testing.assert_series_equal(st.series("chain/realized_cap"), before["realized_cap"])
        assert st.con.execute("SELECT count(*) FROM obs WHERE series_id = 'chain/realized_cap'").fetchone()[0] == n_rc
        assert res.written["chain/realized_cap"].new == 0 and res.written["chain/realized_cap"].revised == 0


def test_one_day_reads_reuse_the_matrix_until_the_index_changes(synced, blocks_path, monkeypatch):
    """The dashboard asks day after day: the matrix is built once per index state, and each
    result cites the day's own last block besides the index tip."""
    index, _ = synced
    calls = []
    real = P.build_matrix
    monkeypatch.setattr(P, "build_matrix", lambda ix: calls.append(1) or real(ix))
    P._MATRIX_CACHE.clear()
    a, b = P.hodl_for_day("2009-01-13", index), P.hodl_for_day("2010-06-27", index)
    assert len(calls) == 1
    # day 10 closes with h3 (h1, h2 on day 0), day 540 with h6; both computed at tip h6
    assert (a.attrs["day_height"], b.attrs["day_height"], a.attrs["height"]) == (3, 6, 6)
    assert a.attrs["day_tip_hash"] != b.attrs["day_tip_hash"] == b.attrs["tip_hash"]
    assert P.hodl_for_day("2009-01-12", index).attrs["day_height"] == 2  # no block that day: the last before
    # a sync that extends the chain changes the index: the next read rebuilds
    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = synthetic_chain(genesis, PLAN + [(541, 1 * SAT, [])])
    write_blk(index.parent / "blocks", [genesis] + blocks)
    chain_api.sync(blocks_dir=index.parent / "blocks", store_path=index)
    c = P.hodl_for_day(None, index)
    assert len(calls) == 2 and c.attrs["height"] == 7 and c.attrs["date"] == "2010-06-28"
