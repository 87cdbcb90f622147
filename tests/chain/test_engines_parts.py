"""``btcmacro chain export-parts`` and the single SQL definition (no Spark, no cloud)."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
from typer.testing import CliRunner

import _enginechain as ec
from btcmacro.chain import aggregate, engines
from btcmacro.cli import app


def test_export_parts_round_trip_and_refusal(tmp_path):
    ec.write_index(tmp_path / "c.duckdb", ec.build(days=60))
    out = tmp_path / "parts"
    r = CliRunner().invoke(app, ["chain", "export-parts", "--out", str(out), "--index", str(tmp_path / "c.duckdb")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [f"{t}-index.parquet" for t in ("blocks", "created", "flows", "spends")]
    con = duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True)
    for t, sql in (("blocks", "SELECT height, hash, day FROM blocks"), ("created", "SELECT * FROM created"),
                   ("spends", "SELECT * FROM spends")):
        got = pq.read_table(out / f"{t}-index.parquet").to_pylist()
        cols = list(got[0])
        want = [dict(zip(cols, r)) for r in con.execute(sql).fetchall()]
        assert sorted(map(repr, got)) == sorted(map(repr, want)), t
    # script keys travel as the workers' uint64 halves: hi * 2^64 + lo is the index's key
    fl = pq.read_table(out / "flows-index.parquet").to_pylist()
    keys = sorted((r["height"], (r["key_hi"] << 64) | r["key_lo"], r["delta"]) for r in fl)
    assert keys == sorted((h, int(k), d) for h, k, d in con.execute("SELECT * FROM flow_rows").fetchall())
    assert len(fl) > 100 and any(r["key_hi"] >= 1 << 63 for r in fl)  # the top bit survives
    con.close()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    r = CliRunner().invoke(app, ["chain", "export-parts", "--out", str(out), "--index", str(tmp_path / "c.duckdb")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "exists and is not an empty folder" in r.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".parts")] == []  # no temporary left


def test_one_definition():
    """DuckDB runs the aggregate module's text unchanged; Spark and BigQuery get transpilations
    of that same text."""
    q = engines.queries()
    assert q["matrix"] is aggregate.MATRIX_SQL and q["created"] is aggregate.CREATED_SQL
    assert q["bands"] == aggregate.balance_bands_sql(engines.BAND_EDGES)
    assert engines.query_text(q["bands"], "duckdb") is q["bands"]
    spark = engines.query_text(q["bands"], "spark")
    assert "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW" in spark and "CROSS JOIN VALUES" in spark


def test_spark_start_failure_reason():
    """A Spark JVM that fails to start prints a stack trace; the one-line error keeps its reason."""
    from btcmacro.chain.engines.spark import _jvm_reason

    lines = ["WARNING: Using incubator modules: jdk.incubator.vector",
             'Exception in thread "main" org.apache.spark.SparkException: Master must either be yarn or start '
             "with spark, k8s, or local",
             "\tat org.apache.spark.util.Utils$.checkHost(Utils.scala:1)"]
    assert _jvm_reason(lines) == "Master must either be yarn or start with spark, k8s, or local"
    assert _jvm_reason(["Using Spark's default log4j profile"]) is None


def test_engine_switch_rewrites_every_day(tmp_path):
    """A store published by the own node and then by another engine is rewritten whole (no
    series mixes engines); the same engine again writes only the last day."""
    import dataclasses

    from btcmacro.chain.index import ChainIndex
    from btcmacro.chain.publishing import publish, published_tip
    from btcmacro.store import Store

    ec.write_index(tmp_path / "c.duckdb", ec.build(days=60))
    with ChainIndex(tmp_path / "c.duckdb", read_only=True) as ix:
        agg = engines.aggregate_duckdb(ix)
    other = dataclasses.replace(agg, engine="BigQuery", dataset="crypto_bitcoin")
    with Store(tmp_path / "s.duckdb") as st:
        ec.write_prices(st, 60)
        assert publish(st, tmp_path / "c.duckdb").full
        again = publish(st, tmp_path / "c.duckdb")
        assert not again.full and again.first_day.isoformat() == "2015-04-29"  # the last day only
        r = publish(st, aggregates=other)
        assert r.full and r.first_day.isoformat() == "2015-03-01"
        assert published_tip(st)["engine"] == "BigQuery"
        assert ec.provenance(st, "chain/sopr") == f"BigQuery crypto_bitcoin, through block 119 ({agg.tip_hash})"
        assert not publish(st, aggregates=other).full
