"""Security and reliability of the dashboard: T16, T28, T29, T30 of RELIABILITY.md."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from urllib.parse import quote

import duckdb
import pytest

from btcmacro.store import Store

BAD_METRICS = [
    "x';DROP TABLE obs;--",
    "read_csv('/etc/passwd')",
    "net_liquidity; SELECT 1",
    "net_liquidity' OR '1'='1",
    "../../etc/passwd",
    "/etc/passwd",
    "fred/WALCL\x00",
    "fred\\WALCL",
    "NET_LIQUIDITY",
    "",
]


def _routes_all_ok(client, urls, updating=False):
    """No 500, no traceback; during an update a 503 must be the explicit "update in progress"."""
    for u in urls:
        r = client.get(u)
        if updating and r.status_code == 503:
            assert "update_in_progress" in r.text or "Update in progress" in r.text, u
            continue
        assert r.status_code < 500, (u, r.status_code, r.text[:200])
        assert "Traceback" not in r.text and 'File "' not in r.text, u


# -- T28: Host allowlist ----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost:1",
                                  "localhost.evil.example:{port}", "127.0.0.2:{port}", "0.0.0.0:{port}",
                                  "127.0.0.1:{port}@evil.example", "", "[::2]:{port}"])
def test_foreign_host_header_is_refused(client, web_port, host):
    r = client.get("/api/status", headers={"host": host.format(port=web_port)})
    assert r.status_code == 400
    assert r.json()["error"] == "bad_host"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_local_host_header_is_accepted(client, web_port, host):
    assert client.get("/api/status", headers={"host": host.format(port=web_port)}).status_code == 200


def test_security_headers(client):
    r = client.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


# -- T29: only GET, no SQL from requests, no writes --------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/api/series?metric=sofr", "/api/briefing", "/status", "/nowhere"])
def test_only_get(client, method, path):
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/", "/status", "/api/status", "/api/series?metric=sofr",
                                  "/api/series.csv?metric=sofr", "/static/vendor/plotly.min.js",
                                  "/api/series?metric=nope", "/nowhere"])
def test_head_answers_like_get_without_a_body(client, path):
    """HEAD is allowed (the Allow header and the docs say so): the GET's status and headers,
    no body. It used to be 405."""
    g, h = client.get(path), client.head(path)
    assert h.status_code == g.status_code != 405, (path, h.status_code)
    assert h.content == b""
    assert h.headers["content-type"] == g.headers["content-type"]
    assert h.headers.get("content-length") == g.headers.get("content-length")
    assert h.headers["x-frame-options"] == "DENY"


def test_head_on_the_live_server(live_server):
    import httpx

    r = httpx.head(live_server + "/api/status", timeout=30)
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) > 0


@pytest.mark.parametrize("metric", BAD_METRICS)
def test_sql_or_paths_as_metric_are_unknown_metric(client, metric):
    for url in ("/api/series", "/api/series.csv", "/explore"):
        r = client.get(url, params={"metric": metric})
        if url == "/explore" and metric == "":
            assert r.status_code == 200  # empty selection falls back to the default metric
            continue
        assert r.status_code in (404, 422), (url, metric)
        if url.startswith("/api/"):
            assert r.json()["error"] == "unknown_metric"
        else:
            assert "unknown metric" in r.text
    r = client.get("/api/metrics/" + metric.replace("\x00", "%00")) if metric else None
    if r is not None:
        assert r.status_code in (404, 422)


def test_unknown_query_parameters_are_refused(client):
    r = client.get("/api/series", params={"q": "read_csv('/etc/passwd')"})
    assert r.status_code == 422 and r.json()["error"] == "unknown_parameter"
    r = client.get("/api/series", params={"metric": "sofr", "sql": "SELECT 1"})
    assert r.status_code == 422
    r = client.get("/api/series", params=[("metric", "sofr"), ("metric", "iorb")])
    assert r.status_code == 422 and r.json()["error"] == "repeated_parameter"


@pytest.mark.parametrize("value", ["2025-13-01", "2025-02-30", "20251209", "2025-12-09T00:00", "2025-12-9",
                                   "2025-12-09' OR 1=1", "yesterday", "１２３４-01-01", "1800-01-01",
                                   "2099-01-01"])
def test_bad_dates_are_422(client, value):
    for url, extra in (("/api/series", {"metric": "sofr"}), ("/api/briefing", {}), ("/", {})):
        r = client.get(url, params={"as_of": value, **extra})
        assert r.status_code == 422, (url, value, r.status_code)
        assert "Traceback" not in r.text
    r = client.get("/api/series", params={"metric": "sofr", "start": value}) if value[:4].isdigit() and "-" in value else None
    if r is not None and value not in ("1800-01-01", "2099-01-01"):
        assert r.status_code == 422


def test_start_after_end_and_bad_choices(client):
    assert client.get("/api/series", params={"metric": "sofr", "start": "2025-02-01", "end": "2025-01-01"}).status_code == 422
    assert client.get("/explore", params={"metric": "sofr", "scale": "cubic"}).status_code == 422
    assert client.get("/", params={"lang": "fr"}).status_code == 422
    assert client.get("/explore", params=[("metric", "sofr"), ("metric", "iorb"), ("metric", "m2")]).status_code == 422


def test_web_connection_has_no_external_access(web_store_path):
    from btcmacro.web.data import WebStore

    st = WebStore(web_store_path)
    try:
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            st.con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        assert st.con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
        with pytest.raises(duckdb.Error):  # and it is read-only
            st.con.execute("DELETE FROM obs")
    finally:
        st.close()


def test_no_route_writes_the_store(web_app, web_port, store_copy):
    from fastapi.testclient import TestClient
    from btcmacro.web import create_app

    with Store(store_copy, read_only=True) as s:
        before = s.checksum()
    mtime = os.stat(store_copy).st_mtime_ns
    app = create_app(store_copy, port=web_port)
    with TestClient(app, base_url=f"http://127.0.0.1:{web_port}", raise_server_exceptions=False) as c:
        urls = ["/", "/?lang=zh-TW", "/explore", "/explore?metric=mvrv&metric=cmc/btc_close&twin=1",
                "/status", "/api/docs", "/api/metrics", "/api/status", "/api/briefing",
                "/api/briefing/charts", "/api/series?metric=sofr", "/api/series.csv?metric=sofr",
                "/api/openapi.json", "/api/metrics/sofr"]
        urls += ["/api/series?metric=" + quote(m, safe="") for m in BAD_METRICS]
        _routes_all_ok(c, urls)
    with Store(store_copy, read_only=True) as s:
        assert s.checksum() == before
    assert os.stat(store_copy).st_mtime_ns == mtime
    assert not os.path.exists(str(store_copy) + ".wal")


# -- T30: exports -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "/api/series.csv?metric=sofr&name=../../etc/passwd",
    "/api/series.csv?metric=sofr&filename=/etc/passwd",
    "/api/series.csv?metric=sofr&name=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/series.csv?metric=sofr&name=a%00b",
    "/api/series.csv?metric=sofr&name=a%5cb",
    "/api/series.csv?metric=..%2f..%2fetc%2fpasswd",
    "/api/series.csv?metric=sofr%00",
    "/api/series.csv?metric=C:%5cWindows",
    "/static/..%2f..%2fapp.py",
    "/static/%2e%2e/%2e%2e/web/app.py",
    "/static/..%5c..%5capp.py",
    "/static/vendor/..%2f..%2f..%2fstore.py",
    "/export/..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
])
def test_export_and_path_tricks_are_rejected(client, url):
    r = client.get(url)
    assert r.status_code in (400, 404, 422), (url, r.status_code)
    assert "root:" not in r.text and "import" not in r.text


def test_export_name_is_server_generated_and_nothing_is_written(client, tmp_path):
    home = tmp_path / "home"
    before = sorted(p for p in tmp_path.rglob("*"))
    r = client.get("/api/series.csv", params=[("metric", "fred/WALCL"), ("metric", "cmc/btc_close")])
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="btcmacro_fred-WALCL_cmc-btc_close_latest.csv"'
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not home.exists() or not any(home.rglob("*.csv"))


def test_export_name_helper_only_emits_safe_characters():
    import re

    from btcmacro.web.app import export_name

    for ids in (["fred/WALCL"], ["a/../../b"], ["x\\y", "z\x00"], ["é/ü"]):
        name = export_name(ids, None)
        assert re.fullmatch(r"btcmacro_[A-Za-z0-9_-]+_latest\.csv", name), name


# -- errors are clean -----------------------------------------------------------------------------


def test_errors_are_clean_json_or_pages(client):
    r = client.get("/api/nowhere")
    assert r.status_code == 404 and r.json() == {"error": "not_found", "message": "no such page or endpoint"}
    r = client.get("/nowhere?lang=zh-TW")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "錯誤" in r.text
    r = client.get("/api/series", params={"metric": "sofr", "as_of": "2099-01-01"})
    assert r.status_code == 422 and "after the data" in r.json()["message"]


# -- T16: the dashboard while an update holds the write lock -----------------------------------

HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])          # read-write: takes the file lock like `btcmacro update`
    print("locked", flush=True)
    sys.stdin.readline()                        # hold it until the test says so
    if sys.argv[2] == "write":
        con.execute("INSERT INTO obs VALUES ('fred/WALCL', DATE '2026-08-26', 6600000, DATE '2026-08-27', now(), NULL)")
        con.execute("INSERT INTO meta VALUES ('last_update', '2026-08-27T00:00:00') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        con.execute("UPDATE series SET updated_at = now()::TIMESTAMP + INTERVAL 1 DAY WHERE series_id = 'fred/WALCL'")
    con.close()
    print("released", flush=True)
""")


