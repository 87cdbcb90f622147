"""Script keys in the index: 16 bytes of SHA-256 stored as one UHUGEINT (big-endian), the
uint64-halves form rows travel in, and the in-place conversion of an index written with BLOB keys."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from btcmacro.chain import lifecycle
from btcmacro.chain.index import ChainIndex
from btcmacro.errors import ChainError

SCRIPTS = [b"\x51", b"\x76\xa9\x14" + bytes(20) + b"\x88\xac", b"", bytes(range(200))]


def test_storage_form_round_trip(tmp_path):
    keys = [lifecycle.script_key(s) for s in SCRIPTS]
    for typ in (pa.binary(), pa.binary(16)):
        t = pa.table({"height": pa.array([1, 1, 2, 3], pa.int32()), "script_key": pa.array(keys, typ),
                      "delta": pa.array([5, -5, 7, 0], pa.int64())})
        st = lifecycle.storage_form(t)
        assert st.column_names == ["height", "key_hi", "key_lo", "delta"]
        assert [(h << 64) | lo for h, lo in zip(st["key_hi"].to_pylist(), st["key_lo"].to_pylist())] == \
            [int.from_bytes(k, "big") for k in keys]
    with ChainIndex(tmp_path / "i.duckdb") as ix:
        ix.append("flows", t)
        got = ix.con.execute("SELECT script_key, delta FROM flows").fetchall()
    assert got == [(lifecycle.script_key_int(s), d) for s, d in zip(SCRIPTS, [5, -5, 7, 0])]
    # a sliced (offset) key column converts too
    st = lifecycle.storage_form(t.slice(2))
    assert st["key_hi"][0].as_py() == int.from_bytes(keys[2][:8], "big")


def test_blob_keys_of_an_older_index_are_converted(tmp_path):
    p = tmp_path / "old.duckdb"
    with ChainIndex(p) as ix:  # build the current schema, then turn the keys back into BLOBs
        ix.con.execute("DROP VIEW flows")  # this connection's view over rows + parts
        for t in ("flow_rows", "outputs"):
            ix.con.execute(f"ALTER TABLE {t} ALTER script_key SET DATA TYPE BLOB USING NULL")
        ix.con.execute("ALTER TABLE flow_rows RENAME TO flows")  # 0.1's table name, too
        ix.con.execute("DROP TABLE flow_parts")
        ix.con.execute("INSERT INTO flows VALUES (3, ?, 9), (4, ?, -2)",
                       [lifecycle.script_key(SCRIPTS[0]), lifecycle.script_key(SCRIPTS[1])])
    con = duckdb.connect(str(p))
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'flows' "
                       "AND column_name = 'script_key'").fetchall() == [("BLOB",)]
    con.close()
    with pytest.raises(ChainError, match="older format: run `btcmacro chain sync` once"):
        ChainIndex(p, read_only=True)
    with ChainIndex(p) as ix:
        rows = ix.con.execute("SELECT height, script_key, delta FROM flows ORDER BY height").fetchall()
        types = ix.con.execute("SELECT DISTINCT data_type FROM information_schema.columns "
                               "WHERE column_name = 'script_key'").fetchall()
    assert rows == [(3, lifecycle.script_key_int(SCRIPTS[0]), 9), (4, lifecycle.script_key_int(SCRIPTS[1]), -2)]
    assert types == [("UHUGEINT",)]
    ChainIndex(p, read_only=True).close()  # now readable


def test_key_halves_big_endian():
    k = np.arange(16, dtype=np.uint8)
    hi, lo = lifecycle.key_halves(k)
    assert hi.tolist() == [0x0001020304050607] and lo.tolist() == [0x08090A0B0C0D0E0F]
