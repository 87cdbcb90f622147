"""JSON-RPC input against a local server replaying Core's documented answers (see _rpcnode.py)."""

from __future__ import annotations

import socket

import pytest
from _chainhelp import block_hash, synthetic_chain, write_blk
from _rpcnode import FakeNode

from btcmacro.chain import api
from btcmacro.chain.index import ChainIndex
from btcmacro.chain.rpc import RpcClient, RpcConfig, RpcError, btc_to_sat
from btcmacro.errors import AuthError, BadBlock, BadPayload, NetworkMismatch, ReorgBeyondDepth, Unavailable
from btcmacro.http import FakeClock, reset_limiters

SAT = 10**8
TIP = "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"
PASSWORD = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh_limiters():
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def node(httpserver, fixture_blocks):
    n = FakeNode()
    n.add_chain(fixture_blocks)
    httpserver.expect_request("/", method="POST").respond_with_handler(n.handler)
    n.url = httpserver.url_for("/")
    return n


def _cfg(node, tmp_path, clock=None, **kw) -> RpcConfig:
    cookie = tmp_path / ".cookie"
    cookie.write_text(f"__cookie__:{PASSWORD}")
    return RpcConfig.from_options(node.url, cookie=cookie, clock=clock or FakeClock(), **kw)


def _tables(store):
    with ChainIndex(store, read_only=True) as ix:
        return {t: ix.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("blocks", "created", "spends", "flows", "checkpoint")}


def _matrix(store):
    m = api.load_matrix(store)
    return (m.days.tolist(), m.c.tolist(), m.s.tolist(), m.value.tolist(), m.n.tolist(), m.created.tolist())


def test_btc_to_sat_exact():
    from decimal import Decimal

    assert btc_to_sat(Decimal("50.00000000")) == 50 * SAT and btc_to_sat(Decimal("0.00000001")) == 1
    with pytest.raises(BadPayload):
        btc_to_sat(Decimal("0.000000001"))


def test_rpc_sync_matches_blk_files(node, tmp_path, fixture_blocks):
    store = tmp_path / "rpc.duckdb"
    r = api.sync(rpc=_cfg(node, tmp_path, batch_blocks=50, batch_hashes=100), store_path=store)
    assert r.mode == "rpc" and r.height == 255 and r.tip_hash == TIP and r.blocks_added == 256
    st = api.status(store)
    # blocks README: 263 txs, 261 unspent outputs worth 12,800 BTC after block 255
    assert (st["tx_count"], st["utxo_count"], st["utxo_value_btc"]) == (263, 261, 12800.0)
    with ChainIndex(store, read_only=True) as ix:
        spends = {(s, c, v // SAT) for s, c, v in ix.con.execute(
            "SELECT spend_height, create_height, value FROM spends").fetchall()}
    assert spends == {(170, 9, 50), (181, 170, 40), (182, 181, 30), (183, 182, 29), (187, 183, 1),
                      (221, 182, 1), (248, 183, 28)}  # README spend table
    # batching: getblockhash(0), getblockcount, 3 hash batches of ≤100, 6 block batches of ≤50
    assert node.requests == 2 + 3 + 6 and node.calls.count("getblock") == 256
    files = tmp_path / "files.duckdb"
    write_blk(tmp_path / "blocks", fixture_blocks)
    api.sync(blocks_dir=tmp_path / "blocks", store_path=files)
    assert _matrix(store) == _matrix(files)
    assert _tables(store)["blocks"] == _tables(files)["blocks"]
    assert _tables(store)["flows"] == _tables(files)["flows"]  # prevout scripts == coin-map scripts
    # incremental: nothing new → two cheap calls plus the checkpoint header
    n0 = node.requests
    assert api.sync(rpc=_cfg(node, tmp_path), store_path=store).blocks_added == 0
    assert node.calls[-1] == "getblockheader" and node.requests - n0 == 3


def test_user_password_and_401(node, tmp_path):
    cfg = RpcConfig.from_options(node.url, user="__cookie__", password=PASSWORD, clock=FakeClock())
    with RpcClient(cfg) as c:
        assert c.call("getblockcount") == 255
    bad = RpcConfig.from_options(node.url, user="__cookie__", password="wrong-password-xyz", clock=FakeClock())
    n0 = node.requests
    with RpcClient(bad) as c, pytest.raises(AuthError) as ei:
        c.call("getblockcount")
    assert node.requests - n0 == 1  # never retried
    assert "wrong-password-xyz" not in str(ei.value) and "--rpc-cookie" in str(ei.value)
    assert "wrong-password-xyz" not in repr(bad)


def test_work_queue_503_retried(node, tmp_path):
    clock = FakeClock()
    node.fail_503 = 2
    store = tmp_path / "s.duckdb"
    r = api.sync(rpc=_cfg(node, tmp_path, clock=clock), store_path=store)
    assert r.height == 255
    assert clock.sleeps == [0.5, 1.0]  # backoff 0.5 × 2^attempt, then success
    # more 503s than retries: Unavailable, and nothing is written
    node.fail_503 = 10
    before = _tables(store)
    with pytest.raises(Unavailable, match="503"):
        api.sync(rpc=_cfg(node, tmp_path, clock=FakeClock()), store_path=store)
    assert _tables(store) == before


