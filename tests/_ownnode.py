"""A small own-node chain for the tests outside ``tests/chain``: real engine output, not fixtures.

A synthetic chain on the real mainnet genesis (``_chainhelp.synthetic_chain``, blocks stamped on
the plan's days) is written as a blk file, synced with :func:`btcmacro.chain.api.sync` and, for
:func:`published_node`, published into a copy of a snapshot store.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from _chainhelp import BLOCKS, block_hash, synthetic_chain, write_blk

SAT = 10**8
GENESIS_DAY = dt.date(2009, 1, 3)
AS_OF = dt.date(2025, 12, 9)
D = (AS_OF - GENESIS_DAY).days  # day index of the as-of date (6184)

#: (day index, coinbase satoshis, spends); genesis (50 BTC, 2009-01-03) is the first coin
HODL_PLAN = [
    (D - 800, 10 * SAT, []),                               # h1: A 10
    (D - 400, 4 * SAT, []),                                # h2: B 4
    (D - 100, 3 * SAT, [("cb1", 0, [6 * SAT, 4 * SAT])]),   # h3: C 3; A -> A1 6 + A2 4
    (D - 20, 1 * SAT, [("cb2", 0, [4 * SAT])]),             # h4: E 1; B -> B1 4
    (D, 2 * SAT, []),                                      # h5: F 2 (the as-of day)
    (D + 6, 5 * SAT, [("tx3.0", 1, [4 * SAT])]),            # h6: G 5; A2 -> A2' 4 (after the as-of day)
]
# by hand, end of 2025-12-09: genesis 50 (>10y); A1 6 + C 3 + A2 4 (age 100: 3m-6m) = 13;
# B1 4 + E 1 (age 20: 1w-1m) = 5; F 2 (<1d). Supply 70: 1y+ = 50/70, <1m = 7/70
EXPECT_BTC = {"gt_10y": 50, "3m_6m": 13, "1w_1m": 5, "lt_1d": 2}
# 2025-12-15 (h6): A2' 4 + G 5 (<1d); F 2 (1d-1w); B1 + E (age 26) 5; A1 + C (age 106) 9; genesis 50
EXPECT_BTC_LAST = {"gt_10y": 50, "3m_6m": 9, "1w_1m": 5, "1d_1w": 2, "lt_1d": 9}


def genesis() -> bytes:
    """The real mainnet genesis block (tests/fixtures/data/blocks/0.bin)."""
    return (Path(BLOCKS) / "0.bin").read_bytes()


def synced_index(tmp: Path, plan) -> tuple[Path, dict[int, str]]:
    """Sync ``plan`` into ``tmp/chain.duckdb``; returns the index and ``{height: hash hex}``."""
    from btcmacro.chain import api as chain_api

    g = genesis()
    blocks, _ = synthetic_chain(g, plan)
    write_blk(tmp / "blocks", [g] + blocks)
    index = tmp / "chain.duckdb"
    chain_api.sync(blocks_dir=tmp / "blocks", store_path=index)
    return index, {i + 1: block_hash(b)[::-1].hex() for i, b in enumerate(blocks)}


def published_node(tmp: Path, store_path: Path, plan=HODL_PLAN) -> dict:
    """``{"store", "index", "hashes"}``: ``plan`` synced and published into a copy of ``store_path``
    (with its own BTCMACRO_HOME under ``tmp``)."""
    from btcmacro.chain import publishing
    from btcmacro.store import Store

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BTCMACRO_HOME", str(tmp / "home"))
        index, hashes = synced_index(tmp, plan)
        store = tmp / "store.duckdb"
        shutil.copy(store_path, store)
        with Store(store) as st:
            assert not st.has_series("chain/hodl_lt_1d_pct")  # the snapshot has no own-node data
            res = publishing.publish(st, index)
            assert res.full and res.height == len(plan)
    return {"store": store, "index": index, "hashes": hashes, "last_day": res.last_day}
