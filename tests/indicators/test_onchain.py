"""On-chain indicators against hand-read rows of tests/fixtures/data/onchain (and btc/ for the price).

Provider series are published the day after their date (release rule ``next_day``), so the rows
dated 2025-12-09 are what a briefing *as of 2025-12-10* shows; as of 2025-12-09 the 12-08 rows
are the latest visible. Every expected number below is typed from the named CSV row.
"""

from __future__ import annotations

import csv
import re
import statistics

import pandas as pd
import pytest
from _realdata import DATA

from btcmacro import catalog, data
from btcmacro.indicators import onchain as O
from btcmacro.registry import Evaluator
from btcmacro.store import Store

CJK = re.compile(r"[\u4e00-\u9fff]")


def csv_column(rel: str, col: str, upto: str | None = None) -> dict[str, float]:
    """date -> float value of one column of a collection CSV (the reference reader, no pandas)."""
    out = {}
    with open(DATA / rel, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row[col] in ("", None) or (upto and row["date"] > upto):
                continue
            out[row["date"]] = float(row[col])
    return out


@pytest.fixture()
def ev10(snapshot_store):
    return Evaluator(snapshot_store, "2025-12-10", {})


@pytest.fixture()
def ev09(snapshot_store):
    return Evaluator(snapshot_store, "2025-12-09", {})


# --- valuation --------------------------------------------------------------------------------


def test_realized_cap_published_and_derived(ev10):
    # btc_coinmetrics_mvrv_realizedcap_cslc.csv 2025-12-09: CapRealUSD 1124748630142.8276 (README: ~1.12T)
    v = ev10.value("realized_cap")
    assert (v.date, v.published_at, v.status) == ("2025-12-09", "2025-12-10", "ok")
    assert v.value == pytest.approx(1_124_748_630_142.8276, rel=1e-12)
    assert "Coin Metrics:CapRealUSD" in v.source
    # the derived variant is reported as the alternative: mcap_price_supply.csv 2025-12-09
    # CapMrktCurUSD 1852439848225.965 / CapMVRVCur 1.64698945121268091
    alt = v.alternatives[0]
    assert alt["source"] == "Coin Metrics:CapMrktCurUSD, Coin Metrics:CapMVRVCur"
    assert alt["value"] == pytest.approx(1_852_439_848_225.965 / 1.64698945121268091, rel=1e-12)
    assert abs(alt["diff_pct"]) < 0.01  # the two Coin Metrics figures agree to ~5e-6


def test_realized_cap_before_capreal_is_market_cap_over_mvrv(snapshot_store):
    # CapRealUSD starts 2025-06-27; as of 2025-06-01 the 2025-05-31 row of mcap_price_supply.csv:
    # CapMrktCurUSD 2080839122058.398 / CapMVRVCur 2.245319517928255
    v = Evaluator(snapshot_store, "2025-06-01").value("realized_cap")
    assert v.date == "2025-05-31"
    assert v.value == pytest.approx(2_080_839_122_058.398 / 2.245319517928255, rel=1e-12)
    assert "derived as market cap / MVRV" in v.source


def test_realized_price_mvrv_nupl(ev10):
    # realized price = CapRealUSD 1124748630142.8276 / SplyCur 19959732.41070624 (2025-12-09)
    rp = ev10.value("realized_price")
    assert rp.value == pytest.approx(1_124_748_630_142.8276 / 19_959_732.41070624, rel=1e-12)
    cq = [a for a in rp.alternatives if a["source"] == "CryptoQuant:realized_price"][0]
    assert cq["value"] == pytest.approx(56337.07615902)  # btc_cryptoquant_realized_price.csv 2025-12-09
    # MVRV: Coin Metrics 1.64698945121268091, CryptoQuant 1.6472367 (README: 1.6470 and 1.6472)
    m = ev10.value("mvrv")
    assert m.value == pytest.approx(1.64698945121268091, rel=1e-12)
    assert m.alternatives[0]["value"] == pytest.approx(1.6472367)
    n = ev10.value("nupl")
    assert n.value == pytest.approx(1 - 1 / 1.64698945121268091, rel=1e-12)
    assert n.alternatives[0]["value"] == pytest.approx(0.3929227)  # btc_cryptoquant_nupl.csv


def test_realized_cap_growth_30d(ev10):
    # CapRealUSD 2025-12-09 1124748630142.8276 vs 2025-11-09 1120133898828.3657 (cslc.csv)
    v = ev10.value("realized_cap_growth_30d")
    assert v.unit == "fraction"
    assert v.value == pytest.approx(1_124_748_630_142.8276 / 1_120_133_898_828.3657 - 1, rel=1e-9)


def test_mvrv_zscore_against_plain_reference(ev10):
    # reference: sample std of every CapMrktCurUSD row of mcap_price_supply.csv up to 2025-12-09
    mc = csv_column("onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv", "CapMrktCurUSD", "2025-12-09")
    mv = csv_column("onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv", "CapMVRVCur", "2025-12-09")
    sd = statistics.stdev(mc.values())
    last = mc["2025-12-09"]
    expect = (last - last / mv["2025-12-09"]) / sd
    v = ev10.value("mvrv_zscore")
    assert v.date == "2025-12-09"
    assert v.value == pytest.approx(expect, rel=1e-9)
    assert pd.Timestamp(v.detail["history_start"]) == pd.Timestamp("2013-01-01")


# --- supply in profit / loss --------------------------------------------------------------------


def test_supply_in_loss_and_share(ev10):
    # btc_supply_in_loss_bgeometrics.csv 2025-12-09: 5894941.86775317 (README: 5.89M)
    v = ev10.value("supply_in_loss")
    assert v.value == pytest.approx(5_894_941.86775317) and "BGeometrics" in v.source
    week = [5872915.36034121, 6274067.86759789, 6741763.06024675, 6806713.10924822,
            6566014.9411723, 6554425.5052042, 5894941.86775317]  # rows 2025-12-03..09
    assert v.detail["mean_7d"] == pytest.approx(sum(week) / 7)
    pct = ev10.value("supply_in_loss_pct")
    assert pct.unit == "fraction"
    assert pct.value == pytest.approx(5_894_941.86775317 / 19_959_732.41070624)  # / SplyCur 2025-12-09
    # btc_supply_in_profit_bgeometrics.csv 2025-12-09: 14317093.642574644 (README 14.32M)
    assert ev10.value("supply_in_profit").value == pytest.approx(14_317_093.642574644)


def test_realized_pl_needs_own_node(ev10):
    by_id = {m.id: m for m in O.METRICS}
    for mid in ("realized_loss_usd", "realized_profit_usd", "net_realized_pl_usd", "whale_supply_1k", "cdd"):
        v = ev10.value(mid)
        assert v.status == "unavailable" and v.value is None, mid
        assert v.reason == "needs own-node chain data (btcmacro chain sync)", mid
        assert all(i.startswith("chain/") for i in by_id[mid].inputs), mid  # no provider stand-in


# --- holder cost bases and SOPR -----------------------------------------------------------------


def test_sth_cost_basis_providers_and_difference(ev10):
    # btc_sth_realized_price_bmp.csv 2025-12-09: 102685.20297650978; checkonchain 102479.28
    v = ev10.value("sth_cost_basis")
    assert v.value == pytest.approx(102_685.20297650978) and v.source.startswith("Bitcoin Magazine Pro")
    alt = v.alternatives[0]
    assert alt["source"] == "checkonchain:sth_realized_price" and alt["value"] == pytest.approx(102_479.28)
    assert alt["diff_pct"] == round(100 * (102_479.28 - 102_685.20297650978) / 102_685.20297650978, 2)
    # LTH: checkonchain 37328.64
    assert ev10.value("lth_cost_basis").value == pytest.approx(37_328.64)
    # price vs STH cost basis: CMC close 2025-12-09 92691.707470239 (btc_usd_daily_coinmarketcap.csv)
    p = ev10.value("price_vs_sth_cost_basis")
    assert p.date == "2025-12-09"
    assert p.value == pytest.approx(92_691.707470239 / 102_685.20297650978 - 1)
    assert p.alternatives[0]["value"] == pytest.approx(92_691.707470239 / 102_479.28 - 1)


def test_sopr_family(ev10):
    # btc_sopr_sth_lth_bgeometrics.csv 2025-12-09: 1.0026112464345114, 0.9952021897747614, 1.412504764623923
    assert ev10.value("sopr").value == pytest.approx(1.0026112464345114)
    sth = ev10.value("sth_sopr")
    assert sth.value == pytest.approx(0.9952021897747614)
    assert sth.alternatives[0]["value"] == pytest.approx(0.9869466154901487)  # checkonchain row
    assert ev10.value("lth_sopr").value == pytest.approx(1.412504764623923)
    # 7-day mean of bgeometrics sth_sopr rows 2025-12-03..09
    rows = [0.9961502140078041, 0.9983797847510002, 0.9766746038187842, 0.9964091013968578,
            0.9940797711117334, 0.9849786872724011, 0.9952021897747614]
    v = ev10.value("sth_sopr_7d")
    assert v.value == pytest.approx(sum(rows) / 7)
    assert v.detail["below_one"] is True  # STH selling below cost basis


# --- exchanges and activity ---------------------------------------------------------------------


def test_exchange_reserve_and_flows(ev10):
    # btc_exchange_reserve_netflow_bgeometrics.csv: 2025-12-09 2676640.58590848; 2025-11-09 2686431.14370567
    assert ev10.value("exchange_reserve").value == pytest.approx(2_676_640.58590848)
    assert ev10.value("exchange_reserve_change_30d").value == pytest.approx(2_676_640.58590848 - 2_686_431.14370567)
    bg = csv_column("onchain/btc_exchange_reserve_netflow_bgeometrics.csv", "exchange_netflow_btc")
    cq = csv_column("onchain/btc_exchange_netflow_cryptoquant.csv", "netflow_total_btc")
    days = [d.date().isoformat() for d in pd.date_range("2025-11-10", "2025-12-09")]
    assert len(days) == 30
    v = ev10.value("exchange_netflow_30d")
    assert v.value == pytest.approx(sum(bg[d] for d in days))
    assert v.alternatives[0]["value"] == pytest.approx(sum(cq[d] for d in days))


def test_active_addresses(ev10):
    # btc_coinmetrics_activity_2025q4.csv 2025-12-09: AdrActCnt 668386
    assert ev10.value("active_addresses").value == 668_386


# --- point in time ------------------------------------------------------------------------------


def test_next_day_publication_not_visible_same_day(ev09):
    # as of 2025-12-09 the 2025-12-09 rows are not yet published: the 12-08 rows are the latest
    v = ev09.value("sth_cost_basis")
    assert (v.date, v.value) == ("2025-12-08", pytest.approx(102_766.64041204235))
    assert ev09.value("supply_in_loss").value == pytest.approx(6_554_425.5052042)
    assert ev09.value("realized_cap").value == pytest.approx(1_124_356_529_621.942)
    # the ratio pairs the price with the cost basis of the same day (CMC 2025-12-08 close 90640.2055811025)
    p = ev09.value("price_vs_sth_cost_basis")
    assert p.date == "2025-12-08"
    assert p.value == pytest.approx(90_640.2055811025 / 102_766.64041204235 - 1)


def test_own_node_series_wins_and_provider_is_the_alternative():
    """Wiring: when chain/sth_cost_basis exists it is the figure and BMP is shown beside it."""
    with Store() as st:
        for sid in ("bmp/sth_realized_price", "checkonchain/sth_realized_price", "cmc/btc_close"):
            df = data.load(sid)
            df = df[(df["date"] >= "2025-11-01") & (df["date"] <= "2025-12-09")].copy()
            df["published_at"] = df["date"] + pd.Timedelta(days=1)
            st.write_series(catalog.get(sid).meta(), df)
        # stand-in own-node values for the test: checkonchain's numbers written under the chain id
        df = data.load("checkonchain/sth_realized_price")
        df = df[(df["date"] >= "2025-11-01") & (df["date"] <= "2025-12-09")].copy()
        df["published_at"] = df["date"]
        st.write_series(catalog.get("chain/sth_cost_basis").meta(), df)
        v = Evaluator(st, "2025-12-10").value("sth_cost_basis")
        assert v.source.startswith("own node:sth_cost_basis")
        assert v.value == pytest.approx(102_479.28)
        assert [a["source"] for a in v.alternatives] == ["Bitcoin Magazine Pro:sth_realized_price",
                                                         "checkonchain:sth_realized_price"]


# --- declarations -------------------------------------------------------------------------------


def test_every_onchain_metric_is_fully_declared():
    ids = [m.id for m in O.METRICS]
    assert len(ids) == len(set(ids))
    for m in O.METRICS:
        assert m.category == "onchain", m.id
        assert m.unit and m.definition and m.citation, m.id
        assert m.names["en"] and CJK.search(m.names["zh-TW"]), m.id
        for i in m.inputs:
            assert i in catalog.SERIES, (m.id, i)
        chain_first = any(i.startswith("chain/") for i in m.inputs)
        if chain_first:  # the own node is always the first variant when it exists
            assert any(i.startswith("chain/") for i in m.variants[0].inputs), m.id
    for mid in ("realized_cap", "realized_price", "mvrv", "nupl", "realized_cap_growth_30d", "supply_in_loss",
                "realized_loss_usd", "sth_cost_basis", "sopr"):
        assert mid in ids
