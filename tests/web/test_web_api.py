"""The dashboard's JSON API and pages through FastAPI's TestClient.

Hand-checked values (rows of the real-data collection's CSVs, the embedded snapshot's sources):
* btc/btc_usd_daily_coinmarketcap.csv, close: 2025-12-01 86321.5699463014, 2025-12-03
  93527.8038002451, 2025-12-05 89387.7544099001.
* fred/WALCL.csv 2025-12-03 6535781 and 2025-12-10 6539303 (millions USD); fred/WDTGAL.csv
  2025-12-03 908523; fred/RRPONTSYD.csv 2025-12-03 2.514 (billions USD). Net liquidity on
  2025-12-03 = 6535781e6 - 908523e6 - 2.514e9 = 5 624 744e6 USD.
* H.4.1 (WALCL) for Wednesday 2025-12-10 is published Thursday 2025-12-11, so as of 2025-12-10
  the latest WALCL is the 2025-12-03 level.
"""

from __future__ import annotations

import csv
import io

import pytest

from btcmacro.registry import REGISTRY
from btcmacro import catalog


def test_metrics_lists_every_registry_metric_and_series(client):
    r = client.get("/api/metrics")
    assert r.status_code == 200
    rows = r.json()["metrics"]
    ids = [m["id"] for m in rows]
    assert set(REGISTRY) <= set(ids) and set(catalog.SERIES) <= set(ids)
    for m in rows:
        assert m["unit"] and m["definition"] and m["names"]["en"] and m["names"]["zh-TW"]
    one = client.get("/api/metrics/net_liquidity").json()
    assert one["unit"] == "USD" and "FRED:WALCL" in one["inputs"]
    assert client.get("/api/metrics/fred/WALCL").json()["unit"] == "millions USD"


def test_series_values_match_the_csv_rows(client):
    r = client.get("/api/series", params={"metric": "cmc/btc_close", "start": "2025-12-01", "end": "2025-12-05"})
    assert r.status_code == 200
    body = r.json()
    assert body["unit"] == "USD" and body["count"] == 5
    data = dict(body["data"])
    assert data["2025-12-01"] == pytest.approx(86321.5699463014, rel=1e-12)
    assert data["2025-12-03"] == pytest.approx(93527.8038002451, rel=1e-12)
    assert data["2025-12-05"] == pytest.approx(89387.7544099001, rel=1e-12)


def test_net_liquidity_value_hand_computed(client):
    body = client.get("/api/series", params={"metric": "net_liquidity", "as_of": "2025-12-09",
                                             "start": "2025-11-01"}).json()
    assert body["unit"] == "USD" and body["as_of"] == "2025-12-09"
    data = dict(body["data"])
    assert data["2025-12-03"] == pytest.approx(6535781e6 - 908523e6 - 2.514e9, rel=1e-12)
    assert max(data) <= "2025-12-09"


def test_series_is_point_in_time(client):
    before = client.get("/api/series", params={"metric": "fred/WALCL", "as_of": "2025-12-10"}).json()
    after = client.get("/api/series", params={"metric": "fred/WALCL", "as_of": "2025-12-11"}).json()
    assert before["data"][-1] == ["2025-12-03", 6535781.0]
    assert after["data"][-1] == ["2025-12-10", 6539303.0]


def test_csv_export_header_and_outer_join(client):
    r = client.get("/api/series.csv", params=[("metric", "net_liquidity"), ("metric", "cmc/btc_close"),
                                              ("as_of", "2025-12-09"), ("start", "2025-12-01")])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="btcmacro_net_liquidity_cmc-btc_close_2025-12-09.csv"')
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["date", "net_liquidity", "cmc/btc_close"]
    by_date = {row[0]: row for row in rows[1:]}
    assert sorted(by_date) == [f"2025-12-0{d}" for d in range(1, 10)]  # daily BTC rows to the as-of
    assert float(by_date["2025-12-03"][1]) == pytest.approx(5_624_744e6, rel=1e-12)
    assert float(by_date["2025-12-03"][2]) == pytest.approx(93527.8038002451, rel=1e-12)
    assert by_date["2025-12-04"][1] == ""  # weekly metric: no row that day


