"""Own-node HODL waves in the briefing: the chart, the on-chain sentence and the JSON object.

The own-node data is real engine output: a small synthetic chain on the real mainnet genesis
(blocks stamped in 2023–2025), synced from a blk file by :func:`btcmacro.chain.api.sync` and
published by :func:`btcmacro.chain.publishing.publish` into a copy of the embedded snapshot store.
Every expected figure is derived by hand from the plan below and cross-checked against the
published ``chain/hodl_*`` series read straight from the store (not through the api code under
test). The plain snapshot store (no own-node data) must instead say once that HODL waves need
own-node chain data, with no chart.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from _ownnode import AS_OF, EXPECT_BTC, EXPECT_BTC_LAST, published_node

from btcmacro import api, report
from btcmacro.report import builder, charts
from btcmacro.store import Store

NOW = dt.datetime(2025, 12, 9, 23, 0, tzinfo=dt.UTC)

#: band keys in age order and the ones from 1 year up / below 1 month (written out, not imported)
KEYS = ["lt_1d", "1d_1w", "1w_1m", "1m_3m", "3m_6m", "6m_12m", "1y_2y", "2y_3y", "3y_5y", "5y_7y", "7y_10y",
        "gt_10y"]
OLD = KEYS[6:]
HOT = KEYS[:3]


@pytest.fixture(scope="module")
def node(tmp_path_factory, snapshot_store_path):
    """``{"store", "index", "hashes"}``: the snapshot store copy with the shared HODL plan (see
    tests/_ownnode.py, figures by hand there) synced and published."""
    n = published_node(tmp_path_factory.mktemp("hodl_node"), snapshot_store_path)
    assert str(n["last_day"]) == "2025-12-15"
    return n


def _store_bands(store_path, as_of: dt.date) -> tuple[pd.Timestamp, dict, dict]:
    """Independently of the api: the last day with all twelve shares published by ``as_of``."""
    with Store(store_path, read_only=True) as st:
        pct = pd.DataFrame({k: st.series(f"chain/hodl_{k}_pct", as_of=as_of) for k in KEYS})
        btc = pd.DataFrame({k: st.series(f"chain/hodl_{k}_btc", as_of=as_of) for k in KEYS})
    pct = pct[pct.index <= pd.Timestamp(as_of)].dropna()
    day = pct.index[-1]
    return day, pct.loc[day].to_dict(), btc.loc[day].to_dict()


def _briefing(node, as_of):
    with Store(node["store"], read_only=True) as st:
        return api.briefing(as_of, store=st, now=NOW)


@pytest.fixture(scope="module")
def node_briefing(node):
    return _briefing(node, AS_OF.isoformat())


def _short(tip: str) -> str:
    return f"{tip[:8]}…{tip[-8:]}"


def _pct(x: float) -> str:
    return f"{x:.1f}%" if abs(x) >= 10 else f"{x:.2f}%"


# ----------------------------------------------------------------------------------------- data


def test_published_bands_are_the_hand_figures(node):
    day, pct, btc = _store_bands(node["store"], AS_OF)
    assert day == pd.Timestamp(AS_OF)
    assert btc == {k: float(EXPECT_BTC.get(k, 0)) for k in KEYS}
    assert pct == pytest.approx({k: 100 * EXPECT_BTC.get(k, 0) / 70 for k in KEYS}, rel=1e-14, abs=0)


def test_json_hodl_waves_object(node, node_briefing):
    doc = json.loads(report.render(node_briefing, "json"))
    assert {"as_of", "generated_at", "data_version", "metrics", "regimes", "levels", "scenarios", "fomc",
            "notes"} <= set(doc)
    hw = doc["hodl_waves"]
    assert doc["hodl_waves_reason"] is None
    day, pct, btc = _store_bands(node["store"], AS_OF)
    assert hw["date"] == "2025-12-09" == day.date().isoformat() and hw["status"] == "ok" and hw["reason"] is None
    assert [b["key"] for b in hw["bands"]] == KEYS
    assert [b["pct"] for b in hw["bands"]] == [pct[k] for k in KEYS]
    assert [b["btc"] for b in hw["bands"]] == [btc[k] for k in KEYS]
    assert hw["bands"][0]["age_from_days"] == 0 and hw["bands"][6]["age_from_days"] == 365
    assert hw["bands"][-1]["age_to_days"] is None and hw["supply_btc"] == 70
    # the tip the day's figures reflect: block 5, the last block stamped on or before 2025-12-09
    # (not block 6 of 2025-12-15, although that publish wrote the rows)
    assert hw["tip_hash"] == node["hashes"][5] and hw["height"] == 5
    assert hw["source"] == f"own node, tip {node['hashes'][5]} height 5"
    # the registry's band sums agree with the bands of the object
    m = doc["metrics"]
    assert m["supply_1y_plus_share"]["value"] == pytest.approx(sum(pct[k] for k in OLD) / 100, rel=1e-14)
    assert m["supply_under_1m_share"]["value"] == pytest.approx(sum(pct[k] for k in HOT) / 100, rel=1e-14)
    assert m["supply_1y_plus_share"]["value"] == pytest.approx(50 / 70, rel=1e-14)


def test_point_in_time_nothing_after_the_as_of_date(node, node_briefing):
    # the block of 2025-12-15 exists in the store, but the 2025-12-09 briefing cannot see it
    hist = node_briefing.hodl_history
    assert hist.index[-1] == pd.Timestamp(AS_OF)
    assert node_briefing.hodl_waves["supply_btc"] == 70
    # a day earlier: F is not mined yet; B1 + E are 19 days old; tip = block 4 (2025-11-19)
    b8 = _briefing(node, "2025-12-08")
    day, pct, _ = _store_bands(node["store"], dt.date(2025, 12, 8))
    assert day == pd.Timestamp("2025-12-08") and b8.hodl_history.index[-1] == day
    assert b8.hodl_waves["supply_btc"] == 68
    assert (b8.hodl_waves["height"], b8.hodl_waves["tip_hash"]) == (4, node["hashes"][4])
    assert [b["pct"] for b in b8.hodl_waves["bands"]] == [pct[k] for k in KEYS]
    assert b8.metrics["supply_under_1m_share"].value == pytest.approx(5 / 68, rel=1e-14)
    # on 2025-12-15 the later block is visible
    b15 = _briefing(node, "2025-12-15")
    assert b15.hodl_waves["supply_btc"] == 75 and b15.hodl_waves["height"] == 6
    assert {b["key"]: b["btc"] for b in b15.hodl_waves["bands"]} == {k: float(EXPECT_BTC_LAST.get(k, 0)) for k in KEYS}


def test_stale_own_node_data_is_flagged(node):
    b = _briefing(node, "2026-01-31")  # the node was last synced to 2025-12-15
    hw = b.hodl_waves
    assert hw["date"] == "2025-12-15" and hw["status"] == "stale"
    assert hw["reason"] == "latest value is for 2025-12-15, 47 days before 2026-01-31"
    text = report.render(b, "md", "en")
    line = next(x for x in text.splitlines() if x.startswith("HODL waves:"))
    # counted from the release: the next day's publish was due on 2025-12-16 and never came
    assert ("stale: published 2025-12-15, 47 days before 2026-01-31; the next release, due 2025-12-16, "
            "is not in the data") in line
    p = charts.plan(builder.Ctx(b, "en"), "hodl_waves")
    assert not p["fallback"] and p["traces"][0].x[-1] == pd.Timestamp("2025-12-15")
    assert "stale: latest value is for 2025-12-15" in p["note"]


# ----------------------------------------------------------------------------------------- report


def test_chart_plan_is_the_published_history(node, node_briefing):
    p = charts.plan(builder.Ctx(node_briefing, "en"), "hodl_waves")
    assert not p["fallback"] and len(p["traces"]) == 12
    assert [t.trace.metric for t in p["traces"]] == [f"hodl_{k}" for k in KEYS]
    assert [t.name for t in p["traces"]][:3] == ["<1d", "1d–1w", "1w–1m"] and p["traces"][-1].name == ">10y"
    with Store(node["store"], read_only=True) as st:
        for k, t in zip(KEYS, p["traces"]):
            s = st.series(f"chain/hodl_{k}_pct", start=AS_OF - dt.timedelta(days=3 * 365 - 1), end=AS_OF,
                          as_of=AS_OF)
            assert list(t.x) == list(s.index) and t.y == s.tolist(), k
    x = p["traces"][0].x
    assert len(x) == 3 * 365 and x[-1] == pd.Timestamp(AS_OF)  # three years up to the as-of date
    tops = [sum(t.y[i] for t in p["traces"]) for i in range(len(x))]
    assert min(tops) == pytest.approx(100, abs=1e-9) and max(tops) == pytest.approx(100, abs=1e-9)
    assert f"own node, tip {_short(node['hashes'][5])}, height 5" in p["note"]
    assert len(re.findall(r'"stackgroup":\s*"bands"', charts.plotly_div(p))) == 12


def test_sentence_and_chart_in_every_format(node, node_briefing, tmp_path):
    tip = _short(node["hashes"][5])
    _, pct, _ = _store_bands(node["store"], AS_OF)
    old, hot = _pct(sum(pct[k] for k in OLD)), _pct(sum(pct[k] for k in HOT))
    assert (old, hot) == ("71.4%", "10.0%")
    en = (f"HODL waves: {old} of the supply has not moved for a year or more, while {hot} moved within the "
          f"last month, the “hot supply” (2025-12-09, own node, tip {tip}, height 5).")
    zh = (f"HODL 波段：{old} 的供給已一年以上未移動，{hot} 則在最近一個月內移動過，即「熱供給」"
          f"（2025年12月9日，自有節點，鏈頂區塊 {tip}，高度 5）。")
    sec = next(s for s in builder.build(node_briefing, "en")["sections"] if s["id"] == "onchain")
    assert sec["charts"] == ["mvrv_realized", "hodl_waves"]
    hodl = [it for it in sec["sentences"] if "HODL" in it["text"]]
    assert [(it["text"], it["kind"]) for it in hodl] == [(en, "sentence")]
    # the two band-sum metrics are quoted by the sentence, not repeated as generic lines
    assert not [it for it in sec["sentences"] if it["kind"] != "sentence"
                and set(it["metrics"]) & {"supply_1y_plus_share", "supply_under_1m_share"}]

    md_en = report.write(node_briefing, fmt="md", lang="en", out=tmp_path / "b.md").read_text("utf-8")
    assert md_en.count(en) == 1 and "HODL waves: not available" not in md_en
    assert "![HODL waves: supply by time since the coins last moved](b_files/hodl_waves.png)" in md_en
    assert (tmp_path / "b_files" / "hodl_waves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md_zh = report.render(node_briefing, "md", "zh-TW")
    assert md_zh.count(zh) == 1
    html_en = report.render(node_briefing, "html", "en")
    assert 'id="chart-hodl_waves"' in html_en and _html_text(html_en).count(en) == 1
    html_zh = report.render(node_briefing, "html", "zh-TW")
    assert 'id="chart-hodl_waves"' in html_zh and _html_text(html_zh).count(zh) == 1
    assert "HODL waves" not in _html_text(html_zh)  # the Chinese page names the chart in Chinese


def _html_text(html: str) -> str:
    import html as h

    body = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S | re.I)
    body = re.sub(r"<style\b.*?</style>", " ", body, flags=re.S | re.I)
    return h.unescape(re.sub(r"<[^>]+>", " ", body))


# ----------------------------------------------------------------------------------------- no node


def test_plain_snapshot_says_once_that_node_data_is_needed(real_briefing, rendered):
    assert real_briefing.hodl_waves is None and real_briefing.hodl_history is not None
    assert real_briefing.hodl_history.empty
    doc = json.loads(rendered[("json", "en")].read_text("utf-8"))
    assert doc["hodl_waves"] is None
    assert doc["hodl_waves_reason"] == "needs own-node chain data (btcmacro chain sync)"
    line_en = "HODL waves: not available — needs own-node chain data (btcmacro chain sync)."
    line_zh = "HODL 波段（供給按上次移動至今的時間分布）：無法取得——需要自有節點的鏈上資料（請執行 btcmacro chain sync）。"
    sec = next(s for s in builder.build(real_briefing, "en")["sections"] if s["id"] == "onchain")
    assert "hodl_waves" not in sec["charts"]
    mentions = [it for it in sec["sentences"] if "HODL" in it["text"] or
                {"supply_1y_plus_share", "supply_under_1m_share"} & set(it["metrics"])]
    assert [(it["text"], it["kind"]) for it in mentions] == [(line_en, "unavailable")]
    for (fmt, lang), line in {("md", "en"): line_en, ("md", "zh-TW"): line_zh,
                              ("html", "en"): line_en, ("html", "zh-TW"): line_zh}.items():
        text = rendered[(fmt, lang)].read_text("utf-8")
        if fmt == "html":
            assert "chart-hodl_waves" not in text
            text = _html_text(text)
        else:
            assert "hodl_waves.png" not in text
        assert text.count(line) == 1, (fmt, lang)
        assert "HODL waves: supply by time" not in text and "HODL 波段：供給" not in text  # no chart, no fallback
    assert not (rendered[("md", "en")].parent / (rendered[("md", "en")].stem + "_files") / "hodl_waves.png").exists()