def _hold_lock(path, mode="read"):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), mode], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def _release(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "released"
    p.wait(timeout=10)


def test_t16_requests_during_update_serve_last_data_or_in_progress(store_copy, web_port):
    from fastapi.testclient import TestClient
    from btcmacro.web import create_app

    app = create_app(store_copy, port=web_port)
    c = TestClient(app, base_url=f"http://127.0.0.1:{web_port}", raise_server_exceptions=False)
    warm = {u: c.get(u) for u in ("/api/series?metric=fred/WALCL", "/api/briefing?as_of=2025-12-09",
                                  "/?as_of=2025-12-09", "/api/series.csv?metric=sofr")}
    assert all(r.status_code == 200 for r in warm.values())
    fred_before = {r["source"]: r for r in c.get("/api/status").json()["sources"]}["FRED"]["updated_at"]
    holder = _hold_lock(store_copy, "write")
    try:
        for u, before in warm.items():  # last published data, flagged
            r = c.get(u)
            assert r.status_code == 200, u
            assert r.headers.get("x-btcmacro-data") == "stale; update-in-progress", u
            assert r.headers["x-btcmacro-data"] == "stale; update-in-progress"
            if u.startswith("/api/series?"):
                assert r.json()["data"] == before.json()["data"] and r.json()["update_in_progress"] is True
        assert 'id="update-notice"' in c.get("/?as_of=2025-12-09").text
        # never computed before: an explicit "update in progress", never a 500
        r = c.get("/api/series?metric=fred/WRESBAL")
        assert r.status_code == 503 and r.json()["error"] == "update_in_progress" and r.headers["retry-after"] == "5"
        r = c.get("/?as_of=2024-06-03")
        assert r.status_code == 503 and "Update in progress" in r.text
        s = c.get("/api/status").json()
        assert s["update_running"] is True and "locked" in s["lock"]
        assert c.get("/status").status_code == 200
        _routes_all_ok(c, ["/", "/explore", "/api/metrics", "/api/briefing/charts", "/api/docs",
                           "/explore?metric=m2", "/api/series.csv?metric=m2&metric=sofr"], updating=True)
    finally:
        _release(holder)
    # after the update: the new data, not the cache
    r = c.get("/api/series?metric=fred/WALCL")
    assert r.status_code == 200 and "x-btcmacro-data" not in r.headers
    assert r.json()["data"][-1] == ["2026-08-26", 6600000.0]
    s = c.get("/api/status").json()
    assert s["update_running"] is False and s["data_version"].endswith("+update-2026-08-27T00:00:00")
    assert {r["source"]: r for r in s["sources"]}["FRED"]["updated_at"] > fred_before


def test_t16_dashboard_does_not_block_an_update(store_copy, web_port):
    """The server keeps no connection open between requests, so a writer can take the lock."""
    from fastapi.testclient import TestClient
    from btcmacro.web import create_app

    app = create_app(store_copy, port=web_port)
    c = TestClient(app, base_url=f"http://127.0.0.1:{web_port}", raise_server_exceptions=False)
    assert c.get("/api/series?metric=sofr").status_code == 200
    holder = _hold_lock(store_copy, "read")  # would fail if the app still held the file
    _release(holder)