def test_block_not_found_error_object(node, tmp_path):
    with RpcClient(_cfg(node, tmp_path)) as c:
        n0 = node.requests
        with pytest.raises(RpcError) as ei:
            c.call("getblockheader", "11" * 32)
        assert ei.value.code == -5 and "Block not found" in str(ei.value) and node.requests - n0 == 1
        with pytest.raises(RpcError) as ei:  # inside a batch (HTTP 200 array)
            c.batch([("getblockhash", [1]), ("getblock", ["22" * 32, 3])])
        assert ei.value.code == -5


def test_checkpoint_unknown_to_node_T12(node, tmp_path, fixture_blocks):
    store = tmp_path / "s.duckdb"
    api.sync(rpc=_cfg(node, tmp_path), store_path=store)
    before = _tables(store)
    other = FakeNode()  # a node that only knows blocks 0..200
    other.add_chain(fixture_blocks[:201])
    node.blocks, node.active, node.coins = other.blocks, other.active, other.coins
    with pytest.raises(ReorgBeyondDepth, match="unknown to the node.*--rebuild"):
        api.sync(rpc=_cfg(node, tmp_path), store_path=store)
    assert _tables(store) == before


def test_connection_refused(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    clock = FakeClock()
    cfg = RpcConfig.from_options(f"http://127.0.0.1:{port}", user="u", password="p4ssword", clock=clock)
    with pytest.raises(Unavailable, match="cannot connect to the node"):
        api.sync(rpc=cfg, store_path=tmp_path / "s.duckdb")
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # max_retries = 5, then give up
    assert api.status(tmp_path / "s.duckdb")["height"] is None


def test_network_mismatch(node, tmp_path):
    with pytest.raises(NetworkMismatch, match="network mismatch"):
        api.sync(rpc=_cfg(node, tmp_path, network="regtest"), network="regtest", store_path=tmp_path / "s.duckdb")


def test_old_node_without_prevouts(node, tmp_path):
    node.strip_prevout = True
    with pytest.raises(BadPayload, match="verbosity 3"):
        api.sync(rpc=_cfg(node, tmp_path), store_path=tmp_path / "s.duckdb")


def test_inconsistent_answer_is_bad_block(node, tmp_path, fixture_blocks):
    """The node's tx hex for block 170 does not hash to its merkle root: BadBlock, earlier blocks kept."""
    h170 = node.active[170]
    raw = bytearray.fromhex(node._block3(h170)["tx"][1]["hex"])
    raw[-20] ^= 1  # inside an output value/script of the spending transaction
    node.tamper[h170] = bytes(raw)
    store = tmp_path / "s.duckdb"
    with pytest.raises(BadBlock, match="merkle root mismatch") as ei:
        api.sync(rpc=_cfg(node, tmp_path, batch_blocks=8), store_path=store)
    assert "170" in str(ei.value)
    assert api.status(store)["height"] == 169


# ----------------------------------------------------------------------------- reorg (T11/T12 over RPC)


@pytest.fixture
def branches(blocks_path):
    genesis = (blocks_path / "0.bin").read_bytes()
    a, txs = synthetic_chain(genesis, [(0, 10 * SAT, []), (0, 4 * SAT, []), (10, 3 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])]),
                                       (160, 1 * SAT, [("cb2", 0, [4 * SAT])]), (170, 2 * SAT, [])])
    b, _ = synthetic_chain(genesis, [(160, 5 * SAT, [("cb2", 0, [4 * SAT])]), (161, SAT, []), (162, SAT, [])],
                           prev=block_hash(a[2]), start_height=4, txs_by_name=txs, tag=b"B")
    return [genesis] + a, [genesis] + a[:3] + b


def test_rpc_reorg_T11(httpserver, tmp_path, branches):
    a, b = branches
    n = FakeNode()
    n.add_chain(a)
    httpserver.expect_request("/", method="POST").respond_with_handler(n.handler)
    n.url = httpserver.url_for("/")
    store = tmp_path / "s.duckdb"
    assert api.sync(rpc=_cfg(n, tmp_path), store_path=store).height == 5
    n.add_chain(b)  # the node switched branches; A's blocks 4, 5 are stale (confirmations -1)
    r = api.sync(rpc=_cfg(n, tmp_path), store_path=store)
    assert (r.rolled_back_to, r.reorg_depth, r.height, r.blocks_added) == (3, 2, 6, 3)
    fresh = tmp_path / "fresh.duckdb"
    write_blk(tmp_path / "bl", b)
    api.sync(blocks_dir=tmp_path / "bl", store_path=fresh)
    assert _matrix(store) == _matrix(fresh)
    t1, t2 = _tables(store), _tables(fresh)
    assert all(t1[k] == t2[k] for k in ("blocks", "created", "spends", "flows"))


def test_rpc_reorg_too_deep_T12(httpserver, tmp_path, branches):
    a, b = branches
    n = FakeNode()
    n.add_chain(a)
    httpserver.expect_request("/", method="POST").respond_with_handler(n.handler)
    n.url = httpserver.url_for("/")
    store = tmp_path / "s.duckdb"
    api.sync(rpc=_cfg(n, tmp_path), store_path=store)
    before = _tables(store)
    n.add_chain(b)
    with pytest.raises(ReorgBeyondDepth, match="--rebuild"):
        api.sync(rpc=_cfg(n, tmp_path), store_path=store, max_reorg_depth=1)
    assert _tables(store) == before
