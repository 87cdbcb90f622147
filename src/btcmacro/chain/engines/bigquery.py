"""The aggregation on BigQuery, over Google's public ``crypto_bitcoin`` dataset.

The four logical tables are views (common table expressions) over the dataset's ``blocks``,
``outputs`` and ``inputs`` tables, written once in BigQuery's dialect (:data:`SOURCES_SQL`);
the aggregation itself is the DuckDB text of :func:`btcmacro.chain.engines.queries`, parsed by
SQLGlot, given those CTEs in front of its own and written out as BigQuery Standard SQL
(:func:`bigquery_queries`). Conventions follow the own-node engine: an output is created when
its script is spendable (not OP_RETURN, at most 10,000 bytes), a spend is the input that names
it, the day is the UTC date of the block's timestamp, a script's balance is keyed by its
``script_hex``.

:class:`BigQueryClient` speaks the REST API (``jobs.query``, ``jobs.getQueryResults``) with
httpx; credentials are Google's application default credentials (``google.auth.default``). Every
run starts with dry runs that price the queries in bytes scanned; nothing is billed before the
caller confirms (``--yes`` on the command line).
"""

from __future__ import annotations

import base64
import os
import re
from decimal import Decimal

import pandas as pd

from btcmacro.chain.engines import Aggregates, assemble, queries
from btcmacro.errors import ChainError, UsageError

__all__ = ["DATASET", "API_URL", "SCOPE", "SOURCES_SQL", "tip_sql", "bigquery_queries", "BigQueryClient",
           "Plan", "plan", "run_plan", "check_dataset", "human_bytes"]

DATASET = "bigquery-public-data.crypto_bitcoin"
API_URL = "https://bigquery.googleapis.com/bigquery/v2"
SCOPE = "https://www.googleapis.com/auth/bigquery"
#: blocks this far below the dataset's newest are taken as the tip (its loader can lag the chain
#: and a block near the tip may still be replaced)
TIP_LAG = 6

SOURCES_SQL = """
WITH blocks AS (
  SELECT number AS height, `hash` AS hash, DATE(`timestamp`) AS day
  FROM `{ds}.blocks` WHERE number <= {tip}
), outs AS (
  SELECT transaction_hash, `index` AS vout, block_number AS height, CAST(value AS INT64) AS value,
         COALESCE(script_hex, '') AS script_hex
  FROM `{ds}.outputs`
  WHERE block_number <= {tip}
    AND NOT STARTS_WITH(COALESCE(script_hex, ''), '6a') AND LENGTH(COALESCE(script_hex, '')) <= 20000
), created AS (
  SELECT height, SUM(value) AS value, COUNT(*) AS n FROM outs GROUP BY height
), spent AS (
  SELECT i.block_number AS spend_height, o.height AS create_height, o.value, o.script_hex
  FROM `{ds}.inputs` AS i
  JOIN outs AS o ON o.transaction_hash = i.spent_transaction_hash AND o.vout = i.spent_output_index
  WHERE i.block_number <= {tip}
), spends AS (
  SELECT spend_height, create_height, SUM(value) AS value, COUNT(*) AS n FROM spent GROUP BY 1, 2
), flows AS (
  SELECT height, script_hex AS script_key, value AS delta FROM outs
  UNION ALL
  SELECT spend_height AS height, script_hex AS script_key, -value AS delta FROM spent
)
SELECT 1
"""

_DATASET_RE = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]\.[A-Za-z0-9_]{1,1024}$")


def check_dataset(dataset: str) -> str:
    """``project.dataset`` as BigQuery spells them, or a UsageError (the name goes into SQL)."""
    if not _DATASET_RE.match(dataset or ""):
        raise UsageError(f"{dataset!r} is not a BigQuery dataset name (expected project.dataset, e.g. {DATASET})",
                         where="--dataset")
    return dataset


def tip_sql(dataset: str = DATASET, through: int | None = None) -> str:
    """The block the run stops at: ``through``, or the dataset's newest minus :data:`TIP_LAG`."""
    ds = check_dataset(dataset)
    where = (f"number = {int(through)}" if through is not None
             else f"number = (SELECT MAX(number) FROM `{ds}.blocks`) - {TIP_LAG}")
    return f"SELECT number AS height, `hash` AS hash FROM `{ds}.blocks` WHERE {where}"


