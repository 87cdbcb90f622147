"""The Spark engine (PySpark, ``local[2]``) against the DuckDB engine: the same matrix, balance
bands, day closers and published ``chain/*`` series, exactly.

One SparkSession for the module (starting the JVM is most of the cost); small inputs: the
synthetic chain of ``_enginechain`` (400 days, spends of every age) and the 256 real blocks.
"""

from __future__ import annotations

import pytest

import _enginechain as ec
from _chainhelp import write_blk
from btcmacro.chain import api as chain_api
from btcmacro.chain import engines
from btcmacro.chain.engines.parts import export_parts
from btcmacro.chain.engines.spark import aggregate_spark, session
from btcmacro.chain.index import ChainIndex
from btcmacro.store import Store


@pytest.fixture(scope="module")
def spark():
    s = session("local[2]")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("spark_synth")
    chain = ec.build()
    ec.write_index(d / "chain.duckdb", chain)
    with ChainIndex(d / "chain.duckdb", read_only=True) as ix:
        ref = engines.aggregate_duckdb(ix)
        counts = export_parts(ix, d / "parts")
    return d, chain, ref, counts


def test_synthetic_chain_equals_duckdb(spark, synth):
    """Matrix, bands and closers equal; the CLI publishes the same series as the own-node path."""
    from typer.testing import CliRunner

    from btcmacro.cli import app

    d, chain, ref, counts = synth
    # the DuckDB matrix is the loop over every input (spends over hundreds of days)
    assert ec.cells(ref.matrix) == ec.reference_cells(chain)
    assert int((ref.matrix.s - ref.matrix.c).max()) > 300 and counts["spends"] > 1000
    got = aggregate_spark(str(d / "parts"), spark=spark, count_rows=True)
    ec.assert_same_aggregates(ref, got)
    assert got.rows == ref.rows == counts["spends"] + counts["flows"]
    assert got.provenance == f"Spark parquet parts at {d / 'parts'}, through block 799 ({ref.tip_hash})"
    # one publishing path: the same series from either engine (the CLI reuses this session)
    with Store(d / "a.duckdb") as a, Store(d / "b.duckdb") as b:
        ec.write_prices(a)
        ec.write_prices(b)
    r = CliRunner().invoke(app, ["chain", "aggregate", "--index", str(d / "chain.duckdb"),
                                 "--store", str(d / "a.duckdb")])
    assert r.exit_code == 0, r.output
    assert "source: own node, tip " in r.output
    r = CliRunner().invoke(app, ["chain", "aggregate", "--engine", "spark", "--master", "local[2]",
                                 "--parts", str(d / "parts"), "--store", str(d / "b.duckdb")])
    assert r.exit_code == 0, r.output
    assert "source: Spark parquet parts" in r.output and "published chain/* for 2015-03-01..2016-04-03" in r.output
    with Store(d / "a.duckdb", read_only=True) as a, Store(d / "b.duckdb", read_only=True) as b:
        ec.assert_same_series(ec.published(a), ec.published(b))
        assert ec.provenance(b, "chain/realized_loss_usd") == got.provenance
        assert ec.provenance(a, "chain/realized_loss_usd").startswith("own node, tip ")
    r = CliRunner().invoke(app, ["chain", "aggregate", "--engine", "spark", "--store", str(d / "b.duckdb")])
    assert r.exit_code == 2 and "give --parts" in r.output


def test_real_blocks_in_worker_parts(spark, tmp_path, fixture_blocks):
    """The 256 real blocks, split into two parts per table as the sync's workers write them (one
    per blk file); a folder without blocks parts is one line naming the folder."""
    import pyarrow.parquet as pq

    from btcmacro.errors import ChainError

    write_blk(tmp_path / "b", fixture_blocks)
    chain_api.sync(blocks_dir=tmp_path / "b", store_path=tmp_path / "c.duckdb")
    with ChainIndex(tmp_path / "c.duckdb", read_only=True) as ix:
        ref = engines.aggregate_duckdb(ix)
        export_parts(ix, tmp_path / "parts")
    out = tmp_path / "workers"
    out.mkdir()
    for t in ("blocks", "created", "spends", "flows"):
        tab = pq.read_table(tmp_path / "parts" / f"{t}-index.parquet")
        k = sum(1 for x in tab.column(0).to_pylist() if x < 128)
        pq.write_table(tab.slice(0, k), out / f"{t}-blk00000.parquet")
        pq.write_table(tab.slice(k), out / f"{t}-blk00001.parquet")
    got = aggregate_spark(str(out), spark=spark)
    ec.assert_same_aggregates(ref, got)
    assert int(got.bands.supply[:, -1].sum()) == 12_800 * 100_000_000  # the fixture README's supply
    assert got.tip_height == 255
    with pytest.raises(ChainError) as e:
        aggregate_spark(str(tmp_path / "nothing"), spark=spark)
    assert "no readable blocks parts" in str(e.value) and e.value.where == str(tmp_path / "nothing")
