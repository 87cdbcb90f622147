"""Address-balance cohorts: supply and script count per balance band, all bands in one SQL pass.

:func:`aggregate.balance_bands` is checked against three independent readings:

* a per-output loop over the raw blocks (python-bitcoinlib decoding; every spendable output
  adds to its script's balance, every spent coin takes it away; a dict of balances per script
  at the end of each day, binned by hand into the bands);
* a dict of running balances built from the ``flows`` rows themselves (one Python pass);
* :func:`aggregate.band_supply`, the older one-band-per-pass SQL (each band on its own, and the
  bands from 1k BTC up against ``supply_whales_1k``'s threshold);

plus hand-derived figures on a synthetic chain where scripts cross the 1 BTC and 1,000 BTC
edges up and down (also within one day), and the totals against the UTXO supply of the matrix.
Blocks are synthetic on the real mainnet genesis (own parser, coin-map mode) and, for the
parallel sync, a genuine regtest Core datadir written by py-bitcoinkernel.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from _chainhelp import (DAY0, _cs, _height_push, balances_by_day, block_hash, mine_block, split_blocks_dir, txid,
                        write_blk)

from btcmacro import catalog
from btcmacro.chain import api
from btcmacro.chain import publishing as P
from btcmacro.chain.aggregate import (BALANCE_BANDS, balance_band_key, balance_bands, balance_bands_sql,
                                      band_supply)
from btcmacro.chain.index import ChainIndex
from btcmacro.chain.metrics import supply
from btcmacro.store import Store

SAT = 10**8
EDGES = [lo for _, lo in BALANCE_BANDS]


# ----------------------------------------------------------------------------- block builders


def script(n: int) -> bytes:
    """A distinct anyone-can-spend script per ``n``: push ``n`` (2 bytes), OP_DROP, OP_TRUE."""
    return b"\x02" + n.to_bytes(2, "little") + b"\x75\x51"


def coinbase(height: int, outs: list[tuple[int, bytes]]) -> bytes:
    """Coinbase with a BIP34 height push paying ``outs`` = [(satoshis, scriptPubKey)]."""
    sig = _height_push(height) + b"\x01\xbb"
    vout = b"".join(v.to_bytes(8, "little") + _cs(len(s)) + s for v, s in outs)
    return (b"\x02\0\0\0" + b"\x01" + b"\0" * 32 + b"\xff\xff\xff\xff" + _cs(len(sig)) + sig
            + b"\xff\xff\xff\xff" + _cs(len(outs)) + vout + b"\0\0\0\0")


def spend(prevs: list[tuple[bytes, int]], outs: list[tuple[int, bytes]]) -> bytes:
    """Spend anyone-can-spend outputs ``prevs`` = [(txid, vout)] (empty scriptSigs) into ``outs``."""
    vin = b"".join(t + n.to_bytes(4, "little") + b"\x00" + b"\xff\xff\xff\xff" for t, n in prevs)
    vout = b"".join(v.to_bytes(8, "little") + _cs(len(s)) + s for v, s in outs)
    return b"\x02\0\0\0" + _cs(len(prevs)) + vin + _cs(len(outs)) + vout + b"\0\0\0\0"


def build(prev: bytes, plan: list, t0: int, start_height: int = 1) -> tuple[list[bytes], dict]:
    """Mine ``plan`` rows ``(time offset s, coinbase outs, [(name, prevs by name, outs)])``.

    A block's coinbase is named ``cb<height>``; a spend's prevs are ``(tx name, vout)``."""
    txs, blocks = {}, []
    for i, (toff, cb_outs, spends) in enumerate(plan):
        h = start_height + i
        body = [coinbase(h, cb_outs)]
        txs[f"cb{h}"] = body[0]
        for name, prevs, outs in spends:
            t = spend([(txid(txs[n]), v) for n, v in prevs], outs)
            txs[name] = t
            body.append(t)
        blk = mine_block(prev, h, t0 + toff, body)
        blocks.append(blk)
        prev = block_hash(blk)
    return blocks, txs


# ----------------------------------------------------------------------------- references


def flows_balances_by_day(index: ChainIndex) -> dict[dt.date, dict[int, int]]:
    """The same from the index's ``flows`` rows: a running dict of balances per script key."""
    rows = index.con.execute(
        "SELECT b.day, fl.script_key, fl.delta FROM flows fl JOIN blocks b ON b.height = fl.height "
        "ORDER BY fl.height").fetchall()
    bal, out = defaultdict(int), {}
    for day, key, delta in rows:
        bal[key] += delta
        out[day] = dict(bal)
    return out


