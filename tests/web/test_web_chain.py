"""Own-node HODL waves and URPD on the dashboard: the briefing chart and ``/api/chain/*``.

The own-node data is real engine output, built the way ``tests/report/test_hodl_report.py``
builds it: a small synthetic chain on the real mainnet genesis (blocks stamped in 2023–2025),
written as a blk file with the chain tests' shared block builder (``tests/chain/_chainhelp.py``),
indexed by :func:`btcmacro.chain.api.sync` and published by
:func:`btcmacro.chain.publishing.publish` into a copy of the snapshot store. The dashboard is
then pointed at that store and that index.

Hand figures (from the plan below), end of 2025-12-09: genesis 50 BTC (> 10 y), A1 6 + C 3 +
A2 4 = 13 BTC aged 100 days (3m–6m), B1 4 + E 1 = 5 BTC aged 20 days (1w–1m), F 2 BTC mined
that day (< 1d): supply 70 BTC. A block of 2025-12-15 (G 5, and A2 moved) is in the index but
must not count for 2025-12-09.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _ownnode import AS_OF, D, EXPECT_BTC, EXPECT_BTC_LAST, GENESIS_DAY, published_node

from btcmacro import api
from btcmacro.store import Store

KEYS = ["lt_1d", "1d_1w", "1w_1m", "1m_3m", "3m_6m", "6m_12m", "1y_2y", "2y_3y", "3y_5y", "5y_7y", "7y_10y",
        "gt_10y"]


@pytest.fixture(scope="session")
def node(tmp_path_factory, web_store_path):
    """``{"store", "index", "hashes"}``: a snapshot store copy with the shared HODL plan (tests/_ownnode.py)
    synced and published."""
    n = published_node(tmp_path_factory.mktemp("web_node"), web_store_path)
    assert str(n["last_day"]) == "2025-12-15"
    return n


@pytest.fixture(scope="session")
def node_app(node, web_port):
    from btcmacro.web import create_app

    return create_app(node["store"], index_path=node["index"], port=web_port)


@pytest.fixture()
def nclient(node_app, web_port):
    from fastapi.testclient import TestClient

    with TestClient(node_app, base_url=f"http://127.0.0.1:{web_port}", raise_server_exceptions=False) as c:
        yield c



@pytest.fixture(scope="session")
def missing_app(tmp_path_factory, web_store_path, web_port):
    """The snapshot store (no own-node data) and a chain index path where no index exists."""
    from btcmacro.web import create_app

    return create_app(web_store_path, index_path=tmp_path_factory.mktemp("noindex") / "chain.duckdb",
                      port=web_port)


def _client(app, port):
    from fastapi.testclient import TestClient

    return TestClient(app, base_url=f"http://127.0.0.1:{port}", raise_server_exceptions=False)


def _published(store_path, day: dt.date, unit: str = "pct") -> dict:
    """The ``chain/hodl_<band>_<unit>`` values of ``day`` straight from the store (not via the web)."""
    with Store(store_path, read_only=True) as st:
        return {k: float(st.series(f"chain/hodl_{k}_{unit}").loc[pd.Timestamp(day)]) for k in KEYS}


def _catalog(lang: str) -> dict:
    from btcmacro.report.i18n import load_catalog_dict

    return load_catalog_dict(lang)


# --------------------------------------------------------------------------- /api/chain/hodl


def test_hodl_endpoint_is_the_library_day_and_the_hand_figures(nclient, node):
    r = nclient.get("/api/chain/hodl", params={"date": "2025-12-09"})
    assert r.status_code == 200, r.text
    body = r.json()
    lib = api.hodl_waves("2025-12-09", index=node["index"])
    assert body["bands"] == [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
                             for row in lib.to_dict("records")]
    assert [b["key"] for b in body["bands"]] == KEYS
    assert {b["key"]: b["btc"] for b in body["bands"]} == {k: float(EXPECT_BTC.get(k, 0)) for k in KEYS}
    assert [b["pct"] for b in body["bands"]] == pytest.approx([100 * EXPECT_BTC.get(k, 0) / 70 for k in KEYS],
                                                               rel=1e-14, abs=0)
    assert body["date"] == "2025-12-09" and body["supply_btc"] == 70
    # provenance: the day's last block (5), which the figures depend on, and the index tip when
    # they were computed (block 6 of 2025-12-15)
    assert (body["tip_hash"], body["height"]) == (node["hashes"][6], 6) == (lib.attrs["tip_hash"], lib.attrs["height"])
    assert (body["day_tip_hash"], body["day_height"]) == (node["hashes"][5], 5)
    assert body["source"] == f"own node, tip {node['hashes'][5]} height 5 (last block of 2025-12-09; index tip height 6)"
    assert body["provenance"].startswith(body["source"]) and "end of 2025-12-09" in body["provenance"]
    assert body["update_in_progress"] is False


def test_hodl_endpoint_equals_the_published_series(nclient, node):
    for day in (dt.date(2025, 12, 8), AS_OF, dt.date(2025, 12, 15)):
        body = nclient.get("/api/chain/hodl", params={"date": day.isoformat()}).json()
        assert {b["key"]: b["pct"] for b in body["bands"]} == pytest.approx(_published(node["store"], day),
                                                                            rel=1e-12, abs=1e-12)
        assert {b["key"]: b["btc"] for b in body["bands"]} == _published(node["store"], day, "btc")


def test_hodl_endpoint_point_in_time_and_default_day(nclient):
    # 2025-12-08: F (2 BTC of 2025-12-09) is not mined yet; B1 + E are 19 days old
    d8 = nclient.get("/api/chain/hodl", params={"date": "2025-12-08"}).json()
    assert d8["supply_btc"] == 68 and {b["key"]: b["btc"] for b in d8["bands"]}["lt_1d"] == 0
    assert {b["key"]: b["btc"] for b in d8["bands"]}["1w_1m"] == 5
    # default: the last indexed day (2025-12-15), where block 6 counts
    last = nclient.get("/api/chain/hodl").json()
    assert last["date"] == "2025-12-15" and last["supply_btc"] == 75
    assert {b["key"]: b["btc"] for b in last["bands"]} == {k: float(EXPECT_BTC_LAST.get(k, 0)) for k in KEYS}


# --------------------------------------------------------------------------- /api/chain/urpd


def _closes(store_path) -> pd.Series:
    with Store(store_path, read_only=True) as st:
        return st.series("cmc/btc_close")


def _close_on(closes: pd.Series, day_index: int) -> float:
    """The close of a creation day, forward-filled; 0 USD before the first quote."""
    day = pd.Timestamp(GENESIS_DAY + dt.timedelta(days=day_index))
    before = closes[closes.index <= day]
    return float(before.iloc[-1]) if len(before) else 0.0


@pytest.mark.parametrize("n", [1, 7, 100])
def test_urpd_endpoint_buckets_sum_to_the_day_supply_and_match_hand_buckets(nclient, node, n):
    r = nclient.get("/api/chain/urpd", params={"date": "2025-12-09", "buckets": str(n)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bucket_count"] == len(body["buckets"]) == n
    assert sum(b["btc"] for b in body["buckets"]) == pytest.approx(70, abs=1e-9)
    hodl = nclient.get("/api/chain/hodl", params={"date": "2025-12-09"}).json()
    assert body["supply_btc"] == hodl["supply_btc"] == 70
    assert (body["tip_hash"], body["height"]) == (node["hashes"][6], 6) and body["prices"] == "cmc/btc_close"
    # by hand: each coin unspent at the end of 2025-12-09 at the close of the day it was created
    closes = _closes(node["store"])
    held = [(0.0, 50), (_close_on(closes, D - 100), 13), (_close_on(closes, D - 20), 5), (_close_on(closes, D), 2)]
    top = max(p for p, _ in held)
    width = top / n
    expect = [0.0] * n
    for price, btc in held:
        expect[min(int(price // width), n - 1)] += btc
    assert [b["btc"] for b in body["buckets"]] == pytest.approx(expect, abs=1e-9)
    assert body["buckets"][0]["price_low"] == 0 and body["buckets"][-1]["price_high"] == pytest.approx(top, rel=1e-12)
    # and exactly what the library gives for that day
    with Store(node["store"], read_only=True) as st:
        lib = api.urpd("2025-12-09", buckets=n, store=st, index=node["index"])
    assert [b["btc"] for b in body["buckets"]] == lib["btc"].tolist()
    assert [b["price_low"] for b in body["buckets"]] == lib["price_low"].tolist()


def test_urpd_endpoint_point_in_time(nclient):
    # block 6 (2025-12-15) moves A2 and mines G: invisible on 2025-12-09, counted on 2025-12-15
    assert nclient.get("/api/chain/urpd", params={"date": "2025-12-09"}).json()["supply_btc"] == 70
    last = nclient.get("/api/chain/urpd", params={"buckets": "1000"}).json()
    assert last["date"] == "2025-12-15" and last["supply_btc"] == 75 and len(last["buckets"]) == 1000
    assert sum(b["btc"] for b in last["buckets"]) == pytest.approx(75, abs=1e-9)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("url,status,code", [
    ("/api/chain/hodl?date=2025-12-16", 422, "bad_date"),      # after the last indexed day
    ("/api/chain/hodl?date=2009-01-02", 422, "bad_date"),      # before the genesis day
    ("/api/chain/urpd?date=2030-01-01", 422, "bad_date"),
    ("/api/chain/hodl?date=2025-13-01", 422, "bad_date"),
    ("/api/chain/hodl?date=yesterday", 422, "bad_date"),
    ("/api/chain/urpd?buckets=0", 422, "bad_buckets"),
    ("/api/chain/urpd?buckets=1001", 422, "bad_buckets"),
    ("/api/chain/urpd?buckets=-3", 422, "bad_buckets"),
    ("/api/chain/urpd?buckets=2.5", 422, "bad_buckets"),
    ("/api/chain/urpd?buckets=1e3", 422, "bad_buckets"),
    ("/api/chain/hodl?day=2025-12-09", 422, "unknown_parameter"),
    ("/api/chain/hodl?date=2025-12-09&date=2025-12-08", 422, "repeated_parameter"),
    ("/api/chain/urpd?buckets=10&buckets=20", 422, "repeated_parameter"),
])
def test_chain_endpoints_refuse_bad_input(nclient, url, status, code):
    r = nclient.get(url)
    assert r.status_code == status and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code and body["message"] and "Traceback" not in r.text
    outside = url.endswith(("2025-12-16", "2009-01-02", "2030-01-01"))
    assert ("outside the indexed days 2009-01-03..2025-12-15" in body["message"]) == outside


def test_chain_endpoints_are_get_only(nclient):
    for u in ("/api/chain/hodl", "/api/chain/urpd"):
        r = nclient.post(u)
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_missing_chain_index_is_a_clean_404(missing_app, web_port):
    c = _client(missing_app, web_port)
    for u in ("/api/chain/hodl", "/api/chain/hodl?date=2025-12-09", "/api/chain/urpd?buckets=10"):
        r = c.get(u)
        assert r.status_code == 404, u
        assert r.json()["error"] == "no_chain_index" and "btcmacro chain sync" in r.json()["message"]
    # the validation still comes first
    assert c.get("/api/chain/urpd?buckets=0").json()["error"] == "bad_buckets"


def test_empty_chain_index_is_a_clean_409(tmp_path, web_store_path, web_port):
    from btcmacro.chain.index import ChainIndex
    from btcmacro.web import create_app

    empty = tmp_path / "empty.duckdb"
    ChainIndex(empty).close()  # the schema, no block
    c = _client(create_app(web_store_path, index_path=empty, port=web_port), web_port)
    for u in ("/api/chain/hodl", "/api/chain/urpd"):
        r = c.get(u)
        assert r.status_code == 409 and r.json()["error"] == "chain_index_unavailable", u
        assert "empty" in r.json()["message"] and "btcmacro chain sync" in r.json()["message"]


HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])          # read-write: takes the file lock like `btcmacro chain sync`
    print("locked", flush=True)
    sys.stdin.readline()
    con.close()
    print("released", flush=True)
""")


