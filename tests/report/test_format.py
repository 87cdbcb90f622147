"""Formatting and translation on a small briefing built by hand.

The numbers are the real ones for 2025-12-09 from the real-data collection (the snapshot's sources):
fred/WALCL.csv row 2025-12-03 = 6,535,781 (millions) -> $6.54T; row 2022-04-13 = 8,965,487
(the peak); fred/WDTGAL.csv row 2025-12-03 = 908,523 -> $908.5B; fred/WRESBAL.csv row 2025-12-03
= 2,858,284; btc/btc_usd_daily_coinmarketcap.csv close on 2025-12-09 = 92,691.707470239.
"""

from __future__ import annotations

import pandas as pd
import pytest

from btcmacro.api import Briefing
from btcmacro.registry import MetricValue
from btcmacro.report import builder, render
from btcmacro.report.i18n import catalog

AS_OF = pd.Timestamp("2025-12-09")


def _mv(id, value, unit, date, source, status="ok", reason=None, alternatives=(), detail=None):
    return MetricValue(id, value, unit, date, source, status, reason, None, list(alternatives), detail)


def hand_briefing() -> Briefing:
    m = {
        "fed_total_assets": _mv("fed_total_assets", 6_535_781e6, "USD", "2025-12-03", "FRED:WALCL"),
        "fed_total_assets_peak": _mv("fed_total_assets_peak", 8_965_487e6, "USD", "2025-12-03", "FRED:WALCL",
                                     detail={"peak_date": "2022-04-13"}),
        "qt_runoff_since_peak": _mv("qt_runoff_since_peak", (8_965_487 - 6_535_781) * 1e6, "USD", "2025-12-03",
                                    "FRED:WALCL", detail={"peak_date": "2022-04-13",
                                                          "share_of_peak": (8_965_487 - 6_535_781) / 8_965_487}),
        "tga": _mv("tga", 908_523e6, "USD", "2025-12-03", "FRED:WDTGAL"),
        "reserves": _mv("reserves", 2_858_284e6, "USD", "2025-12-03", "FRED:WRESBAL"),
        "btc_price": _mv("btc_price", 92_691.707470239, "USD", "2025-12-09", "CoinMarketCap:btc_close",
                         alternatives=[{"source": "Coin Metrics:PriceUSD", "value": 90_673.14, "date": "2025-12-08",
                                        "diff_pct": -2.18}]),
        "unemployment_rate": _mv("unemployment_rate", 4.4, "percent", "2025-09-01", "FRED:UNRATE", "stale",
                                 "latest value is for 2025-09-01, 99 days before 2025-12-09; delayed: "
                                 "2025-11: BLS: November report delayed by the shutdown (scheduled Dec 5)"),
        "realized_loss_usd": _mv("realized_loss_usd", None, "USD", None, None, "unavailable",
                                 "needs own-node chain data (btcmacro chain sync)"),
        "sofr": _mv("sofr", None, "percent", None, None, "unavailable", "no data published by 2025-12-09"),
    }
    return Briefing(AS_OF, "2025-12-09T23:00:00+00:00", "test", m, {}, [], [], None, [
        "Macro series in the embedded snapshot are one later vintage (mid-2026): values for periods "
        "published by the as-of date may include later revisions; publication dates follow the real "
        "release calendar."], {})


@pytest.mark.parametrize("lang,value,unit,expected", [
    ("en", 6_535_781e6, "USD", "$6.54T"),
    ("zh-TW", 6_535_781e6, "USD", "6.54 兆美元"),
    ("en", 908_523e6, "USD", "$908.5B"),
    ("zh-TW", 908_523e6, "USD", "9,085 億美元"),
    ("en", 92_691.707470239, "USD", "$92,692"),
    ("zh-TW", 92_691.707470239, "USD", "92,692 美元"),
    ("en", -40_238e6, "USD", "-$40.2B"),
    ("zh-TW", 38.2e6, "USD", "3,820 萬美元"),
    ("en", 0.0933159570037049, "fraction", "9.33%"),
    ("en", -0.2569953490422664, "fraction", "-25.7%"),
    ("en", 5.000000000000027, "bp", "+5.0 bp"),
    ("zh-TW", 5.0, "bp", "+5.0 個基點"),
    ("en", 3.95, "percent", "3.95%"),
    ("en", 16.0, "days", "16 days"),
    ("zh-TW", 16.0, "days", "16 天"),
    ("en", 6_550_000.0, "BTC", "6.55M BTC"),
    ("zh-TW", 6_550_000.0, "BTC", "655 萬 枚比特幣"),
    ("en", 1097.6, "EH/s", "1,098 EH/s"),
    ("en", 4206.7, "USD/oz", "$4,206.70/oz"),
    ("zh-TW", 4206.7, "USD/oz", "每盎司 4,206.70 美元"),
    ("en", True, "bool", "yes"),
    ("zh-TW", "running", "state", "進行中"),
    ("en", None, "USD", "n/a"),
])
def test_value_formatting(lang, value, unit, expected):
    assert catalog(lang).value(value, unit) == expected


def test_dates():
    assert catalog("en").date("2025-12-03") == "2025-12-03"
    assert catalog("zh-TW").date("2025-12-03") == "2025年12月3日"


def test_figure_carries_date_and_source():
    b = hand_briefing()
    f = builder.Ctx(b, "en").fig("fed_total_assets")
    assert str(f) == "$6.54T (2025-12-03, FRED:WALCL)"
    z = builder.Ctx(b, "zh-TW").fig("fed_total_assets")
    assert str(z) == "6.54 兆美元（2025年12月3日，FRED:WALCL）"