def bigquery_queries(dataset: str, tip: int, edges: list[int] | None = None) -> dict[str, str]:
    """The aggregation (``created``, ``matrix``, ``bands``, ``closers``) as BigQuery SQL over
    ``dataset`` up to block ``tip``: the single DuckDB definition with :data:`SOURCES_SQL`'s
    CTEs in front."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    ds = check_dataset(dataset)
    src = sqlglot.parse_one(SOURCES_SQL.format(ds=ds, tip=int(tip)), read="bigquery")
    out = {}
    for name, sql in queries(edges).items():
        q = sqlglot.parse_one(sql, read="duckdb")
        ctes = [c.copy() for c in src.args["with_"].expressions]
        own = q.args.get("with_")
        if own is not None:
            ctes += list(own.expressions)
        q.set("with_", exp.With(expressions=ctes))
        out[name] = q.sql(dialect="bigquery", pretty=True, unsupported_level=ErrorLevel.IGNORE)
    return out


def human_bytes(n: int) -> str:
    """``1234567890`` → ``"1.23 GB"`` (decimal units, as the Cloud console shows them)."""
    for unit, k in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= k:
            return f"{n / k:,.2f} {unit}"
    return f"{n} bytes"


def _convert(fields: list[dict], rows: list[dict]) -> pd.DataFrame:
    """REST rows (``{"f": [{"v": …}]}``, every value a string) as typed columns."""
    cols: dict[str, list] = {f["name"]: [] for f in fields}
    for r in rows:
        for f, cell in zip(fields, r["f"]):
            v = cell.get("v")
            t = f.get("type", "STRING")
            if v is not None:
                if t in ("INTEGER", "INT64"):
                    v = int(v)
                elif t in ("NUMERIC", "BIGNUMERIC"):
                    v = int(Decimal(v))  # satoshis: whole numbers, exactly (no float on the way)
                elif t in ("FLOAT", "FLOAT64"):
                    v = float(v)
                elif t == "BYTES":
                    v = base64.b64decode(v)
                elif t in ("BOOLEAN", "BOOL"):
                    v = v == "true"
            cols[f["name"]].append(v)
    return pd.DataFrame(cols)


class BigQueryClient:
    """The two REST calls the engine needs, with application default credentials.

    Parameters
    ----------
    project
        The Google Cloud project the queries run (and are billed) in.
    credentials
        google-auth credentials; default ``google.auth.default()`` (``gcloud auth
        application-default login``, ``GOOGLE_APPLICATION_CREDENTIALS``, or the metadata server
        on Google Cloud).
    api_url
        The REST root; default :data:`API_URL`, or ``$BTCMACRO_BIGQUERY_API`` (a proxy or a
        stand-in).
    location
        The dataset's location (the public dataset is in ``US``).
    page_size
        Rows per result page.
    """

    def __init__(self, project: str, *, credentials=None, api_url: str | None = None, location: str | None = "US",
                 page_size: int = 100_000, timeout: float = 120.0, http=None):
        import httpx

        if not re.fullmatch(r"[a-z][a-z0-9:.-]{4,61}[a-z0-9]", project or ""):
            raise UsageError(f"{project!r} is not a Google Cloud project id", where="--project")
        self.project = project
        self.credentials = credentials
        self.api_url = (api_url or os.environ.get("BTCMACRO_BIGQUERY_API") or API_URL).rstrip("/")
        self.location = location
        self.page_size = int(page_size)
        self.http = http or httpx.Client(timeout=timeout)
        self.calls = 0

    # -------------------------------------------------------------- transport
    def _token(self) -> str:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

        try:
            if self.credentials is None:
                self.credentials, _ = google.auth.default(scopes=[SCOPE])
            if not self.credentials.valid:
                from google.auth.transport.requests import Request

                self.credentials.refresh(Request())
        except DefaultCredentialsError:
            raise ChainError("no Google credentials found: run `gcloud auth application-default login` or set "
                             "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file", where="BigQuery") from None
        except (RefreshError, TransportError) as e:
            raise ChainError(f"the Google credentials could not be refreshed: {str(e).splitlines()[0]}",
                             where="BigQuery") from None
        return self.credentials.token

    def _call(self, method: str, path: str, *, json=None, params=None) -> dict:
        import httpx

        url = f"{self.api_url}/projects/{self.project}/{path}"
        self.calls += 1
        try:
            r = self.http.request(method, url, json=json, params=params,
                                  headers={"Authorization": f"Bearer {self._token()}"})
        except httpx.HTTPError as e:
            raise ChainError(f"cannot reach the BigQuery API: {e}", where=self.api_url) from None
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code >= 400:
            err = body.get("error", {}) if isinstance(body, dict) else {}
            msg = err.get("message") or r.reason_phrase or "no reason given"
            raise ChainError(f"request refused ({r.status_code}): {msg}", where=f"BigQuery project {self.project}")
        if not isinstance(body, dict):
            raise ChainError("BigQuery sent a reply that is not a JSON object", where=url)
        return body

    # -------------------------------------------------------------- jobs
    def _body(self, sql: str, dry: bool) -> dict:
        b = {"query": sql, "useLegacySql": False, "dryRun": dry, "maxResults": self.page_size,
             "timeoutMs": 10_000, "labels": {"client": "btcmacro"}}
        if self.location:
            b["location"] = self.location
        return b

    def dry_run(self, sql: str) -> int:
        """Bytes the query would scan (``jobs.query`` with ``dryRun``: nothing runs, nothing is
        billed)."""
        body = self._call("POST", "queries", json=self._body(sql, True))
        try:
            return int(body["totalBytesProcessed"])
        except (KeyError, TypeError, ValueError):
            raise ChainError("the dry run gave no totalBytesProcessed", where="BigQuery") from None

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and return every row (all pages of ``jobs.getQueryResults``)."""
        body = self._call("POST", "queries", json=self._body(sql, False))
        ref = body.get("jobReference") or {}
        job = ref.get("jobId")
        params = {"maxResults": self.page_size, "timeoutMs": 10_000}
        if ref.get("location") or self.location:
            params["location"] = ref.get("location") or self.location
        while not body.get("jobComplete", False):
            if not job:
                raise ChainError("BigQuery returned an unfinished job without a job id", where="BigQuery")
            body = self._call("GET", f"queries/{job}", params=params)
        _errors(body)
        fields = (body.get("schema") or {}).get("fields") or []
        rows = list(body.get("rows") or [])
        token = body.get("pageToken")
        while token:
            page = self._call("GET", f"queries/{job}", params={**params, "pageToken": token})
            _errors(page)
            rows += page.get("rows") or []
            token = page.get("pageToken")
        total = body.get("totalRows")
        if total is not None and int(total) != len(rows):
            raise ChainError(f"BigQuery announced {total} rows and sent {len(rows)}", where=f"job {job}")
        return _convert(fields, rows)


