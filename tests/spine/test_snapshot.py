"""The embedded snapshot: checksums, provenance, values equal to the collection's CSVs (copies in
tests/fixtures/data)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from _realdata import DATA

from btcmacro import catalog, data
from btcmacro.errors import DataError



def test_every_file_matches_its_manifest_hash():
    ids = data.verify_all()
    assert len(ids) == len(data.manifest()) >= 70
    for sid in ids:
        assert sid in catalog.SERIES, sid
        assert data.manifest()[sid]["provenance"]


def test_damaged_file_is_named(monkeypatch, tmp_path):
    pkg = Path(data.__file__).parent
    copy = tmp_path / "data"
    shutil.copytree(pkg, copy)
    target = copy / data.manifest()["fred/WALCL"]["file"]
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "_root", lambda: copy)
    with pytest.raises(DataError) as e:
        data.load("fred/WALCL")
    assert "fred__WALCL.parquet" in str(e.value) and "damaged" in str(e.value)


@pytest.mark.parametrize("sid,fn,col", [
    ("fred/WALCL", "fred/WALCL.csv", "value"),
    ("cmc/btc_close", "btc/btc_usd_daily_coinmarketcap.csv", "close"),
    ("bmp/sth_realized_price", "onchain/btc_sth_realized_price_bmp.csv", "sth_realized_price"),
])
def test_values_equal_the_shared_csv(sid, fn, col):
    ref = pd.read_csv(DATA / fn).dropna(subset=[col])
    got = data.load(sid)
    assert len(got) == len(ref)
    assert (got["value"].to_numpy() == ref[col].to_numpy()).all()


def test_cmc_high_low_exclude_approximated_rows():
    # rows after 2026-04-13 carry synthetic OHLC (approx_ohlcv=1): only their close is kept
    assert data.load("cmc/btc_high")["date"].max() <= pd.Timestamp("2026-04-13")
    assert data.load("cmc/btc_close")["date"].max() == pd.Timestamp("2026-08-22")


def test_install_is_idempotent():
    from btcmacro.store import Store

    s = Store()
    assert data.install_into(s) == len(data.manifest())
    before = s.checksum()
    assert data.install_into(s) == 0
    assert s.checksum() == before