def test_briefing_json_is_the_library_contract(client, web_store_path):
    from btcmacro import api
    from btcmacro.web.data import WebStore

    r = client.get("/api/briefing", params={"as_of": "2025-12-09"})
    assert r.status_code == 200
    got = r.json()
    st = WebStore(web_store_path)
    try:
        want = api.briefing("2025-12-09", store=st, with_charts=False).to_json()
    finally:
        st.close()
    got.pop("generated_at"), want.pop("generated_at")
    assert got == want
    assert got["metrics"]["net_liquidity"]["value"] == pytest.approx(5_624_744e6, rel=1e-12)


def test_briefing_charts_payload(client):
    d = client.get("/api/briefing/charts", params={"as_of": "2025-12-09"}).json()
    price = d["price"]
    assert price["unit"] == "USD" and price["x"][-1] == "2025-12-09"
    assert price["y"][-1] == pytest.approx(92691.707470239, rel=1e-9)  # CMC close 2025-12-09
    assert price["x"][0] >= "2023-12-09"
    for mid, c in d["charts"].items():
        assert mid in REGISTRY and c["x"] and max(c["x"]) <= "2025-12-09"


def test_pages_render(client):
    r = client.get("/", params={"as_of": "2025-12-09"})
    assert r.status_code == 200 and "Briefing as of 2025-12-09" in r.text
    assert "$5.62T" in r.text  # net liquidity, formatted
    zh = client.get("/", params={"as_of": "2025-12-09", "lang": "zh-TW"})
    assert "截至 2025-12-09 的簡報" in zh.text and "淨流動性" in zh.text and "5.62 兆美元" in zh.text
    ex = client.get("/explore", params=[("metric", "net_liquidity"), ("metric", "cmc/btc_close"),
                                        ("twin", "1"), ("scale", "log")])
    assert ex.status_code == 200
    assert "Fed total assets − TGA − ON RRP" in ex.text  # the definition is shown
    assert 'href="/api/series.csv?metric=net_liquidity&amp;metric=cmc%2Fbtc_close"' in ex.text
    st = client.get("/status")
    assert st.status_code == 200 and "FRED" in st.text
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/series" in docs.text


def test_status_reports_sources_and_version(client):
    s = client.get("/api/status").json()
    assert s["update_running"] is False
    assert s["data_version"].startswith("snapshot-")
    src = {r["source"]: r for r in s["sources"]}
    assert src["FRED"]["series"] >= 30 and src["FRED"]["updated_at"]
    assert src["CoinMarketCap"]["last_observation"] == "2026-08-22"  # last CMC row


def test_openapi_lists_the_read_only_api(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/metrics", "/api/series", "/api/series.csv", "/api/briefing", "/api/status"} <= set(spec["paths"])
    for path, ops in spec["paths"].items():
        assert set(ops) == {"get"}, path


def test_plotly_is_served_locally(client):
    r = client.get("/static/vendor/plotly.min.js")
    assert r.status_code == 200 and "plotly.js" in r.text[:200]
    page = client.get("/").text
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page


def test_label_catalogues_have_the_same_keys():
    from btcmacro.web.i18n import LABELS

    assert set(LABELS["en"]) == set(LABELS["zh-TW"])
    assert all(LABELS["zh-TW"][k] for k in LABELS["en"])


def test_value_formatting():
    from btcmacro.web.format import value

    assert value(5_624_744e6, "USD") == "$5.62T"
    assert value(5_624_744e6, "USD", "zh-TW") == "5.62 兆美元"
    assert value(3_211_000_000.0, "USD", "zh-TW") == "32.11 億美元"
    assert value(92691.707470239, "USD") == "$92,692"
    assert value(0.04279480894421339, "fraction") == "4.28%"
    assert value(5.000000000000027, "bp") == "5.0 bp"
    assert value(True, "bool", "zh-TW") == "是" and value(None, "USD") == "—"
    assert value("running", "state") == "running"