def test_chain_sync_holding_the_index_serves_last_result_or_503(node, tmp_path, web_port):
    from btcmacro.web import create_app

    index = tmp_path / "chain.duckdb"
    shutil.copy(node["index"], index)
    if Path(str(node["index"]) + ".flows").exists():
        shutil.copytree(str(node["index"]) + ".flows", str(index) + ".flows")
    c = _client(create_app(node["store"], index_path=index, port=web_port), web_port)
    warm = c.get("/api/chain/hodl?date=2025-12-09")
    assert warm.status_code == 200
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(index)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        r = c.get("/api/chain/hodl?date=2025-12-09")
        assert r.status_code == 200 and r.headers["x-btcmacro-data"] == "stale; update-in-progress"
        assert r.json()["bands"] == warm.json()["bands"] and r.json()["update_in_progress"] is True
        r = c.get("/api/chain/urpd?date=2025-12-09")  # never computed: an explicit 503, never a 500
        assert r.status_code == 503 and r.json()["error"] == "update_in_progress" and r.headers["retry-after"] == "5"
        assert c.get("/api/status").json()["chain"]["sync_running"] is True
    finally:
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "released"
        p.wait(timeout=10)
    r = c.get("/api/chain/urpd?date=2025-12-09")
    assert r.status_code == 200 and "x-btcmacro-data" not in r.headers