def test_alternative_with_difference():
    f = builder.Ctx(hand_briefing(), "en").fig("btc_price")
    assert str(f) == ("$92,692 (2025-12-09, CoinMarketCap; other sources: "
                      "Coin Metrics:PriceUSD $90,673 on 2025-12-08 (-2.18%))")


@pytest.mark.parametrize("lang,text,expected", [
    ("en", "no data published by 2025-12-09", "no data published by 2025-12-09"),
    ("zh-TW", "no data published by 2025-12-09", "截至 2025年12月9日 尚無已發布的資料"),
    ("zh-TW", "needs own-node chain data (btcmacro chain sync)", "需要自有節點的鏈上資料（請執行 btcmacro chain sync）"),
    ("zh-TW", "needs own-node chain data", "需要自有節點的鏈上資料"),
    ("zh-TW", "latest value is for 2025-09-01, 99 days before 2025-12-09",
     "最新數值為 2025年9月1日 的資料，比資料日 2025年12月9日 早 99 天"),
    ("zh-TW", "latest value is for 2025-09-01, 99 days before 2025-12-09; delayed: 2025-11: BLS: November "
              "report delayed by the shutdown (scheduled Dec 5)",
     "最新數值為 2025年9月1日 的資料，比資料日 2025年12月9日 早 99 天；延後發布：2025年11月：美國勞工統計局：11 月就業報告因政府關門延後（原訂 12 月 5 日）"),
    ("zh-TW", "stale: no data published by 2025-12-09", "資料過時：截至 2025年12月9日 尚無已發布的資料"),
])
def test_reason_translation(lang, text, expected):
    assert catalog(lang).reason(text) == expected


def test_sections_say_why_a_figure_is_missing():
    b = hand_briefing()
    en = builder.build(b, "en")
    texts = [it["text"] for s in en["sections"] for it in s["sentences"]]
    assert "Realized loss: not available — needs own-node chain data (btcmacro chain sync)." in texts
    assert "SOFR: not available — no data published by 2025-12-09." in texts
    zh = builder.build(b, "zh-TW")
    texts = [it["text"] for s in zh["sections"] for it in s["sentences"]]
    assert "已實現虧損：無法取得——需要自有節點的鏈上資料（請執行 btcmacro chain sync）。" in texts


def test_balance_sheet_sentence():
    doc = builder.build(hand_briefing(), "en")
    liq = next(s for s in doc["sections"] if s["id"] == "liquidity")
    first = liq["sentences"][0]
    assert first["kind"] == "sentence"
    # runoff = 8,965,487 - 6,535,781 = 2,429,706 millions = $2.43T = 27.1% of the peak
    assert first["text"] == ("The Fed's total assets stand at $6.54T (2025-12-03, FRED:WALCL). From the "
                             "balance-sheet peak of $8.97T on 2022-04-13, QT has run off $2.43T "
                             "(2025-12-03, FRED:WALCL), 27.1% of the peak.")


def test_stale_figure_is_flagged_in_text_and_appendix():
    b = hand_briefing()
    doc = builder.build(b, "en")
    macro = next(s for s in doc["sections"] if s["id"] == "macro")
    line = next(it["text"] for it in macro["sentences"] if "Unemployment" in it["text"])
    assert "4.40% (2025-09-01, FRED:UNRATE; stale: latest value is for 2025-09-01, 99 days before 2025-12-09)" in line
    rows = [r for g in doc["appendix"]["groups"] for r in g["rows"]]
    row = next(r for r in rows if r["id"] == "unemployment_rate")
    assert row["status_label"] == "stale" and "delayed: 2025-11" in row["note"]


def test_every_metric_in_appendix_in_registry_order():
    from btcmacro.registry import REGISTRY

    b = hand_briefing()
    doc = builder.build(b, "en")
    ids = [r["id"] for g in doc["appendix"]["groups"] for r in g["rows"]]
    assert sorted(ids) == sorted(b.metrics)
    order = {m: i for i, m in enumerate(REGISTRY)}
    for g in doc["appendix"]["groups"]:
        got = [r["id"] for r in g["rows"]]
        assert got == sorted(got, key=lambda m: order.get(m, 10**6))


def test_chart_without_data_is_replaced_by_a_sentence():
    b = hand_briefing()
    md = render(b, "md", "en")
    assert "Charts are not included when the briefing is written to standard output." in md
    assert ("Chart “Bank reserves and the SOFR − IORB spread” not drawn: Bank reserves — no time series in "
            "this briefing") in md
    zh = render(b, "md", "zh-TW")
    assert "未繪製「聯準會資產負債表與自峰值以來的縮表規模」圖表" in zh


def test_note_is_translated():
    zh = render(hand_briefing(), "md", "zh-TW")
    assert "內建快照中的總經序列為較晚的單一版本" in zh
    assert "Macro series in the embedded snapshot" not in zh


def test_spread_labels_keeps_a_gap_and_order():
    from btcmacro.report.charts import spread_labels

    ys = [100.0, 101.0, 101.5, 150.0, 99.0]
    out = spread_labels(ys, 5.0)
    pairs = sorted(zip(ys, out))
    assert [o for _, o in pairs] == sorted(out)  # order preserved
    assert all(b - a >= 5.0 - 1e-9 for (_, a), (_, b) in zip(pairs, pairs[1:]))
    # the crowded four (99, 100, 101, 101.5; mean 100.375) are spaced 5 apart around their mean:
    # 92.875, 97.875, 102.875, 107.875; the isolated 150 stays exactly at its level
    assert out == pytest.approx([97.875, 102.875, 107.875, 150.0, 92.875])
    assert spread_labels([], 1.0) == []
