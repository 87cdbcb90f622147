"""The flows part store: a parallel sync adopts each worker's ``flows`` parquet part as it is;
``flows`` is the view over ``flow_rows`` + the parts; reorgs trim parts; ``flow_parts`` is the
truth, and files it does not list are deleted after every commit or rollback and at open."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from btcmacro.chain import lifecycle
from btcmacro.chain.api import _transaction
from btcmacro.chain.index import ChainIndex


def _part(path, heights, seed=0):
    """A worker-style part: rows (height, key_hi, key_lo, delta, seq) for the given heights."""
    rng = np.random.default_rng(seed)
    h = np.repeat(np.asarray(heights, dtype=np.int32), 3)
    keys = rng.integers(0, 256, (h.size, 16), dtype=np.uint8)
    hi, lo = lifecycle.key_halves(keys)
    delta = rng.integers(-10**8, 10**8, h.size)
    pq.write_table(pa.table({"height": h, "key_hi": hi, "key_lo": lo, "delta": delta,
                             "seq": np.arange(h.size)}), path)
    want = sorted(zip(h.tolist(), [int.from_bytes(bytes(k), "big") for k in keys], delta.tolist()))
    return want


def _flows(ix):
    return sorted(ix.con.execute("SELECT height, script_key, delta FROM flows").fetchall())


def test_adopt_trim_and_reconcile(tmp_path):
    p = tmp_path / "chain.duckdb"
    want = _part(tmp_path / "w1.parquet", range(10, 21), seed=1)
    with ChainIndex(p) as ix:
        ix.append("flows", lifecycle.flows_table(3, np.full((1, 16), 7, np.uint8), np.array([42])))
        with _transaction(ix):
            ix.add_flows_part(tmp_path / "w1.parquet", 10, 20)
        assert not (tmp_path / "w1.parquet").exists()  # moved, not copied
        (name,), = ix.con.execute("SELECT name FROM flow_parts").fetchall()
        assert (ix.parts_dir / name).exists() and ix.parts_dir == tmp_path / "chain.duckdb.flows"
        row3 = (3, int.from_bytes(bytes([7] * 16), "big"), 42)
        assert _flows(ix) == sorted([row3, *want])
        assert ix.con.execute("SELECT count(*) FROM flow_rows").fetchall() == [(1,)]
    with ChainIndex(p, read_only=True) as ro:  # a reader sees rows + parts
        assert _flows(ro) == sorted([row3, *want])

    with ChainIndex(p) as ix:
        with _transaction(ix):  # a reorg to 15 trims the part (a new file), 3 stays in the table
            ix.rollback_to(15)
        assert _flows(ix) == sorted([row3, *[r for r in want if r[0] <= 15]])
        names = [n for n, in ix.con.execute("SELECT name FROM flow_parts").fetchall()]
        assert len(names) == 1 and names[0] != name and names[0].startswith("flows-0000010-0000015-")
        assert sorted(f.name for f in ix.parts_dir.iterdir()) == names  # the old file was deleted
        with _transaction(ix):  # below the part's first height: the part goes
            ix.rollback_to(9)
        assert _flows(ix) == [row3] and not list(ix.parts_dir.iterdir())


def test_rolled_back_adoption_and_orphans(tmp_path):
    p = tmp_path / "chain.duckdb"
    _part(tmp_path / "a.parquet", range(0, 5))
    with ChainIndex(p) as ix:
        with pytest.raises(RuntimeError):
            with _transaction(ix):
                ix.add_flows_part(tmp_path / "a.parquet", 0, 4)
                ix.refresh_flows_view()
                assert len(_flows(ix)) == 15  # visible inside the transaction, once the view is refreshed
                raise RuntimeError("a worker failed")
        assert _flows(ix) == [] and not list(ix.parts_dir.iterdir())  # the moved file is gone too
    # a crash between moving a part in and committing leaves a file flow_parts does not list:
    # the next writer deletes it; other files in the folder are not touched
    stray = p.parent / "chain.duckdb.flows" / "flows-0000000-0000004-0123456789ab.parquet"
    _part(stray, range(0, 5))
    other = stray.parent / "notes.txt"
    other.write_text("mine")
    with ChainIndex(p, read_only=True) as ro:
        assert _flows(ro) == [] and stray.exists()  # readers never delete
    with ChainIndex(p) as ix:
        assert _flows(ix) == []
    assert not stray.exists() and other.read_text() == "mine"


def test_wipe_drops_parts(tmp_path):
    p = tmp_path / "chain.duckdb"
    _part(tmp_path / "a.parquet", range(0, 3))
    with ChainIndex(p) as ix:
        with _transaction(ix):
            ix.add_flows_part(tmp_path / "a.parquet", 0, 2)
        with _transaction(ix):
            ix.wipe()
        assert _flows(ix) == [] and not list(ix.parts_dir.iterdir())


def test_unreadable_or_missing_part_is_a_chain_error(tmp_path):
    from btcmacro.errors import ChainError

    with ChainIndex(tmp_path / "chain.duckdb") as ix:
        with pytest.raises(ChainError, match="cannot adopt the flows part") as e:
            with _transaction(ix):
                ix.add_flows_part(tmp_path / "missing.parquet", 0, 1)
        assert e.value.where.endswith("missing.parquet")
        (tmp_path / "junk.parquet").write_bytes(b"not parquet")
        with pytest.raises(ChainError, match="not a readable parquet file"):
            with _transaction(ix):
                ix.add_flows_part(tmp_path / "junk.parquet", 0, 1)
        assert _flows(ix) == [] and (tmp_path / "junk.parquet").exists()  # nothing adopted


def test_worker_write_failure_is_reported_not_raised(tmp_path, fixture_blocks):
    """A worker that cannot write its parts (here: the parts folder is gone) returns a ChainError
    record naming the path; the parent raises it and rolls the merge back."""
    from _chainhelp import write_blk

    from btcmacro.chain import parallel

    d = tmp_path / "blocks"
    d.mkdir()
    write_blk(d, fixture_blocks[:3])
    items = []
    off = 0
    for raw in fixture_blocks[:3]:
        items.append(parallel.Item(len(items), off, len(raw), False))
        off += 8 + len(raw)
    res = parallel._index_one((str(d / "blk00000.dat"), b"\0" * 8, "mainnet", False, items,
                               str(tmp_path / "no-such-folder")))
    assert res[0] == "err" and res[1] == "ChainError" and "cannot read the blocks or write" in res[2]
    assert "no-such-folder" in res[2]  # the failed path, in the message