def test_chain_endpoints_in_the_openapi_listing(nclient):
    spec = nclient.get("/api/openapi.json").json()
    hodl, urpd = spec["paths"]["/api/chain/hodl"], spec["paths"]["/api/chain/urpd"]
    assert set(hodl) == {"get"} and set(urpd) == {"get"}
    assert [p["name"] for p in hodl["get"]["parameters"]] == ["date"]
    assert [p["name"] for p in urpd["get"]["parameters"]] == ["date", "buckets"]
    page = nclient.get("/api/docs").text
    assert "/api/chain/hodl" in page and "/api/chain/urpd" in page


# --------------------------------------------------------------------------- the briefing page


def test_briefing_page_shows_the_report_hodl_chart(nclient, node):
    from btcmacro.report import builder, charts

    en = nclient.get("/", params={"as_of": "2025-12-09"}).text
    zh = nclient.get("/", params={"as_of": "2025-12-09", "lang": "zh-TW"}).text
    for lang, text in (("en", en), ("zh-TW", zh)):
        cat = _catalog(lang)
        assert text.count('id="chart-hodl_waves"') == 1, lang
        assert cat["chart.title.hodl_waves"] in text
        assert 'id="hodl-fallback"' not in text
    assert "HODL waves: 71.4% of the supply has not moved for a year or more" in en
    assert "10.0% moved within the last month" in en
    # the sentence and the chart note cite the day's tip: block 5, the last block of 2025-12-09
    short = f"{node['hashes'][5][:8]}…{node['hashes'][5][-8:]}"
    assert en.count(short) >= 2 and "not available" not in en.split('id="sec-onchain"')[1].split("</section>")[0]
    # the chart data is the report's own plan (same bands, names, values), as published by the as-of date
    d = nclient.get("/api/briefing/charts", params={"as_of": "2025-12-09"}).json()["hodl"]
    with Store(node["store"], read_only=True) as st:
        b = api.briefing("2025-12-09", store=st)
    for lang in ("en", "zh-TW"):
        plan = charts.plan(builder.Ctx(b, lang), "hodl_waves")
        assert [band["names"][lang] for band in d["bands"]] == [t.name for t in plan["traces"]]
        assert d["title"][lang] == plan["title"] and d["note"][lang] == plan["note"]
        assert [band["names"][lang] for band in d["bands"]] == [_catalog(lang)[f"chart.hodl.{k}"] for k in KEYS]
    assert [band["y"] for band in d["bands"]] == [t.y for t in plan["traces"]]
    assert [band["key"] for band in d["bands"]] == KEYS and d["date"] == "2025-12-09"
    assert [band["color"] for band in d["bands"]] == list(charts.HODL_COLORS)
    assert d["x"][-1] == "2025-12-09"  # the block of 2025-12-15 stays invisible
    assert {band["key"]: band["y"][-1] for band in d["bands"]} == pytest.approx(_published(node["store"], AS_OF),
                                                                               rel=1e-12, abs=1e-12)


