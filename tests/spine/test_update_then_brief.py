"""One `btcmacro update` and the briefing, series API and as-of range use the new data.

A local server answers Coin Metrics' v4 ``timeseries/asset-metrics`` in its documented layout
with three days after the embedded snapshot ends (2026-08-23..25). The prices are synthetic
(chosen to be recognisable), the format is the provider's.
"""

from __future__ import annotations

import json
import shutil

import pytest

import btcmacro
from btcmacro import api, http
from btcmacro.update import run_update

PRICES = {"2026-08-23": "111111.5", "2026-08-24": "112222.25", "2026-08-25": "113333.75"}


def body() -> str:
    return json.dumps({"data": [{"asset": "btc", "time": f"{d}T00:00:00.000000000Z", "PriceUSD": v}
                                for d, v in PRICES.items()]})


def test_update_extends_the_briefing(snapshot_store_path, tmp_path, httpserver, monkeypatch):
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    monkeypatch.setenv("BTCMACRO_URL_COINMETRICS", httpserver.url_for("/v4").rstrip("/"))
    monkeypatch.delenv("COINMETRICS_API_KEY", raising=False)
    http.reset_limiters()
    httpserver.expect_request("/v4/timeseries/asset-metrics").respond_with_data(
        body(), content_type="application/json")
    with api.open_store(store) as st:
        assert api.data_range(st)[1].date().isoformat() == "2026-08-22"
        before = api.data_version(st)
    rep = run_update(store, ["coinmetrics"], today=__import__("datetime").date(2026, 8, 27),
                     options={"coinmetrics": {"series": ["cm/PriceUSD"]}})
    assert all(s.ok for s in rep.sources), rep
    with api.open_store(store) as st:
        # Coin Metrics values are published the day after their date: the range ends 2026-08-26
        assert api.data_range(st)[1].date().isoformat() == "2026-08-26"
        assert api.data_version(st) != before and "+live-" in api.data_version(st)
        b = btcmacro.briefing(store=st, with_charts=False)
        assert b.as_of.date().isoformat() == "2026-08-26"
        price = b.metrics["btc_price"]
        # CoinMarketCap ends 2026-08-22; the fresher Coin Metrics rate wins
        assert (price.value, price.date) == (113333.75, "2026-08-25")
        assert price.source.startswith("Coin Metrics:PriceUSD")
        # the day before, the 08-25 value was not yet published
        b25 = btcmacro.briefing("2026-08-25", store=st, with_charts=False)
        assert b25.metrics["btc_price"].value == 112222.25
        s = btcmacro.series("btc_price", as_of="2026-08-26", store=st)
        assert s.index[-1].date().isoformat() == "2026-08-25"
