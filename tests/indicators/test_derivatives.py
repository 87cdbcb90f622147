"""Derivatives, flows, sentiment and Strategy: hand checks against the real-data collection's
btc/*.csv and onchain/stablecoins_supply_defillama.csv, and plain-Python twins of the ETF cost basis.
The files read directly are copied in tests/fixtures/data."""

from __future__ import annotations


import pandas as pd
import pytest

from btcmacro.indicators import derivatives as der

ANNUAL = 3 * 365 * 100  # 8h fraction -> annualised percent


def test_funding_binance_annualised(evaluate, shared_csv):
    # lukmol file row 2025-12-08 funding_mean 3.13366666666667e-05 (published the next day)
    v = evaluate("2025-12-09").value("funding_rate")
    assert v.date == "2025-12-08"
    assert v.value == pytest.approx(3.13366666666667e-05 * ANNUAL)  # 3.43 % a year
    assert v.unit == "annualised percent"
    rows = [r for r in shared_csv("btc/btc_perp_funding_rate_daily_lukmol.csv")
            if "2025-11-09" <= r["date"] <= "2025-12-08"]
    assert len(rows) == 30
    avg = sum(float(r["funding_mean"]) for r in rows) / 30 * ANNUAL
    assert evaluate("2025-12-09").value("funding_rate_30d_avg").value == pytest.approx(avg)


def test_funding_venues_preferred_when_present(evaluate):
    # multivenue row 2026-06-29 fund_mean 1.8022877875752001 (already annualised percent)
    v = evaluate("2026-06-30").value("funding_rate")
    assert v.date == "2026-06-29" and v.value == pytest.approx(1.8022877875752001)
    assert "funding_mean" in v.source
    assert v.alternatives and "Binance" in v.alternatives[0]["source"]


def test_open_interest_binance_only(evaluate):
    # Binance BTCUSDT rows: 2025-12-08 7,874,440,013.211825; 2025-11-08 8,969,884,426.8117
    ev = evaluate("2025-12-09")
    v = ev.value("open_interest")
    assert v.date == "2025-12-08" and v.value == pytest.approx(7874440013.211825)
    assert "not all exchanges" in v.source
    c = ev.value("open_interest_change_30d")
    assert c.value == pytest.approx(7874440013.211825 / 8969884426.8117 - 1)


def test_etf_flows_by_hand(evaluate, shared_csv):
    ev = evaluate("2025-12-09")  # Farside rows are published the next day: latest 2025-12-08
    v = ev.value("etf_netflow_5d")
    # 2025-12-02 58.5, 12-03 -14.9, 12-04 -194.6, 12-05 54.8, 12-08 -60.4 (US$ millions)
    assert v.date == "2025-12-08"
    assert v.value == pytest.approx((58.5 - 14.9 - 194.6 + 54.8 - 60.4) * 1e6)  # -156.6 M
    assert [d["date"] for d in v.detail["days"]] == [pd.Timestamp(x) for x in
                                                     ["2025-12-02", "2025-12-03", "2025-12-04", "2025-12-05", "2025-12-08"]]
    rows = [r for r in shared_csv("btc/btc_spot_etf_net_flow_farside.csv") if r["date"] <= "2025-12-08"]
    assert ev.value("etf_netflow_20d").value == pytest.approx(sum(float(r["value"]) for r in rows[-20:]) * 1e6)
    assert ev.value("etf_netflow_20d").value == pytest.approx(-2406.4e6)
    assert ev.value("etf_cumulative_flow").value == pytest.approx(sum(float(r["value"]) for r in rows) * 1e6)
    # a second date: as of 2025-12-16 the last five are 12-09 .. 12-15
    v = evaluate("2025-12-16").value("etf_netflow_5d")
    assert v.value == pytest.approx((151.9 + 223.5 - 77.5 + 49.1 - 357.6) * 1e6)


def test_etf_cost_basis_plain_python(evaluate, shared_csv):
    close = {r["date"]: float(r["close"]) for r in shared_csv("btc/btc_usd_daily_coinmarketcap.csv")}
    flows = [(r["date"], float(r["value"]) * 1e6) for r in shared_csv("btc/btc_spot_etf_net_flow_farside.csv")
             if r["date"] <= "2025-12-08"]
    usd = sum(f for _, f in flows)
    coins = sum(f / close[d] for d, f in flows)
    v = evaluate("2025-12-09").value("etf_cost_basis")
    assert v.date == "2025-12-08"
    assert v.value == pytest.approx(usd / coins, rel=1e-10)  # about 82,610 USD
    assert v.detail["btc_held_estimate"] == pytest.approx(coins, rel=1e-10)
    # average-cost twin: inflows buy at the close, outflows redeem at the running average cost
    u = b = 0.0
    for d, f in flows:
        if f >= 0:
            u, b = u + f, b + f / close[d]
        else:
            avg = u / b
            b = b + f / close[d]
            u = avg * b
    assert v.detail["average_cost_basis_usd"] == pytest.approx(u / b, rel=1e-10)
    assert v.detail["average_cost_basis_usd"] > v.value  # outflows at high prices lower the net basis