def _errors(body: dict) -> None:
    errs = body.get("errors")
    if errs:
        raise ChainError(f"the BigQuery job failed: {errs[0].get('message', errs[0])}", where="BigQuery")


class Plan:
    """What a run will do: the tip, the queries and the bytes each would scan (dry runs)."""

    def __init__(self, dataset: str, tip: int, tip_hash: str, sql: dict[str, str], bytes_: dict[str, int]):
        self.dataset, self.tip, self.tip_hash, self.sql, self.bytes = dataset, tip, tip_hash, sql, bytes_

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


def plan(client: BigQueryClient, dataset: str = DATASET, through: int | None = None,
         edges: list[int] | None = None, *, resolve_tip: bool = True) -> Plan:
    """Dry-run the tip query and the aggregation's queries (nothing billed); with
    ``resolve_tip``, also run the tip query (two columns of ``blocks``, a few tens of MB) so the
    aggregation is pinned to one block.

    Without ``resolve_tip`` (the estimate shown before the user confirms), the aggregation is
    priced up to ``through`` or, if None, up to the highest possible height: the tables are
    partitioned by month of block time, not by height, so the height filter does not change
    the bytes scanned. ``Plan.tip`` is then ``through`` (or None) and ``tip_hash`` empty."""
    ts = tip_sql(dataset, through)
    tip_bytes = client.dry_run(ts)
    if resolve_tip:
        t = client.query(ts)
        if len(t) == 0:
            what = f"block {through}" if through is not None else "a tip"
            raise ChainError(f"the dataset has no {what}", where=dataset)
        tip, tip_hash = int(t["height"].iloc[0]), str(t["hash"].iloc[0])
    else:
        tip, tip_hash = through, ""
    sql = bigquery_queries(dataset, tip if tip is not None else 2**31 - 1, edges)
    return Plan(dataset, tip, tip_hash, sql, {"tip": tip_bytes, **{k: client.dry_run(q) for k, q in sql.items()}})


def run_plan(client: BigQueryClient, p: Plan, edges: list[int] | None = None) -> Aggregates:
    """Run the planned queries (billed) and assemble their rows."""
    res = {k: client.query(q) for k, q in p.sql.items()}
    name = p.dataset.split(".")[-1]
    return assemble(res["created"], res["matrix"], res["bands"], res["closers"], (p.tip, p.tip_hash),
                    engine="BigQuery", dataset=name, edges=edges)
