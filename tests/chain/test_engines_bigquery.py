"""The BigQuery engine, without a cloud: its SQL runs on DuckDB over local tables in the
``crypto_bitcoin`` schema filled from the synthetic chain, and its REST client talks to a
stand-in for the BigQuery API on 127.0.0.1 (``jobs.query``, ``jobs.getQueryResults``, paging,
an unfinished job, dry runs, errors) that executes the queries it receives the same way.
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
import sqlglot
from werkzeug import Response

import _enginechain as ec
from btcmacro.chain import engines
from btcmacro.chain.engines import bigquery as bq
from btcmacro.chain.index import ChainIndex
from btcmacro.errors import ChainError
from btcmacro.store import Store

PROJECT = "btcmacro-test"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("bq")
    chain = ec.build()
    ec.write_index(d / "chain.duckdb", chain)
    with ChainIndex(d / "chain.duckdb", read_only=True) as ix:
        ref = engines.aggregate_duckdb(ix)
    con = duckdb.connect()
    ec.fill_crypto_bitcoin(con, chain)
    return d, chain, ref, con


def _duck(con, sql: str):
    """Run BigQuery SQL on DuckDB (SQLGlot reads it as BigQuery and writes DuckDB)."""
    return con.execute(sqlglot.transpile(sql, read="bigquery", write="duckdb")[0])


def test_generated_sql_on_duckdb_equals_the_index(world):
    d, chain, ref, con = world
    tip = _duck(con, bq.tip_sql(through=799)).fetchdf()
    assert tip["height"].tolist() == [799] and tip["hash"][0] == ref.tip_hash
    res = {k: _duck(con, q).fetchdf() for k, q in bq.bigquery_queries(bq.DATASET, 799).items()}
    got = engines.assemble(res["created"], res["matrix"], res["bands"], res["closers"], (799, tip["hash"][0]),
                           engine="BigQuery", dataset="crypto_bitcoin")
    ec.assert_same_aggregates(ref, got)
    assert ec.cells(got.matrix) == ec.reference_cells(chain)
    assert got.provenance == f"BigQuery crypto_bitcoin, through block 799 ({ref.tip_hash})"
    # an earlier tip: only the blocks up to it (the newest-minus-6 default is the same query)
    assert _duck(con, bq.tip_sql()).fetchdf()["height"].tolist() == [799 - bq.TIP_LAG]
    part = {k: _duck(con, q).fetchdf() for k, q in bq.bigquery_queries(bq.DATASET, 500).items()}
    assert ec.cells(engines.assemble(part["created"], part["matrix"], part["bands"], part["closers"], (500, "x"),
                                     engine="BigQuery", dataset="d").matrix) == ec.reference_cells(chain, 500)


def test_generated_sql_is_bigquery(world):
    q = bq.bigquery_queries(bq.DATASET, 799)
    assert "`bigquery-public-data.crypto_bitcoin.outputs`" in q["matrix"]
    assert "UNNEST([STRUCT(0 AS side), STRUCT(1 AS side)])" in q["bands"] and "INT64" in q["bands"]
    for text in q.values():
        sqlglot.parse_one(text, read="bigquery")  # parses as BigQuery
    with pytest.raises(Exception) as e:
        bq.bigquery_queries("x; DROP TABLE y", 1)
    assert "not a BigQuery dataset name" in str(e.value)


# ----------------------------------------------------------------------------- the REST stand-in


_TYPES = {"BIGINT": "INTEGER", "INTEGER": "INTEGER", "HUGEINT": "INTEGER", "DATE": "DATE", "VARCHAR": "STRING",
          "BLOB": "BYTES", "DOUBLE": "FLOAT"}


class StandIn:
    """The BigQuery REST shapes, answered by DuckDB: ``POST …/queries`` (dry run: bytes only;
    else the first page, or an unfinished job for the first big query) and ``GET
    …/queries/<job>`` (the next page for ``pageToken``)."""

    def __init__(self, con, page: int = 700):
        self.con, self.page = con, page
        self.jobs: dict[str, tuple[list, list]] = {}
        self.log: list[tuple[str, dict]] = []
        self.dry_bytes: list[int] = []
        self.fail: tuple[int, str] | None = None

    def _rows(self, job: str, start: int) -> dict:
        fields, rows = self.jobs[job]
        out = {"kind": "bigquery#getQueryResultsResponse", "jobComplete": True,
               "jobReference": {"projectId": PROJECT, "jobId": job, "location": "US"},
               "schema": {"fields": fields}, "totalRows": str(len(rows)), "rows": rows[start:start + self.page]}
        if start + self.page < len(rows):
            out["pageToken"] = f"p{start + self.page}"
        return out

    def post(self, request):
        assert request.headers["Authorization"] == "Bearer test-token"
        body = json.loads(request.data)
        self.log.append(("POST", body))
        if self.fail:
            return Response(json.dumps({"error": {"code": self.fail[0], "message": self.fail[1]}}),
                            status=self.fail[0], content_type="application/json")
        assert body["useLegacySql"] is False and body["location"] == "US"
        if body["dryRun"]:
            n = 1000 * len(body["query"])
            self.dry_bytes.append(n)
            return Response(json.dumps({"kind": "bigquery#queryResponse", "jobComplete": True,
                                        "totalBytesProcessed": str(n), "cacheHit": False,
                                        "jobReference": {"projectId": PROJECT, "location": "US"}}),
                            content_type="application/json")
        rel = _duck(self.con, body["query"])
        names = [c[0] for c in rel.description]
        data = rel.fetchall()
        types = [_TYPES.get(re.sub(r"\(.*", "", str(c[1])).upper(), "STRING") for c in rel.description]
        fields = [{"name": n, "type": t, "mode": "NULLABLE"} for n, t in zip(names, types)]
        rows = [{"f": [{"v": None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))}
                       for v in r]} for r in data]
        job = f"job_{len(self.jobs)}"
        self.jobs[job] = (fields, rows)
        if len(rows) > self.page and not any(j.endswith("unfinished") for j in self.jobs):
            self.jobs[job + "_unfinished"] = ([], [])
            return Response(json.dumps({"kind": "bigquery#queryResponse", "jobComplete": False,
                                        "jobReference": {"projectId": PROJECT, "jobId": job, "location": "US"}}),
                            content_type="application/json")
        return Response(json.dumps(self._rows(job, 0)), content_type="application/json")

    def get(self, request):
        job = request.path.rsplit("/", 1)[1]
        self.log.append(("GET", dict(request.args)))
        assert request.args["location"] == "US"
        tok = request.args.get("pageToken")
        return Response(json.dumps(self._rows(job, int(tok[1:]) if tok else 0)), content_type="application/json")


@pytest.fixture
def standin(world, httpserver, monkeypatch):
    import google.auth
    from google.oauth2.credentials import Credentials

    s = StandIn(world[3])
    httpserver.expect_request(f"/bigquery/v2/projects/{PROJECT}/queries", method="POST").respond_with_handler(s.post)
    httpserver.expect_request(re.compile(f"^/bigquery/v2/projects/{PROJECT}/queries/.+"),
                              method="GET").respond_with_handler(s.get)
    monkeypatch.setenv("BTCMACRO_BIGQUERY_API", httpserver.url_for("/bigquery/v2"))
    # application default credentials, as google.auth.default() returns them (a static token:
    # nothing to refresh, no network)
    monkeypatch.setattr(google.auth, "default", lambda scopes=None, **kw: (Credentials(token="test-token"), PROJECT))
    return s


def test_client_paging_unfinished_job_and_dry_run(standin):
    c = bq.BigQueryClient(PROJECT, page_size=700)
    assert c.api_url.startswith("http://127.0.0.1") or c.api_url.startswith("http://localhost")
    q = "SELECT number AS height FROM `bigquery-public-data.crypto_bitcoin.blocks` ORDER BY 1"
    assert c.dry_run(q) == 1000 * len(q)
    assert not standin.jobs  # a dry run runs nothing
    df = c.query(q)
    assert df["height"].tolist() == list(range(800))  # 800 rows in pages of 700, after one poll
    gets = [a for m, a in standin.log if m == "GET"]
    assert len(gets) == 2 and "pageToken" not in gets[0] and gets[1]["pageToken"] == "p700"


def test_client_errors_are_one_line(standin, monkeypatch, tmp_path):
    standin.fail = (403, "Access Denied: Project btcmacro-test: User does not have bigquery.jobs.create permission")
    with pytest.raises(ChainError) as e:
        bq.BigQueryClient(PROJECT).dry_run("SELECT 1")
    assert str(e.value).startswith(f"BigQuery project {PROJECT}: request refused (403): Access Denied")
    assert "\n" not in str(e.value)
    import google.auth
    from google.auth import _default

    monkeypatch.setattr(google.auth, "default", _default.default)  # the real lookup
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ChainError) as e:
        bq.BigQueryClient(PROJECT).dry_run("SELECT 1")
    assert "gcloud auth application-default login" in str(e.value)
    with pytest.raises(Exception) as e:
        bq.BigQueryClient("Bad Project!")
    assert "not a Google Cloud project id" in str(e.value)


def _cli(*args):
    from typer.testing import CliRunner

    from btcmacro.cli import app

    return CliRunner().invoke(app, ["chain", "aggregate", *args])


def test_cli_estimate_then_yes_publishes_the_same_series(world, standin, tmp_path):
    d, _, ref, _ = world
    for n in ("own.duckdb", "bq.duckdb"):
        with Store(tmp_path / n) as st:
            ec.write_prices(st)
    with Store(tmp_path / "bq.duckdb", read_only=True) as st:
        before = st.checksum()
    # without --yes: the estimate from dry runs, and nothing runs at all
    r = _cli("--engine", "bigquery", "--project", PROJECT, "--store", str(tmp_path / "bq.duckdb"))
    assert r.exit_code == 0, r.output
    total = sum(standin.dry_bytes)
    assert f"BigQuery estimate: {bq.human_bytes(total)} to scan in project {PROJECT}" in r.output
    assert "(5 queries over bigquery-public-data.crypto_bitcoin, through the dataset's newest block minus 6)" \
        in r.output and "nothing was run or billed; add --yes" in r.output
    assert not standin.jobs and len(standin.dry_bytes) == 5 and all(m == "POST" for m, _ in standin.log)
    assert all(b["dryRun"] for _, b in standin.log)
    with Store(tmp_path / "bq.duckdb", read_only=True) as st:
        assert st.checksum() == before
    # --yes: day 2016-04-02 is complete at block 797; a second run through 799 adds the last day
    r = _cli("--engine", "bigquery", "--project", PROJECT, "--through-block", "797", "--yes",
             "--store", str(tmp_path / "bq.duckdb"))
    assert r.exit_code == 0, r.output
    assert "published chain/* for 2015-03-01..2016-04-02" in r.output
    assert "queries over bigquery-public-data.crypto_bitcoin, through block 797)" in r.output  # priced again
    r = _cli("--engine", "bigquery", "--project", PROJECT, "--through-block", "799", "--yes",
             "--store", str(tmp_path / "bq.duckdb"))
    assert r.exit_code == 0, r.output
    assert "published chain/* for 2016-04-02..2016-04-03" in r.output  # the new day (and its eve), not history
    r = _cli("--index", str(d / "chain.duckdb"), "--store", str(tmp_path / "own.duckdb"))
    assert r.exit_code == 0, r.output
    with Store(tmp_path / "own.duckdb", read_only=True) as a, Store(tmp_path / "bq.duckdb", read_only=True) as b:
        ec.assert_same_series(ec.published(a), ec.published(b))
        assert ec.provenance(b, "chain/realized_loss_usd") == \
            f"BigQuery crypto_bitcoin, through block 799 ({ref.tip_hash})"
        # the briefing's realized-loss figure names where it came from, in both languages
        from btcmacro.registry import Evaluator
        from btcmacro.report.i18n import catalog

        own = Evaluator(a, "2016-04-03").value("realized_loss_usd")
        got = Evaluator(b, "2016-04-03").value("realized_loss_usd")
        assert got.value == own.value and got.status == "ok"
        assert own.source.endswith("(own node)")
        assert got.source.endswith("(BigQuery crypto_bitcoin, through block 799)")
        assert catalog("en").source(got.source).endswith("(BigQuery crypto_bitcoin, through block 799)")
        assert "BigQuery 公開資料集 crypto_bitcoin，截至區塊高度799" in catalog("zh-TW").source(got.source)


def test_cli_usage_errors(tmp_path):
    r = _cli("--engine", "bigquery", "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 2 and "give --project" in r.output
    r = _cli("--engine", "oracle")
    assert r.exit_code == 2 and "unknown engine 'oracle'" in r.output
    r = _cli("--project", PROJECT)
    assert r.exit_code == 2 and "go with --engine bigquery" in r.output
    r = _cli("--engine", "bigquery", "--project", PROJECT, "--dataset", "x;y", "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 2 and "not a BigQuery dataset name" in r.output
    r = _cli("--index", str(tmp_path / "none.duckdb"), "--store", str(tmp_path / "s.duckdb"))
    assert r.exit_code == 8 and "no chain index yet" in r.output and r.output.count("\n") == 1
    assert not (tmp_path / "s.duckdb").exists() and not (tmp_path / "none.duckdb").exists()


def test_rest_values_are_typed_exactly():
    """REST rows carry every value as a string: NUMERIC satoshis stay exact integers (no float),
    BYTES are base64, NULL stays None."""
    fields = [{"name": "v", "type": "NUMERIC"}, {"name": "n", "type": "INTEGER"}, {"name": "b", "type": "BYTES"},
              {"name": "d", "type": "DATE"}]
    rows = [{"f": [{"v": "2099999997690001.000000000"}, {"v": "-3"}, {"v": "AAEC"}, {"v": "2009-01-03"}]},
            {"f": [{"v": None}, {"v": None}, {"v": None}, {"v": None}]}]
    df = bq._convert(fields, rows)
    assert df["v"][0] == 2_099_999_997_690_001 and df["n"][0] == -3 and df["b"][0] == b"\x00\x01\x02"
    assert df["d"][0] == "2009-01-03"
    assert all(df[c].isna()[1] for c in ("v", "n", "b", "d"))