def test_stablecoins_match_defillama_own_change(evaluate):
    ev = evaluate("2025-12-09")
    v = ev.value("stablecoin_supply")  # row 2025-12-08 total_usd 307,365,432,754
    assert v.date == "2025-12-08" and v.value == pytest.approx(307365432754.0)
    c = ev.value("stablecoin_supply_change_30d")
    assert c.value == pytest.approx(307365432754.0 / 304175330888.0 - 1)  # row 2025-11-08
    # the source file's own total_chg_30d_pct for 2025-12-08 agrees
    assert c.value == pytest.approx(1.0487707391282903 / 100, rel=1e-9)


def test_fear_greed(evaluate):
    v = evaluate("2025-12-09").value("fear_greed")  # row 2025-12-09: 22, "Extreme Fear"
    assert v.value == 22 and v.detail["band"] == "extreme fear"
    assert [der.fear_greed_band(x) for x in (25, 26, 46, 47, 54, 55, 75, 76)] == [
        "extreme fear", "fear", "fear", "neutral", "neutral", "greed", "greed", "extreme greed"]


# ---------------------------------------------------------------------------------------------
# Strategy (8-K purchases)
# ---------------------------------------------------------------------------------------------


def test_strategy_as_of_2025_12_09(evaluate, shared_csv):
    ev = evaluate("2025-12-09")
    h = ev.value("strategy_holdings_btc")
    assert h.date == "2025-12-08" and h.value == 660624  # row 2025-12-08
    last = ev.value("strategy_last_purchase_btc")
    assert last.value == 10624 and last.detail["avg_price_usd"] == 90615
    # average cost by hand: purchase rows only (btc_acquired > 0), the 2025-08-04 cost
    # "2460000" replaced by 21021 x 117256
    rows = [r for r in shared_csv("btc/mstr_btc_purchases_8k.csv")
            if r["date"] <= "2025-12-08" and float(r["btc_acquired"]) > 0]
    cost = sum(float(r["btc_acquired"]) * float(r["avg_price_usd"]) if r["date"] == "2025-08-04"
               else float(r["total_cost_usd"]) for r in rows)
    btc = sum(float(r["btc_acquired"]) for r in rows)
    a = ev.value("strategy_avg_cost")
    assert btc == 658504
    assert a.value == pytest.approx(cost / btc)  # 74,777.6
    assert a.detail["corrected_rows"] == ["2025-08-04"]
    # Strategy's own 8-K of 2025-12-08 (accession 0001193125-25-310607) states an aggregate
    # average of about 74,696 USD per BTC for 660,624 BTC: within 0.2 % despite the 2,120 BTC
    # bought outside the purchase filings
    assert a.value == pytest.approx(74696, rel=0.002)
    assert h.detail["not_in_purchase_filings_btc"] == 660624 - 658504


def test_strategy_before_the_december_8_filing(evaluate):
    ev = evaluate("2025-12-07")
    assert ev.value("strategy_holdings_btc").value == 650000  # row 2025-12-01
    assert ev.value("strategy_last_purchase_btc").value == 130


def test_strategy_purchases_cleaning():
    d = pd.to_datetime(["2025-04-01", "2025-04-07", "2025-04-14"])
    btc = pd.Series([100.0, 0.0, 10.0], index=d)
    cost = pd.Series([9_000_000.0, 577_000_000.0, 1_000.0], index=d)  # last one a units slip
    px = pd.Series([90_000.0, 577.0, 95_000.0], index=d)
    t = der.strategy_purchases(btc, cost, px)
    assert list(t.index) == [d[0], d[2]]  # the 0-BTC filing is not a purchase
    assert t.loc[d[2], "cost"] == 950_000.0 and bool(t.loc[d[2], "corrected"])
    avg = der.strategy_average_cost(btc, cost, px)
    assert avg.iloc[-1] == pytest.approx((9_000_000 + 950_000) / 110)
