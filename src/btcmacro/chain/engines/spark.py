"""The aggregation on Apache Spark, over the parquet parts of a sync.

Input: a folder (local path or any Hadoop/fsspec URL Spark can read: ``hdfs://``, ``s3a://``,
``gs://``, ``abfss://``) holding ``blocks-*.parquet``, ``created-*.parquet``,
``spends-*.parquet`` and ``flows-*.parquet``: the layout the parallel sync's workers write (one
part per blk file, script keys as the two uint64 halves ``key_hi``/``key_lo``) and that
``btcmacro chain export-parts`` writes from an index. The SQL is the DuckDB text of
:func:`btcmacro.chain.engines.queries` transpiled to Spark SQL; only the ``flows`` view differs
(the key is the struct of its two halves: Spark has no unsigned 128-bit integer).
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager

from btcmacro.chain.engines import Aggregates, assemble, queries, query_text, tip_of
from btcmacro.errors import ChainError

__all__ = ["session", "aggregate_spark", "TABLES"]

TABLES = ("blocks", "created", "spends", "flows")

_EMPTY = {  # a table with no part at all (no spend yet, an index without flows)
    "spends": "spend_height INT, create_height INT, value BIGINT, n BIGINT",
    "flows": "height INT, script_key STRUCT<key_hi: DECIMAL(20,0), key_lo: DECIMAL(20,0)>, delta BIGINT",
}


def session(master: str = "local[2]", *, shuffle_partitions: int | None = None):
    """A SparkSession on ``master`` set up for the aggregation (UTC days, Arrow transfers, no UI).

    ``shuffle_partitions`` defaults to 4 on a ``local`` master (small inputs; Spark's 200 would
    only add scheduling) and to Spark's own default on a cluster."""
    import warnings

    # PySpark 4.3 warns about pandas 3 on import; the engine moves results through Arrow only
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - pyspark is a pinned dependency
        raise ChainError(f"the Spark engine needs pyspark ({e})", where="--engine spark") from None
    b = (SparkSession.builder.master(master).appName("btcmacro chain aggregate")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.ansi.enabled", "true"))
    if shuffle_partitions is None and master.startswith("local"):
        shuffle_partitions = 2
    if shuffle_partitions:
        b = b.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    with _jvm_stderr() as jvm:
        try:
            spark = b.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
            return spark
        except Exception as e:  # Java missing, a bad master URL: py4j / pyspark raise plain exceptions
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            why = _jvm_reason(jvm)
            raise ChainError(f"cannot start Spark on {master}: {why or msg}", where="--master") from None


def _redact(url: str) -> str:
    """A parts URL without any ``user:secret@`` it may carry (it goes into the provenance)."""
    return re.sub(r"^([a-zA-Z][\w+.-]*://)[^/@]*@", r"\1", url)


@contextmanager
def _jvm_stderr():
    """Route what the Spark JVM writes to stderr while it starts (start-up notices, or a stack
    trace) into memory, so the command line shows one line; the JVM keeps that pipe, drained by a
    daemon thread, for as long as it runs. Yields the last lines written."""
    import collections
    import threading

    lines: collections.deque = collections.deque(maxlen=200)
    try:
        r, w = os.pipe()
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no file descriptors left: leave stderr alone
        yield lines
        return

    def drain():
        with os.fdopen(r, "rb") as f:
            for ln in f:
                lines.append(ln.decode("utf-8", "replace").rstrip())

    threading.Thread(target=drain, name="spark-stderr", daemon=True).start()
    os.dup2(w, 2)
    os.close(w)
    try:
        yield lines
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _jvm_reason(lines) -> str | None:
    """The JVM's own reason for failing to start (the message of its last exception), if any."""
    import time

    time.sleep(0.2)  # let the drain thread catch up with the JVM's last lines
    for ln in reversed(list(lines)):
        m = re.search(r"(?:Exception|Error)(?: in thread \S+)?[^:]*: (.+)$", ln)
        if m and not ln.lstrip().startswith("at "):
            return m.group(1).strip()
    return None


def _read(spark, parts: str, table: str):
    from pyspark.errors import AnalysisException

    url = parts.rstrip("/") + f"/{table}-*.parquet"
    try:
        df = spark.read.parquet(url)
    except AnalysisException as e:
        if table in _EMPTY and ("PATH_NOT_FOUND" in str(e) or "UNABLE_TO_INFER_SCHEMA" in str(e)):
            return spark.createDataFrame([], _EMPTY[table])
        raise ChainError(f"no readable {table} parts ({table}-*.parquet): {str(e).splitlines()[0]}",
                         where=parts) from None
    if table == "flows" and "key_hi" in df.columns:
        df = df.selectExpr("height", "named_struct('key_hi', key_hi, 'key_lo', key_lo) AS script_key", "delta")
    return df


def aggregate_spark(parts: str, *, master: str = "local[2]", spark=None,
                    edges: list[int] | None = None, count_rows: bool = False) -> Aggregates:
    """Run the aggregation on Spark over the parquet parts under ``parts``.

    Parameters
    ----------
    parts
        Folder or URL with the ``blocks``/``created``/``spends``/``flows`` parts.
    master
        Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://…``); ignored
        when ``spark`` is given.
    spark
        An existing SparkSession to use (it is not stopped).
    count_rows
        Also count the input rows (spends + flows) into ``Aggregates.rows`` (one more job).

    Raises
    ------
    ChainError
        Spark cannot start, or a required table has no readable part.
    """
    if spark is None:
        from pyspark.sql import SparkSession

        own = SparkSession.getActiveSession() is None  # never stop a session someone else started
        spark = session(master)
    else:
        own = False
    try:
        for t in TABLES:
            _read(spark, parts, t).createOrReplaceTempView(t)
        q = queries(edges)
        res = {name: spark.sql(query_text(sql, "spark")).toArrow().to_pandas() for name, sql in q.items()}
        rows = (spark.sql("SELECT (SELECT count(*) FROM spends) + (SELECT count(*) FROM flows) AS n").collect()[0][0]
                if count_rows else None)
        tip = tip_of(res["closers"])
        if tip is None:
            raise ChainError("the blocks parts hold no block", where=parts)
        return assemble(res["created"], res["matrix"], res["bands"], res["closers"], tip, engine="Spark",
                        dataset=f"parquet parts at {_redact(parts)}", edges=edges, rows=None if rows is None else int(rows))
    finally:
        for t in TABLES:
            spark.catalog.dropTempView(t)
        if own:
            spark.stop()
