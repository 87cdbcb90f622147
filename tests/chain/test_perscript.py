"""Second aggregation (per-script balances): address lists, whale bands, URPD.

Known answers come from the 256 real blocks (scripts read off blocks 1, 9, 170, 181-183, 248;
values from the blocks README spend table) and from an independent per-output reference loop
written with python-bitcoinlib.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from _chainhelp import balances_by_day, synthetic_chain, write_blk
from bitcoin.core import CBlock
from bitcoin.wallet import CBitcoinAddress

from btcmacro.chain import api
from btcmacro.chain import publishing as P
from btcmacro.chain.addresses import address_to_script, load_address_list
from btcmacro.chain.aggregate import band_supply, scripts_balance
from btcmacro.chain.index import ChainIndex
from btcmacro.chain.lifecycle import script_key, spendable
from btcmacro.chain.metrics import urpd
from btcmacro.chain.synth import hand_case, matrix_from_coins
from btcmacro.errors import DataError
from btcmacro.store import Store

SAT = 10**8


@pytest.mark.parametrize("addr,script", [
    # the genesis coinbase key's P2PKH address (widely published)
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"),
    # BIP 173 test vectors
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
     "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    # BIP 350 (Bech32m, Taproot) test vector
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
])
def test_address_vectors(addr, script):
    assert address_to_script(addr).hex() == script


@pytest.mark.parametrize("addr", ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                                  "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"])
def test_address_matches_python_bitcoinlib(addr):
    assert address_to_script(addr) == bytes(CBitcoinAddress(addr).to_scriptPubKey())


@pytest.mark.parametrize("bad", ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
                                 "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1", "hello"])
def test_bad_addresses(bad):
    with pytest.raises(ValueError):
        address_to_script(bad)


def test_address_list_needs_provenance(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("address\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n")
    with pytest.raises(DataError, match="provenance"):
        load_address_list(f)
    f.write_text("# provenance: test\naddress\nnot-an-address\n")
    with pytest.raises(DataError, match="row 2"):
        load_address_list(f)


# ----------------------------------------------------------------------------- real blocks


@pytest.fixture(scope="module")
def synced(tmp_path_factory, fixture_blocks):
    d = tmp_path_factory.mktemp("ps")
    write_blk(d / "blocks", fixture_blocks)
    api.sync(blocks_dir=d / "blocks", store_path=d / "chain.duckdb")
    return d / "chain.duckdb"


def _reference_balances(fixture_blocks):
    """Per-script balance at the end of each day, by a plain loop over python-bitcoinlib objects."""
    return balances_by_day(fixture_blocks)


def test_scripts_balance_hand_values(synced, fixture_blocks, tmp_path):
    from btcmacro.chain.parse import parse_block

    b1 = parse_block(fixture_blocks[1]).txs[0].vout[0][1]
    b9 = parse_block(fixture_blocks[9]).txs[0].vout[0][1]
    hal = parse_block(fixture_blocks[170]).txs[1].vout[0][1]
    m = api.load_matrix(synced)
    with ChainIndex(synced, read_only=True) as ix:
        bal = scripts_balance(ix, m.days, [script_key(b1), script_key(b9), script_key(hal)]) / SAT
    days = [str(d) for d in m.days]
    # block 1 (2009-01-09) 50; block 9 (2009-01-09) 50, spent at 170 with 40 change back to the same key, the
    # change re-spent at 181/182/183/248 each returning 30/29/28/18 (README table): 18 left; Hal 10 from block 170
    assert dict(zip(days, bal.tolist())) == {
        "2009-01-03": 0, "2009-01-04": 0, "2009-01-05": 0, "2009-01-06": 0, "2009-01-07": 0, "2009-01-08": 0,
        "2009-01-09": 100, "2009-01-10": 100, "2009-01-11": 100, "2009-01-12": 50 + 18 + 10}


@pytest.mark.parametrize("lo,hi", [(40, None), (50, None), (10, 40), (1, 30), (0.5, None)])
def test_band_supply_matches_reference(synced, fixture_blocks, lo, hi):
    ref = _reference_balances(fixture_blocks)
    m = api.load_matrix(synced)
    with ChainIndex(synced, read_only=True) as ix:
        got = band_supply(ix, m.days, int(lo * SAT), None if hi is None else int(hi * SAT))
    want, last = [], {}
    for d in m.days:
        last = ref.get(pd.Timestamp(d).date(), last)
        want.append(sum(v for v in last.values() if v >= lo * SAT and (hi is None or v < hi * SAT)))
    assert got.tolist() == want


def test_publish_whales_and_exchange_balance(synced, fixture_blocks, tmp_path):
    from btcmacro.chain.parse import parse_block

    b9 = parse_block(fixture_blocks[9]).txs[0].vout[0][1]
    hal = parse_block(fixture_blocks[170]).txs[1].vout[0][1]
    csvf = tmp_path / "exchanges.csv"
    csvf.write_text("# provenance: two keys picked from blocks 9 and 170 for this test\n"
                    f"label,script,address\nsatoshi,{b9.hex()},\nhal,{hal.hex()},\n"
                    "genesis-p2pkh,,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n")
    lst = load_address_list(csvf)
    with Store(tmp_path / "main.duckdb") as st:
        P.publish(st, synced, addresses=lst, whale_btc=40)
        ex = st.series("chain/exchange_balance")
        wh = st.series("chain/supply_whales_1k")
        prov = st.meta("chain/exchange_balance").provenance
    assert ex[pd.Timestamp("2009-01-09")] == 50 and ex[pd.Timestamp("2009-01-12")] == 28  # 18 + 10
    assert "two keys picked from blocks 9 and 170" in prov and lst.sha256[:12] in prov and "3 scripts" in prov
    ref = _reference_balances(fixture_blocks)[pd.Timestamp("2009-01-12").date()]
    assert wh[pd.Timestamp("2009-01-12")] * SAT == sum(v for v in ref.values() if v >= 40 * SAT)


# ----------------------------------------------------------------------------- URPD


def test_urpd_hand_case():
    coins, prices, n = hand_case()  # see btcmacro.chain.synth.hand_case
    m = matrix_from_coins(coins, n)
    # end of day 10 @: B 4 BTC (day 0, 100 USD), C 2 + D 1 BTC (day 10, 200 USD)
    u = urpd(m, prices, 10, buckets=np.array([0, 150, 250.0]))
    assert u["btc"].tolist() == [4, 3]
    # day 170: D 1 BTC @200 and E 3 BTC @50; 4 buckets of 50 USD from 0 to 200 (top included)
    u = urpd(m, prices, 170, buckets=4)
    assert u["price_low"].tolist() == [0, 50, 100, 150] and u["btc"].tolist() == [0, 3, 0, 1]
    assert u["btc"].sum() == 4


def test_urpd_from_synced_chain(tmp_path, blocks_path):
    genesis = (blocks_path / "0.bin").read_bytes()
    blocks, _ = synthetic_chain(genesis, [(0, 10 * SAT, []), (10, 3 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])])])
    write_blk(tmp_path / "b", [genesis] + blocks)
    api.sync(blocks_dir=tmp_path / "b", store_path=tmp_path / "c.duckdb")
    prices = pd.Series([100.0, 200.0], index=pd.to_datetime(["2009-01-03", "2009-01-13"]))
    u = api.urpd("2009-01-13", prices, tmp_path / "c.duckdb", buckets=np.array([0, 150, 250.0]))
    # genesis 50 @100 (day 0); A 10 @100 spent day 10 into 6 + 4 @200, plus coinbase 3 @200
    assert u["btc"].tolist() == [50, 13]


def _flows_reference(block, spent, key):
    """Per-key net change, first-occurrence order, zero sums dropped: a plain loop over every
    output (python-bitcoinlib's decoding) and every spent coin."""
    b = CBlock.deserialize(block._raw)
    acc: dict[bytes, int] = {}
    for tx in b.vtx:
        for o in tx.vout:
            s = bytes(o.scriptPubKey)
            if spendable(s):
                acc[key(s)] = acc.get(key(s), 0) + o.nValue
    for s, v in spent:
        acc[key(s)] = acc.get(key(s), 0) - v
    return [(k, v) for k, v in acc.items() if v != 0]


def test_block_flows_both_input_forms_and_shared_keys(fixture_blocks, monkeypatch):
    """``block_flows`` sums by script bytes and hashes distinct scripts; the result must be the
    per-key table, also when two scripts share a key (forced with a fake hash) or cancel out."""
    import hashlib

    from btcmacro.chain import lifecycle
    from btcmacro.chain.parse import parse_block

    blk = parse_block(fixture_blocks[170], height=170)  # 2 txs, 3 P2PK outputs (67-byte scripts)
    outs = [s for t in blk.txs for _, s in t.vout]
    # made-up spent coins: Hal's script (10 BTC received in this block, README) spent for 10 BTC
    # (nets to zero: no row), one script spent twice, scripts of other lengths
    spent = [(b"\x51", 7), (outs[1], 10 * SAT), (b"\x52\x53", 3), (b"\x51", 5), (b"\x54", 7)]
    rows = lifecycle.block_flows(blk, 170, spent)
    got = list(zip(rows["script_key"].to_pylist(), rows["delta"].to_pylist()))
    assert got == _flows_reference(blk, spent, script_key)
    assert rows["height"].to_pylist() == [170] * len(got)
    flat = lifecycle.block_flows(blk, 170, scripts=[s for s, _ in spent], values=[v for _, v in spent])
    assert flat.equals(rows)
    assert [v for v, _ in blk.txs[1].vout] == [10 * SAT, 40 * SAT]  # Hal 10, change 40 (README)
    assert script_key(outs[1]) not in dict(got) and dict(got)[script_key(b"\x51")] == -12

    class _Fake:  # "hash" = script length mod 3: 67-byte scripts share a key with 1-byte ones
        def __init__(self, s):
            self.s = bytes(s)

        def digest(self):
            return bytes([len(self.s) % 3]) * 32

    import numpy as np

    from btcmacro.chain import kernels

    def fake_keys(buf, starts, lens):  # the compiled hash, faked the same way
        return np.array([[n % 3] * 16 for n in np.asarray(lens).tolist()], dtype=np.uint8).reshape(-1, 16)

    monkeypatch.setattr(lifecycle.hashlib, "sha256", _Fake)
    monkeypatch.setattr(kernels, "script_keys", fake_keys)
    fake = lambda s: bytes([len(s) % 3]) * 16  # noqa: E731
    for fn in (lifecycle.block_flows, lifecycle.block_flows_reference):
        rows = fn(blk, 170, spent)
        got = list(zip(rows["script_key"].to_pylist(), rows["delta"].to_pylist()))
        assert got == _flows_reference(blk, spent, fake), fn.__name__
        assert len(got) < len({s for s in outs} | {s for s, _ in spent})  # keys were shared
    monkeypatch.setattr(lifecycle.hashlib, "sha256", hashlib.sha256)


def test_block_flows_fast_path_equals_reference(fixture_blocks):
    """Distinct scripts, one repeated spent script, one spent script that the block also creates
    and a spent coin of 0 sats: the compiled ``block_flows``, its Python twin and the per-key
    reference written here (python-bitcoinlib objects) all agree (same rows, same order)."""
    from btcmacro.chain import lifecycle
    from btcmacro.chain.parse import parse_block

    blk = parse_block(fixture_blocks[170], height=170)  # 3 distinct P2PK outputs (README)
    outs = [s for t in blk.txs for _, s in t.vout]
    cases = [
        [],
        [(b"\x51", 7), (b"\x52\x53", 3), (b"\x54", 0)],  # fast path, one spent coin of 0 sats
        [(b"\x51", 7), (b"\x52", 3), (b"\x51", 5)],  # a spent script repeated
        [(b"\x51", 7), (outs[2], 1)],  # a created script also spent
    ]
    for spent in cases:
        rows = lifecycle.block_flows(blk, 170, spent)
        got = list(zip(rows["script_key"].to_pylist(), rows["delta"].to_pylist()))
        assert got == _flows_reference(blk, spent, script_key), spent
        flat = lifecycle.block_flows(blk, 170, scripts=[s for s, _ in spent], values=[v for _, v in spent])
        assert flat.equals(rows)
        assert lifecycle.block_flows_reference(blk, 170, spent).equals(rows)  # the pure-Python twin
    assert len(got) == 4 and dict(got)[script_key(outs[2])] == 40 * SAT - 1  # Hal's change output