def bin_reference(by_day: dict, days: np.ndarray, edges: list[int] = EDGES) -> tuple[np.ndarray, np.ndarray]:
    """Bands from end-of-day balances (days without blocks carry the previous day's)."""
    sup = np.zeros((len(edges), days.size), dtype=np.int64)
    cnt = np.zeros((len(edges), days.size), dtype=np.int64)
    last: dict = {}
    for j, d in enumerate(days):
        last = by_day.get(pd.Timestamp(d).date(), last)
        for v in last.values():
            band = max((i for i, e in enumerate(edges) if v >= e), default=None)
            if band is not None:
                sup[band, j] += v
                cnt[band, j] += v > 0
    return sup, cnt


# ----------------------------------------------------------------------------- a synthetic chain crossing the edges

G, W, X, Y, Z, D1, D2, D3, V, U, T_, Q = (script(n) for n in range(12))
DAY = 86_400
#: what G pays out on day 1 (satoshis, in output order: W, X, D1, D2, D3, Y, Z, V, U, T) and keeps
PAID = [SAT // 2, 4 * SAT // 10, SAT // 2000, SAT // 200, SAT // 20, 5 * SAT, 50 * SAT, 500 * SAT,
        5_000 * SAT, 50_000 * SAT]
G1 = 150_000 * SAT - sum(PAID)  # 94,444.0445 BTC
# times are offsets from 2009-01-03 00:00 UTC; each row one block (heights 1..)
PLAN = [
    # day 0: G 150,000 BTC (>100k); W 999.5 (100-1k)
    (19 * 3600, [(150_000 * SAT, G)], []),
    (20 * 3600, [(9995 * SAT // 10, W)], []),
    # day 1: X 0.6 (0.1-1); G pays everyone: W +0.5 = 1000.0 (enters 1k-10k exactly at the edge),
    # X +0.4 = 1.0 (enters 1-10 at the edge), one script per band, the rest back to G (G1)
    (DAY + 3600, [(6 * SAT // 10, X)], [("pay", [("cb1", 0)], [
        *zip(PAID, [W, X, D1, D2, D3, Y, Z, V, U, T_]), (G1, G)])]),
    # day 3 (day 2 has no block): W spends its 0.5 coin back to 999.5 (leaves 1k-10k), X spends its
    # 0.6 coinbase (down to 0.4, leaves 1-10); both go to Q (1.1 -> 1-10)
    (3 * DAY + 3600, [(1, Q)], [("w_out", [("pay", 0), ("cb3", 0)], [(11 * SAT // 10 - 1, Q)])]),
    # day 4, two blocks: Y 5 -> 1,000 (1k-10k) in the first and back to 5 in the second; at the end
    # of the day Y is where it was. Z is emptied (50 -> 0: no longer counted).
    (4 * DAY + 3600, [(995 * SAT, Y)], []),
    (4 * DAY + 7200, [(1, Q)], [("y_back", [("cb5", 0)], [(995 * SAT, V)]),
                                ("z_out", [("pay", 6)], [(25 * SAT, Q), (25 * SAT, Q)])]),
    # day 6: T's 50,000 coin pays U 2 x 2,500 (U 10,000 exactly: 1k-10k -> 10k-100k, two outputs to
    # one script in one transaction) and T 45,000 back; a zero-value coinbase to G
    (6 * DAY + 3600, [(0, G)], [("u_in", [("pay", 9)], [(2_500 * SAT, U), (2_500 * SAT, U),
                                                         (45_000 * SAT, T_)])]),
]


@pytest.fixture(scope="module")
def synced(tmp_path_factory, blocks_path):
    d = tmp_path_factory.mktemp("bands")
    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = build(block_hash(genesis), PLAN, DAY0)
    raws = [genesis] + blocks
    write_blk(d / "blocks", raws)
    api.sync(blocks_dir=d / "blocks", store_path=d / "chain.duckdb")
    return d / "chain.duckdb", raws


def _bands(index_path, edges=None):
    m = api.load_matrix(index_path)
    with ChainIndex(index_path, read_only=True) as ix:
        return m, balance_bands(ix, m.days, edges)


def test_band_ids_are_catalogued():
    keys = [balance_band_key(lab) for lab, _ in BALANCE_BANDS]
    assert keys == ["lt_0p001", "0p001_0p01", "0p01_0p1", "0p1_1", "1_10", "10_100", "100_1k", "1k_10k",
                    "10k_100k", "gt_100k"]
    assert EDGES == [0, 10**5, 10**6, 10**7, 10**8, 10**9, 10**10, 10**11, 10**12, 10**13]
    for k in keys:  # publish() skips a key without a catalogue id: none may be missing
        s, a = catalog.SERIES[f"chain/supply_band_{k}"], catalog.SERIES[f"chain/addresses_band_{k}"]
        assert (s.unit, a.unit, s.source, s.release) == ("BTC", "count", "own node", "same_day"), k
    assert P.BAND_EDGES == EDGES


def test_bands_equal_the_per_output_reference(synced):
    index_path, raws = synced
    m, got = _bands(index_path)
    sup, cnt = bin_reference(balances_by_day(raws), m.days)
    assert got.supply.tolist() == sup.tolist()
    assert got.addresses.tolist() == cnt.tolist()
    with ChainIndex(index_path, read_only=True) as ix:  # and from the flows rows, by script key
        fsup, fcnt = bin_reference(flows_balances_by_day(ix), m.days)
    assert got.supply.tolist() == fsup.tolist() and got.addresses.tolist() == fcnt.tolist()


def test_bands_by_hand(synced):
    index_path, _ = synced
    m, got = _bands(index_path)
    days = [str(d) for d in m.days]
    assert days[0] == "2009-01-03" and days[-1] == "2009-01-09"
    b = {balance_band_key(lab): i for i, (lab, _) in enumerate(BALANCE_BANDS)}
    s = lambda k, d: int(got.supply[b[k], d])  # noqa: E731
    n = lambda k, d: int(got.addresses[b[k], d])  # noqa: E731
    # day 0: genesis 50 (10-100), W 999.5 (100-1k), G 150,000 (>100k)
    assert [s(k, 0) for k in ("10_100", "100_1k", "gt_100k")] == [50 * SAT, 9995 * SAT // 10, 150_000 * SAT]
    assert int(got.supply[:, 0].sum()) == 50 * SAT + 9995 * SAT // 10 + 150_000 * SAT
    assert int(got.addresses[:, 0].sum()) == 3
    # day 1: W exactly 1,000 and U 5,000 in 1k-10k; X exactly 1.0 and Y 5 in 1-10; the dust scripts
    assert s("1k_10k", 1) == 6_000 * SAT and n("1k_10k", 1) == 2
    assert s("1_10", 1) == 6 * SAT and n("1_10", 1) == 2 and s("0p1_1", 1) == 0
    assert (s("lt_0p001", 1), s("0p001_0p01", 1), s("0p01_0p1", 1)) == (50_000, 500_000, 5_000_000)
    assert s("100_1k", 1) == 500 * SAT and s("10k_100k", 1) == 50_000 * SAT + G1 and G1 == 9_444_404_450_000
    assert n("10k_100k", 1) == 2 and s("gt_100k", 1) == 0 and n("gt_100k", 1) == 0
    # day 2: no block, day 1 carried
    assert got.supply[:, 2].tolist() == got.supply[:, 1].tolist()
    # day 3: W back to 999.5 and X to 0.4 (both crossed down); Q 1.1 BTC
    assert s("1k_10k", 3) == 5_000 * SAT and n("1k_10k", 3) == 1
    assert s("100_1k", 3) == 9995 * SAT // 10 + 500 * SAT and s("0p1_1", 3) == 4 * SAT // 10
    assert s("1_10", 3) == 5 * SAT + 11 * SAT // 10 and n("1_10", 3) == 2  # Y and Q
    # day 4: Y went to 1,000 and back within the day: still 1-10; V 500 + 995 = 1,495 -> 1k-10k;
    # Z emptied into Q (+50 and a 1-sat coinbase: 51.1 BTC + 1 sat): 10-100 holds genesis and Q
    assert s("1_10", 4) == 5 * SAT and n("1_10", 4) == 1  # Y; Q moved up
    assert s("10_100", 4) == 50 * SAT + 511 * SAT // 10 + 1 and n("10_100", 4) == 2
    assert s("1k_10k", 4) == (5_000 + 1_495) * SAT and n("1k_10k", 4) == 2
    # day 6: U 10,000 exactly (10k-100k), T 45,000, G1; only V is left in 1k-10k
    assert s("1k_10k", 6) == 1_495 * SAT and n("1k_10k", 6) == 1
    assert s("10k_100k", 6) == 10_000 * SAT + 45_000 * SAT + G1 and n("10k_100k", 6) == 3


def test_bands_sum_to_supply_and_match_band_supply(synced):
    index_path, _ = synced
    m, got = _bands(index_path)
    # every satoshi of the UTXO set (the matrix's creations minus spends) is in exactly one band
    assert got.supply.sum(axis=0).tolist() == supply(m).tolist()
    with ChainIndex(index_path, read_only=True) as ix:
        bounds = EDGES + [None]
        for i in range(len(EDGES)):  # each band against its own window pass
            assert got.supply[i].tolist() == band_supply(ix, m.days, bounds[i], bounds[i + 1]).tolist(), i
        whales = band_supply(ix, m.days, 1_000 * SAT)  # what supply_whales_1k publishes
    assert got.supply[EDGES.index(1_000 * SAT):].sum(axis=0).tolist() == whales.tolist()
    assert whales.tolist() != [0] * m.ndays  # the chain has whales


def test_custom_edges_and_bad_edges(synced):
    index_path, raws = synced
    edges = [SAT, 1_000 * SAT]  # below 1 BTC is in no band; [1, 1k) and >= 1k
    m, got = _bands(index_path, edges)
    sup, cnt = bin_reference(balances_by_day(raws), m.days, edges)
    assert got.supply.tolist() == sup.tolist() and got.addresses.tolist() == cnt.tolist()
    assert got.supply.shape == (2, m.ndays)
    assert int(got.supply[1, 1]) == (1_000 + 5_000 + 50_000) * SAT + G1
    for bad in ([], [SAT, SAT], [2, 1], [-1, 5]):
        with pytest.raises(ValueError, match="increasing"):
            balance_bands_sql(bad)
    with ChainIndex(index_path, read_only=True) as ix, pytest.raises(ValueError, match="outside the day axis"):
        balance_bands(ix, m.days[2:])


def test_publish_writes_every_band(synced, tmp_path):
    index_path, _ = synced
    m, got = _bands(index_path)
    prices = pd.Series(1000.0, index=pd.date_range("2009-01-03", "2009-01-09"))
    with Store(tmp_path / "main.duckdb") as st:
        res = P.publish(st, index_path, prices=prices)
        assert res.full and P.published_tip(st)["version"] == P.METRICS_VERSION
        for i, (lab, lo) in enumerate(BALANCE_BANDS):
            k = balance_band_key(lab)
            sb, ab = st.series(f"chain/supply_band_{k}"), st.series(f"chain/addresses_band_{k}")
            assert sb.index.strftime("%Y-%m-%d").tolist() == [str(d) for d in m.days]
            assert (sb.to_numpy() * SAT).round().astype(np.int64).tolist() == got.supply[i].tolist(), k
            assert ab.to_numpy().astype(np.int64).tolist() == got.addresses[i].tolist(), k
            prov = st.meta(f"chain/supply_band_{k}").provenance
            assert prov.startswith(f"own node, tip {res.tip_hash} height {res.height}; scripts with "), prov
            assert f"{lo / SAT:g}" in prov
        assert st.meta("chain/supply_band_1_10").provenance.endswith("a balance in [1, 10) BTC")
        assert st.meta("chain/supply_band_gt_100k").provenance.endswith("a balance of at least 100000 BTC")
        whales = st.series("chain/supply_whales_1k")
        # supply_whales_1k (now summed from the bands) is still band_supply's >= 1,000 BTC
        with ChainIndex(index_path, read_only=True) as ix:
            ref = band_supply(ix, m.days, 1_000 * SAT)
        assert (whales.to_numpy() * SAT).round().astype(np.int64).tolist() == ref.tolist()
        # republishing the same tip adds nothing
        again = P.publish(st, index_path, prices=prices)
        assert sum(w.new + w.revised for w in again.written.values()) == 0
    # a threshold that is no band edge takes band_supply's own pass
    with Store(tmp_path / "other.duckdb") as st:
        P.publish(st, index_path, prices=prices, whale_btc=40)
        w40 = st.series("chain/supply_whales_1k")
        assert "scripts holding >= 40 BTC" in st.meta("chain/supply_whales_1k").provenance
    with ChainIndex(index_path, read_only=True) as ix:
        assert (w40.to_numpy() * SAT).round().astype(np.int64).tolist() == band_supply(ix, m.days, 40 * SAT).tolist()


def test_real_blocks_bands(tmp_path, fixture_blocks):
    """The 256 real blocks: bands against the per-output reference and the README's supply."""
    write_blk(tmp_path / "b", fixture_blocks)
    api.sync(blocks_dir=tmp_path / "b", store_path=tmp_path / "c.duckdb")
    m, got = _bands(tmp_path / "c.duckdb")
    sup, cnt = bin_reference(balances_by_day(fixture_blocks), m.days)
    assert got.supply.tolist() == sup.tolist() and got.addresses.tolist() == cnt.tolist()
    assert int(got.supply[:, -1].sum()) == 12_800 * SAT  # blocks README: 12,800 BTC unspent
    # README spend table: Hal 10 BTC (10-100), the block-9 key's change (1-10 after 248: 18 BTC)
    assert int(got.supply[EDGES.index(10 * SAT), -1]) + int(got.supply[EDGES.index(SAT), -1]) == 12_800 * SAT


# ----------------------------------------------------------------------------- parallel sync, genuine Core datadir


def _regtest_plan():
    """Heights 1..125, four blocks a day. Coinbases 1..21 pay W (50 BTC each: W reaches 1,000 at
    height 20, 1,050 at 21), the others pay scripts 100 + height. At 105 W spends cb1 into X 0.6,
    Y 49.3, D 0.1 (W 1,000: still 1k-10k, at the edge); at 110 W spends cb2 into X 0.4 (X = 1.0:
    enters 1-10) and Z 49.6 (W 950: leaves 1k-10k); at 115 X spends its 0.6 (back to 0.4)."""
    plan = []
    for h in range(1, 126):
        pay = W if h <= 21 else script(100 + h)
        spends = {
            105: [("s105", [("cb1", 0)], [(6 * SAT // 10, X), (493 * SAT // 10, Y), (SAT // 10, D1)])],
            110: [("s110", [("cb2", 0)], [(4 * SAT // 10, X), (496 * SAT // 10, Z)])],
            115: [("s115", [("s105", 0)], [(6 * SAT // 10, Q)])],
        }.get(h, [])
        plan.append((h * DAY // 4, [(50 * SAT, pay)], spends))
    return plan


REGTEST_GENESIS = bytes.fromhex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")[::-1]


def test_parallel_sync_bands(tmp_path):
    pbk = pytest.importorskip("pbk")
    from btcmacro.chain import blkfile

    blocks, _ = build(REGTEST_GENESIS, _regtest_plan(), 1_600_000_000)
    dd = tmp_path / "node"
    cm = pbk.load_chainman(dd, pbk.ChainType.REGTEST)
    for b in blocks:
        cm.process_block(pbk.Block(b))
    assert cm.get_active_chain().height == 125  # Core accepted every block (scripts, maturity)
    del cm
    gc.collect()
    split = tmp_path / "blocks"
    split_blocks_dir(dd / "blocks", split, 40, network="regtest")  # 126 blocks -> 4 blk + 4 rev files
    assert len(list(split.glob("blk*.dat"))) == 4
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    api.sync(blocks_dir=split, store_path=one, undo_files=True, network="regtest")
    api.sync(blocks_dir=split, store_path=two, undo_files=True, network="regtest", jobs=2)
    with ChainIndex(two, read_only=True) as ix:  # the flows rows are in adopted parquet parts
        assert ix.con.execute("SELECT count(*) FROM flow_rows").fetchall() == [(0,)]
        assert ix.con.execute("SELECT count(*) FROM flow_parts").fetchall()[0][0] >= 2
    m, got = _bands(two)
    m1, got1 = _bands(one)
    assert got.supply.tolist() == got1.supply.tolist() and got.addresses.tolist() == got1.addresses.tolist()
    # independent: the regtest genesis (first record of the node's first file) + the mined blocks
    key = blkfile.read_xor_key(dd / "blocks")
    genesis = blkfile.scan_file(dd / "blocks" / "blk00000.dat", key=key, network="regtest").records[0].data
    assert block_hash(genesis) == REGTEST_GENESIS
    sup, cnt = bin_reference(balances_by_day([genesis] + blocks), m.days)
    assert got.supply.tolist() == sup.tolist() and got.addresses.tolist() == cnt.tolist()
    assert got.supply.sum(axis=0).tolist() == supply(m).tolist()
    k1k, k1 = EDGES.index(1_000 * SAT), EDGES.index(SAT)
    day = {str(d): i for i, d in enumerate(m.days)}
    t = lambda h: str(np.datetime64(1_600_000_000 + h * DAY // 4, "s").astype("datetime64[D]"))  # noqa: E731
    # W crosses 1,000 BTC on the day of heights 18-21 (850 -> 1,050), stays at the edge on 105's
    # day, leaves on 110's
    assert t(17) < t(18) == t(21) < t(22)
    assert int(got.supply[k1k, day[t(17)]]) == 0 and int(got.supply[k1k - 1, day[t(17)]]) == 850 * SAT
    assert int(got.supply[k1k, day[t(21)]]) == 1_050 * SAT and int(got.addresses[k1k, day[t(21)]]) == 1
    assert int(got.supply[k1k, day[t(105)]]) == 1_000 * SAT
    assert int(got.supply[k1k, day[t(110)]]) == 0 and int(got.addresses[k1k, day[t(110)]]) == 0
    # X: 0.6 (0.1-1) from 105's day, exactly 1.0 (1-10) on 110's, back to 0.4 on 115's
    assert int(got.supply[k1, day[t(110)]]) == SAT and int(got.addresses[k1, day[t(110)]]) == 1
    assert int(got.supply[k1, day[t(115)]]) == 0
    with ChainIndex(two, read_only=True) as ix:
        assert got.supply[k1k:].sum(axis=0).tolist() == band_supply(ix, m.days, 1_000 * SAT).tolist()