def test_briefing_hodl_csv_export_is_the_published_bands(nclient, node):
    page = nclient.get("/", params={"as_of": "2025-12-09"}).text
    start = page.index('id="hodl-waves"')
    href = page[page.index('class="csv" download href="', start) + 27:]
    href = href[:href.index('"')].replace("&amp;", "&")
    r = nclient.get(href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["date", *[f"chain/hodl_{k}_pct" for k in KEYS]]
    assert rows[-1][0] == "2025-12-09"
    assert [float(v) for v in rows[-1][1:]] == pytest.approx(list(_published(node["store"], AS_OF).values()),
                                                             rel=1e-12, abs=1e-12)


def test_briefing_page_without_own_node_data_says_so_once(missing_app, web_port):
    c = _client(missing_app, web_port)
    en = c.get("/", params={"as_of": "2025-12-09"}).text
    zh = c.get("/", params={"as_of": "2025-12-09", "lang": "zh-TW"}).text
    assert en.count("HODL waves: not available — needs own-node chain data (btcmacro chain sync).") == 1
    label_zh = _catalog("zh-TW")["label.hodl_waves"]
    assert zh.count(label_zh + "：") == 1 and "needs own-node chain data" not in zh
    for text in (en, zh):
        assert 'id="chart-hodl_waves"' not in text and 'id="hodl-waves"' not in text
    assert c.get("/api/briefing/charts", params={"as_of": "2025-12-09"}).json()["hodl"] is None


# --------------------------------------------------------------------------- the status page


def test_status_page_urpd_only_with_an_index(nclient, missing_app, web_port, node):
    page = nclient.get("/status").text
    assert 'id="urpd-chart"' in page and 'id="no-chain-index"' not in page and "/static/app.js" in page
    s = nclient.get("/api/status").json()["chain"]
    assert s == {"index": str(node["index"]), "index_exists": True, "sync_running": False}
    c = _client(missing_app, web_port)
    page = c.get("/status", params={"lang": "zh-TW"}).text
    assert 'id="urpd-chart"' not in page and 'id="no-chain-index"' in page
    assert c.get("/api/status").json()["chain"]["index_exists"] is False
