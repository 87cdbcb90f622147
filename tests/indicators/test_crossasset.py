"""Cross-asset family: hand checks against the real-data collection's markets/*.csv, fred/VIXCLS.csv and
fred/BAMLH0A0HYM2.csv, the gold-BTC statistics recomputed in plain Python, and the metadata
check over every metric of the macro, market, derivatives and cross-asset families. The files read
directly are copied in tests/fixtures/data."""

from __future__ import annotations

import datetime as dt
import math
import statistics
import unicodedata

import pandas as pd
import pytest

from btcmacro.indicators import crossasset, derivatives, macro, market


@pytest.fixture(scope="module")
def pairs(shared_csv) -> list[tuple[str, float, float]]:
    """(date, btc close, gold close) on gold trading days, from the two CSVs."""
    btc = {r["date"]: float(r["close"]) for r in shared_csv("btc/btc_usd_daily_coinmarketcap.csv")}
    return [(r["date"], btc[r["date"]], float(r["value"])) for r in shared_csv("markets/gold_close_daily.csv")
            if r["date"] in btc]


def _upto(pairs, as_of):
    return [p for p in pairs if p[0] <= as_of]


def _window_start(rows, days=30):
    end = dt.date.fromisoformat(rows[-1][0])
    limit = (end - dt.timedelta(days=days)).isoformat()
    return [r for r in rows if r[0] <= limit][-1]


def test_gold_price_and_return(evaluate):
    ev = evaluate("2025-12-09")
    g = ev.value("gold_price")  # gold_close_daily.csv row 2025-12-09: 4206.70
    assert g.date == "2025-12-09" and g.value == pytest.approx(4206.70)
    # 30 days back is Sunday 2025-11-09; the latest close on or before it is 2025-11-07, 3999.40
    assert ev.value("gold_return_30d").value == pytest.approx(4206.70 / 3999.40 - 1)


@pytest.mark.parametrize("as_of", ["2025-12-09", "2024-08-05"])
def test_gold_btc_correlation_plain_python(evaluate, pairs, as_of):
    rows = _upto(pairs, as_of)
    end = dt.date.fromisoformat(rows[-1][0])
    rets = []
    for (d0, b0, g0), (d1, b1, g1) in zip(rows[:-1], rows[1:]):
        if (end - dt.date.fromisoformat(d1)).days < 30:
            rets.append((math.log(b1 / b0), math.log(g1 / g0)))
    ref = statistics.correlation([r[0] for r in rets], [r[1] for r in rets])
    v = evaluate(as_of).value("gold_btc_corr_30d")
    assert v.date == rows[-1][0]
    assert v.value == pytest.approx(ref, rel=1e-9)
    assert v.detail["returns"] == len(rets)


@pytest.mark.parametrize("as_of", ["2025-12-09", "2025-10-06", "2024-08-05"])
def test_relative_and_inverse_move_by_hand(evaluate, pairs, as_of):
    rows = _upto(pairs, as_of)
    d1, b1, g1 = rows[-1]
    d0, b0, g0 = _window_start(rows)
    rb, rg = b1 / b0 - 1, g1 / g0 - 1
    ev = evaluate(as_of)
    rel = ev.value("gold_btc_relative_30d")
    assert rel.value == pytest.approx(rb - rg, rel=1e-12)
    assert rel.detail["start"] == pd.Timestamp(d0)
    inv = ev.value("gold_btc_inverse_move")
    assert inv.value is ((rb > 0) != (rg > 0))
    if as_of == "2025-12-09":  # BTC -11.5 % since 2025-11-07, gold +5.2 %: opposite
        assert inv.value is True and inv.detail["direction"] == "btc down, gold up"
    if as_of == "2025-10-06":  # both rallied into BTC's record close
        assert inv.value is False


def test_dxy_vix_hy_oas(evaluate):
    ev = evaluate("2025-12-09")
    assert ev.value("dxy").value == pytest.approx(99.22)  # dxy_daily.csv close 2025-12-09
    v = ev.value("vix")  # VIXCLS 2025-12-08 = 16.66, published the next business day
    assert v.date == "2025-12-08" and v.value == pytest.approx(16.66)
    h = ev.value("hy_oas")  # BAMLH0A0HYM2 2025-12-08 = 2.89 percent
    assert h.unit == "bp" and h.value == pytest.approx(289.0)


# ---------------------------------------------------------------------------------------------
# metadata of every metric these four families declare
# ---------------------------------------------------------------------------------------------
FAMILIES = {"macro": macro, "market": market, "derivatives": derivatives, "crossasset": crossasset}
CATEGORIES = {"macro": {"macro"}, "market": {"market"},
              "derivatives": {"derivatives", "flows", "sentiment"}, "crossasset": {"crossasset"}}
ALL = [(fam, m) for fam, mod in FAMILIES.items() for m in mod.METRICS]


def _has_han(text: str) -> bool:
    return any("CJK UNIFIED IDEOGRAPH" in unicodedata.name(ch, "") for ch in text)


@pytest.mark.parametrize("fam,m", ALL, ids=[m.id for _, m in ALL])
def test_metric_declaration_complete(fam, m):
    from btcmacro import catalog

    assert m.unit and m.definition and m.citation, m.id
    assert m.names.get("en") and _has_han(m.names.get("zh-TW", "")), m.id
    assert m.category in CATEGORIES[fam]
    assert m.frequency in {"daily", "weekly", "monthly", "irregular"}
    for v in m.variants:
        for sid in v.inputs:
            assert sid in catalog.SERIES, f"{m.id}: unknown input {sid}"
    assert m.variants


def test_contract_ids_present():
    ids = {m.id for _, m in ALL}
    required = {
        "payrolls_change", "payrolls_negative_months_of_7", "jolts_openings", "jolts_openings_trend",
        "quits_rate", "quits_rate_change_12m", "unemployment_rate", "sahm_rule", "core_pce_yoy",
        "cpi_yoy", "core_cpi_yoy", "inflation_gap_core_pce", "initial_claims", "us10y",
        "real_yield_10y", "dollar_index",
        "btc_price", "btc_ma_50d", "btc_ma_200d", "btc_ma_200w", "btc_ath", "btc_drawdown_from_ath",
        "btc_realized_vol_30d", "btc_return_30d",
        "funding_rate", "funding_rate_30d_avg", "open_interest", "open_interest_change_30d",
        "etf_netflow_5d", "etf_netflow_20d", "etf_cumulative_flow", "etf_cost_basis",
        "stablecoin_supply", "stablecoin_supply_change_30d", "fear_greed", "strategy_holdings_btc",
        "strategy_avg_cost", "strategy_last_purchase_btc",
        "gold_price", "gold_return_30d", "gold_btc_corr_30d", "gold_btc_relative_30d",
        "gold_btc_inverse_move", "dxy", "vix", "hy_oas",
    }
    assert required <= ids, required - ids
    assert "exchange_netflow_30d" not in ids  # the on-chain family owns it


@pytest.mark.parametrize("as_of", ["2025-12-09"])
def test_every_metric_evaluates(evaluate, as_of):
    ev = evaluate(as_of)
    for _, m in ALL:
        v = ev.value(m.id)
        assert v.status in ("ok", "stale") and v.value is not None, m.id
        assert v.date <= as_of
