"""Exchanges via ccxt: funding days across pages, funding intervals read from the timestamps, the
cross-venue aggregates (with the store filling in a venue that failed), the venue list from
config.toml. Bodies are the venues' documented formats (tests/fixtures/exchanges/*.json);
expected values are hand arithmetic, written next to each assertion.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from btcmacro import catalog
from btcmacro.http import FakeClock
from btcmacro.sources.exchanges import ANNUALISE_8H, daily_funding
from btcmacro.store import Store
from btcmacro.update import run_update

from .replay import FIXTURES, load_fixture

H = 3_600_000
NOV30, DEC1, DEC2, DEC3 = 1764460800000, 1764547200000, 1764633600000, 1764720000000
TODAY = dt.date(2025, 12, 3)
CT = {"Content-Type": "application/json; charset=UTF-8"}


def fx_http(name: str) -> list[dict]:
    return load_fixture(FIXTURES / "exchanges" / f"{name}.json")["http"]


def values(path: Path, sid: str) -> list[tuple[str, float]]:
    with Store(path, read_only=True) as st:
        return [(d.date().isoformat(), v) for d, v in st.series(sid).items()]


def update(path, venues, **kw):
    return run_update(path, ["exchanges"], since="2025-12-01", today=TODAY, clock=FakeClock(),
                      options={"exchanges": {"venues": venues, **kw}})


# -- daily_funding: the interval comes from the payload's timestamps ------------------------------
def test_eight_hour_fundings_average_plainly_and_tolerate_ms_jitter():
    # Binance stamps fundingTime a few ms after the hour (binance.json: ...001, ...002)
    f = daily_funding([DEC1 + 1, DEC1 + 8 * H + 1, DEC1 + 16 * H + 2], [4e-5, 2e-5, 3e-5])
    assert f["date"].tolist() == [pd.Timestamp("2025-12-01")]
    assert f["rate_8h"].iloc[0] == pytest.approx(3e-5, rel=1e-12)  # (4+2+3)/3 e-5
    assert f["hours"].iloc[0] == 24 and f["n"].iloc[0] == 3


def test_four_hour_fundings_are_scaled_to_eight_hours():
    # six fundings of 1e-5 every 4 h = 6e-5 a day = 2e-5 per 8 h (a plain mean would say 1e-5)
    f = daily_funding([DEC1 + i * 4 * H for i in range(6)], [1e-5] * 6)
    assert f["rate_8h"].iloc[0] == pytest.approx(2e-5, rel=1e-12)
    assert f["rate_8h"].iloc[0] * ANNUALISE_8H == pytest.approx(2e-5 * 3 * 365 * 100, rel=1e-12)


def test_a_missing_funding_does_not_stretch_the_next_interval():
    # Dec 1 08:00 is missing: the 16 h gap is not an interval, the typical 8 h is used
    # -> (4e-5 + 3e-5) / 16 h * 8 h = 3.5e-5
    f = daily_funding([DEC1, DEC1 + 16 * H, DEC2, DEC2 + 8 * H], [4e-5, 3e-5, 1e-5, 1e-5])
    assert f.set_index("date")["rate_8h"].to_dict() == {
        pd.Timestamp("2025-12-01"): pytest.approx(3.5e-5, rel=1e-12),
        pd.Timestamp("2025-12-02"): pytest.approx(1e-5, rel=1e-12)}
    assert f["hours"].tolist() == [16, 16]


def test_single_funding_uses_fallback_and_nonsense_gaps_are_refused():
    f = daily_funding([DEC1], [5e-5])
    assert f["rate_8h"].iloc[0] == pytest.approx(5e-5) and f["hours"].iloc[0] == 8
    with pytest.raises(ValueError, match="apart"):
        daily_funding([DEC1, DEC1 + 3 * H + 17 * 60_000], [1e-5, 1e-5])  # 3 h 17 min


def test_the_same_funding_on_two_pages_counts_once():
    f = daily_funding([DEC1, DEC1 + 8 * H, DEC1 + 8 * H, DEC1 + 16 * H], [3e-5, 6e-5, 6e-5, 0.0])
    assert f["n"].iloc[0] == 3 and f["rate_8h"].iloc[0] == pytest.approx(3e-5, rel=1e-12)


# -- a funding day split across two pages -----------------------------------------------------------
def binance_funding(rows):
    return json.dumps([{"symbol": "BTCUSDT", "fundingTime": t, "fundingRate": r, "markPrice": "90000.0"}
                       for t, r in rows])


def test_forward_pages_split_a_day_and_the_day_averages_all_its_fundings(replay, tmp_path):
    http = fx_http("binance")
    replay.add("/api/v3/klines", body=http[0]["body"], headers=CT)
    replay.add("/futures/data/openInterestHist", body=http[2]["body"], headers=CT)
    # page size 4: page 1 ends with Dec 2 00:00, page 2 holds Dec 2 08:00 and 16:00
    replay.add("/fapi/v1/fundingRate", body=binance_funding(
        [(DEC1 + 1, "0.00004"), (DEC1 + 8 * H + 1, "0.00002"), (DEC1 + 16 * H + 1, "0.00003"),
         (DEC2 + 1, "-0.00001")]), headers=CT)
    replay.add("/fapi/v1/fundingRate", body=binance_funding(
        [(DEC2 + 8 * H + 1, "0.00002"), (DEC2 + 16 * H + 2, "0.00005"), (DEC3 + 1, "0.00001")]), headers=CT)
    path = tmp_path / "s.duckdb"
    rep = update(path, ["binance"], page_size=4)
    assert rep.ok, rep.all_errors()
    starts = [a["startTime"] for p, a in replay.log if p == "/fapi/v1/fundingRate"]
    assert starts == [str(DEC1), str(DEC2 + 2)]  # page 2 starts 1 ms after the last funding seen
    # Dec 2 = (-1e-5 + 2e-5 + 5e-5) / 3 = 2e-5; averaging page 2 alone would give 3.5e-5
    assert values(path, "binance/funding_rate") == [("2025-12-01", pytest.approx(3e-5, rel=1e-12)),
                                                    ("2025-12-02", pytest.approx(2e-5, rel=1e-12))]
    assert values(path, "venues/funding_mean") == [("2025-12-01", pytest.approx(3.285, rel=1e-12)),
                                                   ("2025-12-02", pytest.approx(2.19, rel=1e-12))]


def okx_funding(rows):
    return json.dumps({"code": "0", "msg": "", "data": [
        {"formulaType": "noRate", "fundingRate": r, "fundingTime": str(t), "instId": "BTC-USDT-SWAP",
         "instType": "SWAP", "method": "current_period", "realizedRate": r} for t, r in rows]})


def test_backward_pages_split_days_and_stop_at_since(replay, tmp_path):
    http = fx_http("okx")
    replay.add("/api/v5/market/history-candles", body=http[0]["body"], headers=CT)
    replay.add("/api/v5/rubik/stat/contracts/open-interest-history", body=http[2]["body"], headers=CT)
    # OKX serves the newest fundings first and pages back with `after`; page size 3
    pages = [[(DEC3, "0.00002"), (DEC2 + 16 * H, "0.00006"), (DEC2 + 8 * H, "0.00003")],
             [(DEC2, "0.00003"), (DEC1 + 16 * H, "0.00007"), (DEC1 + 8 * H, "0.00001")],
             [(DEC1, "0.00004"), (NOV30 + 16 * H, "0.00005"), (NOV30 + 8 * H, "0.00006")]]
    for p in pages:
        replay.add("/api/v5/public/funding-rate-history", body=okx_funding(p), headers=CT)
    path = tmp_path / "s.duckdb"
    rep = update(path, ["okx"], page_size=3)
    assert rep.ok, rep.all_errors()
    cursors = [a.get("after") for p, a in replay.log if p == "/api/v5/public/funding-rate-history"]
    assert cursors == [None, str(DEC2 + 8 * H), str(DEC1 + 8 * H)]  # page 3 reaches since: stop
    # Dec 2 spans pages 1-2, Dec 1 pages 2-3: (3+3+6)/3 = 4e-5 and (4+1+7)/3 = 4e-5;
    # Nov 30 is before since, Dec 3 is today (incomplete): neither is stored
    assert values(path, "ccxt/okx/funding_rate") == [("2025-12-01", pytest.approx(4e-5, rel=1e-12)),
                                                     ("2025-12-02", pytest.approx(4e-5, rel=1e-12))]


# -- aggregates: a venue that fails this run contributes what the store holds ------------------------
@pytest.mark.parametrize("seeded", [True, False])
def test_aggregates_fill_a_failed_venue_from_the_store(replay, tmp_path, seeded):
    for e in fx_http("binance") + fx_http("okx"):
        replay.add(e["path"], e["status"], e["body"], e["headers"])
    for p in ("/v5/market/kline", "/v5/market/funding/history", "/v5/market/open-interest"):
        replay.add(p, 503, "<html><body>503 Service Temporarily Unavailable</body></html>", repeat=True)
    path = tmp_path / "s.duckdb"
    if seeded:  # what an earlier run stored for Bybit (the bybit.json values)
        with Store(path) as st:
            for sid, rows in {"ccxt/bybit/funding_rate": [("2025-12-01", 7.5e-5), ("2025-12-02", 2e-5)],
                              "ccxt/bybit/open_interest": [("2025-12-01", 52000.5 * 90394.3)]}.items():
                st.write_series(catalog.get(sid).meta(), pd.DataFrame(
                    {"date": [d for d, _ in rows], "value": [v for _, v in rows],
                     "published_at": ["2025-12-03"] * len(rows)}))
    rep = update(path, ["binance", "okx", "bybit"])
    assert not rep.ok and all("bybit" in e for e in rep.all_errors())
    assert replay.count("/v5/market/") == 3 * 4  # three queries, each tried 1 + 3 times
    fund, n = values(path, "venues/funding_mean"), values(path, "venues/funding_venues")
    oi = values(path, "venues/open_interest")
    if seeded:
        # same numbers as three_venues.json: (3e-5 + 4e-5 + 7.5e-5)/3 * 109500 = 5.2925; 2.92
        assert fund == [("2025-12-01", pytest.approx(5.2925, rel=1e-12)), ("2025-12-02", pytest.approx(2.92, rel=1e-12))]
        assert n == [("2025-12-01", 3.0), ("2025-12-02", 3.0)]
        # only Dec 1 has all three venues: 8182255546.73844 + 2502972000 + 4700548797.15
        assert oi == [("2025-12-01", pytest.approx(15385776343.88844, rel=1e-12))]
    else:
        # Binance and OKX only: (3e-5 + 4e-5)/2 * 109500 = 3.8325; (2e-5 + 4e-5)/2 * 109500 = 3.285
        assert fund == [("2025-12-01", pytest.approx(3.8325, rel=1e-12)), ("2025-12-02", pytest.approx(3.285, rel=1e-12))]
        assert n == [("2025-12-01", 2.0), ("2025-12-02", 2.0)]
        assert oi == []  # never a partial sum
    # the venues that answered are stored in the same transaction
    assert values(path, "ccxt/okx/open_interest")[0] == ("2025-12-01", 2502972000.0)


def test_aggregates_are_revised_when_a_late_venue_arrives(replay, tmp_path):
    """Run 1 without Bybit, run 2 with it: the mean becomes a new vintage, the old one stays."""
    path = tmp_path / "s.duckdb"
    for e in fx_http("binance") + fx_http("okx"):
        replay.add(e["path"], e["status"], e["body"], e["headers"])
    assert update(path, ["binance", "okx"]).ok
    for e in fx_http("binance") + fx_http("okx") + fx_http("bybit"):
        replay.add(e["path"], e["status"], e["body"], e["headers"])
    rep = run_update(path, ["exchanges"], since="2025-12-01", today=dt.date(2025, 12, 5), clock=FakeClock(),
                     options={"exchanges": {"venues": ["binance", "okx", "bybit"]}})
    assert rep.ok, rep.all_errors()
    with Store(path, read_only=True) as st:
        vint = st.vintages("venues/funding_mean", "2025-12-01")
        # (3e-5 + 4e-5)/2 * 109500 = 3.8325 first, then (3e-5 + 4e-5 + 7.5e-5)/3 * 109500 = 5.2925
        assert vint["value"].tolist() == [pytest.approx(3.8325, rel=1e-12), pytest.approx(5.2925, rel=1e-12)]
        # the revision was learned on Dec 5 (run 2), not on the release-rule day of Dec 2
        assert [str(p)[:10] for p in vint["published_at"]] == ["2025-12-02", "2025-12-05"]
        assert st.series("venues/funding_mean", as_of="2025-12-04").iloc[0] == pytest.approx(3.8325, rel=1e-12)
        assert st.series("venues/funding_mean").iloc[0] == pytest.approx(5.2925, rel=1e-12)


# -- configuration ---------------------------------------------------------------------------------
def test_venue_list_comes_from_config_toml(replay, tmp_path):
    cfg = Path(os.environ["BTCMACRO_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text('[sources.exchanges]\nvenues = ["okx"]\n')
    for e in fx_http("okx"):
        replay.add(e["path"], e["status"], e["body"], e["headers"])
    path = tmp_path / "s.duckdb"
    rep = run_update(path, ["exchanges"], since="2025-12-01", today=TODAY, clock=FakeClock())
    assert rep.ok, rep.all_errors()
    assert {p for p, _ in replay.log} == {"/api/v5/market/history-candles", "/api/v5/public/funding-rate-history",
                                          "/api/v5/rubik/stat/contracts/open-interest-history"}
    assert values(path, "ccxt/binance/btc_close") == []


def test_unknown_venue_is_one_clear_error(replay, tmp_path):
    rep = update(tmp_path / "s.duckdb", ["binance", "kraken"])
    (msg,) = rep.all_errors()
    assert "kraken" in msg and "binance, okx, bybit" in msg
    assert replay.log == []


def test_requests_carry_each_venues_documented_parameters(replay, tmp_path):
    for e in fx_http("three_venues"):
        replay.add(e["path"], e["status"], e["body"], e["headers"])
    assert update(tmp_path / "s.duckdb", ["binance", "okx", "bybit"]).ok
    args = {p: a for p, a in replay.log}
    want = {  # the parameters each venue documents for these endpoints (UTC-aligned daily bars)
        "/api/v3/klines": {"symbol": "BTCUSDT", "interval": "1d", "startTime": str(DEC1)},
        "/fapi/v1/fundingRate": {"symbol": "BTCUSDT", "startTime": str(DEC1), "limit": "1000"},
        "/futures/data/openInterestHist": {"symbol": "BTCUSDT", "period": "1d", "limit": "500"},
        "/api/v5/market/history-candles": {"instId": "BTC-USDT", "bar": "1Dutc", "limit": "100"},
        "/api/v5/public/funding-rate-history": {"instId": "BTC-USDT-SWAP", "limit": "100"},
        "/api/v5/rubik/stat/contracts/open-interest-history": {"instId": "BTC-USDT-SWAP", "period": "1Dutc",
                                                               "begin": str(DEC1 - 1)},
        # Bybit's candle query starts a day early: the Nov 30 close prices the Dec 1 open interest
        "/v5/market/kline": {"category": "spot", "symbol": "BTCUSDT", "interval": "D", "start": str(NOV30)},
        "/v5/market/funding/history": {"category": "linear", "symbol": "BTCUSDT", "startTime": str(DEC1),
                                       "limit": "200"},
        "/v5/market/open-interest": {"category": "linear", "symbol": "BTCUSDT", "intervalTime": "1d",
                                     "startTime": str(DEC1)},
    }
    assert set(args) == set(want)
    for path, params in want.items():
        assert {k: args[path].get(k) for k in params} == params, path
