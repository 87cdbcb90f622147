"""The library surface the CLI wraps: inspect, status, daily_metrics."""

from __future__ import annotations

import pandas as pd
from _chainhelp import write_blk

import btcmacro.chain as chain


def test_inspect_raw_block(blocks_path):
    d = chain.inspect(blocks_path / "170.bin")
    assert d == {
        "hash": "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee",
        "prev_hash": "000000002a22cfee1f2c846adbd12b3e183d4f97683f85dad08a79780a84bd55",
        "merkle_root": "7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff",
        "merkle_ok": True, "tx_count": 2, "size": 490, "weight": 1960, "time": "2009-01-12T03:30:25Z",
    }
    big = chain.inspect(blocks_path / "905646.bin")
    assert big["weight"] == 3993729 and big["tx_count"] == 3491 and big["merkle_ok"]


def test_inspect_blk_file(blocks_path):
    out = chain.inspect(blocks_path / "blk_0_to_255.dat")
    assert len(out) == 256 and out[0]["hash"].startswith("000000000019d6") and out[0]["where"] == "blk_0_to_255.dat@0x0"
    assert out[-1]["hash"] == "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"


def test_status_empty_and_metrics(tmp_path, fixture_blocks):
    assert chain.status(tmp_path / "none.duckdb")["height"] is None
    write_blk(tmp_path / "b", fixture_blocks)
    store = tmp_path / "s.duckdb"
    chain.sync(blocks_dir=tmp_path / "b", store_path=store)
    st = chain.status(store)
    assert {"height", "tip_hash", "tx_count", "utxo_count", "utxo_value_btc"} <= set(st)
    prices = pd.Series([0.5, 1.0], index=pd.to_datetime(["2009-01-03", "2009-01-10"]))
    out = chain.daily_metrics(prices, store)
    assert tuple(out) == chain.METRIC_KEYS
    rc = out["realized_cap"].set_index("date")["value"]
    # every coin alive on 2009-01-09 was created while the price was 0.5
    sup = out["sth_supply"].set_index("date")["value"] + out["lth_supply"].set_index("date")["value"]
    assert rc[pd.Timestamp("2009-01-09")] == sup[pd.Timestamp("2009-01-09")] * 0.5
    assert sup[pd.Timestamp("2009-01-12")] == 12800
    assert out["cdd"].attrs["tip_hash"] == st["tip_hash"] and out["cdd"].attrs["height"] == 255
